"""PII redaction measured on the held-out set (``pii_heldout.py``): data the recognizers were not tuned on.

The whole set (3,100 PII samples, 2,000 look-alikes; about 3 seconds), as the issue's targets are stated for it:
a part of it would count look-alikes in steps too coarse for a 0.5% target (1 of 800 is 0.125%). The thresholds
are the figures the redactor reaches (the README's; ``python benchmarks/pii_accuracy.py`` lists the misses);
JSON leaves are redacted with their key as ``context``, as the span redaction passes them.
"""

from __future__ import annotations

import pytest

from llmotel.evaluation.pii import PiiOptions, PiiRedactor
from tests.evaluation import pii_heldout

# Reached on the set (the issue asks for >= 99% recall per entity and <= 0.5% of look-alikes changed): e-mail
# 516/517, phone 513/517, card 512/517, IBAN, IP and SSN all; 2 of 2,000 look-alikes changed.
MIN_RECALL = {"EMAIL_ADDRESS": 0.998, "PHONE_NUMBER": 0.992, "CREDIT_CARD": 0.99, "IBAN_CODE": 1.0,
              "IP_ADDRESS": 1.0, "US_SSN": 1.0}
MAX_LOOKALIKES_CHANGED = 0.001


@pytest.fixture(scope="module")
def report() -> pii_heldout.Report:
    redactor = PiiRedactor(PiiOptions(use_ner=False))
    samples = pii_heldout.generate()
    return pii_heldout.measure(lambda s: redactor.redact(s.text, context=s.context)[0], samples)


def test_the_set_covers_every_kind_language_and_shape() -> None:
    samples = pii_heldout.generate(n_pii=300, n_lookalike=200)
    assert {s.language for s in samples} == set(pii_heldout.LANGUAGES)
    assert {s.shape for s in samples} == {"sentence", "json", "json_leaf", "csv", "log", "xml"}
    kinds = {v.kind for s in samples for v in s.values if v.pii}
    assert kinds == set(pii_heldout.KINDS)
    locales = {v.source.split(":")[1] for s in samples for v in s.values if v.source.startswith("faker:")}
    assert len(locales) >= 11
    # Generated the same way every time (seeded; Faker's dates bounded).
    again = pii_heldout.generate(n_pii=300, n_lookalike=200)
    assert [(s.text, s.context) for s in again] == [(s.text, s.context) for s in samples]


@pytest.mark.parametrize("kind", pii_heldout.KINDS)
def test_recall_per_entity(report: pii_heldout.Report, kind: str) -> None:
    assert report.total[kind] >= 500
    assert report.recall(kind) >= MIN_RECALL[kind], (report.recall(kind), [m[1:3] for m in report.missed
                                                                            if m[0] == kind])


def test_no_partial_leaks(report: pii_heldout.Report) -> None:
    assert sum(report.partial.values()) == 0, report.partial


def test_look_alikes_changed(report: pii_heldout.Report) -> None:
    assert report.lookalikes >= 2_000
    assert report.lookalike_share <= MAX_LOOKALIKES_CHANGED, [c[:2] for c in report.changed]


def test_the_measure_counts_partial_leaks_and_misses() -> None:
    """The measuring code itself: a value left whole is a miss, one left in part a partial leak, a look-alike
    sample changed at all counts as changed."""
    value = pii_heldout.Labelled(5, 20, "PHONE_NUMBER", True, "test")
    sample = pii_heldout.Sample("Tel: +44 20 7946 0958.", (value,), "en", "sentence")
    lookalike = pii_heldout.Sample("v 5.8.77.117", (pii_heldout.Labelled(2, 12, "four_part", False, "x"),), "en",
                                   "sentence")
    outputs = {sample.text: "Tel: +44 <PHONE_NUMBER>.", lookalike.text: "v <IP_ADDRESS>"}
    report = pii_heldout.measure(lambda s: outputs[s.text], [sample, lookalike])
    assert report.caught.get("PHONE_NUMBER", 0) == 0 and report.partial == {"PHONE_NUMBER": 1}
    assert report.lookalikes_changed == 1
    outputs[sample.text] = "Tel: <PHONE_NUMBER>."
    assert pii_heldout.measure(lambda s: outputs[s.text], [sample]).caught == {"PHONE_NUMBER": 1}
    outputs[sample.text] = sample.text
    missed = pii_heldout.measure(lambda s: outputs[s.text], [sample])
    assert missed.partial == {} and len(missed.missed) == 1
