"""A meter provider that builds its SDK pipeline when the first measurement needs it, not in ``enable()``.

Building llmotel's own metric pipeline imports the OpenTelemetry metrics SDK and the OTLP metric exporter (with
``requests`` or ``grpc``): about 100 ms, more than the rest of ``enable()``. :class:`DeferredMeterProvider` hands
out meters and instruments at once; the real ``MeterProvider`` is built on a background thread when the first LLM
call starts (:meth:`DeferredMeterProvider.prepare`, while the call waits for the network), or on the recording
thread if a measurement comes first. Nothing is dropped: an instrument records into the real one, waiting for the
build if it is still running. After the first measurement an instrument's ``record``/``add``/``set`` is the real
instrument's own bound method.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import Meter, MeterProvider

from llmotel._fork_guard import guarded

logger = logging.getLogger("llmotel")

_OBSERVABLE = ("create_observable_counter", "create_observable_gauge", "create_observable_up_down_counter")


class DeferredMeterProvider(MeterProvider):
    """A ``MeterProvider`` whose real provider is ``build()``, called once, on first need."""

    def __init__(self, build: Callable[[], Any]) -> None:
        self._build = build
        self._lock = threading.Lock()
        self._real: Any = None
        self._closed = False
        self._observables: list[_DeferredInstrument] = []
        self._preparing: threading.Thread | None = None

    @property
    def built(self) -> bool:
        """Whether the real provider exists (something was recorded, or :meth:`prepare` finished)."""
        return self._real is not None

    def get_meter(self, name: str, version: str | None = None, schema_url: str | None = None,
                  attributes: Mapping[str, Any] | None = None) -> Meter:
        return _DeferredMeter(self, name, version, schema_url, attributes)

    def prepare(self) -> None:
        """Start building the real provider on a background thread (once; a no-op when built or started)."""
        if self._real is not None or self._preparing is not None:
            return
        with self._lock:
            if self._preparing is not None:
                return
            self._preparing = threading.Thread(target=self._build_quietly, name="llmotel-metrics-build", daemon=True)
        self._preparing.start()

    def real(self) -> Any:
        """The real provider, built now if it is not yet (a no-op provider once this one is shut down)."""
        real = self._real
        if real is not None:
            return real
        return guarded(self._real_locked)  # the build imports modules: a fork must not cut it in half

    def force_flush(self, timeout_millis: float = 30_000) -> bool:
        real = self._real
        return True if real is None else bool(real.force_flush(timeout_millis))

    def shutdown(self, timeout_millis: float = 30_000) -> None:
        with self._lock:
            self._closed = True
            real = self._real
        if real is not None and hasattr(real, "shutdown"):
            real.shutdown(timeout_millis=timeout_millis)

    def _build_quietly(self) -> None:
        try:
            self.real()
        except Exception as exc:  # the recording thread tries again and reports it there
            logger.debug("llmotel: building the metric pipeline failed: %r", exc)

    def _real_locked(self) -> Any:
        with self._lock:
            if self._real is None:
                if self._closed:
                    self._real = metrics.NoOpMeterProvider()
                else:
                    try:
                        self._real = self._build()
                    except Exception as exc:
                        logger.warning("llmotel: GenAI metrics are off: their exporter could not be made (%s)", exc)
                        self._real = metrics.NoOpMeterProvider()
                for observable in self._observables:  # callbacks only run once registered with the real meter
                    observable.real()
                self._observables.clear()
            return self._real

    def _observable_created(self, instrument: _DeferredInstrument) -> None:
        with self._lock:
            pending = self._real is None
            if pending:
                self._observables.append(instrument)
        if pending:
            self.prepare()  # nobody records into an observable: its callbacks run once the real one exists
        else:
            instrument.real()


class _DeferredMeter(Meter):
    def __init__(self, provider: DeferredMeterProvider, name: str, version: str | None, schema_url: str | None,
                 attributes: Mapping[str, Any] | None) -> None:
        super().__init__(name, version, schema_url)
        self._provider = provider
        self._attributes = attributes
        self._meter: Meter | None = None

    def real(self) -> Meter:
        if self._meter is None:
            self._meter = self._provider.real().get_meter(self.name, self.version, self.schema_url, self._attributes)
        return self._meter

    def _instrument(self, factory: str, *args: Any, **kwargs: Any) -> Any:
        instrument = _DeferredInstrument(self, factory, args, kwargs)
        if factory in _OBSERVABLE:
            self._provider._observable_created(instrument)
        return instrument

    def create_counter(self, name: str, unit: str = "", description: str = "") -> Any:
        return self._instrument("create_counter", name, unit, description)

    def create_up_down_counter(self, name: str, unit: str = "", description: str = "") -> Any:
        return self._instrument("create_up_down_counter", name, unit, description)

    def create_histogram(self, name: str, unit: str = "", description: str = "", *,
                         explicit_bucket_boundaries_advisory: Sequence[float] | None = None) -> Any:
        return self._instrument("create_histogram", name, unit, description,
                                explicit_bucket_boundaries_advisory=explicit_bucket_boundaries_advisory)

    def create_gauge(self, name: str, unit: str = "", description: str = "") -> Any:
        return self._instrument("create_gauge", name, unit, description)

    def create_observable_counter(self, name: str, callbacks: Any = None, unit: str = "",
                                  description: str = "") -> Any:
        return self._instrument("create_observable_counter", name, callbacks, unit, description)

    def create_observable_gauge(self, name: str, callbacks: Any = None, unit: str = "",
                                description: str = "") -> Any:
        return self._instrument("create_observable_gauge", name, callbacks, unit, description)

    def create_observable_up_down_counter(self, name: str, callbacks: Any = None, unit: str = "",
                                          description: str = "") -> Any:
        return self._instrument("create_observable_up_down_counter", name, callbacks, unit, description)


class _DeferredInstrument:
    """An instrument made on the real meter when first used; then its recording methods are the real ones."""

    def __init__(self, meter: _DeferredMeter, factory: str, args: tuple[Any, ...], kwargs: dict[str, Any]) -> None:
        self._meter = meter
        self._factory = factory
        self._args = args
        self._kwargs = kwargs
        self._instrument: Any = None

    @property
    def name(self) -> str:
        return str(self._args[0])

    def real(self) -> Any:
        if self._instrument is None:
            self._instrument = getattr(self._meter.real(), self._factory)(*self._args, **self._kwargs)
            for method in ("add", "record", "set"):  # later calls skip this object entirely
                bound = getattr(self._instrument, method, None)
                if bound is not None:
                    setattr(self, method, bound)
        return self._instrument

    def add(self, amount: float, attributes: Any = None, context: Any = None) -> None:
        self.real().add(amount, attributes, context)

    def record(self, amount: float, attributes: Any = None, context: Any = None) -> None:
        self.real().record(amount, attributes, context)

    def set(self, amount: float, attributes: Any = None, context: Any = None) -> None:
        self.real().set(amount, attributes, context)
