"""``enable()`` / ``flush()`` / ``shutdown()``: providers, processors, exporters and instrumentors."""

from __future__ import annotations

import atexit
import dataclasses
import functools
import importlib
import importlib.util
import logging
import os
import sys
import threading
import time
import warnings
import weakref
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import SpanExporter

from llmotel import _secrets, config
from llmotel._version import __version__
from llmotel.config import ContentOptions, EvaluationOptions, ExportOptions, JudgeOptions, PiiOptions, Settings
from llmotel.config.table import moved_argument_message
from llmotel.errors import ConfigurationError
from llmotel.export.batch import ExportProcessor, shutdown_within
from llmotel.export.console import ConsoleSummaryExporter
from llmotel.export.deferred_metrics import DeferredMeterProvider
from llmotel.export.otlp import metric_exporter, quiet_exporter_logs, span_exporter
from llmotel.export.otlp_json import OtlpJsonFileExporter

logger = logging.getLogger("llmotel")

#: instrumentation name -> (SDK module it needs, "module:SdkInstrumentation"); each patches its SDK when the
#: application imports it (at once if it has), so enable() imports no SDK.
INSTRUMENTORS: Mapping[str, tuple[str, str]] = {
    "openai": ("openai", "llmotel.instrumentation.openai:INSTRUMENTATION"),
    "anthropic": ("anthropic", "llmotel.instrumentation.anthropic:INSTRUMENTATION"),
}
_CONSOLE_DELAY_S = 0.2
#: how long the exit handler (and a forked child's exit) waits for evaluation and export
_EXIT_TIMEOUT_S = 10.0


class SpanPipeline(SpanProcessor):
    """llmotel's single processor on a TracerProvider; fans out to the current pipeline's processors.

    Attached once per provider and emptied on ``shutdown()``, so enable/shutdown cycles never stack
    processors on a provider the application owns.
    """

    def __init__(self) -> None:
        self._processors: tuple[SpanProcessor, ...] = ()

    def set(self, processors: Sequence[SpanProcessor]) -> None:
        self._processors = tuple(processors)

    def on_start(self, span: Span, parent_context: Context | None = None) -> None:
        for processor in self._processors:
            processor.on_start(span, parent_context)

    def on_end(self, span: ReadableSpan) -> None:
        for processor in self._processors:
            processor.on_end(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        """Flush every processor, each within the time left; True when all of them exported everything."""
        deadline = time.monotonic() + timeout_millis / 1000
        ok = True
        for processor in self._processors:
            left = max(int((deadline - time.monotonic()) * 1000), 0)
            ok = processor.force_flush(left) and ok
        return ok

    def shutdown(self, timeout_millis: float = 30000) -> None:
        """Shut every processor down, each within the time left."""
        deadline = time.monotonic() + timeout_millis / 1000
        processors, self._processors = self._processors, ()
        for processor in processors:
            shutdown_within(processor, max(deadline - time.monotonic(), 0) * 1000)


_created_meter_providers: weakref.WeakSet[DeferredMeterProvider] = weakref.WeakSet()
_pipelines: weakref.WeakKeyDictionary[TracerProvider, SpanPipeline] = weakref.WeakKeyDictionary()


@dataclass
class _Enabled:
    settings: Settings
    tracer_provider: TracerProvider
    pipeline: SpanPipeline
    owned_meter_provider: DeferredMeterProvider | None
    instrumentors: list[Any] = field(default_factory=list)
    exporting: list[ExportProcessor] = field(default_factory=list)
    #: "application" (enable() called by the program) or "environment" (`llmotel run`'s start-up)
    origin: str = "application"
    meter_provider: Any = None
    telemetry: Any = None  # the LLM-call API's, made on first use


_lock = threading.RLock()
_enabled: _Enabled | None = None
_atexit_registered = False


def _resource(settings: Settings) -> Resource:
    attributes: dict[str, Any] = dict(settings.resource_attributes)
    if settings.service_name:
        attributes[SERVICE_NAME] = settings.service_name
    return Resource.create(attributes)  # merges OTEL_RESOURCE_ATTRIBUTES / OTEL_SERVICE_NAME; explicit wins


def _tracer_provider(settings: Settings, given: Any) -> TracerProvider:
    if given is not None:
        if not isinstance(given, TracerProvider):
            raise ConfigurationError("tracer_provider", given, "an opentelemetry.sdk.trace.TracerProvider")
        return given
    current = trace.get_tracer_provider()
    if isinstance(current, TracerProvider):
        return current  # the application's own SDK provider: add to it, never replace it
    provider = TracerProvider(resource=_resource(settings))
    trace.set_tracer_provider(provider)
    return provider


def _meter_provider(settings: Settings, given: Any) -> tuple[Any, DeferredMeterProvider | None]:
    """The provider GenAI metrics go to, and the one llmotel created (to shut down), if any.

    llmotel's own provider is deferred: the metrics SDK and the OTLP metric exporter are imported when the first
    LLM call starts, not in ``enable()`` (see :mod:`llmotel.export.deferred_metrics`)."""
    if given is not None:
        return given, None
    current = otel_metrics.get_meter_provider()
    sdk = sys.modules.get("opentelemetry.sdk.metrics")  # not imported: the current provider cannot be an SDK one
    applications = sdk is not None and isinstance(current, sdk.MeterProvider)
    if applications or not settings.metrics or settings.exporter != "otlp":
        return current, None

    def build() -> Any:
        from opentelemetry.sdk.metrics import MeterProvider
        from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader

        return MeterProvider(resource=_resource(settings),
                             metric_readers=[PeriodicExportingMetricReader(metric_exporter(settings))])

    provider = DeferredMeterProvider(build)
    _created_meter_providers.add(provider)  # shut down with llmotel; never reused by a later enable()
    if type(current).__name__ in ("_ProxyMeterProvider", "ProxyMeterProvider"):
        otel_metrics.set_meter_provider(provider)
    return provider, provider


def _processors(settings: Settings, exporter: SpanExporter | None) -> list[ExportProcessor]:
    """One export processor per destination: the OTLP endpoint or a given exporter, the console, the file."""

    def exporting(span_exporter_: SpanExporter, **options: Any) -> ExportProcessor:
        return ExportProcessor(span_exporter_, max_queue_size=settings.export_queue_size,
                               export_timeout=settings.export_timeout, retry_window=settings.export_retry_window,
                               **options)

    processors: list[ExportProcessor] = []
    if exporter is not None:
        processors.append(exporting(exporter))
    elif settings.exporter == "otlp":
        quiet_exporter_logs()
        processors.append(exporting(span_exporter(settings)))
    if settings.console:
        processors.append(exporting(ConsoleSummaryExporter(), schedule_delay=_CONSOLE_DELAY_S))
    if settings.traces_file:
        try:
            processors.append(exporting(OtlpJsonFileExporter(settings.traces_file)))
        except OSError as exc:
            raise ConfigurationError("traces_file", settings.traces_file, f"a writable file path ({exc})") from exc
    return processors


def _sinks(settings: Settings) -> list[SpanProcessor]:
    """The evaluation sinks, downstream of the evaluating processor: they see the exported span copies."""
    if not settings.evaluation_sinks:
        return []
    from llmotel.evaluation.sinks import build_sinks

    return list(build_sinks(settings))


def _evaluating_processor(settings: Settings, exporting: Sequence[SpanProcessor], meter_provider: Any
                          ) -> SpanProcessor:
    """The evaluating processor in front of the exporting ones (evaluators and/or PII redaction configured)."""
    downstream = SpanPipeline()
    downstream.set(exporting)
    if settings.evaluation_in == "subprocess":  # the same pipeline in a child process, off the application's GIL
        from llmotel.gateway.out_of_process import SubprocessEvaluatingProcessor

        return SubprocessEvaluatingProcessor(settings, downstream)
    from llmotel.evaluation import builtin
    from llmotel.evaluation.processor import EvaluatingSpanProcessor

    return EvaluatingSpanProcessor(
        downstream,
        builtin.evaluators(settings.evaluators, settings, meter_provider),
        redactor=builtin.pii_redactor(settings) if settings.redact_pii else None,
        sampling_rules=settings.evaluator_sampling_rules,
        capture_content=settings.capture_content,
        queue_size=settings.evaluation_queue_size,
        workers=settings.evaluation_workers,
        timeout=settings.evaluator_timeout,
        meter_provider=meter_provider,
        text_limit=settings.max_content_length,
    )


def _instrument(settings: Settings, tracer_provider: TracerProvider, meter_provider: Any) -> list[Any]:
    names = settings.instrument if settings.instrument is not None else tuple(INSTRUMENTORS)
    done = []
    for name in names:
        sdk_module, target = INSTRUMENTORS[name]
        if importlib.util.find_spec(sdk_module) is None:
            if settings.instrument is not None:
                raise ConfigurationError("instrument", name, f"instrumentations whose SDK is installed ({sdk_module})")
            continue
        module_name, attribute = target.split(":")
        instrumentation = getattr(importlib.import_module(module_name), attribute)
        done.append(instrumentation.instrument(settings, tracer_provider, meter_provider))
    return done


def enable(
    service_name: str | None = None,
    endpoint: str | None = None,
    protocol: str | None = None,
    headers: Mapping[str, str] | str | None = None,
    exporter: str | SpanExporter | None = None,
    tracer_provider: TracerProvider | None = None,
    capture_content: bool | None = None,
    instrument: Sequence[str] | str | None = None,
    evaluators: Sequence[Any] | str | None = None,
    *,
    redact_pii: bool | None = None,
    export: ExportOptions | None = None,
    content: ContentOptions | None = None,
    evaluation: EvaluationOptions | None = None,
    pii: PiiOptions | None = None,
    judge: JudgeOptions | Any = None,
    meter_provider: Any = None,
    resource_attributes: Mapping[str, Any] | None = None,
    disabled: bool | None = None,
    **moved: Any,
) -> None:
    """Trace every OpenAI call (and other installed SDKs) and export the spans.

    The common settings are arguments; the rest come in option groups: ``export=ExportOptions(...)`` (timeouts,
    retries, queue, compression, TLS, console/file sinks, metrics), ``content=ContentOptions(...)`` (what calls
    record and send), ``evaluation=EvaluationOptions(...)`` (how evaluators run, sampling, sinks),
    ``pii=PiiOptions(...)`` (what ``redact_pii`` finds and how it replaces it) and ``judge=`` (a ``Judge`` object,
    or ``JudgeOptions`` to have llmotel build one). Every setting also has an ``LLMOTEL_<NAME>`` environment
    variable; standard ``OTEL_*`` variables are honoured; explicit arguments win. With no endpoint configured
    anywhere, spans go to a local sink: a one-line console summary per LLM call (stderr) and, with
    ``ExportOptions(traces_file=...)``, OTLP/JSON lines.

    ``exporter`` is ``"otlp"``, ``"console"``, ``"none"`` or any ``SpanExporter`` instance.
    ``evaluators`` are built-in names (``pii``, ``language_mismatch``, ``failure_to_answer``, ``sentiment``,
    ``toxicity``, the judge checks) and/or :class:`llmotel.evaluation.Evaluator` objects; they run on workers and
    their results are exported as ``gen_ai.evaluation.result`` events on the evaluated spans. ``redact_pii`` (or
    ``"pii"``) redacts personal data from every exported span.
    Raises :class:`llmotel.ConfigurationError` for invalid settings, and ``TypeError`` naming the new home of an
    argument that moved into an option group. Calling it again warns and changes nothing, unless the new call asks
    for stricter privacy (``capture_content=False``, ``redact_pii=True``) or llmotel was started by
    ``llmotel run``: then llmotel restarts with the new call's settings, keeping the stricter privacy settings of
    the two calls.
    """
    for name in moved:
        raise TypeError(moved_argument_message(name) or f"enable() got an unexpected keyword argument {name!r}")
    custom_exporter = exporter if isinstance(exporter, SpanExporter) else None
    if exporter is not None and custom_exporter is None and not isinstance(exporter, str):
        raise ConfigurationError("exporter", exporter, "'otlp', 'console', 'none' or a SpanExporter instance")
    settings = config.resolve(
        service_name=service_name,
        endpoint=endpoint,
        protocol=protocol,
        headers=headers,
        exporter="none" if custom_exporter is not None else exporter,
        capture_content=capture_content,
        instrument=instrument,
        evaluators=evaluators,
        redact_pii=redact_pii,
        export=export,
        content=content,
        evaluation=evaluation,
        pii=pii,
        judge=judge,
        resource_attributes=resource_attributes,
        disabled=disabled,
    )
    _start(settings, tracer_provider, meter_provider, custom_exporter, "application")


def enable_from_environment() -> None:
    """``llmotel run``'s start-up: ``enable()`` from the environment. An ``enable()`` of the program's own later
    replaces it (keeping the stricter of the two privacy settings)."""
    _start(config.resolve(), None, None, None, "environment")


def _start(settings: Settings, tracer_provider: Any, meter_provider: Any, custom_exporter: SpanExporter | None,
           origin: str) -> None:
    global _enabled, _atexit_registered
    with _lock:
        active = _enabled
        if active is not None:
            stricter = stricter_privacy(active.settings, settings)
            if active.origin == "application" and not stricter:
                warnings.warn("llmotel.enable() was already called; this call changes nothing", stacklevel=3)
                return
            # Never export more than either call asked for: the stricter privacy settings of the two hold.
            settings = with_strictest_privacy(active.settings, settings)
            logger.warning("llmotel: enable() called again %s; restarting with its settings",
                           "after `llmotel run` enabled it" if active.origin == "environment" else
                           f"asking for stricter privacy ({', '.join(stricter)})")
            shutdown(timeout=_EXIT_TIMEOUT_S)
        if settings.disabled:
            logger.info("llmotel: disabled (OTEL_SDK_DISABLED / LLMOTEL_DISABLED); nothing is traced")
            return
        _secrets.register_environment()
        _secrets.register_all(settings.headers.values())
        provider = _tracer_provider(settings, tracer_provider)
        exporting = _processors(settings, custom_exporter)
        meter, owned_meter = _meter_provider(settings, meter_provider)
        downstream: list[SpanProcessor] = [*exporting, *_sinks(settings)]
        processors = downstream
        if settings.evaluates_content:
            processors = [_evaluating_processor(settings, downstream, meter)]
        pipeline = _pipelines.get(provider)
        if pipeline is None:
            pipeline = _pipelines[provider] = SpanPipeline()
            provider.add_span_processor(pipeline)
        pipeline.set(processors)
        state = _Enabled(settings, provider, pipeline, owned_meter, exporting=exporting, origin=origin,
                         meter_provider=meter)
        _enabled = state
        try:
            state.instrumentors = _instrument(settings, provider, meter)
        except BaseException:
            shutdown()
            raise
        if not _atexit_registered:
            atexit.register(_shutdown_at_exit)
            _atexit_registered = True


def stricter_privacy(active: Settings, requested: Settings) -> list[str]:
    """What ``requested`` asks for that is stricter than ``active`` (empty when nothing is)."""
    out = []
    if active.capture_content and not requested.capture_content:
        out.append("capture_content=False")
    if requested.redact_pii and not active.redact_pii:
        out.append("redact_pii=True")
    return out


def with_strictest_privacy(active: Settings, requested: Settings) -> Settings:
    """``requested`` with the stricter of the two calls' content capture and PII redaction."""
    pii: dict[str, Any] = {}
    if active.redact_pii and not requested.redact_pii:  # keep the redaction the active call configured
        pii = {f.name: getattr(active, f.name) for f in dataclasses.fields(Settings) if f.name.startswith("pii_")}
    return dataclasses.replace(requested, capture_content=active.capture_content and requested.capture_content,
                               redact_pii=active.redact_pii or requested.redact_pii, **pii)


def flush(timeout: float = 30.0) -> bool:
    """Export everything pending within ``timeout`` seconds; True only when all of it went out (False when the
    time ran out or the backend refused something)."""
    with _lock:
        state = _enabled
    if state is None:
        return True
    deadline = time.monotonic() + timeout
    ok = state.pipeline.force_flush(int(timeout * 1000))
    meter = state.owned_meter_provider
    if meter is not None:
        left = max(deadline - time.monotonic(), 0.0)
        ok = _within(left, lambda: meter.force_flush(int(left * 1000))) is True and ok
    return ok


def shutdown(timeout: float = 30.0) -> None:
    """Stop instrumenting, evaluate and export what is pending, and stop exporting, within ``timeout`` seconds.

    Spans still waiting for evaluation when time runs short are exported unevaluated; what the backend has not
    taken by the deadline is dropped (and counted). ``enable()`` may be called again afterwards."""
    global _enabled
    with _lock:
        state, _enabled = _enabled, None
    if state is None:
        return
    deadline = time.monotonic() + timeout
    for instrumentor in state.instrumentors:
        try:
            instrumentor.uninstrument()
        except Exception as exc:
            logger.warning("llmotel: could not uninstrument %s: %s", type(instrumentor).__name__, exc)
    state.pipeline.shutdown(timeout_millis=max(deadline - time.monotonic(), 0) * 1000)
    meter = state.owned_meter_provider
    if meter is not None:
        left = max(deadline - time.monotonic(), 0.1)
        _within(left, lambda: meter.shutdown(timeout_millis=left * 1000))


def _within(seconds: float, call: Callable[[], Any]) -> Any:
    """``call()``'s result if it returns within ``seconds`` (on a daemon thread), else None. For the SDK's metric
    exporters, whose requests cannot be bounded from outside."""
    result: list[Any] = []
    thread = threading.Thread(target=lambda: result.append(call()), name="llmotel-metrics-flush", daemon=True)
    thread.start()
    thread.join(seconds)
    return result[0] if result else None


def _shutdown_at_exit() -> None:
    shutdown(timeout=_EXIT_TIMEOUT_S)


def _after_fork_in_child() -> None:
    """A forked child keeps llmotel enabled (the processors make their own workers anew). Its lock must not be
    one a parent thread held, and a ``multiprocessing`` worker, which leaves through ``os._exit`` and skips
    ``atexit``, still evaluates and exports what it traced when it exits normally."""
    global _lock
    _lock = threading.RLock()
    if _enabled is not None and "multiprocessing" in sys.modules:
        from multiprocessing import util

        util.Finalize(None, _shutdown_at_exit, exitpriority=100)


os.register_at_fork(after_in_child=_after_fork_in_child)


@functools.lru_cache(maxsize=1)
def _environment_settings() -> Settings:
    try:
        return config.resolve()
    except ConfigurationError as exc:  # reported by enable(); manual spans fall back to the defaults
        logger.warning("llmotel: %s; manual spans use default settings", exc)
        return Settings()


def effective_settings() -> Settings:
    """The active ``enable()`` settings, or (once read and kept) the environment's, for manual spans."""
    state = _enabled
    return state.settings if state is not None else _environment_settings()


_tracers: weakref.WeakKeyDictionary[Any, trace.Tracer] = weakref.WeakKeyDictionary()


def manual_tracer() -> trace.Tracer:
    """The tracer for manual spans and evaluations: on enable()'s provider, else the global one."""
    state = _enabled
    provider = state.tracer_provider if state is not None else trace.get_tracer_provider()
    tracer = _tracers.get(provider)
    if tracer is None:
        tracer = _tracers[provider] = trace.get_tracer("llmotel", __version__, provider)
    return tracer


_fallback_telemetry: dict[Any, Any] = {}


def call_telemetry() -> Any:
    """The LLM-call API's :class:`llmotel.calls.Telemetry`: on enable()'s providers with its settings (made once per
    enable()), else on the global providers with the environment's settings."""
    from llmotel.calls import Telemetry

    state = _enabled
    if state is not None:
        if state.telemetry is None:
            state.telemetry = Telemetry(state.settings, state.tracer_provider, state.meter_provider)
        return state.telemetry
    provider = trace.get_tracer_provider()
    key = (id(provider), id(otel_metrics.get_meter_provider()))
    found = _fallback_telemetry.get(key)
    if found is None:
        _fallback_telemetry.clear()
        found = _fallback_telemetry[key] = Telemetry(_environment_settings())
    return found


def current_settings() -> Settings | None:
    """The settings of the active ``enable()``, or None."""
    return _enabled.settings if _enabled is not None else None


def export_stats() -> dict[str, int]:
    """Spans exported and lost by the active pipeline's exporting processors (for diagnostics and tests)."""
    state = _enabled
    stats = {"exported_spans": 0, "failed_spans": 0}
    if state is not None:
        for processor in state.exporting:
            stats["exported_spans"] += processor.exported_spans
            stats["failed_spans"] += processor.lost_spans
    return stats
