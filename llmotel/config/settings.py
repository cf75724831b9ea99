"""The flat settings object and its resolution: ``enable()`` arguments and option groups > ``LLMOTEL_*`` env >
``OTEL_*`` env > defaults, read and checked by the settings table."""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from llmotel.config.options import (
    ContentOptions,
    EvaluationOptions,
    ExportOptions,
    G,
    JudgeOptions,
    OptionGroup,
    PiiOptions,
    group_from,
)
from llmotel.config.table import BY_NAME, GROUP_CLASSES
from llmotel.config.validation import check_pii_entities_need_ner, validate_endpoint
from llmotel.content import REDACTION_MARGIN
from llmotel.errors import ConfigurationError


@dataclass(frozen=True)
class Settings:
    """Everything llmotel is configured with, flat (the option groups' fields under their table names).

    Build it with :func:`resolve`; :meth:`group` gives one option group's part back."""

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
    pii_hash_key: str | None = field(default=None, repr=False)
    pii_use_ner: bool | None = None
    #: an llmotel.evaluation.judge.Judge (argument only), or one built from judge_provider + judge_model (JudgeOptions)
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
    #: TLS files (ExportOptions, or OTEL_EXPORTER_OTLP_[TRACES_]CERTIFICATE / CLIENT_CERTIFICATE / CLIENT_KEY)
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

    def group(self, cls: type[G]) -> G:
        """The option group ``cls`` with this configuration's values (e.g. ``settings.group(PiiOptions)``)."""
        return group_from(cls, {name: getattr(self, name) for name in self.names()})


def resolve(env: Mapping[str, str] | None = None, *, capture_default: bool = True,
            export: ExportOptions | None = None, content: ContentOptions | None = None,
            evaluation: EvaluationOptions | None = None, pii: PiiOptions | None = None, judge: Any = None,
            **arguments: Any) -> Settings:
    """Build :class:`Settings` from arguments and option groups (``None`` means "not given"), then the
    environment, then the defaults.

    ``arguments`` are ``Settings`` field names (the flat ``enable()`` arguments, and for internal callers any
    other field); ``judge`` is a ``Judge`` object or :class:`JudgeOptions`. ``capture_default`` is the
    content-capture default when nothing sets it: on for ``enable()``, off for an instrumentor started on its own
    (e.g. by ``opentelemetry-instrument``), as the GenAI conventions expect.
    """
    env = os.environ if env is None else env
    unknown = set(arguments) - set(BY_NAME)
    if unknown:
        raise ConfigurationError("enable() argument", sorted(unknown)[0], Settings.names())
    given: dict[str, Any] = {}
    for name, value in arguments.items():
        if value is not None:
            given[name] = _argument(name, value)
    groups: dict[str, OptionGroup | None] = {"export": export, "content": content, "evaluation": evaluation,
                                             "pii": pii}
    if isinstance(judge, JudgeOptions):
        groups["judge"] = judge
    elif judge is not None:
        given["judge"] = _argument("judge", judge)
    for argument, options in groups.items():
        if options is None:
            continue
        cls = GROUP_CLASSES[argument]
        if not isinstance(options, cls):
            raise ConfigurationError(argument, options, f"an llmotel.{cls.__name__}")
        for name, value in options.given().items():
            if name in given:
                raise ConfigurationError(name, value, "one value: given as an argument and in its option group")
            given[name] = value
    values = {name: given[name] if name in given else _from_env(name, env) for name in BY_NAME}
    return Settings(**_completed(values, capture_default))


def _argument(name: str, value: Any) -> Any:
    parser = BY_NAME[name].parser
    assert parser is not None
    return parser.argument(name, value)


def _from_env(name: str, env: Mapping[str, str]) -> Any:
    """The value of the first of the setting's variables that is set (and not blank), or None."""
    row = BY_NAME[name]
    for var in row.env_names:
        raw = env.get(var)
        if raw is not None and raw.strip():
            assert row.parser is not None
            return row.parser.text(var, raw.strip())
    return None


def _completed(values: dict[str, Any], capture_default: bool) -> dict[str, Any]:
    """Defaults filled in, the defaults that depend on other settings derived, and checks across settings."""
    out = dict(values)
    for name, row in BY_NAME.items():
        if out[name] is None and row.default is not None:
            out[name] = dict(row.default) if isinstance(row.default, dict) else row.default
    if out["exporter"] is None:
        out["exporter"] = "otlp" if out["endpoint"] else "console"
    if out["exporter"] == "otlp" and not out["endpoint"]:
        raise ConfigurationError("endpoint", None, "an OTLP endpoint URL when exporter='otlp'")
    if out["console"] is None:
        out["console"] = out["exporter"] == "console"
    if out["capture_content"] is None:
        out["capture_content"] = capture_default
    out["redact_pii"] = out["redact_pii"] or "pii" in out["evaluators"]
    out["evaluators"] = tuple(e for e in out["evaluators"] if e != "pii")
    if out["compression"] == "none":
        out["compression"] = None
    check_pii_entities_need_ner(out["pii_entities"], out["pii_use_ner"])
    provider, model = out["judge_provider"], out["judge_model"]
    if (provider is None) != (model is None):
        raise ConfigurationError("judge_model" if provider else "judge_provider", model if provider else provider,
                                 "judge_provider ('openai' or 'anthropic') and judge_model set together")
    _check_sinks(out)
    return out


def _http_base(setting: str, value: Any, fallback: str | None, what: str) -> str:
    """A sink's server URL: the value given, else the OTLP/HTTP endpoint (the same server); validated."""
    if value is None:
        if fallback is None:
            raise ConfigurationError(setting, None, what)
        return fallback
    return validate_endpoint(setting, value)


def _check_sinks(out: dict[str, Any]) -> None:
    """Each named sink's server, key and application, checked (and defaulted) for the sinks asked for."""
    names = {s for s in out["evaluation_sinks"] if isinstance(s, str)}
    http_endpoint = out["endpoint"] if out["protocol"] == "http/protobuf" else None
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
        out["datadog_ml_app"] = out["datadog_ml_app"] or out["service_name"]
        if not isinstance(out["datadog_ml_app"], str) or not out["datadog_ml_app"]:
            raise ConfigurationError("datadog_ml_app", out["datadog_ml_app"],
                                     "the LLM application name (or DD_LLMOBS_ML_APP, or service_name)")


def from_env(capture_default: bool = True) -> Settings:
    """Settings from the environment only (used by ``opentelemetry-instrument`` and manual spans)."""
    return resolve(capture_default=capture_default)
