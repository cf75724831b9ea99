"""OpenAI legacy ``POST /v1/completions`` (text completions), plain and streamed."""

from __future__ import annotations

from ._common import (
    CREATED,
    SYSTEM_FINGERPRINT,
    GenContext,
    JsonDict,
    JsonOutput,
    Output,
    SseEvent,
    SseOutput,
    count_tokens,
    echo,
    max_tokens_of,
    require,
    tokenize,
    truncate,
)
from .openai_chat import openai_model, openai_usage

LEGACY_MAX_TOKENS = 16
"""The API's default ``max_tokens`` for legacy completions."""


def completions(body: JsonDict, ctx: GenContext) -> Output:
    """Generate a text completion (one choice per prompt and ``n``) or its chunk stream."""
    require(body, "model", "prompt")
    prompts = body["prompt"] if isinstance(body["prompt"], list) else [body["prompt"]]
    prompts = [p if isinstance(p, str) else " ".join(map(str, p)) for p in prompts]
    n = int(body.get("n") or 1)
    limit = max_tokens_of(body, "max_tokens") or LEGACY_MAX_TOKENS
    choices = [_choice(body, ctx, i, prompts[i // n], limit) for i in range(len(prompts) * n)]
    completion_tokens = sum(count_tokens(c["text"]) for c in choices)
    prompt_tokens = max(1, sum(count_tokens(p) for p in prompts))
    usage = openai_usage(ctx, prompt_tokens, completion_tokens, 0)
    envelope = {
        "id": ctx.ids.new("cmpl-", 29),
        "object": "text_completion",
        "created": CREATED,
        "model": openai_model(body),
        "system_fingerprint": SYSTEM_FINGERPRINT,
    }
    if body.get("stream"):
        return SseOutput(_stream_events(body, envelope, choices, usage))
    return JsonOutput({**envelope, "choices": choices, "usage": usage})


def _choice(body: JsonDict, ctx: GenContext, index: int, prompt: str, limit: int) -> JsonDict:
    text, cut = truncate(" " + ctx.answer(echo(prompt)), limit)
    if body.get("echo"):
        text = prompt + text
    return {"text": text, "index": index, "logprobs": None, "finish_reason": "length" if cut else "stop"}


def _stream_events(body: JsonDict, envelope: JsonDict, choices: list[JsonDict], usage: JsonDict) -> list[SseEvent]:
    include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
    events: list[SseEvent] = []
    for choice in choices:
        for token in tokenize(choice["text"]):
            part = {"text": token, "index": choice["index"], "logprobs": None, "finish_reason": None}
            events.append((None, {**envelope, "choices": [part]}))
        final = {"text": "", "index": choice["index"], "logprobs": None, "finish_reason": choice["finish_reason"]}
        events.append((None, {**envelope, "choices": [final]}))
    if include_usage:
        events.append((None, {**envelope, "choices": [], "usage": usage}))
    events.append((None, "[DONE]"))
    return events
