"""Instruction counts per call (valgrind callgrind), repeatable to ~1% whatever else the machine does.

Runs ``overhead.py --once`` under callgrind for each mode at two call counts and divides the difference, so
start-up and imports cancel out. Prints instructions per call and llmotel's added cost against the bare span.

    python benchmarks/callgrind_overhead.py [--small 100] [--large 600] [--stream]
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = ("uninstrumented", "bare", "llmotel")


def instructions(mode: str, calls: int, stream: bool, chunks: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        cmd = ["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable,
               str(HERE / "overhead.py"), "--once", "--mode", mode, "--calls", str(calls), "--chunks", str(chunks)]
        if stream:
            cmd.append("--stream")
        env = {**os.environ, "PYTHONHASHSEED": "0"}  # the same dict layouts in every run
        result = subprocess.run(cmd, capture_output=True, text=True, check=True, env=env)
        found = re.search(r"Collected : (\d+)", result.stderr)
        if not found:
            raise RuntimeError(result.stderr[-2000:])
        return int(found.group(1))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=600)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--chunks", type=int, default=200)
    args = parser.parse_args()
    jobs = [(mode, n) for mode in MODES for n in (args.small, args.large)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(lambda job: instructions(job[0], job[1], args.stream, args.chunks), jobs)
        counts = dict(zip(jobs, results, strict=True))
    per_call = {m: (counts[(m, args.large)] - counts[(m, args.small)]) / (args.large - args.small) for m in MODES}
    kind = f"streamed call ({args.chunks} chunks)" if args.stream else "plain chat call"
    print(f"instructions per {kind}:")
    for mode in MODES:
        print(f"  {mode:15s} {per_call[mode]:12,.0f}")
    bare = per_call["bare"] - per_call["uninstrumented"]
    ours = per_call["llmotel"] - per_call["uninstrumented"]
    print(f"  bare span added {bare:,.0f}; llmotel added {ours:,.0f}; ratio {ours / bare:.2f} (target <= 1.5)")
    if args.stream:
        per_chunk = (per_call["llmotel"] - per_call["bare"]) / args.chunks
        print(f"  llmotel added per chunk beyond the bare span: {per_chunk:,.0f}")


if __name__ == "__main__":
    main()
