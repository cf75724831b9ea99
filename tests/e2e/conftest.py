"""Fixtures for end-to-end tests against a real Arize Phoenix server.

Phoenix runs from its own venv (``tests/e2e/install_phoenix.sh``; override the
interpreter with ``LLMOTEL_PHOENIX_PYTHON``). When that venv or the
``arize-phoenix-client`` package is missing, the tests are skipped locally but
FAIL when ``CI`` is set, so CI can't silently stop running them. Deselect
locally with ``-m "not e2e"``.
"""

from __future__ import annotations

import importlib.util
import os
from collections.abc import Iterator
from typing import TYPE_CHECKING, NoReturn

import pytest

from .phoenix import PhoenixServer, PhoenixStartError, phoenix_python

if TYPE_CHECKING:
    from phoenix.client import Client

_STARTUP_KEY = pytest.StashKey[str]()


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line(
        "markers", "e2e: end-to-end tests against a real backend (Arize Phoenix); deselect with -m 'not e2e'"
    )


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Report Phoenix's startup time (fixture output is captured, so it's printed here)."""
    message = config.stash.get(_STARTUP_KEY, None)
    if message is not None:
        terminalreporter.write_line(message)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_prerequisite(reason: str) -> NoReturn:
    """Skip the test, or fail it when running in CI (``CI=true``)."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so e2e prerequisites are required)", pytrace=False)
    pytest.skip(reason)


@pytest.fixture(scope="package")
def phoenix_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[PhoenixServer]:
    """A Phoenix server shared by the e2e tests (startup takes ~11 s), stopped once they are done."""
    python = phoenix_python()
    if not python.exists():
        missing_prerequisite(
            f"Phoenix venv not found at {python}: run tests/e2e/install_phoenix.sh or set LLMOTEL_PHOENIX_PYTHON"
        )
    if importlib.util.find_spec("phoenix.client") is None:  # checked first: no point starting Phoenix without it
        missing_prerequisite("arize-phoenix-client is not installed in the test environment")
    server = PhoenixServer(
        tmp_path_factory.mktemp("phoenix"),
        python=python,
        start_timeout=float(os.environ.get("LLMOTEL_PHOENIX_START_TIMEOUT", "90")),
    )
    try:
        server.start()
    except PhoenixStartError as error:
        pytest.fail(str(error), pytrace=False)
    pytestconfig.stash[_STARTUP_KEY] = (
        f"Phoenix server started in {server.startup_seconds:.1f}s "
        f"(http={server.http_port}, grpc={server.grpc_port}, log={server.log_path})"
    )
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def phoenix_client(phoenix_server: PhoenixServer) -> Client:
    """``phoenix.client.Client`` (from the light ``arize-phoenix-client`` package) for the server."""
    try:
        from phoenix.client import Client
    except ImportError:
        missing_prerequisite("arize-phoenix-client is not installed in the test environment")
    return Client(base_url=phoenix_server.base_url)
