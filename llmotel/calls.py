"""The LLM-call API: one span lifecycle for every producer of LLM spans (start, response, chunks, error, end
exactly once), with no provider SDK import.

:func:`llm_call` is the public way to trace any client (a provider without an instrumentation, plain HTTP). The
instrumentations' adapters turn a provider's request and response into an :class:`LLMCall` (plain data); this
module is the only place that creates, fills and ends LLM spans and records the GenAI metrics.
"""

from __future__ import annotations

import threading
from collections.abc import Mapping, Sequence
from time import perf_counter
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, TracerProvider

from llmotel import semconv as sc
from llmotel._diagnostics import diagnostics
from llmotel._span_attributes import set_response_attributes
from llmotel._version import __version__
from llmotel.annotations import current_annotations
from llmotel.config import Settings
from llmotel.content import (
    Truncator,
    keep_private_content,
    message,
    output_message,
    record_error,
    text_part,
    to_json,
)

_CLIENT = SpanKind.CLIENT

# One lock for every call: it only guards the test-and-set of ``LLMCall.ended``, so sharing it costs nothing,
# and a call need not allocate its own.
_END_LOCK = threading.Lock()

MetricAttributes = tuple[dict[str, Any], dict[str, Any], dict[str, Any]]
# (operation, provider, request model, address, port, response model, error type) -> metric attribute dicts.
# The SDK copies the attributes it keeps, so one set of dicts serves every call with the same key.
_metric_attributes: dict[tuple[Any, ...], MetricAttributes] = {}
_MAX_METRIC_KEYS = 256


class Telemetry:
    """What every LLM span needs: the tracer, the metric instruments and the content settings."""

    def __init__(
        self,
        settings: Settings,
        tracer_provider: TracerProvider | None = None,
        meter_provider: MeterProvider | None = None,
        scope: str = "llmotel",
    ) -> None:
        self.settings = settings
        self.tracer = trace.get_tracer(scope, __version__, tracer_provider)
        self.capture_content = settings.capture_content
        # Evaluators see content even when it is not exported: it then travels with the span object only.
        self.collect_content = settings.capture_content or settings.evaluates_content
        self.text_limit = settings.recorded_text_limit
        self.redacting = settings.redact_pii
        self.blob_limit = settings.max_blob_length
        self.record_metrics = settings.metrics
        self.propagate = settings.propagate_trace_context
        # A deferred meter provider (llmotel's own) builds its pipeline when the first call starts.
        self.prepare_metrics = getattr(meter_provider, "prepare", None) if settings.metrics else None
        meter = metrics.get_meter(scope, __version__, meter_provider)
        self.duration = meter.create_histogram(
            sc.METRIC_OPERATION_DURATION,
            unit="s",
            description="GenAI operation duration.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )
        self.token_usage = meter.create_histogram(
            sc.METRIC_TOKEN_USAGE,
            unit="{token}",
            description="Number of input and output tokens used.",
            explicit_bucket_boundaries_advisory=list(sc.TOKEN_USAGE_BUCKETS),
        )
        self.time_to_first_chunk = meter.create_histogram(
            sc.METRIC_TIME_TO_FIRST_CHUNK,
            unit="s",
            description="Time to receive the first chunk of a streamed response.",
            explicit_bucket_boundaries_advisory=list(sc.DURATION_BUCKETS),
        )

    def start_metric_pipeline(self) -> None:
        """Let a deferred meter provider build its pipeline in the background, while the first call runs."""
        prepare, self.prepare_metrics = self.prepare_metrics, None
        if prepare is not None:
            prepare()


class LLMCall:
    """One model call: request facts set at start, response facts filled by the adapter, then one span end.

    Content fields hold message lists (semconv parts format) and are serialised only when the span ends.
    """

    __slots__ = (
        "_cut",
        "attributes",
        "collect_content",
        "ended",
        "first_chunk_at",
        "handler",
        "input_messages",
        "input_tokens",
        "operation",
        "output_messages",
        "output_tokens",
        "provider",
        "request_model",
        "response_model",
        "server_address",
        "server_port",
        "span",
        "start_attributes",
        "system_instructions",
        "t0",
        "telemetry",
        "tool_definitions",
    )

    def __init__(
        self,
        telemetry: Telemetry,
        operation: str,
        provider: str | None,
        request_model: str | None,
        server_address: str | None,
        server_port: int | None,
    ) -> None:
        self.telemetry = telemetry
        self.operation = operation
        self.provider = provider
        self.request_model = request_model = request_model or None
        self.server_address = server_address = server_address or None
        self.server_port = server_port = server_port or None
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation}
        if provider:  # a manual llm() span may not name its provider
            attrs[sc.GEN_AI_PROVIDER_NAME] = provider
        if request_model:
            attrs[sc.GEN_AI_REQUEST_MODEL] = request_model
        if server_address:
            attrs[sc.SERVER_ADDRESS] = server_address
        if server_port:
            attrs[sc.SERVER_PORT] = server_port
        self.start_attributes = attrs
        self.attributes: dict[str, Any] = {}
        # Whether adapters should build content (exported, or kept in-process for evaluators).
        self.collect_content: bool = telemetry.collect_content
        self._cut: Truncator | None = None  # made on first use: the plain-text fast paths need none
        # Content: message lists, or JSON already rendered by an adapter's fast path.
        self.input_messages: list[dict[str, Any]] | str | None = None
        self.system_instructions: list[dict[str, Any]] | str | None = None
        self.tool_definitions: list[dict[str, Any]] | None = None
        self.output_messages: list[dict[str, Any]] | str | None = None
        self.response_model: str | None = None
        self.input_tokens: int | None = None
        self.output_tokens: int | None = None
        self.first_chunk_at: float | None = None
        self.span: Span | None = None
        self.handler: Any = None  # adapter-specific: what to do with this call's response
        self.t0 = 0.0
        self.ended = False

    @property
    def cut(self) -> Truncator:
        """This call's truncator (text and blob limits; remembers whether it cut anything)."""
        cut = self._cut
        if cut is None:
            tel = self.telemetry
            cut = self._cut = Truncator(tel.text_limit, tel.blob_limit)
        return cut

    def start(self, context: Context | None = None) -> Span:
        """Start the span (CLIENT, ``{operation} {model}``) with every request and annotation attribute.

        ``context``: the current OTel context when the caller already has it (saves looking it up again).
        """
        name = f"{self.operation} {self.request_model}" if self.request_model else self.operation
        tel = self.telemetry
        annotations = current_annotations(context)
        private = None
        if annotations is not None:  # annotation_context(): prompt, tags, metadata, span name
            self.start_attributes.update(annotations.span_attributes(tel.capture_content))
            if tel.collect_content and not tel.capture_content:
                private = annotations.span_attributes(True)
            name = annotations.name or name
        self.span = span = tel.tracer.start_span(name, context, kind=_CLIENT, attributes=self.start_attributes)
        if tel.prepare_metrics is not None:
            tel.start_metric_pipeline()
        if private is not None:
            keep_private_content(span, private)
        self.t0 = perf_counter()
        return span

    def end(self, error: BaseException | None = None, ended_by: str | None = None) -> None:
        """Set response attributes, content and status, end the span and record metrics. Runs once."""
        with _END_LOCK:
            if self.ended:
                return
            self.ended = True
        span = self.span
        if span is None:
            return
        try:
            self._finish_span(span, error, ended_by)
        except Exception as exc:  # never let telemetry trouble reach the caller; the span still ends
            diagnostics.report("span_end", "could not record an LLM span's response", exc)
            if span.is_recording():
                span.end()

    def _finish_span(self, span: Span, error: BaseException | None, ended_by: str | None) -> None:
        elapsed = perf_counter() - self.t0
        attrs = self.attributes
        model = self.response_model
        if isinstance(model, str) and model:
            attrs[sc.GEN_AI_RESPONSE_MODEL] = model
        # Token counts: only non-negative ints count (else they are dropped, from the metrics too).
        tokens = self.input_tokens
        if tokens is not None:
            if type(tokens) is int and tokens >= 0:
                attrs[sc.GEN_AI_USAGE_INPUT_TOKENS] = tokens
            else:
                self.input_tokens = None
        tokens = self.output_tokens
        if tokens is not None:
            if type(tokens) is int and tokens >= 0:
                attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS] = tokens
            else:
                self.output_tokens = None
        ttfc = None
        if self.first_chunk_at is not None:
            ttfc = self.first_chunk_at - self.t0
            attrs[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] = ttfc
        if ended_by is not None:
            attrs[sc.LLMOTEL_STREAM_ENDED_BY] = ended_by
        error_type = None
        if error is not None:  # the outcome first: content trouble below must not lose it
            error_type = type(error).__qualname__
            attrs[sc.ERROR_TYPE] = error_type
            status = getattr(error, "status_code", None)
            if isinstance(status, int):
                attrs[sc.HTTP_RESPONSE_STATUS_CODE] = status
            record_error(span, error, self.telemetry.capture_content, self.telemetry.redacting)
        try:
            if self.telemetry.capture_content:
                self._content_attributes(attrs)
            elif self.telemetry.collect_content:
                private: dict[str, Any] = {}
                self._content_attributes(private)
                keep_private_content(span, private)
        except Exception as exc:  # e.g. a tool schema too deep to serialise: the span keeps everything else
            diagnostics.report("content", "could not record an LLM call's content", exc)
        set_response_attributes(span, attrs)
        span.end()
        if self.telemetry.record_metrics:
            self._record_metrics(elapsed, ttfc, error_type)

    def _content_attributes(self, attrs: dict[str, Any]) -> None:
        # A fast path may have rendered a content field to JSON already; lists are rendered here.
        if self.system_instructions:
            value = self.system_instructions
            attrs[sc.GEN_AI_SYSTEM_INSTRUCTIONS] = value if type(value) is str else to_json(value)
        if self.input_messages is not None:
            value = self.input_messages
            attrs[sc.GEN_AI_INPUT_MESSAGES] = value if type(value) is str else to_json(value)
        if self.output_messages is not None:
            value = self.output_messages
            attrs[sc.GEN_AI_OUTPUT_MESSAGES] = value if type(value) is str else to_json(value)
        if self.tool_definitions:
            attrs[sc.GEN_AI_TOOL_DEFINITIONS] = to_json(self.tool_definitions)
        if self._cut is not None and self._cut.truncated:
            attrs[sc.LLMOTEL_CONTENT_TRUNCATED] = True

    def _record_metrics(self, elapsed: float, ttfc: float | None, error_type: str | None) -> None:
        model = self.response_model
        key = (self.operation, self.provider, self.request_model, self.server_address, self.server_port,
               model if isinstance(model, str) and model else None, error_type)
        found = _metric_attributes.get(key)
        if found is None:
            found = _build_metric_attributes(*key)
            if len(_metric_attributes) >= _MAX_METRIC_KEYS:
                _metric_attributes.clear()
            _metric_attributes[key] = found
        attrs, input_attrs, output_attrs = found
        tel = self.telemetry
        tel.duration.record(elapsed, attrs)
        if ttfc is not None:
            tel.time_to_first_chunk.record(ttfc, attrs)
        if self.input_tokens is not None:
            tel.token_usage.record(self.input_tokens, input_attrs)
        if self.output_tokens is not None:
            tel.token_usage.record(self.output_tokens, output_attrs)


def _build_metric_attributes(
    operation: str,
    provider: str | None,
    request_model: str | None,
    server_address: str | None,
    server_port: int | None,
    response_model: str | None,
    error_type: str | None,
) -> MetricAttributes:
    """The attributes of the duration metric, and of the input and output token usage metrics."""
    attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation}
    if provider:
        attrs[sc.GEN_AI_PROVIDER_NAME] = provider
    if request_model is not None:
        attrs[sc.GEN_AI_REQUEST_MODEL] = request_model
    if server_address is not None:
        attrs[sc.SERVER_ADDRESS] = server_address
    if server_port is not None:
        attrs[sc.SERVER_PORT] = server_port
    if response_model is not None:
        attrs[sc.GEN_AI_RESPONSE_MODEL] = response_model
    if error_type is not None:
        attrs[sc.ERROR_TYPE] = error_type
    return (
        attrs,
        {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_INPUT},
        {**attrs, sc.GEN_AI_TOKEN_TYPE: sc.TOKEN_TYPE_OUTPUT},
    )


# --- the public API ------------------------------------------------------------------------------------------------

#: ``request=`` keys of :func:`llm_call` and the attributes they become; numbers only (``stop_sequences`` is
#: content: recorded only with content capture on).
_REQUEST_PARAMETERS: dict[str, tuple[str, type | tuple[type, ...]]] = {
    "temperature": (sc.GEN_AI_REQUEST_TEMPERATURE, (int, float)),
    "top_p": (sc.GEN_AI_REQUEST_TOP_P, (int, float)),
    "top_k": (sc.GEN_AI_REQUEST_TOP_K, (int, float)),
    "max_tokens": (sc.GEN_AI_REQUEST_MAX_TOKENS, int),
    "frequency_penalty": (sc.GEN_AI_REQUEST_FREQUENCY_PENALTY, (int, float)),
    "presence_penalty": (sc.GEN_AI_REQUEST_PRESENCE_PENALTY, (int, float)),
    "seed": (sc.GEN_AI_REQUEST_SEED, int),
    "choice_count": (sc.GEN_AI_REQUEST_CHOICE_COUNT, int),
}


def _messages(messages: Any, cut: Truncator, output: bool = False) -> list[dict[str, Any]]:
    """Messages in the GenAI parts format; ``{"role", "content": str}`` items (the common chat shape) converted."""
    out = []
    for item in messages:
        if not isinstance(item, Mapping):
            raise TypeError(f"a message must be a mapping, not {type(item).__name__}")
        if "parts" in item:
            msg = dict(item)
        else:
            content = item.get("content")
            text = content if isinstance(content, str) or content is None else to_json(content)
            parts = [] if text is None else [text_part(text, cut)]
            msg = message(item.get("role", "user"), parts, item.get("name"))
        if output:
            finish = msg.get("finish_reason", item.get("finish_reason"))
            msg["finish_reason"] = finish if isinstance(finish, str) else ""
        out.append(msg)
    return out


class LLMCallHandle:
    """One model call being traced: record what the response says (at once, or chunk by chunk), then end it.

    Made by :func:`llm_call`. The span (CLIENT, ``{operation} {model}``) starts at once; :meth:`end` sets the
    response attributes, the content (exported, or kept in-process for evaluators when capture is off), the
    error, records the GenAI metrics and ends it, exactly once however often it is called. As a context manager
    it ends on exit, with the exception if one is raised. Never raises for telemetry trouble.
    """

    __slots__ = ("_call", "_finish_reasons", "_text")

    def __init__(self, call: LLMCall) -> None:
        self._call = call
        self._text: list[str] = []
        self._finish_reasons: list[str] = []

    @property
    def span(self) -> Span | None:
        """The call's span (to add attributes of your own)."""
        return self._call.span

    def record_response(
        self,
        *,
        model: str | None = None,
        response_id: str | None = None,
        finish_reasons: Sequence[str] | None = None,
        input_tokens: int | None = None,
        output_tokens: int | None = None,
        output_messages: Sequence[Mapping[str, Any]] | None = None,
        attributes: Mapping[str, Any] | None = None,
    ) -> None:
        """What the response says; any subset, any number of times (later values win)."""
        call = self._call
        try:
            if model is not None:
                call.response_model = model
            if isinstance(response_id, str) and response_id:
                call.attributes[sc.GEN_AI_RESPONSE_ID] = response_id
            if finish_reasons is not None:
                self._finish_reasons = [r for r in finish_reasons if isinstance(r, str)]
            if input_tokens is not None:
                call.input_tokens = input_tokens
            if output_tokens is not None:
                call.output_tokens = output_tokens
            if output_messages is not None and call.collect_content:
                call.output_messages = _messages(output_messages, call.cut, output=True)
            if attributes:
                call.attributes.update(attributes)
        except Exception as exc:
            diagnostics.report("llm_call", "could not record an LLM call's response", exc)

    def record_chunk(self, text: str | None = None) -> None:
        """One streamed chunk (the first one sets the time to first chunk); its text is added to the answer."""
        call = self._call
        if call.first_chunk_at is None:
            call.first_chunk_at = perf_counter()
        if isinstance(text, str) and text and call.collect_content:
            self._text.append(text)

    def end(self, error: BaseException | None = None) -> None:
        """End the call (with the exception that ended it, if any). Only the first call counts."""
        call = self._call
        if call.ended:
            return
        reasons = self._finish_reasons
        if reasons:
            call.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] = reasons
        if self._text and call.output_messages is None:
            call.output_messages = [output_message("assistant", [text_part("".join(self._text), call.cut)],
                                                   reasons[0] if reasons else "")]
        call.end(error)

    def __enter__(self) -> LLMCallHandle:
        return self

    def __exit__(self, exc_type: Any, exc: BaseException | None, tb: Any) -> None:
        self.end(exc)


def llm_call(
    provider: str,
    model: str | None = None,
    *,
    operation: str = sc.OP_CHAT,
    server_address: str | None = None,
    server_port: int | None = None,
    request: Mapping[str, Any] | None = None,
    input_messages: Sequence[Mapping[str, Any]] | None = None,
    system_instructions: str | Sequence[Mapping[str, Any]] | None = None,
    tool_definitions: Sequence[Mapping[str, Any]] | None = None,
    stream: bool = False,
    context: Context | None = None,
) -> LLMCallHandle:
    """Start tracing one call to a model made by any client (no provider SDK needed); the span starts now.

    ``provider`` is ``gen_ai.provider.name`` (``"openai"``, ``"mistral_ai"``, …), ``model`` the requested model.
    ``request`` takes ``temperature``, ``top_p``, ``top_k``, ``max_tokens``, ``frequency_penalty``,
    ``presence_penalty``, ``seed``, ``choice_count`` and ``stop_sequences``. Messages are ``{"role", "content"}``
    dicts or GenAI-format ``{"role", "parts": [...]}`` ones. The span carries the ``annotation_context`` attributes
    (prompt template, variables, tags), the content follows ``capture_content`` like an instrumented call, and the
    GenAI metrics are recorded at :meth:`LLMCallHandle.end`::

        with llmotel.llm_call("mistral_ai", "mistral-small", input_messages=messages) as call:
            reply = http.post(url, json=body).json()
            call.record_response(response_id=reply["id"], input_tokens=..., output_tokens=...,
                                 output_messages=[{"role": "assistant", "content": text, "finish_reason": "stop"}])
    """
    from llmotel._setup import call_telemetry  # not at import time: _setup imports the instrumentation

    call = LLMCall(call_telemetry(), operation, provider, model, server_address, server_port)
    try:
        attrs = call.start_attributes
        for key, value in (request or {}).items():
            known = _REQUEST_PARAMETERS.get(key)
            if known is not None and isinstance(value, known[1]) and not isinstance(value, bool):
                attrs[known[0]] = value
            elif key == "stop_sequences" and call.telemetry.capture_content and value:
                attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] = [value] if isinstance(value, str) else list(value)
        if stream:
            attrs[sc.GEN_AI_REQUEST_STREAM] = True
        if call.collect_content:
            cut = call.cut
            if input_messages is not None:
                call.input_messages = _messages(input_messages, cut)
            if isinstance(system_instructions, str):
                call.system_instructions = [text_part(system_instructions, cut)]
            elif system_instructions is not None:
                call.system_instructions = [dict(p) for p in system_instructions]
            if tool_definitions is not None:
                call.tool_definitions = [dict(t) for t in tool_definitions]
    except Exception as exc:  # odd arguments: the span still starts and ends with what was readable
        diagnostics.report("llm_call", "could not record an LLM call's request", exc)
    call.start(context)
    return LLMCallHandle(call)
