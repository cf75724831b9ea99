"""Traced stream iterators (sync and async) with one idempotent finalizer.

The SDK's own stream object is returned to the user unchanged (same type, same identity); only its private
``_iterator`` is replaced by one of these, which feeds every chunk to the adapter's accumulator and ends the
span exactly once (:class:`StreamState`): on exhaustion, error, ``close()``/``aclose()``/context exit (see
``_stainless``), or when garbage-collected after a ``break`` or without ever being read.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

from llmotel import semconv as sc
from llmotel._diagnostics import diagnostics
from llmotel.calls import LLMCall

ENDED_COMPLETED = "completed"
ENDED_CLOSED = "closed"
ENDED_ERROR = "error"
ENDED_GC = "garbage_collected"
_MAX_UNREADABLE_CHUNKS = 16


class Accumulator(Protocol):
    """Per-stream state of one adapter: sees every chunk, fills the call when the stream ends."""

    def add(self, chunk: Any) -> None: ...

    def finish(self, call: LLMCall) -> None: ...


class StreamState:
    """One traced stream: counts chunks, records the first, feeds the accumulator, ends the call once.

    Also the garbage-collection path: when the stream (and so this state) is collected before it ended,
    ``__del__`` ends the span with ``ended_by=garbage_collected``.
    """

    __slots__ = ("__weakref__", "acc", "call", "chunks", "failed", "unreadable")

    def __init__(self, call: LLMCall, acc: Accumulator) -> None:
        self.call = call
        self.acc = acc
        self.chunks = 0
        self.unreadable = 0  # chunks the accumulator could not read (skipped)
        self.failed = False  # too many unreadable chunks: stop reading them

    def add(self, chunk: Any) -> None:
        if self.chunks == 0:
            self.call.first_chunk_at = time.perf_counter()
        self.chunks += 1
        if not self.failed:
            try:
                self.acc.add(chunk)
            except Exception as exc:
                self.chunk_failed(exc)

    def chunk_failed(self, exc: Exception) -> None:
        """An odd chunk: skip it and keep what was accumulated; after many, stop reading chunks (an SDK shape
        this version does not know)."""
        self.unreadable += 1
        if self.unreadable >= _MAX_UNREADABLE_CHUNKS:
            self.failed = True
        diagnostics.report("stream_chunk", "could not read a stream chunk; it is left out of the recorded output",
                           exc)

    def finish(self, ended_by: str, error: BaseException | None = None) -> None:
        call = self.call
        if call.ended:
            return
        call.attributes[sc.LLMOTEL_STREAM_CHUNKS] = self.chunks
        if self.unreadable:
            call.attributes[sc.LLMOTEL_STREAM_UNREADABLE_CHUNKS] = self.unreadable
        try:
            self.acc.finish(call)
        except Exception as exc:
            diagnostics.report("stream_finish", "could not summarise a stream", exc)
        try:
            call.end(error, ended_by)
        except Exception as exc:
            diagnostics.report("span_end", "could not end an LLM span", exc)

    def __del__(self) -> None:
        self.finish(ENDED_GC)


def traced_chunks(it: Iterator[Any], state: StreamState) -> Iterator[Any]:
    """Yields the SDK's chunks unchanged; the bookkeeping is inlined because it runs once per chunk."""
    add = state.acc.add
    try:
        for chunk in it:
            if state.chunks == 0:
                state.call.first_chunk_at = time.perf_counter()
            state.chunks += 1
            if not state.failed:
                try:
                    add(chunk)
                except Exception as exc:
                    state.chunk_failed(exc)
            yield chunk
    except GeneratorExit:  # dropped after a break (a close() has already ended the call as "closed")
        state.finish(ENDED_GC)
        raise
    except BaseException as exc:
        state.finish(ENDED_ERROR, exc)
        raise
    state.finish(ENDED_COMPLETED)


class AsyncTracedIterator:
    """Wraps an async chunk iterator (a class, not an async generator, so that garbage collection needs no
    event loop)."""

    __slots__ = ("_it", "_state")

    def __init__(self, it: AsyncIterator[Any], state: StreamState) -> None:
        self._it = it
        self._state = state

    def __aiter__(self) -> AsyncTracedIterator:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self._it.__anext__()
        except StopAsyncIteration:
            self._state.finish(ENDED_COMPLETED)
            raise
        except BaseException as exc:
            self._state.finish(ENDED_ERROR, exc)
            raise
        self._state.add(chunk)
        return chunk
