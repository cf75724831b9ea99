"""Per-call overhead of llmotel's OpenAI instrumentation, against baselines measured in the same run.

The real ``openai`` client talks to an in-process ``MockTransport`` (no network); spans go to a
SimpleSpanProcessor with a no-op exporter; content capture is on. Printed:

- plain chat call: uninstrumented, bare span (one span with 12 attributes around the uninstrumented call),
  llmotel; and llmotel's added time as a ratio of the bare span's added time (target <= 1.5);
- streamed chat call with N chunks: added time per chunk (target <= 1 microsecond).

Wall-clock numbers on a shared machine are noisy: each figure is the best of several repeats. For
repeatable per-call costs run one mode under callgrind with two call counts and divide the difference:

    valgrind --tool=callgrind python benchmarks/overhead.py --mode llmotel --calls 200 --once
    valgrind --tool=callgrind python benchmarks/overhead.py --mode llmotel --calls 1200 --once
"""

from __future__ import annotations

import argparse
import json
import time
from collections.abc import Callable, Sequence

import httpx2
import openai
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter, SpanExportResult

from llmotel.config import resolve
from llmotel.instrumentation.openai import OpenAIInstrumentor

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


class NoopExporter(SpanExporter):
    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        return SpanExportResult.SUCCESS


def make_client(stream_chunks: int) -> openai.OpenAI:
    streamed = stream_body(stream_chunks)

    def handler(request: httpx2.Request) -> httpx2.Response:
        if b'"stream":true' in request.content or b'"stream": true' in request.content:
            return httpx2.Response(200, content=streamed, headers={"content-type": "text/event-stream"})
        return httpx2.Response(200, content=COMPLETION, headers={"content-type": "application/json"})

    http_client = httpx2.Client(transport=httpx2.MockTransport(handler))
    return openai.OpenAI(api_key="bench", max_retries=0, http_client=http_client)


def plain_call(client: openai.OpenAI) -> None:
    client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, temperature=0.2, max_tokens=64)


def stream_call(client: openai.OpenAI) -> None:
    for _ in client.chat.completions.create(model="gpt-4o-mini", messages=MESSAGES, stream=True):
        pass


def bare_span(provider: TracerProvider, call: Callable[[openai.OpenAI], None]) -> Callable[[openai.OpenAI], None]:
    """The baseline: one span with 12 attributes around the uninstrumented call."""
    tracer = provider.get_tracer("bench")
    attributes = {f"bench.attr{i}": i for i in range(12)}

    def traced(client: openai.OpenAI) -> None:
        with tracer.start_as_current_span("chat gpt-4o-mini", attributes=attributes):
            call(client)

    return traced


def best_per_call(fn: Callable[[openai.OpenAI], None], client: openai.OpenAI, calls: int, repeats: int) -> float:
    for _ in range(min(calls, 50)):
        fn(client)
    best = float("inf")
    for _ in range(repeats):
        start = time.perf_counter()
        for _ in range(calls):
            fn(client)
        best = min(best, (time.perf_counter() - start) / calls)
    return best


def measure(calls: int, repeats: int, chunks: int) -> dict[str, float]:
    client = make_client(chunks)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(NoopExporter()))
    instrumentor = OpenAIInstrumentor()
    results = {}
    for name, call in (("plain", plain_call), ("stream", stream_call)):
        results[f"{name}_uninstrumented"] = best_per_call(call, client, calls, repeats)
        results[f"{name}_bare_span"] = best_per_call(bare_span(provider, call), client, calls, repeats)
        instrumentor.instrument(tracer_provider=provider, settings=resolve(env={}, capture_content=True))
        results[f"{name}_llmotel"] = best_per_call(call, client, calls, repeats)
        instrumentor.uninstrument()
    return results


def report(r: dict[str, float], chunks: int) -> None:
    us = 1e6
    bare_added = r["plain_bare_span"] - r["plain_uninstrumented"]
    ours_added = r["plain_llmotel"] - r["plain_uninstrumented"]
    print("plain chat call (per call):")
    print(f"  uninstrumented     {r['plain_uninstrumented'] * us:8.1f} us")
    print(f"  bare span baseline {r['plain_bare_span'] * us:8.1f} us   (+{bare_added * us:.1f} us)")
    print(f"  llmotel            {r['plain_llmotel'] * us:8.1f} us   (+{ours_added * us:.1f} us)")
    print(f"  llmotel added / bare span added = {ours_added / bare_added:.2f}   (target <= 1.5)")
    stream_added = r["stream_llmotel"] - r["stream_bare_span"]
    print(f"streamed chat call, {chunks} chunks (per call):")
    print(f"  uninstrumented     {r['stream_uninstrumented'] * us:8.1f} us")
    print(f"  bare span baseline {r['stream_bare_span'] * us:8.1f} us")
    print(f"  llmotel            {r['stream_llmotel'] * us:8.1f} us")
    print(f"  llmotel added per chunk beyond one span: {stream_added / chunks * us:.2f} us   (target <= 1.0)")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--calls", type=int, default=300)
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--chunks", type=int, default=200)
    parser.add_argument("--mode", choices=["uninstrumented", "bare", "llmotel"], default=None,
                        help="with --once: run only this mode (for callgrind)")
    parser.add_argument("--stream", action="store_true", help="with --once: streamed calls")
    parser.add_argument("--once", action="store_true", help="run --calls calls of --mode once, print nothing")
    args = parser.parse_args()
    if args.once:
        client = make_client(args.chunks)
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(NoopExporter()))
        call = stream_call if args.stream else plain_call
        if args.mode == "bare":
            call = bare_span(provider, call)
        elif args.mode == "llmotel":
            OpenAIInstrumentor().instrument(tracer_provider=provider, settings=resolve(env={}))
        for _ in range(args.calls):
            call(client)
        return
    report(measure(args.calls, args.repeats, args.chunks), args.chunks)


if __name__ == "__main__":
    main()
