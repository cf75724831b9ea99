"""OpenAI adapter: request options -> LLMCall, response / stream chunks -> LLMCall; and the instrumentor.

Covers every client built on ``openai._base_client`` (``OpenAI``, ``AsyncOpenAI``, Azure, Bedrock and any
OpenAI-compatible base URL) through the single ``request`` wrap point in :mod:`._stainless`. Traced
endpoints: ``/chat/completions`` (incl. ``parse`` and the ``stream()`` helpers), ``/responses`` (incl.
``parse`` and ``stream``), ``/embeddings`` and legacy ``/completions``. Everything else passes through.
"""

from __future__ import annotations

from typing import Any

from llmotel import semconv as sc
from llmotel.calls import LLMCall
from llmotel.content import (
    Message,
    Part,
    Truncator,
    generic_part,
    output_message,
    plain_messages_json,
    text_part,
    tool_call_part,
)
from llmotel.instrumentation import _openai_content as oc
from llmotel.instrumentation._adapter import Endpoint, EndpointAdapter
from llmotel.instrumentation._stainless import SdkInstrumentation, lazy_instrumentor

# --- request ----------------------------------------------------------------------------------------------------------

# Body key -> attribute. Looked up per key of the body (a request sets a few of them), not looped over.
_CHAT_PARAMS = {
    "max_tokens": sc.GEN_AI_REQUEST_MAX_TOKENS,  # max_completion_tokens, its successor, wins: see _chat_request
    "temperature": sc.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": sc.GEN_AI_REQUEST_TOP_P,
    "frequency_penalty": sc.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": sc.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "seed": sc.GEN_AI_REQUEST_SEED,
    "reasoning_effort": sc.GEN_AI_REQUEST_REASONING_LEVEL,
    "service_tier": sc.OPENAI_REQUEST_SERVICE_TIER,
}
_RESPONSES_PARAMS = {
    "max_output_tokens": sc.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": sc.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": sc.GEN_AI_REQUEST_TOP_P,
    "service_tier": sc.OPENAI_REQUEST_SERVICE_TIER,
    "previous_response_id": sc.GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID,
}
_COMPLETIONS_PARAMS = {
    "max_tokens": sc.GEN_AI_REQUEST_MAX_TOKENS,
    "temperature": sc.GEN_AI_REQUEST_TEMPERATURE,
    "top_p": sc.GEN_AI_REQUEST_TOP_P,
    "frequency_penalty": sc.GEN_AI_REQUEST_FREQUENCY_PENALTY,
    "presence_penalty": sc.GEN_AI_REQUEST_PRESENCE_PENALTY,
    "seed": sc.GEN_AI_REQUEST_SEED,
}
_PRIMITIVE = (str, bool, int, float)
_EXACT_PRIMITIVE = frozenset(_PRIMITIVE)  # a set lookup of the type first: cheaper than isinstance with a tuple
_OUTPUT_TYPES = {"json_schema": sc.OUTPUT_TYPE_JSON, "json_object": sc.OUTPUT_TYPE_JSON, "text": sc.OUTPUT_TYPE_TEXT}


def _copy_params(body: dict[str, Any], params: dict[str, str], attrs: dict[str, Any]) -> None:
    for key, value in body.items():
        attr = params.get(key)
        if attr is not None and (type(value) in _EXACT_PRIMITIVE or isinstance(value, _PRIMITIVE)):
            attrs[attr] = value


def _stop_sequences(stop: Any, attrs: dict[str, Any]) -> None:
    if isinstance(stop, str):
        attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = [stop]
    elif isinstance(stop, list) and stop and all(isinstance(s, str) for s in stop):
        attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = stop


def _choice_count(body: dict[str, Any], attrs: dict[str, Any]) -> None:
    n = body.get("n")
    if isinstance(n, int) and n != 1:
        attrs[sc.GEN_AI_REQUEST_CHOICE_COUNT] = n


def _output_type(body: dict[str, Any], attrs: dict[str, Any]) -> None:
    fmt = body.get("response_format")
    if isinstance(fmt, dict) and fmt.get("type") in _OUTPUT_TYPES:
        attrs[sc.GEN_AI_OUTPUT_TYPE] = _OUTPUT_TYPES[fmt["type"]]
    elif isinstance(body.get("modalities"), list) and "audio" in body["modalities"]:
        attrs[sc.GEN_AI_OUTPUT_TYPE] = sc.OUTPUT_TYPE_SPEECH


def _chat_request(call: LLMCall, body: dict[str, Any], attrs: dict[str, Any]) -> None:
    attrs[sc.OPENAI_API_TYPE] = sc.OPENAI_API_TYPE_CHAT_COMPLETIONS
    _copy_params(body, _CHAT_PARAMS, attrs)
    # Rarely set: a key test first, the parsing only when present (this runs on every call).
    if "max_completion_tokens" in body:  # the successor of max_tokens: wins over it
        max_completion_tokens = body["max_completion_tokens"]
        if isinstance(max_completion_tokens, _PRIMITIVE):
            attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] = max_completion_tokens
    if "stop" in body and call.telemetry.capture_content:  # stop sequences are user text
        _stop_sequences(body["stop"], attrs)
    if "n" in body:
        _choice_count(body, attrs)
    if "response_format" in body or "modalities" in body:
        _output_type(body, attrs)
    if call.collect_content:
        messages = body.get("messages")
        call.input_messages = (plain_messages_json(messages, call.telemetry.text_limit)
                               or oc.chat_input_messages(messages, call.cut))
        if "tools" in body:
            call.tool_definitions = oc.tool_definitions(body["tools"])


def _responses_request(call: LLMCall, body: dict[str, Any], attrs: dict[str, Any]) -> None:
    attrs[sc.OPENAI_API_TYPE] = sc.OPENAI_API_TYPE_RESPONSES
    _copy_params(body, _RESPONSES_PARAMS, attrs)
    reasoning = body.get("reasoning")
    if isinstance(reasoning, dict) and isinstance(reasoning.get("effort"), str):
        attrs[sc.GEN_AI_REQUEST_REASONING_LEVEL] = reasoning["effort"]
    text = body.get("text")
    fmt = text.get("format") if isinstance(text, dict) else None
    if isinstance(fmt, dict) and fmt.get("type") in _OUTPUT_TYPES:
        attrs[sc.GEN_AI_OUTPUT_TYPE] = _OUTPUT_TYPES[fmt["type"]]
    conversation = body.get("conversation")
    conversation_id = conversation.get("id") if isinstance(conversation, dict) else conversation
    if isinstance(conversation_id, str) and conversation_id:
        attrs[sc.GEN_AI_CONVERSATION_ID] = conversation_id
    if call.collect_content:
        instructions = body.get("instructions")
        if isinstance(instructions, str) and instructions:
            call.system_instructions = [text_part(instructions, call.cut)]
        call.input_messages = oc.responses_input_messages(body.get("input"), call.cut)
        call.tool_definitions = oc.tool_definitions(body.get("tools"))


def _embeddings_request(call: LLMCall, body: dict[str, Any], attrs: dict[str, Any]) -> None:
    fmt = body.get("encoding_format")
    if isinstance(fmt, str):
        attrs[sc.GEN_AI_REQUEST_ENCODING_FORMATS] = [fmt]
    dims = body.get("dimensions")
    if isinstance(dims, int):
        attrs[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = dims


def _completions_request(call: LLMCall, body: dict[str, Any], attrs: dict[str, Any]) -> None:
    _copy_params(body, _COMPLETIONS_PARAMS, attrs)
    if call.telemetry.capture_content:
        _stop_sequences(body.get("stop"), attrs)
    _choice_count(body, attrs)
    if call.collect_content:
        call.input_messages = oc.completion_prompt_messages(body.get("prompt"), call.cut)


# --- response ---------------------------------------------------------------------------------------------------------


def _usage_chat(call: LLMCall, usage: Any) -> None:
    if usage is None:
        return
    call.input_tokens = getattr(usage, "prompt_tokens", None)
    call.output_tokens = getattr(usage, "completion_tokens", None)
    _usage_details(
        call, getattr(usage, "prompt_tokens_details", None), getattr(usage, "completion_tokens_details", None)
    )


def _usage_responses(call: LLMCall, usage: Any) -> None:
    if usage is None:
        return
    call.input_tokens = getattr(usage, "input_tokens", None)
    call.output_tokens = getattr(usage, "output_tokens", None)
    _usage_details(call, getattr(usage, "input_tokens_details", None), getattr(usage, "output_tokens_details", None))


def _usage_details(call: LLMCall, input_details: Any, output_details: Any) -> None:
    attrs = call.attributes
    if input_details is not None:
        cached = getattr(input_details, "cached_tokens", None)
        if cached is not None:
            attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = cached
        written = getattr(input_details, "cache_write_tokens", None)
        if written is not None:
            attrs[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = written
    if output_details is not None:
        reasoning = getattr(output_details, "reasoning_tokens", None)
        if reasoning is not None:
            attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = reasoning


def _response_header(call: LLMCall, response: Any) -> None:
    attrs = call.attributes
    response_id = getattr(response, "id", None)
    if isinstance(response_id, str):
        attrs[sc.GEN_AI_RESPONSE_ID] = response_id
    model = getattr(response, "model", None)
    if isinstance(model, str):
        call.response_model = model
    tier = getattr(response, "service_tier", None)
    if isinstance(tier, str):
        attrs[sc.OPENAI_RESPONSE_SERVICE_TIER] = tier
    fingerprint = getattr(response, "system_fingerprint", None)
    if isinstance(fingerprint, str):
        attrs[sc.OPENAI_RESPONSE_SYSTEM_FINGERPRINT] = fingerprint


def _chat_response(call: LLMCall, response: Any) -> None:
    _response_header(call, response)
    choices = getattr(response, "choices", None) or ()
    reasons = []  # a loop, not a comprehension: one function call less on every call
    for choice in choices:
        reasons.append(choice.finish_reason or "")
    call.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    _usage_chat(call, getattr(response, "usage", None))
    if call.collect_content:
        call.output_messages = (oc.chat_output_messages_json(choices, call.telemetry.text_limit)
                                or [oc.chat_output_message(c.message, c.finish_reason, call.cut) for c in choices])


def _responses_finish_reason(response: Any, called_function: bool) -> str:
    status = getattr(response, "status", None)
    if status == "incomplete":
        details = getattr(response, "incomplete_details", None)
        return getattr(details, "reason", None) or "incomplete"
    if status == "failed":
        return "error"
    return "tool_calls" if called_function else "stop"


def _responses_response(call: LLMCall, response: Any) -> None:
    _response_header(call, response)
    _usage_responses(call, getattr(response, "usage", None))
    parts, called = oc.responses_output(getattr(response, "output", None), call.cut)
    reason = _responses_finish_reason(response, called)
    call.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [reason]
    if call.collect_content:
        call.output_messages = [output_message("assistant", parts, oc.finish_reason(reason))]


def _embeddings_response(call: LLMCall, response: Any) -> None:
    model = getattr(response, "model", None)
    if isinstance(model, str):
        call.response_model = model
    usage = getattr(response, "usage", None)
    if usage is not None:
        call.input_tokens = getattr(usage, "prompt_tokens", None)
    data = getattr(response, "data", None)
    if data:
        embedding = getattr(data[0], "embedding", None)
        if isinstance(embedding, list):
            call.attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = len(embedding)
        elif isinstance(embedding, str):  # base64 of float32s
            decoded_bytes = len(embedding) * 3 // 4 - embedding.count("=")
            call.attributes[sc.GEN_AI_EMBEDDINGS_DIMENSION_COUNT] = decoded_bytes // 4


def _completions_response(call: LLMCall, response: Any) -> None:
    _response_header(call, response)
    choices = getattr(response, "choices", None) or ()
    reasons = []  # a loop, not a comprehension: one function call less on every call
    for choice in choices:
        reasons.append(choice.finish_reason or "")
    call.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
    _usage_chat(call, getattr(response, "usage", None))
    if call.collect_content:
        call.output_messages = [
            output_message("assistant", [text_part(c.text or "", call.cut)], oc.finish_reason(c.finish_reason))
            for c in choices
        ]


# --- streams ----------------------------------------------------------------------------------------------------------


class _Choice:
    __slots__ = ("finish_reason", "refusal", "role", "text", "tool_calls")

    def __init__(self) -> None:
        self.role: str | None = None
        self.text: list[str] = []
        self.refusal: list[str] = []
        self.tool_calls: dict[int, list[Any]] = {}  # index -> [id, name, [argument fragments]]
        self.finish_reason: str | None = None


class ChatStreamAccumulator:
    """Chat Completions chunks: text, refusal and tool-call deltas per choice, usage from the last chunk."""

    __slots__ = ("choices", "first", "usage")

    def __init__(self) -> None:
        self.choices: dict[int, _Choice] = {}
        self.first: Any = None
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        if self.first is None:
            self.first = chunk
        for choice in chunk.choices:
            index = getattr(choice, "index", 0)
            if type(index) is not int:  # missing or null in a hostile or odd chunk: the first choice
                index = 0
            state = self.choices.get(index)
            if state is None:
                state = self.choices[index] = _Choice()
            delta = choice.delta
            if delta is not None:
                if isinstance(delta.content, str):
                    state.text.append(delta.content)
                if delta.tool_calls:
                    self._tool_calls(state, delta.tool_calls)
                if isinstance(delta.refusal, str):
                    state.refusal.append(delta.refusal)
                if isinstance(delta.role, str):
                    state.role = delta.role
            if isinstance(choice.finish_reason, str):
                state.finish_reason = choice.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage

    @staticmethod
    def _tool_calls(state: _Choice, deltas: Any) -> None:
        for delta in deltas:
            index = getattr(delta, "index", 0)
            if type(index) is not int:
                index = 0
            entry = state.tool_calls.get(index)
            if entry is None:
                entry = state.tool_calls[index] = [None, None, []]
            if delta.id:
                entry[0] = delta.id
            fn = delta.function
            if fn is not None:
                if fn.name:
                    entry[1] = fn.name
                if fn.arguments:
                    entry[2].append(fn.arguments)

    def finish(self, call: LLMCall) -> None:
        if self.first is not None:
            _response_header(call, self.first)
        _usage_chat(call, self.usage)
        ordered = [self.choices[i] for i in sorted(self.choices)]
        call.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [c.finish_reason or "" for c in ordered]
        if call.collect_content:
            call.output_messages = [self._message(c, call.cut) for c in ordered]

    @staticmethod
    def _message(choice: _Choice, cut: Truncator) -> Message:
        parts: list[Part] = []
        if choice.text:
            parts.append(text_part("".join(choice.text), cut))
        if choice.refusal:
            parts.append(generic_part(sc.PART_REFUSAL, cut, "".join(choice.refusal)))
        for index in sorted(choice.tool_calls):
            call_id, name, fragments = choice.tool_calls[index]
            parts.append(tool_call_part(call_id, name, "".join(fragments), cut))
        return output_message(choice.role or "assistant", parts, oc.finish_reason(choice.finish_reason))


class ResponsesStreamAccumulator:
    """Responses API events: the final ``response.*`` event carries everything; deltas cover an early exit."""

    __slots__ = ("final", "response", "text")

    def __init__(self) -> None:
        self.response: Any = None  # latest full response object seen (created / in_progress / completed)
        self.final = False
        self.text: dict[int, list[str]] = {}

    def add(self, event: Any) -> None:
        kind = event.type
        if kind == "response.output_text.delta":
            index = getattr(event, "output_index", 0)
            self.text.setdefault(index if type(index) is int else 0, []).append(event.delta)
        elif kind in ("response.completed", "response.incomplete", "response.failed"):
            self.response = event.response
            self.final = True
        elif kind in ("response.created", "response.in_progress"):
            self.response = event.response

    def finish(self, call: LLMCall) -> None:
        if self.final:
            _responses_response(call, self.response)
            return
        if self.response is not None:
            _response_header(call, self.response)
        if call.collect_content and self.text:  # ended before the final event: no finish reason
            parts = [text_part("".join(self.text[i]), call.cut) for i in sorted(self.text)]
            call.output_messages = [output_message("assistant", parts, "")]


class CompletionsStreamAccumulator:
    """Legacy completions chunks: text per choice index."""

    __slots__ = ("finish_reasons", "first", "text", "usage")

    def __init__(self) -> None:
        self.first: Any = None
        self.text: dict[int, list[str]] = {}
        self.finish_reasons: dict[int, str] = {}
        self.usage: Any = None

    def add(self, chunk: Any) -> None:
        if self.first is None:
            self.first = chunk
        for choice in chunk.choices:
            index = getattr(choice, "index", 0)
            if type(index) is not int:  # missing or null in a hostile or odd chunk: the first choice
                index = 0
            if isinstance(choice.text, str):  # an odd chunk's number or list would break the join at the end
                self.text.setdefault(index, []).append(choice.text)
            if isinstance(choice.finish_reason, str):
                self.finish_reasons[index] = choice.finish_reason
        if chunk.usage is not None:
            self.usage = chunk.usage

    def finish(self, call: LLMCall) -> None:
        if self.first is not None:
            _response_header(call, self.first)
        _usage_chat(call, self.usage)
        indexes = sorted(set(self.text) | set(self.finish_reasons))
        call.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [self.finish_reasons.get(i, "") for i in indexes]
        if call.collect_content:
            call.output_messages = [
                output_message("assistant", [text_part("".join(self.text.get(i, ())), call.cut)],
                               oc.finish_reason(self.finish_reasons.get(i)))
                for i in indexes
            ]


_CHAT = Endpoint(sc.OP_CHAT, _chat_request, _chat_response, lambda call: ChatStreamAccumulator())
_COMPLETIONS = Endpoint(
    sc.OP_TEXT_COMPLETION, _completions_request, _completions_response, lambda call: CompletionsStreamAccumulator()
)
_ENDPOINTS = {
    "/chat/completions": _CHAT,
    "/responses": Endpoint(sc.OP_CHAT, _responses_request, _responses_response,
                           lambda call: ResponsesStreamAccumulator()),
    "/embeddings": Endpoint(sc.OP_EMBEDDINGS, _embeddings_request, _embeddings_response),
    "/completions": _COMPLETIONS,
}
_USAGE_STREAMS = (_CHAT, _COMPLETIONS)  # the endpoints that accept stream_options


class OpenAIAdapter(EndpointAdapter):
    """The OpenAI side of the Stainless lifecycle (see :class:`llmotel.instrumentation._stainless.Adapter`)."""

    endpoints = _ENDPOINTS
    default_provider = sc.PROVIDER_OPENAI

    def prepare(self, call: LLMCall, client: Any, options: Any, body: dict[str, Any], stream: bool) -> None:
        if stream and call.telemetry.settings.stream_usage and call.handler in _USAGE_STREAMS \
                and "stream_options" not in body:
            # Opt-in only (LLMOTEL_STREAM_USAGE=true): never change the user's request by default.
            options.json_data = {**body, "stream_options": {"include_usage": True}}


#: The one instrumentation of the ``openai`` SDK (``enable()`` and :class:`OpenAIInstrumentor` share it);
#: tested with 1.109, 2.54, 3.54.
INSTRUMENTATION = SdkInstrumentation("openai", OpenAIAdapter, ("openai >= 1.0",))

__getattr__ = lazy_instrumentor("OpenAIInstrumentor", INSTRUMENTATION, __name__)  # made on first access

__all__ = ["INSTRUMENTATION", "OpenAIAdapter", "OpenAIInstrumentor"]  # noqa: F822 (made by __getattr__)
