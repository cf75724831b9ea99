"""Scale-out on loopback: three gateway processes, spans routed by trace ID as the collector's ``loadbalancing``
exporter routes them, one replica restarted meanwhile; every span arrives evaluated, exactly once.

No collector binary with the OTLP receiver installs from the registries here, so the test client does what the
collector does: split each batch by trace, pick the replica by the consistent-hash ring of ``routing.py``, and
retry a refused or failed export (the collector's ``retry_on_failure`` and queue) until the replica takes it.
"""

from __future__ import annotations

import collections
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from tests.gateway.clients import EMAIL, semconv_chat
from tests.gateway.processes import GatewayProcess
from tests.gateway.routing import TraceIdRing, positions_for
from tests.otlp_receiver import OtlpReceiver

TRACES = 90


def test_the_ring_matches_the_collectors_test_vectors() -> None:
    assert len(positions_for("host1", 10)) == 10
    assert sorted(TraceIdRing(["endpoint-1"], weight=5).items) == [
        (1401, "endpoint-1"), (4175, "endpoint-1"), (14133, "endpoint-1"), (17836, "endpoint-1"),
        (21667, "endpoint-1")]
    assert TraceIdRing(["endpoint-1", "endpoint-2"], weight=5).items == [
        (1401, "endpoint-1"), (4175, "endpoint-1"), (10240, "endpoint-2"), (14133, "endpoint-1"),
        (15002, "endpoint-2"), (17836, "endpoint-1"), (21263, "endpoint-2"), (21667, "endpoint-1"),
        (26806, "endpoint-2"), (27020, "endpoint-2")]
    ring = TraceIdRing(["endpoint-1", "endpoint-2"])
    assert len(ring.items) == 200
    for key, expected in ((bytes([1, 2, 0, 0]), "endpoint-1"), (bytes([128, 128, 0, 0]), "endpoint-2"),
                          (b"ad-service-7", "endpoint-1"), (b"get-recommendations-1", "endpoint-2")):
        assert ring.endpoint_for(key) == expected


def traces(count: int) -> list[list[ReadableSpan]]:
    """``count`` traces of three spans (a server span, an LLM call, a tool call), each as its own list."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("scale-out")
    for i in range(count):
        with tracer.start_as_current_span(f"request {i}", kind=SpanKind.SERVER):
            with tracer.start_as_current_span(f"chat {i}", kind=SpanKind.CLIENT, attributes=semconv_chat()):
                pass
            with tracer.start_as_current_span(f"execute_tool lookup {i}"):
                pass
    by_trace: dict[int, list[ReadableSpan]] = collections.defaultdict(list)
    for span in exporter.get_finished_spans():
        by_trace[span.context.trace_id].append(span)
    return list(by_trace.values())


@pytest.fixture
def replicas(otlp_receiver: OtlpReceiver, tmp_path: Path) -> Iterator[list[GatewayProcess]]:
    gateways = [GatewayProcess(["--endpoint", otlp_receiver.http_endpoint, "--evaluators", "failure_to_answer",
                                "--redact-pii", "--spool", str(tmp_path / f"spool-{i}")]) for i in range(3)]
    starting = [threading.Thread(target=g.start) for g in gateways]
    for thread in starting:
        thread.start()
    for thread in starting:
        thread.join()
    try:
        yield gateways
    finally:
        for gateway in gateways:
            gateway.stop()


def accepted(gateway: GatewayProcess) -> int:
    text = requests.get(f"{gateway.http}/metrics", timeout=10).text
    line = next(x for x in text.splitlines() if x.startswith("llmotel_gateway_accepted_spans_total"))
    return int(float(line.rsplit(" ", 1)[1]))


def test_three_replicas_behind_trace_id_routing_with_a_restart(replicas: list[GatewayProcess],
                                                               otlp_receiver: OtlpReceiver,
                                                               caplog: pytest.LogCaptureFixture) -> None:
    assert all(g.process is not None and g.process.poll() is None for g in replicas)
    endpoints = {f"127.0.0.1:{g.grpc_port}": g for g in replicas}
    ring = TraceIdRing(list(endpoints))
    exporters = {endpoint: OTLPSpanExporter(endpoint=f"http://{endpoint}", insecure=True, timeout=2)
                 for endpoint in endpoints}
    all_traces = traces(TRACES)
    routed: dict[str, int] = collections.Counter()
    for trace in all_traces:
        routed[ring.endpoint_for_trace(trace[0].context.trace_id)] += len(trace)
    assert len(routed) == 3, routed  # the ring spreads 90 traces over all three replicas
    restarted = replicas[1]
    restarted_endpoint = f"127.0.0.1:{restarted.grpc_port}"
    before_restart: dict[str, int] = {}
    retries = 0

    def export(endpoint: str, batch: list[ReadableSpan]) -> None:
        nonlocal retries
        deadline = time.monotonic() + 180
        while exporters[endpoint].export(batch) is not SpanExportResult.SUCCESS:  # the collector retries
            retries += 1
            assert time.monotonic() < deadline, f"{endpoint} never took the batch"
            time.sleep(0.2)

    def restart() -> None:
        before_restart[restarted_endpoint] = accepted(restarted)
        restarted.signal(signal.SIGTERM)
        assert restarted.wait(60) == 0
        restarted.restart()

    def routed_to(index: int) -> set[str]:
        return {ring.endpoint_for_trace(trace[0].context.trace_id) for trace in all_traces[index:index + 3]}

    # restart one replica while traffic keeps coming: after a batch followed by one with a trace for that replica
    restart_after = next(i for i in range(15, TRACES - 3, 3) if restarted_endpoint in routed_to(i + 3))
    restarter = threading.Thread(target=restart)
    for index in range(0, TRACES, 3):  # the collector's batches: three traces, split by trace and routed
        batch = [span for trace in all_traces[index:index + 3] for span in trace]
        per_endpoint: dict[str, list[ReadableSpan]] = collections.defaultdict(list)
        for span in batch:
            per_endpoint[ring.endpoint_for_trace(span.context.trace_id)].append(span)
        for endpoint, spans in per_endpoint.items():
            export(endpoint, spans)
        if index == restart_after:
            stopping = restarted.process
            assert stopping is not None
            restarter.start()
            while stopping.poll() is None:  # drained and gone: the next batch meets the replica while it starts
                time.sleep(0.01)
            continue
        time.sleep(0.5)
    restarter.join()

    sent = {format(s.context.span_id, "016x"): s for trace in all_traces for s in trace}
    received = otlp_receiver.wait_for_spans(len(sent), timeout=120)
    counts = collections.Counter(s.span_id for s in received)
    assert set(counts) == set(sent) and set(counts.values()) == {1}  # every span, exactly once
    for span in received:
        evaluations = collections.Counter(e.attributes["gen_ai.evaluation.name"] for e in span.events
                                          if e.name == "gen_ai.evaluation.result")
        if span.name.startswith("chat"):
            assert evaluations == {"failure_to_answer": 1, "pii": 1}, (span.name, evaluations)
            assert "<EMAIL_ADDRESS>" in span.attributes["gen_ai.input.messages"]
        else:
            assert evaluations == {}
    assert EMAIL.encode() not in otlp_receiver.raw_traces()
    # each replica took exactly the traces the ring gave it (the restarted one: over both of its lives)
    taken = {endpoint: accepted(gateway) for endpoint, gateway in endpoints.items()}
    taken[restarted_endpoint] += before_restart[restarted_endpoint]
    assert taken == routed
    # the sender met the restarting replica (down: connection refused) and retried, by itself (the exporter retries
    # within its timeout, so a quick restart need not fail an export) or in the loop above
    exporter_retries = [r for r in caplog.records
                        if "Transient error" in r.getMessage() and restarted_endpoint in r.getMessage()]
    assert retries + len(exporter_retries) > 0
    exporters_shutdown: list[Any] = [e.shutdown() for e in exporters.values()]
    assert len(exporters_shutdown) == 3
