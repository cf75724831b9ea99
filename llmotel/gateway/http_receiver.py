"""The HTTP side: OTLP/HTTP (``/v1/traces``, ``/v1/metrics``, ``/v1/logs``; protobuf or JSON, gzip or deflate),
the evaluation intake (``/v1/evaluations``), ``/healthz``, ``/readyz`` and Prometheus ``/metrics``.

HTTP/1.1 with keep-alive, one thread per connection. A body over the size limit is refused with ``413`` before it
is read (then the connection is closed); error bodies are a ``google.rpc.Status`` in the request's encoding
(protobuf, or ``{"code", "message"}`` JSON), as OTLP/HTTP specifies.
"""

from __future__ import annotations

import json
import socket
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import TYPE_CHECKING, Any
from urllib.parse import urlsplit

from google.rpc import status_pb2

from llmotel.gateway.replies import UNAUTHENTICATED, Reply, bad_request
from llmotel.gateway.wire import JSON, PROTOBUF, BadRequest, decompress, media_type, parse, response_body, too_large

if TYPE_CHECKING:
    from llmotel.gateway.server import Gateway

_OTLP_PATHS = {"/v1/traces": "traces", "/v1/metrics": "metrics", "/v1/logs": "logs"}
_GRPC_NUMBERS = {"OK": 0, "INVALID_ARGUMENT": 3, "RESOURCE_EXHAUSTED": 8, "UNIMPLEMENTED": 12, "UNAVAILABLE": 14,
                 "UNAUTHENTICATED": 16}
_CONNECTION_TIMEOUT_S = 60.0


class GatewayHttpServer(ThreadingHTTPServer):
    """The gateway's HTTP server (IPv4 or IPv6, by the listen address)."""

    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, host: str, port: int, gateway: Gateway) -> None:
        self.address_family = socket.AF_INET6 if ":" in host else socket.AF_INET
        self.gateway = gateway
        super().__init__((host, port), _Handler)


class _Handler(BaseHTTPRequestHandler):
    server: GatewayHttpServer
    protocol_version = "HTTP/1.1"
    server_version = "llmotel-gateway"
    timeout = _CONNECTION_TIMEOUT_S

    # --- routes -------------------------------------------------------------------------------------------------

    def do_POST(self) -> None:
        path = urlsplit(self.path).path
        signal = _OTLP_PATHS.get(path)
        if signal is not None:
            self._otlp(signal)
        elif path == "/v1/evaluations":
            self._intake()
        else:
            self.close_connection = True
            self._send(404, "text/plain", f"no such endpoint: POST {path}\n".encode())

    def do_GET(self) -> None:
        path = urlsplit(self.path).path
        gateway = self.server.gateway
        if path == "/healthz":
            self._send(200, "text/plain", b"ok\n")
        elif path == "/readyz":
            state = gateway.state
            self._send(200 if state == "ready" else 503, "text/plain", f"{state}\n".encode())
        elif path == "/metrics":
            self._send(200, "text/plain; version=0.0.4; charset=utf-8", gateway.metrics.prometheus().encode())
        else:
            self._send(404, "text/plain", f"no such endpoint: GET {path}\n".encode())

    def _otlp(self, signal: str) -> None:
        gateway = self.server.gateway
        content_type = self.headers.get("Content-Type")
        as_json = (content_type or "").split(";")[0].strip().lower() == JSON
        if not gateway.auth.allows(self._header_map()):
            self._reply(gateway.refusal(UNAUTHENTICATED), as_json, signal, close=True)
            return
        try:
            kind = media_type(content_type)
            body = decompress(self._read_body(), self.headers.get("Content-Encoding") or "",
                              gateway.options.max_request_bytes)
            request = parse(signal, kind, body)
        except BadRequest as error:
            self._reply(gateway.refusal(bad_request(error)), as_json, signal)
            return
        self._reply(gateway.handle(signal, request, body if kind == PROTOBUF else None), as_json, signal)

    def _intake(self) -> None:
        gateway = self.server.gateway
        if not gateway.auth.allows(self._header_map()):
            reply = gateway.refusal(UNAUTHENTICATED)
            self._send_json(reply.http_status, {"error": reply.message}, close=True)
            return
        try:
            media_type(self.headers.get("Content-Type") or JSON)  # JSON; a missing type is taken for JSON
            body = decompress(self._read_body(), self.headers.get("Content-Encoding") or "",
                              gateway.options.max_request_bytes)
            document = json.loads(body.decode("utf-8"))
        except BadRequest as error:
            reply = gateway.refusal(bad_request(error))
            self._send_json(reply.http_status, {"error": reply.message})
            return
        except (UnicodeDecodeError, ValueError) as error:
            reply = gateway.refusal(bad_request(BadRequest(400, f"the body is not JSON: {error}")))
            self._send_json(reply.http_status, {"error": reply.message})
            return
        status, payload, retry_after = gateway.evaluations(document)
        extra = {"Retry-After": str(max(int(retry_after), 1))} if retry_after else {}
        self._send_json(status, payload, extra=extra)

    # --- bodies -------------------------------------------------------------------------------------------------

    def _header_map(self) -> dict[str, str]:
        return {key.lower(): value for key, value in self.headers.items()}

    def _read_body(self) -> bytes:
        limit = self.server.gateway.options.max_request_bytes
        if "chunked" in (self.headers.get("Transfer-Encoding") or "").lower():
            return self._read_chunked(limit)
        length = self.headers.get("Content-Length")
        if length is None:
            self.close_connection = True
            raise BadRequest(411, "Content-Length required")
        try:
            size = int(length)
        except ValueError:
            self.close_connection = True
            raise BadRequest(400, f"invalid Content-Length {length!r}") from None
        if size > limit:
            self.close_connection = True  # the body stays unread
            raise too_large(limit)
        return self.rfile.read(size)

    def _read_chunked(self, limit: int) -> bytes:
        chunks: list[bytes] = []
        total = 0
        while True:
            line = self.rfile.readline(1024)
            try:
                size = int(line.split(b";")[0].strip() or b"0", 16)
            except ValueError:
                self.close_connection = True
                raise BadRequest(400, "malformed chunked body") from None
            if size == 0:
                while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                    pass  # trailers
                return b"".join(chunks)
            total += size
            if total > limit:
                self.close_connection = True
                raise too_large(limit)
            chunks.append(self.rfile.read(size))
            self.rfile.readline(16)

    # --- answers ------------------------------------------------------------------------------------------------

    def _reply(self, reply: Reply, as_json: bool, signal: str, close: bool = False) -> None:
        if close:
            self.close_connection = True
        extra = {"Retry-After": str(max(int(reply.retry_after + 0.999), 1))} if reply.retry_after else {}
        if reply.ok:
            self._send(200, JSON if as_json else PROTOBUF, response_body(signal, JSON if as_json else PROTOBUF))
            return
        code = _GRPC_NUMBERS.get(reply.grpc_code, 2)
        if as_json:
            body = json.dumps({"code": code, "message": reply.message}).encode()
        else:
            body = status_pb2.Status(code=code, message=reply.message).SerializeToString()
        self._send(reply.http_status, JSON if as_json else PROTOBUF, body, extra)

    def _send_json(self, status: int, payload: Any, *, close: bool = False,
                   extra: dict[str, str] | None = None) -> None:
        if close:
            self.close_connection = True
        self._send(status, JSON, json.dumps(payload, ensure_ascii=False).encode(), extra)

    def _send(self, status: int, content_type: str, body: bytes, extra: dict[str, str] | None = None) -> None:
        self.send_response(status)
        self.send_header("Content-Type", content_type)
        self.send_header("Content-Length", str(len(body)))
        for key, value in (extra or {}).items():
            self.send_header(key, value)
        if self.close_connection:
            self.send_header("Connection", "close")
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: Any) -> None:
        """No access log (the metrics count requests)."""
