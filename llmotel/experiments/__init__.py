"""Experiments: a dataset x a task x evaluators, many runs, objectives, a run log, a local store, a CI gate.

Every record x run is a trace through llmotel's instrumentation, scored by the same evaluators as live traffic,
and stored (SQLite by default, PostgreSQL from a URL). See :class:`Experiment` and :func:`experiment`.
"""

from llmotel.experiments.checks import (
    contains,
    correctness,
    exact_match,
    json_schema,
    json_valid,
    normalized_match,
    numeric_close,
    regex_match,
)
from llmotel.experiments.dataset import Dataset, Record
from llmotel.experiments.experiment import Experiment, ExperimentInterrupted, experiment
from llmotel.experiments.finalize import HighVarianceWarning
from llmotel.experiments.objectives import Objective, ObjectiveResult
from llmotel.experiments.results import ExperimentResult, RecordResult
from llmotel.experiments.store import Store
from llmotel.experiments.values import EvaluatorResult

__all__ = [
    "Dataset",
    "EvaluatorResult",
    "Experiment",
    "ExperimentInterrupted",
    "ExperimentResult",
    "HighVarianceWarning",
    "Objective",
    "ObjectiveResult",
    "Record",
    "RecordResult",
    "Store",
    "contains",
    "correctness",
    "exact_match",
    "experiment",
    "json_schema",
    "json_valid",
    "normalized_match",
    "numeric_close",
    "regex_match",
]
