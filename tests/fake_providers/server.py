"""The HTTP server: :class:`FakeProvider`, a stdlib HTTP/1.1 server speaking the OpenAI and Anthropic wire formats."""

from __future__ import annotations

import base64
import collections
import contextlib
import json
import re
import selectors
import socket
import struct
import threading
import zlib
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler
from types import TracebackType
from typing import Any, cast
from urllib.parse import parse_qs, unquote, urlsplit

from ._common import GenContext, IdFactory, JsonDict, JsonOutput, Output, RequestError, SseEvent, SseOutput
from .anthropic_messages import complete, count_tokens_endpoint, messages
from .openai_chat import chat_completions
from .openai_completions import completions
from .openai_embeddings import embeddings
from .openai_responses import responses
from .reply import Reply, anthropic_error_body, openai_error_body

Endpoint = Callable[[JsonDict, GenContext], Output]

ROUTES: Mapping[tuple[str, str], Endpoint] = {
    ("POST", "/v1/chat/completions"): chat_completions,
    ("POST", "/v1/responses"): responses,
    ("POST", "/v1/embeddings"): embeddings,
    ("POST", "/v1/completions"): completions,
    ("POST", "/v1/messages"): messages,
    ("POST", "/v1/messages/count_tokens"): count_tokens_endpoint,
    ("POST", "/v1/complete"): complete,
}
ANTHROPIC_PATHS = frozenset({"/v1/messages", "/v1/messages/count_tokens", "/v1/complete"})
# Amazon Bedrock's InvokeModel routes for Anthropic models: the model is in the path, not in the body.
BEDROCK_PATH = re.compile(r"/model/(?P<model>[^/]+)/(?P<action>invoke|invoke-with-response-stream)")

MALFORMED_JSON = '{"id": "malformed", "object": '
_DISCONNECTS = (ConnectionError, TimeoutError, OSError)


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the server received it."""

    method: str
    path: str
    """The path without the query string, e.g. ``/v1/chat/completions``."""
    query: dict[str, list[str]]
    headers: dict[str, str]
    """Header names lower-cased; repeated headers joined with ``", "``."""
    body: Any
    """The parsed JSON body, or ``None`` when the body is empty or not JSON."""
    raw_body: bytes = field(repr=False)

    def header(self, name: str) -> str | None:
        return self.headers.get(name.lower())


def normalize_path(path: str) -> str:
    path = urlsplit(path).path
    return path.rstrip("/") or "/"


def provider_for(path: str, headers: Mapping[str, str]) -> str:
    """``"anthropic"`` for Anthropic routes or requests from the Anthropic SDK, else ``"openai"``."""
    if path in ANTHROPIC_PATHS or "anthropic-version" in headers or "x-api-key" in headers:
        return "anthropic"
    if BEDROCK_PATH.fullmatch(path):
        return "anthropic"
    return "openai"


class FakeProvider:
    """A real HTTP server on ``127.0.0.1`` (ephemeral port) that answers like the OpenAI and Anthropic APIs.

    Unscripted requests get realistic, deterministic responses; :meth:`script` queues one-shot
    :class:`Reply` objects (errors, delays, dropped connections, verbatim bodies or streams). Every request is
    recorded in :attr:`requests`. Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, host: str = "127.0.0.1", port: int = 0) -> None:
        self.host = host
        self._requested_port = port
        self._port: int | None = None
        self._lock = threading.Lock()
        self._requests: list[RecordedRequest] = []
        self._scripts: collections.deque[tuple[str | None, Reply]] = collections.deque()
        self._connections: dict[socket.socket, threading.Thread] = {}
        self._ids = IdFactory()
        self._stopping = threading.Event()
        self._thread: threading.Thread | None = None
        self._listener: socket.socket | None = None
        self._wake: tuple[socket.socket, socket.socket] | None = None

    # -- lifecycle -------------------------------------------------------------------------------------------------

    def start(self) -> FakeProvider:
        """Start listening (idempotent). Returns ``self``."""
        if self._thread is not None:
            return self
        self._stopping.clear()
        listener = socket.create_server((self.host, self._requested_port), backlog=128)
        listener.setblocking(False)
        self._listener = listener
        self._port = listener.getsockname()[1]
        self._wake = socket.socketpair()
        self._thread = threading.Thread(target=self._serve, name=f"fake-provider:{self._port}", daemon=True)
        self._thread.start()
        return self

    def stop(self) -> None:
        """Stop the server: close the port, drop open connections and join every thread (idempotent)."""
        thread, listener, wake = self._thread, self._listener, self._wake
        if thread is None or listener is None or wake is None:
            return
        self._thread = self._listener = self._wake = None
        self._stopping.set()
        wake[1].send(b"\0")
        thread.join(timeout=2)
        listener.close()
        with self._lock:
            connections = dict(self._connections)
        for conn in connections:
            _shutdown(conn)
        for handler_thread in connections.values():
            handler_thread.join(timeout=2)
        for sock in wake:
            sock.close()

    @property
    def running(self) -> bool:
        return self._thread is not None

    def __enter__(self) -> FakeProvider:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    # -- addresses -------------------------------------------------------------------------------------------------

    @property
    def port(self) -> int:
        if self._port is None:
            raise RuntimeError("FakeProvider is not started")
        return self._port

    @property
    def base_url(self) -> str:
        return f"http://{self.host}:{self.port}"

    @property
    def openai_base_url(self) -> str:
        return f"{self.base_url}/v1"

    @property
    def anthropic_base_url(self) -> str:
        return self.base_url

    # -- recording and scripting -----------------------------------------------------------------------------------

    @property
    def requests(self) -> list[RecordedRequest]:
        """A snapshot of the requests received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    @property
    def last_request(self) -> RecordedRequest:
        with self._lock:
            if not self._requests:
                raise LookupError("no request received")
            return self._requests[-1]

    def requests_to(self, path: str) -> list[RecordedRequest]:
        """The requests received for ``path`` (query string ignored)."""
        wanted = normalize_path(path)
        return [r for r in self.requests if r.path == wanted]

    def script(self, *items: str | Reply) -> None:
        """Queue one-shot replies, FIFO: ``script(reply, ...)`` for any request, ``script(path, reply, ...)`` for
        requests to ``path`` only (e.g. ``"/v1/messages"``). Each reply is used once, by the next matching request.
        """
        path: str | None = None
        replies = list(items)
        if replies and isinstance(replies[0], str):
            path = normalize_path(replies[0])
            del replies[0]
        if not replies or not all(isinstance(r, Reply) for r in replies):
            raise TypeError("script() takes an optional path followed by one or more Reply objects")
        with self._lock:
            self._scripts.extend((path, cast(Reply, reply)) for reply in replies)

    @property
    def pending_scripts(self) -> int:
        """How many scripted replies have not been used yet."""
        with self._lock:
            return len(self._scripts)

    def reset(self) -> None:
        """Forget the recorded requests and the unused scripts, and restart the id sequence."""
        with self._lock:
            self._requests.clear()
            self._scripts.clear()
        self._ids.reset()

    def _record(self, request: RecordedRequest) -> Reply | None:
        """Record ``request`` and take the first script that matches it."""
        with self._lock:
            self._requests.append(request)
            for entry in self._scripts:
                if entry[0] is None or entry[0] == request.path:
                    self._scripts.remove(entry)
                    return entry[1]
        return None

    # -- serving ---------------------------------------------------------------------------------------------------

    def _serve(self) -> None:
        listener, wake = self._listener, self._wake
        assert listener is not None and wake is not None
        with selectors.DefaultSelector() as selector:
            selector.register(listener, selectors.EVENT_READ)
            selector.register(wake[0], selectors.EVENT_READ)
            while True:
                ready = {key.fileobj for key, _ in selector.select()}
                if wake[0] in ready:
                    return
                self._accept(listener)

    def _accept(self, listener: socket.socket) -> None:
        try:
            conn, address = listener.accept()
        except (BlockingIOError, InterruptedError):
            return
        conn.setblocking(True)
        conn.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        thread = threading.Thread(
            target=self._handle, args=(conn, address), name=f"fake-provider:{self._port}:conn", daemon=True
        )
        with self._lock:
            self._connections[conn] = thread
        thread.start()

    def _handle(self, conn: socket.socket, address: tuple[str, int]) -> None:
        try:
            _Handler(conn, address, self)  # type: ignore[arg-type]
        except _DISCONNECTS:
            pass
        finally:
            with self._lock:
                self._connections.pop(conn, None)
            _shutdown(conn)
            conn.close()

    def _generate(self, request: RecordedRequest, reply: Reply | None, request_id: str) -> Output:
        """The response to ``request``: the scripted one, or the default one of its endpoint."""
        provider = provider_for(request.path, request.headers)
        if reply is not None and reply.is_error:
            return JsonOutput(reply.error_body(provider, request_id), reply.status)
        if reply is not None and reply.body is not None:
            return JsonOutput(reply.body, reply.status)
        if reply is not None and reply.events is not None:
            return SseOutput(list(reply.events))
        endpoint = ROUTES.get((request.method, request.path))
        body = request.body
        bedrock = BEDROCK_PATH.fullmatch(request.path) if request.method == "POST" else None
        if bedrock is not None and isinstance(body, dict):
            endpoint = messages
            stream = bedrock["action"] == "invoke-with-response-stream"
            body = {**body, "model": unquote(bedrock["model"]), "stream": stream}
        try:
            if endpoint is None:
                raise RequestError(404, f"Invalid URL ({request.method} {request.path})")
            if not isinstance(body, dict):
                raise RequestError(400, "We could not parse the JSON body of your request.")
            context = GenContext(self._ids, reply.text if reply else None, dict(reply.usage or {}) if reply else {})
            return endpoint(body, context)
        except RequestError as err:
            return JsonOutput(_error_body(provider, err, request_id), err.status)
        except Exception as err:  # a request the fake cannot handle: answer 500 rather than drop the connection
            bug = RequestError(500, f"FakeProvider could not handle this request: {err!r}")
            return JsonOutput(_error_body(provider, bug, request_id), 500)

    def response_headers(self, provider: str) -> dict[str, str]:
        """The headers the provider sends with every response."""
        if provider == "anthropic":
            return {
                "request-id": self._ids.new("req_011", 21),
                "anthropic-organization-id": "00000000-0000-4000-8000-000000000000",
                "anthropic-ratelimit-requests-limit": "4000",
                "anthropic-ratelimit-requests-remaining": "3999",
            }
        return {
            "x-request-id": self._ids.new("req_", 32),
            "openai-organization": "fake-org",
            "openai-processing-ms": "7",
            "openai-version": "2020-10-01",
            "x-ratelimit-limit-requests": "10000",
            "x-ratelimit-remaining-requests": "9999",
            "x-ratelimit-limit-tokens": "200000",
            "x-ratelimit-remaining-tokens": "199990",
        }


def _error_body(provider: str, err: RequestError, request_id: str) -> JsonDict:
    """The error JSON for a request the fake rejects itself (unknown route, invalid body, missing field)."""
    if provider == "anthropic":
        message = "Not found" if err.status == 404 else err.message
        return anthropic_error_body(err.status, message, request_id=request_id)
    body = openai_error_body(err.status, err.message)
    body["error"]["code"] = None
    return body


def _shutdown(conn: socket.socket) -> None:
    with contextlib.suppress(OSError):
        conn.shutdown(socket.SHUT_RDWR)


def encode_aws_event(data: Any) -> bytes:
    """One Bedrock ``InvokeModelWithResponseStream`` ``chunk`` event in the AWS event-stream binary framing:
    prelude (total length, headers length, CRC32), string headers, a JSON payload carrying the provider's event
    as base64 ``bytes``, and a CRC32 of the whole message."""
    event = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    payload = json.dumps({"bytes": base64.b64encode(event.encode()).decode()}).encode()
    headers = b""
    for name, value in ((":event-type", "chunk"), (":content-type", "application/json"), (":message-type", "event")):
        encoded = value.encode()
        headers += bytes([len(name)]) + name.encode() + b"\x07" + struct.pack(">H", len(encoded)) + encoded
    prelude = struct.pack(">II", 12 + len(headers) + len(payload) + 4, len(headers))
    message = prelude + struct.pack(">I", zlib.crc32(prelude)) + headers + payload
    return message + struct.pack(">I", zlib.crc32(message))


def encode_sse(event: str | None, data: Any) -> bytes:
    """One SSE event: an optional ``event:`` line, ``data:`` line(s), and a blank line."""
    payload = data if isinstance(data, str) else json.dumps(data, ensure_ascii=False)
    lines = ([f"event: {event}"] if event else []) + [f"data: {line}" for line in payload.split("\n")]
    return ("\n".join(lines) + "\n\n").encode()


class _Handler(BaseHTTPRequestHandler):
    """Handles the requests of one connection (HTTP/1.1 keep-alive; streams use chunked encoding)."""

    protocol_version = "HTTP/1.1"
    server: FakeProvider  # type: ignore[assignment]

    def log_message(self, format: str, *args: Any) -> None:
        """Silence the default stderr access log."""

    def do_GET(self) -> None:
        self._dispatch()

    do_POST = do_PUT = do_PATCH = do_DELETE = do_GET

    def _dispatch(self) -> None:
        request = self._read_request()
        reply = self.server._record(request)
        if reply is not None and reply.delay and self.server._stopping.wait(reply.delay):
            return self._drop()
        if reply is not None and reply.drop_connection:
            return self._drop()
        headers = self.server.response_headers(provider_for(request.path, request.headers))
        request_id = headers.get("request-id") or headers.get("x-request-id") or ""
        output = self.server._generate(request, reply, request_id)
        headers.update(reply.headers if reply else {})
        if isinstance(output, SseOutput):
            aws = BEDROCK_PATH.fullmatch(request.path) is not None
            self._send_events(output.events, headers, reply or Reply(), aws)
        else:
            self._send_json(output, headers, reply or Reply())

    def _read_request(self) -> RecordedRequest:
        headers: dict[str, str] = {}
        for name, value in self.headers.items():
            key = name.lower()
            headers[key] = f"{headers[key]}, {value}" if key in headers else value
        raw = self._read_body(headers)
        try:
            body = json.loads(raw) if raw else None
        except ValueError:
            body = None
        split = urlsplit(self.path)
        return RecordedRequest(self.command, normalize_path(split.path), parse_qs(split.query), headers, body, raw)

    def _read_body(self, headers: Mapping[str, str]) -> bytes:
        if "chunked" in headers.get("transfer-encoding", "").lower():
            return self._read_chunked()
        return self.rfile.read(int(headers.get("content-length") or 0))

    def _read_chunked(self) -> bytes:
        data = bytearray()
        while size := int(self.rfile.readline().split(b";")[0].strip() or b"0", 16):
            data += self.rfile.read(size)
            self.rfile.readline()
        while self.rfile.readline().strip():  # trailers
            pass
        return bytes(data)

    def _send_head(self, status: int, headers: Mapping[str, str]) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.end_headers()

    def _send_json(self, output: JsonOutput, headers: dict[str, str], reply: Reply) -> None:
        payload = MALFORMED_JSON if reply.malformed_json else json.dumps(output.body, ensure_ascii=False)
        data = payload.encode()
        headers = {"content-type": "application/json", **headers, "content-length": str(len(data))}
        self._send_head(output.status, headers)
        if reply.drop_after_chunks is not None:
            self.wfile.write(data[: len(data) // 2])
            return self._drop()
        self.wfile.write(data)

    def _send_events(self, events: list[SseEvent], headers: dict[str, str], reply: Reply, aws: bool = False) -> None:
        """Stream ``events`` as SSE, or (``aws``) in Bedrock's AWS event-stream framing."""
        if reply.malformed_json and len(events) > 1:
            events = [events[0], (events[1][0], '{"malformed": '), *events[2:]]
        elif reply.malformed_json and events:
            events = [(events[0][0], '{"malformed": ')]
        if aws:
            base = {"content-type": "application/vnd.amazon.eventstream",
                    "x-amzn-bedrock-content-type": "application/json"}
        else:
            base = {"content-type": "text/event-stream; charset=utf-8", "cache-control": "no-cache"}
        self._send_head(reply.status, {**base, **headers, "transfer-encoding": "chunked"})
        for count, (event, data) in enumerate(events):
            if reply.drop_after_chunks is not None and count >= reply.drop_after_chunks:
                return self._drop()
            if reply.chunk_delay and self.server._stopping.wait(reply.chunk_delay):
                return self._drop()
            self._write_chunk(encode_aws_event(data) if aws else encode_sse(event, data))
        self.wfile.write(b"0\r\n\r\n")

    def _write_chunk(self, data: bytes) -> None:
        self.wfile.write(b"%X\r\n%s\r\n" % (len(data), data))

    def _drop(self) -> None:
        """Close the connection abruptly, without (the rest of) a response."""
        self.close_connection = True
        _shutdown(self.connection)
