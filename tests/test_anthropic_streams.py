"""Anthropic streams: ``create(stream=True)`` and the ``messages.stream()`` helper, sync and async.

The user gets the SDK's own objects; every helper keeps working; the span ends exactly once on every exit path.
"""

from __future__ import annotations

import asyncio
import gc
import json

import anthropic
import pytest
from opentelemetry.trace import StatusCode

from llmotel import semconv as sc
from tests.fake_providers import Reply
from tests.sdk_errors import ANTHROPIC_STREAM_DROPPED

MODEL = "claude-haiku-4-5"
USER = [{"role": "user", "content": "Tell me about spans and traces please"}]
TOOLS = [{"name": "lookup", "description": "Search", "input_schema": {
    "type": "object", "properties": {"q": {"type": "string"}, "limit": {"type": "integer"}}, "required": ["q"]}}]
THINKING = {"type": "enabled", "budget_tokens": 1024}


def attrs(span):
    return dict(span.attributes or {})


def output_parts(span):
    return json.loads(attrs(span)[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]


def output_text(span) -> str:
    return "".join(p.get("content", "") for p in output_parts(span) if p["type"] == "text")


def create_stream(client, **kwargs):
    return client.messages.create(**{"model": MODEL, "max_tokens": 200, "messages": USER, "stream": True, **kwargs})


def start_event(usage=None):
    return ("message_start", {"type": "message_start", "message": {
        "id": "msg_01s", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001", "content": [],
        "stop_reason": None, "stop_sequence": None, "usage": usage or {"input_tokens": 7, "output_tokens": 1}}})


def delta_event(index, delta):
    return ("content_block_delta", {"type": "content_block_delta", "index": index, "delta": delta})


# --- create(stream=True) ---------------------------------------------------------------------------------------------


def test_full_read_returns_sdk_stream(traced, anthropic_client):
    stream = create_stream(anthropic_client)
    assert type(stream) is anthropic.Stream
    events = list(stream)
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    span = traced.one()
    a = attrs(span)
    assert a[sc.GEN_AI_REQUEST_STREAM] is True
    assert a[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"
    assert a[sc.GEN_AI_RESPONSE_ID] == events[0].message.id
    assert a[sc.GEN_AI_RESPONSE_MODEL] == events[0].message.model
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert a[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == events[0].message.usage.input_tokens
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == events[-2].usage.output_tokens  # message_delta, not message_start
    assert a[sc.LLMOTEL_STREAM_CHUNKS] == len(events)
    assert output_text(span) == text
    assert span.status.status_code is StatusCode.UNSET
    assert traced.metrics()[sc.METRIC_TIME_TO_FIRST_CHUNK][0].count == 1


def test_tool_use_input_json_deltas_assembled(traced, anthropic_client):
    events = list(create_stream(anthropic_client, tools=TOOLS, tool_choice={"type": "tool", "name": "lookup"}))
    assert any(e.type == "content_block_delta" and e.delta.type == "input_json_delta" for e in events)
    a = attrs(traced.one())
    (part,) = json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]
    assert part["type"] == "tool_call"
    assert part["name"] == "lookup"
    assert part["id"].startswith("toolu_")
    assert isinstance(part["arguments"], dict) and "q" in part["arguments"]
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)


def test_thinking_and_signature_deltas(traced, anthropic_client):
    events = list(create_stream(anthropic_client, max_tokens=2000, thinking=THINKING))
    thinking = "".join(e.delta.thinking for e in events
                       if e.type == "content_block_delta" and e.delta.type == "thinking_delta")
    parts = output_parts(traced.one())
    assert parts[0] == {"type": "reasoning", "content": thinking}
    assert parts[1]["type"] == "text"
    assert "sig" not in json.dumps(parts)


def test_cache_usage_from_start_and_delta(traced, anthropic_client, fake_provider):
    events = [
        start_event({"input_tokens": 5, "cache_read_input_tokens": 100, "cache_creation_input_tokens": 0,
                     "output_tokens": 1}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        delta_event(0, {"type": "text_delta", "text": "Hi"}),
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": 12, "input_tokens": 5, "cache_read_input_tokens": 100,
                                     "cache_creation_input_tokens": 40}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    fake_provider.script(Reply(events=events))
    list(create_stream(anthropic_client))
    a = attrs(traced.one())
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == 145
    assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 100
    assert a[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 40
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 12


def test_odd_deltas_never_break_the_stream(traced, anthropic_client, fake_provider):
    events = [
        start_event(),
        delta_event(0, {"type": "text_delta", "text": "before any block start"}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
        delta_event(0, {"type": "citations_delta", "citation": {"type": "char_location", "cited_text": "x"}}),
        delta_event(0, {"type": "brand_new_delta", "payload": [1, 2]}),
        delta_event(0, {"type": "text_delta"}),
        delta_event(7, {"type": "input_json_delta", "partial_json": "{\"orphan\""}),
        ("content_block_delta", {"type": "content_block_delta", "delta": {"type": "text_delta", "text": "?"}}),
        delta_event(0, {"type": "text_delta", "text": "Hello"}),
        ("content_block_start", {"type": "content_block_start", "index": 1,
                                 "content_block": {"type": "tool_use", "id": "toolu_1", "name": "f", "input": {}}}),
        ("content_block_stop", {"type": "content_block_stop", "index": 1}),
        ("brand_new_event", {"type": "brand_new_event", "data": 1}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "tool_use"}, "usage": {}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    fake_provider.script(Reply(events=events))
    received = list(create_stream(anthropic_client))
    assert len(received) == len(events)
    span = traced.one()
    assert attrs(span)[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"
    assert attrs(span)[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)
    assert output_parts(span) == [{"type": "text", "content": "Hello"},
                                  {"type": "tool_call", "id": "toolu_1", "name": "f", "arguments": {}}]


def test_break_then_garbage_collected(traced, anthropic_client):
    stream = create_stream(anthropic_client)
    for _ in stream:
        break
    assert traced.llm_spans() == []
    del stream
    gc.collect()
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "garbage_collected"


def test_never_iterated_then_garbage_collected(traced, anthropic_client):
    stream = create_stream(anthropic_client)
    del stream
    gc.collect()
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "garbage_collected"


def test_close_records_partial_output(traced, anthropic_client):
    stream = create_stream(anthropic_client)
    seen = ""
    for event in stream:
        if event.type == "content_block_delta":
            seen += event.delta.text
            if len(seen) > 5:
                break
    stream.close()
    span = traced.one()
    a = attrs(span)
    assert a[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"
    assert output_text(span) == seen
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in a  # the stream ended before message_delta
    assert a[sc.GEN_AI_RESPONSE_ID].startswith("msg_")


def test_partial_tool_input_kept_as_text(traced, anthropic_client):
    stream = create_stream(anthropic_client, tools=TOOLS, tool_choice={"type": "tool", "name": "lookup"})
    fragments = 0
    for event in stream:
        if event.type == "content_block_delta" and event.delta.partial_json:
            fragments += 1
            if fragments == 2:
                break
    stream.close()
    (part,) = output_parts(traced.one())
    assert part["type"] == "tool_call"
    assert isinstance(part["arguments"], str) and part["arguments"].startswith("{")


def test_context_manager_exit(traced, anthropic_client):
    with create_stream(anthropic_client) as stream:
        next(iter(stream))
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"


def test_next_protocol(traced, anthropic_client):
    stream = create_stream(anthropic_client)
    assert next(stream).type == "message_start"
    for _ in stream:
        pass
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"


def test_dropped_mid_stream_records_error(traced, anthropic_client, fake_provider):
    fake_provider.script(Reply(drop_after_chunks=4))
    with pytest.raises(ANTHROPIC_STREAM_DROPPED) as raised:
        for _ in create_stream(anthropic_client):
            pass
    span = traced.one()
    a = attrs(span)
    assert a[sc.LLMOTEL_STREAM_ENDED_BY] == "error"
    assert a[sc.ERROR_TYPE] == type(raised.value).__name__
    assert span.status.status_code is StatusCode.ERROR
    assert a[sc.GEN_AI_RESPONSE_ID].startswith("msg_")


def test_error_event_mid_stream(traced, anthropic_client, fake_provider):
    error = {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}
    fake_provider.script(Reply(events=[start_event(), ("error", error)]))
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        list(create_stream(anthropic_client))
    a = attrs(traced.one())
    assert a[sc.ERROR_TYPE] == "APIStatusError"
    assert a[sc.LLMOTEL_STREAM_ENDED_BY] == "error"


def test_malformed_event(traced, anthropic_client, fake_provider):
    fake_provider.script(Reply(malformed_json=True))
    with pytest.raises(json.JSONDecodeError):
        list(create_stream(anthropic_client))
    assert attrs(traced.one())[sc.ERROR_TYPE] == "JSONDecodeError"


def test_error_before_stream_starts(traced, anthropic_client, fake_provider):
    fake_provider.script(Reply.error(429))
    with pytest.raises(anthropic.RateLimitError):
        create_stream(anthropic_client)
    a = attrs(traced.one())
    assert a[sc.HTTP_RESPONSE_STATUS_CODE] == 429
    assert a[sc.GEN_AI_REQUEST_STREAM] is True


# --- the messages.stream() helper -----------------------------------------------------------------------------------


def helper(client, **kwargs):
    return client.messages.stream(model=MODEL, max_tokens=2000, messages=USER, **kwargs)


def test_helper_text_stream(traced, anthropic_client):
    with helper(anthropic_client) as stream:
        assert type(stream).__name__ == "MessageStream"
        text = "".join(stream.text_stream)
    span = traced.one()
    assert text
    assert output_text(span) == text
    assert attrs(span)[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"


def test_helper_get_final_message(traced, anthropic_client):
    with helper(anthropic_client, tools=TOOLS, thinking=THINKING) as stream:
        message = stream.get_final_message()
    tool = next(b for b in message.content if b.type == "tool_use")
    span = traced.one()
    a = attrs(span)
    assert a[sc.GEN_AI_RESPONSE_ID] == message.id
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == (message.stop_reason,)
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == message.usage.output_tokens
    parts = output_parts(span)
    assert [p["type"] for p in parts] == ["reasoning", "text", "tool_call"]
    assert parts[2]["arguments"] == tool.input
    assert parts[0]["content"] == message.content[0].thinking


def test_helper_get_final_text_and_until_done(traced, anthropic_client):
    with helper(anthropic_client) as stream:
        stream.until_done()
        snapshot = stream.current_message_snapshot
        assert stream.get_final_text() == snapshot.content[0].text
    assert output_text(traced.one()) == snapshot.content[0].text


def test_helper_snapshot_mid_stream_then_exit(traced, anthropic_client):
    with helper(anthropic_client) as stream:
        for event in stream:
            if event.type == "text":
                snapshot_text = stream.current_message_snapshot.content[0].text
                break
    span = traced.one()
    assert attrs(span)[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"
    assert output_text(span) == snapshot_text


def test_helper_error_mid_stream(traced, anthropic_client, fake_provider):
    fake_provider.script(Reply(drop_after_chunks=4))
    with pytest.raises(ANTHROPIC_STREAM_DROPPED), helper(anthropic_client) as stream:
        stream.get_final_message()
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "error"


def test_helper_request_error(traced, anthropic_client, fake_provider):
    fake_provider.script(Reply.error(500))
    with pytest.raises(anthropic.InternalServerError), helper(anthropic_client):
        pass
    assert attrs(traced.one())[sc.ERROR_TYPE] == "InternalServerError"


# --- async ----------------------------------------------------------------------------------------------------------


async def test_async_full_read(traced, async_anthropic_client):
    stream = await async_anthropic_client.messages.create(model=MODEL, max_tokens=200, messages=USER, stream=True)
    assert type(stream) is anthropic.AsyncStream
    text = "".join([e.delta.text async for e in stream if e.type == "content_block_delta"])
    span = traced.one()
    assert output_text(span) == text
    assert attrs(span)[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"


async def test_async_tool_use_stream(traced, async_anthropic_client):
    stream = await async_anthropic_client.messages.create(
        model=MODEL, max_tokens=200, messages=USER, stream=True, tools=TOOLS)
    async for _ in stream:
        pass
    parts = output_parts(traced.one())
    assert parts[-1]["type"] == "tool_call" and isinstance(parts[-1]["arguments"], dict)


async def test_async_close_and_context_manager(traced, async_anthropic_client):
    stream = await async_anthropic_client.messages.create(model=MODEL, max_tokens=200, messages=USER, stream=True)
    await stream.__anext__()
    await stream.close()
    async with await async_anthropic_client.messages.create(
        model=MODEL, max_tokens=200, messages=USER, stream=True
    ) as second:
        await second.__anext__()
    assert [attrs(s)[sc.LLMOTEL_STREAM_ENDED_BY] for s in traced.llm_spans()] == ["closed", "closed"]


async def test_async_break_then_garbage_collected(traced, async_anthropic_client):
    stream = await async_anthropic_client.messages.create(model=MODEL, max_tokens=200, messages=USER, stream=True)
    async for _ in stream:
        break
    del stream
    for _ in range(5):  # the loop first closes the abandoned `async for` generator, which holds the stream
        gc.collect()
        if traced.llm_spans():
            break
        await asyncio.sleep(0)
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "garbage_collected"


async def test_async_dropped_mid_stream(traced, async_anthropic_client, fake_provider):
    fake_provider.script(Reply(drop_after_chunks=4))
    stream = await async_anthropic_client.messages.create(model=MODEL, max_tokens=200, messages=USER, stream=True)
    with pytest.raises(ANTHROPIC_STREAM_DROPPED):
        async for _ in stream:
            pass
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "error"


async def test_async_helper_text_stream(traced, async_anthropic_client):
    async with async_anthropic_client.messages.stream(model=MODEL, max_tokens=200, messages=USER) as stream:
        text = "".join([t async for t in stream.text_stream])
    assert output_text(traced.one()) == text


async def test_async_helper_final_message_and_text(traced, async_anthropic_client):
    async with async_anthropic_client.messages.stream(
        model=MODEL, max_tokens=2000, messages=USER, thinking=THINKING
    ) as stream:
        message = await stream.get_final_message()
        text = await stream.get_final_text()
    span = traced.one()
    assert attrs(span)[sc.GEN_AI_RESPONSE_ID] == message.id
    assert output_text(span) == text
    assert output_parts(span)[0]["type"] == "reasoning"


async def test_async_helper_until_done_and_snapshot(traced, async_anthropic_client):
    async with async_anthropic_client.messages.stream(model=MODEL, max_tokens=200, messages=USER) as stream:
        await stream.until_done()
        snapshot = stream.current_message_snapshot
    assert output_text(traced.one()) == snapshot.content[0].text


async def test_async_helper_early_exit(traced, async_anthropic_client):
    async with async_anthropic_client.messages.stream(model=MODEL, max_tokens=200, messages=USER) as stream:
        async for event in stream:
            if event.type == "text":
                break
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"


async def test_async_beta_helper(traced, async_anthropic_client):
    async with async_anthropic_client.beta.messages.stream(model=MODEL, max_tokens=200, messages=USER) as stream:
        message = await stream.get_final_message()
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_ID] == message.id


# --- Amazon Bedrock: AWS event-stream framing instead of SSE ------------------------------------------------------

BEDROCK_MODEL = "anthropic.claude-haiku-4-5-v1:0"


def bedrock_client(fake_provider, client_class=anthropic.AnthropicBedrock):
    return client_class(api_key="bedrock-key", aws_region="us-east-1", base_url=fake_provider.base_url,
                        max_retries=0)


def test_bedrock_stream_full_read(traced, fake_provider):
    stream = create_stream(bedrock_client(fake_provider), model=BEDROCK_MODEL)
    events = list(stream)
    assert fake_provider.last_request.path == f"/model/{BEDROCK_MODEL}/invoke-with-response-stream"
    assert fake_provider.last_request.header("content-type") == "application/json"
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    assert text
    span = traced.one()
    a = attrs(span)
    assert a[sc.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert a[sc.GEN_AI_REQUEST_MODEL] == BEDROCK_MODEL
    assert a[sc.GEN_AI_REQUEST_STREAM] is True
    assert a[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"
    assert a[sc.GEN_AI_RESPONSE_ID] == events[0].message.id
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == events[-2].usage.output_tokens
    assert a[sc.LLMOTEL_STREAM_CHUNKS] == len(events)
    assert output_text(span) == text


def test_bedrock_stream_helper_and_early_close(traced, fake_provider):
    client = bedrock_client(fake_provider)
    with client.messages.stream(model=BEDROCK_MODEL, max_tokens=200, messages=USER) as stream:
        final_text = stream.get_final_text()
    with client.messages.stream(model=BEDROCK_MODEL, max_tokens=200, messages=USER) as stream:
        first = next(iter(stream.text_stream))
    whole, cut = traced.llm_spans()
    assert output_text(whole) == final_text
    assert attrs(whole)[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"
    assert attrs(cut)[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"
    assert output_text(cut).startswith(first)
    assert sc.GEN_AI_RESPONSE_FINISH_REASONS not in attrs(cut)


def test_bedrock_stream_dropped_connection(traced, fake_provider):
    fake_provider.script(Reply(drop_after_chunks=3))
    with pytest.raises(ANTHROPIC_STREAM_DROPPED):
        list(create_stream(bedrock_client(fake_provider), model=BEDROCK_MODEL))
    span = traced.one()
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[sc.ERROR_TYPE]
    assert attrs(span)[sc.GEN_AI_RESPONSE_ID]  # message_start arrived before the drop


async def test_async_bedrock_stream(traced, fake_provider):
    client = bedrock_client(fake_provider, anthropic.AsyncAnthropicBedrock)
    stream = await create_stream(client, model=BEDROCK_MODEL)
    assert type(stream) is anthropic.AsyncStream
    events = [event async for event in stream]
    text = "".join(e.delta.text for e in events if e.type == "content_block_delta")
    async with client.messages.stream(model=BEDROCK_MODEL, max_tokens=200, messages=USER) as helper:
        final = await helper.get_final_message()
    streamed, helped = traced.llm_spans()
    assert attrs(streamed)[sc.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert output_text(streamed) == text
    assert attrs(helped)[sc.GEN_AI_RESPONSE_ID] == final.id
    assert attrs(helped)[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"
    await client.close()
