"""The export processor against a real OTLP receiver: retries through outages, final failures, bounds.

(Issue 13, "Outage behaviour": spans that fail with a retryable status are kept for a bounded retry window.)
"""

from __future__ import annotations

import dataclasses
import time

import grpc
import pytest
from opentelemetry.sdk.trace import TracerProvider

import llmotel
from llmotel._setup import export_stats
from llmotel.export.otlp_traces import retry_after_seconds
from tests.otlp_receiver import OtlpReceiver


def enable(endpoint: str, protocol: str = "http/protobuf", export: llmotel.ExportOptions | None = None) -> None:
    export = dataclasses.replace(export or llmotel.ExportOptions(), console=False, metrics=False)
    llmotel.enable(endpoint=endpoint, protocol=protocol, tracer_provider=TracerProvider(), export=export)


def make_spans(n: int, prefix: str = "t") -> None:
    for i in range(n):
        with llmotel.task(f"{prefix}{i}"):
            pass


@pytest.mark.parametrize("protocol, http_status, grpc_code", [
    ("http/protobuf", 429, None),
    ("http/protobuf", 500, None),
    ("http/protobuf", 503, None),
    ("grpc", None, grpc.StatusCode.UNAVAILABLE),
    ("grpc", None, grpc.StatusCode.RESOURCE_EXHAUSTED),
])
def test_spans_survive_an_outage_with_a_retryable_status(otlp_receiver, protocol, http_status, grpc_code):
    enable(otlp_receiver.endpoint(protocol), protocol, export=llmotel.ExportOptions(retry_window=20))
    otlp_receiver.fail_for(2.0, http_status=http_status or 503, grpc_code=grpc_code or grpc.StatusCode.UNAVAILABLE)
    make_spans(30)
    assert llmotel.flush(timeout=15)
    spans = otlp_receiver.wait_for_spans(30, timeout=5)
    assert len({s.name for s in spans}) == 30
    assert export_stats() == {"exported_spans": 30, "failed_spans": 0}
    assert any(not r.accepted for r in otlp_receiver.requests)  # the outage was real


def test_spans_survive_a_backend_restart(otlp_receiver):
    port = otlp_receiver.http_port
    otlp_receiver.stop()  # connections are refused now
    enable(f"http://127.0.0.1:{port}", export=llmotel.ExportOptions(retry_window=20))
    make_spans(10)
    time.sleep(1.5)
    with OtlpReceiver(http_port=port) as restarted:
        assert llmotel.flush(timeout=15)
        assert len(restarted.wait_for_spans(10, timeout=5)) == 10


def test_a_final_failure_is_not_retried(otlp_receiver):
    enable(otlp_receiver.http_endpoint)
    otlp_receiver.fail_next(1, http_status=400)
    make_spans(3)
    assert llmotel.flush(timeout=10) is False
    assert export_stats() == {"exported_spans": 0, "failed_spans": 3}
    assert len(otlp_receiver.requests) == 1


def test_the_retry_window_bounds_retries(otlp_receiver, caplog):
    enable(otlp_receiver.http_endpoint, export=llmotel.ExportOptions(retry_window=1))
    otlp_receiver.fail_for(30, http_status=503)
    make_spans(3)
    started = time.monotonic()
    assert llmotel.flush(timeout=10) is False
    assert time.monotonic() - started < 3
    assert export_stats()["failed_spans"] == 3
    assert any("retried for 1 s" in r.getMessage() for r in caplog.records)


def test_the_servers_retry_after_is_honoured(otlp_receiver):
    enable(otlp_receiver.http_endpoint, export=llmotel.ExportOptions(retry_window=20))
    otlp_receiver.fail_next(1, http_status=429, retry_after=1.5)
    make_spans(1)
    started = time.monotonic()
    assert llmotel.flush(timeout=10)
    assert time.monotonic() - started >= 1.4
    assert [r.accepted for r in otlp_receiver.requests] == [False, True]


def test_a_full_export_queue_drops_new_spans_and_says_so(otlp_receiver):
    enable(otlp_receiver.http_endpoint, export=llmotel.ExportOptions(queue_size=5, retry_window=20))
    otlp_receiver.fail_for(1.0, http_status=503)
    make_spans(12)
    assert llmotel.flush(timeout=10) is False
    stats = export_stats()
    assert stats["exported_spans"] + stats["failed_spans"] == 12
    assert stats["failed_spans"] >= 7


def test_gzip_compression(otlp_receiver):
    enable(otlp_receiver.http_endpoint, export=llmotel.ExportOptions(compression="gzip"))
    make_spans(2)
    assert llmotel.flush(timeout=10)
    assert otlp_receiver.requests[0].content_encoding == "gzip"
    assert len(otlp_receiver.spans) == 2


@pytest.mark.parametrize("value, seconds", [("3", 3.0), ("0", 0.0), ("soon", None), ("", None),
                                            ("Wed, 21 Oct 2015 07:28:00 GMT", 0.0)])
def test_retry_after_values(value, seconds):
    assert retry_after_seconds(value) == seconds


def test_spans_go_out_after_the_schedule_delay_without_a_flush(otlp_receiver):
    enable(otlp_receiver.http_endpoint)
    make_spans(1)
    assert len(otlp_receiver.wait_for_spans(1, timeout=5)) == 1  # the delay is 0.5 s; no flush() called
