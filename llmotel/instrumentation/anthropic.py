"""Anthropic adapter: request options -> LLMCall, Message / stream events -> LLMCall; and the instrumentor.

Covers every client built on ``anthropic._base_client`` (``Anthropic``, ``AsyncAnthropic`` and the platform
clients ``AnthropicBedrock``/``AnthropicBedrockMantle`` -> ``aws.bedrock``, ``AnthropicVertex`` ->
``gcp.vertex_ai``, ``AnthropicFoundry``, ``AnthropicAWS``, ``AnthropicGoogleCloud`` -> the provider name the
SDK itself declares for the client) through the single ``request`` wrap point in :mod:`._stainless`. The
platform clients rewrite the URL only later, on their own copy of the options, so every Messages call is seen
as ``POST /v1/messages``.

Traced: ``/v1/messages`` (``messages.create`` plain and streamed, the ``messages.stream()`` helper,
``messages.parse``, ``beta.messages.*``, the tool runner's calls) as ``chat``, and the legacy ``/v1/complete``
as ``text_completion``. ``/v1/messages/count_tokens`` and everything else pass through untraced.

The SDK's own tracing: anthropic 2.x starts its own ``anthropic.messages.create`` span for every API call
(when its ``open_telemetry`` option / ``ANTHROPIC_OPEN_TELEMETRY*`` variables leave it on and a tracer
provider is available) and sends that span's ``traceparent`` to the API. For a call llmotel traces, llmotel
turns the SDK's span off: the SDK starts a span only for requests whose options carry a ``span_name`` (the
per-call switch it uses for requests no SDK method made), so the adapter clears ``span_name`` on the call's
options. Then the SDK neither starts its span nor injects ``traceparent``, whatever its settings, and the call
has exactly one LLM span: llmotel's, with content per llmotel's capture setting, prompt/RAG annotations and
evaluations. Calls llmotel does not trace (``count_tokens``, files, batches, ...) keep the SDK's behaviour.
A ``conversation_id`` set in the client's ``open_telemetry`` option becomes ``gen_ai.conversation.id``.
"""

from __future__ import annotations

from typing import Any

from llmotel import semconv as sc
from llmotel.calls import LLMCall
from llmotel.content import output_message, plain_messages_json, text_part, text_parts_json
from llmotel.instrumentation import _anthropic_content as ac
from llmotel.instrumentation._adapter import Endpoint, EndpointAdapter
from llmotel.instrumentation._anthropic_content import get
from llmotel.instrumentation._stainless import SdkInstrumentation, lazy_instrumentor

# --- request ----------------------------------------------------------------------------------------------------------

# Body key -> (attribute, accepted types); bools are never accepted (an int subclass). The SDK's body holds
# every parameter of the method (unset ones as ``Omit``), so this table is looped over, not the body.
_NUMBER = (int, float)
_MESSAGES_PARAMS = {
    "max_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, _NUMBER),  # only via extra_body in anthropic 2.x
    "top_p": (sc.GEN_AI_REQUEST_TOP_P, _NUMBER),
    "top_k": (sc.GEN_AI_REQUEST_TOP_K, int),
    "service_tier": (sc.ANTHROPIC_REQUEST_SERVICE_TIER, str),
}
_COMPLETE_PARAMS = {
    "max_tokens_to_sample": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, _NUMBER),
    "top_p": (sc.GEN_AI_REQUEST_TOP_P, _NUMBER),
    "top_k": (sc.GEN_AI_REQUEST_TOP_K, int),
}


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and type(value) is not bool else None


def _copy_params(body: dict[str, Any], params: dict[str, tuple[str, Any]], attrs: dict[str, Any]) -> None:
    for key, (attr, accepted) in params.items():
        value = body.get(key)
        if isinstance(value, accepted) and type(value) is not bool:  # mostly Omit: one check rejects it
            attrs[attr] = value


def _stop_sequences(stop: Any, attrs: dict[str, Any]) -> None:
    if isinstance(stop, (list, tuple)) and stop and all(isinstance(s, str) for s in stop):
        attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = list(stop)


def _messages_request(call: LLMCall, body: dict[str, Any], attrs: dict[str, Any]) -> None:
    _copy_params(body, _MESSAGES_PARAMS, attrs)
    stop = body.get("stop_sequences")
    if isinstance(stop, (list, tuple)) and call.telemetry.capture_content:  # mostly Omit; stop sequences are user text
        _stop_sequences(stop, attrs)
    thinking = body.get("thinking")
    if isinstance(thinking, dict):
        kind = thinking.get("type")
        if isinstance(kind, str):
            attrs[sc.ANTHROPIC_THINKING_TYPE] = kind
        budget = _int(thinking.get("budget_tokens"))
        if budget is not None:
            attrs[sc.ANTHROPIC_THINKING_BUDGET_TOKENS] = budget
    output_config = body.get("output_config")
    if isinstance(output_config, dict):
        effort = output_config.get("effort")
        if isinstance(effort, str):
            attrs[sc.GEN_AI_REQUEST_REASONING_LEVEL] = effort
        if _is_json_format(output_config.get("format")):
            attrs[sc.GEN_AI_OUTPUT_TYPE] = sc.OUTPUT_TYPE_JSON
    output_format = body.get("output_format")  # the deprecated spelling of output_config.format
    if isinstance(output_format, dict) and _is_json_format(output_format):
        attrs[sc.GEN_AI_OUTPUT_TYPE] = sc.OUTPUT_TYPE_JSON
    if call.collect_content:
        limit = call.telemetry.text_limit
        messages = body.get("messages")
        call.input_messages = plain_messages_json(messages, limit) or ac.input_messages(messages, call.cut)
        system = body.get("system")
        if system is not None:
            fast = text_parts_json(system, limit) if type(system) is str and system else None
            call.system_instructions = fast or ac.system_instructions(system, call.cut)
        tools = body.get("tools")
        if isinstance(tools, (list, tuple)):  # else (None, Omit, ...) there are none
            call.tool_definitions = ac.tool_definitions(tools)


def _is_json_format(fmt: Any) -> bool:
    return isinstance(fmt, dict) and fmt.get("type") == "json_schema"


def _complete_request(call: LLMCall, body: dict[str, Any], attrs: dict[str, Any]) -> None:
    _copy_params(body, _COMPLETE_PARAMS, attrs)
    if call.telemetry.capture_content:
        _stop_sequences(body.get("stop_sequences"), attrs)
    if call.collect_content:
        call.input_messages = ac.completion_prompt_messages(body.get("prompt"), call.cut)


# --- response ---------------------------------------------------------------------------------------------------------


def _count(value: Any) -> int | None:
    return value if type(value) is int and value >= 0 else None


def _fields(obj: Any) -> dict[str, Any]:
    """A response object's fields as a dict: the dict itself, or a pydantic model's ``__dict__`` (its declared
    fields; read once per object instead of one ``getattr`` per field)."""
    if isinstance(obj, dict):
        return obj
    fields = getattr(obj, "__dict__", None)
    return fields if isinstance(fields, dict) else {}


def _usage(call: LLMCall, *usages: Any) -> None:
    """Usage from a Message (or, for streams, ``message_start`` then ``message_delta``: later counts win).

    ``gen_ai.usage.input_tokens`` = input + cache read + cache creation, as the conventions ask. A count is a
    non-negative int (checked inline: this runs on every call).
    """
    input_tokens = read = written = output = thinking = tier = None
    for usage in usages:
        if usage is None:
            continue
        fields = _fields(usage)
        value = fields.get("input_tokens")
        if type(value) is int and value >= 0:
            input_tokens = value
        value = fields.get("cache_read_input_tokens")
        if type(value) is int and value >= 0:
            read = value
        value = fields.get("cache_creation_input_tokens")
        if type(value) is int and value >= 0:
            written = value
        value = fields.get("output_tokens")
        if type(value) is int and value >= 0:
            output = value
        details = fields.get("output_tokens_details")
        if details is not None:
            value = _count(_fields(details).get("thinking_tokens"))
            if value is not None:
                thinking = value
        value = fields.get("service_tier")
        if isinstance(value, str):
            tier = value
    attrs = call.attributes
    if read is not None:
        attrs[sc.GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS] = read
    if written is not None:
        attrs[sc.GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS] = written
    if input_tokens is not None:
        call.input_tokens = input_tokens + (read or 0) + (written or 0)
    if output is not None:
        call.output_tokens = output
    if thinking is not None:
        attrs[sc.GEN_AI_USAGE_REASONING_OUTPUT_TOKENS] = thinking
    if tier is not None:
        attrs[sc.ANTHROPIC_RESPONSE_SERVICE_TIER] = tier


def _header(call: LLMCall, fields: dict[str, Any]) -> None:
    response_id = fields.get("id")
    if isinstance(response_id, str):
        call.attributes[sc.GEN_AI_RESPONSE_ID] = response_id
    model = fields.get("model")
    if isinstance(model, str):
        call.response_model = model


def _finish_reason(call: LLMCall, stop_reason: Any) -> None:
    if isinstance(stop_reason, str):  # the provider's own value: end_turn, max_tokens, tool_use, pause_turn, ...
        call.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = [stop_reason]


def _messages_response(call: LLMCall, response: Any) -> None:
    fields = _fields(response)
    _header(call, fields)
    _finish_reason(call, fields.get("stop_reason"))
    _usage(call, fields.get("usage"))
    if call.collect_content:
        content = fields.get("content")
        stop_reason = fields.get("stop_reason")
        call.output_messages = (ac.output_messages_json(content, stop_reason, call.telemetry.text_limit)
                                or [ac.output_message_of(content, stop_reason, call.cut)])


def _complete_response(call: LLMCall, response: Any) -> None:
    fields = _fields(response)
    _header(call, fields)
    _finish_reason(call, fields.get("stop_reason"))
    if call.collect_content:
        text = fields.get("completion")
        parts = [text_part(text if isinstance(text, str) else "", call.cut)]
        call.output_messages = [output_message("assistant", parts, ac.finish_reason(fields.get("stop_reason")))]


# --- streams ----------------------------------------------------------------------------------------------------------

class MessagesStreamAccumulator:
    """Messages stream events: ``message_start`` (id, model, usage), content blocks and their deltas (only when
    content is captured), ``message_delta`` (stop reason, final usage). Unknown events and deltas are skipped.

    The delta path is the per-chunk hot path: plain attribute reads in one ``try`` (an odd shape is skipped
    through the exception), and the pieces' types are checked once, when the stream ends.
    """

    __slots__ = ("blocks", "capture", "delta_usage", "start", "stop_reason")

    def __init__(self, capture: bool) -> None:
        self.capture = capture
        self.start: Any = None  # the message of message_start
        self.blocks: dict[int, tuple[Any, list[Any]]] = {}  # index -> (content_block_start block, delta pieces)
        self.stop_reason: Any = None
        self.delta_usage: Any = None

    def add(self, event: Any) -> None:
        try:
            kind = event.type
            if kind == "content_block_delta":
                if self.capture:
                    delta = event.delta
                    pieces = self.blocks[event.index][1]
                    delta_type = delta.type
                    if delta_type == "text_delta":
                        pieces.append(delta.text)
                    elif delta_type == "input_json_delta":
                        pieces.append(delta.partial_json)
                    elif delta_type == "thinking_delta":
                        pieces.append(delta.thinking)
            elif kind == "content_block_start":
                if self.capture:
                    index = event.index
                    if type(index) is int:
                        self.blocks[index] = (event.content_block, [])
            elif kind == "message_start":
                self.start = event.message
            elif kind == "message_delta":
                self.stop_reason = get(event.delta, "stop_reason")
                self.delta_usage = getattr(event, "usage", None)
        except (AttributeError, KeyError, TypeError):  # an event or delta shape this version does not know
            return

    def finish(self, call: LLMCall) -> None:
        start = _fields(self.start)
        _header(call, start)
        _finish_reason(call, self.stop_reason)
        _usage(call, start.get("usage"), self.delta_usage)
        if call.collect_content and (self.start is not None or self.blocks):
            blocks = [_assembled(*self.blocks[i]) for i in sorted(self.blocks)]
            call.output_messages = [ac.output_message_of(blocks, self.stop_reason, call.cut)]


def _assembled(block: Any, pieces: list[Any]) -> Any:
    """A streamed block with its deltas joined; a tool's ``input`` is the raw JSON of its ``input_json_delta``
    fragments (parsed when complete, kept as cut text when the stream ended early)."""
    fragments = [p for p in pieces if type(p) is str]
    kind = get(block, "type")
    if kind in ("text", "thinking"):
        initial = get(block, kind)
        return {"type": kind, kind: "".join([initial if isinstance(initial, str) else "", *fragments])}
    if kind in ("tool_use", "server_tool_use", "mcp_tool_use") and fragments:
        assembled = {key: get(block, key) for key in ("type", "id", "name", "server_name")}
        assembled["input"] = "".join(fragments)
        return assembled
    return block


class CompleteStreamAccumulator:
    """Legacy ``/v1/complete`` stream: ``completion`` events carry text pieces; the last one the stop reason."""

    __slots__ = ("first", "stop_reason", "text")

    def __init__(self) -> None:
        self.first: Any = None
        self.text: list[str] = []
        self.stop_reason: Any = None

    def add(self, event: Any) -> None:
        if self.first is None:
            self.first = event
        piece = get(event, "completion")
        if isinstance(piece, str):
            self.text.append(piece)
        reason = get(event, "stop_reason")
        if reason is not None:
            self.stop_reason = reason

    def finish(self, call: LLMCall) -> None:
        _header(call, _fields(self.first))
        _finish_reason(call, self.stop_reason)
        if call.collect_content:
            parts = [text_part("".join(self.text), call.cut)]
            call.output_messages = [output_message("assistant", parts, ac.finish_reason(self.stop_reason))]


_MESSAGES = Endpoint(
    sc.OP_CHAT, _messages_request, _messages_response, lambda call: MessagesStreamAccumulator(call.collect_content)
)
_COMPLETE = Endpoint(
    sc.OP_TEXT_COMPLETION, _complete_request, _complete_response, lambda call: CompleteStreamAccumulator()
)
_ENDPOINTS = {
    "/v1/messages": _MESSAGES,
    "/v1/messages?beta=true": _MESSAGES,  # older SDKs put the beta flag into the path
    "/v1/complete": _COMPLETE,
}


class AnthropicAdapter(EndpointAdapter):
    """The Anthropic side of the Stainless lifecycle (see :class:`llmotel.instrumentation._stainless.Adapter`)."""

    endpoints = _ENDPOINTS
    default_provider = sc.PROVIDER_ANTHROPIC

    def request_body(self, options: Any) -> dict[str, Any]:
        body = options.json_data
        if not isinstance(body, dict):
            body = {}
        extra = options.extra_json  # extra_body: the only way to send temperature/top_p/top_k in anthropic 2.x
        return {**body, **extra} if isinstance(extra, dict) and extra else body

    def server(self, client: Any) -> tuple[str, str | None, int | None]:
        provider, address, port = super().server(client)
        declared = getattr(type(client), "_gen_ai_provider_name", None)  # the SDK's own name for the platform
        return (declared if isinstance(declared, str) and declared else provider), address, port

    def prepare(self, call: LLMCall, client: Any, options: Any, body: dict[str, Any], stream: bool) -> None:
        sdk_tracing = client.__dict__.get("_open_telemetry")  # the client's open_telemetry option
        if isinstance(sdk_tracing, dict):
            conversation = sdk_tracing.get("conversation_id")
            if isinstance(conversation, str) and conversation:
                call.start_attributes[sc.GEN_AI_CONVERSATION_ID] = conversation
        if getattr(options, "span_name", None):
            options.span_name = None  # the SDK's own span (and its traceparent) off for this call: see the docstring


#: The one instrumentation of the ``anthropic`` SDK (``enable()`` and :class:`AnthropicInstrumentor` share it);
#: tested with 0.125 (no SDK tracing yet), 1.17, 2.12.
INSTRUMENTATION = SdkInstrumentation("anthropic", AnthropicAdapter, ("anthropic >= 0.125",))

__getattr__ = lazy_instrumentor("AnthropicInstrumentor", INSTRUMENTATION, __name__)  # made on first access

__all__ = ["INSTRUMENTATION", "AnthropicAdapter", "AnthropicInstrumentor"]  # noqa: F822 (made by __getattr__)
