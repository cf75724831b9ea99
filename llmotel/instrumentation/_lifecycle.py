"""One span lifecycle for every provider: start, response, stream, error, end exactly once.

Adapters turn a provider's request and response into an :class:`LLMCall` (plain data); this module is the
only place that creates, fills and ends LLM spans and records the GenAI metrics.
"""

from __future__ import annotations

import threading
from time import perf_counter
from typing import Any

from opentelemetry import metrics, trace
from opentelemetry.context import Context
from opentelemetry.metrics import MeterProvider
from opentelemetry.trace import Span, SpanKind, TracerProvider

from llmotel import semconv as sc
from llmotel._diagnostics import diagnostics
from llmotel._version import __version__
from llmotel.annotations import current_annotations
from llmotel.config import Settings
from llmotel.content import Truncator, keep_private_content, record_error, to_json
from llmotel.instrumentation._span_attributes import set_response_attributes

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
        provider: str,
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
        attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation, sc.GEN_AI_PROVIDER_NAME: provider}
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
        annotations = current_annotations(context)
        private = None
        if annotations is not None:  # annotation_context(): prompt, tags, metadata, span name
            tel = self.telemetry
            self.start_attributes.update(annotations.span_attributes(tel.capture_content))
            if tel.collect_content and not tel.capture_content:
                private = annotations.span_attributes(True)
            name = annotations.name or name
        self.span = span = self.telemetry.tracer.start_span(
            name, context, kind=_CLIENT, attributes=self.start_attributes
        )
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
    provider: str,
    request_model: str | None,
    server_address: str | None,
    server_port: int | None,
    response_model: str | None,
    error_type: str | None,
) -> MetricAttributes:
    """The attributes of the duration metric, and of the input and output token usage metrics."""
    attrs: dict[str, Any] = {sc.GEN_AI_OPERATION_NAME: operation, sc.GEN_AI_PROVIDER_NAME: provider}
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
