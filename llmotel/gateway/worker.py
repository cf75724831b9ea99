"""The evaluation child of ``enable(evaluation=EvaluationOptions(run_in="subprocess"))``: the gateway's evaluation
stage behind a pipe.

Started by :class:`~llmotel.gateway.out_of_process.SubprocessEvaluatingProcessor` as
``python -m llmotel.gateway.worker``. It reads frames on stdin: first the pickled settings, then batches of spans
(an OTLP request, with the application's private content for the evaluators); it writes back one frame per batch
with the spans evaluated and redacted, in the order they came. It exports nothing itself: the application exports
what comes back. It ends when stdin closes (the application shut down or died).

Protocol: ``{"init": 1}`` + pickled settings -> ``{"ready": 1}`` or ``{"error": "..."}``; ``{"seq": n,
"private": {"<trace id><span id>": {attribute: value}}}`` + request -> ``{"seq": n}`` + request.
"""

from __future__ import annotations

import os
import pickle
import sys
import threading
from typing import IO

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan

from llmotel.export.otlp_proto import encode_request
from llmotel.gateway.framing import read_frame, write_frame


def span_key(trace_id: int, span_id: int) -> str:
    return f"{trace_id:032x}{span_id:016x}"


def _serve(requests_in: IO[bytes], replies_out: IO[bytes]) -> int:
    from llmotel.config import Settings
    from llmotel.gateway.received import iter_spans
    from llmotel.gateway.stage import Batch, EvaluationStage

    first = read_frame(requests_in)
    if first is None or "init" not in first[0]:
        return 2
    write_lock = threading.Lock()
    try:
        settings: Settings = pickle.loads(first[1])  # from the parent process, over its private pipe

        def reply(batch: Batch) -> None:
            spans = [span for span in batch.outputs if span is not None]
            with write_lock:
                write_frame(replies_out, {"seq": batch.seq}, encode_request(spans))

        stage = EvaluationStage(settings, reply, lambda _timeout: True, lambda _timeout: None)
    except Exception as exc:
        write_frame(replies_out, {"error": f"{type(exc).__name__}: {exc}"})
        return 2
    write_frame(replies_out, {"ready": 1})
    while True:
        frame = read_frame(requests_in)
        if frame is None:  # the application is gone or shutting down; it exports whatever has no reply
            return 0
        header, body = frame
        spans: list[ReadableSpan] = list(iter_spans(ExportTraceServiceRequest.FromString(body)))
        private = header.get("private") or {}
        batch = Batch(int(header["seq"]), spans)
        for index, span in enumerate(spans):
            held = private.get(span_key(span.context.trace_id, span.context.span_id))
            if held:
                batch.private[index] = held
        stage.submit(batch)


def main() -> None:
    """Serve the parent over stdin/stdout; anything else that writes to stdout is sent to stderr instead."""
    replies_out = os.fdopen(os.dup(sys.stdout.fileno()), "wb", buffering=0)
    os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
    status = _serve(sys.stdin.buffer, replies_out)
    sys.stderr.flush()
    os._exit(status)  # no interpreter teardown (models, daemon threads): the parent may be waiting


if __name__ == "__main__":
    main()
