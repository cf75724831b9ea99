"""The delivery machinery every sink shares: a span processor that only enqueues, and a thread that batches,
retries with backoff and delivers.

A sink sits among the exporting processors, downstream of the evaluating processor, so ``on_end`` sees the span
copy that is exported (redacted, evaluation events attached). ``on_end`` reads the span's evaluation events and
puts them on a bounded queue: it never blocks, never raises, and drops (counted, logged once a minute) when the
queue is full. A daemon thread takes up to ``batch_size`` records, waits at most ``batch_delay`` for a batch to
fill, and hands it to :meth:`EvaluationSink.deliver`; a retryable failure (connection error, timeout, HTTP 408,
425, 429, 5xx) is retried with exponential backoff (``Retry-After`` honoured) up to ``max_retries`` times.
``force_flush(timeout)`` and ``shutdown`` return by their deadline whatever the server does: every request's
timeout is cut to the time left, and what is undelivered at the deadline is dropped and counted.
"""

from __future__ import annotations

import json
import random
import threading
import time
import urllib.error
import urllib.request
from collections import deque
from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor

from llmotel._diagnostics import diagnostics
from llmotel._fork_guard import restart_in_child
from llmotel._version import __version__
from llmotel.evaluation.sinks._record import EvaluationRecord, records_of

_RETRYABLE_STATUS = frozenset({408, 425, 429, 500, 502, 503, 504})
USER_AGENT = f"llmotel/{__version__}"


class DeliveryError(Exception):
    """A delivery failed; ``retryable`` says whether trying again may succeed; ``status`` is the HTTP status."""

    def __init__(self, message: str, retryable: bool, retry_after: float | None = None,
                 status: int | None = None) -> None:
        super().__init__(message)
        self.retryable = retryable
        self.retry_after = retry_after
        self.status = status


def post_json(url: str, body: Any, headers: Mapping[str, str], timeout: float) -> Any:
    """POST ``body`` as JSON; the decoded JSON reply (None when empty). Raises :class:`DeliveryError`.

    The error message names the URL and status only: a server may echo the request (user text) back.
    """
    data = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    request = urllib.request.Request(url, data=data, method="POST", headers={
        "Content-Type": "application/json", "Accept": "application/json", "User-Agent": USER_AGENT, **headers})
    try:
        with urllib.request.urlopen(request, timeout=max(timeout, 0.05)) as response:
            raw = response.read()
    except urllib.error.HTTPError as exc:
        retry_after = _retry_after(exc.headers.get("Retry-After") if exc.headers else None)
        exc.close()
        raise DeliveryError(f"{url} answered HTTP {exc.code}", exc.code in _RETRYABLE_STATUS, retry_after,
                            exc.code) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:  # refused, reset, timed out, bad URL
        reason = getattr(exc, "reason", exc)
        raise DeliveryError(f"{url} could not be reached ({type(reason).__name__})",
                            not isinstance(exc, ValueError)) from None
    try:
        return json.loads(raw) if raw.strip() else None
    except ValueError:
        return None


def base_url(endpoint: str) -> str:
    """A server's base URL from an endpoint that may name the OTLP traces path."""
    base = endpoint.rstrip("/")
    return base[: -len("/v1/traces")] if base.endswith("/v1/traces") else base


def _retry_after(value: str | None) -> float | None:
    try:
        return max(float(value), 0.0) if value else None
    except ValueError:
        return None


class EvaluationSink(SpanProcessor):
    """Base class of the sinks: subclasses implement :meth:`deliver` (one batch, within ``timeout`` seconds).

    ``name`` is used in log messages. Counters (for tests and diagnostics): ``delivered``, ``dropped``.
    """

    name = "evaluation sink"

    def __init__(
        self,
        *,
        queue_size: int = 10_000,
        batch_size: int = 100,
        batch_delay: float = 1.0,
        max_retries: int = 5,
        backoff: float = 0.5,
        max_backoff: float = 30.0,
        request_timeout: float = 10.0,
        shutdown_timeout: float = 1.0,
    ) -> None:
        self.queue_size = queue_size
        self.batch_size = batch_size
        self.batch_delay = batch_delay
        self.max_retries = max_retries
        self.backoff = backoff
        self.max_backoff = max_backoff
        self.request_timeout = request_timeout
        self.shutdown_timeout = shutdown_timeout
        self.delivered = 0
        self.dropped = 0
        self._reset()
        restart_in_child(self, lambda sink: sink._reset())  # a forked child starts afresh

    def _reset(self) -> None:
        self._lock = threading.Condition()
        self._queue: deque[EvaluationRecord] = deque()
        self._pending = 0  # records accepted and not yet delivered or dropped
        self._flush_requested = False
        # bumped by each force_flush: a retry waiting out its backoff goes now (the span exporters, flushed
        # before the sinks, have delivered the spans a backend may have been missing)
        self._flush_generation = 0
        self._deadline: float | None = None  # set by shutdown: give up on what is still pending by then
        self._closed = False
        self._abandoned = False  # shutdown gave up on a request still in flight: its outcome is not counted
        self._thread: threading.Thread | None = None

    # --- the caller's (or evaluation worker's) thread: enqueue only ------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        return None

    def on_end(self, span: ReadableSpan) -> None:
        if self._closed or not span.events:
            return
        try:
            records = records_of(span)
        except Exception as exc:  # an odd span from another library: never let it reach the caller
            diagnostics.report("sink_read", f"{self.name}: could not read a span's evaluations", exc)
            return
        if records:
            self.enqueue(records)

    def enqueue(self, records: Sequence[EvaluationRecord]) -> None:
        """Queue records for delivery (never blocks; beyond ``queue_size`` they are dropped and counted)."""
        dropped = 0
        with self._lock:
            for record in records:
                if len(self._queue) >= self.queue_size:
                    dropped += 1
                    continue
                self._queue.append(record)
                self._pending += 1
            if self._thread is None:
                self._thread = threading.Thread(target=self._work, name=f"llmotel-sink-{self.name}", daemon=True)
                self._thread.start()
            self._lock.notify_all()
        if dropped:
            self._drop(dropped, "its queue is full")

    # --- the delivery thread ----------------------------------------------------------------------------------

    def deliver(self, records: list[EvaluationRecord], timeout: float) -> None:
        """Deliver one batch within ``timeout`` seconds; raise :class:`DeliveryError` when it fails.

        A sink that sends records one by one removes each delivered record from ``records``, so that a retry
        sends only the rest.
        """
        raise NotImplementedError

    def _next_batch(self) -> list[EvaluationRecord] | None:
        with self._lock:
            while not self._queue:
                if self._closed:
                    return None
                self._lock.wait()
            started = time.monotonic()
            while (len(self._queue) < self.batch_size and not self._flush_requested and not self._closed
                   and time.monotonic() - started < self.batch_delay):
                self._lock.wait(self.batch_delay - (time.monotonic() - started))
            return [self._queue.popleft() for _ in range(min(self.batch_size, len(self._queue)))]

    def _work(self) -> None:
        while True:
            batch = self._next_batch()
            if batch is None:
                return
            total = len(batch)
            try:
                self._deliver_with_retries(batch, total)
            except Exception as exc:  # a bug in a sink's formatting: drop the batch, keep the thread
                diagnostics.report("sink_failed", f"{self.name}: could not deliver evaluations", exc)
                self._done(total, len(batch), "the sink failed")

    def _time_left(self) -> float:
        deadline = self._deadline
        return float("inf") if deadline is None else deadline - time.monotonic()

    def _deliver_with_retries(self, batch: list[EvaluationRecord], total: int) -> None:
        attempt = 0
        while True:
            left = self._time_left()
            if left <= 0:
                self._done(total, len(batch), "shutdown came first")
                return
            with self._lock:
                generation = self._flush_generation
            try:
                self.deliver(batch, min(self.request_timeout, left))
            except DeliveryError as exc:
                attempt += 1
                if not exc.retryable or attempt > self.max_retries:
                    self._done(total, len(batch), str(exc))
                    return
                delay = exc.retry_after if exc.retry_after is not None else min(
                    self.max_backoff, self.backoff * 2 ** (attempt - 1)) * (0.5 + random.random() / 2)
                if not self._sleep(delay, generation):
                    self._done(total, len(batch), f"shutdown came first ({exc})")
                    return
                continue
            self._done(total, 0, "")
            return

    def _sleep(self, seconds: float, generation: int) -> bool:
        """Wait before a retry (cut short by a flush since the attempt began, the flush ``generation``); False when
        the shutdown deadline comes first."""
        until = time.monotonic() + seconds
        with self._lock:
            while True:
                now = time.monotonic()
                if self._flush_generation != generation:
                    return True
                deadline = self._deadline
                if deadline is not None and deadline <= min(until, now):
                    return False
                if now >= until:
                    return True
                wait = until - now if deadline is None else min(until, deadline) - now
                self._lock.wait(max(wait, 0.001))

    def _done(self, total: int, undelivered: int, reason: str) -> None:
        """A batch of ``total`` records is finished with; ``undelivered`` of them are dropped for ``reason``."""
        with self._lock:
            if self._abandoned:
                return
            self._pending -= total
            self.delivered += total - undelivered
            if not self._queue:
                self._flush_requested = False
            self._lock.notify_all()
        if undelivered:
            self._drop(undelivered, reason)

    def _drop(self, count: int, reason: str) -> None:
        with self._lock:
            self.dropped += count
        diagnostics.report(f"sink_dropped:{self.name}", f"{self.name}: {count} evaluation(s) not delivered: {reason}",
                           amount=count)

    # --- flush and shutdown -------------------------------------------------------------------------------------

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Deliver what is queued now; True when it all went out within the timeout."""
        until = time.monotonic() + timeout_millis / 1000
        with self._lock:
            self._flush_requested = True
            self._flush_generation += 1
            self._lock.notify_all()
            while self._pending:
                left = until - time.monotonic()
                if left <= 0:
                    return False
                self._lock.wait(left)
        return True

    def shutdown(self, timeout_millis: float | None = None) -> None:
        """Deliver what is queued within ``timeout_millis`` (default: the sink's shutdown timeout), drop the rest."""
        self.shutdown_within(self.shutdown_timeout * 1000 if timeout_millis is None else timeout_millis)

    def shutdown_within(self, timeout_millis: float) -> None:
        """Deliver what is queued within the timeout, drop (and count) the rest, stop the thread."""
        with self._lock:
            if self._closed:
                return
            self._deadline = time.monotonic() + timeout_millis / 1000
            self._closed = True
            self._lock.notify_all()
        self.force_flush(int(timeout_millis))
        with self._lock:
            left = list(self._queue)
            self._queue.clear()
            self._pending -= len(left)
            self._lock.notify_all()
        if left:
            self._drop(len(left), "shutdown came first")
        thread = self._thread
        if thread is not None:
            thread.join(timeout=max(self._time_left(), 0.0) + 0.1)
        with self._lock:  # a request still in flight (a hanging server) is given up: it counts as dropped
            in_flight, self._pending = self._pending, 0
            self._abandoned = True
        if in_flight:
            self._drop(in_flight, "shutdown came first (a request was still in flight)")
