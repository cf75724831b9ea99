"""The evaluating processor's costs: calling thread, worker throughput, memory under a dead backend.

    python benchmarks/evaluation.py caller      # CPU time per plain call on the calling thread, evaluation on vs off
    python benchmarks/evaluation.py caller --callgrind  # the same in instructions of the calling thread only
    python benchmarks/evaluation.py throughput  # spans/s evaluated by the workers, all five offline checks
    python benchmarks/evaluation.py throughput --each  # ... and each check alone, and the four without toxicity
    python benchmarks/evaluation.py throughput --each --callgrind  # the same in instructions per span (repeatable)
    python benchmarks/evaluation.py memory      # RSS at 200 calls/s for 60 s with an unreachable OTLP backend

Every mode uses the real OpenAI client over an in-process ``MockTransport`` (no network) with 500-character
messages; the offline checks and PII redaction are the built-ins (``pip install -e '.[dev]'`` installs them).
Targets (issues 6 and 13): calling thread <= 1.10x; throughput >= 300 spans/s on 2 cores with all five offline
checks (``pii``, ``language_mismatch``, ``failure_to_answer``, ``sentiment``, ``toxicity``); memory bounded.
"""

from __future__ import annotations

import argparse
import json
import os
import re
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import httpx2
import openai
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor

sys.path.insert(0, os.path.dirname(__file__))
from overhead import NoopExporter

import llmotel
from llmotel import semconv as sc
from llmotel.evaluation import builtin
from llmotel.evaluation.processor import EvaluatingSpanProcessor

OFFLINE = ["language_mismatch", "failure_to_answer", "sentiment", "toxicity"]
#: the built-in offline checks by name; "pii" is the redactor (it also reports a ``pii`` result)
CHECKS = ["pii", *OFFLINE]
QUESTION = (
    "Hello, I am Maria Schmidt and I need help with my order 48213. Please send the invoice to "
    "maria.schmidt@example.com or call me on +49 30 901820 tomorrow. I paid with the card 4111 1111 1111 1111 "
    "last Tuesday, and the amount was 129.90 EUR. Could you also tell me how long delivery to Berlin takes, and "
    "whether I can change the delivery address after the parcel has shipped? The tracking page shows an error "
    "since yesterday evening and I am getting worried."
)
ANSWER = (
    "Thank you for reaching out, Maria. I have found your order 48213 and the invoice has been sent to the e-mail "
    "address on file. Delivery to Berlin usually takes two to three working days. You can change the delivery "
    "address until the parcel leaves our warehouse; after that, the carrier offers a redirect service on its "
    "website for a small fee. The tracking page had a temporary outage yesterday evening, which is now fixed, so "
    "you should see the current status again. Is there anything else I can help you with today?"
)
MESSAGES = [{"role": "system", "content": "You are a helpful customer support assistant."},
            {"role": "user", "content": QUESTION}]
COMPLETION = json.dumps({
    "id": "chatcmpl-eval", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
    "choices": [{"index": 0, "finish_reason": "stop", "message": {"role": "assistant", "content": ANSWER}}],
    "usage": {"prompt_tokens": 120, "completion_tokens": 110, "total_tokens": 230},
}).encode()


def client() -> openai.OpenAI:
    transport = httpx2.MockTransport(
        lambda request: httpx2.Response(200, content=COMPLETION, headers={"content-type": "application/json"}))
    return openai.OpenAI(api_key="bench", max_retries=0, http_client=httpx2.Client(transport=transport))


def call(c: openai.OpenAI) -> None:
    c.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES)


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def caller_cpu_per_call(evaluate: bool, calls: int, repeats: int) -> float:
    """Best-of-``repeats`` CPU seconds per call spent on the calling thread (workers excluded)."""
    settings: dict[str, Any] = {"exporter": NoopExporter(),
                                "export": llmotel.ExportOptions(console=False, metrics=False)}
    if evaluate:
        settings.update(evaluators=OFFLINE, redact_pii=True, pii=llmotel.PiiOptions(use_ner=False),
                        evaluation=llmotel.EvaluationOptions(queue_size=calls * repeats + 100))
    llmotel.enable(tracer_provider=TracerProvider(), **settings)
    c = client()
    for _ in range(50):  # warm-up: imports, model loading, caches
        call(c)
    llmotel.flush(timeout=120)
    best = float("inf")
    for _ in range(repeats):
        t0 = time.thread_time()
        for _ in range(calls):
            call(c)
        best = min(best, (time.thread_time() - t0) / calls)
        llmotel.flush(timeout=300)  # evaluation is drained between repeats so queues never fill
    llmotel.shutdown()
    return best


def run_caller_once(args: argparse.Namespace) -> None:
    """``args.calls`` calls in one mode, for callgrind (warm-up and evaluation finished before and after)."""
    settings: dict[str, Any] = {"exporter": NoopExporter(),
                                "export": llmotel.ExportOptions(console=False, metrics=False)}
    if args.evaluate:
        settings.update(evaluators=OFFLINE, redact_pii=True, pii=llmotel.PiiOptions(use_ner=False),
                        evaluation=llmotel.EvaluationOptions(queue_size=args.calls + 100))
    llmotel.enable(tracer_provider=TracerProvider(), **settings)
    c = client()
    for _ in range(20):
        call(c)
    llmotel.flush(timeout=600)
    for _ in range(args.calls):
        call(c)
    llmotel.shutdown(timeout=600)


def main_thread_instructions(evaluate: bool, calls: int) -> int:
    """Instructions executed by the calling (main) thread only: callgrind with one output file per thread."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        cmd = ["valgrind", "--tool=callgrind", "--separate-threads=yes", "--dump-instr=no",
               f"--callgrind-out-file={out}", sys.executable, __file__, "caller-once", "--calls", str(calls)]
        if evaluate:
            cmd.append("--evaluate")
        subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        main_thread = Path(f"{out}-01")  # thread 1 is the main thread
        found = re.search(r"^(?:summary|totals): (\d+)", main_thread.read_text(), re.MULTILINE)
        if not found:
            raise RuntimeError(f"no totals in {main_thread}")
        return int(found.group(1))


def run_caller_callgrind(args: argparse.Namespace) -> None:
    small, large = args.calls // 4, args.calls
    jobs = [(mode, n) for mode in (False, True) for n in (small, large)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: main_thread_instructions(*job), jobs), strict=True))
    per_call = {mode: (counts[(mode, large)] - counts[(mode, small)]) / (large - small) for mode in (False, True)}
    print(f"calling-thread instructions per plain call ({large}-{small} calls): evaluation off "
          f"{per_call[False] / 1e6:.3f}M, on (PII + {', '.join(OFFLINE)}) {per_call[True] / 1e6:.3f}M -> ratio "
          f"{per_call[True] / per_call[False]:.3f} (target <= 1.10)")


def run_caller(args: argparse.Namespace) -> None:
    if args.callgrind:
        run_caller_callgrind(args)
        return
    off = on = float("inf")
    for _ in range(args.rounds):  # interleaved, best of each: the machine's load drifts between runs
        off = min(off, caller_cpu_per_call(False, args.calls, args.repeats))
        on = min(on, caller_cpu_per_call(True, args.calls, args.repeats))
    print(f"calling-thread CPU per plain call: evaluation off {off * 1e6:.1f} us, "
          f"on (PII + {', '.join(OFFLINE)}) {on * 1e6:.1f} us -> ratio {on / off:.3f} (target <= 1.10)")


def llm_span(i: int) -> ReadableSpan:
    """A finished chat span with 500-character input and output messages, as the instrumentation makes."""
    provider = TracerProvider()
    tracer = provider.get_tracer("bench")
    span = tracer.start_span(f"chat gpt-4o-mini-{i % 3}", attributes={
        sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_PROVIDER_NAME: "openai", sc.GEN_AI_REQUEST_MODEL: "gpt-4o-mini",
        sc.GEN_AI_SYSTEM_INSTRUCTIONS: json.dumps([{"type": "text", "content": MESSAGES[0]["content"]}]),
        # each span's texts differ (ticket number), so no cache in the checks sees the same text twice
        sc.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "parts": [
            {"type": "text", "content": f"Ticket {i}. {QUESTION}"}]}]),
        sc.GEN_AI_OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "finish_reason": "stop", "parts": [
            {"type": "text", "content": f"{ANSWER} (ticket {i})"}]}]),
    })
    span.end()
    return span._readable_span()  # type: ignore[attr-defined]


def throughput(checks: list[str], spans: list[ReadableSpan], workers: int, ner: bool) -> tuple[float, float]:
    """Spans per second the processor's workers evaluate with ``checks`` (names from :data:`CHECKS`), and the
    process's CPU milliseconds per span (what the figure would be on an idle machine: the GIL lets the workers
    use about one core; on a shared machine the wall-clock rate falls with the load, the CPU cost much less)."""
    from llmotel.config import resolve

    redactor = builtin.pii_redactor(resolve(redact_pii=True, pii_use_ner=ner)) if "pii" in checks else None
    processor = EvaluatingSpanProcessor(
        SimpleSpanProcessor(NoopExporter()), builtin.evaluators([c for c in checks if c != "pii"]),
        redactor=redactor, queue_size=len(spans) + 10, workers=workers,
    )
    processor.on_end(llm_span(-1))  # warm-up: load the models before timing
    processor.force_flush(120_000)
    t0, cpu0 = time.perf_counter(), time.process_time()
    for span in spans:
        processor.on_end(span)
    assert processor.force_flush(600_000)
    elapsed, cpu = time.perf_counter() - t0, time.process_time() - cpu0
    processor.shutdown()
    return len(spans) / elapsed, cpu / len(spans) * 1e3


def run_throughput_once(args: argparse.Namespace) -> None:
    """``args.spans`` spans through the processor with ``args.checks``, for callgrind (warm-up included)."""
    throughput(args.checks.split(","), [llm_span(i) for i in range(args.spans)], args.workers, args.ner)


def process_instructions(checks: list[str], spans: int, workers: int, ner: bool) -> int:
    """Instructions the whole process (every thread) executes to evaluate ``spans`` spans, under callgrind."""
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "cg.out"
        cmd = ["valgrind", "--tool=callgrind", "--dump-instr=no", f"--callgrind-out-file={out}", sys.executable,
               __file__, "throughput-once", "--spans", str(spans), "--workers", str(workers),
               "--checks", ",".join(checks)] + (["--ner"] if ner else [])
        subprocess.run(cmd, capture_output=True, text=True, check=True, env={**os.environ, "PYTHONHASHSEED": "0"})
        found = re.search(r"^(?:summary|totals): (\d+)", out.read_text(), re.MULTILINE)
        if not found:
            raise RuntimeError(f"no totals in {out}")
        return int(found.group(1))


def run_throughput_callgrind(runs: list[list[str]], args: argparse.Namespace) -> None:
    """Instructions per span: the difference between a run of ``args.spans`` spans and one of a fifth as many
    (start-up, model loading and warm-up cancel out)."""
    small, large = args.spans // 5, args.spans
    print(f"worker instructions per span (callgrind, all threads, {large}-{small} spans, {args.workers} workers):")
    jobs = [(tuple(checks), n) for checks in runs for n in (small, large)]
    with ThreadPoolExecutor(max_workers=2) as pool:
        counts = dict(zip(jobs, pool.map(lambda job: process_instructions(list(job[0]), job[1], args.workers,
                                                                          args.ner), jobs), strict=True))
    for checks in runs:
        per_span = (counts[(tuple(checks), large)] - counts[(tuple(checks), small)]) / (large - small)
        print(f"  {' + '.join(checks):60} {per_span / 1e6:7.3f}M instructions/span", flush=True)


def run_throughput(args: argparse.Namespace) -> None:
    chosen = args.checks.split(",")
    unknown = sorted(set(chosen) - set(CHECKS))
    if unknown:
        raise SystemExit(f"unknown checks {unknown}; choose from {CHECKS}")
    runs = [chosen]
    if args.each:
        runs += [[c] for c in CHECKS] + [[c for c in CHECKS if c != "toxicity"]]
    if args.callgrind:
        run_throughput_callgrind(runs, args)
        return
    spans = [llm_span(i) for i in range(args.spans)]
    print(f"worker throughput, 500-character messages, {args.workers} workers, {len(spans)} spans per run "
          f"(load average {os.getloadavg()[0]:.1f}):")
    for checks in runs:
        rate, cpu_ms = throughput(checks, spans, args.workers, args.ner)
        target = "  (target >= 300)" if checks == CHECKS else ""
        print(f"  {' + '.join(checks):60} {rate:6.0f} spans/s   CPU {cpu_ms:5.2f} ms/span{target}", flush=True)


def dead_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])  # closed again: connections are refused


def run_memory(args: argparse.Namespace) -> None:
    endpoint = f"http://127.0.0.1:{dead_port()}"
    llmotel.enable(endpoint=endpoint, protocol=args.protocol, evaluators=OFFLINE, redact_pii=True,
                   tracer_provider=TracerProvider(), export=llmotel.ExportOptions(console=False),
                   pii=llmotel.PiiOptions(use_ner=False))
    c = client()
    start_rss = rss_mb()
    samples, latencies = [], []
    interval = 1 / args.rate
    t_start = time.perf_counter()
    next_call = t_start
    while (now := time.perf_counter()) - t_start < args.seconds:
        if now < next_call:
            time.sleep(next_call - now)
        t0 = time.perf_counter()
        call(c)
        latencies.append(time.perf_counter() - t0)
        next_call += interval
        if len(latencies) % args.rate == 0:
            samples.append(rss_mb())
    calls = len(latencies)
    latencies.sort()
    print(f"dead OTLP backend ({args.protocol}, {endpoint}), {calls} calls in {args.seconds} s "
          f"({calls / args.seconds:.0f}/s): RSS start {start_rss:.0f} MB, peak {max(samples):.0f} MB, "
          f"last {samples[-1]:.0f} MB")
    step = max(1, len(samples) // 12)
    print("RSS over time (MB):", ", ".join(f"{s:.0f}" for s in samples[::step]))
    print(f"application call latency: p50 {statistics.median(latencies) * 1e3:.2f} ms, "
          f"p99 {latencies[int(calls * 0.99)] * 1e3:.2f} ms, max {latencies[-1] * 1e3:.2f} ms")
    t0 = time.perf_counter()
    llmotel.shutdown(timeout=5)
    print(f"shutdown with the backend still down: {time.perf_counter() - t0:.1f} s")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    caller = sub.add_parser("caller")
    caller.add_argument("--calls", type=int, default=300)
    caller.add_argument("--repeats", type=int, default=3)
    caller.add_argument("--rounds", type=int, default=3)
    caller.add_argument("--callgrind", action="store_true", help="count the calling thread's instructions")
    once = sub.add_parser("caller-once")
    once.add_argument("--calls", type=int, default=100)
    once.add_argument("--evaluate", action="store_true")
    throughput = sub.add_parser("throughput")
    throughput.add_argument("--spans", type=int, default=2000)
    throughput.add_argument("--workers", type=int, default=2)
    throughput.add_argument("--ner", action="store_true", help="also names/locations with the spaCy model")
    throughput.add_argument("--checks", default=",".join(CHECKS), help="comma-separated names from CHECKS")
    throughput.add_argument("--each", action="store_true", help="also each check alone, and all but toxicity")
    throughput.add_argument("--callgrind", action="store_true",
                            help="count instructions per span instead (use --spans 250 or so: valgrind is slow)")
    throughput_once = sub.add_parser("throughput-once")
    throughput_once.add_argument("--spans", type=int, default=50)
    throughput_once.add_argument("--workers", type=int, default=2)
    throughput_once.add_argument("--ner", action="store_true")
    throughput_once.add_argument("--checks", default=",".join(CHECKS))
    memory = sub.add_parser("memory")
    memory.add_argument("--rate", type=int, default=200)
    memory.add_argument("--seconds", type=int, default=60)
    memory.add_argument("--protocol", choices=["grpc", "http/protobuf"], default="http/protobuf")
    args = parser.parse_args()
    modes = {"caller": run_caller, "caller-once": run_caller_once, "throughput": run_throughput,
             "throughput-once": run_throughput_once, "memory": run_memory}
    modes[args.mode](args)


if __name__ == "__main__":
    main()
