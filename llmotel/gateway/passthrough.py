"""Metrics and logs pass through to the backend: forwarded as received, the backend's answer is the sender's.

Nothing is queued here: a metrics or logs request is sent on while the sender waits, and the sender gets the
backend's outcome (a retryable failure as ``503`` / ``UNAVAILABLE`` with the backend's retry hint), so the
sender's own retries cover outages and nothing the gateway acknowledged can be lost. The data is not evaluated;
secrets are scrubbed from every string as from spans, and with PII redaction on, log records (GenAI events carry
prompts and answers as logs) are redacted like span attributes.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import ExportMetricsServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue

from llmotel._secrets import scrub
from llmotel.config import Settings
from llmotel.evaluation.redaction import SpanRedaction, TextRedactor, is_content_key, key_words, takes_context
from llmotel.export.otlp import grpc_target, signal_url
from llmotel.export.otlp_traces import OK, RETRYABLE_GRPC, HttpSender, SendResult, TlsFiles, _grpc_retry_delay

_METHODS = {
    "metrics": "/opentelemetry.proto.collector.metrics.v1.MetricsService/Export",
    "logs": "/opentelemetry.proto.collector.logs.v1.LogsService/Export",
}
Rewrite = Callable[[str, str], str]  # (key, text) -> text


def _rewrite_any(value: AnyValue, key: str, rewrite: Rewrite) -> None:
    kind = value.WhichOneof("value")
    if kind == "string_value":
        new = rewrite(key, value.string_value)
        if new != value.string_value:
            value.string_value = new
    elif kind == "array_value":
        for item in value.array_value.values:
            _rewrite_any(item, key, rewrite)
    elif kind == "kvlist_value":
        _rewrite_pairs(value.kvlist_value.values, rewrite)


def _rewrite_pairs(pairs: Any, rewrite: Rewrite) -> None:
    for pair in pairs:
        _rewrite_any(pair.value, pair.key, rewrite)


def rewrite_metrics(request: ExportMetricsServiceRequest, rewrite: Rewrite) -> None:
    """Apply ``rewrite`` to every string of a metrics request (resource, scope and data point attributes)."""
    for resource_metrics in request.resource_metrics:
        _rewrite_pairs(resource_metrics.resource.attributes, rewrite)
        for scope_metrics in resource_metrics.scope_metrics:
            _rewrite_pairs(scope_metrics.scope.attributes, rewrite)
            for metric in scope_metrics.metrics:
                kind = metric.WhichOneof("data")
                if kind is None:
                    continue
                for point in getattr(metric, kind).data_points:
                    _rewrite_pairs(point.attributes, rewrite)
                    for exemplar in getattr(point, "exemplars", ()):
                        _rewrite_pairs(exemplar.filtered_attributes, rewrite)


def rewrite_logs(request: ExportLogsServiceRequest, rewrite: Rewrite) -> None:
    """Apply ``rewrite`` to every string of a logs request (resource, scope, record bodies and attributes)."""
    for resource_logs in request.resource_logs:
        _rewrite_pairs(resource_logs.resource.attributes, rewrite)
        for scope_logs in resource_logs.scope_logs:
            _rewrite_pairs(scope_logs.scope.attributes, rewrite)
            for record in scope_logs.log_records:
                _rewrite_any(record.body, "body", rewrite)
                _rewrite_pairs(record.attributes, rewrite)


def _scrub(_key: str, text: str) -> str:
    return scrub(text)


class _Redact:
    """Scrub, then redact the text of content keys (log bodies and attributes that may hold user text)."""

    def __init__(self, redactor: TextRedactor) -> None:
        self._redactor = redactor
        self._with_context = takes_context(redactor)

    def __call__(self, key: str, text: str) -> str:
        text = scrub(text)
        if not is_content_key(key):
            return text
        return SpanRedaction(self._redactor, with_context=self._with_context).text(text, key_words(key))


class _GrpcForwarder:
    """Calls the backend's OTLP metrics/logs ``Export`` with the request's bytes."""

    def __init__(self, settings: Settings) -> None:
        assert settings.endpoint is not None
        self._target, self._insecure = grpc_target(settings.endpoint)
        self._metadata = tuple((k.lower(), v) for k, v in settings.headers.items())
        self._compression = settings.compression
        self._tls = TlsFiles(settings.otlp_certificate, settings.otlp_client_certificate, settings.otlp_client_key)
        self._lock = threading.Lock()
        self._channel: Any = None

    def _call(self, signal: str) -> Any:
        import grpc

        with self._lock:
            if self._channel is None:
                compression = grpc.Compression.Gzip if self._compression == "gzip" else grpc.Compression.NoCompression
                if self._insecure:
                    self._channel = grpc.insecure_channel(self._target, compression=compression)
                else:
                    credentials = grpc.ssl_channel_credentials(*(_read(p) for p in (
                        self._tls.certificate, self._tls.client_key, self._tls.client_certificate)))
                    self._channel = grpc.secure_channel(self._target, credentials, compression=compression)
            return self._channel.unary_unary(_METHODS[signal])

    def send(self, signal: str, body: bytes, timeout: float) -> SendResult:
        import grpc

        try:
            self._call(signal)(body, timeout=timeout, metadata=self._metadata)
        except grpc.RpcError as exc:
            code = exc.code().name if callable(getattr(exc, "code", None)) else "UNKNOWN"
            return SendResult(False, code in RETRYABLE_GRPC, _grpc_retry_delay(exc), code)
        return OK

    def close(self) -> None:
        with self._lock:
            channel, self._channel = self._channel, None
        if channel is not None:
            channel.close()


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


class Passthrough:
    """Sends metrics and logs requests on to the configured backend (endpoint, protocol, headers, TLS)."""

    def __init__(self, settings: Settings, redactor: TextRedactor | None = None) -> None:
        assert settings.endpoint is not None
        self._timeout = settings.export_timeout
        self._grpc = _GrpcForwarder(settings) if settings.protocol == "grpc" else None
        tls = TlsFiles(settings.otlp_certificate, settings.otlp_client_certificate, settings.otlp_client_key)
        self._http = {} if self._grpc is not None else {
            signal: HttpSender(signal_url(settings.endpoint, signal), settings.headers, settings.compression, tls)
            for signal in _METHODS}
        self._log_rewrite: Rewrite = _Redact(redactor) if redactor is not None else _scrub

    def forward(self, signal: str, request: Message) -> SendResult:
        """Scrub (and for logs, redact) the request, then send it within the export timeout."""
        if isinstance(request, ExportMetricsServiceRequest):
            rewrite_metrics(request, _scrub)
        elif isinstance(request, ExportLogsServiceRequest):
            rewrite_logs(request, self._log_rewrite)
        body = request.SerializeToString()
        if self._grpc is not None:
            return self._grpc.send(signal, body, self._timeout)
        return self._http[signal].send(body, self._timeout)

    def close(self) -> None:
        if self._grpc is not None:
            self._grpc.close()
        for sender in self._http.values():
            sender.close()
