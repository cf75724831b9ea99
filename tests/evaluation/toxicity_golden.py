"""The toxicity pre-check's recorded verdicts, made with the reference (pre-single-pass) implementation.

    python -m tests.evaluation.toxicity_golden   # rewrites tests/evaluation/data/toxicity_golden.json (minutes)

Run it only to extend the record, never to make a failing comparison pass: the point of the file is that the
verdicts were recorded before the matcher was rewritten. The generated corpus is rebuilt from its seed (a checksum
of all its texts guards against the generator or the word lists changing); the labelled sets are stored verbatim.
A verdict is stored as ``"score categories directed match_count"``, categories as initials (``-`` for none):
``"0.9 ip 1 3"`` is score 0.9, insult and profanity, addressed to the reader, three hits.
"""

from __future__ import annotations

import hashlib
import json
import sys
import time
from pathlib import Path
from typing import Any

from llmotel.evaluation._text import cap
from llmotel.evaluation.checks.toxicity import DEFAULT_LANGUAGES, SUPPORTED_LANGUAGES
from tests.evaluation import toxicity_corpus, toxicity_reference

PATH = Path(__file__).parent / "data" / "toxicity_golden.json"
MAX_CHARS = 5_000  # the evaluator's default cap
#: (name, glin languages, corpus size, corpus seed, corpus drawn from every language's dictionary)
CONFIGS: list[tuple[str, tuple[str, ...], int, int, bool]] = [
    ("default", DEFAULT_LANGUAGES, 20_000, 13, False),
    ("english", ("english",), 3_000, 14, False),
    ("all_languages", tuple(sorted(SUPPORTED_LANGUAGES)), 4_000, 15, True),
]


# Texts other test modules and benchmarks give the pre-check (judge checks, built-in evaluators, throughput).
OTHER_SUITES = [
    "I will kill you, you fucking idiot.", "This is the third time I ask. Your service is useless.",
    "People like you never understand anything.", "That is damn hard.", "hi",
    "Delivery to Berlin usually takes two to three working days, and you can change the address until the parcel "
    "ships. Thank you, that is a great question!",
    "Can you help me reset my password please?", "I'm sorry, but I can't help with that. Shut up, you useless idiot.",
    "Delivery to Berlin usually takes two to three working days.",
    "Hello, I am Maria Schmidt and I need help with my order 48213. Please send the invoice to "
    "maria.schmidt@example.com or call me on +49 30 901820 tomorrow. I paid with the card 4111 1111 1111 1111 "
    "last Tuesday, and the amount was 129.90 EUR. Could you also tell me how long delivery to Berlin takes, and "
    "whether I can change the delivery address after the parcel has shipped? The tracking page shows an error "
    "since yesterday evening and I am getting worried.",
    "Thank you for reaching out, Maria. I have found your order 48213 and the invoice has been sent to the e-mail "
    "address on file. Delivery to Berlin usually takes two to three working days. You can change the delivery "
    "address until the parcel leaves our warehouse; after that, the carrier offers a redirect service on its "
    "website for a small fee. The tracking page had a temporary outage yesterday evening, which is now fixed, so "
    "you should see the current status again. Is there anything else I can help you with today?",
]


def checksum(texts: list[str]) -> str:
    digest = hashlib.sha1()
    for text in texts:
        digest.update(text.encode("utf-8", "surrogatepass") + b"\0")
    return digest.hexdigest()


def encode(score: float, categories: tuple[str, ...] | list[str], directed: bool, match_count: int) -> str:
    """One verdict as the golden file stores it."""
    initials = "".join(sorted(c[0] for c in categories)) or "-"
    return f"{score:g} {initials} {int(directed)} {match_count}"


def labelled_texts() -> list[str]:
    """Every labelled text the project has for the pre-check: the tests' sets and the benchmark's sets."""
    root = Path(__file__).resolve().parents[2]
    sys.path.insert(0, str(root / "benchmarks"))
    import offline_checks  # the benchmark script's labelled sets

    from tests.evaluation import test_toxicity

    found: list[str] = []
    for toxic, safe in (offline_checks.DESIGN_SET, offline_checks.HELD_OUT_SET, offline_checks.VALIDATION_SET):
        found += toxic + safe
    found += list(offline_checks.TEXTS.values())
    found += test_toxicity.LABELLED_TEXTS
    found += OTHER_SUITES
    return list(dict.fromkeys(found))


def record(text: str, detector: toxicity_reference.Detector) -> str:
    capped, _ = cap(text, MAX_CHARS)
    verdict = toxicity_reference.judge_text(capped, detector)
    return encode(verdict.score, verdict.categories, verdict.directed, verdict.match_count)


def main() -> None:
    lexicon = toxicity_reference.lexicon()
    out: dict[str, Any] = {"max_chars": MAX_CHARS, "configs": []}
    for name, languages, size, seed, all_languages in CONFIGS:
        detector = toxicity_reference.Detector(languages, lexicon)
        started = time.perf_counter()
        corpus = toxicity_corpus.texts(size, seed, all_languages)
        rows = [record(t, detector) for t in corpus]
        labelled = [[t, record(t, detector)] for t in labelled_texts()]
        out["configs"].append({"name": name, "languages": list(languages), "size": size, "seed": seed,
                               "all_languages": all_languages, "checksum": checksum(corpus), "corpus": rows,
                               "labelled": labelled})
        print(f"{name}: {size} texts in {time.perf_counter() - started:.0f} s", flush=True)
    PATH.write_text(json.dumps(out, ensure_ascii=False, indent=0) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
