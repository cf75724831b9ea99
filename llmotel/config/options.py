"""The option groups ``enable()`` takes beside its few flat arguments.

``enable(export=ExportOptions(...), content=ContentOptions(...), evaluation=EvaluationOptions(...),
pii=PiiOptions(...), judge=JudgeOptions(...))``. Every field defaults to None, meaning "not given": the
field's environment variable applies, else its default. Values are checked when the group is made (a
:class:`llmotel.ConfigurationError` naming the setting). Each field declares its row of the settings table
(:mod:`llmotel.config.table`): its ``Settings`` name, environment variables, parser, default and meaning.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, TypeVar

from llmotel.config import validation as v
from llmotel.config.choices import (
    COMPAT_MODES,
    COMPRESSIONS,
    EVALUATION_PLACES,
    EVALUATION_SINKS,
    JUDGE_PROVIDERS,
    PII_OPERATORS,
)
from llmotel.config.spec import Setting, option

G = TypeVar("G", bound="OptionGroup")


class OptionGroup:
    """Base of the option groups: checks the fields given, fills defaults on request."""

    #: the ``enable()`` argument the group is given as
    argument: ClassVar[str]

    def __post_init__(self) -> None:
        for name, row in self.settings().items():
            value = getattr(self, name)
            if value is not None:
                assert row.parser is not None
                object.__setattr__(self, name, row.parser.check(row.name, value))
        self._check()

    def _check(self) -> None:
        """Checks across fields (when the fields involved are given)."""

    @classmethod
    def settings(cls) -> dict[str, Setting]:
        """Field name -> its row of the settings table."""
        fields = dataclasses.fields(cls)  # type: ignore[arg-type]
        return {f.name: dataclasses.replace(f.metadata["setting"], group=cls.argument, option=f.name)
                for f in fields}

    def with_defaults(self: G) -> G:
        """These options with every field not given set to its default (the environment is not read)."""
        return dataclasses.replace(self, **{  # type: ignore[type-var]
            name: row.default for name, row in self.settings().items() if getattr(self, name) is None})

    def given(self) -> dict[str, Any]:
        """``Settings`` name -> value, for the fields given."""
        return {row.name: getattr(self, name) for name, row in self.settings().items()
                if getattr(self, name) is not None}

    def as_kwargs(self) -> dict[str, Any]:
        """Field name -> value (for building the component the group configures)."""
        return {name: getattr(self, name) for name in self.settings()}


_OTLP = "OTEL_EXPORTER_OTLP_"


@dataclass(frozen=True)
class ExportOptions(OptionGroup):
    """How spans (and GenAI metrics) are exported, beyond the endpoint, protocol and headers themselves."""

    argument: ClassVar[str] = "export"

    timeout: float | None = option(
        "export_timeout", v.SECONDS, 10.0,
        "seconds one OTLP export request may take (seconds, as the Python SDK reads these variables); "
        "`flush`/`shutdown` bound it further by their own timeout",
        env=(f"{_OTLP}TRACES_TIMEOUT", f"{_OTLP}TIMEOUT"))
    retry_window: float | None = option(
        "export_retry_window", v.SECONDS_OR_ZERO, 30.0,
        "seconds a batch that failed with a retryable outcome (429, 5xx, refused, timeout, gRPC `UNAVAILABLE`…) "
        "is kept and retried with backoff (`Retry-After` honoured); `0` never retries")
    queue_size: int | None = option(
        "export_queue_size", v.integer(1), 2048,
        "spans waiting for export (also during an outage); beyond it new spans are dropped and counted",
        env=("OTEL_BSP_MAX_QUEUE_SIZE",))
    compression: str | None = option(
        "compression", v.choice(COMPRESSIONS), None, "`gzip` or `none`",
        env=(f"{_OTLP}TRACES_COMPRESSION", f"{_OTLP}COMPRESSION"))
    certificate: str | None = option(
        "otlp_certificate", v.READABLE_FILE, None, "TLS: the CA bundle to verify the endpoint with",
        env=(f"{_OTLP}TRACES_CERTIFICATE", f"{_OTLP}CERTIFICATE"))
    client_certificate: str | None = option(
        "otlp_client_certificate", v.READABLE_FILE, None, "mTLS: the client certificate",
        env=(f"{_OTLP}TRACES_CLIENT_CERTIFICATE", f"{_OTLP}CLIENT_CERTIFICATE"))
    client_key: str | None = option(
        "otlp_client_key", v.READABLE_FILE, None, "mTLS: the client certificate's key",
        env=(f"{_OTLP}TRACES_CLIENT_KEY", f"{_OTLP}CLIENT_KEY"))
    traces_file: str | None = option(
        "traces_file", v.TEXT, None, "also write OTLP/JSON lines to this file")
    console: bool | None = option(
        "console", v.BOOLEAN, None, "the one-line-per-call summary on stderr", default_doc="on without an endpoint")
    metrics: bool | None = option(
        "metrics", v.BOOLEAN, True, "record `gen_ai.client.*` metrics")


@dataclass(frozen=True)
class ContentOptions(OptionGroup):
    """What the instrumentation records of each call, and what it adds to the provider request."""

    argument: ClassVar[str] = "content"

    max_content_length: int | None = option(
        "max_content_length", v.integer(16), 32_768, "characters kept per text part (then a truncation marker)")
    max_blob_length: int | None = option(
        "max_blob_length", v.integer(16), 4_096, "base64 characters kept per image/audio part")
    stream_usage: bool | None = option(
        "stream_usage", v.BOOLEAN, False,
        'add `stream_options={"include_usage": true}` to streamed chat/completions calls that lack it')
    propagate_trace_context: bool | None = option(
        "propagate_trace_context", v.BOOLEAN, False, "send `traceparent` to the provider")
    compat: Sequence[str] | None = option(
        "compat", v.names(COMPAT_MODES), (),
        '`["openinference"]`: also write the OpenInference attributes Phoenix renders (see [Backends](#backends))')


def _is_sink(value: Any) -> bool:
    return callable(getattr(value, "on_end", None)) and callable(getattr(value, "force_flush", None))


@dataclass(frozen=True)
class EvaluationOptions(OptionGroup):
    """How the evaluators (``enable(evaluators=...)``) run, and where their results are also delivered."""

    argument: ClassVar[str] = "evaluation"

    sampling_rules: Sequence[Any] | str | None = option(
        "evaluator_sampling_rules", v.SAMPLING_RULES, (),
        'JSON list of `{"evaluator", "rate", "span_name", "model"}` (globs); first match per evaluator wins',
        default_doc="every LLM span")
    timeout: float | None = option(
        "evaluator_timeout", v.SECONDS, 10.0,
        "seconds per evaluator per span (an evaluator's own `timeout` attribute wins)")
    queue_size: int | None = option(
        "evaluation_queue_size", v.integer(1), 2048,
        "spans waiting for evaluation; beyond it spans are exported unevaluated")
    workers: int | None = option(
        "evaluation_workers", v.integer(1), 2,
        "worker threads for evaluators that wait (judges, custom ones; they run on a pool of twice as many); "
        "the built-in offline checks run on one worker")
    run_in: str | None = option(
        "evaluation_in", v.choice(EVALUATION_PLACES), "thread",
        "`thread` (the application's worker threads) or `subprocess` (a child process llmotel starts: off the "
        "application's GIL)")
    relevant_topics: Sequence[str] | None = option(
        "relevant_topics", v.STRINGS, (), "the topics the `topic_relevancy` check allows")
    sinks: Sequence[Any] | str | None = option(
        "evaluation_sinks",
        v.names_or_objects(EVALUATION_SINKS, _is_sink, "llmotel.evaluation.sinks.EvaluationSink objects"), (),
        "also deliver evaluation results to `phoenix`, `mlflow`, `datadog` and/or sink objects (argument only); "
        "see [Evaluation sinks](#evaluation-sinks)")
    phoenix_endpoint: str | None = option(
        "phoenix_endpoint", v.TEXT, None, "Phoenix's base URL (the `phoenix` sink)",
        env=("PHOENIX_COLLECTOR_ENDPOINT",), default_doc="the OTLP/HTTP endpoint")
    phoenix_api_key: str | None = option(
        "phoenix_api_key", v.SECRET, None, "Phoenix's API key (the `phoenix` sink)", env=("PHOENIX_API_KEY",),
        secret=True)
    mlflow_tracking_uri: str | None = option(
        "mlflow_tracking_uri", v.TEXT, None, "the MLflow tracking server (the `mlflow` sink)",
        env=("MLFLOW_TRACKING_URI",), default_doc="the OTLP/HTTP endpoint")
    mlflow_tracking_token: str | None = option(
        "mlflow_tracking_token", v.SECRET, None, "the MLflow server's token (the `mlflow` sink)",
        env=("MLFLOW_TRACKING_TOKEN",), secret=True)
    datadog_api_key: str | None = option(
        "datadog_api_key", v.SECRET, None, "the Datadog API key (the `datadog` sink)", env=("DD_API_KEY",),
        secret=True)
    datadog_site: str | None = option(
        "datadog_site", v.TEXT, "datadoghq.com", "the Datadog site (the `datadog` sink)", env=("DD_SITE",))
    datadog_ml_app: str | None = option(
        "datadog_ml_app", v.TEXT, None, "the LLM application's name in Datadog (the `datadog` sink)",
        env=("DD_LLMOBS_ML_APP",), default_doc="`service_name`")
    datadog_intake_url: str | None = option(
        "datadog_intake_url", v.URL, None, "the Datadog evaluation-metric intake (the `datadog` sink)",
        default_doc="from the site")


@dataclass(frozen=True)
class PiiOptions(OptionGroup):
    """How PII is found and replaced when ``redact_pii`` (or the ``pii`` evaluator) is on.

    ``entities``: entity types to redact (None: every pattern entity, plus PERSON/LOCATION when NER is on).
    ``score_threshold``: minimum detection score, 0..1. ``operator``: ``replace`` (``<EMAIL_ADDRESS>``),
    ``mask`` (same-length ``*``), ``hash`` (``<EMAIL_ADDRESS:16 hex digits>``, a keyed HMAC-SHA256) or ``drop``
    (remove the value). ``allow_list``: exact values never redacted. ``hash_key``: key for ``hash`` so the same
    value hashes the same across spans and processes; None uses a random per-process key. ``use_ner``: None uses
    a spaCy NER model for PERSON/LOCATION when one is installed; False never; True requires it.
    """

    argument: ClassVar[str] = "pii"

    entities: Sequence[str] | None = option(
        "pii_entities", v.PII_ENTITIES, None, "e.g. `EMAIL_ADDRESS,PHONE_NUMBER`",
        default_doc="all pattern entities (+ names/locations with NER)")
    score_threshold: float | None = option(
        "pii_score_threshold", v.FRACTION, 0.5, "minimum detection score, 0..1")
    operator: str | None = option(
        "pii_operator", v.choice(PII_OPERATORS), "replace",
        "`replace` (`<EMAIL_ADDRESS>`), `mask` (`*****`), `hash` (`<EMAIL_ADDRESS:3f2a…>`), `drop`")
    allow_list: Sequence[str] | None = option(
        "pii_allow_list", v.STRINGS, (), "exact values never redacted")
    hash_key: str | None = option(
        "pii_hash_key", v.SECRET, None, "key for `hash` (same key → same hash across processes)",
        default_doc="random per process", secret=True)
    use_ner: bool | None = option(
        "pii_use_ner", v.BOOLEAN, None,
        "names and locations with spaCy (`llmotel[pii-ner]`); `false` never, `true` requires it",
        default_doc="when a model is installed")

    def _check(self) -> None:
        v.check_pii_entities_need_ner(self.entities, self.use_ner)


@dataclass(frozen=True)
class JudgeOptions(OptionGroup):
    """The LLM judge llmotel builds for the judge checks (``hallucination``, ``prompt_injection``, ...).

    ``enable(judge=...)`` takes these options, or a ready :class:`llmotel.evaluation.judge.Judge`.
    """

    argument: ClassVar[str] = "judge"

    provider: str | None = option(
        "judge_provider", v.choice(JUDGE_PROVIDERS), None, "`openai` or `anthropic` (set with `model`)")
    model: str | None = option(
        "judge_model", v.NON_EMPTY_TEXT, None, "the judge's model (set with `provider`)")
    base_url: str | None = option(
        "judge_base_url", v.URL, None, "the provider's API base URL", default_doc="the SDK's")
    timeout: float | None = option(
        "judge_timeout", v.SECONDS, 30.0, "seconds one judge request may take")
    max_tokens_per_minute: int | None = option(
        "judge_max_tokens_per_minute", v.integer(1), None, "the judge's token budget per minute",
        default_doc="no limit")
    trace: bool | None = option(
        "trace_judge", v.BOOLEAN, False, "trace the judge's own LLM calls")


#: every option group, in the order of ``enable()``'s arguments
GROUPS: tuple[type[OptionGroup], ...] = (ExportOptions, ContentOptions, EvaluationOptions, PiiOptions, JudgeOptions)


def group_from(cls: type[G], values: Mapping[str, Any]) -> G:
    """The group ``cls`` with its fields taken from ``Settings`` values (by their ``Settings`` names)."""
    return cls(**{name: values[row.name] for name, row in cls.settings().items()})
