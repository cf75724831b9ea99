"""The OTLP span exporter (HTTP/protobuf or gRPC) whose every request is bounded by the caller's deadline.

The SDK's OTLP exporters fix their timeout when built and retry inside ``export()``, so neither ``flush(timeout)``
nor ``shutdown(timeout)`` can bound a request to a hanging backend, and the reason of a failure (a retryable
``503`` or a final ``400``) is lost in a plain ``FAILURE``. Here one call is one request: :meth:`send` takes the
time left and says whether the failure is worth retrying, and :class:`~llmotel.export.batch.ExportProcessor`
decides about retries.
"""

from __future__ import annotations

import email.utils
import gzip
import threading
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from llmotel._fork_guard import guarded
from llmotel.export.otlp_proto import encode_request

#: HTTP statuses worth retrying. The OTLP spec names 429, 502, 503 and 504; a 500 is retried too (within the
#: bounded retry window), because a backend restarting or overloaded answers 500 as often as 503.
RETRYABLE_HTTP = frozenset({429, 500, 502, 503, 504})
#: gRPC status codes the OTLP spec calls retryable.
RETRYABLE_GRPC = frozenset({"CANCELLED", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED", "ABORTED", "OUT_OF_RANGE",
                            "UNAVAILABLE", "DATA_LOSS"})
_MIN_TIMEOUT_S = 0.05
_EXPORT_METHOD = "/opentelemetry.proto.collector.trace.v1.TraceService/Export"


@dataclass(frozen=True)
class SendResult:
    """The outcome of one export request."""

    ok: bool
    retryable: bool = False
    #: the server's retry hint (HTTP ``Retry-After``, gRPC ``RetryInfo``), seconds
    retry_after: float | None = None
    #: e.g. ``HTTP 503``, ``UNAVAILABLE``, ``connection refused``, ``timed out``
    detail: str = ""


OK = SendResult(True)


@dataclass(frozen=True)
class TlsFiles:
    """Certificate files for TLS (``OTEL_EXPORTER_OTLP_CERTIFICATE`` and the client pair for mTLS)."""

    certificate: str | None = None
    client_certificate: str | None = None
    client_key: str | None = None


def _read(path: str | None) -> bytes | None:
    if path is None:
        return None
    with open(path, "rb") as f:
        return f.read()


def retry_after_seconds(value: str | None, now: float | None = None) -> float | None:
    """An HTTP ``Retry-After`` value (delta-seconds or an HTTP date) in seconds, or None."""
    if not value:
        return None
    value = value.strip()
    try:
        seconds = float(value)  # delta-seconds (some servers send a fraction)
    except ValueError:
        pass
    else:
        return seconds if 0 <= seconds < float("inf") else None
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(when.timestamp() - (time.time() if now is None else now), 0.0)


class HttpSender:
    """POSTs serialised OTLP requests with ``requests``; one request per call, bounded by ``timeout``."""

    def __init__(self, url: str, headers: Mapping[str, str], compression: str | None, tls: TlsFiles) -> None:
        self.url = url
        self._headers = {"Content-Type": "application/x-protobuf", **headers}
        self._gzip = compression == "gzip"
        if self._gzip:
            self._headers["Content-Encoding"] = "gzip"
        self._verify: Any = tls.certificate or True
        self._cert: Any = (tls.client_certificate, tls.client_key) if tls.client_certificate else None
        self._session: Any = None
        self._lock = threading.Lock()

    def _get_session(self) -> Any:
        with self._lock:
            if self._session is None:
                self._session = guarded(self._new_session)
            return self._session

    def _new_session(self) -> Any:
        """A session, with what ``requests`` imports on a session's first request (``netrc``, proxy settings)
        imported now: on first export, not in ``enable()``, and never cut in half by a fork."""
        import requests

        session = requests.Session()
        session.merge_environment_settings(self.url, {}, None, None, None)
        requests.utils.get_netrc_auth(self.url)
        return session

    def send(self, body: bytes, timeout: float) -> SendResult:
        session = self._get_session()
        import requests  # imported by the session above

        if self._gzip:
            body = gzip.compress(body, compresslevel=6)
        timeout = max(timeout, _MIN_TIMEOUT_S)
        try:
            response = session.post(self.url, data=body, headers=self._headers, timeout=timeout,
                                                verify=self._verify, cert=self._cert)
        except requests.Timeout:
            return SendResult(False, True, detail="timed out")
        except requests.ConnectionError as exc:
            refused = "refused" in str(exc).lower()
            return SendResult(False, True, detail="connection refused" if refused else "connection error")
        except requests.RequestException as exc:
            return SendResult(False, False, detail=type(exc).__name__)
        status = response.status_code
        response.close()
        if 200 <= status < 300:
            return OK
        return SendResult(False, status in RETRYABLE_HTTP, retry_after_seconds(response.headers.get("retry-after")),
                          f"HTTP {status}")

    def close(self) -> None:
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            session.close()

    def after_fork(self) -> None:
        """In a forked child: never reuse the parent's pooled connections."""
        self._lock = threading.Lock()
        self._session = None


class GrpcSender:
    """Calls the OTLP ``TraceService/Export`` RPC; one call per :meth:`send`, with ``timeout`` as its deadline."""

    def __init__(self, target: str, insecure: bool, headers: Mapping[str, str], compression: str | None,
                 tls: TlsFiles) -> None:
        self.url = target
        self._insecure = insecure
        self._metadata = tuple((k.lower(), v) for k, v in headers.items())
        self._compression = compression
        self._tls = tls
        self._stub: Any = None
        self._channel: Any = None
        self._lock = threading.Lock()

    def _get_stub(self) -> Any:
        with self._lock:
            if self._stub is None:
                self._stub = guarded(self._new_stub)
            return self._stub

    def _new_stub(self) -> Any:
        """The channel and the ``Export`` call, which takes the request already serialised (``grpc`` imported on
        first export, never cut in half by a fork)."""
        import grpc
        from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceResponse

        compression = grpc.Compression.Gzip if self._compression == "gzip" else grpc.Compression.NoCompression
        if self._insecure:
            self._channel = grpc.insecure_channel(self.url, compression=compression)
        else:
            credentials = grpc.ssl_channel_credentials(
                _read(self._tls.certificate), _read(self._tls.client_key), _read(self._tls.client_certificate)
            )
            self._channel = grpc.secure_channel(self.url, credentials, compression=compression)
        return self._channel.unary_unary(_EXPORT_METHOD, request_serializer=None,
                                         response_deserializer=ExportTraceServiceResponse.FromString)

    def send(self, body: bytes, timeout: float) -> SendResult:
        """One ``Export`` call with a serialised ``ExportTraceServiceRequest``."""
        export = self._get_stub()
        import grpc  # imported by the stub above

        try:
            export(body, timeout=max(timeout, _MIN_TIMEOUT_S), metadata=self._metadata)
        except grpc.RpcError as exc:
            code = exc.code().name if callable(getattr(exc, "code", None)) else "UNKNOWN"
            return SendResult(False, code in RETRYABLE_GRPC, _grpc_retry_delay(exc), code)
        return OK

    def close(self) -> None:
        with self._lock:
            channel, self._channel, self._stub = self._channel, None, None
        if channel is not None:
            channel.close()

    def after_fork(self) -> None:
        """In a forked child: a gRPC channel must not be shared with the parent; make a new one on first use."""
        self._lock = threading.Lock()
        self._channel = self._stub = None


def _grpc_retry_delay(error: Any) -> float | None:
    try:
        from google.rpc.error_details_pb2 import RetryInfo

        raw = dict(error.trailing_metadata() or ()).get("google.rpc.retryinfo-bin")
        if raw is None:
            return None
        info = RetryInfo()
        info.ParseFromString(raw)
        return float(info.retry_delay.seconds + info.retry_delay.nanos / 1e9)
    except Exception:
        return None


class OtlpTraceExporter(SpanExporter):
    """An OTLP span exporter whose requests are bounded by the time the caller has left.

    :meth:`send` (used by llmotel's export processor) makes one request within ``timeout`` seconds and reports
    whether a failure is retryable; :meth:`export` (the ``SpanExporter`` interface) is one request within the
    configured timeout.
    """

    def __init__(self, sender: HttpSender | GrpcSender, timeout: float) -> None:
        self.sender = sender
        self.timeout = timeout
        self.describe = f"{sender.url} ({'grpc' if isinstance(sender, GrpcSender) else 'http/protobuf'})"

    def send(self, spans: Sequence[ReadableSpan], timeout: float) -> SendResult:
        return self.sender.send(encode_request(spans), min(timeout, self.timeout))

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        ok = self.send(spans, self.timeout).ok
        return SpanExportResult.SUCCESS if ok else SpanExportResult.FAILURE

    def after_fork(self) -> None:
        self.sender.after_fork()

    def shutdown(self) -> None:
        self.sender.close()

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True

