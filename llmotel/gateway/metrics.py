"""The gateway's own metrics: kept here, exported over OTLP and rendered as Prometheus text at ``/metrics``.

Counters (accepted, refused, evaluated, forwarded, passed-through), the queue's depth in spans and bytes, and the
evaluation latency (from acceptance until a span leaves evaluation) as a histogram.
"""

from __future__ import annotations

import bisect
import threading
import weakref
from collections.abc import Callable, Iterable, Mapping
from typing import Any

from opentelemetry import metrics
from opentelemetry.metrics import CallbackOptions, Observation

from llmotel import semconv as sc
from llmotel._version import __version__

LATENCY_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_COUNTERS: Mapping[str, tuple[str, str]] = {  # name -> (unit, description)
    sc.METRIC_GATEWAY_ACCEPTED: ("{span}", "Spans accepted (acknowledged to the sender)."),
    sc.METRIC_GATEWAY_REFUSED: ("{request}", "Requests refused, by reason."),
    sc.METRIC_GATEWAY_EVALUATED: ("{span}", "Spans out of evaluation: evaluated, passed (nothing sampled them) or "
                                            "unevaluated (shutdown)."),
    sc.METRIC_GATEWAY_FORWARDED: ("{span}", "Spans delivered to the backend (exported) or refused by it for good."),
    sc.METRIC_GATEWAY_PASSTHROUGH: ("{request}", "Metrics and logs requests passed through, by outcome."),
}
_GAUGES: Mapping[str, tuple[str, str]] = {
    sc.METRIC_GATEWAY_QUEUE_SPANS: ("{span}", "Spans accepted and not yet delivered."),
    sc.METRIC_GATEWAY_QUEUE_BYTES: ("By", "Request bytes of the spans accepted and not yet delivered."),
}
Labels = tuple[tuple[str, str], ...]


def prometheus_name(name: str) -> str:
    return name.replace(".", "_")


def _label_name(attribute: str) -> str:
    return attribute.rsplit(".", 1)[-1]


def _escape(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _labels(labels: Labels, extra: str = "") -> str:
    parts = [f'{_label_name(k)}="{_escape(v)}"' for k, v in labels]
    if extra:
        parts.append(extra)
    return "{" + ",".join(parts) + "}" if parts else ""


class GatewayMetrics:
    """Thread-safe counters, gauges and the latency histogram of one gateway."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, dict[Labels, float]] = {name: {} for name in _COUNTERS}
        self._gauges: dict[str, Callable[[], float]] = {}
        self._buckets = [0] * (len(LATENCY_BUCKETS) + 1)
        self._latency_sum = 0.0
        self._latency_count = 0
        self._histogram: Any = None

    def add(self, name: str, amount: float = 1, **labels: str) -> None:
        key = tuple(sorted((_attribute(k), v) for k, v in labels.items()))
        with self._lock:
            series = self._counts[name]
            series[key] = series.get(key, 0) + amount

    def count(self, name: str, **labels: str) -> float:
        """The counter's value, summed over every series that has the given labels."""
        wanted = {(_attribute(k), v) for k, v in labels.items()}
        with self._lock:
            return sum(v for key, v in self._counts[name].items() if wanted <= set(key))

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        self._gauges[name] = read

    def observe_latency(self, seconds: float) -> None:
        with self._lock:
            self._buckets[bisect.bisect_left(LATENCY_BUCKETS, seconds)] += 1
            self._latency_sum += seconds
            self._latency_count += 1
        histogram = self._histogram
        if histogram is not None:
            histogram.record(seconds)

    def prometheus(self) -> str:
        """The Prometheus text exposition format (0.0.4)."""
        lines: list[str] = []
        with self._lock:
            counts = {name: dict(series) for name, series in self._counts.items()}
            buckets, total, count = list(self._buckets), self._latency_sum, self._latency_count
        for name, (_unit, description) in _COUNTERS.items():
            metric = prometheus_name(name) + "_total"
            lines += [f"# HELP {metric} {description}", f"# TYPE {metric} counter"]
            lines += [f"{metric}{_labels(key)} {value:g}" for key, value in sorted(counts[name].items())] or \
                [f"{metric} 0"]
        for name, (_unit, description) in _GAUGES.items():
            read = self._gauges.get(name)
            metric = prometheus_name(name)
            lines += [f"# HELP {metric} {description}", f"# TYPE {metric} gauge",
                      f"{metric} {read() if read is not None else 0:g}"]
        metric = prometheus_name(sc.METRIC_GATEWAY_EVALUATION_LATENCY) + "_seconds"
        lines += [f"# HELP {metric} Seconds from acceptance until a span left evaluation.",
                  f"# TYPE {metric} histogram"]
        cumulative = 0
        for bound, n in zip((*LATENCY_BUCKETS, float("inf")), buckets, strict=True):
            cumulative += n
            le = "+Inf" if bound == float("inf") else f"{bound:g}"
            lines.append(f'{metric}_bucket{{le="{le}"}} {cumulative}')
        lines += [f"{metric}_sum {total:g}", f"{metric}_count {count}"]
        return "\n".join(lines) + "\n"

    def bind(self, meter_provider: Any) -> None:
        """Also report every metric through ``meter_provider`` (OTLP)."""
        meter = metrics.get_meter("llmotel.gateway", __version__, meter_provider)
        ref = weakref.ref(self)

        def counter_callback(name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
            def observe(_options: CallbackOptions) -> Iterable[Observation]:
                registry = ref()
                if registry is None:
                    return []
                with registry._lock:
                    series = dict(registry._counts[name])
                return [Observation(value, dict(key)) for key, value in series.items()]

            return observe

        def gauge_callback(name: str) -> Callable[[CallbackOptions], Iterable[Observation]]:
            def observe(_options: CallbackOptions) -> Iterable[Observation]:
                registry = ref()
                read = registry._gauges.get(name) if registry is not None else None
                return [Observation(read())] if read is not None else []

            return observe

        for name, (unit, description) in _COUNTERS.items():
            meter.create_observable_counter(name, [counter_callback(name)], unit=unit, description=description)
        for name, (unit, description) in _GAUGES.items():
            meter.create_observable_gauge(name, [gauge_callback(name)], unit=unit, description=description)
        self._histogram = meter.create_histogram(
            sc.METRIC_GATEWAY_EVALUATION_LATENCY, unit="s", description="Seconds from acceptance until a span left "
            "evaluation.", explicit_bucket_boundaries_advisory=list(LATENCY_BUCKETS))


_ATTRIBUTES = {"source": sc.LLMOTEL_SOURCE, "reason": sc.LLMOTEL_DROP_REASON, "outcome": sc.LLMOTEL_OUTCOME,
               "signal": sc.LLMOTEL_SIGNAL}


def _attribute(label: str) -> str:
    return _ATTRIBUTES[label]
