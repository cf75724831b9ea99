"""``enable()`` / ``flush()`` / ``shutdown()``: providers, processors, exporters and instrumentors."""

from __future__ import annotations

import atexit
import functools
import importlib
import importlib.util
import logging
import threading
import time
import warnings
import weakref
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from opentelemetry import metrics as otel_metrics
from opentelemetry import trace
from opentelemetry.context import Context
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, Span, SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, SpanExporter

from llmotel import config
from llmotel._version import __version__
from llmotel.config import Settings
from llmotel.errors import ConfigurationError
from llmotel.export.console import ConsoleSummaryExporter
from llmotel.export.otlp import MonitoredExporter, metric_exporter, quiet_exporter_logs, span_exporter
from llmotel.export.otlp_json import OtlpJsonFileExporter

logger = logging.getLogger("llmotel")

#: instrumentation name -> (SDK module it needs, "module:Instrumentor")
INSTRUMENTORS: Mapping[str, tuple[str, str]] = {
    "openai": ("openai", "llmotel.instrumentation.openai:OpenAIInstrumentor"),
    "anthropic": ("anthropic", "llmotel.instrumentation.anthropic:AnthropicInstrumentor"),
}
_CONSOLE_DELAY_MS = 200
_SHUTDOWN_GRACE_S = 1.0


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
        return all([p.force_flush(timeout_millis) for p in self._processors])

    def shutdown(self, timeout_millis: float | None = None) -> None:
        processors, self._processors = self._processors, ()
        for processor in processors:
            within = getattr(processor, "shutdown_within", None)  # the evaluating processor waits at most this
            if timeout_millis is not None and within is not None:
                within(timeout_millis)
            else:
                processor.shutdown()


_created_meter_providers: weakref.WeakSet[MeterProvider] = weakref.WeakSet()
_pipelines: weakref.WeakKeyDictionary[TracerProvider, SpanPipeline] = weakref.WeakKeyDictionary()


@dataclass
class _Enabled:
    settings: Settings
    tracer_provider: TracerProvider
    pipeline: SpanPipeline
    owned_meter_provider: MeterProvider | None
    instrumentors: list[Any] = field(default_factory=list)
    exporters: list[SpanExporter] = field(default_factory=list)


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


def _meter_provider(settings: Settings, given: Any) -> tuple[Any, MeterProvider | None]:
    """The provider GenAI metrics go to, and the one llmotel created (to shut down), if any."""
    if given is not None:
        return given, None
    current = otel_metrics.get_meter_provider()
    applications = isinstance(current, MeterProvider) and current not in _created_meter_providers
    if applications or not settings.metrics or settings.exporter != "otlp":
        return current, None
    reader = PeriodicExportingMetricReader(metric_exporter(settings))
    provider = MeterProvider(resource=_resource(settings), metric_readers=[reader])
    _created_meter_providers.add(provider)  # shut down with llmotel; never reused by a later enable()
    if type(current).__name__ in ("_ProxyMeterProvider", "ProxyMeterProvider"):
        otel_metrics.set_meter_provider(provider)
    return provider, provider


def _processors(settings: Settings, exporter: SpanExporter | None) -> tuple[list[SpanProcessor], list[SpanExporter]]:
    processors: list[SpanProcessor] = []
    exporters: list[SpanExporter] = []

    def add(span_exporter_: SpanExporter, **batch: Any) -> None:
        exporters.append(span_exporter_)
        processors.append(BatchSpanProcessor(span_exporter_, **batch))

    if exporter is not None:
        add(MonitoredExporter(exporter, type(exporter).__name__))
    elif settings.exporter == "otlp":
        quiet_exporter_logs()
        add(MonitoredExporter(span_exporter(settings), f"{settings.endpoint} ({settings.protocol})"))
    if settings.console:
        add(ConsoleSummaryExporter(), schedule_delay_millis=_CONSOLE_DELAY_MS)
    if settings.traces_file:
        try:
            add(OtlpJsonFileExporter(settings.traces_file))
        except OSError as exc:
            raise ConfigurationError("traces_file", settings.traces_file, f"a writable file path ({exc})") from exc
    if settings.evaluation_sinks:  # downstream of the evaluating processor: they see the exported span copies
        from llmotel.evaluation.sinks import build_sinks

        processors.extend(build_sinks(settings))
    return processors, exporters


def _evaluating_processor(settings: Settings, exporting: list[SpanProcessor], meter_provider: Any) -> SpanProcessor:
    """The evaluating processor in front of the exporting ones (evaluators and/or PII redaction configured)."""
    from llmotel.evaluation import builtin
    from llmotel.evaluation.processor import EvaluatingSpanProcessor

    downstream = SpanPipeline()
    downstream.set(exporting)
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
        module_name, class_name = target.split(":")
        instrumentor = getattr(importlib.import_module(module_name), class_name)()
        instrumentor.instrument(tracer_provider=tracer_provider, meter_provider=meter_provider, settings=settings)
        done.append(instrumentor)
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
    evaluator_sampling_rules: Sequence[Any] | str | None = None,
    evaluator_timeout: float | None = None,
    evaluation_queue_size: int | None = None,
    evaluation_workers: int | None = None,
    pii_entities: Sequence[str] | str | None = None,
    pii_operator: str | None = None,
    pii_score_threshold: float | None = None,
    pii_allow_list: Sequence[str] | str | None = None,
    pii_hash_key: str | None = None,
    pii_use_ner: bool | None = None,
    judge: Any = None,
    judge_provider: str | None = None,
    judge_model: str | None = None,
    judge_base_url: str | None = None,
    judge_timeout: float | None = None,
    judge_max_tokens_per_minute: int | None = None,
    trace_judge: bool | None = None,
    relevant_topics: Sequence[str] | str | None = None,
    evaluation_sinks: Sequence[Any] | str | None = None,
    phoenix_endpoint: str | None = None,
    phoenix_api_key: str | None = None,
    mlflow_tracking_uri: str | None = None,
    mlflow_tracking_token: str | None = None,
    datadog_api_key: str | None = None,
    datadog_site: str | None = None,
    datadog_ml_app: str | None = None,
    datadog_intake_url: str | None = None,
    compat: Sequence[str] | str | None = None,
    meter_provider: Any = None,
    traces_file: str | None = None,
    console: bool | None = None,
    metrics: bool | None = None,
    stream_usage: bool | None = None,
    propagate_trace_context: bool | None = None,
    max_content_length: int | None = None,
    max_blob_length: int | None = None,
    resource_attributes: Mapping[str, Any] | None = None,
    disabled: bool | None = None,
) -> None:
    """Trace every OpenAI call (and other installed SDKs) and export the spans.

    Every argument also has an ``LLMOTEL_<NAME>`` environment variable; standard ``OTEL_*`` variables are
    honoured; explicit arguments win. With no endpoint configured anywhere, spans go to a local sink: a
    one-line console summary per LLM call (stderr) and, with ``traces_file``, OTLP/JSON lines.

    ``exporter`` is ``"otlp"``, ``"console"``, ``"none"`` or any ``SpanExporter`` instance.
    ``evaluators`` are built-in names (``pii``, ``language_mismatch``, ``failure_to_answer``, ``sentiment``,
    ``toxicity``) and/or :class:`llmotel.evaluation.Evaluator` objects; they run on workers and their results
    are exported as ``gen_ai.evaluation.result`` events on the evaluated spans. ``redact_pii`` (or ``"pii"``)
    redacts personal data from every exported span (``pii_*`` options). ``evaluation_sinks`` (``"phoenix"``,
    ``"mlflow"``, ``"datadog"`` or sink objects) also deliver each result in the backend's own evaluation model;
    ``compat=["openinference"]`` also writes the OpenInference attributes Phoenix renders.
    Raises :class:`llmotel.ConfigurationError` for invalid settings. Calling it twice warns and does nothing.
    """
    global _enabled, _atexit_registered
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
        evaluator_sampling_rules=evaluator_sampling_rules,
        evaluator_timeout=evaluator_timeout,
        evaluation_queue_size=evaluation_queue_size,
        evaluation_workers=evaluation_workers,
        pii_entities=pii_entities,
        pii_operator=pii_operator,
        pii_score_threshold=pii_score_threshold,
        pii_allow_list=pii_allow_list,
        pii_hash_key=pii_hash_key,
        pii_use_ner=pii_use_ner,
        judge=judge,
        judge_provider=judge_provider,
        judge_model=judge_model,
        judge_base_url=judge_base_url,
        judge_timeout=judge_timeout,
        judge_max_tokens_per_minute=judge_max_tokens_per_minute,
        trace_judge=trace_judge,
        relevant_topics=relevant_topics,
        evaluation_sinks=evaluation_sinks,
        phoenix_endpoint=phoenix_endpoint,
        phoenix_api_key=phoenix_api_key,
        mlflow_tracking_uri=mlflow_tracking_uri,
        mlflow_tracking_token=mlflow_tracking_token,
        datadog_api_key=datadog_api_key,
        datadog_site=datadog_site,
        datadog_ml_app=datadog_ml_app,
        datadog_intake_url=datadog_intake_url,
        compat=compat,
        traces_file=traces_file,
        console=console,
        metrics=metrics,
        stream_usage=stream_usage,
        propagate_trace_context=propagate_trace_context,
        max_content_length=max_content_length,
        max_blob_length=max_blob_length,
        resource_attributes=resource_attributes,
        disabled=disabled,
    )
    with _lock:
        if _enabled is not None:
            warnings.warn("llmotel.enable() was already called; this call changes nothing", stacklevel=2)
            return
        if settings.disabled:
            logger.info("llmotel: disabled (OTEL_SDK_DISABLED / LLMOTEL_DISABLED); nothing is traced")
            return
        provider = _tracer_provider(settings, tracer_provider)
        processors, exporters = _processors(settings, custom_exporter)
        meter, owned_meter = _meter_provider(settings, meter_provider)
        if settings.evaluates_content:
            processors = [_evaluating_processor(settings, processors, meter)]
        pipeline = _pipelines.get(provider)
        if pipeline is None:
            pipeline = _pipelines[provider] = SpanPipeline()
            provider.add_span_processor(pipeline)
        pipeline.set(processors)
        state = _Enabled(settings, provider, pipeline, owned_meter, exporters=exporters)
        _enabled = state
        try:
            state.instrumentors = _instrument(settings, provider, meter)
        except BaseException:
            shutdown()
            raise
        if not _atexit_registered:
            atexit.register(shutdown)
            _atexit_registered = True


def flush(timeout: float = 30.0) -> bool:
    """Export everything pending; True when it all went out within ``timeout`` seconds."""
    with _lock:
        state = _enabled
    if state is None:
        return True
    millis = int(timeout * 1000)
    ok = state.pipeline.force_flush(millis)
    if state.owned_meter_provider is not None:
        ok = state.owned_meter_provider.force_flush(millis) and ok
    return ok


def shutdown(timeout: float = 30.0) -> None:
    """Flush, then stop instrumenting and exporting, within ``timeout`` seconds (plus one second for what was
    handed to the exporters at the deadline). ``enable()`` may be called again afterwards."""
    global _enabled
    with _lock:
        state, _enabled = _enabled, None
    if state is None:
        return
    for instrumentor in state.instrumentors:
        try:
            instrumentor.uninstrument()
        except Exception as exc:
            logger.warning("llmotel: could not uninstrument %s: %s", type(instrumentor).__name__, exc)
    started = time.monotonic()
    # The SDK's batch processors do not stop an export that retries against a dead backend when their flush
    # timeout passes; stopping the exporters at the deadline does, so shutdown() keeps to its timeout. The grace
    # second lets what was handed over at the deadline (spans exported unevaluated) still go out.
    deadline = threading.Timer(timeout + _SHUTDOWN_GRACE_S, _stop_exporters, args=(state.exporters,))
    deadline.daemon = True
    deadline.start()
    try:
        state.pipeline.force_flush(int(timeout * 1000))
        state.pipeline.shutdown(timeout_millis=max(timeout - (time.monotonic() - started), 0) * 1000)
    finally:
        deadline.cancel()
    if state.owned_meter_provider is not None:
        state.owned_meter_provider.shutdown(timeout_millis=max(timeout - (time.monotonic() - started), 0.1) * 1000)


def _stop_exporters(exporters: Sequence[SpanExporter]) -> None:
    logger.warning("llmotel: shutdown timed out; spans not exported by now are dropped")
    for exporter in exporters:
        exporter.shutdown()


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


def current_settings() -> Settings | None:
    """The settings of the active ``enable()``, or None."""
    return _enabled.settings if _enabled is not None else None


def export_stats() -> dict[str, int]:
    """Spans exported and failed per OTLP/custom exporter of the active pipeline (for diagnostics and tests)."""
    state = _enabled
    stats = {"exported_spans": 0, "failed_spans": 0}
    if state is not None:
        for exporter in state.exporters:
            if isinstance(exporter, MonitoredExporter):
                stats["exported_spans"] += exporter.exported_spans
                stats["failed_spans"] += exporter.failed_spans
    return stats
