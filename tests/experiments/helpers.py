"""An experiment file for the subprocess tests, and how to run the ``llmotel`` command on it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Callable
from pathlib import Path

EXPERIMENT_FILE = textwrap.dedent(
    """
    import os, time, llmotel

    N = int(os.environ.get("RECORDS", "20"))
    SLEEP = float(os.environ.get("SLEEP", "0"))
    LOG = os.environ.get("TASK_LOG")
    dataset = llmotel.Dataset("numbers", [{"input_data": i, "expected_output": i * 2, "id": f"r{i}"} for i in range(N)])


    def double(n, config):
        time.sleep(SLEEP)
        if LOG:
            with open(LOG, "a") as log:
                log.write(f"r{n}\\n")
        return n * config["factor"]


    numbers = llmotel.experiment(
        "numbers", double, dataset, evaluators=["exact_match"], config={"factor": int(os.environ.get("FACTOR", "2"))},
        objectives=[llmotel.Objective("exact_match", equals=True)],
    )
    other = llmotel.Experiment("notebook")

    if __name__ == "__main__":
        raise SystemExit("the CLI must not run the __main__ block")
    """
)


def write_experiment(directory: Path) -> Path:
    path = directory / "numbers_experiment.py"
    path.write_text(EXPERIMENT_FILE, encoding="utf-8")
    return path


def environment(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_", "OPENAI_"))}
    env["PYTHONPATH"] = os.pathsep.join([str(Path(__file__).resolve().parents[2]), env.get("PYTHONPATH", "")])
    env.update(extra)
    return env


def llmotel_command(*args: str) -> list[str]:
    return [sys.executable, "-m", "llmotel", *args]


def cli(*args: str, env: dict[str, str], cwd: Path | None = None, timeout: float = 120
        ) -> subprocess.CompletedProcess[str]:
    return subprocess.run(llmotel_command(*args), env=env, cwd=cwd, capture_output=True, text=True,
                          timeout=timeout, check=False)


def wait_until(condition: Callable[[], bool], timeout: float = 60, interval: float = 0.05) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise TimeoutError("condition not met in time")
        time.sleep(interval)
