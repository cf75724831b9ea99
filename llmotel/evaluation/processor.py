"""EvaluatingSpanProcessor: evaluate and redact ended spans on workers, then hand copies to the exporting processor.

``on_end`` never blocks and never drops a span. A span that needs work (an LLM span some evaluator samples, or
any span when PII redaction is on) goes to a bounded queue; anything else goes straight through. Workers run the
sampled evaluators (sync ones on a pool of daemon threads, async ones on one event loop, each with its own
timeout), redact, and pass the exporting processor a copy of the span (same ids, timing, status, links) with one
``gen_ai.evaluation.result`` event per result. When the queue is full the span is exported unevaluated (still
redacted, synchronously) and the drop is counted; at shutdown, what is queued or still being evaluated when the
time is up is exported unevaluated.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import functools
import inspect
import itertools
import logging
import math
import queue
import threading
import time
import weakref
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from typing import Any

from opentelemetry import metrics
from opentelemetry.context import Context
from opentelemetry.metrics import CallbackOptions, MeterProvider, Observation
from opentelemetry.sdk.trace import Event, ReadableSpan, Span, SpanProcessor
from opentelemetry.trace import Link, Status

from llmotel import semconv as sc
from llmotel._diagnostics import RateLimit
from llmotel._fork_guard import restart_in_child
from llmotel._version import __version__
from llmotel.content import pop_private_content
from llmotel.evaluation._loading import is_builtin_check
from llmotel.evaluation._pool import DaemonPool
from llmotel.evaluation.judge import is_judge_trace
from llmotel.evaluation.redaction import SpanRedaction, TextRedactor, is_content_key, takes_context
from llmotel.evaluation.sampling import Sampler, SamplingRule
from llmotel.evaluation.types import EvaluationInput, EvaluationResult, Evaluator, content_fields
from llmotel.export.batch import shutdown_within
from llmotel.export.span_copy import SpanCopy

logger = logging.getLogger("llmotel.evaluation")

#: operations whose spans evaluators look at (model calls with input and output text)
PII_EVALUATION = "pii"
_STOP = object()
_STALLED_LIMIT = 2  # calls of one evaluator still running past their timeout before it is skipped
#: at shutdown, this share of the timeout (at most _EXPORT_RESERVE_MAX_S) is kept for exporting what is left
_EXPORT_RESERVE_SHARE = 0.25
_EXPORT_RESERVE_MAX_S = 2.0


def is_llm_span(span: ReadableSpan) -> bool:
    attributes = span.attributes or {}
    operation = attributes.get(sc.GEN_AI_OPERATION_NAME)
    return operation in sc.LLM_OPERATIONS or attributes.get(sc.LLMOTEL_SPAN_KIND) == "llm"


def result_attributes(result: EvaluationResult, response_id: Any,
                      withheld: frozenset[str] = frozenset()) -> dict[str, Any]:
    """The ``gen_ai.evaluation.result`` event attributes of one result, without the ``withheld`` fields
    (``label``, ``explanation``, ``metadata``: string metadata values) that may quote content not to be exported."""
    attrs: dict[str, Any] = {sc.GEN_AI_EVALUATION_NAME: result.name}
    if result.score is not None:
        attrs[sc.GEN_AI_EVALUATION_SCORE_VALUE] = float(result.score)
    if result.label is not None and "label" not in withheld:
        attrs[sc.GEN_AI_EVALUATION_SCORE_LABEL] = result.label
    if result.explanation is not None and "explanation" not in withheld:
        attrs[sc.GEN_AI_EVALUATION_EXPLANATION] = result.explanation
    if result.assessment is not None:
        attrs[sc.LLMOTEL_EVALUATION_ASSESSMENT] = result.assessment
    if isinstance(response_id, str):
        attrs[sc.GEN_AI_RESPONSE_ID] = response_id
    text_ok = "metadata" not in withheld
    for key, value in result.metadata.items():
        if isinstance(value, (bool, int, float)) or (isinstance(value, str) and text_ok):
            attrs[sc.LLMOTEL_EVALUATION_METADATA_PREFIX + str(key)] = value
        elif text_ok and isinstance(value, (list, tuple)) and all(isinstance(v, str) for v in value):
            attrs[sc.LLMOTEL_EVALUATION_METADATA_PREFIX + str(key)] = tuple(value)
    return attrs


def _results(name: str, output: Any) -> list[EvaluationResult]:
    if output is None:
        return []
    if isinstance(output, EvaluationResult):
        return [output]
    if isinstance(output, (list, tuple)) and all(isinstance(r, EvaluationResult) for r in output):
        return list(output)
    raise TypeError(f"evaluator {name!r} returned {type(output).__name__}, not EvaluationResult(s) or None")


class _EvaluatorSlot:
    """One configured evaluator, how to call it, and how many of its calls overran their timeout."""

    def __init__(self, evaluator: Evaluator, default_timeout: float) -> None:
        self.evaluator = evaluator
        self.name: str = evaluator.name
        timeout = getattr(evaluator, "timeout", None)
        valid = isinstance(timeout, (int, float)) and not isinstance(timeout, bool) and 0 < timeout < math.inf
        self.timeout = float(timeout) if valid else default_timeout  # type: ignore[arg-type]
        self.is_async = inspect.iscoroutinefunction(evaluator.evaluate)
        #: a CPU-bound check runs on the worker's own thread (see ``Evaluator``), its timeout checked on return
        self.inline = getattr(evaluator, "cpu_bound", False) is True and not self.is_async
        #: result fields not exported while content capture is off
        self.content_fields = content_fields(evaluator)
        #: llmotel's own check, declaring results free of user text: its events are exported without redaction
        #: (labels from a fixed set, explanations from templates, metadata of codes and counts); a custom
        #: evaluator's are always redacted, whatever it declares
        self.content_free = not self.content_fields and is_builtin_check(evaluator)
        self.overrunning = 0
        self.lock = threading.Lock()


class EvaluatingSpanProcessor(SpanProcessor):
    """Evaluate and redact ended spans off the caller's thread, then pass copies to ``downstream``.

    ``evaluators`` run on LLM spans their sampling rules select; ``redactor`` (e.g.
    :class:`llmotel.evaluation.pii.PiiRedactor`) redacts every span (name, attributes, events, links, status)
    and adds a ``pii`` evaluation to LLM spans; ``text_limit`` is the content length kept per text after
    redaction (texts arrive cut a little longer, so that no cut falls inside a value the redactor must see
    whole). ``capture_content=False`` means content reaches evaluators in-process only: result fields that may
    quote it are then not exported either.

    Workers and the evaluator pool are daemon threads (they never hold up interpreter exit) and are made anew in
    a forked child, which starts with an empty queue.
    """

    def __init__(
        self,
        downstream: SpanProcessor,
        evaluators: Iterable[Evaluator] = (),
        *,
        redactor: TextRedactor | None = None,
        sampling_rules: Sequence[SamplingRule] = (),
        capture_content: bool = True,
        queue_size: int = 2048,
        workers: int = 2,
        timeout: float = 10.0,
        meter_provider: MeterProvider | None = None,
        text_limit: int | None = None,
    ) -> None:
        self._downstream = downstream
        self._slots = [_EvaluatorSlot(e, timeout) for e in evaluators]
        self._redactor = redactor
        self._redactor_takes_context = redactor is not None and takes_context(redactor)
        self._text_limit = text_limit
        self._sampler = Sampler(sampling_rules)
        self._capture_content = capture_content
        self._queue_size = queue_size
        # Workers exist to wait: for judges and other evaluators on the pool. CPU-bound work (the built-in offline
        # checks, redaction) is cheapest on one thread: more contend for the GIL and move the work between cores
        # (benchmarks/evaluation.py throughput: about a quarter more CPU per span with two).
        self._worker_count = workers if any(not slot.inline for slot in self._slots) else 1
        self._closed = False
        self._drop_log = RateLimit(60.0)
        self._failure_log = RateLimit(60.0)
        self._instruments(meter_provider)
        self._start()
        restart_in_child(self, lambda processor: processor._start())

    def _start(self) -> None:
        """Fresh queue, state, workers and pool (at construction, and in a forked child)."""
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=self._queue_size)
        self._pending = 0  # spans accepted and not yet handed downstream
        self._idle = threading.Condition()
        self._in_flight: dict[int, tuple[ReadableSpan, Mapping[str, Any]]] = {}  # taken by a worker, not exported
        self._sequence = itertools.count()
        self._stopping = False  # set at shutdown: what is left is exported unevaluated
        for slot in self._slots:
            slot.lock = threading.Lock()
            slot.overrunning = 0
        self._pool = DaemonPool(max(2, 2 * self._worker_count), "llmotel-evaluator")
        self._loop: asyncio.AbstractEventLoop | None = None
        self._loop_lock = threading.Lock()
        self._workers = [threading.Thread(target=self._work, name=f"llmotel-evaluation-{i}", daemon=True)
                         for i in range(self._worker_count)]
        for worker in self._workers:
            worker.start()

    def _instruments(self, meter_provider: MeterProvider | None) -> None:
        meter = metrics.get_meter("llmotel.evaluation", __version__, meter_provider)
        self._results_counter = meter.create_counter(
            sc.METRIC_EVALUATIONS, unit="{evaluation}", description="Evaluation results by evaluation name and label."
        )
        self._duration = meter.create_histogram(
            sc.METRIC_EVALUATION_DURATION, unit="s", description="Time an evaluator took on one span.",
            explicit_bucket_boundaries_advisory=[0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1,
                                                 2.5, 5, 10, 30],
        )
        self._dropped = meter.create_counter(
            sc.METRIC_EVALUATION_DROPPED, unit="{span}", description="Spans exported without evaluation."
        )
        ref = weakref.ref(self)

        def depth(_options: CallbackOptions) -> Iterable[Observation]:
            processor = ref()
            return [Observation(processor._queue.qsize())] if processor is not None else []

        meter.create_observable_gauge(
            sc.METRIC_EVALUATION_QUEUE_DEPTH, callbacks=[depth], unit="{span}",
            description="Spans waiting for evaluation.",
        )

    # --- the caller's thread ------------------------------------------------------------------------------------

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        self._downstream.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        # content kept in-process (capture off) is taken now, so the store never holds it past the span's end
        private = pop_private_content(span.context.span_id) if span.context is not None else {}
        if self._closed:
            self._downstream.on_end(self._copy(span, private, [], evaluated=False, count=False)
                                    if self._redactor is not None else span)
            return
        slots = self._sampled(span)
        if not slots and self._redactor is None:
            self._downstream.on_end(span)
            return
        with self._idle:
            self._pending += 1
        try:
            self._queue.put_nowait((next(self._sequence), span, slots, private))
        except queue.Full:
            self._unevaluated(span, private, "queue_full")
            self._finished()

    def _sampled(self, span: ReadableSpan) -> list[_EvaluatorSlot]:
        if not self._slots or not is_llm_span(span):
            return []
        trace_id = span.context.trace_id if span.context is not None else 0
        if is_judge_trace(trace_id):  # a traced judge call (trace_judge=True) is never evaluated itself
            return []
        attributes = span.attributes or {}
        model = attributes.get(sc.GEN_AI_RESPONSE_MODEL) or attributes.get(sc.GEN_AI_REQUEST_MODEL) or ""
        model = model if isinstance(model, str) else ""
        return [s for s in self._slots if self._sampler.sampled(s.name, span.name, model, trace_id)]

    def _unevaluated(self, span: ReadableSpan, private: Mapping[str, Any], reason: str) -> None:
        """Export a span without evaluating it (redacted all the same); count and log the drop."""
        self._dropped.add(1, {sc.LLMOTEL_DROP_REASON: reason})
        if self._drop_log.allow(reason)[0]:
            logger.warning(
                "llmotel: evaluation queue is full; spans are exported without evaluation. Raise "
                "evaluation_queue_size / evaluation_workers or sample fewer spans." if reason == "queue_full" else
                "llmotel: shutdown before every span was evaluated; the rest are exported without evaluation"
            )
        self._export(span, lambda: self._copy(span, private, [], evaluated=False))

    def _export(self, span: ReadableSpan, make_copy: Callable[[], ReadableSpan]) -> None:
        """Hand downstream the copy ``make_copy`` builds; if that fails, never export unredacted content: drop the
        content attributes instead."""
        try:
            exported = make_copy()
        except Exception as exc:
            if self._failure_log.allow(type(exc).__name__)[0]:
                logger.warning("llmotel: evaluating or redacting a span failed (%s); exported without evaluation"
                               "%s", exc, " and without its content" if self._redactor is not None else "")
            exported = self._without_content(span) if self._redactor is not None else span
        try:
            self._downstream.on_end(exported)
        except Exception:
            logger.exception("llmotel: exporting a span failed")

    # --- workers ------------------------------------------------------------------------------------------------

    def _work(self) -> None:
        while True:
            item = self._queue.get()
            if item is _STOP:
                return
            number, span, slots, private = item
            with self._idle:
                stopping = self._stopping
                if not stopping:
                    self._in_flight[number] = (span, private)
            if stopping:
                self._unevaluated(span, private, "shutdown")
                self._finished()
                continue
            outcome: ReadableSpan | Exception
            try:
                outcome = self._process(span, slots, private)
            except Exception as exc:
                outcome = exc
            with self._idle:
                mine = self._in_flight.pop(number, None) is not None
            if not mine:  # shutdown exported it unevaluated meanwhile
                continue
            self._export(span, functools.partial(_returned, outcome))
            self._finished()

    def _finished(self) -> None:
        with self._idle:
            self._pending -= 1
            if self._pending == 0:
                self._idle.notify_all()

    def _process(self, span: ReadableSpan, slots: list[_EvaluatorSlot], private: Mapping[str, Any]) -> ReadableSpan:
        results: list[tuple[_EvaluatorSlot, list[EvaluationResult] | None, str | None, float]] = []
        if slots:
            attributes = dict(span.attributes or {})
            attributes.update(private)  # content kept in-process when capture is off
            results = self._evaluate(slots, EvaluationInput.from_attributes(attributes, span.name))
        response_id = (span.attributes or {}).get(sc.GEN_AI_RESPONSE_ID)
        now = time.time_ns()
        events: list[Event] = []
        content_free: set[int] = set()  # ids of events with nothing to redact
        for slot, slot_results, error, elapsed in results:
            withheld = frozenset() if self._capture_content else slot.content_fields
            if error is not None:
                attrs: dict[str, Any] = {sc.GEN_AI_EVALUATION_NAME: slot.name, sc.ERROR_TYPE: error,
                                         sc.LLMOTEL_EVALUATION_DURATION: elapsed}
                event = Event(sc.GEN_AI_EVALUATION_RESULT_EVENT, attrs, now)
                events.append(event)
                content_free.add(id(event))
                self._results_counter.add(1, {sc.GEN_AI_EVALUATION_NAME: slot.name, sc.ERROR_TYPE: error})
                continue
            for result in slot_results or ():
                attrs = result_attributes(result, response_id, withheld)
                attrs[sc.LLMOTEL_EVALUATION_DURATION] = elapsed
                event = Event(sc.GEN_AI_EVALUATION_RESULT_EVENT, attrs, now)
                events.append(event)
                if slot.content_free:
                    content_free.add(id(event))
                label = result.label if "label" not in withheld else None
                self._results_counter.add(1, {sc.GEN_AI_EVALUATION_NAME: result.name,
                                              sc.GEN_AI_EVALUATION_SCORE_LABEL: label or ""})
        if self._redactor is None and not events:
            return span
        return self._copy(span, private, events, evaluated=True, content_free=content_free)

    def _evaluate(self, slots: list[_EvaluatorSlot], input: EvaluationInput
                  ) -> list[tuple[_EvaluatorSlot, list[EvaluationResult] | None, str | None, float]]:
        started = time.perf_counter()
        running: list[tuple[_EvaluatorSlot, concurrent.futures.Future[Any] | None]] = []
        for slot in slots:
            with slot.lock:
                stalled = slot.overrunning >= _STALLED_LIMIT
            running.append((slot, None if stalled or slot.inline else self._submit(slot, input)))
        out: list[tuple[_EvaluatorSlot, list[EvaluationResult] | None, str | None, float]] = []
        for slot, future in running:
            if slot.inline:
                out.append(self._evaluate_inline(slot, input))
                continue
            if future is None:
                out.append((slot, None, "llmotel.evaluator_stalled", 0.0))
                continue
            remaining = slot.timeout - (time.perf_counter() - started)
            try:
                output, elapsed = future.result(timeout=max(remaining, 0.0))
                out.append((slot, _results(slot.name, output), None, elapsed))
                self._duration.record(elapsed, {sc.GEN_AI_EVALUATION_NAME: slot.name})
            except concurrent.futures.TimeoutError:
                if not future.cancel():  # already running: count it until it returns
                    with slot.lock:
                        slot.overrunning += 1
                    future.add_done_callback(functools.partial(self._overrun_done, slot))
                out.append((slot, None, "TimeoutError", slot.timeout))
            except concurrent.futures.CancelledError:
                out.append((slot, None, "llmotel.shutdown", time.perf_counter() - started))
            except Exception as exc:
                out.append((slot, None, type(exc).__qualname__, time.perf_counter() - started))
        return out

    def _evaluate_inline(self, slot: _EvaluatorSlot, input: EvaluationInput
                         ) -> tuple[_EvaluatorSlot, list[EvaluationResult] | None, str | None, float]:
        """A CPU-bound check on this thread; a result that came later than its timeout is a timeout, as from the
        pool."""
        t0 = time.perf_counter()
        try:
            output, elapsed = self._timed_sync(slot, input)
            if elapsed > slot.timeout:
                return slot, None, "TimeoutError", slot.timeout
            results = _results(slot.name, output)
        except Exception as exc:
            return slot, None, type(exc).__qualname__, time.perf_counter() - t0
        self._duration.record(elapsed, {sc.GEN_AI_EVALUATION_NAME: slot.name})
        return slot, results, None, elapsed

    @staticmethod
    def _overrun_done(slot: _EvaluatorSlot, _future: concurrent.futures.Future[Any]) -> None:
        with slot.lock:
            slot.overrunning -= 1

    def _submit(self, slot: _EvaluatorSlot, input: EvaluationInput) -> concurrent.futures.Future[Any]:
        if slot.is_async:
            return asyncio.run_coroutine_threadsafe(self._timed_async(slot, input), self._event_loop())
        return self._pool.submit(self._timed_sync, slot, input)

    def _timed_sync(self, slot: _EvaluatorSlot, input: EvaluationInput) -> tuple[Any, float]:
        t0 = time.perf_counter()
        output = slot.evaluator.evaluate(input)
        if inspect.isawaitable(output):  # a sync method that returned a coroutine
            output = asyncio.run_coroutine_threadsafe(_awaited(output), self._event_loop()).result(slot.timeout)
        return output, time.perf_counter() - t0

    @staticmethod
    async def _timed_async(slot: _EvaluatorSlot, input: EvaluationInput) -> tuple[Any, float]:
        t0 = time.perf_counter()
        output = await slot.evaluator.evaluate(input)  # type: ignore[misc]
        return output, time.perf_counter() - t0

    def _event_loop(self) -> asyncio.AbstractEventLoop:
        with self._loop_lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, name="llmotel-evaluation-loop", daemon=True).start()
                self._loop = loop
            return self._loop

    # --- the exported copy --------------------------------------------------------------------------------------

    def _copy(self, span: ReadableSpan, private: Mapping[str, Any], new_events: list[Event], *, evaluated: bool,
              count: bool = True, content_free: Collection[int] = ()) -> ReadableSpan:
        """The span to export: ``new_events`` added, everything redacted but the events whose ids are in
        ``content_free``."""
        attributes: dict[str, Any] = dict(span.attributes or {})
        events = [*span.events, *new_events]
        if not evaluated:
            attributes[sc.LLMOTEL_EVALUATION_STATUS] = "unevaluated"
        if self._redactor is None:
            return SpanCopy(span, attributes, events, span.status)
        redaction = SpanRedaction(self._redactor, self._text_limit, with_context=self._redactor_takes_context)
        name = redaction.text(span.name)
        attributes = redaction.attributes(attributes)
        events = [e if id(e) in content_free else
                  Event(redaction.text(e.name), redaction.attributes(e.attributes), e.timestamp) for e in events]
        links = [Link(link.context, redaction.attributes(link.attributes)) if link.attributes else link
                 for link in span.links]
        status = span.status
        if status.description:
            status = Status(status.status_code, redaction.status_text(status.description))
        exported_found = sum(redaction.found.values())
        if not self._capture_content:  # also look at the content evaluators saw, for the pii evaluation
            redaction.attributes(private)
        if exported_found:
            attributes[sc.LLMOTEL_PII_REDACTED] = True
        if redaction.truncated:
            attributes[sc.LLMOTEL_CONTENT_TRUNCATED] = True
        if redaction.found or is_llm_span(span):
            events.append(self._pii_event(redaction.found, attributes.get(sc.GEN_AI_RESPONSE_ID), count))
        return SpanCopy(span, attributes, events, status, name=name, links=links)

    def _pii_event(self, found: Mapping[str, int], response_id: Any, count: bool = True) -> Event:
        total = sum(found.values())
        label = "detected" if total else "none"
        result = EvaluationResult(
            PII_EVALUATION, score=float(total), label=label, assessment="fail" if total else "pass",
            explanation=(", ".join(f"{n} {entity}" for entity, n in sorted(found.items())) + " redacted")
            if total else "no PII found",
            metadata=dict(found),
        )
        if count:
            self._results_counter.add(
                1, {sc.GEN_AI_EVALUATION_NAME: PII_EVALUATION, sc.GEN_AI_EVALUATION_SCORE_LABEL: label}
            )
        return Event(sc.GEN_AI_EVALUATION_RESULT_EVENT, result_attributes(result, response_id), time.time_ns())

    @staticmethod
    def _without_content(span: ReadableSpan) -> ReadableSpan:
        """The span with every attribute that may carry content removed, and a fixed-form name and status."""
        attributes = {k: v for k, v in (span.attributes or {}).items() if not is_content_key(k)}
        events = [Event(e.name if e.name in _KNOWN_EVENTS else "event",
                        {k: v for k, v in (e.attributes or {}).items() if not is_content_key(k)}, e.timestamp)
                  for e in span.events]
        operation = attributes.get(sc.GEN_AI_OPERATION_NAME)
        name = operation if isinstance(operation, str) else "span"
        links = [Link(link.context) for link in span.links]
        return SpanCopy(span, attributes, events, Status(span.status.status_code), name=name, links=links)

    # --- flush and shutdown -------------------------------------------------------------------------------------

    def _drain(self, timeout_s: float) -> bool:
        deadline = time.monotonic() + timeout_s
        with self._idle:
            while self._pending:
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    return False
                self._idle.wait(remaining)
        return True

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Wait for queued spans to be evaluated, then flush the exporting processor; True when all went out.

        Evaluation gets at most 80% of the time, so what is already evaluated is still exported when an
        evaluator holds up the rest.
        """
        started = time.monotonic()
        drained = self._drain(timeout_millis * 0.8 / 1000)
        left = max(timeout_millis - (time.monotonic() - started) * 1000, 0)
        return self._downstream.force_flush(int(left)) and drained

    def shutdown(self, timeout_millis: float = 30000) -> None:
        """Evaluate what is queued within the timeout, export the rest unevaluated (also spans still being
        evaluated: never lost), stop the workers, then shut the exporting processor down in the time left.

        A share of the timeout (a quarter, at most two seconds) is kept for that last export.
        """
        if self._closed:
            return
        self._closed = True
        timeout_s = timeout_millis / 1000
        deadline = time.monotonic() + timeout_s
        self._drain(timeout_s - min(timeout_s * _EXPORT_RESERVE_SHARE, _EXPORT_RESERVE_MAX_S))
        with self._idle:
            self._stopping = True  # workers now export anything they take unevaluated
            taken = list(self._in_flight.values())
            self._in_flight.clear()
        while True:  # whatever is still queued is exported unevaluated, never lost
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                break
            taken.append((item[1], item[3]))
        for span, private in taken:
            self._unevaluated(span, private, "shutdown")
            self._finished()
        # a worker that took a span just before `_stopping` was set exports it unevaluated itself: let it finish
        self._drain(min(max(deadline - time.monotonic(), 0), 1.0))
        for _ in self._workers:
            self._queue.put(_STOP)
        self._pool.shutdown()
        if self._loop is not None:
            self._loop.call_soon_threadsafe(_cancel_tasks_and_stop, self._loop)
        shutdown_within(self._downstream, max(deadline - time.monotonic(), 0) * 1000)


_KNOWN_EVENTS = frozenset({"exception", sc.GEN_AI_EVALUATION_RESULT_EVENT})


def _returned(outcome: ReadableSpan | Exception) -> ReadableSpan:
    if isinstance(outcome, Exception):
        raise outcome
    return outcome


def _cancel_tasks_and_stop(loop: asyncio.AbstractEventLoop) -> None:
    """Cancel the evaluation loop's tasks and stop it once they have finished cancelling (no task is left
    pending for the garbage collector to complain about)."""
    tasks = asyncio.all_tasks(loop)
    if not tasks:
        loop.stop()
        return
    for task in tasks:
        task.cancel()
    asyncio.gather(*tasks, return_exceptions=True).add_done_callback(lambda _: loop.stop())


async def _awaited(awaitable: Any) -> Any:
    return await awaitable
