"""Arize Phoenix as a subprocess for end-to-end tests (its own venv: ``tests/e2e/install_phoenix.sh``).

The server binds 127.0.0.1 on ephemeral HTTP (UI, REST API, OTLP/HTTP) and gRPC (OTLP/gRPC) ports, keeps its
SQLite database in its working directory, and has telemetry and outbound requests disabled.
"""

from __future__ import annotations

from pathlib import Path

from .backend_process import REPO_ROOT, BackendProcess, free_port, port_open, venv_python

PHOENIX_PYTHON_ENV = "LLMOTEL_PHOENIX_PYTHON"
__all__ = ["REPO_ROOT", "PhoenixServer", "phoenix_python"]


def phoenix_python() -> Path:
    """Interpreter of the Phoenix venv: ``$LLMOTEL_PHOENIX_PYTHON`` or ``<repo>/.venv-phoenix/bin/python``."""
    return venv_python(PHOENIX_PYTHON_ENV, ".venv-phoenix")


class PhoenixServer(BackendProcess):
    """``<python> -m phoenix.server.main serve`` on two free ports."""

    name = "phoenix"
    health_path = "/healthz"

    def __init__(self, working_dir: Path, python: Path | None = None, **timeouts: float) -> None:
        super().__init__(working_dir, python or phoenix_python(), **timeouts)
        self.grpc_port = 0

    def pick_ports(self) -> None:
        self.http_port = free_port()
        self.grpc_port = free_port()
        while self.grpc_port == self.http_port:
            self.grpc_port = free_port()

    def command(self) -> list[str]:
        return [str(self.python), "-m", "phoenix.server.main", "serve"]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in super().environment().items() if not k.startswith("PHOENIX_")}
        env.update({
            "PHOENIX_HOST": "127.0.0.1",
            "PHOENIX_PORT": str(self.http_port),
            "PHOENIX_GRPC_PORT": str(self.grpc_port),
            "PHOENIX_WORKING_DIR": str(self.working_dir),
            "PHOENIX_TELEMETRY_ENABLED": "false",
            "PHOENIX_ALLOW_EXTERNAL_RESOURCES": "false",
            "PHOENIX_DISABLE_AGENT_ASSISTANT": "true",
            "PHOENIX_AGENTS_DISABLE_BASH": "true",
        })
        return env

    def ready(self) -> bool:
        return super().ready() and port_open(self.grpc_port)

    @property
    def grpc_endpoint(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def endpoint(self, protocol: str) -> str:
        """Base OTLP endpoint for ``"grpc"`` or ``"http/protobuf"``."""
        return self.grpc_endpoint if protocol == "grpc" else self.base_url
