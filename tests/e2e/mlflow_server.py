"""An MLflow tracking server as a subprocess for end-to-end tests (its own venv: ``tests/e2e/install_mlflow.sh``).

``mlflow server`` on 127.0.0.1 with an ephemeral port, a SQLite backend store and a local artifact root in its
working directory, one worker, telemetry off. It takes OTLP/HTTP traces on ``/v1/traces`` (the experiment id in
the ``x-mlflow-experiment-id`` header). :meth:`MlflowServer.read_traces` reads traces back through MLflow's own
client, run with the venv's interpreter (``tests/e2e/mlflow_read.py``).
"""

from __future__ import annotations

import json
import subprocess
import urllib.request
from pathlib import Path
from typing import Any

from .backend_process import REPO_ROOT, BackendProcess, venv_python

MLFLOW_PYTHON_ENV = "LLMOTEL_MLFLOW_PYTHON"
EXPERIMENT_HEADER = "x-mlflow-experiment-id"
_READER = Path(__file__).with_name("mlflow_read.py")


def mlflow_python() -> Path:
    """Interpreter of the MLflow venv: ``$LLMOTEL_MLFLOW_PYTHON`` or ``<repo>/.venv-mlflow/bin/python``."""
    return venv_python(MLFLOW_PYTHON_ENV, ".venv-mlflow")


class MlflowServer(BackendProcess):
    name = "mlflow"

    def __init__(self, working_dir: Path, python: Path | None = None, **timeouts: float) -> None:
        super().__init__(working_dir, python or mlflow_python(), **timeouts)

    def command(self) -> list[str]:
        return [str(self.python), "-m", "mlflow", "server", "--host", "127.0.0.1", "--port", str(self.http_port),
                "--backend-store-uri", f"sqlite:///{self.working_dir / 'mlflow.db'}",
                "--default-artifact-root", str(self.working_dir / "artifacts"), "--workers", "1"]

    def environment(self) -> dict[str, str]:
        env = {k: v for k, v in super().environment().items() if not k.startswith("MLFLOW_")}
        env["MLFLOW_DISABLE_TELEMETRY"] = "true"
        return env

    def start(self, attempts: int = 3) -> MlflowServer:
        super().start(attempts)
        self._warm_up()
        return self

    def _warm_up(self) -> None:
        """Ingest one span: a fresh server loads its trace translators on the first OTLP request (15-30 s on a busy
        2-core machine), which would otherwise eat into the application's shutdown timeout."""
        experiment = self.create_experiment("warm-up")
        span = {"traceId": "0af7651916cd43dd8448eb211c80319c", "spanId": "b7ad6b7169203331", "name": "warm-up",
                "kind": 1, "startTimeUnixNano": "1700000000000000000", "endTimeUnixNano": "1700000000100000000"}
        body = {"resourceSpans": [{"resource": {"attributes": []}, "scopeSpans": [{"spans": [span]}]}]}
        request = urllib.request.Request(
            f"{self.base_url}/v1/traces", data=json.dumps(body).encode(), method="POST",
            headers={"Content-Type": "application/json", EXPERIMENT_HEADER: experiment})
        with urllib.request.urlopen(request, timeout=120) as response:
            response.read()

    def create_experiment(self, name: str) -> str:
        request = urllib.request.Request(
            f"{self.base_url}/api/2.0/mlflow/experiments/create", data=json.dumps({"name": name}).encode(),
            headers={"Content-Type": "application/json"}, method="POST")
        with urllib.request.urlopen(request, timeout=30) as response:
            return str(json.loads(response.read())["experiment_id"])

    def read_traces(self, trace_ids: list[str]) -> dict[str, Any]:
        """``{tr-<id>: {spans, assessments, token_usage}}`` as MLflow's client returns them."""
        result = subprocess.run(
            [str(self.python), str(_READER), self.base_url, *trace_ids], cwd=REPO_ROOT, env=self.environment(),
            capture_output=True, text=True, timeout=120, check=False)
        if result.returncode != 0:
            raise RuntimeError(f"mlflow_read failed:\n{result.stderr[-3000:]}")
        traces: dict[str, Any] = json.loads(result.stdout.strip().splitlines()[-1])
        return traces
