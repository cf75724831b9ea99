"""The fake OpenAI/Anthropic server, driven through the real ``openai`` and ``anthropic`` SDKs."""

from __future__ import annotations

import contextlib
import json
import socket
import threading
import time
from typing import Any

import anthropic
import httpx2
import openai
import pytest
from pydantic import BaseModel

from tests.fake_providers import FakeProvider, Reply
from tests.sdk_errors import ANTHROPIC_STREAM_DROPPED

GPT = "gpt-4o-mini"
GPT_SNAPSHOT = "gpt-4o-mini-2024-07-18"
CLAUDE = "claude-haiku-4-5"
CLAUDE_SNAPSHOT = "claude-haiku-4-5-20251001"
USER = [{"role": "user", "content": "Hello there"}]
WEATHER_SCHEMA = {
    "type": "object",
    "properties": {"location": {"type": "string"}, "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}},
    "required": ["location", "unit"],
}
CHAT_TOOLS: list[Any] = [
    {"type": "function", "function": {"name": "get_weather", "parameters": WEATHER_SCHEMA}},
    {"type": "function", "function": {"name": "get_time", "parameters": {"type": "object", "properties": {}}}},
]
RESPONSES_TOOLS: list[Any] = [{"type": "function", "name": "get_weather", "parameters": WEATHER_SCHEMA}]
CLAUDE_TOOLS: list[Any] = [{"name": "get_weather", "description": "Weather", "input_schema": WEATHER_SCHEMA}]
WEATHER_ARGS = {"location": "example", "unit": "celsius"}


class Answer(BaseModel):
    city: str
    temperature: float
    tags: list[str]


class GetWeather(BaseModel):
    location: str
    days: int


def _provider_threads(port: int) -> list[threading.Thread]:
    return [t for t in threading.enumerate() if t.name.startswith(f"fake-provider:{port}")]


def _port_is_closed(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) != 0


# -- server lifecycle, recording and scripting ---------------------------------------------------------------------


def test_start_and_stop_are_fast_and_release_port_and_threads() -> None:
    started = time.perf_counter()
    provider = FakeProvider().start()
    assert time.perf_counter() - started < 0.1
    assert provider.base_url == f"http://127.0.0.1:{provider.port}"
    assert provider.openai_base_url == provider.base_url + "/v1"
    assert provider.anthropic_base_url == provider.base_url
    with openai.OpenAI(api_key="k", base_url=provider.openai_base_url, max_retries=0) as client:
        client.chat.completions.create(model=GPT, messages=USER)  # leaves an idle keep-alive connection
        provider.script(Reply(delay=30))
        pending = threading.Thread(target=_swallow, args=(client,), daemon=True)
        pending.start()
        _wait_for(lambda: len(provider.requests) == 2)
        stopping = time.perf_counter()
        provider.stop()
        assert time.perf_counter() - stopping < 0.1
        pending.join(timeout=2)
    assert _port_is_closed(provider.port)
    assert _provider_threads(provider.port) == []
    provider.stop()  # idempotent


def _swallow(client: openai.OpenAI) -> None:
    with contextlib.suppress(openai.APIConnectionError):
        client.chat.completions.create(model=GPT, messages=USER)


def _wait_for(condition: Any, timeout: float = 2.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "condition not met in time"
        time.sleep(0.005)


def test_context_manager_starts_and_stops() -> None:
    with FakeProvider() as provider:
        assert provider.running
        port = provider.port
    assert not provider.running
    assert _port_is_closed(port)


def test_records_requests(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    openai_client.chat.completions.create(model=GPT, messages=USER, extra_query={"api-version": "1"})
    (request,) = fake_provider.requests
    assert request.method == "POST"
    assert request.path == "/v1/chat/completions"
    assert request.query == {"api-version": ["1"]}
    assert request.headers["authorization"] == "Bearer test-key"
    assert request.header("Content-Type") == "application/json"
    assert "traceparent" not in request.headers
    assert request.body == {"model": GPT, "messages": USER}
    assert json.loads(request.raw_body) == request.body
    assert fake_provider.requests_to("/v1/chat/completions") == [request]
    assert fake_provider.last_request is request


def test_reset_clears_requests_and_scripts(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    openai_client.chat.completions.create(model=GPT, messages=USER)
    fake_provider.script(Reply.error(500))
    fake_provider.reset()
    assert fake_provider.requests == []
    assert fake_provider.pending_scripts == 0
    openai_client.chat.completions.create(model=GPT, messages=USER)


def test_scripts_are_fifo_and_match_by_path(
    fake_provider: FakeProvider, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic
) -> None:
    fake_provider.script("/v1/messages", Reply(text="first"), Reply(text="second"))
    fake_provider.script(Reply(text="any"))
    assert openai_client.chat.completions.create(model=GPT, messages=USER).choices[0].message.content == "any"
    texts = [_claude_text(anthropic_client) for _ in range(3)]
    assert texts == ["first", "second", "Echo: Hello there"]
    with pytest.raises(TypeError):
        fake_provider.script("/v1/messages")


def _claude_text(client: anthropic.Anthropic) -> str:
    message = client.messages.create(model=CLAUDE, max_tokens=100, messages=USER)
    block = message.content[-1]
    assert block.type == "text"
    return block.text


def test_unknown_paths_answer_404_in_each_providers_shape(
    openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic
) -> None:
    with pytest.raises(openai.NotFoundError) as openai_err:
        openai_client.post("/nope", cast_to=object, body={})
    assert openai_err.value.body == {
        "message": "Invalid URL (POST /v1/nope)",
        "type": "invalid_request_error",
        "param": None,
        "code": None,
    }
    with pytest.raises(anthropic.NotFoundError) as anthropic_err:
        anthropic_client.post("/v1/nope", cast_to=object, body={})
    assert anthropic_err.value.type == "not_found_error"


def test_missing_required_field_is_a_400(openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic) -> None:
    with pytest.raises(openai.BadRequestError, match="model"):
        openai_client.post("/chat/completions", cast_to=object, body={"messages": USER})
    with pytest.raises(anthropic.BadRequestError, match="max_tokens"):
        anthropic_client.post("/v1/messages", cast_to=object, body={"model": CLAUDE, "messages": USER})


# -- OpenAI chat completions ---------------------------------------------------------------------------------------


def test_chat_completion(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(model=GPT, messages=USER)
    assert completion.id.startswith("chatcmpl-")
    assert completion.object == "chat.completion"
    assert completion.model == GPT_SNAPSHOT
    assert completion.created > 0
    assert completion.system_fingerprint
    assert completion.service_tier == "default"
    (choice,) = completion.choices
    assert choice.finish_reason == "stop"
    assert choice.message.role == "assistant"
    assert choice.message.content == "Echo: Hello there"
    usage = completion.usage
    assert usage is not None
    assert (usage.prompt_tokens, usage.completion_tokens, usage.total_tokens) == (2, 3, 5)
    assert usage.prompt_tokens_details is not None and usage.prompt_tokens_details.cached_tokens == 0
    assert usage.completion_tokens_details is not None and usage.completion_tokens_details.reasoning_tokens == 0
    assert "stream_options" not in fake_provider.last_request.body


def test_chat_is_deterministic(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    first = openai_client.chat.completions.create(model=GPT, messages=USER)
    fake_provider.reset()
    assert openai_client.chat.completions.create(model=GPT, messages=USER) == first


def test_chat_n_choices_logprobs_and_length(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.create(
        model=GPT, messages=USER, n=3, logprobs=True, top_logprobs=2, max_completion_tokens=2, reasoning_effort="low"
    )
    assert [c.index for c in completion.choices] == [0, 1, 2]
    for choice in completion.choices:
        assert choice.finish_reason == "length"
        assert choice.message.content == "Echo: Hello"
        assert choice.logprobs is not None and choice.logprobs.content is not None
        assert [t.token for t in choice.logprobs.content] == ["Echo:", " Hello"]
        assert len(choice.logprobs.content[0].top_logprobs) == 2
    assert completion.usage is not None and completion.usage.completion_tokens_details is not None
    assert completion.usage.completion_tokens_details.reasoning_tokens > 0


def test_chat_tool_call_then_tool_result(openai_client: openai.OpenAI) -> None:
    first = openai_client.chat.completions.create(model=GPT, messages=USER, tools=CHAT_TOOLS)
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    assert choice.message.content is None
    (call,) = choice.message.tool_calls or []
    assert call.type == "function"
    assert call.id.startswith("call_")
    assert call.function.name == "get_weather"
    assert json.loads(call.function.arguments) == WEATHER_ARGS
    tool_message = {"role": "tool", "tool_call_id": call.id, "content": "22 degrees"}
    messages: Any = [*USER, choice.message.to_dict(), tool_message]
    second = openai_client.chat.completions.create(model=GPT, messages=messages, tools=CHAT_TOOLS)
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == "The tool returned: 22 degrees"


def test_chat_tool_choice(openai_client: openai.OpenAI) -> None:
    named = openai_client.chat.completions.create(
        model=GPT, messages=USER, tools=CHAT_TOOLS, tool_choice={"type": "function", "function": {"name": "get_time"}}
    )
    assert (named.choices[0].message.tool_calls or [])[0].function.arguments == "{}"
    none = openai_client.chat.completions.create(model=GPT, messages=USER, tools=CHAT_TOOLS, tool_choice="none")
    assert none.choices[0].message.content == "Echo: Hello there"


def test_chat_json_response_formats(openai_client: openai.OpenAI) -> None:
    json_object = openai_client.chat.completions.create(
        model=GPT, messages=USER, response_format={"type": "json_object"}
    )
    assert json.loads(json_object.choices[0].message.content or "") == {"answer": "Echo: Hello there"}
    schema = {"name": "answer", "schema": Answer.model_json_schema(), "strict": True}
    json_schema = openai_client.chat.completions.create(
        model=GPT, messages=USER, response_format={"type": "json_schema", "json_schema": schema}
    )
    Answer.model_validate_json(json_schema.choices[0].message.content or "")


def test_chat_parse_with_pydantic(openai_client: openai.OpenAI) -> None:
    completion = openai_client.chat.completions.parse(model=GPT, messages=USER, response_format=Answer)
    parsed = completion.choices[0].message.parsed
    assert parsed == Answer(city="example", temperature=1.5, tags=["example"])
    tool = openai.pydantic_function_tool(GetWeather)
    with_tool = openai_client.chat.completions.parse(model=GPT, messages=USER, tools=[tool])
    (call,) = with_tool.choices[0].message.tool_calls or []
    assert call.function.parsed_arguments == GetWeather(location="example", days=1)


def test_chat_raw_response(openai_client: openai.OpenAI) -> None:
    raw = openai_client.chat.completions.with_raw_response.create(model=GPT, messages=USER)
    assert raw.status_code == 200
    assert raw.headers["x-request-id"].startswith("req_")
    assert raw.headers["openai-processing-ms"]
    completion = raw.parse()
    assert completion.choices[0].message.content == "Echo: Hello there"
    assert completion._request_id == raw.headers["x-request-id"]


def test_chat_stream(openai_client: openai.OpenAI) -> None:
    chunks = list(openai_client.chat.completions.create(model=GPT, messages=USER, stream=True))
    assert all(c.object == "chat.completion.chunk" and c.model == GPT_SNAPSHOT for c in chunks)
    assert len({c.id for c in chunks}) == 1
    assert all(c.usage is None and len(c.choices) == 1 for c in chunks)
    assert chunks[0].choices[0].delta.role == "assistant"
    contents = [c.choices[0].delta.content for c in chunks[1:-1]]
    assert len(contents) >= 3
    assert "".join(contents) == "Echo: Hello there"  # type: ignore[arg-type]
    assert chunks[-1].choices[0].finish_reason == "stop"
    assert all(c.choices[0].finish_reason is None for c in chunks[:-1])


def test_chat_stream_usage_chunk_only_with_include_usage(
    fake_provider: FakeProvider, openai_client: openai.OpenAI
) -> None:
    stream = openai_client.chat.completions.create(
        model=GPT, messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = list(stream)
    assert chunks[-1].choices == []
    assert chunks[-1].usage is not None and chunks[-1].usage.total_tokens == 5
    assert all(c.usage is None for c in chunks[:-1])
    assert fake_provider.last_request.body["stream_options"] == {"include_usage": True}


def test_chat_stream_n_choices(openai_client: openai.OpenAI) -> None:
    chunks = list(openai_client.chat.completions.create(model=GPT, messages=USER, n=2, stream=True))
    for index in (0, 1):
        mine = [c.choices[0] for c in chunks if c.choices[0].index == index]
        assert "".join(c.delta.content or "" for c in mine) == "Echo: Hello there"
        assert mine[-1].finish_reason == "stop"


def test_chat_stream_tool_call_deltas(openai_client: openai.OpenAI) -> None:
    chunks = list(openai_client.chat.completions.create(model=GPT, messages=USER, tools=CHAT_TOOLS, stream=True))
    calls = [tc for c in chunks for tc in c.choices[0].delta.tool_calls or []]
    assert len(calls) > 2
    first, rest = calls[0], calls[1:]
    assert first.index == 0 and first.id and first.id.startswith("call_")
    assert first.function is not None and first.function.name == "get_weather"
    assert all(tc.id is None and tc.index == 0 and tc.function and tc.function.name is None for tc in rest)
    arguments = "".join(tc.function.arguments or "" for tc in calls if tc.function)
    assert json.loads(arguments) == WEATHER_ARGS
    assert chunks[-1].choices[0].finish_reason == "tool_calls"


def test_chat_stream_helper(openai_client: openai.OpenAI) -> None:
    with openai_client.chat.completions.stream(
        model=GPT, messages=USER, stream_options={"include_usage": True}
    ) as stream:
        deltas = [event.delta for event in stream if event.type == "content.delta"]
        final = stream.get_final_completion()
    assert "".join(deltas) == "Echo: Hello there"
    assert final.choices[0].message.content == "Echo: Hello there"
    assert final.usage is not None and final.usage.prompt_tokens == 2


def test_chat_stream_helper_with_tools(openai_client: openai.OpenAI) -> None:
    tool = openai.pydantic_function_tool(GetWeather)
    with openai_client.chat.completions.stream(model=GPT, messages=USER, tools=[tool]) as stream:
        done = [e for e in stream if e.type == "tool_calls.function.arguments.done"]
        final = stream.get_final_completion()
    assert done[0].name == "GetWeather" and done[0].parsed_arguments == GetWeather(location="example", days=1)
    assert final.choices[0].finish_reason == "tool_calls"


@pytest.mark.asyncio
async def test_chat_async(async_openai_client: openai.AsyncOpenAI) -> None:
    completion = await async_openai_client.chat.completions.create(model=GPT, messages=USER)
    assert completion.choices[0].message.content == "Echo: Hello there"
    stream = await async_openai_client.chat.completions.create(
        model=GPT, messages=USER, stream=True, stream_options={"include_usage": True}
    )
    chunks = [chunk async for chunk in stream]
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Echo: Hello there"
    assert chunks[-1].usage is not None
    async with async_openai_client.chat.completions.stream(model=GPT, messages=USER) as helper:
        final = await helper.get_final_completion()
    assert final.choices[0].message.content == "Echo: Hello there"


# -- OpenAI Responses API ------------------------------------------------------------------------------------------


def test_response(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(
        model=GPT, input="Hello there", instructions="Be brief.", previous_response_id="resp_previous"
    )
    assert response.id.startswith("resp_")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.model == GPT_SNAPSHOT
    assert response.output_text == "Echo: Hello there"
    assert response.previous_response_id == "resp_previous"
    assert response.instructions == "Be brief."
    (message,) = response.output
    assert message.type == "message" and message.id.startswith("msg_")
    usage = response.usage
    assert usage is not None
    assert (usage.input_tokens, usage.output_tokens, usage.total_tokens) == (4, 3, 7)
    assert usage.input_tokens_details.cached_tokens == 0
    assert usage.output_tokens_details.reasoning_tokens == 0


def test_response_with_reasoning_and_list_input(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(
        model="o4-mini",
        input=[{"role": "user", "content": [{"type": "input_text", "text": "Hello there"}]}],
        reasoning={"effort": "low", "summary": "auto"},
    )
    reasoning, message = response.output
    assert reasoning.type == "reasoning" and reasoning.summary[0].text
    assert message.type == "message"
    assert response.output_text == "Echo: Hello there"
    assert response.reasoning is not None and response.reasoning.effort == "low"
    assert response.usage is not None and response.usage.output_tokens_details.reasoning_tokens > 0


def test_response_function_call_then_output(openai_client: openai.OpenAI) -> None:
    first = openai_client.responses.create(model=GPT, input="Weather?", tools=RESPONSES_TOOLS)
    (call,) = first.output
    assert call.type == "function_call"
    assert call.name == "get_weather" and call.call_id.startswith("call_")
    assert json.loads(call.arguments) == WEATHER_ARGS
    assert first.tools[0].type == "function"
    follow_up: Any = [{"type": "function_call_output", "call_id": call.call_id, "output": "22 degrees"}]
    second = openai_client.responses.create(
        model=GPT, input=follow_up, tools=RESPONSES_TOOLS, previous_response_id=first.id
    )
    assert second.output_text == "The tool returned: 22 degrees"


def test_response_incomplete_at_max_output_tokens(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.create(model=GPT, input="Hello there", max_output_tokens=1)
    assert response.status == "incomplete"
    assert response.incomplete_details is not None and response.incomplete_details.reason == "max_output_tokens"
    assert response.output_text == "Echo:"


def test_response_parse(openai_client: openai.OpenAI) -> None:
    response = openai_client.responses.parse(model=GPT, input="Hello there", text_format=Answer)
    assert response.output_parsed == Answer(city="example", temperature=1.5, tags=["example"])


def test_response_stream_events(openai_client: openai.OpenAI) -> None:
    events = list(openai_client.responses.create(model=GPT, input="Hello there", stream=True))
    assert [e.type for e in events] == [
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.content_part.added",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.delta",
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]
    assert [e.sequence_number for e in events] == list(range(len(events)))
    assert "".join(e.delta for e in events if e.type == "response.output_text.delta") == "Echo: Hello there"
    completed = events[-1]
    assert completed.type == "response.completed"
    assert completed.response.usage is not None and completed.response.usage.total_tokens == 5
    assert completed.response.output_text == "Echo: Hello there"


def test_response_stream_raw_sse_has_event_lines(fake_provider: FakeProvider) -> None:
    body = {"model": GPT, "input": "Hi", "stream": True}
    with httpx2.Client(base_url=fake_provider.base_url) as http:
        text = http.post("/v1/responses", json=body).text
    assert text.startswith('event: response.created\ndata: {"type": "response.created", "sequence_number": 0')


def test_response_stream_function_call(openai_client: openai.OpenAI) -> None:
    stream = openai_client.responses.create(model=GPT, input="Weather?", tools=RESPONSES_TOOLS, stream=True)
    events = list(stream)
    deltas = [e.delta for e in events if e.type == "response.function_call_arguments.delta"]
    done = [e for e in events if e.type == "response.function_call_arguments.done"]
    assert len(deltas) > 1
    assert json.loads("".join(deltas)) == json.loads(done[0].arguments) == WEATHER_ARGS


def test_response_stream_helper(openai_client: openai.OpenAI) -> None:
    with openai_client.responses.stream(
        model=GPT, input="Hello there", reasoning={"effort": "low", "summary": "auto"}
    ) as stream:
        types = [event.type for event in stream]
        final = stream.get_final_response()
    assert "response.reasoning_summary_text.delta" in types
    assert final.output_text == "Echo: Hello there"
    assert final.usage is not None and final.usage.output_tokens_details.reasoning_tokens > 0


@pytest.mark.asyncio
async def test_response_async(async_openai_client: openai.AsyncOpenAI) -> None:
    response = await async_openai_client.responses.create(model=GPT, input="Hello there")
    assert response.output_text == "Echo: Hello there"
    stream = await async_openai_client.responses.create(model=GPT, input="Hello there", stream=True)
    events = [event async for event in stream]
    assert events[-1].type == "response.completed"
    async with async_openai_client.responses.stream(model=GPT, input="Hi", tools=RESPONSES_TOOLS) as helper:
        final = await helper.get_final_response()
    assert final.output[0].type == "function_call"


# -- OpenAI embeddings and legacy completions ----------------------------------------------------------------------


def test_embeddings(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    default = openai_client.embeddings.create(model="text-embedding-3-small", input="Hello there")
    assert fake_provider.last_request.body["encoding_format"] == "base64"  # the SDK asks for base64 and decodes it
    assert len(default.data[0].embedding) == 1536
    floats = openai_client.embeddings.create(
        model="text-embedding-3-small", input=["a", "b"], dimensions=8, encoding_format="float"
    )
    assert [d.index for d in floats.data] == [0, 1]
    assert all(len(d.embedding) == 8 for d in floats.data)
    assert sum(x * x for x in floats.data[0].embedding) == pytest.approx(1.0)
    assert floats.model == "text-embedding-3-small"
    assert floats.usage.prompt_tokens == floats.usage.total_tokens == 2
    as_base64 = openai_client.embeddings.create(
        model="text-embedding-3-small", input="a", dimensions=8, encoding_format="base64"
    )
    assert isinstance(as_base64.data[0].embedding, str)
    decoded = openai_client.embeddings.create(model="text-embedding-3-small", input="a", dimensions=8)
    assert decoded.data[0].embedding == pytest.approx(floats.data[0].embedding, rel=1e-6)


def test_legacy_completions(openai_client: openai.OpenAI) -> None:
    completion = openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=50)
    assert completion.object == "text_completion"
    assert completion.id.startswith("cmpl-")
    assert completion.choices[0].text == " Echo: Say hi"
    assert completion.choices[0].finish_reason == "stop"
    assert completion.usage is not None and completion.usage.completion_tokens == 3
    chunks = list(
        openai_client.completions.create(
            model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].text for c in chunks if c.choices) == " Echo: Say hi"
    assert chunks[-1].choices == [] and chunks[-1].usage is not None


# -- Anthropic messages --------------------------------------------------------------------------------------------


def test_message(fake_provider: FakeProvider, anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(model=CLAUDE, max_tokens=100, messages=USER, system="Be brief.")
    assert message.id.startswith("msg_01")
    assert message.type == "message" and message.role == "assistant"
    assert message.model == CLAUDE_SNAPSHOT
    assert message.stop_reason == "end_turn"
    (block,) = message.content
    assert block.type == "text" and block.text == "Echo: Hello there"
    usage = message.usage
    assert (usage.input_tokens, usage.output_tokens) == (4, 3)
    assert usage.cache_read_input_tokens == 0 and usage.cache_creation_input_tokens == 0
    headers = fake_provider.last_request.headers
    assert "test-key" in (headers.get("x-api-key") or headers.get("authorization") or "")
    assert "anthropic-version" in headers


def test_message_tool_use_then_tool_result(anthropic_client: anthropic.Anthropic) -> None:
    first = anthropic_client.messages.create(model=CLAUDE, max_tokens=100, messages=USER, tools=CLAUDE_TOOLS)
    assert first.stop_reason == "tool_use"
    text, tool_use = first.content
    assert text.type == "text"
    assert tool_use.type == "tool_use" and tool_use.id.startswith("toolu_")
    assert tool_use.name == "get_weather" and tool_use.input == WEATHER_ARGS
    result = {"type": "tool_result", "tool_use_id": tool_use.id, "content": "22 degrees"}
    messages: Any = [*USER, {"role": "assistant", "content": first.content}, {"role": "user", "content": [result]}]
    second = anthropic_client.messages.create(model=CLAUDE, max_tokens=100, messages=messages, tools=CLAUDE_TOOLS)
    assert second.stop_reason == "end_turn"
    assert second.content[0].type == "text" and second.content[0].text == "The tool returned: 22 degrees"


def test_message_forced_tool_has_no_preamble(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(
        model=CLAUDE,
        max_tokens=100,
        messages=USER,
        tools=CLAUDE_TOOLS,
        tool_choice={"type": "tool", "name": "get_weather"},
    )
    assert [b.type for b in message.content] == ["tool_use"]


def test_message_thinking_and_max_tokens(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.create(
        model=CLAUDE, max_tokens=2, messages=USER, thinking={"type": "enabled", "budget_tokens": 1024}
    )
    thinking, text = message.content
    assert thinking.type == "thinking" and thinking.thinking and thinking.signature
    assert text.type == "text" and text.text == "Echo: Hello"
    assert message.stop_reason == "max_tokens"


def test_message_parse(anthropic_client: anthropic.Anthropic) -> None:
    message = anthropic_client.messages.parse(model=CLAUDE, max_tokens=100, messages=USER, output_format=Answer)
    assert message.parsed_output == Answer(city="example", temperature=1.5, tags=["example"])


def test_message_raw_response(anthropic_client: anthropic.Anthropic) -> None:
    raw = anthropic_client.messages.with_raw_response.create(model=CLAUDE, max_tokens=100, messages=USER)
    assert raw.headers["request-id"].startswith("req_011")
    assert raw.parse().content[0].type == "text"


def test_count_tokens(anthropic_client: anthropic.Anthropic) -> None:
    count = anthropic_client.messages.count_tokens(model=CLAUDE, messages=USER, system="Be brief.")
    created = anthropic_client.messages.create(model=CLAUDE, max_tokens=100, messages=USER, system="Be brief.")
    assert count.input_tokens == created.usage.input_tokens == 4


def test_message_stream_events(anthropic_client: anthropic.Anthropic) -> None:
    events = list(anthropic_client.messages.create(model=CLAUDE, max_tokens=100, messages=USER, stream=True))
    assert [e.type for e in events] == [
        "message_start",
        "content_block_start",
        "content_block_delta",
        "content_block_delta",
        "content_block_delta",
        "content_block_stop",
        "message_delta",
        "message_stop",
    ]
    start, delta = events[0], events[-2]
    assert start.type == "message_start" and start.message.usage.input_tokens == 2
    assert start.message.content == [] and start.message.model == CLAUDE_SNAPSHOT
    assert delta.type == "message_delta" and delta.delta.stop_reason == "end_turn" and delta.usage.output_tokens == 3


def test_message_stream_raw_sse_has_event_lines_and_ping(fake_provider: FakeProvider) -> None:
    body = {"model": CLAUDE, "max_tokens": 10, "messages": USER, "stream": True}
    with httpx2.Client(base_url=fake_provider.base_url) as http:
        text = http.post("/v1/messages", json=body, headers={"anthropic-version": "2023-06-01"}).text
    assert text.startswith("event: message_start\ndata: ")
    assert "event: ping\n" in text and text.endswith('event: message_stop\ndata: {"type": "message_stop"}\n\n')


def test_message_stream_helper(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(model=CLAUDE, max_tokens=100, messages=USER) as stream:
        text = "".join(stream.text_stream)
        final = stream.get_final_message()
    assert text == "Echo: Hello there"
    assert final.content[0].type == "text" and final.content[0].text == text
    assert final.usage.input_tokens == 2 and final.usage.output_tokens == 3


def test_message_stream_tool_input_json_deltas(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(model=CLAUDE, max_tokens=100, messages=USER, tools=CLAUDE_TOOLS) as stream:
        partials = [
            e.delta.partial_json
            for e in stream
            if e.type == "content_block_delta" and e.delta.type == "input_json_delta"
        ]
        final = stream.get_final_message()
    assert len([p for p in partials if p]) > 1
    tool_use = final.content[-1]
    assert tool_use.type == "tool_use" and tool_use.input == WEATHER_ARGS
    assert final.stop_reason == "tool_use"


def test_message_stream_thinking(anthropic_client: anthropic.Anthropic) -> None:
    with anthropic_client.messages.stream(
        model=CLAUDE, max_tokens=100, messages=USER, thinking={"type": "enabled", "budget_tokens": 1024}
    ) as stream:
        delta_types = {e.delta.type for e in stream if e.type == "content_block_delta"}
        final = stream.get_final_message()
    assert delta_types == {"thinking_delta", "signature_delta", "text_delta"}
    thinking = final.content[0]
    assert thinking.type == "thinking" and thinking.thinking and thinking.signature


@pytest.mark.asyncio
async def test_message_async(async_anthropic_client: anthropic.AsyncAnthropic) -> None:
    message = await async_anthropic_client.messages.create(model=CLAUDE, max_tokens=100, messages=USER)
    assert message.content[0].type == "text" and message.content[0].text == "Echo: Hello there"
    stream = await async_anthropic_client.messages.create(model=CLAUDE, max_tokens=100, messages=USER, stream=True)
    events = [event async for event in stream]
    assert events[-1].type == "message_stop"
    async with async_anthropic_client.messages.stream(
        model=CLAUDE, max_tokens=100, messages=USER, tools=CLAUDE_TOOLS
    ) as helper:
        final = await helper.get_final_message()
    assert final.content[-1].type == "tool_use" and final.content[-1].input == WEATHER_ARGS


def test_legacy_complete(anthropic_client: anthropic.Anthropic) -> None:
    body = {"model": "claude-2.1", "prompt": "\n\nHuman: Say hi\n\nAssistant:", "max_tokens_to_sample": 50}
    completion: Any = anthropic_client.post("/v1/complete", cast_to=object, body=body)
    assert completion["type"] == "completion" and completion["completion"] == " Echo: Say hi"
    assert completion["stop_reason"] == "stop_sequence"
    stream: Any = anthropic_client.post(
        "/v1/complete", cast_to=object, body={**body, "stream": True}, stream=True, stream_cls=anthropic.Stream[object]
    )
    events = list(stream)
    assert "".join(e["completion"] for e in events) == " Echo: Say hi"
    assert events[-1]["stop_reason"] == "stop_sequence"


# -- scripted replies ----------------------------------------------------------------------------------------------

OPENAI_ERRORS = [
    (400, openai.BadRequestError, "invalid_request_error"),
    (401, openai.AuthenticationError, "invalid_request_error"),
    (404, openai.NotFoundError, "invalid_request_error"),
    (429, openai.RateLimitError, "requests"),
    (500, openai.InternalServerError, "server_error"),
    (503, openai.InternalServerError, "server_error"),
]
ANTHROPIC_ERRORS = [
    (400, anthropic.BadRequestError, "invalid_request_error"),
    (401, anthropic.AuthenticationError, "authentication_error"),
    (404, anthropic.NotFoundError, "not_found_error"),
    (429, anthropic.RateLimitError, "rate_limit_error"),
    (500, anthropic.InternalServerError, "api_error"),
    (503, anthropic.InternalServerError, "overloaded_error"),
]


@pytest.mark.parametrize(("status", "error_class", "error_type"), OPENAI_ERRORS)
def test_openai_errors(
    fake_provider: FakeProvider, openai_client: openai.OpenAI, status: int, error_class: type, error_type: str
) -> None:
    fake_provider.script(Reply.error(status, message="boom", retry_after=3))
    with pytest.raises(error_class) as caught:
        openai_client.chat.completions.create(model=GPT, messages=USER)
    assert caught.value.status_code == status
    assert caught.value.body == {"message": "boom", "type": error_type, "param": None, "code": caught.value.code}
    assert caught.value.response.headers["retry-after"] == "3"


@pytest.mark.parametrize(("status", "error_class", "error_type"), ANTHROPIC_ERRORS)
def test_anthropic_errors(
    fake_provider: FakeProvider, anthropic_client: anthropic.Anthropic, status: int, error_class: type, error_type: str
) -> None:
    fake_provider.script(Reply.error(status, message="boom"))
    with pytest.raises(error_class) as caught:
        anthropic_client.messages.create(model=CLAUDE, max_tokens=10, messages=USER, stream=True)
    assert caught.value.status_code == status
    assert caught.value.type == error_type and caught.value.api_message == "boom"
    assert caught.value.body["type"] == "error"
    assert caught.value.request_id == caught.value.body["request_id"]


def test_error_code_override(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    fake_provider.script(Reply.error(429, error_type="insufficient_quota", code="insufficient_quota"))
    with pytest.raises(openai.RateLimitError) as caught:
        openai_client.responses.create(model=GPT, input="Hi")
    assert caught.value.code == "insufficient_quota" and caught.value.type == "insufficient_quota"


def test_timeouts(
    fake_provider: FakeProvider, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic
) -> None:
    fake_provider.script(Reply(delay=2), Reply(delay=2))
    with pytest.raises(openai.APITimeoutError):
        openai_client.with_options(timeout=0.1).chat.completions.create(model=GPT, messages=USER)
    with pytest.raises(anthropic.APITimeoutError):
        anthropic_client.with_options(timeout=0.1).messages.create(model=CLAUDE, max_tokens=10, messages=USER)


@pytest.mark.asyncio
async def test_async_timeouts(
    fake_provider: FakeProvider,
    async_openai_client: openai.AsyncOpenAI,
    async_anthropic_client: anthropic.AsyncAnthropic,
) -> None:
    fake_provider.script(Reply(delay=2), Reply(delay=2))
    with pytest.raises(openai.APITimeoutError):
        await async_openai_client.with_options(timeout=0.1).chat.completions.create(model=GPT, messages=USER)
    with pytest.raises(anthropic.APITimeoutError):
        await async_anthropic_client.with_options(timeout=0.1).messages.create(
            model=CLAUDE, max_tokens=10, messages=USER
        )


def test_delay_without_timeout_still_answers(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    fake_provider.script(Reply(delay=0.05))
    started = time.perf_counter()
    openai_client.chat.completions.create(model=GPT, messages=USER)
    assert time.perf_counter() - started >= 0.05


def test_dropped_connection(
    fake_provider: FakeProvider, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic
) -> None:
    fake_provider.script(Reply(drop_connection=True), Reply(drop_connection=True))
    with pytest.raises(openai.APIConnectionError) as openai_err:
        openai_client.chat.completions.create(model=GPT, messages=USER)
    assert not isinstance(openai_err.value, openai.APITimeoutError)
    with pytest.raises(anthropic.APIConnectionError):
        anthropic_client.messages.create(model=CLAUDE, max_tokens=10, messages=USER)
    assert len(fake_provider.requests) == 2
    openai_client.chat.completions.create(model=GPT, messages=USER)  # the next request is served normally


def test_mid_stream_drop(
    fake_provider: FakeProvider, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic
) -> None:
    fake_provider.script(Reply(drop_after_chunks=2), Reply(drop_after_chunks=2))
    received: list[Any] = []
    with pytest.raises(openai.APIConnectionError):
        for chunk in openai_client.chat.completions.create(model=GPT, messages=USER, stream=True):
            received.append(chunk)
    assert len(received) == 2
    events: list[Any] = []
    with pytest.raises(ANTHROPIC_STREAM_DROPPED):
        for event in anthropic_client.messages.create(model=CLAUDE, max_tokens=10, messages=USER, stream=True):
            events.append(event)
    assert [e.type for e in events] == ["message_start", "content_block_start"]


@pytest.mark.asyncio
async def test_async_mid_stream_drop(fake_provider: FakeProvider, async_openai_client: openai.AsyncOpenAI) -> None:
    fake_provider.script(Reply(drop_after_chunks=3))
    stream = await async_openai_client.responses.create(model=GPT, input="Hi", stream=True)
    with pytest.raises(openai.APIConnectionError):
        async for _ in stream:
            pass


def test_truncated_json_body(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    fake_provider.script(Reply(drop_after_chunks=0))
    with pytest.raises(openai.APIConnectionError):
        openai_client.embeddings.create(model="text-embedding-3-small", input="Hi")


def test_malformed_json(
    fake_provider: FakeProvider, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic
) -> None:
    fake_provider.script(*[Reply(malformed_json=True)] * 4)
    with pytest.raises(json.JSONDecodeError):
        openai_client.chat.completions.create(model=GPT, messages=USER)
    with pytest.raises(json.JSONDecodeError):
        anthropic_client.messages.create(model=CLAUDE, max_tokens=10, messages=USER)
    chunks: list[Any] = []
    with pytest.raises(json.JSONDecodeError):
        for chunk in openai_client.chat.completions.create(model=GPT, messages=USER, stream=True):
            chunks.append(chunk)
    assert len(chunks) == 1
    with pytest.raises(json.JSONDecodeError):
        list(anthropic_client.messages.create(model=CLAUDE, max_tokens=10, messages=USER, stream=True))


def test_verbatim_body_and_headers(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    body = {
        "id": "chatcmpl-custom",
        "object": "chat.completion",
        "created": 1,
        "model": "custom-model",
        "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": "Custom"}}],
    }
    fake_provider.script("/v1/chat/completions", Reply(body=body, headers={"x-custom": "yes"}))
    raw = openai_client.chat.completions.with_raw_response.create(model=GPT, messages=USER)
    assert raw.headers["x-custom"] == "yes"
    completion = raw.parse()
    assert completion.id == "chatcmpl-custom" and completion.usage is None


def test_verbatim_events(fake_provider: FakeProvider, anthropic_client: anthropic.Anthropic) -> None:
    message = {
        "id": "msg_custom",
        "type": "message",
        "role": "assistant",
        "model": "custom",
        "content": [],
        "stop_reason": None,
        "stop_sequence": None,
        "usage": {"input_tokens": 9, "output_tokens": 0},
    }
    events: list[Any] = [
        ("message_start", {"type": "message_start", "message": message}),
        ("error", {"type": "error", "error": {"type": "overloaded_error", "message": "Overloaded"}}),
    ]
    fake_provider.script(Reply(events=events))
    with pytest.raises(anthropic.APIStatusError, match="Overloaded"):
        list(anthropic_client.messages.create(model=CLAUDE, max_tokens=10, messages=USER, stream=True))


def test_text_and_usage_overrides(
    fake_provider: FakeProvider, openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic
) -> None:
    fake_provider.script(Reply(text="Custom answer", usage={"prompt_tokens_details": {"cached_tokens": 1}}))
    chunks = list(
        openai_client.chat.completions.create(
            model=GPT, messages=USER, stream=True, stream_options={"include_usage": True}
        )
    )
    assert "".join(c.choices[0].delta.content or "" for c in chunks if c.choices) == "Custom answer"
    usage = chunks[-1].usage
    assert usage is not None and usage.prompt_tokens_details is not None
    assert usage.prompt_tokens_details.cached_tokens == 1 and usage.prompt_tokens_details.audio_tokens == 0
    fake_provider.script(Reply(usage={"cache_read_input_tokens": 7, "cache_creation_input_tokens": 5}))
    with anthropic_client.messages.stream(model=CLAUDE, max_tokens=10, messages=USER) as stream:
        final = stream.get_final_message()
    assert final.usage.cache_read_input_tokens == 7 and final.usage.cache_creation_input_tokens == 5


def test_chunk_delay(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    fake_provider.script(Reply(chunk_delay=0.02))
    stream = openai_client.chat.completions.create(model=GPT, messages=USER, stream=True)
    started = time.perf_counter()
    assert len(list(stream)) == 5
    assert time.perf_counter() - started >= 0.06


def test_concurrent_requests(fake_provider: FakeProvider, openai_client: openai.OpenAI) -> None:
    results: list[str] = []

    def call(i: int) -> None:
        messages: Any = [{"role": "user", "content": f"n{i}"}]
        completion = openai_client.chat.completions.create(model=GPT, messages=messages)
        results.append(completion.choices[0].message.content or "")

    threads = [threading.Thread(target=call, args=(i,)) for i in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(results) == sorted(f"Echo: n{i}" for i in range(16))
    assert len(fake_provider.requests) == 16
