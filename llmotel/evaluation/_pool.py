"""A fixed pool of daemon threads for sync evaluators.

Not ``concurrent.futures.ThreadPoolExecutor``: the interpreter joins that pool's threads at exit (so an evaluator
that never returns keeps the process alive forever) and refuses new work once exit has begun (so a script that
never calls ``shutdown()`` lost every evaluation at exit). Daemon threads do neither.
"""

from __future__ import annotations

import concurrent.futures
import queue
import threading
from collections.abc import Callable
from typing import Any

_STOP = None


class DaemonPool:
    """Runs callables on ``size`` daemon threads; :meth:`submit` returns a ``concurrent.futures.Future``."""

    def __init__(self, size: int, name: str) -> None:
        self._work: queue.SimpleQueue[tuple[concurrent.futures.Future[Any], Callable[..., Any], tuple[Any, ...]] | None]
        self._work = queue.SimpleQueue()
        self._threads = [threading.Thread(target=self._run, name=f"{name}-{i}", daemon=True) for i in range(size)]
        for thread in self._threads:
            thread.start()

    def submit(self, fn: Callable[..., Any], *args: Any) -> concurrent.futures.Future[Any]:
        future: concurrent.futures.Future[Any] = concurrent.futures.Future()
        self._work.put((future, fn, args))
        return future

    def _run(self) -> None:
        while True:
            item = self._work.get()
            if item is _STOP:
                return
            future, fn, args = item
            if not future.set_running_or_notify_cancel():
                continue
            try:
                result = fn(*args)
            except BaseException as exc:
                future.set_exception(exc)
            else:
                future.set_result(result)

    def shutdown(self) -> None:
        """Cancel work not started yet and let idle threads end; busy threads end when their call returns."""
        while True:
            try:
                item = self._work.get_nowait()
            except queue.Empty:
                break
            if item is not _STOP:
                item[0].cancel()
        for _ in self._threads:
            self._work.put(_STOP)
