"""Fixtures for end-to-end tests against real backends: Arize Phoenix and an MLflow tracking server, each from its
own venv (``tests/e2e/install_phoenix.sh``, ``install_mlflow.sh``; interpreters overridable with
``LLMOTEL_PHOENIX_PYTHON`` / ``LLMOTEL_MLFLOW_PYTHON``), and headless Chromium (Debian's ``chromium``, driven by
the ``playwright`` package with ``executable_path``; override with ``LLMOTEL_CHROMIUM``).

A missing prerequisite skips the tests locally but FAILS them when ``CI`` is set, so CI cannot silently stop
running them. Deselect locally with ``-m "not e2e"``. Screenshots go to ``$LLMOTEL_E2E_ARTIFACTS`` (default
``<repo>/test-artifacts/e2e``).
"""

from __future__ import annotations

import importlib.util
import json
import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import TYPE_CHECKING, Any, NoReturn

import pytest

from .backend_process import _ENVIRONMENT_AT_IMPORT, REPO_ROOT, BackendProcess, BackendStartError
from .mlflow_server import MlflowServer, mlflow_python
from .phoenix import PhoenixServer, phoenix_python

if TYPE_CHECKING:
    from phoenix.client import Client

_STARTUP_KEY = pytest.StashKey[list[str]]()
CHROMIUM_FLAGS = ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
                  "--disable-background-networking", "--disable-component-update", "--disable-sync"]


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "e2e: end-to-end tests against real backends; deselect with -m 'not e2e'")
    config.stash[_STARTUP_KEY] = []


def pytest_terminal_summary(terminalreporter: pytest.TerminalReporter, config: pytest.Config) -> None:
    """Report the backends' startup times (fixture output is captured, so it is printed here)."""
    for line in config.stash.get(_STARTUP_KEY, []):
        terminalreporter.write_line(line)


def _in_ci() -> bool:
    return os.environ.get("CI", "").strip().lower() in ("1", "true", "yes")


def missing_prerequisite(reason: str) -> NoReturn:
    """Skip the test, or fail it when running in CI (``CI=true``)."""
    if _in_ci():
        pytest.fail(f"{reason} (CI is set, so e2e prerequisites are required)", pytrace=False)
    pytest.skip(reason)


def _serve(server: BackendProcess, pytestconfig: pytest.Config) -> Iterator[Any]:
    """Start a backend for the tests that need it, note its startup time, always stop it."""
    try:
        server.start()
    except BackendStartError as error:
        pytest.fail(str(error), pytrace=False)
    pytestconfig.stash[_STARTUP_KEY].append(
        f"{server.name} server started in {server.startup_seconds:.1f}s "
        f"(port {server.http_port}, log {server.log_path})")
    try:
        yield server
    finally:
        server.stop()


@pytest.fixture(scope="package")
def phoenix_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[PhoenixServer]:
    """A Phoenix server shared by the e2e tests, stopped once they are done."""
    python = phoenix_python()
    if not python.exists():
        missing_prerequisite(f"Phoenix venv not found at {python}: run tests/e2e/install_phoenix.sh "
                             "or set LLMOTEL_PHOENIX_PYTHON")
    if importlib.util.find_spec("phoenix.client") is None:
        missing_prerequisite("arize-phoenix-client is not installed in the test environment")
    server = PhoenixServer(tmp_path_factory.mktemp("phoenix"), python=python,
                           start_timeout=float(_ENVIRONMENT_AT_IMPORT.get("LLMOTEL_PHOENIX_START_TIMEOUT", "120")))
    yield from _serve(server, pytestconfig)


@pytest.fixture(scope="package")
def phoenix_client(phoenix_server: PhoenixServer) -> Client:
    """``phoenix.client.Client`` (the light ``arize-phoenix-client`` package) for the server."""
    from phoenix.client import Client

    return Client(base_url=phoenix_server.base_url)


@pytest.fixture(scope="package")
def mlflow_server(tmp_path_factory: pytest.TempPathFactory, pytestconfig: pytest.Config) -> Iterator[MlflowServer]:
    """An MLflow tracking server (SQLite store) shared by the e2e tests, stopped once they are done."""
    python = mlflow_python()
    if not python.exists():
        missing_prerequisite(f"MLflow venv not found at {python}: run tests/e2e/install_mlflow.sh "
                             "or set LLMOTEL_MLFLOW_PYTHON")
    server = MlflowServer(tmp_path_factory.mktemp("mlflow"), python=python,
                          start_timeout=float(_ENVIRONMENT_AT_IMPORT.get("LLMOTEL_MLFLOW_START_TIMEOUT", "180")))
    yield from _serve(server, pytestconfig)


@pytest.fixture(scope="package")
def chromium() -> Path:
    """The Chromium binary for UI checks (Debian's package)."""
    path = Path(_ENVIRONMENT_AT_IMPORT.get("LLMOTEL_CHROMIUM", "/usr/bin/chromium"))
    if not path.exists():
        missing_prerequisite(f"Chromium not found at {path}: apt-get install chromium, or set LLMOTEL_CHROMIUM")
    if importlib.util.find_spec("playwright") is None:
        missing_prerequisite("the playwright package is not installed in the test environment")
    return path


@pytest.fixture(scope="package")
def artifacts() -> Path:
    """Where e2e tests keep what a person would look at (screenshots)."""
    path = Path(_ENVIRONMENT_AT_IMPORT.get("LLMOTEL_E2E_ARTIFACTS", REPO_ROOT / "test-artifacts" / "e2e"))
    path.mkdir(parents=True, exist_ok=True)
    return path


def run_app(fake_provider: Any, *arguments: str, env: dict[str, str] | None = None) -> tuple[dict[str, Any], str]:
    """Run :mod:`tests.e2e.backend_app` in a fresh interpreter against the fake providers; (its JSON, stderr)."""
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("OTEL_", "LLMOTEL_"))}
    clean["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), clean.get("PYTHONPATH")]))
    clean["OTEL_EXPORTER_OTLP_TRACES_TIMEOUT"] = "30"  # a busy 2-core CI machine: give the backend time
    clean.update(env or {})
    command = [sys.executable, "-m", "tests.e2e.backend_app", "--openai-base-url", fake_provider.openai_base_url,
               "--anthropic-base-url", fake_provider.anthropic_base_url, *arguments]
    result = subprocess.run(command, cwd=REPO_ROOT, env=clean, capture_output=True, text=True, timeout=240,
                            check=False)
    assert result.returncode == 0, f"backend_app failed:\n{result.stdout}\n{result.stderr}"
    output: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
    return output, result.stderr
