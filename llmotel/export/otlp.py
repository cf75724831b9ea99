"""OTLP exporters (gRPC or HTTP) built from settings; the SDK exporters' failure logs rate-limited."""

from __future__ import annotations

import importlib
import logging
from typing import Any
from urllib.parse import urlsplit

from llmotel._diagnostics import RateLimit
from llmotel.config import Settings
from llmotel.export.otlp_traces import GrpcSender, HttpSender, OtlpTraceExporter, TlsFiles

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


def grpc_target(endpoint: str) -> tuple[str, bool]:
    parts = urlsplit(endpoint)
    return f"{parts.hostname}:{parts.port or 4317}", parts.scheme != "https"


_EXPORTER_CLASSES = {
    ("grpc", "metrics"): ("opentelemetry.exporter.otlp.proto.grpc.metric_exporter", "OTLPMetricExporter"),
    ("http/protobuf", "metrics"): ("opentelemetry.exporter.otlp.proto.http.metric_exporter", "OTLPMetricExporter"),
}


def _exporter(settings: Settings, signal: str, **options: Any) -> Any:
    assert settings.endpoint is not None
    module, name = _EXPORTER_CLASSES[(settings.protocol, signal)]
    exporter_cls = getattr(importlib.import_module(module), name)
    headers = dict(settings.headers) or None
    if settings.protocol == "grpc":
        target, insecure = grpc_target(settings.endpoint)
        return exporter_cls(endpoint=target, insecure=insecure, headers=headers, **options)
    return exporter_cls(endpoint=signal_url(settings.endpoint, signal), headers=headers, **options)


def span_exporter(settings: Settings) -> OtlpTraceExporter:
    """The OTLP span exporter (gRPC or HTTP) for the configured endpoint, headers, protocol, TLS and timeout."""
    assert settings.endpoint is not None
    tls = TlsFiles(settings.otlp_certificate, settings.otlp_client_certificate, settings.otlp_client_key)
    sender: HttpSender | GrpcSender
    if settings.protocol == "grpc":
        target, insecure = grpc_target(settings.endpoint)
        sender = GrpcSender(target, insecure, settings.headers, settings.compression, tls)
    else:
        sender = HttpSender(signal_url(settings.endpoint, "traces"), settings.headers, settings.compression, tls)
    return OtlpTraceExporter(sender, settings.export_timeout)


def metric_exporter(settings: Settings) -> Any:
    """The OTLP metric exporter (gRPC or HTTP) for the configured endpoint, headers and protocol, guarded against
    a traces-only backend (one warning, then nothing more sent there; see :mod:`llmotel.export.metrics`)."""
    from llmotel.export.metrics import MetricEndpointGuard, grpc_metrics_probe, status_recorder  # the metrics SDK

    assert settings.endpoint is not None
    if settings.protocol == "grpc":
        target, insecure = grpc_target(settings.endpoint)
        probe = grpc_metrics_probe(target, insecure, settings.headers)
        return MetricEndpointGuard(_exporter(settings, "metrics"), f"{target} (grpc)", probe=probe)
    session, last_status = status_recorder()
    url = signal_url(settings.endpoint, "metrics")
    return MetricEndpointGuard(_exporter(settings, "metrics", session=session), f"{url} (http/protobuf)",
                               last_status=last_status)

