"""Evaluation of GenAI spans: the evaluator API, the evaluating span processor and sampling rules.

Built-in checks live in their own modules (offline: ``language``, ``sentiment``, ``failure_to_answer``,
``toxicity``, ``pii``; LLM judge: ``hallucination``, ``toxicity_judge``, ``prompt_injection``, ``topic_relevancy``,
``answer_relevance`` on a :class:`Judge`); ``llmotel.enable(evaluators=[...])`` builds them by name.
"""

from llmotel.evaluation.judge import Judge, JudgeBudgetExceeded, JudgeError, JudgeOutputError, JudgePrompt, load_prompt
from llmotel.evaluation.processor import EvaluatingSpanProcessor
from llmotel.evaluation.sampling import SamplingRule
from llmotel.evaluation.types import EvaluationInput, EvaluationResult, Evaluator

__all__ = [
    "EvaluatingSpanProcessor",
    "EvaluationInput",
    "EvaluationResult",
    "Evaluator",
    "Judge",
    "JudgeBudgetExceeded",
    "JudgeError",
    "JudgeOutputError",
    "JudgePrompt",
    "SamplingRule",
    "load_prompt",
]
