"""The OTLP metric exporter, guarded against backends that take traces only.

Phoenix, Jaeger, MLflow and others accept OTLP traces but answer metrics with HTTP 404/405/501 or gRPC
``UNIMPLEMENTED``. Without a guard every export interval prints an exporter error. :class:`MetricEndpointGuard`
recognises that answer (the HTTP status of the real request, seen through a ``requests`` response hook; for gRPC
an empty ``Export`` probe after a failed export), logs one warning saying so and what to set, and from then on
sends nothing more to that endpoint in this process (also after a later ``enable()``). Other failures (a backend
that is down) are reported at most once a minute and retried at the next interval as usual. The exporter's own
log lines for metric exports are replaced by these.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping
from typing import Any

from opentelemetry.sdk.metrics.export import MetricExporter, MetricExportResult, MetricsData

from llmotel._diagnostics import RateLimit, diagnostics

logger = logging.getLogger("llmotel")

#: HTTP statuses that mean "this server has no OTLP metrics endpoint"
NO_METRICS_STATUS = frozenset({404, 405, 501})
_PROBE_TIMEOUT_S = 5.0
_PROBE_INTERVAL_S = 300.0  # a backend that was down may come back: probe again at most this often
# the exporters' own loggers, whose lines for a metric export the guard replaces
_EXPORTER_LOGGERS = (
    "opentelemetry.exporter.otlp.proto.http.metric_exporter",
    "opentelemetry.exporter.otlp.proto.grpc.exporter",
    "opentelemetry.exporter.otlp.proto.grpc.metric_exporter",
    "opentelemetry.exporter.otlp.common.http",
)

_no_metrics: set[str] = set()  # endpoints found not to accept metrics, for the rest of the process
_no_metrics_lock = threading.Lock()
_exporting = threading.local()  # set while the guard runs the exporter on this thread


class _DuringGuardedExport(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        return not getattr(_exporting, "active", False)


_filter = _DuringGuardedExport()


def _quiet_exporter_loggers() -> None:
    for name in _EXPORTER_LOGGERS:
        log = logging.getLogger(name)
        if _filter not in log.filters:
            log.addFilter(_filter)


def accepts_metrics(endpoint: str) -> bool:
    """False once an endpoint has answered that it takes no metrics (in this process)."""
    with _no_metrics_lock:
        return endpoint not in _no_metrics


class MetricEndpointGuard(MetricExporter):
    """Wraps an OTLP metric exporter (see the module docstring).

    ``describe``: the endpoint as the warning names it (also the key of the no-metrics memory).
    ``last_status``: returns the HTTP status of the exporter's last request (HTTP exporters).
    ``probe``: returns True when the endpoint has no metrics service (gRPC), False when it has or is unreachable.
    """

    def __init__(self, inner: MetricExporter, describe: str, *, last_status: Callable[[], int | None] | None = None,
                 probe: Callable[[], bool] | None = None) -> None:
        super().__init__(preferred_temporality=getattr(inner, "_preferred_temporality", None),
                         preferred_aggregation=getattr(inner, "_preferred_aggregation", None))
        self.inner = inner
        self.describe = describe
        self._last_status = last_status
        self._probe = probe
        self._probe_limit = RateLimit(_PROBE_INTERVAL_S)
        self._shut_down = False
        _quiet_exporter_loggers()

    def export(self, metrics_data: MetricsData, timeout_millis: float = 10_000, **kwargs: Any) -> MetricExportResult:
        if self._shut_down or not accepts_metrics(self.describe):
            return MetricExportResult.FAILURE  # nothing is sent: shut down, or the endpoint takes no metrics
        _exporting.active = True
        try:
            result = self.inner.export(metrics_data, timeout_millis=timeout_millis, **kwargs)
        except Exception as exc:
            result = MetricExportResult.FAILURE
            diagnostics.report("metrics_export", f"exporting metrics to {self.describe} raised", exc)
        finally:
            _exporting.active = False
        if result is not MetricExportResult.SUCCESS:
            self._failed()
        return result

    def _failed(self) -> None:
        status = self._last_status() if self._last_status is not None else None
        if status in NO_METRICS_STATUS:
            self._no_metrics(f"HTTP {status}")
            return
        if self._probe is not None and self._probe_limit.allow("probe")[0] and self._probe():
            self._no_metrics("gRPC UNIMPLEMENTED")
            return
        diagnostics.report("metrics_export", f"could not export metrics to {self.describe}"
                           + (f" (HTTP {status})" if status is not None else ""))

    def _no_metrics(self, answer: str) -> None:
        with _no_metrics_lock:
            first = self.describe not in _no_metrics
            _no_metrics.add(self.describe)
        if first:
            logger.warning(
                "llmotel: %s does not accept OTLP metrics (%s); GenAI metrics are not sent there again in this "
                "process. Set ExportOptions(metrics=False) (LLMOTEL_METRICS=false) to stop recording them, or pass a "
                "meter_provider that exports metrics to a backend that takes them.", self.describe, answer)

    def force_flush(self, timeout_millis: float = 10_000) -> bool:
        try:
            return bool(self.inner.force_flush(timeout_millis))
        except Exception:
            return False

    def shutdown(self, timeout_millis: float = 30_000, **kwargs: Any) -> None:
        self._shut_down = True
        try:
            self.inner.shutdown(timeout_millis=timeout_millis, **kwargs)
        except Exception as exc:
            diagnostics.report("metrics_export", "metric exporter shutdown failed", exc)


def status_recorder() -> tuple[Any, Callable[[], int | None]]:
    """A ``requests`` session that remembers the status of its last response, and the function reading it."""
    import requests  # the OTLP/HTTP exporter's own dependency

    last: dict[str, int] = {}

    def remember(response: Any, *args: Any, **kwargs: Any) -> Any:
        last["status"] = response.status_code
        return response

    session = requests.Session()
    session.hooks["response"].append(remember)
    return session, lambda: last.get("status")


def grpc_metrics_probe(target: str, insecure: bool, headers: Mapping[str, str]) -> Callable[[], bool]:
    """A probe: an empty metrics ``Export`` call; True when the server answers ``UNIMPLEMENTED``."""

    def probe() -> bool:
        import grpc
        from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc

        channel = grpc.insecure_channel(target) if insecure else grpc.secure_channel(
            target, grpc.ssl_channel_credentials())
        try:
            stub = metrics_service_pb2_grpc.MetricsServiceStub(channel)
            stub.Export(metrics_service_pb2.ExportMetricsServiceRequest(), timeout=_PROBE_TIMEOUT_S,
                        metadata=list(headers.items()))
        except grpc.RpcError as exc:
            return bool(exc.code() == grpc.StatusCode.UNIMPLEMENTED)
        except Exception:  # cannot tell: keep exporting
            return False
        finally:
            channel.close()
        return False

    return probe
