"""Which spans each evaluator looks at: the sampling decision for the rules of :mod:`llmotel.sampling_rules`."""

from __future__ import annotations

from collections.abc import Sequence

from llmotel.sampling_rules import SamplingRule, parse_rules

_TRACE_ID_BITS = 64

__all__ = ["Sampler", "SamplingRule", "parse_rules"]


class Sampler:
    """Decides, per evaluator, whether a span is evaluated (rules resolved once per span name and model)."""

    def __init__(self, rules: Sequence[SamplingRule]) -> None:
        self._rules = tuple(rules)
        self._cache: dict[tuple[str, str, str], float] = {}

    def rate(self, evaluator: str, span_name: str, model: str) -> float:
        key = (evaluator, span_name, model)
        rate = self._cache.get(key)
        if rate is None:
            rate = next((r.rate for r in self._rules if r.matches(evaluator, span_name, model)), 1.0)
            if len(self._cache) < 4096:  # span names can be unbounded (annotation names); keep the cache bounded
                self._cache[key] = rate
        return rate

    def sampled(self, evaluator: str, span_name: str, model: str, trace_id: int) -> bool:
        rate = self.rate(evaluator, span_name, model)
        if rate >= 1.0:
            return True
        if rate <= 0.0:
            return False
        # the trace id's low 64 bits are random (W3C); compare them against the rate like TraceIdRatioBased
        return (trace_id & ((1 << _TRACE_ID_BITS) - 1)) < rate * (1 << _TRACE_ID_BITS)
