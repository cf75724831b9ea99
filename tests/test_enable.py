"""enable()/flush()/shutdown(): real OTLP export (gRPC and HTTP), local sinks, providers, failures."""

from __future__ import annotations

import json
import socket
import time
import warnings

import pytest
from opentelemetry import trace
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc
from llmotel._setup import export_stats
from llmotel.instrumentation.openai import OpenAIInstrumentor

USER = [{"role": "user", "content": "hello"}]


def fresh_provider() -> tuple[TracerProvider, InMemorySpanExporter]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider, exporter


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_export_to_otlp_receiver(protocol, otlp_receiver, openai_client):
    provider, _ = fresh_provider()
    endpoint = otlp_receiver.grpc_endpoint if protocol == "grpc" else otlp_receiver.http_endpoint
    llmotel.enable(service_name="svc-test", endpoint=endpoint, protocol=protocol, headers={"x-api-key": "secret"},
                   tracer_provider=provider, resource_attributes={"deployment.environment": "test"})
    result = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(timeout=10)
    (span,) = otlp_receiver.wait_for_spans(1, timeout=10)
    assert span.name == "chat gpt-4o-mini"
    assert span.kind == "CLIENT"
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == result.id
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["role"] == "user"
    assert span.protocol == ("grpc" if protocol == "grpc" else "http")
    assert span.headers.get("x-api-key") == "secret"
    metrics = otlp_receiver.wait_for_metrics(sc.METRIC_OPERATION_DURATION, timeout=10)
    assert metrics
    assert export_stats()["exported_spans"] == 1


def test_endpoint_from_standard_env(otlp_receiver, openai_client, monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_ENDPOINT", otlp_receiver.http_endpoint)
    monkeypatch.setenv("OTEL_SERVICE_NAME", "env-service")
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "team=ml")
    provider, _ = fresh_provider()
    llmotel.enable(tracer_provider=provider)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    llmotel.flush()
    (span,) = otlp_receiver.wait_for_spans(1)
    assert span.name == "chat gpt-4o-mini"


def test_service_name_and_resource_on_created_provider():
    from llmotel._setup import _resource
    from llmotel.config import resolve

    resource = _resource(resolve(env={}, service_name="svc", resource_attributes={"team": "ml"}))
    assert resource.attributes["service.name"] == "svc"
    assert resource.attributes["team"] == "ml"


def test_adds_to_the_applications_provider(openai_client):
    provider, app_exporter = fresh_provider()
    llmotel.enable(tracer_provider=provider, exporter="none", export=llmotel.ExportOptions(console=False))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert [s.name for s in app_exporter.get_finished_spans()] == ["chat gpt-4o-mini"]


def test_uses_global_sdk_provider_if_set(openai_client):
    provider = trace.get_tracer_provider()
    if not isinstance(provider, TracerProvider):
        provider = TracerProvider()
        trace.set_tracer_provider(provider)
    exporter = InMemorySpanExporter()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(exporter="none", export=llmotel.ExportOptions(console=False))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert trace.get_tracer_provider() is provider
    assert [s.name for s in exporter.get_finished_spans()] == ["chat gpt-4o-mini"]
    exporter.clear()
    llmotel.shutdown()
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert exporter.get_finished_spans() == ()  # shutdown() uninstruments


def test_second_enable_warns_and_changes_nothing():
    provider, _ = fresh_provider()
    llmotel.enable(tracer_provider=provider, exporter="none", export=llmotel.ExportOptions(console=False))
    with pytest.warns(UserWarning, match="already called"):
        llmotel.enable(endpoint="http://127.0.0.1:1")
    from llmotel._setup import current_settings

    assert current_settings().endpoint is None


def test_enable_shutdown_cycles_do_not_stack_processors(openai_client):
    provider, _ = fresh_provider()
    for _ in range(3):
        llmotel.enable(tracer_provider=provider, exporter=InMemorySpanExporter(),
                       export=llmotel.ExportOptions(console=False))
        llmotel.shutdown()
    collected = InMemorySpanExporter()
    llmotel.enable(tracer_provider=provider, exporter=collected, export=llmotel.ExportOptions(console=False))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    llmotel.flush()
    assert len(collected.get_finished_spans()) == 1
    assert len(provider._active_span_processor._span_processors) == 2  # the app's + llmotel's one pipeline


def test_disabled_does_nothing(openai_client, monkeypatch):
    monkeypatch.setenv("OTEL_SDK_DISABLED", "true")
    provider, exporter = fresh_provider()
    llmotel.enable(tracer_provider=provider)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert exporter.get_finished_spans() == ()
    assert not OpenAIInstrumentor().is_instrumented_by_opentelemetry


def test_configuration_error_from_enable():
    with pytest.raises(llmotel.ConfigurationError, match="protocol"):
        llmotel.enable(protocol="smoke-signals")
    with pytest.raises(llmotel.ConfigurationError, match="tracer_provider"):
        llmotel.enable(tracer_provider=object())


def test_console_summary(openai_client, capsys):
    provider, _ = fresh_provider()
    llmotel.enable(tracer_provider=provider)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    llmotel.flush()
    err = capsys.readouterr().err
    assert "[llmotel] chat gpt-4o-mini" in err
    assert "tokens in=" in err
    assert "finish=stop" in err


def test_traces_file_is_otlp_json(openai_client, tmp_path):
    path = tmp_path / "traces.jsonl"
    provider, _ = fresh_provider()
    llmotel.enable(tracer_provider=provider, export=llmotel.ExportOptions(traces_file=str(path), console=False))
    tracer = provider.get_tracer("t")
    with tracer.start_as_current_span("parent"):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    llmotel.shutdown()
    lines = path.read_text().splitlines()
    spans = [s for line in lines for rs in json.loads(line)["resourceSpans"] for ss in rs["scopeSpans"]
             for s in ss["spans"]]
    chat = next(s for s in spans if s["name"] == "chat gpt-4o-mini")
    parent = next(s for s in spans if s["name"] == "parent")
    assert len(chat["traceId"]) == 32
    assert chat["parentSpanId"] == parent["spanId"]
    assert chat["kind"] == 3  # CLIENT, as an integer enum
    keys = {a["key"] for a in chat["attributes"]}
    assert sc.GEN_AI_USAGE_INPUT_TOKENS in keys


def test_unwritable_traces_file_is_a_configuration_error(tmp_path):
    with pytest.raises(llmotel.ConfigurationError, match="traces_file"):
        llmotel.enable(export=llmotel.ExportOptions(traces_file=str(tmp_path / "missing-dir" / "t.jsonl")))


def test_unreachable_backend_never_raises(openai_client, caplog):
    provider, _ = fresh_provider()
    llmotel.enable(tracer_provider=provider, endpoint="http://127.0.0.1:9", protocol="http/protobuf",
                   export=llmotel.ExportOptions(metrics=False, retry_window=0))
    result = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert result.choices
    start = time.monotonic()
    with warnings.catch_warnings():
        warnings.simplefilter("error")
        assert llmotel.flush(timeout=5) is False  # nothing went out, and flush() says so
    assert time.monotonic() - start < 5.5
    assert export_stats()["failed_spans"] == 1
    assert any("could not export" in r.getMessage() for r in caplog.records)


def test_shutdown_keeps_to_its_timeout_with_a_dead_backend():
    """The SDK's batch processor retries a dead backend past its flush timeout; shutdown() stops the exporters."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # closed again: connections are refused
    llmotel.enable(endpoint=f"http://127.0.0.1:{port}", tracer_provider=TracerProvider(),
                   export=llmotel.ExportOptions(console=False, metrics=False))
    for i in range(3000):
        with llmotel.task(f"t{i}"):
            pass
    started = time.monotonic()
    llmotel.shutdown(timeout=1)
    assert time.monotonic() - started < 8  # it took 40-60 s before (export retries of each pending batch)
