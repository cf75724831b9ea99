"""Answer relevance: does the answer address the user's question? The LLM judge's view of failure to answer.

The offline ``failure_to_answer`` check catches the obvious failures (empty answers, refusal and "I don't know"
phrasings) for free; this judge (prompt ``data/answer_relevance.json``) also catches the answers that say a
lot without answering: partial answers, evasions in words no phrase list has, and answers about something else.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmotel.evaluation._text import cap
from llmotel.evaluation.judge import Judge, JudgeBudgetExceeded
from llmotel.evaluation.judge.checks import (
    DEFAULT_TIMEOUT,
    JudgeCheck,
    budget_skipped,
    flag,
    judge_metadata,
    skipped,
)
from llmotel.evaluation.types import EvaluationInput, EvaluationResult

NAME = "answer_relevance"
LABEL_ANSWERED = "answered"
LABEL_NOT_ANSWERED = "not_answered"
#: The judge's categories, from best to worst.
CATEGORIES: tuple[str, ...] = ("complete", "partial", "evasive", "off_topic")
#: Category of an answer with no text and no tool call (decided without the judge).
EMPTY = "empty"
_REASON_CHARS = 300


class AnswerRelevanceEvaluator(JudgeCheck):
    """Judges whether the answer addresses the user's question (the last user message, else the RAG query).

    Result ``answer_relevance``: label ``answered`` or ``not_answered``, score how well the answer addresses the
    question (0..1, from the judge), assessment ``pass``/``fail``, the judge's one-sentence reason as the
    explanation (it may paraphrase the conversation). Metadata ``category`` (``complete``, ``partial``,
    ``evasive``, ``off_topic``, or ``empty`` for an answer with no text, decided without a judge call),
    ``truncated``, ``method`` ("judge" or "rule"), ``judge_provider``, ``judge_model``.

    Skipped (label ``skipped``, ``skip_reason`` metadata): no question (``no_question``), an answer that is only
    tool calls (``tool_call``: the model acted, its answer comes later), an exhausted judge budget
    (``judge_budget``).

    Options:
        partial_is_answered: whether a ``partial`` answer is labelled ``answered``.
        max_chars: only the first this many characters of the question and of the answer go to the judge.
        timeout: seconds the evaluating processor waits for this check.
    """

    name = NAME
    #: The explanation is the judge's reason, which may quote or paraphrase the conversation.
    content_fields = ("explanation",)  # labels are categories

    def __init__(
        self,
        judge: Judge,
        *,
        partial_is_answered: bool = False,
        max_chars: int = 10_000,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(judge, max_chars=max_chars, timeout=timeout)
        self.partial_is_answered = flag("partial_is_answered", partial_is_answered)

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        """Judge the answer against the question."""
        question = input.input_text or input.rag_query or ""
        if not question.strip():
            return skipped(NAME, "no question to answer", "no_question")
        answer = input.output_text
        if not answer.strip():
            if input.output_tool_calls:
                return skipped(NAME, "the model called a tool instead of answering in text", "tool_call")
            return EvaluationResult(
                NAME, score=0.0, label=LABEL_NOT_ANSWERED, assessment="fail", explanation="the answer is empty",
                metadata={"category": EMPTY, "method": "rule", "truncated": False},
            )
        # Long texts are cut: the judge's cost grows with them.
        question, question_cut = cap(question, self.max_chars)
        answer, answer_cut = cap(answer, self.max_chars)
        try:
            reply = self.judge.ask(self.prompt, NAME, question=question, answer=answer)
        except JudgeBudgetExceeded:
            return budget_skipped(NAME)
        return self._result(reply, question_cut or answer_cut)

    def _result(self, reply: Mapping[str, Any], truncated: bool) -> EvaluationResult:
        category = str(reply["category"]) if reply.get("category") in CATEGORIES else "off_topic"
        raw_score = reply.get("score")
        score = min(max(float(raw_score), 0.0), 1.0) if isinstance(raw_score, (int, float)) else 0.0
        answered = category == "complete" or (category == "partial" and self.partial_is_answered)
        reason = reply.get("reason")
        reason = " ".join(reason.split()) if isinstance(reason, str) else ""
        if len(reason) > _REASON_CHARS:
            reason = reason[: _REASON_CHARS - 1] + "…"
        explanation = f"{category.replace('_', ' ')}: {reason}" if reason else category.replace("_", " ")
        return EvaluationResult(
            NAME, score=score, label=LABEL_ANSWERED if answered else LABEL_NOT_ANSWERED,
            assessment="pass" if answered else "fail", explanation=explanation,
            metadata={**judge_metadata(self.judge), "category": category, "truncated": truncated},
        )
