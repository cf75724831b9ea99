"""What evaluators read of a received span: GenAI semantic-convention attributes, whichever SDK produced it.

Evaluators read ``gen_ai.input.messages`` / ``gen_ai.output.messages`` (JSON), ``gen_ai.system_instructions``,
prompt variables and retrieval documents (see :class:`llmotel.evaluation.types.EvaluationInput`). Spans arrive
with content in other shapes too; :func:`evaluation_view` turns each into semconv attributes:

- semconv attributes holding structured values (OTLP arrays / key-value lists) instead of JSON text, or
  carried on a span event (``gen_ai.client.inference.operation.details``) instead of the span;
- the older ``gen_ai.prompt.N.role`` / ``.content`` and ``gen_ai.completion.N.*`` attributes (OpenLLMetry),
  with ``llm.request.type`` as the operation;
- OpenInference: ``llm.input_messages.N.message.*`` / ``llm.output_messages.N.message.*`` (text contents and
  tool calls), ``llm.prompts``, ``input.value`` / ``output.value`` (plain text, or an OpenAI/Anthropic-shaped
  request/response as JSON), ``llm.prompt_template.variables``, ``retrieval.documents.N.document.*``.

The result is kept apart from the span: the semconv content goes only to the evaluators (through the private
content store the evaluating processor reads), and the span is forwarded with the attributes it came with.
Only ``gen_ai.operation.name`` must be on the span while it is evaluated (the evaluating processor selects LLM
spans by it); :func:`evaluation_view` says when it had to be added so that the forwarded span leaves without it.
The names below are other instrumentations' names that llmotel reads and never emits.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmotel import semconv as sc
from llmotel.gateway.received import json_text

# OpenLLMetry (traceloop) and the pre-1.37 GenAI conventions
_OPENLLMETRY_PROMPT = re.compile(r"^gen_ai\.prompt\.(\d+)\.(.+)$")
_OPENLLMETRY_COMPLETION = re.compile(r"^gen_ai\.completion\.(\d+)\.(.+)$")
_TOOL_CALL_FIELD = re.compile(r"^tool_calls\.(\d+)\.(name|arguments|id)$")
LLM_REQUEST_TYPE = "llm.request.type"
GEN_AI_SYSTEM = "gen_ai.system"
_REQUEST_TYPES = {"chat": sc.OP_CHAT, "completion": sc.OP_TEXT_COMPLETION}
# Span events of earlier conventions that carried the whole prompt/completion
PROMPT_EVENT, PROMPT_EVENT_ATTRIBUTE = "gen_ai.content.prompt", "gen_ai.prompt"
COMPLETION_EVENT, COMPLETION_EVENT_ATTRIBUTE = "gen_ai.content.completion", "gen_ai.completion"

# OpenInference (Arize)
OPENINFERENCE_SPAN_KIND = "openinference.span.kind"
_OI_MESSAGE = re.compile(r"^llm\.(input|output)_messages\.(\d+)\.message\.(.+)$")
_OI_CONTENT = re.compile(r"^contents\.(\d+)\.message_content\.(type|text)$")
_OI_TOOL_CALL = re.compile(r"^tool_calls\.(\d+)\.tool_call\.(function\.name|function\.arguments|id)$")
_OI_DOCUMENT = re.compile(r"^retrieval\.documents\.(\d+)\.document\.(content|id|score)$")
OI_PROMPTS = "llm.prompts"
OI_MODEL_NAME = "llm.model_name"
OI_PROVIDER = "llm.provider"
OI_INPUT_VALUE, OI_INPUT_MIME = "input.value", "input.mime_type"
OI_OUTPUT_VALUE, OI_OUTPUT_MIME = "output.value", "output.mime_type"
OI_TEMPLATE, OI_TEMPLATE_VARIABLES = "llm.prompt_template.template", "llm.prompt_template.variables"

_CONTENT_KEYS = (sc.GEN_AI_INPUT_MESSAGES, sc.GEN_AI_OUTPUT_MESSAGES, sc.GEN_AI_SYSTEM_INSTRUCTIONS,
                 sc.GEN_AI_TOOL_DEFINITIONS, sc.GEN_AI_RETRIEVAL_DOCUMENTS)
_FOREIGN_HINTS = ("gen_ai.prompt.", "gen_ai.completion.", "llm.", "input.value", "output.value", "retrieval.",
                  OPENINFERENCE_SPAN_KIND)


@dataclass
class EvaluationView:
    """The semconv attributes evaluators should see beyond the span's own, and what the span needs meanwhile."""

    #: semconv attributes for evaluators only (never exported)
    private: dict[str, Any] = field(default_factory=dict)
    #: the operation name the span lacks, set on it while it is evaluated and removed before it is forwarded
    operation: str | None = None


def evaluation_view(attributes: Mapping[str, Any], events: Sequence[Any] = ()) -> EvaluationView:
    """Semconv attributes for a received span whose content is not (only) in semconv JSON attributes."""
    view = EvaluationView()
    for key in _CONTENT_KEYS:  # structured values instead of JSON text
        value = attributes.get(key)
        if isinstance(value, (tuple, dict)):
            view.private[key] = json_text(value)
    for event in events:  # content on an event (content capture in the event form)
        for key, value in (event.attributes or {}).items():
            if key in _CONTENT_KEYS and key not in attributes and key not in view.private:
                view.private[key] = value if isinstance(value, str) else json_text(value)
        _event_content(event, attributes, view.private)
    if any(key.startswith(_FOREIGN_HINTS) for key in attributes):
        _openllmetry(attributes, view.private)
        _openinference(attributes, view.private)
    if sc.GEN_AI_OPERATION_NAME not in attributes:
        view.operation = _operation(attributes, view.private)
    return view


def _operation(attributes: Mapping[str, Any], private: Mapping[str, Any]) -> str | None:
    request_type = attributes.get(LLM_REQUEST_TYPE)
    if isinstance(request_type, str) and request_type in _REQUEST_TYPES:
        return _REQUEST_TYPES[request_type]
    if attributes.get(OPENINFERENCE_SPAN_KIND) == "LLM":
        return sc.OP_TEXT_COMPLETION if OI_PROMPTS in attributes and sc.GEN_AI_INPUT_MESSAGES not in private \
            else sc.OP_CHAT
    if sc.GEN_AI_INPUT_MESSAGES in private or sc.GEN_AI_OUTPUT_MESSAGES in private:
        return sc.OP_CHAT
    return None


# --- shared shapes ------------------------------------------------------------------------------------------------


def _text_part(text: str) -> dict[str, Any]:
    return {"type": sc.PART_TEXT, "content": text}


def _message(role: str, texts: Sequence[str], tool_calls: Sequence[dict[str, Any]] = (),
             finish_reason: str | None = None) -> dict[str, Any]:
    parts: list[dict[str, Any]] = [_text_part(t) for t in texts if t]
    parts += tool_calls
    message: dict[str, Any] = {"role": role, "parts": parts}
    if finish_reason is not None:
        message["finish_reason"] = finish_reason
    return message


def _content_texts(content: Any) -> list[str]:
    """Texts of a message content: a string, a JSON list of parts as text, or such a list."""
    if isinstance(content, str):
        if content[:1] == "[":
            try:
                parsed = json.loads(content)
            except ValueError:
                return [content]
            if isinstance(parsed, list):
                return _content_texts(parsed)
        return [content]
    if isinstance(content, (list, tuple)):
        texts = []
        for part in content:
            if isinstance(part, str):
                texts.append(part)
            elif isinstance(part, Mapping):
                text = part.get("text", part.get("content"))
                if isinstance(text, str) and part.get("type", "text") in ("text", "input_text", "output_text"):
                    texts.append(text)
        return texts
    return []


def _indexed(groups: Mapping[int, dict[str, Any]]) -> list[dict[str, Any]]:
    return [groups[i] for i in sorted(groups)]


def _split(messages: list[dict[str, Any]], private: dict[str, Any], key: str) -> None:
    if messages and key not in private:
        private[key] = json_text(messages)


# --- OpenLLMetry --------------------------------------------------------------------------------------------------


def _openllmetry(attributes: Mapping[str, Any], private: dict[str, Any]) -> None:
    prompts: dict[int, dict[str, Any]] = {}
    completions: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        match = _OPENLLMETRY_PROMPT.match(key)
        target = prompts
        if match is None:
            match = _OPENLLMETRY_COMPLETION.match(key)
            target = completions
        if match is not None:
            target.setdefault(int(match.group(1)), {})[match.group(2)] = value
    if prompts and sc.GEN_AI_INPUT_MESSAGES not in attributes:
        messages = [_message(str(p.get("role") or "user"), _content_texts(p.get("content")), _llm_tool_calls(p))
                    for p in _indexed(prompts)]
        _split([m for m in messages if m["parts"]], private, sc.GEN_AI_INPUT_MESSAGES)
    if completions and sc.GEN_AI_OUTPUT_MESSAGES not in attributes:
        messages = [_message(str(c.get("role") or "assistant"), _content_texts(c.get("content")), _llm_tool_calls(c),
                             str(c.get("finish_reason") or "stop")) for c in _indexed(completions)]
        _split([m for m in messages if m["parts"]], private, sc.GEN_AI_OUTPUT_MESSAGES)


def _llm_tool_calls(fields: Mapping[str, Any]) -> list[dict[str, Any]]:
    calls: dict[int, dict[str, Any]] = {}
    for key, value in fields.items():
        match = _TOOL_CALL_FIELD.match(key)
        if match is not None:
            calls.setdefault(int(match.group(1)), {})[match.group(2)] = value
    return [{"type": sc.PART_TOOL_CALL, "id": c.get("id"), "name": c.get("name"), "arguments": c.get("arguments")}
            for c in _indexed(calls)]


def _event_content(event: Any, attributes: Mapping[str, Any], private: dict[str, Any]) -> None:
    """``gen_ai.content.prompt`` / ``gen_ai.content.completion`` events (text, or a JSON list of messages)."""
    for name, attribute, key, role in ((PROMPT_EVENT, PROMPT_EVENT_ATTRIBUTE, sc.GEN_AI_INPUT_MESSAGES, "user"),
                                       (COMPLETION_EVENT, COMPLETION_EVENT_ATTRIBUTE, sc.GEN_AI_OUTPUT_MESSAGES,
                                        "assistant")):
        value = (event.attributes or {}).get(attribute) if event.name == name else None
        if not isinstance(value, str) or key in attributes or key in private:
            continue
        messages = _json_messages(value, key == sc.GEN_AI_OUTPUT_MESSAGES)
        _split(messages or [_message(role, [value], finish_reason="stop" if role == "assistant" else None)],
               private, key)


def _json_messages(text: str, output: bool) -> list[dict[str, Any]]:
    """``[{"role", "content"}]`` as JSON text, as semconv messages; [] for anything else."""
    if text[:1] != "[":
        return []
    try:
        items = json.loads(text)
    except ValueError:
        return []
    return _chat_messages(items, output) if isinstance(items, list) else []


def _chat_messages(items: Sequence[Any], output: bool) -> list[dict[str, Any]]:
    messages = []
    for item in items:
        if isinstance(item, Mapping) and isinstance(item.get("role", "user"), str):
            texts = _content_texts(item.get("content"))
            if texts:
                messages.append(_message(item.get("role", "assistant" if output else "user"), texts,
                                         finish_reason="stop" if output else None))
    return messages


# --- OpenInference ------------------------------------------------------------------------------------------------


def _openinference(attributes: Mapping[str, Any], private: dict[str, Any]) -> None:
    sides: dict[str, dict[int, dict[str, Any]]] = {"input": {}, "output": {}}
    documents: dict[int, dict[str, Any]] = {}
    for key, value in attributes.items():
        match = _OI_MESSAGE.match(key)
        if match is not None:
            sides[match.group(1)].setdefault(int(match.group(2)), {})[match.group(3)] = value
            continue
        match = _OI_DOCUMENT.match(key)
        if match is not None:
            documents.setdefault(int(match.group(1)), {})[match.group(2)] = value
    for side, key in (("input", sc.GEN_AI_INPUT_MESSAGES), ("output", sc.GEN_AI_OUTPUT_MESSAGES)):
        if sides[side] and key not in attributes:
            messages = [_oi_message(fields, side == "output") for fields in _indexed(sides[side])]
            _split([m for m in messages if m["parts"]], private, key)
    prompts = attributes.get(OI_PROMPTS)
    if isinstance(prompts, tuple) and sc.GEN_AI_INPUT_MESSAGES not in attributes:
        texts = [p if isinstance(p, str) else str(p.get("text", "")) if isinstance(p, Mapping) else "" for p in prompts]
        _split([_message("user", texts)] if any(texts) else [], private, sc.GEN_AI_INPUT_MESSAGES)
    if attributes.get(OPENINFERENCE_SPAN_KIND) == "LLM":
        _oi_values(attributes, private)
    variables = attributes.get(OI_TEMPLATE_VARIABLES)
    if isinstance(variables, str) and variables[:1] == "{":
        try:
            parsed = json.loads(variables)
        except ValueError:
            parsed = None
        if isinstance(parsed, dict):
            for name, value in parsed.items():
                private.setdefault(sc.GEN_AI_PROMPT_VARIABLE_PREFIX + str(name),
                                   value if isinstance(value, str) else json_text(value))
    if documents and sc.GEN_AI_RETRIEVAL_DOCUMENTS not in attributes:
        _split([{k: d[k] for k in ("id", "score", "content") if k in d} for d in _indexed(documents)], private,
               sc.GEN_AI_RETRIEVAL_DOCUMENTS)


def _oi_message(fields: Mapping[str, Any], output: bool) -> dict[str, Any]:
    contents: dict[int, dict[str, Any]] = {}
    calls: dict[int, dict[str, Any]] = {}
    for key, value in fields.items():
        match = _OI_CONTENT.match(key)
        if match is not None:
            contents.setdefault(int(match.group(1)), {})[match.group(2)] = value
            continue
        match = _OI_TOOL_CALL.match(key)
        if match is not None:
            calls.setdefault(int(match.group(1)), {})[match.group(2)] = value
    texts = _content_texts(fields.get("content")) if "content" in fields else []
    texts += [c["text"] for c in _indexed(contents) if c.get("type", "text") == "text" and isinstance(c.get("text"),
                                                                                                      str)]
    tool_calls = [{"type": sc.PART_TOOL_CALL, "id": c.get("id"), "name": c.get("function.name"),
                   "arguments": c.get("function.arguments")} for c in _indexed(calls)]
    role = fields.get("role")
    role = role if isinstance(role, str) and role else ("assistant" if output else "user")
    return _message(role, texts, tool_calls, finish_reason="stop" if output else None)


def _oi_values(attributes: Mapping[str, Any], private: dict[str, Any]) -> None:
    """``input.value`` / ``output.value`` of an LLM span without message attributes: text or a provider's JSON."""
    value = attributes.get(OI_INPUT_VALUE)
    if isinstance(value, str) and value and sc.GEN_AI_INPUT_MESSAGES not in attributes:
        _split(_request_messages(value, attributes.get(OI_INPUT_MIME)), private, sc.GEN_AI_INPUT_MESSAGES)
    value = attributes.get(OI_OUTPUT_VALUE)
    if isinstance(value, str) and value and sc.GEN_AI_OUTPUT_MESSAGES not in attributes:
        _split(_response_messages(value, attributes.get(OI_OUTPUT_MIME)), private, sc.GEN_AI_OUTPUT_MESSAGES)


def _parsed_json(value: str, mime: Any) -> Any:
    if mime != "application/json" and value[:1] not in ("{", "["):
        return None
    try:
        return json.loads(value)
    except ValueError:
        return None


def _request_messages(value: str, mime: Any) -> list[dict[str, Any]]:
    document = _parsed_json(value, mime)
    if isinstance(document, Mapping):
        messages = document.get("messages")
        if isinstance(messages, list):
            out = _chat_messages(messages, output=False)
            system = document.get("system")  # Anthropic's top-level system prompt
            if isinstance(system, (str, list)) and _content_texts(system):
                out.insert(0, _message("system", _content_texts(system)))
            return out
        prompt = document.get("prompt", document.get("input"))
        if isinstance(prompt, str) and prompt:
            return [_message("user", [prompt])]
        return []
    if isinstance(document, list):
        return _chat_messages(document, output=False)
    return [_message("user", [value])]


def _response_messages(value: str, mime: Any) -> list[dict[str, Any]]:
    document = _parsed_json(value, mime)
    if isinstance(document, Mapping):
        choices = document.get("choices")
        if isinstance(choices, list):  # OpenAI chat / completions
            out = []
            for choice in choices:
                if not isinstance(choice, Mapping):
                    continue
                message = choice.get("message")
                texts = _content_texts(message.get("content")) if isinstance(message, Mapping) else \
                    _content_texts(choice.get("text"))
                if texts:
                    out.append(_message("assistant", texts, finish_reason=str(choice.get("finish_reason") or "stop")))
            return out
        content = document.get("content")
        if isinstance(content, list):  # Anthropic messages
            texts = _content_texts(content)
            return [_message("assistant", texts, finish_reason=str(document.get("stop_reason") or "stop"))] \
                if texts else []
        return []
    if isinstance(document, list):
        return _chat_messages(document, output=True)
    return [_message("assistant", [value], finish_reason="stop")]
