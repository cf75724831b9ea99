"""The toxicity pre-check as it was before the single-pass matcher: the reference the tests compare it with.

glin-profanity's ``Filter`` (one regex search per dictionary word over several normalised views of the text)
plus llmotel's overlay searched with one regex alternation per list. Slow (several ms per 500 characters) but
plainly written; kept here, not in the library, so the tests can check that the fast matcher finds the same.
"""

from __future__ import annotations

import bisect
import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from glin_profanity import Filter

from llmotel.evaluation.checks.toxicity import (
    DIRECTED_WINDOW,
    SCORE_AMBIGUOUS,
    SCORE_DIRECTED_MILD,
    SCORE_DIRECTED_STRONG,
    SCORE_MILD,
    SCORE_MILD_INSULT,
    SCORE_STRONG,
    SCORE_THREAT,
    Verdict,
)

STRONG, MILD, AMBIGUOUS = 2, 1, 0
_SENTENCE_BREAK = re.compile(r"[.!?;]\s|\n")
_TOKEN = re.compile(r"\w+")
_APOSTROPHES = "\u2019\u2018\u02bc\u0060\u00b4"
_LEET = str.maketrans("013457@$!", "oieastasi")
_LEET_CHARS = re.compile(r"\w[013457@$!]|[013457@$!]\w")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)).lower()
    return base if len(base) == 1 else char.lower() if len(char.lower()) == 1 else char


def fold(text: str) -> str:
    if text.isascii():
        return text.lower()
    return "".join("'" if c in _APOSTROPHES else _fold_char(c) for c in text)


def _word_alternation(entries: Iterable[str]) -> re.Pattern[str] | None:
    words = sorted({fold(e).strip() for e in entries if e.strip()}, key=len, reverse=True)
    if not words:
        return None
    body = "|".join(re.escape(w).replace(r"\ ", r"\s+") for w in words)
    return re.compile(rf"(?<!\w)(?:{body})(?!\w)")


@dataclass(frozen=True)
class Lexicon:
    ignore: frozenset[str]
    ambiguous: frozenset[str]
    mild: frozenset[str]
    strong_insults: re.Pattern[str] | None
    mild_insults: re.Pattern[str] | None
    directed_insults: re.Pattern[str] | None
    threats: re.Pattern[str] | None
    second_person: frozenset[str]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Lexicon:
        insults: Mapping[str, Mapping[str, list[str]]] = data.get("insults") or {}

        def entries(kind: str) -> list[str]:
            return [e for lang in insults.values() for e in lang.get(kind, [])]

        threats = [t for lang in (data.get("threats") or {}).values() for t in lang]
        ignore = [w.lower() for w in data.get("ignore") or []]
        return cls(
            ignore=frozenset(ignore) | frozenset(fold(w) for w in ignore),
            ambiguous=frozenset(fold(w) for w in data.get("ambiguous") or []),
            mild=frozenset(fold(w) for w in data.get("mild") or []),
            strong_insults=_word_alternation(entries("strong")),
            mild_insults=_word_alternation(entries("mild")),
            directed_insults=_word_alternation(entries("directed")),
            threats=re.compile("|".join(f"(?:{t})" for t in threats)) if threats else None,
            second_person=frozenset(fold(w) for lang in (data.get("second_person") or {}).values() for w in lang),
        )

    def strength(self, word: str) -> int:
        folded = fold(word)
        return AMBIGUOUS if folded in self.ambiguous else MILD if folded in self.mild else STRONG


@dataclass(frozen=True)
class _Hit:
    kind: str
    start: int
    strength: int
    directed: bool = False


class Detector:
    """One glin-profanity filter plus the lexicon."""

    def __init__(self, languages: tuple[str, ...], lexicon: Lexicon) -> None:
        self.lexicon = lexicon
        self.filter = Filter({
            "languages": list(languages),
            "detect_leetspeak": True,
            "leetspeak_level": "moderate",
            "obfuscation": "standard",
            "ignore_words": sorted(lexicon.ignore),
        })
        self._lock = threading.Lock()

    def hits(self, text: str, views: list[str]) -> list[_Hit]:
        with self._lock:
            result = self.filter.check_profanity(text)
        lex = self.lexicon
        hits = [
            _Hit("profanity", int(m.get("index", 0)), lex.strength(str(m.get("word", ""))))
            for m in result.get("matches") or []
        ]
        found: set[tuple[str, int]] = set()
        for view in views:
            for pattern, strength, directed in (
                (lex.strong_insults, STRONG, False), (lex.mild_insults, MILD, False), (lex.directed_insults, MILD, True)
            ):
                for m in pattern.finditer(view) if pattern is not None else ():
                    if ("insult", m.start()) not in found:
                        found.add(("insult", m.start()))
                        hits.append(_Hit("insult", m.start(), strength, directed))
            for m in lex.threats.finditer(view) if lex.threats is not None else ():
                if ("threat", m.start()) not in found:
                    found.add(("threat", m.start()))
                    hits.append(_Hit("threat", m.start(), STRONG))
        return hits


def lexicon() -> Lexicon:
    path = resources.files("llmotel.evaluation.checks") / "data" / "toxicity" / "lexicon.json"
    return Lexicon.from_data(json.loads(path.read_text(encoding="utf-8")))


def _is_directed(hit_start: int, tokens: list[tuple[int, int, int]], starts: list[int], second: frozenset[str],
                 view: str) -> bool:
    index = bisect.bisect_right(starts, hit_start) - 1
    if index < 0:
        return False
    sentence = tokens[index][2]
    for other in range(max(0, index - DIRECTED_WINDOW), min(len(tokens), index + DIRECTED_WINDOW + 1)):
        start, end, other_sentence = tokens[other]
        if other_sentence == sentence and view[start:end] in second:
            return True
    return False


def judge_text(text: str, detector: Detector) -> Verdict:
    """Score one (already capped) text, exactly as the pre-check did before the single-pass matcher."""
    folded = fold(text)
    views = [folded, folded.translate(_LEET)] if _LEET_CHARS.search(folded) else [folded]
    hits = detector.hits(text, views)
    if not hits:
        return Verdict(0.0, (), False, 0)
    tokens: list[tuple[int, int, int]] = []
    sentence, previous_end = 0, 0
    for match in _TOKEN.finditer(folded):
        if _SENTENCE_BREAK.search(folded[previous_end:match.start()]):
            sentence += 1
        tokens.append((match.start(), match.end(), sentence))
        previous_end = match.end()
    starts = [t[0] for t in tokens]
    second = detector.lexicon.second_person
    score, directed_any = 0.0, False
    for hit in hits:
        if hit.kind == "threat":
            score = max(score, SCORE_THREAT)
            continue
        directed = hit.directed or any(_is_directed(hit.start, tokens, starts, second, view) for view in views)
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
