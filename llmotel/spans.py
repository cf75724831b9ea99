"""Manual spans: ``workflow``, ``task``, ``agent``, ``tool``, ``retrieval``, ``embedding``, ``llm``.

Each is a decorator (``@workflow``, ``@workflow(name=...)``) for sync, async, generator and async-generator
functions, and a context manager (``with llmotel.workflow("name") as span:``, ``async with`` too).
Decorated functions record their bound arguments and return value (or yielded items) as JSON when content
capture is on: data only (``self``/``cls``, clients, callables and other objects are left out, sizes capped; see
:mod:`llmotel._jsonable`); ``llm`` and ``embedding`` never do (annotate them by hand). An ``llm`` span is an LLM
call of :mod:`llmotel.calls` (annotation context, GenAI metrics, the error, one end). Workflow and agent spans
also carry them as ``gen_ai.input.messages`` / ``gen_ai.output.messages``; with ``compat=["openinference"]``
every manual span carries ``openinference.span.kind`` and ``input.value`` / ``output.value`` too.
"""

from __future__ import annotations

import functools
import inspect
from collections.abc import AsyncIterator, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from types import TracebackType
from typing import Any, TypeVar, overload

from opentelemetry import context as otel_context
from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind

from llmotel import openinference
from llmotel import semconv as sc
from llmotel._jsonable import SKIP, call_arguments, jsonable
from llmotel._setup import call_telemetry, effective_settings, manual_tracer
from llmotel.annotations import documents_attribute
from llmotel.calls import LLMCall
from llmotel.content import Truncator, message, output_message, record_error, text_part, to_json
from llmotel.errors import AnnotationError

F = TypeVar("F", bound=Callable[..., Any])
_MAX_YIELDED = 100  # yielded items recorded for a generator's output


@dataclass(frozen=True)
class _Kind:
    kind: str
    operation: str | None
    span_kind: SpanKind
    name_attribute: str | None
    captures_io: bool = True


_WORKFLOW = _Kind("workflow", sc.OP_INVOKE_WORKFLOW, SpanKind.INTERNAL, sc.GEN_AI_WORKFLOW_NAME)
_TASK = _Kind("task", None, SpanKind.INTERNAL, None)
_AGENT = _Kind("agent", sc.OP_INVOKE_AGENT, SpanKind.INTERNAL, sc.GEN_AI_AGENT_NAME)
_TOOL = _Kind("tool", sc.OP_EXECUTE_TOOL, SpanKind.INTERNAL, sc.GEN_AI_TOOL_NAME)
_RETRIEVAL = _Kind("retrieval", sc.OP_RETRIEVAL, SpanKind.CLIENT, sc.GEN_AI_DATA_SOURCE_ID)
_EMBEDDING = _Kind("embedding", sc.OP_EMBEDDINGS, SpanKind.CLIENT, None, captures_io=False)
_LLM = _Kind("llm", sc.OP_CHAT, SpanKind.CLIENT, None, captures_io=False)


class ManualSpan:
    """One manual span: a decorator and a (sync or async) context manager. Build it with ``workflow(...)`` etc."""

    def __init__(self, kind: _Kind, name: str | None, attributes: Mapping[str, Any]) -> None:
        if name is not None and (not isinstance(name, str) or not name):
            raise AnnotationError(f"{kind.kind} name must be a non-empty string, got {name!r}")
        self._kind = kind
        self._name = name
        self._attributes = dict(attributes)
        self._active: list[tuple[Span, object]] = []
        self._calls: dict[int, LLMCall] = {}  # llm spans in flight, by id(span)

    # --- span lifecycle -------------------------------------------------------------------------------------------

    def _span_name(self, name: str) -> str:
        kind = self._kind
        if kind.kind in ("llm", "embedding"):
            model = self._attributes.get(sc.GEN_AI_REQUEST_MODEL)
            return self._name or (f"{kind.operation} {model}" if model else f"{kind.operation}")
        return f"{kind.operation or kind.kind} {name}"

    def _start(self, name: str) -> Span:
        kind = self._kind
        attrs: dict[str, Any] = {sc.LLMOTEL_SPAN_KIND: kind.kind, **self._attributes}
        if openinference.enabled(effective_settings().compat):
            attrs.update(openinference.kind_attributes(kind.kind))
        if kind is _LLM:
            return self._start_llm_call(attrs)
        if kind.operation:
            attrs[sc.GEN_AI_OPERATION_NAME] = kind.operation
        if kind.name_attribute:
            attrs[kind.name_attribute] = name
        return manual_tracer().start_span(self._span_name(name), kind=kind.span_kind, attributes=attrs)

    def _start_llm_call(self, attrs: dict[str, Any]) -> Span:
        """An ``llm`` span is an LLM call of the LLM-call API: annotation context at its start, GenAI metrics and
        the error at its end, content annotated with capture off kept for the evaluators."""
        call = LLMCall(call_telemetry(), sc.OP_CHAT, attrs.get(sc.GEN_AI_PROVIDER_NAME),
                       attrs.get(sc.GEN_AI_REQUEST_MODEL), None, None)
        call.start_attributes.update(attrs)
        span = call.start()
        if self._name:
            span.update_name(self._name)
        self._calls[id(span)] = call
        return span

    def _finish(self, span: Span, exc: BaseException | None) -> None:
        """End the span: an LLM call through its lifecycle, any other span here."""
        call = self._calls.pop(id(span), None)
        if call is not None:
            _read_response(call, span)
            call.end(exc)
            return
        if exc is not None:
            settings = effective_settings()
            span.set_attribute(sc.ERROR_TYPE, type(exc).__qualname__)
            record_error(span, exc, settings.capture_content, settings.redact_pii)
        span.end()

    # --- context manager ----------------------------------------------------------------------------------------------

    def __enter__(self) -> Span:
        span = self._start(self._name or self._kind.kind)
        token = otel_context.attach(trace.set_span_in_context(span))
        self._active.append((span, token))
        return span

    def __exit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                 tb: TracebackType | None) -> None:
        span, token = self._active.pop()
        otel_context.detach(token)  # type: ignore[arg-type]
        self._finish(span, exc)

    async def __aenter__(self) -> Span:
        return self.__enter__()

    async def __aexit__(self, exc_type: type[BaseException] | None, exc: BaseException | None,
                        tb: TracebackType | None) -> None:
        self.__exit__(exc_type, exc, tb)

    # --- decorator --------------------------------------------------------------------------------------------------

    def __call__(self, fn: F) -> F:
        if not callable(fn):
            raise AnnotationError(f"@{self._kind.kind} decorates a function, got {type(fn).__name__}")
        name: str = self._name or getattr(fn, "__name__", None) or self._kind.kind
        signature = _signature(fn)
        if inspect.isasyncgenfunction(fn):
            return self._async_generator(fn, name, signature)  # type: ignore[return-value]
        if inspect.isgeneratorfunction(fn):
            return self._generator(fn, name, signature)  # type: ignore[return-value]
        if inspect.iscoroutinefunction(fn):
            return self._coroutine(fn, name, signature)  # type: ignore[return-value]
        return self._function(fn, name, signature)  # type: ignore[return-value]

    def _begin(self, name: str, signature: inspect.Signature | None, args: Any, kwargs: Any) -> tuple[Span, Any]:
        span = self._start(name)
        if self._kind.captures_io and effective_settings().capture_content:
            _record_input(span, self._kind, signature, args, kwargs)
        return span, otel_context.attach(trace.set_span_in_context(span))

    def _end(self, span: Span, result: Any = None, exc: BaseException | None = None, has_result: bool = False) -> None:
        if exc is None and has_result and self._kind.captures_io and effective_settings().capture_content:
            _record_output(span, self._kind, result)
        self._finish(span, exc)

    def _function(self, fn: Callable[..., Any], name: str, signature: inspect.Signature | None) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Any:
            span, token = self._begin(name, signature, args, kwargs)
            try:
                result = fn(*args, **kwargs)
            except BaseException as exc:
                self._end(span, exc=exc)
                raise
            finally:
                otel_context.detach(token)
            self._end(span, result, has_result=True)
            return result

        return wrapper

    def _coroutine(self, fn: Callable[..., Any], name: str, signature: inspect.Signature | None) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> Any:
            span, token = self._begin(name, signature, args, kwargs)
            try:
                result = await fn(*args, **kwargs)
            except BaseException as exc:
                self._end(span, exc=exc)
                raise
            finally:
                otel_context.detach(token)
            self._end(span, result, has_result=True)
            return result

        return wrapper

    def _generator(self, fn: Callable[..., Any], name: str, signature: inspect.Signature | None) -> Callable[..., Any]:
        @functools.wraps(fn)
        def wrapper(*args: Any, **kwargs: Any) -> Iterator[Any]:
            span, token = self._begin(name, signature, args, kwargs)
            otel_context.detach(token)  # the span is made current again each time the generator resumes
            yielded: list[Any] = []
            try:
                gen = _resumed_in(span, lambda: fn(*args, **kwargs))
                sent = None
                while True:
                    try:
                        item = _resumed_in(span, functools.partial(gen.send, sent))
                    except StopIteration:
                        break
                    if len(yielded) < _MAX_YIELDED:
                        yielded.append(item)
                    sent = yield item
            except GeneratorExit:  # the consumer stopped early (break, close, garbage collection)
                gen.close()
                self._end(span, yielded, has_result=True)
                raise
            except BaseException as exc:
                self._end(span, exc=exc)
                raise
            self._end(span, yielded, has_result=True)

        return wrapper

    def _async_generator(
        self, fn: Callable[..., Any], name: str, signature: inspect.Signature | None
    ) -> Callable[..., Any]:
        @functools.wraps(fn)
        async def wrapper(*args: Any, **kwargs: Any) -> AsyncIterator[Any]:
            span, token = self._begin(name, signature, args, kwargs)
            otel_context.detach(token)
            yielded: list[Any] = []
            agen = _resumed_in(span, lambda: fn(*args, **kwargs))
            try:
                sent = None
                while True:
                    token = otel_context.attach(trace.set_span_in_context(span))
                    try:
                        item = await agen.asend(sent)
                    except StopAsyncIteration:
                        break
                    finally:
                        otel_context.detach(token)
                    if len(yielded) < _MAX_YIELDED:
                        yielded.append(item)
                    sent = yield item
            except GeneratorExit:  # the consumer stopped early (break, aclose, garbage collection)
                await agen.aclose()
                self._end(span, yielded, has_result=True)
                raise
            except BaseException as exc:
                self._end(span, exc=exc)
                raise
            self._end(span, yielded, has_result=True)

        return wrapper


def _resumed_in(span: Span, step: Callable[[], Any]) -> Any:
    """Run one step of a generator with ``span`` current, as if the generator body ran inside it."""
    token = otel_context.attach(trace.set_span_in_context(span))
    try:
        return step()
    finally:
        otel_context.detach(token)


def _signature(fn: Callable[..., Any]) -> inspect.Signature | None:
    try:
        return inspect.signature(fn)
    except (TypeError, ValueError):
        return None


def _truncator() -> Truncator:
    settings = effective_settings()
    return Truncator(settings.recorded_text_limit, settings.max_blob_length)


_AS_MESSAGES = frozenset({"workflow", "agent"})  # GenAI invocation spans: input and output messages


def _record_input(span: Span, kind: _Kind, signature: inspect.Signature | None, args: Any, kwargs: Any) -> None:
    cut = _truncator()
    arguments = call_arguments(signature, args, kwargs, cut)
    key = sc.GEN_AI_TOOL_CALL_ARGUMENTS if kind.kind == "tool" else sc.LLMOTEL_SPAN_INPUT
    attrs: dict[str, Any] = {key: to_json(arguments)}  # bounded by call_arguments: stays valid JSON
    # one string argument (a question, a query) reads best as itself
    strings = [v for v in arguments.values() if isinstance(v, str)]
    single = strings[0] if len(arguments) == 1 and strings else None
    if kind.kind == "retrieval" and strings:  # the first string argument is the query
        attrs[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] = strings[0]
    if kind.kind in _AS_MESSAGES:
        text = single if single is not None else attrs[key]
        attrs[sc.GEN_AI_INPUT_MESSAGES] = to_json([message("user", [text_part(text, cut)])])
    if openinference.enabled(effective_settings().compat):
        text = attrs.get(sc.GEN_AI_RETRIEVAL_QUERY_TEXT, single)
        attrs.update(openinference.io_attributes("input", attrs[key] if text is None else text, text is None))
    if cut.truncated:
        attrs[sc.LLMOTEL_CONTENT_TRUNCATED] = True
    span.set_attributes(attrs)


def _looks_like_documents(value: Any) -> bool:
    return (isinstance(value, Sequence) and not isinstance(value, (str, bytes)) and bool(value)
            and all(isinstance(d, Mapping) and isinstance(d.get("text"), str) for d in value))


def _record_output(span: Span, kind: _Kind, result: Any) -> None:
    cut = _truncator()
    if kind.kind == "retrieval" and _looks_like_documents(result):
        try:
            span.set_attribute(sc.GEN_AI_RETRIEVAL_DOCUMENTS, documents_attribute(result, True, cut))
            return
        except AnnotationError:
            pass  # not documents after all: record it as plain output
    value = jsonable(result, cut)
    if value is SKIP:  # not data (an object, a client, a callable): nothing to record
        return
    key = sc.GEN_AI_TOOL_CALL_RESULT if kind.kind == "tool" else sc.LLMOTEL_SPAN_OUTPUT
    attrs: dict[str, Any] = {key: to_json(value)}  # bounded by jsonable: stays valid JSON
    if kind.kind in _AS_MESSAGES:
        text = value if isinstance(value, str) else attrs[key]
        attrs[sc.GEN_AI_OUTPUT_MESSAGES] = to_json([output_message("assistant", [text_part(text, cut)],
                                                                   sc.FINISH_STOP)])
    if openinference.enabled(effective_settings().compat):
        is_text = isinstance(value, str)
        attrs.update(openinference.io_attributes("output", value if is_text else attrs[key], not is_text))
    if cut.truncated:
        attrs[sc.LLMOTEL_CONTENT_TRUNCATED] = True
    span.set_attributes(attrs)


# --- the public constructors ---------------------------------------------------------------------------------------


def _factory(kind: _Kind) -> Callable[..., Any]:
    @overload
    def make(fn: F, /) -> F: ...

    @overload
    def make(name: str | None = None, /, **attributes: Any) -> ManualSpan: ...

    def make(name_or_fn: Any = None, /, *, name: str | None = None, **options: Any) -> Any:
        if callable(name_or_fn):
            return ManualSpan(kind, name, _attributes(kind, options))(name_or_fn)
        return ManualSpan(kind, name_or_fn or name, _attributes(kind, options))

    make.__name__ = kind.kind
    return make


def _read_response(call: LLMCall, span: Span) -> None:
    """What the application set on an ``llm`` span by hand (response model, token counts) for the metrics."""
    attributes: Mapping[str, Any] = getattr(span, "attributes", None) or {}
    model = attributes.get(sc.GEN_AI_RESPONSE_MODEL)
    if isinstance(model, str):
        call.response_model = model
    call.input_tokens = attributes.get(sc.GEN_AI_USAGE_INPUT_TOKENS)
    call.output_tokens = attributes.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)


def _attributes(kind: _Kind, options: Mapping[str, Any]) -> dict[str, Any]:
    allowed = _OPTIONS[kind.kind]
    unknown = set(options) - set(allowed)
    if unknown:
        raise AnnotationError(f"{kind.kind}() got unexpected option(s) {sorted(unknown)}; accepted: {list(allowed)}")
    attrs = {}
    for option, value in options.items():
        if value is not None:
            if not isinstance(value, str):
                raise AnnotationError(f"{kind.kind}({option}=...) must be a string, got {value!r}")
            attrs[allowed[option]] = value
    return attrs


_OPTIONS: dict[str, dict[str, str]] = {
    "workflow": {}, "task": {}, "agent": {},
    "tool": {"description": sc.GEN_AI_TOOL_DESCRIPTION, "tool_type": sc.GEN_AI_TOOL_TYPE},
    "retrieval": {},
    "embedding": {"model_name": sc.GEN_AI_REQUEST_MODEL, "model_provider": sc.GEN_AI_PROVIDER_NAME},
    "llm": {"model_name": sc.GEN_AI_REQUEST_MODEL, "model_provider": sc.GEN_AI_PROVIDER_NAME},
}

workflow = _factory(_WORKFLOW)
task = _factory(_TASK)
agent = _factory(_AGENT)
tool = _factory(_TOOL)
retrieval = _factory(_RETRIEVAL)
embedding = _factory(_EMBEDDING)
llm = _factory(_LLM)
for _kind, _make in ((_WORKFLOW, workflow), (_TASK, task), (_AGENT, agent), (_TOOL, tool), (_RETRIEVAL, retrieval),
                     (_EMBEDDING, embedding), (_LLM, llm)):
    _make.__doc__ = (
        f"A ``{_kind.kind}`` span: ``@{_kind.kind}``, ``@{_kind.kind}(name=...)`` or "
        f"``with llmotel.{_kind.kind}(\"name\") as span:``. Options: {sorted(_OPTIONS[_kind.kind]) or 'none'}."
    )
