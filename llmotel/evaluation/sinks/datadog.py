"""Datadog LLM Observability: each result as an evaluation metric on the eval-metric intake
(``POST https://api.{site}/api/intake/llm-obs/v2/eval-metric``, header ``DD-API-KEY``).

A metric is joined to its span by span and trace id (``join_on.span``: for OpenTelemetry spans Datadog asks for
both ids as decimal strings and the ``source:otel`` tag), and is ``categorical`` (the label), ``score`` (the score)
or ``boolean``: a custom evaluation keeps the type it was submitted with; a built-in result with a label is
categorical (its score goes to ``metadata.score``). Labels are made to fit Datadog's naming rule (ASCII letters,
digits and underscores, starting with a letter, at most 200 characters).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from llmotel.evaluation.sinks._delivery import EvaluationSink, post_json
from llmotel.evaluation.sinks._record import EvaluationRecord

DEFAULT_SITE = "datadoghq.com"
INTAKE_PATH = "/api/intake/llm-obs/v2/eval-metric"
EVENT_TYPE = "evaluation_metric"
OTEL_SOURCE_TAG = "source:otel"  # required on evaluations of OpenTelemetry spans
_NOT_LABEL = re.compile(r"[^A-Za-z0-9_]")


def metric_label(name: str) -> str:
    """An evaluation name as a Datadog evaluation label."""
    label = _NOT_LABEL.sub("_", name)
    if not label[:1].isalpha():
        label = "eval_" + label
    return label[:200]


def eval_metric(record: EvaluationRecord, ml_app: str, tags: tuple[str, ...]) -> dict[str, Any]:
    """One eval-metric entry for a record."""
    kind = record.kind
    metric: dict[str, Any] = {
        "join_on": {"span": {"span_id": str(record.span_id), "trace_id": str(record.trace_id)}},
        "ml_app": ml_app,
        "timestamp_ms": record.timestamp_ns // 1_000_000,
        "metric_type": kind,
        "label": metric_label(record.name),
        "tags": [OTEL_SOURCE_TAG, *tags, *record.tags],
    }
    metadata: dict[str, Any] = dict(record.metadata)
    if kind == "boolean":
        metric["boolean_value"] = record.label == "true" if record.label is not None else bool(record.score)
    elif kind == "score":
        metric["score_value"] = record.score if record.score is not None else 0.0
        if record.label is not None:
            metadata["label"] = record.label
    else:
        metric["categorical_value"] = record.label if record.label is not None else str(record.score)
        if record.score is not None:
            metadata["score"] = record.score
    if record.source is not None:
        metadata["source"] = record.source
    if record.assessment is not None:
        metric["assessment"] = record.assessment
    if record.explanation is not None:
        metric["reasoning"] = record.explanation
    if metadata:
        metric["metadata"] = metadata
    return metric


class DatadogSink(EvaluationSink):
    """Delivers evaluation results to Datadog LLM Observability's eval-metric intake.

    ``api_key``: a Datadog API key. ``ml_app``: the LLM application name the metrics belong to. ``site``:
    ``datadoghq.com``, ``datadoghq.eu``, ``us3.datadoghq.com``, ... ``url``: the full intake URL instead (a
    proxy, or a test server). ``tags``: ``key:value`` strings added to every metric.
    """

    name = "datadog"

    def __init__(self, api_key: str, ml_app: str, site: str = DEFAULT_SITE, url: str | None = None,
                 tags: Mapping[str, str] | None = None, **options: Any) -> None:
        super().__init__(**options)
        self.url = url or f"https://api.{site}{INTAKE_PATH}"
        self.ml_app = ml_app
        self.headers = {"DD-API-KEY": api_key}
        self.tags = tuple(f"{k}:{v}" for k, v in (tags or {}).items())

    def deliver(self, records: list[EvaluationRecord], timeout: float) -> None:
        metrics = [eval_metric(r, self.ml_app, self.tags) for r in records]
        post_json(self.url, {"data": {"type": EVENT_TYPE, "attributes": {"metrics": metrics}}}, self.headers,
                  timeout)
