"""Property tests: odd response and stream shapes never change what the caller sees, and never lose a span."""

from __future__ import annotations

import gc
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmotel.instrumentation.openai import OpenAIInstrumentor
from tests.fake_providers import Reply

json_leaf = st.one_of(st.none(), st.booleans(), st.integers(-5, 10**6), st.floats(allow_nan=False),
                      st.text(max_size=20))
json_value = st.recursive(json_leaf, lambda inner: st.one_of(st.lists(inner, max_size=3),
                                                              st.dictionaries(st.text(max_size=8), inner, max_size=3)),
                          max_leaves=8)


def maybe(strategy: Any) -> Any:
    return st.one_of(strategy, json_value)


tool_call = st.fixed_dictionaries({}, optional={
    "id": maybe(st.text(max_size=10)), "type": st.just("function"), "index": maybe(st.integers(0, 3)),
    "function": maybe(st.fixed_dictionaries({}, optional={"name": maybe(st.text(max_size=8)),
                                                          "arguments": maybe(st.text(max_size=30))})),
})
message = st.fixed_dictionaries({}, optional={
    "role": maybe(st.sampled_from(["assistant", "user", "tool"])),
    "content": maybe(st.text(max_size=40)),
    "refusal": maybe(st.text(max_size=10)),
    "tool_calls": maybe(st.lists(tool_call, max_size=2)),
    "audio": json_value,
})
usage = st.fixed_dictionaries({}, optional={
    "prompt_tokens": maybe(st.integers(0, 10**6)), "completion_tokens": maybe(st.integers(0, 10**6)),
    "total_tokens": maybe(st.integers(0, 10**6)),
    "prompt_tokens_details": maybe(st.fixed_dictionaries({}, optional={"cached_tokens": maybe(st.integers(0, 99))})),
    "completion_tokens_details": json_value,
})
choice = st.fixed_dictionaries({}, optional={
    "index": maybe(st.integers(0, 3)), "message": maybe(message), "delta": maybe(message),
    "finish_reason": maybe(st.sampled_from(["stop", "length", "tool_calls", "content_filter"])),
    "logprobs": json_value,
})
completion = st.fixed_dictionaries({}, optional={
    "id": maybe(st.text(max_size=10)), "object": st.just("chat.completion"), "created": maybe(st.integers(0, 9)),
    "model": maybe(st.text(max_size=10)), "choices": maybe(st.lists(choice, max_size=3)),
    "usage": maybe(usage), "system_fingerprint": json_value, "service_tier": json_value, "extra_field": json_value,
})


def outcome(call: Any) -> tuple[str, Any]:
    try:
        result = call()
        if hasattr(result, "__iter__") and not isinstance(result, (dict, list)):
            result = [chunk.model_dump() for chunk in result]
        elif hasattr(result, "model_dump"):
            result = result.model_dump()
        return ("ok", result)
    except Exception as exc:
        return ("raised", type(exc).__qualname__)


def compare(instrument: Any, fake_provider: Any, reply: Reply, call: Any) -> None:
    """The same scripted reply, not instrumented then instrumented: identical outcomes, exactly one span."""
    instrumentor = OpenAIInstrumentor()
    if instrumentor.is_instrumented_by_opentelemetry:
        instrumentor.uninstrument()
    fake_provider.script(reply)
    plain = outcome(call)
    traced = instrument()
    fake_provider.script(reply)
    instrumented = outcome(call)
    gc.collect()  # a stream the outcome did not finish ends on garbage collection
    assert len(traced.llm_spans()) == 1
    assert instrumented == plain


PROPERTY_SETTINGS = settings(max_examples=60, deadline=None,
                             suppress_health_check=[HealthCheck.function_scoped_fixture])


@PROPERTY_SETTINGS
@given(body=completion)
def test_odd_completions(instrument, openai_client, fake_provider, body):
    compare(instrument, fake_provider, Reply(body=body),
            lambda: openai_client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}]))


@PROPERTY_SETTINGS
@given(chunks=st.lists(completion, min_size=0, max_size=4))
def test_odd_streams(instrument, openai_client, fake_provider, chunks):
    compare(instrument, fake_provider, Reply(events=[(None, c) for c in chunks] + [(None, "[DONE]")]),
            lambda: openai_client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                          stream=True))


output_item = st.fixed_dictionaries(
    {"type": st.sampled_from(["message", "function_call", "reasoning", "web_search_call", "new_item_type"])},
    optional={
        "id": maybe(st.text(max_size=8)), "role": st.just("assistant"), "status": maybe(st.just("completed")),
        "content": maybe(st.lists(st.fixed_dictionaries({"type": maybe(st.sampled_from(["output_text", "refusal"]))},
                                                        optional={"text": maybe(st.text(max_size=20)),
                                                                  "refusal": maybe(st.text(max_size=5)),
                                                                  "annotations": st.just([])}), max_size=2)),
        "call_id": maybe(st.text(max_size=8)), "name": maybe(st.text(max_size=8)),
        "arguments": maybe(st.text(max_size=20)), "summary": json_value,
    },
)
response_body = st.fixed_dictionaries({"object": st.just("response")}, optional={
    "id": maybe(st.text(max_size=10)), "model": maybe(st.text(max_size=10)), "created_at": maybe(st.integers(0, 9)),
    "status": maybe(st.sampled_from(["completed", "incomplete", "failed"])), "incomplete_details": json_value,
    "output": maybe(st.lists(output_item, max_size=3)), "usage": json_value, "error": json_value,
})


@PROPERTY_SETTINGS
@given(body=response_body)
def test_odd_responses(instrument, openai_client, fake_provider, body):
    compare(instrument, fake_provider, Reply(body=body),
            lambda: openai_client.responses.create(model="m", input="x"))
