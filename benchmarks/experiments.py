"""Experiment runner benchmarks: per-record overhead, a 10,000 x 3 run's time and memory, throughput vs jobs.

    python benchmarks/experiments.py              # all three
    python benchmarks/experiments.py overhead     # runner overhead per record beyond the task and evaluators
    python benchmarks/experiments.py scale        # 10,000 records x 3 runs, trivial async task, two evaluators
    python benchmarks/experiments.py jobs         # a task that sleeps 100 ms: records/s at jobs 1, 10, 50

Tracing is on (llmotel enabled, spans built and handed to a no-op exporter) and results go to a SQLite store in a
temporary directory, as in a real run. The overhead is the slope of wall time (and of the process's CPU time, all
threads: steadier on a shared machine) over record count between two run sizes (fixed per-run costs cancel out)
minus the time measured inside the task and evaluators; it includes the summary at the end of the run. Peak RSS comes
from a child process per run size (its VmHWM), so one size's memory cannot hide another's.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import llmotel
from llmotel.experiments import Dataset, exact_match


def _enable() -> None:
    from llmotel import _setup

    if _setup.current_settings() is None:
        llmotel.enable(exporter="none", export=llmotel.ExportOptions(console=False, metrics=False))


def _high_water_mark_mb() -> float:
    """This process's peak RSS (VmHWM: unlike ru_maxrss, not inherited from the parent across fork/exec)."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return round(int(line.split()[1]) / 1024, 1)
    return float("nan")


def _dataset(n: int) -> Dataset:
    return Dataset("bench", [{"input_data": {"q": i}, "expected_output": i, "id": f"r{i}"} for i in range(n)])


class Timed:
    """Wraps a task or evaluator and adds up the time spent inside it (thread-safe)."""

    def __init__(self, fn: Any) -> None:
        self.fn, self.total, self.lock = fn, 0.0, threading.Lock()
        self.__name__ = getattr(fn, "__name__", "timed")

    def __call__(self, *args: Any) -> Any:
        started = time.perf_counter()
        try:
            return self.fn(*args)
        finally:
            with self.lock:
                self.total += time.perf_counter() - started


def _answer(input_data: dict[str, int]) -> int:
    return input_data["q"]


def _close(input_data: Any, output_data: int, expected_output: int) -> float:
    return 1.0 - min(abs(output_data - expected_output), 1)


def _one_run(store: str, n: int, jobs: int, asynchronous: bool) -> tuple[float, float, float]:
    """Wall time and CPU time (all threads) of one run of ``n`` records, and the time inside task and evaluators."""
    task, evaluator = Timed(_answer), Timed(_close)
    evaluator.__name__ = "close"
    if asynchronous:
        async def async_task(input_data: dict[str, int]) -> int:
            return task(input_data)

        run_task: Any = async_task
    else:
        run_task = task
    experiment = llmotel.experiment("bench", run_task, _dataset(n), evaluators=[exact_match, evaluator], store=store)
    started, cpu = time.perf_counter(), time.process_time()
    experiment.run(jobs=jobs, progress=False)
    return time.perf_counter() - started, time.process_time() - cpu, task.total + evaluator.total


def overhead() -> dict[str, Any]:
    _enable()
    out: dict[str, Any] = {}
    with tempfile.TemporaryDirectory() as tmp:
        for asynchronous in (False, True):
            for jobs in (1, 10):
                wall, cpu = [], []
                for repeat in range(3):
                    small = _one_run(f"{tmp}/s{asynchronous}{jobs}{repeat}.db", 500, jobs, asynchronous)
                    large = _one_run(f"{tmp}/l{asynchronous}{jobs}{repeat}.db", 2500, jobs, asynchronous)
                    inside = (large[2] - small[2]) / 2000
                    wall.append(((large[0] - small[0]) / 2000 - inside) * 1000)
                    cpu.append(((large[1] - small[1]) / 2000 - inside) * 1000)
                key = f"{'async' if asynchronous else 'sync'} task, jobs={jobs}"
                out[key] = {"wall_ms_per_record_min": round(min(wall), 3),
                            "wall_ms_per_record_median": round(sorted(wall)[1], 3),
                            "cpu_ms_per_record_min": round(min(cpu), 3),
                            "cpu_ms_per_record_median": round(sorted(cpu)[1], 3)}
    return out


def scale_child(n: int, runs: int) -> dict[str, Any]:
    _enable()
    samples: list[int] = []
    stop = threading.Event()

    def sample_rss() -> None:
        while not stop.is_set():
            with open("/proc/self/statm") as statm:
                samples.append(int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE"))
            stop.wait(0.25)

    async def answer(input_data: dict[str, int]) -> int:
        return input_data["q"]

    with tempfile.TemporaryDirectory() as tmp:
        dataset = _dataset(n)
        experiment = llmotel.experiment("scale", answer, dataset, evaluators=[exact_match, _close], runs=runs,
                                        store=f"{tmp}/scale.db")
        before = _high_water_mark_mb()
        sampler = threading.Thread(target=sample_rss, daemon=True)
        sampler.start()
        started = time.perf_counter()
        result = experiment.run(jobs=10, progress=False)
        elapsed = time.perf_counter() - started
        stop.set()
        sampler.join()
        assert result.run["results_done"] == n * runs and result.summary["exact_match"] == 1.0
        size = os.path.getsize(f"{tmp}/scale.db") + sum(os.path.getsize(p) for p in Path(tmp).glob("scale.db-*"))
    tenth = samples[len(samples) // 10] if samples else 0
    return {"records": n, "runs": runs, "wall_s": round(elapsed, 1), "record_runs_per_s": round(n * runs / elapsed),
            "peak_rss_before_run_mb": before, "peak_rss_mb": _high_water_mark_mb(),
            "rss_at_10pct_mb": round(tenth / 2**20, 1), "rss_at_end_mb": round(samples[-1] / 2**20, 1) if samples
            else None, "store_mb": round(size / 2**20, 1)}


def scale() -> list[dict[str, Any]]:
    out = []
    for n in (2_000, 10_000):
        done = subprocess.run([sys.executable, __file__, "--scale-child", str(n)], capture_output=True, text=True,
                              check=True)
        out.append(json.loads(done.stdout.strip().splitlines()[-1]))
    return out


def _steady_rate(result: Any) -> float:
    """Records per second between the first record's start and the last one's end (no per-run fixed costs)."""
    rows = list(result.store.rows("results", result.run_id))
    first = min(r["started_at"] for r in rows)
    last = max(r["started_at"] + r["latency_s"] for r in rows)
    return len(rows) / (last - first)


def jobs() -> dict[str, Any]:
    _enable()
    out: dict[str, Any] = {}

    def sleepy(input_data: dict[str, int]) -> int:
        time.sleep(0.1)
        return input_data["q"]

    async def async_sleepy(input_data: dict[str, int]) -> int:
        await asyncio.sleep(0.1)
        return input_data["q"]

    with tempfile.TemporaryDirectory() as tmp:
        llmotel.experiment("warm-up", sleepy, _dataset(2), evaluators=[exact_match],
                           store=f"{tmp}/warm.db").run(progress=False)
        for name, task in (("sync (threads)", sleepy), ("async", async_sleepy)):
            for j in (1, 10, 50):
                n = 20 * j if j < 50 else 500
                experiment = llmotel.experiment("jobs", task, _dataset(n), evaluators=[exact_match],
                                                store=f"{tmp}/jobs-{name[:4]}-{j}.db")
                started = time.perf_counter()
                result = experiment.run(jobs=j, progress=False)
                elapsed = time.perf_counter() - started
                out[f"{name}, jobs={j}"] = {"records": n, "records_per_s_whole_run": round(n / elapsed, 1),
                                            "records_per_s_steady": round(_steady_rate(result), 1),
                                            "ideal_records_per_s": 10 * j}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("what", nargs="?", choices=("overhead", "scale", "jobs", "all"), default="all")
    parser.add_argument("--scale-child", type=int, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.scale_child is not None:
        print(json.dumps(scale_child(args.scale_child, 3)))
        return
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} cpus, load average {os.getloadavg()[0]:.1f}")
    if args.what in ("overhead", "all"):
        print("runner overhead per record (beyond task + evaluators):", json.dumps(overhead(), indent=2))
    if args.what in ("scale", "all"):
        print("scale (jobs=10):", json.dumps(scale(), indent=2))
    if args.what in ("jobs", "all"):
        print("throughput with a 100 ms task:", json.dumps(jobs(), indent=2))
    print(f"load average after: {os.getloadavg()[0]:.1f}")


if __name__ == "__main__":
    main()
