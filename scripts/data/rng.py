"""A small deterministic random generator (SplitMix64), independent of Python's `random`,
so the generated data does not depend on the Python version."""
import hashlib

MASK = (1 << 64) - 1


def seed_of(text):
    return int.from_bytes(hashlib.sha256(text.encode("utf-8")).digest()[:8], "little")


class Rng:
    def __init__(self, seed):
        self.state = seed & MASK

    def next(self):
        self.state = (self.state + 0x9E3779B97F4A7C15) & MASK
        z = self.state
        z = ((z ^ (z >> 30)) * 0xBF58476D1CE4E5B9) & MASK
        z = ((z ^ (z >> 27)) * 0x94D049BB133111EB) & MASK
        return z ^ (z >> 31)

    def below(self, n):
        """A number in 0 ..< n (n is tiny next to 2^64, so the bias is negligible)."""
        return self.next() % n

    def between(self, low, high):
        """A number in low ... high, both included."""
        return low + self.below(high - low + 1)

    def choice(self, items):
        return items[self.below(len(items))]

    def chance(self, numerator, denominator):
        return self.below(denominator) < numerator

    def shuffle(self, items):
        for i in range(len(items) - 1, 0, -1):
            j = self.below(i + 1)
            items[i], items[j] = items[j], items[i]

    def sample(self, items, k):
        items = list(items)
        self.shuffle(items)
        return items[:k]
