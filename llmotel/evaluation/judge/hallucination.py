"""Hallucination: is a RAG answer grounded in the retrieved context? Judged claim by claim by an LLM.

The judge (prompt ``data/hallucination.json``) splits the answer into atomic factual claims and gives each
a verdict against the context: ``supported``, ``contradicted`` or ``unsupported`` (the context says nothing),
with a quote from the context as evidence. A contradicted claim always counts against the answer; an unsupported
one does too unless ``count_unsupported=False`` (for answers that may add general knowledge to the context).

Each quote is checked against the context (case, spacing and punctuation ignored): a quote the judge made up is
marked in the explanation and counted in ``unverified_quotes``, a cheap signal of a judge that is not reading
the context.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from typing import Any

from llmotel.evaluation._text import cap
from llmotel.evaluation.judge import Judge, JudgeBudgetExceeded
from llmotel.evaluation.judge.checks import (
    DEFAULT_TIMEOUT,
    JudgeCheck,
    budget_skipped,
    flag,
    judge_metadata,
    positive_int,
    skipped,
)
from llmotel.evaluation.types import EvaluationInput, EvaluationResult

NAME = "hallucination"
LABEL_HALLUCINATION = "hallucination"
LABEL_GROUNDED = "grounded"
VERDICTS: tuple[str, ...] = ("supported", "contradicted", "unsupported")
#: At most this many offending claims are spelled out in the explanation (all are counted).
EXPLAINED_CLAIMS = 5
#: Claims beyond this many in one reply are ignored (a runaway judge reply stays bounded).
MAX_CLAIMS = 100
_QUOTE_CHARS = 200
_NON_WORD = re.compile(r"[\W_]+")


def _squash(text: str) -> str:
    """Text reduced to its letters and digits, case-folded: quotes match despite spacing and punctuation."""
    return _NON_WORD.sub("", text.casefold())


def _clip(text: str, limit: int = _QUOTE_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


class HallucinationEvaluator(JudgeCheck):
    """Flags answers with claims the RAG context contradicts (or does not support), judged claim by claim.

    Needs the RAG query and context (``EvaluationInput.rag_query`` / ``rag_context``: prompt variables annotated
    as RAG query/context, or a retrieval span's query and documents) and an answer; without them the result is
    ``skipped`` with the reason in the explanation and ``skip_reason`` metadata (``no_answer``, ``no_context``,
    ``no_query``, ``judge_budget``).

    Result ``hallucination``: label ``hallucination`` when at least one claim counts against the answer, else
    ``grounded``; score the share of claims that count (0 when the answer makes no factual claim); assessment
    ``fail``/``pass``. The explanation lists the offending claims (up to :data:`EXPLAINED_CLAIMS`) with the
    context quoted as evidence, so it carries content. Metadata: ``claims``, one count per verdict,
    ``unverified_quotes``, ``count_unsupported``, ``truncated``, ``method`` ("judge"), ``judge_provider``,
    ``judge_model``.

    Options:
        count_unsupported: whether a claim the context neither supports nor contradicts counts as hallucinated.
        max_context_chars: only the first this many characters of the context go to the judge.
        max_chars: only the first this many characters of the query and of the answer go to the judge.
        timeout: seconds the evaluating processor waits for this check.
    """

    name = NAME
    #: The explanation quotes the answer's claims and the context.
    content_fields = ("explanation",)  # it quotes claims and evidence; labels are categories

    def __init__(
        self,
        judge: Judge,
        *,
        count_unsupported: bool = True,
        max_context_chars: int = 30_000,
        max_chars: int = 10_000,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(judge, max_chars=max_chars, timeout=timeout)
        self.count_unsupported = flag("count_unsupported", count_unsupported)
        self.max_context_chars = positive_int("max_context_chars", max_context_chars, 100)

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        """Judge the answer's claims against the RAG context."""
        answer, context, query = input.output_text, input.rag_context, input.rag_query
        if not answer.strip():
            return skipped(NAME, "no answer text to check", "no_answer")
        if not context or not context.strip():
            return skipped(NAME, "no RAG context: annotate the context prompt variables or record the retrieval",
                           "no_context")
        if not query or not query.strip():
            return skipped(NAME, "no RAG query: annotate the query prompt variables or record the retrieval",
                           "no_query")
        # Long texts are cut: the judge's cost grows with them, and its attention thins out.
        context, context_cut = cap(context, self.max_context_chars)
        answer, answer_cut = cap(answer, self.max_chars)
        query, query_cut = cap(query, self.max_chars)
        try:
            reply = self.judge.ask(self.prompt, NAME, question=query, context=context, answer=answer)
        except JudgeBudgetExceeded:
            return budget_skipped(NAME)
        return self._result(reply, context, truncated=context_cut or answer_cut or query_cut)

    def _result(self, reply: Mapping[str, Any], context: str, *, truncated: bool) -> EvaluationResult:
        raw = reply.get("claims")
        claims: Sequence[Any] = raw[:MAX_CLAIMS] if isinstance(raw, list) else []
        counts = dict.fromkeys(VERDICTS, 0)
        bad: list[tuple[str, str, str, bool]] = []  # verdict, claim, evidence, evidence found in the context
        squashed_context = _squash(context)
        unverified = 0
        for item in claims:
            if not isinstance(item, Mapping) or item.get("verdict") not in counts:
                continue
            verdict = str(item["verdict"])
            counts[verdict] += 1
            evidence = item.get("evidence") if isinstance(item.get("evidence"), str) else ""
            squashed = _squash(evidence or "")
            found = not squashed or squashed in squashed_context
            unverified += not found
            if verdict == "contradicted" or (verdict == "unsupported" and self.count_unsupported):
                bad.append((verdict, str(item.get("claim") or ""), evidence or "", found))
        total = sum(counts.values())
        metadata: dict[str, Any] = {
            "claims": total, **counts, "unverified_quotes": unverified,
            "count_unsupported": self.count_unsupported, "truncated": truncated, **judge_metadata(self.judge),
        }
        score = len(bad) / total if total else 0.0
        hallucinated = bool(bad)
        return EvaluationResult(
            NAME, score=score, label=LABEL_HALLUCINATION if hallucinated else LABEL_GROUNDED,
            assessment="fail" if hallucinated else "pass", explanation=_explain(total, bad), metadata=metadata,
        )


def _explain(total: int, bad: list[tuple[str, str, str, bool]]) -> str:
    if total == 0:
        return "no factual claims"
    if not bad:
        return f"all {total} claims are supported by the context"
    lines = [f"{len(bad)} of {total} claims are not grounded in the context:"]
    for verdict, claim, evidence, found in bad[:EXPLAINED_CLAIMS]:
        line = f'- {verdict}: "{_clip(claim)}"'
        if evidence:
            line += f'; context: "{_clip(evidence)}"' + ("" if found else " (quote not found in the context)")
        else:
            line += "; nothing in the context"
        lines.append(line)
    if len(bad) > EXPLAINED_CLAIMS:
        lines.append(f"- and {len(bad) - EXPLAINED_CLAIMS} more")
    return "\n".join(lines)

