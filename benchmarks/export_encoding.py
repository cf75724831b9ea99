"""CPU per span of encoding OTLP trace requests: the SDK's encoder (message objects, then serialised) against
llmotel's direct writer (:mod:`llmotel.export.otlp_proto`), on the same spans in the same run.

    python benchmarks/export_encoding.py            # evaluated LLM spans (PII + four offline checks), plain spans
    python benchmarks/export_encoding.py --callgrind  # the same in instructions per span (repeatable)

The evaluated spans are what the gateway forwards and an application exports with evaluators on: the chat spans of
``benchmarks/gateway.py`` after the in-process evaluating processor added its result events (7 events, 66 event
attributes per span). Both encoders write the same bytes (checked here, and by ``tests/test_otlp_proto.py``).
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, os.path.dirname(__file__))

from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

from llmotel.export.otlp_proto import encode_request

CHECKS = ["language_mismatch", "failure_to_answer", "sentiment", "toxicity"]
PER_REQUEST = 100


def evaluated_spans(count: int) -> list[ReadableSpan]:
    from gateway import llm_spans

    from llmotel.config import resolve
    from llmotel.evaluation import builtin
    from llmotel.evaluation.processor import EvaluatingSpanProcessor

    settings = resolve(env={}, evaluators=CHECKS, redact_pii=True, pii_use_ner=False)
    memory = InMemorySpanExporter()
    processor = EvaluatingSpanProcessor(SimpleSpanProcessor(memory), builtin.evaluators(CHECKS, settings),
                                        redactor=builtin.pii_redactor(settings), queue_size=count + 10)
    for span in llm_spans(count):
        processor.on_end(span)
    processor.force_flush(600_000)
    processor.shutdown()
    return list(memory.get_finished_spans())


def sdk(spans: Sequence[ReadableSpan]) -> bytes:
    return bytes(encode_spans(spans).SerializeToString())


ENCODERS: dict[str, Callable[[Sequence[ReadableSpan]], bytes]] = {"sdk": sdk, "llmotel": encode_request}


def cpu_ms_per_span(encode: Callable[[Sequence[ReadableSpan]], bytes], spans: list[ReadableSpan],
                    rounds: int) -> float:
    best = float("inf")
    for _ in range(rounds):
        t0 = time.process_time()
        for i in range(0, len(spans), PER_REQUEST):
            encode(spans[i:i + PER_REQUEST])
        best = min(best, time.process_time() - t0)
    return best / len(spans) * 1000


def run_timed(args: argparse.Namespace) -> None:
    from gateway import llm_spans

    for label, spans in (("evaluated LLM spans", evaluated_spans(args.spans)), ("plain LLM spans",
                                                                                llm_spans(args.spans))):
        assert encode_request(spans) == sdk(spans), "the encoders disagree"
        events = sum(len(s.events) for s in spans) / len(spans)
        times = {name: cpu_ms_per_span(encode, spans, args.rounds) for name, encode in ENCODERS.items()}
        print(f"{label} ({events:.0f} events each), requests of {PER_REQUEST}: SDK encoder {times['sdk']:.3f} ms "
              f"CPU per span, llmotel's {times['llmotel']:.3f} ms ({times['sdk'] / times['llmotel']:.1f}x faster; "
              f"best of {args.rounds} rounds)")


def run_once(args: argparse.Namespace) -> None:
    """Encode ``args.spans`` evaluated spans ``args.repeat`` times with one encoder (for callgrind)."""
    spans = evaluated_spans(200)
    encode = ENCODERS[args.encoder]
    for _ in range(args.repeat):
        for i in range(0, len(spans), PER_REQUEST):
            encode(spans[i:i + PER_REQUEST])


def instructions(encoder: str, repeat: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = os.path.join(tmp, "cg.out")
        subprocess.run(["valgrind", "--tool=callgrind", "--dump-instr=no", f"--callgrind-out-file={out}",
                        sys.executable, __file__, "once", "--encoder", encoder, "--repeat", str(repeat)],
                       check=True, capture_output=True)
        with open(out) as f:
            return next(int(line.split()[1]) for line in f if line.startswith("summary:"))


def run_callgrind(_args: argparse.Namespace) -> None:
    # two repeat counts: the difference is the encoding alone (start-up and evaluation cancel out)
    for encoder in ENCODERS:
        per_span = (instructions(encoder, 3) - instructions(encoder, 1)) / (2 * 200)
        print(f"{encoder} encoder: {per_span / 1e6:.2f} M instructions per evaluated span")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("mode", nargs="?", default="timed", choices=["timed", "once"])
    parser.add_argument("--spans", type=int, default=400)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--encoder", choices=list(ENCODERS), default="llmotel")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--callgrind", action="store_true")
    args = parser.parse_args()
    if args.callgrind:
        run_callgrind(args)
    elif args.mode == "once":
        run_once(args)
    else:
        run_timed(args)


if __name__ == "__main__":
    main()
