"""Frames on a pipe between an application and its evaluation child: a JSON header and a binary body.

A frame is two big-endian 32-bit lengths, the header (UTF-8 JSON object) and the body (usually a serialised OTLP
``ExportTraceServiceRequest``). Reading returns None at end of file, which is how either side learns the other
has gone.
"""

from __future__ import annotations

import json
import struct
from typing import IO, Any

_LENGTHS = struct.Struct(">II")
MAX_FRAME = 256 * 1024 * 1024


class FrameError(ValueError):
    """The stream does not hold frames (the other side wrote something else, or died mid-frame)."""


def write_frame(stream: IO[bytes], header: dict[str, Any], body: bytes = b"") -> None:
    encoded = json.dumps(header, separators=(",", ":")).encode()
    stream.write(_LENGTHS.pack(len(encoded), len(body)) + encoded + body)
    stream.flush()


def _exactly(stream: IO[bytes], size: int) -> bytes | None:
    chunks = []
    while size:
        chunk = stream.read(size)
        if not chunk:
            return None
        chunks.append(chunk)
        size -= len(chunk)
    return b"".join(chunks)


def read_frame(stream: IO[bytes]) -> tuple[dict[str, Any], bytes] | None:
    """The next frame, or None at end of file. Raises :class:`FrameError` for anything that is not a frame."""
    lengths = _exactly(stream, _LENGTHS.size)
    if lengths is None:
        return None
    header_size, body_size = _LENGTHS.unpack(lengths)
    if header_size > MAX_FRAME or body_size > MAX_FRAME:
        raise FrameError(f"frame of {header_size} + {body_size} bytes")
    raw_header = _exactly(stream, header_size)
    body = _exactly(stream, body_size) if body_size else b""
    if raw_header is None or body is None:
        raise FrameError("the stream ended inside a frame")
    try:
        header = json.loads(raw_header)
    except ValueError as exc:
        raise FrameError(f"frame header is not JSON: {exc}") from None
    if not isinstance(header, dict):
        raise FrameError("frame header is not a JSON object")
    return header, body
