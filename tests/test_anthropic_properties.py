"""Property tests: odd requests, responses and event streams never change what the caller sees, and never lose
or double a span (instrumented and uninstrumented outcomes identical; exactly one LLM span per call).
"""

from __future__ import annotations

import gc
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmotel._diagnostics import diagnostics
from tests.conftest import uninstrument
from tests.fake_providers import Reply

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
                      st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                              st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)
BLOCK_TYPES = ["text", "tool_use", "tool_result", "thinking", "redacted_thinking", "server_tool_use",
               "web_search_tool_result", "mcp_tool_use", "image", "document", "search_result", "brand_new_block"]
DELTA_TYPES = ["text_delta", "input_json_delta", "thinking_delta", "signature_delta", "citations_delta", "new_delta"]
EVENT_TYPES = ["message_start", "content_block_start", "content_block_delta", "content_block_stop",
               "message_delta", "message_stop", "brand_new_event"]


def maybe(strategy: Any) -> Any:
    return st.one_of(strategy, json_value)


source = st.fixed_dictionaries({}, optional={
    "type": maybe(st.sampled_from(["base64", "url", "file", "text", "content"])),
    "media_type": maybe(st.sampled_from(["image/png", "application/pdf", "text/plain"])),
    "data": maybe(st.text(max_size=30)), "url": maybe(st.text(max_size=20)), "file_id": json_value,
    "content": json_value,
})
block = st.fixed_dictionaries({}, optional={
    "type": maybe(st.sampled_from(BLOCK_TYPES)), "text": maybe(st.text(max_size=30)),
    "id": maybe(st.text(max_size=10)), "name": maybe(st.text(max_size=10)), "input": json_value,
    "thinking": maybe(st.text(max_size=20)), "signature": json_value, "data": json_value,
    "tool_use_id": maybe(st.text(max_size=10)), "content": maybe(st.text(max_size=20)), "source": maybe(source),
})
usage = st.fixed_dictionaries({}, optional={
    "input_tokens": maybe(st.integers(0, 10**6)), "output_tokens": maybe(st.integers(0, 10**6)),
    "cache_read_input_tokens": maybe(st.integers(0, 10**6)), "cache_creation_input_tokens": maybe(st.integers(0, 99)),
    "output_tokens_details": maybe(st.fixed_dictionaries({}, optional={"thinking_tokens": json_value})),
    "service_tier": json_value, "server_tool_use": json_value,
})
message = st.fixed_dictionaries({}, optional={
    "id": maybe(st.text(max_size=10)), "type": st.just("message"), "role": maybe(st.just("assistant")),
    "model": maybe(st.text(max_size=10)), "content": maybe(st.lists(block, max_size=3)),
    "stop_reason": maybe(st.sampled_from(["end_turn", "max_tokens", "tool_use", "pause_turn", "refusal"])),
    "stop_sequence": json_value, "usage": maybe(usage), "extra_field": json_value,
})
delta = st.fixed_dictionaries({}, optional={
    "type": maybe(st.sampled_from(DELTA_TYPES)), "text": maybe(st.text(max_size=10)),
    "partial_json": maybe(st.text(max_size=10)), "thinking": maybe(st.text(max_size=10)),
    "signature": json_value, "stop_reason": json_value,
})
event = st.fixed_dictionaries({"type": st.sampled_from(EVENT_TYPES)}, optional={
    "index": maybe(st.integers(0, 3)), "delta": maybe(delta), "content_block": maybe(block),
    "message": maybe(message), "usage": maybe(usage),
})
request_message = st.fixed_dictionaries({"role": maybe(st.sampled_from(["user", "assistant"]))}, optional={
    "content": st.one_of(st.text(max_size=20), st.lists(block, max_size=3), json_value),
})


def dump(value: Any) -> Any:
    return value.model_dump(warnings=False) if hasattr(value, "model_dump") else value


def outcome(call: Any) -> tuple[str, Any]:
    try:
        result = call()
        if hasattr(result, "__iter__") and not isinstance(result, (dict, list, str)):
            result = [dump(chunk) for chunk in result]
        return ("ok", dump(result))
    except Exception as exc:
        return ("raised", type(exc).__qualname__)


def compare(instrument: Any, fake_provider: Any, reply: Reply | None, call: Any) -> None:
    """The same reply, not instrumented then instrumented: identical outcomes, exactly one span."""
    uninstrument()
    diagnostics.reset()
    fake_provider.reset()
    if reply is not None:
        fake_provider.script(reply)
    plain = outcome(call)
    traced = instrument()
    fake_provider.reset()
    if reply is not None:
        fake_provider.script(reply)
    instrumented = outcome(call)
    gc.collect()  # a stream the outcome did not finish ends on garbage collection
    assert len(traced.llm_spans()) == 1
    assert instrumented == plain
    assert not diagnostics.counts  # odd shapes give fewer attributes, never an instrumentation error


PROPERTY_SETTINGS = settings(max_examples=50, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])
USER = [{"role": "user", "content": "x"}]


@PROPERTY_SETTINGS
@given(body=message)
def test_odd_messages(instrument, anthropic_client, fake_provider, body):
    compare(instrument, fake_provider, Reply(body=body),
            lambda: anthropic_client.messages.create(model="m", max_tokens=10, messages=USER))


@PROPERTY_SETTINGS
@given(events=st.lists(event, max_size=6))
def test_odd_streams(instrument, anthropic_client, fake_provider, events):
    compare(instrument, fake_provider, Reply(events=[(e["type"], e) for e in events]),
            lambda: anthropic_client.messages.create(model="m", max_tokens=10, messages=USER, stream=True))


@pytest.mark.filterwarnings("ignore:Pydantic serializer warnings")  # the SDK's own snapshot of odd events
@PROPERTY_SETTINGS
@given(events=st.lists(event, max_size=6))
def test_odd_streams_through_the_helper(instrument, anthropic_client, fake_provider, events):
    def call() -> Any:
        with anthropic_client.messages.stream(model="m", max_tokens=10, messages=USER) as stream:
            return stream.get_final_message()

    compare(instrument, fake_provider, Reply(events=[(e["type"], e) for e in events]), call)


@PROPERTY_SETTINGS
@given(messages=st.lists(request_message, min_size=1, max_size=3), system=maybe(st.lists(block, max_size=2)),
       tools=maybe(st.lists(json_value, max_size=2)), extra=st.dictionaries(
           st.sampled_from(["temperature", "top_k", "top_p", "stop_sequences", "thinking", "output_config"]),
           json_value, max_size=3))
def test_odd_requests(instrument, anthropic_client, fake_provider, messages, system, tools, extra):
    compare(instrument, fake_provider, None, lambda: anthropic_client.messages.create(
        model="claude-haiku-4-5", max_tokens=10, messages=messages, system=system, tools=tools, extra_body=extra))
