"""The engine: every record x run through the task and the evaluators, ``jobs`` at a time.

Async tasks and evaluators run on one event loop; sync ones on a thread pool of ``jobs`` threads (the cheap
reference checks run inline). Each record x run is one trace: a root span ``experiment {name}`` with the
task's LLM spans beneath it and one ``gen_ai.evaluation.result`` event per value. A task that fails is
recorded (type, message) and the run goes on, unless ``raise_errors``; a provider's 429 is retried with
backoff up to ``max_retries``. Finished record x runs go to the sink (the store's writer) one by one.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import email.utils
import functools
import inspect
import logging
import random
import signal
import sys
import threading
import time
from collections.abc import Awaitable, Callable, Coroutine, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, TypeVar

from llmotel import semconv as sc
from llmotel.errors import DatasetError, EvaluationError
from llmotel.experiments import tracing
from llmotel.experiments.dataset import Record
from llmotel.experiments.evaluators import Case, Evaluatorish, FunctionEvaluator
from llmotel.experiments.progress import Progress
from llmotel.experiments.values import MetricValue, kind_of
from llmotel.feedback import metric_listener

logger = logging.getLogger("llmotel.experiments")
T = TypeVar("T")

MAX_RETRY_WAIT = 60.0  # seconds: a longer retry-after is cut to this
_ERROR_MESSAGE_CHARS = 2000


@dataclass
class UnitResult:
    """One record x run, finished: what the store keeps."""

    record_id: str
    iteration: int
    position: int
    status: str  # ok | error
    output: Any = None
    error_type: str | None = None
    error_message: str | None = None
    latency_s: float | None = None
    attempts: int = 1
    input_tokens: int | None = None
    output_tokens: int | None = None
    llm_calls: int = 0
    trace_id: str | None = None
    span_id: str | None = None
    started_at: float = 0.0
    values: list[MetricValue] = field(default_factory=list)
    log: list[tuple[int, str, Any]] = field(default_factory=list)
    usage: Mapping[tuple[str, str], Sequence[int]] = field(default_factory=dict)
    """(provider, model) -> (input tokens, output tokens, calls) of the task's LLM calls"""


class Sink(Protocol):
    def put(self, unit: UnitResult, timeout: float | None = None) -> None: ...

    def full(self) -> bool: ...


class ListSink:
    """Keeps finished units in memory (single record debugging)."""

    def __init__(self) -> None:
        self.units: list[UnitResult] = []

    def put(self, unit: UnitResult, timeout: float | None = None) -> None:
        self.units.append(unit)

    def full(self) -> bool:
        return False


class TaskCaller:
    """Calls the task the way its signature asks: ``task(input_data, config)``, ``task(input_data)``, or with
    keywords taken from the record's columns through ``input_mapping`` (``{"parameter": "column"}``)."""

    def __init__(self, task: Callable[..., Any], input_mapping: Mapping[str, str] | None = None) -> None:
        if not callable(task):
            raise TypeError(f"the task must be callable, got {type(task).__name__}")
        self.task = task
        self.input_mapping = dict(input_mapping or {})
        self.is_async = inspect.iscoroutinefunction(task) or inspect.iscoroutinefunction(
            getattr(task, "__call__", None))  # noqa: B004
        try:
            parameters = inspect.signature(task).parameters
        except (TypeError, ValueError):
            parameters = {}  # type: ignore[assignment]
        kinds = [p.kind for p in parameters.values()]
        positional = [p for p in parameters.values()
                      if p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)]
        self.takes_config = "config" in parameters or inspect.Parameter.VAR_KEYWORD in kinds or (
            not self.input_mapping and (len(positional) >= 2 or inspect.Parameter.VAR_POSITIONAL in kinds))

    def check(self, records: Iterable[Record]) -> None:
        """Every record has the columns ``input_mapping`` names (a :class:`llmotel.DatasetError` otherwise)."""
        if not self.input_mapping:
            return
        for record in records:
            data = record.input_data
            missing = [c for c in self.input_mapping.values() if not isinstance(data, Mapping) or c not in data]
            if missing:
                raise DatasetError(f"record {record.id!r}: input_data has no {missing} for input_mapping "
                                   f"{self.input_mapping}")

    def __call__(self, record: Record, config: Mapping[str, Any]) -> Any:
        if self.input_mapping:
            kwargs = {parameter: record.input_data[column] for parameter, column in self.input_mapping.items()}
            if self.takes_config:
                kwargs["config"] = config
            return self.task(**kwargs)
        if self.takes_config:
            return self.task(record.input_data, config)
        return self.task(record.input_data)


def retry_delay(exc: BaseException, attempt: int) -> float | None:
    """Seconds to wait before retrying after ``exc`` when it is a provider's 429 (rate limit), else None."""
    response = getattr(exc, "response", None)
    status = getattr(exc, "status_code", None) or getattr(response, "status_code", None)
    if status != 429:
        return None
    headers = getattr(response, "headers", None) or {}
    raw = headers.get("retry-after") if hasattr(headers, "get") else None
    if raw:
        try:
            return min(max(float(raw), 0.0), MAX_RETRY_WAIT)
        except ValueError:
            when = email.utils.parsedate_to_datetime(raw) if raw else None
            if when is not None:
                return min(max(when.timestamp() - time.time(), 0.0), MAX_RETRY_WAIT)
    return min(0.5 * 2 ** (attempt - 1), 30.0) * (0.5 + random.random() / 2)


@dataclass
class EngineSettings:
    """What the engine needs to know about the experiment and this run."""

    experiment_name: str
    experiment_id: str
    run_id: str
    dataset_name: str | None
    dataset_version: str | None
    task: TaskCaller
    evaluators: Sequence[Evaluatorish]
    config: Mapping[str, Any]
    jobs: int = 10
    raise_errors: bool = False
    max_retries: int = 0
    context_fields: Sequence[str] = ()
    question_field: str | None = None


class Engine:
    """Runs units ``(position, record, iteration)``; ``interrupted`` / ``error`` say how it stopped."""

    def __init__(self, settings: EngineSettings, sink: Sink, run_log: tracing.RunLog,
                 progress: Progress | None = None) -> None:
        self.s = settings
        self.sink = sink
        self.run_log = run_log
        self.progress = progress
        self.collector = tracing.collector()
        self.keep_content = tracing.capture_content()
        self._cut = tracing.truncator()
        self.interrupted = False
        self.error: BaseException | None = None
        self._stop = False
        self._pool: concurrent.futures.ThreadPoolExecutor | None = None
        self._duplicate_warned: set[str] = set()
        self._inline = [e for e in settings.evaluators if isinstance(e, FunctionEvaluator) and _is_cheap(e)]
        self._threaded = [e for e in settings.evaluators if not e.is_async and e not in self._inline]
        self._async = [e for e in settings.evaluators if e.is_async]

    async def run(self, units: Iterable[tuple[int, Record, int]]) -> None:
        loop = asyncio.get_running_loop()
        self._pool = concurrent.futures.ThreadPoolExecutor(self.s.jobs, thread_name_prefix="llmotel-experiment")
        slots = asyncio.Semaphore(self.s.jobs)
        running: set[asyncio.Task[None]] = set()

        def finished(task: asyncio.Task[None]) -> None:
            running.discard(task)
            slots.release()

        try:
            for position, record, iteration in units:
                await slots.acquire()
                if self._stop:
                    slots.release()
                    break
                task = loop.create_task(self._unit(position, record, iteration))
                running.add(task)
                task.add_done_callback(finished)
            if running:
                await asyncio.gather(*running)
        except asyncio.CancelledError:  # Ctrl-C: keep what finished, drop what is in flight
            self.interrupted = True
            await _cancel(running)
        except BaseException:  # the store failed: stop the rest before reporting it
            await _cancel(running)
            raise
        finally:
            self._pool.shutdown(wait=False, cancel_futures=True)

    def _fail_fast(self, exc: BaseException) -> None:
        if self.s.raise_errors and self.error is None:
            self.error = exc
            self._stop = True

    async def _call(self, fn: Callable[..., T], *args: Any) -> T:
        """``fn(*args)`` on the pool, in the current context (the experiment's span and metric listener)."""
        loop = asyncio.get_running_loop()
        context = contextvars.copy_context()
        return await loop.run_in_executor(self._pool, functools.partial(context.run, fn, *args))

    def _case(self, record: Record, output: Any, calls: tracing.TraceCalls) -> Case:
        return Case(record, output, [*calls.calls], self.s.context_fields, self.s.question_field)

    def _attempt_sync(self, record: Record, calls: tracing.TraceCalls
                      ) -> tuple[Any, BaseException | None, float, list[MetricValue] | None]:
        """One call of a sync task and, when it succeeds, the sync evaluators: on one pool thread, one hop."""
        started = time.perf_counter()
        try:
            output = self.s.task(record, self.s.config)
        except Exception as exc:
            return None, exc, time.perf_counter() - started, None
        latency = time.perf_counter() - started
        if inspect.isawaitable(output):  # a sync callable that returned a coroutine: the loop awaits it
            return output, None, latency, None
        return output, None, latency, self._sync_values(self._case(record, output, calls))

    async def _run_task(self, record: Record, calls: tracing.TraceCalls
                        ) -> tuple[Any, BaseException | None, int, float, list[MetricValue] | None]:
        """The task with retries after a provider's 429; sync evaluators' values when they ran with it."""
        attempt = 0
        while True:
            attempt += 1
            values = None
            started = time.perf_counter()
            try:
                if self.s.task.is_async:
                    output, error = await self.s.task(record, self.s.config), None
                else:
                    output, error, latency, values = await self._call(self._attempt_sync, record, calls)
                    if inspect.isawaitable(output):
                        output = await output
                        values = None
            except Exception as exc:
                output, error = None, exc
            if error is None:
                return output, None, attempt, time.perf_counter() - started if values is None else latency, values
            delay = retry_delay(error, attempt) if attempt <= self.s.max_retries else None
            if delay is None:
                return None, error, attempt, time.perf_counter() - started, None
            logger.info("llmotel: record %s hit a rate limit; retrying in %.1f s", record.id, delay)
            await asyncio.sleep(delay)

    async def _evaluate(self, case: Case, sync_values: list[MetricValue] | None) -> list[MetricValue]:
        """Every evaluator's values; the sync ones' are ``sync_values`` when they already ran with the task."""
        values = sync_values if sync_values is not None else []
        pending: list[Awaitable[list[MetricValue]]] = [self._guarded_async(e, case) for e in self._async]
        if sync_values is None and (self._inline or self._threaded):
            values += [v for e in self._inline for v in self._guarded(e, case)]
            if self._threaded:
                pending.append(self._call(self._sync_values, case, False))
        for group in await asyncio.gather(*pending):
            values += group
        return values

    def _sync_values(self, case: Case, inline: bool = True) -> list[MetricValue]:
        evaluators = [*self._inline, *self._threaded] if inline else self._threaded
        return [v for e in evaluators for v in self._guarded(e, case)]

    def _guarded(self, evaluator: Evaluatorish, case: Case) -> list[MetricValue]:
        try:
            return evaluator.evaluate(case)  # type: ignore[return-value]
        except Exception as exc:
            self._fail_fast(exc)
            return [MetricValue.failed(evaluator.name, exc)]

    async def _guarded_async(self, evaluator: Evaluatorish, case: Case) -> list[MetricValue]:
        try:
            return await evaluator.evaluate(case)  # type: ignore[misc]
        except Exception as exc:
            self._fail_fast(exc)
            return [MetricValue.failed(evaluator.name, exc)]

    async def _unit(self, position: int, record: Record, iteration: int) -> None:
        s = self.s
        started_at = time.time()
        span = tracing.start_root(s.experiment_name, {
            sc.LLMOTEL_EXPERIMENT_ID: s.experiment_id, sc.LLMOTEL_EXPERIMENT_NAME: s.experiment_name,
            sc.LLMOTEL_EXPERIMENT_RUN_ID: s.run_id, sc.LLMOTEL_EXPERIMENT_ITERATION: iteration,
            sc.LLMOTEL_DATASET_NAME: s.dataset_name or "", sc.LLMOTEL_DATASET_VERSION: s.dataset_version or "",
            sc.LLMOTEL_DATASET_RECORD_ID: record.id,
        })
        trace_id, trace_hex, span_hex = tracing.trace_ids(span)
        calls = self.collector.watch(trace_id)
        metrics: dict[str, int | float] = {}
        values: list[MetricValue] = []
        error: BaseException | None = None
        output: Any = None
        attempts, latency = 0, None
        try:
            with tracing.current(span):
                listening = metric_listener.set(functools.partial(log_metric, metrics))
                try:
                    output, error, attempts, latency, sync_values = await self._run_task(record, calls)
                    if error is None:
                        values = await self._evaluate(self._case(record, output, calls), sync_values)
                finally:
                    metric_listener.reset(listening)
        except asyncio.CancelledError:
            span.set_attribute(sc.ERROR_TYPE, "interrupted")
            span.end()
            raise
        finally:
            self.collector.release(trace_id)
        values = self._named(values + [MetricValue(name, value, kind_of(value)) for name, value in metrics.items()])
        unit = UnitResult(
            record.id, iteration, position, "ok" if error is None else "error", output=output,
            error_type=None if error is None else type(error).__qualname__,
            error_message=None if error is None else str(error)[:_ERROR_MESSAGE_CHARS],
            latency_s=latency, attempts=attempts, input_tokens=calls.input_tokens, output_tokens=calls.output_tokens,
            llm_calls=calls.count, trace_id=trace_hex, span_id=span_hex, started_at=started_at, values=values,
            log=self.run_log.new_entries(calls.calls), usage=calls.usage,
        )
        finish_span(span, unit, record.input_data, error, self.keep_content, self._cut)
        if error is not None:
            self._fail_fast(error)
        if self.sink.full():
            await asyncio.get_running_loop().run_in_executor(None, self.sink.put, unit)
        else:
            self.sink.put(unit)
        if self.progress is not None:
            self.progress.update(error is None)

    def _named(self, values: list[MetricValue]) -> list[MetricValue]:
        """One value per name (the first); a second one is dropped with a warning (once per name)."""
        seen: set[str] = set()
        out = []
        for value in values:
            if value.name in seen:
                if value.name not in self._duplicate_warned:
                    self._duplicate_warned.add(value.name)
                    logger.warning("llmotel: two values named %r in one record x run; keeping the first", value.name)
                continue
            seen.add(value.name)
            out.append(value)
        return out

async def _cancel(tasks: set[asyncio.Task[None]]) -> None:
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)


def finish_span(span: Any, unit: UnitResult, input_data: Any, error: BaseException | None, keep_content: bool,
                cut: Any = None) -> None:
    """Usage, input/output (with content capture on), error and one evaluation event per value; then end it."""
    span.set_attribute(sc.LLMOTEL_EXPERIMENT_ATTEMPTS, unit.attempts)
    span.set_attribute(sc.LLMOTEL_EXPERIMENT_INPUT_TOKENS, unit.input_tokens or 0)
    span.set_attribute(sc.LLMOTEL_EXPERIMENT_OUTPUT_TOKENS, unit.output_tokens or 0)
    if keep_content and span.is_recording():
        if input_data is not None:
            span.set_attribute(sc.LLMOTEL_SPAN_INPUT, tracing.content_text(input_data, cut))
        if error is None and unit.output is not None:
            span.set_attribute(sc.LLMOTEL_SPAN_OUTPUT, tracing.content_text(unit.output, cut))
    if error is not None:
        tracing.fail(span, error)
    for value in unit.values:
        keep = keep_content or value.reasoning_is_safe
        span.add_event(sc.GEN_AI_EVALUATION_RESULT_EVENT, tracing.evaluation_event(value, keep))
    span.end()


def _is_cheap(evaluator: FunctionEvaluator) -> bool:
    from llmotel.experiments import checks

    fn = evaluator.fn
    return fn in (checks.exact_match, checks.normalized_match, checks.json_valid) or isinstance(
        fn, (checks.contains, checks.regex_match, checks.json_schema, checks.numeric_close))


def log_metric(metrics: dict[str, int | float], name: str, value: int | float) -> None:
    if name in metrics:
        raise EvaluationError(f"@metric {name!r} was computed twice in one run; a run keeps one value per metric")
    metrics[name] = value


def run_sync(make: Callable[[], Coroutine[Any, Any, T]], on_interrupt: Callable[[], None]) -> T:
    """Run a coroutine to completion from synchronous code, with Ctrl-C cancelling it cleanly.

    On the main thread the first SIGINT calls ``on_interrupt`` and cancels the coroutine (which keeps what
    finished); a second one interrupts as usual. With an event loop already running in this thread (a
    notebook), the coroutine runs on a new loop in a helper thread.
    """
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return _run_here(make, on_interrupt)
    return _run_in_thread(make, on_interrupt)


def _run_here(make: Callable[[], Coroutine[Any, Any, T]], on_interrupt: Callable[[], None]) -> T:
    loop = asyncio.new_event_loop()
    try:
        main = loop.create_task(make())
        handled = threading.current_thread() is threading.main_thread() and sys.platform != "win32"
        if handled:
            def interrupt() -> None:
                on_interrupt()
                main.cancel()
                loop.remove_signal_handler(signal.SIGINT)  # a second Ctrl-C stops at once

            try:
                loop.add_signal_handler(signal.SIGINT, interrupt)
            except (ValueError, RuntimeError, NotImplementedError):
                handled = False
        try:
            return loop.run_until_complete(main)
        finally:
            if handled:
                loop.remove_signal_handler(signal.SIGINT)
    finally:
        loop.run_until_complete(loop.shutdown_asyncgens())
        loop.close()
        asyncio.set_event_loop(None)


def _run_in_thread(make: Callable[[], Coroutine[Any, Any, T]], on_interrupt: Callable[[], None]) -> T:
    loop = asyncio.new_event_loop()
    outcome: dict[str, Any] = {}
    main: dict[str, asyncio.Task[T]] = {}

    def work() -> None:
        asyncio.set_event_loop(loop)
        try:
            main["task"] = loop.create_task(make())
            outcome["value"] = loop.run_until_complete(main["task"])
        except BaseException as exc:
            outcome["error"] = exc
        finally:
            loop.close()

    thread = threading.Thread(target=work, name="llmotel-experiment-loop", daemon=True)
    thread.start()
    try:
        while thread.is_alive():
            thread.join(0.1)
    except KeyboardInterrupt:
        on_interrupt()
        if "task" in main:
            loop.call_soon_threadsafe(main["task"].cancel)
        thread.join()
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]
