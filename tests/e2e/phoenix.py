"""Run a real Arize Phoenix server as a subprocess for end-to-end tests.

Phoenix lives in its own virtualenv (created by ``tests/e2e/install_phoenix.sh``)
because it pins its own OpenTelemetry/protobuf versions. The server binds
127.0.0.1 on ephemeral HTTP and gRPC ports, keeps its SQLite database in a
temporary working directory, and has telemetry and outbound requests disabled.
"""

from __future__ import annotations

import contextlib
import os
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]
PHOENIX_PYTHON_ENV = "LLMOTEL_PHOENIX_PYTHON"
DEFAULT_PHOENIX_PYTHON = REPO_ROOT / ".venv-phoenix" / "bin" / "python"


def phoenix_python() -> Path:
    """Interpreter of the Phoenix venv: ``$LLMOTEL_PHOENIX_PYTHON`` or ``<repo>/.venv-phoenix/bin/python``."""
    configured = os.environ.get(PHOENIX_PYTHON_ENV)
    return Path(configured) if configured else DEFAULT_PHOENIX_PYTHON


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


class PhoenixStartError(RuntimeError):
    """Phoenix exited or did not become healthy in time; the message has its log tail."""


class PhoenixServer:
    """A Phoenix server subprocess on 127.0.0.1.

    ``start()`` picks two free ports, launches
    ``<python> -m phoenix.server.main serve`` and waits until ``/healthz``
    answers and the gRPC port accepts connections. ``stop()`` sends SIGTERM to
    the server's process group and SIGKILL if it has not exited within
    ``stop_timeout`` seconds. Usable as a context manager.
    """

    def __init__(
        self,
        working_dir: Path,
        python: Path | None = None,
        start_timeout: float = 90.0,
        stop_timeout: float = 10.0,
    ) -> None:
        self.python = python or phoenix_python()
        self.working_dir = working_dir
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_path = working_dir / "phoenix-server.log"
        self.http_port = 0
        self.grpc_port = 0
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None

    @property
    def base_url(self) -> str:
        """Web UI / REST API root, also the OTLP/HTTP base endpoint (traces at ``/v1/traces``)."""
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def http_endpoint(self) -> str:
        """OTLP/HTTP base endpoint (same as :attr:`base_url`)."""
        return self.base_url

    @property
    def http_traces_endpoint(self) -> str:
        """Full OTLP/HTTP traces URL."""
        return f"{self.base_url}/v1/traces"

    @property
    def grpc_endpoint(self) -> str:
        """OTLP/gRPC endpoint (plaintext)."""
        return f"http://127.0.0.1:{self.grpc_port}"

    def endpoint(self, protocol: str) -> str:
        """Base OTLP endpoint for ``"grpc"`` or ``"http/protobuf"``."""
        return self.grpc_endpoint if protocol == "grpc" else self.http_endpoint

    def environment(self) -> dict[str, str]:
        """Environment of the server process: loopback only, no telemetry, no outbound calls."""
        env = {
            key: value
            for key, value in os.environ.items()
            if not key.startswith(("OTEL_", "PHOENIX_", "PYTHON")) and key != "VIRTUAL_ENV"
        }
        env.update(
            {
                "PHOENIX_HOST": "127.0.0.1",
                "PHOENIX_PORT": str(self.http_port),
                "PHOENIX_GRPC_PORT": str(self.grpc_port),
                "PHOENIX_WORKING_DIR": str(self.working_dir),
                "PHOENIX_TELEMETRY_ENABLED": "false",
                "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
                "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
                "PHOENIX_AGENTS_DISABLE_BASH": "true",
                "DO_NOT_TRACK": "1",
                "PYTHONUNBUFFERED": "1",
            }
        )
        return env

    def start(self, attempts: int = 3) -> PhoenixServer:
        """Launch the server and wait until it is healthy; retries on a port clash."""
        if not self.python.exists():
            raise FileNotFoundError(f"Phoenix interpreter not found: {self.python}")
        self.working_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        for attempt in range(1, attempts + 1):
            self.http_port, self.grpc_port = _free_port(), _free_port()
            while self.grpc_port == self.http_port:
                self.grpc_port = _free_port()
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    [str(self.python), "-m", "phoenix.server.main", "serve"],
                    cwd=self.working_dir,
                    env=self.environment(),
                    stdin=subprocess.DEVNULL,
                    stdout=log,
                    stderr=subprocess.STDOUT,
                    start_new_session=True,  # own process group, so stop() gets any children too
                )
            try:
                self._wait_healthy()
            except PhoenixStartError:
                exited = self._process.poll() is not None
                self.stop()
                if not exited or attempt == attempts:
                    raise
                continue  # exited early: most likely lost a port race, try new ports
            except BaseException:  # interrupted or timed out by pytest: never leak the server
                self.stop()
                raise
            self.startup_seconds = time.monotonic() - began
            return self
        raise AssertionError("unreachable")

    def _wait_healthy(self) -> None:
        assert self._process is not None
        deadline = time.monotonic() + self.start_timeout
        while time.monotonic() < deadline:
            if self._process.poll() is not None:
                raise PhoenixStartError(
                    f"Phoenix exited with code {self._process.returncode} during startup\n{self.log_tail()}"
                )
            if self._healthz() and _port_open(self.grpc_port):
                return
            time.sleep(0.1)
        raise PhoenixStartError(f"Phoenix not healthy after {self.start_timeout}s\n{self.log_tail()}")

    def _healthz(self) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}/healthz", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Terminate the server (SIGTERM, then SIGKILL after ``stop_timeout``)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is not None:
            # The server is gone; reap anything it left in its process group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(process.pid, signal.SIGKILL)
            return
        with contextlib.suppress(ProcessLookupError):
            os.killpg(process.pid, signal.SIGTERM)
        try:
            process.wait(timeout=self.stop_timeout)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(process.pid, signal.SIGKILL)
            process.wait(timeout=10)

    @property
    def running(self) -> bool:
        """True while the server process is alive."""
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        """Last lines of the server log, for failure messages."""
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return "(no Phoenix log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> PhoenixServer:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()
