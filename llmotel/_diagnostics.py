"""llmotel's own failures: logged at most once a minute per kind, and counted.

Instrumentation and export problems must never reach the user's call, but they must not vanish either.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import Counter

logger = logging.getLogger("llmotel")

_LOG_INTERVAL_S = 60.0
_MAX_KINDS = 256  # bounded: a kind is a short, code-chosen label, never user data


class RateLimit:
    """Whether a key may be logged now: at most once per interval, for a bounded number of keys."""

    def __init__(self, interval_s: float = _LOG_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._last: dict[str, float] = {}

    def allow(self, key: str) -> tuple[bool, bool]:
        """``(allowed, seen_before)`` for ``key`` now."""
        now = time.monotonic()
        with self._lock:
            last = self._last.get(key)
            if last is not None and now - last < self._interval_s:
                return False, True
            if len(self._last) < _MAX_KINDS or key in self._last:
                self._last[key] = now
        return True, last is not None

    def reset(self) -> None:
        with self._lock:
            self._last.clear()


class Diagnostics:
    """Counts problems by kind and logs each kind at most once per interval (no traceback storms)."""

    def __init__(self, interval_s: float = _LOG_INTERVAL_S) -> None:
        self._lock = threading.Lock()
        self._limit = RateLimit(interval_s)
        self.counts: Counter[str] = Counter()

    def report(self, kind: str, message: str, exc: BaseException | None = None, amount: int = 1) -> None:
        with self._lock:
            if kind in self.counts or len(self.counts) < _MAX_KINDS:
                self.counts[kind] += amount
        allowed, seen_before = self._limit.allow(kind)
        if not allowed:
            return
        suppressed = " (repeats are logged at most once a minute)" if seen_before else ""
        detail = f": {type(exc).__qualname__}: {exc}" if exc is not None else ""
        debug = logger.isEnabledFor(logging.DEBUG)
        logger.warning("llmotel: %s%s%s", message, detail, suppressed, exc_info=exc if debug else None)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
        self._limit.reset()


diagnostics = Diagnostics()
