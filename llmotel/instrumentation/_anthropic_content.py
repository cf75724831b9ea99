"""Pure functions: Anthropic request bodies and response objects -> semconv messages and parts.

Requests are read before the SDK prepares them, so a value may be a dict, an SDK model (a ``TextBlock`` of an
earlier response passed back as assistant content), an ``Omit`` sentinel, a one-shot iterator or a
``pathlib.Path``: only lists, tuples, dicts and models are read (an iterator is never consumed), and anything
else is skipped. Responses are the SDK's pydantic models (or plain dicts from ``client.post``); every field is
read with a default, so a field an SDK version lacks or adds never raises.

Content blocks -> parts: ``text`` -> text; ``image``/``document`` -> blob (base64, cut to the blob limit), uri
or file; ``tool_use`` -> tool_call; ``tool_result`` -> tool_call_response; ``thinking`` -> reasoning;
``server_tool_use``/``mcp_tool_use`` -> server_tool_call; ``*_tool_result`` -> server_tool_call_response;
anything else (``redacted_thinking``, ``search_result``, ``container_upload``, new types) -> a generic part
that keeps the block's type (and its text, if it has one).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from llmotel import semconv as sc
from llmotel.content import (
    Message,
    Part,
    Truncator,
    as_text,
    blob_part,
    generic_part,
    media_part,
    message,
    normalized_finish_reason,
    output_message,
    output_text_message_json,
    text_part,
    to_json,
    tool_call_part,
    tool_response_part,
)

_SEQUENCE = (list, tuple)


def get(obj: Any, key: str) -> Any:
    """``obj[key]`` for a dict (request params are dicts), ``obj.key`` for anything else; ``None`` when missing."""
    return obj.get(key) if isinstance(obj, dict) else getattr(obj, key, None)


def _text(value: Any) -> str | None:
    return value if isinstance(value, str) else None


# --- content blocks (requests and responses) -------------------------------------------------------------------


def content_parts(content: Any, cut: Truncator) -> list[Part]:
    """A message's ``content``: a string, or a list of content blocks."""
    if isinstance(content, str):
        return [text_part(content, cut)]
    if not isinstance(content, _SEQUENCE):
        return []
    return [block_part(block, cut) for block in content]


def block_part(block: Any, cut: Truncator) -> Part:
    kind = get(block, "type")
    if kind == "text":
        return text_part(_text(get(block, "text")) or "", cut)
    if kind == "tool_use":
        return tool_call_part(get(block, "id"), get(block, "name"), get(block, "input"), cut)
    if kind == "tool_result":
        return tool_response_part(get(block, "tool_use_id"), _tool_result(get(block, "content"), cut), cut)
    if kind == "thinking":
        return {"type": sc.PART_REASONING, "content": cut.text(_text(get(block, "thinking")) or "")}
    if kind in ("image", "document"):
        return _source_part(kind, get(block, "source"), cut)
    if kind in ("server_tool_use", "mcp_tool_use"):
        return _server_tool_call(block, cut)
    if isinstance(kind, str) and kind.endswith("_tool_result"):
        response = {"type": kind, "content": _bounded(_plain(get(block, "content")), cut)}
        call_id = get(block, "tool_use_id")
        return {"type": sc.PART_SERVER_TOOL_CALL_RESPONSE, "id": call_id if isinstance(call_id, str) else None,
                sc.PART_SERVER_TOOL_CALL_RESPONSE: response}
    return generic_part(kind, cut, _text(get(block, "text")))


def _server_tool_call(block: Any, cut: Truncator) -> Part:
    name = get(block, "name")
    name = name if isinstance(name, str) else "unknown"  # the schema requires a string name
    call: dict[str, Any] = {"type": name}
    arguments = get(block, "input")
    if isinstance(arguments, str):  # assembled from a stream's input_json_delta fragments
        call["arguments"] = json_or_text(arguments, cut)
    elif arguments is not None:
        call["arguments"] = arguments if isinstance(arguments, Mapping) else cut.text(as_text(arguments))
    server = get(block, "server_name")
    if isinstance(server, str):
        call["server_name"] = server
    call_id = get(block, "id")
    return {"type": sc.PART_SERVER_TOOL_CALL, "id": call_id if isinstance(call_id, str) else None, "name": name,
            sc.PART_SERVER_TOOL_CALL: call}


_MODALITIES = {"image": sc.MODALITY_IMAGE, "document": sc.MODALITY_DOCUMENT}


def _source_part(kind: str, source: Any, cut: Truncator) -> Part:
    """``image``/``document`` sources: base64, url, file, or (documents) plain text and content blocks."""
    modality = _MODALITIES[kind]
    source_type = get(source, "type")
    mime = _text(get(source, "media_type"))
    if source_type == "base64":
        data = get(source, "data")
        if isinstance(data, str):
            return blob_part(data, modality, mime, cut)
        return generic_part(kind, cut)  # a pathlib.Path or file the SDK reads later: nothing to record here
    if source_type == "url":
        url = _text(get(source, "url"))
        return media_part(url, modality, cut, mime) if url else generic_part(kind, cut)
    if source_type == "file":
        file_id = get(source, "file_id")
        if isinstance(file_id, str):
            return {"type": sc.PART_FILE, "modality": modality, "file_id": file_id}
        return generic_part(kind, cut)
    if source_type == "text":
        return generic_part(kind, cut, _text(get(source, "data")))
    if source_type == "content":
        inner = get(source, "content")
        text = inner if isinstance(inner, str) else _joined_text(inner)
        return generic_part(kind, cut, text)
    return generic_part(kind, cut)


def _joined_text(blocks: Any) -> str | None:
    if not isinstance(blocks, _SEQUENCE):
        return None
    texts = [t for t in (_text(get(b, "text")) for b in blocks if get(b, "type") == "text") if t is not None]
    return "".join(texts) if texts else None


def _tool_result(content: Any, cut: Truncator) -> Any:
    """A ``tool_result``'s content: its text, or (with images or documents) the list of its parts."""
    if not isinstance(content, _SEQUENCE):
        return content if content is None or isinstance(content, str) else _plain(content)
    parts = [block_part(block, cut) for block in content]
    if all(p.get("type") == sc.PART_TEXT for p in parts):
        return "".join(p["content"] for p in parts)
    return parts


def _bounded(value: Any, cut: Truncator) -> Any:
    """``value`` as it is when its JSON fits the text limit, else that JSON cut (with the marker)."""
    if value is None or isinstance(value, str):
        return value if value is None else cut.text(value)
    encoded = to_json(value)
    return value if len(encoded) <= cut.text_limit else cut.text(encoded)


def _plain(value: Any) -> Any:
    """JSON-ready data for a server tool result: models dumped, opaque ``encrypted_*`` fields left out."""
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        try:
            value = dump(mode="json", exclude_unset=True, warnings=False)
        except Exception:  # an exotic model: keep its repr
            return repr(value)
    if isinstance(value, Mapping):
        return {k: _plain(v) for k, v in value.items() if not (isinstance(k, str) and k.startswith("encrypted_"))}
    if isinstance(value, _SEQUENCE):
        return [_plain(v) for v in value]
    return value


# --- requests (dicts) ----------------------------------------------------------------------------------------


def input_messages(messages: Any, cut: Truncator) -> list[Message]:
    if not isinstance(messages, _SEQUENCE):
        return []
    return [message(get(msg, "role"), content_parts(get(msg, "content"), cut)) for msg in messages]


def system_instructions(system: Any, cut: Truncator) -> list[Part] | None:
    """Top-level ``system=``: a string or a list of text blocks."""
    if isinstance(system, str):
        return [text_part(system, cut)] if system else None
    if isinstance(system, _SEQUENCE):
        return content_parts(system, cut) or None
    return None


def tool_definitions(tools: Any) -> list[dict[str, Any]]:
    """Client tools (``name``, ``description``, ``input_schema``) as functions; server tools keep their type."""
    if not isinstance(tools, _SEQUENCE):
        return []
    out = []
    for tool in tools:
        name = get(tool, "name")
        kind = get(tool, "type")
        schema = get(tool, "input_schema")
        definition: dict[str, Any]
        if kind in (None, "custom") or schema is not None:
            definition = {"type": "function", "name": name}
            description = get(tool, "description")
            if isinstance(description, str):
                definition["description"] = description
            if schema is not None:
                definition["parameters"] = schema
        else:
            definition = {"type": kind if isinstance(kind, str) else "unknown", "name": name}
        out.append(definition)
    return out


def completion_prompt_messages(prompt: Any, cut: Truncator) -> list[Message]:
    """Legacy ``/v1/complete``: the whole ``\\n\\nHuman: ... \\n\\nAssistant:`` prompt as one user message."""
    return [message("user", [text_part(prompt, cut)])] if isinstance(prompt, str) else []


# --- responses -----------------------------------------------------------------------------------------------

# Anthropic stop reasons -> the output-message schema's; others (pause_turn, new ones) keep their own name.
_FINISH_REASONS = {
    "end_turn": sc.FINISH_STOP,
    "stop_sequence": sc.FINISH_STOP,
    "max_tokens": sc.FINISH_LENGTH,
    "model_context_window_exceeded": sc.FINISH_LENGTH,
    "tool_use": sc.FINISH_TOOL_CALL,
    "refusal": sc.FINISH_CONTENT_FILTER,
}


def finish_reason(stop_reason: Any) -> str:
    """An Anthropic ``stop_reason`` as an output message's ``finish_reason`` (``""`` when there is none)."""
    return normalized_finish_reason(stop_reason, _FINISH_REASONS)


def output_message_of(content: Any, stop_reason: Any, cut: Truncator) -> Message:
    """The response's one output message: its content blocks as parts, and its stop reason."""
    return output_message("assistant", content_parts(content, cut), finish_reason(stop_reason))


def output_messages_json(content: Any, stop_reason: Any, text_limit: int) -> str | None:
    """The response's one output message as JSON when it is a single text block within the limit, else None."""
    if isinstance(content, list) and len(content) == 1:
        block = content[0]
        text = get(block, "text")
        if type(text) is str and len(text) <= text_limit and get(block, "type") == "text":
            return "[" + output_text_message_json("assistant", text, finish_reason(stop_reason)) + "]"
    return None


def json_or_text(raw: str, cut: Truncator) -> Any:
    """Assembled ``input_json_delta`` fragments: the object when they are complete JSON, else the (cut) text."""
    if raw[:1] == "{" and len(raw) <= cut.text_limit:
        try:
            return json.loads(raw)
        except ValueError:
            pass
    return cut.text(raw)
