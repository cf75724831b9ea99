"""Experiment evaluators: every kind of evaluator behind one interface.

- functions ``f(input_data, output_data, expected_output)`` (Datadog's signature, sync or async) returning a
  bool, number, string, dict/list or :class:`EvaluatorResult`, and the reference checks of
  :mod:`llmotel.experiments.checks`;
- every evaluator ``enable(evaluators=[...])`` takes, by name or object (``language_mismatch``, ``toxicity``,
  ``hallucination``, ``answer_relevance``, ``pii``, custom :class:`llmotel.evaluation.Evaluator` objects): they
  run through the same code as on live spans, fed an :class:`~llmotel.evaluation.EvaluationInput` built from
  the task's last LLM span when it made LLM calls, else from the record (input, output, context fields).
"""

from __future__ import annotations

import dataclasses
import inspect
import json
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmotel import semconv as sc
from llmotel.errors import ConfigurationError
from llmotel.evaluation.types import LABEL_SKIPPED, EvaluationInput, EvaluationResult
from llmotel.experiments import checks
from llmotel.experiments.dataset import Record
from llmotel.experiments.tracing import LlmCall
from llmotel.experiments.values import MetricValue, kind_of

PII = "pii"


@dataclass
class Case:
    """What evaluators see of one record x run: the record, the task's output and its LLM calls' attributes."""

    record: Record
    output: Any
    llm_calls: Sequence[LlmCall] = ()
    context_fields: Sequence[str] = ()
    question_field: str | None = None
    _input: EvaluationInput | None = field(default=None, repr=False)

    def evaluation_input(self) -> EvaluationInput:
        """The task's last LLM call (when its content was captured), else the record, with the record's context."""
        if self._input is None:
            self._input = _with_context(self._from_span() or self._from_record(), self._context())
        return self._input

    def _context(self) -> str | None:
        texts = []
        for name in self.context_fields:
            for source in (self.record.input_data, self.record.metadata):
                if isinstance(source, Mapping) and source.get(name) is not None:
                    texts.append(checks.as_text(source[name]))
                    break
        return "\n\n".join(texts) if texts else None

    def _from_span(self) -> EvaluationInput | None:
        for call in reversed(self.llm_calls):
            if call.attributes.get(sc.GEN_AI_OUTPUT_MESSAGES) or call.attributes.get(sc.GEN_AI_INPUT_MESSAGES):
                return EvaluationInput.from_attributes(call.attributes, call.name)
        return None

    def _from_record(self) -> EvaluationInput:
        question = checks.question_text(self.record.input_data, self.question_field)
        answer = checks.as_text(self.output) if self.output is not None else ""
        return EvaluationInput(
            span_name="experiment",
            input_messages=[{"role": "user", "parts": [{"type": "text", "content": question}]}],
            output_messages=[{"role": "assistant", "parts": [{"type": "text", "content": answer}],
                              "finish_reason": "stop"}],
            prompt_variables={"question": question}, rag_query_variables=("question",),
        )


def _with_context(input: EvaluationInput, context: str | None) -> EvaluationInput:
    if context is None:
        return input
    variables = {**input.prompt_variables, "llmotel_record_context": context}
    query = input.rag_query
    if query is None and input.input_text:
        variables["llmotel_record_question"] = input.input_text
    return dataclasses.replace(
        input, prompt_variables=variables, rag_context_variables=("llmotel_record_context",),
        rag_query_variables=input.rag_query_variables if query is not None else ("llmotel_record_question",),
    )


def _is_async(fn: Any) -> bool:
    return inspect.iscoroutinefunction(fn) or inspect.iscoroutinefunction(getattr(fn, "__call__", None))  # noqa: B004


class FunctionEvaluator:
    """``f(input_data, output_data, expected_output)``: one value named after the function."""

    def __init__(self, fn: Callable[..., Any], name: str) -> None:
        self.fn = fn
        self.name = name
        self.is_async = _is_async(fn)

    def evaluate(self, case: Case) -> list[MetricValue] | Awaitable[list[MetricValue]]:
        output = self.fn(case.record.input_data, case.output, case.record.expected_output)
        if inspect.isawaitable(output):
            return self._awaited(output)
        return [MetricValue.of(self.name, output)]

    async def _awaited(self, output: Awaitable[Any]) -> list[MetricValue]:
        return [MetricValue.of(self.name, await output)]


class CheckEvaluator:
    """An :class:`llmotel.evaluation.Evaluator` (the live-span checks): one value per result it returns."""

    def __init__(self, evaluator: Any) -> None:
        self.evaluator = evaluator
        self.name: str = evaluator.name
        self.is_async = inspect.iscoroutinefunction(evaluator.evaluate)
        #: the check declares its explanations free of user text: exported even with content capture off
        self.safe_reasoning = getattr(evaluator, "explanation_has_content", True) is False

    def evaluate(self, case: Case) -> list[MetricValue] | Awaitable[list[MetricValue]]:
        output = self.evaluator.evaluate(case.evaluation_input())
        if inspect.isawaitable(output):
            return self._awaited(output)
        return self._values(output)

    async def _awaited(self, output: Awaitable[Any]) -> list[MetricValue]:
        return self._values(await output)

    def _values(self, output: Any) -> list[MetricValue]:
        if output is None:
            return []
        results = [output] if isinstance(output, EvaluationResult) else list(output)
        if not all(isinstance(r, EvaluationResult) for r in results):
            raise TypeError(f"evaluator {self.name!r} returned {type(output).__name__}, not EvaluationResult(s)")
        return [check_value(r, self.safe_reasoning) for r in results]


def check_value(result: EvaluationResult, safe_reasoning: bool = False) -> MetricValue:
    """A live-span check's result as a metric value: its score, else its label; ``skipped`` counts as no value."""
    value: Any = result.score if result.score is not None else result.label
    if result.score is None and result.label == LABEL_SKIPPED:
        value = None
    return MetricValue(result.name, value, kind_of(value), result.explanation, result.assessment,
                       label=result.label, metadata=dict(result.metadata), reasoning_is_safe=safe_reasoning)


class PiiCheck:
    """``pii``: counts personal data in the output with the configured PII redactor (never reports values)."""

    name = PII
    explanation_has_content = False

    def __init__(self, redactor: Any) -> None:
        self.redactor = redactor

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        _, found = self.redactor.redact(input.output_text)
        total = sum(found.values())
        return EvaluationResult(
            PII, score=float(total), label="detected" if total else "none", assessment="fail" if total else "pass",
            explanation=(", ".join(f"{n} {entity}" for entity, n in sorted(found.items())) + " found")
            if total else "no PII found",
            metadata=dict(found),
        )


Evaluatorish = FunctionEvaluator | CheckEvaluator


def build(items: Sequence[Any], settings: Any = None) -> list[Evaluatorish]:
    """Experiment evaluators from names, functions and evaluator objects; names must be distinct."""
    from llmotel.evaluation import builtin

    out: list[Evaluatorish] = []
    live_names: list[str] = []
    for item in items:
        if isinstance(item, str):
            if item in checks.BY_NAME:
                out.append(FunctionEvaluator(checks.BY_NAME[item], item))
            elif item == PII:
                out.append(CheckEvaluator(PiiCheck(builtin.pii_redactor(settings))))
            elif item in builtin.BUILTIN or item in builtin.JUDGE_CHECKS:
                live_names.append(item)
                out.append(None)  # type: ignore[arg-type]  # filled below, in order
            else:
                accepted = sorted({*checks.BY_NAME, PII, *builtin.BUILTIN, *builtin.JUDGE_CHECKS})
                raise ConfigurationError("evaluators", item, accepted)
        elif callable(getattr(item, "evaluate", None)) and isinstance(getattr(item, "name", None), str):
            out.append(CheckEvaluator(item))
        elif callable(item):
            name = getattr(item, "name", None) or getattr(item, "__name__", None)
            if not isinstance(name, str) or not name or name == "<lambda>":
                raise ConfigurationError("evaluators", item, "functions with a name (give lambdas a .name)")
            out.append(FunctionEvaluator(item, name))
        else:
            raise ConfigurationError("evaluators", item, "evaluator names, functions or Evaluator objects")
    if live_names:
        built = iter(builtin.evaluators(live_names, settings))
        out = [e if e is not None else CheckEvaluator(next(built)) for e in out]
    names = [e.name for e in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError("evaluators", duplicates[0], "evaluators with distinct names (pass name=...)")
    return out


def summary_name(fn: Callable[..., Any]) -> str:
    name = getattr(fn, "name", None) or getattr(fn, "__name__", None)
    if not isinstance(name, str) or not name or name == "<lambda>":
        raise ConfigurationError("summary_evaluators", fn, "functions with a name")
    return name


def json_text(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
