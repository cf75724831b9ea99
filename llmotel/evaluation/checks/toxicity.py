"""Toxicity pre-check: a cheap offline flag for explicit abuse, run before an LLM judge.

The check is a lexicon, not a model: glin-profanity's multilingual word lists (with its leetspeak, separator and
Unicode-obfuscation handling and its built-in safe words like "Scunthorpe") plus llmotel's own overlay in
``data/toxicity/lexicon.json``: entries of glin's lists to ignore (ordinary words in another language, such as
"con" or "bitte"; clinical words), entries that are ambiguous ("bitch" for a dog) or mild ("shit"), and
per-language insults, threats and second-person words. Each hit has a strength; the strongest decides the score:

* 1.0: a threat ("I will kill you", "kill yourself", "je vais te tuer");
* 1.0: strong profanity or a strong insult addressed to the reader ("you idiot");
* 0.9: strong profanity, undirected ("this is fucking broken");
* 0.8: weaker profanity or insult addressed to the reader, or an imperative insult ("you are useless", "shut up");
* 0.6: mild profanity, undirected ("what a shitty day");
* 0.4: an ambiguous word or a strong insult, undirected ("jackass", "the idiot");
* 0.2: a mild insult, undirected ("a stupid mistake");
* 0.0: nothing found.

"Addressed to the reader" means a second-person word ("you", "du", "tu", "jij", ...) within
:data:`DIRECTED_WINDOW` words in the same sentence. The label is ``toxic`` at or above ``threshold``.

``certain`` tells a judge it may skip itself: the score is at or above ``certain_toxic``, or at or below
``certain_safe``. A wordlist cannot prove a text harmless (insults without listed words, sarcasm, threats in
other words), so ``certain_safe`` is off by default: only explicit abuse is certain.

Matching is a single pass per view of the text: glin-profanity's dictionaries are one trie-shaped pattern
(:mod:`llmotel.evaluation.checks.profanity`, which ports glin's rules: normalisation, obfuscation, safe words,
which hits it reports), and llmotel's insult lists another (:mod:`llmotel.evaluation.checks.toxicity_lexicon`).
It finds exactly what glin-profanity's per-word search found (tests compare the two) for about a twentieth of the work.
"""

from __future__ import annotations

import bisect
import importlib.util
import json
import re
import threading
from collections.abc import Iterable
from dataclasses import dataclass
from importlib import resources
from typing import Any

from llmotel.errors import ConfigurationError
from llmotel.evaluation._text import cap
from llmotel.evaluation.types import EvaluationInput, EvaluationResult

# glin-profanity is an optional dependency: fail on import (as the built-in registry expects) without loading it.
if importlib.util.find_spec("glin_profanity") is None:  # pragma: no cover - depends on the environment
    raise ModuleNotFoundError(
        "the toxicity pre-check needs glin-profanity: pip install 'llmotel[evaluators]'", name="glin_profanity"
    )

from llmotel.evaluation.checks.toxicity_lexicon import MILD, STRONG, Lexicon, fold, stretches

NAME = "toxicity"
METHOD = "glin_profanity+lexicon"
LABEL_TOXIC = "toxic"
LABEL_SAFE = "safe"
TARGETS: tuple[str, ...] = ("input", "output")
#: glin-profanity's dictionary languages; llmotel's overlay covers the default ones.
SUPPORTED_LANGUAGES = frozenset({
    "arabic", "chinese", "czech", "danish", "dutch", "english", "esperanto", "finnish", "french", "german", "hindi",
    "hungarian", "italian", "japanese", "korean", "norwegian", "persian", "polish", "portuguese", "russian",
    "spanish", "swedish", "thai", "turkish",
})
DEFAULT_LANGUAGES: tuple[str, ...] = ("english", "german", "french", "spanish", "portuguese", "italian", "dutch")
#: How many words away a second-person word may be for a hit to count as addressed to the reader.
DIRECTED_WINDOW = 4

SCORE_THREAT = 1.0
SCORE_DIRECTED_STRONG = 1.0
SCORE_STRONG = 0.9
SCORE_DIRECTED_MILD = 0.8
SCORE_MILD = 0.6
SCORE_AMBIGUOUS = 0.4
SCORE_MILD_INSULT = 0.2

# Punctuation inside a word ("b!tch", "f.u.c.k") does not end a sentence.
_SENTENCE_BREAK = re.compile(r"[.!?;]\s|\n")
_TOKEN = re.compile(r"\w+")
# Same-length leetspeak decoding for llmotel's own lists (glin decodes its own): "m0ron" -> "moron".
_LEET_KEYS = "013457@$!"
_LEET = str.maketrans(_LEET_KEYS, "oieastasi")
_LEET_CLASS = f"[{re.escape(_LEET_KEYS)}]"
_LEET_ANY = re.compile(_LEET_CLASS)
# A leetspeak character next to a word character: \w[013457@$!]|[013457@$!]\w, starting with the leetspeak
# character so the search skips to one.
_LEET_CHARS = re.compile(rf"{_LEET_CLASS}(?:(?<=\w{_LEET_CLASS})|(?=\w))")


@dataclass(frozen=True)
class _Hit:
    kind: str  # "profanity", "insult" or "threat"
    start: int
    strength: int  # STRONG, MILD or AMBIGUOUS
    directed: bool = False  # addressed to the reader by itself ("shut up")


class Detector:
    """glin-profanity's dictionaries (single-pass scanner) plus llmotel's lexicon; safe to share between threads."""

    def __init__(self, languages: tuple[str, ...], lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        # glin-profanity's lists load here, on the background loading thread, not when enable() builds the check
        from llmotel.evaluation.checks.profanity.scanner import ProfanityScanner

        self.scanner = ProfanityScanner(languages, lexicon.ignore)
        # The decoded view differs from the folded text only at leetspeak characters: the lists are searched
        # there only in the stretches holding one (None: the patterns allow no such stretches; search it whole).
        self.leet_barrier = lexicon.barrier(_LEET_KEYS)

    def hits(self, text: str, views: list[str]) -> list[_Hit]:
        """Hits in ``text``; ``views`` are its folded text and, when it has leetspeak, the decoded one."""
        lex = self.lexicon
        hits = [_Hit("profanity", m.index, lex.strength(m.word)) for m in self.scanner.matches(text)]
        found: set[tuple[str, int]] = set()
        for number, view in enumerate(views):
            # In the decoded view only matches that differ from the folded text's can add a hit.
            changed = stretches(views[0], self.leet_barrier, _LEET_ANY) \
                if number and self.leet_barrier is not None else None
            insults = lex.insults.find(view, changed)
            for kind, strength, directed in (("strong", STRONG, False), ("mild", MILD, False),
                                             ("directed", MILD, True)):
                for start, _ in insults[kind]:
                    if ("insult", start) not in found:
                        found.add(("insult", start))
                        hits.append(_Hit("insult", start, strength, directed))
            for start in lex.threats.starts(view, changed):
                if ("threat", start) not in found:
                    found.add(("threat", start))
                    hits.append(_Hit("threat", start, STRONG))
        return hits


_LOCK = threading.Lock()
_LEXICON: Lexicon | None = None
_DETECTORS: dict[tuple[str, ...], Detector] = {}


def lexicon() -> Lexicon:
    """llmotel's toxicity lexicon, loaded on first use and shared."""
    global _LEXICON
    if _LEXICON is None:
        with _LOCK:
            if _LEXICON is None:
                path = resources.files("llmotel.evaluation.checks") / "data" / "toxicity" / "lexicon.json"
                _LEXICON = Lexicon.from_data(json.loads(path.read_text(encoding="utf-8")))
    return _LEXICON


def detector_for(languages: tuple[str, ...]) -> Detector:
    """The shared detector for these glin-profanity languages, built on first use."""
    detector = _DETECTORS.get(languages)
    if detector is None:
        lex = lexicon()
        with _LOCK:
            detector = _DETECTORS.get(languages)
            if detector is None:
                detector = _DETECTORS[languages] = Detector(languages, lex)
    return detector


@dataclass(frozen=True)
class Verdict:
    """What the pre-check found in one text (no words from the text)."""

    score: float
    categories: tuple[str, ...]
    directed: bool
    match_count: int


class _Words:
    """The words of a folded text and which sentence each is in (a sentence break between two words starts a new
    sentence; punctuation inside a word, as in "b!tch" or "f.u.c.k", does not)."""

    def __init__(self, folded: str) -> None:
        spans = [m.span() for m in _TOKEN.finditer(folded)]
        self.starts = [start for start, _ in spans]
        self.spans = spans
        # A break (never inside a word) lies in the gap before the word at bisect_right(starts, break).
        self._new_sentence = sorted({bisect.bisect_right(self.starts, m.start())
                                     for m in _SENTENCE_BREAK.finditer(folded)})

    def sentence(self, index: int) -> int:
        return bisect.bisect_right(self._new_sentence, index)

    def addressed(self, at: int, view: str, second: frozenset[str]) -> bool:
        """Whether a second-person word is within :data:`DIRECTED_WINDOW` words of offset ``at``, same sentence."""
        index = bisect.bisect_right(self.starts, at) - 1
        if index < 0:
            return False
        sentence = self.sentence(index)
        for other in range(max(0, index - DIRECTED_WINDOW), min(len(self.spans), index + DIRECTED_WINDOW + 1)):
            start, end = self.spans[other]
            if view[start:end] in second and self.sentence(other) == sentence:
                return True
        return False


def judge_text(text: str, detector: Detector) -> Verdict:
    """Score one (already capped) text."""
    folded = fold(text)
    views = [folded, folded.translate(_LEET)] if _LEET_CHARS.search(folded) else [folded]
    hits = detector.hits(text, views)
    if not hits:
        return Verdict(0.0, (), False, 0)
    words = _Words(folded)
    second = detector.lexicon.second_person
    score, directed_any = 0.0, False
    for hit in hits:
        if hit.kind == "threat":
            score = max(score, SCORE_THREAT)
            continue
        directed = hit.directed or any(words.addressed(hit.start, view, second) for view in views)
        directed_any = directed_any or directed
        if directed:
            tier = SCORE_DIRECTED_STRONG if hit.strength == STRONG and not hit.directed else SCORE_DIRECTED_MILD
        elif hit.kind == "profanity":
            tier = (SCORE_AMBIGUOUS, SCORE_MILD, SCORE_STRONG)[hit.strength]
        else:
            tier = SCORE_AMBIGUOUS if hit.strength == STRONG else SCORE_MILD_INSULT
        score = max(score, tier)
    categories = tuple(sorted({h.kind for h in hits}))
    return Verdict(score, categories, directed_any, len(hits))


class ToxicityPrecheckEvaluator:
    """Flags explicit abuse (profanity, insults, threats) in the user's message and the model's answer.

    One result per side that has text: ``input_toxicity`` and ``output_toxicity``; label ``toxic``/``safe``,
    score from the tiers in the module docstring, assessment ``fail`` when toxic; metadata ``method``,
    ``certain`` (a judge may skip itself), ``categories`` (threat/insult/profanity), ``directed``,
    ``match_count`` and ``truncated``. Matched words never leave the evaluator.

    Options:
        targets: which sides to check, a subset of ``("input", "output")``.
        threshold: score at or above which the label is ``toxic``.
        certain_toxic: score at or above which the verdict is certain.
        certain_safe: score at or below which the verdict is certain (None: a "safe" verdict is never certain).
        languages: glin-profanity dictionaries to use (llmotel's overlay covers the default seven).
        max_chars: only the first this many characters of each text are examined.
    """

    name = NAME
    #: Explanations name categories only, never matched words, so they are exported even with content capture off.
    explanation_has_content = False
    #: CPU-bound with a capped input and no I/O: runs on the evaluation worker's thread (see Evaluator).
    cpu_bound = True

    def __init__(
        self,
        *,
        targets: Iterable[str] = TARGETS,
        threshold: float = 0.5,
        certain_toxic: float = 0.9,
        certain_safe: float | None = None,
        languages: Iterable[str] = DEFAULT_LANGUAGES,
        max_chars: int = 5_000,
    ) -> None:
        self.targets = _subset("targets", targets, TARGETS)
        self.languages = _subset("languages", languages, SUPPORTED_LANGUAGES)
        self.threshold = _fraction("threshold", threshold, low=0.0, low_open=True)
        self.certain_toxic = _fraction("certain_toxic", certain_toxic, low=self.threshold)
        self.certain_safe = None if certain_safe is None else _fraction(
            "certain_safe", certain_safe, high=self.threshold, high_open=True
        )
        if isinstance(max_chars, bool) or not isinstance(max_chars, int) or max_chars < 100:
            raise ConfigurationError("max_chars", max_chars, "an integer >= 100")
        self.max_chars = max_chars

    def evaluate(self, input: EvaluationInput) -> list[EvaluationResult] | None:
        """Check the last user message and/or the model's answer; None when neither has text."""
        texts = {"input": input.input_text, "output": input.output_text}
        results = [self._judge(side, texts[side]) for side in self.targets if texts[side].strip()]
        return results or None

    def _judge(self, side: str, text: str) -> EvaluationResult:
        # Only the start of a long text is examined; the cost grows with the length.
        capped, truncated = cap(text, self.max_chars)
        verdict = judge_text(capped, detector_for(self.languages))
        toxic = verdict.score >= self.threshold
        certain = verdict.score >= self.certain_toxic or (
            self.certain_safe is not None and verdict.score <= self.certain_safe
        )
        metadata: dict[str, Any] = {
            "method": METHOD, "certain": certain, "directed": verdict.directed,
            "match_count": verdict.match_count, "truncated": truncated,
        }
        if verdict.categories:
            metadata["categories"] = list(verdict.categories)
        return EvaluationResult(
            f"{side}_toxicity", score=verdict.score, label=LABEL_TOXIC if toxic else LABEL_SAFE,
            assessment="fail" if toxic else "pass", explanation=_explain(side, verdict), metadata=metadata,
        )


def _explain(side: str, verdict: Verdict) -> str:
    whose = "The user's message" if side == "input" else "The answer"
    if not verdict.categories:
        return f"{whose} has no listed profanity, insult or threat (a wordlist cannot rule out other abuse)."
    found = ", ".join(verdict.categories)
    addressed = ", addressed to the reader" if verdict.directed else ""
    return f"{whose} contains {found}{addressed} (pre-check score {verdict.score:.1f})."


def _subset(setting: str, value: Any, accepted: Iterable[str]) -> tuple[str, ...]:
    allowed = tuple(accepted)
    if isinstance(value, str) or not isinstance(value, Iterable):
        raise ConfigurationError(setting, value, f"a list drawn from {', '.join(sorted(allowed))}")
    chosen = tuple(dict.fromkeys(value))
    unknown = [v for v in chosen if v not in allowed]
    if not chosen or unknown:
        raise ConfigurationError(setting, unknown[0] if unknown else chosen, sorted(allowed))
    return chosen


def _fraction(
    setting: str, value: Any, *, low: float = 0.0, high: float = 1.0, low_open: bool = False, high_open: bool = False
) -> float:
    ok = not isinstance(value, bool) and isinstance(value, (int, float)) and low <= value <= high
    if ok and ((low_open and value == low) or (high_open and value == high)):
        ok = False
    if not ok:
        bounds = f"{'(' if low_open else '['}{low:g}, {high:g}{')' if high_open else ']'}"
        raise ConfigurationError(setting, value, f"a number in {bounds}")
    return float(value)
