"""Instruction counts per call (valgrind callgrind), repeatable to ~1% whatever else the machine does.

Runs ``overhead.py --once`` under callgrind for each mode at two call counts and divides the difference, so
start-up and imports cancel out. Prints instructions per call and llmotel's added cost against the bare span.

    python benchmarks/callgrind_overhead.py [--provider openai|anthropic] [--small 100] [--large 600] [--stream]

``--keep DIR`` keeps the callgrind output files (``DIR/<provider>-<mode>-<calls>.out``) for
``callgrind_annotate`` (tip: ``--modes llmotel --keep DIR`` for a profile of the instrumented path only).
"""

from __future__ import annotations

import argparse
import os
import platform
import re
import shutil
import subprocess
import sys
import tempfile
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

HERE = Path(__file__).resolve().parent
MODES = ("uninstrumented", "bare", "llmotel")
# Fixed addresses (and the fixed hash seed below) make the counts repeat to a few thousand instructions in
# billions; with address randomisation, id()-keyed tables differ from run to run by millions.
NO_ASLR = ["setarch", platform.machine(), "-R"] if shutil.which("setarch") else []


def instructions(provider: str, mode: str, calls: int, stream: bool, chunks: int, keep: Path | None) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = (keep or Path(tmp)) / f"{provider}-{mode}-{calls}{'-stream' if stream else ''}.out"
        cmd = [*NO_ASLR, "valgrind", "--tool=callgrind", f"--callgrind-out-file={out}"]
        if keep is None:
            cmd.append("--dump-instr=no")
        cmd += [sys.executable, str(HERE / "overhead.py"), "--once", "--provider", provider, "--mode", mode,
                "--calls", str(calls), "--chunks", str(chunks)]
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
    parser.add_argument("--provider", choices=["openai", "anthropic"], default="openai")
    parser.add_argument("--small", type=int, default=100)
    parser.add_argument("--large", type=int, default=600)
    parser.add_argument("--stream", action="store_true")
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--modes", nargs="+", choices=MODES, default=list(MODES), help="which modes to run")
    parser.add_argument("--keep", type=Path, default=None, help="keep the callgrind output files in this folder")
    args = parser.parse_args()
    if args.keep is not None:
        args.keep.mkdir(parents=True, exist_ok=True)
    modes = [m for m in MODES if m in args.modes]
    jobs = [(mode, n) for mode in modes for n in (args.small, args.large)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        results = pool.map(
            lambda job: instructions(args.provider, job[0], job[1], args.stream, args.chunks, args.keep), jobs
        )
        counts = dict(zip(jobs, results, strict=True))
    per_call = {m: (counts[(m, args.large)] - counts[(m, args.small)]) / (args.large - args.small) for m in modes}
    kind = f"streamed call ({args.chunks} chunks)" if args.stream else "plain call"
    print(f"{args.provider}: instructions per {kind}:")
    for mode in modes:
        print(f"  {mode:15s} {per_call[mode]:12,.0f}")
    if len(modes) < len(MODES):
        return
    bare = per_call["bare"] - per_call["uninstrumented"]
    ours = per_call["llmotel"] - per_call["uninstrumented"]
    if args.stream:
        per_chunk = (per_call["llmotel"] - per_call["bare"]) / args.chunks
        print(f"  bare span added {bare:,.0f}; llmotel added {ours:,.0f}")
        print(f"  llmotel added per chunk beyond the bare span (its per-call part spread over the chunks): "
              f"{per_chunk:,.0f}")
    else:
        print(f"  bare span added {bare:,.0f}; llmotel added {ours:,.0f}; ratio {ours / bare:.2f} (target <= 1.5)")


if __name__ == "__main__":
    main()
