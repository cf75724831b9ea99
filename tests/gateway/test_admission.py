"""Backpressure instead of loss, outages, auth, size limits, malformed requests, health, readiness, metrics."""

from __future__ import annotations

import gzip
import threading
import time
from typing import Any

import grpc
import pytest
import requests
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.evaluation import EvaluationResult
from llmotel.gateway import Gateway
from tests.gateway.clients import grpc_exporter, http_exporter, semconv_chat, tracer_provider, url
from tests.otlp_receiver import OtlpReceiver

TRACE_SERVICE = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


def make_spans(count: int, prefix: str = "span", attributes: dict[str, Any] | None = None) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("t")
    for i in range(count):
        tracer.start_span(f"{prefix} {i}", attributes=attributes or {}).end()
    return list(exporter.get_finished_spans())


def post_spans(gateway: Gateway, spans: list[ReadableSpan], **headers: str) -> requests.Response:
    return requests.post(url(gateway, "/v1/traces"), data=encode_spans(spans).SerializeToString(),
                         headers={"Content-Type": "application/x-protobuf", **headers}, timeout=10)


def grpc_export(gateway: Gateway, body: bytes, metadata: tuple[tuple[str, str], ...] = ()) -> grpc.RpcError | None:
    with grpc.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as channel:
        try:
            channel.unary_unary(TRACE_SERVICE)(body, timeout=10, metadata=metadata)
        except grpc.RpcError as error:
            return error
    return None


def test_a_full_queue_refuses_with_a_retry_delay_and_loses_nothing(start_gateway: Any,
                                                                   otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False, queue_spans=20)
    otlp_receiver.fail_for(2.0)  # the backend is down: the gateway holds what it accepted
    assert post_spans(gateway, make_spans(10, "a")).status_code == 200
    assert post_spans(gateway, make_spans(10, "b")).status_code == 200
    refused = post_spans(gateway, make_spans(10, "c"))
    assert refused.status_code == 429 and 1 <= int(refused.headers["Retry-After"]) <= 3
    status = status_pb2.Status.FromString(refused.content)
    assert "queue is full" in status.message

    error = grpc_export(gateway, encode_spans(make_spans(5, "d")).SerializeToString())
    assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    retry_info = dict(error.trailing_metadata())["google.rpc.retryinfo-bin"]
    assert error_details_pb2.RetryInfo.FromString(retry_info).retry_delay.seconds >= 1

    spans = otlp_receiver.wait_for_spans(20, timeout=30)  # after the outage
    assert sorted(s.name for s in spans) == sorted([f"a {i}" for i in range(10)] + [f"b {i}" for i in range(10)])
    assert gateway.engine.flush(10) and len(otlp_receiver.spans) == 20
    metrics = gateway.metrics.prometheus()
    assert 'llmotel_gateway_refused_requests_total{reason="queue_full"} 2' in metrics
    assert 'llmotel_gateway_forwarded_spans_total{outcome="exported"} 20' in metrics


@pytest.mark.parametrize("transport", ["grpc", "http"])
def test_sdk_exporters_retry_through_backpressure_during_a_backend_outage(
        transport: str, start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False, queue_spans=30)
    exporter = grpc_exporter(gateway, timeout=30) if transport == "grpc" else http_exporter(gateway, timeout=30)
    otlp_receiver.fail_for(3.0, retry_after=0.2)
    batches = [make_spans(10, f"batch{b}") for b in range(12)]
    results = [exporter.export(batch) for batch in batches]
    assert results == [SpanExportResult.SUCCESS] * 12
    spans = otlp_receiver.wait_for_spans(120, timeout=30)
    assert sorted(s.name for s in spans) == sorted(s.name for batch in batches for s in batch)
    assert gateway.metrics.count("llmotel.gateway.refused_requests", reason="queue_full") > 0


def test_token_auth_on_receivers_and_intake(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    token = "gw-token-5f2a9c81d3"
    gateway = start_gateway(evaluators=[], redact=False, token=token)
    body = encode_spans(make_spans(1)).SerializeToString()
    assert post_spans(gateway, make_spans(1)).status_code == 401
    assert post_spans(gateway, make_spans(1), Authorization="Bearer wrong").status_code == 401
    assert post_spans(gateway, make_spans(1), Authorization=f"Basic {token}").status_code == 401
    assert post_spans(gateway, make_spans(1, "ok"), Authorization=f"Bearer {token}").status_code == 200
    error = grpc_export(gateway, body)
    assert error is not None and error.code() == grpc.StatusCode.UNAUTHENTICATED
    assert grpc_export(gateway, body, (("authorization", f"Bearer {token}"),)) is None
    exporter = grpc_exporter(gateway, headers={"authorization": f"Bearer {token}"})
    assert exporter.export(make_spans(1, "sdk")) == SpanExportResult.SUCCESS
    intake = requests.post(url(gateway, "/v1/evaluations"), json=[], timeout=10)
    assert intake.status_code == 401
    otlp_receiver.wait_for_spans(3, timeout=20)
    assert gateway.metrics.count("llmotel.gateway.refused_requests", reason="unauthenticated") == 5
    # probes and scrapers need no token
    assert requests.get(url(gateway, "/healthz"), timeout=5).status_code == 200
    assert requests.get(url(gateway, "/metrics"), timeout=5).status_code == 200


def test_token_in_a_custom_header(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False, token="k-123456789", auth_header="x-api-key")
    assert post_spans(gateway, make_spans(1), Authorization="Bearer k-123456789").status_code == 401
    assert post_spans(gateway, make_spans(1), **{"x-api-key": "k-123456789"}).status_code == 200


def test_size_limits_and_malformed_requests_are_refused_with_reasons_without_harm_to_others(
        start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False, max_request_bytes=4096)
    traces = url(gateway, "/v1/traces")
    big = encode_spans(make_spans(100, "x" * 50)).SerializeToString()
    assert len(big) > 4096
    too_big = requests.post(traces, data=big, headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert too_big.status_code == 413 and "4096" in status_pb2.Status.FromString(too_big.content).message
    bomb = gzip.compress(b"\x00" * 2_000_000)
    assert len(bomb) < 4096
    refused = requests.post(traces, data=bomb, timeout=10, headers={"Content-Type": "application/x-protobuf",
                                                                    "Content-Encoding": "gzip"})
    assert refused.status_code == 413
    garbage = requests.post(traces, data=b"\xff\xfe not protobuf", timeout=10,
                            headers={"Content-Type": "application/x-protobuf"})
    assert garbage.status_code == 400 and "cannot decode" in status_pb2.Status.FromString(garbage.content).message
    bad_json = requests.post(traces, data=b'{"resourceSpans": [', timeout=10,
                             headers={"Content-Type": "application/json"})
    assert bad_json.status_code == 400 and "not JSON" in bad_json.json()["message"]
    bad_id = requests.post(traces, json={"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "abc", "spanId": "eee19b7ec3c1b174", "name": "x"}]}]}]}, timeout=10)
    assert bad_id.status_code == 400 and "traceId" in bad_id.json()["message"]
    short_id = requests.post(traces, json={"resourceSpans": [{"scopeSpans": [{"spans": [
        {"traceId": "abcd", "spanId": "eee19b7ec3c1b174", "name": "x"}]}]}]}, timeout=10)
    assert short_id.status_code == 400 and "trace_id must be 16 bytes" in short_id.json()["message"]
    wrong_type = requests.post(traces, data=b"hello", headers={"Content-Type": "text/plain"}, timeout=10)
    assert wrong_type.status_code == 415
    assert requests.post(url(gateway, "/v1/nothing"), data=b"", timeout=10).status_code == 404
    error = grpc_export(gateway, b"\xff\xfe not protobuf")
    assert error is not None and error.code() == grpc.StatusCode.INVALID_ARGUMENT
    assert "cannot decode" in (error.details() or "")
    error = grpc_export(gateway, big)
    assert error is not None and error.code() == grpc.StatusCode.RESOURCE_EXHAUSTED
    assert "google.rpc.retryinfo-bin" not in dict(error.trailing_metadata() or ())

    # bad requests in parallel with good ones: the good ones all go through
    statuses: list[int] = []

    def good(n: int) -> None:
        statuses.append(post_spans(gateway, make_spans(2, f"good{n}")).status_code)

    def bad() -> None:
        requests.post(traces, data=b"\x0a\xff\xff\xff", headers={"Content-Type": "application/x-protobuf"},
                      timeout=10)

    threads = [threading.Thread(target=good if i % 2 else bad, args=(i,) if i % 2 else ()) for i in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert statuses == [200] * 10
    assert len(otlp_receiver.wait_for_spans(20, timeout=20)) == 20
    assert gateway.metrics.count("llmotel.gateway.refused_requests", reason="too_large") == 2


class _Sleepy:
    name = "sleepy"
    content_fields = ()

    def evaluate(self, input: Any) -> EvaluationResult:
        time.sleep(1.0)
        return EvaluationResult("sleepy", score=1.0)


def test_health_readiness_and_refusal_while_draining(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[_Sleepy()], redact=False)
    assert requests.get(url(gateway, "/healthz"), timeout=5).text == "ok\n"
    ready = requests.get(url(gateway, "/readyz"), timeout=5)
    assert (ready.status_code, ready.text) == (200, "ready\n")
    assert post_spans(gateway, make_spans(1, "chat", semconv_chat())).status_code == 200

    drain = threading.Thread(target=gateway.drain, args=(10.0,))
    drain.start()
    deadline = time.monotonic() + 5
    while gateway.state != "draining" and time.monotonic() < deadline:
        time.sleep(0.01)
    not_ready = requests.get(url(gateway, "/readyz"), timeout=5)
    assert (not_ready.status_code, not_ready.text) == (503, "draining\n")
    refused = post_spans(gateway, make_spans(1, "late"))
    assert refused.status_code == 503 and refused.headers["Retry-After"] == "1"
    drain.join()
    (span,) = otlp_receiver.wait_for_spans(1, timeout=10)
    assert span.name == "chat 0" and [e.attributes["gen_ai.evaluation.name"] for e in span.events] == ["sleepy"]


def test_prometheus_metrics(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway()
    provider = tracer_provider(http_exporter(gateway))
    for name in ("a", "b"):
        with provider.get_tracer("t").start_as_current_span(name, attributes=semconv_chat()):
            pass
    with provider.get_tracer("t").start_as_current_span("plain"):
        pass
    provider.shutdown()
    otlp_receiver.wait_for_spans(3, timeout=20)
    assert gateway.engine.flush(10)
    response = requests.get(url(gateway, "/metrics"), timeout=5)
    assert response.headers["Content-Type"].startswith("text/plain; version=0.0.4")
    text = response.text
    for line in ('llmotel_gateway_accepted_spans_total{source="otlp"} 3',
                 'llmotel_gateway_evaluated_spans_total{outcome="evaluated"} 2',
                 'llmotel_gateway_evaluated_spans_total{outcome="passed"} 1',  # redacted, nothing found: no event
                 'llmotel_gateway_forwarded_spans_total{outcome="exported"} 3',
                 "llmotel_gateway_queue_spans 0", "llmotel_gateway_queue_bytes 0",
                 'llmotel_gateway_evaluation_latency_seconds_bucket{le="+Inf"} 3',
                 "llmotel_gateway_evaluation_latency_seconds_count 3"):
        assert line in text.splitlines(), line


def test_own_metrics_over_otlp(start_gateway: Any, otlp_receiver: OtlpReceiver,
                               monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("OTEL_METRIC_EXPORT_INTERVAL", "200")
    gateway = start_gateway(evaluators=[], redact=False, settings={"metrics": True, "service_name": "gw-1"})
    assert post_spans(gateway, make_spans(4)).status_code == 200
    otlp_receiver.wait_for_spans(4, timeout=10)
    metric = otlp_receiver.wait_for_metrics("llmotel.gateway.forwarded_spans", timeout=10,
                                            predicate=lambda m: sum(p.value or 0 for p in m.data_points) == 4)[-1]
    assert metric.resource["service.name"] == "gw-1"
    accepted = otlp_receiver.latest_metric("llmotel.gateway.accepted_spans")
    assert accepted is not None and accepted.points_with(**{"llmotel.source": "otlp"})[0].value == 4
    assert otlp_receiver.latest_metric("llmotel.gateway.queue.spans") is not None


def test_listens_on_loopback_unless_told_otherwise(start_gateway: Any) -> None:
    gateway = start_gateway(evaluators=[], redact=False, listen="127.0.0.1")
    assert gateway.options.listen == "127.0.0.1"
    from llmotel.gateway import GatewayOptions

    assert GatewayOptions().listen == "127.0.0.1"
    host = gateway._http.server_address[0]
    assert host == "127.0.0.1"
