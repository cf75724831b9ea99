"""The LLM-judge checks by name, and the few rules they share.

:data:`JUDGE_CHECKS` maps each judge-backed check to ``"module:Class"``; each class takes a
:class:`llmotel.evaluation.judge.Judge` as its first argument. The helpers below keep the checks consistent:
the same option validation, the same ``skipped`` results, the same handling of an exhausted judge budget.
This module imports nothing heavy, so reading the registry loads no check.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from typing import Any

from llmotel.errors import ConfigurationError
from llmotel.evaluation.types import LABEL_SKIPPED, EvaluationResult

#: judge-backed check name -> "module:class" (constructed as ``Class(judge, **options)``)
JUDGE_CHECKS: Mapping[str, str] = {
    "hallucination": "llmotel.evaluation.judge.hallucination:HallucinationEvaluator",
    "toxicity": "llmotel.evaluation.judge.toxicity_judge:ToxicityJudgeEvaluator",
    "prompt_injection": "llmotel.evaluation.judge.prompt_injection:PromptInjectionEvaluator",
    "topic_relevancy": "llmotel.evaluation.judge.topic_relevancy:TopicRelevancyEvaluator",
    "answer_relevance": "llmotel.evaluation.judge.answer_relevance:AnswerRelevanceEvaluator",
}

#: ``skip_reason`` metadata of a result skipped because the judge's token budget was used up.
SKIP_JUDGE_BUDGET = "judge_budget"
#: Default seconds the evaluating processor waits for one judge-backed check (a judge call may be retried).
DEFAULT_TIMEOUT = 60.0


def checked_judge(judge: Any) -> Any:
    """``judge`` when it can answer prompts (an :class:`llmotel.evaluation.judge.Judge` or a look-alike)."""
    if not callable(getattr(judge, "ask", None)):
        raise ConfigurationError("judge", judge, "an llmotel.evaluation.judge.Judge")
    return judge


def positive_int(setting: str, value: Any, minimum: int = 1) -> int:
    """An integer option of at least ``minimum``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(setting, value, f"an integer >= {minimum}")
    return value


def timeout_seconds(value: Any) -> float:
    """The ``timeout`` option: seconds, finite and positive."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ConfigurationError("timeout", value, "a positive number of seconds")
    return float(value)


def fraction(setting: str, value: Any) -> float:
    """A number in [0, 1]."""
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0.0 <= value <= 1.0:
        raise ConfigurationError(setting, value, "a number in [0, 1]")
    return float(value)


def flag(setting: str, value: Any) -> bool:
    """A boolean option (no truthy strings or numbers)."""
    if not isinstance(value, bool):
        raise ConfigurationError(setting, value, "True or False")
    return value


class JudgeCheck:
    """What every judge-backed check shares: its judge, its prompt (the file named after the check), a cap on
    the characters sent to the judge and the processor's timeout for it."""

    name: str

    def __init__(self, judge: Any, *, max_chars: int, timeout: float) -> None:
        from llmotel.evaluation.judge import load_prompt

        self.judge = checked_judge(judge)
        self.max_chars = positive_int("max_chars", max_chars, 100)
        self.timeout = timeout_seconds(timeout)
        self.prompt = load_prompt(self.name)


def skipped(name: str, explanation: str, reason: str) -> EvaluationResult:
    """A ``skipped`` result: nothing was judged, ``reason`` (a short code) says why."""
    return EvaluationResult(name, label=LABEL_SKIPPED, explanation=explanation, metadata={"skip_reason": reason})


def budget_skipped(name: str) -> EvaluationResult:
    """The result of a check whose judge refused the call because its token budget is used up."""
    return skipped(name, "the judge's token budget is used up; nothing was judged", SKIP_JUDGE_BUDGET)


def judge_metadata(judge: Any) -> dict[str, Any]:
    """Which judge decided: its provider and model (configuration, never user text)."""
    out: dict[str, Any] = {"method": "judge"}
    for key, attribute in (("judge_provider", "provider"), ("judge_model", "model")):
        value = getattr(judge, attribute, None)
        if isinstance(value, str) and value:
            out[key] = value
    return out
