"""JSON-friendly values of a decorated function's arguments and result, for manual spans.

Only data is recorded: strings, numbers, booleans, None, mappings with string keys, sequences and sets, and
what converts to those without running user code beyond a model's own dump (pydantic models, dataclasses,
enums, dates, UUIDs, paths, decimals). Anything else (``self``, SDK clients, callables, generators, files,
locks, ...) is left out rather than ``repr``'d, so no ``<openai.OpenAI object at 0x…>`` reaches a backend.
Size is capped so that the JSON stays valid: the strings of one value share the text limit (a string past the
budget is cut, with the truncation marker), containers keep :data:`MAX_ITEMS` items and :data:`MAX_DEPTH`
levels.
"""

from __future__ import annotations

import dataclasses
import datetime
import decimal
import enum
import inspect
import math
import pathlib
import uuid
from collections.abc import Mapping
from typing import Any

from llmotel import semconv as sc
from llmotel.content import Truncator

MAX_ITEMS = 100  # items kept per list, set or mapping
MAX_DEPTH = 8
SKIPPED_NAMES = frozenset({"self", "cls"})
SKIP = object()  # what jsonable() returns for a value that is not data
_SCALARS = (bool, int, float, type(None))


class _Budget:
    """Characters of string content left for one recorded value (shared by all its strings)."""

    __slots__ = ("left", "truncator")

    def __init__(self, truncator: Truncator) -> None:
        self.truncator = truncator
        self.left = truncator.text_limit

    def text(self, value: str) -> str:
        if len(value) <= self.left:
            self.left -= len(value)
            return value
        keep, self.left = self.left, 0
        self.truncator.truncated = True
        return value[:keep] + sc.TRUNCATION_MARKER.format(dropped=len(value) - keep)


def jsonable(value: Any, cut: Truncator) -> Any:
    """``value`` as JSON data, or :data:`SKIP` when it is not data. Its strings share ``cut``'s text limit."""
    return _convert(value, _Budget(cut), 0)


def _convert(value: Any, budget: _Budget, depth: int) -> Any:
    if isinstance(value, str):
        return budget.text(value)
    if isinstance(value, _SCALARS):
        return str(value) if isinstance(value, float) and not math.isfinite(value) else value  # JSON has no NaN
    if depth >= MAX_DEPTH:
        return SKIP
    if isinstance(value, enum.Enum):
        return _convert(value.value, budget, depth + 1)
    if isinstance(value, (datetime.date, datetime.time)):
        return value.isoformat()
    if isinstance(value, (uuid.UUID, pathlib.PurePath, decimal.Decimal)):
        return str(value)
    if isinstance(value, Mapping):
        return _mapping(value, budget, depth)
    if isinstance(value, (list, tuple, set, frozenset)):
        return _sequence(value, budget, depth)
    dump = getattr(value, "model_dump", None)
    if callable(dump) and not inspect.isclass(value):  # a pydantic model instance
        try:
            return _convert(dump(mode="json", warnings=False), budget, depth + 1)
        except Exception:  # a model that cannot dump itself: not recorded
            return SKIP
    if dataclasses.is_dataclass(value) and not inspect.isclass(value):
        return _mapping({f.name: getattr(value, f.name, None) for f in dataclasses.fields(value)}, budget, depth)
    return SKIP


def _mapping(value: Mapping[Any, Any], budget: _Budget, depth: int) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for i, (key, item) in enumerate(value.items()):
        if i >= MAX_ITEMS:
            out[_more_key(len(value) - MAX_ITEMS)] = True
            budget.truncator.truncated = True
            break
        if not isinstance(key, (str, int, float, bool)):
            continue
        converted = _convert(item, budget, depth + 1)
        if converted is not SKIP:
            out[str(key)] = converted
    return out


def _sequence(value: Any, budget: _Budget, depth: int) -> list[Any]:
    out = []
    for i, item in enumerate(value):
        if i >= MAX_ITEMS:
            out.append(_more_key(len(value) - MAX_ITEMS))
            budget.truncator.truncated = True
            break
        converted = _convert(item, budget, depth + 1)
        if converted is not SKIP:
            out.append(converted)
    return out


def _more_key(count: int) -> str:
    return sc.TRUNCATION_MARKER.format(dropped=count).replace("chars", "items")


def call_arguments(signature: inspect.Signature | None, args: Any, kwargs: Any, cut: Truncator) -> dict[str, Any]:
    """The JSON-friendly arguments of a call by name (defaults applied; ``self``/``cls`` and non-data left out).

    Without a usable signature, positional arguments are named ``args[0]``, ``args[1]``, ...
    """
    named: dict[str, Any]
    try:
        if signature is None:
            raise TypeError
        bound = signature.bind(*args, **kwargs)
        bound.apply_defaults()
        named = dict(bound.arguments)
        for name, parameter in signature.parameters.items():  # *args and **kwargs spread out under their names
            if parameter.kind is inspect.Parameter.VAR_KEYWORD and isinstance(named.get(name), dict):
                named.update(named.pop(name))
    except TypeError:
        named = {f"args[{i}]": v for i, v in enumerate(args)} | dict(kwargs)
    out = {}
    budget = _Budget(cut)
    for name, value in named.items():
        if name in SKIPPED_NAMES:
            continue
        converted = _convert(value, budget, 0)
        if converted is not SKIP:
            out[name] = converted
    return out
