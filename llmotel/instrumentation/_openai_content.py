"""Pure functions: OpenAI request bodies and response objects -> semconv messages and parts.

Requests are plain dicts (what the SDK serialises); responses are the SDK's pydantic models, read with
``getattr`` so that fields an SDK version lacks or adds never raise.
"""

from __future__ import annotations

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
    tool_call_part,
    tool_response_part,
)

# --- requests (dicts) --------------------------------------------------------------------------------------------


def chat_content_parts(content: Any, cut: Truncator) -> list[Part]:
    """Chat Completions message content: a string or a list of typed parts."""
    if content is None:
        return []
    if isinstance(content, str):
        return [text_part(content, cut)]
    if not isinstance(content, list):
        return [generic_part("unknown", cut, content)]
    parts = []
    for item in content:
        if not isinstance(item, dict):
            parts.append(generic_part("unknown", cut, item))
            continue
        kind = item.get("type")
        if kind == "text":
            parts.append(text_part(as_text(item.get("text", "")), cut))
        elif kind == "image_url":
            image = item.get("image_url") or {}
            url = image.get("url", "") if isinstance(image, dict) else str(image)
            parts.append(media_part(url, sc.MODALITY_IMAGE, cut))
        elif kind == "input_audio":
            audio = item.get("input_audio") or {}
            fmt = audio.get("format")
            parts.append(blob_part(as_text(audio.get("data", "")), sc.MODALITY_AUDIO, fmt and f"audio/{fmt}", cut))
        elif kind == "file":
            parts.append(_file_part(item.get("file") or {}, cut))
        elif kind == "refusal":
            parts.append(generic_part(sc.PART_REFUSAL, cut, item.get("refusal")))
        else:
            parts.append(generic_part(kind, cut, item.get("text")))
    return parts


def _file_part(file: dict[str, Any], cut: Truncator) -> Part:
    if isinstance(file.get("file_id"), str) and file["file_id"]:
        return {"type": sc.PART_FILE, "modality": sc.MODALITY_DOCUMENT, "file_id": file["file_id"]}
    data = file.get("file_data")
    if isinstance(data, str):
        return media_part(data, sc.MODALITY_DOCUMENT, cut)
    return generic_part(sc.PART_FILE, cut)


# OpenAI finish reasons -> the output-message schema's (stop, length and content_filter are the same words)
_FINISH_REASONS = {"tool_calls": sc.FINISH_TOOL_CALL, "function_call": sc.FINISH_TOOL_CALL,
                   "max_output_tokens": sc.FINISH_LENGTH}


def finish_reason(value: Any) -> str:
    """An OpenAI finish reason as an output message's ``finish_reason`` (``""`` when there is none)."""
    return normalized_finish_reason(value, _FINISH_REASONS)


def chat_output_messages_json(choices: Any, text_limit: int) -> str | None:
    """Output messages (one per choice) as JSON when every answer is plain text within the limit, else None."""
    out = []
    for choice in choices:
        msg = choice.message
        content = msg.content
        if (type(content) is not str or len(content) > text_limit or msg.tool_calls or msg.refusal
                or getattr(msg, "audio", None) is not None or getattr(msg, "__pydantic_extra__", None)):
            return None
        out.append(output_text_message_json(msg.role or "assistant", content, finish_reason(choice.finish_reason)))
    return f"[{','.join(out)}]"


def chat_input_messages(messages: Any, cut: Truncator) -> list[Message]:
    if not isinstance(messages, list):
        return []
    out = []
    for msg in messages:
        if not isinstance(msg, dict):
            msg = getattr(msg, "__dict__", {})
        role = msg.get("role")
        if role == "tool":
            parts = [tool_response_part(msg.get("tool_call_id"), msg.get("content"), cut)]
        else:
            parts = chat_content_parts(msg.get("content"), cut)
            for call in msg.get("tool_calls") or ():
                if not isinstance(call, dict):
                    continue
                fn = call.get("function") or {}
                parts.append(tool_call_part(call.get("id"), fn.get("name"), fn.get("arguments"), cut))
            if msg.get("refusal"):
                parts.append(generic_part(sc.PART_REFUSAL, cut, msg["refusal"]))
        out.append(message(role, parts, msg.get("name")))
    return out


def tool_definitions(tools: Any) -> list[dict[str, Any]]:
    """Chat (``{"type": "function", "function": {...}}``) and Responses (flat) tool definitions."""
    if not isinstance(tools, list):
        return []
    out = []
    for tool in tools:
        if not isinstance(tool, dict):
            continue
        function = tool.get("function")
        fn: dict[str, Any] = function if isinstance(function, dict) else tool
        definition: dict[str, Any] = {"type": tool.get("type", "function")}
        for key in ("name", "description", "parameters", "strict"):
            if fn.get(key) is not None:
                definition[key] = fn[key]
        out.append(definition)
    return out


def responses_input_messages(value: Any, cut: Truncator) -> list[Message]:
    """Responses API ``input``: a string, or a list of message / function-call / output / reasoning items."""
    if isinstance(value, str):
        return [message("user", [text_part(value, cut)])]
    if not isinstance(value, list):
        return []
    out = []
    for item in value:
        if not isinstance(item, dict):
            continue
        kind = item.get("type", "message")
        if kind == "message" or ("role" in item and kind not in _RESPONSES_ITEM_KINDS):
            out.append(message(item.get("role"), _responses_content(item.get("content"), cut)))
        elif kind == "function_call":
            part = tool_call_part(item.get("call_id"), item.get("name"), item.get("arguments"), cut)
            out.append(message("assistant", [part]))
        elif kind == "function_call_output":
            out.append(message("tool", [tool_response_part(item.get("call_id"), item.get("output"), cut)]))
        elif kind == "reasoning":
            out.append(message("assistant", _reasoning_parts(item.get("summary"), cut)))
        else:
            out.append(message("assistant", [generic_part(kind, cut)]))
    return out


_RESPONSES_ITEM_KINDS = frozenset({"function_call", "function_call_output", "reasoning"})


def _responses_content(content: Any, cut: Truncator) -> list[Part]:
    if isinstance(content, str):
        return [text_part(content, cut)]
    if not isinstance(content, list):
        return []
    parts = []
    for item in content:
        if not isinstance(item, dict):
            continue
        kind = item.get("type")
        if kind in ("input_text", "output_text", "text"):
            parts.append(text_part(as_text(item.get("text", "")), cut))
        elif kind == "input_image":
            if isinstance(item.get("image_url"), str) and item["image_url"]:
                parts.append(media_part(item["image_url"], sc.MODALITY_IMAGE, cut))
            elif isinstance(item.get("file_id"), str):
                parts.append({"type": sc.PART_FILE, "modality": sc.MODALITY_IMAGE, "file_id": item["file_id"]})
            else:
                parts.append(generic_part(kind, cut))
        elif kind == "input_file":
            parts.append(_file_part(item, cut))
        elif kind == "refusal":
            parts.append(generic_part(sc.PART_REFUSAL, cut, item.get("refusal")))
        else:
            parts.append(generic_part(kind, cut, item.get("text")))
    return parts


def _reasoning_parts(summary: Any, cut: Truncator) -> list[Part]:
    parts = []
    for item in summary or ():
        text = item.get("text") if isinstance(item, dict) else getattr(item, "text", None)
        if text:
            parts.append({"type": sc.PART_REASONING, "content": cut.text(text)})
    return parts


def completion_prompt_messages(prompt: Any, cut: Truncator) -> list[Message]:
    prompts = prompt if isinstance(prompt, list) and all(isinstance(p, str) for p in prompt) else [prompt]
    return [message("user", [text_part(as_text(p), cut)]) for p in prompts if p is not None]


# --- responses (SDK models) ------------------------------------------------------------------------------------------


def chat_output_message(msg: Any, reason: Any, cut: Truncator) -> Message:
    """One choice's message; ``reason`` is the choice's finish reason."""
    parts: list[Part] = []
    extra = getattr(msg, "__pydantic_extra__", None)  # not getattr(): a missing field raises inside pydantic
    reasoning = extra.get("reasoning_content") if extra else None  # OpenAI-compatible servers (e.g. DeepSeek)
    if isinstance(reasoning, str) and reasoning:
        parts.append({"type": sc.PART_REASONING, "content": cut.text(reasoning)})
    content = getattr(msg, "content", None)
    if content:
        parts.append(text_part(as_text(content), cut))
    refusal = getattr(msg, "refusal", None)
    if refusal:
        parts.append(generic_part(sc.PART_REFUSAL, cut, refusal))
    for call in getattr(msg, "tool_calls", None) or ():
        fn = getattr(call, "function", None)
        parts.append(tool_call_part(call.id, getattr(fn, "name", None), getattr(fn, "arguments", None), cut))
    audio = getattr(msg, "audio", None)
    if audio is not None:
        if getattr(audio, "transcript", None):
            parts.append(text_part(audio.transcript, cut))
        if getattr(audio, "data", None):
            parts.append(blob_part(audio.data, sc.MODALITY_AUDIO, None, cut))
    return output_message(getattr(msg, "role", None) or "assistant", parts, finish_reason(reason))


def responses_output(output: Any, cut: Truncator) -> tuple[list[Part], bool]:
    """Parts of a Responses API ``output`` list, and whether the model called a function."""
    parts: list[Part] = []
    called = False
    for item in output or ():
        kind = getattr(item, "type", None)
        if kind == "message":
            for piece in getattr(item, "content", None) or ():
                ptype = getattr(piece, "type", None)
                if ptype == "output_text":
                    text = getattr(piece, "text", None)
                    parts.append(text_part(text if isinstance(text, str) else "", cut))
                elif ptype == "refusal":
                    parts.append(generic_part(sc.PART_REFUSAL, cut, piece.refusal))
                else:
                    parts.append(generic_part(ptype, cut))
        elif kind == "function_call":
            called = True
            parts.append(tool_call_part(item.call_id, item.name, item.arguments, cut))
        elif kind == "reasoning":
            parts.extend(_reasoning_parts(getattr(item, "summary", None), cut))
        elif isinstance(kind, str) and kind.endswith("_call"):
            call_id = getattr(item, "id", None)
            parts.append({"type": sc.PART_SERVER_TOOL_CALL, "id": call_id if isinstance(call_id, str) else None,
                          "name": kind, sc.PART_SERVER_TOOL_CALL: {"type": kind}})
        else:
            parts.append(generic_part(kind, cut))
    return parts, called
