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

``--evaluation`` adds ``enable(redact_pii=True, evaluators=[the four offline checks])`` with openai imported
first: ``enable()``'s time and the process's resident memory, with the built-ins loaded in ``enable()`` (the
default) and with ``LLMOTEL_EVALUATOR_LOADING=background``, against ``enable()`` without evaluation (what
loading on first use would leave in ``enable()``).

Bytecode: the runs use a private ``PYTHONPYCACHEPREFIX`` (filled by one warm-up run per variant), so every module,
llmotel's included, loads from compiled bytecode as it does once installed, whatever ``PYTHONDONTWRITEBYTECODE``
says in this shell.

    python benchmarks/startup.py [--repeats 7] [--evaluation]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
CACHE = Path(tempfile.gettempdir()) / "llmotel-startup-bytecode"
ENABLE = "import llmotel; llmotel.enable()"
EVALUATION = ("import llmotel; llmotel.enable(redact_pii=True, evaluators=['language_mismatch', "
              "'failure_to_answer', 'sentiment', 'toxicity'])")
PROBE = """
import time
_t0 = time.perf_counter()
{setup}
_t1 = time.perf_counter()
{code}
_t2 = time.perf_counter()
{after}
import json
for _line in open("/proc/self/status"):
    if _line.startswith("VmRSS:"):
        _rss = int(_line.split()[1]) / 1024
print(json.dumps({{"seconds": _t2 - _t1, "rss_mb": _rss}}))
"""


@dataclass(frozen=True)
class Variant:
    label: str
    code: str
    setup: str = ""  # runs first, untimed
    after: str = ""  # runs after the timed part, untimed
    env: tuple[tuple[str, str], ...] = ()


SCENARIOS = {
    "a) openai": (Variant("import openai", "import openai"), Variant("llmotel + openai", f"{ENABLE}; import openai")),
    "b) anthropic": (Variant("import anthropic", "import anthropic"),
                     Variant("llmotel + anthropic", f"{ENABLE}; import anthropic")),
    "c) both": (Variant("import openai, anthropic", "import openai, anthropic"),
                Variant("llmotel + both", f"{ENABLE}; import openai, anthropic")),
    "d) neither": (Variant("nothing", "pass"), Variant("llmotel alone", ENABLE)),
}


def environment(variant: Variant) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_", "PYTHONDONTWRITEBYTECODE"))}
    env.update(PYTHONPATH=str(REPO), PYTHONPYCACHEPREFIX=str(CACHE), **dict(variant.env))
    return env


def script(variant: Variant) -> str:
    return PROBE.format(setup=variant.setup or "pass", code=variant.code, after=variant.after or "pass")


def measure(variant: Variant) -> dict[str, float]:
    result = subprocess.run([sys.executable, "-c", script(variant)], capture_output=True, text=True,
                            env=environment(variant), check=True, timeout=300)
    return json.loads(result.stdout.strip().splitlines()[-1])


def import_times(variant: Variant) -> dict[str, int]:
    """Module -> its own import time in microseconds, from ``-X importtime`` (statements of ``code`` only)."""
    marker = "import _llmotel_bench_marker_"
    code = f"{variant.setup}\ntry:\n    {marker}\nexcept ImportError:\n    pass\n{variant.code}"
    result = subprocess.run([sys.executable, "-X", "importtime", "-c", code], capture_output=True, text=True,
                            env=environment(variant), check=True, timeout=300)
    lines = result.stderr.splitlines()
    start = next((i for i, line in enumerate(lines) if "_llmotel_bench_marker_" in line), -1)
    own: dict[str, int] = {}
    for line in lines[start + 1:]:
        if not line.startswith("import time:") or "|" not in line:
            continue
        fields = line.split(":", 1)[1].split("|")
        if fields[0].strip().isdigit():
            own[fields[2].strip()] = int(fields[0])
    return own


def median(values: list[float]) -> float:
    return statistics.median(values)


def startup(repeats: int) -> None:
    print(f"python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load average {os.getloadavg()[0]:.1f}; "
          f"{repeats} runs each (median, min)")
    for base, ours in SCENARIOS.values():  # warm-up: bytecode into the private cache
        measure(base)
        measure(ours)
    runs: dict[str, list[float]] = {}
    for _ in range(repeats):
        for base, ours in SCENARIOS.values():
            for variant in (base, ours):
                runs.setdefault(variant.label, []).append(measure(variant)["seconds"])
    for name, (base, ours) in SCENARIOS.items():
        plain, traced = runs[base.label], runs[ours.label]
        base_imports, our_imports = import_times(base), import_times(ours)
        added = {m: t for m, t in our_imports.items() if m not in base_imports}
        heaviest = sorted(added.items(), key=lambda item: -item[1])[:6]
        print(f"\n{name}")
        print(f"  {base.label:28s} {median(plain) * 1000:8.0f} ms  (min {min(plain) * 1000:.0f})")
        print(f"  {ours.label:28s} {median(traced) * 1000:8.0f} ms  (min {min(traced) * 1000:.0f})")
        print(f"  llmotel adds {(median(traced) - median(plain)) * 1000:.0f} ms (median), "
              f"{(min(traced) - min(plain)) * 1000:.0f} ms (min); target <= 150 ms")
        print(f"  -X importtime: {sum(base_imports.values()) / 1000:.0f} ms -> {sum(our_imports.values()) / 1000:.0f}"
              f" ms, +{len(added)} modules ({sum(added.values()) / 1000:.0f} ms), heaviest own times: "
              + ", ".join(f"{m} {t / 1000:.1f}" for m, t in heaviest))
        sdks = sorted({m.split(".")[0] for m in added if m.split(".")[0] in ("openai", "anthropic")})
        print(f"  SDK modules llmotel's variant imports beyond the application's: {sdks or 'none'}")


def evaluation(repeats: int) -> None:
    setup = "import openai"
    wait = "import llmotel._setup as s; s._enabled and s.flush(60)"  # background: wait for the load to end
    variants = [
        Variant("enable(), no evaluation", ENABLE, setup),
        Variant("evaluation loaded in enable()", EVALUATION, setup),
        Variant("evaluation loaded in background", EVALUATION, setup, after=wait,
                env=(("LLMOTEL_EVALUATOR_LOADING", "background"),)),
    ]
    for variant in variants:
        measure(variant)
    runs: dict[str, list[dict[str, float]]] = {}
    for _ in range(repeats):
        for variant in variants:
            runs.setdefault(variant.label, []).append(measure(variant))
    print("\nevaluation: enable(redact_pii=True, evaluators=[4 offline checks]) after `import openai`")
    for variant in variants:
        seconds = [r["seconds"] for r in runs[variant.label]]
        rss = [r["rss_mb"] for r in runs[variant.label]]
        print(f"  {variant.label:34s} enable() {median(seconds) * 1000:7.0f} ms (min {min(seconds) * 1000:.0f}),"
              f" RSS {median(rss):6.0f} MB")
    plain, eager = runs[variants[0].label], runs[variants[1].label]
    saved_time = median([r["seconds"] for r in eager]) - median([r["seconds"] for r in plain])
    saved_rss = median([r["rss_mb"] for r in eager]) - median([r["rss_mb"] for r in plain])
    print(f"  on first use, enable() would save {saved_time * 1000:.0f} ms and {saved_rss:.0f} MB "
          "(paid at the first evaluated span instead)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--evaluation", action="store_true", help="also measure enable() with PII + offline checks")
    parser.add_argument("--only-evaluation", action="store_true", help="only the evaluation figures")
    args = parser.parse_args()
    CACHE.mkdir(exist_ok=True)
    if not args.only_evaluation:
        startup(args.repeats)
    if args.evaluation or args.only_evaluation:
        evaluation(args.repeats)


if __name__ == "__main__":
    main()
