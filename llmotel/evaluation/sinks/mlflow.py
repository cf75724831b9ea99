"""MLflow: each result as a feedback assessment on the trace (``POST /api/3.0/mlflow/traces/{trace_id}/assessments``),
which MLflow shows in the trace view's Assessments pane, attached to the evaluated span.

MLflow names a trace that arrived over OTLP ``tr-<the OTel trace id in hex>``. The source is ``LLM_JUDGE`` for
results an LLM judge decided, ``CODE`` for the rest (``source_id`` ``llmotel``). The feedback value is the label (a
custom ``score`` or ``boolean`` evaluation: its number or bool), the rationale the explanation; score, assessment
and the evaluator's metadata go to the assessment's metadata (strings, as MLflow stores them). MLflow has no
batch call for assessments: one request per result. An assessment for a trace MLflow has not stored yet is
refused with 404, so 404 is retried (with backoff) until the span exporter has delivered the trace.
"""

from __future__ import annotations

import base64
import json
from collections.abc import Mapping
from typing import Any

from llmotel.evaluation.sinks._delivery import DeliveryError, EvaluationSink, base_url, post_json
from llmotel.evaluation.sinks._record import EvaluationRecord

SOURCE_LLM_JUDGE = "LLM_JUDGE"
SOURCE_CODE = "CODE"
SOURCE_ID = "llmotel"
TRACE_ID_PREFIX = "tr-"
ASSESSMENTS_PATH = "/api/3.0/mlflow/traces/{trace_id}/assessments"
_NOT_FOUND = 404


def trace_id(record: EvaluationRecord) -> str:
    """MLflow's id of the trace a record's span belongs to."""
    return TRACE_ID_PREFIX + record.trace_id_hex


def _value(record: EvaluationRecord) -> Any:
    if record.metric_type == "boolean":
        return record.label == "true" if record.label is not None else bool(record.score)
    if record.metric_type == "score" or record.label is None:
        return record.score
    return record.label


def _string(value: Any) -> str:
    return value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)


def assessment(record: EvaluationRecord) -> dict[str, Any]:
    """The ``CreateAssessment`` request body for a record."""
    metadata = {k: _string(v) for k, v in record.metadata.items()}
    if record.score is not None:
        metadata["score"] = _string(record.score)
    if record.label is not None:
        metadata["label"] = record.label
    if record.assessment is not None:
        metadata["assessment"] = record.assessment
    if record.source is not None:
        metadata["source"] = record.source
    if record.tags:
        metadata["tags"] = ",".join(record.tags)
    body: dict[str, Any] = {
        "assessment_name": record.name,
        "trace_id": trace_id(record),
        "span_id": record.span_id_hex,
        "source": {"source_type": SOURCE_LLM_JUDGE if record.by_judge else SOURCE_CODE, "source_id": SOURCE_ID},
        "feedback": {"value": _value(record)},
        "metadata": metadata,
    }
    if record.explanation is not None:
        body["rationale"] = record.explanation
    return {"assessment": body}


class MLflowSink(EvaluationSink):
    """Delivers evaluation results to an MLflow tracking server as feedback assessments on the traces.

    ``tracking_uri``: the server's base URL (e.g. ``http://localhost:5000``). ``token``: sent as
    ``Authorization: Bearer`` (``MLFLOW_TRACKING_TOKEN``); ``username``/``password``: basic auth instead.
    ``headers``: extra HTTP headers. 404 (trace not stored yet) is retried up to ``max_retries`` times (default 7:
    about half a minute of backoff).
    """

    name = "mlflow"

    def __init__(self, tracking_uri: str, token: str | None = None, username: str | None = None,
                 password: str | None = None, headers: Mapping[str, str] | None = None, **options: Any) -> None:
        options.setdefault("max_retries", 7)
        super().__init__(**options)
        self.base = base_url(tracking_uri)
        self.headers = dict(headers or {})
        if token:
            self.headers["Authorization"] = f"Bearer {token}"
        elif username is not None and password is not None:
            basic = base64.b64encode(f"{username}:{password}".encode()).decode()
            self.headers["Authorization"] = f"Basic {basic}"

    def deliver(self, records: list[EvaluationRecord], timeout: float) -> None:
        while records:
            record = records[0]
            url = self.base + ASSESSMENTS_PATH.format(trace_id=trace_id(record))
            try:
                post_json(url, assessment(record), self.headers, timeout)
            except DeliveryError as exc:
                if exc.status == _NOT_FOUND:  # the trace is not stored yet: the span exporter is behind
                    raise DeliveryError(str(exc), retryable=True, status=exc.status) from None
                raise
            del records[0]
