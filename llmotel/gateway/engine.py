"""The gateway's engine: admission into a bounded queue, the spool, evaluation in order, forwarding.

A request is accepted only if the spans and bytes the gateway holds (accepted, not yet delivered to the backend)
stay within the queue's bounds; otherwise it is refused with a retry delay (HTTP ``429`` / gRPC
``RESOURCE_EXHAUSTED`` with ``RetryInfo``), which every SDK's OTLP exporter retries, so nothing is dropped. While
the backend is down the forwarder keeps retrying, spans stay in the queue and the same refusal reaches the senders.
What was accepted is forwarded in acceptance order and never dropped by the gateway; with a spool it is on disk
before it is acknowledged and replayed after a restart.
"""

from __future__ import annotations

import enum
import itertools
import logging
import math
import threading
import time
from dataclasses import dataclass
from typing import Any

from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.trace import ReadableSpan

from llmotel import semconv as sc
from llmotel.config import Settings
from llmotel.gateway.forwarder import Forwarder
from llmotel.gateway.metrics import GatewayMetrics
from llmotel.gateway.received import iter_spans, span_count
from llmotel.gateway.spool import Spool
from llmotel.gateway.stage import Batch, EvaluationStage

logger = logging.getLogger("llmotel.gateway")

_MIN_RETRY_S = 1.0
_MAX_RETRY_S = 3.0  # SDK exporters give up when the delay exceeds the time left of their ~10 s timeout
_RATE_WINDOW_S = 5.0


class Refusal(enum.Enum):
    """Why a request was not accepted."""

    QUEUE_FULL = "queue_full"
    SHUTTING_DOWN = "shutting_down"
    SPOOL_ERROR = "spool_error"


@dataclass(frozen=True)
class Admission:
    """The outcome of :meth:`Engine.submit`: accepted, or refused with a reason and a retry delay (seconds)."""

    refusal: Refusal | None = None
    retry_after: float = 0.0

    @property
    def accepted(self) -> bool:
        return self.refusal is None


ACCEPTED = Admission()


class _DeliveryRate:
    """Spans delivered per second over the last few seconds (for the retry delay a refusal suggests)."""

    def __init__(self) -> None:
        self._events: list[tuple[float, int]] = []

    def add(self, count: int) -> None:
        now = time.monotonic()
        self._events.append((now, count))
        if len(self._events) > 256 or self._events[0][0] < now - _RATE_WINDOW_S:
            self._events = [(t, n) for t, n in self._events if t >= now - _RATE_WINDOW_S]

    def per_second(self) -> float:
        now = time.monotonic()
        return sum(n for t, n in self._events if t >= now - _RATE_WINDOW_S) / _RATE_WINDOW_S


class Engine:
    """Accepts trace requests within bounds, evaluates them as ``enable()`` would, forwards them in order."""

    def __init__(
        self,
        settings: Settings,
        exporter: Any,
        metrics: GatewayMetrics,
        *,
        queue_spans: int,
        queue_bytes: int,
        spool: Spool | None = None,
        meter_provider: Any = None,
        evaluators: list[Any] | None = None,
        redactor: Any = None,
    ) -> None:
        self.metrics = metrics
        self.queue_spans = queue_spans
        self.queue_bytes = queue_bytes
        self._spool = spool
        self._lock = threading.Lock()  # admission counts
        self._submit_lock = threading.Lock()  # sequence numbers, spool files and submission in one order
        self._held_spans = 0
        self._held_bytes = 0
        self._submitting = 0  # requests admitted and not yet handed to evaluation (drain waits for them)
        self._idle = threading.Condition(self._lock)
        self._closed = False
        self._rate = _DeliveryRate()
        self._seq = itertools.count(spool.next_seq() if spool is not None else 0)
        self._forwarder = Forwarder(exporter, self._delivered, export_timeout=settings.export_timeout)
        self._stage = EvaluationStage(settings, self._forwarder.forward, self._forwarder.flush,
                                      self._forwarder.shutdown, meter_provider=meter_provider, observe=self._observe,
                                      evaluators=evaluators, redactor=redactor)
        metrics.gauge(sc.METRIC_GATEWAY_QUEUE_SPANS, lambda: self._held_spans)
        metrics.gauge(sc.METRIC_GATEWAY_QUEUE_BYTES, lambda: self._held_bytes)

    # --- admission ----------------------------------------------------------------------------------------------

    def recover(self) -> int:
        """Replay the spool's requests (before anything new is accepted); returns how many spans it held."""
        if self._spool is None:
            return 0
        total = 0
        for seq, data in self._spool.pending():
            request = ExportTraceServiceRequest()
            try:
                request.ParseFromString(data)
                spans: list[ReadableSpan] = list(iter_spans(request))
            except Exception as exc:  # a file this version cannot read: keep it for a person to look at
                logger.warning("llmotel gateway: cannot replay spooled request %s (%s); left in the spool", seq, exc)
                continue
            with self._lock:
                self._held_spans += len(spans)
                self._held_bytes += len(data)
            with self._submit_lock:
                self._stage.submit(Batch(seq, spans, len(data)))
            total += len(spans)
        return total

    def submit(self, request: ExportTraceServiceRequest, raw: bytes | None = None, *,
               source: str = "otlp") -> Admission:
        """Accept a trace request (forwarded later, in order) or refuse it. ``raw`` is its serialised form when
        the caller has it (saves serialising it again for the spool). Raises
        :class:`~llmotel.gateway.received.MalformedSpans` for ids of the wrong length."""
        count = span_count(request)
        if count == 0:
            return ACCEPTED
        nbytes = len(raw) if raw is not None else request.ByteSize()
        refused = self._reserve(count, nbytes)
        if refused is not None:
            self.metrics.add(sc.METRIC_GATEWAY_REFUSED, reason=refused.refusal.value)  # type: ignore[union-attr]
            return refused
        try:
            spans: list[ReadableSpan] = list(iter_spans(request))
        except Exception:
            self._release(count, nbytes)
            self._submitted()
            raise
        return self._enqueue(spans, nbytes, request if raw is None else raw, source)

    def submit_spans(self, spans: list[ReadableSpan], request: bytes, *, source: str) -> Admission:
        """Accept spans built here (the evaluation intake); ``request`` is their serialised OTLP form for the
        spool."""
        nbytes = len(request)
        refused = self._reserve(len(spans), nbytes)
        if refused is not None:
            self.metrics.add(sc.METRIC_GATEWAY_REFUSED, reason=refused.refusal.value)  # type: ignore[union-attr]
            return refused
        return self._enqueue(spans, nbytes, request, source)

    def _reserve(self, count: int, nbytes: int) -> Admission | None:
        with self._lock:
            if self._closed:
                return Admission(Refusal.SHUTTING_DOWN, _MIN_RETRY_S)
            over = self._held_spans + count > self.queue_spans or self._held_bytes + nbytes > self.queue_bytes
            if over and self._held_spans > 0:  # an empty gateway takes any request the size limit let through
                return Admission(Refusal.QUEUE_FULL, self._retry_after())
            self._held_spans += count
            self._held_bytes += nbytes
            self._submitting += 1
        return None

    def _retry_after(self) -> float:
        rate = self._rate.per_second()
        wait = self._held_spans / rate if rate > 0 else _MAX_RETRY_S
        return min(max(math.ceil(wait), _MIN_RETRY_S), _MAX_RETRY_S)

    def _release(self, count: int, nbytes: int) -> None:
        with self._lock:
            self._held_spans -= count
            self._held_bytes -= nbytes

    def _submitted(self) -> None:
        with self._lock:
            self._submitting -= 1
            if self._submitting == 0:
                self._idle.notify_all()

    def _enqueue(self, spans: list[ReadableSpan], nbytes: int, stored: bytes | ExportTraceServiceRequest,
                 source: str) -> Admission:
        try:
            return self._enqueue_admitted(spans, nbytes, stored, source)
        finally:
            self._submitted()

    def _enqueue_admitted(self, spans: list[ReadableSpan], nbytes: int, stored: bytes | ExportTraceServiceRequest,
                          source: str) -> Admission:
        with self._submit_lock:
            seq = next(self._seq)
            if self._spool is not None:
                try:
                    self._spool.write(seq, stored if isinstance(stored, bytes) else stored.SerializeToString())
                except OSError as exc:
                    self._release(len(spans), nbytes)
                    logger.error("llmotel gateway: cannot write to the spool (%s); refusing requests", exc)
                    self.metrics.add(sc.METRIC_GATEWAY_REFUSED, reason=Refusal.SPOOL_ERROR.value)
                    return Admission(Refusal.SPOOL_ERROR, _MIN_RETRY_S)
            self._stage.submit(Batch(seq, spans, nbytes))
        self.metrics.add(sc.METRIC_GATEWAY_ACCEPTED, len(spans), source=source)
        return ACCEPTED

    # --- after evaluation and delivery --------------------------------------------------------------------------

    def _observe(self, batch: Batch, index: int, output: ReadableSpan) -> None:
        received = batch.spans[index]
        if (output.attributes or {}).get(sc.LLMOTEL_EVALUATION_STATUS) == "unevaluated":
            outcome = "unevaluated"
        elif len(output.events) > len(received.events):
            outcome = "evaluated"
        else:
            outcome = "passed"
        self.metrics.add(sc.METRIC_GATEWAY_EVALUATED, outcome=outcome)
        self.metrics.observe_latency(time.monotonic() - batch.accepted_at)

    def _delivered(self, batch: Batch, ok: bool, detail: str) -> None:
        count = len(batch.spans)
        self._release(count, batch.nbytes)
        with self._lock:
            self._rate.add(count)
        if self._spool is not None:
            self._spool.remove(batch.seq)
        self.metrics.add(sc.METRIC_GATEWAY_FORWARDED, count, outcome="exported" if ok else "refused")
        if not ok:
            logger.warning("llmotel gateway: the backend refused %d span(s) for good (%s); dropped", count, detail)

    # --- state and lifecycle ------------------------------------------------------------------------------------

    @property
    def held_spans(self) -> int:
        return self._held_spans

    @property
    def held_bytes(self) -> int:
        return self._held_bytes

    def close(self, timeout: float = 5.0) -> None:
        """Refuse new requests from now on (draining); wait (up to ``timeout``) for those admitted a moment ago to
        reach evaluation."""
        deadline = time.monotonic() + timeout
        with self._lock:
            self._closed = True
            while self._submitting and time.monotonic() < deadline:
                self._idle.wait(max(deadline - time.monotonic(), 0.001))

    def flush(self, timeout: float) -> bool:
        """Wait until everything accepted so far is evaluated and delivered (True), or ``timeout`` seconds pass."""
        deadline = time.monotonic() + timeout
        if not self._stage.flush(timeout * 1000):
            return False
        while self._held_spans > 0 and time.monotonic() < deadline:  # settled batches are reported just after
            time.sleep(0.005)
        return self._held_spans == 0

    def drain(self, grace: float) -> None:
        """Stop accepting; evaluate what is queued within the grace period, forward the rest unevaluated (still
        redacted), deliver within what is left of it. What the backend has not taken by then stays in the spool."""
        self.close()
        self._stage.shutdown(grace * 1000)
