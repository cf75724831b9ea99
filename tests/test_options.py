"""The option groups of enable() and the settings table behind them: every setting's precedence (argument >
LLMOTEL_* > its standard variable > default), checks naming the setting, the TypeError for each moved argument,
and the README's configuration tables generated from the table."""

from __future__ import annotations

import dataclasses
import re
from pathlib import Path
from typing import Any

import pytest

import llmotel
from llmotel import _setup
from llmotel.config import GROUPS, PiiOptions, Settings, resolve
from llmotel.config.table import BY_NAME, FLAT, GROUP_CLASSES, TABLE, markdown, readme_section
from llmotel.errors import ConfigurationError
from llmotel.sampling_rules import SamplingRule

README = Path(__file__).resolve().parents[1] / "README.md"


def samples(tmp: Path) -> dict[str, tuple[str, Any, Any, Any, dict[str, Any]]]:
    """Settings name -> (environment text, its value, an argument, its value, companions needed when it is set)."""
    ca, cb = tmp / "a.pem", tmp / "b.pem"
    ca.write_text("a")
    cb.write_text("b")
    files = (str(ca), str(ca), str(cb), str(cb), {})
    http = {"endpoint": "http://collector:4318"}
    return {
        "service_name": ("env-svc", "env-svc", "arg-svc", "arg-svc", {}),
        "endpoint": ("http://env:4318", "http://env:4318", "http://arg:4318", "http://arg:4318", {}),
        "protocol": ("grpc", "grpc", "http/protobuf", "http/protobuf", {}),
        "headers": ("a=1", {"a": "1"}, {"B": "2"}, {"b": "2"}, {}),
        "exporter": ("none", "none", "console", "console", {}),
        "capture_content": ("NO_CONTENT", False, True, True, {}),
        "instrument": ("openai", ("openai",), ["anthropic"], ("anthropic",), {}),
        "evaluators": ("sentiment", ("sentiment",), ["toxicity"], ("toxicity",), {}),
        "redact_pii": ("true", True, False, False, {}),
        "disabled": ("true", True, False, False, {}),
        "export_timeout": ("3", 3.0, 4, 4.0, {}),
        "export_retry_window": ("0", 0.0, 5, 5.0, {}),
        "export_queue_size": ("10", 10, 20, 20, {}),
        "compression": ("gzip", "gzip", "none", None, {}),
        "otlp_certificate": files,
        "otlp_client_certificate": files,
        "otlp_client_key": files,
        "traces_file": ("a.jsonl", "a.jsonl", "b.jsonl", "b.jsonl", {}),
        "console": ("false", False, True, True, {}),
        "metrics": ("false", False, True, True, {}),
        "max_content_length": ("100", 100, 200, 200, {}),
        "max_blob_length": ("100", 100, 200, 200, {}),
        "stream_usage": ("true", True, False, False, {}),
        "propagate_trace_context": ("true", True, False, False, {}),
        "compat": ("openinference", ("openinference",), [], (), {}),
        "evaluator_sampling_rules": ('[{"rate": 0.5}]', (SamplingRule(rate=0.5),), [{"rate": 0.1}],
                                     (SamplingRule(rate=0.1),), {}),
        "evaluator_timeout": ("3", 3.0, 4, 4.0, {}),
        "evaluation_queue_size": ("5", 5, 6, 6, {}),
        "evaluation_workers": ("3", 3, 4, 4, {}),
        "evaluation_in": ("subprocess", "subprocess", "thread", "thread", {}),
        "relevant_topics": ("a, b", ("a", "b"), ["c"], ("c",), {}),
        "evaluation_sinks": ("mlflow", ("mlflow",), ["phoenix"], ("phoenix",), http),
        "phoenix_endpoint": ("http://p:6006", "http://p:6006", "http://q:6006", "http://q:6006", {}),
        "phoenix_api_key": ("k1", "k1", "k2", "k2", {}),
        "mlflow_tracking_uri": ("databricks", "databricks", "http://m:5000", "http://m:5000", {}),
        "mlflow_tracking_token": ("t1", "t1", "t2", "t2", {}),
        "datadog_api_key": ("d1", "d1", "d2", "d2", {}),
        "datadog_site": ("datadoghq.eu", "datadoghq.eu", "us3.datadoghq.com", "us3.datadoghq.com", {}),
        "datadog_ml_app": ("app1", "app1", "app2", "app2", {}),
        "datadog_intake_url": ("http://i:1", "http://i:1", "http://j:2", "http://j:2", {}),
        "pii_entities": ("EMAIL_ADDRESS", ("EMAIL_ADDRESS",), ["IBAN_CODE"], ("IBAN_CODE",), {}),
        "pii_score_threshold": ("0.7", 0.7, 0.9, 0.9, {}),
        "pii_operator": ("MASK", "mask", "hash", "hash", {}),
        "pii_allow_list": ("a,b", ("a", "b"), ["c"], ("c",), {}),
        "pii_hash_key": ("k1", "k1", "k2", "k2", {}),
        "pii_use_ner": ("false", False, True, True, {}),
        "judge_provider": ("anthropic", "anthropic", "openai", "openai", {"judge_model": "m"}),
        "judge_model": ("m1", "m1", "m2", "m2", {"judge_provider": "openai"}),
        "judge_base_url": ("http://b:1", "http://b:1", "http://c:2", "http://c:2", {}),
        "judge_timeout": ("3", 3.0, 4, 4.0, {}),
        "judge_max_tokens_per_minute": ("100", 100, 200, 200, {}),
        "trace_judge": ("true", True, False, False, {}),
    }


READ_FROM_ENV = [row for row in TABLE if row.stored and row.env_names]


def as_argument(name: str, value: Any) -> dict[str, Any]:
    """``resolve()`` keyword arguments giving ``value`` the way ``enable()`` takes it (flat, or in its group)."""
    row = BY_NAME[name]
    if row.group is None:
        return {name: value}
    return {row.group: GROUP_CLASSES[row.group](**{row.option: value})}


def test_every_setting_read_from_the_environment_has_a_sample(tmp_path):
    assert {row.name for row in READ_FROM_ENV} == set(samples(tmp_path))


@pytest.mark.parametrize("row", READ_FROM_ENV, ids=lambda r: r.name)
def test_precedence_argument_then_llmotel_then_standard_variable_then_default(row, tmp_path):
    text, env_value, argument, argument_value, companions = samples(tmp_path)[row.name]
    assert getattr(resolve(env={}), row.name) == getattr(Settings(), row.name)
    last = row.env_names[-1]  # the most general variable (OTEL_EXPORTER_OTLP_TIMEOUT, DD_API_KEY, ...)
    assert getattr(resolve(env={last: text}, **companions), row.name) == env_value
    if len(row.env_names) > 1:  # LLMOTEL_<NAME> wins over the standard variables
        first_wins = {row.env_names[0]: text, last: "\x00invalid\x00"}
        assert getattr(resolve(env=first_wins, **companions), row.name) == env_value
    env = dict.fromkeys(row.env_names, text)
    given = resolve(env=env, **companions, **as_argument(row.name, argument))
    assert getattr(given, row.name) == argument_value


@pytest.mark.parametrize("row", [r for r in TABLE if r.group], ids=lambda r: r.name)
def test_an_invalid_group_field_is_a_configuration_error_naming_the_setting(row):
    cls = GROUP_CLASSES[row.group]
    with pytest.raises(ConfigurationError) as raised:
        cls(**{row.option: object()})
    assert raised.value.setting == row.name


@pytest.mark.parametrize(("env", "setting"), [
    ({"LLMOTEL_EXPORT_TIMEOUT": "soon"}, "LLMOTEL_EXPORT_TIMEOUT"),
    ({"OTEL_EXPORTER_OTLP_TIMEOUT": "-1"}, "OTEL_EXPORTER_OTLP_TIMEOUT"),
    ({"OTEL_BSP_MAX_QUEUE_SIZE": "0"}, "OTEL_BSP_MAX_QUEUE_SIZE"),
    ({"LLMOTEL_MAX_BLOB_LENGTH": "8"}, "LLMOTEL_MAX_BLOB_LENGTH"),
    ({"LLMOTEL_EVALUATION_WORKERS": "two"}, "LLMOTEL_EVALUATION_WORKERS"),
    ({"LLMOTEL_EVALUATION_IN": "process"}, "LLMOTEL_EVALUATION_IN"),
    ({"LLMOTEL_PII_OPERATOR": "shred"}, "LLMOTEL_PII_OPERATOR"),
    ({"LLMOTEL_PII_ENTITIES": "EMAIL"}, "LLMOTEL_PII_ENTITIES"),
    ({"LLMOTEL_PII_SCORE_THRESHOLD": "2"}, "LLMOTEL_PII_SCORE_THRESHOLD"),
    ({"LLMOTEL_JUDGE_PROVIDER": "gemini"}, "LLMOTEL_JUDGE_PROVIDER"),
    ({"OTEL_EXPORTER_OTLP_CERTIFICATE": "/no/such/file"}, "OTEL_EXPORTER_OTLP_CERTIFICATE"),
    ({"LLMOTEL_METRICS": "sometimes"}, "LLMOTEL_METRICS"),
])
def test_an_invalid_environment_value_names_the_variable(env, setting):
    with pytest.raises(ConfigurationError) as raised:
        resolve(env=env)
    assert raised.value.setting == setting


def test_checks_across_settings_still_hold_with_groups():
    with pytest.raises(ConfigurationError, match="pii_entities"):
        PiiOptions(entities=["PERSON"], use_ner=False)
    with pytest.raises(ConfigurationError, match="pii_entities"):  # NER off from the environment
        resolve(env={"LLMOTEL_PII_USE_NER": "false"}, pii=PiiOptions(entities=["PERSON"]))
    with pytest.raises(ConfigurationError, match="judge_provider"):
        resolve(env={}, judge=llmotel.JudgeOptions(model="gpt-4o-mini"))
    settings = resolve(env={"LLMOTEL_JUDGE_PROVIDER": "openai"}, judge=llmotel.JudgeOptions(model="gpt-4o-mini"))
    assert (settings.judge_provider, settings.judge_model) == ("openai", "gpt-4o-mini")
    with pytest.raises(ConfigurationError) as raised:
        resolve(env={}, pii=llmotel.ExportOptions())
    assert raised.value.setting == "pii"
    with pytest.raises(ConfigurationError, match="given as an argument and in its option group"):
        resolve(env={}, pii_operator="mask", pii=PiiOptions(operator="hash"))


@pytest.mark.parametrize("row", [r for r in TABLE if r.group], ids=lambda r: r.name)
def test_a_moved_argument_is_a_type_error_naming_its_new_home(row):
    cls = GROUP_CLASSES[row.group].__name__
    expected = f"enable({row.name}=...) moved: use enable({row.group}=llmotel.{cls}({row.option}=...))"
    with pytest.raises(TypeError, match=re.escape(expected)):
        llmotel.enable(**{row.name: None})
    assert _setup.current_settings() is None  # nothing started


def test_an_unknown_argument_is_a_plain_type_error():
    with pytest.raises(TypeError, match="unexpected keyword argument 'servce_name'"):
        llmotel.enable(servce_name="typo")


def test_the_flat_arguments_are_enables_own():
    import inspect

    parameters = inspect.signature(llmotel.enable).parameters
    assert {row.name for row in FLAT} | {g.argument for g in GROUPS} | {"moved"} == set(parameters)


def test_groups_are_frozen_with_none_meaning_not_given_and_secrets_hidden():
    options = llmotel.EvaluationOptions(datadog_api_key="dd-secret", workers=3)
    with pytest.raises(dataclasses.FrozenInstanceError):
        options.workers = 4  # type: ignore[misc]
    assert "dd-secret" not in repr(options)
    assert "dd-secret" not in repr(PiiOptions(hash_key="dd-secret"))
    secrets = {row.name for row in TABLE if row.secret}
    assert secrets == {"phoenix_api_key", "mlflow_tracking_token", "datadog_api_key", "pii_hash_key"}
    assert {f.name for f in dataclasses.fields(Settings) if not f.repr} == secrets
    assert options.given() == {"datadog_api_key": "dd-secret", "evaluation_workers": 3}
    assert PiiOptions().with_defaults() == PiiOptions(operator="replace", score_threshold=0.5, allow_list=())
    assert all(getattr(group(), name) is None for group in GROUPS for name in group.settings())


def test_defaults_of_the_table_are_the_settings_defaults():
    assert resolve(env={}) == Settings()
    for group in GROUPS:  # a group with nothing given resolves to the defaults too
        assert resolve(env={}, **{group.argument: group()}) == Settings()


def test_a_group_comes_back_from_the_settings():
    pii = PiiOptions(operator="hash", entities=["EMAIL_ADDRESS"], hash_key="k")
    settings = resolve(env={"LLMOTEL_PII_SCORE_THRESHOLD": "0.8"}, pii=pii)
    assert settings.group(PiiOptions) == dataclasses.replace(pii.with_defaults(), score_threshold=0.8)
    judge = llmotel.JudgeOptions(provider="anthropic", model="claude-haiku-4-5", timeout=5)
    assert resolve(env={}, judge=judge).group(llmotel.JudgeOptions).as_kwargs() == {
        "provider": "anthropic", "model": "claude-haiku-4-5", "base_url": None, "timeout": 5.0,
        "max_tokens_per_minute": None, "trace": False}


def test_the_readme_tables_are_the_generated_ones():
    assert readme_section(README.read_text(encoding="utf-8")) == markdown(), (
        "README.md's settings tables are stale: run `python -m llmotel.config --write README.md`")


def test_every_environment_variable_of_the_table_is_in_the_readme():
    text = README.read_text(encoding="utf-8")
    for row in TABLE:
        for name in row.env_names:
            assert f"`{name}`" in text, name


def test_the_readme_configuration_example_runs(otlp_receiver):
    text = README.read_text(encoding="utf-8")
    section = text[text.index("## Configuration"):]
    code = section[section.index("```python\n") + len("```python\n"):section.index("```\n", 10)]
    code = code.replace('"http://localhost:4318"', repr(otlp_receiver.http_endpoint))
    exec(compile(code, "README: configuration", "exec"), {})
    settings = _setup.current_settings()
    assert settings is not None
    assert (settings.endpoint, settings.redact_pii, settings.pii_operator) == (
        otlp_receiver.http_endpoint, True, "hash")
    assert (settings.export_timeout, settings.export_retry_window, settings.compression) == (5.0, 60.0, "gzip")
    assert (settings.max_content_length, settings.stream_usage, settings.evaluation_workers) == (8000, True, 4)
    assert (settings.judge_provider, settings.judge_model) == ("openai", "gpt-4o-mini")
    assert settings.pii_entities == ("EMAIL_ADDRESS", "PHONE_NUMBER")


def test_the_gateways_options_use_the_same_parsers():
    from llmotel.gateway.options import resolve_options

    options = resolve_options(env={"LLMOTEL_GATEWAY_SPOOL_FSYNC": "yes", "LLMOTEL_GATEWAY_GRACE_PERIOD": "2.5"},
                              queue_spans="10")
    assert (options.queue_spans, options.spool_fsync, options.grace_period) == (10, True, 2.5)
    for env, given, setting in [({"LLMOTEL_GATEWAY_QUEUE_SIZE": "0"}, {}, "LLMOTEL_GATEWAY_QUEUE_SIZE"),
                                ({}, {"queue_bytes": True}, "queue_bytes"),
                                ({}, {"grace_period": -1}, "grace_period"),
                                ({}, {"spool_fsync": 1}, "spool_fsync")]:
        with pytest.raises(ConfigurationError) as raised:
            resolve_options(env=env, **given)
        assert raised.value.setting == setting


def test_judge_options_build_the_judge_the_checks_call(openai_client, fake_provider, monkeypatch):
    """enable(judge=JudgeOptions(...)): llmotel builds the judge from the options (its server, model, timeout)."""
    import json

    from opentelemetry.sdk.trace import TracerProvider
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    from llmotel import semconv as sc
    from llmotel.evaluation._loading import background_load
    from tests.fake_providers import Reply

    monkeypatch.setenv("OPENAI_API_KEY", "judge-test-key")
    exporter = InMemorySpanExporter()
    llmotel.enable(exporter=exporter, tracer_provider=TracerProvider(), evaluators=["answer_relevance"],
                   export=llmotel.ExportOptions(console=False, metrics=False),
                   judge=llmotel.JudgeOptions(provider="openai", model="judge-model", timeout=7,
                                              base_url=fake_provider.openai_base_url))
    assert background_load.wait(60)
    verdict = {"category": "complete", "score": 0.9, "reason": "It names the city."}
    fake_provider.script(Reply(text="Delhi."), Reply(text=json.dumps(verdict)))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "Capital?"}])
    assert llmotel.flush(timeout=30)
    (chat,) = [s for s in exporter.get_finished_spans() if s.name == "chat gpt-4o-mini"]
    (event,) = [e for e in chat.events if e.name == "gen_ai.evaluation.result"]
    assert (event.attributes[sc.GEN_AI_EVALUATION_NAME], event.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL]) == (
        "answer_relevance", "answered")
    judged = fake_provider.requests[-1]
    assert (judged.body["model"], judged.headers["authorization"]) == ("judge-model", "Bearer judge-test-key")
