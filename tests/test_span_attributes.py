"""set_response_attributes stores exactly what the SDK's set_attributes would, whatever the values and limits."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import SpanLimits, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import INVALID_SPAN

from llmotel import _span_attributes
from llmotel._span_attributes import set_response_attributes


class Custom:
    def __str__(self) -> str:
        return "custom"


SCALARS = st.one_of(
    st.text(max_size=30), st.booleans(), st.integers(), st.floats(allow_nan=False), st.none(), st.binary(max_size=5)
)
VALUES = st.one_of(
    SCALARS,
    st.lists(st.text(max_size=10), max_size=4),
    st.tuples(st.text(max_size=5), st.text(max_size=5)),
    st.lists(SCALARS, max_size=4),
    st.builds(Custom),
    st.dictionaries(st.text(min_size=1, max_size=5), st.integers(), max_size=3),
)
ATTRIBUTES = st.dictionaries(st.text(min_size=1, max_size=12), VALUES, max_size=12)
LIMITS = st.sampled_from([
    SpanLimits(),
    SpanLimits(max_span_attributes=6),
    SpanLimits(max_span_attribute_length=4),
    SpanLimits(max_span_attributes=0),
])


def _pair(limits: SpanLimits, start: dict[str, Any]) -> tuple[Any, Any, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider(span_limits=limits)
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("test")
    return tracer.start_span("sdk", attributes=start), tracer.start_span("ours", attributes=start), exporter


def test_the_installed_sdk_has_the_internals_the_fast_path_expects() -> None:
    # If an SDK upgrade moves them, everything still works through set_attributes, only slower: this says so.
    assert _span_attributes.SDK_INTERNALS_KNOWN


@settings(max_examples=300, deadline=None)
@given(limits=LIMITS, start=ATTRIBUTES, attributes=ATTRIBUTES)
def test_same_attributes_and_dropped_counts_as_set_attributes(
    limits: SpanLimits, start: dict[str, Any], attributes: dict[str, Any]
) -> None:
    sdk, ours, exporter = _pair(limits, start)
    sdk.set_attributes(dict(attributes))
    set_response_attributes(ours, dict(attributes))
    sdk.end()
    ours.end()
    by_name = {span.name: span for span in exporter.get_finished_spans()}
    assert dict(by_name["ours"].attributes or {}) == dict(by_name["sdk"].attributes or {})
    assert by_name["ours"].dropped_attributes == by_name["sdk"].dropped_attributes


def test_plain_values_take_the_fast_path_and_are_stored_as_the_sdk_stores_them() -> None:
    sdk, ours, exporter = _pair(SpanLimits(), {"a": 1})
    reasons = ["stop", "length"]
    set_response_attributes(ours, {"gen_ai.response.finish_reasons": reasons, "n": 2, "x": 0.5, "ok": True})
    sdk.set_attributes({"gen_ai.response.finish_reasons": reasons, "n": 2, "x": 0.5, "ok": True})
    reasons.append("later")  # the span keeps what was set, as with the SDK
    ours.end()
    sdk.end()
    spans = {span.name: span for span in exporter.get_finished_spans()}
    assert spans["ours"].attributes == spans["sdk"].attributes
    assert spans["ours"].attributes["gen_ai.response.finish_reasons"] == ("stop", "length")


def test_an_ended_span_is_left_alone_with_the_sdk_warning(caplog: pytest.LogCaptureFixture) -> None:
    _, ours, exporter = _pair(SpanLimits(), {"a": 1})
    ours.end()
    with caplog.at_level(logging.WARNING):
        set_response_attributes(ours, {"late": "value"})
    assert "ended span" in caplog.text
    assert dict(exporter.get_finished_spans()[0].attributes or {}) == {"a": 1}


def test_a_span_of_another_class_gets_set_attributes() -> None:
    set_response_attributes(INVALID_SPAN, {"a": "b"})  # a non-recording span: nothing to store, nothing raised
