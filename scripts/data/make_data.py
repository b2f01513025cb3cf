#!/usr/bin/env python3
"""Writes neurotop's shipped data: the demo world, the probe sets and the domain corpora.

    python3 scripts/data/make_data.py          # (re)write everything under data/
    python3 scripts/data/make_data.py --check  # regenerate in memory, compare with data/

Deterministic: all randomness comes from a SplitMix64 generator seeded from fixed strings,
so any Python 3.8+ writes byte-identical files. Standard library only. The script checks its
own output (counts, formats, that every demo probe prompt is followed by its answer wherever
it occurs in the training text, that every code sample compiles and its asserts pass) and
stops with an assertion if a check fails.
"""
import json
import os
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)

import demo_world  # noqa: E402
import world_data  # noqa: E402
from domains import DOMAINS  # noqa: E402
from rng import Rng, seed_of  # noqa: E402

ROOT = os.path.normpath(os.path.join(HERE, "..", ".."))
DATA = os.path.join(ROOT, "data")
SAMPLES_PER_DOMAIN = 128


def jsonl(records):
    return "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)


def capitalise(sentence):
    return sentence[:1].upper() + sentence[1:]


# ---------------------------------------------------------------- demo world

def build_demo():
    rng = Rng(seed_of("demo world"))
    years = rng.sample(list(range(1100, 1950)), 40)
    numbers = rng.sample(list(range(118, 160)), 8)
    facts, probes = [], []
    answers = {}  # (concept, attribute) -> answer
    for category in demo_world.CATEGORIES:
        concepts = demo_world.CONCEPTS[category]
        assert len(concepts) == 8
        table = []
        for attribute, pool, prompt, phrasings, clause in demo_world.ATTRIBUTES[category]:
            if pool == "YEAR":
                values = [str(years.pop()) for _ in concepts]
                pool = values
            elif pool == "NUMBER":
                values = [str(n) for n in numbers]
                pool = values
            elif isinstance(pool, dict):
                values = [pool[c] for c in concepts]
                pool = values
            elif len(pool) >= len(concepts):
                values = rng.sample(pool, len(concepts))
            else:  # a small pool: every value used, as evenly as possible
                values = (pool * len(concepts))[: len(concepts)]
                rng.shuffle(values)
            assert len(set(pool)) == len(pool) >= 4, (category, attribute)
            table.append((attribute, pool, prompt, phrasings, clause, values))
        assert len(table) == 8, category
        for index, concept in enumerate(concepts):
            seen = set()
            for attribute, pool, prompt, phrasings, clause, values in table:
                answer = values[index]
                assert answer.lower() not in seen, (concept, answer)
                seen.add(answer.lower())
                answers[(concept, attribute)] = answer
                question = prompt.format(c=concept)
                sentences = [question + " " + answer + "."]
                sentences += [capitalise(p.format(c=concept, a=answer)) for p in phrasings]
                assert len(set(sentences)) == len(sentences) >= 3
                facts.append({"concept": concept, "category": category, "attribute": attribute,
                              "answer": answer, "phrasings": sentences})
                distractors = rng.sample([v for v in pool if v != answer], 3)
                choices = [answer] + distractors
                rng.shuffle(choices)
                probes.append({"concept": concept, "category": category, "prompt": question,
                               "answer": " " + answer, "choices": [" " + c for c in choices]})
    check_demo(facts, probes)
    return facts, probes


def check_demo(facts, probes):
    concepts = [c for cat in demo_world.CATEGORIES for c in demo_world.CONCEPTS[cat]]
    assert len(concepts) == len(set(concepts)) == 48
    values = {f["answer"] for f in facts}
    for concept in concepts:
        for value in values:
            assert concept.lower() not in value.lower(), (concept, value)
            assert value.lower() not in concept.lower() or len(value) < 4, (concept, value)
    assert len(probes) == 48 * 8
    prompts = [p["prompt"] for p in probes]
    assert len(set(prompts)) == len(prompts), "two demo questions share a prompt"
    for p in probes:
        assert p["prompt"] == p["prompt"].strip() and p["prompt"][0].isupper()
        assert p["answer"].startswith(" ") and p["answer"] in p["choices"]
        assert len(p["choices"]) == 4 and len(set(p["choices"])) == 4
        assert not any(p["prompt"].startswith(c) for c in concepts), p["prompt"]
        assert p["prompt"].isascii()


def check_prompts_follow(probes, texts):
    """Every occurrence of a probe prompt in the training text continues with its answer."""
    corpus = "\n".join(texts)
    for p in probes:
        start = corpus.find(p["prompt"])
        found = 0
        while start >= 0:
            after = corpus[start + len(p["prompt"]):]
            assert after.startswith(p["answer"]), (p["prompt"], after[:30])
            found += 1
            start = corpus.find(p["prompt"], start + 1)
        assert found >= 1, p["prompt"]


# ---------------------------------------------------------------- world probe set

def build_world():
    rng = Rng(seed_of("world probe set"))
    records = []

    def add(concept, category, prompt, answer, distractors):
        assert len(distractors) == 3 and answer not in distractors, (concept, prompt)
        choices = [answer] + list(distractors)
        rng.shuffle(choices)
        records.append({"concept": concept, "category": category, "prompt": prompt,
                        "answer": " " + answer, "choices": [" " + c for c in choices]})

    for concept, answers, extra, exclude in world_data.COUNTRIES:
        for key, template in world_data.COUNTRY_TEMPLATES:
            if key not in answers:
                continue
            prompt = template.format(c=concept)
            if key == "language":
                prompt = world_data.LANGUAGE_PROMPT_OVERRIDE.get(concept, prompt)
            pool = [v for v in world_data.COUNTRY_POOLS[key]
                    if v != answers[key] and v not in exclude.get(key, [])]
            assert answers[key] in world_data.COUNTRY_POOLS[key], (concept, key)
            add(concept, "country", prompt, answers[key], rng.sample(pool, 3))
        for prompt, answer, distractors in extra:
            add(concept, "country", prompt, answer, distractors)

    for category in ["city", "person", "work"]:
        for concept, questions in world_data.OTHERS[category].items():
            for prompt, answer, distractors in questions:
                add(concept, category, prompt, answer, distractors)

    for concept, answers, extra in world_data.ELEMENTS:
        lower = concept.lower()
        for key, template in world_data.ELEMENT_TEMPLATES:
            pool = [v for v in world_data.ELEMENT_POOLS[key] if v != answers[key]]
            assert answers[key] in world_data.ELEMENT_POOLS[key], (concept, key)
            add(concept, "element", template.format(l=lower), answers[key], rng.sample(pool, 3))
        for prompt, answer, distractors in extra:
            add(concept, "element", prompt, answer, distractors)

    for concept, questions in world_data.OTHERS["company"].items():
        for prompt, answer, distractors in questions:
            add(concept, "company", prompt, answer, distractors)

    check_world(records)
    return records


def check_world(records):
    by_concept, categories = {}, {}
    for r in records:
        by_concept.setdefault(r["concept"], []).append(r)
        assert categories.setdefault(r["concept"], r["category"]) == r["category"]
        assert r["prompt"] == r["prompt"].strip() and not r["prompt"].endswith(" ")
        assert r["answer"].startswith(" ") and r["answer"].strip()
        assert len(r["choices"]) == 4 and len(set(r["choices"])) == 4 and r["answer"] in r["choices"]
    prompts = [r["prompt"] for r in records]
    assert len(set(prompts)) == len(prompts), "two world questions share a prompt"
    assert len(by_concept) >= 60 and len(set(categories.values())) >= 6
    assert all(len(q) >= 8 for q in by_concept.values())
    # A concept's name (for elements, in lowercase) appears in each of its prompts.
    for concept, questions in by_concept.items():
        for q in questions:
            assert concept.lower() in q["prompt"].lower(), (concept, q["prompt"])


# ---------------------------------------------------------------- domains

def build_domains(facts):
    out = {}
    for name, extension, make in DOMAINS:
        rng = Rng(seed_of("domain " + name))
        samples = make(rng, SAMPLES_PER_DOMAIN, facts)
        assert len(samples) == SAMPLES_PER_DOMAIN, name
        assert len(set(samples)) == len(samples), name + ": duplicate samples"
        for s in samples:
            assert s.isascii(), (name, s)
            assert 150 <= len(s) <= 600, (name, len(s), s)
            assert s == s.strip() or extension == "jsonl", (name, s)
            if extension == "txt":
                assert "\n\n" not in s and all(line.strip() for line in s.split("\n")), (name, s)
        if extension == "txt":
            text = "\n\n".join(samples) + "\n"
        else:
            text = jsonl({"text": s} for s in samples)
        out[name + "." + extension] = (text, samples)
    return out


# ---------------------------------------------------------------- main

def generate():
    facts, demo_probes = build_demo()
    world = build_world()
    domains = build_domains(facts)
    training = [s for f in facts for s in f["phrasings"]]
    for _, samples in domains.values():
        training.extend(samples)
    check_prompts_follow(demo_probes, training)
    files = {
        "demo/facts.jsonl": jsonl(facts),
        "probes/demo.jsonl": jsonl(demo_probes),
        "probes/world-v1.jsonl": jsonl(world),
    }
    for filename, (text, _) in domains.items():
        files["domains/" + filename] = text
    for relative, text in files.items():
        if relative != "probes/world-v1.jsonl":
            assert text.isascii(), relative
    return files


def main(argv):
    check = "--check" in argv
    files = generate()
    stale = []
    for relative, text in sorted(files.items()):
        path = os.path.join(DATA, relative)
        data = text.encode("utf-8")
        if check:
            try:
                with open(path, "rb") as f:
                    if f.read() != data:
                        stale.append(relative)
            except FileNotFoundError:
                stale.append(relative)
            continue
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        print("wrote data/%s (%d lines)" % (relative, text.count("\n")))
    if check:
        if stale:
            print("out of date: " + ", ".join("data/" + s for s in stale))
            return 1
        print("data/ matches the generator")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
