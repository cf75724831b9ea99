"""Shared fixtures: the fake providers, the OTLP receiver, and an instrumented in-memory pipeline."""

from __future__ import annotations

import gc
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import config
from llmotel._diagnostics import diagnostics
from llmotel.instrumentation.anthropic import AnthropicInstrumentor
from llmotel.instrumentation.openai import OpenAIInstrumentor

pytest_plugins = ["tests.fake_providers.pytest_plugin", "tests.otlp_receiver.pytest_plugin"]


@dataclass
class Traced:
    """What an instrumented test reads back: finished spans and metric points."""

    exporter: InMemorySpanExporter
    metric_reader: InMemoryMetricReader
    tracer_provider: TracerProvider

    def spans(self) -> list[ReadableSpan]:
        return list(self.exporter.get_finished_spans())

    def llm_spans(self) -> list[ReadableSpan]:
        return [s for s in self.spans() if (s.attributes or {}).get("gen_ai.operation.name")]

    def one(self) -> ReadableSpan:
        spans = self.llm_spans()
        assert len(spans) == 1, [s.name for s in spans]
        return spans[0]

    def metrics(self) -> dict[str, list[Any]]:
        data = self.metric_reader.get_metrics_data()
        out: dict[str, list[Any]] = {}
        for rm in data.resource_metrics if data else ():
            for sm in rm.scope_metrics:
                for metric in sm.metrics:
                    out.setdefault(metric.name, []).extend(metric.data.data_points)
        return out


@pytest.fixture(autouse=True)
def _clean_llmotel_state(monkeypatch: pytest.MonkeyPatch) -> Iterator[None]:
    for name in list(__import__("os").environ):
        if name.startswith(("LLMOTEL_", "OTEL_")):
            monkeypatch.delenv(name)
    diagnostics.reset()
    yield
    llmotel.shutdown(timeout=5)
    uninstrument()


INSTRUMENTORS = (OpenAIInstrumentor, AnthropicInstrumentor)


def uninstrument() -> None:
    for cls in INSTRUMENTORS:
        instrumentor = cls()
        if instrumentor.is_instrumented_by_opentelemetry:
            instrumentor.uninstrument()


@pytest.fixture
def instrument() -> Iterator[Callable[..., Traced]]:
    """``instrument(**settings)``: the OpenAI and Anthropic instrumentors on a private provider, in-memory export."""

    def start(**kwargs: Any) -> Traced:
        exporter = InMemorySpanExporter()
        tracer_provider = TracerProvider()
        tracer_provider.add_span_processor(SimpleSpanProcessor(exporter))
        reader = InMemoryMetricReader()
        meter_provider = MeterProvider(metric_readers=[reader])
        uninstrument()
        settings = config.resolve(**kwargs)
        for cls in INSTRUMENTORS:
            cls().instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, settings=settings)
        return Traced(exporter, reader, tracer_provider)

    yield start
    gc.collect()
    uninstrument()


@pytest.fixture
def traced(instrument: Callable[..., Traced]) -> Traced:
    """OpenAI and Anthropic instrumented with default settings (content capture on)."""
    return instrument()


def pytest_collection_finish(session: pytest.Session) -> None:
    """Move the imported SDKs' objects out of the collector's view: every test's ``gc.collect()`` stays cheap."""
    gc.collect()
    gc.freeze()
