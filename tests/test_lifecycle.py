"""Flush, shutdown, exit and fork keep their promises against dead, hanging and healthy backends (issue 13,
items 7-12). The exit and fork tests run real subprocesses."""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import llmotel
from llmotel import semconv as sc

USER = [{"role": "user", "content": "Where is my parcel? Write to jane.roe@example.org"}]


@pytest.fixture
def dead_endpoint() -> str:
    """An endpoint that refuses connections."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    return f"http://127.0.0.1:{port}"


@pytest.fixture
def hanging_endpoint() -> Iterator[str]:
    """An endpoint that accepts connections (into the backlog) and never answers."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        s.listen(64)
        yield f"http://127.0.0.1:{s.getsockname()[1]}"


def run_script(source: str, timeout: float = 90, **env: str) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_"))}
    environment.update(env)
    return subprocess.run([sys.executable, "-c", textwrap.dedent(source)], env=environment, capture_output=True,
                          text=True, timeout=timeout)


def evaluated(span: Any, name: str) -> bool:
    return any(e.attributes.get(sc.GEN_AI_EVALUATION_NAME) == name for e in span.events_named(
        sc.GEN_AI_EVALUATION_RESULT_EVENT))


# --- item 8: flush() keeps its timeout and says whether everything went out --------------------------------------

@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
@pytest.mark.parametrize("backend", ["dead", "hanging"])
def test_flush_keeps_its_timeout_and_reports_failure(request, openai_client, protocol, backend):
    endpoint = request.getfixturevalue(f"{backend}_endpoint")
    llmotel.enable(endpoint=endpoint, protocol=protocol, tracer_provider=TracerProvider(),
                   export=llmotel.ExportOptions(console=False, metrics=False))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    started = time.monotonic()
    assert llmotel.flush(timeout=1) is False
    assert time.monotonic() - started < 3  # it took 15-20 s before


def test_flush_is_true_when_everything_went_out(otlp_receiver, openai_client):
    llmotel.enable(endpoint=otlp_receiver.http_endpoint, tracer_provider=TracerProvider(),
                   export=llmotel.ExportOptions(console=False, metrics=False))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(timeout=10) is True
    assert len(otlp_receiver.spans) == 1


def test_flush_is_false_when_the_backend_refuses_the_batch(otlp_receiver, openai_client):
    llmotel.enable(endpoint=otlp_receiver.http_endpoint, tracer_provider=TracerProvider(),
                   export=llmotel.ExportOptions(console=False, metrics=False))
    otlp_receiver.fail_next(1, http_status=400)  # a final answer: not retried
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(timeout=10) is False
    assert llmotel.flush(timeout=10) is True  # a loss is reported once


# --- item 9: shutdown() bounds the request in flight by the time left -------------------------------------------

@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_shutdown_keeps_its_timeout_against_a_hanging_backend(hanging_endpoint, openai_client, protocol,
                                                               monkeypatch):
    monkeypatch.setenv("OTEL_EXPORTER_OTLP_TIMEOUT", "25")
    llmotel.enable(endpoint=hanging_endpoint, protocol=protocol, tracer_provider=TracerProvider(),
                   export=llmotel.ExportOptions(console=False))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    started = time.monotonic()
    llmotel.shutdown(timeout=2)
    assert time.monotonic() - started < 5  # 10 s before (25 s with OTEL_EXPORTER_OTLP_TIMEOUT=25)


def test_shutdown_keeps_its_timeout_with_evaluators_and_a_dead_backend(dead_endpoint, openai_client):
    llmotel.enable(endpoint=dead_endpoint, tracer_provider=TracerProvider(), evaluators=["failure_to_answer"],
                   redact_pii=True, export=llmotel.ExportOptions(console=False, metrics=False),
                   pii=llmotel.PiiOptions(use_ner=False))
    for _ in range(20):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    started = time.monotonic()
    llmotel.shutdown(timeout=2)
    assert time.monotonic() - started < 5


# --- items 7, 10, 11: exit without shutdown(), stuck evaluators, spans still being evaluated ---------------------

def test_a_script_that_never_calls_shutdown_loses_nothing_at_exit(otlp_receiver, fake_provider):
    result = run_script(f"""
        import openai, llmotel
        llmotel.enable(endpoint={otlp_receiver.http_endpoint!r}, evaluators=["failure_to_answer"],
                       redact_pii=True, pii=llmotel.PiiOptions(use_ner=False),
                       export=llmotel.ExportOptions(metrics=False, console=False))
        client = openai.OpenAI(api_key="test-key", base_url={fake_provider.openai_base_url!r}, max_retries=0)
        for _ in range(5):
            client.chat.completions.create(model="gpt-4o-mini", messages={USER!r})
    """)
    assert result.returncode == 0, result.stderr
    assert "cannot schedule new futures" not in result.stderr
    spans = otlp_receiver.wait_for_spans(5, timeout=10)
    assert len(spans) == 5
    assert all(evaluated(s, "failure_to_answer") and evaluated(s, "pii") for s in spans)
    assert b"jane.roe" not in otlp_receiver.raw_traces()


def test_a_stuck_sync_evaluator_never_keeps_the_process_alive(otlp_receiver, fake_provider):
    """Before, the interpreter joined the evaluator pool's threads at exit and never exited (run_script would
    time out)."""
    result = run_script(f"""
        import threading, openai, llmotel
        from llmotel.evaluation import EvaluationResult

        class Stuck:
            name = "stuck"
            timeout = 0.5
            def evaluate(self, input):
                threading.Event().wait()  # never returns
                return EvaluationResult("stuck")

        llmotel.enable(endpoint={otlp_receiver.http_endpoint!r}, evaluators=[Stuck()],
                       export=llmotel.ExportOptions(metrics=False, console=False))
        client = openai.OpenAI(api_key="test-key", base_url={fake_provider.openai_base_url!r}, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages={USER!r})
        llmotel.shutdown(timeout=3)
        print("shut down")
    """, timeout=120)
    assert result.returncode == 0, result.stderr
    assert "shut down" in result.stdout
    (span,) = otlp_receiver.wait_for_spans(1, timeout=10)
    (event,) = span.events_named(sc.GEN_AI_EVALUATION_RESULT_EVENT)
    assert event.attributes[sc.ERROR_TYPE] == "TimeoutError"


@pytest.mark.parametrize("kind", ["sync", "async"])
def test_spans_still_being_evaluated_at_shutdown_are_exported_unevaluated(otlp_receiver, fake_provider, kind):
    result = run_script(f"""
        import asyncio, time, openai, llmotel
        from llmotel.evaluation import EvaluationResult

        class Slow:
            name = "slow"
            timeout = 30
            {"async " if kind == "async" else ""}def evaluate(self, input):
                {"await asyncio.sleep(5)" if kind == "async" else "time.sleep(5)"}
                return EvaluationResult("slow", label="done")

        llmotel.enable(endpoint={otlp_receiver.http_endpoint!r}, evaluators=[Slow()],
                       export=llmotel.ExportOptions(metrics=False, console=False),
                       evaluation=llmotel.EvaluationOptions(workers=2))
        client = openai.OpenAI(api_key="test-key", base_url={fake_provider.openai_base_url!r}, max_retries=0)
        for _ in range(10):
            client.chat.completions.create(model="gpt-4o-mini", messages={USER!r})
        started = time.monotonic()
        llmotel.shutdown(timeout=2)
        print("took", round(time.monotonic() - started, 1))
    """, timeout=60)
    assert result.returncode == 0, result.stderr
    assert "Task was destroyed but it is pending" not in result.stderr
    assert float(result.stdout.split()[-1]) < 8  # waiting for the evaluations would take 25 s
    spans = otlp_receiver.wait_for_spans(10, timeout=10)
    assert len(spans) == 10
    assert all(s.attributes[sc.LLMOTEL_EVALUATION_STATUS] == "unevaluated" for s in spans)


# --- item 12: fork ------------------------------------------------------------------------------------------------

FORKING_APP = """
    import os, sys, time, openai, llmotel
    llmotel.enable(endpoint={endpoint!r}, evaluators=["failure_to_answer"], redact_pii=True,
                   pii=llmotel.PiiOptions(use_ner=False), export=llmotel.ExportOptions(metrics=False, console=False))
    client = openai.OpenAI(api_key="test-key", base_url={base_url!r}, max_retries=0)
    client.chat.completions.create(model="gpt-4o-mini", messages={messages!r})
    pid = os.fork()
    if pid == 0:
        started = time.monotonic()
        child = openai.OpenAI(api_key="test-key", base_url={base_url!r}, max_retries=0)
        for _ in range(2):
            child.chat.completions.create(model="gpt-4o-mini", messages={messages!r})
        ok = llmotel.flush(timeout=10)
        child.chat.completions.create(model="gpt-4o-mini", messages={messages!r})  # left for exit to export
        print("child flush", ok, flush=True)
        sys.exit(0)
    exit_started = time.monotonic()
    _, status = os.waitpid(pid, 0)
    print("child exited in", round(time.monotonic() - exit_started, 1), "status", status, flush=True)
    client.chat.completions.create(model="gpt-4o-mini", messages={messages!r})
    llmotel.shutdown(timeout=10)
"""


def test_a_forked_child_evaluates_redacts_exports_and_exits_promptly(otlp_receiver, fake_provider):
    result = run_script(FORKING_APP.format(endpoint=otlp_receiver.http_endpoint, base_url=fake_provider.openai_base_url,
                                           messages=USER))
    assert result.returncode == 0, result.stderr
    assert "child flush True" in result.stdout
    waited = float(result.stdout.split("child exited in")[1].split()[0])
    assert waited < 20, result.stdout  # before: ~30 s, waiting for workers that do not exist in the child
    assert "status 0" in result.stdout
    spans = otlp_receiver.wait_for_spans(5, timeout=15)
    assert len(spans) == 5  # parent 2, child 3: each exactly once
    assert len({s.span_id for s in spans}) == 5
    assert all(evaluated(s, "failure_to_answer") and evaluated(s, "pii") for s in spans)
    assert b"jane.roe" not in otlp_receiver.raw_traces()


POOL_APP = """
    import multiprocessing, openai, llmotel
    llmotel.enable(endpoint={endpoint!r}, evaluators=["failure_to_answer"], redact_pii=True,
                   pii=llmotel.PiiOptions(use_ner=False), export=llmotel.ExportOptions(metrics=False, console=False))

    def work(i):
        client = openai.OpenAI(api_key="test-key", base_url={base_url!r}, max_retries=0)
        client.chat.completions.create(model="gpt-4o-mini", messages={messages!r})
        return llmotel.flush(timeout=10)

    if __name__ == "__main__":
        pool = multiprocessing.get_context("fork").Pool(2)
        print("flushed", pool.map(work, range(4)), flush=True)
        pool.close()
        pool.join()
        llmotel.shutdown(timeout=10)
"""


def test_a_fork_start_multiprocessing_pool_exports_from_its_workers(otlp_receiver, fake_provider, tmp_path):
    script = tmp_path / "pool_app.py"
    script.write_text(textwrap.dedent(POOL_APP.format(endpoint=otlp_receiver.http_endpoint,
                                                      base_url=fake_provider.openai_base_url, messages=USER)))
    environment = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_"))}
    result = subprocess.run([sys.executable, str(script)], env=environment, capture_output=True, text=True,
                            timeout=90)
    assert result.returncode == 0, result.stderr
    assert "flushed [True, True, True, True]" in result.stdout
    spans = otlp_receiver.wait_for_spans(4, timeout=15)
    assert len(spans) == 4
    assert all(evaluated(s, "failure_to_answer") and evaluated(s, "pii") for s in spans)
    assert b"jane.roe" not in otlp_receiver.raw_traces()


FORK_DURING_IMPORT_APP = """
    import os, sys, threading, time
    sys.path.insert(0, {folder!r})
    from llmotel._fork_guard import guarded
    worker = threading.Thread(target=lambda: guarded(lambda: __import__("slow_module")))
    worker.start()
    time.sleep(0.3)  # the worker is inside the import now
    pid = os.fork()
    if pid == 0:
        import slow_module  # without the guard: waits forever for the lock of a thread the child does not have
        print("child imported", slow_module.VALUE, flush=True)
        os._exit(0)
    _, status = os.waitpid(pid, 0)
    print("child status", status, flush=True)
"""


def test_a_fork_never_inherits_a_lazy_import_in_progress_on_a_worker_thread(tmp_path):
    """What hung a forked child's flush: the parent's export worker was importing requests for its first request."""
    (tmp_path / "slow_module.py").write_text("import time\ntime.sleep(1.5)\nVALUE = 42\n")
    result = run_script(FORK_DURING_IMPORT_APP.format(folder=str(tmp_path)), timeout=30)
    assert "child imported 42" in result.stdout, result.stdout + result.stderr
    assert "child status 0" in result.stdout
