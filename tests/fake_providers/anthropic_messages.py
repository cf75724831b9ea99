"""Anthropic ``POST /v1/messages``, ``/v1/messages/count_tokens`` and the legacy ``/v1/complete``."""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from ._common import (
    ANTHROPIC_MODELS,
    GenContext,
    JsonDict,
    JsonOutput,
    Output,
    SseEvent,
    SseOutput,
    compact_json,
    count_tokens,
    echo,
    example_from_schema,
    reasoning_text,
    require,
    resolve_model,
    signature_for,
    split_fragments,
    text_of,
    tokenize,
    tool_answer,
    truncate,
)

MODEL_DATE_SUFFIX = "-20250101"
HUMAN_PROMPT = "\n\nHuman:"
AI_PROMPT = "\n\nAssistant:"


def anthropic_model(body: JsonDict) -> str:
    return resolve_model(str(body.get("model")), ANTHROPIC_MODELS, MODEL_DATE_SUFFIX)


def messages(body: JsonDict, ctx: GenContext) -> Output:
    """Generate a Message (or its event stream) for ``body``."""
    require(body, "model", "max_tokens", "messages")
    blocks, stop_reason = _content_blocks(body, ctx)
    message = {
        "id": ctx.ids.new("msg_01", 22),
        "type": "message",
        "role": "assistant",
        "model": anthropic_model(body),
        "content": blocks,
        "stop_reason": stop_reason,
        "stop_sequence": None,
        "usage": _usage(body, ctx, blocks),
    }
    if body.get("stream"):
        return SseOutput(_stream_events(message))
    return JsonOutput(message)


def count_tokens_endpoint(body: JsonDict, _ctx: GenContext) -> Output:
    """``{"input_tokens": N}``, the same count that ``messages`` reports for the same request."""
    require(body, "model", "messages")
    return JsonOutput({"input_tokens": input_tokens(body)})


def input_tokens(body: JsonDict) -> int:
    texts = [text_of(body.get("system")), *(text_of(m.get("content")) for m in body.get("messages") or [])]
    return max(1, sum(count_tokens(t) for t in texts))


def _last_user_content(body: JsonDict) -> Any:
    users = [m for m in body["messages"] if m.get("role") == "user"]
    return users[-1].get("content") if users else ""


def _tool_results(content: Any) -> list[JsonDict]:
    if not isinstance(content, list):
        return []
    return [b for b in content if isinstance(b, dict) and b.get("type") == "tool_result"]


def _tool_to_use(body: JsonDict) -> JsonDict | None:
    """The client tool to call (the one ``tool_choice`` names, else the first), or ``None`` for a text answer."""
    choice = body.get("tool_choice") or {"type": "auto"}
    tools: list[JsonDict] = [t for t in body.get("tools") or [] if "input_schema" in t]
    if not tools or choice.get("type") == "none" or _tool_results(_last_user_content(body)):
        return None
    if choice.get("type") == "tool":
        return next((t for t in tools if t.get("name") == choice.get("name")), tools[0])
    return tools[0]


def _thinking_enabled(body: JsonDict) -> bool:
    thinking = body.get("thinking")
    return isinstance(thinking, dict) and thinking.get("type") not in (None, "disabled")


def _answer(body: JsonDict) -> str:
    content = _last_user_content(body)
    results = _tool_results(content)
    if results:
        return tool_answer(text_of(results[-1].get("content")))
    output_format = (body.get("output_config") or {}).get("format") or body.get("output_format") or {}
    if output_format.get("type") == "json_schema":
        return compact_json(example_from_schema(output_format.get("schema", {})))
    return echo(text_of(content))


def _content_blocks(body: JsonDict, ctx: GenContext) -> tuple[list[JsonDict], str]:
    blocks: list[JsonDict] = []
    if _thinking_enabled(body):
        thinking = reasoning_text(text_of(_last_user_content(body)))
        blocks.append({"type": "thinking", "thinking": thinking, "signature": signature_for(thinking)})
    tool = _tool_to_use(body)
    if tool is not None:
        if (body.get("tool_choice") or {}).get("type", "auto") == "auto":
            blocks.append({"type": "text", "text": f"I'll use the {tool['name']} tool."})
        tool_input = example_from_schema(tool.get("input_schema") or {"type": "object"})
        blocks.append(
            {"type": "tool_use", "id": ctx.ids.new("toolu_01", 22), "name": tool["name"], "input": tool_input}
        )
        return blocks, "tool_use"
    text, cut = truncate(ctx.answer(_answer(body)), int(body["max_tokens"]))
    blocks.append({"type": "text", "text": text})
    return blocks, "max_tokens" if cut else "end_turn"


def _block_tokens(block: JsonDict) -> int:
    if block["type"] == "tool_use":
        return count_tokens(compact_json(block["input"]))
    return count_tokens(block.get("text") or block.get("thinking") or "")


def _usage(body: JsonDict, ctx: GenContext, blocks: list[JsonDict]) -> JsonDict:
    return ctx.usage(
        {
            "input_tokens": input_tokens(body),
            "cache_creation_input_tokens": 0,
            "cache_read_input_tokens": 0,
            "cache_creation": {"ephemeral_5m_input_tokens": 0, "ephemeral_1h_input_tokens": 0},
            "output_tokens": sum(_block_tokens(b) for b in blocks),
            "service_tier": "standard",
        }
    )


def _stream_events(message: JsonDict) -> list[SseEvent]:
    usage = message["usage"]
    started = {**message, "content": [], "stop_reason": None, "usage": {**usage, "output_tokens": 1}}
    events: list[SseEvent] = [("message_start", {"type": "message_start", "message": started})]
    for index, block in enumerate(message["content"]):
        events.append(("content_block_start", _block_start(index, block)))
        if index == 0:
            events.append(("ping", {"type": "ping"}))
        events += [("content_block_delta", delta) for delta in _block_deltas(index, block)]
        events.append(("content_block_stop", {"type": "content_block_stop", "index": index}))
    delta = {"stop_reason": message["stop_reason"], "stop_sequence": None}
    events.append(
        ("message_delta", {"type": "message_delta", "delta": delta, "usage": {"output_tokens": usage["output_tokens"]}})
    )
    events.append(("message_stop", {"type": "message_stop"}))
    return events


def _block_start(index: int, block: JsonDict) -> JsonDict:
    empty: dict[str, JsonDict] = {
        "text": {"text": ""},
        "thinking": {"thinking": "", "signature": ""},
        "tool_use": {"input": {}},
    }
    return {"type": "content_block_start", "index": index, "content_block": {**block, **empty[block["type"]]}}


def _block_deltas(index: int, block: JsonDict) -> Iterator[JsonDict]:
    def delta(payload: JsonDict) -> JsonDict:
        return {"type": "content_block_delta", "index": index, "delta": payload}

    if block["type"] == "text":
        for token in tokenize(block["text"]):
            yield delta({"type": "text_delta", "text": token})
    elif block["type"] == "thinking":
        for token in tokenize(block["thinking"]):
            yield delta({"type": "thinking_delta", "thinking": token})
        yield delta({"type": "signature_delta", "signature": block["signature"]})
    elif block["type"] == "tool_use":
        yield delta({"type": "input_json_delta", "partial_json": ""})
        for fragment in split_fragments(compact_json(block["input"])):
            yield delta({"type": "input_json_delta", "partial_json": fragment})


def complete(body: JsonDict, ctx: GenContext) -> Output:
    """The legacy Text Completions API: ``{"type": "completion", "completion", "stop_reason", ...}``."""
    require(body, "model", "prompt", "max_tokens_to_sample")
    text, cut = truncate(" " + ctx.answer(echo(_human_turn(str(body["prompt"])))), int(body["max_tokens_to_sample"]))
    completion_id = ctx.ids.new("compl_01", 22)
    final = {
        "type": "completion",
        "id": completion_id,
        "completion": text,
        "stop_reason": "max_tokens" if cut else "stop_sequence",
        "stop": None if cut else HUMAN_PROMPT,
        "model": body["model"],
        "log_id": completion_id,
    }
    if not body.get("stream"):
        return JsonOutput(final)
    events: list[SseEvent] = [("ping", {"type": "ping"})]
    for token in tokenize(text):
        events.append(("completion", {**final, "completion": token, "stop_reason": None, "stop": None}))
    events.append(("completion", {**final, "completion": ""}))
    return SseOutput(events)


def _human_turn(prompt: str) -> str:
    """The text of the last ``Human:`` turn of a legacy prompt."""
    turns = prompt.split(HUMAN_PROMPT)
    return turns[-1].split(AI_PROMPT)[0].strip()
