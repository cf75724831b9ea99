"""The recognizers for one entity set, run over the windows that can hold their entities, results cached.

Presidio (and spaCy) are imported here on first use only, when the first engine is built: the recognizer
module is imported inside :func:`shared_engine`, under its lock.
"""

from __future__ import annotations

import functools
import re
import threading
from collections.abc import Sequence
from typing import Any

from llmotel.evaluation.pii.options import NER_ENTITIES, PiiMatch
from llmotel.evaluation.pii.windows import Gate, anchor_windows, at_windows

_ENGINES: dict[tuple[tuple[str, ...], str | None], Engine] = {}
_ENGINES_LOCK = threading.Lock()


def shared_engine(entities: tuple[str, ...], ner_model: str | None) -> Engine:
    """The engine for ``entities`` (and the NER model package, if any), built once per process and shared."""
    key = (tuple(sorted(entities)), ner_model)
    engine = _ENGINES.get(key)
    if engine is not None:
        return engine
    with _ENGINES_LOCK:
        engine = _ENGINES.get(key)
        if engine is None:
            engine = Engine(entities, ner_model)
            _ENGINES[key] = engine
    return engine


_CACHE_MAX_CHARS = 32_768
_CACHE_ENTRIES = 256

_WORD = re.compile(r"\w+")
_CONTEXT_WINDOW_CHARS = 60
_CONTEXT_WORDS_BEFORE = 5
_CONTEXT_BOOST = 0.35
_CONTEXT_MIN_SCORE = 0.5


class Engine:
    """The recognizers for one entity set (plus the NER model, if any). Built once, then read-only."""

    def __init__(self, entities: Sequence[str], ner_model: str | None) -> None:
        from llmotel.evaluation.pii.recognizers import recognizers_for  # imports Presidio and spaCy

        self._email: tuple[Any, frozenset[str]] | None = None
        self._recognizers: list[tuple[str, Any, frozenset[str], Gate]] = []
        for entity in entities:
            if entity in NER_ENTITIES:
                continue
            for recognizer, entity_gate in recognizers_for(entity):
                context = frozenset(w.lower() for w in (getattr(recognizer, "context", None) or ()))
                if entity == "EMAIL_ADDRESS":
                    self._email = (recognizer, context)
                else:
                    self._recognizers.append((entity, recognizer, context, entity_gate))
        ner_entities = [e for e in entities if e in NER_ENTITIES]
        self._ner: Any = None
        if ner_model and ner_entities:
            from llmotel.evaluation.pii.ner import SpacyNer

            self._ner = SpacyNer(ner_model, ner_entities)
        self._cached = functools.lru_cache(maxsize=_CACHE_ENTRIES)(self._analyze)
        # Warm-up: compiles the recognizers' regular expressions (Presidio compiles them lazily) and loads
        # tldextract's snapshot now, under the engines lock, rather than racing on first use from many threads.
        self.analyze("warm-up jane.doe@example.com +1 415 555 0132 4111 1111 1111 1111 10.1.2.3 fe80::1ff:fe23:4567")

    def analyze(self, text: str) -> tuple[PiiMatch, ...]:
        """Raw matches in one chunk, context boosts applied, before the threshold and overlap resolution.

        Results for texts up to ``_CACHE_MAX_CHARS`` are cached (LRU): the same system prompt, tool schema or
        message is exported on span after span. The cache holds those strings in memory, as the spans do.
        """
        if len(text) <= _CACHE_MAX_CHARS:
            return self._cached(text)
        return self._analyze(text)

    def _analyze(self, text: str) -> tuple[PiiMatch, ...]:
        results: list[PiiMatch] = []
        if self._ner is not None:
            results.extend(self._ner.analyze(text))
        if self._recognizers:
            for start, end, digits, longest_run in anchor_windows(text):
                window = text[start:end]
                for entity, recognizer, context, (min_digits, min_run, pattern) in self._recognizers:
                    if digits < min_digits or longest_run < min_run or (pattern and not pattern.search(window)):
                        continue
                    for r in recognizer.analyze(window, [entity]):
                        results.append(_scored(text, r.start + start, r.end + start, r.entity_type, r.score, context))
        if self._email is not None and "@" in text:
            recognizer, context = self._email
            for start, window in at_windows(text):
                for r in recognizer.analyze(window, ["EMAIL_ADDRESS"]):
                    results.append(_scored(text, r.start + start, r.end + start, r.entity_type, r.score, context))
        return tuple(results)


def _scored(text: str, start: int, end: int, entity_type: str, score: float, context: frozenset[str]) -> PiiMatch:
    """The match, its score raised when one of its recognizer's context words is among the words just before.

    Without a spaCy pipeline there are no lemmas for Presidio's context enhancer, so this is a cheap equivalent:
    a context word among the five words before a match raises its score by 0.35, to at least 0.5.
    """
    if context and score < 1.0:
        window = text[max(0, start - _CONTEXT_WINDOW_CHARS):start].lower()
        if any(w in context for w in _WORD.findall(window)[-_CONTEXT_WORDS_BEFORE:]):
            score = min(1.0, max(score + _CONTEXT_BOOST, _CONTEXT_MIN_SCORE))
    return PiiMatch(start, end, entity_type, float(score))
