"""One settings object: ``enable()`` arguments > ``LLMOTEL_*`` env > ``OTEL_*`` env > defaults."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from llmotel.errors import ConfigurationError

PROTOCOLS = ("grpc", "http/protobuf")
EXPORTERS = ("otlp", "console", "none")
INSTRUMENTATIONS = ("openai", "anthropic")
#: Names of built-in evaluators; filled as evaluators land. Unknown names are a ConfigurationError.
BUILTIN_EVALUATORS: tuple[str, ...] = ()

_TRUE = ("1", "true", "yes", "on")
_FALSE = ("0", "false", "no", "off")
# OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT also takes the util-genai spelling.
_CAPTURE_MODES = {"no_content": False, "span_only": True, "event_only": False, "span_and_event": True}

T = TypeVar("T")


@dataclass(frozen=True)
class Settings:
    """Everything llmotel is configured with. Build it with :func:`resolve`."""

    service_name: str | None = None
    endpoint: str | None = None
    protocol: str = "http/protobuf"
    headers: Mapping[str, str] = field(default_factory=dict)
    exporter: str = "console"
    traces_file: str | None = None
    console: bool = True
    capture_content: bool = True
    instrument: tuple[str, ...] | None = None
    evaluators: tuple[str, ...] = ()
    disabled: bool = False
    metrics: bool = True
    stream_usage: bool = False
    propagate_trace_context: bool = False
    max_content_length: int = 32_768
    max_blob_length: int = 4_096
    resource_attributes: Mapping[str, Any] = field(default_factory=dict)

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))


def env_name(setting: str) -> str:
    """The ``LLMOTEL_*`` variable for a setting."""
    return "LLMOTEL_" + setting.upper()


def _env(name: str, env: Mapping[str, str]) -> str | None:
    value = env.get(name)
    if value is None or value.strip() == "":
        return None
    return value.strip()


def parse_bool(setting: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in _TRUE:
        return True
    if low in _FALSE:
        return False
    raise ConfigurationError(setting, raw, "true, false, 1, 0, yes, no, on, off")


def parse_capture_mode(setting: str, raw: str) -> bool:
    low = raw.strip().lower()
    if low in _CAPTURE_MODES:
        return _CAPTURE_MODES[low]
    try:
        return parse_bool(setting, raw)
    except ConfigurationError:
        raise ConfigurationError(
            setting, raw, "true, false, NO_CONTENT, SPAN_ONLY, EVENT_ONLY, SPAN_AND_EVENT"
        ) from None


def parse_int(setting: str, raw: str, minimum: int = 0) -> int:
    try:
        value = int(raw)
    except ValueError:
        raise ConfigurationError(setting, raw, f"an integer >= {minimum}") from None
    if value < minimum:
        raise ConfigurationError(setting, raw, f"an integer >= {minimum}")
    return value


def parse_headers(setting: str, raw: str | Mapping[str, str]) -> dict[str, str]:
    """Parse ``k1=v1,k2=v2`` (W3C baggage-like, values URL-decoded) or validate a mapping."""
    if isinstance(raw, Mapping):
        out = {}
        for key, value in raw.items():
            if not isinstance(key, str) or not key.strip() or not isinstance(value, str):
                raise ConfigurationError(setting, raw, "a mapping of non-empty header names to string values")
            out[key.strip().lower()] = value
        return out
    out = {}
    for item in raw.split(","):
        if not item.strip():
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip() or any(c.isspace() for c in key.strip()):
            raise ConfigurationError(setting, raw, "comma-separated key=value pairs, e.g. 'api-key=abc,x-team=ml'")
        out[unquote(key.strip()).lower()] = unquote(value.strip())
    return out


def validate_endpoint(setting: str, raw: str) -> str:
    parts = urlsplit(raw.strip())
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise ConfigurationError(setting, raw, "an http:// or https:// URL with a host, e.g. http://localhost:4317")
    try:
        parts.port  # noqa: B018 - raises ValueError on a malformed port
    except ValueError:
        raise ConfigurationError(setting, raw, "a URL with a numeric port, e.g. http://localhost:4318") from None
    return raw.strip()


def _names(setting: str, raw: str | Sequence[str], accepted: Sequence[str]) -> tuple[str, ...]:
    items = [s.strip() for s in raw.split(",")] if isinstance(raw, str) else list(raw)
    out = []
    for item in items:
        if not isinstance(item, str):
            raise ConfigurationError(setting, item, accepted or "(none available in this version)")
        if not item:
            continue
        if item not in accepted:
            raise ConfigurationError(setting, item, accepted or "(none available in this version)")
        out.append(item)
    return tuple(out)


def _choice(setting: str, raw: str, accepted: Sequence[str]) -> str:
    low = raw.strip().lower()
    if low not in accepted:
        raise ConfigurationError(setting, raw, accepted)
    return low


def resolve(env: Mapping[str, str] | None = None, *, capture_default: bool = True, **kwargs: Any) -> Settings:
    """Build :class:`Settings` from explicit arguments (``None`` means "not given"), then env, then defaults.

    ``capture_default`` is the content-capture default when nothing sets it: on for ``enable()``, off for an
    instrumentor started on its own (e.g. by ``opentelemetry-instrument``), as the GenAI conventions expect.
    """
    env = os.environ if env is None else env
    unknown = set(kwargs) - set(Settings.names())
    if unknown:
        raise ConfigurationError("enable() argument", sorted(unknown)[0], Settings.names())
    given = {k: v for k, v in kwargs.items() if v is not None}

    def pick(name: str, parse: Callable[[str, str], T], *otel_vars: str) -> T | None:
        if name in given:
            value = given[name]
            return parse(name, value) if isinstance(value, str) else value
        for var in (env_name(name), *otel_vars):
            raw = _env(var, env)
            if raw is not None:
                return parse(var, raw)
        return None

    def ident(_setting: str, raw: str) -> str:
        return raw

    values: dict[str, Any] = {}
    values["disabled"] = bool(pick("disabled", parse_bool, "OTEL_SDK_DISABLED"))
    values["service_name"] = pick("service_name", ident, "OTEL_SERVICE_NAME")
    endpoint = pick("endpoint", validate_endpoint, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    values["endpoint"] = endpoint
    protocol = pick(
        "protocol",
        lambda s, r: _choice(s, r, PROTOCOLS),
        "OTEL_EXPORTER_OTLP_TRACES_PROTOCOL",
        "OTEL_EXPORTER_OTLP_PROTOCOL",
    )
    values["protocol"] = protocol or "http/protobuf"
    headers = pick("headers", parse_headers, "OTEL_EXPORTER_OTLP_TRACES_HEADERS", "OTEL_EXPORTER_OTLP_HEADERS")
    values["headers"] = parse_headers("headers", headers) if headers is not None else {}
    exporter = pick("exporter", lambda s, r: _choice(s, r, EXPORTERS))
    if exporter is None:
        exporter = "otlp" if endpoint else "console"
    if exporter == "otlp" and not endpoint:
        raise ConfigurationError("endpoint", None, "an OTLP endpoint URL when exporter='otlp'")
    values["exporter"] = exporter
    values["traces_file"] = pick("traces_file", ident)
    console = pick("console", parse_bool)
    values["console"] = (exporter == "console") if console is None else bool(console)
    capture = pick("capture_content", parse_capture_mode, "OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT")
    values["capture_content"] = capture_default if capture is None else bool(capture)
    instrument = pick("instrument", lambda s, r: _names(s, r, INSTRUMENTATIONS))
    if instrument is not None and not isinstance(instrument, tuple):
        instrument = _names("instrument", instrument, INSTRUMENTATIONS)
    values["instrument"] = instrument
    evaluators = pick("evaluators", lambda s, r: _names(s, r, BUILTIN_EVALUATORS))
    if evaluators is not None and not isinstance(evaluators, tuple):
        evaluators = _names("evaluators", evaluators, BUILTIN_EVALUATORS)
    values["evaluators"] = evaluators or ()
    record_metrics = pick("metrics", parse_bool)
    values["metrics"] = True if record_metrics is None else bool(record_metrics)
    for flag in ("stream_usage", "propagate_trace_context"):
        values[flag] = bool(pick(flag, parse_bool))
    for name, default in (("max_content_length", 32_768), ("max_blob_length", 4_096)):
        limit = pick(name, lambda s, r: parse_int(s, r, minimum=16))
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 16):
            raise ConfigurationError(name, limit, "an integer >= 16")
        values[name] = default if limit is None else limit
    resource_attributes = given.get("resource_attributes") or {}
    if not isinstance(resource_attributes, Mapping):
        raise ConfigurationError("resource_attributes", resource_attributes, "a mapping of attribute names to values")
    values["resource_attributes"] = dict(resource_attributes)
    _check_types(values)
    return Settings(**values)


def _check_types(values: Mapping[str, Any]) -> None:
    for name in ("service_name", "traces_file"):
        value = values[name]
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(name, value, "a string")
    for name in ("console", "capture_content", "metrics", "stream_usage", "propagate_trace_context", "disabled"):
        if not isinstance(values[name], bool):
            raise ConfigurationError(name, values[name], "True or False")


def from_env(capture_default: bool = True) -> Settings:
    """Settings from the environment only (used by ``opentelemetry-instrument`` and manual spans)."""
    return resolve(capture_default=capture_default)
