"""Objectives: what a run must achieve, per metric, to pass (the CI gate).

``Objective("exact_match", equals=True)``, ``Objective("overlap", at_least=0.8)``,
``Objective("latency_s", at_most=2.0, min_pass_rate=0.95)``. Each record passes or fails each objective; the
objective holds when the share of records that pass is at least ``min_pass_rate`` (default: all of them); the
run passes when every objective holds. A record whose task failed, or that has no value for the metric, fails.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmotel.errors import ConfigurationError
from llmotel.experiments.aggregation import RecordAggregate
from llmotel.experiments.values import BOOLEAN, JSON

ACROSS_RUNS = ("all", "any", "mean")
_UNSET: Any = object()


def _number(setting: str, value: Any) -> float | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value):
        raise ConfigurationError(setting, value, "a finite number")
    return float(value)


@dataclass(frozen=True, init=False)
class Objective:
    """A condition on one metric (an evaluator's name, an ``@llmotel.metric``, ``latency_s``, ``input_tokens``,
    ``output_tokens``, or a summary evaluator's name).

    Give ``equals`` (a bool, number or string), or ``at_least`` and/or ``at_most`` (numbers). How a record's
    runs count (``across_runs``): ``"mean"`` compares the record's aggregate (mean of numbers, mode of
    strings; the default for numbers and strings), ``"all"`` needs every run to meet it (the default for
    booleans), ``"any"`` one run. ``min_pass_rate`` (0..1) is the share of records that must pass.
    """

    metric: str
    equals: Any
    at_least: float | None
    at_most: float | None
    min_pass_rate: float
    across_runs: str | None

    def __init__(self, metric: str, *, equals: Any = _UNSET, at_least: float | None = None,
                 at_most: float | None = None, min_pass_rate: float = 1.0, across_runs: str | None = None) -> None:
        if not isinstance(metric, str) or not metric:
            raise ConfigurationError("Objective(metric)", metric, "a metric name")
        at_least_ = _number("Objective(at_least)", at_least)
        at_most_ = _number("Objective(at_most)", at_most)
        if equals is _UNSET and at_least_ is None and at_most_ is None:
            raise ConfigurationError(f"Objective({metric!r})", None, "equals=..., or at_least= and/or at_most=")
        if equals is not _UNSET and (at_least_ is not None or at_most_ is not None):
            raise ConfigurationError(f"Objective({metric!r})", equals, "equals alone, or at_least/at_most")
        if equals is not _UNSET and (equals is None or not isinstance(equals, (bool, int, float, str))):
            raise ConfigurationError("Objective(equals)", equals, "a bool, a number or a string")
        rate = _number("Objective(min_pass_rate)", min_pass_rate)
        if rate is None or not 0.0 <= rate <= 1.0:
            raise ConfigurationError("Objective(min_pass_rate)", min_pass_rate, "a number in [0, 1]")
        if across_runs is not None and across_runs not in ACROSS_RUNS:
            raise ConfigurationError("Objective(across_runs)", across_runs, ACROSS_RUNS)
        for name, value in (("metric", metric), ("equals", None if equals is _UNSET else equals),
                            ("at_least", at_least_), ("at_most", at_most_), ("min_pass_rate", rate),
                            ("across_runs", across_runs)):
            object.__setattr__(self, name, value)

    @property
    def condition(self) -> str:
        """The condition as text: ``== True``, ``>= 0.8``, ``0.2 <= x <= 0.8``."""
        if self.at_least is not None and self.at_most is not None:
            return f"{self.at_least:g} <= x <= {self.at_most:g}"
        if self.at_least is not None:
            return f">= {self.at_least:g}"
        if self.at_most is not None:
            return f"<= {self.at_most:g}"
        return f"== {self.equals!r}"

    def met_by(self, value: Any) -> bool:
        """Whether one value meets the condition (a value of the wrong type does not)."""
        if value is None:
            return False
        if self.at_least is None and self.at_most is None:
            if isinstance(self.equals, bool) or isinstance(value, bool):  # True is not 1 here
                return isinstance(value, bool) and isinstance(self.equals, bool) and value == self.equals
            return bool(value == self.equals)
        if isinstance(value, bool):
            value = float(value)
        if not isinstance(value, (int, float)):
            return False
        return (self.at_least is None or value >= self.at_least) and (self.at_most is None or value <= self.at_most)

    def record_passed(self, run_values: Sequence[Any], aggregate: RecordAggregate | None) -> bool:
        """Whether one record passes, from its values per run and their aggregate."""
        present = [v for v in run_values if v is not None]
        if not present or aggregate is None or aggregate.kind == JSON:
            return False
        how = self.across_runs or ("all" if aggregate.kind == BOOLEAN else "mean")
        if how == "all":
            return len(present) == len(run_values) and all(self.met_by(v) for v in present)
        if how == "any":
            return any(self.met_by(v) for v in present)
        if aggregate.kind == BOOLEAN and self.at_least is None and self.at_most is None:
            return self.met_by(aggregate.value >= 0.5)  # mean of a boolean: passed in most runs
        return self.met_by(aggregate.value)

    def to_dict(self) -> dict[str, Any]:
        return {"metric": self.metric, "equals": self.equals, "at_least": self.at_least, "at_most": self.at_most,
                "min_pass_rate": self.min_pass_rate, "across_runs": self.across_runs}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> Objective:
        kwargs: dict[str, Any] = {k: data.get(k) for k in ("at_least", "at_most", "across_runs")}
        if data.get("equals") is not None:
            kwargs["equals"] = data["equals"]
        return cls(data["metric"], min_pass_rate=data.get("min_pass_rate", 1.0), **kwargs)


@dataclass
class ObjectiveResult:
    """How one objective fared in a run."""

    objective: Objective
    passed_records: int = 0
    failed_records: int = 0

    @property
    def records(self) -> int:
        return self.passed_records + self.failed_records

    @property
    def pass_rate(self) -> float:
        return self.passed_records / self.records if self.records else 0.0

    @property
    def passed(self) -> bool:
        return self.records > 0 and self.pass_rate >= self.objective.min_pass_rate

    def add(self, passed: bool) -> None:
        if passed:
            self.passed_records += 1
        else:
            self.failed_records += 1

    def to_dict(self) -> dict[str, Any]:
        return {**self.objective.to_dict(), "condition": self.objective.condition,
                "passed_records": self.passed_records, "failed_records": self.failed_records,
                "pass_rate": self.pass_rate, "passed": self.passed}

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> ObjectiveResult:
        return cls(Objective.from_dict(data), int(data.get("passed_records", 0)), int(data.get("failed_records", 0)))
