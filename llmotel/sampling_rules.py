"""Evaluator sampling rules (configuration): per-evaluator rate plus span-name and model globs.

Rules come from ``enable(evaluation=EvaluationOptions(sampling_rules=[...]))`` or
``LLMOTEL_EVALUATOR_SAMPLING_RULES`` (JSON):
``[{"evaluator": "sentiment", "rate": 0.1, "span_name": "chat *", "model": "gpt-4o*"}]``. For each evaluator the
first rule whose ``evaluator``, ``span_name`` and ``model`` globs all match decides; no matching rule means every
span is evaluated. Sampling is decided from the trace id, so one trace's spans are sampled alike
and a re-run over the same trace gives the same decision.
"""

from __future__ import annotations

import fnmatch
import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmotel.errors import ConfigurationError

SETTING = "evaluator_sampling_rules"
_KEYS = ("evaluator", "rate", "span_name", "model")
_EXPECTED = (
    'a JSON list of rules like [{"evaluator": "sentiment", "rate": 0.1, "span_name": "chat *", "model": "gpt-4o*"}]'
    " (rate between 0 and 1; evaluator, span_name and model are glob patterns, default '*')"
)


@dataclass(frozen=True)
class SamplingRule:
    """Sample ``rate`` (0..1) of the spans whose name and model match the globs, for matching evaluators."""

    evaluator: str = "*"
    rate: float = 1.0
    span_name: str = "*"
    model: str = "*"
    _patterns: tuple[re.Pattern[str], ...] = field(default=(), init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        for name in ("evaluator", "span_name", "model"):
            value = getattr(self, name)
            if not isinstance(value, str) or not value:
                raise ConfigurationError(SETTING, {name: value}, _EXPECTED)
        rate = self.rate
        if isinstance(rate, bool) or not isinstance(rate, (int, float)) or not 0.0 <= rate <= 1.0:
            raise ConfigurationError(SETTING, {"rate": rate}, _EXPECTED)
        patterns = tuple(re.compile(fnmatch.translate(p)) for p in (self.evaluator, self.span_name, self.model))
        object.__setattr__(self, "_patterns", patterns)

    def matches(self, evaluator: str, span_name: str, model: str) -> bool:
        evaluator_glob, name_glob, model_glob = self._patterns
        return bool(evaluator_glob.match(evaluator) and name_glob.match(span_name) and model_glob.match(model))


def parse_rules(raw: str | Sequence[Any], setting: str = SETTING) -> tuple[SamplingRule, ...]:
    """Rules from JSON text or a list of :class:`SamplingRule` / dicts; ConfigurationError when malformed."""
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except ValueError as exc:
            raise ConfigurationError(setting, raw, f"{_EXPECTED}; not valid JSON: {exc}") from None
    if isinstance(raw, Mapping) or not isinstance(raw, Sequence) or isinstance(raw, (str, bytes)):
        raise ConfigurationError(setting, raw, _EXPECTED)
    rules = []
    for item in raw:
        if isinstance(item, SamplingRule):
            rules.append(item)
            continue
        if not isinstance(item, Mapping) or set(item) - set(_KEYS):
            raise ConfigurationError(setting, item, _EXPECTED)
        try:
            rules.append(SamplingRule(**item))
        except ConfigurationError as exc:
            raise ConfigurationError(setting, item, _EXPECTED) from exc
    return tuple(rules)


