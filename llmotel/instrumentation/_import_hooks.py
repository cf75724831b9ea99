"""Post-import hooks: call a function with a module right after the application imports it.

``when_imported(name, hook)`` calls ``hook(module)`` at once when the module is already imported (after waiting for
an import of it still running on another thread), else right after the application's own ``import`` finishes,
on the importing thread, before that ``import`` statement returns. Until then one finder at the front of
``sys.meta_path`` watches for the name (a dict lookup per import); it leaves ``sys.meta_path`` as soon as no
hook is pending. ``PendingHook.cancel()`` removes a hook that has not run.

The hooked import gets the spec the other finders return, with the loader wrapped only for the time of
``exec_module``: the module ends up with its own loader in ``__loader__`` and ``__spec__.loader``. A hook that
raises is logged; the application's import succeeds as it would without llmotel.
"""

from __future__ import annotations

import importlib
import logging
import sys
import threading
from collections.abc import Callable, Sequence
from types import ModuleType
from typing import Any

logger = logging.getLogger("llmotel")

Hook = Callable[[ModuleType], None]


class PendingHook:
    """A hook registered by :func:`when_imported`; runs at most once."""

    __slots__ = ("hook", "name")

    def __init__(self, name: str, hook: Hook) -> None:
        self.name = name
        self.hook = hook

    @property
    def pending(self) -> bool:
        """True until the hook has run or was cancelled."""
        with _lock:
            return self in _pending.get(self.name, ())

    def cancel(self) -> bool:
        """Remove the hook if it has not run; True when it was still pending."""
        return _take(self)


_lock = threading.Lock()
_pending: dict[str, list[PendingHook]] = {}  # module name -> hooks not run yet; bounded by enable()/instrument() calls
_resolving = threading.local()  # names this thread is looking up through the other finders (no recursion)


def when_imported(name: str, hook: Hook) -> PendingHook:
    """Run ``hook(module)`` once ``name`` is imported: now if it already is, else right after its import."""
    entry = PendingHook(name, hook)
    with _lock:
        _pending.setdefault(name, []).append(entry)
        if _FINDER not in sys.meta_path:
            sys.meta_path.insert(0, _FINDER)
    # Registered first, then checked: an import that found its spec before the finder was in place holds the
    # module's import lock until it is done, so waiting for that lock makes the check below see its module.
    _wait_for_import_in_progress(name)
    module = sys.modules.get(name)
    if module is not None and _take(entry):
        _run([entry], module)
    return entry


def _wait_for_import_in_progress(name: str) -> None:
    lock_unlock = getattr(importlib._bootstrap, "_lock_unlock_module", None)  # private, stable since 3.3
    if lock_unlock is not None:
        lock_unlock(name)  # returns at once unless another thread is importing the module


def _take(entry: PendingHook) -> bool:
    with _lock:
        hooks = _pending.get(entry.name)
        if hooks is None or entry not in hooks:
            return False
        hooks.remove(entry)
        _forget_if_empty(entry.name)
        return True


def _take_all(name: str) -> list[PendingHook]:
    with _lock:
        hooks = _pending.pop(name, [])
        _forget_if_empty(name)
        return hooks


def _forget_if_empty(name: str) -> None:
    """(under ``_lock``) drop an empty name, and the finder when nothing is pending."""
    if not _pending.get(name, True):
        del _pending[name]
    if not _pending and _FINDER in sys.meta_path:
        sys.meta_path.remove(_FINDER)


def _run(hooks: Sequence[PendingHook], module: ModuleType) -> None:
    for entry in hooks:
        try:
            entry.hook(module)
        except Exception as exc:  # never break the application's import
            logger.warning("llmotel: could not run the post-import hook for %s: %r", entry.name, exc)


class _PostImportFinder:
    """Finds nothing itself: hands out the other finders' spec for a watched name, with a hooked loader."""

    def find_spec(self, fullname: str, path: Sequence[str] | None = None, target: ModuleType | None = None) -> Any:
        if fullname not in _pending:
            return None
        busy: set[str] = _resolving.__dict__.setdefault("names", set())
        if fullname in busy:
            return None
        busy.add(fullname)
        try:
            spec = _other_finders_spec(fullname, path, target)
        finally:
            busy.discard(fullname)
        loader = getattr(spec, "loader", None)
        if loader is not None and hasattr(loader, "exec_module"):
            spec.loader = _HookedLoader(loader)
        return spec

    def invalidate_caches(self) -> None:
        return None


def _other_finders_spec(fullname: str, path: Sequence[str] | None, target: ModuleType | None) -> Any:
    for finder in list(sys.meta_path):
        find_spec = getattr(finder, "find_spec", None) if finder is not _FINDER else None
        if find_spec is not None:
            spec = find_spec(fullname, path, target)
            if spec is not None:
                return spec
    return None


class _HookedLoader:
    """The module's own loader, plus the pending hooks once ``exec_module`` has succeeded."""

    def __init__(self, loader: Any) -> None:
        self.loader = loader

    def create_module(self, spec: Any) -> ModuleType | None:
        create = getattr(self.loader, "create_module", None)
        return create(spec) if create is not None else None

    def exec_module(self, module: ModuleType) -> None:
        spec = module.__spec__
        if spec is not None and spec.loader is self:
            spec.loader = self.loader
        if getattr(module, "__loader__", None) is self:
            module.__loader__ = self.loader
        self.loader.exec_module(module)  # an import that fails leaves the hooks pending for a later attempt
        name = spec.name if spec is not None else module.__name__
        _run(_take_all(name), sys.modules.get(name, module))

    def __getattr__(self, name: str) -> Any:
        return getattr(self.loader, name)


_FINDER = _PostImportFinder()
