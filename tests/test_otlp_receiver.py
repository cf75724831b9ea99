"""Tests of the OTLP receiver fixture, fed by the real OpenTelemetry SDK exporters.

Run with: ``pytest -p tests.otlp_receiver.pytest_plugin -o pythonpath=. tests/test_otlp_receiver.py``
"""

from __future__ import annotations

import gzip
import json
import socket
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from typing import Any

import grpc
import pytest
from opentelemetry import trace
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression as HttpCompression
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from tests.otlp_receiver import OtlpReceiver, ReceivedEvent, ReceivedSpan

Protocol = str  # "grpc" | "http"

EVERY_TYPE: dict[str, Any] = {
    "str": "hello",
    "int": 42,
    "negative_int": -7,
    "float": 0.25,
    "bool_true": True,
    "bool_false": False,
    "str_list": ["a", "b"],
    "int_list": [1, 2, 3],
    "float_list": [0.5, 1.5],
    "bool_list": [True, False],
    "empty_str": "",
}


def _span_exporter(receiver: OtlpReceiver, protocol: Protocol, gzip_on: bool = False, **kwargs: Any) -> SpanExporter:
    if protocol == "grpc":
        return GrpcSpanExporter(
            endpoint=receiver.grpc_endpoint,
            compression=grpc.Compression.Gzip if gzip_on else None,
            **kwargs,
        )
    return HttpSpanExporter(
        endpoint=receiver.http_traces_endpoint,
        compression=HttpCompression.Gzip if gzip_on else None,
        **kwargs,
    )


@pytest.fixture
def tracer_provider_factory() -> Iterator[Callable[[SpanExporter], TracerProvider]]:
    """Builds TracerProviders with a SimpleSpanProcessor; shuts them all down after the test."""
    providers: list[TracerProvider] = []

    def make(exporter: SpanExporter) -> TracerProvider:
        provider = TracerProvider(
            resource=Resource.create({"service.name": "receiver-test", "deployment.environment.name": "test"})
        )
        provider.add_span_processor(SimpleSpanProcessor(exporter))
        providers.append(provider)
        return provider

    yield make
    for provider in providers:
        provider.shutdown()


def _http_post(url: str, body: bytes, headers: dict[str, str]) -> tuple[int, bytes, dict[str, str]]:
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read(), dict(response.headers)
    except urllib.error.HTTPError as error:
        return error.code, error.read(), dict(error.headers)


# -- traces --------------------------------------------------------------------


@pytest.mark.parametrize(
    ("protocol", "gzip_on"),
    [("grpc", False), ("grpc", True), ("http", False), ("http", True)],
)
def test_spans_decoded_with_every_field(
    otlp_receiver: OtlpReceiver,
    tracer_provider_factory: Callable[[SpanExporter], TracerProvider],
    protocol: Protocol,
    gzip_on: bool,
) -> None:
    exporter = _span_exporter(
        otlp_receiver, protocol, gzip_on, headers={"authorization": "Bearer s3cret", "x-tenant": "acme"}
    )
    tracer = tracer_provider_factory(exporter).get_tracer("llmotel.test", "1.2.3")

    with tracer.start_as_current_span("linked") as linked:
        linked_context = linked.get_span_context()
    with (
        tracer.start_as_current_span("invoke_workflow demo") as parent,
        tracer.start_as_current_span(
            "chat gpt-4o-mini",
            kind=SpanKind.CLIENT,
            attributes=EVERY_TYPE,
            links=[Link(linked_context, {"link.kind": "follows"})],
        ) as child,
    ):
        child.add_event("gen_ai.evaluation.result", {"gen_ai.evaluation.score.value": 0.9, "ok": True})
        child.add_event("plain")
        child.set_status(Status(StatusCode.ERROR, "rate limited"))

    spans = otlp_receiver.wait_for_spans(3)
    assert [s.name for s in spans] == ["linked", "chat gpt-4o-mini", "invoke_workflow demo"]
    (chat,) = otlp_receiver.spans_named("chat gpt-4o-mini")
    (root,) = otlp_receiver.spans_named("invoke_workflow demo")
    (link_target,) = otlp_receiver.spans_named("linked")

    assert isinstance(chat, ReceivedSpan)
    assert chat.attributes == EVERY_TYPE
    for key, value in EVERY_TYPE.items():  # exact native types, not just equal values
        assert type(chat.attributes[key]) is type(value), key
    assert chat.kind == "CLIENT"
    assert root.kind == "INTERNAL"
    assert chat.status_code == "ERROR"
    assert chat.status_message == "rate limited"
    assert root.status_code == "UNSET"

    assert chat.trace_id == format(parent.get_span_context().trace_id, "032x")
    assert chat.span_id == format(child.get_span_context().span_id, "016x")
    assert chat.parent_span_id == root.span_id
    assert root.parent_span_id is None and root.is_root
    assert len(chat.trace_id) == 32 and len(chat.span_id) == 16
    assert otlp_receiver.span_tree()[root.span_id] == [chat]

    assert chat.events[0] == ReceivedEvent(
        "gen_ai.evaluation.result", {"gen_ai.evaluation.score.value": 0.9, "ok": True}, chat.events[0].time_unix_nano
    )
    name, attrs, when = chat.events[1]
    assert (name, attrs) == ("plain", {})
    assert chat.start_time_unix_nano <= when <= chat.end_time_unix_nano
    assert chat.events_named("plain") == [chat.events[1]]
    assert chat.duration_ns >= 0

    assert len(chat.links) == 1
    assert chat.links[0].trace_id == link_target.trace_id
    assert chat.links[0].span_id == link_target.span_id
    assert chat.links[0].attributes == {"link.kind": "follows"}

    assert chat.resource["service.name"] == "receiver-test"
    assert chat.resource["deployment.environment.name"] == "test"
    assert chat.resource["telemetry.sdk.language"] == "python"
    assert (chat.scope_name, chat.scope_version) == ("llmotel.test", "1.2.3")

    assert chat.protocol == protocol
    assert chat.headers["authorization"] == "Bearer s3cret"
    assert chat.headers["x-tenant"] == "acme"
    requests = otlp_receiver.requests
    assert all(r.signal == "traces" and r.accepted and r.item_count == 1 for r in requests)
    if protocol == "http":
        assert chat.headers["content-type"] == "application/x-protobuf"
        assert requests[0].content_encoding == ("gzip" if gzip_on else "identity")
        assert requests[0].status == 200
    else:
        assert "grpc" in chat.headers["user-agent"]
        assert requests[0].status == "OK"


@pytest.mark.parametrize("protocol", ["grpc", "http/protobuf"])
def test_otlp_env_fixture_points_default_exporters_at_receiver(
    otlp_receiver: OtlpReceiver,
    otlp_env: Callable[[str], dict[str, str]],
    tracer_provider_factory: Callable[[SpanExporter], TracerProvider],
    protocol: str,
) -> None:
    env = otlp_env(protocol)
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == protocol
    exporter: SpanExporter = GrpcSpanExporter() if protocol == "grpc" else HttpSpanExporter()
    tracer = tracer_provider_factory(exporter).get_tracer("env")
    with tracer.start_as_current_span("from env"):
        pass
    (span,) = otlp_receiver.wait_for_spans(name="from env")
    assert span.protocol == ("grpc" if protocol == "grpc" else "http")


# -- OTLP/JSON and raw HTTP ------------------------------------------------------


def test_otlp_json_traces_with_hex_ids(otlp_receiver: OtlpReceiver) -> None:
    trace_id, span_id, parent_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174", "eee19b7ec3c1b173"
    payload = {
        "resourceSpans": [
            {
                "resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "json-svc"}}]},
                "scopeSpans": [
                    {
                        "scope": {"name": "json-scope", "version": "0.1"},
                        "spans": [
                            {
                                "traceId": trace_id,
                                "spanId": span_id,
                                "parentSpanId": parent_id,
                                "name": "chat gpt-4o-mini",
                                "kind": 3,
                                "startTimeUnixNano": "1544712660000000000",
                                "endTimeUnixNano": "1544712661000000000",
                                "attributes": [
                                    {"key": "gen_ai.usage.input_tokens", "value": {"intValue": "12"}},
                                    {"key": "temperature", "value": {"doubleValue": 0.5}},
                                    {"key": "stream", "value": {"boolValue": False}},
                                    {
                                        "key": "gen_ai.response.finish_reasons",
                                        "value": {"arrayValue": {"values": [{"stringValue": "stop"}]}},
                                    },
                                    {
                                        "key": "nested",
                                        "value": {"kvlistValue": {"values": [{"key": "k", "value": {"intValue": 1}}]}},
                                    },
                                    {"key": "raw", "value": {"bytesValue": "aGk="}},
                                ],
                                "events": [
                                    {
                                        "name": "gen_ai.evaluation.result",
                                        "timeUnixNano": "1544712660500000000",
                                        "attributes": [{"key": "score", "value": {"doubleValue": 1.0}}],
                                    }
                                ],
                                "links": [{"traceId": trace_id, "spanId": parent_id}],
                                "status": {"code": 2, "message": "boom"},
                                "unknownFutureField": {"ignored": True},
                            }
                        ],
                    }
                ],
            }
        ]
    }
    status, body, headers = _http_post(
        otlp_receiver.http_traces_endpoint,
        json.dumps(payload).encode(),
        {"Content-Type": "application/json", "Authorization": "Basic abc"},
    )
    assert status == 200
    assert headers["Content-Type"] == "application/json"
    assert json.loads(body) == {}

    (span,) = otlp_receiver.wait_for_spans()
    assert (span.trace_id, span.span_id, span.parent_span_id) == (trace_id, span_id, parent_id)
    assert span.kind == "CLIENT"
    assert span.start_time_unix_nano == 1544712660000000000
    assert span.attributes == {
        "gen_ai.usage.input_tokens": 12,
        "temperature": 0.5,
        "stream": False,
        "gen_ai.response.finish_reasons": ["stop"],
        "nested": {"k": 1},
        "raw": b"hi",
    }
    assert span.events == [ReceivedEvent("gen_ai.evaluation.result", {"score": 1.0}, 1544712660500000000)]
    assert span.links[0].span_id == parent_id
    assert (span.status_code, span.status_message) == ("ERROR", "boom")
    assert span.resource == {"service.name": "json-svc"}
    assert (span.scope_name, span.scope_version) == ("json-scope", "0.1")
    assert span.headers["authorization"] == "Basic abc"


def test_gzip_protobuf_over_raw_http(otlp_receiver: OtlpReceiver) -> None:
    request = ExportTraceServiceRequest()
    span = request.resource_spans.add().scope_spans.add().spans.add()
    span.name, span.trace_id, span.span_id = "raw", b"\x01" * 16, b"\x02" * 8
    status, _, headers = _http_post(
        otlp_receiver.http_traces_endpoint,
        gzip.compress(request.SerializeToString()),
        {"Content-Type": "application/x-protobuf", "Content-Encoding": "gzip"},
    )
    assert status == 200
    assert headers["Content-Type"] == "application/x-protobuf"
    (received,) = otlp_receiver.spans
    assert (received.trace_id, received.span_id) == ("01" * 16, "02" * 8)
    assert received.parent_span_id is None
    assert received.kind == "UNSPECIFIED"


@pytest.mark.parametrize(
    ("path", "content_type", "body", "expected"),
    [
        ("/v1/nope", "application/x-protobuf", b"", 404),
        ("/v1/traces", "text/plain", b"hi", 415),
        ("/v1/traces", "application/x-protobuf", b"\xff\xff\xff", 400),
        ("/v1/logs", "application/json", b"{not json", 400),
    ],
)
def test_http_rejects_bad_requests(
    otlp_receiver: OtlpReceiver, path: str, content_type: str, body: bytes, expected: int
) -> None:
    status, _, _ = _http_post(otlp_receiver.http_endpoint + path, body, {"Content-Type": content_type})
    assert status == expected
    assert otlp_receiver.spans == [] and otlp_receiver.logs == [] and otlp_receiver.requests == []


# -- metrics -----------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_metrics_decoded(otlp_receiver: OtlpReceiver, protocol: Protocol) -> None:
    exporter = (
        GrpcMetricExporter(endpoint=otlp_receiver.grpc_endpoint, headers={"authorization": "Bearer m"})
        if protocol == "grpc"
        else HttpMetricExporter(endpoint=otlp_receiver.http_metrics_endpoint, headers={"authorization": "Bearer m"})
    )
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=3_600_000)
    provider = MeterProvider(metric_readers=[reader], resource=Resource.create({"service.name": "metrics-test"}))
    try:
        meter = provider.get_meter("llmotel.metrics", "9.9")
        tokens = meter.create_histogram("gen_ai.client.token.usage", unit="{token}", description="tokens")
        calls = meter.create_counter("llm.calls", unit="{call}")
        in_flight = meter.create_up_down_counter("llm.in_flight")
        temperature = meter.create_gauge("llm.temperature")
        input_attrs = {"gen_ai.token.type": "input", "gen_ai.request.model": "gpt-4o-mini"}
        tokens.record(12, input_attrs)
        tokens.record(300, input_attrs)
        tokens.record(7, {"gen_ai.token.type": "output", "gen_ai.request.model": "gpt-4o-mini"})
        calls.add(2, {"ok": True})
        calls.add(1, {"ok": False})
        in_flight.add(3)
        in_flight.add(-1)
        temperature.set(0.7)
        assert provider.force_flush(10_000)
    finally:
        provider.shutdown()

    (histogram,) = otlp_receiver.wait_for_metrics("gen_ai.client.token.usage")[-1:]
    assert histogram.type == "histogram"
    assert (histogram.unit, histogram.description) == ("{token}", "tokens")
    assert histogram.aggregation_temporality == "CUMULATIVE"
    assert histogram.resource["service.name"] == "metrics-test"
    assert (histogram.scope_name, histogram.scope_version) == ("llmotel.metrics", "9.9")
    assert histogram.protocol == protocol
    assert histogram.headers["authorization"] == "Bearer m"
    (point,) = histogram.points_with(**{"gen_ai.token.type": "input"})
    assert (point.count, point.sum, point.min, point.max) == (2, 312, 12, 300)
    assert sum(point.bucket_counts) == 2
    assert len(point.bucket_counts) == len(point.explicit_bounds) + 1
    assert point.value is None

    counter = otlp_receiver.latest_metric("llm.calls")
    assert counter is not None
    assert (counter.type, counter.is_monotonic, counter.unit) == ("sum", True, "{call}")
    assert {p.attributes["ok"]: p.value for p in counter.data_points} == {True: 2, False: 1}
    assert all(isinstance(p.value, int) for p in counter.data_points)

    up_down = otlp_receiver.latest_metric("llm.in_flight")
    assert up_down is not None and up_down.is_monotonic is False
    assert up_down.data_points[0].value == 2

    gauge = otlp_receiver.latest_metric("llm.temperature")
    assert gauge is not None and gauge.type == "gauge" and gauge.aggregation_temporality is None
    assert gauge.data_points[0].value == pytest.approx(0.7)
    assert all(r.signal == "metrics" and r.accepted for r in otlp_receiver.requests)


# -- logs ----------------------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_logs_decoded_and_correlated(
    otlp_receiver: OtlpReceiver,
    protocol: Protocol,
) -> None:
    exporter = (
        GrpcLogExporter(endpoint=otlp_receiver.grpc_endpoint)
        if protocol == "grpc"
        else HttpLogExporter(endpoint=otlp_receiver.http_logs_endpoint)
    )
    provider = LoggerProvider(resource=Resource.create({"service.name": "logs-test"}))
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    tracer_provider = TracerProvider()
    try:
        logger = provider.get_logger("llmotel.events")
        with tracer_provider.get_tracer("t").start_as_current_span("parent") as span:
            logger.emit(
                event_name="gen_ai.client.inference.operation.details",
                body={"messages": [{"role": "user", "content": "hi"}]},
                attributes={"gen_ai.operation.name": "chat", "n": 1},
            )
        logger.emit(body="plain text log", severity_text="WARN")
    finally:
        provider.shutdown()
        tracer_provider.shutdown()

    records = otlp_receiver.wait_for_logs(2)
    event = otlp_receiver.logs_named("gen_ai.client.inference.operation.details")[0]
    assert event.body == {"messages": [{"role": "user", "content": "hi"}]}
    assert event.attributes == {"gen_ai.operation.name": "chat", "n": 1}
    assert event.trace_id == format(span.get_span_context().trace_id, "032x")
    assert event.span_id == format(span.get_span_context().span_id, "016x")
    assert event.resource["service.name"] == "logs-test"
    assert event.scope_name == "llmotel.events"
    assert event.protocol == protocol
    plain = records[1]
    assert (plain.event_name, plain.body, plain.severity_text) == ("", "plain text log", "WARN")
    assert plain.trace_id is None and plain.span_id is None


def test_otlp_json_logs(otlp_receiver: OtlpReceiver) -> None:
    payload = {
        "resourceLogs": [
            {
                "scopeLogs": [
                    {
                        "logRecords": [
                            {
                                "eventName": "gen_ai.evaluation.result",
                                "body": {"stringValue": "ok"},
                                "traceId": "5b8efff798038103d269b633813fc60c",
                                "spanId": "eee19b7ec3c1b174",
                                "severityNumber": 9,
                            }
                        ]
                    }
                ]
            }
        ]
    }
    status, _, _ = _http_post(
        otlp_receiver.http_logs_endpoint, json.dumps(payload).encode(), {"Content-Type": "application/json"}
    )
    assert status == 200
    (record,) = otlp_receiver.logs_named("gen_ai.evaluation.result")
    assert (record.body, record.severity_number) == ("ok", 9)
    assert (record.trace_id, record.span_id) == ("5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174")


# -- failure injection -------------------------------------------------------------


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_fail_next_retryable_then_success(
    otlp_receiver: OtlpReceiver,
    tracer_provider_factory: Callable[[SpanExporter], TracerProvider],
    protocol: Protocol,
) -> None:
    otlp_receiver.fail_next(2, retry_after=0.05)
    exporter = _span_exporter(otlp_receiver, protocol, timeout=10)
    tracer = tracer_provider_factory(exporter).get_tracer("retry")
    started = time.monotonic()
    with tracer.start_as_current_span("retried"):
        pass
    (span,) = otlp_receiver.wait_for_spans(name="retried")
    assert time.monotonic() - started < 1.5  # retry hint obeyed (default backoff would be 1 s + 2 s)
    statuses = [r.status for r in otlp_receiver.requests]
    if protocol == "grpc":
        assert statuses == ["UNAVAILABLE", "UNAVAILABLE", "OK"]
    else:
        assert statuses == [503, 503, 200]
    assert [r.accepted for r in otlp_receiver.requests] == [False, False, True]
    assert [r.item_count for r in otlp_receiver.requests] == [1, 1, 1]
    assert otlp_receiver.spans == [span]


@pytest.mark.parametrize("protocol", ["grpc", "http"])
def test_fail_next_permanent_error_reports_failure(otlp_receiver: OtlpReceiver, protocol: Protocol) -> None:
    otlp_receiver.fail_next(grpc_code=grpc.StatusCode.INVALID_ARGUMENT, http_status=400)
    exporter = _span_exporter(otlp_receiver, protocol, timeout=5)
    provider = TracerProvider()
    try:
        with provider.get_tracer("t").start_as_current_span("rejected") as span:
            pass
        assert isinstance(span, trace.Span)
        assert exporter.export([span]) == SpanExportResult.FAILURE  # type: ignore[list-item]
        assert exporter.export([span]) == SpanExportResult.SUCCESS  # type: ignore[list-item]
    finally:
        exporter.shutdown()
        provider.shutdown()
    assert [r.accepted for r in otlp_receiver.requests] == [False, True]
    assert otlp_receiver.requests[0].status == ("INVALID_ARGUMENT" if protocol == "grpc" else 400)
    assert len(otlp_receiver.spans_named("rejected")) == 1


def test_fail_next_can_target_one_signal(otlp_receiver: OtlpReceiver) -> None:
    otlp_receiver.fail_next(signal="logs", http_status=500)
    url = otlp_receiver.http_traces_endpoint
    status, _, _ = _http_post(
        url, ExportTraceServiceRequest().SerializeToString(), {"Content-Type": "application/x-protobuf"}
    )
    assert status == 200
    status, body, _ = _http_post(otlp_receiver.http_logs_endpoint, b"{}", {"Content-Type": "application/json"})
    assert status == 500
    assert json.loads(body)["code"] == grpc.StatusCode.UNAVAILABLE.value[0]


# -- lifecycle ---------------------------------------------------------------------------


def _port_is_free(port: int) -> bool:
    with socket.socket() as sock:
        try:
            sock.bind(("127.0.0.1", port))
        except OSError:
            return False
        return True


def test_stop_is_fast_and_releases_ports() -> None:
    receiver = OtlpReceiver().start()
    grpc_port, http_port = receiver.grpc_port, receiver.http_port
    assert receiver.grpc_endpoint == f"http://127.0.0.1:{grpc_port}"
    assert receiver.http_endpoint == f"http://127.0.0.1:{http_port}"
    assert grpc_port != http_port
    started = time.monotonic()
    receiver.stop()
    assert time.monotonic() - started < 1
    assert not receiver.running
    assert _port_is_free(grpc_port) and _port_is_free(http_port)
    with pytest.raises(RuntimeError):
        _ = receiver.grpc_endpoint
    receiver.stop()  # idempotent


def test_clear_and_wait_timeout(otlp_receiver: OtlpReceiver) -> None:
    request = ExportTraceServiceRequest()
    request.resource_spans.add().scope_spans.add().spans.add(name="one", trace_id=b"\x01" * 16, span_id=b"\x01" * 8)
    _http_post(
        otlp_receiver.http_traces_endpoint, request.SerializeToString(), {"Content-Type": "application/x-protobuf"}
    )
    assert [s.name for s in otlp_receiver.wait_for_spans(timeout=5)] == ["one"]
    otlp_receiver.fail_next(5)
    otlp_receiver.clear()
    assert otlp_receiver.spans == [] and otlp_receiver.requests == []
    started = time.monotonic()
    with pytest.raises(TimeoutError, match="expected 1 span\\(s\\) named 'two'"):
        otlp_receiver.wait_for_spans(name="two", timeout=0.2)
    assert time.monotonic() - started < 2
    with pytest.raises(TimeoutError, match="metric 'nope'"):
        otlp_receiver.wait_for_metrics("nope", timeout=0.1)
