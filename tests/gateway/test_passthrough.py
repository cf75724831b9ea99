"""Metrics and logs pass through to the backend (secrets scrubbed, logs redacted), the backend's answer returned."""

from __future__ import annotations

from typing import Any

import pytest
from opentelemetry.exporter.otlp.proto.grpc._log_exporter import OTLPLogExporter as GrpcLogExporter
from opentelemetry.exporter.otlp.proto.grpc.metric_exporter import OTLPMetricExporter as GrpcMetricExporter
from opentelemetry.exporter.otlp.proto.http._log_exporter import OTLPLogExporter as HttpLogExporter
from opentelemetry.exporter.otlp.proto.http.metric_exporter import OTLPMetricExporter as HttpMetricExporter
from opentelemetry.sdk._logs import LoggerProvider
from opentelemetry.sdk._logs.export import SimpleLogRecordProcessor
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

from tests.gateway.clients import EMAIL
from tests.otlp_receiver import OtlpReceiver

SECRET = "sk-ant-api03-" + "Zx9Yw8Vu7Ts6Rq5Po4Nm3Lk2"


@pytest.mark.parametrize(("sender", "backend"),
                         [("http", "http/protobuf"), ("grpc", "grpc"), ("grpc", "http/protobuf")])
def test_metrics_pass_through(sender: str, backend: str, start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False, protocol=backend)
    exporter = (HttpMetricExporter(endpoint=f"http://127.0.0.1:{gateway.http_port}/v1/metrics") if sender == "http"
                else GrpcMetricExporter(endpoint=f"http://127.0.0.1:{gateway.grpc_port}", insecure=True))
    reader = PeriodicExportingMetricReader(exporter, export_interval_millis=60_000)
    provider = MeterProvider(metric_readers=[reader])
    counter = provider.get_meter("app").create_counter("orders")
    counter.add(3, {"region": "eu", "note": f"key {SECRET}"})
    otlp_receiver.fail_next(1, signal="metrics", retry_after=0.1)  # the sender retries the backend's refusal
    provider.shutdown()
    (metric,) = otlp_receiver.wait_for_metrics("orders", timeout=20)
    assert metric.data_points[0].value == 3
    assert metric.data_points[0].attributes == {"region": "eu", "note": "key <SECRET>"}
    statuses = [r.status for r in otlp_receiver.requests if r.signal == "metrics"]
    assert statuses[0] in (503, "UNAVAILABLE") and statuses[-1] in (200, "OK")
    assert gateway.metrics.count("llmotel.gateway.passthrough_requests", signal="metrics", outcome="ok") == 1


@pytest.mark.parametrize("sender", ["http", "grpc"])
def test_logs_pass_through_scrubbed_and_redacted(sender: str, start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[])
    exporter = (HttpLogExporter(endpoint=f"http://127.0.0.1:{gateway.http_port}/v1/logs") if sender == "http"
                else GrpcLogExporter(endpoint=f"http://127.0.0.1:{gateway.grpc_port}", insecure=True))
    provider = LoggerProvider()
    provider.add_log_record_processor(SimpleLogRecordProcessor(exporter))
    provider.get_logger("app").emit(
        body=f"customer {EMAIL} asked; upstream answered with key {SECRET}", event_name="support.reply",
        attributes={"order_id": "48213", "gen_ai.input.messages": f'[{{"role":"user","content":"mail {EMAIL}"}}]'})
    provider.shutdown()
    (record,) = otlp_receiver.wait_for_logs(1, timeout=20)
    assert record.body == "customer <EMAIL_ADDRESS> asked; upstream answered with key <SECRET>"
    assert record.attributes == {"order_id": "48213",
                                 "gen_ai.input.messages": '[{"role":"user","content":"mail <EMAIL_ADDRESS>"}]'}
    assert record.event_name == "support.reply"


def test_backend_refusals_reach_the_sender(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    import requests
    from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest

    gateway = start_gateway(evaluators=[], redact=False)
    body = ExportLogsServiceRequest().SerializeToString()
    target = f"http://127.0.0.1:{gateway.http_port}/v1/logs"
    otlp_receiver.fail_next(1, http_status=400, signal="logs")
    refused = requests.post(target, data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert refused.status_code == 400
    otlp_receiver.fail_next(1, http_status=503, signal="logs", retry_after=2)
    unavailable = requests.post(target, data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=10)
    assert unavailable.status_code == 503 and unavailable.headers["Retry-After"] == "2"
    assert requests.post(target, data=body, headers={"Content-Type": "application/x-protobuf"},
                         timeout=10).status_code == 200
