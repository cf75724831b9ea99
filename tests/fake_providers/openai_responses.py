"""OpenAI ``POST /v1/responses``: the Responses API object and its typed event stream."""

from __future__ import annotations

import copy
from collections.abc import Iterator
from typing import Any

from ._common import (
    CREATED,
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
    max_tokens_of,
    reasoning_text,
    require,
    split_fragments,
    text_of,
    tokenize,
    tool_answer,
    truncate,
)
from .openai_chat import openai_model, service_tier


def responses(body: JsonDict, ctx: GenContext) -> Output:
    """Generate a Responses API object (or its event stream) for ``body``."""
    require(body, "model")
    items, truncated = _output_items(body, ctx)
    response = _response(body, ctx, items, truncated)
    if body.get("stream"):
        return SseOutput(_stream_events(response))
    return JsonOutput(response)


def _input_items(body: JsonDict) -> list[Any]:
    value = body.get("input")
    if value is None:
        return []
    return [{"role": "user", "content": value}] if isinstance(value, str) else list(value)


def _prompt(body: JsonDict) -> str:
    users = [i for i in _input_items(body) if isinstance(i, dict) and i.get("role") == "user"]
    return text_of(users[-1].get("content")) if users else ""


def _function_tool(body: JsonDict) -> JsonDict | None:
    """The function tool to call: the one ``tool_choice`` names, else the first; ``None`` for a text answer."""
    items = _input_items(body)
    if items and isinstance(items[-1], dict) and items[-1].get("type") == "function_call_output":
        return None
    choice = body.get("tool_choice")
    functions: list[JsonDict] = [t for t in body.get("tools") or [] if t.get("type") == "function"]
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict) and choice.get("type") == "function":
        return next((f for f in functions if f.get("name") == choice.get("name")), functions[0])
    return functions[0]


def _answer(body: JsonDict) -> str:
    items = _input_items(body)
    if items and isinstance(items[-1], dict) and items[-1].get("type") == "function_call_output":
        return tool_answer(text_of(items[-1].get("output")))
    text_format = (body.get("text") or {}).get("format") or {}
    if text_format.get("type") == "json_schema":
        return compact_json(example_from_schema(text_format.get("schema", {})))
    if text_format.get("type") == "json_object":
        return compact_json({"answer": echo(_prompt(body))})
    return echo(_prompt(body))


def _output_items(body: JsonDict, ctx: GenContext) -> tuple[list[JsonDict], bool]:
    """The completed output items, and whether the text was cut by ``max_output_tokens``."""
    items: list[JsonDict] = []
    if body.get("reasoning") is not None:
        summary = [{"type": "summary_text", "text": reasoning_text(_prompt(body))}]
        items.append({"id": ctx.ids.new("rs_", 48), "type": "reasoning", "summary": summary})
    tool = _function_tool(body)
    if tool is not None:
        items.append(_function_call_item(ctx, tool))
        return items, False
    text, cut = truncate(ctx.answer(_answer(body)), max_tokens_of(body, "max_output_tokens"))
    items.append(_message_item(ctx, text, "incomplete" if cut else "completed"))
    return items, cut


def _function_call_item(ctx: GenContext, tool: JsonDict) -> JsonDict:
    arguments = compact_json(example_from_schema(tool.get("parameters") or {"type": "object"}))
    return {
        "id": ctx.ids.new("fc_", 48),
        "type": "function_call",
        "status": "completed",
        "arguments": arguments,
        "call_id": ctx.ids.new("call_"),
        "name": tool["name"],
    }


def _message_item(ctx: GenContext, text: str, status: str) -> JsonDict:
    part = {"type": "output_text", "text": text, "annotations": [], "logprobs": []}
    return {"id": ctx.ids.new("msg_", 48), "type": "message", "status": status, "role": "assistant", "content": [part]}


def _usage(body: JsonDict, ctx: GenContext, items: list[JsonDict]) -> JsonDict:
    input_text = " ".join([str(body.get("instructions") or ""), *map(text_of, _input_items(body))])
    input_tokens = max(1, count_tokens(input_text))
    reasoning = sum(count_tokens(text_of(i["summary"])) for i in items if i["type"] == "reasoning")
    output = reasoning + sum(count_tokens(text_of(i.get("content")) or i.get("arguments", "")) for i in items)
    usage = ctx.usage(
        {
            "input_tokens": input_tokens,
            "input_tokens_details": {"cached_tokens": 0, "cache_write_tokens": 0},
            "output_tokens": output,
            "output_tokens_details": {"reasoning_tokens": reasoning},
            "total_tokens": input_tokens + output,
        }
    )
    if "total_tokens" not in ctx.usage_override:
        usage["total_tokens"] = usage["input_tokens"] + usage["output_tokens"]
    return usage


def _tools(body: JsonDict) -> list[JsonDict]:
    """The request's tools as the API reports them back (function tools get ``strict``/``description``)."""
    tools = []
    for tool in body.get("tools") or []:
        if tool.get("type") == "function":
            tool = {"description": None, "strict": True, **tool}
        tools.append(tool)
    return tools


def _response(body: JsonDict, ctx: GenContext, items: list[JsonDict], truncated: bool) -> JsonDict:
    reasoning = body.get("reasoning") or {}
    return {
        "id": ctx.ids.new("resp_", 48),
        "object": "response",
        "created_at": CREATED,
        "status": "incomplete" if truncated else "completed",
        "completed_at": None if truncated else CREATED + 1,
        "background": False,
        "error": None,
        "incomplete_details": {"reason": "max_output_tokens"} if truncated else None,
        "instructions": body.get("instructions"),
        "max_output_tokens": body.get("max_output_tokens"),
        "max_tool_calls": body.get("max_tool_calls"),
        "metadata": body.get("metadata") or {},
        "model": openai_model(body),
        "output": items,
        "parallel_tool_calls": body.get("parallel_tool_calls", True),
        "previous_response_id": body.get("previous_response_id"),
        "prompt_cache_key": body.get("prompt_cache_key"),
        "reasoning": {"effort": reasoning.get("effort"), "summary": reasoning.get("summary")},
        "safety_identifier": body.get("safety_identifier"),
        "service_tier": service_tier(body),
        "store": body.get("store", True),
        "temperature": body.get("temperature", 1.0),
        "text": {"format": (body.get("text") or {}).get("format") or {"type": "text"}, "verbosity": "medium"},
        "tool_choice": body.get("tool_choice", "auto"),
        "tools": _tools(body),
        "top_logprobs": body.get("top_logprobs", 0),
        "top_p": body.get("top_p", 1.0),
        "truncation": body.get("truncation", "disabled"),
        "usage": _usage(body, ctx, items),
        "user": body.get("user"),
    }


class _Sequencer:
    """Builds typed stream events with increasing ``sequence_number``."""

    def __init__(self) -> None:
        self.events: list[SseEvent] = []

    def emit(self, event_type: str, **fields: Any) -> None:
        data = {"type": event_type, "sequence_number": len(self.events), **fields}
        self.events.append((event_type, data))


def _stream_events(response: JsonDict) -> list[SseEvent]:
    seq = _Sequencer()
    pending = {**response, "status": "in_progress", "completed_at": None, "output": [], "usage": None}
    pending["incomplete_details"] = None
    seq.emit("response.created", response=pending)
    seq.emit("response.in_progress", response=pending)
    for output_index, item in enumerate(response["output"]):
        for event_type, fields in _item_events(item, output_index):
            seq.emit(event_type, **fields)
    final_type = "response.completed" if response["status"] == "completed" else "response.incomplete"
    seq.emit(final_type, response=response)
    return seq.events


def _item_events(item: JsonDict, output_index: int) -> Iterator[tuple[str, JsonDict]]:
    where = {"item_id": item["id"], "output_index": output_index}
    started = _started(item)
    yield "response.output_item.added", {"output_index": output_index, "item": started}
    if item["type"] == "reasoning":
        yield from _reasoning_events(item, where)
    elif item["type"] == "message":
        yield from _message_events(item, where)
    elif item["type"] == "function_call":
        for fragment in split_fragments(item["arguments"]):
            yield "response.function_call_arguments.delta", {**where, "delta": fragment}
        yield "response.function_call_arguments.done", {**where, "arguments": item["arguments"]}
    yield "response.output_item.done", {"output_index": output_index, "item": item}


def _started(item: JsonDict) -> JsonDict:
    """``item`` as announced by ``response.output_item.added``: in progress and empty."""
    started = copy.deepcopy(item)
    if item["type"] == "reasoning":
        started["summary"] = []
    elif item["type"] == "message":
        started.update(status="in_progress", content=[])
    elif item["type"] == "function_call":
        started.update(status="in_progress", arguments="")
    return started


def _reasoning_events(item: JsonDict, where: JsonDict) -> Iterator[tuple[str, JsonDict]]:
    for index, part in enumerate(item["summary"]):
        at = {**where, "summary_index": index}
        yield "response.reasoning_summary_part.added", {**at, "part": {"type": "summary_text", "text": ""}}
        for token in tokenize(part["text"]):
            yield "response.reasoning_summary_text.delta", {**at, "delta": token}
        yield "response.reasoning_summary_text.done", {**at, "text": part["text"]}
        yield "response.reasoning_summary_part.done", {**at, "part": part}


def _message_events(item: JsonDict, where: JsonDict) -> Iterator[tuple[str, JsonDict]]:
    for index, part in enumerate(item["content"]):
        at = {**where, "content_index": index}
        yield "response.content_part.added", {**at, "part": {**part, "text": ""}}
        for token in tokenize(part["text"]):
            yield "response.output_text.delta", {**at, "delta": token, "logprobs": []}
        yield "response.output_text.done", {**at, "text": part["text"], "logprobs": []}
        yield "response.content_part.done", {**at, "part": part}
