"""Start-up cost of ``import llmotel; llmotel.enable()`` against the provider SDKs the application imports itself.

Every figure comes from fresh interpreters, measured in this run. Scenarios (target: llmotel adds <= 150 ms):

  a) openai:    ``import openai``              vs ``import llmotel; llmotel.enable(); import openai``
  b) anthropic: ``import anthropic``           vs ``import llmotel; llmotel.enable(); import anthropic``
  c) both:      ``import openai, anthropic``   vs ``import llmotel; llmotel.enable(); import openai, anthropic``
  d) neither:   nothing                        vs ``import llmotel; llmotel.enable()``

Per scenario: the median wall time of the statements inside the interpreter (``time.perf_counter`` around them, so
the interpreter's own start-up is left out) over ``--repeats`` runs that take turns, and the total import time
``python -X importtime`` reports (the sum of every module's own time; one run each), with the modules llmotel's
variant adds that cost most. ``enable()`` runs with its defaults (no endpoint configured: the console sink).

``--evaluation`` adds ``enable(redact_pii=True, evaluators=[the four offline checks])`` with openai and llmotel
imported first: ``enable()``'s time, the time until the checks are loaded, and the process's resident memory
once they are, with the checks loaded on the background thread (the default) and in ``enable()``
(``builtin.load_in_background = False``), against ``enable()`` without evaluation (what loading on first use
would leave in ``enable()``); and the same followed by the application's own ``import anthropic`` (time until
the application is ready), which competes with the background load for the interpreter.

``--otlp`` configures an OTLP endpoint (``OTEL_EXPORTER_OTLP_ENDPOINT``, nothing listening), as a deployed
application has: llmotel then also builds its OTLP trace exporter and (deferred to the first LLM call) its metric
pipeline. ``--source DIR`` measures the llmotel in another checkout (e.g. ``git worktree add DIR REV``) instead.

``--instructions`` counts instructions instead (one run of each variant under valgrind's callgrind; repeatable
whatever else the machine does, where times on a busy shared machine are not): what llmotel adds, also as a
share of the SDK import's own count, which converts to time on any machine where that import was timed.

Bytecode: the runs use a private ``PYTHONPYCACHEPREFIX`` (filled by one warm-up run per variant), so every module,
llmotel's included, loads from compiled bytecode as it does once installed, whatever ``PYTHONDONTWRITEBYTECODE``
says in this shell.

    python benchmarks/startup.py [--repeats 7] [--evaluation] [--instructions] [--otlp] [--source DIR]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import zlib
from dataclasses import dataclass
from pathlib import Path

SOURCE = Path(__file__).resolve().parents[1]  # the llmotel measured (--source)
CACHE = Path(tempfile.gettempdir()) / "llmotel-startup-bytecode"
EXTRA_ENV: dict[str, str] = {}  # --otlp
ENABLE = "import llmotel; llmotel.enable()"
EVALUATION = ("import llmotel; llmotel.enable(redact_pii=True, evaluators=['language_mismatch', "
              "'failure_to_answer', 'sentiment', 'toxicity'])")
PROBE = """
import time
{setup}
_t1, _c1, _h1 = time.perf_counter(), time.process_time(), time.thread_time()
{code}
_t2, _c2, _h2 = time.perf_counter(), time.process_time(), time.thread_time()
{after}
_t3, _c3 = time.perf_counter(), time.process_time()
import json
for _line in open("/proc/self/status"):
    if _line.startswith("VmRSS:"):
        _rss = int(_line.split()[1]) / 1024
print(json.dumps({{"seconds": _t2 - _t1, "cpu": _c2 - _c1, "thread_cpu": _h2 - _h1, "until_after": _t3 - _t1,
                  "cpu_until_after": _c3 - _c1, "rss_mb": _rss}}))
"""


@dataclass(frozen=True)
class Variant:
    label: str
    code: str
    setup: str = ""  # runs first, untimed
    after: str = ""  # runs after the timed part (counted in "until_after")


SCENARIOS = {
    "a) openai": (Variant("import openai", "import openai"), Variant("llmotel + openai", f"{ENABLE}; import openai")),
    "b) anthropic": (Variant("import anthropic", "import anthropic"),
                     Variant("llmotel + anthropic", f"{ENABLE}; import anthropic")),
    "c) both": (Variant("import openai, anthropic", "import openai, anthropic"),
                Variant("llmotel + both", f"{ENABLE}; import openai, anthropic")),
    "d) neither": (Variant("nothing", "pass"), Variant("llmotel alone", ENABLE)),
}


def environment() -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_", "PYTHONDONTWRITEBYTECODE"))}
    env.update(PYTHONPATH=str(SOURCE), PYTHONPYCACHEPREFIX=str(CACHE), **EXTRA_ENV)
    return env


def script(variant: Variant) -> str:
    return PROBE.format(setup=variant.setup or "pass", code=variant.code, after=variant.after or "pass")


def measure(variant: Variant) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", script(variant)], capture_output=True, text=True,
                            env=environment(), check=True, timeout=300, cwd=SOURCE)
    return json.loads(result.stdout.strip().splitlines()[-1])


def import_times(variant: Variant) -> dict[str, int]:
    """Module -> its own import time in microseconds, from ``-X importtime`` (statements of ``code`` only)."""
    marker = "-- timed part --"
    code = f"{variant.setup}\nimport sys; sys.stderr.write({marker!r} + '\\n'); sys.stderr.flush()\n{variant.code}"
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                            env=environment(), check=True, timeout=300, cwd=SOURCE)
    lines = result.stderr.splitlines()
    start = lines.index(marker)
    own: dict[str, int] = {}
    for line in lines[start + 1:]:
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line.split(":", 1)[1].split("|")
        if fields[0].strip().isdigit():
            own[fields[2].strip()] = int(fields[0])
    return own


def instructions(variant: Variant) -> int:
    """Instructions the whole interpreter run executes (valgrind's callgrind, addresses and hashing fixed)."""
    no_aslr = ["setarch", platform.machine(), "-R"] if shutil.which("setarch") else []
    env = {**environment(), "PYTHONHASHSEED": "0"}
    with tempfile.TemporaryDirectory() as tmp:
        result = subprocess.run([*no_aslr, "valgrind", "--tool=callgrind", f"--callgrind-out-file={tmp}/out",
                                 "--dump-instr=no", sys.executable, "-c", script(variant)],
                                capture_output=True, text=True, env=env, check=True, timeout=3600, cwd=SOURCE)
    found = re.search(r"Collected : (\d+)", result.stderr)
    if not found:
        raise RuntimeError(result.stderr[-2000:])
    return int(found.group(1))


def counted() -> None:
    print("instructions (valgrind callgrind), one run each; llmotel's variant minus the application's own")
    for variant in [v for pair in SCENARIOS.values() for v in pair]:
        measure(variant)  # bytecode into the cache first
    for name, (base, ours) in SCENARIOS.items():
        plain, traced = instructions(base), instructions(ours)
        share = f" = {(traced - plain) / plain:.1%} of the application's own" if base.code != "pass" else ""
        print(f"  {name:13s} {base.label:26s} {plain / 1e6:9,.0f} M   {ours.label:20s} {traced / 1e6:9,.0f} M"
              f"   llmotel adds {(traced - plain) / 1e6:7,.0f} M{share}")


def figure(runs: list[dict[str, float]], key: str) -> float:
    """The median of one figure over the runs, in milliseconds (or MB for RSS)."""
    return statistics.median(r[key] for r in runs) * (1 if key == "rss_mb" else 1000)


def repeated(variants: list[Variant], repeats: int) -> dict[str, list[dict[str, float]]]:
    """Every variant ``repeats`` times, taking turns, after one warm-up run each (bytecode into the cache)."""
    for variant in variants:
        measure(variant)
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(repeats):
        for variant in variants:
            runs.setdefault(variant.label, []).append(measure(variant))
    return runs


def startup(repeats: int) -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"medians of {repeats} runs: wall time, and CPU time (what other processes on the machine disturb least)")
    runs = repeated([v for pair in SCENARIOS.values() for v in pair], repeats)
    for name, (base, ours) in SCENARIOS.items():
        plain, traced = runs[base.label], runs[ours.label]
        base_imports, our_imports = import_times(base), import_times(ours)
        added = {m: t for m, t in our_imports.items() if m not in base_imports}
        heaviest = sorted(added.items(), key=lambda item: -item[1])[:6]
        print(f"\n{name}")
        for variant, figures in ((base, plain), (ours, traced)):
            wall, cpu = figure(figures, "seconds"), figure(figures, "cpu")
            print(f"  {variant.label:26s} wall {wall:7.0f} ms   CPU {cpu:7.0f} ms")
        print(f"  llmotel adds: wall {figure(traced, 'seconds') - figure(plain, 'seconds'):.0f} ms, "
              f"CPU {figure(traced, 'cpu') - figure(plain, 'cpu'):.0f} ms (target <= 150 ms)")
        print(f"  -X importtime: {sum(base_imports.values()) / 1000:.0f} ms -> {sum(our_imports.values()) / 1000:.0f}"
              f" ms, +{len(added)} modules ({sum(added.values()) / 1000:.0f} ms); heaviest own times (ms): "
              + ", ".join(f"{m} {t / 1000:.1f}" for m, t in heaviest))
        sdks = sorted({m.split(".")[0] for m in added if m.split(".")[0] in ("openai", "anthropic")})
        print(f"  SDK packages only llmotel's variant imports: {', '.join(sdks) or 'none'}")


def evaluation(repeats: int) -> None:
    setup = "import openai, llmotel"
    eager = setup + "; import llmotel.evaluation.builtin as builtin; builtin.load_in_background = False"
    loaded = "from llmotel.evaluation._loading import background_load; background_load.wait()"
    variants = [
        Variant("no evaluation", "llmotel.enable()", setup),
        Variant("checks loaded in enable()", EVALUATION, eager, after=loaded),
        Variant("checks loaded in background", EVALUATION, setup, after=loaded),
        Variant("in enable(), then app imports", f"{EVALUATION}; import anthropic", eager, after=loaded),
        Variant("background, then app imports", f"{EVALUATION}; import anthropic", setup, after=loaded),
    ]
    runs = repeated(variants, repeats)
    print("\nevaluation: enable(redact_pii=True, evaluators=[4 offline checks]), openai and llmotel imported first;")
    print("  timed part (wall, and CPU of the calling thread); until the checks are loaded (wall, process CPU); RSS")
    for variant in variants:
        figures = runs[variant.label]
        print(f"  {variant.label:30s} timed {figure(figures, 'seconds'):6.0f} ms (thread CPU "
              f"{figure(figures, 'thread_cpu'):5.0f}), until loaded {figure(figures, 'until_after'):6.0f} ms "
              f"(CPU {figure(figures, 'cpu_until_after'):5.0f}), RSS {figure(figures, 'rss_mb'):4.0f} MB")
    plain, eager_runs, background = (runs[v.label] for v in variants[:3])
    for key, what in (("seconds", "wall"), ("thread_cpu", "calling thread's CPU")):
        cost = figure(eager_runs, key) - figure(plain, key)
        left = figure(background, key) - figure(plain, key)
        print(f"  {what}: the checks cost enable() {cost:.0f} ms; loaded in the background enable() keeps {left:.0f} ms"
              f" (the shared modules) and saves {cost - left:.0f} ms; on first use it would save all {cost:.0f} ms")
    print(f"  memory: the checks take {figure(eager_runs, 'rss_mb') - figure(plain, 'rss_mb'):.0f} MB either way; "
          "only loading on first use would spare it, and only until a span is evaluated")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--evaluation", action="store_true", help="also measure enable() with PII + offline checks")
    parser.add_argument("--only-evaluation", action="store_true", help="only the evaluation figures")
    parser.add_argument("--instructions", action="store_true", help="count instructions instead (valgrind)")
    parser.add_argument("--otlp", action="store_true", help="with an OTLP endpoint configured (nothing listening)")
    parser.add_argument("--source", type=Path, help="measure the llmotel of this checkout")
    args = parser.parse_args()
    global SOURCE, CACHE
    if args.source:
        SOURCE = args.source.resolve()
        CACHE = CACHE.with_name(f"{CACHE.name}-{zlib.crc32(str(SOURCE).encode()):08x}")
    if args.otlp:
        EXTRA_ENV["OTEL_EXPORTER_OTLP_ENDPOINT"] = "http://127.0.0.1:9"
    print(f"llmotel from {SOURCE}; {'OTLP endpoint configured' if args.otlp else 'default settings (console)'}")
    CACHE.mkdir(exist_ok=True)
    if args.instructions:
        counted()
        return
    if not args.only_evaluation:
        startup(args.repeats)
    if args.evaluation or args.only_evaluation:
        evaluation(args.repeats)


if __name__ == "__main__":
    main()
