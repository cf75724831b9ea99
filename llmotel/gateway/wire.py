"""OTLP request bodies: size limits, decompression and parsing (protobuf or OTLP/JSON), with reasons for refusals.

Every refusal is a :class:`BadRequest` carrying the HTTP status (``400`` malformed, ``413`` too large, ``415``
unsupported type or encoding) and a reason a sender can act on. A body is checked against the size limit as
received and again while it is decompressed, so a small gzip bomb is refused after ``limit`` bytes, not after it
filled the memory.
"""

from __future__ import annotations

import base64
import json
import re
import zlib
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest, ExportLogsServiceResponse
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
    ExportMetricsServiceResponse,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import (
    ExportTraceServiceRequest,
    ExportTraceServiceResponse,
)

PROTOBUF = "application/x-protobuf"
JSON = "application/json"
SIGNALS = ("traces", "metrics", "logs")
REQUEST_TYPES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceRequest, "metrics": ExportMetricsServiceRequest, "logs": ExportLogsServiceRequest,
}
RESPONSE_TYPES: dict[str, type[Message]] = {
    "traces": ExportTraceServiceResponse, "metrics": ExportMetricsServiceResponse, "logs": ExportLogsServiceResponse,
}
_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
_HEX = re.compile(r"^[0-9a-fA-F]*$")


class BadRequest(Exception):
    """A request refused for what it is (malformed, too large, unsupported): never worth retrying as it is."""

    def __init__(self, status: int, reason: str) -> None:
        super().__init__(reason)
        self.status = status
        self.reason = reason


def too_large(limit: int) -> BadRequest:
    return BadRequest(413, f"request body larger than the gateway's limit of {limit} bytes")


def decompress(body: bytes, encoding: str, limit: int) -> bytes:
    """The body decoded from ``Content-Encoding`` (identity, gzip, deflate), at most ``limit`` bytes."""
    encoding = encoding.strip().lower() or "identity"
    if encoding == "identity":
        return body
    if encoding not in ("gzip", "deflate"):
        raise BadRequest(415, f"unsupported Content-Encoding {encoding!r} (identity, gzip or deflate)")
    wbits = 16 + zlib.MAX_WBITS if encoding == "gzip" else zlib.MAX_WBITS
    try:
        decoder = zlib.decompressobj(wbits)
        out = decoder.decompress(body, limit + 1)
        if len(out) > limit or decoder.unconsumed_tail:
            raise too_large(limit)
        out += decoder.flush()
    except zlib.error as exc:
        if encoding == "deflate":  # some senders send raw deflate without the zlib header
            try:
                return _raw_deflate(body, limit)
            except zlib.error:
                pass
        raise BadRequest(400, f"cannot {encoding}-decode the body: {exc}") from None
    if len(out) > limit:
        raise too_large(limit)
    return out


def _raw_deflate(body: bytes, limit: int) -> bytes:
    decoder = zlib.decompressobj(-zlib.MAX_WBITS)
    out = decoder.decompress(body, limit + 1)
    if len(out) > limit or decoder.unconsumed_tail:
        raise too_large(limit)
    return out + decoder.flush()


def media_type(content_type: str | None) -> str:
    """``application/x-protobuf`` or ``application/json`` (parameters dropped); raises 415 for anything else."""
    kind = (content_type or "").split(";")[0].strip().lower()
    if kind not in (PROTOBUF, JSON):
        raise BadRequest(415, f"unsupported Content-Type {kind or 'none'!r} (application/x-protobuf or "
                              "application/json)")
    return kind


def parse(signal: str, kind: str, body: bytes) -> Message:
    """An OTLP export request of ``signal`` from a protobuf or OTLP/JSON body."""
    message = REQUEST_TYPES[signal]()
    if kind == PROTOBUF:
        try:
            message.ParseFromString(body)
        except (DecodeError, ValueError, RuntimeError) as exc:
            raise BadRequest(400, f"cannot decode the protobuf body as an OTLP {signal} request: {exc}") from None
        return message
    try:
        document = json.loads(body.decode("utf-8") or "{}")
    except (UnicodeDecodeError, ValueError) as exc:
        raise BadRequest(400, f"the body is not JSON: {exc}") from None
    if not isinstance(document, dict):
        raise BadRequest(400, f"an OTLP/JSON {signal} request is a JSON object")
    try:
        json_format.ParseDict(_ids_as_base64(document), message, ignore_unknown_fields=True)
    except (json_format.ParseError, ValueError, TypeError) as exc:
        raise BadRequest(400, f"cannot read the JSON body as an OTLP {signal} request: {exc}") from None
    return message


def _ids_as_base64(node: Any) -> Any:
    """OTLP/JSON writes trace and span ids as hex; the protobuf JSON mapping reads bytes as base64."""
    if isinstance(node, dict):
        out = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str):
                if not _HEX.match(value) or len(value) % 2:
                    raise BadRequest(400, f"{key} {value[:40]!r} is not hex")
                out[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            else:
                out[key] = _ids_as_base64(value)
        return out
    if isinstance(node, list):
        return [_ids_as_base64(item) for item in node]
    return node


def response_body(signal: str, kind: str) -> bytes:
    """The empty success response in the request's encoding."""
    return b"{}" if kind == JSON else RESPONSE_TYPES[signal]().SerializeToString()
