"""Evaluation of GenAI spans: the evaluator API, the evaluating span processor and sampling rules.

Built-in checks live in their own modules (``language``, ``sentiment``, ``failure_to_answer``, ``toxicity``,
``pii``) and load their models only when used; ``llmotel.enable(evaluators=[...])`` builds them by name.
"""

from llmotel.evaluation.processor import EvaluatingSpanProcessor
from llmotel.evaluation.sampling import SamplingRule
from llmotel.evaluation.types import EvaluationInput, EvaluationResult, Evaluator

__all__ = ["EvaluatingSpanProcessor", "EvaluationInput", "EvaluationResult", "Evaluator", "SamplingRule"]
