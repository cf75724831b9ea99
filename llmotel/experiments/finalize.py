"""At the end of a run: record aggregates, the summary, summary evaluators and objectives, from the store.

Records are read back in slices of positions, so a run of any size is summarised in bounded memory (summary
evaluators excepted: they see every record's input and output by definition).
"""

from __future__ import annotations

import logging
import warnings
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmotel.experiments.aggregation import SummaryAccumulator, aggregate_record, aggregate_values
from llmotel.experiments.dataset import Record
from llmotel.experiments.objectives import Objective, ObjectiveResult
from llmotel.experiments.store import Store
from llmotel.experiments.values import MetricValue

logger = logging.getLogger("llmotel.experiments")

#: measurements every record x run has, besides its evaluators' values
MEASURES = ("latency_s", "input_tokens", "output_tokens")
_SLICE = 500


class HighVarianceWarning(UserWarning):
    """A numeric evaluator's values vary highly across the runs of some records (see ``variance_threshold``)."""


@dataclass
class Summary:
    """What ``finalize`` computed."""

    details: dict[str, dict[str, Any]] = field(default_factory=dict)
    objectives: list[ObjectiveResult] = field(default_factory=list)

    @property
    def passed(self) -> bool:
        return all(o.passed for o in self.objectives)


def _record_values(results: Sequence[Mapping[str, Any]], values: Sequence[Mapping[str, Any]], iterations: int
                   ) -> tuple[dict[str, list[Any]], bool]:
    """Per metric, the values of each run (None where missing), and whether any run failed or is missing."""
    by_name: dict[str, list[Any]] = defaultdict(lambda: [None] * iterations)
    failed = len(results) < iterations
    for result in results:
        i = result["iteration"]
        if i >= iterations:
            continue
        failed = failed or result["status"] != "ok"
        if result["status"] == "ok":
            for measure in MEASURES:
                by_name[measure][i] = result[measure]
    for value in values:
        if value["iteration"] < iterations and value["error_type"] is None:
            by_name[value["name"]][value["iteration"]] = value["value"]
    return dict(by_name), failed


def finalize(
    store: Store,
    run_id: str,
    iterations: int,
    objectives: Sequence[Objective] = (),
    summary_evaluators: Sequence[tuple[str, Callable[..., Any]]] = (),
    records: Mapping[str, Record] | None = None,
    variance_threshold: float = 0.25,
    experiment_name: str = "",
) -> Summary:
    """Aggregate the run's stored results, write the record aggregates and return the summary."""
    selection = store.run_record_ids(run_id)
    store.clear_aggregates(run_id)
    accumulators: dict[str, SummaryAccumulator] = defaultdict(SummaryAccumulator)
    summary_names = {name for name, _ in summary_evaluators}
    record_objectives = [o for o in objectives if o.metric not in summary_names]
    outcome = {o.metric: ObjectiveResult(o) for o in record_objectives}
    for start in range(0, len(selection), _SLICE):
        chunk = selection[start:start + _SLICE]
        results, values = store.measures_between(run_id, chunk[0][0], chunk[-1][0])
        results_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        values_of: dict[str, list[dict[str, Any]]] = defaultdict(list)
        for row in results:
            results_of[row["record_id"]].append(row)
        for row in values:
            values_of[row["record_id"]].append(row)
        rows = []
        for position, record_id in chunk:
            per_run, failed = _record_values(results_of[record_id], values_of[record_id], iterations)
            aggregates = {}
            for name, run_values in per_run.items():
                aggregate = aggregate_record(run_values, variance_threshold)
                aggregates[name] = aggregate
                if aggregate is not None:
                    accumulators[name].add(aggregate)
            for name in set(aggregates) | set(outcome):
                result = outcome.get(name)
                passed = None
                if result is not None:
                    passed = not failed and result.objective.record_passed(per_run.get(name, [None] * iterations),
                                                                           aggregates.get(name))
                    result.add(passed)
                aggregate = aggregates.get(name)
                rows.append({"record_id": record_id, "position": position, "name": name,
                             "aggregate": aggregate.to_dict() if aggregate is not None else None,
                             "objective_passed": passed})
        store.write_aggregates(run_id, rows)
    summary = Summary({name: acc.result() for name, acc in sorted(accumulators.items())})
    if summary_evaluators:
        summary.details.update(_summary_evaluations(store, run_id, selection, iterations, summary_evaluators,
                                                    records or {}))
    summary.objectives = [outcome[o.metric] if o.metric in outcome else _summary_objective(o, summary.details)
                          for o in objectives]
    _warn_high_variance(summary.details, experiment_name, variance_threshold)
    return summary


def _summary_objective(objective: Objective, details: Mapping[str, Mapping[str, Any]]) -> ObjectiveResult:
    result = ObjectiveResult(objective)
    result.add(objective.met_by(details.get(objective.metric, {}).get("value")))
    return result


def _summary_evaluations(store: Store, run_id: str, selection: Sequence[tuple[int, str]], iterations: int,
                         evaluators: Sequence[tuple[str, Callable[..., Any]]], records: Mapping[str, Record]
                         ) -> dict[str, dict[str, Any]]:
    """Each summary evaluator once per run iteration, over all records; its summary is the aggregate."""
    per_iteration: dict[int, dict[str, Any]] = {i: {"outputs": {}, "values": defaultdict(dict)}
                                                for i in range(iterations)}
    for start in range(0, len(selection), _SLICE):
        chunk = selection[start:start + _SLICE]
        results, values = store.results_between(run_id, chunk[0][0], chunk[-1][0])
        for row in results:
            if row["iteration"] < iterations and row["status"] == "ok":
                per_iteration[row["iteration"]]["outputs"][row["record_id"]] = row["output"]
        for row in values:
            if row["iteration"] < iterations and row["error_type"] is None:
                per_iteration[row["iteration"]]["values"][row["name"]][row["record_id"]] = row["value"]
    ids = [record_id for _, record_id in selection]
    inputs = [records[r].input_data if r in records else None for r in ids]
    expected = [records[r].expected_output if r in records else None for r in ids]
    out: dict[str, dict[str, Any]] = {}
    for name, fn in evaluators:
        per_run: list[Any] = []
        errors: list[str] = []
        for i in range(iterations):
            outputs = [per_iteration[i]["outputs"].get(r) for r in ids]
            by_evaluator = {n: [vals.get(r) for r in ids] for n, vals in per_iteration[i]["values"].items()}
            try:
                value = MetricValue.of(name, fn(inputs, outputs, expected, by_evaluator))
                per_run.append(value.value)
            except Exception as exc:
                logger.warning("llmotel: summary evaluator %r failed: %s: %s", name, type(exc).__name__, exc)
                errors.append(f"{type(exc).__qualname__}: {exc}")
                per_run.append(None)
        out[name] = {"kind": "summary", "value": aggregate_values(per_run), "per_run": per_run, "errors": errors}
    return out


def _warn_high_variance(details: Mapping[str, Mapping[str, Any]], experiment: str, threshold: float) -> None:
    for name, detail in details.items():
        count = detail.get("high_variance_records") if name not in MEASURES else 0
        if count:
            warnings.warn(
                f"experiment {experiment!r}: {name!r} varies highly across runs on {count} of {detail['records']} "
                f"records (standard deviation > {threshold:g} x mean); run more iterations or check the task",
                HighVarianceWarning, stacklevel=5,
            )
