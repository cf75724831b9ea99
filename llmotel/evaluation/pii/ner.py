"""PERSON and LOCATION from an installed spaCy model, through Presidio's SpacyNlpEngine and SpacyRecognizer.

Imported only when NER is on: it imports spaCy and Presidio's NLP engine.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Sequence
from typing import Any, cast

import spacy
from presidio_analyzer.nlp_engine import NerModelConfiguration, SpacyNlpEngine
from presidio_analyzer.predefined_recognizers import SpacyRecognizer

from llmotel.errors import ConfigurationError
from llmotel.evaluation.pii.options import PiiMatch


class _InstalledSpacyNlpEngine(SpacyNlpEngine):
    """SpacyNlpEngine that loads an installed model package (its ``ner`` component only), never downloading."""

    def load(self) -> None:
        pipelines: dict[str, Any] = {}
        for model in self.models:
            name = model["model_name"]
            if not spacy.util.is_package(name):
                raise ConfigurationError("pii_use_ner", True, f"an installed spaCy model package ({name})")
            meta = spacy.util.get_model_meta(spacy.util.get_package_path(name))
            components = meta.get("components") or meta.get("pipeline") or []
            pipelines[model["lang_code"]] = spacy.load(name, exclude=[c for c in components if c != "ner"])
        self.nlp = pipelines  # type: ignore[assignment]

    @staticmethod
    def _download_spacy_model_if_needed(model_name: str) -> None:
        raise ConfigurationError("pii_use_ner", True, f"an installed spaCy model package ({model_name})")


class SpacyNer:
    """PERSON/LOCATION matches from one installed model package.

    Only the model's ``ner`` component is loaded (it has its own tok2vec in the small English model). Inference
    is serialised by a lock: spaCy does not promise thread-safe ``nlp()`` calls. spaCy's string store grows with
    every new token it sees, so the model is reloaded when it has grown by ``_MAX_NEW_STRINGS`` strings.
    """

    _MAX_NEW_STRINGS = 1_000_000

    def __init__(self, package: str, entities: Sequence[str]) -> None:
        self._entities = list(entities)
        self._engine = _InstalledSpacyNlpEngine(
            models=[{"lang_code": "en", "model_name": package}],
            ner_model_configuration=NerModelConfiguration(),
        )
        self._lock = threading.Lock()
        self._load()
        self._recognizer = SpacyRecognizer(supported_entities=self._entities)

    def _load(self) -> None:
        self._engine.load()
        self._pipeline: Any = cast(Any, self._engine).nlp["en"]
        self._baseline_strings = len(self._pipeline.vocab.strings)

    def analyze(self, text: str) -> list[PiiMatch]:
        """Names and places in ``text`` (those that look like one: see :func:`looks_like_a_name`)."""
        with self._lock:
            artifacts = self._engine.process_text(text, "en")
            if len(self._pipeline.vocab.strings) - self._baseline_strings > self._MAX_NEW_STRINGS:
                self._load()
        return [
            PiiMatch(r.start, r.end, r.entity_type, float(r.score))
            for r in self._recognizer.analyze(text, self._entities, artifacts)
            if looks_like_a_name(text[r.start:r.end])
        ]


# The small English model tags ids, versions, times and code as PERSON/LOCATION ("Deployed 894.904", "8AA",
# "JIRA-19939", "localhost:44335"); names and places have letters, a capital, and no digits or code symbols.
_NOT_A_NAME = re.compile(r"[\d_:/\\\[\]{}()<>=#@$%^&*|~+;\"]")


def looks_like_a_name(value: str) -> bool:
    """Whether a PERSON/LOCATION found by the model can be one: a capital letter, no digits or code symbols."""
    return not _NOT_A_NAME.search(value) and any(c.isupper() for c in value)
