"""What the probe-set generators share: the packages' versions checked, tiers by a measure, and
the files written (or compared with --check) and summarised."""
import importlib.metadata
import json
import os
import sys

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
PROBES = os.path.join(REPO, "data", "probes")


def check_versions(script, packages):
    wrong = []
    for name, wanted in packages.items():
        try:
            found = importlib.metadata.version(name)
        except importlib.metadata.PackageNotFoundError:
            found = None
        if found != wanted:
            wrong.append(f"{name} {found or 'missing'} (wanted {wanted})")
    if wrong:
        sys.exit(f"{script}: " + ", ".join(wrong) + "; install the versions in the docstring")


def tiers(facts, measure):
    """high, medium, low: the thirds of the concepts ranked by the measure (ties by name)."""
    ranked = sorted(facts, key=lambda n: (-facts[n][measure], n))
    third = len(ranked) / 3
    return {name: ("high" if i < third else "medium" if i < 2 * third else "low") for i, name in enumerate(ranked)}


def probe_files(name, script, packages, tier_note, records, lines):
    """The probe set NAME.jsonl and its sources NAME-sources.tsv (a header naming the script, the
    packages' versions and how tiers were made, then one line a fact checked)."""
    jsonl = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    header = [f"# made by scripts/probes/{script} from " + ", ".join(f"{n} {v}" for n, v in packages.items()),
              tier_note,
              "category\tconcept\tfield\tvalue"]
    tsv = "\n".join(header + ["\t".join(line) for line in lines]) + "\n"
    return {f"{name}.jsonl": jsonl, f"{name}-sources.tsv": tsv}


def write_or_check(files, argv):
    """Writes `files` (name → text; the first the JSON Lines probe set) into data/probes, or with
    --check says whether the committed ones equal them (exit status 1 if not)."""
    names = list(files)
    if "--check" in argv:
        stale = []
        for name, text in files.items():
            path = os.path.join(PROBES, name)
            if not os.path.exists(path) or open(path, "rb").read() != text.encode("utf-8"):
                stale.append(name)
        print("out of date: " + ", ".join(stale) if stale else f"data/probes/{' and '.join(names)} match the generator")
        return 1 if stale else 0
    for name, text in files.items():
        with open(os.path.join(PROBES, name), "wb") as f:
            f.write(text.encode("utf-8"))
        print(f"wrote data/probes/{name} ({text.count(chr(10))} lines)")
    records = [json.loads(line) for line in files[names[0]].splitlines()]
    concepts = {}
    for r in records:
        concepts.setdefault(r["concept"], (r["category"], r["tier"]))
    print(f"{len(concepts)} concepts, {len(records)} questions")
    for key in sorted({c for c, _ in concepts.values()}):
        tiers_here = [t for c, t in concepts.values() if c == key]
        print(f"  {key}: {len(tiers_here)} concepts ({', '.join(f'{tiers_here.count(t)} {t}' for t in ('high', 'medium', 'low'))}), "
              f"{sum(1 for r in records if r['category'] == key)} questions")
    return 0
