"""``ResultWriter``: commits finished record x runs from a background thread, as soon as they finish.

Group commit: the thread writes whatever has finished since its last transaction in one transaction, so a
quiet run commits each record at once and a busy one batches. When the process is killed, only the records
still in flight (running, or finished during the last commit) are lost.
"""

from __future__ import annotations

import queue
import threading
from typing import Any

from llmotel.experiments.store.store import Store

_STOP = object()
_MAX_BATCH = 2000
#: finished records waiting for the writer at most; beyond it the runner waits (memory stays bounded)
QUEUE_SIZE = 10_000


class ResultWriter:
    """Writes :class:`~llmotel.experiments.runner.UnitResult` objects of one run to the store."""

    def __init__(self, store: Store, run_id: str) -> None:
        self.store = store
        self.run_id = run_id
        self.error: BaseException | None = None
        self.written = 0
        self._queue: queue.Queue[Any] = queue.Queue(maxsize=QUEUE_SIZE)
        self._thread = threading.Thread(target=self._work, name="llmotel-experiment-writer", daemon=True)
        self._thread.start()

    def put(self, unit: Any, timeout: float | None = None) -> None:
        """Queue a finished unit (blocks while the queue is full)."""
        if self.error is not None:
            raise self.error
        self._queue.put(unit, timeout=timeout)

    def full(self) -> bool:
        return self._queue.full()

    def close(self) -> None:
        """Write everything queued, then stop; re-raises a write error."""
        self._queue.put(_STOP)
        self._thread.join()
        if self.error is not None:
            raise self.error

    def _work(self) -> None:
        while True:
            batch = [self._queue.get()]
            while len(batch) < _MAX_BATCH:
                try:
                    batch.append(self._queue.get_nowait())
                except queue.Empty:
                    break
            stop = any(item is _STOP for item in batch)
            units = [item for item in batch if item is not _STOP]
            if units and self.error is None:
                try:
                    self.store.write_units(self.run_id, units)
                    self.written += len(units)
                except BaseException as exc:  # surfaced to the runner by put()/close()
                    self.error = exc
            if stop:
                return
