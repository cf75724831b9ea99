"""Every content attribute llmotel emits conforms to the published GenAI JSON schemas, and every output message
has a ``finish_reason`` (Phoenix drops a whole output payload without it).

Deterministic calls cover each path that builds output messages (chat, tools, streams, responses, completions,
Anthropic messages and streams, the legacy complete endpoint, manual ``llm`` spans); hypothesis feeds the real
SDKs odd request and response shapes through the fake provider and ``annotate`` odd message shapes, and checks
what reached the span.
"""

from __future__ import annotations

import gc
import json
from collections.abc import Callable
from typing import Any

import anthropic
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc
from tests import test_anthropic_properties as anthropic_shapes
from tests import test_openai_properties as openai_shapes
from tests.fake_providers import Reply
from tests.genai_schemas import assert_content_valid, content_errors

USER = [{"role": "user", "content": "What is OTLP?"}]
WEATHER_TOOL = {"type": "function", "function": {"name": "get_weather", "description": "Weather for a city",
                                                  "parameters": {"type": "object",
                                                                 "properties": {"city": {"type": "string"}}}}}
ANTHROPIC_TOOL = {"name": "get_weather", "description": "Weather for a city",
                  "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}


def test_the_schemas_reject_an_output_message_without_finish_reason():
    missing = json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "hi"}]}])
    assert content_errors({sc.GEN_AI_OUTPUT_MESSAGES: missing})
    nameless_call = json.dumps([{"role": "assistant", "parts": [{"type": "tool_call", "id": "c", "name": None}],
                                 "finish_reason": "tool_call"}])
    assert content_errors({sc.GEN_AI_OUTPUT_MESSAGES: nameless_call})
    assert not content_errors({sc.GEN_AI_OUTPUT_MESSAGES: json.dumps(
        [{"role": "assistant", "parts": [{"type": "text", "content": "hi"}], "finish_reason": "stop"}])})


def _drain(stream: Any) -> None:
    with stream:
        for _ in stream:
            pass


def _anthropic_helper(client: anthropic.Anthropic) -> None:
    with client.messages.stream(model="claude-haiku-4-5", max_tokens=64, messages=USER) as stream:
        stream.get_final_message()


CALLS: dict[str, tuple[Callable[[Any, Any], Any], list[str]]] = {
    "chat": (lambda o, a: o.chat.completions.create(model="gpt-4o-mini", messages=USER), ["stop"]),
    "chat n=2": (lambda o, a: o.chat.completions.create(model="gpt-4o-mini", messages=USER, n=2), ["stop", "stop"]),
    "chat max_tokens": (lambda o, a: o.chat.completions.create(model="gpt-4o-mini", messages=USER, max_tokens=2),
                        ["length"]),
    "chat tool call": (lambda o, a: o.chat.completions.create(model="gpt-4o-mini", messages=USER,
                                                              tools=[WEATHER_TOOL]), ["tool_call"]),
    "chat stream": (lambda o, a: _drain(o.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)),
                    ["stop"]),
    "chat stream tool call": (lambda o, a: _drain(o.chat.completions.create(
        model="gpt-4o-mini", messages=USER, tools=[WEATHER_TOOL], stream=True)), ["tool_call"]),
    "responses": (lambda o, a: o.responses.create(model="gpt-4.1-mini", input="What is OTLP?"), ["stop"]),
    "responses stream": (lambda o, a: _drain(o.responses.create(model="gpt-4.1-mini", input="Hi", stream=True)),
                         ["stop"]),
    "completions": (lambda o, a: o.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi",
                                                      max_tokens=50), ["stop"]),
    "completions stream": (lambda o, a: _drain(o.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi",
                                                                    max_tokens=50, stream=True)), ["stop"]),
    "anthropic": (lambda o, a: a.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=USER,
                                                 system="Answer briefly."), ["stop"]),
    "anthropic tool use": (lambda o, a: a.messages.create(model="claude-haiku-4-5", max_tokens=64, messages=USER,
                                                          tools=[ANTHROPIC_TOOL]), ["tool_call"]),
    "anthropic stream": (lambda o, a: _drain(a.messages.create(model="claude-haiku-4-5", max_tokens=64,
                                                               messages=USER, stream=True)), ["stop"]),
    "anthropic stream helper": (lambda o, a: _anthropic_helper(a), ["stop"]),
    "anthropic complete": (lambda o, a: a.post("/v1/complete", cast_to=object, body={
        "model": "claude-2.1", "prompt": "\n\nHuman: Hello\n\nAssistant:", "max_tokens_to_sample": 20}), ["stop"]),
}


@pytest.mark.parametrize("name", list(CALLS))
def test_every_output_message_has_a_finish_reason(name, traced, openai_client, anthropic_client):
    call, expected = CALLS[name]
    call(openai_client, anthropic_client)
    gc.collect()
    attributes = dict(traced.one().attributes or {})
    messages = json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert [m["finish_reason"] for m in messages] == expected
    assert_content_valid(attributes)


def test_a_stream_cut_short_has_an_empty_finish_reason(traced, openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    next(iter(stream))
    stream.close()
    attributes = dict(traced.one().attributes or {})
    assert [m["finish_reason"] for m in json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES])] == [""]
    assert_content_valid(attributes)


@pytest.fixture
def manual() -> InMemorySpanExporter:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(tracer_provider=provider, exporter="none", instrument=[],
                   export=llmotel.ExportOptions(console=False))
    return exporter


def test_manual_llm_span_output_messages_have_a_finish_reason(manual):
    with llmotel.llm(model_name="m"):
        llmotel.annotate(input="Hi", output=[
            "Hello", {"role": "assistant", "content": "cut", "finish_reason": "length"},
            {"content": None, "tool_calls": [{"id": 1, "name": "f"}]}])
    attributes = dict(manual.get_finished_spans()[0].attributes or {})
    messages = json.loads(attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert [m["finish_reason"] for m in messages] == ["stop", "length", "stop"]
    assert messages[2]["parts"] == [{"type": "tool_call", "id": "1", "name": "f"}]
    assert_content_valid(attributes)


# --- hypothesis: odd shapes through the real SDKs --------------------------------------------------------------------

SCHEMA_SETTINGS = settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])


def _valid_after(traced: Any, fake_provider: Any, reply: Reply | None, call: Callable[[], Any]) -> None:
    """Run ``call`` (the SDK may reject an odd shape; only what reached the span matters), then check the span."""
    traced.exporter.clear()
    fake_provider.reset()
    if reply is not None:
        fake_provider.script(reply)
    try:
        result = call()
        if hasattr(result, "__iter__") and not isinstance(result, (dict, list, str)):
            list(result)
    except Exception:
        pass
    gc.collect()  # a stream that raised midway ends on garbage collection
    for span in traced.llm_spans():
        assert_content_valid(dict(span.attributes or {}))


@SCHEMA_SETTINGS
@given(body=openai_shapes.completion)
def test_chat_completions_conform(traced, openai_client, fake_provider, body):
    _valid_after(traced, fake_provider, Reply(body=body),
                 lambda: openai_client.chat.completions.create(model="m", messages=USER))


@SCHEMA_SETTINGS
@given(chunks=st.lists(openai_shapes.completion, max_size=4))
def test_chat_streams_conform(traced, openai_client, fake_provider, chunks):
    _valid_after(traced, fake_provider, Reply(events=[(None, c) for c in chunks] + [(None, "[DONE]")]),
                 lambda: openai_client.chat.completions.create(model="m", messages=USER, stream=True))


@SCHEMA_SETTINGS
@given(body=openai_shapes.response_body)
def test_responses_conform(traced, openai_client, fake_provider, body):
    _valid_after(traced, fake_provider, Reply(body=body), lambda: openai_client.responses.create(model="m", input="x"))


# Well-formed Responses output items of every kind (the odd-shape strategy above rarely gets one past the SDK).
responses_output_item = st.one_of(
    st.fixed_dictionaries({"type": st.just("message"), "id": st.text(max_size=5), "role": st.just("assistant"),
                           "status": st.just("completed"), "content": st.lists(st.one_of(
                               st.fixed_dictionaries({"type": st.just("output_text"), "text": st.text(max_size=10),
                                                      "annotations": st.just([])}),
                               st.fixed_dictionaries({"type": st.just("refusal"), "refusal": st.text(max_size=10)})),
                               max_size=2)}),
    st.fixed_dictionaries({"type": st.just("function_call"), "call_id": st.text(max_size=5),
                           "name": st.text(max_size=5), "arguments": st.text(max_size=12)}),
    st.fixed_dictionaries({"type": st.just("reasoning"), "id": st.text(max_size=5), "summary": st.lists(
        st.fixed_dictionaries({"type": st.just("summary_text"), "text": st.text(max_size=10)}), max_size=2)}),
    st.fixed_dictionaries({"type": st.sampled_from(["web_search_call", "file_search_call", "code_interpreter_call",
                                                    "image_generation_call", "brand_new_call", "brand_new_item"]),
                           "id": st.text(max_size=5), "status": st.just("completed")}),
)


@SCHEMA_SETTINGS
@given(output=st.lists(responses_output_item, max_size=4),
       status=st.sampled_from(["completed", "incomplete", "failed"]))
def test_responses_output_items_conform(traced, openai_client, fake_provider, output, status):
    body = {"object": "response", "id": "resp_1", "model": "m", "status": status, "output": output,
            "incomplete_details": {"reason": "max_output_tokens"} if status == "incomplete" else None}
    _valid_after(traced, fake_provider, Reply(body=body), lambda: openai_client.responses.create(model="m", input="x"))


json_value = openai_shapes.json_value
chat_part = st.one_of(
    st.fixed_dictionaries({"type": st.just("text"), "text": openai_shapes.maybe(st.text(max_size=10))}),
    st.fixed_dictionaries({"type": st.just("image_url"), "image_url": st.one_of(
        st.fixed_dictionaries({"url": st.sampled_from(["https://x/a.png", "data:image/png;base64,iVBORw0KGgo="])}),
        json_value)}),
    st.fixed_dictionaries({"type": st.just("input_audio"), "input_audio": st.fixed_dictionaries(
        {}, optional={"data": openai_shapes.maybe(st.text(max_size=8)), "format": json_value})}),
    st.fixed_dictionaries({"type": st.just("file"), "file": st.fixed_dictionaries(
        {}, optional={"file_id": json_value, "file_data": json_value, "filename": json_value})}),
    st.fixed_dictionaries({"type": st.just("refusal"), "refusal": json_value}),
    st.fixed_dictionaries({"type": st.text(max_size=6)}, optional={"text": json_value}),
    json_value,
)
chat_message = st.fixed_dictionaries({"role": st.sampled_from(["system", "user", "assistant", "tool", "developer"])},
                                     optional={
    "content": st.one_of(st.text(max_size=20), st.lists(chat_part, max_size=3), json_value),
    "name": json_value, "tool_call_id": json_value, "refusal": json_value,
    "tool_calls": st.lists(openai_shapes.tool_call, max_size=2),
})
responses_item = st.one_of(
    st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system"])}, optional={
        "type": st.just("message"),
        "content": st.one_of(st.text(max_size=10), st.lists(st.fixed_dictionaries(
            {"type": st.sampled_from(["input_text", "output_text", "input_image", "input_file", "refusal", "new"])},
            optional={"text": json_value, "image_url": json_value, "file_id": json_value, "file_data": json_value,
                      "refusal": json_value}), max_size=3))}),
    st.fixed_dictionaries({"type": st.sampled_from(["function_call", "function_call_output", "reasoning", "other"])},
                          optional={"call_id": json_value, "name": json_value, "arguments": json_value,
                                    "output": json_value, "summary": json_value}),
)


@SCHEMA_SETTINGS
@given(messages=st.lists(chat_message, min_size=1, max_size=3))
def test_chat_requests_conform(traced, openai_client, fake_provider, messages):
    _valid_after(traced, fake_provider, None,
                 lambda: openai_client.chat.completions.create(model="gpt-4o-mini", messages=messages))


@SCHEMA_SETTINGS
@given(items=st.one_of(st.text(max_size=10), st.lists(responses_item, max_size=3)),
       instructions=st.one_of(st.none(), st.text(max_size=10)))
def test_responses_requests_conform(traced, openai_client, fake_provider, items, instructions):
    extra = {} if instructions is None else {"instructions": instructions}
    _valid_after(traced, fake_provider, None,
                 lambda: openai_client.responses.create(model="gpt-4.1-mini", input=items, **extra))


@SCHEMA_SETTINGS
@given(body=anthropic_shapes.message)
def test_anthropic_messages_conform(traced, anthropic_client, fake_provider, body):
    _valid_after(traced, fake_provider, Reply(body=body),
                 lambda: anthropic_client.messages.create(model="m", max_tokens=10, messages=USER))


@SCHEMA_SETTINGS
@given(events=st.lists(anthropic_shapes.event, max_size=6))
def test_anthropic_streams_conform(traced, anthropic_client, fake_provider, events):
    _valid_after(traced, fake_provider, Reply(events=[(e["type"], e) for e in events]),
                 lambda: anthropic_client.messages.create(model="m", max_tokens=10, messages=USER, stream=True))


@SCHEMA_SETTINGS
@given(messages=st.lists(anthropic_shapes.request_message, min_size=1, max_size=3),
       system=st.one_of(st.text(max_size=10), anthropic_shapes.maybe(st.lists(anthropic_shapes.block, max_size=2))))
def test_anthropic_requests_conform(traced, anthropic_client, fake_provider, messages, system):
    _valid_after(traced, fake_provider, None, lambda: anthropic_client.messages.create(
        model="claude-haiku-4-5", max_tokens=10, messages=messages, system=system))


annotated_message = st.one_of(
    st.text(max_size=10),
    st.fixed_dictionaries({"content": json_value}, optional={
        "role": st.one_of(st.none(), st.text(max_size=6)), "name": json_value, "finish_reason": json_value,
        "tool_calls": st.lists(st.fixed_dictionaries({}, optional={
            "id": json_value, "name": json_value, "arguments": json_value,
            "function": st.fixed_dictionaries({}, optional={"name": json_value, "arguments": json_value})}),
            max_size=2)}),
)


@SCHEMA_SETTINGS
@given(input=st.one_of(annotated_message, st.lists(annotated_message, max_size=3)),
       output=st.one_of(annotated_message, st.lists(annotated_message, max_size=3)))
def test_annotated_llm_spans_conform(manual, input, output):
    manual.clear()
    with llmotel.llm(model_name="m"):
        try:
            llmotel.annotate(input=input, output=output)
        except llmotel.AnnotationError:
            return
    (span,) = manual.get_finished_spans()
    assert_content_valid(dict(span.attributes or {}))
