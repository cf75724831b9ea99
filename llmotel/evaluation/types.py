"""What evaluators see and return: :class:`EvaluationInput`, :class:`EvaluationResult`, :class:`Evaluator`.

An ``EvaluationInput`` is read only from a span's GenAI semantic-convention attributes, so evaluators work on
any GenAI span (llmotel's own, another instrumentation's, or one that arrived over OTLP).
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Protocol, runtime_checkable

from llmotel import semconv as sc

#: Labels every built-in uses when it has nothing to judge (too short, no output, ...).
LABEL_SKIPPED = "skipped"


def _json_list(raw: Any) -> list[Any]:
    """A JSON array attribute as a list; anything else (missing, malformed, not an array) as []."""
    if isinstance(raw, str):
        try:
            value = json.loads(raw)
        except ValueError:
            return []
        return value if isinstance(value, list) else []
    return []


def part_text(part: Any) -> str:
    """The text a semconv message part carries: text, reasoning, tool-call arguments or a tool result."""
    if not isinstance(part, Mapping):
        return part if isinstance(part, str) else ""
    kind = part.get("type")
    if kind in ("text", "reasoning", "refusal"):
        value = part.get("content")
        return value if isinstance(value, str) else ""
    if kind == "tool_call":
        value = part.get("arguments")
        return value if isinstance(value, str) else (json.dumps(value) if value is not None else "")
    if kind == "tool_call_response":
        value = part.get("response", part.get("result"))
        return value if isinstance(value, str) else (json.dumps(value) if value is not None else "")
    return ""


def message_text(message: Any, kinds: Sequence[str] = ("text", "refusal")) -> str:
    """The text parts of one semconv message (``{"role", "parts": [...]}``), joined by newlines."""
    if not isinstance(message, Mapping):
        return ""
    parts = message.get("parts")
    if not isinstance(parts, list):
        return ""
    texts = [part_text(p) for p in parts if isinstance(p, Mapping) and p.get("type") in kinds]
    return "\n".join(t for t in texts if t)


@dataclass(frozen=True)
class EvaluationInput:
    """One GenAI call as evaluators see it, extracted from a span's attributes.

    Message lists are in the semconv JSON parts format (``[{"role": ..., "parts": [...]}]``). The ``*_text``
    properties give plain text for checks that only need words.
    """

    span_name: str = ""
    operation: str | None = None
    provider: str | None = None
    request_model: str | None = None
    response_model: str | None = None
    response_id: str | None = None
    system_instructions: list[dict[str, Any]] = field(default_factory=list)
    input_messages: list[dict[str, Any]] = field(default_factory=list)
    output_messages: list[dict[str, Any]] = field(default_factory=list)
    prompt_template: str | None = None
    prompt_variables: Mapping[str, str] = field(default_factory=dict)
    rag_query_variables: tuple[str, ...] = ()
    rag_context_variables: tuple[str, ...] = ()
    retrieval_query: str | None = None
    retrieval_documents: list[dict[str, Any]] = field(default_factory=list)
    attributes: Mapping[str, Any] = field(default_factory=dict)

    @property
    def model(self) -> str | None:
        return self.response_model or self.request_model

    @cached_property
    def system_text(self) -> str:
        """System instructions as text (including system/developer messages among the inputs)."""
        texts = [part_text(p) for p in self.system_instructions]
        texts += [message_text(m) for m in self.input_messages if m.get("role") in ("system", "developer")]
        return "\n".join(t for t in texts if t)

    @cached_property
    def input_text(self) -> str:
        """The last user message's text: what the user asked in this call."""
        for message in reversed(self.input_messages):
            if message.get("role") == "user":
                text = message_text(message)
                if text:
                    return text
        return ""

    @cached_property
    def output_text(self) -> str:
        """The model's answer: the text of every output message, joined."""
        return "\n".join(t for t in (message_text(m) for m in self.output_messages) if t)

    @cached_property
    def output_tool_calls(self) -> list[dict[str, Any]]:
        """Tool-call parts of the output messages."""
        return [
            dict(part) for m in self.output_messages for part in (m.get("parts") or [])
            if isinstance(part, Mapping) and part.get("type") == "tool_call"
        ]

    @cached_property
    def rag_query(self) -> str | None:
        """The RAG query: the annotated query variables' values, else the retrieval query, else None."""
        values = [self.prompt_variables[n] for n in self.rag_query_variables if n in self.prompt_variables]
        if values:
            return "\n".join(values)
        return self.retrieval_query

    @cached_property
    def rag_context(self) -> str | None:
        """The RAG context: the annotated context variables' values, else the retrieval documents, else None."""
        values = [self.prompt_variables[n] for n in self.rag_context_variables if n in self.prompt_variables]
        if values:
            return "\n\n".join(values)
        texts = [str(d["content"]) for d in self.retrieval_documents if isinstance(d.get("content"), str)]
        return "\n\n".join(texts) if texts else None

    @classmethod
    def from_attributes(cls, attributes: Mapping[str, Any], span_name: str = "") -> EvaluationInput:
        """Build the input from GenAI attributes (anything missing or malformed is simply empty)."""
        prefix = sc.GEN_AI_PROMPT_VARIABLE_PREFIX
        variables = {
            key[len(prefix):]: value if isinstance(value, str) else json.dumps(value, default=str)
            for key, value in attributes.items() if key.startswith(prefix)
        }

        def text(key: str) -> str | None:
            value = attributes.get(key)
            return value if isinstance(value, str) and value else None

        def names(key: str) -> tuple[str, ...]:
            value = attributes.get(key)
            return tuple(v for v in value if isinstance(v, str)) if isinstance(value, (list, tuple)) else ()

        def dicts(key: str) -> list[dict[str, Any]]:
            return [m for m in _json_list(attributes.get(key)) if isinstance(m, dict)]

        return cls(
            span_name=span_name,
            operation=text(sc.GEN_AI_OPERATION_NAME),
            provider=text(sc.GEN_AI_PROVIDER_NAME),
            request_model=text(sc.GEN_AI_REQUEST_MODEL),
            response_model=text(sc.GEN_AI_RESPONSE_MODEL),
            response_id=text(sc.GEN_AI_RESPONSE_ID),
            system_instructions=dicts(sc.GEN_AI_SYSTEM_INSTRUCTIONS),
            input_messages=dicts(sc.GEN_AI_INPUT_MESSAGES),
            output_messages=dicts(sc.GEN_AI_OUTPUT_MESSAGES),
            prompt_template=text(sc.LLMOTEL_PROMPT_TEMPLATE),
            prompt_variables=variables,
            rag_query_variables=names(sc.LLMOTEL_PROMPT_RAG_QUERY_VARIABLES),
            rag_context_variables=names(sc.LLMOTEL_PROMPT_RAG_CONTEXT_VARIABLES),
            retrieval_query=text(sc.GEN_AI_RETRIEVAL_QUERY_TEXT),
            retrieval_documents=dicts(sc.GEN_AI_RETRIEVAL_DOCUMENTS),
            attributes=attributes,
        )


@dataclass(frozen=True)
class EvaluationResult:
    """One evaluation of one span; becomes a ``gen_ai.evaluation.result`` event.

    ``label`` is low-cardinality (``match``, ``toxic``, ``skipped``, ...); ``score`` a finite number;
    ``assessment`` ``"pass"`` or ``"fail"``; ``metadata`` small scalars (counts, method, languages) that become
    ``llmotel.evaluation.metadata.<key>`` attributes.
    """

    name: str
    score: float | None = None
    label: str | None = None
    explanation: str | None = None
    assessment: str | None = None
    metadata: Mapping[str, Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        if not isinstance(self.name, str) or not self.name:
            raise ValueError(f"EvaluationResult.name must be a non-empty string, got {self.name!r}")
        if self.score is not None and (
            isinstance(self.score, bool) or not isinstance(self.score, (int, float)) or not math.isfinite(self.score)
        ):
            raise ValueError(f"EvaluationResult.score must be a finite number or None, got {self.score!r}")
        if self.label is not None and not isinstance(self.label, str):
            raise ValueError(f"EvaluationResult.label must be a string or None, got {self.label!r}")
        if self.explanation is not None and not isinstance(self.explanation, str):
            raise ValueError(f"EvaluationResult.explanation must be a string or None, got {self.explanation!r}")
        if self.assessment not in (None, "pass", "fail"):
            raise ValueError(f"EvaluationResult.assessment must be 'pass', 'fail' or None, got {self.assessment!r}")
        if not isinstance(self.metadata, Mapping):
            raise ValueError(f"EvaluationResult.metadata must be a mapping, got {type(self.metadata).__name__}")


EvaluatorOutput = EvaluationResult | Sequence[EvaluationResult] | None

#: the fields of an :class:`EvaluationResult` that may quote user content (string metadata values count)
CONTENT_FIELDS: frozenset[str] = frozenset({"label", "explanation", "metadata"})


def content_fields(evaluator: Any) -> frozenset[str]:
    """The result fields an evaluator says may quote user content: not exported while content capture is off.

    Read from the evaluator's ``content_fields`` attribute (e.g. ``()`` for a check whose labels, explanations and
    metadata only name categories, counts and languages); ``explanation_has_content = False`` (the older
    spelling) declares the whole result free of content. Undeclared: all three, since a custom evaluator may quote
    anything.
    """
    declared = getattr(evaluator, "content_fields", None)
    if declared is not None:
        fields_ = {declared} if isinstance(declared, str) else set(declared)
        unknown = fields_ - CONTENT_FIELDS
        if unknown:
            raise ValueError(f"evaluator {getattr(evaluator, 'name', evaluator)!r}: content_fields may name only "
                             f"{sorted(CONTENT_FIELDS)}, got {sorted(map(str, unknown))}")
        return frozenset(fields_)
    if getattr(evaluator, "explanation_has_content", True) is False:
        return frozenset()
    return CONTENT_FIELDS


@runtime_checkable
class Evaluator(Protocol):
    """A check run on sampled GenAI spans off the caller's thread.

    ``evaluate`` may be a plain or an ``async`` method and returns one result, a list, or None (nothing to
    say). Optional attributes the processor reads: ``timeout`` (seconds, default from settings) and
    ``content_fields`` (which of ``label``, ``explanation``, ``metadata`` may quote user content and so are not
    exported with content capture off; default all three, see :func:`content_fields`), and ``cpu_bound``: ``True``
    for a plain method that only computes, at a bounded cost, and never waits on I/O (the built-in offline checks).
    Such a check runs on the evaluation worker's own thread instead of a pool thread; a call that returns later than
    its timeout is reported as a timeout, but it cannot be cut short. When every evaluator is CPU-bound, one worker
    evaluates (more threads would only contend for the GIL).
    """

    name: str

    def evaluate(self, input: EvaluationInput) -> EvaluatorOutput | Awaitable[EvaluatorOutput]: ...
