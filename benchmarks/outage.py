"""Spans lost across a backend outage, per failure mode: llmotel's export processor vs the SDK's batch processor.

    python benchmarks/outage.py [--seconds 10] [--rate 60]

For each failure mode, spans are made at ``--rate`` per second for ``--seconds`` while the backend (the tests'
real OTLP receiver on loopback) is out, then it comes back and the exporter gets 30 s to catch up. Modes:
connection refused (receiver stopped, restarted on the same port), HTTP 429, 500 and 503, and gRPC UNAVAILABLE.
The baseline is the OpenTelemetry SDK's ``BatchSpanProcessor`` with its OTLP exporter, measured in the same run.
"""

from __future__ import annotations

import argparse
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import grpc
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanProcessor

from llmotel.config import resolve
from llmotel.export.batch import ExportProcessor
from llmotel.export.otlp import span_exporter
from tests.otlp_receiver import OtlpReceiver

MODES = ("refused", "http 429", "http 500", "http 503", "grpc UNAVAILABLE")


def llmotel_processor(endpoint: str, protocol: str) -> SpanProcessor:
    return ExportProcessor(span_exporter(resolve(env={}, endpoint=endpoint, protocol=protocol)))


def sdk_processor(endpoint: str, protocol: str) -> SpanProcessor:
    if protocol == "grpc":
        return BatchSpanProcessor(GrpcSpanExporter(endpoint=endpoint.removeprefix("http://"), insecure=True))
    return BatchSpanProcessor(HttpSpanExporter(endpoint=f"{endpoint}/v1/traces"))


def run(mode: str, make: Callable[[str, str], SpanProcessor], seconds: float, rate: float) -> tuple[int, int, float]:
    """(spans made, spans received, seconds to catch up after the outage)."""
    protocol = "grpc" if mode.startswith("grpc") else "http/protobuf"
    receiver = OtlpReceiver().start()
    http_port, grpc_port = receiver.http_port, receiver.grpc_port
    endpoint = receiver.endpoint(protocol)
    if mode == "refused":
        receiver.stop()
    elif mode.startswith("http"):
        receiver.fail_for(seconds, http_status=int(mode.split()[1]))
    else:
        receiver.fail_for(seconds, grpc_code=grpc.StatusCode.UNAVAILABLE)
    provider = TracerProvider()
    processor = make(endpoint, protocol)
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("outage")
    total = int(seconds * rate) + 1
    started = time.monotonic()
    for i in range(total):
        with tracer.start_as_current_span(f"span {i}"):
            pass
        time.sleep(max(started + (i + 1) / rate - time.monotonic(), 0))
    if mode == "refused":
        receiver = OtlpReceiver(http_port=http_port, grpc_port=grpc_port).start()
    recovered = time.monotonic()
    flushed = threading.Thread(target=processor.force_flush, args=(30_000,), daemon=True)
    flushed.start()
    flushed.join(31)
    caught_up = time.monotonic() - recovered
    received = len({s.name for s in receiver.spans})
    processor.shutdown()
    receiver.stop()
    return total, received, caught_up


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--rate", type=float, default=60.0)
    args = parser.parse_args()
    print(f"{args.seconds:g} s outage, {args.rate:g} spans/s; lost spans (catch-up time after recovery)")
    print(f"{'failure mode':<18} {'llmotel':>20} {'SDK BatchSpanProcessor':>26}")
    for mode in MODES:
        row: list[Any] = []
        for make in (llmotel_processor, sdk_processor):
            total, received, caught_up = run(mode, make, args.seconds, args.rate)
            row.append(f"{total - received}/{total} ({caught_up:.1f} s)")
        print(f"{mode:<18} {row[0]:>20} {row[1]:>26}", flush=True)


if __name__ == "__main__":
    main()
