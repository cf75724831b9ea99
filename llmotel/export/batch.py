"""ExportProcessor: batches ended spans and exports them on one worker thread, keeping every promised deadline.

Why not the SDK's ``BatchSpanProcessor``: its ``force_flush(timeout)`` waits for an export that retries inside
the exporter for as long as the exporter's own timeout (15-20 s against a dead or hanging backend for a
1-second flush), returns True when the export failed, drops a batch on the first non-retryable answer (a
``500``) and has no retry window for the rest. Here:

- ``on_end`` appends to a bounded queue and never blocks; a full queue drops the span, counted and logged.
- The worker sends a batch when it is full, when the schedule delay has passed, or when a flush asks for it.
- A failed batch with a retryable outcome (``429``/``5xx``, refused connection, timeout, gRPC ``UNAVAILABLE``...)
  is kept and retried with backoff (the server's ``Retry-After`` wins) for up to ``retry_window`` seconds; spans
  that end meanwhile wait in the queue. A final failure (``400``, ``401``, ``404``...) drops the batch.
- ``force_flush(timeout)`` returns within ``timeout`` and is True only when every span that ended before the
  call was exported. While a flush or shutdown waits, each request is bounded by the time it has left.
- ``shutdown(timeout)`` flushes within ``timeout``, then drops what is left (counted) and stops.
- After ``os.fork()`` the child starts with an empty queue (the parent's spans are the parent's to export), a
  new worker thread and, for OTLP, new connections.
"""

from __future__ import annotations

import collections
import inspect
import logging
import random
import threading
import time
from collections.abc import Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from llmotel._diagnostics import diagnostics
from llmotel._fork_guard import restart_in_child
from llmotel.export.otlp_traces import OK, SendResult
from llmotel.export.span_copy import scrubbed

logger = logging.getLogger("llmotel")

_MAX_BACKOFF_S = 5.0


def _send(exporter: SpanExporter, batch: Sequence[ReadableSpan], timeout: float) -> SendResult:
    """One delivery attempt. Exporters with ``send(spans, timeout)`` (llmotel's OTLP exporter) report why they
    failed; any other ``SpanExporter`` gets ``export()`` and a failure is final (it retries on its own, if at all)."""
    send = getattr(exporter, "send", None)
    try:
        if callable(send):
            result: SendResult = send(batch, timeout)
            return result
        ok = exporter.export(batch) is SpanExportResult.SUCCESS
    except Exception as exc:
        return SendResult(False, False, detail=f"{type(exc).__qualname__}: {exc}")
    return OK if ok else SendResult(False, False, detail="the exporter reported a failure")


class ExportProcessor(SpanProcessor):
    """Batch and export spans on a worker thread with deadlines, a retry window and fork safety."""

    def __init__(
        self,
        exporter: SpanExporter,
        describe: str | None = None,
        *,
        max_queue_size: int = 2048,
        max_batch_size: int = 512,
        schedule_delay: float = 0.5,
        export_timeout: float = 10.0,
        retry_window: float = 30.0,
    ) -> None:
        self.exporter = exporter
        self.describe = describe or getattr(exporter, "describe", None) or type(exporter).__name__
        self.max_queue_size = max_queue_size
        self.max_batch_size = max(1, min(max_batch_size, max_queue_size))
        self.schedule_delay = schedule_delay
        self.export_timeout = export_timeout
        self.retry_window = retry_window
        #: spans exported, and spans lost (dropped by a full queue, a final failure, the retry window or shutdown)
        self.exported_spans = 0
        self.lost_spans = 0
        self._reset_state()
        restart_in_child(self, lambda processor: processor._after_fork())
        self._start_worker()

    def _reset_state(self) -> None:
        self._cond = threading.Condition()
        self._queue: collections.deque[ReadableSpan] = collections.deque()
        self._in_flight = 0  # spans taken by the worker and not yet settled
        self._accepted = 0  # spans ever accepted into the queue
        self._settled = 0  # spans accepted whose fate is decided (exported or lost), FIFO
        self._unreported_losses = 0  # losses the next flush() reports
        self._deadlines: list[float] = []  # monotonic deadlines of waiting flushes/shutdown
        self._flush_requested = 0
        self._stopping = False
        self._closed = False

    def _start_worker(self) -> None:
        self._worker = threading.Thread(target=self._work, name="llmotel-export", daemon=True)
        self._worker.start()

    def _after_fork(self) -> None:
        closed = self._closed
        self._reset_state()
        self._closed = self._stopping = closed
        after_fork = getattr(self.exporter, "after_fork", None)
        if callable(after_fork):
            after_fork()
        self._start_worker()

    # --- the caller's thread ------------------------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        if self._closed or not span.context.trace_flags.sampled:
            return
        with self._cond:
            if len(self._queue) + self._in_flight >= self.max_queue_size:
                self._lose(1, "the export queue is full")
                return
            self._queue.append(span)
            self._accepted += 1
            queued = len(self._queue)
            if queued == 1 or queued >= self.max_batch_size:  # start the schedule delay, or send a full batch
                self._cond.notify_all()

    # --- the worker ---------------------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            with self._cond:
                waited_since = time.monotonic()
                while not self._due(waited_since):
                    self._cond.wait(self._wait_time(waited_since))
                if not self._queue:  # stopping and nothing left
                    return
                batch = [self._queue.popleft() for _ in range(min(len(self._queue), self.max_batch_size))]
                self._in_flight = len(batch)
            self._deliver(batch)

    def _due(self, waited_since: float) -> bool:
        if not self._queue:
            return self._stopping
        return (self._stopping or self._flush_requested > 0 or len(self._queue) >= self.max_batch_size
                or time.monotonic() - waited_since >= self.schedule_delay)

    def _wait_time(self, waited_since: float) -> float | None:
        if not self._queue:
            return None
        return max(self.schedule_delay - (time.monotonic() - waited_since), 0.001)

    def _deliver(self, batch: list[ReadableSpan]) -> None:
        batch = [scrubbed(span) for span in batch]  # secrets never leave the process, whatever the settings
        first_failure: float | None = None
        attempt = 0
        while True:
            remaining = self._time_left()
            if remaining is not None and remaining <= 0 and self._stopping:
                self._settle(batch, SendResult(False, detail="shutdown timed out"))
                return
            timeout = self.export_timeout if remaining is None or remaining <= 0 else min(self.export_timeout,
                                                                                        remaining)
            result = _send(self.exporter, batch, timeout)
            if result.ok or not result.retryable:
                self._settle(batch, result)
                return
            now = time.monotonic()
            first_failure = now if first_failure is None else first_failure
            window_left = self.retry_window - (now - first_failure)
            if window_left <= 0:
                self._settle(batch, SendResult(False, detail=f"{result.detail}, retried for {self.retry_window:g} s"))
                return
            diagnostics.report("export_retry", f"exporting spans to {self.describe} failed ({result.detail}); "
                               f"retrying for up to {self.retry_window:g} s")
            backoff = min(2 ** attempt * 0.5, _MAX_BACKOFF_S) * random.uniform(0.8, 1.2)
            self._pause(min(result.retry_after if result.retry_after is not None else backoff, window_left))
            attempt += 1

    def _pause(self, seconds: float) -> None:
        """Wait before a retry; cut short when a shutdown's deadline passes."""
        end = time.monotonic() + seconds
        with self._cond:
            while True:
                left = end - time.monotonic()
                deadline_left = self._time_left()
                if left <= 0 or (self._stopping and deadline_left is not None and deadline_left <= 0):
                    return
                self._cond.wait(left if deadline_left is None else min(left, max(deadline_left, 0.001)))

    def _time_left(self) -> float | None:
        """Seconds until the nearest deadline of a waiting flush or shutdown, or None when nobody waits."""
        deadlines = self._deadlines
        return min(deadlines) - time.monotonic() if deadlines else None

    def _settle(self, batch: list[ReadableSpan], result: SendResult) -> None:
        with self._cond:
            if self._in_flight == 0:  # shutdown gave up on this batch already and counted it
                return
            self._in_flight = 0
            self._settled += len(batch)
            if result.ok:
                self.exported_spans += len(batch)
            else:
                self._lose(len(batch), result.detail)
            self._cond.notify_all()

    def _lose(self, count: int, reason: str) -> None:
        """Count lost spans (called with the lock held) and log it at most once a minute per reason."""
        self.lost_spans += count
        self._unreported_losses += count
        diagnostics.report(f"export_lost:{reason}"[:80], f"could not export {count} span(s) to {self.describe}: "
                           f"{reason}", amount=count)

    # --- flush and shutdown -------------------------------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Export every span that ended before this call, within the timeout; True when all of them went out."""
        deadline = time.monotonic() + timeout_millis / 1000
        with self._cond:
            if self._closed:
                return self._unreported_losses == 0
            target = self._accepted
            self._deadlines.append(deadline)
            self._flush_requested += 1
            self._cond.notify_all()
            try:
                while self._settled < target:
                    left = deadline - time.monotonic()
                    if left <= 0 or not self._worker.is_alive():
                        return False
                    self._cond.wait(left)
                ok = self._unreported_losses == 0
                self._unreported_losses = 0
                return ok
            finally:
                self._deadlines.remove(deadline)
                self._flush_requested -= 1

    def shutdown(self, timeout_millis: float = 30000) -> None:
        """Export what is queued within the timeout, drop the rest (counted), stop the worker and the exporter."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._stopping = True
            deadline = time.monotonic() + timeout_millis / 1000
            self._deadlines.append(deadline)
            self._cond.notify_all()
        self._worker.join(max(deadline - time.monotonic(), 0))
        with self._cond:
            left = len(self._queue)
            if left or self._in_flight:
                self._queue.clear()
                self._lose(left + self._in_flight, "shutdown timed out")
                self._in_flight = 0
                self._settled = self._accepted
                self._cond.notify_all()
        try:
            self.exporter.shutdown()
        except Exception as exc:
            diagnostics.report("export", "exporter shutdown failed", exc)

    def stats(self) -> dict[str, Any]:
        with self._cond:
            return {"exported_spans": self.exported_spans, "lost_spans": self.lost_spans,
                    "queued_spans": len(self._queue) + self._in_flight}


def shutdown_within(processor: SpanProcessor, timeout_millis: float) -> None:
    """Shut a span processor down within ``timeout_millis`` when its ``shutdown`` takes a timeout (llmotel's
    processors do), else plainly (the SDK's processors)."""
    try:
        takes_timeout = "timeout_millis" in inspect.signature(processor.shutdown).parameters
    except (TypeError, ValueError):
        takes_timeout = False
    if takes_timeout:
        processor.shutdown(timeout_millis=timeout_millis)  # type: ignore[call-arg]
    else:
        processor.shutdown()
