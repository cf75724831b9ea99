"""Experiment traces: one root span ``experiment {name}`` per record x run (or per block run), the LLM spans
that ran beneath it, and what the run log keeps of them (prompts, models, the conversation).

The LLM spans come from llmotel's own instrumentation on ``enable()``'s tracer provider; a small span
processor on that provider hands the model-call spans of the traces experiments are watching to them.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import weakref
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor, TracerProvider
from opentelemetry.trace import SpanKind, Status, StatusCode

from llmotel import semconv as sc
from llmotel.content import Truncator, to_json
from llmotel.evaluation.processor import result_attributes
from llmotel.evaluation.types import EvaluationInput, EvaluationResult
from llmotel.feedback import evaluation_attributes

#: LLM calls kept per trace for evaluators and the run log (tokens are counted for all of them)
MAX_CALLS_PER_TRACE = 256
_RUN_LOG_TEXT = 20_000  # characters of a system prompt or template kept in the run log


@dataclass
class LlmCall:
    """One model call (LLM span) that ran inside an experiment trace."""

    name: str
    attributes: Mapping[str, Any]

    @property
    def input_tokens(self) -> int:
        value = self.attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
        return value if isinstance(value, int) else 0

    @property
    def output_tokens(self) -> int:
        value = self.attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)
        return value if isinstance(value, int) else 0

    @property
    def model_key(self) -> tuple[str, str]:
        """(provider, model) the call is billed as: the response's model, else the requested one."""
        a = self.attributes
        provider = a.get(sc.GEN_AI_PROVIDER_NAME)
        model = a.get(sc.GEN_AI_RESPONSE_MODEL) or a.get(sc.GEN_AI_REQUEST_MODEL)
        return (provider if isinstance(provider, str) else "", model if isinstance(model, str) else "")


@dataclass
class TraceCalls:
    """The model calls of one watched trace."""

    calls: list[LlmCall] = field(default_factory=list)
    count: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    usage: dict[tuple[str, str], list[int]] = field(default_factory=dict)
    """(provider, model) -> [input tokens, output tokens, calls]"""

    def add(self, call: LlmCall) -> None:
        self.count += 1
        self.input_tokens += call.input_tokens
        self.output_tokens += call.output_tokens
        used = self.usage.setdefault(call.model_key, [0, 0, 0])
        used[0] += call.input_tokens
        used[1] += call.output_tokens
        used[2] += 1
        if len(self.calls) < MAX_CALLS_PER_TRACE:
            self.calls.append(call)


class CallCollector(SpanProcessor):
    """Hands the model-call spans of watched traces to the experiment running them (others cost a dict lookup)."""

    def __init__(self) -> None:
        self._watched: dict[int, TraceCalls] = {}
        self._lock = threading.Lock()

    def watch(self, trace_id: int) -> TraceCalls:
        calls = TraceCalls()
        if trace_id:
            with self._lock:
                self._watched[trace_id] = calls
        return calls

    def release(self, trace_id: int) -> None:
        with self._lock:
            self._watched.pop(trace_id, None)

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        calls = self._watched.get(context.trace_id) if context is not None else None
        if calls is None:
            return
        attributes = span.attributes or {}
        if attributes.get(sc.GEN_AI_OPERATION_NAME) in sc.MODEL_OPERATIONS:
            with self._lock:
                calls.add(LlmCall(span.name, dict(attributes)))


_collectors: weakref.WeakKeyDictionary[TracerProvider, CallCollector] = weakref.WeakKeyDictionary()
_collectors_lock = threading.Lock()


def _tracer_provider() -> Any:
    from llmotel import _setup

    state = getattr(_setup, "_enabled", None)  # enable()'s provider (it may not be the global one)
    return state.tracer_provider if state is not None else trace.get_tracer_provider()


def ensure_enabled() -> None:
    """Enable llmotel from the environment when the application has not (console summary off by default):
    the task's LLM calls are then traced under the experiment's spans."""
    from llmotel import _setup
    from llmotel.config import ExportOptions

    if _setup.current_settings() is None:
        _setup.enable(export=ExportOptions(console=None if "LLMOTEL_CONSOLE" in os.environ else False))


def collector() -> CallCollector:
    """The collector on the active tracer provider (added once per provider)."""
    provider = _tracer_provider()
    with _collectors_lock:
        found = _collectors.get(provider) if isinstance(provider, TracerProvider) else None
        if found is None:
            found = CallCollector()
            if isinstance(provider, TracerProvider):
                provider.add_span_processor(found)
                _collectors[provider] = found
        return found


def capture_content() -> bool:
    from llmotel import _setup

    return _setup.effective_settings().capture_content


def truncator() -> Truncator:
    """Cuts content to the active settings' ``max_content_length``."""
    from llmotel import _setup

    settings = _setup.effective_settings()
    return Truncator(settings.max_content_length, settings.max_blob_length)


def content_text(value: Any, cut: Truncator | None = None) -> str:
    """A value as JSON (strings as they are), cut to ``max_content_length``."""
    return (cut or truncator()).text(value if isinstance(value, str) else to_json(value))


def start_root(name: str, attributes: Mapping[str, Any]) -> trace.Span:
    """The root span of one record x run (a new trace, whatever span is current)."""
    from llmotel import _setup

    return _setup.manual_tracer().start_span(
        f"experiment {name}", context=otel_context.Context(), kind=SpanKind.INTERNAL,
        attributes={sc.LLMOTEL_SPAN_KIND: "experiment", **attributes},
    )


@contextmanager
def current(span: trace.Span) -> Iterator[None]:
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        yield
    finally:
        otel_context.detach(token)


def fail(span: trace.Span, exc: BaseException) -> None:
    span.set_attribute(sc.ERROR_TYPE, type(exc).__qualname__)
    span.record_exception(exc)
    span.set_status(Status(StatusCode.ERROR, f"{type(exc).__qualname__}: {exc}"[:500]))


def trace_ids(span: trace.Span) -> tuple[int, str | None, str | None]:
    context = span.get_span_context()
    if not context.is_valid:
        return 0, None, None
    return context.trace_id, format(context.trace_id, "032x"), format(context.span_id, "016x")


# --- the run log --------------------------------------------------------------------------------------------------


def _text(value: str | None) -> str | None:
    return value[:_RUN_LOG_TEXT] if value else None


def prompt_entry(call: LlmCall) -> dict[str, Any] | None:
    """The prompt a call was annotated with: name, version and template (with content capture on)."""
    a = call.attributes
    name, version, template = a.get(sc.GEN_AI_PROMPT_NAME), a.get(sc.GEN_AI_PROMPT_VERSION), a.get(
        sc.LLMOTEL_PROMPT_TEMPLATE)
    if not (name or version or template):
        return None
    return {"name": name, "version": version, "template": _text(template if isinstance(template, str) else None)}


def model_entry(call: LlmCall) -> dict[str, Any]:
    """Which model a call used, with which temperature and system prompt."""
    a = call.attributes
    request = EvaluationInput.from_attributes(a, call.name)
    return {"provider": request.provider, "request_model": request.request_model,
            "response_model": request.response_model, "temperature": a.get(sc.GEN_AI_REQUEST_TEMPERATURE),
            "system_prompt": _text(request.system_text)}


def call_entry(call: LlmCall) -> dict[str, Any]:
    """One call of the conversation: model, settings, prompt, messages in and out, tokens."""
    a = call.attributes
    request = EvaluationInput.from_attributes(a, call.name)
    prompt = prompt_entry(call)
    return {**model_entry(call), "operation": request.operation,
            "prompt": {"name": prompt["name"], "version": prompt["version"]} if prompt else None,
            "system_instructions": request.system_instructions, "input_messages": request.input_messages,
            "output_messages": request.output_messages, "input_tokens": call.input_tokens,
            "output_tokens": call.output_tokens}


def entry_key(kind: str, entry: Mapping[str, Any]) -> str:
    return kind + ":" + hashlib.sha256(json.dumps(entry, sort_keys=True, default=str).encode()).hexdigest()[:20]


class RunLog:
    """The distinct prompts and models of one run (and, for block runs, the conversation), numbered in order."""

    def __init__(self, seen: Sequence[Mapping[str, Any]] = ()) -> None:
        self._seen = {entry_key(str(e["kind"]), e["entry"]) for e in seen}
        self._seq = max((int(e["seq"]) for e in seen), default=-1) + 1
        self._lock = threading.Lock()

    def new_entries(self, calls: Sequence[LlmCall], conversation: bool = False) -> list[tuple[int, str, Any]]:
        """Entries for prompts and models not seen before in this run, plus each call when ``conversation``."""
        candidates: list[tuple[str, Any]] = []
        for call in calls:
            prompt = prompt_entry(call)
            if prompt is not None:
                candidates.append(("prompt", prompt))
            candidates.append(("model", model_entry(call)))
        out = []
        with self._lock:
            for kind, entry in candidates:
                key = entry_key(kind, entry)
                if key not in self._seen:
                    self._seen.add(key)
                    out.append((self._seq, kind, entry))
                    self._seq += 1
            for call in calls if conversation else ():
                out.append((self._seq, "call", call_entry(call)))
                self._seq += 1
        return out


# --- evaluation events --------------------------------------------------------------------------------------------

_METRIC_TYPES = {"boolean": "boolean", "score": "score", "categorical": "categorical"}


def evaluation_event(value: Any, keep_reasoning: bool) -> dict[str, Any]:
    """The ``gen_ai.evaluation.result`` attributes of one experiment value (a ``MetricValue``).

    Values of live-span checks are rendered by the evaluating processor's own function; plain values like
    ``submit_evaluation``'s. Reasoning and JSON values may quote content: kept only when ``keep_reasoning``.
    """
    if value.error_type is not None:
        return {sc.GEN_AI_EVALUATION_NAME: value.name, sc.ERROR_TYPE: value.error_type,
                sc.LLMOTEL_EVALUATION_SOURCE: "experiment"}
    if value.label is not None:  # a live-span check's result
        score = float(value.value) if value.kind == "score" else None
        result = EvaluationResult(value.name, score=score, label=value.label, explanation=value.reasoning,
                                  assessment=value.assessment, metadata=value.metadata)
        attrs = result_attributes(result, None, frozenset() if keep_reasoning else frozenset({"explanation"}))
    elif value.kind in _METRIC_TYPES:
        attrs = evaluation_attributes(value.name, _METRIC_TYPES[value.kind], value.value,
                                      value.reasoning if keep_reasoning else None, value.assessment, value.tags)
    else:  # JSON, or no value
        attrs = {sc.GEN_AI_EVALUATION_NAME: value.name}
        if value.kind is not None and keep_reasoning:
            attrs[sc.LLMOTEL_EVALUATION_VALUE] = to_json(value.value)
        if value.reasoning is not None and keep_reasoning:
            attrs[sc.GEN_AI_EVALUATION_EXPLANATION] = value.reasoning
        if value.assessment is not None:
            attrs[sc.LLMOTEL_EVALUATION_ASSESSMENT] = value.assessment
    attrs[sc.LLMOTEL_EVALUATION_SOURCE] = "experiment"
    return attrs
