"""What an experiment evaluator returns: a plain value or an :class:`EvaluatorResult`, and its kind.

Kinds: ``boolean`` (``True``/``False``), ``score`` (a finite int or float), ``categorical`` (a string) and
``json`` (a dict or list). ``None`` means "nothing to say" and is not counted.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

from llmotel.errors import EvaluationError

BOOLEAN = "boolean"
SCORE = "score"
CATEGORICAL = "categorical"
JSON = "json"
KINDS = (BOOLEAN, SCORE, CATEGORICAL, JSON)
ASSESSMENTS = ("pass", "fail")


@dataclass(frozen=True)
class EvaluatorResult:
    """An evaluator's value with its reasoning: ``EvaluatorResult(0.8, reasoning="...", assessment="pass")``.

    ``value`` is a bool, a finite number, a string or a dict/list; ``assessment`` is ``"pass"``, ``"fail"`` or
    None; ``tags`` map strings to strings; ``metadata`` is JSON.
    """

    value: Any
    reasoning: str | None = None
    assessment: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        kind_of(self.value)
        if self.reasoning is not None and not isinstance(self.reasoning, str):
            raise EvaluationError(f"EvaluatorResult.reasoning must be a string, got {type(self.reasoning).__name__}")
        if self.assessment not in (None, *ASSESSMENTS):
            raise EvaluationError(f"EvaluatorResult.assessment must be 'pass', 'fail' or None, got {self.assessment!r}")
        tags = self.tags or {}
        if not isinstance(tags, Mapping) or not all(isinstance(k, str) and isinstance(v, str) for k, v in tags.items()):
            raise EvaluationError(f"EvaluatorResult.tags must map strings to strings, got {self.tags!r}")
        if not isinstance(self.metadata or {}, Mapping):
            raise EvaluationError(f"EvaluatorResult.metadata must be a dict, got {type(self.metadata).__name__}")


def kind_of(value: Any) -> str | None:
    """The kind of an evaluator value (None for None); :class:`llmotel.EvaluationError` for anything else."""
    if value is None:
        return None
    if isinstance(value, bool):
        return BOOLEAN
    if isinstance(value, (int, float)):
        if isinstance(value, float) and not math.isfinite(value):
            raise EvaluationError(f"an evaluator's number must be finite, got {value!r}")
        return SCORE
    if isinstance(value, str):
        return CATEGORICAL
    if isinstance(value, (Mapping, list, tuple)):
        return JSON
    raise EvaluationError(
        "an evaluator returns a bool, a number, a string, a dict/list or an EvaluatorResult, "
        f"got {type(value).__name__}"
    )


@dataclass
class MetricValue:
    """One named value of one record x run: from an evaluator, an ``@llmotel.metric`` or a measurement."""

    name: str
    value: Any = None
    kind: str | None = None
    reasoning: str | None = None
    assessment: str | None = None
    label: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    error_type: str | None = None
    error_message: str | None = None
    #: the reasoning holds no user text (a check that says so): exported even with content capture off
    reasoning_is_safe: bool = False

    @classmethod
    def of(cls, name: str, output: Any) -> MetricValue:
        """A plain value or an :class:`EvaluatorResult` as a metric value (checks the value's kind)."""
        if isinstance(output, EvaluatorResult):
            return cls(name, _plain(output.value), kind_of(output.value), output.reasoning, output.assessment,
                       tags=dict(output.tags or {}), metadata=dict(output.metadata or {}))
        return cls(name, _plain(output), kind_of(output))

    @classmethod
    def failed(cls, name: str, exc: BaseException) -> MetricValue:
        return cls(name, error_type=type(exc).__qualname__, error_message=str(exc)[:2000])

    @property
    def ok(self) -> bool:
        return self.error_type is None


def _plain(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _plain(v) for k, v in value.items()}
    if isinstance(value, tuple):
        return [_plain(v) for v in value]
    if isinstance(value, list):
        return [_plain(v) for v in value]
    return value
