"""Gateways on loopback for the gateway tests, forwarding to the test's real OTLP receiver.

The offline checks and the PII redactor are built once per session and handed to every in-process gateway (their
models take seconds to load); subprocess gateways (``tests.gateway.processes``) load their own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import Any

import pytest

from llmotel import config
from llmotel.evaluation import builtin
from llmotel.gateway import Gateway, GatewayOptions
from tests.otlp_receiver import OtlpReceiver

OFFLINE = ["language_mismatch", "failure_to_answer", "sentiment", "toxicity"]


@pytest.fixture(scope="session")
def offline_checks() -> list[Any]:
    return builtin.evaluators(OFFLINE)


@pytest.fixture(scope="session")
def pii_redactor() -> Any:
    return builtin.pii_redactor(config.resolve(redact_pii=True, pii_use_ner=False))


@pytest.fixture
def start_gateway(otlp_receiver: OtlpReceiver, offline_checks: list[Any], pii_redactor: Any
                  ) -> Iterator[Callable[..., Gateway]]:
    """``start_gateway(evaluators=..., redact=True, protocol=..., backend=..., **options)``: a started in-process
    gateway forwarding to ``otlp_receiver`` (or ``backend``); drained at the end of the test."""
    started: list[Gateway] = []

    def start(*, evaluators: list[Any] | None = None, redact: bool = True, protocol: str = "http/protobuf",
              backend: OtlpReceiver | None = None, settings: dict[str, Any] | None = None, **options: Any) -> Gateway:
        target = backend or otlp_receiver
        resolved = config.resolve(
            endpoint=target.endpoint("grpc" if protocol == "grpc" else "http"), protocol=protocol,
            evaluators=offline_checks if evaluators is None else evaluators, redact_pii=redact, pii_use_ner=False,
            **{"metrics": False, **(settings or {})},
        )
        gateway = Gateway(resolved, GatewayOptions(**{"grpc_port": 0, "http_port": 0, **options}),
                          redactor=pii_redactor if redact else None)
        gateway.start()
        started.append(gateway)
        return gateway

    yield start
    for gateway in started:
        if gateway.state != "stopped":
            gateway.drain(2.0)
