"""Response attributes onto an SDK span without the SDK cleaning each value again.

``Span.set_attributes`` runs every value through the SDK's generic cleaning (a recursive type dispatch per value,
a generator per sequence), which costs more than everything else an LLM span's end does. The attributes an LLM
call collects are almost always already what that cleaning would produce: ``str``/``bool``/``int``/``float``
values and sequences of strings. For those, on the SDK's own span class with no attribute-length limit and room
under the attribute-count limit, :func:`set_response_attributes` stores them exactly as the SDK would (under the
same two locks, sequences as tuples). Anything else (another span class, a length limit, a value of any other
type, a full attribute map, an ended span, SDK internals that moved) goes through ``set_attributes`` unchanged.
"""

from __future__ import annotations

from typing import Any

from opentelemetry.attributes import BoundedAttributes
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import _Span
from opentelemetry.trace import Span, SpanContext

_SCALARS = frozenset({str, bool, int, float})


def _knows_sdk_internals() -> bool:
    """Whether this SDK's span keeps attributes the way :func:`_store` expects (checked once, on a probe span)."""
    try:
        probe = _Span("probe", SpanContext(1, 1, False), resource=Resource({}))
        bounded: Any = probe._attributes
        return (
            probe._end_time is None
            and type(probe._lock) is type(bounded._lock)
            and type(bounded) is BoundedAttributes
            and type(bounded._dict) is dict
            and (bounded.maxlen is None or type(bounded.maxlen) is int)
            and bounded.max_value_len is None
            and bounded._immutable is False
        )
    except Exception:
        return False


SDK_INTERNALS_KNOWN = _knows_sdk_internals()


def set_response_attributes(span: Span, attributes: dict[str, Any]) -> None:
    """``span.set_attributes(attributes)``, without re-cleaning values that need none. May turn lists in
    ``attributes`` into tuples (what the SDK stores for them)."""
    if SDK_INTERNALS_KNOWN and type(span) is _Span and _store(span, attributes):
        return
    span.set_attributes(attributes)


def _store(span: Any, attributes: dict[str, Any]) -> bool:
    for key, value in attributes.items():
        kind = type(value)
        if kind in _SCALARS:
            continue
        if kind is not list and kind is not tuple:
            return False
        for item in value:
            if type(item) is not str:
                return False
        if kind is list:
            attributes[key] = tuple(value)
    bounded = span._attributes
    if type(bounded) is not BoundedAttributes or bounded.max_value_len is not None or bounded._immutable:
        return False
    with span._lock:
        if span._end_time is not None:
            return False  # set_attributes warns about it
        with bounded._lock:
            stored = bounded._dict
            maxlen = bounded.maxlen
            if maxlen is not None and len(stored) + len(attributes) > maxlen:
                return False  # the SDK evicts the oldest ones and counts them
            stored.update(attributes)
            return True
