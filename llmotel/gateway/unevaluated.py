"""A span forwarded without evaluation, marked so (``llmotel.evaluation.status=unevaluated``).

When redaction is configured but cannot run on it (out of time at shutdown, or the evaluation child is down), the
span leaves without its content: the evaluating processor's own fallback when redaction fails (attributes and
event attributes that may carry content removed, a fixed-form name, the status without its message).
"""

from __future__ import annotations

from opentelemetry.sdk.trace import ReadableSpan

from llmotel import semconv as sc
from llmotel.evaluation.processor import EvaluatingSpanProcessor
from llmotel.export.span_copy import SpanCopy


def unevaluated(span: ReadableSpan, *, drop_content: bool) -> ReadableSpan:
    """``span`` marked unevaluated, without its content when ``drop_content``."""
    if drop_content:
        span = EvaluatingSpanProcessor._without_content(span)
    attributes = {**(span.attributes or {}), sc.LLMOTEL_EVALUATION_STATUS: "unevaluated"}
    return SpanCopy(span, attributes, span.events, span.status, name=span.name, links=span.links)
