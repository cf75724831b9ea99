"""The evaluation intake, ``POST /v1/evaluations``: evaluations from any language, as ``submit_evaluation`` makes.

Accepts the envelope hosted LLM-observability intakes use::

    {"data": {"type": "evaluation_metric", "attributes": {"metrics": [
        {"span_id": "<16 hex>", "trace_id": "<32 hex>", "ml_app": "support-bot", "timestamp_ms": 1767225600000,
         "metric_type": "categorical", "label": "Answered", "categorical_value": "true",
         "tags": ["team:ml"], "assessment": "pass", "reasoning": "..."}]}}}

or the same metric objects as a plain JSON array. Every metric is checked before anything is applied; one invalid
metric refuses the request with every problem named (index, field, reason). Each valid metric becomes a child span
``evaluation {label}`` of the evaluated span carrying one ``gen_ai.evaluation.result`` event, exactly what
:func:`llmotel.submit_evaluation` exports for a finished span; the spans go through the gateway's queue, redaction
and forwarding like received ones.
"""

from __future__ import annotations

import math
import random
import re
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import SpanContext, SpanKind, TraceFlags

from llmotel import semconv as sc
from llmotel._version import __version__
from llmotel.export.otlp_proto import encode_request
from llmotel.feedback import ASSESSMENTS, METRIC_TYPES, evaluation_attributes

ENVELOPE_TYPE = "evaluation_metric"
_VALUE_FIELDS = {"categorical": "categorical_value", "score": "score_value", "boolean": "boolean_value"}
_HEX = re.compile(r"^[0-9a-f]+$")
#: a timestamp_ms below this (1973-03-03) is taken for seconds since the epoch; from the next (2286-11-20) on, for
#: microseconds or nanoseconds (and OTLP's nanosecond timestamps end in 2554)
_MIN_MS = 100_000_000_000
_MAX_MS = 10_000_000_000_000
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)


@dataclass(frozen=True)
class Metric:
    """One validated evaluation metric."""

    trace_id: int
    span_id: int
    timestamp_ns: int
    metric_type: str
    label: str
    value: Any
    ml_app: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    assessment: str | None = None
    reasoning: str | None = None


class InvalidEvaluations(ValueError):
    """A request with invalid metrics; ``errors`` names each one: ``{"index", "field", "error"}``."""

    def __init__(self, errors: list[dict[str, Any]]) -> None:
        super().__init__(f"{len(errors)} invalid field(s)")
        self.errors = errors


def _metrics_list(document: Any) -> list[Any]:
    if isinstance(document, list):
        return document
    if not isinstance(document, Mapping):
        raise InvalidEvaluations([{"index": None, "field": "data",
                                   "error": "expected {\"data\": {\"type\": \"evaluation_metric\", \"attributes\": "
                                            "{\"metrics\": [...]}}} or a JSON array of metrics"}])
    data = document.get("data")
    if not isinstance(data, Mapping):
        raise InvalidEvaluations([{"index": None, "field": "data", "error": "missing or not an object"}])
    if data.get("type", ENVELOPE_TYPE) != ENVELOPE_TYPE:
        raise InvalidEvaluations([{"index": None, "field": "data.type",
                                   "error": f"must be {ENVELOPE_TYPE!r}, got {data.get('type')!r}"}])
    attributes = data.get("attributes")
    metrics = attributes.get("metrics") if isinstance(attributes, Mapping) else None
    if not isinstance(metrics, list):
        raise InvalidEvaluations([{"index": None, "field": "data.attributes.metrics",
                                   "error": "missing or not an array"}])
    return metrics


def _hex_id(raw: Any, digits: int) -> tuple[int | None, str | None]:
    if not isinstance(raw, str):
        return None, f"must be a string of {digits} hex digits, got {type(raw).__name__}"
    text = raw.strip().lower()
    if len(text) != digits or not _HEX.match(text):
        return None, f"must be {digits} hex digits, got {raw[:64]!r}"
    value = int(text, 16)
    if value == 0:
        return None, "must not be all zeros"
    return value, None


def _timestamp(raw: Any) -> tuple[int | None, str | None]:
    if isinstance(raw, bool) or not isinstance(raw, (int, float)) or not math.isfinite(raw):
        return None, "must be a number of milliseconds since the epoch"
    if raw < 0:
        return None, "must not be negative"
    if raw < _MIN_MS:
        return None, f"{raw!r} looks like seconds since the epoch; send milliseconds (e.g. {int(raw * 1000)})"
    if raw >= _MAX_MS:
        return None, f"{raw!r} looks like microseconds or nanoseconds since the epoch; send milliseconds"
    return int(raw * 1_000_000), None


def _value(metric_type: str, raw: Any) -> str | None:
    """What is wrong with the value of a metric of ``metric_type``, or None."""
    if metric_type == "categorical" and (not isinstance(raw, str) or not raw):
        return f"must be a non-empty string for metric_type 'categorical', got {raw!r}"[:200]
    if metric_type == "score" and (isinstance(raw, bool) or not isinstance(raw, (int, float))
                                   or not math.isfinite(raw)):
        return f"must be a finite number for metric_type 'score', got {raw!r}"[:200]
    if metric_type == "boolean" and not isinstance(raw, bool):
        return f"must be true or false for metric_type 'boolean', got {raw!r}"[:200]
    return None


def _tags(raw: Any) -> tuple[dict[str, str], str | None]:
    if raw is None:
        return {}, None
    if not isinstance(raw, list) or not all(isinstance(t, str) and t for t in raw):
        return {}, "must be an array of non-empty 'key:value' strings"
    out = {}
    for tag in raw:
        key, _, value = tag.partition(":")
        if not key:
            return {}, f"tag {tag!r} has no key"
        out[key] = value
    return out, None


def validate_metric(index: int, raw: Any, errors: list[dict[str, Any]]) -> Metric | None:
    """The metric, or None after appending its problems to ``errors``."""
    found: list[tuple[str, str]] = []
    if not isinstance(raw, Mapping):
        errors.append({"index": index, "field": None, "error": "a metric must be a JSON object"})
        return None
    span_id, problem = _hex_id(raw.get("span_id"), 16)
    if problem:
        found.append(("span_id", problem))
    trace_id, problem = _hex_id(raw.get("trace_id"), 32)
    if problem:
        found.append(("trace_id", problem))
    timestamp, problem = _timestamp(raw.get("timestamp_ms"))
    if problem:
        found.append(("timestamp_ms", problem))
    label = raw.get("label")
    if not isinstance(label, str) or not label.strip():
        found.append(("label", "required: a non-empty string"))
    elif "." in label:
        found.append(("label", f"must not contain '.', got {label!r}"))
    metric_type = raw.get("metric_type")
    value = None
    if metric_type not in METRIC_TYPES:
        found.append(("metric_type", f"must be one of {', '.join(METRIC_TYPES)}, got {metric_type!r}"))
    else:
        value_field = _VALUE_FIELDS[metric_type]
        if value_field not in raw:
            found.append((value_field, f"required for metric_type {metric_type!r}"))
        else:
            value = raw[value_field]
            problem = _value(metric_type, value)
            if problem:
                found.append((value_field, problem))
    ml_app = raw.get("ml_app")
    if ml_app is not None and (not isinstance(ml_app, str) or not ml_app):
        found.append(("ml_app", "must be a non-empty string"))
    tags, problem = _tags(raw.get("tags"))
    if problem:
        found.append(("tags", problem))
    assessment = raw.get("assessment")
    if assessment is not None and assessment not in ASSESSMENTS:
        found.append(("assessment", f"must be 'pass' or 'fail', got {assessment!r}"[:200]))
    reasoning = raw.get("reasoning")
    if reasoning is not None and not isinstance(reasoning, str):
        found.append(("reasoning", "must be a string"))
    if found:
        errors.extend({"index": index, "field": name, "error": problem} for name, problem in found)
        return None
    assert span_id is not None and trace_id is not None and timestamp is not None and isinstance(label, str)
    return Metric(trace_id, span_id, timestamp, str(metric_type), label.strip(), value, ml_app, tags, assessment,
                  reasoning)


def parse(document: Any) -> list[Metric]:
    """Every metric of an intake request, validated; raises :class:`InvalidEvaluations` naming every problem."""
    raw_metrics = _metrics_list(document)
    if not raw_metrics:
        raise InvalidEvaluations([{"index": None, "field": "metrics", "error": "no metrics"}])
    errors: list[dict[str, Any]] = []
    metrics = [validate_metric(i, raw, errors) for i, raw in enumerate(raw_metrics)]
    if errors:
        raise InvalidEvaluations(errors)
    return [m for m in metrics if m is not None]


def evaluation_spans(metrics: Sequence[Metric], *, service_name: str, capture_content: bool
                     ) -> tuple[list[ReadableSpan], bytes]:
    """One ``evaluation {label}`` child span per metric (with its ``gen_ai.evaluation.result`` event), and the
    spans' OTLP request, serialised. ``ml_app`` names the service; without content capture the reasoning is left out."""
    scope = InstrumentationScope("llmotel.gateway.intake", __version__)
    resources: dict[str, Resource] = {}
    spans: list[ReadableSpan] = []
    now = time.time_ns()
    for metric in metrics:
        app = metric.ml_app or service_name
        resource = resources.get(app) or resources.setdefault(app, Resource({SERVICE_NAME: app}))
        reasoning = metric.reasoning if capture_content else None
        event = evaluation_attributes(metric.label, metric.metric_type, metric.value, reasoning, metric.assessment,
                                      metric.tags)
        parent = SpanContext(metric.trace_id, metric.span_id, is_remote=True, trace_flags=_SAMPLED)
        context = SpanContext(metric.trace_id, random.getrandbits(64) or 1, is_remote=False, trace_flags=_SAMPLED)
        spans.append(ReadableSpan(
            name=f"evaluation {metric.label}", context=context, parent=parent, resource=resource,
            attributes={sc.LLMOTEL_SPAN_KIND: "evaluation", sc.GEN_AI_EVALUATION_NAME: metric.label},
            events=[Event(sc.GEN_AI_EVALUATION_RESULT_EVENT, event, metric.timestamp_ns)],
            kind=SpanKind.INTERNAL, start_time=metric.timestamp_ns, end_time=max(metric.timestamp_ns, now),
            instrumentation_scope=scope,
        ))
    return spans, encode_request(spans)
