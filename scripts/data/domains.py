"""Domain corpora for the parameter-activation analysis, written from templates and word
lists. Each maker takes (rng, count, demo facts) and returns `count` distinct samples of
150 to 600 ASCII characters."""
from string import Template

import demo_world

MIN_LENGTH, MAX_LENGTH = 150, 600


def fits(text):
    return MIN_LENGTH <= len(text) <= MAX_LENGTH


def capitalise(sentence):
    return sentence[:1].upper() + sentence[1:]


def collect(rng, count, make_one, tries=200):
    """Draws samples from `make_one(rng, index)` until `count` distinct ones fit the bounds."""
    samples, seen = [], set()
    index = 0
    while len(samples) < count:
        for _ in range(tries):
            text = make_one(rng, index)
            if fits(text) and text not in seen:
                break
        else:
            raise AssertionError("cannot make sample %d" % index)
        seen.add(text)
        samples.append(text)
        index += 1
    return samples


# ---------------------------------------------------------------- encyclopedia

def encyclopedia(rng, count, facts):
    by_concept, category_of = {}, {}
    for f in facts:
        by_concept.setdefault(f["concept"], []).append(f)
        category_of[f["concept"]] = f["category"]
    clauses = {(cat, a[0]): a[4] for cat, attrs in demo_world.ATTRIBUTES.items() for a in attrs}
    concepts = list(by_concept)
    order = []
    while len(order) < count:
        batch = list(concepts)
        rng.shuffle(batch)
        order += batch

    def make(rng, index):
        concept = order[index]
        category = category_of[concept]
        chosen = rng.sample(by_concept[concept], rng.between(4, 6))
        sentences = [capitalise(rng.choice(demo_world.OPENERS[category]).format(c=concept))]
        for f in chosen:
            clause = clauses[(category, f["attribute"])]
            if clause and rng.chance(1, 2):
                sentences.append(clause.format(a=f["answer"]))
            else:
                sentences.append(rng.choice(f["phrasings"]))
        return " ".join(sentences)

    return collect(rng, count, make)


# ---------------------------------------------------------------- arithmetic

NAMES = ["Ada", "Ben", "Cora", "Dev", "Elsa", "Finn", "Gita", "Hugo", "Ines", "Jon", "Kemi", "Leo",
         "Mara", "Nils", "Omar", "Pia", "Quinn", "Rosa", "Sami", "Tess", "Uma", "Victor", "Wen", "Yusuf"]
ITEMS = ["apples", "marbles", "stamps", "pencils", "eggs", "books", "shells", "cards", "stickers", "beads",
         "oranges", "buttons", "coins", "plums", "tickets"]
SPELL_ONES = ["ones", "tens", "hundreds", "thousands"]


def column_addition(rng):
    a, b = rng.between(12, 989), rng.between(12, 989)
    da, db = str(a)[::-1], str(b)[::-1]
    steps, carry = [], 0
    for place in range(max(len(da), len(db))):
        x = int(da[place]) if place < len(da) else 0
        y = int(db[place]) if place < len(db) else 0
        s = x + y + carry
        terms = "%d + %d" % (x, y) + (" + %d" % carry if carry else "")
        if s >= 10:
            steps.append("%s: %s = %d, write %d and carry 1." % (SPELL_ONES[place].capitalize(), terms, s, s - 10))
        else:
            steps.append("%s: %s = %d." % (SPELL_ONES[place].capitalize(), terms, s))
        carry = 1 if s >= 10 else 0
    if carry:
        steps.append("The last carry gives a new digit 1.")
    return "To add %d and %d, work from the right. %s So %d + %d = %d." % (a, b, " ".join(steps), a, b, a + b)


def subtraction(rng):
    a = rng.between(40, 999)
    b = rng.between(11, a - 1)
    tens = b // 10 * 10
    ones = b - tens
    if ones and tens:
        return "To work out %d - %d, take away %d first: %d - %d = %d. Then take away %d: %d - %d = %d. So %d - %d = %d. Check: %d + %d = %d." % (
            a, b, tens, a, tens, a - tens, ones, a - tens, ones, a - b, a, b, a - b, a - b, b, a)
    return "%d - %d = %d. Check: %d + %d = %d." % (a, b, a - b, a - b, b, a)


def multiplication(rng):
    a, b = rng.between(12, 99), rng.between(12, 49)
    tens, ones = b // 10 * 10, b % 10
    if ones == 0:
        return "%d x %d = %d x %d x 10 = %d x 10 = %d." % (a, b, a, b // 10, a * (b // 10), a * b)
    return "%d x %d = %d x %d + %d x %d = %d + %d = %d." % (a, b, a, tens, a, ones, a * tens, a * ones, a * b)


def times_table(rng):
    k = rng.between(3, 12)
    start = rng.between(1, 6)
    row = ", ".join("%d x %d = %d" % (k, i, k * i) for i in range(start, start + 5))
    return "Part of the %d times table: %s." % (k, row)


def division(rng):
    d, q = rng.between(3, 12), rng.between(4, 30)
    if rng.chance(1, 2):
        return "%d / %d = %d, because %d x %d = %d." % (d * q, d, q, d, q, d * q)
    r = rng.between(1, d - 1)
    n = d * q + r
    return "%d divided by %d is %d remainder %d, since %d x %d = %d and %d - %d = %d." % (n, d, q, r, d, q, d * q, n, d * q, r)


def word_problem(rng):
    name, items = rng.choice(NAMES), rng.choice(ITEMS)
    kind = rng.below(6)
    if kind == 0:
        a, b = rng.between(5, 60), rng.between(3, 40)
        return "%s has %d %s and gets %d more. Now %s has %d + %d = %d %s." % (name, a, items, b, name, a, b, a + b, items)
    if kind == 1:
        k, q = rng.between(2, 9), rng.between(2, 15)
        return "%s shares %d %s equally among %d friends. Each friend gets %d / %d = %d %s." % (name, k * q, items, k, k * q, k, q, items)
    if kind == 2:
        a, k = rng.between(4, 24), rng.between(2, 12)
        return "A box holds %d %s. %s buys %d boxes, so %s has %d x %d = %d %s." % (a, items, name, k, name, k, a, k * a, items)
    if kind == 3:
        a = rng.between(20, 200)
        b = rng.between(1, a - 1)
        return "%s had %d coins and spent %d of them. %s has %d - %d = %d coins left." % (name, a, b, name, a, b, a - b)
    if kind == 4:
        s, t = rng.between(30, 120), rng.between(2, 6)
        return "A train travels at %d km per hour for %d hours. It covers %d x %d = %d km." % (s, t, s, t, s * t)
    p, k = rng.between(15, 95), rng.between(2, 9)
    return "Pens cost %d cents each. %s buys %d pens for %d x %d = %d cents." % (p, name, k, k, p, k * p)


def list_sum(rng):
    numbers = [rng.between(2, 60) for _ in range(rng.between(3, 5))]
    running, steps = numbers[0], []
    for n in numbers[1:]:
        steps.append("%d + %d = %d" % (running, n, running + n))
        running += n
    return "Adding %s one at a time: %s. The total is %d." % (
        ", ".join(map(str, numbers[:-1])) + " and %d" % numbers[-1], ", ".join(steps), running)


def mean(rng):
    k = rng.between(3, 5)
    numbers = [rng.between(4, 40) for _ in range(k - 1)]
    target = rng.between(5, 30)
    last = target * k - sum(numbers)
    if last <= 0:
        numbers, last = [target] * (k - 1), target
    numbers.append(last)
    total = sum(numbers)
    return "The mean of %s is (%s) / %d = %d / %d = %d." % (
        ", ".join(map(str, numbers)), " + ".join(map(str, numbers)), k, total, k, total // k)


def squares(rng):
    n = rng.between(11, 31)
    if rng.chance(1, 3):
        m = rng.between(2, 9)
        return "%d cubed is %d x %d x %d = %d x %d = %d." % (m, m, m, m, m * m, m, m ** 3)
    return "%d squared is %d x %d = %d." % (n, n, n, n * n)


def order_of_operations(rng):
    a, b, c = rng.between(2, 20), rng.between(2, 12), rng.between(2, 9)
    if rng.chance(1, 2):
        return "%d + %d x %d = %d + %d = %d, because multiplication comes before addition." % (a, b, c, a, b * c, a + b * c)
    return "(%d + %d) x %d = %d x %d = %d, because the brackets come first." % (a, b, c, a + b, c, (a + b) * c)


def percent(rng):
    p, divisor = rng.choice([(10, 10), (20, 5), (25, 4), (50, 2), (5, 20)])
    n = divisor * rng.between(3, 40)
    return "%d percent of %d is %d / %d = %d." % (p, n, n, divisor, n // divisor)


def halves(rng):
    n = 4 * rng.between(3, 60)
    return "Half of %d is %d, and a quarter of %d is %d, so three quarters of %d is %d." % (n, n // 2, n, n // 4, n, 3 * n // 4)


def counting(rng):
    step, start = rng.between(2, 15), rng.between(1, 30)
    terms = [start + step * i for i in range(6)]
    return "Counting up by %d from %d: %s. Each number is %d more than the one before." % (
        step, start, ", ".join(map(str, terms)), step)


def difference(rng):
    a, b = rng.between(100, 999), rng.between(10, 99)
    return "%d is larger than %d by %d, because %d + %d = %d." % (a, b, a - b, b, a - b, a)


ARITHMETIC_PIECES = [column_addition, subtraction, multiplication, times_table, division, word_problem,
                     list_sum, mean, squares, order_of_operations, percent, halves, counting, difference]


def arithmetic(rng, count, facts):
    def make(rng, index):
        pieces = rng.sample(ARITHMETIC_PIECES, rng.between(2, 4))
        joiner = "\n" if rng.chance(1, 2) else " "
        text = ""
        for piece in pieces:
            candidate = (text + joiner if text else "") + piece(rng)
            if len(candidate) > MAX_LENGTH:
                break
            text = candidate
        return text

    return collect(rng, count, make)


# ---------------------------------------------------------------- code

WORDS = ["river", "lamp", "stone", "garden", "window", "paper", "orange", "silver", "meadow", "cloud",
         "bridge", "candle", "forest", "harbor", "kettle", "ladder", "mirror", "needle", "pepper", "rocket"]


def ints(rng, k, low=1, high=50):
    return [rng.between(low, high) for _ in range(k)]


def phrase(rng, k):
    return " ".join(rng.choice(WORDS) for _ in range(k))


# Each kind: (function names, documentation, template variants, example arguments).
# Templates use $fn and $xs/$x/$n/$s placeholders; examples return argument lists (as Python source).
CODE_KINDS = [
    (["total", "sum_values", "add_up", "list_sum"], "Return the sum of the numbers in $xs.",
     ["def $fn($xs):\n    result = 0\n    for $x in $xs:\n        result += $x\n    return result\n"],
     lambda r: [repr(ints(r, r.between(3, 6)))]),
    (["factorial", "fact"], "Return $n factorial.",
     ["def $fn($n):\n    result = 1\n    for i in range(2, $n + 1):\n        result *= i\n    return result\n",
      "def $fn($n):\n    if $n <= 1:\n        return 1\n    return $n * $fn($n - 1)\n"],
     lambda r: [str(r.between(3, 10))]),
    (["fib", "fibonacci", "nth_fibonacci"], "Return the $n-th Fibonacci number.",
     ["def $fn($n):\n    a, b = 0, 1\n    for _ in range($n):\n        a, b = b, a + b\n    return a\n"],
     lambda r: [str(r.between(5, 25))]),
    (["first_fibs", "fib_list"], "Return the first $n Fibonacci numbers as a list.",
     ["def $fn($n):\n    seq = []\n    a, b = 0, 1\n    while len(seq) < $n:\n        seq.append(a)\n        a, b = b, a + b\n    return seq\n"],
     lambda r: [str(r.between(4, 10))]),
    (["is_prime", "prime"], "Return True if $n is a prime number.",
     ["def $fn($n):\n    if $n < 2:\n        return False\n    d = 2\n    while d * d <= $n:\n        if $n % d == 0:\n            return False\n        d += 1\n    return True\n"],
     lambda r: [str(r.between(2, 120))]),
    (["gcd", "greatest_common_divisor"], "Return the greatest common divisor of a and b.",
     ["def $fn(a, b):\n    while b:\n        a, b = b, a % b\n    return a\n",
      "def $fn(a, b):\n    if b == 0:\n        return a\n    return $fn(b, a % b)\n"],
     lambda r: [str(r.between(2, 20) * 6), str(r.between(2, 20) * 4)]),
    (["reverse_words", "backwards"], "Return the words of $s in reverse order.",
     ["def $fn($s):\n    return \" \".join(reversed($s.split()))\n",
      "def $fn($s):\n    words = $s.split()\n    words.reverse()\n    return \" \".join(words)\n"],
     lambda r: [repr(phrase(r, r.between(3, 5)))]),
    (["count_vowels", "vowels"], "Count the vowels in $s.",
     ["def $fn($s):\n    count = 0\n    for ch in $s.lower():\n        if ch in \"aeiou\":\n            count += 1\n    return count\n",
      "def $fn($s):\n    return sum(1 for ch in $s.lower() if ch in \"aeiou\")\n"],
     lambda r: [repr(phrase(r, r.between(2, 4)))]),
    (["is_palindrome", "palindrome"], "Return True if $s reads the same both ways, ignoring case and spaces.",
     ["def $fn($s):\n    cleaned = \"\".join(ch.lower() for ch in $s if ch.isalnum())\n    return cleaned == cleaned[::-1]\n"],
     lambda r: [repr(r.choice(["Never odd or even", "A man a plan a canal Panama", "level", "rotor", "kettle", "Step on no pets", "harbor", "racecar"]))]),
    (["largest", "biggest", "find_max"], "Return the largest item of $xs without using max.",
     ["def $fn($xs):\n    best = $xs[0]\n    for $x in $xs[1:]:\n        if $x > best:\n            best = $x\n    return best\n"],
     lambda r: [repr(ints(r, r.between(4, 7), 1, 99))]),
    (["celsius_to_fahrenheit", "to_fahrenheit"], "Convert a temperature from Celsius to Fahrenheit.",
     ["def $fn(celsius):\n    return celsius * 9 / 5 + 32\n"],
     lambda r: [str(5 * r.between(-8, 20))]),
    (["fahrenheit_to_celsius", "to_celsius"], "Convert a temperature from Fahrenheit to Celsius.",
     ["def $fn(fahrenheit):\n    return (fahrenheit - 32) * 5 / 9\n"],
     lambda r: [str(32 + 9 * r.between(-4, 12))]),
    (["mean", "average"], "Return the average of $xs, or 0.0 for an empty list.",
     ["def $fn($xs):\n    if not $xs:\n        return 0.0\n    return sum($xs) / len($xs)\n"],
     lambda r: [repr([2 * v for v in ints(r, 4, 1, 30)])]),
    (["clamp", "limit"], "Keep value between low and high.",
     ["def $fn(value, low, high):\n    if value < low:\n        return low\n    if value > high:\n        return high\n    return value\n",
      "def $fn(value, low, high):\n    return max(low, min(high, value))\n"],
     lambda r: [str(r.between(-20, 120)), "0", "100"]),
    (["fizzbuzz", "fizz_buzz"], "Return the FizzBuzz sequence from 1 to limit.",
     ["def $fn(limit):\n    out = []\n    for i in range(1, limit + 1):\n        if i % 15 == 0:\n            out.append(\"FizzBuzz\")\n        elif i % 3 == 0:\n            out.append(\"Fizz\")\n        elif i % 5 == 0:\n            out.append(\"Buzz\")\n        else:\n            out.append(str(i))\n    return out\n"],
     lambda r: [str(r.between(5, 15))]),
    (["word_counts", "count_words_in"], "Count how often each word appears in text.",
     ["def $fn(text):\n    counts = {}\n    for word in text.lower().split():\n        counts[word] = counts.get(word, 0) + 1\n    return counts\n"],
     lambda r: [repr(phrase(r, r.between(3, 6)))]),
    (["flatten", "flat"], "Turn a list of lists into one list.",
     ["def $fn(nested):\n    out = []\n    for inner in nested:\n        out.extend(inner)\n    return out\n",
      "def $fn(nested):\n    return [item for inner in nested for item in inner]\n"],
     lambda r: [repr([ints(r, r.between(1, 3), 1, 9) for _ in range(r.between(2, 3))])]),
    (["unique", "dedupe", "remove_duplicates"], "Remove repeated items from $xs, keeping the first of each.",
     ["def $fn($xs):\n    seen = set()\n    out = []\n    for $x in $xs:\n        if $x not in seen:\n            seen.add($x)\n            out.append($x)\n    return out\n"],
     lambda r: [repr(ints(r, r.between(5, 8), 1, 6))]),
    (["binary_search", "find_index"], "Return the index of target in the sorted list $xs, or -1.",
     ["def $fn($xs, target):\n    lo, hi = 0, len($xs) - 1\n    while lo <= hi:\n        mid = (lo + hi) // 2\n        if $xs[mid] == target:\n            return mid\n        if $xs[mid] < target:\n            lo = mid + 1\n        else:\n            hi = mid - 1\n    return -1\n"],
     lambda r: (lambda xs: [repr(xs), str(r.choice(xs + [0]))])(sorted(set(ints(r, 6, 1, 40))))),
    (["bubble_sort", "sort_numbers"], "Return a sorted copy of $xs using bubble sort.",
     ["def $fn($xs):\n    items = list($xs)\n    for i in range(len(items)):\n        for j in range(len(items) - 1 - i):\n            if items[j] > items[j + 1]:\n                items[j], items[j + 1] = items[j + 1], items[j]\n    return items\n"],
     lambda r: [repr(ints(r, r.between(4, 6), 1, 60))]),
    (["count_char", "occurrences"], "Count how many times target occurs in text.",
     ["def $fn(text, target):\n    return sum(1 for ch in text if ch == target)\n",
      "def $fn(text, target):\n    count = 0\n    for ch in text:\n        if ch == target:\n            count += 1\n    return count\n"],
     lambda r: [repr(phrase(r, 2)), repr(r.choice("aeinorst"))]),
    (["title_case", "capitalize_words"], "Capitalize the first letter of every word.",
     ["def $fn(text):\n    return \" \".join(word[:1].upper() + word[1:] for word in text.split())\n"],
     lambda r: [repr(phrase(r, r.between(2, 4)))]),
    (["dot", "dot_product"], "Return the dot product of two vectors.",
     ["def $fn(a, b):\n    return sum(x * y for x, y in zip(a, b))\n",
      "def $fn(a, b):\n    total = 0\n    for i in range(len(a)):\n        total += a[i] * b[i]\n    return total\n"],
     lambda r: (lambda k: [repr(ints(r, k, 1, 9)), repr(ints(r, k, 1, 9))])(r.between(2, 4))),
    (["transpose"], "Swap the rows and columns of a matrix.",
     ["def $fn(matrix):\n    return [list(row) for row in zip(*matrix)]\n",
      "def $fn(matrix):\n    rows, cols = len(matrix), len(matrix[0])\n    return [[matrix[r][c] for r in range(rows)] for c in range(cols)]\n"],
     lambda r: (lambda c: [repr([ints(r, c, 1, 9) for _ in range(r.between(2, 3))])])(r.between(2, 3))),
    (["running_total", "cumulative_sum"], "Return the running totals of $xs.",
     ["def $fn($xs):\n    out = []\n    total = 0\n    for $x in $xs:\n        total += $x\n        out.append(total)\n    return out\n"],
     lambda r: [repr(ints(r, r.between(3, 6), 1, 20))]),
    (["power", "pow_int"], "Raise base to a whole-number exponent.",
     ["def $fn(base, exponent):\n    result = 1\n    for _ in range(exponent):\n        result *= base\n    return result\n"],
     lambda r: [str(r.between(2, 9)), str(r.between(2, 6))]),
    (["digit_sum", "sum_of_digits"], "Add up the decimal digits of $n.",
     ["def $fn($n):\n    total = 0\n    while $n > 0:\n        total += $n % 10\n        $n //= 10\n    return total\n",
      "def $fn($n):\n    return sum(int(d) for d in str($n))\n"],
     lambda r: [str(r.between(100, 99999))]),
    (["is_leap_year", "leap"], "Return True if year is a leap year.",
     ["def $fn(year):\n    if year % 400 == 0:\n        return True\n    if year % 100 == 0:\n        return False\n    return year % 4 == 0\n"],
     lambda r: [str(r.choice([1900, 2000, 2023, 2024, 1996, 2100, 1988, 2019]))]),
    (["grade", "letter_grade"], "Turn a score out of 100 into a letter grade.",
     ["def $fn(score):\n    if score >= 90:\n        return \"A\"\n    if score >= 80:\n        return \"B\"\n    if score >= 70:\n        return \"C\"\n    return \"D\"\n"],
     lambda r: [str(r.between(40, 100))]),
    (["chunks", "split_into"], "Split $xs into pieces of the given size.",
     ["def $fn($xs, size):\n    return [$xs[i:i + size] for i in range(0, len($xs), size)]\n"],
     lambda r: [repr(ints(r, r.between(4, 7), 1, 9)), str(r.between(2, 3))]),
    (["min_max", "extremes"], "Return the smallest and largest item of $xs.",
     ["def $fn($xs):\n    return min($xs), max($xs)\n",
      "def $fn($xs):\n    low = high = $xs[0]\n    for $x in $xs:\n        low = min(low, $x)\n        high = max(high, $x)\n    return low, high\n"],
     lambda r: [repr(ints(r, r.between(3, 6), 1, 99))]),
    (["safe_divide", "divide"], "Divide a by b, returning None when b is zero.",
     ["def $fn(a, b):\n    try:\n        return a / b\n    except ZeroDivisionError:\n        return None\n",
      "def $fn(a, b):\n    if b == 0:\n        return None\n    return a / b\n"],
     lambda r: [str(r.between(1, 20) * 4), str(r.choice([0, 2, 4, 8]))]),
    (["parse_pairs", "parse_settings"], "Parse text like 'a=1, b=2' into a dictionary.",
     ["def $fn(text):\n    result = {}\n    for part in text.split(\",\"):\n        key, _, value = part.partition(\"=\")\n        result[key.strip()] = value.strip()\n    return result\n"],
     lambda r: [repr(", ".join("%s=%d" % (w, r.between(1, 9)) for w in r.sample(WORDS, r.between(2, 3))))]),
    (["long_words", "words_longer_than"], "Return the words of text with at least min_length letters.",
     ["def $fn(text, min_length):\n    return [w for w in text.split() if len(w) >= min_length]\n"],
     lambda r: [repr(phrase(r, r.between(3, 5))), str(r.between(5, 6))]),
    (["remove_vowels", "strip_vowels"], "Return text without its vowels.",
     ["def $fn(text):\n    return \"\".join(ch for ch in text if ch.lower() not in \"aeiou\")\n"],
     lambda r: [repr(phrase(r, r.between(2, 3)))]),
    (["rotate", "rotate_left"], "Rotate $xs left by k places.",
     ["def $fn($xs, k):\n    if not $xs:\n        return []\n    k = k % len($xs)\n    return $xs[k:] + $xs[:k]\n"],
     lambda r: [repr(ints(r, r.between(4, 6), 1, 9)), str(r.between(1, 7))]),
    (["second_largest", "runner_up"], "Return the second largest distinct value in $xs.",
     ["def $fn($xs):\n    ordered = sorted(set($xs))\n    return ordered[-2] if len(ordered) > 1 else None\n"],
     lambda r: [repr(ints(r, r.between(4, 6), 1, 50))]),
    (["merge_sorted", "merge"], "Merge two sorted lists into one sorted list.",
     ["def $fn(a, b):\n    i = j = 0\n    out = []\n    while i < len(a) and j < len(b):\n        if a[i] <= b[j]:\n            out.append(a[i])\n            i += 1\n        else:\n            out.append(b[j])\n            j += 1\n    return out + a[i:] + b[j:]\n"],
     lambda r: [repr(sorted(ints(r, 3, 1, 30))), repr(sorted(ints(r, 3, 1, 30)))]),
    (["squares_table", "square_map"], "Map each number from 1 to limit to its square.",
     ["def $fn(limit):\n    return {n: n * n for n in range(1, limit + 1)}\n"],
     lambda r: [str(r.between(3, 6))]),
]

CODE_CLASSES = [
    ("Stack", "class Stack:\n    \"\"\"A last-in, first-out stack.\"\"\"\n\n    def __init__(self):\n        self.items = []\n\n    def push(self, item):\n        self.items.append(item)\n\n    def pop(self):\n        return self.items.pop()\n\n    def is_empty(self):\n        return not self.items\n",
     ["s = Stack()", "s.push($a)", "s.push($b)"], ["s.pop()", "s.pop()", "s.is_empty()"]),
    ("Counter", "class Tally:\n    \"\"\"Counts events by name.\"\"\"\n\n    def __init__(self):\n        self.counts = {}\n\n    def add(self, name):\n        self.counts[name] = self.counts.get(name, 0) + 1\n\n    def get(self, name):\n        return self.counts.get(name, 0)\n",
     ["t = Tally()", "t.add($w1)", "t.add($w1)", "t.add($w2)"], ["t.get($w1)", "t.get($w2)", "t.get('none')"]),
    ("Queue", "class Queue:\n    \"\"\"A first-in, first-out queue.\"\"\"\n\n    def __init__(self):\n        self.items = []\n\n    def put(self, item):\n        self.items.append(item)\n\n    def get(self):\n        return self.items.pop(0)\n\n    def __len__(self):\n        return len(self.items)\n",
     ["q = Queue()", "q.put($a)", "q.put($b)"], ["q.get()", "len(q)"]),
    ("Account", "class Account:\n    def __init__(self, owner, balance=0):\n        self.owner = owner\n        self.balance = balance\n\n    def deposit(self, amount):\n        self.balance += amount\n\n    def withdraw(self, amount):\n        if amount > self.balance:\n            raise ValueError(\"not enough money\")\n        self.balance -= amount\n",
     ["acct = Account($name, $a)", "acct.deposit($b)"], ["acct.balance"]),
]

PARAMS = {"xs": ["values", "numbers", "items", "xs", "data"], "x": ["v", "x", "item", "value"],
          "n": ["n", "k", "num"], "s": ["s", "text", "sentence"]}


def run_code(code, expressions, setup=()):
    namespace = {}
    exec(compile(code, "<sample>", "exec"), namespace)
    for line in setup:
        exec(line, namespace)
    return [eval(e, namespace) for e in expressions]


def assertion(call, value):
    if value is True:
        return "assert %s" % call
    if value is False:
        return "assert not %s" % call
    if value is None:
        return "assert %s is None" % call
    return "assert %s == %r" % (call, value)


def code_function(rng):
    names, doc, variants, examples = rng.choice(CODE_KINDS)
    fn = rng.choice(names)
    fill = {"fn": fn, "xs": rng.choice(PARAMS["xs"]), "x": rng.choice(PARAMS["x"]),
            "n": rng.choice(PARAMS["n"]), "s": rng.choice(PARAMS["s"])}
    if fill["x"] == fill["xs"]:
        fill["x"] = "v"
    body = Template(rng.choice(variants)).substitute(fill)
    calls = ["%s(%s)" % (fn, ", ".join(examples(rng))) for _ in range(rng.between(1, 2))]
    results = run_code(body, calls)
    style = rng.below(4)
    lines = body.rstrip("\n").split("\n")
    docline = Template(doc).substitute(fill)
    if style == 0:  # doctest in the docstring
        doctest = "\n".join("    >>> %s\n    %r" % (c, v) for c, v in zip(calls, results))
        lines.insert(1, "    \"\"\"%s\n\n%s\n    \"\"\"" % (docline, doctest))
        return "\n".join(lines) + "\n"
    if style != 3 and rng.chance(2, 3):
        lines.insert(1, "    \"\"\"%s\"\"\"" % docline)
    text = "\n".join(lines) + "\n\n"
    if style == 1:
        text += "\n".join(assertion(c, v) for c, v in zip(calls, results)) + "\n"
    elif style == 2:
        text += "\n".join("print(%s)  # %r" % (c, v) for c, v in zip(calls, results)) + "\n"
    else:
        text = "# " + docline + "\n" + text.rstrip("\n") + "\n\n" + "\n".join(
            "result = %s\nprint(result)" % c for c in calls[:1]) + "\n"
    return text


def code_class(rng):
    _, body, setup, checks = rng.choice(CODE_CLASSES)
    w1, w2 = rng.sample(WORDS, 2)
    fill = {"a": str(rng.between(1, 99)), "b": str(rng.between(1, 99)), "w1": repr(w1), "w2": repr(w2),
            "name": repr(rng.choice(NAMES))}
    setup = [Template(s).substitute(fill) for s in setup]
    checks = [Template(c).substitute(fill) for c in checks]
    results = run_code(body, checks, setup)
    text = body + "\n\n" + "\n".join(setup) + "\n"
    text += "\n".join(assertion(c, v) for c, v in zip(checks, results)) + "\n"
    return text


def code(rng, count, facts):
    def make(rng, index):
        text = code_class(rng) if rng.chance(1, 10) else code_function(rng)
        compile(text, "<sample>", "exec")
        exec(compile(text, "<sample>", "exec"), {"print": lambda *a, **k: None})
        return text

    return collect(rng, count, make)


# ---------------------------------------------------------------- dialogue

SPEAKERS = ["Anna", "Ben", "Chloe", "Daniel", "Emma", "Felix", "Grace", "Henry", "Isla", "Jack", "Kate", "Liam",
            "Maya", "Noah", "Olivia", "Paul", "Ruby", "Sam", "Tara", "Will", "Zoe", "Omar", "Priya", "Lucas"]
PLACES = ["the museum", "the train station", "the library", "the post office", "the market", "the park",
          "the town hall", "the swimming pool", "the bakery", "the bus stop", "the cinema", "the hospital"]
STREETS = ["Elm Street", "Mill Road", "King Street", "Church Lane", "Station Road", "High Street", "Bridge Street", "Park Avenue"]
LANDMARKS = ["the bakery", "the church", "the bank", "the fountain", "the petrol station", "the old bridge", "the school"]
FOODS = ["a cheese sandwich", "the tomato soup", "a slice of apple pie", "a bowl of pasta", "the vegetable curry",
         "a bagel", "a fruit salad", "the lentil stew"]
DRINKS = ["a cup of tea", "a coffee", "an orange juice", "a glass of water", "a hot chocolate", "a lemonade"]
DAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
TIMES = ["seven", "half past seven", "eight", "six", "half past six", "nine"]
BOOKS = ["a book about volcanoes", "a cookbook", "a history of Rome", "a guide to birds", "a novel about pirates",
         "a book on chess", "a map of the city"]
CITIES_REAL = ["Leeds", "Bristol", "York", "Glasgow", "Cardiff", "Oxford", "Brighton", "Liverpool"]
ITEMS_LOST = ["keys", "wallet", "umbrella", "glasses", "phone", "scarf", "gloves"]
SUBJECTS = [("maths", "fractions"), ("history", "the Romans"), ("science", "magnets"), ("geography", "rivers"),
            ("English", "poems"), ("music", "scales")]
WEATHER = [("rain", "visit the museum"), ("sunshine", "go for a picnic"), ("snow", "build a snowman"),
           ("wind", "fly a kite"), ("fog", "stay in and play cards"), ("heat", "go swimming")]
GIFTS = ["a scarf", "a book", "a plant", "a board game", "a mug", "some chocolates", "a pair of socks"]
BIKE_PROBLEMS = [("the chain keeps slipping", "tighten the chain"), ("the back tyre is flat", "patch the tube"),
                 ("the brakes squeak", "clean the brake pads"), ("the seat is too low", "raise the seat")]


def dialogue_lines(rng, a, b):
    topic = rng.below(14)
    if topic == 0:
        place, street, mark = rng.choice(PLACES), rng.choice(STREETS), rng.choice(LANDMARKS)
        minutes = rng.between(3, 20)
        return [(a, "Excuse me, could you tell me how to get to %s?" % place),
                (b, "Of course. Go down %s and turn %s at %s." % (street, rng.choice(["left", "right"]), mark)),
                (a, rng.choice(["Is it far from here?", "Can I walk there?", "How long does it take?"])),
                (b, "No, it is about %d minutes on foot." % minutes),
                (a, rng.choice(["Thank you very much.", "Thanks, that is really helpful.", "Great, thanks a lot."])),
                (b, rng.choice(["You're welcome.", "No problem, enjoy your day.", "Happy to help."]))]
    if topic == 1:
        food, drink = rng.choice(FOODS), rng.choice(DRINKS)
        price = rng.between(4, 15)
        return [(b, rng.choice(["Hello, what can I get you?", "Hi there, are you ready to order?", "Good afternoon, what would you like?"])),
                (a, "I would like %s and %s, please." % (food, drink)),
                (b, rng.choice(["Eat in or take away?", "Is that to eat here?"])),
                (a, rng.choice(["To eat here, please.", "Take away, thanks."])),
                (b, "That comes to %d pounds." % price),
                (a, "Here you are."),
                (b, "Thank you, it will be ready in a few minutes.")]
    if topic == 2:
        day, time, people = rng.choice(DAYS), rng.choice(TIMES), rng.between(2, 8)
        return [(a, "Hello, I would like to book a table for %d on %s." % (people, day)),
                (b, rng.choice(["Certainly. What time would you like?", "Of course. What time were you thinking of?"])),
                (a, "At %s, if possible." % time),
                (b, "We have a table free at %s. Can I take a name?" % time),
                (a, "It is %s." % a),
                (b, "Thank you, %s. See you on %s." % (a, day))]
    if topic == 3:
        book, weeks = rng.choice(BOOKS), rng.between(2, 4)
        return [(a, "Hi, I am looking for %s." % book),
                (b, "We have one on the %s floor. Do you have a library card?" % rng.choice(["first", "second", "third", "ground"])),
                (a, "Yes, here it is."),
                (b, "Great. You can keep the book for %d weeks." % weeks),
                (a, "Can I renew it online?"),
                (b, "Yes, as long as nobody else has asked for it.")]
    if topic == 4:
        weather, plan = rng.choice(WEATHER)
        day = rng.choice(DAYS)
        return [(a, rng.choice(["What shall we do on %s?", "Any plans for %s?", "Are you free on %s?"]) % day),
                (b, rng.choice(["The forecast says %s all day.", "I heard there will be %s.", "It looks like %s, according to the news."]) % weather),
                (a, "Then we could %s." % plan),
                (b, rng.choice(["Good idea. Shall I ask the others?", "I like that. Should we invite %s?" % rng.choice(SPEAKERS)])),
                (a, "Yes, and tell them to meet at %s." % rng.choice(["ten", "eleven", "noon", "two"])),
                (b, rng.choice(["I will send a message now.", "I will call them tonight."]))]
    if topic == 5:
        city, time, platform = rng.choice(CITIES_REAL), rng.choice(TIMES), rng.between(1, 12)
        return [(a, "A return ticket to %s, please." % city),
                (b, "The next train leaves at %s from platform %d." % (time, platform)),
                (a, "Do I need to change trains?"),
                (b, rng.choice(["No, it is a direct train.", "Yes, you change once, halfway there."])),
                (a, "And how much is the ticket?"),
                (b, "It is %d pounds with a railcard." % rng.between(12, 60))]
    if topic == 6:
        symptom = rng.choice(["a sore throat", "a headache", "a bad cough", "a sprained ankle", "an earache"])
        day = rng.choice(DAYS)
        return [(a, rng.choice(["Good morning, I would like to see a doctor.", "Hello, can I make an appointment, please?"])),
                (b, "What seems to be the problem?"),
                (a, "I have had %s for %d days." % (symptom, rng.between(2, 6))),
                (b, "The doctor can see you on %s morning. Is that all right?" % day),
                (a, "Yes, that is fine."),
                (b, "Please arrive ten minutes early.")]
    if topic == 7:
        item, place = rng.choice(ITEMS_LOST), rng.choice(PLACES)
        return [(a, "Have you seen my %s anywhere?" % item),
                (b, "When did you last have them?" if item.endswith("s") else "When did you last have it?"),
                (a, "I think I had them at %s." % place if item.endswith("s") else "I think I had it at %s." % place),
                (b, "Let us go back and look."),
                (a, "Good idea. I hope nobody took %s." % ("them" if item.endswith("s") else "it")),
                (b, "Someone may have handed %s in at the desk." % ("them" if item.endswith("s") else "it"))]
    if topic == 8:
        city, days = rng.choice(CITIES_REAL), rng.between(2, 7)
        transport = rng.choice(["by train", "by bus", "by car", "by bike"])
        return [(a, "I am thinking of visiting %s for %d days." % (city, days)),
                (b, "How are you going to get there?"),
                (a, "Probably %s." % transport),
                (b, "Where will you stay?"),
                (a, rng.choice(["At a small hotel near the centre.", "With an old friend from school.", "At a campsite by the river."])),
                (b, rng.choice(["Send me a postcard!", "That sounds lovely. Take lots of photos.", "Have a great time."]))]
    if topic == 9:
        item = rng.choice(["this jacket", "these shoes", "this lamp", "this kettle", "this shirt"])
        reason = rng.choice(["it is too small", "it does not work", "the colour is wrong", "it arrived broken"])
        return [(a, "Hello, I would like to return %s." % item),
                (b, "What is wrong with it?"),
                (a, "I am afraid %s." % reason),
                (b, "Do you have the receipt?"),
                (a, "Yes, I bought it on %s." % rng.choice(DAYS)),
                (b, "Then we can give you a refund or an exchange.")]
    if topic == 10:
        subject, part = rng.choice(SUBJECTS)
        return [(a, "Can you help me with my %s homework?" % subject),
                (b, "Sure, what is it about?"),
                (a, "We are learning about %s and I am stuck." % part),
                (b, rng.choice(["Let us read the first question together.", "Show me what you have done so far."])),
                (a, "Thanks, that makes more sense now."),
                (b, "Try the next one on your own and I will check it.")]
    if topic == 11:
        person, gift = rng.choice(["Mum", "Dad", "Grandma", "my sister", "my brother", "our teacher"]), rng.choice(GIFTS)
        return [(a, "It is %s's birthday on %s. What should I buy?" % (person, rng.choice(DAYS))),
                (b, "How about %s?" % gift),
                (a, rng.choice(["That is a nice idea, but maybe too expensive.", "Good thinking, %s would love that." % person.replace("my ", "").replace("our ", "")])),
                (b, "We could share the cost."),
                (a, "Deal. Let us go to the shops after lunch.")]
    if topic == 12:
        problem, fix = rng.choice(BIKE_PROBLEMS)
        return [(a, "My bike is not working properly. I think %s." % problem),
                (b, "Let me have a look."),
                (a, "Can you fix it?"),
                (b, "Yes, we just need to %s." % fix),
                (a, "How long will it take?"),
                (b, "About %d minutes, if we have the right tools." % rng.between(5, 30))]
    dish = rng.choice(["pancakes", "a vegetable soup", "pizza", "a fruit crumble", "fried rice"])
    missing = rng.choice(["eggs", "flour", "onions", "butter", "rice", "cheese"])
    return [(a, "Shall we make %s for dinner?" % dish),
            (b, "Yes, but do we have any %s?" % missing),
            (a, "I think we ran out yesterday."),
            (b, "I can go to the shop now."),
            (a, "Great, I will start on the rest."),
            (b, "Back in %d minutes." % rng.between(5, 20))]


def dialogue(rng, count, facts):
    def make(rng, index):
        a, b = rng.sample(SPEAKERS, 2)
        lines = dialogue_lines(rng, a, b)
        return "\n".join("%s: %s" % (who, what) for who, what in lines)

    return collect(rng, count, make)


# ---------------------------------------------------------------- recipes

VEG = ["carrots", "leeks", "courgettes", "mushrooms", "peppers", "spinach", "potatoes", "onions", "sweetcorn",
       "peas", "broccoli", "tomatoes", "parsnips", "cabbage", "pumpkin", "green beans"]
HERBS = ["parsley", "thyme", "basil", "rosemary", "coriander", "dill", "mint", "oregano"]
SPICES = ["cumin", "paprika", "turmeric", "black pepper", "chilli flakes", "ginger", "cinnamon", "nutmeg"]
FRUIT = ["apples", "bananas", "blueberries", "pears", "strawberries", "raspberries", "plums", "peaches", "mango"]
PASTA = ["spaghetti", "penne", "fusilli", "linguine", "macaroni", "tagliatelle"]


def singular(noun):
    if noun.endswith("oes"):
        return noun[:-2]
    if noun.endswith("s") and not noun.endswith("ss"):
        return noun[:-1]
    return noun


def recipe_parts(rng):
    kind = rng.below(12)
    serves = rng.between(2, 6)
    if kind == 0:
        veg = rng.choice(VEG)
        spice, herb = rng.choice(SPICES), rng.choice(HERBS)
        title = "%s soup" % singular(veg).capitalize()
        ingredients = ["%d00 g %s" % (rng.between(3, 8), veg), "1 onion", "%d cups of stock" % rng.between(3, 5), "1 tsp %s" % spice, "a handful of %s" % herb]
        steps = ["Chop the onion and the %s." % veg, "Fry the onion in a little oil for %d minutes." % rng.between(3, 6),
                 "Add the %s, the %s and the stock." % (veg, spice), "Simmer for %d minutes until soft." % rng.between(15, 35),
                 "Blend until smooth and stir in the %s." % herb]
    elif kind == 1:
        leaves = rng.choice(["lettuce", "rocket", "spinach", "mixed leaves"])
        extras = rng.sample(["cucumber", "tomatoes", "radishes", "walnuts", "feta", "olives", "red onion", "sweetcorn"], 3)
        title = "%s salad with %s" % (leaves.capitalize(), extras[0])
        ingredients = ["2 handfuls of %s" % leaves] + extras + ["3 tbsp olive oil", "1 tbsp lemon juice"]
        steps = ["Wash and dry the %s." % leaves, "Slice the %s and the %s." % (extras[0], extras[1]),
                 "Whisk the oil with the lemon juice and a pinch of salt.", "Toss everything together with the %s just before serving." % extras[2]]
    elif kind == 2:
        filling = rng.choice(["cheese", "mushroom", "spinach", "ham", "tomato and basil", "pepper"])
        eggs = rng.between(2, 4)
        title = "%s omelette" % filling.capitalize()
        serves = 1
        ingredients = ["%d eggs" % eggs, "a knob of butter", "%s for the filling" % filling, "salt and pepper"]
        steps = ["Beat the eggs with a pinch of salt and pepper.", "Melt the butter in a small pan over a medium heat.",
                 "Pour in the eggs and stir gently for %d seconds." % rng.between(20, 40),
                 "Add the %s, fold the omelette in half and slide it onto a plate." % filling]
    elif kind == 3:
        fruit = rng.choice(FRUIT)
        title = "%s pancakes" % fruit.capitalize()
        ingredients = ["200 g flour", "%d eggs" % rng.between(1, 2), "%d ml milk" % (50 * rng.between(5, 8)), "1 tsp baking powder", "a handful of %s" % fruit]
        steps = ["Whisk the flour, eggs, milk and baking powder into a smooth batter.", "Rest the batter for %d minutes." % rng.between(5, 30),
                 "Heat a lightly oiled pan and pour in a small ladle of batter.", "Scatter over some %s and cook for %d minutes on each side." % (fruit, rng.between(1, 3))]
    elif kind == 4:
        flour = rng.choice(["white", "wholemeal", "rye", "spelt"])
        rise = rng.between(1, 2)
        temp = rng.choice([200, 210, 220, 230])
        title = "Simple %s bread" % flour
        ingredients = ["500 g %s flour" % flour, "7 g dried yeast", "1 tsp salt", "%d ml warm water" % (10 * rng.between(30, 36))]
        steps = ["Mix the flour, yeast and salt, then add the water.", "Knead for %d minutes until the dough is smooth." % rng.between(8, 12),
                 "Leave it to rise for %d hour%s." % (rise, "s" if rise > 1 else ""), "Shape into a loaf and bake at %d C for %d minutes." % (temp, rng.between(25, 40))]
    elif kind == 5:
        flavour = rng.choice(["lemon", "chocolate", "banana", "apple", "carrot", "orange", "coffee"])
        temp, time = rng.choice([170, 175, 180, 190]), rng.between(20, 45)
        title = "%s cake" % flavour.capitalize()
        ingredients = ["200 g flour", "150 g sugar", "150 g butter", "3 eggs", "flavouring: %s" % flavour]
        steps = ["Heat the oven to %d C and line a tin." % temp, "Beat the butter and sugar until pale, then add the eggs one at a time.",
                 "Fold in the flour and the %s." % flavour, "Bake for %d minutes, until a skewer comes out clean." % time]
    elif kind == 6:
        pasta, veg = rng.choice(PASTA), rng.choice(VEG)
        sauce = rng.choice(["tomato", "garlic and oil", "pesto", "creamy mushroom", "lemon and pepper"])
        title = "%s with %s sauce" % (pasta.capitalize(), sauce)
        ingredients = ["%d00 g %s" % (rng.between(2, 5), pasta), "%s for the sauce" % sauce, "a handful of %s" % veg, "grated cheese"]
        steps = ["Boil the %s in salted water for %d minutes." % (pasta, rng.between(8, 12)),
                 "Meanwhile warm the %s sauce in a pan and add the %s." % (sauce, veg),
                 "Drain the pasta, keeping a splash of the water.", "Toss the pasta in the sauce and serve with cheese."]
    elif kind == 7:
        protein, veg = rng.choice(["tofu", "chicken", "prawns", "beef strips", "pork strips", "mushrooms"]), rng.sample([v for v in VEG if v != "mushrooms"], 2)
        title = "%s stir-fry" % protein.capitalize()
        ingredients = ["%d00 g %s" % (rng.between(2, 5), protein), veg[0], veg[1], "2 tbsp soy sauce", "1 tsp %s" % rng.choice(SPICES)]
        steps = ["Cut everything into thin strips.", "Heat a wok until very hot and add a little oil.",
                 "Fry the %s for %d minutes, then add the %s and %s." % (protein, rng.between(2, 5), veg[0], veg[1]),
                 "Add the soy sauce, toss for one more minute and serve with rice."]
    elif kind == 8:
        fruit, spice = rng.choice(FRUIT), rng.choice(["cinnamon", "nutmeg", "ginger"])
        title = "Porridge with %s" % fruit
        ingredients = ["%d g oats" % (10 * rng.between(4, 10)), "%d ml milk" % (50 * rng.between(4, 8)), "a pinch of %s" % spice, "some %s" % fruit, "honey"]
        steps = ["Put the oats and milk in a pan.", "Cook over a low heat for %d minutes, stirring often." % rng.between(4, 8),
                 "Stir in the %s." % spice, "Top with the %s and a little honey." % fruit]
    elif kind == 9:
        veg = rng.sample(VEG, 3)
        herb, temp = rng.choice(HERBS), rng.choice([190, 200, 210, 220])
        title = "Roasted %s and %s" % (veg[0], veg[1])
        ingredients = veg + ["3 tbsp olive oil", "a few sprigs of %s" % herb, "salt"]
        steps = ["Heat the oven to %d C." % temp, "Cut the %s, %s and %s into even pieces." % tuple(veg),
                 "Toss with the oil, %s and salt on a large tray." % herb, "Roast for %d minutes, turning once." % rng.between(25, 45)]
    elif kind == 10:
        fruits = rng.sample(FRUIT, 2)
        title = "%s and %s smoothie" % (fruits[0].capitalize(), fruits[1])
        ingredients = ["a cup of %s" % fruits[0], "a cup of %s" % fruits[1], "%d ml yoghurt" % (50 * rng.between(2, 5)), "a few ice cubes"]
        steps = ["Put everything in a blender.", "Blend for %d seconds until smooth." % rng.between(20, 60),
                 "Taste and add a little honey if needed.", "Pour into glasses and drink straight away."]
    else:
        protein, veg, spice = rng.choice(["chickpeas", "lentils", "white beans", "kidney beans"]), rng.choice(VEG), rng.choice(SPICES)
        title = "%s and %s stew" % (protein.capitalize(), veg)
        ingredients = ["1 tin of %s" % protein, "%d00 g %s" % (rng.between(2, 4), veg), "1 tin of tomatoes", "1 onion", "1 tsp %s" % spice]
        steps = ["Soften the onion in oil for %d minutes." % rng.between(4, 8), "Stir in the %s and cook for one minute." % spice,
                 "Add the %s, the %s and the tomatoes." % (veg, protein), "Simmer gently for %d minutes and season to taste." % rng.between(20, 40)]
    return title, serves, ingredients, steps


def recipes(rng, count, facts):
    def make(rng, index):
        title, serves, ingredients, steps = recipe_parts(rng)
        style = rng.below(3)
        people = "Serves %d." % serves
        if style == 0:
            lines = [title + ". " + people, "Ingredients: " + ", ".join(ingredients) + "."]
            lines += ["%d. %s" % (i + 1, s) for i, s in enumerate(steps)]
            return "\n".join(lines)
        if style == 1:
            return "%s (%s)\nYou need %s.\n%s" % (title, people.lower().rstrip("."), ", ".join(ingredients[:-1]) + " and " + ingredients[-1], " ".join(steps))
        return "Recipe: %s. %s First, %s Then %s" % (title.lower(), people, steps[0][0].lower() + steps[0][1:],
                                                       " Next, ".join(s[0].lower() + s[1:] for s in steps[1:]))

    return collect(rng, count, make)


DOMAINS = [
    ("encyclopedia", "txt", encyclopedia),
    ("arithmetic", "txt", arithmetic),
    ("code", "jsonl", code),
    ("dialogue", "txt", dialogue),
    ("recipes", "txt", recipes),
]
