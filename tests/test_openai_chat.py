"""Chat Completions through the real ``openai`` SDK against the fake provider: spans, content, metrics."""

from __future__ import annotations

import json

import openai
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from llmotel import semconv as sc
from tests.fake_providers import Reply

USER = [{"role": "user", "content": "What is OTLP?"}]
TOOLS = [
    {
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Weather for a city",
            "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        },
    }
]


def attrs(span):
    return dict(span.attributes or {})


def test_plain_chat_span(traced, openai_client, fake_provider):
    result = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, temperature=0.3, max_tokens=50, top_p=0.9, seed=7, stop=["END"]
    )
    assert isinstance(result, openai.types.chat.ChatCompletion)
    span = traced.one()
    a = attrs(span)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind is SpanKind.CLIENT
    assert a[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert a[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert a[sc.SERVER_ADDRESS] == "127.0.0.1"
    assert a[sc.SERVER_PORT] == fake_provider.port
    assert a[sc.OPENAI_API_TYPE] == "chat_completions"
    assert a[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert a[sc.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert a[sc.GEN_AI_REQUEST_TOP_P] == 0.9
    assert a[sc.GEN_AI_REQUEST_SEED] == 7
    assert a[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert sc.GEN_AI_REQUEST_STREAM not in a
    assert sc.GEN_AI_REQUEST_CHOICE_COUNT not in a
    assert a[sc.GEN_AI_RESPONSE_ID] == result.id
    assert a[sc.GEN_AI_RESPONSE_MODEL] == result.model
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == result.usage.prompt_tokens
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == result.usage.completion_tokens
    assert a[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] == result.system_fingerprint
    assert json.loads(a[sc.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is OTLP?"}]}
    ]
    assert json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": result.choices[0].message.content}],
         "finish_reason": "stop"}
    ]
    for deprecated in ("gen_ai.system", "gen_ai.usage.prompt_tokens", "gen_ai.prompt", "gen_ai.completion"):
        assert deprecated not in a
    assert span.status.status_code is StatusCode.UNSET


def test_no_traceparent_or_stream_options_added(traced, openai_client, fake_provider):
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    list(openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, stream=True))
    for request in fake_provider.requests:
        assert "traceparent" not in request.headers
    assert "stream_options" not in fake_provider.requests[-1].body


def test_traceparent_only_when_configured(instrument, openai_client, fake_provider):
    traced = instrument(propagate_trace_context=True)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    span = traced.one()
    header = fake_provider.requests[-1].headers["traceparent"]
    assert header.split("-")[2] == format(span.context.span_id, "016x")


def test_cached_and_reasoning_tokens(traced, openai_client):
    result = openai_client.chat.completions.create(model="o4-mini", messages=USER, reasoning_effort="low")
    a = attrs(traced.one())
    assert a[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "low"
    details = result.usage.completion_tokens_details
    assert a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == details.reasoning_tokens
    assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == result.usage.prompt_tokens_details.cached_tokens
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == result.usage.prompt_tokens  # includes the cached ones


def test_tools_and_tool_results(traced, openai_client):
    first = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=TOOLS, tool_choice="auto")
    call = first.choices[0].message.tool_calls[0]
    history = [
        *USER,
        {"role": "assistant", "content": None, "tool_calls": [call.model_dump(exclude_none=True)]},
        {"role": "tool", "tool_call_id": call.id, "content": '{"temp": 21}'},
    ]
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=history, tools=TOOLS)
    one, two = traced.llm_spans()
    a1 = attrs(one)
    assert a1[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    out = json.loads(a1[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]
    assert out[0]["type"] == "tool_call"
    assert out[0]["name"] == "get_weather"
    assert out[0]["id"] == call.id
    assert out[0]["arguments"] == json.loads(call.function.arguments)
    tools = json.loads(a1[sc.GEN_AI_TOOL_DEFINITIONS])
    assert tools == [{"type": "function", "name": "get_weather", "description": "Weather for a city",
                      "parameters": TOOLS[0]["function"]["parameters"]}]
    inputs = json.loads(attrs(two)[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[1]["parts"][0]["type"] == "tool_call"
    assert inputs[2] == {"role": "tool", "parts": [{"type": "tool_call_response", "id": call.id,
                                                    "response": '{"temp": 21}'}]}


def test_n_choices_and_json_schema(traced, openai_client):
    schema = {"type": "object", "properties": {"answer": {"type": "string"}}, "required": ["answer"]}
    result = openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=USER, n=3,
        response_format={"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
    )
    a = attrs(traced.one())
    assert a[sc.GEN_AI_REQUEST_CHOICE_COUNT] == 3
    assert a[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop", "stop", "stop")
    assert len(json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])) == len(result.choices) == 3


def test_images_and_audio_parts_truncated_with_marker(instrument, openai_client):
    traced = instrument(max_blob_length=64)
    image = "data:image/png;base64," + "A" * 1000
    content = [
        {"type": "text", "text": "Describe"},
        {"type": "image_url", "image_url": {"url": image}},
        {"type": "image_url", "image_url": {"url": "https://example.com/cat.png"}},
        {"type": "input_audio", "input_audio": {"data": "UklGR" * 10, "format": "wav"}},
    ]
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": content}])
    a = attrs(traced.one())
    parts = json.loads(a[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"]
    assert parts[0] == {"type": "text", "content": "Describe"}
    assert parts[1]["type"] == "blob"
    assert parts[1]["modality"] == "image"
    assert parts[1]["mime_type"] == "image/png"
    assert parts[1]["content"].startswith("A" * 64)
    assert "truncated 936 chars" in parts[1]["content"]
    assert parts[2] == {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"}
    assert parts[3]["modality"] == "audio"
    assert parts[3]["mime_type"] == "audio/wav"
    assert a[sc.LLMOTEL_CONTENT_TRUNCATED] is True


def test_capture_content_off_keeps_all_text_out(instrument, openai_client):
    traced = instrument(capture_content=False)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER, tools=TOOLS)
    a = attrs(traced.one())
    for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_TOOL_DEFINITIONS,
                sc.GEN_AI_SYSTEM_INSTRUCTIONS):
        assert key not in a
    assert "OTLP" not in repr(a)
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0


@pytest.mark.parametrize("value", ["false", "NO_CONTENT", "event_only"])
def test_capture_content_env(instrument, openai_client, monkeypatch, value):
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", value)
    traced = instrument()
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert sc.GEN_AI_INPUT_MESSAGES not in attrs(traced.one())


class Answer(pydantic.BaseModel):
    answer: str


def test_parse_structured_output(traced, openai_client):
    result = openai_client.chat.completions.parse(model="gpt-4o-mini", messages=USER, response_format=Answer)
    assert isinstance(result.choices[0].message.parsed, Answer)
    a = attrs(traced.one())
    assert a[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert json.loads(json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"])["answer"]


def test_nested_under_callers_span(traced, openai_client):
    tracer = traced.tracer_provider.get_tracer("test")
    with tracer.start_as_current_span("parent") as parent:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    span = traced.one()
    assert span.parent.span_id == parent.get_span_context().span_id
    assert span.context.trace_id == parent.get_span_context().trace_id


def test_metrics(traced, openai_client):
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    metrics = traced.metrics()
    (duration,) = metrics[sc.METRIC_OPERATION_DURATION]
    assert duration.count == 1
    assert duration.attributes[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert duration.attributes[sc.GEN_AI_REQUEST_MODEL] == "gpt-4o-mini"
    assert sc.GEN_AI_RESPONSE_MODEL in duration.attributes
    types = sorted(p.attributes[sc.GEN_AI_TOKEN_TYPE] for p in metrics[sc.METRIC_TOKEN_USAGE])
    assert types == ["input", "output"]
    assert list(duration.explicit_bounds)[:3] == [0.01, 0.02, 0.04]


# --- errors ---------------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "exc"),
    [(400, openai.BadRequestError), (401, openai.AuthenticationError), (429, openai.RateLimitError),
     (500, openai.InternalServerError)],
)
def test_http_errors(traced, openai_client, fake_provider, status, exc):
    fake_provider.script(Reply.error(status))
    with pytest.raises(exc) as raised:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    span = traced.one()
    a = attrs(span)
    assert a[sc.ERROR_TYPE] == exc.__qualname__
    assert a[sc.HTTP_RESPONSE_STATUS_CODE] == status
    assert span.status.status_code is StatusCode.ERROR
    assert span.events[0].name == "exception"
    assert traced.metrics()[sc.METRIC_OPERATION_DURATION][0].attributes[sc.ERROR_TYPE] == exc.__qualname__
    assert type(raised.value) is exc


def test_timeout(traced, fake_provider, openai_client):
    fake_provider.script(Reply(delay=1.0))
    with pytest.raises(openai.APITimeoutError):
        openai_client.with_options(timeout=0.2).chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert attrs(traced.one())[sc.ERROR_TYPE] == "APITimeoutError"


def test_connection_refused(traced):
    client = openai.OpenAI(api_key="k", base_url="http://127.0.0.1:9/v1", max_retries=0, timeout=2)
    with pytest.raises(openai.APIConnectionError):
        client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    span = traced.one()
    assert attrs(span)[sc.ERROR_TYPE] == "APIConnectionError"
    assert attrs(span)[sc.SERVER_PORT] == 9


def test_malformed_json_response(traced, fake_provider, openai_client):
    fake_provider.script(Reply(malformed_json=True))
    with pytest.raises(Exception) as raised:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    span = traced.one()
    assert attrs(span)[sc.ERROR_TYPE] == type(raised.value).__qualname__


def test_retries_give_one_span(traced, fake_provider, openai_client):
    fake_provider.script(Reply.error(500, retry_after=0))
    client = openai_client.with_options(max_retries=1)
    client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert len(traced.llm_spans()) == 1
    assert len(fake_provider.requests) == 2


# --- raw responses ---------------------------------------------------------------------------------------------------


def test_with_raw_response(traced, openai_client):
    raw = openai_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
    assert raw.headers.get("x-request-id")
    parsed = raw.parse()
    assert raw.parse() is parsed
    a = attrs(traced.one())
    assert a[sc.GEN_AI_RESPONSE_ID] == parsed.id
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == parsed.usage.completion_tokens


def test_with_streaming_response_parse(traced, openai_client):
    with openai_client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=USER) as resp:
        assert traced.llm_spans() == []  # still open: the body is unread
        parsed = resp.parse()
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_ID] == parsed.id


def test_with_streaming_response_unparsed_ends_on_close(traced, openai_client):
    with openai_client.chat.completions.with_streaming_response.create(model="gpt-4o-mini", messages=USER) as resp:
        resp.read()
    span = traced.one()
    assert attrs(span)[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"


async def test_async_with_raw_response(traced, async_openai_client):
    raw = await async_openai_client.chat.completions.with_raw_response.create(model="gpt-4o-mini", messages=USER)
    parsed = raw.parse()
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_ID] == parsed.id


async def test_async_with_streaming_response(traced, async_openai_client):
    async with async_openai_client.chat.completions.with_streaming_response.create(
        model="gpt-4o-mini", messages=USER
    ) as resp:
        parsed = await resp.parse()
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_ID] == parsed.id


# --- async -----------------------------------------------------------------------------------------------------------


async def test_async_chat(traced, async_openai_client):
    result = await async_openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    a = attrs(traced.one())
    assert a[sc.GEN_AI_RESPONSE_ID] == result.id
    assert json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == result.choices[0].message.content


async def test_async_error(traced, async_openai_client, fake_provider):
    fake_provider.script(Reply.error(503))
    with pytest.raises(openai.InternalServerError):
        await async_openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert attrs(traced.one())[sc.ERROR_TYPE] == "InternalServerError"
