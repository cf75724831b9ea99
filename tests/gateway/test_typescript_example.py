"""The TypeScript example (OpenTelemetry JS SDK + plain fetch) against a gateway: the cross-language path, run.

Needs ``node``; the npm packages come from the registry (``.ci/run`` installs them with ``npm ci``; this test does
the same when they are missing and ``npm`` is present).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from pathlib import Path
from typing import Any

import pytest

from tests.gateway.clients import results
from tests.otlp_receiver import OtlpReceiver

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "typescript"
NODE = shutil.which("node")
pytestmark = pytest.mark.skipif(NODE is None, reason="node is not installed")


def _installed() -> Path:
    modules = EXAMPLE / "node_modules"
    if not (modules / "@opentelemetry" / "sdk-trace").is_dir():
        npm = shutil.which("npm")
        if npm is None:
            pytest.skip("npm is not installed and the example's packages are missing")
        result = subprocess.run([npm, "ci", "--no-audit", "--no-fund"], cwd=EXAMPLE, capture_output=True, text=True,
                                timeout=600)
        assert result.returncode == 0, f"npm ci failed:\n{result.stdout}\n{result.stderr}"
    return modules


@pytest.fixture(scope="module")
def compiled(tmp_path_factory: pytest.TempPathFactory) -> Path:
    modules = _installed()
    out = tmp_path_factory.mktemp("ts-example")
    assert NODE is not None
    build = subprocess.run([NODE, str(modules / "typescript" / "bin" / "tsc"), "-p", str(EXAMPLE), "--outDir",
                            str(out)], capture_output=True, text=True, timeout=300)
    assert build.returncode == 0, f"tsc failed:\n{build.stdout}\n{build.stderr}"
    return out / "app.js"


def run_example(compiled: Path, gateway_url: str, question: str, **env: str) -> dict[str, Any]:
    assert NODE is not None
    environment = {**os.environ, "LLMOTEL_GATEWAY_URL": gateway_url, "NODE_PATH": str(EXAMPLE / "node_modules"),
                   **env}
    result = subprocess.run([NODE, str(compiled), question], env=environment, capture_output=True, text=True,
                            timeout=120)
    assert result.returncode == 0, f"the example failed:\n{result.stdout}\n{result.stderr}"
    output: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return output


def test_typescript_spans_are_evaluated_and_its_evaluation_lands_on_its_span(
        compiled: Path, start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    token = "ts-example-token-41e7"
    gateway = start_gateway(token=token)
    question = "Hi, I'm Maria (maria.schmidt@example.com). How long does delivery to Berlin take?"
    printed = run_example(compiled, f"http://127.0.0.1:{gateway.http_port}", question, LLMOTEL_GATEWAY_TOKEN=token)
    assert printed["answered"] is True

    spans = {s.name: s for s in otlp_receiver.wait_for_spans(3, timeout=30)}
    chat, request, evaluation = spans["chat stand-in-1"], spans["answer_question"], spans["evaluation Answered"]
    assert (chat.trace_id, chat.span_id) == (printed["trace_id"], printed["span_id"])
    assert chat.parent_span_id == request.span_id and chat.resource["service.name"] == "ts-support-bot"
    assert chat.scope_name == "support-bot"
    checks = results(chat)
    assert checks["language_mismatch"] == "match" and checks["failure_to_answer"] == "answered"
    assert checks["pii"] == "detected" and "<EMAIL_ADDRESS>" in chat.attributes["gen_ai.input.messages"]
    assert b"maria.schmidt@example.com" not in otlp_receiver.raw_traces()
    assert (evaluation.trace_id, evaluation.parent_span_id) == (chat.trace_id, chat.span_id)
    (event,) = evaluation.events
    assert event.attributes["gen_ai.evaluation.name"] == "Answered"
    assert event.attributes["gen_ai.evaluation.score.label"] == "true"
    assert event.attributes["llmotel.evaluation.tags"] == ["source:typescript"]
    assert gateway.metrics.count("llmotel.gateway.accepted_spans", source="intake") == 1


def test_an_unanswered_question_and_a_wrong_token(compiled: Path, start_gateway: Any,
                                                  otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False)
    printed = run_example(compiled, f"http://127.0.0.1:{gateway.http_port}", "Qu'est-ce que la photosynthèse ?")
    assert printed["answered"] is False
    evaluation = next(s for s in otlp_receiver.wait_for_spans(3, timeout=30) if s.name == "evaluation Answered")
    assert evaluation.events[0].attributes["gen_ai.evaluation.score.label"] == "false"

    guarded = start_gateway(evaluators=[], redact=False, token="right-token-123")
    assert NODE is not None
    failed = subprocess.run([NODE, str(compiled), "How long does delivery take?"], capture_output=True, text=True,
                            timeout=120, env={**os.environ, "NODE_PATH": str(EXAMPLE / "node_modules"),
                                              "LLMOTEL_GATEWAY_URL": f"http://127.0.0.1:{guarded.http_port}",
                                              "LLMOTEL_GATEWAY_TOKEN": "wrong-token"})
    assert failed.returncode == 1 and "401" in failed.stderr
