"""OTLP trace requests as SDK ``ReadableSpan`` objects, so received spans run through llmotel's own pipeline.

The evaluating processor, the redaction and the export processor all work on ``ReadableSpan``; a received span is
turned into one with the same ids, parent, trace state, name, kind, timing, attributes (structured values kept as
dicts and tuples, which the OTLP encoder writes back as key-value lists and arrays), events, links, status,
resource, scope and drop counts. What the SDK model has no room for is normalised: ``SPAN_KIND_UNSPECIFIED``
becomes ``INTERNAL``, a status message on a non-error status is dropped (the SDK keeps descriptions only for
``ERROR``), and the W3C trace flags are not carried (the OTLP encoder does not write them).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue
from opentelemetry.proto.trace.v1.trace_pb2 import Span as PbSpan
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from llmotel.export.span_copy import SpanWithDropCounts

_KINDS = {
    PbSpan.SPAN_KIND_UNSPECIFIED: SpanKind.INTERNAL,
    PbSpan.SPAN_KIND_INTERNAL: SpanKind.INTERNAL,
    PbSpan.SPAN_KIND_SERVER: SpanKind.SERVER,
    PbSpan.SPAN_KIND_CLIENT: SpanKind.CLIENT,
    PbSpan.SPAN_KIND_PRODUCER: SpanKind.PRODUCER,
    PbSpan.SPAN_KIND_CONSUMER: SpanKind.CONSUMER,
}
_STATUS = {0: StatusCode.UNSET, 1: StatusCode.OK, 2: StatusCode.ERROR}
_IS_REMOTE = 0x200  # SPAN_FLAGS_CONTEXT_IS_REMOTE_MASK
_SAMPLED = TraceFlags(TraceFlags.SAMPLED)  # a span someone exported was sampled; the export processor needs the bit


class MalformedSpans(ValueError):
    """A trace request whose spans cannot be forwarded as they are (ids of the wrong length)."""


class ReceivedSpan(SpanWithDropCounts):
    """A span decoded from OTLP, with the drop counts it arrived with."""


class _ReceivedResource(Resource):
    """A resource whose hash is computed once: the OTLP encoder hashes the resource of every span it groups."""

    def __init__(self, attributes: Mapping[str, Any], schema_url: str) -> None:
        super().__init__(attributes, schema_url)
        self._hash = super().__hash__()

    def __hash__(self) -> int:
        return self._hash


def any_value(value: AnyValue) -> Any:
    """An OTLP ``AnyValue`` as a Python value: str, bool, int, float, bytes, tuple, dict or None."""
    kind = value.WhichOneof("value")
    if kind == "string_value":
        return value.string_value
    if kind == "int_value":
        return value.int_value
    if kind == "double_value":
        return value.double_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "array_value":
        return tuple(any_value(v) for v in value.array_value.values)
    if kind == "kvlist_value":
        return {kv.key: any_value(kv.value) for kv in value.kvlist_value.values}
    if kind == "bytes_value":
        return value.bytes_value
    return None


def attributes(pairs: Any) -> dict[str, Any]:
    """Repeated ``KeyValue`` as a dict (a repeated key keeps its last value, as the SDK does)."""
    out: dict[str, Any] = {}
    for kv in pairs:
        out[kv.key] = any_value(kv.value)
    return out


def _id(raw: bytes, size: int, what: str, where: str) -> int:
    if len(raw) != size:
        raise MalformedSpans(f"{where}: {what} must be {size} bytes, got {len(raw)}")
    return int.from_bytes(raw, "big")


def _trace_state(raw: str) -> TraceState:
    if not raw:
        return TraceState()
    try:
        return TraceState.from_header([raw])
    except ValueError:
        return TraceState()


def span_count(request: ExportTraceServiceRequest) -> int:
    return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)


def iter_spans(request: ExportTraceServiceRequest) -> Iterator[ReceivedSpan]:
    """The request's spans as ``ReadableSpan`` objects, in request order. Raises :class:`MalformedSpans`."""
    for r_index, resource_spans in enumerate(request.resource_spans):
        resource = _ReceivedResource(attributes(resource_spans.resource.attributes), resource_spans.schema_url)
        for s_index, scope_spans in enumerate(resource_spans.scope_spans):
            pb_scope = scope_spans.scope
            scope = InstrumentationScope(pb_scope.name, pb_scope.version or None, scope_spans.schema_url or None,
                                         attributes(pb_scope.attributes) or None)
            for index, pb in enumerate(scope_spans.spans):
                where = f"resource_spans[{r_index}].scope_spans[{s_index}].spans[{index}]"
                yield _span(pb, resource, scope, where)


def _span(pb: PbSpan, resource: Resource, scope: InstrumentationScope, where: str) -> ReceivedSpan:
    trace_id = _id(pb.trace_id, 16, "trace_id", where)
    context = SpanContext(trace_id, _id(pb.span_id, 8, "span_id", where), is_remote=False,
                          trace_flags=_SAMPLED, trace_state=_trace_state(pb.trace_state))
    parent = None
    if pb.parent_span_id:
        parent = SpanContext(trace_id, _id(pb.parent_span_id, 8, "parent_span_id", where),
                             is_remote=bool(pb.flags & _IS_REMOTE), trace_flags=_SAMPLED)
    events = [Event(e.name, attributes(e.attributes), e.time_unix_nano) for e in pb.events]
    links = []
    for link in pb.links:
        link_context = SpanContext(_id(link.trace_id, 16, "link trace_id", where),
                                   _id(link.span_id, 8, "link span_id", where),
                                   is_remote=bool(link.flags & _IS_REMOTE), trace_flags=_SAMPLED,
                                   trace_state=_trace_state(link.trace_state))
        links.append(Link(link_context, attributes(link.attributes)))
    code = _STATUS.get(pb.status.code, StatusCode.UNSET)
    status = Status(code, pb.status.message or None) if code is StatusCode.ERROR else Status(code)
    return ReceivedSpan(
        (pb.dropped_attributes_count, pb.dropped_events_count, pb.dropped_links_count),
        name=pb.name,
        context=context,
        parent=parent,
        resource=resource,
        attributes=attributes(pb.attributes),
        events=events,
        links=links,
        kind=_KINDS.get(pb.kind, SpanKind.INTERNAL),
        status=status,
        start_time=pb.start_time_unix_nano,
        end_time=pb.end_time_unix_nano,
        instrumentation_scope=scope,
    )


def json_text(value: Any) -> str:
    """A structured attribute value (a dict or tuple decoded from OTLP) as JSON text."""
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=_bytes_as_text)


def _bytes_as_text(value: Any) -> Any:
    if isinstance(value, bytes):
        return value.decode("utf-8", "replace")
    raise TypeError(type(value).__name__)


__all__ = ["MalformedSpans", "ReceivedSpan", "any_value", "attributes", "iter_spans", "json_text", "span_count"]
