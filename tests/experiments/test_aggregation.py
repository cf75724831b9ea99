"""Multi-run aggregation against a reference written plainly here: record = mean across runs (numbers, booleans)
or mode (categorical); summary = mean of the record means, mode of the record modes; std, high variance, pass
all / any; and objectives on top of it."""

from __future__ import annotations

import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmotel import ConfigurationError, Objective
from llmotel.experiments.aggregation import SummaryAccumulator, aggregate_record
from llmotel.experiments.objectives import ObjectiveResult


def reference_mean(values):
    total = 0.0
    for v in values:
        total += float(v)
    return total / len(values)


def reference_mode(values):
    counts, order = {}, []
    for v in values:
        if v not in counts:
            counts[v] = 0
            order.append(v)
        counts[v] += 1
    best = order[0]
    for v in order:
        if counts[v] > counts[best]:
            best = v
    return best


def reference_std(values):
    m = reference_mean(values)
    return math.sqrt(sum((float(v) - m) ** 2 for v in values) / len(values))


def summarize(records):
    accumulator = SummaryAccumulator()
    aggregates = [aggregate_record(runs) for runs in records]
    for aggregate in aggregates:
        accumulator.add(aggregate)
    return aggregates, accumulator.result()


scores = st.floats(min_value=-1e6, max_value=1e6, allow_nan=False)
runs_of = lambda values: st.lists(values, min_size=1, max_size=6)  # noqa: E731
slow_ok = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@slow_ok
@given(st.lists(runs_of(scores), min_size=1, max_size=12))
def test_scores_mean_of_means(records):
    aggregates, summary = summarize(records)
    for aggregate, runs in zip(aggregates, records, strict=True):
        assert aggregate.kind == "score" and aggregate.n == len(runs)
        assert aggregate.value == pytest.approx(reference_mean(runs), rel=1e-9, abs=1e-6)
        assert aggregate.std == pytest.approx(reference_std(runs), rel=1e-6, abs=1e-6)
    expected = reference_mean([reference_mean(runs) for runs in records])
    assert summary["kind"] == "score" and summary["records"] == len(records)
    assert summary["value"] == pytest.approx(expected, rel=1e-9, abs=1e-6)


@slow_ok
@given(st.lists(runs_of(st.sampled_from(["yes", "no", "maybe", "n/a"])), min_size=1, max_size=12))
def test_categorical_mode_of_modes(records):
    aggregates, summary = summarize(records)
    modes = [reference_mode(runs) for runs in records]
    assert [a.value for a in aggregates] == modes
    assert summary["kind"] == "categorical"
    assert summary["value"] == reference_mode(modes)


@slow_ok
@given(st.lists(runs_of(st.booleans()), min_size=1, max_size=12))
def test_booleans_pass_rates(records):
    aggregates, summary = summarize(records)
    for aggregate, runs in zip(aggregates, records, strict=True):
        assert aggregate.kind == "boolean"
        assert aggregate.value == pytest.approx(sum(runs) / len(runs))
        assert (aggregate.passed_all, aggregate.passed_any) == (all(runs), any(runs))
    assert summary["value"] == pytest.approx(reference_mean([reference_mean(r) for r in records]))
    assert summary["pass_all_rate"] == pytest.approx(sum(all(r) for r in records) / len(records))
    assert summary["pass_any_rate"] == pytest.approx(sum(any(r) for r in records) / len(records))


def test_missing_runs_are_ignored_and_mixed_kinds_unify():
    assert aggregate_record([None, None]) is None
    assert aggregate_record([1.0, None, 3.0]).value == 2.0
    assert aggregate_record([True, 0.5]).kind == "score"
    assert aggregate_record([True, 0.5]).value == 0.75
    assert aggregate_record(["a", 1, 1]).value == "1"
    assert aggregate_record([{"a": 1}, {"b": 2}]).kind == "json"


def test_high_variance_flag():
    assert not aggregate_record([0.80, 0.82, 0.81]).high_variance
    assert aggregate_record([0.1, 0.9, 0.5]).high_variance
    assert aggregate_record([True, True, False]).high_variance
    assert not aggregate_record([0.3]).high_variance
    assert not aggregate_record([0.1, 0.9], variance_threshold=10).high_variance


def test_objective_conditions_and_validation():
    assert Objective("exact_match", equals=True).met_by(True)
    assert not Objective("exact_match", equals=True).met_by(1)
    assert Objective("overlap", at_least=0.8).met_by(0.8) and not Objective("overlap", at_least=0.8).met_by(0.79)
    assert Objective("latency_s", at_most=2.0).met_by(1) and not Objective("latency_s", at_most=2.0).met_by("1")
    assert Objective("tone", equals="polite").met_by("polite")
    assert Objective("x", at_least=0.2, at_most=0.8).condition == "0.2 <= x <= 0.8"
    for bad in ({}, {"equals": True, "at_least": 1}, {"at_least": "high"}, {"equals": [1]},
                {"at_least": 1, "min_pass_rate": 1.5}, {"at_least": 1, "across_runs": "most"}):
        with pytest.raises(ConfigurationError):
            Objective("m", **bad)


@pytest.mark.parametrize(("objective", "runs", "passed"), [
    (Objective("exact_match", equals=True), [True, True, True], True),
    (Objective("exact_match", equals=True), [True, False, True], False),  # booleans: every run by default
    (Objective("exact_match", equals=True, across_runs="any"), [False, True, False], True),
    (Objective("exact_match", equals=True, across_runs="mean"), [True, False, True], True),
    (Objective("overlap", at_least=0.8), [0.7, 0.9, 0.95], True),  # numbers: the record's mean
    (Objective("overlap", at_least=0.8, across_runs="all"), [0.7, 0.9, 0.95], False),
    (Objective("overlap", at_least=0.8), [0.9, None, 0.9], True),
    (Objective("overlap", at_least=0.8, across_runs="all"), [0.9, None, 0.9], False),
    (Objective("tone", equals="polite"), ["polite", "rude", "polite"], True),
    (Objective("overlap", at_least=0.1), [None, None], False),
])
def test_record_passes_objective(objective, runs, passed):
    assert objective.record_passed(runs, aggregate_record(runs)) is passed


def test_min_pass_rate():
    result = ObjectiveResult(Objective("exact_match", equals=True, min_pass_rate=0.75))
    for passed in (True, True, True, False):
        result.add(passed)
    assert (result.pass_rate, result.passed) == (0.75, True)
    result.add(False)
    assert not result.passed
    assert not ObjectiveResult(Objective("x", at_least=0)).passed  # no records: nothing passed
    round_trip = ObjectiveResult.from_dict(result.to_dict())
    assert (round_trip.objective, round_trip.passed_records, round_trip.failed_records) == (result.objective, 3, 2)
