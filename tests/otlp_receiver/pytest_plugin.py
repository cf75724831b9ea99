"""pytest plugin providing OTLP receiver fixtures.

Enable with ``pytest -p tests.otlp_receiver.pytest_plugin`` or
``pytest_plugins = ["tests.otlp_receiver.pytest_plugin"]`` in a root conftest.

Fixtures:

``otlp_receiver``
    A fresh, started :class:`~tests.otlp_receiver.OtlpReceiver` per test
    (gRPC + HTTP on ephemeral 127.0.0.1 ports), stopped afterwards. Starting
    and stopping costs about 15 ms, and a per-test instance means a late export
    from one test can never land in another test's receiver.

``otlp_env``
    A function ``otlp_env(protocol="grpc")`` that sets ``OTEL_EXPORTER_OTLP_*``
    (endpoint, protocol, insecure) to point at ``otlp_receiver`` for the rest of
    the test, via ``monkeypatch``, and returns the variables it set.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from .receiver import OtlpReceiver


@pytest.fixture
def otlp_receiver() -> Iterator[OtlpReceiver]:
    """A started OTLP receiver for this test only."""
    with OtlpReceiver() as receiver:
        yield receiver


@pytest.fixture
def otlp_env(otlp_receiver: OtlpReceiver, monkeypatch: pytest.MonkeyPatch) -> Callable[[str], dict[str, str]]:
    """Point the standard OTLP environment variables at ``otlp_receiver``."""

    def apply(protocol: str = "grpc") -> dict[str, str]:
        env = otlp_receiver.otel_env(protocol)
        for key, value in env.items():
            monkeypatch.setenv(key, value)
        return env

    return apply
