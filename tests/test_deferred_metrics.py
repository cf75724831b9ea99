"""llmotel's own metric pipeline is built when the first LLM call starts, not in enable(), and loses nothing."""

from __future__ import annotations

import logging
import os
import subprocess
import sys
import threading
from pathlib import Path
from typing import Any

from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader

import llmotel
from llmotel import semconv as sc
from llmotel.export.deferred_metrics import DeferredMeterProvider

REPO = Path(__file__).resolve().parents[1]
USER = [{"role": "user", "content": "hi"}]


class Built:
    """A build function for a real SDK provider with an in-memory reader; counts its calls."""

    def __init__(self) -> None:
        self.reader = InMemoryMetricReader()
        self.calls = 0

    def __call__(self) -> MeterProvider:
        self.calls += 1
        return MeterProvider(metric_readers=[self.reader])

    def points(self, name: str) -> list[Any]:
        data = self.reader.get_metrics_data()
        if data is None:
            return []
        return [point for rm in data.resource_metrics for sm in rm.scope_metrics for metric in sm.metrics
                if metric.name == name for point in metric.data.data_points]


def test_enable_with_an_endpoint_imports_neither_the_metrics_sdk_nor_its_exporter():
    probe = (
        "import sys, llmotel\n"
        "llmotel.enable(endpoint='http://127.0.0.1:9')\n"
        "heavy = ['opentelemetry.sdk.metrics', 'opentelemetry.exporter.otlp.proto.http.metric_exporter',\n"
        "         'requests', 'google.protobuf']\n"
        "print(sorted(m for m in heavy if m in sys.modules))\n"
        "llmotel.shutdown(timeout=1)\n"
    )
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    env = {k: v for k, v in env.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True, env=env, timeout=60)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "[]"


def test_metrics_of_the_first_calls_reach_the_backend(otlp_receiver, openai_client):
    llmotel.enable(endpoint=otlp_receiver.endpoint("http/protobuf"), protocol="http/protobuf",
                   service_name="deferred-metrics")
    state = llmotel._setup._enabled
    assert state is not None and state.owned_meter_provider is not None
    assert not state.owned_meter_provider.built  # enable() built nothing
    for _ in range(3):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(timeout=10)
    latest = otlp_receiver.wait_for_metrics(
        sc.METRIC_OPERATION_DURATION, predicate=lambda m: sum(p.count or 0 for p in m.data_points) == 3)[-1]
    assert latest.resource["service.name"] == "deferred-metrics"
    usage = otlp_receiver.latest_metric(sc.METRIC_TOKEN_USAGE)
    assert usage is not None and {p.attributes[sc.GEN_AI_TOKEN_TYPE] for p in usage.data_points} == {
        "input", "output"}


def test_a_measurement_before_the_build_builds_it_on_the_recording_thread():
    built = Built()
    provider = DeferredMeterProvider(built)
    histogram = provider.get_meter("m").create_histogram("latency", unit="s", description="d",
                                                         explicit_bucket_boundaries_advisory=[1.0, 2.0])
    counter = provider.get_meter("m").create_counter("calls")
    assert built.calls == 0 and not provider.built
    histogram.record(1.5, {"k": "v"})
    counter.add(2)
    counter.add(3)
    assert built.calls == 1
    (point,) = built.points("latency")
    assert point.count == 1 and point.sum == 1.5 and dict(point.attributes) == {"k": "v"}
    assert list(point.explicit_bounds) == [1.0, 2.0]
    assert [p.value for p in built.points("calls")] == [5]


def test_threads_recording_while_it_is_built_lose_nothing():
    built = Built()
    gate = threading.Event()

    def slow_build() -> MeterProvider:
        gate.wait(5)
        return built()

    provider = DeferredMeterProvider(slow_build)
    counter = provider.get_meter("m").create_counter("calls")
    provider.prepare()  # the build runs (and waits) on its own thread

    def record() -> None:
        for _ in range(100):
            counter.add(1)

    threads = [threading.Thread(target=record) for _ in range(8)]
    for thread in threads:
        thread.start()
    gate.set()
    for thread in threads:
        thread.join(10)
    assert built.calls == 1
    assert [p.value for p in built.points("calls")] == [800]


def test_observable_callbacks_run_once_the_pipeline_exists():
    built = Built()
    provider = DeferredMeterProvider(built)
    seen: list[CallbackOptions] = []

    def callback(options: CallbackOptions) -> list[Observation]:
        seen.append(options)
        return [Observation(7)]

    provider.get_meter("m").create_observable_gauge("queue", callbacks=[callback])
    provider.real()  # prepare() started it; wait for it here
    assert [p.value for p in built.points("queue")] == [7] and seen


def test_shut_down_before_anything_was_recorded_builds_nothing():
    built = Built()
    provider = DeferredMeterProvider(built)
    histogram = provider.get_meter("m").create_histogram("latency")
    assert provider.force_flush(1000) is True
    provider.shutdown()
    histogram.record(1.0)  # after shutdown: accepted and dropped, as by the SDK's own shut-down provider
    assert built.calls == 0


def test_a_pipeline_that_cannot_be_built_warns_once_and_never_fails_the_caller(caplog):
    caplog.set_level(logging.WARNING, logger="llmotel")

    def broken() -> MeterProvider:
        raise OSError("no exporter here")

    provider = DeferredMeterProvider(broken)
    histogram = provider.get_meter("m").create_histogram("latency")
    for _ in range(3):
        histogram.record(1.0)
    warnings = [r.getMessage() for r in caplog.records if "metrics are off" in r.getMessage()]
    assert len(warnings) == 1 and "no exporter here" in warnings[0]


def test_after_the_first_measurement_the_instrument_records_through_the_sdks_own_method():
    built = Built()
    histogram = DeferredMeterProvider(built).get_meter("m").create_histogram("latency")
    histogram.record(1.0)
    assert histogram.record.__self__ is histogram.real()  # type: ignore[attr-defined]
    histogram.record(2.0)
    (point,) = built.points("latency")
    assert point.count == 2 and point.sum == 3.0
