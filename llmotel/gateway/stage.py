"""The evaluation stage: received spans through the same evaluating processor as ``enable()``, in order.

A :class:`Batch` is what one request brought. Its spans go to :class:`~llmotel.evaluation.processor.
EvaluatingSpanProcessor` (sampling, evaluators with their timeouts, PII redaction, results as
``gen_ai.evaluation.result`` events), whose workers finish spans in any order; the stage hands each batch on
only when all of its spans are done and every earlier batch has been handed on, so what was accepted leaves in
the order it was accepted. Spans are matched to their batch by the identity of their ``SpanContext`` object,
which every copy the processor makes keeps (copies share the original's context).
"""

from __future__ import annotations

import collections
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import SpanContext

from llmotel import semconv as sc
from llmotel.config import Settings
from llmotel.content import keep_private_content
from llmotel.export.span_copy import SpanCopy
from llmotel.gateway.genai_view import evaluation_view
from llmotel.gateway.unevaluated import unevaluated

#: the evaluating processor's own queue is never the bound: the stage feeds it at most the feed limit
_UNBOUNDED = 2**31
_MIN_FEED, _FEED_PER_WORKER = 16, 8
#: at shutdown, redaction of what was not evaluated stops when this share of the time (at least the minimum) is left
_DELIVERY_SHARE, _DELIVERY_RESERVE_S = 0.25, 1.0


@dataclass(eq=False)
class Batch:
    """The spans of one accepted request, and what became of them."""

    seq: int
    spans: list[ReadableSpan]
    nbytes: int = 0
    accepted_at: float = field(default_factory=time.monotonic)
    #: evaluated (and redacted) copies, by position; all set when the batch is handed on
    outputs: list[ReadableSpan | None] = field(default_factory=list)
    #: positions of spans that were given ``gen_ai.operation.name`` for evaluation only
    operation_added: set[int] = field(default_factory=set)
    #: content for the evaluators only, by position (an application's content kept out of its spans)
    private: dict[int, dict[str, Any]] = field(default_factory=dict)
    remaining: int = 0


class _Held:
    """What :func:`llmotel.content.keep_private_content` needs of a span: it is recording and has a context."""

    def __init__(self, context: SpanContext) -> None:
        self._context = context

    def is_recording(self) -> bool:
        return True

    def get_span_context(self) -> SpanContext:
        return self._context


class _Sequencer(SpanProcessor):
    """Collects the processor's output per batch and releases complete batches in acceptance order."""

    def __init__(self, stage: EvaluationStage) -> None:
        self._stage = stage
        self._lock = threading.Lock()
        self._pending: collections.deque[Batch] = collections.deque()
        self._where: dict[int, collections.deque[tuple[Batch, int]]] = {}

    def register(self, batch: Batch) -> None:
        with self._lock:
            batch.outputs = [None] * len(batch.spans)
            batch.remaining = len(batch.spans)
            self._pending.append(batch)
            for index, span in enumerate(batch.spans):
                self._where.setdefault(id(span.context), collections.deque()).append((batch, index))
            self._release()

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        pass

    def on_end(self, span: ReadableSpan) -> None:
        with self._lock:
            places = self._where.get(id(span.context))
            if not places:  # never registered: nothing of the gateway's (cannot happen); pass it on alone
                self._stage._release(Batch(-1, [span], outputs=[span]))
                return
            batch, index = places.popleft()
            if not places:
                del self._where[id(span.context)]
            if index in batch.operation_added:
                attributes = dict(span.attributes or {})
                attributes.pop(sc.GEN_AI_OPERATION_NAME, None)
                span = SpanCopy(span, attributes, span.events, span.status, name=span.name, links=span.links)
            batch.outputs[index] = span
            batch.remaining -= 1
            self._stage.observe(batch, index, span)
            self._release()
        self._stage._evaluated()

    def _release(self) -> None:
        while self._pending and self._pending[0].remaining == 0:
            self._stage._release(self._pending.popleft())

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return self._stage._on_flush(timeout_millis)

    def shutdown(self, timeout_millis: float = 30000) -> None:
        self._stage._shut_down_next(timeout_millis)


class EvaluationStage:
    """Evaluate and redact batches of received spans as ``enable()`` would, and hand them on in order.

    ``on_evaluated(batch)`` gets each batch with every ``outputs`` entry set, in the order :meth:`submit` got them;
    ``on_flush`` / ``on_shutdown`` are the next stage's flush and shutdown (called with the time left).
    ``observe(batch, index, output)`` (optional) sees every span as it leaves evaluation. ``evaluators`` and
    ``redactor`` default to those ``settings`` describe (built here).

    Spans wait in the stage's backlog and are fed to the evaluating processor a few at a time (enough to keep its
    workers busy), so that at shutdown what is left is still here, to be redacted against the deadline (and, when
    even that cannot finish in time, forwarded with its content dropped) rather than inside the processor's
    shutdown, which redacts everything it holds whatever the time.
    """

    def __init__(
        self,
        settings: Settings,
        on_evaluated: Callable[[Batch], None],
        on_flush: Callable[[float], bool],
        on_shutdown: Callable[[float], None],
        *,
        meter_provider: Any = None,
        observe: Callable[[Batch, int, ReadableSpan], None] | None = None,
        evaluators: list[Any] | None = None,
        redactor: Any = None,
    ) -> None:
        self._on_evaluated = on_evaluated
        self._on_flush = on_flush
        self._on_shutdown = on_shutdown
        self._observe = observe
        self._lock = threading.Lock()
        self._feed = threading.Condition()
        self._backlog: collections.deque[tuple[Batch, int]] = collections.deque()
        self._in_processor = 0
        self._pumping = False
        self._draining = False
        self._deliver_by: float | None = None  # monotonic deadline of a shutdown's delivery
        self._sequencer = _Sequencer(self)
        self._processor: Any = None
        self._feed_limit = max(_MIN_FEED, _FEED_PER_WORKER * settings.evaluation_workers)
        self._redacting = settings.redact_pii
        if settings.evaluates_content:
            from llmotel.evaluation import builtin
            from llmotel.evaluation.processor import EvaluatingSpanProcessor

            if redactor is None and settings.redact_pii:
                redactor = builtin.pii_redactor(settings)
            self._processor = EvaluatingSpanProcessor(
                self._sequencer,
                evaluators if evaluators is not None else builtin.evaluators(settings.evaluators, settings,
                                                                             meter_provider),
                redactor=redactor,
                sampling_rules=settings.evaluator_sampling_rules,
                capture_content=settings.capture_content,
                queue_size=_UNBOUNDED,
                workers=settings.evaluation_workers,
                timeout=settings.evaluator_timeout,
                meter_provider=meter_provider,
            )

    # --- feeding the processor ----------------------------------------------------------------------------------

    def submit(self, batch: Batch) -> None:
        """Queue a batch for evaluation; never blocks on evaluation."""
        with self._lock:
            self._sequencer.register(batch)
            if self._processor is None:
                for span in batch.spans:
                    self._sequencer.on_end(span)
                return
            with self._feed:
                self._backlog.extend((batch, index) for index in range(len(batch.spans)))
        self._pump()

    def _pump(self) -> None:
        """Feed the processor from the backlog up to the limit; one thread pumps at a time."""
        with self._feed:
            if self._pumping:
                return
            self._pumping = True
        while True:
            with self._feed:
                if not self._backlog or self._in_processor >= self._feed_limit or self._draining:
                    self._pumping = False
                    self._feed.notify_all()
                    return
                batch, index = self._backlog.popleft()
                self._in_processor += 1
            try:
                self._processor.on_end(self._prepared(batch, index))
            except BaseException:
                with self._feed:
                    self._pumping = False
                raise

    def _prepared(self, batch: Batch, index: int) -> ReadableSpan:
        """The span as the processor should see it: its semconv view kept for the evaluators, and an operation name
        when it lacks one (removed again before forwarding)."""
        span = batch.spans[index]
        view = evaluation_view(span.attributes or {}, span.events)
        if view.operation is not None:
            span = SpanCopy(span, {**(span.attributes or {}), sc.GEN_AI_OPERATION_NAME: view.operation}, span.events,
                            span.status)
            batch.operation_added.add(index)
        private = {**view.private, **batch.private.get(index, {})}
        if private:
            keep_private_content(_Held(span.context), private)
        return span

    # --- what comes out -----------------------------------------------------------------------------------------

    def observe(self, batch: Batch, index: int, output: ReadableSpan) -> None:
        if self._observe is not None:
            self._observe(batch, index, output)

    def _release(self, batch: Batch) -> None:
        self._on_evaluated(batch)

    def _evaluated(self) -> None:
        """A span left the processor (called by the sequencer): room for another."""
        if self._processor is None:
            return
        with self._feed:
            self._in_processor -= 1
            pump = bool(self._backlog) and not self._draining
            if not pump:
                self._feed.notify_all()
        if pump:
            self._pump()

    # --- flush and shutdown -------------------------------------------------------------------------------------

    def _wait_fed(self, deadline: float) -> bool:
        """Wait until the backlog is empty and the processor holds nothing, or the deadline passes."""
        with self._feed:
            while self._backlog or self._in_processor > 0:
                left = deadline - time.monotonic()
                if left <= 0:
                    return False
                self._feed.wait(left)
        return True

    def flush(self, timeout_millis: float) -> bool:
        """Wait for what was submitted to be evaluated and handed on, then flush the next stage."""
        deadline = time.monotonic() + timeout_millis / 1000
        if self._processor is not None and not self._wait_fed(deadline):
            return False
        return self._on_flush(max(deadline - time.monotonic(), 0) * 1000)

    def shutdown(self, timeout_millis: float, evaluation_share: float = 0.6) -> None:
        """Evaluate what is queued for ``evaluation_share`` of the time; then redact what is left, unevaluated,
        while a quarter of the time (at least a second) is still left, and drop the content of anything still left
        after that; then shut the next stage down in the time that remains."""
        now = time.monotonic()
        self._deliver_by = now + timeout_millis / 1000
        if self._processor is None:
            self._on_shutdown(timeout_millis)
            return
        self._wait_fed(now + timeout_millis * evaluation_share / 1000)
        with self._feed:
            self._draining = True
        # the processor exports what it holds (at most the feed limit) unevaluated, then calls _shut_down_next
        self._processor.shutdown(timeout_millis=max(self._deliver_by - time.monotonic(), 0) * 1000 * 0.5)

    def _shut_down_next(self, timeout_millis: float) -> None:
        """Called at the end of the processor's shutdown: hand on the backlog unevaluated (redacted while there is
        time, else without content), then shut the next stage down in what is left of the stage's whole time."""
        deliver_by = self._deliver_by if self._deliver_by is not None else time.monotonic() + timeout_millis / 1000
        redact_by = deliver_by - max(_DELIVERY_RESERVE_S, (deliver_by - time.monotonic()) * _DELIVERY_SHARE)
        while True:
            with self._feed:
                if not self._backlog:
                    break
                batch, index = self._backlog.popleft()
                self._in_processor += 1
            if not self._redacting:
                self._sequencer.on_end(unevaluated(batch.spans[index], drop_content=False))
            elif time.monotonic() < redact_by:  # the closed processor redacts on this thread, marks it unevaluated
                self._processor.on_end(self._prepared(batch, index))
            else:
                self._sequencer.on_end(unevaluated(batch.spans[index], drop_content=True))
        self._on_shutdown(max(deliver_by - time.monotonic(), 0) * 1000)

