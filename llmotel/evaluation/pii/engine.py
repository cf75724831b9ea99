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

from llmotel.evaluation.pii import context as ctx
from llmotel.evaluation.pii.options import NER_ENTITIES, PiiMatch
from llmotel.evaluation.pii.windows import Gate, anchor_windows, at_windows, has_anchor

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

# Chinese and Japanese run values into the text around them ("175.26.235.170からの", "メールはname@host.co.jpです").
# The recognizers' patterns need a word boundary there, so they scan a copy of the text in which each CJK
# character touching a non-CJK one is a space (same length, so offsets hold). Runs of CJK stay as they are.
_CJK = ctx.CJK_CHARACTERS
_CJK_ANY = re.compile(f"[{_CJK}]")
_CJK_EDGE = re.compile(f"[{_CJK}](?=[^\\s{_CJK}])|(?<=[^\\s{_CJK}])[{_CJK}]")


def _scannable(text: str) -> str:
    """``text`` with CJK characters next to other characters blanked, for the recognizers' patterns."""
    if not _CJK_ANY.search(text):
        return text
    return _CJK_EDGE.sub(" ", text)


class Engine:
    """The recognizers for one entity set (plus the NER model, if any). Built once, then read-only."""

    def __init__(self, entities: Sequence[str], ner_model: str | None) -> None:
        from llmotel.evaluation.pii.recognizers import LABEL_AT, recognizers_for  # imports Presidio and spaCy

        self._label_key = LABEL_AT
        self._email: tuple[Any, frozenset[str]] | None = None
        self._recognizers: list[tuple[str, Any, frozenset[str], Gate]] = []
        for entity in entities:
            if entity in NER_ENTITIES:
                continue
            for recognizer, entity_gate in recognizers_for(entity):
                context = frozenset(w.lower() for w in (getattr(recognizer, "context", None) or ())) | \
                    ctx.POSITIVE.get(entity, frozenset())
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

    def may_match(self, text: str) -> bool:
        """False when :meth:`analyze` finds nothing in ``text`` whatever the context: no NER model, and nothing a
        pattern recognizer's window is built around (a digit, a hex digit by a colon, an "@"). Blanking CJK
        characters for the scan only removes anchors, so asking this of the text itself is safe."""
        return self._ner is not None or has_anchor(text)

    def analyze(self, text: str, context: tuple[str, ...] = ()) -> tuple[PiiMatch, ...]:
        """Raw matches in one chunk, context applied, before the threshold and overlap resolution. ``context``:
        words that precede the text (see :func:`llmotel.evaluation.pii.context.context_words`).

        Results for texts up to ``_CACHE_MAX_CHARS`` are cached (LRU, keyed by text and context): the same system
        prompt, tool schema or message is exported on span after span. The cache holds those strings in memory,
        as the spans do.
        """
        if len(text) <= _CACHE_MAX_CHARS:
            return self._cached(text, context)
        return self._analyze(text, context)

    def _analyze(self, text: str, context: tuple[str, ...]) -> tuple[PiiMatch, ...]:
        results: list[PiiMatch] = []
        if self._ner is not None:
            results.extend(self._ner.analyze(text))
        scan = _scannable(text)
        if self._recognizers:
            for start, end, digits, longest_run in anchor_windows(scan):
                window = scan[start:end]
                for entity, recognizer, positive, (min_digits, min_run, pattern) in self._recognizers:
                    if digits < min_digits or longest_run < min_run or (pattern and not pattern.search(window)):
                        continue
                    for r in recognizer.analyze(window, [entity]):
                        label_at = (r.recognition_metadata or {}).get(self._label_key, r.start) + start
                        match = _scored(text, r.start + start, r.end + start, r.entity_type, r.score, positive,
                                        context, label_at)
                        if match is not None:
                            results.append(match)
        if self._email is not None and "@" in scan:
            recognizer, positive = self._email
            for start, window in at_windows(scan):
                for r in recognizer.analyze(window, ["EMAIL_ADDRESS"]):
                    match = _scored(text, r.start + start, r.end + start, r.entity_type, r.score, positive, context)
                    if match is not None:
                        results.append(match)
        return tuple(results)


def _scored(text: str, start: int, end: int, entity_type: str, score: float, positive: frozenset[str],
            context: tuple[str, ...], label_at: int | None = None) -> PiiMatch | None:
    """The match with its score raised when a label of its kind is just before it (before ``label_at``, when
    given); None when a label of another identifier is (see :mod:`llmotel.evaluation.pii.context`)."""
    if score < 1.0:
        verdict = ctx.label_before(text, start if label_at is None else label_at, entity_type, positive, context,
                                   end)
        if verdict < 0:
            return None
        if verdict > 0:
            score = min(1.0, max(score + ctx.BOOST, ctx.MIN_BOOSTED_SCORE))
    return PiiMatch(start, end, entity_type, float(score))
