"""What the installed provider SDKs raise where their releases differ, so tests expect exactly that."""

from __future__ import annotations

import importlib.metadata

import anthropic
import httpx2


def _release(package: str) -> tuple[int, ...]:
    return tuple(int(part) for part in importlib.metadata.version(package).split(".")[:2] if part.isdigit())


#: What the anthropic SDK raises when the connection drops while a stream is read: from 2.17 on it wraps the
#: transport's error in APIConnectionError; earlier 2.x releases let httpx2's error through. llmotel passes on
#: whichever it is, unchanged.
ANTHROPIC_STREAM_DROPPED: type[Exception] = (
    anthropic.APIConnectionError if _release("anthropic") >= (2, 17) else httpx2.RemoteProtocolError
)
