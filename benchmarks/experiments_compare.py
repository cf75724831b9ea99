"""``llmotel experiments compare`` and ``report`` on two 10,000-record runs: wall time, peak RSS, file sizes.

    python benchmarks/experiments_compare.py                    # build two runs in a temporary store, measure
    python benchmarks/experiments_compare.py --store runs.db    # keep (or reuse) the store between invocations
    python benchmarks/experiments_compare.py --records 2000     # smaller runs

The runs are made by ``Experiment.run`` (tracing on, a no-op exporter) over a dataset of 10,000 records whose
task answers with a ~45-word text; run B changes a few words in 30% of the answers. Four evaluators give the
comparison each kind of test: a boolean (exact McNemar), a continuous score (paired bootstrap over ~all-distinct
values: the slow case), a 1-5 grade (bootstrap over few distinct values) and a label (permutation test).

Each command runs in its own child process (``python -m llmotel ...``, as a user runs it); its wall time is
measured around the process, its CPU time (user + system) is the child's own (less sensitive than wall time to a
shared machine's load), and its peak RSS is the child's VmHWM (ru_maxrss would be inherited across exec).
The targets are the issue's: under 10 s for each command and an HTML file under 20 MB.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

WORDS = """the capital of france is paris which lies on the seine river and has been the seat of government
for centuries it is known for its museums cafes bridges and long history of art science and politics""".split()  # noqa: SIM905
_CHILD = """
import json, resource, sys, time
started = time.perf_counter()
from llmotel.cli import main
try:
    main(sys.argv[1:])
    code = 0
except SystemExit as exc:
    code = exc.code or 0
wall = time.perf_counter() - started
usage = resource.getrusage(resource.RUSAGE_SELF)
with open("/proc/self/status") as status:
    hwm = next(int(line.split()[1]) for line in status if line.startswith("VmHWM:"))
print(json.dumps({"code": code, "inside_s": wall, "cpu_s": usage.ru_utime + usage.ru_stime, "peak_rss_mb": hwm / 1024}),
      file=sys.stderr)
"""


def answer(n: int, variant: str) -> str:
    rng = random.Random(n)
    words = [rng.choice(WORDS) for _ in range(45)]
    if variant == "b" and n % 10 < 3:  # B rewrites a few words of 30% of the answers
        for i in rng.sample(range(45), 4):
            words[i] = rng.choice(WORDS).upper()
    return " ".join(words)


def build(store: str, records: int) -> tuple[str, str]:
    import llmotel
    from llmotel.experiments import Dataset

    llmotel.enable(exporter="none", export=llmotel.ExportOptions(console=False, metrics=False))
    dataset = Dataset("bench", [{"input_data": {"q": i}, "expected_output": answer(i, "a"), "id": f"r{i}"}
                                for i in range(records)])

    def exact(input_data: Any, output: str, expected: str) -> bool:
        return output == expected or input_data["q"] % 7 == 0

    def overlap(input_data: Any, output: str, expected: str) -> float:  # ~all values distinct
        ours, theirs = output.split(), expected.split()
        return sum(a == b for a, b in zip(ours, theirs, strict=False)) / len(theirs) + input_data["q"] * 1e-9

    def grade(input_data: Any, output: str, expected: str) -> int:
        return 5 if output == expected else 1 + input_data["q"] % 4

    def tone(input_data: Any, output: str, expected: str) -> str:
        return ("neutral", "positive", "negative")[(len(output) + (output != expected)) % 3]

    def task(input_data: dict[str, int], config: dict[str, str]) -> str:  # the run's config says which variant
        return answer(input_data["q"], config["variant"])

    run_ids = []
    for variant in ("a", "b"):
        experiment = llmotel.experiment("bench", task, dataset, evaluators=[exact, overlap, grade, tone],
                                        config={"variant": variant}, store=store)
        started = time.perf_counter()
        result = experiment.run(jobs=10, progress=False)
        print(f"  run {variant}: {result.run_id[:8]}, {records} records in {time.perf_counter() - started:.1f} s",
              file=sys.stderr)
        run_ids.append(result.run_id)
    llmotel.shutdown()
    return run_ids[0], run_ids[1]


def command(*args: str) -> dict[str, Any]:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")]))}
    started = time.perf_counter()
    done = subprocess.run([sys.executable, "-c", _CHILD, *args], env=env, capture_output=True, text=True, check=False)
    wall = time.perf_counter() - started
    figures = json.loads(done.stderr.strip().splitlines()[-1])
    if figures["code"] not in (0, 1):
        raise SystemExit(f"llmotel {' '.join(args)} failed:\n{done.stderr}")
    return {"wall_s": round(wall, 2), "inside_s": round(figures["inside_s"], 2), "cpu_s": round(figures["cpu_s"], 2),
            "peak_rss_mb": round(figures["peak_rss_mb"], 1), "exit": figures["code"]}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--records", type=int, default=10_000)
    parser.add_argument("--store", default=None, help="SQLite file to build the runs in, or reuse")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="llmotel-compare-bench-") as directory:
        store = args.store or str(Path(directory) / "runs.db")
        from llmotel.experiments import Store

        existing = [r for r in Store(store).runs("bench") if r["records_total"] == args.records][:2]
        if len(existing) == 2:
            b, a = existing[0]["id"], existing[1]["id"]
            print(f"reusing runs {a[:8]} and {b[:8]} in {store}", file=sys.stderr)
        else:
            print(f"building two runs of {args.records} records in {store}", file=sys.stderr)
            a, b = build(store, args.records)
        html = Path(directory) / "report.html"
        markdown = Path(directory) / "report.md"
        results = {
            "records": args.records,
            "load_average": os.getloadavg(),
            "compare": command("experiments", "compare", a, b, "--store", store, "-o", os.devnull),
            "compare_markdown": command("experiments", "compare", a, b, "--store", store, "--format", "markdown",
                                        "-o", str(markdown)),
            "report_html": command("experiments", "report", b, "--compare", a, "--store", store, "-o", str(html)),
            "report_html_one_run": command("experiments", "report", b, "--store", store, "-o", os.devnull),
        }
        results["html_mb"] = round(html.stat().st_size / 1e6, 2)
        results["markdown_kb"] = round(markdown.stat().st_size / 1e3, 1)
        results["targets"] = {"compare_under_10_s": results["compare"]["wall_s"] < 10,
                              "report_under_10_s": results["report_html"]["wall_s"] < 10,
                              "html_under_20_mb": results["html_mb"] < 20}
        print(json.dumps(results, indent=2))


if __name__ == "__main__":
    main()
