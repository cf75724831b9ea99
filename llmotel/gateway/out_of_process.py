"""``enable(evaluation=EvaluationOptions(run_in="subprocess"))``: evaluation and redaction in a child process, off
the application's GIL.

:class:`SubprocessEvaluatingProcessor` takes the evaluating processor's place. ``on_end`` only appends the span
to a bounded queue; a sender thread writes batches to the child (``llmotel.gateway.worker``, the gateway's
evaluation stage) over a pipe private to the two processes, and a reader thread hands what comes back (evaluated
and redacted) to the exporting processors. The application keeps no evaluator, PII model or judge client in its
own memory and spends only the encoding and decoding of spans on its GIL.

The child is started (and its evaluators and models loaded) inside ``enable()``. If it dies it is restarted with
backoff; while it is down, and for the batches it had not answered, spans are exported without evaluation
(``llmotel.evaluation.status=unevaluated``), never lost, and never with unredacted content: with PII redaction on
they leave without their content (the parent has no redactor to apply). At shutdown what the child has not
answered in time is exported the same way.
"""

from __future__ import annotations

import collections
import contextlib
import dataclasses
import logging
import os
import pickle
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import IO, Any

from opentelemetry.context import Context
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from llmotel._diagnostics import diagnostics
from llmotel._fork_guard import restart_in_child
from llmotel.config import Settings
from llmotel.content import pop_private_content
from llmotel.errors import ConfigurationError
from llmotel.evaluation.processor import is_llm_span
from llmotel.export.batch import shutdown_within
from llmotel.export.otlp_proto import encode_request
from llmotel.gateway.framing import FrameError, read_frame, write_frame
from llmotel.gateway.received import iter_spans
from llmotel.gateway.unevaluated import unevaluated
from llmotel.gateway.worker import span_key

logger = logging.getLogger("llmotel.evaluation")

_BATCH = 256  # spans per frame
_WINDOW = 4  # frames the child may hold unanswered
_START_TIMEOUT_S = 120.0
_BACKOFF_S = (0.5, 1.0, 2.0, 5.0, 10.0, 30.0)
_STABLE_S = 60.0  # a child that lived this long resets the backoff
_RESERVE_SHARE, _RESERVE_MAX_S = 0.25, 2.0
_BOOTSTRAP = Path(__file__).resolve().parents[1] / "_bootstrap"


def child_settings(settings: Settings) -> bytes:
    """What the child needs of the settings (no endpoint, headers or exporters), pickled; a ConfigurationError
    names what cannot go to another process."""
    for setting, value in (("evaluators", settings.evaluators), ("judge", (settings.judge,))):
        for item in value:
            if item is not None and not isinstance(item, str) and type(item).__module__ == "__main__":
                raise ConfigurationError(setting, item, "objects of classes defined in an importable module (not "
                                                        "__main__) with EvaluationOptions(run_in='subprocess')")
    stripped = dataclasses.replace(settings, endpoint=None, headers={}, exporter="none", console=False,
                                   traces_file=None, metrics=False, otlp_certificate=None,
                                   otlp_client_certificate=None, otlp_client_key=None)
    try:
        return pickle.dumps(stripped)
    except Exception as exc:
        raise ConfigurationError("evaluators", settings.evaluators, "evaluators and a judge that can be pickled with "
                                 f"run_in='subprocess' (built-in names, JudgeOptions(provider=..., model=...)): {exc}"
                                 ) from None


def _child_environment() -> dict[str, str]:
    """The application's environment, with its import path (so the child imports the same llmotel and the
    application's evaluator modules) minus llmotel's ``llmotel run`` bootstrap (the child must not enable itself)."""
    paths = [os.path.abspath(p or os.getcwd()) for p in sys.path]
    paths = [p for p in dict.fromkeys(paths) if Path(p) != _BOOTSTRAP and os.path.isdir(p)]
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("LLMOTEL_BOOTSTRAPPED", None)
    return env


class _Child:
    """One evaluation child process and its pipes."""

    def __init__(self, settings_blob: bytes) -> None:
        self.process = subprocess.Popen(
            [sys.executable, "-m", "llmotel.gateway.worker"], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
            env=_child_environment(), close_fds=True,
        )
        assert self.process.stdin is not None and self.process.stdout is not None
        self.stdin: IO[bytes] = self.process.stdin
        self.stdout: IO[bytes] = self.process.stdout
        self.started = time.monotonic()
        write_frame(self.stdin, {"init": 1}, settings_blob)

    def ready(self) -> str | None:
        """Wait for the child's first frame: None when it is ready, else why it is not."""
        try:
            frame = read_frame(self.stdout)
        except (FrameError, OSError) as exc:
            return str(exc)
        if frame is None:
            return f"the evaluation process exited ({self.process.wait()})"
        return None if frame[0].get("ready") else str(frame[0].get("error", frame[0]))

    def stop(self) -> None:
        with contextlib.suppress(OSError):
            self.stdin.close()
        try:
            self.process.wait(0.5)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait(5)


class SubprocessEvaluatingProcessor(SpanProcessor):
    """The evaluating processor's work (evaluators, PII redaction) done by a child process; see the module."""

    def __init__(self, settings: Settings, downstream: SpanProcessor, *,
                 start_timeout: float = _START_TIMEOUT_S) -> None:
        self._blob = child_settings(settings)
        self._downstream = downstream
        self._redacting = settings.redact_pii
        self._evaluating = bool(settings.evaluators)
        self._queue_size = settings.evaluation_queue_size
        #: spans exported without evaluation (child down, queue full, shutdown), and child restarts
        self.unevaluated_spans = 0
        self.restarts = 0
        self._closed = False
        self._start(start_timeout)
        restart_in_child(self, lambda processor: processor._after_fork())

    def _after_fork(self) -> None:
        """In a forked child: a child process of its own (the parent's pipes let go), unless closed."""
        if not self._closed:
            self._forget_parents_child()
            self._start(None)

    # --- lifecycle of the machinery -----------------------------------------------------------------------------

    def _start(self, wait: float | None) -> None:
        """Fresh state, the first child and the threads (at construction: waits for the child to be ready and raises
        a ConfigurationError when it cannot start; in a forked child: spans queue while it starts)."""
        self._cond = threading.Condition()
        self._queue: collections.deque[tuple[ReadableSpan, dict[str, Any]]] = collections.deque()
        self._in_flight: collections.OrderedDict[int, list[tuple[ReadableSpan, dict[str, Any]]]] = \
            collections.OrderedDict()
        self._seq = 0
        self._state = "starting"  # starting (spans queue) | up | down (spans go out unevaluated) | stopped
        self._child: _Child | None = None
        if wait is not None:
            child = _Child(self._blob)
            problem = child.ready()
            if problem is not None:
                child.stop()
                raise ConfigurationError("evaluation_in", "subprocess", f"an evaluation process that starts: {problem}")
            self._child, self._state = child, "up"
        threading.Thread(target=self._supervise, name="llmotel-evaluation-child", daemon=True).start()
        threading.Thread(target=self._send, name="llmotel-evaluation-sender", daemon=True).start()

    def _forget_parents_child(self) -> None:
        """In a forked process: let go of the pipes to the parent's child (it must see end of file when the parent
        goes, whatever the forked processes do); this process starts its own. The descriptors are pointed at
        /dev/null rather than closed, so the file objects closing them later cannot close a reused number."""
        child = self._child
        if child is None:
            return
        null = os.open(os.devnull, os.O_RDWR)
        try:
            for stream in (child.stdin, child.stdout):
                with contextlib.suppress(OSError, ValueError):
                    os.dup2(null, stream.fileno())
        finally:
            os.close(null)

    def _supervise(self) -> None:
        """Read the child's answers; when it dies, export what it held unevaluated and start another."""
        failures = 0
        while True:
            child = self._child
            if child is None:
                try:
                    child = _Child(self._blob)
                    problem = child.ready()
                except OSError as exc:
                    problem = str(exc)
                if problem is not None:
                    diagnostics.report("evaluation_child", f"the evaluation process did not start ({problem}); "
                                       "spans are exported without evaluation meanwhile")
                    child = None
            if child is not None:
                with self._cond:
                    if self._state == "stopped":
                        child.stop()
                        return
                    self._child, self._state = child, "up"
                    self._cond.notify_all()
                self._read(child)
                failures = 0 if time.monotonic() - child.started >= _STABLE_S else failures
            with self._cond:
                self._child = None
                if self._state == "stopped":
                    return
                self._state = "down"
                held = [item for batch in self._in_flight.values() for item in batch] + list(self._queue)
                self._in_flight.clear()
                self._queue.clear()
                self._cond.notify_all()
            self._unevaluated(held, "the evaluation process is down")
            if child is not None:
                self.restarts += 1
                diagnostics.report("evaluation_child", "the evaluation process exited; restarting it, spans are "
                                   "exported without evaluation meanwhile")
            delay = _BACKOFF_S[min(failures, len(_BACKOFF_S) - 1)]
            failures += 1
            with self._cond:
                self._cond.wait_for(lambda: self._state == "stopped", delay)

    def _read(self, child: _Child) -> None:
        while True:
            try:
                frame = read_frame(child.stdout)
            except (FrameError, OSError, ValueError):
                frame = None
            if frame is None:
                child.stop()
                return
            header, body = frame
            with self._cond:
                batch = self._in_flight.pop(int(header.get("seq", -1)), None)
                self._cond.notify_all()
            if batch is None:  # already exported unevaluated (shutdown)
                continue
            try:
                spans = list(iter_spans(ExportTraceServiceRequest.FromString(body)))
            except Exception:
                self._unevaluated(batch, "an unreadable answer from the evaluation process")
                continue
            for span in spans:
                self._export(span)

    def _send(self) -> None:
        while True:
            with self._cond:
                self._cond.wait_for(lambda: self._state == "stopped" or (
                    self._state == "up" and bool(self._queue) and len(self._in_flight) < _WINDOW))
                if self._state == "stopped":
                    return
                batch = [self._queue.popleft() for _ in range(min(_BATCH, len(self._queue)))]
                seq = self._seq = self._seq + 1
                self._in_flight[seq] = batch
                child = self._child
            private = {span_key(s.context.trace_id, s.context.span_id): p for s, p in batch if p}
            try:
                body = encode_request([span for span, _ in batch])
                assert child is not None
                write_frame(child.stdin, {"seq": seq, "private": private}, body)
            except Exception:  # the child died (broken pipe): the supervisor exports what it held
                if child is not None:
                    child.process.kill()

    # --- spans --------------------------------------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._downstream.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        private = pop_private_content(span.context.span_id) if span.context is not None else {}
        if not self._redacting and not (self._evaluating and is_llm_span(span)):
            self._downstream.on_end(span)
            return
        with self._cond:
            reason = "shutdown" if self._closed else "the evaluation process is down" if self._state == "down" else \
                "the evaluation queue is full" if len(self._queue) >= self._queue_size else None
            if reason is None:
                self._queue.append((span, private))
                self._cond.notify_all()
                return
        self._unevaluated([(span, private)], reason)

    def _unevaluated(self, items: list[tuple[ReadableSpan, dict[str, Any]]], reason: str) -> None:
        if not items:
            return
        self.unevaluated_spans += len(items)
        diagnostics.report(f"evaluation_unevaluated:{reason}"[:80], f"{len(items)} span(s) exported without "
                           f"evaluation ({reason})" + ("; their content is dropped (no redaction without the "
                                                        "evaluation process)" if self._redacting else ""),
                           amount=len(items))
        for span, _private in items:
            self._export(unevaluated(span, drop_content=self._redacting))

    def _export(self, span: ReadableSpan) -> None:
        try:
            self._downstream.on_end(span)
        except Exception:
            logger.exception("llmotel: exporting a span failed")

    # --- flush and shutdown -------------------------------------------------------------------------------------

    def _drain(self, deadline: float) -> bool:
        with self._cond:
            while (self._queue or self._in_flight) and self._state in ("up", "starting"):
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._cond.wait(left)
            return not self._queue and not self._in_flight

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Wait for the child to answer what is queued, then flush the exporting processors; True when all went
        out. Evaluation gets at most 80% of the time."""
        started = time.monotonic()
        drained = self._drain(started + timeout_millis * 0.8 / 1000)
        left = max(timeout_millis - (time.monotonic() - started) * 1000, 0)
        return self._downstream.force_flush(int(left)) and drained

    def shutdown(self, timeout_millis: float = 30000) -> None:
        """Let the child answer what is queued, export the rest unevaluated, stop the child, then shut the
        exporting processors down in the time left (a quarter of it, at most 2 s, is kept for that)."""
        if self._closed:
            return
        self._closed = True
        timeout_s = timeout_millis / 1000
        deadline = time.monotonic() + timeout_s
        self._drain(deadline - min(timeout_s * _RESERVE_SHARE, _RESERVE_MAX_S))
        with self._cond:
            held = [item for batch in self._in_flight.values() for item in batch] + list(self._queue)
            self._in_flight.clear()
            self._queue.clear()
            self._state = "stopped"
            child, self._child = self._child, None
            self._cond.notify_all()
        self._unevaluated(held, "shutdown")
        if child is not None:
            child.stop()
        shutdown_within(self._downstream, max(deadline - time.monotonic(), 0) * 1000)
