"""What limits and marks judge calls: the per-minute token window, the provider's retry-after, and the traces
of traced judge calls (never evaluated themselves)."""

from __future__ import annotations

import email.utils
import math
import threading
import time
from collections import OrderedDict, deque

from llmotel.evaluation.judge.prompts import JudgeError

MAX_RETRY_AFTER = 30.0  # seconds: a longer wait would outlast any evaluator timeout; give up instead
_MAX_JUDGE_TRACES = 4096
_WINDOW_SECONDS = 60.0


class JudgeBudgetExceeded(JudgeError):
    """The per-minute token budget is used up; no call was made."""



# --- judge traces ---------------------------------------------------------------------------------------------------

_judge_traces: OrderedDict[int, None] = OrderedDict()
_judge_traces_lock = threading.Lock()


def _remember_judge_trace(trace_id: int) -> None:
    with _judge_traces_lock:
        _judge_traces[trace_id] = None
        while len(_judge_traces) > _MAX_JUDGE_TRACES:
            _judge_traces.popitem(last=False)


def is_judge_trace(trace_id: int) -> bool:
    """Whether ``trace_id`` is a traced judge call's trace (``trace=True``): its spans must not be evaluated.

    Remembers the last 4096 such traces. Cheap and lock-free: the processor asks it for every span.
    """
    return trace_id in _judge_traces  # a single dict lookup, atomic under the GIL


# --- budget ---------------------------------------------------------------------------------------------------------


class _TokenWindow:
    """Total tokens used in the last 60 seconds (thread-safe)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self._used: deque[tuple[float, int]] = deque()
        self._total = 0
        self._lock = threading.Lock()

    def _expire(self, now: float) -> None:
        while self._used and self._used[0][0] <= now - _WINDOW_SECONDS:
            self._total -= self._used.popleft()[1]

    def exhausted(self) -> bool:
        with self._lock:
            self._expire(time.monotonic())
            return self._total >= self.limit

    def add(self, tokens: int) -> None:
        if tokens <= 0:
            return
        with self._lock:
            now = time.monotonic()
            self._expire(now)
            self._used.append((now, tokens))
            self._total += tokens


def _retry_after(exc: Exception) -> float | None:
    """Seconds the provider asked to wait (``retry-after-ms``, ``retry-after`` in seconds or as a date), or None."""
    response = getattr(exc, "response", None)
    headers = getattr(response, "headers", None)
    if headers is None:
        return None
    for name, scale in (("retry-after-ms", 0.001), ("retry-after", 1.0)):
        raw = headers.get(name)
        if raw is None:
            continue
        try:
            seconds = float(raw) * scale
        except ValueError:
            try:
                seconds = email.utils.parsedate_to_datetime(raw).timestamp() - time.time()
            except (TypeError, ValueError, IndexError):
                continue
        if math.isfinite(seconds):
            return max(seconds, 0.0)
    return None
