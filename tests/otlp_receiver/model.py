"""Plain-Python views of the OTLP data an :class:`OtlpReceiver` decoded.

Everything here is built from the OTLP protobuf messages by
:mod:`tests.otlp_receiver.decode`; tests never need to touch protobuf types.
Attribute values are native Python values: ``str``, ``bool``, ``int``,
``float``, ``bytes``, ``list`` (OTLP arrays), ``dict`` (OTLP key/value lists)
or ``None`` (an empty ``AnyValue``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, NamedTuple

Protocol = Literal["grpc", "http"]
Signal = Literal["traces", "metrics", "logs"]
Attributes = dict[str, Any]


class ReceivedEvent(NamedTuple):
    """A span event; unpacks as ``(name, attributes, time_unix_nano)``."""

    name: str
    attributes: Attributes
    time_unix_nano: int


class ReceivedLink(NamedTuple):
    """A span link; ``trace_id``/``span_id`` are lower-case hex."""

    trace_id: str
    span_id: str
    attributes: Attributes


@dataclass
class ReceivedSpan:
    """One span as it arrived, with its resource, scope and transport details.

    ``kind`` is the short OTLP name (``"INTERNAL"``, ``"SERVER"``, ``"CLIENT"``,
    ``"PRODUCER"``, ``"CONSUMER"`` or ``"UNSPECIFIED"``), ``status_code`` one of
    ``"UNSET"``, ``"OK"`` and ``"ERROR"``. Ids are lower-case hex; a root span
    has ``parent_span_id=None``. ``headers`` are the request headers (gRPC
    metadata) with lower-case names, shared by everything in one request.
    """

    name: str
    trace_id: str
    span_id: str
    parent_span_id: str | None
    kind: str
    start_time_unix_nano: int
    end_time_unix_nano: int
    attributes: Attributes
    events: list[ReceivedEvent]
    links: list[ReceivedLink]
    status_code: str
    status_message: str
    resource: Attributes
    scope_name: str
    scope_version: str
    protocol: Protocol
    headers: dict[str, str]
    trace_state: str = ""
    flags: int = 0
    scope_attributes: Attributes = field(default_factory=dict)
    dropped_attributes_count: int = 0
    dropped_events_count: int = 0
    dropped_links_count: int = 0

    @property
    def duration_ns(self) -> int:
        """End minus start time, in nanoseconds."""
        return self.end_time_unix_nano - self.start_time_unix_nano

    @property
    def is_root(self) -> bool:
        """True when the span has no parent."""
        return self.parent_span_id is None

    def events_named(self, name: str) -> list[ReceivedEvent]:
        """The span's events called ``name``, in recorded order."""
        return [event for event in self.events if event.name == name]


@dataclass
class ReceivedDataPoint:
    """One metric data point.

    Number points (sum, gauge) carry ``value``; histogram points carry
    ``count``, ``sum``, ``min``, ``max``, ``bucket_counts`` and
    ``explicit_bounds``. Exponential histograms fill ``count``/``sum``/``min``/
    ``max``/``scale``/``zero_count`` and the ``positive_*``/``negative_*``
    bucket fields; summaries fill ``count``, ``sum`` and ``quantiles``.
    Fields a point type does not have stay ``None`` or empty.
    """

    attributes: Attributes
    start_time_unix_nano: int
    time_unix_nano: int
    value: int | float | None = None
    count: int | None = None
    sum: float | None = None
    min: float | None = None
    max: float | None = None
    bucket_counts: list[int] = field(default_factory=list)
    explicit_bounds: list[float] = field(default_factory=list)
    scale: int | None = None
    zero_count: int | None = None
    positive_offset: int | None = None
    positive_bucket_counts: list[int] = field(default_factory=list)
    negative_offset: int | None = None
    negative_bucket_counts: list[int] = field(default_factory=list)
    quantiles: list[tuple[float, float]] = field(default_factory=list)
    exemplar_count: int = 0
    flags: int = 0


@dataclass
class ReceivedMetric:
    """One metric of one export request, with all of its data points.

    ``type`` is ``"sum"``, ``"gauge"``, ``"histogram"``,
    ``"exponential_histogram"`` or ``"summary"``. ``aggregation_temporality``
    is ``"CUMULATIVE"``/``"DELTA"`` for sums and histograms, else ``None``.
    Periodic readers re-export cumulative metrics, so the same name can appear
    in several requests: the last one holds the latest totals.
    """

    name: str
    description: str
    unit: str
    type: str
    data_points: list[ReceivedDataPoint]
    aggregation_temporality: str | None
    is_monotonic: bool | None
    resource: Attributes
    scope_name: str
    scope_version: str
    protocol: Protocol
    headers: dict[str, str]

    def points_with(self, **attributes: Any) -> list[ReceivedDataPoint]:
        """Data points whose attributes include every ``key=value`` given.

        Attribute keys with dots can't be keyword arguments; pass them with
        ``**{"gen_ai.operation.name": "chat"}``.
        """
        return [
            point
            for point in self.data_points
            if all(point.attributes.get(key) == value for key, value in attributes.items())
        ]


@dataclass
class ReceivedLog:
    """One log record (an OTel event when ``event_name`` is set).

    ``trace_id``/``span_id`` are hex, or ``None`` when the record is not
    correlated with a span. ``body`` is a native value (see module docstring).
    """

    event_name: str
    body: Any
    attributes: Attributes
    trace_id: str | None
    span_id: str | None
    severity_number: int
    severity_text: str
    time_unix_nano: int
    observed_time_unix_nano: int
    resource: Attributes
    scope_name: str
    scope_version: str
    protocol: Protocol
    headers: dict[str, str]
    flags: int = 0
    dropped_attributes_count: int = 0


@dataclass
class ReceivedRequest:
    """One export request, accepted or rejected (see ``OtlpReceiver.fail_next``).

    ``status`` is the HTTP status sent back, or the gRPC status code name
    (``"OK"``, ``"UNAVAILABLE"``...). ``item_count`` is the number of spans,
    metric data points or log records in the request (0 when rejected before
    decoding).
    """

    signal: Signal
    protocol: Protocol
    headers: dict[str, str]
    status: int | str
    accepted: bool
    item_count: int
    content_type: str = ""
    content_encoding: str = ""
    body_size: int = 0
