"""Turn OTLP export requests (protobuf or OTLP/JSON) into :mod:`.model` objects."""

from __future__ import annotations

import base64
import json
import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import Message
from opentelemetry.proto.collector.logs.v1.logs_service_pb2 import ExportLogsServiceRequest
from opentelemetry.proto.collector.metrics.v1.metrics_service_pb2 import (
    ExportMetricsServiceRequest,
)
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.proto.common.v1.common_pb2 import AnyValue, KeyValue
from opentelemetry.proto.metrics.v1 import metrics_pb2
from opentelemetry.proto.trace.v1 import trace_pb2

from .model import (
    Attributes,
    Protocol,
    ReceivedDataPoint,
    ReceivedEvent,
    ReceivedLink,
    ReceivedLog,
    ReceivedMetric,
    ReceivedSpan,
    Signal,
)

REQUEST_TYPES: dict[Signal, type[Message]] = {
    "traces": ExportTraceServiceRequest,
    "metrics": ExportMetricsServiceRequest,
    "logs": ExportLogsServiceRequest,
}

_ID_KEYS = frozenset({"traceId", "spanId", "parentSpanId", "trace_id", "span_id", "parent_span_id"})
_HEX_ID = re.compile(r"^(?:[0-9a-fA-F]{16}|[0-9a-fA-F]{32})$")


def any_value(value: AnyValue) -> Any:
    """Convert an OTLP ``AnyValue`` to the matching native Python value."""
    kind = value.WhichOneof("value")
    if kind is None:
        return None
    if kind == "array_value":
        return [any_value(item) for item in value.array_value.values]
    if kind == "kvlist_value":
        return attributes(value.kvlist_value.values)
    return getattr(value, kind)


def attributes(key_values: Any) -> Attributes:
    """Convert repeated OTLP ``KeyValue`` messages to a dict."""
    pairs: list[KeyValue] = list(key_values)
    return {pair.key: any_value(pair.value) for pair in pairs}


def hex_id(raw: bytes) -> str | None:
    """Lower-case hex of a trace/span id, or ``None`` for an empty/all-zero id."""
    if not raw or not any(raw):
        return None
    return raw.hex()


def _enum_suffix(enum_name: str, prefix: str) -> str:
    return enum_name[len(prefix) :] if enum_name.startswith(prefix) else enum_name


def parse_json(signal: Signal, body: bytes) -> Message:
    """Parse an OTLP/JSON request body.

    OTLP/JSON differs from the protobuf JSON mapping in one way that matters:
    trace and span ids are hex strings, not base64. They are converted before
    handing the document to :func:`google.protobuf.json_format.ParseDict`.
    Unknown fields are ignored, as the OTLP spec requires of receivers.
    """
    document = json.loads(body.decode("utf-8") or "{}")
    message = REQUEST_TYPES[signal]()
    json_format.ParseDict(_hex_ids_to_base64(document), message, ignore_unknown_fields=True)
    return message


def _hex_ids_to_base64(node: Any) -> Any:
    if isinstance(node, dict):
        converted: dict[str, Any] = {}
        for key, value in node.items():
            if key in _ID_KEYS and isinstance(value, str) and _HEX_ID.match(value):
                converted[key] = base64.b64encode(bytes.fromhex(value)).decode("ascii")
            else:
                converted[key] = _hex_ids_to_base64(value)
        return converted
    if isinstance(node, list):
        return [_hex_ids_to_base64(item) for item in node]
    return node


def count_items(signal: Signal, request: Message) -> int:
    """Number of spans, metric data points or log records in a request."""
    if signal == "traces":
        assert isinstance(request, ExportTraceServiceRequest)
        return sum(len(ss.spans) for rs in request.resource_spans for ss in rs.scope_spans)
    if signal == "logs":
        assert isinstance(request, ExportLogsServiceRequest)
        return sum(len(sl.log_records) for rl in request.resource_logs for sl in rl.scope_logs)
    assert isinstance(request, ExportMetricsServiceRequest)
    total = 0
    for rm in request.resource_metrics:
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                data = metric.WhichOneof("data")
                if data is not None:
                    total += len(getattr(metric, data).data_points)
    return total


def decode_spans(request: ExportTraceServiceRequest, protocol: Protocol, headers: dict[str, str]) -> list[ReceivedSpan]:
    """Flatten a trace export request into :class:`ReceivedSpan` objects."""
    spans: list[ReceivedSpan] = []
    for resource_spans in request.resource_spans:
        resource = attributes(resource_spans.resource.attributes)
        for scope_spans in resource_spans.scope_spans:
            scope = scope_spans.scope
            scope_attributes = attributes(scope.attributes)
            for span in scope_spans.spans:
                spans.append(
                    ReceivedSpan(
                        name=span.name,
                        trace_id=span.trace_id.hex(),
                        span_id=span.span_id.hex(),
                        parent_span_id=hex_id(span.parent_span_id),
                        kind=_enum_suffix(trace_pb2.Span.SpanKind.Name(span.kind), "SPAN_KIND_"),
                        start_time_unix_nano=span.start_time_unix_nano,
                        end_time_unix_nano=span.end_time_unix_nano,
                        attributes=attributes(span.attributes),
                        events=[
                            ReceivedEvent(event.name, attributes(event.attributes), event.time_unix_nano)
                            for event in span.events
                        ],
                        links=[
                            ReceivedLink(link.trace_id.hex(), link.span_id.hex(), attributes(link.attributes))
                            for link in span.links
                        ],
                        status_code=_enum_suffix(trace_pb2.Status.StatusCode.Name(span.status.code), "STATUS_CODE_"),
                        status_message=span.status.message,
                        resource=resource,
                        scope_name=scope.name,
                        scope_version=scope.version,
                        protocol=protocol,
                        headers=headers,
                        trace_state=span.trace_state,
                        flags=span.flags,
                        scope_attributes=scope_attributes,
                        dropped_attributes_count=span.dropped_attributes_count,
                        dropped_events_count=span.dropped_events_count,
                        dropped_links_count=span.dropped_links_count,
                    )
                )
    return spans


def _temporality(value: int) -> str:
    name = metrics_pb2.AggregationTemporality.Name(value)
    return _enum_suffix(name, "AGGREGATION_TEMPORALITY_")


def _optional_field(message: Message, name: str) -> Any:
    return getattr(message, name) if message.HasField(name) else None


def _number_point(point: metrics_pb2.NumberDataPoint) -> ReceivedDataPoint:
    kind = point.WhichOneof("value")
    return ReceivedDataPoint(
        attributes=attributes(point.attributes),
        start_time_unix_nano=point.start_time_unix_nano,
        time_unix_nano=point.time_unix_nano,
        value=getattr(point, kind) if kind else None,
        exemplar_count=len(point.exemplars),
        flags=point.flags,
    )


def _histogram_point(point: metrics_pb2.HistogramDataPoint) -> ReceivedDataPoint:
    return ReceivedDataPoint(
        attributes=attributes(point.attributes),
        start_time_unix_nano=point.start_time_unix_nano,
        time_unix_nano=point.time_unix_nano,
        count=point.count,
        sum=_optional_field(point, "sum"),
        min=_optional_field(point, "min"),
        max=_optional_field(point, "max"),
        bucket_counts=list(point.bucket_counts),
        explicit_bounds=list(point.explicit_bounds),
        exemplar_count=len(point.exemplars),
        flags=point.flags,
    )


def _exponential_point(point: metrics_pb2.ExponentialHistogramDataPoint) -> ReceivedDataPoint:
    return ReceivedDataPoint(
        attributes=attributes(point.attributes),
        start_time_unix_nano=point.start_time_unix_nano,
        time_unix_nano=point.time_unix_nano,
        count=point.count,
        sum=_optional_field(point, "sum"),
        min=_optional_field(point, "min"),
        max=_optional_field(point, "max"),
        scale=point.scale,
        zero_count=point.zero_count,
        positive_offset=point.positive.offset,
        positive_bucket_counts=list(point.positive.bucket_counts),
        negative_offset=point.negative.offset,
        negative_bucket_counts=list(point.negative.bucket_counts),
        exemplar_count=len(point.exemplars),
        flags=point.flags,
    )


def _summary_point(point: metrics_pb2.SummaryDataPoint) -> ReceivedDataPoint:
    return ReceivedDataPoint(
        attributes=attributes(point.attributes),
        start_time_unix_nano=point.start_time_unix_nano,
        time_unix_nano=point.time_unix_nano,
        count=point.count,
        sum=point.sum,
        quantiles=[(q.quantile, q.value) for q in point.quantile_values],
        flags=point.flags,
    )


def _decode_metric(metric: metrics_pb2.Metric) -> tuple[str, list[ReceivedDataPoint], str | None, bool | None]:
    data = metric.WhichOneof("data")
    if data == "sum":
        return (
            "sum",
            [_number_point(p) for p in metric.sum.data_points],
            _temporality(metric.sum.aggregation_temporality),
            metric.sum.is_monotonic,
        )
    if data == "gauge":
        return "gauge", [_number_point(p) for p in metric.gauge.data_points], None, None
    if data == "histogram":
        return (
            "histogram",
            [_histogram_point(p) for p in metric.histogram.data_points],
            _temporality(metric.histogram.aggregation_temporality),
            None,
        )
    if data == "exponential_histogram":
        return (
            "exponential_histogram",
            [_exponential_point(p) for p in metric.exponential_histogram.data_points],
            _temporality(metric.exponential_histogram.aggregation_temporality),
            None,
        )
    if data == "summary":
        return "summary", [_summary_point(p) for p in metric.summary.data_points], None, None
    return "empty", [], None, None


def decode_metrics(
    request: ExportMetricsServiceRequest, protocol: Protocol, headers: dict[str, str]
) -> list[ReceivedMetric]:
    """Flatten a metrics export request into :class:`ReceivedMetric` objects."""
    metrics: list[ReceivedMetric] = []
    for resource_metrics in request.resource_metrics:
        resource = attributes(resource_metrics.resource.attributes)
        for scope_metrics in resource_metrics.scope_metrics:
            scope = scope_metrics.scope
            for metric in scope_metrics.metrics:
                kind, points, temporality, monotonic = _decode_metric(metric)
                metrics.append(
                    ReceivedMetric(
                        name=metric.name,
                        description=metric.description,
                        unit=metric.unit,
                        type=kind,
                        data_points=points,
                        aggregation_temporality=temporality,
                        is_monotonic=monotonic,
                        resource=resource,
                        scope_name=scope.name,
                        scope_version=scope.version,
                        protocol=protocol,
                        headers=headers,
                    )
                )
    return metrics


def decode_logs(request: ExportLogsServiceRequest, protocol: Protocol, headers: dict[str, str]) -> list[ReceivedLog]:
    """Flatten a logs export request into :class:`ReceivedLog` objects."""
    logs: list[ReceivedLog] = []
    for resource_logs in request.resource_logs:
        resource = attributes(resource_logs.resource.attributes)
        for scope_logs in resource_logs.scope_logs:
            scope = scope_logs.scope
            for record in scope_logs.log_records:
                logs.append(
                    ReceivedLog(
                        event_name=record.event_name,
                        body=any_value(record.body),
                        attributes=attributes(record.attributes),
                        trace_id=hex_id(record.trace_id),
                        span_id=hex_id(record.span_id),
                        severity_number=int(record.severity_number),
                        severity_text=record.severity_text,
                        time_unix_nano=record.time_unix_nano,
                        observed_time_unix_nano=record.observed_time_unix_nano,
                        resource=resource,
                        scope_name=scope.name,
                        scope_version=scope.version,
                        protocol=protocol,
                        headers=headers,
                        flags=record.flags,
                        dropped_attributes_count=record.dropped_attributes_count,
                    )
                )
    return logs
