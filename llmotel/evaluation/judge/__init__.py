"""The LLM judge and the checks built on it: :class:`Judge` (``client``: the provider calls, retries and token
accounting), its versioned prompts and reply validation (``prompts``), budget and judge-trace marking
(``budget``), and the judge checks (``checks``, ``hallucination``, ``answer_relevance``, ``prompt_injection``,
``topic_relevancy``, ``toxicity_judge``). The only part of :mod:`llmotel.evaluation` that calls a provider SDK."""

from llmotel.evaluation.judge.budget import JudgeBudgetExceeded, is_judge_trace
from llmotel.evaluation.judge.client import PROVIDERS, Judge
from llmotel.evaluation.judge.prompts import JudgeError, JudgeOutputError, JudgePrompt, JudgePromptError, load_prompt

__all__ = [
    "PROVIDERS",
    "Judge",
    "JudgeBudgetExceeded",
    "JudgeError",
    "JudgeOutputError",
    "JudgePrompt",
    "JudgePromptError",
    "is_judge_trace",
    "load_prompt",
]
