"""Post-import hooks on real modules written to a temporary folder and imported for real."""

from __future__ import annotations

import importlib
import importlib.resources
import logging
import sys
import textwrap
import threading
import types
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

from llmotel.instrumentation import _import_hooks
from llmotel.instrumentation._import_hooks import when_imported


@pytest.fixture
def make_module(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Callable[..., str]]:
    """``make_module(source, package=False)``: a fresh importable module name whose body is ``source``."""
    monkeypatch.syspath_prepend(str(tmp_path))
    names: list[str] = []

    def make(source: str = "", package: bool = False) -> str:
        name = f"hooked_{uuid.uuid4().hex[:12]}"
        if package:
            (tmp_path / name).mkdir()
            (tmp_path / name / "__init__.py").write_text(textwrap.dedent(source))
            (tmp_path / name / "data.txt").write_text("payload")
        else:
            (tmp_path / f"{name}.py").write_text(textwrap.dedent(source))
        importlib.invalidate_caches()
        names.append(name)
        return name

    yield make
    for name in names:
        sys.modules.pop(name, None)
        for hook in list(_import_hooks._pending.get(name, ())):
            hook.cancel()


def finders() -> int:
    return sum(f is _import_hooks._FINDER for f in sys.meta_path)


def test_hook_runs_on_the_importing_thread_before_its_import_returns(make_module):
    name = make_module("VALUE = 42\n")
    calls: list[tuple[Any, int, int]] = []
    hook = when_imported(name, lambda module: calls.append((module, module.VALUE, threading.get_ident())))
    assert hook.pending and finders() == 1
    seen_at_return: list[int] = []
    importer_id: list[int] = []

    def importer() -> None:
        importer_id.append(threading.get_ident())
        importlib.import_module(name)
        seen_at_return.append(len(calls))

    thread = threading.Thread(target=importer)
    thread.start()
    thread.join()
    ((module, value, thread_id),) = calls
    assert module is sys.modules[name] and value == 42
    assert thread_id == importer_id[0]
    assert seen_at_return == [1]
    assert not hook.pending and finders() == 0  # nothing pending: the finder left sys.meta_path


def test_hook_runs_at_once_for_an_imported_module(make_module):
    name = make_module("VALUE = 1\n")
    module = importlib.import_module(name)
    calls: list[Any] = []
    hook = when_imported(name, calls.append)
    assert calls == [module]
    assert not hook.pending and finders() == 0


def test_cancelled_hook_never_runs_and_leaves_no_finder(make_module):
    name = make_module("VALUE = 1\n")
    calls: list[Any] = []
    hook = when_imported(name, calls.append)
    assert hook.cancel()
    assert not hook.cancel()  # only once
    importlib.import_module(name)
    assert calls == [] and finders() == 0


def test_hooked_module_keeps_its_own_loader(make_module):
    name = make_module("VALUE = 1\n", package=True)
    when_imported(name, lambda module: None)
    module = importlib.import_module(name)
    assert type(module.__loader__).__name__ == "SourceFileLoader"
    assert module.__spec__.loader is module.__loader__
    assert (importlib.resources.files(name) / "data.txt").read_text() == "payload"
    assert importlib.reload(module) is module


def test_failed_import_keeps_the_hook_for_the_next_attempt(make_module, tmp_path):
    flag = tmp_path / "fail-once"
    flag.write_text("")
    name = make_module(f"""
        import os
        if os.path.exists({str(flag)!r}):
            os.remove({str(flag)!r})
            raise RuntimeError("first import fails")
        VALUE = 2
    """)
    calls: list[Any] = []
    hook = when_imported(name, calls.append)
    with pytest.raises(RuntimeError, match="first import fails"):
        importlib.import_module(name)
    assert calls == [] and hook.pending
    module = importlib.import_module(name)
    assert calls == [module]


def test_hook_that_raises_does_not_break_the_import(make_module, caplog):
    name = make_module("VALUE = 3\n")

    def broken(module: Any) -> None:
        raise ValueError("hook bug")

    when_imported(name, broken)
    with caplog.at_level(logging.WARNING, logger="llmotel"):
        module = importlib.import_module(name)
    assert module.VALUE == 3
    assert any("hook bug" in r.getMessage() and name in r.getMessage() for r in caplog.records)


def test_registering_during_an_import_on_another_thread_runs_the_hook_once_on_the_finished_module(
    make_module, monkeypatch
):
    sync = types.SimpleNamespace(started=threading.Event(), proceed=threading.Event())
    monkeypatch.setitem(sys.modules, "_hook_test_sync", sync)
    name = make_module("""
        import _hook_test_sync as sync
        sync.started.set()
        sync.proceed.wait(10)
        DONE = True
    """)
    importer = threading.Thread(target=importlib.import_module, args=(name,))
    importer.start()
    assert sync.started.wait(10)  # the import found its spec before the hook exists: its loader is not hooked
    calls: list[Any] = []
    registrar = threading.Thread(target=when_imported, args=(name, lambda m: calls.append(getattr(m, "DONE", None))))
    registrar.start()
    registrar.join(0.3)
    assert registrar.is_alive()  # waiting for the import in progress
    sync.proceed.set()
    importer.join(10)
    registrar.join(10)
    assert calls == [True]


def test_hooks_for_the_same_module_all_run_once(make_module):
    name = make_module("VALUE = 1\n")
    calls: list[str] = []
    when_imported(name, lambda m: calls.append("a"))
    when_imported(name, lambda m: calls.append("b"))
    importlib.import_module(name)
    importlib.reload(sys.modules[name])
    assert calls == ["a", "b"]
