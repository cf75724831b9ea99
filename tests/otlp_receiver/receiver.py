"""A real OTLP receiver (gRPC + HTTP) on 127.0.0.1 for tests.

Both servers bind ephemeral ports, decode every export request into
:mod:`.model` objects, and can be told to reject the next requests so that
exporter retry and failure handling can be tested against the real wire
protocol.
"""

from __future__ import annotations

import base64
import gzip
import json
import threading
import time
import zlib
from collections.abc import Callable, Iterable
from concurrent import futures
from dataclasses import dataclass
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, TypeVar
from urllib.parse import urlsplit

import grpc
from google.protobuf import duration_pb2, json_format
from google.protobuf.message import DecodeError, Message
from google.rpc import error_details_pb2, status_pb2
from opentelemetry.proto.collector.logs.v1 import logs_service_pb2, logs_service_pb2_grpc
from opentelemetry.proto.collector.metrics.v1 import metrics_service_pb2, metrics_service_pb2_grpc
from opentelemetry.proto.collector.trace.v1 import trace_service_pb2, trace_service_pb2_grpc

from . import decode
from .model import (
    Protocol,
    ReceivedLog,
    ReceivedMetric,
    ReceivedRequest,
    ReceivedSpan,
    Signal,
)

__all__ = ["OtlpReceiver"]

_T = TypeVar("_T")

HTTP_PATHS: dict[str, Signal] = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}
_RESPONSE_TYPES: dict[Signal, type[Message]] = {
    "traces": trace_service_pb2.ExportTraceServiceResponse,
    "metrics": metrics_service_pb2.ExportMetricsServiceResponse,
    "logs": logs_service_pb2.ExportLogsServiceResponse,
}
_PROTOBUF = "application/x-protobuf"
_JSON = "application/json"
_MAX_MESSAGE_BYTES = 64 * 1024 * 1024


@dataclass
class _Failure:
    signal: Signal | None
    grpc_code: grpc.StatusCode
    http_status: int
    retry_after: float | None
    message: str


class OtlpReceiver:
    """OTLP/gRPC and OTLP/HTTP receiver that keeps what it decodes in memory.

    Usage::

        with OtlpReceiver() as receiver:
            exporter = OTLPSpanExporter(endpoint=receiver.grpc_endpoint)
            ...
            (span,) = receiver.wait_for_spans(1, name="chat gpt-4o-mini")

    The gRPC server implements the OTLP ``TraceService``, ``MetricsService``
    and ``LogsService``; the HTTP server accepts ``POST /v1/traces``,
    ``/v1/metrics`` and ``/v1/logs`` as ``application/x-protobuf`` or OTLP/JSON
    (``application/json``), optionally ``gzip``/``deflate`` encoded. All
    methods are thread-safe.
    """

    def __init__(self, host: str = "127.0.0.1", grpc_port: int = 0, http_port: int = 0,
                 accept_metrics: bool = True) -> None:
        self._host = host
        # False: a traces-only backend (as Phoenix is): gRPC has no MetricsService (UNIMPLEMENTED), HTTP answers
        # /v1/metrics with 405
        self.accept_metrics = accept_metrics
        self.refused_metric_requests = 0  # HTTP metric exports answered 405 (accept_metrics=False)
        self._requested_grpc_port = grpc_port
        self._requested_http_port = http_port
        self._grpc_port = 0
        self._http_port = 0
        self._grpc_server: grpc.Server | None = None
        self._http_server: _HttpServer | None = None
        self._http_thread: threading.Thread | None = None
        self._condition = threading.Condition()
        self._spans: list[ReceivedSpan] = []
        self._metrics: list[ReceivedMetric] = []
        self._logs: list[ReceivedLog] = []
        self._requests: list[ReceivedRequest] = []
        self._failures: list[_Failure] = []
        self._outage: tuple[float, _Failure] | None = None  # (until, failure): every request fails until then
        self._raw_traces: list[bytes] = []

    # -- lifecycle -----------------------------------------------------------

    def start(self) -> OtlpReceiver:
        """Bind both servers and start serving; returns ``self``."""
        if self._grpc_server is not None:
            raise RuntimeError("OtlpReceiver already started")
        server = grpc.server(
            futures.ThreadPoolExecutor(max_workers=8, thread_name_prefix="otlp-receiver-grpc"),
            options=[
                ("grpc.so_reuseport", 0),
                ("grpc.max_receive_message_length", _MAX_MESSAGE_BYTES),
            ],
        )
        trace_service_pb2_grpc.add_TraceServiceServicer_to_server(_TraceServicer(self), server)
        if self.accept_metrics:
            metrics_service_pb2_grpc.add_MetricsServiceServicer_to_server(_MetricsServicer(self), server)
        logs_service_pb2_grpc.add_LogsServiceServicer_to_server(_LogsServicer(self), server)
        port = server.add_insecure_port(f"{self._host}:{self._requested_grpc_port}")
        if port == 0:
            raise RuntimeError(f"could not bind gRPC port on {self._host}")
        server.start()
        self._grpc_server, self._grpc_port = server, port

        try:
            http_server = _HttpServer((self._host, self._requested_http_port), _HttpHandler)
        except BaseException:
            self.stop()
            raise
        http_server.receiver = self
        self._http_server = http_server
        self._http_port = http_server.server_address[1]
        self._http_thread = threading.Thread(
            target=http_server.serve_forever,
            kwargs={"poll_interval": 0.01},
            name="otlp-receiver-http",
            daemon=True,
        )
        self._http_thread.start()
        return self

    def stop(self) -> None:
        """Stop both servers at once (in-flight requests are cut) and free the ports."""
        if self._grpc_server is not None:
            self._grpc_server.stop(grace=None).wait(timeout=5)
            self._grpc_server = None
        if self._http_server is not None:
            self._http_server.shutdown()
            self._http_server.server_close()
            self._http_server = None
        if self._http_thread is not None:
            self._http_thread.join(timeout=5)
            self._http_thread = None
        with self._condition:
            self._condition.notify_all()

    def __enter__(self) -> OtlpReceiver:
        return self.start()

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        traceback: TracebackType | None,
    ) -> None:
        self.stop()

    def clear(self) -> None:
        """Forget everything received and any pending ``fail_next`` failures."""
        with self._condition:
            self._spans.clear()
            self._metrics.clear()
            self._logs.clear()
            self._requests.clear()
            self._failures.clear()
            self._outage = None
            self._raw_traces.clear()

    # -- endpoints -----------------------------------------------------------

    @property
    def running(self) -> bool:
        """True between ``start()`` and ``stop()``."""
        return self._grpc_server is not None

    @property
    def grpc_port(self) -> int:
        """Port of the OTLP/gRPC server."""
        self._require_running()
        return self._grpc_port

    @property
    def http_port(self) -> int:
        """Port of the OTLP/HTTP server."""
        self._require_running()
        return self._http_port

    @property
    def grpc_endpoint(self) -> str:
        """``http://127.0.0.1:PORT`` for gRPC exporters (plaintext)."""
        return f"http://{self._host}:{self.grpc_port}"

    @property
    def http_endpoint(self) -> str:
        """Base URL of the HTTP server, as in ``OTEL_EXPORTER_OTLP_ENDPOINT``."""
        return f"http://{self._host}:{self.http_port}"

    @property
    def http_traces_endpoint(self) -> str:
        """Full URL of ``/v1/traces`` (what HTTP span exporters take)."""
        return f"{self.http_endpoint}/v1/traces"

    @property
    def http_metrics_endpoint(self) -> str:
        """Full URL of ``/v1/metrics``."""
        return f"{self.http_endpoint}/v1/metrics"

    @property
    def http_logs_endpoint(self) -> str:
        """Full URL of ``/v1/logs``."""
        return f"{self.http_endpoint}/v1/logs"

    def endpoint(self, protocol: str) -> str:
        """Base endpoint for an ``OTEL_EXPORTER_OTLP_PROTOCOL`` value.

        ``"grpc"`` gives :attr:`grpc_endpoint`; ``"http/protobuf"``,
        ``"http/json"`` or ``"http"`` give :attr:`http_endpoint`.
        """
        if protocol == "grpc":
            return self.grpc_endpoint
        if protocol in ("http/protobuf", "http/json", "http"):
            return self.http_endpoint
        raise ValueError(f"unknown OTLP protocol {protocol!r}")

    def otel_env(self, protocol: str = "grpc") -> dict[str, str]:
        """``OTEL_EXPORTER_OTLP_*`` variables pointing a subprocess at this receiver."""
        return {
            "OTEL_EXPORTER_OTLP_ENDPOINT": self.endpoint(protocol),
            "OTEL_EXPORTER_OTLP_PROTOCOL": "http/protobuf" if protocol == "http" else protocol,
            "OTEL_EXPORTER_OTLP_INSECURE": "true",
        }

    # -- received data -------------------------------------------------------

    @property
    def spans(self) -> list[ReceivedSpan]:
        """Every span received so far, in arrival order (a copy)."""
        with self._condition:
            return list(self._spans)

    @property
    def metrics(self) -> list[ReceivedMetric]:
        """Every metric received so far, one entry per metric per request (a copy)."""
        with self._condition:
            return list(self._metrics)

    @property
    def logs(self) -> list[ReceivedLog]:
        """Every log record received so far, in arrival order (a copy)."""
        with self._condition:
            return list(self._logs)

    @property
    def requests(self) -> list[ReceivedRequest]:
        """Every export request, accepted or rejected, in arrival order (a copy)."""
        with self._condition:
            return list(self._requests)

    def spans_named(self, name: str) -> list[ReceivedSpan]:
        """Spans called ``name`` received so far."""
        return [span for span in self.spans if span.name == name]

    def metrics_named(self, name: str) -> list[ReceivedMetric]:
        """Metrics called ``name`` received so far (one per export request)."""
        return [metric for metric in self.metrics if metric.name == name]

    def latest_metric(self, name: str) -> ReceivedMetric | None:
        """The most recently received metric called ``name``, if any."""
        matches = self.metrics_named(name)
        return matches[-1] if matches else None

    def logs_named(self, event_name: str) -> list[ReceivedLog]:
        """Log records whose ``event_name`` is ``event_name``."""
        return [log for log in self.logs if log.event_name == event_name]

    def span_tree(self) -> dict[str | None, list[ReceivedSpan]]:
        """Spans grouped by ``parent_span_id`` (roots under ``None``)."""
        tree: dict[str | None, list[ReceivedSpan]] = {}
        for span in self.spans:
            tree.setdefault(span.parent_span_id, []).append(span)
        return tree

    # -- waiting -------------------------------------------------------------

    def wait_for_spans(self, n: int = 1, timeout: float = 10, name: str | None = None) -> list[ReceivedSpan]:
        """Block until at least ``n`` spans (called ``name``, if given) arrived.

        Returns all matching spans. Raises :class:`TimeoutError` listing what
        did arrive when ``timeout`` seconds pass first.
        """

        def matching() -> list[ReceivedSpan]:
            return [s for s in self._spans if name is None or s.name == name]

        what = f"{n} span(s)" + (f" named {name!r}" if name is not None else "")
        return self._wait(lambda: _at_least(matching(), n), timeout, what)

    def wait_for_metrics(
        self,
        name: str,
        timeout: float = 10,
        predicate: Callable[[ReceivedMetric], bool] | None = None,
    ) -> list[ReceivedMetric]:
        """Block until a metric called ``name`` (satisfying ``predicate``) arrived.

        Returns every received metric called ``name`` (the last is the
        latest). ``predicate`` lets a test wait for a particular export, e.g.
        ``lambda m: m.data_points[0].count == 3``.
        """

        def ready() -> list[ReceivedMetric] | None:
            named = [m for m in self._metrics if m.name == name]
            if any(predicate is None or predicate(m) for m in named):
                return named
            return None

        return self._wait(ready, timeout, f"metric {name!r}")

    def wait_for_logs(self, n: int = 1, timeout: float = 10, event_name: str | None = None) -> list[ReceivedLog]:
        """Block until at least ``n`` log records (with ``event_name``, if given) arrived."""

        def matching() -> list[ReceivedLog]:
            return [r for r in self._logs if event_name is None or r.event_name == event_name]

        what = f"{n} log record(s)" + (f" with event_name {event_name!r}" if event_name is not None else "")
        return self._wait(lambda: _at_least(matching(), n), timeout, what)

    def wait_for_requests(self, n: int = 1, timeout: float = 10, signal: Signal | None = None) -> list[ReceivedRequest]:
        """Block until at least ``n`` export requests (of ``signal``) arrived, accepted or not."""

        def matching() -> list[ReceivedRequest]:
            return [r for r in self._requests if signal is None or r.signal == signal]

        return self._wait(lambda: _at_least(matching(), n), timeout, f"{n} {signal or 'export'} request(s)")

    def _wait(self, ready: Callable[[], _T | None], timeout: float, what: str) -> _T:
        deadline = time.monotonic() + timeout
        with self._condition:
            while True:
                result = ready()
                if result is not None:
                    return result
                remaining = deadline - time.monotonic()
                if remaining <= 0:
                    raise TimeoutError(f"expected {what} within {timeout}s; {self._summary()}")
                self._condition.wait(remaining)

    def _summary(self) -> str:
        span_names = [s.name for s in self._spans]
        metric_names = sorted({m.name for m in self._metrics})
        log_names = [r.event_name or repr(r.body) for r in self._logs]
        statuses = [f"{r.protocol}:{r.signal}:{r.status}" for r in self._requests]
        return f"received spans={span_names} metrics={metric_names} logs={log_names} requests={statuses}"

    # -- failure injection ---------------------------------------------------

    def fail_next(
        self,
        n: int = 1,
        grpc_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
        http_status: int = HTTPStatus.SERVICE_UNAVAILABLE,
        *,
        signal: Signal | None = None,
        retry_after: float | None = None,
        message: str = "failure injected by OtlpReceiver.fail_next",
    ) -> None:
        """Reject the next ``n`` export requests (of ``signal``, or of any signal).

        gRPC requests get ``grpc_code``, HTTP requests ``http_status`` with an
        OTLP ``google.rpc.Status`` body. With ``retry_after`` (seconds) the
        rejection also carries a retry hint (gRPC ``RetryInfo`` trailer, HTTP
        ``Retry-After`` header) that the OTel exporters obey, which keeps retry
        tests fast. Rejected requests are recorded in :attr:`requests` with
        ``accepted=False``; their data is not stored.
        """
        failure = _Failure(signal, grpc_code, int(http_status), retry_after, message)
        with self._condition:
            self._failures.extend(failure for _ in range(n))

    def fail_for(
        self,
        seconds: float,
        grpc_code: grpc.StatusCode = grpc.StatusCode.UNAVAILABLE,
        http_status: int = HTTPStatus.SERVICE_UNAVAILABLE,
        *,
        signal: Signal | None = None,
        retry_after: float | None = None,
        message: str = "outage injected by OtlpReceiver.fail_for",
    ) -> None:
        """Reject every export request (of ``signal``, or of any signal) for the next ``seconds``: an outage."""
        with self._condition:
            self._outage = (time.monotonic() + seconds,
                            _Failure(signal, grpc_code, int(http_status), retry_after, message))

    def raw_traces(self) -> bytes:
        """The serialised protobuf of every accepted trace export request, concatenated: what crossed the wire
        (after decompression), for tests that grep the exported bytes."""
        with self._condition:
            return b"".join(self._raw_traces)

    def _take_failure(self, signal: Signal) -> _Failure | None:
        if self._outage is not None:
            until, outage = self._outage
            if time.monotonic() >= until:
                self._outage = None
            elif outage.signal is None or outage.signal == signal:
                return outage
        for index, failure in enumerate(self._failures):
            if failure.signal is None or failure.signal == signal:
                return self._failures.pop(index)
        return None

    # -- ingestion (called from server threads) ------------------------------

    def _ingest(
        self,
        signal: Signal,
        protocol: Protocol,
        headers: dict[str, str],
        request: Message,
        *,
        content_type: str = "",
        content_encoding: str = "",
        body_size: int = 0,
    ) -> _Failure | None:
        """Store a decoded request, or consume and return a scripted failure."""
        items: list[Any]
        if signal == "traces":
            assert isinstance(request, trace_service_pb2.ExportTraceServiceRequest)
            items = decode.decode_spans(request, protocol, headers)
        elif signal == "metrics":
            assert isinstance(request, metrics_service_pb2.ExportMetricsServiceRequest)
            items = decode.decode_metrics(request, protocol, headers)
        else:
            assert isinstance(request, logs_service_pb2.ExportLogsServiceRequest)
            items = decode.decode_logs(request, protocol, headers)
        with self._condition:
            failure = self._take_failure(signal)
            if failure is None:
                stores: dict[Signal, list[Any]] = {"traces": self._spans, "metrics": self._metrics, "logs": self._logs}
                stores[signal].extend(items)
                if signal == "traces":
                    self._raw_traces.append(request.SerializeToString())
                status: int | str = 200 if protocol == "http" else "OK"
            else:
                status = failure.http_status if protocol == "http" else failure.grpc_code.name
            self._requests.append(
                ReceivedRequest(
                    signal=signal,
                    protocol=protocol,
                    headers=headers,
                    status=status,
                    accepted=failure is None,
                    item_count=decode.count_items(signal, request),
                    content_type=content_type,
                    content_encoding=content_encoding,
                    body_size=body_size,
                )
            )
            self._condition.notify_all()
        return failure

    def _require_running(self) -> None:
        if self._grpc_server is None:
            raise RuntimeError("OtlpReceiver is not running; call start() first")


def _at_least(items: list[_T], n: int) -> list[_T] | None:
    return items if len(items) >= n else None


def _headers(pairs: Iterable[tuple[str, str | bytes]]) -> dict[str, str]:
    """Lower-case header names; repeated headers are joined with ``", "``."""
    headers: dict[str, str] = {}
    for key, value in pairs:
        text = base64.b64encode(value).decode("ascii") if isinstance(value, bytes) else value
        name = key.lower()
        headers[name] = f"{headers[name]}, {text}" if name in headers else text
    return headers


# -- gRPC ---------------------------------------------------------------------


class _Servicer:
    signal: Signal
    response_type: type[Message]

    def __init__(self, receiver: OtlpReceiver) -> None:
        self._receiver = receiver

    def Export(self, request: Message, context: grpc.ServicerContext) -> Message:
        headers = _headers(context.invocation_metadata())
        failure = self._receiver._ingest(
            self.signal, "grpc", headers, request, content_type="application/grpc", body_size=request.ByteSize()
        )
        if failure is not None:
            if failure.retry_after is not None:
                delay = duration_pb2.Duration()
                delay.FromNanoseconds(int(failure.retry_after * 1e9))
                retry_info = error_details_pb2.RetryInfo(retry_delay=delay)
                context.set_trailing_metadata((("google.rpc.retryinfo-bin", retry_info.SerializeToString()),))
            context.set_code(failure.grpc_code)
            context.set_details(failure.message)
        return self.response_type()


class _TraceServicer(_Servicer, trace_service_pb2_grpc.TraceServiceServicer):
    signal = "traces"
    response_type = trace_service_pb2.ExportTraceServiceResponse


class _MetricsServicer(_Servicer, metrics_service_pb2_grpc.MetricsServiceServicer):
    signal = "metrics"
    response_type = metrics_service_pb2.ExportMetricsServiceResponse


class _LogsServicer(_Servicer, logs_service_pb2_grpc.LogsServiceServicer):
    signal = "logs"
    response_type = logs_service_pb2.ExportLogsServiceResponse


# -- HTTP ---------------------------------------------------------------------


class _HttpServer(ThreadingHTTPServer):
    daemon_threads = True
    receiver: OtlpReceiver


class _HttpError(Exception):
    def __init__(self, status: HTTPStatus, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


class _HttpHandler(BaseHTTPRequestHandler):
    server: _HttpServer
    # HTTP/1.0: one request per connection, so no idle keep-alive threads
    # outlive stop().
    protocol_version = "HTTP/1.0"

    def do_POST(self) -> None:
        signal = HTTP_PATHS.get(urlsplit(self.path).path)
        content_type = (self.headers.get("Content-Type") or "").split(";")[0].strip().lower()
        as_json = content_type == _JSON
        if signal is None:
            self._reply_error(HTTPStatus.NOT_FOUND, f"no OTLP signal at {self.path}", as_json)
            return
        if signal == "metrics" and not self.server.receiver.accept_metrics:
            self._read_body()
            self.server.receiver.refused_metric_requests += 1
            self._reply_error(HTTPStatus.METHOD_NOT_ALLOWED, "this receiver takes no metrics", as_json)
            return
        try:
            raw = self._read_body()
            encoding = (self.headers.get("Content-Encoding") or "identity").strip().lower()
            body = _decompress(raw, encoding)
            request = self._parse(signal, content_type, body)
        except _HttpError as error:
            self._reply_error(error.status, error.message, as_json)
            return
        failure = self.server.receiver._ingest(
            signal,
            "http",
            _headers(self.headers.items()),
            request,
            content_type=content_type,
            content_encoding=encoding,
            body_size=len(raw),
        )
        if failure is not None:
            extra = {}
            if failure.retry_after is not None:
                extra["Retry-After"] = f"{failure.retry_after:g}"
            self._reply_error(HTTPStatus(failure.http_status), failure.message, as_json, failure.grpc_code, extra)
            return
        response = _RESPONSE_TYPES[signal]()
        if as_json:
            self._reply(HTTPStatus.OK, _JSON, json_format.MessageToJson(response).encode())
        else:
            self._reply(HTTPStatus.OK, _PROTOBUF, response.SerializeToString())

    def _read_body(self) -> bytes:
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            chunks: list[bytes] = []
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return b"".join(chunks)
                chunks.append(self.rfile.read(size))
                self.rfile.readline()
        length = self.headers.get("Content-Length")
        if length is None:
            raise _HttpError(HTTPStatus.LENGTH_REQUIRED, "Content-Length required")
        return self.rfile.read(int(length))

    @staticmethod
    def _parse(signal: Signal, content_type: str, body: bytes) -> Message:
        try:
            if content_type == _PROTOBUF:
                request = decode.REQUEST_TYPES[signal]()
                request.ParseFromString(body)
                return request
            if content_type == _JSON:
                return decode.parse_json(signal, body)
        except (DecodeError, json_format.ParseError, ValueError) as error:
            raise _HttpError(HTTPStatus.BAD_REQUEST, f"cannot decode {content_type} body: {error}") from error
        raise _HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"unsupported Content-Type {content_type!r}")

    def _reply(self, status: HTTPStatus, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        self.end_headers()
        self.wfile.write(body)

    def _reply_error(
        self,
        status: HTTPStatus,
        message: str,
        as_json: bool,
        grpc_code: grpc.StatusCode = grpc.StatusCode.INVALID_ARGUMENT,
        extra: dict[str, str] | None = None,
    ) -> None:
        rpc_status = status_pb2.Status(code=grpc_code.value[0], message=message)
        if as_json:
            self._reply(status, _JSON, json.dumps({"code": rpc_status.code, "message": message}).encode(), extra)
        else:
            self._reply(status, _PROTOBUF, rpc_status.SerializeToString(), extra)

    def log_message(self, format: str, *args: Any) -> None:
        """Keep test output quiet."""


def _decompress(body: bytes, encoding: str) -> bytes:
    try:
        if encoding in ("identity", ""):
            return body
        if encoding == "gzip":
            return gzip.decompress(body)
        if encoding == "deflate":
            try:
                return zlib.decompress(body)
            except zlib.error:
                return zlib.decompress(body, -zlib.MAX_WBITS)  # raw deflate
    except (OSError, EOFError, zlib.error) as error:
        raise _HttpError(HTTPStatus.BAD_REQUEST, f"cannot {encoding}-decode body: {error}") from error
    raise _HttpError(HTTPStatus.UNSUPPORTED_MEDIA_TYPE, f"unsupported Content-Encoding {encoding!r}")
