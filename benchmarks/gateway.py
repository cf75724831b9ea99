"""What one ``llmotel gateway`` process sustains and what it loses, on this machine.

    python benchmarks/gateway.py throughput  # spans/s with PII + the four offline checks, per gateway CPU second
    python benchmarks/gateway.py latency     # p50/p99 added latency per export request (ack, and to the backend)
    python benchmarks/gateway.py burst       # peak RSS and losses under a 10x burst (SDK exporters retrying 429s)
    python benchmarks/gateway.py outage      # spans lost across a 30 s backend outage
    python benchmarks/gateway.py restart     # spans lost across a gateway crash (SIGKILL) and restart with --spool
    python benchmarks/gateway.py application # an application's call latency at 100 calls/s: evaluation off,
                                             # in a thread, enable(evaluation_in="subprocess")

The gateway is a real subprocess (``llmotel gateway``); the backend is the tests' OTLP receiver on loopback; the
spans are LLM chat spans with 500-character messages (the texts of ``benchmarks/evaluation.py``, a ticket number
making each one different). Senders are the OpenTelemetry SDK's OTLP exporters (or plain HTTP posts of the
same protobuf for the latency and throughput modes). The application mode runs an application in a fresh process
per configuration: the real OpenAI client (over ``benchmarks/evaluation.py``'s in-process transport, no network)
called from one thread on a fixed schedule, exporting to the OTLP receiver. Targets (issue 18): >= 300 spans/s per
core, 0 spans lost.
"""

from __future__ import annotations

import argparse
import collections
import json
import os
import signal
import statistics
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, os.path.dirname(__file__))

import requests
from evaluation import ANSWER, QUESTION
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExportResult
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from tests.gateway.processes import OFFLINE, GatewayProcess
from tests.otlp_receiver import OtlpReceiver

EVALUATING = ["--evaluators", OFFLINE, "--redact-pii"]


def llm_spans(count: int, start: int = 0) -> list[ReadableSpan]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("bench")
    for i in range(start, start + count):
        tracer.start_span(f"chat gpt-4o-mini {i}", attributes={
            "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
            "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [
                {"type": "text", "content": f"Ticket {i}. {QUESTION}"}]}]),
            "gen_ai.output.messages": json.dumps([{"role": "assistant", "finish_reason": "stop", "parts": [
                {"type": "text", "content": f"{ANSWER} (ticket {i})"}]}]),
        }).end()
    return list(exporter.get_finished_spans())


def bodies(spans: list[ReadableSpan], per_request: int) -> list[bytes]:
    return [encode_spans(spans[i:i + per_request]).SerializeToString() for i in range(0, len(spans), per_request)]


def cpu_seconds(pid: int) -> float:
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def peak_rss_mb(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def post(session: requests.Session, url: str, body: bytes) -> int:
    """POST until accepted, waiting as long as a refusal asks (what SDK exporters do); returns refusals met."""
    refused = 0
    while True:
        response = session.post(url, data=body, headers={"Content-Type": "application/x-protobuf"}, timeout=60)
        if response.status_code == 200:
            return refused
        refused += 1
        time.sleep(float(response.headers.get("Retry-After", "1")))


def percentile(values: list[float], share: float) -> float:
    ordered = sorted(values)
    return ordered[min(int(len(ordered) * share), len(ordered) - 1)]


def gateway(receiver: OtlpReceiver, *extra: str) -> GatewayProcess:
    return GatewayProcess(["--endpoint", receiver.http_endpoint, *extra]).start()


# --- modes ----------------------------------------------------------------------------------------------------------


def in_process_rate(checks: list[str], spans: list[ReadableSpan]) -> float:
    """Spans per CPU second of llmotel's in-process evaluating processor with the same checks on the same spans."""
    from opentelemetry.sdk.trace.export import SimpleSpanProcessor
    from overhead import NoopExporter

    from llmotel.config import resolve
    from llmotel.evaluation import builtin
    from llmotel.evaluation.processor import EvaluatingSpanProcessor

    settings = resolve(env={}, evaluators=checks, redact_pii=True, pii_use_ner=False)
    processor = EvaluatingSpanProcessor(SimpleSpanProcessor(NoopExporter()), builtin.evaluators(checks, settings),
                                        redactor=builtin.pii_redactor(settings), queue_size=len(spans) + 10)
    processor.on_end(llm_spans(1, start=10**7)[0])
    processor.force_flush(600_000)
    cpu0 = time.process_time()
    for span in spans:
        processor.on_end(span)
    processor.force_flush(3_600_000)
    cpu = time.process_time() - cpu0
    processor.shutdown()
    return len(spans) / cpu


def gateway_rate(checks: list[str], spans: list[ReadableSpan], senders: int) -> tuple[float, float, int]:
    """(spans/s end to end, spans per gateway CPU second, requests refused with 429) of one gateway process."""
    requests_ = bodies(spans, 100)
    with OtlpReceiver() as receiver:
        evaluating = ["--evaluators", ",".join(checks), "--redact-pii"] if checks else []
        process = gateway(receiver, *evaluating, "--queue-size", "2000")
        try:
            assert process.process is not None
            url = f"{process.http}/v1/traces"
            with requests.Session() as session:
                post(session, url, bodies(llm_spans(100, start=10**6), 100)[0])
                receiver.wait_for_spans(100, timeout=300)
            receiver.clear()
            cpu0, t0 = cpu_seconds(process.process.pid), time.perf_counter()
            refusals: collections.Counter[str] = collections.Counter()

            def send(part: list[bytes]) -> None:
                with requests.Session() as own:
                    for body in part:
                        refusals["429"] += post(own, url, body)

            threads = [threading.Thread(target=send, args=(requests_[i::senders],)) for i in range(senders)]
            for thread in threads:
                thread.start()
            for thread in threads:
                thread.join()
            receiver.wait_for_spans(len(spans), timeout=3600)
            elapsed = time.perf_counter() - t0
            cpu = cpu_seconds(process.process.pid) - cpu0
        finally:
            process.signal(signal.SIGTERM)
            process.wait(60)
    return len(spans) / elapsed, len(spans) / cpu, refusals["429"]


def run_throughput(args: argparse.Namespace) -> None:
    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    rate, per_cpu, refused = gateway_rate([], llm_spans(args.spans * 3), args.senders)
    print(f"no evaluation (receive, decode, re-encode, forward): {rate:.0f} spans/s end to end, {per_cpu:.0f} spans "
          f"per gateway CPU second ({1000 / per_cpu:.2f} ms CPU per span); {refused} requests asked to retry (429)")
    for checks, count in ((OFFLINE.split(","), args.spans), (OFFLINE.split(",")[:3], args.spans * 3)):
        spans = llm_spans(count)
        rate, per_cpu, refused = gateway_rate(checks, spans, args.senders)
        in_process = in_process_rate(checks, llm_spans(count, start=10**5))
        print(f"PII + {' + '.join(checks)}, 500-char messages, {count} spans in requests of 100 from {args.senders} "
              f"senders: one gateway {rate:.0f} spans/s end to end, {per_cpu:.0f} spans per gateway CPU second; "
              f"the in-process evaluating processor, same checks and spans: {in_process:.0f} spans per CPU second "
              f"(gateway / in-process: {per_cpu / in_process:.2f}); {refused} requests asked to retry (429)")


def run_latency(args: argparse.Namespace) -> None:
    results: dict[str, tuple[list[float], list[float]]] = {}
    with OtlpReceiver() as receiver:
        targets: list[tuple[str, str | None, GatewayProcess | None]] = [("backend directly", None, None)]
        plain = gateway(receiver, "--grpc-port", "off")
        evaluating = gateway(receiver, "--grpc-port", "off", *EVALUATING)
        targets += [("gateway, no evaluation", None, plain), ("gateway, PII + 4 offline checks", None, evaluating)]
        try:
            for name, _, process in targets:
                url = f"{process.http if process else receiver.http_endpoint}/v1/traces"
                acks, deliveries = [], []
                with requests.Session() as session:
                    post(session, url, bodies(llm_spans(10, start=10**6), 10)[0])  # warm-up
                    receiver.wait_for_spans(10, timeout=120)
                    for i in range(args.requests):
                        receiver.clear()
                        body = bodies(llm_spans(10, start=i * 10), 10)[0]
                        t0 = time.perf_counter()
                        post(session, url, body)
                        acks.append(time.perf_counter() - t0)
                        receiver.wait_for_spans(10, timeout=60)
                        deliveries.append(time.perf_counter() - t0)
                        time.sleep(1 / args.rate)
                results[name] = (acks, deliveries)
        finally:
            for process in (plain, evaluating):
                process.signal(signal.SIGTERM)
                process.wait(60)
    base_ack, base_delivery = results["backend directly"]
    print(f"{args.requests} sequential export requests of 10 LLM spans (HTTP/protobuf), ms: "
          f"p50/p99 until acknowledged | until all 10 reached the backend")
    for name, (acks, deliveries) in results.items():
        print(f"  {name:34s} ack {statistics.median(acks) * 1e3:6.2f} / {percentile(acks, 0.99) * 1e3:6.2f}"
              f"   delivered {statistics.median(deliveries) * 1e3:7.2f} / {percentile(deliveries, 0.99) * 1e3:7.2f}"
              + ("" if name == "backend directly" else
                 f"   added: ack +{(statistics.median(acks) - statistics.median(base_ack)) * 1e3:.2f} / "
                 f"+{(percentile(acks, 0.99) - percentile(base_ack, 0.99)) * 1e3:.2f}, delivered "
                 f"+{(statistics.median(deliveries) - statistics.median(base_delivery)) * 1e3:.1f} / "
                 f"+{(percentile(deliveries, 0.99) - percentile(base_delivery, 0.99)) * 1e3:.1f}"))


class Senders:
    """Threads exporting spans with the SDK's HTTP exporter at a given rate; counts what was acknowledged."""

    def __init__(self, url: str, threads: int) -> None:
        self.exporters = [HttpSpanExporter(endpoint=url, timeout=120) for _ in range(threads)]
        self.acked: list[str] = []
        self.failed = 0
        self._lock = threading.Lock()
        self._next = 0

    def run(self, rate: float, seconds: float, per_request: int = 10) -> None:
        """Offer ``rate`` spans/s for ``seconds`` (requests of ``per_request``) over the sender threads."""
        interval = per_request / rate
        work: collections.deque[list[ReadableSpan]] = collections.deque()
        done = threading.Event()

        def sender(exporter: HttpSpanExporter) -> None:
            while not (done.is_set() and not work):
                try:
                    batch = work.popleft()
                except IndexError:
                    time.sleep(0.005)
                    continue
                ok = exporter.export(batch) is SpanExportResult.SUCCESS
                with self._lock:
                    if ok:
                        self.acked += [format(s.context.span_id, "016x") for s in batch]
                    else:
                        self.failed += len(batch)

        threads = [threading.Thread(target=sender, args=(e,)) for e in self.exporters]
        for thread in threads:
            thread.start()
        start = time.perf_counter()
        made = 0
        while (now := time.perf_counter()) - start < seconds:
            due = int((now - start) / interval) + 1
            while made < due:
                work.append(llm_spans(per_request, start=self._next))
                self._next += per_request
                made += 1
            time.sleep(interval / 4)
        done.set()
        for thread in threads:
            thread.join()


def received_ids(receiver: OtlpReceiver) -> collections.Counter[str]:
    return collections.Counter(s.span_id for s in receiver.spans)


def report_losses(name: str, senders: Senders, receiver: OtlpReceiver, extra: str = "") -> None:
    deadline = time.monotonic() + 300
    while len(set(received_ids(receiver)) & set(senders.acked)) < len(senders.acked) and time.monotonic() < deadline:
        time.sleep(0.5)
    got = received_ids(receiver)
    lost = len(set(senders.acked) - set(got))
    duplicates = sum(n - 1 for n in got.values() if n > 1)
    print(f"{name}: {len(senders.acked)} spans acknowledged to the senders, {lost} lost, {duplicates} delivered "
          f"twice, {senders.failed} given up by the senders themselves{extra}")


def run_burst(args: argparse.Namespace) -> None:
    with OtlpReceiver() as receiver:
        process = gateway(receiver, *EVALUATING)
        assert process.process is not None
        try:
            senders = Senders(f"{process.http}/v1/traces", threads=8)
            base_rss = peak_rss_mb(process.process.pid)
            senders.run(args.rate, 5)
            steady_rss = peak_rss_mb(process.process.pid)
            senders.run(args.rate * 10, args.seconds)
            senders.run(args.rate, 5)
            metrics = requests.get(f"{process.http}/metrics", timeout=10).text
            refused = sum(float(x.rsplit(" ", 1)[1]) for x in metrics.splitlines()
                          if x.startswith("llmotel_gateway_refused_requests_total{"))
            report_losses(f"burst of {args.rate * 10:.0f} spans/s offered for {args.seconds} s (10x {args.rate:.0f})",
                          senders, receiver)
            print(f"gateway peak RSS: {base_rss:.0f} MB after start, {steady_rss:.0f} MB at {args.rate:.0f} spans/s, "
                  f"{peak_rss_mb(process.process.pid):.0f} MB through the burst (queue bound 4096 spans / 64 MiB); "
                  f"{refused:.0f} requests asked to retry (429)")
        finally:
            process.signal(signal.SIGTERM)
            process.wait(60)


def run_outage(args: argparse.Namespace) -> None:
    with OtlpReceiver() as receiver:
        process = gateway(receiver, *EVALUATING)
        try:
            senders = Senders(f"{process.http}/v1/traces", threads=4)
            timer = threading.Timer(10, receiver.fail_for, args=(args.seconds,))
            timer.start()
            senders.run(args.rate, args.seconds + 20)
            report_losses(f"backend outage of {args.seconds} s (HTTP 503) at {args.rate:.0f} spans/s", senders,
                          receiver)
        finally:
            process.signal(signal.SIGTERM)
            process.wait(60)


def run_restart(args: argparse.Namespace) -> None:
    with OtlpReceiver() as receiver, tempfile.TemporaryDirectory() as spool:
        process = gateway(receiver, *EVALUATING, "--spool", spool)
        restarted = threading.Event()
        took: list[float] = []

        def crash_and_restart() -> None:
            process.signal(signal.SIGKILL)
            process.wait(30)
            t0 = time.perf_counter()
            process.restart()
            took.append(time.perf_counter() - t0)
            restarted.set()

        try:
            senders = Senders(f"{process.http}/v1/traces", threads=4)
            timer = threading.Timer(10, crash_and_restart)
            timer.start()
            senders.run(args.rate, 40)
            restarted.wait(300)
            report_losses(f"gateway killed (SIGKILL) and restarted with --spool at {args.rate:.0f} spans/s", senders,
                          receiver, f"; the restart took {took[0]:.1f} s (models loading)" if took else "")
        finally:
            process.signal(signal.SIGTERM)
            process.wait(60)


APPLICATION = """
import json, sys, time
sys.path.insert(0, {benchmarks!r})
from evaluation import call, client
import llmotel

place = {place!r}
checks = dict(evaluators={checks!r}, redact_pii=True, pii_use_ner=False) if place != "off" else {{}}
llmotel.enable(endpoint={endpoint!r}, metrics=False, console=False,
               **(dict(checks, evaluation_in=place) if place != "off" else checks))
c = client()
for _ in range(50):
    call(c)
llmotel.flush(timeout=120)
latencies, interval = [], 1 / {rate!r}
start = time.perf_counter()
for i in range({calls!r}):
    due = start + i * interval
    if (wait := due - time.perf_counter()) > 0:
        time.sleep(wait)
    t0 = time.perf_counter()
    call(c)
    latencies.append(time.perf_counter() - t0)
elapsed = time.perf_counter() - start
llmotel.flush(timeout=600)
print(json.dumps({{"latencies": latencies, "elapsed": elapsed}}))
llmotel.shutdown()
"""


def run_application(args: argparse.Namespace) -> None:
    import subprocess

    from tests.gateway.processes import clean_environment

    print(f"load average at start: {os.getloadavg()[0]:.1f} on {os.cpu_count()} cores")
    print(f"one application thread calling the OpenAI client at {args.rate:.0f} calls/s offered for {args.calls} "
          f"calls, PII redaction + {OFFLINE.replace(',', ' + ')} (500-char messages), ms per call:")
    with OtlpReceiver() as receiver:
        for place in ("off", "thread", "subprocess"):
            code = APPLICATION.format(benchmarks=os.path.dirname(os.path.abspath(__file__)), place=place,
                                      checks=OFFLINE.split(","), endpoint=receiver.http_endpoint, rate=args.rate,
                                      calls=args.calls)
            receiver.clear()
            done = subprocess.run([sys.executable, "-c", code], env=clean_environment(), capture_output=True,
                                  text=True, timeout=1800, check=False)
            if done.returncode != 0:
                raise SystemExit(f"the {place} application failed:\n{done.stderr[-3000:]}")
            result = json.loads(done.stdout.strip().splitlines()[-1])
            latencies = result["latencies"]
            name = {"off": "no evaluation", "thread": "evaluation in a thread (default)",
                    "subprocess": 'evaluation_in="subprocess"'}[place]
            print(f"  {name:34s} p50 {statistics.median(latencies) * 1e3:6.2f}  p99 "
                  f"{percentile(latencies, 0.99) * 1e3:6.2f}  reached {len(latencies) / result['elapsed']:5.1f} "
                  f"calls/s; spans at the backend: {len(receiver.spans)} of {args.calls + 50}, "
                  f"{sum(1 for s in receiver.spans if any(e.name == 'gen_ai.evaluation.result' for e in s.events))} "
                  f"with evaluation results")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="mode", required=True)
    throughput = sub.add_parser("throughput")
    throughput.add_argument("--spans", type=int, default=1000)
    throughput.add_argument("--senders", type=int, default=4)
    latency = sub.add_parser("latency")
    latency.add_argument("--requests", type=int, default=300)
    latency.add_argument("--rate", type=float, default=20.0, help="requests per second")
    burst = sub.add_parser("burst")
    burst.add_argument("--rate", type=float, default=100.0, help="the steady rate, spans/s (the burst is 10x)")
    burst.add_argument("--seconds", type=float, default=10.0)
    outage = sub.add_parser("outage")
    outage.add_argument("--rate", type=float, default=100.0)
    outage.add_argument("--seconds", type=float, default=30.0)
    restart = sub.add_parser("restart")
    restart.add_argument("--rate", type=float, default=100.0)
    application = sub.add_parser("application")
    application.add_argument("--rate", type=float, default=100.0, help="calls per second offered")
    application.add_argument("--calls", type=int, default=3000)
    args = parser.parse_args()
    modes: dict[str, Any] = {"throughput": run_throughput, "latency": run_latency, "burst": run_burst,
                             "outage": run_outage, "restart": run_restart, "application": run_application}
    modes[args.mode](args)


if __name__ == "__main__":
    main()
