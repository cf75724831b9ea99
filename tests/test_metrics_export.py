"""A traces-only backend (HTTP 405 / gRPC UNIMPLEMENTED on metrics): one warning saying so and what to set, then
no more metric exports to that endpoint in this process. A backend that is merely down keeps being retried.
(Phoenix and MLflow themselves: ``tests/e2e``.)"""

from __future__ import annotations

import logging
from collections.abc import Iterator
from typing import Any

import grpc
import pytest

import llmotel
from llmotel import _setup
from llmotel.export import metrics as guarded
from tests.otlp_receiver import OtlpReceiver

USER = [{"role": "user", "content": "Hi"}]
WARNING = "does not accept OTLP metrics"


@pytest.fixture
def traces_only() -> Iterator[OtlpReceiver]:
    with OtlpReceiver(accept_metrics=False) as receiver:
        yield receiver


@pytest.fixture(autouse=True)
def _forget_endpoints() -> Iterator[None]:
    yield
    with guarded._no_metrics_lock:
        guarded._no_metrics.clear()


def the_guard() -> guarded.MetricEndpointGuard:
    state = _setup._enabled
    assert state is not None and state.owned_meter_provider is not None
    (reader,) = state.owned_meter_provider.real()._metric_readers
    guard = reader._exporter
    assert isinstance(guard, guarded.MetricEndpointGuard)
    return guard


def count_exports(guard: guarded.MetricEndpointGuard) -> list[int]:
    """Count the calls that reach the real OTLP exporter (the guard's inner exporter)."""
    calls: list[int] = []
    export = guard.inner.export

    def counted(*args: Any, **kwargs: Any) -> Any:
        calls.append(1)
        return export(*args, **kwargs)

    guard.inner.export = counted  # type: ignore[method-assign]
    return calls


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_one_warning_then_no_more_attempts(traces_only, protocol, openai_client, caplog):
    caplog.set_level(logging.WARNING)
    llmotel.enable(endpoint=traces_only.endpoint(protocol), protocol=protocol, service_name="metrics-test")
    exports = count_exports(the_guard())
    for _ in range(3):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        llmotel.flush(timeout=10)
    traces_only.wait_for_spans(3)  # the traces themselves go through
    warnings = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert [WARNING in r.getMessage() for r in warnings] == [True], [r.getMessage() for r in warnings]
    message = warnings[0].getMessage()
    assert "metrics=False" in message and "LLMOTEL_METRICS=false" in message
    assert ("HTTP 405" if protocol == "http/protobuf" else "gRPC UNIMPLEMENTED") in message
    assert len(exports) == 1  # the first export found out; the next flushes sent nothing
    if protocol == "http/protobuf":
        assert traces_only.refused_metric_requests == 1

    llmotel.shutdown()  # a later enable() in this process does not try (or warn) again
    caplog.clear()
    llmotel.enable(endpoint=traces_only.endpoint(protocol), protocol=protocol, service_name="metrics-test")
    exports = count_exports(the_guard())
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    llmotel.flush(timeout=10)
    assert exports == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_a_backend_that_fails_once_is_retried_and_gets_its_metrics(otlp_receiver, protocol, openai_client, caplog):
    caplog.set_level(logging.WARNING)
    llmotel.enable(endpoint=otlp_receiver.endpoint(protocol), protocol=protocol, service_name="metrics-test")
    otlp_receiver.fail_next(signal="metrics", http_status=400, grpc_code=grpc.StatusCode.INVALID_ARGUMENT)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    llmotel.flush(timeout=10)  # refused (not retryable): reported, but the endpoint takes metrics
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    llmotel.flush(timeout=10)
    assert otlp_receiver.wait_for_metrics(name="gen_ai.client.operation.duration")
    assert not any(WARNING in r.getMessage() for r in caplog.records)
    assert guarded.accepts_metrics(the_guard().describe)
