"""``--spool DIR``: what the gateway acknowledged survives a crash (SIGKILL) or a drain the backend could not take."""

from __future__ import annotations

import os
import signal
import stat
import time
from pathlib import Path
from typing import Any

import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from llmotel.gateway.spool import Spool
from tests.gateway.clients import semconv_chat
from tests.gateway.processes import GatewayProcess
from tests.gateway.test_admission import make_spans, post_spans
from tests.otlp_receiver import OtlpReceiver


def post(gateway: GatewayProcess, spans: list[Any]) -> int:
    return requests.post(f"{gateway.http}/v1/traces", data=encode_spans(spans).SerializeToString(),
                         headers={"Content-Type": "application/x-protobuf"}, timeout=30).status_code


def test_acknowledged_spans_survive_a_crash_and_are_replayed_in_order(otlp_receiver: OtlpReceiver,
                                                                      tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    args = ["--endpoint", otlp_receiver.http_endpoint, "--evaluators", "failure_to_answer", "--redact-pii",
            "--spool", str(spool)]
    otlp_receiver.fail_for(3600)  # the backend is down while the gateway crashes
    gateway = GatewayProcess(args).start()
    try:
        sent = []
        for batch in range(5):
            spans = make_spans(20, f"before {batch}", semconv_chat())
            sent += [s.name for s in spans]
            assert post(gateway, spans) == 200
        assert len(list(spool.glob("*.otlp"))) == 5
        gateway.signal(signal.SIGKILL)
        gateway.wait(10)
        otlp_receiver.clear()  # the backend is back

        gateway.restart()
        assert post(gateway, make_spans(3, "after", semconv_chat())) == 200
        spans = otlp_receiver.wait_for_spans(103, timeout=60)
        assert [s.name for s in spans] == sent + [f"after {i}" for i in range(3)]  # once each, in order
        assert all(any(e.attributes.get("gen_ai.evaluation.name") == "failure_to_answer" for e in s.events)
                   for s in spans)
        assert b"maria.schmidt@example.com" not in otlp_receiver.raw_traces()
        deadline = time.monotonic() + 10
        while list(spool.glob("*.otlp")) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert list(spool.glob("*.otlp")) == []
        assert "replaying 100 span(s) from the spool" in "".join(gateway.output)
    finally:
        gateway.stop()


def test_a_drain_the_backend_cannot_take_leaves_the_rest_in_the_spool(otlp_receiver: OtlpReceiver,
                                                                       tmp_path: Path) -> None:
    spool = tmp_path / "spool"
    args = ["--endpoint", otlp_receiver.grpc_endpoint, "--protocol", "grpc", "--spool", str(spool),
            "--grace-period", "1"]
    otlp_receiver.fail_for(3600)
    with GatewayProcess(args) as gateway:
        assert post(gateway, make_spans(10, "kept")) == 200
        gateway.signal(signal.SIGTERM)
        assert gateway.wait(20) == 0
    assert "10 accepted span(s) not delivered within the grace period; kept in the spool" in "".join(gateway.output)
    assert len(list(spool.glob("*.otlp"))) == 1
    otlp_receiver.clear()
    with GatewayProcess(args, grpc_port=gateway.grpc_port, http_port=gateway.http_port):
        spans = otlp_receiver.wait_for_spans(10, timeout=30)
    assert sorted(s.name for s in spans) == sorted(f"kept {i}" for i in range(10))


def test_spool_files_are_private_and_half_written_ones_are_dropped(tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    spool = Spool(directory)
    spool.write(7, b"seven")
    spool.write(3, b"three")
    (directory / "00000000000000000009.otlp.tmp").write_bytes(b"half")
    assert stat.S_IMODE(directory.stat().st_mode) == 0o700
    assert {stat.S_IMODE(p.stat().st_mode) for p in directory.iterdir()} == {0o600, 0o644}  # .tmp made by the test
    again = Spool(directory, fsync=True)
    assert list(again.pending()) == [(3, b"three"), (7, b"seven")] and again.next_seq() == 8
    assert not list(directory.glob("*.tmp"))
    again.write(8, b"eight")
    again.remove(3)
    again.remove(3)
    assert [seq for seq, _ in again.pending()] == [7, 8] and len(again) == 2


def test_a_spool_that_cannot_be_written_refuses_requests(start_gateway: Any, otlp_receiver: OtlpReceiver,
                                                         tmp_path: Path) -> None:
    directory = tmp_path / "spool"
    gateway = start_gateway(evaluators=[], redact=False, spool=str(directory))
    assert post_spans(gateway, make_spans(1, "stored")).status_code == 200
    otlp_receiver.wait_for_spans(1, timeout=10)
    assert gateway.engine.flush(10)
    os.rmdir(directory)
    directory.write_text("not a directory any more")
    refused = post_spans(gateway, make_spans(1, "refused"))
    assert refused.status_code == 503 and "spool" in refused.content.decode(errors="replace")
    assert gateway.metrics.count("llmotel.gateway.refused_requests", reason="spool_error") == 1
    assert gateway.engine.held_spans == 0
