"""The local sink's console summary: one readable line per model-call span."""

from __future__ import annotations

import sys
import threading
from collections.abc import Sequence
from typing import IO, Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult
from opentelemetry.trace import StatusCode

from llmotel import semconv as sc


def _evaluations(span: ReadableSpan) -> str:
    out = []
    for event in span.events:
        if event.name != sc.GEN_AI_EVALUATION_RESULT_EVENT:
            continue
        attrs = event.attributes or {}
        name = attrs.get(sc.GEN_AI_EVALUATION_NAME, "?")
        label = attrs.get(sc.GEN_AI_EVALUATION_SCORE_LABEL)
        score = attrs.get(sc.GEN_AI_EVALUATION_SCORE_VALUE)
        error = attrs.get(sc.ERROR_TYPE)
        value = f"error({error})" if error else (label or "")
        if isinstance(score, (int, float)):
            value = f"{value}({score:.2f})" if value else f"{score:.2f}"
        out.append(f"{name}={value}")
    return " ".join(out)


def summary_line(span: ReadableSpan) -> str | None:
    """The console line for a span, or None when the span is not a model call."""
    attrs: Any = span.attributes or {}
    operation = attrs.get(sc.GEN_AI_OPERATION_NAME)
    if operation not in sc.MODEL_OPERATIONS:
        return None
    model = attrs.get(sc.GEN_AI_RESPONSE_MODEL) or attrs.get(sc.GEN_AI_REQUEST_MODEL) or "?"
    fields = [f"{operation} {model}", f"[{attrs.get(sc.GEN_AI_PROVIDER_NAME, '?')}]"]
    tokens_in = attrs.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
    tokens_out = attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
    if tokens_in is not None or tokens_out is not None:
        fields.append(f"tokens in={tokens_in if tokens_in is not None else '-'} "
                      f"out={tokens_out if tokens_out is not None else '-'}")
    if span.end_time and span.start_time:
        fields.append(f"{(span.end_time - span.start_time) / 1e9:.3f}s")
    ttfc = attrs.get(sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK)
    if isinstance(ttfc, float):
        fields.append(f"ttfc={ttfc:.3f}s")
    reasons = attrs.get(sc.GEN_AI_RESPONSE_FINISH_REASONS)
    if reasons:
        fields.append("finish=" + ",".join(reasons))
    if span.status.status_code is StatusCode.ERROR:
        fields.append(f"ERROR {attrs.get(sc.ERROR_TYPE, '')}".rstrip())
    evaluations = _evaluations(span)
    if evaluations:
        fields.append("evals: " + evaluations)
    return "[llmotel] " + "  ".join(fields)


class ConsoleSummaryExporter(SpanExporter):
    """Prints :func:`summary_line` for every model-call span (to stderr by default); other spans are skipped."""

    def __init__(self, stream: IO[str] | None = None) -> None:
        self._stream = stream
        self._lock = threading.Lock()

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        lines = [line for line in map(summary_line, spans) if line is not None]
        if lines:
            stream = self._stream or sys.stderr
            with self._lock:
                stream.write("\n".join(lines) + "\n")
                stream.flush()
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        return None
