"""Responses API, embeddings, legacy completions, Azure, untraced endpoints, instrument/uninstrument."""

from __future__ import annotations

import contextlib
import json

import openai
import pydantic

from llmotel import semconv as sc
from llmotel.instrumentation.openai import OpenAIInstrumentor

TOOLS = [{"type": "function", "name": "lookup", "description": "Find a fact",
          "parameters": {"type": "object", "properties": {"q": {"type": "string"}}, "required": ["q"]}}]


def attrs(span):
    return dict(span.attributes or {})


def test_responses_create(traced, openai_client):
    result = openai_client.responses.create(
        model="gpt-4.1-mini", input="What is a span?", instructions="Be brief.", max_output_tokens=100,
        temperature=0.1, previous_response_id="resp_prev", conversation="conv_123",
    )
    span = traced.one()
    a = attrs(span)
    assert span.name == "chat gpt-4.1-mini"
    assert a[sc.OPENAI_API_TYPE] == "responses"
    assert a[sc.GEN_AI_REQUEST_MAX_TOKENS] == 100
    assert a[sc.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID] == "resp_prev"
    assert a[sc.GEN_AI_CONVERSATION_ID] == "conv_123"
    assert a[sc.GEN_AI_RESPONSE_ID] == result.id
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == result.usage.input_tokens
    assert a[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] == result.usage.input_tokens_details.cached_tokens
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert json.loads(a[sc.GEN_AI_SYSTEM_INSTRUCTIONS]) == [{"type": "text", "content": "Be brief."}]
    assert json.loads(a[sc.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "What is a span?"}]}]
    out = json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])
    assert out == [{"role": "assistant", "parts": [{"type": "text", "content": result.output_text}],
                    "finish_reason": "stop"}]


def test_responses_tools_reasoning_and_items(traced, openai_client):
    first = openai_client.responses.create(model="o4-mini", input="Look it up", tools=TOOLS,
                                           reasoning={"effort": "medium", "summary": "auto"})
    call = next(item for item in first.output if item.type == "function_call")
    openai_client.responses.create(model="o4-mini", tools=TOOLS, input=[
        {"role": "user", "content": [{"type": "input_text", "text": "Look it up"}]},
        {"type": "function_call", "call_id": call.call_id, "name": call.name, "arguments": call.arguments},
        {"type": "function_call_output", "call_id": call.call_id, "output": "42"},
    ])
    one, two = traced.llm_spans()
    a = attrs(one)
    assert a[sc.GEN_AI_REQUEST_REASONING_LEVEL] == "medium"
    assert a[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("tool_calls",)
    parts = json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]
    kinds = [p["type"] for p in parts]
    assert "tool_call" in kinds
    assert "reasoning" in kinds
    assert json.loads(a[sc.GEN_AI_TOOL_DEFINITIONS])[0]["name"] == "lookup"
    inputs = json.loads(attrs(two)[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[1]["parts"][0] == {"type": "tool_call", "id": call.call_id, "name": "lookup",
                                     "arguments": json.loads(call.arguments)}
    assert inputs[2] == {"role": "tool", "parts": [{"type": "tool_call_response", "id": call.call_id,
                                                    "response": "42"}]}


class Fact(pydantic.BaseModel):
    fact: str


def test_responses_parse(traced, openai_client):
    result = openai_client.responses.parse(model="gpt-4.1-mini", input="A fact", text_format=Fact)
    assert isinstance(result.output_parsed, Fact)
    assert attrs(traced.one())[sc.GEN_AI_OUTPUT_TYPE] == "json"


def test_responses_stream_create(traced, openai_client):
    events = list(openai_client.responses.create(model="gpt-4.1-mini", input="Hello there", stream=True))
    final = events[-1].response
    a = attrs(traced.one())
    assert a[sc.GEN_AI_RESPONSE_ID] == final.id
    assert a[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == final.usage.output_tokens
    assert a[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] > 0
    assert json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == final.output_text


def test_responses_stream_early_exit_keeps_partial_text(traced, openai_client):
    stream = openai_client.responses.create(model="gpt-4.1-mini", input="Hello there friend", stream=True)
    text = ""
    for event in stream:
        if event.type == "response.output_text.delta":
            text += event.delta
            break
    stream.close()
    a = attrs(traced.one())
    assert a[sc.LLMOTEL_STREAM_ENDED_BY] == "closed"
    assert json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == text
    assert a[sc.GEN_AI_RESPONSE_ID].startswith("resp_")


def test_responses_stream_helper(traced, openai_client):
    with openai_client.responses.stream(model="gpt-4.1-mini", input="Hi") as stream:
        for _ in stream:
            pass
        final = stream.get_final_response()
    assert attrs(traced.one())[sc.GEN_AI_RESPONSE_ID] == final.id


async def test_async_responses(traced, async_openai_client):
    result = await async_openai_client.responses.create(model="gpt-4.1-mini", input="Hi")
    async with async_openai_client.responses.stream(model="gpt-4.1-mini", input="Hi") as stream:
        async for _ in stream:
            pass
    one, two = traced.llm_spans()
    assert attrs(one)[sc.GEN_AI_RESPONSE_ID] == result.id
    assert attrs(two)[sc.LLMOTEL_STREAM_ENDED_BY] in ("completed", "closed")
    assert attrs(two)[sc.GEN_AI_USAGE_INPUT_TOKENS] > 0


def test_embeddings(traced, openai_client):
    result = openai_client.embeddings.create(model="text-embedding-3-small", input=["a", "b"], dimensions=8)
    span = traced.one()
    a = attrs(span)
    assert span.name == "embeddings text-embedding-3-small"
    assert a[sc.GEN_AI_OPERATION_NAME] == "embeddings"
    assert a[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == len(result.data[0].embedding) == 8
    assert a[sc.GEN_AI_USAGE_INPUT_TOKENS] == result.usage.prompt_tokens
    assert sc.GEN_AI_INPUT_MESSAGES not in a


def test_embeddings_base64(traced, openai_client):
    openai_client.embeddings.create(model="text-embedding-3-small", input="a", dimensions=4, encoding_format="base64")
    a = attrs(traced.one())
    assert a[sc.GEN_AI_REQUEST_ENCODING_FORMATS] == ("base64",)
    assert a[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] == 4


async def test_async_embeddings(traced, async_openai_client):
    await async_openai_client.embeddings.create(model="text-embedding-3-small", input="a")
    assert traced.one().name == "embeddings text-embedding-3-small"


def test_legacy_completions(traced, openai_client):
    result = openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", max_tokens=20)
    a = attrs(traced.one())
    assert a[sc.GEN_AI_OPERATION_NAME] == "text_completion"
    assert a[sc.GEN_AI_REQUEST_MAX_TOKENS] == 20
    assert json.loads(a[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == "Say hi"
    assert json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0]["content"] == result.choices[0].text


def test_untraced_endpoint_passes_through(traced, openai_client, fake_provider):
    with contextlib.suppress(openai.NotFoundError):  # the fake does not serve /models; only tracing matters
        openai_client.models.list()
    assert traced.llm_spans() == []


def test_azure_client(traced, fake_provider):
    client = openai.AzureOpenAI(api_key="k", api_version="2024-10-21", azure_endpoint=fake_provider.base_url,
                                max_retries=0)
    with contextlib.suppress(openai.NotFoundError):  # the fake lacks Azure's deployment paths; the span matters
        client.chat.completions.create(model="my-deployment", messages=[{"role": "user", "content": "hi"}])
    a = attrs(traced.one())
    assert a[sc.GEN_AI_PROVIDER_NAME] == "azure.ai.openai"
    assert a[sc.SERVER_ADDRESS] == "127.0.0.1"


def test_uninstrument_and_reinstrument(instrument, openai_client):
    traced = instrument()
    OpenAIInstrumentor().uninstrument()
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert traced.llm_spans() == []
    traced = instrument()
    OpenAIInstrumentor().instrument()  # a second instrument() is a no-op: no double spans
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert len(traced.llm_spans()) == 1


def test_suppressed_instrumentation_is_untraced(traced, openai_client):
    from opentelemetry.instrumentation.utils import suppress_instrumentation

    with suppress_instrumentation():
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert traced.llm_spans() == []


def test_standalone_instrumentor_keeps_content_opt_in(openai_client, monkeypatch):
    """Started on its own (as opentelemetry-instrument does), content capture follows the GenAI convention."""
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    instrumentor = OpenAIInstrumentor()
    instrumentor.instrument(tracer_provider=provider)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "secret"}])
    instrumentor.uninstrument()
    monkeypatch.setenv("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT", "SPAN_ONLY")
    instrumentor.instrument(tracer_provider=provider)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "shared"}])
    instrumentor.uninstrument()
    first, second = exporter.get_finished_spans()
    assert "secret" not in repr(attrs(first))
    assert sc.GEN_AI_INPUT_MESSAGES in attrs(second)


def test_span_is_current_during_the_http_request(traced, fake_provider):
    from opentelemetry import trace

    seen = []
    hooks = {"request": [lambda request: seen.append(trace.get_current_span())]}
    http_client = openai.DefaultHttpxClient(event_hooks=hooks)  # httpx (openai 1.x, 2.x) or httpx2 (3.x)
    client = openai.OpenAI(api_key="k", base_url=fake_provider.openai_base_url, max_retries=0, http_client=http_client)
    client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    assert seen[0].get_span_context().span_id == traced.one().context.span_id


def test_raw_responses_of_other_endpoints(traced, openai_client):
    raw = openai_client.responses.with_raw_response.create(model="gpt-4.1-mini", input="Hi")
    emb = openai_client.embeddings.with_raw_response.create(model="text-embedding-3-small", input="a")
    with openai_client.responses.with_streaming_response.create(model="gpt-4.1-mini", input="Hi",
                                                                stream=True) as resp:
        events = list(resp.parse())
    one, two, three = traced.llm_spans()
    assert attrs(one)[sc.GEN_AI_RESPONSE_ID] == raw.parse().id
    assert attrs(two)[sc.GEN_AI_USAGE_INPUT_TOKENS] == emb.parse().usage.prompt_tokens
    assert attrs(three)[sc.GEN_AI_RESPONSE_ID] == events[-1].response.id
    assert attrs(three)[sc.LLMOTEL_STREAM_ENDED_BY] == "completed"


def test_refusal_recorded(traced, openai_client, fake_provider):
    from tests.fake_providers import Reply

    body = {"id": "chatcmpl-r", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "finish_reason": "stop", "message": {
                "role": "assistant", "content": None, "refusal": "I can't help with that."}}]}
    fake_provider.script(Reply(body=body))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "x"}])
    parts = json.loads(attrs(traced.one())[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"]
    assert parts == [{"type": "refusal", "content": "I can't help with that."}]


def test_metrics_reach_a_meter_provider_set_after_instrumenting(fake_provider):
    """Before any MeterProvider exists nothing is recorded; one set later receives the metrics."""
    import subprocess
    import sys
    import textwrap

    script = textwrap.dedent(f"""
        import openai
        from opentelemetry import metrics
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import InMemoryMetricReader
        from opentelemetry.sdk.trace import TracerProvider
        from llmotel.config import resolve
        from llmotel.instrumentation.openai import OpenAIInstrumentor
        OpenAIInstrumentor().instrument(tracer_provider=TracerProvider(), settings=resolve(env={{}}))
        client = openai.OpenAI(api_key="k", base_url={fake_provider.openai_base_url!r}, max_retries=0)
        ask = lambda: client.chat.completions.create(model="m", messages=[{{"role": "user", "content": "hi"}}])
        ask()
        reader = InMemoryMetricReader()
        metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
        ask()
        data = reader.get_metrics_data()
        points = [p for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics
                  if m.name == "gen_ai.client.operation.duration" for p in m.data.data_points]
        print("COUNT", sum(p.count for p in points))
    """)
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True)
    assert "COUNT 1" in out.stdout, out.stdout + out.stderr
