"""Per-call overhead of llmotel's OpenAI and Anthropic instrumentation, against baselines measured in the same run.

The real ``openai`` / ``anthropic`` client talks to an in-process ``MockTransport`` (no network); spans go to a
SimpleSpanProcessor with a no-op exporter; content capture is on. Printed, per provider:

- plain call: uninstrumented, bare span (one span with 12 attributes around the uninstrumented call),
  llmotel; and llmotel's added time as a ratio of the bare span's added time (target <= 1.5);
- streamed call with N chunks: added time per chunk (target <= 1 microsecond), end to end, and llmotel's own
  work per chunk measured apart (see :func:`chunk_work`): the SDKs spend 13-65 us on each chunk, so the end-to-end
  difference of sub-microsecond costs is at the mercy of the machine's noise.

The anthropic client is built with its own tracing off (``open_telemetry=False``), so that the baselines measure
only the SDK: with it on (the SDK default), even with no tracer provider, the SDK does per-call work under any
current span (the bare baseline's), and llmotel turns that work off for the calls it traces, which would flatter
llmotel. ``--anthropic-sdk-tracing`` keeps the SDK default instead.

Wall-clock numbers on a shared machine are noisy: each figure is the best of several repeats. For
repeatable per-call costs run one mode under callgrind with two call counts and divide the difference:

    valgrind --tool=callgrind python benchmarks/overhead.py --mode llmotel --calls 200 --once
    valgrind --tool=callgrind python benchmarks/overhead.py --mode llmotel --calls 1200 --once
    (add --provider anthropic for the Anthropic client)
"""

from __future__ import annotations

import argparse
import contextlib
import json
import time
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import anthropic
import httpx2
import openai
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from llmotel.config import resolve
from llmotel.instrumentation._stainless import _STATE_ATTR as STREAM_STATE_ATTR
from llmotel.instrumentation._stream import traced_chunks
from llmotel.instrumentation.anthropic import AnthropicInstrumentor
from llmotel.instrumentation.openai import OpenAIInstrumentor

Call = Callable[[Any], None]

# --- OpenAI -----------------------------------------------------------------------------------------------------------

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant. Answer briefly."},
    {"role": "user", "content": "What is OpenTelemetry and why would I use it for LLM applications?"},
]
COMPLETION = json.dumps({
    "id": "chatcmpl-bench", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini-2024-07-18",
    "system_fingerprint": "fp_bench", "service_tier": "default",
    "choices": [{"index": 0, "finish_reason": "stop", "logprobs": None, "message": {
        "role": "assistant", "content": "OpenTelemetry is a vendor-neutral standard for traces, metrics and logs.",
        "refusal": None}}],
    "usage": {"prompt_tokens": 31, "completion_tokens": 14, "total_tokens": 45,
              "prompt_tokens_details": {"cached_tokens": 0}, "completion_tokens_details": {"reasoning_tokens": 0}},
}).encode()


def stream_body(chunks: int) -> bytes:
    base = {"id": "chatcmpl-bench", "object": "chat.completion.chunk", "created": 1, "model": "gpt-4o-mini"}
    events = [dict(base, choices=[{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}])]
    events += [dict(base, choices=[{"index": 0, "delta": {"content": f"tok{i} "}, "finish_reason": None}])
               for i in range(chunks - 2)]
    events.append(dict(base, choices=[{"index": 0, "delta": {}, "finish_reason": "stop"}]))
    return b"".join(b"data: " + json.dumps(e).encode() + b"\n\n" for e in events) + b"data: [DONE]\n\n"


def _transport(plain: bytes, streamed: bytes) -> httpx2.MockTransport:
    def handler(request: httpx2.Request) -> httpx2.Response:
        if b'"stream":true' in request.content or b'"stream": true' in request.content:
            return httpx2.Response(200, content=streamed, headers={"content-type": "text/event-stream"})
        return httpx2.Response(200, content=plain, headers={"content-type": "application/json"})

    return httpx2.MockTransport(handler)


def make_openai_client(stream_chunks: int) -> openai.OpenAI:
    http_client = httpx2.Client(transport=_transport(COMPLETION, stream_body(stream_chunks)))
    return openai.OpenAI(api_key="bench", max_retries=0, http_client=http_client)


def plain_call(client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=64)


def open_stream(client: openai.OpenAI) -> Any:
    return client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True)


# --- Anthropic --------------------------------------------------------------------------------------------------------

CLAUDE = "claude-haiku-4-5"
CLAUDE_SYSTEM = "You are a helpful assistant. Answer briefly."
CLAUDE_MESSAGES = [{"role": "user", "content": "What is OpenTelemetry and why would I use it for LLM applications?"}]
CLAUDE_USAGE = {"input_tokens": 31, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0,
                "output_tokens": 14, "service_tier": "standard"}
CLAUDE_MESSAGE = json.dumps({
    "id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
    "content": [{"type": "text", "text": "OpenTelemetry is a vendor-neutral standard for traces, metrics and logs."}],
    "stop_reason": "end_turn", "stop_sequence": None, "usage": CLAUDE_USAGE,
}).encode()


def claude_stream_body(chunks: int) -> bytes:
    """``chunks`` events: message_start, a text block of ``chunks - 5`` deltas, message_delta, message_stop."""
    start = {"id": "msg_bench", "type": "message", "role": "assistant", "model": "claude-haiku-4-5-20251001",
             "content": [], "stop_reason": None, "stop_sequence": None, "usage": {**CLAUDE_USAGE, "output_tokens": 1}}
    events: list[tuple[str, dict[str, Any]]] = [
        ("message_start", {"type": "message_start", "message": start}),
        ("content_block_start", {"type": "content_block_start", "index": 0,
                                 "content_block": {"type": "text", "text": ""}}),
    ]
    events += [("content_block_delta", {"type": "content_block_delta", "index": 0,
                                        "delta": {"type": "text_delta", "text": f"tok{i} "}})
               for i in range(chunks - 5)]
    events += [
        ("content_block_stop", {"type": "content_block_stop", "index": 0}),
        ("message_delta", {"type": "message_delta", "delta": {"stop_reason": "end_turn", "stop_sequence": None},
                           "usage": {"output_tokens": chunks}}),
        ("message_stop", {"type": "message_stop"}),
    ]
    return b"".join(f"event: {name}\ndata: {json.dumps(data)}\n\n".encode() for name, data in events)


ANTHROPIC_SDK_TRACING = {"on": False}


def make_anthropic_client(stream_chunks: int) -> anthropic.Anthropic:
    http_client = httpx2.Client(transport=_transport(CLAUDE_MESSAGE, claude_stream_body(stream_chunks)))
    sdk_tracing = None if ANTHROPIC_SDK_TRACING["on"] else False  # None: the SDK default (environment, else on)
    return anthropic.Anthropic(api_key="bench", max_retries=0, http_client=http_client, open_telemetry=sdk_tracing)


def claude_plain_call(client: anthropic.Anthropic) -> None:
    client.messages.create(model=CLAUDE, max_tokens=64, system=CLAUDE_SYSTEM, messages=CLAUDE_MESSAGES)


def claude_open_stream(client: anthropic.Anthropic) -> Any:
    return client.messages.create(model=CLAUDE, max_tokens=64, system=CLAUDE_SYSTEM, messages=CLAUDE_MESSAGES,
                                  stream=True)


# --- harness ----------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Target:
    label: str
    make_client: Callable[[int], Any]
    plain: Call
    open_stream: Callable[[Any], Any]
    instrumentor: type[Any]

    def stream(self, client: Any) -> None:
        for _ in self.open_stream(client):
            pass


TARGETS = {
    "openai": Target("OpenAI chat call", make_openai_client, plain_call, open_stream, OpenAIInstrumentor),
    "anthropic": Target("Anthropic messages call", make_anthropic_client, claude_plain_call, claude_open_stream,
                        AnthropicInstrumentor),
}


class NoopExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def bare_span(provider: TracerProvider, call: Call) -> Call:
    """The baseline: one span with 12 attributes around the uninstrumented call."""
    tracer = provider.get_tracer("bench")
    attributes = {f"bench.attr{i}": i for i in range(12)}

    def traced(client: Any) -> None:
        with tracer.start_as_current_span("chat model", attributes=attributes):
            call(client)

    return traced


def per_call(fn: Call, client: Any, calls: int) -> float:
    start = time.perf_counter()
    for _ in range(calls):
        fn(client)
    return (time.perf_counter() - start) / calls


def loop_time(items: Iterable[Any]) -> float:
    start = time.perf_counter()
    for _ in items:
        pass
    return time.perf_counter() - start


def keep_best(best: dict[Any, float], key: Any, elapsed: float) -> None:
    best[key] = min(best.get(key, float("inf")), elapsed)


@contextlib.contextmanager
def instrumented(target: Target, provider: TracerProvider, settings: Any) -> Iterator[None]:
    instrumentor = target.instrumentor()
    instrumentor.instrument(tracer_provider=provider, settings=settings)
    try:
        yield
    finally:
        instrumentor.uninstrument()


def measure(target: Target, calls: int, repeats: int, chunks: int) -> dict[str, float]:
    """Best time per call of each mode; the modes take turns within each repeat, so a slow spell of the machine
    hits all of them rather than one (the first round only warms up)."""
    client = target.make_client(chunks)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(NoopExporter()))
    settings = resolve(env={}, capture_content=True)
    results: dict[str, float] = {}
    for name, call in (("plain", target.plain), ("stream", target.stream)):
        modes = {"uninstrumented": call, "bare_span": bare_span(provider, call), "llmotel": call}
        for round_ in range(repeats + 1):
            for mode, fn in modes.items():
                llmotel_on = instrumented(target, provider, settings) if mode == "llmotel" else contextlib.nullcontext()
                with llmotel_on:
                    elapsed = per_call(fn, client, calls if round_ else min(calls, 50))
                if round_:
                    keep_best(results, f"{name}_{mode}", elapsed)
    results.update(chunk_work(target, provider, settings, chunks, repeats * 40))
    return results


def chunk_work(
    target: Target, provider: TracerProvider, settings: Any, chunks: int, samples: int
) -> dict[str, float]:
    """Seconds per chunk of llmotel's stream work alone, without the SDK's own cost per chunk around it.

    The SDK's chunk objects from one real stream go through a plain loop (what the SDK does with them), and
    through llmotel's traced iterator and the provider's accumulator, whose state is taken from a real
    instrumented call. Each is timed at two stream lengths, so the per-stream part (span end, output JSON)
    cancels out; the best of ``samples`` streams per length.
    """
    client = target.make_client(chunks)
    objects = list(target.open_stream(client))
    short, full = objects[:5], objects
    best: dict[tuple[str, int], float] = {}
    with instrumented(target, provider, settings):
        for _ in range(samples):
            for items in (short, full):
                keep_best(best, ("plain", len(items)), loop_time(items))
                stream = target.open_stream(client)
                traced = traced_chunks(iter(items), stream.__dict__[STREAM_STATE_ATTR])
                keep_best(best, ("llmotel", len(items)), loop_time(traced))
                stream.close()
    extra = len(full) - len(short)
    return {f"chunk_{mode}": (best[mode, len(full)] - best[mode, len(short)]) / extra for mode in ("plain", "llmotel")}


def report(target: Target, r: dict[str, float], chunks: int) -> None:
    us = 1e6
    bare_added = r["plain_bare_span"] - r["plain_uninstrumented"]
    ours_added = r["plain_llmotel"] - r["plain_uninstrumented"]
    print(f"plain {target.label} (per call):")
    print(f"  uninstrumented     {r['plain_uninstrumented'] * us:8.1f} us")
    print(f"  bare span baseline {r['plain_bare_span'] * us:8.1f} us   (+{bare_added * us:.1f} us)")
    print(f"  llmotel            {r['plain_llmotel'] * us:8.1f} us   (+{ours_added * us:.1f} us)")
    print(f"  llmotel added / bare span added = {ours_added / bare_added:.2f}   (target <= 1.5)")
    stream_added = r["stream_llmotel"] - r["stream_bare_span"]
    print(f"streamed {target.label}, {chunks} chunks (per call):")
    print(f"  uninstrumented     {r['stream_uninstrumented'] * us:8.1f} us")
    print(f"  bare span baseline {r['stream_bare_span'] * us:8.1f} us")
    print(f"  llmotel            {r['stream_llmotel'] * us:8.1f} us")
    print(f"  llmotel added per chunk beyond one span: {stream_added / chunks * us:.2f} us   "
          "(the difference of two long runs: noisy)")
    chunk_added = r["chunk_llmotel"] - r["chunk_plain"]
    print(f"  llmotel's own work per chunk (traced iterator + accumulator on the SDK's chunk objects): "
          f"{chunk_added * us:.2f} us   (target <= 1.0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--provider", choices=[*TARGETS, "all"], default=None,
                        help="which client to measure (default: all; with --once: openai)")
    parser.add_argument("--mode", choices=["uninstrumented", "bare", "llmotel"], default=None,
                        help="with --once: run only this mode (for callgrind)")
    parser.add_argument("--stream", action="store_true", help="with --once: streamed calls")
    parser.add_argument("--once", action="store_true", help="run --calls calls of --mode once, print nothing")
    parser.add_argument("--anthropic-sdk-tracing", action="store_true",
                        help="keep the anthropic SDK's own tracing at its default (on) instead of off")
    args = parser.parse_args()
    ANTHROPIC_SDK_TRACING["on"] = args.anthropic_sdk_tracing
    if args.once:
        target = TARGETS[args.provider if args.provider in TARGETS else "openai"]
        client = target.make_client(args.chunks)
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(NoopExporter()))
        call = target.stream if args.stream else target.plain
        if args.mode == "bare":
            call = bare_span(provider, call)
        elif args.mode == "llmotel":
            target.instrumentor().instrument(tracer_provider=provider, settings=resolve(env={}))
        for _ in range(args.calls):
            call(client)
        return
    names = list(TARGETS) if args.provider in (None, "all") else [args.provider]
    for i, name in enumerate(names):
        if i:
            print()
        report(TARGETS[name], measure(TARGETS[name], args.calls, args.repeats, args.chunks), args.chunks)


if __name__ == "__main__":
    main()
