"""OTLP/JSON lines: each export batch becomes one ``ExportTraceServiceRequest`` JSON object on one line.

The format is the collector file exporter's: lowerCamelCase keys, enums as integers, trace and span ids as
hex, so ``otelcol`` (``otlpjsonfile`` receiver) and other OTLP/JSON readers can load the file.
"""

from __future__ import annotations

import base64
import functools
import importlib
import json
import threading
from collections.abc import Sequence
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SpanExporter, SpanExportResult

from llmotel._diagnostics import diagnostics
from llmotel._fork_guard import guarded

_ID_KEYS = ("traceId", "spanId", "parentSpanId")


def _hex_ids(obj: dict[str, Any]) -> None:
    for key in _ID_KEYS:
        value = obj.get(key)
        if isinstance(value, str):
            obj[key] = base64.b64decode(value).hex()


@functools.cache
def _protobuf() -> tuple[Any, Any]:
    """The SDK's protobuf span encoder and protobuf's ``MessageToDict``, imported on first use (by an export
    worker, not in ``enable()``), under the fork guard."""

    def load() -> tuple[Any, Any]:
        encoder = importlib.import_module("opentelemetry.exporter.otlp.proto.common.trace_encoder")
        return encoder.encode_spans, importlib.import_module("google.protobuf.json_format").MessageToDict

    return guarded(load)


def to_otlp_json(spans: Sequence[ReadableSpan]) -> str:
    """One line of OTLP/JSON for a batch of spans."""
    encode_spans, message_to_dict = _protobuf()
    data = message_to_dict(encode_spans(spans), use_integers_for_enums=True)
    for resource_spans in data.get("resourceSpans", ()):
        for scope_spans in resource_spans.get("scopeSpans", ()):
            for span in scope_spans.get("spans", ()):
                _hex_ids(span)
                for link in span.get("links", ()):
                    _hex_ids(link)
    return json.dumps(data, separators=(",", ":"), ensure_ascii=False)


class OtlpJsonFileExporter(SpanExporter):
    """Appends OTLP/JSON lines to a file (``LLMOTEL_TRACES_FILE``)."""

    def __init__(self, path: str) -> None:
        self.path = path
        self._lock = threading.Lock()
        self._file = open(path, "a", encoding="utf-8")  # noqa: SIM115 - kept open for the exporter's life

    def export(self, spans: Sequence[ReadableSpan]) -> SpanExportResult:
        try:
            line = to_otlp_json(spans)
            with self._lock:
                self._file.write(line + "\n")
                self._file.flush()
        except Exception as exc:
            diagnostics.report("traces_file", f"could not write traces to {self.path}", exc)
            return SpanExportResult.FAILURE
        return SpanExportResult.SUCCESS

    def shutdown(self) -> None:
        with self._lock:
            self._file.close()
