"""Settings resolution: arguments > LLMOTEL_* > OTEL_* > defaults, and clear errors for bad configuration."""

from __future__ import annotations

import pytest

import llmotel
from llmotel.config import resolve


def test_defaults_are_the_local_sink():
    s = resolve(env={})
    assert s.endpoint is None
    assert s.exporter == "console"
    assert s.console is True
    assert s.capture_content is True
    assert s.protocol == "http/protobuf"
    assert s.stream_usage is False
    assert s.propagate_trace_context is False


def test_precedence():
    env = {
        "OTEL_EXPORTER_OTLP_ENDPOINT": "http://otel:4318",
        "OTEL_EXPORTER_OTLP_PROTOCOL": "grpc",
        "OTEL_SERVICE_NAME": "from-otel",
        "LLMOTEL_SERVICE_NAME": "from-llmotel",
    }
    s = resolve(env=env)
    assert (s.endpoint, s.protocol, s.exporter, s.console) == ("http://otel:4318", "grpc", "otlp", False)
    assert s.service_name == "from-llmotel"
    assert resolve(env=env, service_name="explicit").service_name == "explicit"
    assert resolve(env={**env, "OTEL_EXPORTER_OTLP_TRACES_ENDPOINT": "http://t:4318/v1/traces"}).endpoint == (
        "http://t:4318/v1/traces")
    assert resolve(env=env, protocol="http/protobuf").protocol == "http/protobuf"


def test_headers_parsing():
    s = resolve(env={"OTEL_EXPORTER_OTLP_HEADERS": "api-key=a%20b, X-Team=ml"})
    assert s.headers == {"api-key": "a b", "x-team": "ml"}
    assert resolve(env={}, headers={"Authorization": "Bearer t"}).headers == {"authorization": "Bearer t"}


@pytest.mark.parametrize(
    ("kwargs", "env", "setting"),
    [
        ({"protocol": "udp"}, {}, "protocol"),
        ({}, {"OTEL_EXPORTER_OTLP_PROTOCOL": "http/json"}, "OTEL_EXPORTER_OTLP_PROTOCOL"),
        ({"endpoint": "localhost:4317"}, {}, "endpoint"),
        ({}, {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://host:notaport"}, "OTEL_EXPORTER_OTLP_ENDPOINT"),
        ({"headers": "novalue"}, {}, "headers"),
        ({}, {"OTEL_EXPORTER_OTLP_HEADERS": "a=1,broken"}, "OTEL_EXPORTER_OTLP_HEADERS"),
        ({"evaluators": ["hallucinationz"]}, {}, "evaluators"),
        ({"instrument": ["cohere"]}, {}, "instrument"),
        ({}, {"LLMOTEL_CAPTURE_CONTENT": "maybe"}, "LLMOTEL_CAPTURE_CONTENT"),
        ({"exporter": "zipkin"}, {}, "exporter"),
        ({"exporter": "otlp"}, {}, "endpoint"),
        ({"max_content_length": 3}, {}, "max_content_length"),
        ({"capture_content": "yes please"}, {}, "capture_content"),
    ],
)
def test_configuration_errors_name_the_setting(kwargs, env, setting):
    with pytest.raises(llmotel.ConfigurationError) as raised:
        resolve(env=env, **kwargs)
    assert raised.value.setting == setting
    assert "accepted" in str(raised.value)


def test_protocol_error_lists_accepted_values():
    with pytest.raises(llmotel.ConfigurationError, match="grpc, http/protobuf"):
        resolve(env={}, protocol="thrift")


def test_sdk_disabled():
    assert resolve(env={"OTEL_SDK_DISABLED": "true"}).disabled is True


@pytest.mark.parametrize(("value", "expected"), [("SPAN_ONLY", True), ("span_and_event", True), ("NO_CONTENT", False),
                                                 ("EVENT_ONLY", False), ("true", True), ("False", False)])
def test_capture_content_spellings(value, expected):
    assert resolve(env={"OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT": value}).capture_content is expected
