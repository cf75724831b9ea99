"""Compare two runs (or one iteration of each: ``RUN#2``): what changed, and is it real?

Per evaluator: both runs' summary values, the difference, and a significance test on the records both runs
share (paired): a paired bootstrap interval for scores, the exact McNemar test for booleans and pass/fail, a
paired permutation test for categorical labels; a verdict (``improved`` / ``regressed`` / ``no significant
change``) and the records that flipped. With several runs per record, each record's mean (mode for labels) is
the paired value. Per record: both outputs with a word-level diff, each evaluator's values and the objectives in
both runs; records found in one run only are listed. Run level: tokens, cost, duration, errors, and what the run
logs say changed (prompt versions, models, temperature, config).
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path
from typing import Any

from llmotel.errors import ExperimentError
from llmotel.experiments import stats
from llmotel.experiments.aggregation import SummaryAccumulator, aggregate_record
from llmotel.experiments.diffs import Segments, output_text, word_diff
from llmotel.experiments.finalize import MEASURES
from llmotel.experiments.objectives import Objective
from llmotel.experiments.prices import RunCost, run_cost
from llmotel.experiments.results import ExperimentResult, RecordResult
from llmotel.experiments.store import Store
from llmotel.experiments.values import BOOLEAN, CATEGORICAL, SCORE

IMPROVED, REGRESSED, NO_CHANGE = "improved", "regressed", "no significant change"
CHANGED = "changed"  # significant, but no direction is known (labels without a target, a band objective)
NOT_TESTED = "not tested"  # one value per run (summary evaluators), JSON values, or no paired records
PASS_FAIL = "pass/fail"  # the kind of an evaluator's assessments, compared as their own row


# --- the two sides --------------------------------------------------------------------------------------------------


@dataclass
class Side:
    """A run, or one iteration of it (``iteration``, 0-based)."""

    result: ExperimentResult
    iteration: int | None = None
    #: called with each of the run's records as the comparison reads it (``report`` builds its table from them)
    observe: Callable[[RecordResult], None] | None = field(default=None, repr=False, compare=False)

    @property
    def label(self) -> str:
        return self.result.run_id[:8] + (f"#{self.iteration + 1}" if self.iteration is not None else "")

    @property
    def runs(self) -> int:
        """Runs per record this side's values come from."""
        return 1 if self.iteration is not None else int(self.result.run["iterations"])


def side(store: Store, ref: str) -> Side:
    """``RUN`` (id, unique prefix, ``latest``) or ``RUN#N``: the N-th iteration (1-based) of a multi-run run."""
    run_ref, sep, number = ref.rpartition("#") if "#" in ref else (ref, "", "")
    result = ExperimentResult(store, run_ref)
    if not sep:
        return Side(result)
    iterations = int(result.run["iterations"])
    if not number.isdigit() or not 1 <= int(number) <= iterations:
        raise ExperimentError(f"{ref!r}: run {result.run_id[:8]} has runs 1..{iterations}; write RUN#N")
    return Side(result, int(number) - 1)


def baseline_run(store: Store, experiment: str, branch: str, exclude: str | None = None) -> ExperimentResult:
    """The latest completed run of ``experiment`` on git branch ``branch`` in ``store``."""
    for run in store.runs(experiment, limit=100_000):
        git = (run["run_metadata"] or {}).get("git") or {}
        if git.get("branch") == branch and run["status"] == "completed" and run["id"] != exclude:
            return ExperimentResult(store, run["id"])
    raise ExperimentError(f"no completed run of experiment {experiment!r} on branch {branch!r} in "
                          f"{store.display_url}")


@contextlib.contextmanager
def baseline(store: Store, reference: str, current: ExperimentResult) -> Iterator[Side]:
    """``--baseline``: a JSONL export (loaded into a temporary store, removed afterwards) or a git branch."""
    if reference.endswith(".jsonl") or Path(reference).is_file():
        from llmotel.experiments.transfer import import_jsonl

        with tempfile.TemporaryDirectory(prefix="llmotel-baseline-") as directory:
            temporary = Store(os.path.join(directory, "baseline.db"))
            try:
                with open(reference, encoding="utf-8") as source:
                    run_id = import_jsonl(temporary, source)
                yield Side(ExperimentResult(temporary, run_id))
            finally:
                temporary.close()
        return
    yield Side(baseline_run(store, current.experiment_name, reference, exclude=current.run_id))


@dataclass
class SideRecord:
    """One record as one side saw it: its output, each evaluator's value (the record's mean or mode across
    runs, or the iteration's value), the share of runs an evaluator's assessment passed, its objectives."""

    record_id: str
    position: int
    input_data: Any
    expected_output: Any
    output: Any
    values: dict[str, Any]
    passes: dict[str, float]
    objectives: dict[str, bool]
    errors: list[dict[str, Any]]
    trace_id: str | None
    measures: dict[str, float | None]

    @property
    def passed(self) -> bool | None:
        """Every objective passed (None without objectives)."""
        return all(self.objectives.values()) if self.objectives else None


def _record_objectives(side: Side) -> list[Objective]:
    summary_names = {n for n, d in side.result.summary_details.items() if d.get("kind") == "summary"}
    return [o for o in (Objective.from_dict(d) for d in side.result.run["objectives"] or [])
            if o.metric not in summary_names]


def _side_record(side: Side, record: RecordResult, names: Sequence[str], objectives: Sequence[Objective]
                 ) -> SideRecord:
    i = side.iteration
    runs = range(len(record.outputs)) if i is None else [i]
    errors = [e for e in (record.errors[r] for r in runs if r < len(record.errors)) if e is not None]
    passes: dict[str, float] = {}
    for name, details in record.details.items():
        marks = [d["assessment"] for d in (details[r] for r in runs if r < len(details))
                 if d is not None and d.get("assessment") in ("pass", "fail")]
        if marks:
            passes[name] = marks.count("pass") / len(marks)
    measures: dict[str, float | None] = {}
    if i is None:
        values = {n: _single(record.aggregates[n], side.runs) for n in names
                  if record.aggregates.get(n, {}).get("value") is not None}
        measures = {m: record.aggregates.get(m, {}).get("value") for m in MEASURES}
        output, trace_id = record.output, next((t for t in record.trace_ids if t), None)
        record_objectives = dict(record.objectives)
    else:
        values = {n: record.values[n][i] for n in names if n in record.values and record.values[n][i] is not None}
        measures = {m: record.values.get(m, [None] * (i + 1))[i] for m in MEASURES}
        output, trace_id = record.outputs[i], record.trace_ids[i]
        record_objectives = {}
        for objective in objectives:
            value = record.values.get(objective.metric, [None] * (i + 1))[i]
            record_objectives[objective.metric] = not errors and objective.record_passed(
                [value], aggregate_record([value]))
    return SideRecord(record.record_id, record.position, record.input_data, record.expected_output, output, values,
                      passes, record_objectives, errors, trace_id, measures)


def _single(aggregate: Mapping[str, Any], runs: int) -> Any:
    """A record's aggregated value; a boolean of a one-run record stays a boolean (its mean is 0 or 1)."""
    value = aggregate["value"]
    if runs == 1 and aggregate.get("kind") == BOOLEAN:
        return bool(value)
    return value


# --- per evaluator --------------------------------------------------------------------------------------------------


@dataclass
class MetricComparison:
    """One evaluator (or its pass/fail assessments) in both runs."""

    name: str
    kind: str
    a_value: Any
    b_value: Any
    paired: int = 0
    record_means: bool = False
    direction: int | None = 1  # +1: higher is better, -1: lower is better, None: unknown
    target: Any = None  # the label (or boolean) an objective asks for
    bootstrap: stats.BootstrapResult | None = None
    mcnemar: stats.McNemarResult | None = None
    permutation: stats.PermutationResult | None = None
    verdict: str = NOT_TESTED
    passed_to_failed: list[str] = field(default_factory=list)
    failed_to_passed: list[str] = field(default_factory=list)
    changed: list[tuple[str, Any, Any]] = field(default_factory=list)  # labels: (record, a, b)

    @property
    def difference(self) -> float | None:
        """B's summary value minus A's, for numbers and booleans."""
        if _is_number(self.a_value) and _is_number(self.b_value):
            return float(self.b_value) - float(self.a_value)
        return None

    @property
    def test(self) -> str:
        """The test behind the verdict, in words."""
        if self.bootstrap is not None:
            return "paired bootstrap" + (" (record means)" if self.record_means else "")
        if self.mcnemar is not None:
            return "exact McNemar" + (f" (== {self.target!r})" if self.kind == CATEGORICAL else "")
        if self.permutation is not None:
            return "paired permutation (chi-square)" + (" (record modes)" if self.record_means else "")
        return "-"

    @property
    def evidence(self) -> str:
        """The interval or p-value behind the verdict."""
        if self.bootstrap is not None:
            b = self.bootstrap
            return f"{b.mean_difference:+.4g} [{b.low:+.4g}, {b.high:+.4g}] ({b.confidence:.0%} CI)"
        if self.mcnemar is not None:
            m = self.mcnemar
            return f"p={m.p_value:.3g} ({m.lost} lost, {m.gained} gained)"
        if self.permutation is not None:
            p = self.permutation
            return f"p={p.p_value:.3g} (chi2={p.statistic:.3g}{', exact' if p.exact else ''})"
        return "-"


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, str)


def _direction(name: str, kind: str, objectives: Sequence[Objective], lower_is_better: Sequence[str]
               ) -> tuple[int | None, Any]:
    """Which way is better, and the target value, from ``lower_is_better`` or an objective on the metric."""
    if name in lower_is_better:
        return -1, None
    objective = next((o for o in objectives if o.metric == name), None)
    if objective is not None:
        if objective.at_least is None and objective.at_most is None:
            if isinstance(objective.equals, bool):
                return (1 if objective.equals else -1), objective.equals
            if isinstance(objective.equals, str):
                return 1, objective.equals
            return None, objective.equals
        if objective.at_least is None:
            return -1, None
        if objective.at_most is None:
            return 1, None
        return None, None
    return (None, None) if kind == CATEGORICAL else (1, None)


def _verdict(significant: bool, sign: float, direction: int | None) -> str:
    if not significant:
        return NO_CHANGE
    if direction is None or sign == 0:
        return CHANGED
    return IMPROVED if sign * direction > 0 else REGRESSED


def _pass_state(name: str, record: SideRecord, kind: str, target: Any, objective_in_both: bool) -> bool | None:
    """Whether a record passed on a metric: its objective if both runs have one, else the boolean's value
    (majority of runs), the assessment (majority), or the label equal to the target."""
    if objective_in_both and name in record.objectives:
        return record.objectives[name]
    if kind == PASS_FAIL:
        share = record.passes.get(name)
        return None if share is None else share >= 0.5
    value = record.values.get(name)
    if value is None:
        return None
    if kind == BOOLEAN:
        return float(value) >= 0.5 if target in (None, True) else float(value) < 0.5
    if kind == CATEGORICAL and target is not None:
        return value == target
    return None


@dataclass
class _Settings:
    seed: int
    resamples: int
    confidence: float
    alpha: float
    lower_is_better: Sequence[str]


def _compare_metric(metric: MetricComparison, pairs: Sequence[tuple[SideRecord, SideRecord]],
                    objectives: Sequence[Objective], both_objectives: set[str], settings: _Settings) -> None:
    """Fill in the test, verdict and flips of ``metric`` from the paired records."""
    name, kind = metric.name, metric.kind
    if kind == PASS_FAIL:
        metric.direction, metric.target = 1, None
        present = [(a, b) for a, b in pairs if name in a.passes and name in b.passes]
        xs, ys = [a.passes[name] for a, _ in present], [b.passes[name] for _, b in present]
    else:
        metric.direction, metric.target = _direction(name, kind, objectives, settings.lower_is_better)
        present = [(a, b) for a, b in pairs if name in a.values and name in b.values]
        xs, ys = [a.values[name] for a, _ in present], [b.values[name] for _, b in present]
    metric.paired = len(present)
    if not present or kind not in (BOOLEAN, SCORE, CATEGORICAL, PASS_FAIL):
        return
    binary = metric.record_means is False and kind in (BOOLEAN, PASS_FAIL)
    if kind == CATEGORICAL:
        labels_a, labels_b = [str(x) for x in xs], [str(y) for y in ys]
        metric.permutation = stats.paired_permutation(labels_a, labels_b, seed=settings.seed)
        if metric.target is not None:
            metric.mcnemar = stats.mcnemar([v == metric.target for v in labels_a],
                                           [v == metric.target for v in labels_b])
            m = metric.mcnemar
            metric.verdict = _verdict(m.p_value < settings.alpha, m.gained - m.lost, 1)
        else:
            p = metric.permutation
            metric.verdict = NO_CHANGE if p.p_value >= settings.alpha else CHANGED
        changed = [(b.position, a.record_id, x, y) for (a, b), x, y in zip(present, labels_a, labels_b, strict=True)
                   if x != y]
        metric.changed = [(r, x, y) for _, r, x, y in sorted(changed, key=lambda c: c[0])]
    elif binary:
        metric.mcnemar = stats.mcnemar([float(x) >= 0.5 for x in xs], [float(y) >= 0.5 for y in ys])
        m = metric.mcnemar
        metric.verdict = _verdict(m.p_value < settings.alpha, m.gained - m.lost, metric.direction)
    else:
        metric.bootstrap = stats.paired_bootstrap([float(x) for x in xs], [float(y) for y in ys],
                                                  resamples=settings.resamples, confidence=settings.confidence,
                                                  seed=settings.seed)
        interval = metric.bootstrap
        metric.verdict = _verdict(interval.significant, interval.mean_difference, metric.direction)
    for old, new in sorted(present, key=lambda pair: pair[1].position):  # flips listed in the dataset's order
        before = _pass_state(name, old, kind, metric.target, name in both_objectives)
        after = _pass_state(name, new, kind, metric.target, name in both_objectives)
        if before is True and after is False:
            metric.passed_to_failed.append(old.record_id)
        elif before is False and after is True:
            metric.failed_to_passed.append(old.record_id)


# --- run level ------------------------------------------------------------------------------------------------------


@dataclass
class RunFacts:
    """What one side is: its run, tokens, cost, duration, errors, git and dataset."""

    label: str
    run_id: str
    experiment: str
    iteration: int | None  # 1-based
    iterations: int
    status: str
    records: int
    errors: int
    input_tokens: int
    output_tokens: int
    cost: RunCost
    duration_s: float | None
    latency_mean: float | None
    branch: str | None
    commit: str | None
    dataset_version: str | None
    config: dict[str, Any]
    passed: bool | None


def _facts(side: Side, records: Mapping[str, SideRecord]) -> RunFacts:
    run = side.result.run
    git = side.result.metadata.get("git") or {}
    store = side.result.store
    usage = store.usage(side.result.run_id)
    log_models = [e["entry"].get("response_model") or e["entry"].get("request_model")
                  for e in side.result.log(("model",))]
    log_models = [m for m in log_models if m]
    latencies = [float(r.measures["latency_s"] or 0) for r in records.values()
                 if r.measures.get("latency_s") is not None]
    if side.iteration is None:
        input_tokens, output_tokens = int(run["input_tokens"]), int(run["output_tokens"])
        cost = run_cost(usage, log_models, input_tokens, output_tokens)
        errors = int(run["results_failed"])
        duration = (run["finished_at"] - run["started_at"]) if run["finished_at"] else None
        passed = bool(run["passed"]) if run["status"] == "completed" and run["objective_results"] else None
    else:
        input_tokens = int(sum(r.measures.get("input_tokens") or 0 for r in records.values()))
        output_tokens = int(sum(r.measures.get("output_tokens") or 0 for r in records.values()))
        models = {row["model"] for row in usage} or set(log_models)
        # one model: the iteration's tokens price exactly; with several, the split per iteration is not stored
        cost = run_cost([{"model": next(iter(models)), "input_tokens": input_tokens,
                          "output_tokens": output_tokens}] if len(models) == 1 else [], list(models),
                        input_tokens, output_tokens)
        errors = sum(1 for r in records.values() if r.errors)
        duration, passed = None, None
    return RunFacts(side.label, side.result.run_id, side.result.experiment_name,
                    None if side.iteration is None else side.iteration + 1, int(run["iterations"]), run["status"],
                    len(records), errors, input_tokens, output_tokens, cost, duration,
                    sum(latencies) / len(latencies) if latencies else None, git.get("branch"), git.get("commit"),
                    run["dataset_version"], dict(run["config"] or {}), passed)


def _show(value: Any) -> str:
    if isinstance(value, float):
        return f"{value:g}"
    return str(value) if not isinstance(value, str) else value


def run_changes(a: ExperimentResult, b: ExperimentResult) -> list[str]:
    """What the two runs' logs, configs, datasets and commits say changed, one line each."""
    lines: list[str] = []
    prompts_a = {e["entry"].get("name") or "": e["entry"] for e in a.log(("prompt",))}
    prompts_b = {e["entry"].get("name") or "": e["entry"] for e in b.log(("prompt",))}
    for name in sorted(prompts_a.keys() | prompts_b.keys()):
        old, new = prompts_a.get(name), prompts_b.get(name)
        label = f"prompt {name or '(unnamed)'}"
        if old is None:
            lines.append(f"{label} added" + (f" (version {new['version']})" if new and new.get("version") else ""))
        elif new is None:
            lines.append(f"{label} removed")
        elif old.get("version") != new.get("version"):
            lines.append(f"{label} changed version {old.get('version') or '-'} -> {new.get('version') or '-'}")
        elif old.get("template") != new.get("template"):
            lines.append(f"{label} template changed (same version {old.get('version') or '-'})")
    models_a = {e["entry"].get("request_model") or "": e["entry"] for e in a.log(("model",))}
    models_b = {e["entry"].get("request_model") or "": e["entry"] for e in b.log(("model",))}
    if models_a.keys() != models_b.keys():
        lines.append(f"model {', '.join(sorted(models_a)) or '-'} -> {', '.join(sorted(models_b)) or '-'}")
    for model in sorted(models_a.keys() & models_b.keys()):
        old, new = models_a[model], models_b[model]
        if old.get("temperature") != new.get("temperature"):
            lines.append(f"{model} temperature {_show(old.get('temperature'))} -> {_show(new.get('temperature'))}")
        if old.get("system_prompt") != new.get("system_prompt"):
            lines.append(f"{model} system prompt changed")
    config_a, config_b = dict(a.run["config"] or {}), dict(b.run["config"] or {})
    for key in sorted(config_a.keys() | config_b.keys()):
        if key not in config_b:
            lines.append(f"config {key} removed (was {_show(config_a[key])})")
        elif key not in config_a:
            lines.append(f"config {key} added: {_show(config_b[key])}")
        elif config_a[key] != config_b[key]:
            lines.append(f"{key} {_show(config_a[key])} -> {_show(config_b[key])}")
    if a.run["dataset_version"] != b.run["dataset_version"]:
        lines.append(f"dataset version {a.run['dataset_version'] or '-'} -> {b.run['dataset_version'] or '-'}")
    commit_a = (a.metadata.get("git") or {}).get("commit")
    commit_b = (b.metadata.get("git") or {}).get("commit")
    if commit_a != commit_b:
        lines.append(f"git commit {str(commit_a or '-')[:12]} -> {str(commit_b or '-')[:12]}")
    return lines


# --- per record and the whole comparison ----------------------------------------------------------------------------


@dataclass
class RecordComparison:
    """A record both runs have: the two sides, what flipped, and the output diff (computed when asked)."""

    a: SideRecord
    b: SideRecord
    regressed: list[str] = field(default_factory=list)  # metrics that went passed -> failed on this record
    improved: list[str] = field(default_factory=list)

    @property
    def record_id(self) -> str:
        return self.b.record_id

    @property
    def output_changed(self) -> bool:
        return output_text(self.a.output) != output_text(self.b.output)

    @cached_property
    def diff(self) -> Segments:
        return word_diff(output_text(self.a.output), output_text(self.b.output))

    @property
    def values_changed(self) -> bool:
        return self.a.values != self.b.values or self.a.objectives != self.b.objectives


@dataclass
class Comparison:
    """Everything ``llmotel experiments compare`` reports about A (before) and B (after)."""

    a: RunFacts
    b: RunFacts
    metrics: list[MetricComparison]
    records: list[RecordComparison]
    only_a: list[SideRecord]
    only_b: list[SideRecord]
    changes: list[str]
    runs_a: int
    runs_b: int
    confidence: float

    @property
    def record_means(self) -> bool:
        """Either side has several runs per record: the paired values are record means (modes)."""
        return self.runs_a > 1 or self.runs_b > 1

    @property
    def regressions(self) -> list[MetricComparison]:
        return [m for m in self.metrics if m.verdict == REGRESSED]

    def ordered_records(self) -> list[RecordComparison]:
        """Regressions first, then improvements, then other changes, then the rest (each in dataset order)."""
        def rank(r: RecordComparison) -> int:
            if r.regressed:
                return 0
            if r.improved:
                return 1
            return 2 if r.output_changed or r.values_changed else 3

        return sorted(self.records, key=rank)


def _load(side: Side, names: Sequence[str]) -> dict[str, SideRecord]:
    objectives = _record_objectives(side)
    records = {}
    for record in side.result.iter_records():
        if side.observe is not None:
            side.observe(record)
        records[record.record_id] = _side_record(side, record, names, objectives)
    return records


def _summary_values(side: Side, names: Sequence[str], records: Mapping[str, SideRecord]) -> dict[str, Any]:
    details = side.result.summary_details
    if side.iteration is None:
        return {n: details.get(n, {}).get("value") for n in names}
    out = {}
    for name in names:
        if details.get(name, {}).get("kind") == "summary":
            per_run = details[name].get("per_run") or []
            out[name] = per_run[side.iteration] if side.iteration < len(per_run) else None
            continue
        accumulator = SummaryAccumulator()
        for record in records.values():
            aggregate = aggregate_record([record.values.get(name)])
            if aggregate is not None:
                accumulator.add(aggregate)
        out[name] = accumulator.result().get("value") if accumulator.records else None
    return out


def compare(a: Side | ExperimentResult, b: Side | ExperimentResult, *, seed: int = stats.DEFAULT_SEED,
            resamples: int = stats.RESAMPLES, confidence: float = stats.CONFIDENCE,
            lower_is_better: Sequence[str] = ()) -> Comparison:
    """Compare ``a`` (before, e.g. the baseline) with ``b`` (after): differences are ``b - a``.

    ``lower_is_better`` names evaluators whose lower values are better (an objective with only ``at_most``
    says so too); booleans are better true (or as their objective's ``equals`` says); labels have a direction
    only when an objective asks for one label. ``seed`` fixes the bootstrap and permutation draws.
    """
    side_a = a if isinstance(a, Side) else Side(a)
    side_b = b if isinstance(b, Side) else Side(b)
    settings = _Settings(seed, resamples, confidence, 1 - confidence, tuple(lower_is_better))
    details_a, details_b = side_a.result.summary_details, side_b.result.summary_details
    names = [n for n in sorted(details_a.keys() | details_b.keys()) if n not in MEASURES]
    record_names = [n for n in names if "summary" not in (details_a.get(n, {}).get("kind"),
                                                          details_b.get(n, {}).get("kind"))]
    records_a, records_b = _load(side_a, record_names), _load(side_b, record_names)
    pairs = [(records_a[r], records_b[r]) for r in records_b if r in records_a]
    pairs.sort(key=lambda pair: pair[0].record_id)  # the tests' draws do not depend on either run's order
    summary_a = _summary_values(side_a, names, records_a)
    summary_b = _summary_values(side_b, names, records_b)
    objectives_a, objectives_b = _record_objectives(side_a), _record_objectives(side_b)
    objectives = objectives_b + objectives_a  # the newer run's objectives first
    both_objectives = {o.metric for o in objectives_a} & {o.metric for o in objectives_b}
    record_means = side_a.runs > 1 or side_b.runs > 1
    metrics = []
    for name in names:
        kinds = {str(d[name].get("kind")) for d in (details_a, details_b) if name in d}
        kind = SCORE if kinds == {BOOLEAN, SCORE} else (kinds.pop() if len(kinds) == 1 else "mixed")
        metric = MetricComparison(name, kind, summary_a.get(name), summary_b.get(name), record_means=record_means)
        if kind != "summary" and name in record_names:
            _compare_metric(metric, pairs, objectives, both_objectives, settings)
        metrics.append(metric)
        if any(name in x.passes for x, _ in pairs) and any(name in y.passes for _, y in pairs):
            judged = MetricComparison(f"{name}", PASS_FAIL, _pass_rate(records_a, name), _pass_rate(records_b, name),
                                      record_means=record_means)
            _compare_metric(judged, pairs, objectives, both_objectives, settings)
            metrics.append(judged)
    by_record: dict[str, RecordComparison] = {}
    for a_record, b_record in pairs:
        by_record[b_record.record_id] = RecordComparison(a_record, b_record)
    for metric in metrics:
        label = metric.name if metric.kind != PASS_FAIL else f"{metric.name} ({PASS_FAIL})"
        for record_id in metric.passed_to_failed:
            by_record[record_id].regressed.append(label)
        for record_id in metric.failed_to_passed:
            by_record[record_id].improved.append(label)
    records = sorted(by_record.values(), key=lambda r: r.b.position)
    return Comparison(
        _facts(side_a, records_a), _facts(side_b, records_b), metrics, records,
        sorted((r for i, r in records_a.items() if i not in records_b), key=lambda r: r.position),
        sorted((r for i, r in records_b.items() if i not in records_a), key=lambda r: r.position),
        run_changes(side_a.result, side_b.result), side_a.runs, side_b.runs, confidence,
    )


def _pass_rate(records: Mapping[str, SideRecord], name: str) -> float | None:
    shares = [r.passes[name] for r in records.values() if name in r.passes]
    return sum(shares) / len(shares) if shares else None
