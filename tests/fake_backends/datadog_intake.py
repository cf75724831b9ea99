"""Datadog LLM Observability's eval-metric intake (``POST /api/intake/llm-obs/v2/eval-metric``), stood in for by a
local server that checks each request against the documented shape and answers as the intake does: 202 for a
valid request, 400 with the errors for an invalid one, 403 without an API key.

The documented request: header ``DD-API-KEY``, ``Content-Type: application/json``, body
``{"data": {"type": "evaluation_metric", "attributes": {"metrics": [...]}}}``; each metric has ``join_on``
(``{"span": {"span_id", "trace_id"}}`` or ``{"tag": {"key", "value"}}``; for OpenTelemetry spans both ids as decimal
strings and the ``source:otel`` tag), ``timestamp_ms`` (int64), ``ml_app``,
``metric_type`` (``categorical`` / ``score`` / ``boolean``), ``label`` (starts with a letter; ASCII letters, digits,
underscores; at most 200 characters) and the value field of its type (``categorical_value`` string,
``score_value`` number, ``boolean_value`` bool); optional ``assessment`` (``pass`` / ``fail``), ``reasoning``
(string), ``tags`` (``key:value`` strings), ``metadata`` (object).
"""

from __future__ import annotations

import re
from typing import Any

from .http_server import Recorded, Scripted, ScriptedServer

PATH = "/api/intake/llm-obs/v2/eval-metric"
_LABEL = re.compile(r"[A-Za-z][A-Za-z0-9_]{0,199}")
_VALUE_TYPES = {"categorical": ("categorical_value", str), "score": ("score_value", (int, float)),
                "boolean": ("boolean_value", bool)}


def eval_metric_errors(request: Recorded) -> list[str]:
    """Everything about a request that does not match the documented shape (empty when it matches)."""
    errors = []
    if request.path != PATH:
        errors.append(f"path {request.path}")
    if not request.headers.get("dd-api-key"):
        errors.append("no DD-API-KEY header")
    if not request.headers.get("content-type", "").startswith("application/json"):
        errors.append("content-type is not application/json")
    data = request.body.get("data") if isinstance(request.body, dict) else None
    if not isinstance(data, dict) or data.get("type") != "evaluation_metric":
        return [*errors, "data.type is not evaluation_metric"]
    metrics = (data.get("attributes") or {}).get("metrics")
    if not isinstance(metrics, list) or not metrics:
        return [*errors, "data.attributes.metrics is not a non-empty list"]
    for i, metric in enumerate(metrics):
        errors.extend(f"metrics[{i}]: {e}" for e in _metric_errors(metric))
    return errors


def _metric_errors(metric: Any) -> list[str]:
    if not isinstance(metric, dict):
        return ["not an object"]
    errors = []
    span = (metric.get("join_on") or {}).get("span")
    tag = (metric.get("join_on") or {}).get("tag")
    if isinstance(span, dict):
        if not (isinstance(span.get("span_id"), str) and span["span_id"].isdigit()):
            errors.append(f"join_on.span.span_id {span.get('span_id')!r} is not a decimal string")
        if not (isinstance(span.get("trace_id"), str) and span["trace_id"].isdigit()):
            errors.append(f"join_on.span.trace_id {span.get('trace_id')!r} is not a decimal string")
        if "source:otel" not in (metric.get("tags") or []):
            errors.append("an evaluation of an OpenTelemetry span without the source:otel tag")
    elif not (isinstance(tag, dict) and isinstance(tag.get("key"), str) and isinstance(tag.get("value"), str)):
        errors.append("join_on has neither span nor tag")
    if not isinstance(metric.get("timestamp_ms"), int) or isinstance(metric.get("timestamp_ms"), bool):
        errors.append("timestamp_ms is not an integer")
    if not isinstance(metric.get("ml_app"), str) or not metric["ml_app"]:
        errors.append("ml_app missing")
    if not isinstance(metric.get("label"), str) or not _LABEL.fullmatch(metric["label"]):
        errors.append(f"label {metric.get('label')!r} breaks the naming rule")
    kind = metric.get("metric_type")
    if kind not in _VALUE_TYPES:
        errors.append(f"metric_type {kind!r}")
    else:
        field, types = _VALUE_TYPES[kind]
        value = metric.get(field)
        if not isinstance(value, types) or (kind == "score" and isinstance(value, bool)):
            errors.append(f"{field} {value!r} does not fit metric_type {kind}")
    if "assessment" in metric and metric["assessment"] not in ("pass", "fail"):
        errors.append(f"assessment {metric['assessment']!r}")
    if "reasoning" in metric and not isinstance(metric["reasoning"], str):
        errors.append("reasoning is not a string")
    tags = metric.get("tags", [])
    if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
        errors.append("tags is not a list of strings")
    if "metadata" in metric and not isinstance(metric["metadata"], dict):
        errors.append("metadata is not an object")
    return errors


class DatadogIntake(ScriptedServer):
    """The stand-in intake: ``intake.url`` is the full eval-metric URL; ``intake.metrics`` the valid metrics
    received; ``intake.invalid`` the requests it refused, with their errors."""

    def __init__(self) -> None:
        super().__init__()
        self.metrics: list[dict[str, Any]] = []
        self.invalid: list[tuple[Recorded, list[str]]] = []

    @property
    def url(self) -> str:
        return super().url + PATH

    def answer(self, request: Recorded) -> Scripted:
        scripted = super().answer(request)
        if scripted is not self.default:  # a scripted failure comes first
            return scripted
        if not request.headers.get("dd-api-key"):
            return Scripted(403, {"errors": [{"status": "403", "title": "Forbidden"}]})
        errors = eval_metric_errors(request)
        if errors:
            self.invalid.append((request, errors))
            return Scripted(400, {"errors": [{"status": "400", "detail": e} for e in errors]})
        self.metrics.extend(request.body["data"]["attributes"]["metrics"])
        return Scripted(202, {})
