"""llmotel's direct OTLP encoder writes exactly the bytes of the SDK's encoder (message objects, then serialised)."""

from __future__ import annotations

import math
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.sdk.util import BoundedList
from opentelemetry.sdk.util.instrumentation import InstrumentationScope
from opentelemetry.trace import Link, SpanContext, SpanKind, Status, StatusCode, TraceFlags, TraceState

from llmotel.export.otlp_proto import encode_request

_TEXT = st.text(st.characters(codec="utf-8"), max_size=12)
_KEYS = st.one_of(_TEXT, st.sampled_from(["gen_ai.input.messages", "gen_ai.evaluation.name", "", "ключ"]))
_SCALARS = st.one_of(
    st.none(), st.booleans(), _TEXT, st.integers(min_value=-(1 << 63), max_value=(1 << 63) - 1),
    st.floats(allow_nan=True, allow_infinity=True), st.binary(max_size=8),
)
# What the SDK encoder cannot encode: it logs and leaves the attribute out (so must llmotel's).
_UNENCODABLE = st.one_of(
    st.integers(min_value=1 << 63, max_value=1 << 70), st.integers(max_value=-(1 << 63) - 1, min_value=-(1 << 70)),
    st.just({1, 2}), st.just(object()), st.just("lone \ud800 surrogate"),
)
_VALUES = st.recursive(
    st.one_of(_SCALARS, _UNENCODABLE),
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.lists(inner, max_size=3).map(tuple),
                            st.dictionaries(st.one_of(_TEXT, st.integers(0, 9)), inner, max_size=3)),
    max_leaves=6,
)
_ATTRIBUTES = st.dictionaries(_KEYS, _VALUES, max_size=5)
_IDS = st.integers(min_value=1, max_value=(1 << 64) - 1)


@st.composite
def _contexts(draw: Any) -> SpanContext:
    state = draw(st.sampled_from([TraceState(), TraceState([("vendor", "value"), ("other", "x-1")])]))
    return SpanContext(draw(st.integers(1, (1 << 128) - 1)), draw(_IDS), is_remote=draw(st.booleans()),
                       trace_flags=TraceFlags(draw(st.sampled_from([0, 1]))), trace_state=state)


_RESOURCES = [Resource({"service.name": "svc"}), Resource({"service.name": "other", "n": 3}, schema_url="https://s"),
              Resource({})]
_SCOPES = [InstrumentationScope("llmotel", "1.0"), InstrumentationScope("other", None, "https://scope", {"a": 1}),
           None]


@st.composite
def _spans(draw: Any) -> ReadableSpan:
    events = [Event(draw(_TEXT), draw(_ATTRIBUTES), timestamp=draw(st.integers(0, 2**64 - 1)))
              for _ in range(draw(st.integers(0, 3)))]
    links = [Link(draw(_contexts()), draw(st.one_of(st.none(), _ATTRIBUTES))) for _ in range(draw(st.integers(0, 2)))]
    start, end = (draw(st.one_of(st.none(), st.integers(0, 2**64 - 1))) for _ in range(2))
    code = draw(st.sampled_from(list(StatusCode)))
    description = draw(st.one_of(st.none(), _TEXT)) if code is StatusCode.ERROR else None
    return ReadableSpan(
        name=draw(_TEXT), context=draw(_contexts()), parent=draw(st.one_of(st.none(), _contexts())),
        resource=draw(st.sampled_from(_RESOURCES)), attributes=draw(_ATTRIBUTES),
        events=BoundedList.from_seq(draw(st.sampled_from([None, 2])), events) if events else events, links=links,
        kind=draw(st.sampled_from(list(SpanKind))), instrumentation_scope=draw(st.sampled_from(_SCOPES)),
        status=Status(code, description), start_time=start, end_time=end,
    )


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(_spans(), max_size=5))
def test_the_bytes_are_the_sdk_encoders(spans: list[ReadableSpan]) -> None:
    assert encode_request(spans) == encode_spans(spans).SerializeToString()


def test_dropped_counts_and_remote_parents_are_written() -> None:
    from opentelemetry.attributes import BoundedAttributes

    parent = SpanContext(1, 2, is_remote=True)
    span = ReadableSpan("s", SpanContext(1, 3, is_remote=False), parent=parent,
                        attributes=BoundedAttributes(2, {"a": 1, "b": 2, "c": 3}),
                        events=BoundedList.from_seq(1, [Event("e1", {}, 5), Event("e2", {}, 6)]),
                        links=BoundedList.from_seq(1, [Link(parent), Link(parent)]), start_time=1, end_time=2)
    request = ExportTraceServiceRequest.FromString(encode_request([span]))
    written = request.resource_spans[0].scope_spans[0].spans[0]
    assert (written.dropped_attributes_count, written.dropped_events_count, written.dropped_links_count) == (1, 1, 1)
    assert written.flags == 0x300 and written.links[0].flags == 0x300
    assert encode_request([span]) == encode_spans([span]).SerializeToString()


def test_an_attribute_that_cannot_be_encoded_is_left_out_and_the_span_kept() -> None:
    span = ReadableSpan("s", SpanContext(1, 2, False), attributes={
        "big": 1 << 64, "set": {1}, "surrogate": "\udfff", "nested": ["ok", 1 << 64], "kept": math.pi})
    request = ExportTraceServiceRequest.FromString(encode_request([span]))
    written = request.resource_spans[0].scope_spans[0].spans[0]
    assert [kv.key for kv in written.attributes] == ["kept"]
    assert written.attributes[0].value.double_value == math.pi


def test_a_name_that_is_not_valid_unicode_is_written_with_a_replacement() -> None:
    # The SDK encoder fails the whole request on such a name; the span is exported with the character replaced.
    span = ReadableSpan("chat \ud800", SpanContext(1, 2, False), status=Status(StatusCode.ERROR, "bad \udc00"))
    written = ExportTraceServiceRequest.FromString(encode_request([span])).resource_spans[0].scope_spans[0].spans[0]
    assert written.name == "chat ?" and written.status.message == "bad ?"
