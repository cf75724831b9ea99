"""Issue 13 item 18: enable() imports no provider SDK; each is instrumented when the application imports it.

Real subprocesses (a fresh interpreter is the only place where "not imported yet" holds), the real SDKs against
the fake provider, spans exported over OTLP to the real receiver.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

import llmotel
from llmotel import ConfigurationError

REPO = Path(__file__).resolve().parents[1]
ASK_OPENAI = ('openai.OpenAI(api_key="k", base_url={openai_url!r}, max_retries=0).chat.completions.create('
              'model="gpt-4o-mini", messages=[{{"role": "user", "content": "hi"}}])')


def run(script: str, timeout: float = 180, executable: tuple[str, ...] = (sys.executable,),
        **env: str) -> dict:
    """Runs ``script`` in a fresh interpreter with this checkout's llmotel; returns the JSON it prints last."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_", "OPENAI_", "ANTHROPIC_"))}
    clean.update(PYTHONPATH=str(REPO), **env)
    result = subprocess.run([*executable, "-c", textwrap.dedent(script)], capture_output=True, text=True,
                            timeout=timeout, env=clean, check=False)
    assert result.returncode == 0, result.stderr[-3000:]
    return json.loads(result.stdout.strip().splitlines()[-1])


def test_enable_imports_no_sdk_and_instruments_the_one_the_application_imports_later(fake_provider, otlp_receiver):
    out = run(f"""
        import json, sys, threading
        import llmotel
        llmotel.enable(endpoint={otlp_receiver.http_endpoint!r}, protocol="http/protobuf",
                       export=llmotel.ExportOptions(console=False))
        after_enable = sorted(m for m in ("openai", "anthropic") if m in sys.modules)

        def application():  # the SDK is imported and used on another thread than enable()'s
            import openai
            {ASK_OPENAI.format(openai_url=fake_provider.openai_base_url)}

        thread = threading.Thread(target=application)
        thread.start()
        thread.join()
        import openai
        patched = hasattr(openai._base_client.SyncAPIClient.request, "__llmotel_original__")
        llmotel.shutdown()
        print(json.dumps({{"after_enable": after_enable, "anthropic_imported": "anthropic" in sys.modules,
                           "patched": patched,
                           "base_instrumentor": "opentelemetry.instrumentation.instrumentor" in sys.modules}}))
    """)
    # opentelemetry.instrumentation (packaging, semconv opt-in tables) is only for opentelemetry-instrument
    assert out == {"after_enable": [], "anthropic_imported": False, "patched": True, "base_instrumentor": False}
    (span,) = otlp_receiver.wait_for_spans(1, timeout=10)
    assert span.name == "chat gpt-4o-mini"


def test_enable_loads_no_sdk_module_of_its_own_when_the_sdks_are_imported():
    """With both SDKs imported first, enable() adds no ``openai.*`` / ``anthropic.*`` module: the wrap only
    needs what ``import openai`` / ``import anthropic`` already loaded."""
    out = run("""
        import json, sys
        import openai, anthropic
        before = set(sys.modules)
        import llmotel
        llmotel.enable(exporter="none", export=llmotel.ExportOptions(console=False))
        added = sorted(m for m in set(sys.modules) - before if m.split(".")[0] in ("openai", "anthropic"))
        patched = [hasattr(sdk._base_client.SyncAPIClient.request, "__llmotel_original__")
                   for sdk in (openai, anthropic)]
        llmotel.shutdown()
        print(json.dumps({"added": added, "patched": patched}))
    """)
    assert out == {"added": [], "patched": [True, True]}


def test_shutdown_removes_pending_hooks_and_enable_shutdown_cycles_do_not_stack_them():
    out = run("""
        import json, sys
        import llmotel
        from llmotel.instrumentation import _import_hooks

        def hooks():
            finders = sum(f is _import_hooks._FINDER for f in sys.meta_path)
            return finders, sorted((name, len(h)) for name, h in _import_hooks._pending.items())

        seen = []
        for _ in range(3):
            llmotel.enable(exporter="none", export=llmotel.ExportOptions(console=False))
            seen.append(hooks())
            llmotel.shutdown()
            seen.append(hooks())
        import anthropic  # after shutdown: imported as without llmotel
        print(json.dumps({"seen": seen, "anthropic_patched": hasattr(
            anthropic._base_client.SyncAPIClient.request, "__llmotel_original__")}))
    """)
    enabled = [1, [["anthropic", 1], ["openai", 1]]]
    assert out == {"seen": [enabled, [0, []]] * 3, "anthropic_patched": False}


def test_enable_and_the_instrumentor_share_one_instrumentation_and_the_latest_wins(openai_client):
    """One patch per SDK whoever instruments it (never two spans for one call); enable()'s shutdown does not undo
    a later OpenAIInstrumentor().instrument(), and the instrumentor's uninstrument() leaves the SDK untouched."""
    import openai
    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmotel.instrumentation.openai import OpenAIInstrumentor

    def provider() -> tuple[TracerProvider, InMemorySpanExporter]:
        exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        return tracer_provider, exporter

    def ask() -> None:
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])

    original = openai._base_client.SyncAPIClient.__dict__["request"]
    first, first_spans = provider()
    second, second_spans = provider()
    llmotel.enable(tracer_provider=first, exporter="none", export=llmotel.ExportOptions(console=False))
    OpenAIInstrumentor().instrument(tracer_provider=second)
    ask()
    llmotel.shutdown()
    ask()
    OpenAIInstrumentor().uninstrument()
    ask()
    assert (len(first_spans.get_finished_spans()), len(second_spans.get_finished_spans())) == (0, 2)
    assert openai._base_client.SyncAPIClient.__dict__["request"] is original


def test_explicit_instrument_of_an_sdk_that_is_not_installed_is_a_configuration_error(monkeypatch):
    monkeypatch.setitem(sys.modules, "anthropic", None)  # how Python marks a module as not importable
    with pytest.raises(ConfigurationError, match="anthropic"):
        llmotel.enable(exporter="none", instrument=["anthropic"], export=llmotel.ExportOptions(console=False))
    # by default: instrument what is installed, no error
    llmotel.enable(exporter="none", export=llmotel.ExportOptions(console=False))


def test_opentelemetry_instrument_instruments_an_sdk_the_application_imports_later(fake_provider, otlp_receiver):
    """The entry-point instrumentors started by ``opentelemetry-instrument`` defer to the application's import too."""
    out = run(f"""
        import json, sys
        deferred = "openai" not in sys.modules  # the instrumentors ran at start-up, before this line
        from opentelemetry import trace
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(OTLPSpanExporter({otlp_receiver.http_traces_endpoint!r})))
        trace.set_tracer_provider(provider)
        import openai
        {ASK_OPENAI.format(openai_url=fake_provider.openai_base_url)}
        provider.shutdown()
        print(json.dumps({{"deferred": deferred, "anthropic_imported": "anthropic" in sys.modules}}))
    """, executable=(str(Path(sys.executable).with_name("opentelemetry-instrument")), sys.executable),
        OTEL_TRACES_EXPORTER="none", OTEL_METRICS_EXPORTER="none", OTEL_LOGS_EXPORTER="none")
    assert out == {"deferred": True, "anthropic_imported": False}
    (span,) = otlp_receiver.wait_for_spans(1, timeout=10)
    assert span.name == "chat gpt-4o-mini"
