"""One settings object: ``enable()`` arguments > ``LLMOTEL_*`` env > ``OTEL_*`` env > defaults."""

from __future__ import annotations

import os
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar
from urllib.parse import unquote, urlsplit

from llmotel.content import REDACTION_MARGIN
from llmotel.errors import ConfigurationError
from llmotel.sampling_rules import parse_rules

PROTOCOLS = ("grpc", "http/protobuf")
EXPORTERS = ("otlp", "console", "none")
INSTRUMENTATIONS = ("openai", "anthropic")
#: Names of the built-in evaluators (``pii`` is the same as ``redact_pii=True``; the last four need a judge).
BUILTIN_EVALUATORS: tuple[str, ...] = (
    "pii", "language_mismatch", "failure_to_answer", "sentiment", "toxicity",
    "hallucination", "prompt_injection", "topic_relevancy", "answer_relevance",
)
JUDGE_PROVIDERS = ("openai", "anthropic")
#: Names of the built-in evaluation sinks (each delivers results in a backend's own evaluation model).
EVALUATION_SINKS = ("phoenix", "mlflow", "datadog")
#: Attribute sets written besides the GenAI conventions' (``compat``).
COMPAT_MODES = ("openinference",)
PII_OPERATORS = ("replace", "mask", "hash", "drop")
#: where evaluation and redaction run: worker threads of the application, or a child process llmotel starts
EVALUATION_PLACES = ("thread", "subprocess")
COMPRESSIONS = ("gzip", "none")

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
    #: built-in evaluator names and/or evaluator objects (see llmotel.evaluation.Evaluator)
    evaluators: tuple[Any, ...] = ()
    evaluator_sampling_rules: tuple[Any, ...] = ()
    evaluator_timeout: float = 10.0
    evaluation_queue_size: int = 2048
    evaluation_workers: int = 2
    #: "thread" (the application's worker threads) or "subprocess" (a child process: off the application's GIL)
    evaluation_in: str = "thread"
    redact_pii: bool = False
    pii_entities: tuple[str, ...] | None = None
    pii_operator: str = "replace"
    pii_score_threshold: float = 0.5
    pii_allow_list: tuple[str, ...] = ()
    pii_hash_key: str | None = None
    pii_use_ner: bool | None = None
    #: an llmotel.evaluation.judge.Judge (argument only), or one built from judge_provider + judge_model
    judge: Any = None
    judge_provider: str | None = None
    judge_model: str | None = None
    judge_base_url: str | None = None
    judge_timeout: float = 30.0
    judge_max_tokens_per_minute: int | None = None
    trace_judge: bool = False
    relevant_topics: tuple[str, ...] = ()
    #: built-in sink names and/or llmotel.evaluation.sinks.EvaluationSink objects (argument only)
    evaluation_sinks: tuple[Any, ...] = ()
    phoenix_endpoint: str | None = None
    phoenix_api_key: str | None = field(default=None, repr=False)
    mlflow_tracking_uri: str | None = None
    mlflow_tracking_token: str | None = field(default=None, repr=False)
    datadog_api_key: str | None = field(default=None, repr=False)
    datadog_site: str = "datadoghq.com"
    datadog_ml_app: str | None = None
    datadog_intake_url: str | None = None
    compat: tuple[str, ...] = ()
    disabled: bool = False
    metrics: bool = True
    stream_usage: bool = False
    propagate_trace_context: bool = False
    max_content_length: int = 32_768
    max_blob_length: int = 4_096
    resource_attributes: Mapping[str, Any] = field(default_factory=dict)
    #: seconds one OTLP export request may take (the Python SDK reads OTEL_EXPORTER_OTLP_TIMEOUT as seconds too)
    export_timeout: float = 10.0
    #: seconds a batch that failed with a retryable outcome (429, 5xx, refused, timeout) is kept and retried
    export_retry_window: float = 30.0
    #: spans waiting for export (and for retries during an outage); beyond it new spans are dropped, counted
    export_queue_size: int = 2048
    compression: str | None = None
    #: TLS files (environment only: OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE / CLIENT_CERTIFICATE / CLIENT_KEY)
    otlp_certificate: str | None = None
    otlp_client_certificate: str | None = None
    otlp_client_key: str | None = None

    @classmethod
    def names(cls) -> tuple[str, ...]:
        return tuple(f.name for f in fields(cls))

    @property
    def evaluates_content(self) -> bool:
        """Whether spans go through the evaluating processor (evaluators or PII redaction configured)."""
        return bool(self.evaluators) or self.redact_pii

    @property
    def recorded_text_limit(self) -> int:
        """Characters a text is cut to when recorded: ``max_content_length``, plus a margin when redaction is on
        (the evaluating processor cuts to ``max_content_length`` after redacting)."""
        return self.max_content_length + (REDACTION_MARGIN if self.redact_pii else 0)


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
    evaluators = _evaluators(pick("evaluators", lambda s, r: _evaluators(r)) or ())
    redact = pick("redact_pii", parse_bool)
    values["redact_pii"] = bool(redact) or "pii" in evaluators
    values["evaluators"] = tuple(e for e in evaluators if e != "pii")
    rules = pick("evaluator_sampling_rules", lambda s, r: parse_rules(r, s))
    values["evaluator_sampling_rules"] = parse_rules(rules) if rules is not None else ()
    values["evaluator_timeout"] = _positive_number("evaluator_timeout", pick("evaluator_timeout", _float), 10.0)
    for name, default, minimum in (("evaluation_queue_size", 2048, 1), ("evaluation_workers", 2, 1)):
        number = pick(name, lambda s, r, m=minimum: parse_int(s, r, minimum=m))  # type: ignore[misc]
        if number is not None and (isinstance(number, bool) or not isinstance(number, int) or number < minimum):
            raise ConfigurationError(name, number, f"an integer >= {minimum}")
        values[name] = default if number is None else number
    place = pick("evaluation_in", lambda s, r: _choice(s, r, EVALUATION_PLACES))
    if place is not None and place not in EVALUATION_PLACES:
        raise ConfigurationError("evaluation_in", place, EVALUATION_PLACES)
    values["evaluation_in"] = place or "thread"
    values.update(_pii_settings(pick))
    values.update(_judge_settings(pick, given))
    values.update(_sink_settings(pick, values))
    compat = pick("compat", lambda s, r: _names(s, r, COMPAT_MODES))
    values["compat"] = () if compat is None else _names("compat", compat, COMPAT_MODES)
    record_metrics = pick("metrics", parse_bool)
    values["metrics"] = True if record_metrics is None else bool(record_metrics)
    for flag in ("stream_usage", "propagate_trace_context"):
        values[flag] = bool(pick(flag, parse_bool))
    for name, default in (("max_content_length", 32_768), ("max_blob_length", 4_096)):
        limit = pick(name, lambda s, r: parse_int(s, r, minimum=16))
        if limit is not None and (not isinstance(limit, int) or isinstance(limit, bool) or limit < 16):
            raise ConfigurationError(name, limit, "an integer >= 16")
        values[name] = default if limit is None else limit
    values.update(_export_settings(pick))
    resource_attributes = given.get("resource_attributes") or {}
    if not isinstance(resource_attributes, Mapping):
        raise ConfigurationError("resource_attributes", resource_attributes, "a mapping of attribute names to values")
    values["resource_attributes"] = dict(resource_attributes)
    _check_types(values)
    return Settings(**values)


def _float(setting: str, raw: str) -> float:
    try:
        return float(raw)
    except ValueError:
        raise ConfigurationError(setting, raw, "a number") from None


def _positive_number(setting: str, value: Any, default: float) -> float:
    if value is None:
        return default
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < float("inf"):
        raise ConfigurationError(setting, value, "a positive number of seconds")
    return float(value)


def _names_or_objects(setting: str, raw: Any, names: Sequence[str], is_object: Callable[[Any], bool],
                      objects: str) -> tuple[Any, ...]:
    """Built-in names (comma-separated text or a list) and objects ``is_object`` accepts, validated."""
    items = [s.strip() for s in raw.split(",")] if isinstance(raw, str) else list(raw)
    out: list[Any] = []
    for item in items:
        if isinstance(item, str):
            if not item:
                continue
            if item not in names:
                raise ConfigurationError(setting, item, (*names, objects))
        elif not is_object(item):
            raise ConfigurationError(setting, item, f"built-in names or {objects}")
        out.append(item)
    return tuple(out)


def _evaluators(raw: Any) -> tuple[Any, ...]:
    """Built-in evaluator names and evaluator objects (a non-empty ``name`` and an ``evaluate(input)`` method)."""
    return _names_or_objects(
        "evaluators", raw, BUILTIN_EVALUATORS,
        lambda e: isinstance(getattr(e, "name", None), str) and bool(e.name) and callable(getattr(e, "evaluate", 0)),
        "evaluator objects with a non-empty `name` and an `evaluate(input)` method")


def _string_list(setting: str, raw: Any) -> tuple[str, ...]:
    items = [s.strip() for s in raw.split(",")] if isinstance(raw, str) else raw
    if not isinstance(items, (list, tuple)) or not all(isinstance(i, str) for i in items):
        raise ConfigurationError(setting, raw, "a list of strings (or comma-separated text)")
    return tuple(i for i in items if i)


def _pii_settings(pick: Callable[..., Any]) -> dict[str, Any]:
    entities = pick("pii_entities", _string_list)
    operator = pick("pii_operator", lambda s, r: _choice(s, r, PII_OPERATORS))
    if operator is not None and operator not in PII_OPERATORS:
        raise ConfigurationError("pii_operator", operator, PII_OPERATORS)
    threshold = pick("pii_score_threshold", _float)
    if threshold is not None and (isinstance(threshold, bool) or not isinstance(threshold, (int, float))
                                  or not 0.0 <= threshold <= 1.0):
        raise ConfigurationError("pii_score_threshold", threshold, "a number between 0 and 1")
    allow = pick("pii_allow_list", _string_list)
    use_ner = pick("pii_use_ner", parse_bool)
    if use_ner is not None and not isinstance(use_ner, bool):
        raise ConfigurationError("pii_use_ner", use_ner, "True, False or None (use NER when a model is installed)")
    key = pick("pii_hash_key", lambda s, r: r)
    if key is not None and (not isinstance(key, str) or not key):
        raise ConfigurationError("pii_hash_key", key, "a non-empty string")
    return {
        "pii_entities": None if entities is None else _string_list("pii_entities", entities),
        "pii_operator": operator or "replace",
        "pii_score_threshold": 0.5 if threshold is None else float(threshold),
        "pii_allow_list": () if allow is None else _string_list("pii_allow_list", allow),
        "pii_hash_key": key,
        "pii_use_ner": use_ner,
    }


def _judge_settings(pick: Callable[..., Any], given: Mapping[str, Any]) -> dict[str, Any]:
    judge = given.get("judge")
    if judge is not None and not callable(getattr(judge, "ask", None)):
        raise ConfigurationError("judge", judge, "an llmotel.evaluation.judge.Judge")
    provider = pick("judge_provider", lambda s, r: _choice(s, r, JUDGE_PROVIDERS))
    if provider is not None and provider not in JUDGE_PROVIDERS:
        raise ConfigurationError("judge_provider", provider, JUDGE_PROVIDERS)
    model = pick("judge_model", lambda s, r: r)
    if (provider is None) != (model is None) or (model is not None and (not isinstance(model, str) or not model)):
        raise ConfigurationError("judge_model" if provider else "judge_provider", model if provider else provider,
                                 "judge_provider ('openai' or 'anthropic') and judge_model set together")
    base_url = pick("judge_base_url", validate_endpoint)
    budget = pick("judge_max_tokens_per_minute", lambda s, r: parse_int(s, r, minimum=1))
    if budget is not None and (isinstance(budget, bool) or not isinstance(budget, int) or budget < 1):
        raise ConfigurationError("judge_max_tokens_per_minute", budget, "an integer >= 1")
    topics = pick("relevant_topics", _string_list)
    return {
        "judge": judge,
        "judge_provider": provider,
        "judge_model": model,
        "judge_base_url": base_url,
        "judge_timeout": _positive_number("judge_timeout", pick("judge_timeout", _float), 30.0),
        "judge_max_tokens_per_minute": budget,
        "trace_judge": bool(pick("trace_judge", parse_bool)),
        "relevant_topics": () if topics is None else _string_list("relevant_topics", topics),
    }


def _export_settings(pick: Callable[..., Any]) -> dict[str, Any]:
    timeout = pick("export_timeout", _float, "OTEL_EXPORTER_OTLP_TRACES_TIMEOUT", "OTEL_EXPORTER_OTLP_TIMEOUT")
    window = pick("export_retry_window", _float)
    if window is not None and (isinstance(window, bool) or not isinstance(window, (int, float)) or not
                               0 <= window < float("inf")):
        raise ConfigurationError("export_retry_window", window, "a number of seconds >= 0")
    queue_size = pick("export_queue_size", lambda s, r: parse_int(s, r, minimum=1), "OTEL_BSP_MAX_QUEUE_SIZE")
    if queue_size is not None and (isinstance(queue_size, bool) or not isinstance(queue_size, int) or queue_size < 1):
        raise ConfigurationError("export_queue_size", queue_size, "an integer >= 1")
    compression = pick("compression", lambda s, r: _choice(s, r, COMPRESSIONS),
                       "OTEL_EXPORTER_OTLP_TRACES_COMPRESSION", "OTEL_EXPORTER_OTLP_COMPRESSION")
    if compression is not None and compression not in COMPRESSIONS:
        raise ConfigurationError("compression", compression, COMPRESSIONS)
    files = {}
    for name, suffix in (("otlp_certificate", "CERTIFICATE"), ("otlp_client_certificate", "CLIENT_CERTIFICATE"),
                         ("otlp_client_key", "CLIENT_KEY")):
        files[name] = pick(name, _readable_file, f"OTEL_EXPORTER_OTLP_TRACES_{suffix}", f"OTEL_EXPORTER_OTLP_{suffix}")
    return {
        "export_timeout": _positive_number("export_timeout", timeout, 10.0),
        "export_retry_window": 30.0 if window is None else float(window),
        "export_queue_size": 2048 if queue_size is None else queue_size,
        "compression": None if compression in (None, "none") else compression,
        **files,
    }


def _readable_file(setting: str, raw: str) -> str:
    if not os.path.isfile(raw) or not os.access(raw, os.R_OK):
        raise ConfigurationError(setting, raw, "the path of a readable file")
    return raw


def _sinks(raw: Any) -> tuple[Any, ...]:
    """Built-in sink names and sink objects (span processors: ``on_end`` and ``force_flush``)."""
    return _names_or_objects(
        "evaluation_sinks", raw, EVALUATION_SINKS,
        lambda e: callable(getattr(e, "on_end", None)) and callable(getattr(e, "force_flush", None)),
        "llmotel.evaluation.sinks.EvaluationSink objects")


def _http_base(setting: str, value: Any, fallback: str | None, what: str) -> str:
    """A sink's server URL: the value given, else the OTLP/HTTP endpoint (the same server); validated."""
    if value is None:
        if fallback is None:
            raise ConfigurationError(setting, None, what)
        return fallback
    if not isinstance(value, str):
        raise ConfigurationError(setting, value, what)
    return validate_endpoint(setting, value)


def _secret(setting: str, value: Any) -> str | None:
    if value is not None and (not isinstance(value, str) or not value):
        raise ConfigurationError(setting, "<hidden>", "a non-empty string")
    return value


def _sink_settings(pick: Callable[..., Any], values: Mapping[str, Any]) -> dict[str, Any]:
    """Sink names and each named sink's server, key and application, checked for the sinks asked for."""
    ident: Callable[[str, str], str] = lambda _s, r: r  # noqa: E731
    sinks = _sinks(pick("evaluation_sinks", lambda s, r: _sinks(r)) or ())
    names = {s for s in sinks if isinstance(s, str)}
    http_endpoint = values["endpoint"] if values["protocol"] == "http/protobuf" else None
    out: dict[str, Any] = {
        "evaluation_sinks": sinks,
        "phoenix_endpoint": pick("phoenix_endpoint", ident, "PHOENIX_COLLECTOR_ENDPOINT"),
        "phoenix_api_key": _secret("phoenix_api_key", pick("phoenix_api_key", ident, "PHOENIX_API_KEY")),
        "mlflow_tracking_uri": pick("mlflow_tracking_uri", ident, "MLFLOW_TRACKING_URI"),
        "mlflow_tracking_token": _secret("mlflow_tracking_token",
                                         pick("mlflow_tracking_token", ident, "MLFLOW_TRACKING_TOKEN")),
        "datadog_api_key": _secret("datadog_api_key", pick("datadog_api_key", ident, "DD_API_KEY")),
        "datadog_site": pick("datadog_site", ident, "DD_SITE") or "datadoghq.com",
        "datadog_ml_app": pick("datadog_ml_app", ident, "DD_LLMOBS_ML_APP"),
        "datadog_intake_url": pick("datadog_intake_url", validate_endpoint),
    }
    if "phoenix" in names:
        out["phoenix_endpoint"] = _http_base(
            "phoenix_endpoint", out["phoenix_endpoint"], http_endpoint,
            "Phoenix's base URL, e.g. http://localhost:6006 (default: the OTLP/HTTP endpoint)")
    if "mlflow" in names:
        out["mlflow_tracking_uri"] = _http_base(
            "mlflow_tracking_uri", out["mlflow_tracking_uri"], http_endpoint,
            "the MLflow tracking server's URL, e.g. http://localhost:5000 (default: the OTLP/HTTP endpoint)")
    if "datadog" in names:
        if out["datadog_api_key"] is None:
            raise ConfigurationError("datadog_api_key", None, "a Datadog API key (or DD_API_KEY) for the datadog sink")
        out["datadog_ml_app"] = out["datadog_ml_app"] or values["service_name"]
        if not isinstance(out["datadog_ml_app"], str) or not out["datadog_ml_app"]:
            raise ConfigurationError("datadog_ml_app", out["datadog_ml_app"],
                                     "the LLM application name (or DD_LLMOBS_ML_APP, or service_name)")
    return out


def _check_types(values: Mapping[str, Any]) -> None:
    for name in ("service_name", "traces_file"):
        value = values[name]
        if value is not None and not isinstance(value, str):
            raise ConfigurationError(name, value, "a string")
    for name in ("console", "capture_content", "metrics", "stream_usage", "propagate_trace_context", "disabled",
                 "redact_pii", "trace_judge"):
        if not isinstance(values[name], bool):
            raise ConfigurationError(name, values[name], "True or False")


def from_env(capture_default: bool = True) -> Settings:
    """Settings from the environment only (used by ``opentelemetry-instrument`` and manual spans)."""
    return resolve(capture_default=capture_default)
