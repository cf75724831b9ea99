"""A small JSON-schema validator for LLM-judge replies (a subset of the standard, no dependency).

Supported keywords: ``type`` (``object``, ``array``, ``string``, ``number``, ``integer``, ``boolean``, ``null``,
or a list of them), ``properties``, ``required``, ``additionalProperties`` (a boolean or a schema), ``items``,
``enum``, ``minimum``, ``maximum``; ``title`` and ``description`` are allowed and ignored (they help the model).

Error messages name the JSON path (``$.verdicts[2].score``) and what was expected, never the offending value:
a judge's reply may quote the user's text, and these messages end up in exceptions and logs.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

TYPES = ("object", "array", "string", "number", "integer", "boolean", "null")
KEYWORDS = frozenset(
    {"type", "properties", "required", "additionalProperties", "items", "enum", "minimum", "maximum", "title",
     "description"}
)
_MAX_ERRORS = 20  # enough to repair a reply; a wildly wrong reply would otherwise give one error per element


def type_name(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int):
        return "integer"
    if isinstance(value, float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, Mapping):
        return "object"
    if isinstance(value, Sequence):
        return "array"
    return type(value).__name__


def _is_type(value: Any, expected: str) -> bool:
    if expected == "object":
        return isinstance(value, Mapping)
    if expected == "array":
        return isinstance(value, Sequence) and not isinstance(value, (str, bytes))
    if expected == "string":
        return isinstance(value, str)
    if expected == "boolean":
        return isinstance(value, bool)
    if expected == "null":
        return value is None
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    if expected == "integer":
        return isinstance(value, int) or (math.isfinite(value) and value.is_integer())
    return expected == "number" and (isinstance(value, int) or math.isfinite(value))


def _key_path(path: str, key: str) -> str:
    return f"{path}.{key}" if key.isidentifier() else f"{path}[{key!r}]"


def validate(value: Any, schema: Mapping[str, Any]) -> list[str]:
    """The ways ``value`` breaks ``schema``, as ``"<json path>: <problem>"`` messages; empty when it is valid."""
    errors: list[str] = []
    _validate(value, schema, "$", errors)
    return errors[:_MAX_ERRORS]


def _validate(value: Any, schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    if len(errors) >= _MAX_ERRORS:
        return
    expected = schema.get("type")
    if expected is not None:
        names = [expected] if isinstance(expected, str) else list(expected)
        if not any(_is_type(value, name) for name in names):
            errors.append(f"{path}: expected {' or '.join(names)}, got {type_name(value)}")
            return
    if "enum" in schema and not any(_enum_equal(value, option) for option in schema["enum"]):
        errors.append(f"{path}: not one of the allowed values {list(schema['enum'])!r}")
    if _is_type(value, "number"):
        if "minimum" in schema and value < schema["minimum"]:
            errors.append(f"{path}: below the minimum {schema['minimum']!r}")
        if "maximum" in schema and value > schema["maximum"]:
            errors.append(f"{path}: above the maximum {schema['maximum']!r}")
    if isinstance(value, Mapping):
        _validate_object(value, schema, path, errors)
    elif _is_type(value, "array") and isinstance(schema.get("items"), Mapping):
        for index, item in enumerate(value):
            _validate(item, schema["items"], f"{path}[{index}]", errors)


def _enum_equal(value: Any, option: Any) -> bool:
    """JSON equality: ``true`` is not ``1``, and ``1`` equals ``1.0``."""
    kinds = (type_name(value), type_name(option))
    numeric = all(kind in ("integer", "number") for kind in kinds)
    return (numeric or kinds[0] == kinds[1]) and value == option


def _validate_object(value: Mapping[str, Any], schema: Mapping[str, Any], path: str, errors: list[str]) -> None:
    properties: Mapping[str, Any] = schema.get("properties") or {}
    for name in schema.get("required") or ():
        if name not in value:
            errors.append(f"{path}: missing required property {name!r}")
    extra = schema.get("additionalProperties", True)
    for key, item in value.items():
        key_path = _key_path(path, str(key))
        if key in properties:
            _validate(item, properties[key], key_path, errors)
        elif extra is False:
            errors.append(f"{key_path}: property not allowed")
        elif isinstance(extra, Mapping):
            _validate(item, extra, key_path, errors)


def schema_errors(schema: Any, path: str = "$") -> list[str]:
    """Problems with ``schema`` itself: unsupported keywords or types, malformed keyword values."""
    if not isinstance(schema, Mapping):
        return [f"{path}: a schema must be an object"]
    errors = [f"{path}: unsupported keyword {key!r}" for key in schema if key not in KEYWORDS]
    kind = schema.get("type")
    if kind is not None:
        names = [kind] if isinstance(kind, str) else kind
        if not isinstance(names, list) or not names or any(n not in TYPES for n in names):
            errors.append(f"{path}.type: must be one of {list(TYPES)} or a list of them")
    properties = schema.get("properties", {})
    if not isinstance(properties, Mapping):
        errors.append(f"{path}.properties: must be an object")
    else:
        for name, sub in properties.items():
            errors += schema_errors(sub, _key_path(f"{path}.properties", str(name)))
    required = schema.get("required", [])
    if not isinstance(required, list) or not all(isinstance(n, str) for n in required):
        errors.append(f"{path}.required: must be a list of property names")
    extra = schema.get("additionalProperties", True)
    if not isinstance(extra, bool):
        errors += schema_errors(extra, f"{path}.additionalProperties")
    if "items" in schema:
        errors += schema_errors(schema["items"], f"{path}.items")
    if "enum" in schema and (not isinstance(schema["enum"], list) or not schema["enum"]):
        errors.append(f"{path}.enum: must be a non-empty list")
    for bound in ("minimum", "maximum"):
        if bound in schema and (isinstance(schema[bound], bool) or not isinstance(schema[bound], (int, float))):
            errors.append(f"{path}.{bound}: must be a number")
    return errors
