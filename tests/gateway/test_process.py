"""The ``llmotel gateway`` command as a real process: configuration errors, SIGTERM drains and exits."""

from __future__ import annotations

import signal
import subprocess
import sys
import time

import requests
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans

from tests.gateway.clients import EMAIL, semconv_chat
from tests.gateway.processes import OFFLINE, REPO_ROOT, GatewayProcess, clean_environment
from tests.gateway.test_admission import make_spans
from tests.otlp_receiver import OtlpReceiver


def run_cli(*args: str, **env: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llmotel", "gateway", *args], cwd=REPO_ROOT, capture_output=True,
                          text=True, env=clean_environment(**env), timeout=60)


def test_configuration_errors_exit_2_with_the_setting_named(otlp_receiver: OtlpReceiver) -> None:
    result = run_cli()
    assert result.returncode == 2 and "endpoint" in result.stderr
    result = run_cli("--endpoint", "http://127.0.0.1:4318", "--http-port", "4318", "--grpc-port", "0")
    assert result.returncode == 2 and "forward to itself" in result.stderr
    result = run_cli("--endpoint", otlp_receiver.http_endpoint, "--evaluators", "nonsense")
    assert result.returncode == 2 and "evaluators" in result.stderr
    result = run_cli("--endpoint", otlp_receiver.http_endpoint, "--queue-size", "-3")
    assert result.returncode == 2 and "queue-size" in result.stderr.replace("queue_spans", "queue-size")
    result = run_cli("--endpoint", otlp_receiver.http_endpoint, LLMOTEL_GATEWAY_GRPC_PORT="99999")
    assert result.returncode == 2 and "LLMOTEL_GATEWAY_GRPC_PORT" in result.stderr


def test_sigterm_stops_accepting_drains_and_forwards_the_rest_unevaluated(otlp_receiver: OtlpReceiver) -> None:
    with GatewayProcess(["--endpoint", otlp_receiver.http_endpoint, "--evaluators", OFFLINE, "--redact-pii",
                         "--grace-period", "2", "--queue-size", "100000"]) as gateway:
        sent = []
        for batch in range(50):  # 5,000 LLM spans: more than the time to send them and 2 s of evaluation
            spans = make_spans(100, f"chat {batch}", semconv_chat())
            sent += [format(s.context.span_id, "016x") for s in spans]
            response = requests.post(f"{gateway.http}/v1/traces", data=encode_spans(spans).SerializeToString(),
                                     headers={"Content-Type": "application/x-protobuf"}, timeout=30)
            assert response.status_code == 200
        started = time.monotonic()
        gateway.signal(signal.SIGTERM)
        time.sleep(0.3)
        try:  # refused while draining (or the listener is already closed)
            late = requests.post(f"{gateway.http}/v1/traces", timeout=5,
                                 data=encode_spans(make_spans(1, "late")).SerializeToString(),
                                 headers={"Content-Type": "application/x-protobuf"})
            assert late.status_code == 503
        except requests.ConnectionError:
            pass
        assert gateway.wait(30) == 0
        took = time.monotonic() - started
    spans = otlp_receiver.spans
    assert sorted(s.span_id for s in spans) == sorted(sent), "".join(gateway.output)[-2000:]  # each accepted, once
    unevaluated = [s for s in spans if s.attributes.get("llmotel.evaluation.status") == "unevaluated"]
    evaluated = [s for s in spans if len(s.events) >= 7]
    assert unevaluated and evaluated, (len(unevaluated), len(evaluated))
    assert len(unevaluated) + len(evaluated) == len(sent)
    # unevaluated spans are redacted, or (when even redaction could not finish in time) forwarded without content
    assert all("<EMAIL_ADDRESS>" in s.attributes.get("gen_ai.input.messages", "<EMAIL_ADDRESS>") for s in spans)
    assert EMAIL.encode() not in otlp_receiver.raw_traces()
    assert took < 2 + 2, took  # the grace period, plus the process's exit
    assert "stopped after draining" in "".join(gateway.output)
