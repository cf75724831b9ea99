"""Anthropic Messages through the real ``anthropic`` SDK against the fake provider: spans, content, metrics, errors."""

from __future__ import annotations

import json

import anthropic
import pydantic
import pytest
from opentelemetry.trace import SpanKind, StatusCode

from llmotel import semconv as sc
from llmotel.instrumentation.anthropic import AnthropicInstrumentor
from tests.fake_providers import Reply

MODEL = "claude-haiku-4-5"
USER = [{"role": "user", "content": "What is OTLP?"}]
TOOLS = [
    {
        "name": "get_weather",
        "description": "Weather for a city",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
    }
]
PIXEL = "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg=="


def attrs(span):
    return dict(span.attributes or {})


def content(span, key):
    return json.loads(attrs(span)[key])


def message_body(content_blocks, stop_reason="end_turn", usage=None, model="claude-haiku-4-5-20251001"):
    return {
        "id": "msg_01scripted", "type": "message", "role": "assistant", "model": model, "content": content_blocks,
        "stop_reason": stop_reason, "stop_sequence": None,
        "usage": usage or {"input_tokens": 10, "output_tokens": 5},
    }


def test_plain_message_span(traced, anthropic_client, fake_provider):
    result = anthropic_client.messages.create(
        model=MODEL, max_tokens=50, messages=USER, stop_sequences=["END"], service_tier="auto",
        extra_body={"temperature": 0.3, "top_p": 0.9, "top_k": 5},
    )
    assert isinstance(result, anthropic.types.Message)
    span = traced.one()
    a = attrs(span)
    assert span.name == f"chat {MODEL}"
    assert span.kind is SpanKind.CLIENT
    assert span.instrumentation_scope.name == "llmotel"
    assert a[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert a[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert a[sc.GEN_AI_REQUEST_MODEL] == MODEL
    assert a[sc.SERVER_ADDRESS] == "127.0.0.1"
    assert a[sc.SERVER_PORT] == fake_provider.port
    assert a[sc.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert a[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.3
    assert a[sc.GEN_AI_REQUEST_TOP_P] == 0.9
    assert a[sc.GEN_AI_REQUEST_TOP_K] == 5
    assert a[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert a[sc.ANTHROPIC_REQUEST_SERVICE_TIER] == "auto"
    assert sc.GEN_AI_REQUEST_STREAM not in a
    assert a[sc.GEN_AI_RESPONSE_ID] == result.id
    assert a[sc.GEN_AI_RESPONSE_MODEL] == result.model
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("end_turn",)
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == result.usage.input_tokens
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == result.usage.output_tokens
    assert a[sc.ANTHROPIC_RESPONSE_SERVICE_TIER] == "standard"
    assert content(span, sc.GEN_AI_INPUT_MESSAGES) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is OTLP?"}]}
    ]
    assert content(span, sc.GEN_AI_OUTPUT_MESSAGES) == [
        {"role": "assistant", "parts": [{"type": "text", "content": result.content[0].text}], "finish_reason": "stop"}
    ]
    assert sc.GEN_AI_SYSTEM_INSTRUCTIONS not in a
    for deprecated in ("gen_ai.system", "gen_ai.usage.prompt_tokens", "gen_ai.prompt", "gen_ai.completion"):
        assert deprecated not in a
    assert span.status.status_code is StatusCode.UNSET
    request = fake_provider.last_request
    assert "traceparent" not in request.headers
    assert request.body["temperature"] == 0.3  # the request itself is unchanged


def test_system_prompt_string_and_blocks(traced, anthropic_client):
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER, system="Be brief.")
    anthropic_client.messages.create(
        model=MODEL, max_tokens=50, messages=USER,
        system=[{"type": "text", "text": "Be brief."}, {"type": "text", "text": "Cite sources.",
                                                         "cache_control": {"type": "ephemeral"}}],
    )
    first, second = traced.llm_spans()
    assert content(first, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [{"type": "text", "content": "Be brief."}]
    assert content(second, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [
        {"type": "text", "content": "Be brief."}, {"type": "text", "content": "Cite sources."}
    ]
    assert all(m["role"] != "system" for m in content(second, sc.GEN_AI_INPUT_MESSAGES))


def test_tool_use_then_tool_result(traced, anthropic_client):
    first = anthropic_client.messages.create(model=MODEL, max_tokens=100, messages=USER, tools=TOOLS)
    tool_use = next(b for b in first.content if b.type == "tool_use")
    messages = [
        *USER,
        {"role": "assistant", "content": first.content},  # the SDK's own models passed back, as users do
        {"role": "user", "content": [
            {"type": "tool_result", "tool_use_id": tool_use.id, "content": "18 degrees and sunny"},
        ]},
    ]
    second = anthropic_client.messages.create(model=MODEL, max_tokens=100, messages=messages, tools=TOOLS)
    span_one, span_two = traced.llm_spans()
    assert attrs(span_one)[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_use",)
    output = content(span_one, sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"]
    assert output[-1] == {"type": "tool_call", "id": tool_use.id, "name": "get_weather",
                          "arguments": tool_use.input}
    assert content(span_one, sc.GEN_AI_TOOL_DEFINITIONS) == [
        {"type": "function", "name": "get_weather", "description": "Weather for a city",
         "parameters": TOOLS[0]["input_schema"]}
    ]
    history = content(span_two, sc.GEN_AI_INPUT_MESSAGES)
    assert [m["role"] for m in history] == ["user", "assistant", "user"]
    assert history[1]["parts"][-1]["type"] == "tool_call"
    assert history[2]["parts"] == [
        {"type": "tool_call_response", "id": tool_use.id, "response": "18 degrees and sunny"}
    ]
    assert attrs(span_two)[sc.GEN_AI_RESPONSE_FINISH_REASONS] == (second.stop_reason,)


def test_images_and_documents(instrument, anthropic_client):
    traced = instrument(max_blob_length=16)
    blocks = [
        {"type": "text", "text": "Compare these."},
        {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}},
        {"type": "image", "source": {"type": "url", "url": "https://example.com/cat.png"}},
        {"type": "image", "source": {"type": "file", "file_id": "file_011"}},
        {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": PIXEL}},
        {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "Plain notes."}},
        {"type": "document", "source": {"type": "url", "url": "https://example.com/paper.pdf"}},
        {"type": "document", "source": {"type": "content", "content": [{"type": "text", "text": "Inline."}]}},
        {"type": "search_result", "source": "https://example.com", "title": "T",
         "content": [{"type": "text", "text": "Found."}]},
    ]
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=[{"role": "user", "content": blocks}])
    span = traced.one()
    parts = content(span, sc.GEN_AI_INPUT_MESSAGES)[0]["parts"]
    marker = sc.TRUNCATION_MARKER.format(dropped=len(PIXEL) - 16)
    assert parts == [
        {"type": "text", "content": "Compare these."},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": PIXEL[:16] + marker},
        {"type": "uri", "modality": "image", "uri": "https://example.com/cat.png"},
        {"type": "file", "modality": "image", "file_id": "file_011"},
        {"type": "blob", "modality": "document", "mime_type": "application/pdf", "content": PIXEL[:16] + marker},
        {"type": "document", "content": "Plain notes."},
        {"type": "uri", "modality": "document", "uri": "https://example.com/paper.pdf"},
        {"type": "document", "content": "Inline."},
        {"type": "search_result"},
    ]
    assert attrs(span)[sc.LLMOTEL_CONTENT_TRUNCATED] is True


def test_image_in_tool_result(traced, anthropic_client):
    result = [{"type": "text", "text": "A chart:"},
              {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": PIXEL}}]
    messages = [
        *USER,
        {"role": "assistant", "content": [{"type": "tool_use", "id": "toolu_1", "name": "chart", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_1", "content": result}]},
    ]
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=messages)
    part = content(traced.one(), sc.GEN_AI_INPUT_MESSAGES)[2]["parts"][0]
    assert part["type"] == "tool_call_response"
    assert json.loads(part["response"]) == [
        {"type": "text", "content": "A chart:"},
        {"type": "blob", "modality": "image", "mime_type": "image/png", "content": PIXEL},
    ]


def test_thinking_redacted_and_server_tools(traced, anthropic_client, fake_provider):
    blocks = [
        {"type": "thinking", "thinking": "Let me search.", "signature": "sig"},
        {"type": "redacted_thinking", "data": "opaque"},
        {"type": "server_tool_use", "id": "srvtoolu_1", "name": "web_search", "input": {"query": "otel"}},
        {"type": "web_search_tool_result", "tool_use_id": "srvtoolu_1", "content": [
            {"type": "web_search_result", "url": "https://opentelemetry.io", "title": "OTel",
             "encrypted_content": "XXXX", "page_age": None}]},
        {"type": "text", "text": "OpenTelemetry is ..."},
    ]
    usage = {"input_tokens": 10, "output_tokens": 50, "output_tokens_details": {"thinking_tokens": 20},
             "server_tool_use": {"web_search_requests": 1}}
    fake_provider.script(Reply(body=message_body(blocks, "end_turn", usage)))
    anthropic_client.messages.create(
        model=MODEL, max_tokens=4000, messages=USER, thinking={"type": "enabled", "budget_tokens": 2048},
        output_config={"effort": "high"}, tools=[{"type": "web_search_20250305", "name": "web_search"}],
    )
    span = traced.one()
    a = attrs(span)
    assert a[sc.ANTHROPIC_THINKING_TYPE] == "enabled"
    assert a[sc.ANTHROPIC_THINKING_BUDGET_TOKENS] == 2048
    assert a[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "high"
    assert a[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] == 20
    assert content(span, sc.GEN_AI_TOOL_DEFINITIONS) == [{"type": "web_search_20250305", "name": "web_search"}]
    assert content(span, sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"] == [
        {"type": "reasoning", "content": "Let me search."},
        {"type": "redacted_thinking"},
        {"type": "server_tool_call", "id": "srvtoolu_1", "name": "web_search",
         "server_tool_call": {"type": "web_search", "arguments": {"query": "otel"}}},
        {"type": "server_tool_call_response", "id": "srvtoolu_1", "server_tool_call_response": {
            "type": "web_search_tool_result",
            "content": [{"type": "web_search_result", "url": "https://opentelemetry.io", "title": "OTel",
                         "page_age": None}]}},
        {"type": "text", "content": "OpenTelemetry is ..."},
    ]


def test_beta_mcp_and_unknown_blocks(traced, anthropic_client, fake_provider):
    blocks = [
        {"type": "mcp_tool_use", "id": "mcptoolu_1", "name": "search_docs", "server_name": "docs",
         "input": {"q": "spans"}},
        {"type": "mcp_tool_result", "tool_use_id": "mcptoolu_1", "is_error": False,
         "content": [{"type": "text", "text": "Spans are units of work."}]},
        {"type": "brand_new_block", "text": "future text", "payload": {"x": 1}},
    ]
    fake_provider.script(Reply(body=message_body(blocks, "end_turn")))
    anthropic_client.beta.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert content(traced.one(), sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"] == [
        {"type": "server_tool_call", "id": "mcptoolu_1", "name": "search_docs",
         "server_tool_call": {"type": "search_docs", "arguments": {"q": "spans"}, "server_name": "docs"}},
        {"type": "server_tool_call_response", "id": "mcptoolu_1", "server_tool_call_response": {
            "type": "mcp_tool_result", "content": [{"type": "text", "text": "Spans are units of work."}]}},
        {"type": "brand_new_block", "content": "future text"},
    ]


@pytest.mark.parametrize("stop_reason", ["end_turn", "max_tokens", "stop_sequence", "tool_use", "pause_turn",
                                         "refusal", "model_context_window_exceeded"])
def test_finish_reason_keeps_provider_value(traced, anthropic_client, fake_provider, stop_reason):
    fake_provider.script(Reply(body=message_body([{"type": "text", "text": "x"}], stop_reason)))
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_FINISH_REASONS] == (stop_reason,)


def test_cache_accounting(traced, anthropic_client, fake_provider):
    fake_provider.script(Reply(usage={"input_tokens": 12, "cache_read_input_tokens": 1000,
                                      "cache_creation_input_tokens": 300, "output_tokens": 9}))
    result = anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    a = attrs(traced.one())
    assert result.usage.input_tokens == 12
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == 12 + 1000 + 300
    assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == 1000
    assert a[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] == 300
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == 9
    points = {p.attributes[sc.GEN_AI_TOKEN_TYPE]: p.sum for p in traced.metrics()[sc.METRIC_TOKEN_USAGE]}
    assert points == {"input": 1312, "output": 9}


def test_capture_content_off_keeps_all_text_out(instrument, anthropic_client):
    traced = instrument(capture_content=False)
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER, system="SECRET-SYSTEM", tools=TOOLS)
    with anthropic_client.messages.stream(model=MODEL, max_tokens=50, messages=USER, system="SECRET-SYSTEM") as s:
        s.get_final_text()
    for span in traced.llm_spans():
        a = attrs(span)
        for key in (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS,
                    sc.GEN_AI_TOOL_DEFINITIONS):
            assert key not in a
        dumped = json.dumps({k: str(v) for k, v in a.items()})
        assert "SECRET" not in dumped and "OTLP" not in dumped and "Echo" not in dumped
        assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] > 0


class Answer(pydantic.BaseModel):
    answer: str
    confidence: float


def test_parse_structured_output(traced, anthropic_client):
    result = anthropic_client.messages.parse(model=MODEL, max_tokens=100, messages=USER, output_format=Answer)
    assert isinstance(result.parsed_output, Answer)
    span = traced.one()
    assert attrs(span)[sc.GEN_AI_OUTPUT_TYPE] == "json"
    assert content(span, sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"] == result.content[0].text


def test_beta_messages(traced, anthropic_client, fake_provider):
    result = anthropic_client.beta.messages.create(
        model=MODEL, max_tokens=50, messages=USER, betas=["context-management-2025-06-27"])
    assert isinstance(result, anthropic.types.beta.BetaMessage)
    with anthropic_client.beta.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
        text = stream.get_final_text()
    plain, streamed = traced.llm_spans()
    assert attrs(plain)[sc.GEN_AI_RESPONSE_ID] == result.id
    assert content(streamed, sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"] == [{"type": "text", "content": text}]
    assert fake_provider.requests[0].headers["anthropic-beta"] == "context-management-2025-06-27"


def test_legacy_complete(traced, anthropic_client):
    prompt = "\n\nHuman: Hello\n\nAssistant:"
    body = {"model": "claude-2.1", "prompt": prompt, "max_tokens_to_sample": 20, "temperature": 0.5}
    result = anthropic_client.post("/v1/complete", cast_to=object, body=body)
    span = traced.one()
    a = attrs(span)
    assert span.name == "text_completion claude-2.1"
    assert a[sc.GEN_AI_OPERATION_NAME] == "text_completion"
    assert a[sc.GEN_AI_REQUEST_MAX_TOKENS] == 20
    assert a[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.5
    assert a[sc.GEN_AI_RESPONSE_ID] == result["id"]
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop_sequence",)
    assert content(span, sc.GEN_AI_INPUT_MESSAGES) == [{"role": "user", "parts": [{"type": "text",
                                                                                   "content": prompt}]}]
    assert content(span, sc.GEN_AI_OUTPUT_MESSAGES)[0]["parts"][0]["content"] == result["completion"]


def test_legacy_complete_stream(traced, anthropic_client):
    body = {"model": "claude-2.1", "prompt": "\n\nHuman: Hi\n\nAssistant:", "max_tokens_to_sample": 20,
            "stream": True}
    events = list(anthropic_client.post("/v1/complete", cast_to=object, body=body, stream=True,
                                        stream_cls=anthropic.Stream[object]))
    a = attrs(traced.one())
    assert a[sc.GEN_AI_REQUEST_STREAM] is True
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop_sequence",)
    text = "".join(e["completion"] for e in events)
    assert json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == text


def test_count_tokens_and_other_endpoints_untraced(traced, anthropic_client, fake_provider):
    count = anthropic_client.messages.count_tokens(model=MODEL, messages=USER)
    assert count.input_tokens > 0
    with pytest.raises(anthropic.NotFoundError):
        anthropic_client.models.retrieve("claude-nope")
    assert traced.llm_spans() == []


def test_nested_under_callers_span(traced, anthropic_client, fake_provider):
    tracer = traced.tracer_provider.get_tracer("app")
    with tracer.start_as_current_span("handler") as parent:
        anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    span = traced.one()
    assert span.parent.span_id == parent.get_span_context().span_id
    # Left alone, the SDK's own tracing (on by default, even with no tracer provider anywhere) would send the
    # current span's traceparent: llmotel turns it off for the calls it traces.
    assert "traceparent" not in fake_provider.last_request.headers


def test_metrics(traced, anthropic_client):
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    metrics = traced.metrics()
    (duration,) = metrics[sc.METRIC_OPERATION_DURATION]
    assert duration.attributes[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert duration.attributes[sc.GEN_AI_OPERATION_NAME] == "chat"
    assert duration.attributes[sc.GEN_AI_RESPONSE_MODEL] == "claude-haiku-4-5-20251001"
    assert {p.attributes[sc.GEN_AI_TOKEN_TYPE] for p in metrics[sc.METRIC_TOKEN_USAGE]} == {"input", "output"}


@pytest.mark.parametrize(
    ("status", "exc", "error_type"),
    [
        (400, anthropic.BadRequestError, "BadRequestError"),
        (401, anthropic.AuthenticationError, "AuthenticationError"),
        (429, anthropic.RateLimitError, "RateLimitError"),
        (500, anthropic.InternalServerError, "InternalServerError"),
        (529, anthropic.OverloadedError, "OverloadedError"),
    ],
)
def test_http_errors(traced, anthropic_client, fake_provider, status, exc, error_type):
    fake_provider.script(Reply.error(status))
    with pytest.raises(exc):
        anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    span = traced.one()
    a = attrs(span)
    assert a[sc.ERROR_TYPE] == error_type
    assert a[sc.HTTP_RESPONSE_STATUS_CODE] == status
    assert span.status.status_code is StatusCode.ERROR
    assert any(e.name == "exception" for e in span.events)
    (duration,) = traced.metrics()[sc.METRIC_OPERATION_DURATION]
    assert duration.attributes[sc.ERROR_TYPE] == error_type


def test_timeout(traced, anthropic_client, fake_provider):
    fake_provider.script(Reply(delay=2))
    with pytest.raises(anthropic.APITimeoutError):
        anthropic_client.with_options(timeout=0.2).messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert attrs(traced.one())[sc.ERROR_TYPE] == "APITimeoutError"


def test_connection_refused(traced):
    client = anthropic.Anthropic(api_key="k", base_url="http://127.0.0.1:9", max_retries=0, timeout=2)
    with pytest.raises(anthropic.APIConnectionError):
        client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    span = traced.one()
    assert attrs(span)[sc.ERROR_TYPE] == "APIConnectionError"
    assert attrs(span)[sc.SERVER_PORT] == 9


def test_malformed_json_response(traced, anthropic_client, fake_provider):
    fake_provider.script(Reply(malformed_json=True))
    with pytest.raises(json.JSONDecodeError):  # what anthropic 2.x raises for an unreadable body
        anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert attrs(traced.one())[sc.ERROR_TYPE] == "JSONDecodeError"


def test_retries_give_one_span(traced, anthropic_client, fake_provider):
    fake_provider.script(Reply.error(529, retry_after=0.01), Reply.error(500, retry_after=0.01))
    anthropic_client.with_options(max_retries=2).messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert len(fake_provider.requests) == 3
    span = traced.one()
    assert span.status.status_code is StatusCode.UNSET


def test_with_raw_response(traced, anthropic_client):
    raw = anthropic_client.messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=USER)
    assert raw.headers["request-id"]
    message = raw.parse()
    assert isinstance(message, anthropic.types.Message)
    assert raw.parse() is message
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_ID] == message.id


def test_with_streaming_response(traced, anthropic_client):
    with anthropic_client.messages.with_streaming_response.create(model=MODEL, max_tokens=50, messages=USER) as raw:
        assert traced.llm_spans() == []
        message = raw.parse()
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_ID] == message.id


def test_with_streaming_response_streamed(traced, anthropic_client):
    with anthropic_client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=50, messages=USER, stream=True
    ) as raw:
        events = list(raw.parse())
    a = attrs(traced.one())
    assert a[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"
    assert a[sc.GEN_AI_RESPONSE_ID] == events[0].message.id


def test_with_streaming_response_unparsed_ends_on_close(traced, anthropic_client):
    with anthropic_client.messages.with_streaming_response.create(model=MODEL, max_tokens=50, messages=USER):
        pass
    assert attrs(traced.one())[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"


def test_conversation_id_from_sdk_option(traced, anthropic_client):
    client = anthropic_client.with_options(open_telemetry={"traces": False, "conversation_id": "conv_42"})
    client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert attrs(traced.one())[sc.GEN_AI_CONVERSATION_ID] == "conv_42"


def test_iterator_messages_are_not_consumed(traced, anthropic_client, fake_provider):
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=iter(USER))
    assert fake_provider.last_request.body["messages"] == USER  # the SDK still got every message
    assert content(traced.one(), sc.GEN_AI_INPUT_MESSAGES) == []


def test_uninstrument_and_reinstrument(instrument, anthropic_client):
    traced = instrument()
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    AnthropicInstrumentor().uninstrument()
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert len(traced.llm_spans()) == 1
    assert not hasattr(anthropic._base_client.SyncAPIClient.request, "__llmotel_original__")
    traced = instrument()
    anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert len(traced.llm_spans()) == 1


def test_suppressed_instrumentation_is_untraced(traced, anthropic_client):
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert traced.llm_spans() == []


# --- platform clients -------------------------------------------------------------------------------------------


def test_bedrock_client(traced, fake_provider):
    fake_provider.script(Reply(body=message_body([{"type": "text", "text": "hi"}])))
    client = anthropic.AnthropicBedrock(api_key="bedrock-key", aws_region="us-east-1",
                                        base_url=fake_provider.base_url, max_retries=0)
    client.messages.create(model="anthropic.claude-haiku-4-5-v1:0", max_tokens=50, messages=USER)
    assert fake_provider.last_request.path == "/model/anthropic.claude-haiku-4-5-v1:0/invoke"
    a = attrs(traced.one())
    assert a[sc.GEN_AI_PROVIDER_NAME] == "aws.bedrock"
    assert a[sc.GEN_AI_REQUEST_MODEL] == "anthropic.claude-haiku-4-5-v1:0"
    assert a[sc.GEN_AI_RESPONSE_ID] == "msg_01scripted"


def test_vertex_client(traced, fake_provider):
    fake_provider.script(Reply(body=message_body([{"type": "text", "text": "hi"}])))
    client = anthropic.AnthropicVertex(region="us-east5", project_id="proj", access_token="token",
                                       base_url=fake_provider.base_url, max_retries=0)
    client.messages.create(model="claude-haiku-4-5@20251001", max_tokens=50, messages=USER)
    assert fake_provider.last_request.path.endswith(":rawPredict")
    a = attrs(traced.one())
    assert a[sc.GEN_AI_PROVIDER_NAME] == "gcp.vertex_ai"
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == 10


def test_foundry_client(traced, fake_provider):
    client = anthropic.AnthropicFoundry(api_key="k", base_url=f"{fake_provider.base_url}/anthropic/",
                                        max_retries=0)
    fake_provider.script(Reply(body=message_body([{"type": "text", "text": "hi"}])))
    client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    a = attrs(traced.one())
    assert a[sc.GEN_AI_PROVIDER_NAME] == "anthropic"  # what the SDK itself declares for Foundry
    assert a[sc.GEN_AI_RESPONSE_ID] == "msg_01scripted"


def test_claude_platform_on_aws_client(traced, fake_provider):
    client = anthropic.AnthropicAWS(api_key="k", workspace_id="wrkspc_1", aws_region="us-east-1",
                                    base_url=fake_provider.base_url, max_retries=0)
    result = client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert fake_provider.last_request.header("anthropic-workspace-id") == "wrkspc_1"
    a = attrs(traced.one())
    assert a[sc.GEN_AI_PROVIDER_NAME] == "anthropic"  # Anthropic's own API, hosted on AWS
    assert a[sc.GEN_AI_RESPONSE_ID] == result.id
    assert a[sc.SERVER_ADDRESS] == "127.0.0.1"


async def test_claude_on_google_cloud_client(traced, fake_provider):
    client = anthropic.AsyncAnthropicGoogleCloud(skip_auth=True, base_url=fake_provider.base_url, max_retries=0)
    result = await client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    a = attrs(traced.one())
    assert a[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert a[sc.GEN_AI_RESPONSE_ID] == result.id
    await client.close()


def test_platform_clients_default_endpoints_name_their_servers():
    from llmotel.instrumentation.anthropic import AnthropicAdapter

    adapter = AnthropicAdapter()
    aws = anthropic.AnthropicAWS(api_key="k", workspace_id="w", aws_region="eu-west-1")
    bedrock = anthropic.AnthropicBedrock(api_key="k", aws_region="eu-west-1")
    vertex = anthropic.AnthropicVertex(region="us-east5", project_id="p", access_token="t")
    assert adapter.server(aws) == ("anthropic", "aws-external-anthropic.eu-west-1.api.aws", 443)
    assert adapter.server(bedrock) == ("aws.bedrock", "bedrock-runtime.eu-west-1.amazonaws.com", 443)
    assert adapter.server(vertex) == ("gcp.vertex_ai", "us-east5-aiplatform.googleapis.com", 443)


# --- async ----------------------------------------------------------------------------------------------------------


async def test_async_message(traced, async_anthropic_client):
    result = await async_anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER, system="Hi")
    span = traced.one()
    assert attrs(span)[sc.GEN_AI_RESPONSE_ID] == result.id
    assert content(span, sc.GEN_AI_SYSTEM_INSTRUCTIONS) == [{"type": "text", "content": "Hi"}]


async def test_async_error(traced, async_anthropic_client, fake_provider):
    fake_provider.script(Reply.error(503))
    with pytest.raises(anthropic.InternalServerError):
        await async_anthropic_client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert attrs(traced.one())[sc.HTTP_RESPONSE_STATUS_CODE] == 503


async def test_async_timeout(traced, async_anthropic_client, fake_provider):
    fake_provider.script(Reply(delay=2))
    with pytest.raises(anthropic.APITimeoutError):
        await async_anthropic_client.with_options(timeout=0.2).messages.create(
            model=MODEL, max_tokens=50, messages=USER)
    assert attrs(traced.one())[sc.ERROR_TYPE] == "APITimeoutError"


async def test_async_parse_and_beta(traced, async_anthropic_client):
    parsed = await async_anthropic_client.messages.parse(model=MODEL, max_tokens=100, messages=USER,
                                                         output_format=Answer)
    beta = await async_anthropic_client.beta.messages.create(model=MODEL, max_tokens=50, messages=USER)
    first, second = traced.llm_spans()
    assert attrs(first)[sc.GEN_AI_RESPONSE_ID] == parsed.id
    assert attrs(second)[sc.GEN_AI_RESPONSE_ID] == beta.id


async def test_async_with_raw_response(traced, async_anthropic_client):
    raw = await async_anthropic_client.messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=USER)
    message = await raw.parse()
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_ID] == message.id


async def test_async_with_streaming_response(traced, async_anthropic_client):
    async with async_anthropic_client.messages.with_streaming_response.create(
        model=MODEL, max_tokens=50, messages=USER
    ) as raw:
        message = await raw.parse()
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_ID] == message.id


async def test_async_connection_refused(traced):
    async with anthropic.AsyncAnthropic(api_key="k", base_url="http://127.0.0.1:9", max_retries=0,
                                        timeout=2) as client:
        with pytest.raises(anthropic.APIConnectionError):
            await client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert attrs(traced.one())[sc.ERROR_TYPE] == "APIConnectionError"

