"""Forward evaluated batches to the OTLP backend through llmotel's export processor, and say when each arrived.

The :class:`~llmotel.export.batch.ExportProcessor` batches, scrubs secrets, bounds every request by its deadline
and retries retryable failures with backoff (the backend's ``Retry-After`` wins). For the gateway its retry window
is unlimited: while the backend is down spans wait, the gateway's queue fills and new requests are refused with a
retry delay, so backpressure reaches the senders instead of anything being dropped. The processor delivers in the
order it was given spans and settles them in that order, so counting the spans its exporter settled (exported, or
refused for good by the backend) tells which batches are done.
"""

from __future__ import annotations

import collections
import math
import sys
import threading
from collections.abc import Callable, Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from llmotel.export.batch import ExportProcessor
from llmotel.export.otlp_traces import SendResult
from llmotel.gateway.stage import Batch

_SCHEDULE_DELAY_S = 0.05


class _SettlingExporter(SpanExporter):
    """Wraps the OTLP exporter and reports every batch whose fate is decided: exported, or refused for good."""

    def __init__(self, inner: Any, settled: Callable[[int, bool, str], None]) -> None:
        self._inner = inner
        self._settled = settled
        self.describe = getattr(inner, "describe", type(inner).__name__)

    def send(self, spans: Sequence[ReadableSpan], timeout: float) -> SendResult:
        result: SendResult = self._inner.send(spans, timeout)
        if result.ok or not result.retryable:
            self._settled(len(spans), result.ok, result.detail)
        return result

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        timeout = getattr(self._inner, "timeout", 10.0)
        return SpanExportResult.SUCCESS if self.send(spans, timeout).ok else SpanExportResult.FAILURE

    def shutdown(self) -> None:
        self._inner.shutdown()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

    def after_fork(self) -> None:
        after_fork = getattr(self._inner, "after_fork", None)
        if callable(after_fork):
            after_fork()


class _Waiting:
    """A batch handed to the export processor: its span offsets in delivery order, and whether all arrived."""

    __slots__ = ("batch", "end", "ok", "start")

    def __init__(self, batch: Batch, start: int, end: int) -> None:
        self.batch, self.start, self.end, self.ok = batch, start, end, True


class Forwarder:
    """Send batches (in the order given) to ``exporter``; ``on_delivered(batch, ok, detail)`` once each is settled.

    ``ok`` is False when the backend refused some of its spans for good (e.g. HTTP 400): retrying cannot help,
    they are counted and dropped. A batch not settled at shutdown is never reported (a spool keeps it).
    """

    def __init__(self, exporter: Any, on_delivered: Callable[[Batch, bool, str], None], *, export_timeout: float,
                 max_batch_size: int = 512) -> None:
        self._on_delivered = on_delivered
        self._lock = threading.Lock()
        self._released = 0  # spans handed to the export processor
        self._settled = 0  # spans the exporter settled, in order
        self._failure = ""
        self._waiting: collections.deque[_Waiting] = collections.deque()
        self.exporter = _SettlingExporter(exporter, self._settle)
        self.processor = ExportProcessor(self.exporter, max_queue_size=sys.maxsize, max_batch_size=max_batch_size,
                                         schedule_delay=_SCHEDULE_DELAY_S, export_timeout=export_timeout,
                                         retry_window=math.inf)

    def forward(self, batch: Batch) -> None:
        """Hand a batch's evaluated spans to the export processor (call in acceptance order)."""
        outputs = [span for span in batch.outputs if span is not None]
        with self._lock:
            self._waiting.append(_Waiting(batch, self._released, self._released + len(outputs)))
            self._released += len(outputs)
        self._report(self._done())  # a batch without spans is done at once
        for span in outputs:
            self.processor.on_end(span)

    def _settle(self, count: int, ok: bool, detail: str) -> None:
        with self._lock:
            start, self._settled = self._settled, self._settled + count
            if not ok:
                self._failure = detail
                for waiting in self._waiting:
                    if waiting.start < self._settled and waiting.end > start:
                        waiting.ok = False
        self._report(self._done())

    def _done(self) -> list[tuple[Batch, bool, str]]:
        done = []
        with self._lock:
            while self._waiting and self._waiting[0].end <= self._settled:
                waiting = self._waiting.popleft()
                done.append((waiting.batch, waiting.ok, "" if waiting.ok else self._failure))
        return done

    def _report(self, done: list[tuple[Batch, bool, str]]) -> None:
        for batch, ok, detail in done:
            self._on_delivered(batch, ok, detail)

    def flush(self, timeout_millis: float) -> bool:
        return self.processor.force_flush(int(timeout_millis))

    def shutdown(self, timeout_millis: float) -> None:
        self.processor.shutdown(timeout_millis=timeout_millis)
