"""Copies of finished spans with some parts replaced (redacted, scrubbed, evaluated), and secret scrubbing."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from opentelemetry.sdk.trace import Event, ReadableSpan
from opentelemetry.trace import Link, Status

from llmotel._secrets import scrub


class SpanWithDropCounts(ReadableSpan):
    """A finished span that reports given drop counts (attributes, events, links) instead of computing them from
    limits it never had: a copy keeps its original's, a span decoded from OTLP the ones it arrived with."""

    def __init__(self, dropped: tuple[int, int, int], **fields: Any) -> None:
        super().__init__(**fields)
        self._dropped = dropped

    @property
    def dropped_attributes(self) -> int:
        return self._dropped[0]

    @property
    def dropped_events(self) -> int:
        return self._dropped[1]

    @property
    def dropped_links(self) -> int:
        return self._dropped[2]


class SpanCopy(SpanWithDropCounts):
    """A finished span's copy with another name, attributes, events, links or status; same ids, parent, timing,
    resource and scope, and the original's drop counts."""

    def __init__(self, original: ReadableSpan, attributes: Mapping[str, Any], events: Sequence[Event],
                 status: Status, name: str | None = None, links: Sequence[Link] | None = None) -> None:
        super().__init__(
            (original.dropped_attributes, original.dropped_events, original.dropped_links),
            name=original.name if name is None else name,
            context=original.context,
            parent=original.parent,
            resource=original.resource,
            attributes=attributes,
            events=events,
            links=original.links if links is None else links,
            kind=original.kind,
            status=status,
            start_time=original.start_time,
            end_time=original.end_time,
            instrumentation_scope=original.instrumentation_scope,
        )


def _scrub_value(value: Any) -> Any:
    if isinstance(value, str):
        return scrub(value)
    if isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value):
        return tuple(scrub(v) if isinstance(v, str) else v for v in value)
    return value


def _scrub_attributes(attributes: Mapping[str, Any] | None) -> tuple[bool, dict[str, Any]]:
    out = {key: _scrub_value(value) for key, value in (attributes or {}).items()}
    return any(out[key] != value for key, value in (attributes or {}).items()), out


def scrubbed(span: ReadableSpan) -> ReadableSpan:
    """The span with secrets scrubbed from its name, attributes, events, links and status message; the span
    itself when it holds none."""
    changed, attributes = _scrub_attributes(span.attributes)
    events = []
    for event in span.events:
        event_changed, event_attributes = _scrub_attributes(event.attributes)
        name = scrub(event.name)
        changed = changed or event_changed or name != event.name
        events.append(Event(name, event_attributes, event.timestamp) if event_changed or name != event.name else event)
    links = []
    for link in span.links:
        link_changed, link_attributes = _scrub_attributes(link.attributes)
        changed = changed or link_changed
        links.append(Link(link.context, link_attributes) if link_changed else link)
    name = scrub(span.name)
    status = span.status
    if status.description:
        description = scrub(status.description)
        if description != status.description:
            status = Status(status.status_code, description)
            changed = True
    if not changed and name == span.name:
        return span
    return SpanCopy(span, attributes, events, status, name=name, links=links)
