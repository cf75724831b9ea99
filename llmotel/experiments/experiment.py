"""``Experiment``: a named collection of runs.

A run happens either through :meth:`Experiment.run` (a task over a dataset, scored by evaluators, ``runs``
times per record) or as a ``with llmotel.Experiment("name") as exp:`` block around plain code (each block, and
each call of :meth:`Experiment.repeat`, is one run that logs the ``@llmotel.metric`` values computed inside and
the prompts, models and conversation of the LLM calls made inside).
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextvars
import dataclasses
import functools
import inspect
import json
import logging
import random
import threading
import time
import uuid
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmotel import semconv as sc
from llmotel.annotations import normalize_tags
from llmotel.errors import ConfigurationError, DatasetError, ExperimentError
from llmotel.experiments import evaluators as evaluator_kinds
from llmotel.experiments import runmeta, tracing
from llmotel.experiments.aggregation import DEFAULT_VARIANCE_THRESHOLD, aggregate_record
from llmotel.experiments.dataset import Dataset, Record
from llmotel.experiments.finalize import finalize
from llmotel.experiments.objectives import Objective
from llmotel.experiments.progress import Progress
from llmotel.experiments.results import ExperimentResult, RecordResult
from llmotel.experiments.runner import (
    Engine,
    EngineSettings,
    ListSink,
    TaskCaller,
    UnitResult,
    finish_span,
    log_metric,
    run_sync,
)
from llmotel.experiments.store import Store
from llmotel.experiments.store.writer import ResultWriter
from llmotel.experiments.values import MetricValue, kind_of
from llmotel.feedback import metric_listener

logger = logging.getLogger("llmotel.experiments")
BLOCK_RECORD = ""  # the record id of a block run's single result


class ExperimentInterrupted(KeyboardInterrupt):
    """Ctrl-C stopped a run; finished records are stored and the run is marked ``interrupted``.

    ``run_id`` names it for ``Experiment.resume(run_id)`` / ``llmotel experiment resume RUN``.
    """

    def __init__(self, run_id: str, done: int, total: int) -> None:
        super().__init__(f"experiment run {run_id} interrupted after {done} of {total} record runs; "
                         f"resume with: llmotel experiment resume {run_id}")
        self.run_id = run_id


def _positive(setting: str, value: Any) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < 1:
        raise ConfigurationError(setting, value, "an integer >= 1")
    return value


def _json_mapping(setting: str, value: Mapping[str, Any] | None) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, Mapping):
        raise ConfigurationError(setting, value, "a dict")
    try:
        json.dumps(value, allow_nan=False)
    except (TypeError, ValueError) as exc:
        raise ConfigurationError(setting, value, f"a JSON-serialisable dict ({exc})") from None
    return dict(value)


@dataclass
class _Plan:
    """One run's work: which records, how many iterations, what is already done."""

    run_id: str
    experiment_id: str
    selection: list[tuple[int, Record]]
    iterations: int
    config: dict[str, Any]
    jobs: int
    raise_errors: bool
    max_retries: int
    progress: bool | None
    done: set[tuple[str, int]] = field(default_factory=set)

    def units(self) -> Iterator[tuple[int, Record, int]]:
        for iteration in range(self.iterations):
            for position, record in self.selection:
                if (record.id, iteration) not in self.done:
                    yield position, record, iteration

    @property
    def todo(self) -> int:
        return len(self.selection) * self.iterations - len(self.done)


class Experiment:
    """A named collection of runs of a task over a dataset, or of plain code in a ``with`` block.

    ``task(input_data, config)`` (or ``task(input_data)``, sync or async; with ``input_mapping``
    ``{"parameter": "column"}`` it gets keyword arguments from the record's columns) produces an output per
    record; ``evaluators`` score it (functions ``f(input_data, output_data, expected_output)``, built-in names,
    :class:`llmotel.evaluation.Evaluator` objects); ``summary_evaluators``
    ``f(inputs, outputs, expected_outputs, evaluators_results)`` score a whole run; ``runs`` repeats every
    record; ``objectives`` decide whether a run passes. Results go to the store (``store=``, ``LLMOTEL_STORE``
    or ``.llmotel/llmotel.db``).
    """

    def __init__(
        self,
        name: str,
        task: Callable[..., Any] | None = None,
        dataset: Dataset | None = None,
        evaluators: Sequence[Any] = (),
        *,
        summary_evaluators: Sequence[Callable[..., Any]] | None = None,
        config: Mapping[str, Any] | None = None,
        runs: int = 1,
        objectives: Sequence[Objective] | None = None,
        description: str | None = None,
        tags: Mapping[str, str] | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
        store: Store | str | None = None,
        input_mapping: Mapping[str, str] | None = None,
        judge: Any = None,
        variance_threshold: float = DEFAULT_VARIANCE_THRESHOLD,
        jobs: int = 10,
    ) -> None:
        if not isinstance(name, str) or not name.strip():
            raise ConfigurationError("Experiment(name)", name, "a non-empty string")
        if dataset is not None and not isinstance(dataset, Dataset):
            raise ConfigurationError("dataset", dataset, "an llmotel.Dataset")
        self.name = name
        self.dataset = dataset
        self.task = task
        self._task = TaskCaller(task, input_mapping) if task is not None else None
        self.evaluators = list(evaluators)
        self.summary_evaluators = [(evaluator_kinds.summary_name(f), f) for f in summary_evaluators or ()]
        self.config = _json_mapping("config", config)
        self.runs = _positive("runs", runs)
        self.jobs = _positive("jobs", jobs)
        self.objectives = list(objectives or ())
        if not all(isinstance(o, Objective) for o in self.objectives):
            raise ConfigurationError("objectives", objectives, "a list of llmotel.Objective")
        self.description = description
        self.tags = normalize_tags(tags)
        self.metadata = _json_mapping("metadata", metadata)
        self.judge = judge
        self.variance_threshold = float(variance_threshold)
        self._store_location = store
        self._store: Store | None = store if isinstance(store, Store) else None
        self._store_lock = threading.Lock()  # runs of repeat(jobs=N) ask for the store at once
        self._built: list[Any] | None = None
        self._active: contextvars.ContextVar[_Block | None] = contextvars.ContextVar(f"experiment {name}",
                                                                                     default=None)
        self.last_result: ExperimentResult | None = None
        self.source: str | None = None  # FILE.py:NAME when loaded by the CLI (kept for resume)

    def __repr__(self) -> str:
        return f"Experiment({self.name!r})"

    @property
    def store(self) -> Store:
        store = self._store
        if store is None:
            with self._store_lock:
                if self._store is None:
                    self._store = Store(self._store_location)  # type: ignore[arg-type]
                store = self._store
        return store

    def use_store(self, store: Store | str | None) -> None:
        """Store this experiment's runs in ``store`` (a :class:`Store`, a path or a URL) from now on."""
        self._store_location = store
        self._store = store if isinstance(store, Store) else None

    def _evaluators(self) -> list[Any]:
        if self._built is None:
            from llmotel import _setup

            settings = _setup.effective_settings()
            if self.judge is not None:
                settings = dataclasses.replace(settings, judge=self.judge)
            self._built = evaluator_kinds.build(self.evaluators, settings)
        return self._built

    def _system_metadata(self, extra: Mapping[str, Any] | None, system: Mapping[str, Any] | None = None
                         ) -> dict[str, Any]:
        return {**(system or runmeta.capture()), "user": {**self.metadata, **_json_mapping("metadata", extra)},
                "tags": self.tags, "description": self.description, "source": self.source}

    # --- runs over a dataset ------------------------------------------------------------------------------------

    def run(
        self,
        jobs: int | None = None,
        runs: int | None = None,
        raise_errors: bool = False,
        sample_size: int | None = None,
        record_ids: Sequence[str] | None = None,
        max_retries: int = 0,
        *,
        metadata: Mapping[str, Any] | None = None,
        progress: bool | None = None,
        seed: int | None = None,
    ) -> ExperimentResult:
        """Run the task over the dataset and score it; returns the stored :class:`ExperimentResult`.

        ``jobs`` bounds records in flight (default 10: lower it when rate-limited); ``runs`` overrides the
        experiment's; ``sample_size`` picks that many records at random (``seed``), ``record_ids`` these ones;
        ``max_retries`` retries a provider's 429 with backoff; ``raise_errors`` stops at the first task or
        evaluator error and raises it. Ctrl-C keeps what finished, marks the run ``interrupted`` and raises
        :class:`ExperimentInterrupted`; :meth:`resume` finishes it.
        """
        plan = self._new_plan(jobs, runs, raise_errors, sample_size, record_ids, max_retries, metadata, progress,
                              seed)
        return self._execute(plan)

    async def arun(self, *args: Any, **kwargs: Any) -> ExperimentResult:
        """:meth:`run` from async code (the run itself goes on a helper thread with its own event loop)."""
        return await asyncio.get_running_loop().run_in_executor(None, functools.partial(self.run, *args, **kwargs))

    def resume(self, run_id: str, jobs: int | None = None, raise_errors: bool = False, max_retries: int = 0, *,
               progress: bool | None = None) -> ExperimentResult:
        """Finish an interrupted (or crashed) run: only the record x runs it has no result for are run."""
        dataset, _ = self._need_task()
        row = self.store.run(run_id)
        if row["experiment_name"] != self.name:
            raise ExperimentError(
                f"run {row['id']} belongs to experiment {row['experiment_name']!r}, not {self.name!r}")
        if row["dataset_version"] != dataset.version:
            raise ExperimentError(f"run {row['id']} ran on dataset version {row['dataset_version']}; the dataset is "
                                  f"now version {dataset.version}: start a new run")
        try:
            selection = [(p, dataset.get(r)) for p, r in self.store.run_record_ids(row["id"])]
        except DatasetError as exc:
            raise ExperimentError(f"run {row['id']}: {exc}") from None
        plan = _Plan(row["id"], row["experiment_id"], selection, int(row["iterations"]), dict(row["config"] or {}),
                     _positive("jobs", jobs or self.jobs), raise_errors, max_retries, progress,
                     self.store.finished_units(row["id"]))
        self.store.update_run(row["id"], status="running", finished_at=None, error=None)
        return self._execute(plan)

    def _need_task(self) -> tuple[Dataset, TaskCaller]:
        if self._task is None or self.dataset is None:
            raise ExperimentError(f"experiment {self.name!r} needs a task and a dataset to run over "
                                  "(llmotel.experiment(name, task, dataset, ...))")
        return self.dataset, self._task

    def _select(self, dataset: Dataset, sample_size: int | None, record_ids: Sequence[str] | None,
                seed: int | None) -> list[tuple[int, Record]]:
        if record_ids is not None:
            if isinstance(record_ids, str):
                record_ids = [record_ids]
            positions = sorted({dataset.position(r) for r in record_ids})
        else:
            positions = list(range(len(dataset)))
        if sample_size is not None:
            _positive("sample_size", sample_size)
            positions = sorted(random.Random(seed).sample(positions, min(sample_size, len(positions))))
        if not positions:
            raise DatasetError(f"dataset {dataset.name!r} has no records to run")
        return [(p, dataset.records[p]) for p in positions]

    def _new_plan(self, jobs: int | None, runs: int | None, raise_errors: bool, sample_size: int | None,
                  record_ids: Sequence[str] | None, max_retries: int, metadata: Mapping[str, Any] | None,
                  progress: bool | None, seed: int | None) -> _Plan:
        dataset, task = self._need_task()
        iterations = _positive("runs", runs if runs is not None else self.runs)
        jobs = _positive("jobs", jobs if jobs is not None else self.jobs)
        if isinstance(max_retries, bool) or not isinstance(max_retries, int) or max_retries < 0:
            raise ConfigurationError("max_retries", max_retries, "an integer >= 0")
        selection = self._select(dataset, sample_size, record_ids, seed)
        task.check(r for _, r in selection)  # before any task runs
        tracing.ensure_enabled()
        self._evaluators()
        store = self.store
        experiment_id = store.experiment_id(self.name, self.description, self.tags)
        store.save_dataset_records(dataset.version, enumerate(dataset.records))
        run_id = str(uuid.uuid4())
        store.create_run(self._run_row(run_id, experiment_id, "dataset", iterations, len(selection), metadata,
                                       dataset), [(p, r.id) for p, r in selection])
        return _Plan(run_id, experiment_id, selection, iterations, self.config, jobs, raise_errors, max_retries,
                     progress)

    def _run_row(self, run_id: str, experiment_id: str, kind: str, iterations: int, records: int,
                 metadata: Mapping[str, Any] | None, dataset: Dataset | None,
                 system: Mapping[str, Any] | None = None) -> dict[str, Any]:
        return {
            "id": run_id, "experiment_name": self.name, "experiment_id": experiment_id, "kind": kind,
            "status": "running", "dataset_name": dataset.name if dataset else None,
            "dataset_version": dataset.version if dataset else None, "iterations": iterations,
            "records_total": records, "results_done": 0, "results_failed": 0, "input_tokens": 0,
            "output_tokens": 0, "config": self.config, "run_metadata": self._system_metadata(metadata, system),
            "objectives": [o.to_dict() for o in self.objectives], "started_at": time.time(),
        }

    def _settings(self, plan: _Plan) -> EngineSettings:
        dataset, task = self._need_task()
        return EngineSettings(
            self.name, plan.experiment_id, plan.run_id, dataset.name, dataset.version, task, self._evaluators(),
            plan.config, plan.jobs, plan.raise_errors, plan.max_retries, dataset.context_fields,
            dataset.question_field,
        )

    def _execute(self, plan: _Plan) -> ExperimentResult:
        store = self.store
        tracing.ensure_enabled()
        writer = ResultWriter(store, plan.run_id)
        progress = Progress(f"{self.name}", plan.todo, plan.progress)
        engine = Engine(self._settings(plan), writer, tracing.RunLog(store.log(plan.run_id)), progress)
        failure: BaseException | None = None
        try:
            run_sync(lambda: engine.run(plan.units()), on_interrupt=lambda: None)
        except KeyboardInterrupt:  # a second Ctrl-C, or one outside the event loop
            engine.interrupted = True
        except BaseException as exc:
            failure = exc
        finally:
            progress.close()
            try:
                writer.close()
            except Exception as exc:
                failure = failure or exc
        failure = failure or engine.error  # engine.error: the first task/evaluator error, with raise_errors
        status = "failed" if failure is not None else "interrupted" if engine.interrupted else "completed"
        summary = finalize(store, plan.run_id, plan.iterations, self.objectives, self.summary_evaluators,
                           {r.id: r for _, r in plan.selection}, self.variance_threshold, self.name)
        store.update_run(
            plan.run_id, status=status, finished_at=time.time(), summary=summary.details,
            objective_results=[o.to_dict() for o in summary.objectives],
            passed=status == "completed" and summary.passed,
            error=None if failure is None else f"{type(failure).__qualname__}: {failure}",
        )
        result = self.last_result = ExperimentResult(store, plan.run_id)
        if failure is not None:
            raise failure
        if engine.interrupted:
            raise ExperimentInterrupted(plan.run_id, int(result.run["results_done"]),
                                        len(plan.selection) * plan.iterations)
        return result

    def run_record(self, record_id: str, iteration: int = 0) -> RecordResult:
        """Run one record once, for debugging: nothing is stored, and a task or evaluator error is raised."""
        dataset, _ = self._need_task()
        record = dataset.get(record_id)
        tracing.ensure_enabled()
        sink = ListSink()
        plan = _Plan("debug", "debug", [(dataset.position(record_id), record)], 1, self.config, 1, True, 0, False)
        engine = Engine(self._settings(plan), sink, tracing.RunLog())
        run_sync(lambda: engine.run([(plan.selection[0][0], record, iteration)]), on_interrupt=lambda: None)
        if engine.error is not None:
            raise engine.error
        unit = sink.units[0]
        values = {v.name: [v.value] for v in unit.values}
        values.update(latency_s=[unit.latency_s], input_tokens=[unit.input_tokens],
                      output_tokens=[unit.output_tokens])
        aggregates = {n: a.to_dict() for n, vs in values.items() if (a := aggregate_record(vs)) is not None}
        return RecordResult(
            record.id, plan.selection[0][0], record.input_data, record.expected_output, dict(record.metadata),
            outputs=[unit.output], errors=[None], values=values,
            details={v.name: [{"kind": v.kind, "label": v.label, "reasoning": v.reasoning,
                               "assessment": v.assessment}] for v in unit.values},
            aggregates=aggregates,
            objectives={o.metric: o.record_passed(values.get(o.metric, [None]), aggregate_record(
                values.get(o.metric, [None]))) for o in self.objectives if o.metric in values},
            trace_ids=[unit.trace_id],
        )

    # --- runs around plain code ---------------------------------------------------------------------------------

    def __enter__(self) -> Experiment:
        if self._active.get() is not None:
            raise ExperimentError(f"experiment {self.name!r} is already running a block in this context")
        block = _Block(self)
        block.start()
        self._active.set(block)
        return self

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: Any) -> None:
        block = self._active.get()
        if block is None:
            return
        self._active.set(None)
        self.last_result = block.finish(exc)

    @property
    def run_id(self) -> str | None:
        """The run in progress in this context (a ``with`` block), else the last finished run."""
        block = self._active.get()
        if block is not None:
            return block.run_id
        return self.last_result.run_id if self.last_result is not None else None

    @property
    def metrics(self) -> dict[str, int | float]:
        """The ``@llmotel.metric`` values of the block in progress, else of the last finished run."""
        block = self._active.get()
        if block is not None:
            return dict(block.metrics)
        return dict(self.last_result.metrics) if self.last_result is not None else {}

    def log_metric(self, name: str, value: Any) -> None:
        """Log a value to the block in progress, like an ``@llmotel.metric`` function named ``name`` would."""
        from llmotel.feedback import metric_value

        block = self._active.get()
        if block is None:
            raise ExperimentError(f"log_metric({name!r}) needs a run in progress: use it inside `with experiment:`")
        log_metric(block.metrics, name, metric_value(value, name))

    def repeat(self, fn: Callable[..., Any], times: int = 10, jobs: int = 1, *, args: Sequence[Any] = (),
               kwargs: Mapping[str, Any] | None = None) -> list[ExperimentResult]:
        """Call ``fn(*args, **kwargs)`` ``times`` times, each call its own run (``jobs`` at a time; ``fn`` may be
        async). The return value is stored as the run's output. Returns the runs in call order."""
        _positive("times", times)
        _positive("jobs", jobs)
        system = runmeta.capture()
        kwargs = dict(kwargs or {})
        if inspect.iscoroutinefunction(fn):
            async def all_runs() -> list[ExperimentResult]:
                slots = asyncio.Semaphore(jobs)

                async def one(i: int) -> ExperimentResult:
                    async with slots:
                        block = _Block(self, i, system)
                        block.start()
                        try:
                            output = await fn(*args, **kwargs)
                        except BaseException as exc:
                            block.finish(exc)
                            raise
                        return block.finish(None, output)

                return list(await asyncio.gather(*(one(i) for i in range(times))))

            results = run_sync(all_runs, on_interrupt=lambda: None)
        else:
            def one(i: int) -> ExperimentResult:
                block = _Block(self, i, system)
                block.start()
                try:
                    output = fn(*args, **kwargs)
                except BaseException as exc:
                    block.finish(exc)
                    raise
                return block.finish(None, output)

            with concurrent.futures.ThreadPoolExecutor(jobs, thread_name_prefix="llmotel-repeat") as pool:
                futures = [pool.submit(contextvars.copy_context().run, one, i) for i in range(times)]
                results = [f.result() for f in futures]
        if results:
            self.last_result = results[-1]
        return results


class _Block:
    """One run around plain code: a root span made current, the metric listener set, the LLM calls collected."""

    def __init__(self, experiment: Experiment, index: int = 0, system: Mapping[str, Any] | None = None) -> None:
        self.experiment = experiment
        self.index = index
        self.system = system
        self.run_id = str(uuid.uuid4())
        self.metrics: dict[str, int | float] = {}

    def start(self) -> None:
        e = self.experiment
        tracing.ensure_enabled()
        self.store = e.store
        self.experiment_id = e.store.experiment_id(e.name, e.description, e.tags)
        self.store.create_run(e._run_row(self.run_id, self.experiment_id, "block", 1, 1, None, None, self.system),
                              [(0, BLOCK_RECORD)])
        self.started_at, self.started = time.time(), time.perf_counter()
        self.span = tracing.start_root(e.name, {
            sc.LLMOTEL_EXPERIMENT_ID: self.experiment_id, sc.LLMOTEL_EXPERIMENT_NAME: e.name,
            sc.LLMOTEL_EXPERIMENT_RUN_ID: self.run_id, sc.LLMOTEL_EXPERIMENT_ITERATION: self.index,
        })
        self.trace_id, self.trace_hex, self.span_hex = tracing.trace_ids(self.span)
        self.collector = tracing.collector()
        self.calls = self.collector.watch(self.trace_id)
        self._context = tracing.current(self.span)
        self._context.__enter__()
        self._listening = metric_listener.set(functools.partial(log_metric, self.metrics))

    def finish(self, exc: BaseException | None, output: Any = None) -> ExperimentResult:
        metric_listener.reset(self._listening)
        self._context.__exit__(None, None, None)
        self.collector.release(self.trace_id)
        latency = time.perf_counter() - self.started
        values = [MetricValue(n, v, kind_of(v)) for n, v in self.metrics.items()]
        unit = UnitResult(
            BLOCK_RECORD, 0, 0, "ok" if exc is None else "error", output=output,
            error_type=None if exc is None else type(exc).__qualname__,
            error_message=None if exc is None else str(exc)[:2000], latency_s=latency,
            input_tokens=self.calls.input_tokens, output_tokens=self.calls.output_tokens, llm_calls=self.calls.count,
            trace_id=self.trace_hex, span_id=self.span_hex, started_at=self.started_at, values=values,
            log=tracing.RunLog().new_entries(self.calls.calls, conversation=True), usage=self.calls.usage,
        )
        finish_span(self.span, unit, None, exc, tracing.capture_content())
        self.store.write_units(self.run_id, [unit])
        e = self.experiment
        summary = finalize(self.store, self.run_id, 1, e.objectives, experiment_name=e.name,
                           variance_threshold=e.variance_threshold)
        status = "completed" if exc is None else "interrupted" if isinstance(exc, KeyboardInterrupt) else "failed"
        self.store.update_run(
            self.run_id, status=status, finished_at=time.time(), summary=summary.details,
            objective_results=[o.to_dict() for o in summary.objectives],
            passed=status == "completed" and summary.passed,
            error=None if exc is None else f"{type(exc).__qualname__}: {exc}",
        )
        return ExperimentResult(self.store, self.run_id)


def experiment(
    name: str,
    task: Callable[..., Any],
    dataset: Dataset,
    evaluators: Sequence[Any] = (),
    summary_evaluators: Sequence[Callable[..., Any]] | None = None,
    config: Mapping[str, Any] | None = None,
    runs: int = 1,
    objectives: Sequence[Objective] | None = None,
    **options: Any,
) -> Experiment:
    """An :class:`Experiment` of ``task`` over ``dataset`` (Datadog's ``LLMObs.experiment`` signature); call
    ``.run()`` on it. ``options``: ``description``, ``tags``, ``metadata``, ``store``, ``input_mapping``,
    ``judge``, ``variance_threshold``, ``jobs``."""
    if task is None or not callable(task):
        raise ConfigurationError("task", task, "a function task(input_data, config)")
    if not isinstance(dataset, Dataset):
        raise ConfigurationError("dataset", dataset, "an llmotel.Dataset")
    return Experiment(name, task, dataset, evaluators, summary_evaluators=summary_evaluators, config=config,
                      runs=runs, objectives=objectives, **options)
