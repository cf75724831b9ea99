"""Toxicity judged by an LLM, behind the offline pre-check of :mod:`llmotel.evaluation.checks.toxicity`.

The pre-check runs first on each side (the user's message, the answer). When it is certain (explicit abuse: a
threat, strong profanity addressed to the reader) its result stands and the judge is not called; otherwise the
judge (prompt ``data/toxicity.json``) classifies the text into :data:`CATEGORIES` with a severity.

``user_dissatisfaction`` is reported for the user's message only, and it does not make a text toxic by itself:
an unhappy customer is worth counting, not worth flagging as abuse.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from llmotel.errors import ConfigurationError
from llmotel.evaluation._text import cap
from llmotel.evaluation.checks.toxicity import LABEL_SAFE, LABEL_TOXIC, TARGETS, ToxicityPrecheckEvaluator
from llmotel.evaluation.judge import Judge, JudgeBudgetExceeded
from llmotel.evaluation.judge.checks import (
    DEFAULT_TIMEOUT,
    JudgeCheck,
    budget_skipped,
    flag,
    fraction,
    judge_metadata,
)
from llmotel.evaluation.types import EvaluationInput, EvaluationResult

NAME = "toxicity"
#: Categories that make a text toxic (at or above the severity threshold).
TOXIC_CATEGORIES: tuple[str, ...] = (
    "hate", "harassment", "threat", "sexual", "self_harm", "violence", "profanity",
)
USER_DISSATISFACTION = "user_dissatisfaction"
CATEGORIES: tuple[str, ...] = (*TOXIC_CATEGORIES, USER_DISSATISFACTION)
_SPEAKER = {"input": "a user's message to the assistant", "output": "the assistant's answer"}
_WHOSE = {"input": "The user's message", "output": "The answer"}


class ToxicityJudgeEvaluator(JudgeCheck):
    """Toxicity of the user's message and of the answer: the offline pre-check, then an LLM judge when needed.

    One result per side that has text: ``input_toxicity`` and ``output_toxicity`` (the pre-check's names), label
    ``toxic``/``safe``, score the severity (0..1), assessment ``fail`` when toxic. When the pre-check is certain
    and ``skip_judge_when_certain`` is on, the pre-check's own result is returned (its ``method`` metadata names
    the pre-check). Otherwise the label is ``toxic`` when the judge finds a toxic category with a severity at or
    above ``threshold``; metadata ``method`` ("judge"), ``categories`` (including ``user_dissatisfaction`` on the
    input side), ``precheck_score``, ``truncated``, ``judge_provider``, ``judge_model``. A side the judge's budget
    could not pay for is ``skipped`` (``skip_reason`` "judge_budget"). Explanations name categories only.

    Options:
        targets: which sides to check, a subset of ``("input", "output")``.
        threshold: judge severity at or above which a text with a toxic category is ``toxic``.
        skip_judge_when_certain: return the pre-check's result, without a judge call, when it is certain.
        precheck: the pre-check to run (a configured :class:`ToxicityPrecheckEvaluator` covering ``targets``);
            a default one when None.
        max_chars: only the first this many characters of each text go to the judge.
        timeout: seconds the evaluating processor waits for this check (it may call the judge twice).
    """

    name = NAME
    #: Explanations name categories and scores only.
    explanation_has_content = False

    def __init__(
        self,
        judge: Judge,
        *,
        targets: Iterable[str] = TARGETS,
        threshold: float = 0.5,
        skip_judge_when_certain: bool = True,
        precheck: ToxicityPrecheckEvaluator | None = None,
        max_chars: int = 5_000,
        timeout: float = 2 * DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(judge, max_chars=max_chars, timeout=timeout)
        if isinstance(targets, str) or not isinstance(targets, Iterable):
            raise ConfigurationError("targets", targets, "a list drawn from input, output")
        chosen = tuple(dict.fromkeys(targets))
        if not chosen or any(t not in TARGETS for t in chosen):
            raise ConfigurationError("targets", chosen, TARGETS)
        self.targets = chosen
        self.threshold = fraction("threshold", threshold)
        self.skip_judge_when_certain = flag("skip_judge_when_certain", skip_judge_when_certain)
        if precheck is None:
            precheck = ToxicityPrecheckEvaluator(targets=self.targets)
        elif not isinstance(precheck, ToxicityPrecheckEvaluator) or not set(self.targets) <= set(precheck.targets):
            raise ConfigurationError("precheck", precheck, "a ToxicityPrecheckEvaluator whose targets cover targets")
        self.precheck = precheck

    def evaluate(self, input: EvaluationInput) -> list[EvaluationResult] | None:
        """Check each target side that has text; None when none has."""
        prechecked = {r.name: r for r in self.precheck.evaluate(input) or ()}
        texts = {"input": input.input_text, "output": input.output_text}
        results: list[EvaluationResult] = []
        for side in self.targets:
            if not texts[side].strip():
                continue
            pre = prechecked.get(f"{side}_toxicity")
            if pre is not None and self.skip_judge_when_certain and pre.metadata.get("certain") is True:
                results.append(pre)
                continue
            results.append(self._judge(side, texts[side], pre))
        return results or None

    def _judge(self, side: str, text: str, pre: EvaluationResult | None) -> EvaluationResult:
        name = f"{side}_toxicity"
        # Only the start of a long text is judged: the cost grows with the length.
        capped, truncated = cap(text, self.max_chars)
        try:
            reply = self.judge.ask(self.prompt, NAME, speaker=_SPEAKER[side], text=capped)
        except JudgeBudgetExceeded:
            return budget_skipped(name)
        return self._result(side, reply, pre, truncated)

    def _result(self, side: str, reply: Mapping[str, Any], pre: EvaluationResult | None,
                truncated: bool) -> EvaluationResult:
        raw = reply.get("categories")
        found = {c for c in raw if isinstance(c, str)} if isinstance(raw, list) else set()
        allowed = CATEGORIES if side == "input" else TOXIC_CATEGORIES
        categories = [c for c in allowed if c in found]
        severity = reply.get("severity")
        score = min(max(float(severity), 0.0), 1.0) if isinstance(severity, (int, float)) else 0.0
        toxic_found = [c for c in categories if c in TOXIC_CATEGORIES]
        toxic = bool(toxic_found) and score >= self.threshold
        metadata: dict[str, Any] = {**judge_metadata(self.judge), "categories": categories, "truncated": truncated}
        if pre is not None and pre.score is not None:
            metadata["precheck_score"] = pre.score
        whose = _WHOSE[side]
        if toxic_found:
            explanation = f"{whose}: {', '.join(toxic_found)} (judge severity {score:.2f})"
        else:
            explanation = f"{whose}: no toxic content found by the judge"
        if USER_DISSATISFACTION in categories:
            explanation += "; the user is dissatisfied"
        return EvaluationResult(
            f"{side}_toxicity", score=score, label=LABEL_TOXIC if toxic else LABEL_SAFE,
            assessment="fail" if toxic else "pass", explanation=explanation, metadata=metadata,
        )
