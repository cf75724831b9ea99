"""``ExperimentResult`` and ``RecordResult``: a finished run as read back from the store."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from llmotel.experiments.finalize import MEASURES
from llmotel.experiments.objectives import ObjectiveResult
from llmotel.experiments.store import Store

_SLICE = 500


@dataclass
class RecordResult:
    """One record of a run: its input, the output and values of each run, their aggregates and objectives."""

    record_id: str
    position: int
    input_data: Any = None
    expected_output: Any = None
    metadata: Mapping[str, Any] = field(default_factory=dict)
    outputs: list[Any] = field(default_factory=list)
    errors: list[dict[str, Any] | None] = field(default_factory=list)
    values: dict[str, list[Any]] = field(default_factory=dict)
    """metric name -> its value in each run (None where missing)"""
    details: dict[str, list[dict[str, Any] | None]] = field(default_factory=dict)
    """metric name -> reasoning, assessment, label, tags, metadata and error of each run"""
    aggregates: dict[str, dict[str, Any]] = field(default_factory=dict)
    """metric name -> ``{"kind", "value", "n", "std", "high_variance", "passed_all", "passed_any"}``"""
    objectives: dict[str, bool] = field(default_factory=dict)
    trace_ids: list[str | None] = field(default_factory=list)

    @property
    def output(self) -> Any:
        """The first run's output."""
        return self.outputs[0] if self.outputs else None

    @property
    def passed(self) -> bool | None:
        """Whether every objective passed on this record (None without objectives)."""
        return all(self.objectives.values()) if self.objectives else None

    @property
    def aggregated(self) -> dict[str, Any]:
        """metric name -> aggregated value (mean, or mode)."""
        return {name: a.get("value") for name, a in self.aggregates.items()}


class ExperimentResult:
    """A run as stored: ``run_id``, ``status``, ``summary`` (metric -> aggregated value), ``objectives``,
    ``passed``, and ``records`` (loaded from the store on first use; ``iter_records()`` streams them)."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run = store.run(run_id)
        self.run_id: str = self.run["id"]

    def __repr__(self) -> str:
        return (f"ExperimentResult({self.experiment_name!r}, run_id={self.run_id!r}, status={self.status!r}, "
                f"passed={self.passed}, summary={self.summary})")

    @property
    def experiment_name(self) -> str:
        return str(self.run["experiment_name"])

    @property
    def status(self) -> str:
        return str(self.run["status"])

    @property
    def passed(self) -> bool:
        """Completed, and every objective holds."""
        return bool(self.run["passed"])

    @property
    def summary_details(self) -> dict[str, dict[str, Any]]:
        return dict(self.run["summary"] or {})

    @property
    def summary(self) -> dict[str, Any]:
        """metric -> aggregated value: the mean of record means (numbers, booleans) or the mode of record modes."""
        return {name: detail.get("value") for name, detail in self.summary_details.items()}

    @property
    def objectives(self) -> list[ObjectiveResult]:
        return [ObjectiveResult.from_dict(o) for o in self.run["objective_results"] or []]

    @property
    def metadata(self) -> dict[str, Any]:
        return dict(self.run["run_metadata"] or {})

    @property
    def errors(self) -> int:
        return int(self.run["results_failed"])

    @property
    def metrics(self) -> dict[str, Any]:
        """The values of a block run (``with Experiment(...)``): metric -> value."""
        return {n: v for n, v in self.summary.items() if n not in MEASURES}

    def log(self, kinds: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
        """The run log: ``{"seq", "kind": "prompt"|"model"|"call", "entry"}`` in order."""
        return [{"seq": e["seq"], "kind": e["kind"], "entry": e["entry"]} for e in self.store.log(self.run_id, kinds)]

    @cached_property
    def records(self) -> list[RecordResult]:
        return list(self.iter_records())

    def iter_records(self) -> Iterator[RecordResult]:
        """The run's records in dataset order, read from the store a slice at a time."""
        selection = self.store.run_record_ids(self.run_id)
        iterations = int(self.run["iterations"])
        version = self.run["dataset_version"]
        for start in range(0, len(selection), _SLICE):
            chunk = selection[start:start + _SLICE]
            first, last = chunk[0][0], chunk[-1][0]
            results, values = self.store.results_between(self.run_id, first, last)
            aggregates = self.store.aggregates_between(self.run_id, first, last)
            stored = self.store.dataset_records(version, [r for _, r in chunk]) if version else {}
            by_record: dict[str, RecordResult] = {}
            for position, record_id in chunk:
                source = stored.get(record_id, {})
                by_record[record_id] = RecordResult(
                    record_id, position, source.get("input_data"), source.get("expected_output"),
                    source.get("metadata") or {}, outputs=[None] * iterations, errors=[None] * iterations,
                    trace_ids=[None] * iterations)
            for row in results:
                record = by_record.get(row["record_id"])
                i = row["iteration"]
                if record is None or i >= iterations:
                    continue
                record.outputs[i] = row["output"]
                record.trace_ids[i] = row["trace_id"]
                if row["status"] != "ok":
                    record.errors[i] = {"type": row["error_type"], "message": row["error_message"]}
                else:
                    for measure in MEASURES:
                        record.values.setdefault(measure, [None] * iterations)[i] = row[measure]
            for row in values:
                record = by_record.get(row["record_id"])
                i = row["iteration"]
                if record is None or i >= iterations:
                    continue
                record.values.setdefault(row["name"], [None] * iterations)[i] = row["value"]
                record.details.setdefault(row["name"], [None] * iterations)[i] = {
                    k: row[k] for k in ("kind", "label", "reasoning", "assessment", "tags", "details", "error_type",
                                        "error_message")}
            for row in aggregates:
                record = by_record.get(row["record_id"])
                if record is None:
                    continue
                if row["aggregate"] is not None:
                    record.aggregates[row["name"]] = row["aggregate"]
                if row["objective_passed"] is not None:
                    record.objectives[row["name"]] = bool(row["objective_passed"])
            yield from by_record.values()
