"""OTLP exporters (gRPC or HTTP) built from settings, and a wrapper that counts and rate-limits failures."""

from __future__ import annotations

import importlib
import logging
from collections.abc import Sequence
from typing import Any
from urllib.parse import urlsplit

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from llmotel._diagnostics import RateLimit, diagnostics
from llmotel.config import Settings
from llmotel.export.metrics import MetricEndpointGuard, grpc_metrics_probe, status_recorder

_SIGNAL_PATHS = ("/v1/traces", "/v1/metrics", "/v1/logs")
# The OTLP exporters log every failed batch and retry; under a dead backend that is a line every few seconds.
_NOISY_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.http.trace_exporter",
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.http._common",
    "opentelemetry.sdk.trace.export",
)


class _OncePerMinute(logging.Filter):
    """Lets each noisy logger's warnings through at most once a minute."""

    def __init__(self) -> None:
        super().__init__()
        self._limit = RateLimit()

    def filter(self, record: logging.LogRecord) -> bool:
        return record.levelno < logging.WARNING or self._limit.allow(record.name)[0]


_filter = _OncePerMinute()


def quiet_exporter_logs() -> None:
    for name in _NOISY_LOGGERS:
        log = logging.getLogger(name)
        if _filter not in log.filters:
            log.addFilter(_filter)


def signal_url(endpoint: str, signal: str) -> str:
    """The HTTP URL for a signal: a base endpoint gets ``/v1/<signal>``; a signal URL is re-pointed."""
    base = endpoint.rstrip("/")
    for path in _SIGNAL_PATHS:
        if base.endswith(path):
            base = base[: -len(path)]
            break
    return f"{base}/v1/{signal}"


def _grpc_target(endpoint: str) -> tuple[str, bool]:
    parts = urlsplit(endpoint)
    return f"{parts.hostname}:{parts.port or 4317}", parts.scheme != "https"


_EXPORTER_CLASSES = {
    ("grpc", "traces"): ("opentelemetry.exporter.otlp.proto.grpc.trace_exporter", "OTLPSpanExporter"),
    ("grpc", "metrics"): ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter", "OTLPMetricExporter"),
    ("http/protobuf", "traces"): ("opentelemetry.exporter.otlp.proto.http.trace_exporter", "OTLPSpanExporter"),
    ("http/protobuf", "metrics"): ("opentelemetry.exporter.otlp.proto.http.metric_exporter", "OTLPMetricExporter"),
}


def _exporter(settings: Settings, signal: str, **options: Any) -> Any:
    assert settings.endpoint is not None
    module, name = _EXPORTER_CLASSES[(settings.protocol, signal)]
    exporter_cls = getattr(importlib.import_module(module), name)
    headers = dict(settings.headers) or None
    if settings.protocol == "grpc":
        target, insecure = _grpc_target(settings.endpoint)
        return exporter_cls(endpoint=target, insecure=insecure, headers=headers, **options)
    return exporter_cls(endpoint=signal_url(settings.endpoint, signal), headers=headers, **options)


def span_exporter(settings: Settings) -> SpanExporter:
    """The OTLP span exporter (gRPC or HTTP) for the configured endpoint, headers and protocol."""
    exporter: SpanExporter = _exporter(settings, "traces")
    return exporter


def metric_exporter(settings: Settings) -> Any:
    """The OTLP metric exporter (gRPC or HTTP) for the configured endpoint, headers and protocol, guarded against
    a traces-only backend (one warning, then nothing more sent there; see :mod:`llmotel.export.metrics`)."""
    assert settings.endpoint is not None
    if settings.protocol == "grpc":
        target, insecure = _grpc_target(settings.endpoint)
        probe = grpc_metrics_probe(target, insecure, settings.headers)
        return MetricEndpointGuard(_exporter(settings, "metrics"), f"{target} (grpc)", probe=probe)
    session, last_status = status_recorder()
    url = signal_url(settings.endpoint, "metrics")
    return MetricEndpointGuard(_exporter(settings, "metrics", session=session), f"{url} (http/protobuf)",
                               last_status=last_status)


class MonitoredExporter(SpanExporter):
    """Delegates to an exporter; never raises; counts failed spans and logs failures at most once a minute."""

    def __init__(self, inner: SpanExporter, describe: str) -> None:
        self.inner = inner
        self.describe = describe
        self.failed_spans = 0
        self.exported_spans = 0

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            result = self.inner.export(spans)
        except Exception as exc:
            result = SpanExportResult.FAILURE
            diagnostics.report("export", f"exporting spans to {self.describe} raised", exc)
        if result is SpanExportResult.SUCCESS:
            self.exported_spans += len(spans)
        else:
            self.failed_spans += len(spans)
            diagnostics.report("export", f"could not export {len(spans)} span(s) to {self.describe}", amount=len(spans))
        return result

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        try:
            return bool(self.inner.force_flush(timeout_millis))
        except Exception:
            return False

    def shutdown(self) -> None:
        try:
            self.inner.shutdown()
        except Exception as exc:
            diagnostics.report("export", "exporter shutdown failed", exc)
