"""``enable(evaluation_in="subprocess")``: the same pipeline in a child process; restarts; nothing lost."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import textwrap
import time
from typing import Any

import openai
import pytest

import llmotel
from llmotel import _setup
from llmotel.errors import ConfigurationError
from llmotel.evaluation import EvaluationInput, EvaluationResult
from llmotel.gateway.out_of_process import SubprocessEvaluatingProcessor
from tests.gateway.clients import results
from tests.gateway.conftest import OFFLINE
from tests.gateway.processes import clean_environment
from tests.otlp_receiver import OtlpReceiver

USER = [{"role": "user", "content": "I'm Jane Roe, jane.roe@example.org. How long does delivery take?"}]


class AnswerLength:
    """A custom evaluator: goes to the child pickled, by reference to this module."""

    name = "answer_length"
    content_fields = ()

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        return EvaluationResult("answer_length", score=len(input.output_text), label="ok")


def processor() -> SubprocessEvaluatingProcessor:
    state = _setup._enabled
    assert state is not None
    (found,) = state.pipeline._processors
    assert isinstance(found, SubprocessEvaluatingProcessor)
    return found


def child_pid() -> int:
    child = processor()._child
    assert child is not None
    return child.process.pid


def wait_for(condition: Any, timeout: float = 120) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.05)


def test_evaluated_and_redacted_in_the_child_unevaluated_without_content_while_it_is_down(
        otlp_receiver: OtlpReceiver, openai_client: openai.OpenAI) -> None:
    llmotel.enable(endpoint=otlp_receiver.http_endpoint, evaluators=[*OFFLINE, AnswerLength()], redact_pii=True,
                   export=llmotel.ExportOptions(metrics=False, console=False),
                   evaluation=llmotel.EvaluationOptions(run_in="subprocess"), pii=llmotel.PiiOptions(use_ner=False))
    first_child = child_pid()
    assert first_child != os.getpid()
    for _ in range(3):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(60)
    spans = otlp_receiver.wait_for_spans(3, timeout=10)
    assert all(set(results(s)) >= {"language_mismatch", "failure_to_answer", "output_sentiment", "input_toxicity",
                                   "pii", "answer_length"} for s in spans)
    assert all("<EMAIL_ADDRESS>" in s.attributes["gen_ai.input.messages"] for s in spans)

    os.kill(first_child, signal.SIGKILL)  # the child dies: spans go out unevaluated, never lost, never unredacted
    wait_for(lambda: processor()._state == "down", 10)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(10)
    down = otlp_receiver.wait_for_spans(4, timeout=10)[3]
    assert down.attributes["llmotel.evaluation.status"] == "unevaluated"
    assert "gen_ai.input.messages" not in down.attributes and down.name == "chat"
    assert processor().unevaluated_spans == 1

    wait_for(lambda: processor()._state == "up")  # restarted
    assert processor().restarts == 1 and child_pid() != first_child
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(60)
    again = otlp_receiver.wait_for_spans(5, timeout=10)[4]
    assert "answer_length" in results(again) and "<EMAIL_ADDRESS>" in again.attributes["gen_ai.input.messages"]
    assert b"jane.roe@example.org" not in otlp_receiver.raw_traces()

    second_child = child_pid()
    llmotel.shutdown(timeout=10)
    wait_for(lambda: _gone(second_child), 10)


def _gone(pid: int) -> bool:
    try:
        finished, _ = os.waitpid(pid, os.WNOHANG)
    except ChildProcessError:
        return True
    return finished == pid


def test_content_kept_out_of_spans_still_reaches_the_child(otlp_receiver: OtlpReceiver,
                                                           openai_client: openai.OpenAI) -> None:
    llmotel.enable(endpoint=otlp_receiver.http_endpoint, evaluators=["failure_to_answer", "language_mismatch"],
                   capture_content=False, export=llmotel.ExportOptions(metrics=False, console=False),
                   evaluation=llmotel.EvaluationOptions(run_in="subprocess"))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(60)
    (span,) = otlp_receiver.wait_for_spans(1, timeout=10)
    assert results(span)["failure_to_answer"] == "answered" and results(span)["language_mismatch"] == "match"
    assert "gen_ai.input.messages" not in span.attributes
    assert b"delivery" not in otlp_receiver.raw_traces()


class _Unpicklable:
    name = "unpicklable"

    def __init__(self) -> None:
        self.lock = __import__("threading").Lock()

    def evaluate(self, input: EvaluationInput) -> None:
        return None


class _BreaksInTheChild:
    """Pickles fine, but cannot be rebuilt in the child."""

    name = "breaks"

    def __reduce__(self) -> Any:
        return (int, ("not a number",))

    def evaluate(self, input: EvaluationInput) -> None:
        return None


def test_what_cannot_go_to_a_child_is_a_configuration_error(otlp_receiver: OtlpReceiver) -> None:
    with pytest.raises(ConfigurationError, match="evaluation_in"):
        llmotel.enable(endpoint=otlp_receiver.http_endpoint, evaluators=["failure_to_answer"],
                       evaluation=llmotel.EvaluationOptions(run_in="process"))
    with pytest.raises(ConfigurationError, match="pickled"):
        llmotel.enable(endpoint=otlp_receiver.http_endpoint, evaluators=[_Unpicklable()],
                       evaluation=llmotel.EvaluationOptions(run_in="subprocess"))
    main_class = type("MainEvaluator", (), {"name": "m", "evaluate": lambda self, input: None,
                                            "__module__": "__main__"})
    with pytest.raises(ConfigurationError, match="__main__"):
        llmotel.enable(endpoint=otlp_receiver.http_endpoint, evaluators=[main_class()],
                       evaluation=llmotel.EvaluationOptions(run_in="subprocess"))
    with pytest.raises(ConfigurationError, match="an evaluation process that starts: ValueError"):
        llmotel.enable(endpoint=otlp_receiver.http_endpoint, evaluators=[_BreaksInTheChild()],
                       evaluation=llmotel.EvaluationOptions(run_in="subprocess"))
    assert _setup._enabled is None


APP = """
    import os, sys, time, openai, llmotel
    from llmotel import _setup
    llmotel.enable(endpoint={endpoint!r}, evaluators=["failure_to_answer"], redact_pii=True,
                   pii=llmotel.PiiOptions(use_ner=False), export=llmotel.ExportOptions(metrics=False, console=False))
    processor = _setup._enabled.pipeline._processors[0]
    print("child", processor._child.process.pid, flush=True)
    client = openai.OpenAI(api_key="test-key", base_url={base_url!r}, max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages={messages!r})
    llmotel.flush(timeout=60)
    pid = os.fork()
    if pid == 0:  # a forked worker (gunicorn-style): its own evaluation process, outliving the application
        client.chat.completions.create(model="gpt-4o-mini", messages={messages!r})
        print("forked flush", llmotel.flush(timeout=90), flush=True)
        time.sleep(600)
        os._exit(0)
    print("worker", pid, flush=True)
    time.sleep(600)
"""


def test_forked_workers_and_a_killed_application(otlp_receiver: OtlpReceiver, fake_provider: Any) -> None:
    env = clean_environment(LLMOTEL_EVALUATION_IN="subprocess")  # the environment variable works too
    app = subprocess.Popen([sys.executable, "-c", textwrap.dedent(APP.format(
        endpoint=otlp_receiver.http_endpoint, base_url=fake_provider.openai_base_url, messages=USER))],
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        assert app.stdout is not None
        child = int(app.stdout.readline().split()[1])
        lines = {app.stdout.readline().strip() for _ in range(2)}
        worker = int(next(line for line in lines if line.startswith("worker")).split()[1])
        assert "forked flush True" in lines
        spans = otlp_receiver.wait_for_spans(2, timeout=10)
        assert all(results(s)["failure_to_answer"] == "answered" and results(s)["pii"] == "detected" for s in spans)
        assert b"jane.roe" not in otlp_receiver.raw_traces()
        # the application dies without shutting down: its evaluation process ends too, though the forked worker
        # (which does not hold the pipe to it) lives on
        app.kill()
        app.wait(10)
        deadline = time.monotonic() + 10
        while _alive(child) and time.monotonic() < deadline:
            time.sleep(0.05)
        assert not _alive(child) and _alive(worker)
    finally:
        app.kill()
        app.wait(10)
        if "worker" in locals() and _alive(worker):
            os.kill(worker, signal.SIGKILL)


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/status") as status:
            return "State:\tZ" not in status.read()
    except FileNotFoundError:
        return False
