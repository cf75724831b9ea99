"""``llmotel gateway`` as a real subprocess: started, signalled, killed and restarted on the same ports."""

from __future__ import annotations

import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path
from types import TracebackType

REPO_ROOT = Path(__file__).resolve().parents[2]
_LISTENING = re.compile(r"llmotel gateway listening: (?:grpc [^:]+:(\d+), )?http [^:]+:(\d+)")
OFFLINE = "language_mismatch,failure_to_answer,sentiment,toxicity"


def clean_environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_"))}
    env.update({"PYTHONUNBUFFERED": "1", "LLMOTEL_PII_USE_NER": "false", "LLMOTEL_METRICS": "false"}, **extra)
    return env


class GatewayProcess:
    """``python -m llmotel gateway ARGS`` with its output collected; ports are read from its first line."""

    def __init__(self, args: Sequence[str], env: dict[str, str] | None = None, *, grpc_port: int = 0,
                 http_port: int = 0) -> None:
        self.args = list(args)
        self.env = env or clean_environment()
        self.grpc_port = grpc_port
        self.http_port = http_port
        self.output: list[str] = []
        self.process: subprocess.Popen[str] | None = None

    def start(self, timeout: float = 90.0) -> GatewayProcess:
        command = [sys.executable, "-m", "llmotel", "gateway", "--grpc-port", str(self.grpc_port),
                   "--http-port", str(self.http_port), *self.args]
        self.process = subprocess.Popen(command, cwd=REPO_ROOT, env=self.env, stdout=subprocess.PIPE,
                                        stderr=subprocess.STDOUT, text=True)
        listening = threading.Event()

        def read(process: subprocess.Popen[str]) -> None:
            assert process.stdout is not None
            for line in process.stdout:
                self.output.append(line)
                found = _LISTENING.search(line)
                if found:
                    if found.group(1) is not None:  # None: started with --grpc-port off
                        self.grpc_port = int(found.group(1))
                    self.http_port = int(found.group(2))
                    listening.set()

        threading.Thread(target=read, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + timeout
        while not listening.wait(0.05):
            if self.process.poll() is not None or time.monotonic() > deadline:
                self.process.kill()
                raise RuntimeError(f"gateway did not start: {''.join(self.output)}")
        return self

    @property
    def http(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def grpc(self) -> str:
        return f"http://127.0.0.1:{self.grpc_port}"

    def signal(self, signum: int = signal.SIGTERM) -> None:
        assert self.process is not None
        self.process.send_signal(signum)

    def wait(self, timeout: float = 60.0) -> int:
        assert self.process is not None
        return self.process.wait(timeout)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.kill()
            self.process.wait(10)

    def restart(self, timeout: float = 90.0) -> GatewayProcess:
        """Start again on the same ports (after it exited)."""
        return self.start(timeout)

    def __enter__(self) -> GatewayProcess:
        return self.start()

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 traceback: TracebackType | None) -> None:
        self.stop()
