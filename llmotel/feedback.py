"""Feedback the application gives: ``export_span`` (a portable span reference), ``submit_evaluation`` and
``@metric``. (The evaluators llmotel runs itself, and their processor, are :mod:`llmotel.evaluation`.)

An evaluation becomes a ``gen_ai.evaluation.result`` event. On a span that is still recording, the event is
added to it. A finished span cannot take events any more, so the event goes on a small child span of the
evaluated span, ``evaluation {label}``, which every trace backend shows under the evaluated call.
"""

from __future__ import annotations

import functools
import inspect
import math
import time
from collections.abc import Callable, Mapping
from contextvars import ContextVar
from dataclasses import dataclass
from datetime import datetime
from typing import Any, TypeVar

from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import NonRecordingSpan, SpanContext, SpanKind, TraceFlags

from llmotel import semconv as sc
from llmotel._diagnostics import diagnostics
from llmotel._setup import effective_settings, manual_tracer
from llmotel.annotations import normalize_tags, tag_list
from llmotel.errors import EvaluationError

F = TypeVar("F", bound=Callable[..., Any])
METRIC_TYPES = ("score", "categorical", "boolean")
ASSESSMENTS = ("pass", "fail")

#: Receives every ``@metric`` value computed in this context as ``(metric name, value)``. Experiments set it for
#: the code inside a run (evaluation code never imports experiments: they subscribe here).
metric_listener: ContextVar[Callable[[str, int | float], None] | None] = ContextVar(
    "llmotel_metric_listener", default=None
)


@dataclass(frozen=True)
class SpanRef:
    """A span's identity as hex (``trace_id``: 32 digits, ``span_id``: 16), to hand to later code or processes."""

    trace_id: str
    span_id: str

    @property
    def is_valid(self) -> bool:
        return self.span_context().is_valid

    def span_context(self) -> SpanContext:
        try:
            trace_id, span_id = int(self.trace_id, 16), int(self.span_id, 16)
        except (TypeError, ValueError):
            return trace.INVALID_SPAN_CONTEXT
        return SpanContext(trace_id, span_id, is_remote=True, trace_flags=TraceFlags(TraceFlags.SAMPLED))

    def to_dict(self) -> dict[str, str]:
        return {"trace_id": self.trace_id, "span_id": self.span_id}


def export_span(span: trace.Span | ReadableSpan | None = None) -> SpanRef:
    """A :class:`SpanRef` for ``span`` (default: the current span). Invalid (zeros) when tracing is off."""
    context = (span or trace.get_current_span()).get_span_context() or trace.INVALID_SPAN_CONTEXT
    return SpanRef(format(context.trace_id, "032x"), format(context.span_id, "016x"))


def _validate(label: Any, metric_type: Any, value: Any, reasoning: Any, assessment: Any) -> None:
    if not isinstance(label, str) or not label.strip():
        raise EvaluationError(f"label must be a non-empty string, got {label!r}")
    if "." in label:
        raise EvaluationError(f"label must not contain '.', got {label!r}")
    if metric_type not in METRIC_TYPES:
        raise EvaluationError(f"metric_type must be one of {', '.join(METRIC_TYPES)}, got {metric_type!r}")
    if metric_type == "score" and (isinstance(value, bool) or not isinstance(value, (int, float))
                                   or not math.isfinite(value)):
        raise EvaluationError(f"a 'score' evaluation needs a finite int or float value, got {value!r}")
    if metric_type == "categorical" and (not isinstance(value, str) or not value):
        raise EvaluationError(f"a 'categorical' evaluation needs a non-empty string value, got {value!r}")
    if metric_type == "boolean" and not isinstance(value, bool):
        raise EvaluationError(f"a 'boolean' evaluation needs True or False, got {value!r}")
    if reasoning is not None and not isinstance(reasoning, str):
        raise EvaluationError(f"reasoning must be a string, got {type(reasoning).__name__}")
    if assessment is not None and assessment not in ASSESSMENTS:
        raise EvaluationError(f"assessment must be 'pass', 'fail' or None, got {assessment!r}")


def _timestamp_ns(timestamp: datetime | float | int | None) -> int:
    if timestamp is None:
        return time.time_ns()
    if isinstance(timestamp, datetime):
        return int(timestamp.timestamp() * 1e9)
    if isinstance(timestamp, (int, float)) and not isinstance(timestamp, bool) and math.isfinite(timestamp):
        return int(timestamp * 1e9)  # seconds since the epoch
    raise EvaluationError(f"timestamp must be a datetime or seconds since the epoch, got {timestamp!r}")


def evaluation_attributes(
    label: str, metric_type: str, value: Any, reasoning: str | None, assessment: str | None,
    tags: Mapping[str, str],
) -> dict[str, Any]:
    """The ``gen_ai.evaluation.result`` event attributes of a custom evaluation."""
    attrs: dict[str, Any] = {sc.GEN_AI_EVALUATION_NAME: label, sc.LLMOTEL_EVALUATION_METRIC_TYPE: metric_type,
                             sc.LLMOTEL_EVALUATION_SOURCE: "custom"}
    if metric_type == "score":
        attrs[sc.GEN_AI_EVALUATION_SCORE_VALUE] = float(value)
        if assessment is not None:
            attrs[sc.GEN_AI_EVALUATION_SCORE_LABEL] = assessment
    elif metric_type == "boolean":
        attrs[sc.GEN_AI_EVALUATION_SCORE_VALUE] = 1.0 if value else 0.0
        attrs[sc.GEN_AI_EVALUATION_SCORE_LABEL] = "true" if value else "false"
    else:
        attrs[sc.GEN_AI_EVALUATION_SCORE_LABEL] = value
    if reasoning is not None:
        attrs[sc.GEN_AI_EVALUATION_EXPLANATION] = reasoning
    if assessment is not None:
        attrs[sc.LLMOTEL_EVALUATION_ASSESSMENT] = assessment
    if tags:
        attrs[sc.LLMOTEL_EVALUATION_TAGS] = tag_list(tags)
    return attrs


def submit_evaluation(
    span: SpanRef | trace.Span | ReadableSpan | None = None,
    *,
    label: str,
    metric_type: str = "score",
    value: Any,
    reasoning: str | None = None,
    assessment: str | None = None,
    tags: Mapping[str, str] | None = None,
    timestamp: datetime | float | None = None,
) -> None:
    """Attach an evaluation of ``span`` (a :class:`SpanRef`, a live or finished span, or the current span).

    ``metric_type`` ``"score"`` takes a number, ``"categorical"`` a string, ``"boolean"`` a bool; ``label`` is
    non-empty without dots. Raises :class:`EvaluationError` for invalid input. With no valid span (tracing off)
    it does nothing. With content capture off, ``reasoning`` is not recorded (the value, label and tags are).
    """
    _validate(label, metric_type, value, reasoning, assessment)
    if not effective_settings().capture_content:  # free text that may quote the conversation
        reasoning = None
    attrs = evaluation_attributes(label, metric_type, value, reasoning, assessment, normalize_tags(tags))
    when = _timestamp_ns(timestamp)
    target: Any
    if isinstance(span, SpanRef):
        current = trace.get_current_span()
        target = current if current.get_span_context() == span.span_context() else NonRecordingSpan(
            span.span_context())
    elif span is None:
        target = trace.get_current_span()
    else:
        target = span
    context = target.get_span_context()
    if not context.is_valid:
        diagnostics.report("evaluation_no_span", f"evaluation {label!r} has no valid span to attach to; dropped")
        return
    response_id = (getattr(target, "attributes", None) or {}).get(sc.GEN_AI_RESPONSE_ID)
    if response_id is not None:
        attrs[sc.GEN_AI_RESPONSE_ID] = response_id
    recording = getattr(target, "is_recording", None)  # a finished ReadableSpan has none
    if callable(recording) and recording():
        target.add_event(sc.GEN_AI_EVALUATION_RESULT_EVENT, attrs, when)
        return
    parent = trace.set_span_in_context(NonRecordingSpan(context))
    child = manual_tracer().start_span(
        f"evaluation {label}", context=parent, kind=SpanKind.INTERNAL,
        attributes={sc.LLMOTEL_SPAN_KIND: "evaluation", sc.GEN_AI_EVALUATION_NAME: label}, start_time=when,
    )
    child.add_event(sc.GEN_AI_EVALUATION_RESULT_EVENT, attrs, when)
    child.end(end_time=max(when, time.time_ns()))


def metric_value(value: Any, name: str = "metric") -> int | float:
    """A scalar metric: ``bool`` becomes 0/1, ``int`` and finite ``float`` pass; anything else is an error."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float) and math.isfinite(value):
        return value
    raise EvaluationError(f"{name} must return a bool, int or finite float, got {value!r}")


def _reported(name: str, value: int | float) -> int | float:
    listener = metric_listener.get()
    if listener is not None:
        listener(name, value)
    return value


def metric(fn: F) -> F:
    """Decorate a function (sync or async) whose result must be a scalar metric (see :func:`metric_value`).

    Inside an experiment run, each value is also logged to that run under the function's name.
    """
    name = getattr(fn, "__name__", "metric")
    if inspect.iscoroutinefunction(fn):
        @functools.wraps(fn)
        async def async_wrapper(*args: Any, **kwargs: Any) -> int | float:
            return _reported(name, metric_value(await fn(*args, **kwargs), name))

        return async_wrapper  # type: ignore[return-value]

    @functools.wraps(fn)
    def wrapper(*args: Any, **kwargs: Any) -> int | float:
        return _reported(name, metric_value(fn(*args, **kwargs), name))

    return wrapper  # type: ignore[return-value]
