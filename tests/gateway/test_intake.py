"""``POST /v1/evaluations``: evaluations from any language become what ``submit_evaluation`` exports."""

from __future__ import annotations

import time
from typing import Any

import pytest
import requests
from hypothesis import given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel.feedback import SpanRef
from llmotel.gateway import intake
from tests.gateway.clients import url
from tests.otlp_receiver import OtlpReceiver

TRACE_ID = "5b8efff798038103d269b633813fc60c"
SPAN_ID = "eee19b7ec3c1b174"
NOW_MS = int(time.time() * 1000)


def metric(**fields: Any) -> dict[str, Any]:
    base = {"span_id": SPAN_ID, "trace_id": TRACE_ID, "timestamp_ms": NOW_MS, "metric_type": "categorical",
            "label": "Answered", "categorical_value": "true"}
    base.update(fields)
    return {k: v for k, v in base.items() if v is not None}


def envelope(*metrics: dict[str, Any]) -> dict[str, Any]:
    return {"data": {"type": "evaluation_metric", "attributes": {"metrics": list(metrics)}}}


def test_valid_metrics_become_evaluation_child_spans(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False)
    body = envelope(
        metric(ml_app="support-bot", tags=["team:ml", "env:prod"], assessment="pass", reasoning="it answered"),
        metric(metric_type="score", label="relevance", score_value=0.75, categorical_value=None),
        metric(metric_type="boolean", label="grounded", boolean_value=False, categorical_value=None),
    )
    response = requests.post(url(gateway, "/v1/evaluations"), json=body, timeout=10)
    assert (response.status_code, response.json()) == (202, {"accepted": 3})

    spans = {s.name: s for s in otlp_receiver.wait_for_spans(3, timeout=20)}
    answered = spans["evaluation Answered"]
    assert (answered.trace_id, answered.parent_span_id) == (TRACE_ID, SPAN_ID)
    assert answered.resource["service.name"] == "support-bot"
    assert answered.attributes == {"llmotel.span.kind": "evaluation", "gen_ai.evaluation.name": "Answered"}
    (event,) = answered.events
    assert event.name == "gen_ai.evaluation.result" and event.time_unix_nano == NOW_MS * 1_000_000
    assert event.attributes == {
        "gen_ai.evaluation.name": "Answered", "llmotel.evaluation.metric_type": "categorical",
        "llmotel.evaluation.source": "custom", "gen_ai.evaluation.score.label": "true",
        "gen_ai.evaluation.explanation": "it answered", "llmotel.evaluation.assessment": "pass",
        "llmotel.evaluation.tags": ["team:ml", "env:prod"],
    }
    assert spans["evaluation relevance"].events[0].attributes["gen_ai.evaluation.score.value"] == 0.75
    grounded = spans["evaluation grounded"].events[0].attributes
    assert (grounded["gen_ai.evaluation.score.value"], grounded["gen_ai.evaluation.score.label"]) == (0.0, "false")
    assert spans["evaluation relevance"].resource["service.name"] == "llmotel-gateway"
    assert gateway.metrics.count("llmotel.gateway.accepted_spans", source="intake") == 3


def test_the_flat_list_form(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False)
    response = requests.post(url(gateway, "/v1/evaluations"), json=[metric(), metric(label="second")], timeout=10)
    assert response.status_code == 202
    assert sorted(s.name for s in otlp_receiver.wait_for_spans(2, timeout=20)) == ["evaluation Answered",
                                                                                 "evaluation second"]


def test_the_same_event_as_submit_evaluation(otlp_receiver: OtlpReceiver) -> None:
    exporter = InMemorySpanExporter()
    llmotel.enable(exporter=exporter, tracer_provider=TracerProvider(),
                   export=llmotel.ExportOptions(console=False, metrics=False))
    llmotel.submit_evaluation(SpanRef(TRACE_ID, SPAN_ID), label="Answered", metric_type="categorical", value="true",
                              reasoning="it answered", assessment="pass", tags={"team": "ml"},
                              timestamp=NOW_MS / 1000)
    llmotel.flush()
    (expected,) = exporter.get_finished_spans()
    (parsed,) = intake.parse([metric(reasoning="it answered", assessment="pass", tags=["team:ml"])])
    (span,), _ = intake.evaluation_spans([parsed], service_name="x", capture_content=True)
    assert span.name == expected.name and span.parent == expected.parent
    assert dict(span.attributes or {}) == dict(expected.attributes or {})
    def events(s: Any) -> list[tuple[str, dict[str, Any]]]:  # lists and tuples encode alike
        return [(e.name, {k: tuple(v) if isinstance(v, list) else v for k, v in (e.attributes or {}).items()})
                for e in s.events]

    assert events(span) == events(expected)


@pytest.mark.parametrize(("bad", "field", "says"), [
    ({"metric_type": "rating"}, "metric_type", "must be one of"),
    ({"categorical_value": 3}, "categorical_value", "non-empty string"),
    ({"metric_type": "score", "score_value": "high"}, "score_value", "finite number"),
    ({"metric_type": "score", "score_value": True}, "score_value", "finite number"),
    ({"metric_type": "boolean", "boolean_value": "yes"}, "boolean_value", "true or false"),
    ({"metric_type": "score"}, "score_value", "required"),
    ({"span_id": "12345"}, "span_id", "16 hex digits"),
    ({"span_id": "0000000000000000"}, "span_id", "all zeros"),
    ({"trace_id": "xyz" * 11}, "trace_id", "32 hex digits"),
    ({"trace_id": 12345}, "trace_id", "string"),
    ({"label": None}, "label", "required"),
    ({"label": "  "}, "label", "required"),
    ({"label": "a.b"}, "label", "'.'"),
    ({"timestamp_ms": NOW_MS // 1000}, "timestamp_ms", "looks like seconds"),
    ({"timestamp_ms": NOW_MS * 1000}, "timestamp_ms", "microseconds"),
    ({"timestamp_ms": "yesterday"}, "timestamp_ms", "milliseconds"),
    ({"tags": "team:ml"}, "tags", "array"),
    ({"assessment": "ok"}, "assessment", "'pass' or 'fail'"),
    ({"reasoning": 5}, "reasoning", "string"),
    ({"ml_app": ""}, "ml_app", "non-empty"),
])
def test_an_invalid_metric_refuses_the_whole_request_naming_it(
        bad: dict[str, Any], field: str, says: str, start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False)
    response = requests.post(url(gateway, "/v1/evaluations"), json=envelope(metric(), metric(**bad)), timeout=10)
    assert response.status_code == 400
    (error,) = response.json()["errors"]
    assert (error["index"], error["field"]) == (1, field) and says in error["error"], error
    assert requests.post(url(gateway, "/v1/evaluations"), json=[metric(label="later")], timeout=10).status_code == 202
    (span,) = otlp_receiver.wait_for_spans(1, timeout=20)
    assert span.name == "evaluation later"  # nothing of the refused request was applied


def test_every_problem_is_named_and_bad_envelopes_are_refused(start_gateway: Any) -> None:
    gateway = start_gateway(evaluators=[], redact=False)
    target = url(gateway, "/v1/evaluations")
    response = requests.post(target, json=[metric(span_id="x", metric_type="score"), "not a metric"], timeout=10)
    assert response.status_code == 400
    assert [(e["index"], e["field"]) for e in response.json()["errors"]] == [(0, "span_id"), (0, "score_value"),
                                                                            (1, None)]
    for body, field in (({"data": {"type": "spans"}}, "data.type"), ({"data": {"attributes": {}}},
                                                                      "data.attributes.metrics"),
                        ({}, "data"), ([], "metrics"), ("text", "data")):
        refused = requests.post(target, json=body, timeout=10)
        assert refused.status_code == 400 and refused.json()["errors"][0]["field"] == field
    not_json = requests.post(target, data=b"{not json", headers={"Content-Type": "application/json"}, timeout=10)
    assert not_json.status_code == 400 and "not JSON" in not_json.json()["error"]


def test_redaction_and_capture_off_apply_to_intake_evaluations(start_gateway: Any,
                                                               otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], settings={"capture_content": False})
    body = [metric(categorical_value="wrong address: jane.doe@example.org", reasoning="quoted the user")]
    assert requests.post(url(gateway, "/v1/evaluations"), json=body, timeout=10).status_code == 202
    (span,) = otlp_receiver.wait_for_spans(1, timeout=20)
    event = span.events[0].attributes
    assert event["gen_ai.evaluation.score.label"] == "wrong address: <EMAIL_ADDRESS>"
    assert "gen_ai.evaluation.explanation" not in event
    assert b"jane.doe@example.org" not in otlp_receiver.raw_traces()


_valid_metric = st.fixed_dictionaries({
    "span_id": st.from_regex(r"\A[0-9a-f]{15}[1-9a-f]\Z"), "trace_id": st.from_regex(r"\A[0-9a-f]{31}[1-9a-f]\Z"),
    "timestamp_ms": st.integers(intake._MIN_MS, intake._MAX_MS - 1),
    "label": st.from_regex(r"\A[A-Za-z_][A-Za-z0-9_ -]{0,20}\Z"),
}, optional={"ml_app": st.text(min_size=1, max_size=10), "reasoning": st.text(max_size=20),
             "assessment": st.sampled_from(["pass", "fail"]),
             "tags": st.lists(st.from_regex(r"\A[a-z]{1,5}:[a-z0-9]{0,5}\Z"), max_size=3)}).flatmap(
    lambda m: st.sampled_from([("categorical", st.text(min_size=1, max_size=10)),
                               ("score", st.floats(allow_nan=False, allow_infinity=False) | st.integers(-10, 10)),
                               ("boolean", st.booleans())]).flatmap(
        lambda kind: kind[1].map(lambda value: {**m, "metric_type": kind[0], f"{kind[0]}_value": value})))
_junk = st.one_of(st.none(), st.integers(), st.floats(), st.text(max_size=5), st.booleans(), st.lists(st.integers()))


@settings(max_examples=300, deadline=None)
@given(st.lists(_valid_metric, min_size=1, max_size=5), st.data())
def test_valid_metrics_parse_and_one_spoiled_field_is_named(metrics: list[dict[str, Any]], data: st.DataObject
                                                            ) -> None:
    parsed = intake.parse(metrics)
    assert [(p.label, p.metric_type) for p in parsed] == [(m["label"].strip(), m["metric_type"]) for m in metrics]
    spans, request = intake.evaluation_spans(parsed, service_name="svc", capture_content=True)
    assert len(spans) == len(metrics) and len(request) > 0
    index = data.draw(st.integers(0, len(metrics) - 1))
    field = data.draw(st.sampled_from(["span_id", "trace_id", "timestamp_ms", "label", "metric_type",
                                       f"{metrics[index]['metric_type']}_value"]))
    junk = data.draw(_junk)
    spoiled = [dict(m) for m in metrics]
    spoiled[index][field] = junk
    try:
        intake.parse(spoiled)
    except intake.InvalidEvaluations as invalid:
        assert {(e["index"], e["field"]) for e in invalid.errors} <= {(index, field), (index, "score_value"),
                                                                     (index, "categorical_value"),
                                                                     (index, "boolean_value")}
        assert any(e["index"] == index for e in invalid.errors)
    else:  # the junk happened to be valid for that field
        assert field in ("score_value", "categorical_value", "boolean_value", "timestamp_ms", "label")
