"""The one wrap point for Stainless-generated SDKs (``openai``, ``anthropic``): ``*APIClient.request``.

Every endpoint goes through ``request(cast_to, options, *, stream, stream_cls)``. The adapter decides from
``options.url`` whether the call is a model call (and builds an :class:`LLMCall`) or not (then the call passes
through untouched), so a new endpoint is either traced or harmlessly untraced, never broken.

What the user gets back is exactly what the SDK returns:
- a model object: recorded, returned as is;
- a ``Stream``/``AsyncStream``: returned as is, with its private ``_iterator`` replaced by a traced one and
  its class's ``close`` patched once to end the span;
- a raw response (``with_raw_response``): the body is already read, so it is parsed through the SDK's own
  cached ``parse()`` (the user's later ``parse()`` returns that same object);
- a streaming raw response (``with_streaming_response``): the span ends when the user parses, closes or
  drops it.

Patching is all-or-nothing: every private class is looked up (:func:`resolve_layout`) before the first patch,
so an SDK release that moved one is left exactly as it was, untraced, with one warning naming its version.
"""

from __future__ import annotations

import functools
import importlib
import inspect
import logging
import threading
import weakref
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from types import ModuleType
from typing import Any, Protocol

from opentelemetry import context as otel_context
from opentelemetry import propagate, trace

from llmotel import _secrets
from llmotel._diagnostics import diagnostics
from llmotel._version import __version__
from llmotel.calls import LLMCall, Telemetry
from llmotel.config import Settings
from llmotel.instrumentation._import_hooks import PendingHook, when_imported
from llmotel.instrumentation._stream import ENDED_CLOSED, Accumulator, AsyncTracedIterator, StreamState, traced_chunks

_SUPPRESS_KEY = otel_context._SUPPRESS_INSTRUMENTATION_KEY
_RAW_RESPONSE_HEADER = "X-Stainless-Raw-Response"
_ORIGINAL = "__llmotel_original__"
_CALL_ATTR = "_llmotel_call"
_STATE_ATTR = "_llmotel_stream"

logger = logging.getLogger("llmotel")


class Adapter(Protocol):
    """What a provider module supplies: request -> LLMCall, response -> call, chunks -> accumulator."""

    def begin(self, telemetry: Telemetry, client: Any, options: Any, stream: bool) -> LLMCall | None: ...

    def on_response(self, call: LLMCall, response: Any) -> None: ...

    def accumulator(self, call: LLMCall) -> Accumulator: ...


def _begin(adapter: Adapter, telemetry: Telemetry, client: Any, options: Any, stream: bool) -> LLMCall | None:
    """The adapter's call for this request, or None (not a model call, or the request could not be read)."""
    try:
        return adapter.begin(telemetry, client, options, stream)
    except Exception as exc:
        diagnostics.report("request_extract", "could not read an SDK request; call not traced", exc)
        return None


def _with_trace_context(options: Any) -> Any:
    """A copy of the request options carrying ``traceparent`` (only when propagation is configured)."""
    headers = options.headers if isinstance(options.headers, dict) else {}
    carrier: dict[str, str] = dict(headers)
    propagate.inject(carrier)
    options = options.model_copy()
    options.headers = carrier
    return options


def _finish(
    adapter: Adapter, call: LLMCall, result: Any, options: Any, is_async: bool, patch_responses: Callable[[], None]
) -> None:
    """Record what the SDK returned; the result object itself is never replaced."""
    try:
        headers = options.headers
        raw = headers.get(_RAW_RESPONSE_HEADER) if isinstance(headers, dict) else None
        if raw == "stream":
            patch_responses()
            _defer_to_raw_response(adapter, call, result)
            return
        if raw is not None and hasattr(result, "parse"):
            if inspect.iscoroutinefunction(result.parse):  # an async raw response: parse later, when the user does
                patch_responses()
                _defer_to_raw_response(adapter, call, result)
                return
            result = result.parse()  # cached by the SDK: the user's own parse() returns this same object
        if _is_stream(result):
            _trace_stream(adapter, call, result, is_async)
            return
        adapter.on_response(call, result)
    except Exception as exc:
        diagnostics.report("response_extract", "could not read an SDK response; span has fewer attributes", exc)
    call.end()


_lazy_iterator_classes: dict[type, bool] = {}  # bounded: a handful of SDK classes


def _is_stream(result: Any) -> bool:
    # Not hasattr(): on a pydantic model a missing attribute raises inside __getattr__, which is slow.
    if "_iterator" in getattr(result, "__dict__", ()):
        return True  # openai: set in __init__
    # anthropic 2.x: a cached_property on the class, made on first use.
    cls = type(result)
    lazy = _lazy_iterator_classes.get(cls)
    if lazy is None:
        lazy = any("_iterator" in klass.__dict__ for klass in cls.__mro__)
        if len(_lazy_iterator_classes) < 256:
            _lazy_iterator_classes[cls] = lazy
    return lazy


def _trace_stream(adapter: Adapter, call: LLMCall, stream: Any, is_async: bool) -> None:
    state = StreamState(call, adapter.accumulator(call))
    chunks = stream._iterator
    stream._iterator = AsyncTracedIterator(chunks, state) if is_async else traced_chunks(chunks, state)
    stream.__dict__[_STATE_ATTR] = state  # for the patched close()


def _defer_to_raw_response(adapter: Adapter, call: LLMCall, response: Any) -> None:
    """``with_streaming_response``: the body is unread; the patched ``parse``/``close`` finish the call."""
    setattr(response, _CALL_ATTR, (adapter, call))
    weakref.finalize(response, call.end, None, "garbage_collected")


def make_sync_request(
    original: Callable[..., Any], adapter: Adapter, telemetry: Telemetry, patch_responses: Callable[[], None]
) -> Callable[..., Any]:
    @functools.wraps(original)
    def request(self: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
        context = otel_context.get_current()  # looked up once: for the suppress flag, annotations and the parent
        stream = bool(kwargs.get("stream"))
        call = None if context.get(_SUPPRESS_KEY) else _begin(adapter, telemetry, self, options, stream)
        if call is None:
            return original(self, cast_to, options, *args, **kwargs)
        span = call.start(context)
        token = otel_context.attach(trace.set_span_in_context(span, context))
        try:
            if telemetry.propagate:
                options = _with_trace_context(options)
            result = original(self, cast_to, options, *args, **kwargs)
        except BaseException as exc:
            _secrets.register(getattr(self, "api_key", None))  # error bodies may echo it: scrubbed at export
            call.end(exc)
            raise
        finally:
            otel_context.detach(token)
        _finish(adapter, call, result, options, False, patch_responses)
        return result

    setattr(request, _ORIGINAL, original)
    return request


def make_async_request(
    original: Callable[..., Any], adapter: Adapter, telemetry: Telemetry, patch_responses: Callable[[], None]
) -> Callable[..., Any]:
    @functools.wraps(original)
    async def request(self: Any, cast_to: Any, options: Any, *args: Any, **kwargs: Any) -> Any:
        context = otel_context.get_current()  # looked up once: for the suppress flag, annotations and the parent
        stream = bool(kwargs.get("stream"))
        call = None if context.get(_SUPPRESS_KEY) else _begin(adapter, telemetry, self, options, stream)
        if call is None:
            return await original(self, cast_to, options, *args, **kwargs)
        span = call.start(context)
        token = otel_context.attach(trace.set_span_in_context(span, context))
        try:
            if telemetry.propagate:
                options = _with_trace_context(options)
            result = await original(self, cast_to, options, *args, **kwargs)
        except BaseException as exc:
            _secrets.register(getattr(self, "api_key", None))  # error bodies may echo it: scrubbed at export
            call.end(exc)
            raise
        finally:
            otel_context.detach(token)
        _finish(adapter, call, result, options, True, patch_responses)
        return result

    setattr(request, _ORIGINAL, original)
    return request


# --- patches on the SDK's stream and response classes (once per instrument(); raw responses: on first use) ----


def _stream_close(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def close(self: Any) -> Any:
        state = self.__dict__.get(_STATE_ATTR)
        if state is not None:
            state.finish(ENDED_CLOSED)
        return original(self)

    setattr(close, _ORIGINAL, original)
    return close


def _after_parse(pending: tuple[Adapter, LLMCall], parsed: Any, is_async: bool) -> None:
    adapter, call = pending
    try:
        if _is_stream(parsed):
            _trace_stream(adapter, call, parsed, is_async)
            return
        adapter.on_response(call, parsed)
    except Exception as exc:
        diagnostics.report("response_extract", "could not read an SDK response; span has fewer attributes", exc)
    call.end()


def _response_parse(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def parse(self: Any, *args: Any, **kwargs: Any) -> Any:
        # Once installed, the SDK parses every response through here: a dict pop, no helper call.
        pending: tuple[Adapter, LLMCall] | None = self.__dict__.pop(_CALL_ATTR, None)
        try:
            parsed = original(self, *args, **kwargs)
        except BaseException as exc:
            if pending is not None:
                pending[1].end(exc)
            raise
        if pending is not None:
            _after_parse(pending, parsed, False)
        return parsed

    setattr(parse, _ORIGINAL, original)
    return parse


def _async_response_parse(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def parse(self: Any, *args: Any, **kwargs: Any) -> Any:
        pending: tuple[Adapter, LLMCall] | None = self.__dict__.pop(_CALL_ATTR, None)
        try:
            parsed = await original(self, *args, **kwargs)
        except BaseException as exc:
            if pending is not None:
                pending[1].end(exc)
            raise
        if pending is not None:
            _after_parse(pending, parsed, True)
        return parsed

    setattr(parse, _ORIGINAL, original)
    return parse


def _response_close(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    def close(self: Any) -> Any:
        pending: tuple[Adapter, LLMCall] | None = self.__dict__.pop(_CALL_ATTR, None)
        if pending is not None:
            pending[1].end(None, "closed")
        return original(self)

    setattr(close, _ORIGINAL, original)
    return close


def _async_response_close(original: Callable[..., Any]) -> Callable[..., Any]:
    @functools.wraps(original)
    async def close(self: Any) -> Any:
        pending: tuple[Adapter, LLMCall] | None = self.__dict__.pop(_CALL_ATTR, None)
        if pending is not None:
            pending[1].end(None, "closed")
        return await original(self)

    setattr(close, _ORIGINAL, original)
    return close


Make = Callable[[Callable[..., Any]], Callable[..., Any]]  # original method -> its replacement


class Patcher:
    """Replaces methods on SDK classes and puts the originals back; patching a patched method is a no-op."""

    def __init__(self) -> None:
        self._patched: list[tuple[type, str, Any, bool]] = []  # (class, name, original, defined on the class)
        self._lock = threading.Lock()  # patches may be installed lazily, from any thread

    def patch_all(self, patches: Sequence[tuple[type, str, Make]]) -> None:
        """All of ``patches`` or none: when one cannot be applied, the ones before it are undone and
        :class:`SdkLayoutError` is raised."""
        with self._lock:
            mark = len(self._patched)
            try:
                for cls, name, make in patches:
                    if not self._patch(cls, name, make):
                        raise SdkLayoutError(f"{cls.__module__}.{cls.__qualname__} has no {name}()")
            except Exception as exc:
                self._undo(mark)
                if isinstance(exc, SdkLayoutError):
                    raise
                raise SdkLayoutError(f"could not patch {cls.__module__}.{cls.__qualname__}.{name}: {exc!r}") from exc

    def _patch(self, cls: type, name: str, make: Make) -> bool:
        """(under the lock) True when ``name`` is patched now or was already."""
        own = name in cls.__dict__
        current = cls.__dict__[name] if own else inspect.getattr_static(cls, name, None)
        if not callable(current):
            return False
        if hasattr(current, _ORIGINAL):
            return True
        setattr(cls, name, make(current))
        self._patched.append((cls, name, current, own))
        return True

    def unpatch_all(self) -> None:
        with self._lock:
            self._undo(0)

    def _undo(self, mark: int) -> None:
        while len(self._patched) > mark:
            cls, name, original, own = self._patched.pop()
            if own:
                setattr(cls, name, original)
            else:  # inherited before: inherited again
                delattr(cls, name)


class SdkLayoutError(Exception):
    """The SDK's private classes are not where (or not what) the wrap expects: nothing of it is patched."""


@dataclass(frozen=True)
class SdkLayout:
    """The SDK's private classes the wrap patches, all looked up before any of them is patched."""

    sync_client: type
    async_client: type
    stream: type
    async_stream: type
    response: type
    async_response: type


def _sdk_class(sdk: ModuleType, module: str, name: str, methods: tuple[str, ...]) -> type:
    where = f"{sdk.__name__}.{module}"
    try:
        found = getattr(importlib.import_module(where), name, None)
    except ImportError as exc:
        raise SdkLayoutError(f"{where} cannot be imported ({exc})") from exc
    if not isinstance(found, type):
        raise SdkLayoutError(f"{where}.{name} is missing")
    for method in methods:
        if not callable(inspect.getattr_static(found, method, None)):
            raise SdkLayoutError(f"{where}.{name} has no {method}()")
    return found


def _check_request(cls: type, is_async: bool) -> None:
    """``request(self, cast_to, options, ..., stream=...)``, the shape the wrap reads."""
    request = inspect.getattr_static(cls, "request")
    request = getattr(request, _ORIGINAL, request)  # already wrapped by an earlier instrument()
    try:
        parameters = inspect.signature(request).parameters
    except (TypeError, ValueError) as exc:
        raise SdkLayoutError(f"{cls.__module__}.{cls.__qualname__}.request has no signature ({exc})") from exc
    if list(parameters)[:3] != ["self", "cast_to", "options"] or "stream" not in parameters:
        raise SdkLayoutError(f"{cls.__module__}.{cls.__qualname__}.request({', '.join(parameters)}) is not "
                             "request(self, cast_to, options, ..., stream=...)")
    if inspect.iscoroutinefunction(request) is not is_async:
        raise SdkLayoutError(f"{cls.__module__}.{cls.__qualname__}.request is {'not ' if is_async else ''}async")


def resolve_layout(sdk: ModuleType) -> SdkLayout:
    """Every private class and method the wrap needs, or :class:`SdkLayoutError` naming the first one missing."""
    layout = SdkLayout(
        sync_client=_sdk_class(sdk, "_base_client", "SyncAPIClient", ("request",)),
        async_client=_sdk_class(sdk, "_base_client", "AsyncAPIClient", ("request",)),
        stream=_sdk_class(sdk, "_streaming", "Stream", ("close",)),
        async_stream=_sdk_class(sdk, "_streaming", "AsyncStream", ("close",)),
        response=_sdk_class(sdk, "_response", "APIResponse", ("parse", "close")),
        async_response=_sdk_class(sdk, "_response", "AsyncAPIResponse", ("parse", "close")),
    )
    _check_request(layout.sync_client, is_async=False)
    _check_request(layout.async_client, is_async=True)
    return layout


def patch_stainless_module(patcher: Patcher, sdk: ModuleType, adapter: Adapter, telemetry: Telemetry) -> None:
    """Patch one Stainless SDK package (``openai`` or ``anthropic``): clients, streams, raw responses.

    Every private symbol is resolved first and the patches go in all together, so an SDK whose private modules
    moved raises :class:`SdkLayoutError` with nothing patched.
    """
    layout = resolve_layout(sdk)

    def patch_responses() -> None:
        """The raw-response patches, installed when a call first waits for a raw response (most apps never do):
        the SDK parses every response through ``APIResponse.parse``, so a patch there would cost every call."""
        patcher.patch_all([
            (layout.response, "parse", _response_parse),
            (layout.response, "close", _response_close),
            (layout.async_response, "parse", _async_response_parse),
            (layout.async_response, "close", _async_response_close),
        ])

    patcher.patch_all([
        (layout.sync_client, "request", lambda f: make_sync_request(f, adapter, telemetry, patch_responses)),
        (layout.async_client, "request", lambda f: make_async_request(f, adapter, telemetry, patch_responses)),
        (layout.stream, "close", _stream_close),
        (layout.async_stream, "close", _stream_close),
    ])


class SdkInstrumentation:
    """One Stainless SDK's instrumentation, shared by ``enable()`` and the SDK's ``BaseInstrumentor``.

    ``instrument()`` never imports the SDK: it patches it at once when the application has imported it, else right
    after the application imports it (a post-import hook). An SDK whose private classes are not where the wrap
    expects them is left untouched and untraced, with one warning. The latest ``instrument()`` wins; the handle it
    returns undoes that one only (its patches, or its hook while the SDK is not imported yet).
    """

    def __init__(self, sdk_module: str, adapter_class: Callable[[], Adapter], dependencies: tuple[str, ...]) -> None:
        self.sdk_module = sdk_module
        self.adapter_class = adapter_class
        self.dependencies = dependencies  # the versions it knows, in requirement syntax
        self._patcher = Patcher()
        self._lock = threading.Lock()
        self._generation = 0  # one per instrument() and per undo: a hook or handle of an older one does nothing
        self._hook: PendingHook | None = None

    def instrument(self, settings: Settings, tracer_provider: Any = None, meter_provider: Any = None
                   ) -> Instrumented:
        """Trace the SDK with these settings and providers, from now or from its import on."""
        telemetry = Telemetry(settings, tracer_provider, meter_provider)
        with self._lock:
            self._stop()
            generation = self._generation
        patch = functools.partial(self._patch_sdk, generation, self.adapter_class(), telemetry)
        hook = when_imported(self.sdk_module, patch)  # not under the lock: may wait for an import in progress
        with self._lock:
            current = generation == self._generation
            if current:
                self._hook = hook
        if not current:
            hook.cancel()
        return Instrumented(self, generation)

    def uninstrument(self, generation: int) -> None:
        """Undo the ``instrument()`` that made ``generation``, unless a later one replaced it."""
        with self._lock:
            if generation == self._generation:
                self._stop()

    def _stop(self) -> None:
        """(under the lock) remove the current patches or pending hook."""
        self._generation += 1
        hook, self._hook = self._hook, None
        self._patcher.unpatch_all()
        if hook is not None:
            hook.cancel()

    def _patch_sdk(self, generation: int, adapter: Adapter, telemetry: Telemetry, sdk: ModuleType) -> None:
        with self._lock:
            if generation != self._generation:
                return  # undone since
            try:
                patch_stainless_module(self._patcher, sdk, adapter, telemetry)
            except SdkLayoutError as exc:
                logger.warning(
                    "llmotel: %s %s is not traced: %s (llmotel %s knows %s); its calls work as without llmotel",
                    self.sdk_module, _version_of(sdk), exc, __version__, ", ".join(self.dependencies),
                )


class Instrumented:
    """What one ``SdkInstrumentation.instrument()`` did; ``uninstrument()`` undoes it (once it is the latest)."""

    __slots__ = ("generation", "instrumentation")

    def __init__(self, instrumentation: SdkInstrumentation, generation: int) -> None:
        self.instrumentation = instrumentation
        self.generation = generation

    def uninstrument(self) -> None:
        self.instrumentation.uninstrument(self.generation)


def lazy_instrumentor(class_name: str, instrumentation: SdkInstrumentation, module: str) -> Callable[[str], Any]:
    """A module ``__getattr__`` that makes the SDK's ``BaseInstrumentor`` class ``class_name`` (for
    ``opentelemetry-instrument`` and direct use) on first access, so that ``enable()`` never imports
    ``opentelemetry.instrumentation`` (its import costs more than the rest of the wrap)."""

    def __getattr__(name: str) -> Any:
        if name != class_name:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        from llmotel.instrumentation._instrumentor import instrumentor_class

        return instrumentor_class(name, instrumentation, module)

    return __getattr__


def _version_of(sdk: ModuleType) -> str:
    declared = getattr(sdk, "__version__", None)
    if isinstance(declared, str):
        return declared
    try:
        from importlib.metadata import version  # only on this rare path

        return version(sdk.__name__)
    except Exception:
        return "(version unknown)"
