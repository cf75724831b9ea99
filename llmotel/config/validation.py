"""The shared parsers: each reads a setting from environment text and checks it as a Python value.

A :class:`Parser` is written once per kind of value ("an integer >= n", "a positive number of seconds", "one of
these names", ...) and used for every setting of that kind, by the option groups, by ``resolve()`` and by the
environment. Every failure is a :class:`llmotel.ConfigurationError` naming the setting (the argument, or the
environment variable the value came from).
"""

from __future__ import annotations

import math
import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import unquote, urlsplit

from llmotel.config.choices import PII_NER_ENTITIES, PII_PATTERN_ENTITIES
from llmotel.errors import ConfigurationError
from llmotel.sampling_rules import parse_rules

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
# OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT also takes the util-genai spelling.
_CAPTURE_MODES = {"no_content": False, "span_only": True, "event_only": False, "span_and_event": True}


def _same(_setting: str, raw: str) -> Any:
    return raw


@dataclass(frozen=True)
class Parser:
    """How one kind of setting is read.

    ``check(setting, value)`` validates a Python value and returns it normalised (or raises);
    ``convert(setting, text)`` turns environment text into a Python value for ``check``.
    """

    check: Callable[[str, Any], Any]
    convert: Callable[[str, str], Any] = _same

    def text(self, setting: str, raw: str) -> Any:
        """The value of environment text ``raw``."""
        return self.check(setting, self.convert(setting, raw))

    def argument(self, setting: str, value: Any) -> Any:
        """The value of a flat argument: text is read like the environment's, anything else is checked."""
        return self.text(setting, value) if isinstance(value, str) else self.check(setting, value)


def parse_bool(setting: str, raw: str) -> bool:
    """``true/false``, ``1/0``, ``yes/no``, ``on/off`` (any case)."""
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigurationError(setting, raw, "true, false, 1, 0, yes, no, on, off")


def _boolean(setting: str, value: Any) -> bool:
    if not isinstance(value, bool):
        raise ConfigurationError(setting, value, "True or False")
    return value


BOOLEAN = Parser(_boolean, parse_bool)


def _capture_mode(setting: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in _CAPTURE_MODES:
        return _CAPTURE_MODES[low]
    try:
        return parse_bool(setting, raw)
    except ConfigurationError:
        raise ConfigurationError(
            setting, raw, "true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT"
        ) from None


#: a boolean that also takes the GenAI capture-mode spellings (``NO_CONTENT``, ``SPAN_ONLY``, ...)
CAPTURE_MODE = Parser(_boolean, _capture_mode)


def _converted(kind: Callable[[str], Any], accepted: str) -> Callable[[str, str], Any]:
    """Text read with ``kind`` (``int``, ``float``); a ConfigurationError when it does not read."""

    def convert(setting: str, raw: str) -> Any:
        try:
            return kind(raw)
        except ValueError:
            raise ConfigurationError(setting, raw, accepted) from None

    return convert


def integer(minimum: int) -> Parser:
    """An int (not a bool) of at least ``minimum``."""
    accepted = f"an integer >= {minimum}"

    def check(setting: str, value: Any) -> int:
        if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
            raise ConfigurationError(setting, value, accepted)
        return value

    return Parser(check, _converted(int, accepted))


def parse_int(setting: str, raw: str, minimum: int = 0) -> int:
    """An integer of at least ``minimum`` from text."""
    return integer(minimum).text(setting, raw)


def number(accepted: str, within: Callable[[float], bool]) -> Parser:
    """An int or float (not a bool) for which ``within`` holds."""

    def check(setting: str, value: Any) -> float:
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not within(value):
            raise ConfigurationError(setting, value, accepted)
        return float(value)

    return Parser(check, _converted(float, accepted))


SECONDS = number("a positive number of seconds", lambda v: 0 < v < math.inf)
SECONDS_OR_ZERO = number("a number of seconds >= 0", lambda v: 0 <= v < math.inf)
FRACTION = number("a number from 0 to 1", lambda v: 0.0 <= v <= 1.0)


def choice(accepted: Sequence[str]) -> Parser:
    """One of ``accepted`` (any case; returned lower-case)."""

    def check(setting: str, value: Any) -> str:
        if not isinstance(value, str) or value.strip().lower() not in accepted:
            raise ConfigurationError(setting, value, accepted)
        return value.strip().lower()

    return Parser(check)


def _text(setting: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(setting, value, "a string")
    return value


TEXT = Parser(_text)


def _non_empty_text(setting: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(setting, value, "a non-empty string")
    return value


NON_EMPTY_TEXT = Parser(_non_empty_text)


def _secret(setting: str, value: Any) -> str:
    if not isinstance(value, str) or not value:
        raise ConfigurationError(setting, "<hidden>", "a non-empty string")
    return value


#: a non-empty string never shown in errors or reprs (API keys, tokens, hash keys)
SECRET = Parser(_secret)


def validate_endpoint(setting: str, raw: str) -> str:
    """An ``http(s)://host[:port]`` URL."""
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(setting, raw, "an http:// or https:// URL with a host, e.g. http://localhost:4317")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ConfigurationError(setting, raw, "a URL with a numeric port, e.g. http://localhost:4318") from None
    return raw.strip()


def _endpoint(setting: str, value: Any) -> str:
    if not isinstance(value, str):
        raise ConfigurationError(setting, value, "an http:// or https:// URL with a host, e.g. http://localhost:4317")
    return validate_endpoint(setting, value)


URL = Parser(_endpoint)


def parse_headers(setting: str, raw: str | Mapping[str, str]) -> dict[str, str]:
    """Parse ``k1=v1,k2=v2`` (W3C baggage-like, values URL-decoded) or validate a mapping."""
    if isinstance(raw, Mapping):
        out = {}
        for key, value in raw.items():
            if not isinstance(key, str) or not key.strip() or not isinstance(value, str):
                raise ConfigurationError(setting, raw, "a mapping of non-empty header names to string values")
            out[key.strip().lower()] = value
        return out
    if not isinstance(raw, str):
        raise ConfigurationError(setting, raw, "a mapping of header names to values, or 'k1=v1,k2=v2'")
    out = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or any(c.isspace() for c in key.strip()):
            raise ConfigurationError(setting, raw, "comma-separated key=value pairs, e.g. 'api-key=abc,x-team=ml'")
        out[unquote(key.strip()).lower()] = unquote(value.strip())
    return out


HEADERS = Parser(parse_headers)


def _split(_setting: str, raw: str) -> list[str]:
    return [s.strip() for s in raw.split(",")]


def _strings(setting: str, value: Any) -> tuple[str, ...]:
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, str) for i in value):
        raise ConfigurationError(setting, value, "a list of strings (or comma-separated text)")
    return tuple(i for i in value if i)


#: a list of strings; comma-separated in the environment
STRINGS = Parser(_strings, _split)


def names(accepted: Sequence[str]) -> Parser:
    """A list of names from ``accepted``; comma-separated in the environment."""

    def check(setting: str, value: Any) -> tuple[str, ...]:
        items = _split(setting, value) if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigurationError(setting, value, accepted or "(none available in this version)")
        for item in items:
            if not isinstance(item, str) or (item and item not in accepted):
                raise ConfigurationError(setting, item, accepted or "(none available in this version)")
        return tuple(i for i in items if i)

    return Parser(check, _split)


def names_or_objects(accepted: Sequence[str], is_object: Callable[[Any], bool], objects: str) -> Parser:
    """Built-in names from ``accepted`` (comma-separated text or a list) and objects ``is_object`` accepts."""

    def check(setting: str, value: Any) -> tuple[Any, ...]:
        items = _split(setting, value) if isinstance(value, str) else value
        if not isinstance(items, (list, tuple)):
            raise ConfigurationError(setting, value, f"a list of built-in names or {objects}")
        out: list[Any] = []
        for item in items:
            if isinstance(item, str):
                if not item:
                    continue
                if item not in accepted:
                    raise ConfigurationError(setting, item, (*accepted, objects))
            elif not is_object(item):
                raise ConfigurationError(setting, item, f"built-in names or {objects}")
            out.append(item)
        return tuple(out)

    return Parser(check, _split)


def _pii_entities(setting: str, value: Any) -> tuple[str, ...]:
    supported = (*PII_PATTERN_ENTITIES, *PII_NER_ENTITIES)
    if not isinstance(value, (list, tuple)) or not all(isinstance(i, str) for i in value):
        raise ConfigurationError(setting, value, "a list of entity types")
    entities = tuple(dict.fromkeys(i for i in value if i))
    if not entities:
        raise ConfigurationError(setting, value, "a non-empty list of: " + ", ".join(supported))
    unknown = [e for e in entities if e not in supported]
    if unknown:
        raise ConfigurationError(setting, unknown, supported)
    return entities


#: PII entity types the redactor knows (duplicates dropped); comma-separated in the environment
PII_ENTITIES = Parser(_pii_entities, _split)


def check_pii_entities_need_ner(entities: Sequence[str] | None, use_ner: bool | None) -> None:
    """PERSON / LOCATION are found only by NER: asking for them with NER off is a mistake."""
    if use_ner is False and entities is not None and any(e in PII_NER_ENTITIES for e in entities):
        raise ConfigurationError("pii_entities", tuple(entities),
                                 "no PERSON/LOCATION when pii_use_ner is False (they need NER)")


def _sampling_rules(setting: str, value: Any) -> tuple[Any, ...]:
    return parse_rules(value, setting)


#: evaluator sampling rules: a list of rules (or dicts), JSON in the environment
SAMPLING_RULES = Parser(_sampling_rules)


def _readable_file(setting: str, value: Any) -> str:
    if not isinstance(value, str) or not os.path.isfile(value) or not os.access(value, os.R_OK):
        raise ConfigurationError(setting, value, "the path of a readable file")
    return value


READABLE_FILE = Parser(_readable_file)


def _mapping(setting: str, value: Any) -> dict[str, Any]:
    if not isinstance(value, Mapping):
        raise ConfigurationError(setting, value, "a mapping of attribute names to values")
    return dict(value)


MAPPING = Parser(_mapping)


def instance(accepted: str, is_instance: Callable[[Any], bool]) -> Parser:
    """An object ``is_instance`` accepts (an argument only: never read from the environment)."""

    def check(setting: str, value: Any) -> Any:
        if not is_instance(value):
            raise ConfigurationError(setting, value, accepted)
        return value

    return Parser(check)
