"""What llmotel's threads need across ``fork()``: lazy imports a fork cannot cut in half, and a restart in the child.

A thread importing a module holds that module's import lock. If another thread forks meanwhile, the child inherits
the lock held by a thread it does not have, and its first import of that module waits forever (seen: an export
worker importing ``requests``/``netrc`` for its first request while the application forked; the child's
``flush()`` never returned). Work that imports on a worker thread runs inside :func:`guarded`; ``os.fork()`` waits
for it (bounded: a fork from inside an import the work needs must not deadlock) and the child starts unlocked.
"""

from __future__ import annotations

import os
import threading
import weakref
from collections.abc import Callable
from typing import Any, TypeVar

T = TypeVar("T")

_FORK_WAIT_SECONDS = 30.0
_guard = threading.Lock()
_held_for_fork = False


def guarded(work: Callable[[], T]) -> T:
    """``work()`` (which may import modules) with forks held off until it returns."""
    with _guard:
        return work()


def restart_in_child(owner: object, restart: Callable[[Any], object]) -> None:
    """Call ``restart(owner)`` in every forked child while ``owner`` lives (threads do not survive a fork; the
    owner is weakly referenced, so the hook does not keep it alive)."""
    ref = weakref.ref(owner)

    def after_fork_in_child() -> None:
        alive = ref()
        if alive is not None:
            restart(alive)

    os.register_at_fork(after_in_child=after_fork_in_child)


def _before_fork() -> None:
    global _held_for_fork
    _held_for_fork = _guard.acquire(timeout=_FORK_WAIT_SECONDS)


def _after_fork_in_parent() -> None:
    global _held_for_fork
    if _held_for_fork:
        _held_for_fork = False
        _guard.release()


def _after_fork_in_child() -> None:
    global _guard, _held_for_fork
    _guard = threading.Lock()
    _held_for_fork = False


os.register_at_fork(before=_before_fork, after_in_parent=_after_fork_in_parent, after_in_child=_after_fork_in_child)
