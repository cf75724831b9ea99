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


class Diagnostics:
    """Counts problems by kind and logs each kind at most once per interval (no traceback storms)."""

    def __init__(self, interval_s: float = _LOG_INTERVAL_S) -> None:
        self._interval_s = interval_s
        self._lock = threading.Lock()
        self._last_logged: dict[str, float] = {}
        self.counts: Counter[str] = Counter()

    def report(self, kind: str, message: str, exc: BaseException | None = None, amount: int = 1) -> None:
        now = time.monotonic()
        with self._lock:
            if kind in self.counts or len(self.counts) < _MAX_KINDS:
                self.counts[kind] += amount
            last = self._last_logged.get(kind)
            if last is not None and now - last < self._interval_s:
                return
            if len(self._last_logged) < _MAX_KINDS or kind in self._last_logged:
                self._last_logged[kind] = now
        suppressed = "" if last is None else " (repeats are logged at most once a minute)"
        detail = f": {type(exc).__qualname__}: {exc}" if exc is not None else ""
        debug = logger.isEnabledFor(logging.DEBUG)
        logger.warning("llmotel: %s%s%s", message, detail, suppressed, exc_info=exc if debug else None)

    def reset(self) -> None:
        with self._lock:
            self.counts.clear()
            self._last_logged.clear()


diagnostics = Diagnostics()
