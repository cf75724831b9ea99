"""Evaluation results as sinks deliver them, read from the span copy that is exported.

Sinks see only what the exported span carries: its ``gen_ai.evaluation.result`` events, after PII redaction
and, with content capture off, without explanations that may quote content. Nothing else is read.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan

from llmotel import semconv as sc
from llmotel._secrets import scrub

#: ``llmotel.evaluation.metadata.method`` of results an LLM judge decided
METHOD_JUDGE = "judge"
SPAN_KIND_EVALUATION = "evaluation"  # the child span submit_evaluation() adds under a finished span


@dataclass(frozen=True)
class EvaluationRecord:
    """One evaluation result of one span, with the span it evaluates (the parent, for an ``evaluation`` span)."""

    trace_id: int
    span_id: int
    name: str
    timestamp_ns: int
    label: str | None = None
    score: float | None = None
    explanation: str | None = None
    metric_type: str | None = None  # score | categorical | boolean (custom evaluations)
    assessment: str | None = None  # pass | fail
    source: str | None = None  # custom (submit_evaluation) | absent for built-in and configured evaluators
    tags: tuple[str, ...] = ()
    metadata: Mapping[str, Any] = field(default_factory=dict)

    @property
    def trace_id_hex(self) -> str:
        return format(self.trace_id, "032x")

    @property
    def span_id_hex(self) -> str:
        return format(self.span_id, "016x")

    @property
    def by_judge(self) -> bool:
        """Whether an LLM judge decided (the judge checks mark their results ``method=judge``)."""
        return self.metadata.get("method") == METHOD_JUDGE

    @property
    def kind(self) -> str:
        """``score``, ``categorical`` or ``boolean``: the declared type, else categorical when labelled."""
        if self.metric_type in ("score", "categorical", "boolean"):
            return self.metric_type
        return "categorical" if self.label is not None else "score"


def _text(value: Any) -> str | None:
    """A string value with secrets scrubbed (sinks deliver beside the exporters, which scrub their own copies)."""
    return scrub(value) if isinstance(value, str) else None


def _scrubbed(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, tuple):
        return [scrub(v) if isinstance(v, str) else v for v in value]
    return value


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def _record(span: ReadableSpan, span_id: int, attributes: Mapping[str, Any], timestamp: int) -> EvaluationRecord | None:
    name = attributes.get(sc.GEN_AI_EVALUATION_NAME)
    if not isinstance(name, str) or not name or sc.ERROR_TYPE in attributes:  # a failed evaluator: no result
        return None
    prefix = sc.LLMOTEL_EVALUATION_METADATA_PREFIX
    metadata = {k[len(prefix):]: _scrubbed(v) for k, v in attributes.items() if k.startswith(prefix)}
    tags = attributes.get(sc.LLMOTEL_EVALUATION_TAGS)
    return EvaluationRecord(
        trace_id=span.context.trace_id if span.context is not None else 0,
        span_id=span_id,
        name=name,
        timestamp_ns=timestamp,
        label=_text(attributes.get(sc.GEN_AI_EVALUATION_SCORE_LABEL)),
        score=_number(attributes.get(sc.GEN_AI_EVALUATION_SCORE_VALUE)),
        explanation=_text(attributes.get(sc.GEN_AI_EVALUATION_EXPLANATION)),
        metric_type=_text(attributes.get(sc.LLMOTEL_EVALUATION_METRIC_TYPE)),
        assessment=_text(attributes.get(sc.LLMOTEL_EVALUATION_ASSESSMENT)),
        source=_text(attributes.get(sc.LLMOTEL_EVALUATION_SOURCE)),
        tags=tuple(scrub(t) for t in tags if isinstance(t, str)) if isinstance(tags, (list, tuple)) else (),
        metadata=metadata,
    )


def records_of(span: ReadableSpan) -> list[EvaluationRecord]:
    """The evaluation results an exported span carries (none for most spans: checked first, cheaply)."""
    events = span.events
    if not events or span.context is None:
        return []
    span_id = span.context.span_id
    attributes = span.attributes or {}
    if attributes.get(sc.LLMOTEL_SPAN_KIND) == SPAN_KIND_EVALUATION and span.parent is not None:
        span_id = span.parent.span_id  # submit_evaluation() on a finished span: the result is about the parent
    out = []
    for event in events:
        if event.name == sc.GEN_AI_EVALUATION_RESULT_EVENT and event.attributes:
            record = _record(span, span_id, event.attributes, event.timestamp)
            if record is not None:
                out.append(record)
    return out
