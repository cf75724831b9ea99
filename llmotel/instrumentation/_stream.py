"""Traced stream iterators (sync and async) with one idempotent finalizer.

The SDK's own stream object is returned to the user unchanged (same type, same identity); only its private
``_iterator`` is replaced by one of these, which feeds every chunk to the adapter's accumulator and ends the
span exactly once: on exhaustion, error, ``close()``/``aclose()``/context exit (see ``_stainless``), or when
garbage-collected after a ``break``.
"""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Iterator
from typing import Any, Protocol

from llmotel import semconv as sc
from llmotel._diagnostics import diagnostics
from llmotel.instrumentation._lifecycle import LLMCall

ENDED_COMPLETED = "completed"
ENDED_CLOSED = "closed"
ENDED_ERROR = "error"
ENDED_GC = "garbage_collected"


class Accumulator(Protocol):
    """Per-stream state of one adapter: sees every chunk, fills the call when the stream ends."""

    def add(self, chunk: Any) -> None: ...

    def finish(self, call: LLMCall) -> None: ...


class _Finalizer:
    """Shared by the sync and async iterators: counts chunks, records the first, ends the call once."""

    __slots__ = ("acc", "call", "chunks", "failed")

    def __init__(self, call: LLMCall, acc: Accumulator) -> None:
        self.call = call
        self.acc = acc
        self.chunks = 0
        self.failed = False

    def add(self, chunk: Any) -> None:
        if self.chunks == 0:
            self.call.first_chunk_at = time.perf_counter()
        self.chunks += 1
        if self.failed:
            return
        try:
            self.acc.add(chunk)
        except Exception as exc:  # an unknown chunk shape: keep streaming, record less
            self.failed = True
            diagnostics.report("stream_chunk", "could not read a stream chunk; output not recorded", exc)

    def finish(self, ended_by: str, error: BaseException | None = None) -> None:
        call = self.call
        if call.ended:
            return
        try:
            if not self.failed:
                self.acc.finish(call)
            call.attributes[sc.LLMOTEL_STREAM_CHUNKS] = self.chunks
        except Exception as exc:
            diagnostics.report("stream_finish", "could not summarise a stream", exc)
        try:
            call.end(error, ended_by)
        except Exception as exc:
            diagnostics.report("span_end", "could not end an LLM span", exc)


class TracedIterator:
    """Wraps a sync chunk iterator; see the module docstring."""

    __slots__ = ("_fin", "_it")

    def __init__(self, it: Iterator[Any], call: LLMCall, acc: Accumulator) -> None:
        self._it = it
        self._fin = _Finalizer(call, acc)

    def __iter__(self) -> TracedIterator:
        return self

    def __next__(self) -> Any:
        try:
            chunk = next(self._it)
        except StopIteration:
            self._fin.finish(ENDED_COMPLETED)
            raise
        except BaseException as exc:
            self._fin.finish(ENDED_ERROR, exc)
            raise
        self._fin.add(chunk)
        return chunk

    def close(self) -> None:
        """The user closed the stream (``close()`` or context exit) before or after reading it all."""
        self._fin.finish(ENDED_CLOSED)

    def __del__(self) -> None:
        self._fin.finish(ENDED_GC)


class AsyncTracedIterator:
    """Wraps an async chunk iterator; see the module docstring."""

    __slots__ = ("_fin", "_it")

    def __init__(self, it: AsyncIterator[Any], call: LLMCall, acc: Accumulator) -> None:
        self._it = it
        self._fin = _Finalizer(call, acc)

    def __aiter__(self) -> AsyncTracedIterator:
        return self

    async def __anext__(self) -> Any:
        try:
            chunk = await self._it.__anext__()
        except StopAsyncIteration:
            self._fin.finish(ENDED_COMPLETED)
            raise
        except BaseException as exc:
            self._fin.finish(ENDED_ERROR, exc)
            raise
        self._fin.add(chunk)
        return chunk

    def close(self) -> None:
        self._fin.finish(ENDED_CLOSED)

    def __del__(self) -> None:
        self._fin.finish(ENDED_GC)
