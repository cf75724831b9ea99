"""Multi-run aggregation, as Datadog documents it for experiments with ``runs=N``.

Record level: the mean across runs for scores and booleans (a boolean's mean is its pass rate), the mode for
categorical values; plus the population standard deviation and a high-variance flag for numbers, and for
booleans "passed in all runs" / "passed in at least one run". Summary: the mean of the record means, the mode
of the record modes. A mode's ties go to the value seen first. JSON values are counted, not aggregated.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from llmotel.experiments.values import BOOLEAN, CATEGORICAL, JSON, SCORE, kind_of

#: a record's numbers vary highly when their standard deviation exceeds this share of their mean's magnitude
DEFAULT_VARIANCE_THRESHOLD = 0.25


def mean(values: Sequence[float]) -> float:
    return math.fsum(values) / len(values)


def pstdev(values: Sequence[float]) -> float:
    """Population standard deviation (0 for one value)."""
    centre = mean(values)
    return math.sqrt(math.fsum((v - centre) ** 2 for v in values) / len(values))


def mode(values: Iterable[Any]) -> Any:
    """The most frequent value; among equally frequent ones, the first seen."""
    counts = Counter(values)
    return counts.most_common(1)[0][0] if counts else None


def unified_kind(kinds: Iterable[str]) -> str:
    """One kind for values of several kinds: booleans with numbers are scores; strings win over numbers."""
    present = set(kinds)
    if len(present) == 1:
        return present.pop()
    if JSON in present:
        return JSON
    if CATEGORICAL in present:
        return CATEGORICAL
    return SCORE


def is_high_variance(centre: float, spread: float, threshold: float) -> bool:
    if spread <= 0:
        return False
    return centre == 0 or spread / abs(centre) > threshold


@dataclass(frozen=True)
class RecordAggregate:
    """One metric of one record across its runs."""

    kind: str
    value: Any  # mean (score, boolean), mode (categorical), None (json)
    n: int
    std: float | None = None
    high_variance: bool = False
    passed_all: bool | None = None  # booleans only
    passed_any: bool | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"kind": self.kind, "value": self.value, "n": self.n, "std": self.std,
                "high_variance": self.high_variance, "passed_all": self.passed_all, "passed_any": self.passed_any}


def aggregate_record(values: Sequence[Any], variance_threshold: float = DEFAULT_VARIANCE_THRESHOLD
                     ) -> RecordAggregate | None:
    """The aggregate of one metric's values across a record's runs (None values ignored; None if none is left)."""
    present = [v for v in values if v is not None]
    if not present:
        return None
    kind = unified_kind(kind_of(v) or JSON for v in present)
    if kind == JSON:
        return RecordAggregate(JSON, None, len(present))
    if kind == CATEGORICAL:
        return RecordAggregate(CATEGORICAL, mode(str(v) if not isinstance(v, str) else v for v in present),
                               len(present))
    numbers = [float(v) for v in present]
    if len(numbers) == 1:  # one run (the common case): nothing to average
        centre, spread = numbers[0], 0.0
    else:
        centre, spread = mean(numbers), pstdev(numbers)
    high = len(numbers) > 1 and is_high_variance(centre, spread, variance_threshold)
    if kind == BOOLEAN:
        return RecordAggregate(BOOLEAN, centre, len(numbers), spread, high, all(present), any(present))
    return RecordAggregate(SCORE, centre, len(numbers), spread, high)


class SummaryAccumulator:
    """Folds record aggregates of one metric into its summary, one record at a time (bounded memory)."""

    def __init__(self) -> None:
        self.records = 0
        self._kinds: Counter[str] = Counter()
        self._means: list[float] = []
        self._modes: Counter[Any] = Counter()
        self._std_total = 0.0
        self.high_variance_records = 0
        self._passed_all = 0
        self._passed_any = 0

    def add(self, aggregate: RecordAggregate) -> None:
        self.records += 1
        self._kinds[aggregate.kind] += 1
        if aggregate.kind in (SCORE, BOOLEAN):
            self._means.append(float(aggregate.value))
            self._std_total += aggregate.std or 0.0
            self.high_variance_records += aggregate.high_variance
        elif aggregate.kind == CATEGORICAL:
            self._modes[aggregate.value] += 1
        if aggregate.kind == BOOLEAN:
            self._passed_all += bool(aggregate.passed_all)
            self._passed_any += bool(aggregate.passed_any)

    @property
    def kind(self) -> str | None:
        return unified_kind(self._kinds) if self._kinds else None

    def result(self) -> dict[str, Any]:
        """``{"kind", "value", "records", ...}``: the mean of record means or the mode of record modes."""
        kind = self.kind
        out: dict[str, Any] = {"kind": kind, "records": self.records}
        if kind in (SCORE, BOOLEAN) and self._means:
            out["value"] = mean(self._means)
            out["mean_std"] = self._std_total / len(self._means)
            out["high_variance_records"] = self.high_variance_records
            if kind == BOOLEAN:
                out["pass_all_rate"] = self._passed_all / self.records
                out["pass_any_rate"] = self._passed_any / self.records
        elif kind == CATEGORICAL:
            out["value"] = self._modes.most_common(1)[0][0] if self._modes else None
            out["distribution"] = dict(self._modes.most_common(20))
        else:
            out["value"] = None
        return out


def aggregate_values(values: Sequence[Any]) -> Any:
    """One value for a list of values (summary evaluators across runs): mean for numbers, mode otherwise."""
    aggregate = aggregate_record(values)
    return None if aggregate is None else aggregate.value
