"""Streams end their span exactly once on every exit path, and the user gets the SDK's own stream object."""

from __future__ import annotations

import gc
import json

import openai
import pytest

from llmotel import semconv as sc
from tests.fake_providers import Reply

USER = [{"role": "user", "content": "Tell me about spans please"}]
TOOLS = [{"type": "function", "function": {"name": "lookup", "parameters": {
    "type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}}]


def attrs(span):
    return dict(span.attributes or {})


def output_text(span) -> str:
    parts = json.loads(attrs(span)[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]
    return "".join(p.get("content", "") for p in parts if p["type"] == "text")


def test_full_read_returns_sdk_stream(traced, openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    assert type(stream) is openai.Stream
    text = "".join(c.choices[0].delta.content or "" for c in stream if c.choices)
    span = traced.one()
    a = attrs(span)
    assert a[sc.GEN_AI_REQUEST_STREAM] is True
    assert a[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert a[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in a  # no usage unless the stream carries it
    assert output_text(span) == text
    assert traced.metrics()[sc.METRIC_TIME_TO_FIRST_CHUNK][0].count == 1


def test_usage_recorded_when_user_asks(traced, openai_client):
    chunks = list(openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, stream=True, stream_options={"include_usage": True}))
    a = attrs(traced.one())
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == chunks[-1].usage.prompt_tokens
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == chunks[-1].usage.completion_tokens


def test_stream_usage_opt_in_adds_stream_options(instrument, openai_client, fake_provider):
    traced = instrument(stream_usage=True)
    list(openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))
    assert fake_provider.requests[-1].body["stream_options"] == {"include_usage": True}
    assert attrs(traced.one())[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_tool_call_deltas_assembled(traced, openai_client):
    list(openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=TOOLS, stream=True))
    a = attrs(traced.one())
    (part,) = json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]
    assert part["type"] == "tool_call"
    assert part["name"] == "lookup"
    assert part["id"].startswith("call_")
    assert isinstance(part["arguments"], dict)
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)


def test_break_then_garbage_collected(traced, openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    for _ in stream:
        break
    assert traced.llm_spans() == []
    del stream
    gc.collect()
    span = traced.one()
    assert attrs(span)[sc.LLMOTEL_STREAM_ENDED_BY] == "garbage_collected"


def test_never_iterated_then_garbage_collected(traced, openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    del stream
    gc.collect()
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "garbage_collected"


def test_close_records_partial_output(traced, openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    seen = ""
    for chunk in stream:
        seen += chunk.choices[0].delta.content or "" if chunk.choices else ""
        if len(seen) > 3:
            break
    stream.close()
    span = traced.one()
    assert attrs(span)[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"
    assert output_text(span) == seen


def test_context_manager_exit(traced, openai_client):
    with openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True) as stream:
        next(iter(stream))
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"


def test_next_protocol(traced, openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    first = next(stream)
    assert first.id
    for _ in stream:
        pass
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"


def test_dropped_mid_stream_records_error(traced, openai_client, fake_provider):
    fake_provider.script(Reply(drop_after_chunks=2))
    with pytest.raises(Exception) as raised:  # APIConnectionError (openai 3.x) or the raw httpx error (1.x, 2.x)
        for _ in openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True):
            pass
    span = traced.one()
    assert attrs(span)[sc.LLMOTEL_STREAM_ENDED_BY] == "error"
    assert attrs(span)[sc.ERROR_TYPE] == type(raised.value).__qualname__


def test_span_ends_once_whatever_happens_after(traced, openai_client):
    stream = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    list(stream)
    stream.close()
    stream.close()
    del stream
    gc.collect()
    assert len(traced.llm_spans()) == 1


def test_stream_helper(traced, openai_client):
    with openai_client.chat.completions.stream(model="gpt-4o-mini", messages=USER) as stream:
        for _ in stream:
            pass
        final = stream.get_final_completion()
    span = traced.one()
    assert output_text(span) == final.choices[0].message.content
    assert attrs(span)[sc.GEN_AI_RESPONSE_ID] == final.id


def test_legacy_completions_stream(traced, openai_client):
    text = "".join(c.choices[0].text for c in openai_client.completions.create(
        model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True) if c.choices)
    span = traced.one()
    assert span.name == "text_completion gpt-3.5-turbo-instruct"
    assert output_text(span) == text


async def test_async_full_read(traced, async_openai_client):
    stream = await async_openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    assert type(stream) is openai.AsyncStream
    text = "".join([c.choices[0].delta.content or "" async for c in stream if c.choices])
    span = traced.one()
    assert attrs(span)[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"
    assert output_text(span) == text


async def test_async_context_manager_and_close(traced, async_openai_client):
    async with await async_openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, stream=True
    ) as stream:
        await stream.__anext__()
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"


async def test_async_break_and_close(traced, async_openai_client):
    stream = await async_openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True)
    async for _ in stream:
        break
    await stream.close()
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"


async def test_async_error_mid_stream(traced, async_openai_client, fake_provider):
    fake_provider.script(Reply(drop_after_chunks=1))
    with pytest.raises(Exception) as raised:
        async for _ in await async_openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=USER, stream=True
        ):
            pass
    assert attrs(traced.one())[sc.ERROR_TYPE] == type(raised.value).__qualname__


async def test_async_stream_helper(traced, async_openai_client):
    async with async_openai_client.chat.completions.stream(model="gpt-4o-mini", messages=USER) as stream:
        async for _ in stream:
            pass
        final = await stream.get_final_completion()
    assert output_text(traced.one()) == final.choices[0].message.content
