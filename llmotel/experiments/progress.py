"""A one-line progress bar on a terminal (records done / failed / ETA); silent when stderr is not a terminal."""

from __future__ import annotations

import sys
import threading
import time
from typing import TextIO

_INTERVAL = 0.1  # seconds between redraws
_WIDTH = 24


def _duration(seconds: float) -> str:
    seconds = max(int(seconds), 0)
    return f"{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


class Progress:
    """Counts finished record x runs and redraws at most ten times a second."""

    def __init__(self, label: str, total: int, enabled: bool | None = None, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr
        self.enabled = self.stream.isatty() if enabled is None else enabled
        self.label = label
        self.total = total
        self.done = 0
        self.failed = 0
        self._started = time.monotonic()
        self._drawn = 0.0
        self._lock = threading.Lock()

    def update(self, ok: bool) -> None:
        with self._lock:
            self.done += 1
            self.failed += not ok
            now = time.monotonic()
            if self.enabled and (now - self._drawn >= _INTERVAL or self.done == self.total):
                self._drawn = now
                self._draw(now)

    def line(self, now: float | None = None) -> str:
        elapsed = (now or time.monotonic()) - self._started
        share = self.done / self.total if self.total else 1.0
        filled = int(share * _WIDTH)
        eta = elapsed / self.done * (self.total - self.done) if self.done else 0.0
        return (f"{self.label} [{'#' * filled}{'.' * (_WIDTH - filled)}] {self.done}/{self.total} "
                f"failed {self.failed}  elapsed {_duration(elapsed)}  ETA {_duration(eta)}")

    def _draw(self, now: float) -> None:
        self.stream.write("\r" + self.line(now) + "\x1b[K")
        self.stream.flush()

    def close(self) -> None:
        if self.enabled and self.done:
            with self._lock:
                self._draw(time.monotonic())
                self.stream.write("\n")
                self.stream.flush()
