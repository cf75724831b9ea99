"""OpenAI ``POST /v1/chat/completions``: plain, ``n > 1``, tools, structured output, logprobs and streaming."""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from ._common import (
    CREATED,
    OPENAI_MODELS,
    SYSTEM_FINGERPRINT,
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
    logprob_entries,
    max_tokens_of,
    reasoning_text,
    require,
    resolve_model,
    split_fragments,
    text_of,
    tokenize,
    tool_answer,
    truncate,
)

MODEL_DATE_SUFFIX = "-2025-01-01"


@dataclass
class ToolCall:
    """A function call that the fake model decides to make."""

    id: str
    name: str
    arguments: str


@dataclass
class ChoicePlan:
    """What one choice contains: text or a tool call, and why it finished."""

    index: int
    text: str | None
    tool_call: ToolCall | None
    finish_reason: str

    @property
    def tokens(self) -> list[str]:
        if self.tool_call is not None:
            return tokenize(self.tool_call.arguments) or [self.tool_call.arguments]
        return tokenize(self.text or "")


def openai_model(body: dict[str, Any]) -> str:
    return resolve_model(str(body.get("model")), OPENAI_MODELS, MODEL_DATE_SUFFIX)


def service_tier(body: dict[str, Any]) -> str:
    """The tier reported back: the requested one when it is a concrete tier, else ``default``."""
    requested = body.get("service_tier")
    if requested == "fast":
        return "priority"
    return requested if requested in ("default", "flex", "scale", "priority") else "default"


def openai_usage(ctx: GenContext, prompt_tokens: int, completion_tokens: int, reasoning_tokens: int) -> JsonDict:
    """Chat/legacy-completions usage, with the scripted override merged in."""
    usage = ctx.usage(
        {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens,
            "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0},
            "completion_tokens_details": {
                "reasoning_tokens": reasoning_tokens,
                "audio_tokens": 0,
                "accepted_prediction_tokens": 0,
                "rejected_prediction_tokens": 0,
            },
        }
    )
    if "total_tokens" not in ctx.usage_override:
        usage["total_tokens"] = usage["prompt_tokens"] + usage["completion_tokens"]
    return usage


def chat_completions(body: JsonDict, ctx: GenContext) -> Output:
    """Generate a chat completion (or its chunk stream) for ``body``."""
    require(body, "model", "messages")
    choices = [_plan_choice(body, ctx, index) for index in range(int(body.get("n") or 1))]
    if body.get("stream"):
        return SseOutput(_stream_events(body, ctx, choices))
    return JsonOutput(_completion(body, ctx, choices))


def _plan_choice(body: JsonDict, ctx: GenContext, index: int) -> ChoicePlan:
    messages = body["messages"]
    last = messages[-1] if messages else {}
    tool = _tool_to_call(body)
    if tool is not None and last.get("role") != "tool":
        arguments = compact_json(example_from_schema(tool.get("parameters") or {"type": "object"}))
        return ChoicePlan(index, None, ToolCall(ctx.ids.new("call_"), tool["name"], arguments), "tool_calls")
    text, cut = truncate(ctx.answer(_answer(body, last)), max_tokens_of(body, "max_completion_tokens", "max_tokens"))
    return ChoicePlan(index, text, None, "length" if cut else "stop")


def _answer(body: JsonDict, last: JsonDict) -> str:
    if last.get("role") == "tool":
        return tool_answer(text_of(last.get("content")))
    prompt = _prompt(body["messages"])
    response_format = body.get("response_format") or {}
    if response_format.get("type") == "json_schema":
        return compact_json(example_from_schema(response_format.get("json_schema", {}).get("schema", {})))
    if response_format.get("type") == "json_object":
        return compact_json({"answer": echo(prompt)})
    return echo(prompt)


def _prompt(messages: list[JsonDict]) -> str:
    users = [m for m in messages if m.get("role") == "user"]
    return text_of(users[-1].get("content")) if users else ""


def _tool_to_call(body: JsonDict) -> JsonDict | None:
    """The ``function`` of the tool to call: the one ``tool_choice`` names, else the first function tool."""
    choice = body.get("tool_choice")
    functions: list[JsonDict] = [
        t["function"] for t in body.get("tools") or [] if t.get("type") == "function" and "function" in t
    ]
    if not functions or choice == "none":
        return None
    if isinstance(choice, dict) and choice.get("type") == "function":
        wanted = choice.get("function", {}).get("name")
        return next((f for f in functions if f.get("name") == wanted), functions[0])
    return functions[0]


def _reasoning_tokens(body: JsonDict) -> int:
    if body.get("reasoning_effort") in (None, "none"):
        return 0
    return count_tokens(reasoning_text(_prompt(body["messages"])))


def _usage(body: JsonDict, ctx: GenContext, choices: list[ChoicePlan]) -> JsonDict:
    prompt_tokens = max(1, sum(count_tokens(text_of(m.get("content"))) for m in body["messages"]))
    reasoning = _reasoning_tokens(body)
    completion = sum(len(c.tokens) for c in choices) + reasoning
    return openai_usage(ctx, prompt_tokens, completion, reasoning)


def _envelope(body: JsonDict, ctx: GenContext, obj: str) -> JsonDict:
    return {
        "id": ctx.ids.new("chatcmpl-", 29),
        "object": obj,
        "created": CREATED,
        "model": openai_model(body),
        "service_tier": service_tier(body),
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }


def _logprobs(body: JsonDict, tokens: list[str]) -> JsonDict | None:
    if not body.get("logprobs"):
        return None
    return {"content": logprob_entries(tokens, int(body.get("top_logprobs") or 0)), "refusal": None}


def _completion(body: JsonDict, ctx: GenContext, choices: list[ChoicePlan]) -> JsonDict:
    completion = _envelope(body, ctx, "chat.completion")
    completion["choices"] = [_choice(body, choice) for choice in choices]
    completion["usage"] = _usage(body, ctx, choices)
    return completion


def _choice(body: JsonDict, plan: ChoicePlan) -> JsonDict:
    message: JsonDict = {"role": "assistant", "content": plan.text, "refusal": None, "annotations": []}
    if plan.tool_call is not None:
        call = plan.tool_call
        message["tool_calls"] = [
            {"id": call.id, "type": "function", "function": {"name": call.name, "arguments": call.arguments}}
        ]
    logprobs = _logprobs(body, plan.tokens) if plan.text is not None else None
    return {"index": plan.index, "message": message, "logprobs": logprobs, "finish_reason": plan.finish_reason}


def _stream_events(body: JsonDict, ctx: GenContext, choices: list[ChoicePlan]) -> list[SseEvent]:
    envelope = _envelope(body, ctx, "chat.completion.chunk")
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    if include_usage:
        envelope["usage"] = None
    per_choice = [_choice_deltas(body, plan) for plan in choices]
    interleaved = [d for step in itertools.zip_longest(*per_choice) for d in step if d is not None]
    events: list[SseEvent] = [(None, {**envelope, "choices": [choice]}) for choice in interleaved]
    if include_usage:
        events.append((None, {**envelope, "choices": [], "usage": _usage(body, ctx, choices)}))
    events.append((None, "[DONE]"))
    return events


def _choice_deltas(body: JsonDict, plan: ChoicePlan) -> list[JsonDict]:
    """The ``choices[]`` entries streamed for one choice, in order."""

    def delta(content: JsonDict, finish: str | None = None, logprobs: JsonDict | None = None) -> JsonDict:
        return {"index": plan.index, "delta": content, "logprobs": logprobs, "finish_reason": finish}

    is_text = plan.tool_call is None
    deltas = [delta({"role": "assistant", "content": "" if is_text else None, "refusal": None})]
    if plan.tool_call is None:
        deltas += [delta({"content": token}, logprobs=_logprobs(body, [token])) for token in plan.tokens]
    else:
        deltas += [delta({"tool_calls": [call]}) for call in _tool_call_deltas(plan.tool_call)]
    deltas.append(delta({}, plan.finish_reason))
    return deltas


def _tool_call_deltas(call: ToolCall) -> list[JsonDict]:
    first = {"index": 0, "id": call.id, "type": "function", "function": {"name": call.name, "arguments": ""}}
    rest = [{"index": 0, "function": {"arguments": part}} for part in split_fragments(call.arguments)]
    return [first, *rest]
