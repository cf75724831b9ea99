"""``ResultWriter``: commits finished record x runs from a background thread as they finish.

A record that finishes when the last commit is more than ``COMMIT_INTERVAL`` ago is committed at once (an LLM
task's records: one by one); records that finish faster are batched into one transaction per interval, which
keeps a run of fast records from spending its time in commits. So when the process is killed, what is lost is
the records in flight: those still running and those that finished within the last interval.
"""

from __future__ import annotations

import queue
import threading
import time
from typing import Any

from llmotel.experiments.store.store import Store

_STOP = object()
_MAX_BATCH = 2000
#: seconds between two commits at most (a record finishing later than this after the last one is written at once)
COMMIT_INTERVAL = 0.05
#: finished records waiting for the writer at most; beyond it the runner waits (memory stays bounded)
QUEUE_SIZE = 10_000


class ResultWriter:
    """Writes :class:`~llmotel.experiments.runner.UnitResult` objects of one run to the store."""

    def __init__(self, store: Store, run_id: str, interval: float = COMMIT_INTERVAL) -> None:
        self.store = store
        self.run_id = run_id
        self.interval = interval
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

    def _batch(self, last_commit: float) -> list[Any]:
        """The next items: the first one, then what arrives until the interval since the last commit is over."""
        batch = [self._queue.get()]
        deadline = last_commit + self.interval
        while batch[-1] is not _STOP and len(batch) < _MAX_BATCH:
            remaining = deadline - time.monotonic()
            try:
                batch.append(self._queue.get(timeout=remaining) if remaining > 0 else self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _work(self) -> None:
        last_commit = 0.0
        while True:
            batch = self._batch(last_commit)
            units = [item for item in batch if item is not _STOP]
            if units and self.error is None:
                try:
                    self.store.write_units(self.run_id, units)
                    self.written += len(units)
                except BaseException as exc:  # surfaced to the runner by put()/close()
                    self.error = exc
            last_commit = time.monotonic()
            if batch[-1] is _STOP:
                return
