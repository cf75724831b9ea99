"""Run a real backend server as a subprocess on 127.0.0.1 for end-to-end tests.

Each backend lives in its own virtualenv (created by ``tests/e2e/install_<backend>.sh``) because it pins its own
OpenTelemetry/protobuf versions. A :class:`BackendProcess` picks free ports, starts the server in its own
process group with a working directory of its own (its SQLite database lives there), waits until it is
healthy, and stops it (SIGTERM, then SIGKILL) however the test ends.
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
# read at import: the suite's autouse fixture clears LLMOTEL_* variables before each test
_ENVIRONMENT_AT_IMPORT = dict(os.environ)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def port_open(port: int) -> bool:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.settimeout(0.2)
        return sock.connect_ex(("127.0.0.1", port)) == 0


def venv_python(env_var: str, venv: str) -> Path:
    """A backend venv's interpreter: ``$<env_var>`` or ``<repo>/<venv>/bin/python``."""
    configured = _ENVIRONMENT_AT_IMPORT.get(env_var)
    return Path(configured) if configured else REPO_ROOT / venv / "bin" / "python"


class BackendStartError(RuntimeError):
    """The server exited or did not become healthy in time; the message has its log tail."""


class BackendProcess:
    """A backend server subprocess; subclasses say how to start it and when it is healthy.

    ``start()`` retries on a port clash (the server exits early); ``stop()`` terminates its whole process group.
    Usable as a context manager.
    """

    name = "backend"
    health_path = "/health"

    def __init__(self, working_dir: Path, python: Path, start_timeout: float = 90.0,
                 stop_timeout: float = 10.0) -> None:
        self.python = python
        self.working_dir = working_dir
        self.start_timeout = start_timeout
        self.stop_timeout = stop_timeout
        self.log_path = working_dir / f"{self.name}-server.log"
        self.http_port = 0
        self.startup_seconds: float | None = None
        self._process: subprocess.Popen[bytes] | None = None

    # --- what a backend defines -------------------------------------------------------------------------------

    def pick_ports(self) -> None:
        self.http_port = free_port()

    def command(self) -> list[str]:
        raise NotImplementedError

    def environment(self) -> dict[str, str]:
        """The server's environment: no telemetry, no OTel/Python variables of the test process."""
        env = {key: value for key, value in os.environ.items()
               if not key.startswith(("OTEL_", "PYTHON", "LLMOTEL_")) and key != "VIRTUAL_ENV"}
        env.update({"DO_NOT_TRACK": "1", "PYTHONUNBUFFERED": "1"})
        return env

    def ready(self) -> bool:
        return self._get(self.health_path)

    # --- lifecycle ----------------------------------------------------------------------------------------------

    @property
    def base_url(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    def start(self, attempts: int = 3) -> BackendProcess:
        if not self.python.exists():
            raise FileNotFoundError(f"{self.name} interpreter not found: {self.python}")
        self.working_dir.mkdir(parents=True, exist_ok=True)
        began = time.monotonic()
        for attempt in range(1, attempts + 1):
            self.pick_ports()
            with self.log_path.open("ab") as log:
                self._process = subprocess.Popen(
                    self.command(), cwd=self.working_dir, env=self.environment(), stdin=subprocess.DEVNULL,
                    stdout=log, stderr=subprocess.STDOUT, start_new_session=True,  # own process group: see stop()
                )
            try:
                self._wait_healthy()
            except BackendStartError:
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
                raise BackendStartError(f"{self.name} exited with code {self._process.returncode} during startup\n"
                                        f"{self.log_tail()}")
            if self.ready():
                return
            time.sleep(0.2)
        raise BackendStartError(f"{self.name} not healthy after {self.start_timeout}s\n{self.log_tail()}")

    def _get(self, path: str) -> bool:
        try:
            with urllib.request.urlopen(f"{self.base_url}{path}", timeout=1) as response:
                return bool(response.status == 200)
        except (urllib.error.URLError, OSError):
            return False

    def stop(self) -> None:
        """Terminate the server's process group (SIGTERM, then SIGKILL after ``stop_timeout``)."""
        process, self._process = self._process, None
        if process is None:
            return
        if process.poll() is not None:
            with contextlib.suppress(ProcessLookupError, PermissionError):  # reap what it left in its group
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
        with contextlib.suppress(ProcessLookupError, PermissionError):  # workers it started (uvicorn, gunicorn)
            os.killpg(process.pid, signal.SIGKILL)

    @property
    def running(self) -> bool:
        return self._process is not None and self._process.poll() is None

    def log_tail(self, lines: int = 60) -> str:
        try:
            text = self.log_path.read_text(errors="replace")
        except OSError:
            return f"(no {self.name} log)"
        return "\n".join(text.splitlines()[-lines:])

    def __enter__(self) -> BackendProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
