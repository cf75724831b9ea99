"""Arize Phoenix: each result as a span annotation (``POST /v1/span_annotations``), which Phoenix shows in the
span's Annotations tab and in its annotation columns and filters.

Annotator kind ``LLM`` for results an LLM judge decided, ``CODE`` for the rest; ``result`` holds the label, score
and explanation (what the exported span's event carries). Annotations are sent asynchronously (Phoenix's
default): Phoenix keeps an annotation that arrives before its span and retries it for minutes, so a sink never
waits for the span exporter. Phoenix upserts by (span, name), so a repeated result updates the annotation.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmotel.evaluation.sinks._delivery import EvaluationSink, base_url, post_json
from llmotel.evaluation.sinks._record import EvaluationRecord

ANNOTATOR_LLM = "LLM"
ANNOTATOR_CODE = "CODE"
_RESERVED_NAMES = frozenset({"note"})  # Phoenix reserves "note" for span notes


def annotation(record: EvaluationRecord) -> dict[str, Any]:
    """One Phoenix span annotation for a record."""
    result: dict[str, Any] = {}
    if record.label is not None:
        result["label"] = record.label
    if record.score is not None:
        result["score"] = record.score
    if record.explanation is not None:
        result["explanation"] = record.explanation
    metadata: dict[str, Any] = {**record.metadata}
    if record.assessment is not None:
        metadata["assessment"] = record.assessment
    if record.source is not None:
        metadata["source"] = record.source
    if record.tags:
        metadata["tags"] = list(record.tags)
    name = record.name if record.name not in _RESERVED_NAMES else f"{record.name}_evaluation"
    return {
        "span_id": record.span_id_hex,
        "name": name,
        "annotator_kind": ANNOTATOR_LLM if record.by_judge else ANNOTATOR_CODE,
        "result": result,
        "metadata": metadata,
    }


class PhoenixSink(EvaluationSink):
    """Delivers evaluation results to Phoenix as span annotations.

    ``endpoint``: Phoenix's base URL (the UI/REST root, e.g. ``http://localhost:6006``; the same one OTLP/HTTP
    traces go to). ``api_key``: sent as ``Authorization: Bearer`` when Phoenix has authentication on.
    ``headers``: extra HTTP headers. Delivery options: see :class:`EvaluationSink`.
    """

    name = "phoenix"

    def __init__(self, endpoint: str, api_key: str | None = None, headers: Mapping[str, str] | None = None,
                 **options: Any) -> None:
        super().__init__(**options)
        self.url = f"{base_url(endpoint)}/v1/span_annotations?sync=false"
        self.headers = dict(headers or {})
        if api_key:
            self.headers["Authorization"] = f"Bearer {api_key}"

    def deliver(self, records: list[EvaluationRecord], timeout: float) -> None:
        post_json(self.url, {"data": [annotation(r) for r in records]}, self.headers, timeout)
