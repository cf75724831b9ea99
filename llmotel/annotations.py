"""``annotation_context`` (prompt, name, tags, metadata for LLM spans started inside) and ``annotate``.

Annotations live in the OpenTelemetry Context, so they follow ``contextvars``: asyncio tasks, and threads
started with ``contextvars.copy_context().run`` (e.g. ``executor.submit(ctx.run, fn)``), see them.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from types import TracebackType
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import trace

from llmotel import openinference
from llmotel import semconv as sc
from llmotel.content import (
    Truncator,
    as_text,
    keep_private_content,
    message,
    output_message,
    text_part,
    to_json,
    tool_call_part,
)
from llmotel.errors import AnnotationError
from llmotel.prompt import Prompt

_KEY = otel_context.create_key("llmotel.annotations")

_KIND_BY_OPERATION = {
    sc.OP_EMBEDDINGS: "embedding",
    sc.OP_RETRIEVAL: "retrieval",
    sc.OP_EXECUTE_TOOL: "tool",
    sc.OP_INVOKE_AGENT: "agent",
    sc.OP_INVOKE_WORKFLOW: "workflow",
}


def normalize_tags(tags: Mapping[str, str] | Sequence[str] | None) -> dict[str, str]:
    """Tags as a dict: ``{"team": "ml"}`` stays; ``["team:ml", "beta"]`` becomes ``{"team": "ml", "beta": ""}``."""
    if tags is None:
        return {}
    if isinstance(tags, Mapping):
        if not all(isinstance(k, str) and k and isinstance(v, str) for k, v in tags.items()):
            raise AnnotationError(f"tags must map non-empty strings to strings, got {tags!r}")
        return dict(tags)
    if isinstance(tags, str) or not all(isinstance(t, str) and t for t in tags):
        raise AnnotationError(f"tags must be a mapping or a list of 'key:value' strings, got {tags!r}")
    out = {}
    for tag in tags:
        key, _, value = tag.partition(":")
        out[key] = value
    return out


def tag_list(tags: Mapping[str, str]) -> list[str]:
    return [f"{k}:{v}" if v else k for k, v in tags.items()]


def _metadata_attributes(metadata: Mapping[str, Any] | None) -> dict[str, Any]:
    if metadata is None:
        return {}
    if not isinstance(metadata, Mapping) or not all(isinstance(k, str) and k for k in metadata):
        raise AnnotationError(f"metadata must be a mapping with non-empty string keys, got {metadata!r}")
    return {sc.LLMOTEL_METADATA_PREFIX + k: v if isinstance(v, (str, bool, int, float)) else to_json(v)
            for k, v in metadata.items()}


def _compat_openinference() -> bool:
    from llmotel._setup import effective_settings  # not at import time: _setup imports this module's users

    return openinference.enabled(effective_settings().compat)


def prompt_attributes(prompt: Prompt, capture_content: bool, compat: bool = False) -> dict[str, Any]:
    """What a prompt puts on a span; the template and variable values only with content capture on.

    ``compat``: also the OpenInference prompt template attributes (``compat=["openinference"]``).
    """
    attrs: dict[str, Any] = {
        sc.LLMOTEL_PROMPT_RAG_QUERY_VARIABLES: list(prompt.rag_query_variables),
        sc.LLMOTEL_PROMPT_RAG_CONTEXT_VARIABLES: list(prompt.rag_context_variables),
    }
    if prompt.id:
        attrs[sc.GEN_AI_PROMPT_NAME] = prompt.id
    if prompt.version:
        attrs[sc.GEN_AI_PROMPT_VERSION] = prompt.version
    if prompt.tags:
        attrs[sc.LLMOTEL_PROMPT_TAGS] = tag_list(prompt.tags)
    if capture_content:
        if prompt.template_text is not None:
            attrs[sc.LLMOTEL_PROMPT_TEMPLATE] = prompt.template_text
        for key, value in prompt.variable_text.items():
            attrs[sc.GEN_AI_PROMPT_VARIABLE_PREFIX + key] = value
    if compat:
        attrs.update(openinference.prompt_attributes(prompt.template_text, prompt.variable_text, prompt.version,
                                                     capture_content))
    return attrs


@dataclass(frozen=True)
class Annotations:
    """The merged annotations in effect; LLM spans started while it is current carry its attributes."""

    prompt: Prompt | None = None
    name: str | None = None
    tags: Mapping[str, str] = field(default_factory=dict)
    metadata: Mapping[str, Any] = field(default_factory=dict)
    _cache: dict[tuple[bool, bool], dict[str, Any]] = field(default_factory=dict, compare=False, repr=False)

    def inside(self, outer: Annotations | None) -> Annotations:
        """These annotations nested in ``outer``: inner values win, tags and metadata merge."""
        if outer is None:
            return self
        return Annotations(
            prompt=self.prompt or outer.prompt,
            name=self.name or outer.name,
            tags={**outer.tags, **self.tags},
            metadata={**outer.metadata, **self.metadata},
        )

    def span_attributes(self, capture_content: bool) -> dict[str, Any]:
        """Attributes for an LLM span (computed once per context, capture and compat setting)."""
        key = (capture_content, _compat_openinference() if self.prompt is not None else False)
        cached = self._cache.get(key)
        if cached is None:
            cached = _metadata_attributes(self.metadata)
            if self.tags:
                cached[sc.LLMOTEL_TAGS] = tag_list(self.tags)
            if self.prompt is not None:
                cached.update(prompt_attributes(self.prompt, capture_content, key[1]))
            self._cache[key] = cached
        return cached


def current_annotations(context: otel_context.Context | None = None) -> Annotations | None:
    """The annotations of ``context`` (default: the current context), if any (used when an LLM span starts)."""
    value = (otel_context.get_current() if context is None else context).get(_KEY)
    return value if isinstance(value, Annotations) else None


class annotation_context:
    """Annotate every LLM span started inside (sync ``with`` and ``async with``).

    ``prompt`` (a :class:`Prompt`) adds the prompt name, version, template, variables and the RAG
    query/context variable names; ``name`` overrides the span name; ``tags`` and ``metadata`` are added as
    ``llmotel.tags`` and ``llmotel.metadata.<key>``. Nested contexts merge; the inner one wins.
    """

    def __init__(
        self,
        prompt: Prompt | None = None,
        name: str | None = None,
        tags: Mapping[str, str] | Sequence[str] | None = None,
        metadata: Mapping[str, Any] | None = None,
    ) -> None:
        if prompt is not None and not isinstance(prompt, Prompt):
            raise AnnotationError(f"prompt must be an llmotel.Prompt, got {type(prompt).__name__}")
        if name is not None and (not isinstance(name, str) or not name):
            raise AnnotationError(f"name must be a non-empty string, got {name!r}")
        _metadata_attributes(metadata)  # validate now, not when a span starts
        self._annotations = Annotations(prompt, name, normalize_tags(tags), dict(metadata or {}))
        self._tokens: list[object] = []

    def __enter__(self) -> Annotations:
        merged = self._annotations.inside(current_annotations())
        self._tokens.append(otel_context.attach(otel_context.set_value(_KEY, merged)))
        return merged

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        otel_context.detach(self._tokens.pop())  # type: ignore[arg-type]

    async def __aenter__(self) -> Annotations:
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.__exit__(exc_type, exc, tb)


# --- annotate() ---------------------------------------------------------------------------------------------------


def span_kind(attributes: Mapping[str, Any]) -> str:
    """``llm``, ``embedding``, ``retrieval``, ``tool``, ``agent``, ``workflow``, ``task`` or ``other``."""
    kind = attributes.get(sc.LLMOTEL_SPAN_KIND)
    if isinstance(kind, str):
        return kind
    operation = attributes.get(sc.GEN_AI_OPERATION_NAME)
    if operation in sc.LLM_OPERATIONS:
        return "llm"
    return _KIND_BY_OPERATION.get(operation, "other")  # type: ignore[arg-type]


_DEFAULT_FINISH_REASON = sc.FINISH_STOP  # an answer the application recorded by hand: it finished
_INVOCATION_KINDS = frozenset({"workflow", "agent"})  # their input and output are also GenAI messages


def _messages(value: Any, default_role: str, cut: Truncator, argument: str) -> list[dict[str, Any]]:
    """Messages from ``annotate(input=/output=)``; output messages carry a ``finish_reason`` (the item's own
    ``finish_reason`` when it is a string, else ``stop``), as the output-message schema requires."""
    expected = (f"{argument} of an llm span must be a string, a message dict or a list of "
                "{role, content, tool_calls?, finish_reason?}")
    is_output = argument == "output"

    def build(role: Any, parts: list[dict[str, Any]], name: Any = None, reason: Any = None) -> dict[str, Any]:
        if not is_output:
            return message(role, parts, name)
        built = output_message(role, parts, reason if isinstance(reason, str) else _DEFAULT_FINISH_REASON)
        if isinstance(name, str) and name:
            built["name"] = name
        return built

    if isinstance(value, str):
        return [build(default_role, [text_part(value, cut)])]
    if isinstance(value, Mapping):
        value = [value]
    if not isinstance(value, Sequence) or isinstance(value, (bytes, str)):
        raise AnnotationError(f"{expected}, got {type(value).__name__}")
    out = []
    for item in value:
        if isinstance(item, str):
            out.append(build(default_role, [text_part(item, cut)]))
            continue
        if not isinstance(item, Mapping) or ("content" not in item and "tool_calls" not in item):
            raise AnnotationError(f"{expected}, got an item {item!r}")
        parts = []
        if item.get("content") is not None:
            parts.append(text_part(as_text(item["content"]), cut))
        for call in item.get("tool_calls") or ():
            if not isinstance(call, Mapping):
                raise AnnotationError(f"tool_calls items must be dicts with id/name/arguments, got {call!r}")
            function = call.get("function")
            fn: Mapping[str, Any] = function if isinstance(function, Mapping) else call
            parts.append(tool_call_part(call.get("id"), fn.get("name"), fn.get("arguments"), cut))
        out.append(build(item.get("role") or default_role, parts, item.get("name"), item.get("finish_reason")))
    return out


def documents_attribute(documents: Any, capture_content: bool, cut: Truncator) -> str:
    """``gen_ai.retrieval.documents``: ``[{id, score, name?, content?}]`` from ``[{text, id?, name?, score?}]``."""
    expected = "documents must be a list of {'text': str, 'id'?: str, 'name'?: str, 'score'?: number}"
    if not isinstance(documents, Sequence) or isinstance(documents, (str, bytes)):
        raise AnnotationError(f"{expected}, got {type(documents).__name__}")
    out = []
    for doc in documents:
        if not isinstance(doc, Mapping) or not isinstance(doc.get("text"), str):
            raise AnnotationError(f"{expected}, got an item {doc!r}")
        score = doc.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, (int, float))):
            raise AnnotationError(f"document score must be a number, got {score!r}")
        entry: dict[str, Any] = {"id": doc.get("id"), "score": score}
        if doc.get("name") is not None:
            entry["name"] = doc["name"]
        if capture_content:
            entry["content"] = cut.text(doc["text"])
        out.append(entry)
    return to_json(out)


def _metric_attributes(metrics: Mapping[str, Any]) -> dict[str, Any]:
    if not isinstance(metrics, Mapping):
        raise AnnotationError(f"metrics must be a mapping of names to numbers, got {type(metrics).__name__}")
    out = {}
    for key, value in metrics.items():
        number = isinstance(value, (int, float)) and not isinstance(value, bool)
        if not isinstance(key, str) or not key or not number or not math.isfinite(value):
            raise AnnotationError(f"metrics must map names to finite numbers, got {key!r}: {value!r}")
        out[sc.LLMOTEL_METRIC_PREFIX + key] = value
    return out


def annotate(
    span: trace.Span | None = None,
    input: Any = None,
    output: Any = None,
    metadata: Mapping[str, Any] | None = None,
    metrics: Mapping[str, float] | None = None,
    tags: Mapping[str, str] | Sequence[str] | None = None,
    prompt: Prompt | None = None,
    documents: Sequence[Mapping[str, Any]] | None = None,
    tool_definitions: Sequence[Mapping[str, Any]] | None = None,
) -> None:
    """Annotate the current span (or ``span``).

    On ``llm`` spans ``input``/``output`` are messages (str, dict, or list of ``{role, content, tool_calls?}``);
    on ``retrieval`` spans ``input`` is the query and ``output`` (or ``documents``) the retrieved documents
    (``{text, id?, name?, score?}``); on ``tool`` spans they are the call's arguments and result; elsewhere
    any JSON-serialisable value. Content (input, output, document text, prompt variables, tool definitions)
    is recorded only with content capture on. Raises :class:`AnnotationError` for a wrong shape or an ended
    span; with tracing off (no recording span) it validates and does nothing.
    """
    from llmotel._setup import effective_settings

    target = span if span is not None else trace.get_current_span()
    existing: Mapping[str, Any] = getattr(target, "attributes", None) or {}
    settings = effective_settings()
    capture = settings.capture_content
    compat = openinference.enabled(settings.compat)
    cut = Truncator(settings.recorded_text_limit, settings.max_blob_length)
    kind = span_kind(existing)
    attrs: dict[str, Any] = {}
    if kind == "llm":
        if input is not None:
            attrs[sc.GEN_AI_INPUT_MESSAGES] = to_json(_messages(input, "user", cut, "input"))
        if output is not None:
            attrs[sc.GEN_AI_OUTPUT_MESSAGES] = to_json(_messages(output, "assistant", cut, "output"))
    elif kind == "retrieval":
        if input is not None:
            if not isinstance(input, str):
                raise AnnotationError(f"input of a retrieval span is the query string, got {type(input).__name__}")
            attrs[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] = cut.text(input)
        docs = documents if documents is not None else output
        if docs is not None:
            attrs[sc.GEN_AI_RETRIEVAL_DOCUMENTS] = documents_attribute(docs, capture, cut)
    else:
        in_key, out_key = ((sc.GEN_AI_TOOL_CALL_ARGUMENTS, sc.GEN_AI_TOOL_CALL_RESULT) if kind == "tool"
                           else (sc.LLMOTEL_SPAN_INPUT, sc.LLMOTEL_SPAN_OUTPUT))
        if input is not None:
            attrs[in_key] = cut.text(as_text(input))
            if kind in _INVOCATION_KINDS:
                attrs[sc.GEN_AI_INPUT_MESSAGES] = to_json([message("user", [text_part(attrs[in_key], cut)])])
        if output is not None:
            attrs[out_key] = cut.text(as_text(output))
            if kind in _INVOCATION_KINDS:
                attrs[sc.GEN_AI_OUTPUT_MESSAGES] = to_json(
                    [output_message("assistant", [text_part(attrs[out_key], cut)], _DEFAULT_FINISH_REASON)])
        if documents is not None:
            attrs[sc.GEN_AI_RETRIEVAL_DOCUMENTS] = documents_attribute(documents, capture, cut)
        if compat and kind != "other":
            for direction, value, key in (("input", input, in_key), ("output", output, out_key)):
                if value is not None:
                    attrs.update(openinference.io_attributes(direction, attrs[key], not isinstance(value, str)))
    if not capture:
        kept = {k: v for k, v in attrs.items() if k == sc.GEN_AI_RETRIEVAL_DOCUMENTS}
        if settings.evaluates_content and target.is_recording():  # for the evaluators only, never exported
            keep_private_content(target, {k: v for k, v in attrs.items() if k not in kept})
        attrs = kept
    if tool_definitions is not None:
        if not isinstance(tool_definitions, Sequence) or not all(isinstance(t, Mapping) for t in tool_definitions):
            raise AnnotationError("tool_definitions must be a list of dicts ({type?, name, description?, parameters?})")
        if capture:
            attrs[sc.GEN_AI_TOOL_DEFINITIONS] = to_json(list(tool_definitions))
    if prompt is not None:
        if not isinstance(prompt, Prompt):
            raise AnnotationError(f"prompt must be an llmotel.Prompt, got {type(prompt).__name__}")
        attrs.update(prompt_attributes(prompt, capture, compat))
    attrs.update(_metadata_attributes(metadata))
    if metrics is not None:
        attrs.update(_metric_attributes(metrics))
    if tags is not None:
        current = normalize_tags([t for t in existing.get(sc.LLMOTEL_TAGS, ()) if isinstance(t, str) and t])
        attrs[sc.LLMOTEL_TAGS] = tag_list({**current, **normalize_tags(tags)})
    if cut.truncated:
        attrs[sc.LLMOTEL_CONTENT_TRUNCATED] = True
    _set(target, attrs)


def _set(span: trace.Span, attrs: dict[str, Any]) -> None:
    if getattr(span, "end_time", None) is not None:
        raise AnnotationError(f"span {getattr(span, 'name', '')!r} has already ended; annotate it before it ends")
    if span.is_recording():
        span.set_attributes(attrs)
