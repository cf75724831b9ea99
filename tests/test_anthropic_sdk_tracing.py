"""The anthropic SDK's own tracing: one API call gives exactly one LLM span (llmotel's), whatever the SDK's setting.

anthropic 2.x starts an ``anthropic.messages.create`` span (and sends its ``traceparent``) when its tracing is on,
which it is by default once a tracer provider is available. llmotel turns that span off for the calls it traces.
"""

from __future__ import annotations

import gc
import json

import anthropic
import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc
from llmotel.instrumentation.anthropic import AnthropicInstrumentor
from tests.fake_providers import Reply

MODEL = "claude-haiku-4-5"
USER = [{"role": "user", "content": "What is OTLP?"}]
SDK_SPAN = "anthropic.messages.create"
SDK_SCOPE = "com.anthropic.sdk.python"


def sdk_traced(client, provider, **traces):
    """A copy of ``client`` whose own tracing is on and exports to ``provider``."""
    return client.with_options(open_telemetry={"tracer_provider": provider, "traces": {"enabled": True, **traces}})


def names(spans):
    return sorted(s.name for s in spans)


def calls(client):
    """One call of every Messages flavour; returns how many API calls it made."""
    client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    list(client.messages.create(model=MODEL, max_tokens=50, messages=USER, stream=True))
    with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
        stream.get_final_text()
    client.messages.with_raw_response.create(model=MODEL, max_tokens=50, messages=USER).parse()
    client.beta.messages.create(model=MODEL, max_tokens=50, messages=USER)
    return 5


def test_sdk_tracing_on_gives_one_llm_span_per_call(traced, anthropic_client, fake_provider):
    client = sdk_traced(anthropic_client, traced.tracer_provider)
    count = calls(client)
    spans = traced.spans()
    assert len(spans) == count
    assert {s.instrumentation_scope.name for s in spans} == {"llmotel"}
    assert SDK_SPAN not in names(spans)
    assert len(traced.llm_spans()) == count
    for request in fake_provider.requests:
        assert "traceparent" not in request.headers


def test_sdk_span_is_back_when_uninstrumented(traced, anthropic_client, fake_provider):
    client = sdk_traced(anthropic_client, traced.tracer_provider)
    AnthropicInstrumentor().uninstrument()
    client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    (span,) = traced.spans()
    assert span.name == SDK_SPAN  # the setup really turns the SDK's tracing on
    assert span.instrumentation_scope.name == SDK_SCOPE
    assert "traceparent" in fake_provider.last_request.headers
    fake_provider.reset()
    traced.exporter.clear()
    AnthropicInstrumentor().instrument(tracer_provider=traced.tracer_provider)
    client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    assert names(traced.spans()) == [f"chat {MODEL}"]
    assert "traceparent" not in fake_provider.last_request.headers


@pytest.mark.parametrize("option", [False, {"traces": False}, {"traces": {"enabled": False}, "propagation": False}])
def test_sdk_tracing_off_gives_one_llm_span(traced, anthropic_client, option):
    client = anthropic_client.with_options(open_telemetry=option)
    count = calls(client)
    assert len(traced.spans()) == count == len(traced.llm_spans())


def test_sdk_tracing_off_by_environment(traced, fake_provider, monkeypatch):
    monkeypatch.setenv("ANTHROPIC_OPEN_TELEMETRY", "false")
    with anthropic.Anthropic(api_key="k", base_url=fake_provider.anthropic_base_url, max_retries=0) as client:
        assert client.open_telemetry["traces"]["enabled"] is False
        count = calls(client)
    assert len(traced.spans()) == count == len(traced.llm_spans())


def test_sdk_content_mode_does_not_override_capture_off(instrument, anthropic_client, fake_provider):
    traced = instrument(capture_content=False)
    client = sdk_traced(anthropic_client, traced.tracer_provider, content_mode="content")
    client.messages.create(model=MODEL, max_tokens=50, messages=USER, system="SECRET")
    (span,) = traced.spans()
    dumped = json.dumps({k: str(v) for k, v in (span.attributes or {}).items()})
    assert "SECRET" not in dumped and "OTLP" not in dumped
    assert sc.GEN_AI_INPUT_MESSAGES not in (span.attributes or {})


def test_llmotel_propagation_with_sdk_tracing_on(instrument, anthropic_client, fake_provider):
    traced = instrument(propagate_trace_context=True)
    client = sdk_traced(anthropic_client, traced.tracer_provider)
    client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    (span,) = traced.spans()
    ctx = span.get_span_context()
    assert fake_provider.last_request.headers["traceparent"].startswith(f"00-{ctx.trace_id:032x}-{ctx.span_id:016x}-")


def test_errors_and_early_exit_with_sdk_tracing_on(traced, anthropic_client, fake_provider):
    client = sdk_traced(anthropic_client, traced.tracer_provider)
    fake_provider.script(Reply.error(529))
    with pytest.raises(anthropic.OverloadedError):
        client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    stream = client.messages.create(model=MODEL, max_tokens=50, messages=USER, stream=True)
    next(iter(stream))
    del stream
    gc.collect()
    assert names(traced.spans()) == [f"chat {MODEL}"] * 2
    ended = sorted(str((s.attributes or {}).get(sc.LLMOTEL_STREAM_ENDED_BY)) for s in traced.spans())
    assert ended == ["None", "garbage_collected"]


def test_untraced_endpoints_keep_the_sdk_span(traced, anthropic_client):
    client = sdk_traced(anthropic_client, traced.tracer_provider)
    client.messages.count_tokens(model=MODEL, messages=USER)
    assert names(traced.spans()) == ["anthropic.messages.count_tokens"]
    assert traced.llm_spans() == []


async def test_async_sdk_tracing_on(traced, async_anthropic_client, fake_provider):
    client = sdk_traced(async_anthropic_client, traced.tracer_provider)
    await client.messages.create(model=MODEL, max_tokens=50, messages=USER)
    async with client.messages.stream(model=MODEL, max_tokens=50, messages=USER) as stream:
        await stream.get_final_message()
    assert names(traced.spans()) == [f"chat {MODEL}"] * 2
    assert all("traceparent" not in r.headers for r in fake_provider.requests)


@pytest.fixture
def global_exporter():
    """An exporter on the global SDK TracerProvider (set once per process, as an application would)."""
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    yield exporter
    exporter.shutdown()  # stays attached to the global provider, but stores nothing more


def test_global_provider_and_enable_give_one_span(global_exporter, fake_provider):
    llmotel.enable(exporter="none", export=llmotel.ExportOptions(console=False))
    # The SDK default: tracing on, to the global provider (the client is built after it was set).
    with anthropic.Anthropic(api_key="k", base_url=fake_provider.anthropic_base_url, max_retries=0) as client:
        assert client.open_telemetry["traces"]["enabled"] is True
        count = calls(client)
        client.messages.count_tokens(model=MODEL, messages=USER)
    spans = global_exporter.get_finished_spans()
    chat = [s for s in spans if s.name == f"chat {MODEL}"]
    assert len(chat) == count
    assert names(spans) == sorted([f"chat {MODEL}"] * count + ["anthropic.messages.count_tokens"])
    assert all(json.loads(s.attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["role"] == "user" for s in chat)
    assert all("traceparent" not in r.headers for r in fake_provider.requests_to("/v1/messages"))


@pytest.mark.parametrize("sdk_tracing", [True, False])
def test_tool_runner_one_chat_span_per_turn(traced, anthropic_client, sdk_tracing):
    @anthropic.beta_tool
    def get_weather(city: str) -> str:
        """Weather for a city."""
        return f"sunny in {city}"

    client = sdk_traced(anthropic_client, traced.tracer_provider) if sdk_tracing else (
        anthropic_client.with_options(open_telemetry=False))
    runner = client.beta.messages.tool_runner(model=MODEL, max_tokens=100, messages=USER, tools=[get_weather])
    final = runner.until_done()
    chats = [s for s in traced.spans() if s.name == f"chat {MODEL}"]
    assert [s.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] for s in chats] == [("tool_use",), ("end_turn",)]
    assert chats[-1].attributes[sc.GEN_AI_RESPONSE_ID] == final.id
    others = {s.name.split(" ")[0]: s for s in traced.spans() if s not in chats}
    if sdk_tracing:  # the SDK's agent and tool spans are kept: they are not model calls; ours nest under them
        agent = others.pop("anthropic.messages.tool_runner")
        assert (agent.attributes or {})[sc.GEN_AI_OPERATION_NAME] == "invoke_agent"
        assert (others.pop("anthropic.custom_tool_use").attributes or {})[sc.GEN_AI_OPERATION_NAME] == "execute_tool"
        assert all(s.parent.span_id == agent.context.span_id for s in chats)
    assert others == {}
