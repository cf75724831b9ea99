"""Evaluation sinks: what they deliver (exactly what the exported span carries), in each backend's shape, and how
(batched, retried with backoff, never blocking the caller, flush/shutdown within their timeouts).

Real Phoenix and MLflow servers are in ``tests/e2e``; Datadog's intake cannot be reached from here, so a local
server checks every request against the documented shape (``tests/fake_backends/datadog_intake.py``).
"""

from __future__ import annotations

import json
import os
import socket
import time
from collections.abc import Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel.evaluation import EvaluationInput, EvaluationResult
from llmotel.evaluation.sinks import DatadogSink, EvaluationRecord, EvaluationSink, MLflowSink, PhoenixSink
from llmotel.evaluation.sinks import datadog as dd
from llmotel.evaluation.sinks import mlflow as mlf
from llmotel.evaluation.sinks import phoenix as px
from tests.fake_backends import DatadogIntake, Scripted, ScriptedServer, eval_metric_errors

USER = [{"role": "user", "content": "Where is my parcel? Write to jane.doe@example.com"}]
FAST = {"batch_delay": 0.05, "backoff": 0.01, "max_backoff": 0.05}


class Explainer:
    """A custom evaluator whose explanation quotes the user (so it is content)."""

    name = "explainer"

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        return EvaluationResult("explainer", score=0.25, label="meh", explanation=f"user said: {input.input_text}",
                                assessment="fail", metadata={"method": "judge", "judge_model": "m"})


@pytest.fixture
def intake() -> Iterator[DatadogIntake]:
    with DatadogIntake() as server:
        yield server


@pytest.fixture
def exporter() -> InMemorySpanExporter:
    return InMemorySpanExporter()


def enable(exporter: InMemorySpanExporter, **settings: Any) -> None:
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(InMemorySpanExporter()))
    llmotel.enable(exporter=exporter, tracer_provider=provider, **settings,
                   export=llmotel.ExportOptions(console=False, metrics=False))


def record(**fields: Any) -> EvaluationRecord:
    base: dict[str, Any] = {"trace_id": 0x4BF92F3577B34DA6A3CE929D0E0E4736, "span_id": 0x00F067AA0BA902B7,
                            "name": "hallucination", "timestamp_ns": 1_700_000_000_123_456_789}
    return EvaluationRecord(**{**base, **fields})


# --- what reaches the backends -------------------------------------------------------------------------------------


def test_datadog_intake_gets_every_result_in_the_documented_shape(intake, exporter, openai_client):
    enable(exporter, evaluators=["failure_to_answer", Explainer()],
           evaluation=llmotel.EvaluationOptions(sinks=["datadog"], datadog_api_key="dd-key",
                                                datadog_ml_app="support-bot", datadog_intake_url=intake.url))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    with llmotel.workflow("feedback") as root:
        ref = llmotel.export_span(root)
    llmotel.submit_evaluation(ref, label="user_rating", metric_type="score", value=4, reasoning="thumbs up",
                              assessment="pass", tags={"source": "ui"})
    llmotel.submit_evaluation(ref, label="helpful", metric_type="boolean", value=True)
    llmotel.submit_evaluation(ref, label="topic", metric_type="categorical", value="billing")
    assert llmotel.flush(timeout=10)
    assert not intake.invalid, intake.invalid
    assert all(not eval_metric_errors(r) for r in intake.requests)
    by_label = {m["label"]: m for m in intake.metrics}
    assert set(by_label) == {"failure_to_answer", "explainer", "user_rating", "helpful", "topic"}
    llm_span = next(s for s in exporter.get_finished_spans() if s.name.startswith("chat"))
    join = by_label["failure_to_answer"]["join_on"]["span"]
    assert join == {"span_id": str(llm_span.context.span_id), "trace_id": str(llm_span.context.trace_id)}
    assert by_label["failure_to_answer"]["metric_type"] == "categorical"
    assert by_label["failure_to_answer"]["categorical_value"] == "answered"
    assert by_label["explainer"]["reasoning"].startswith("user said:")
    assert by_label["explainer"]["metadata"]["score"] == 0.25
    rating = by_label["user_rating"]
    assert (rating["metric_type"], rating["score_value"], rating["assessment"], rating["reasoning"]) == (
        "score", 4.0, "pass", "thumbs up")
    assert "source:ui" in rating["tags"] and "source:otel" in rating["tags"]
    assert rating["join_on"]["span"]["span_id"] == str(root.get_span_context().span_id)  # the evaluated span
    assert (by_label["helpful"]["metric_type"], by_label["helpful"]["boolean_value"]) == ("boolean", True)
    assert by_label["topic"]["categorical_value"] == "billing"
    assert all(m["ml_app"] == "support-bot" for m in intake.metrics)
    assert intake.requests[0].headers["dd-api-key"] == "dd-key"


def test_sinks_deliver_only_what_the_exported_span_carries(intake, exporter, openai_client):
    """Capture off: the explanation that quotes the user is not exported, so it is not delivered either."""
    enable(exporter, evaluators=[Explainer()], capture_content=False,
           evaluation=llmotel.EvaluationOptions(sinks=["datadog"], datadog_api_key="k", datadog_ml_app="app",
                                                datadog_intake_url=intake.url))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(timeout=10)
    (metric,) = intake.metrics
    assert "reasoning" not in metric
    assert "jane.doe" not in json.dumps([r.body for r in intake.requests])


def test_sinks_deliver_redacted_results(intake, exporter, openai_client):
    enable(exporter, evaluators=[Explainer()], redact_pii=True,
           evaluation=llmotel.EvaluationOptions(sinks=["datadog"], datadog_api_key="k", datadog_ml_app="app",
                                                datadog_intake_url=intake.url))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(timeout=10)
    sent = json.dumps([r.body for r in intake.requests])
    assert "jane.doe@example.com" not in sent
    assert "<EMAIL_ADDRESS>" in sent
    assert {m["label"] for m in intake.metrics} == {"explainer", "pii"}


class KeyQuoter:
    """A custom evaluator whose explanation, label, tags and metadata quote an API key."""

    name = "key_quoter"
    key = "sk-proj-" + "Q7f3" * 10

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        return EvaluationResult("key_quoter", label=f"saw {self.key}", explanation=f"the reply had {self.key}",
                                metadata={"raw": f"Bearer {self.key}"})


def test_sinks_scrub_secrets_like_the_exporters(intake, exporter, openai_client):
    enable(exporter, evaluators=[KeyQuoter()],
           evaluation=llmotel.EvaluationOptions(sinks=["datadog"], datadog_api_key="k", datadog_ml_app="app",
                                                datadog_intake_url=intake.url))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert llmotel.flush(timeout=10)
    sent = json.dumps([r.body for r in intake.requests])
    assert intake.metrics and "Q7f3" not in sent
    assert "<SECRET>" in sent


def test_phoenix_annotations_name_the_annotator_kind_and_carry_the_result():
    judged = px.annotation(record(label="grounded", score=0.0, explanation="all claims supported",
                                  metadata={"method": "judge"}, assessment="pass"))
    assert judged == {"span_id": "00f067aa0ba902b7", "name": "hallucination", "annotator_kind": "LLM",
                      "result": {"label": "grounded", "score": 0.0, "explanation": "all claims supported"},
                      "metadata": {"method": "judge", "assessment": "pass"}}
    offline = px.annotation(record(name="language_mismatch", label="match"))
    assert offline["annotator_kind"] == "CODE"
    assert offline["result"] == {"label": "match"}
    assert px.annotation(record(name="note", label="x"))["name"] == "note_evaluation"  # Phoenix reserves "note"


def test_phoenix_sink_posts_batches_of_annotations():
    with ScriptedServer(Scripted(200, {"data": []})) as server:
        sink = PhoenixSink(server.url + "/v1/traces", api_key="px-key", **FAST)
        sink.enqueue([record(name=f"check_{i}", label="ok") for i in range(3)])
        assert sink.force_flush(5000)
        (request,) = server.requests
        assert request.path == "/v1/span_annotations?sync=false"
        assert request.headers["authorization"] == "Bearer px-key"
        assert [a["name"] for a in request.body["data"]] == ["check_0", "check_1", "check_2"]
        sink.shutdown()


def test_mlflow_assessment_body():
    body = mlf.assessment(record(label="hallucination", score=0.5, explanation="1 of 2 claims unsupported",
                                 metadata={"method": "judge", "claims": ["a", "b"]}, assessment="fail"))
    assert body == {"assessment": {
        "assessment_name": "hallucination", "trace_id": "tr-4bf92f3577b34da6a3ce929d0e0e4736",
        "span_id": "00f067aa0ba902b7", "source": {"source_type": "LLM_JUDGE", "source_id": "llmotel"},
        "feedback": {"value": "hallucination"}, "rationale": "1 of 2 claims unsupported",
        "metadata": {"method": "judge", "claims": '["a", "b"]', "score": "0.5", "label": "hallucination",
                     "assessment": "fail"}}}
    assert mlf.assessment(record(name="rating", score=4.0, metric_type="score"))["assessment"]["feedback"] == {
        "value": 4.0}
    boolean = mlf.assessment(record(name="ok", label="false", score=0.0, metric_type="boolean"))
    assert boolean["assessment"]["feedback"] == {"value": False}
    assert boolean["assessment"]["source"]["source_type"] == "CODE"


def test_mlflow_sink_retries_a_trace_it_does_not_have_yet_and_sends_each_result_once():
    missing = Scripted(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"})
    with ScriptedServer(Scripted(200, {"assessment": {}})) as server:
        server.script(Scripted(200, {}), missing, missing)
        sink = MLflowSink(server.url, token="tok", **FAST)
        sink.enqueue([record(name="a", label="x"), record(name="b", label="y")])
        assert sink.force_flush(5000)
        names = [r.body["assessment"]["assessment_name"] for r in server.requests]
        assert names == ["a", "b", "b", "b"]  # "a" went through; only "b" was retried
        assert server.requests[0].path == "/api/3.0/mlflow/traces/tr-4bf92f3577b34da6a3ce929d0e0e4736/assessments"
        assert server.requests[0].headers["authorization"] == "Bearer tok"
        assert (sink.delivered, sink.dropped) == (2, 0)
        sink.shutdown()


def test_a_flush_cuts_a_retry_backoff_short():
    """The span exporters are flushed before the sinks: a sink waiting to retry a trace the backend did not have
    yet tries again at once."""
    with ScriptedServer(Scripted(200, {})) as server:
        server.script(Scripted(404, {"error_code": "RESOURCE_DOES_NOT_EXIST"}))
        sink = MLflowSink(server.url, backoff=30.0, max_backoff=30.0, batch_delay=0.01)
        sink.enqueue([record(label="x")])
        server.wait_for(1)
        assert sink.force_flush(5000)  # not 15-30 s later
        assert (len(server.requests), sink.delivered) == (2, 1)
        sink.shutdown()


def test_datadog_labels_follow_the_naming_rule():
    assert dd.metric_label("input_toxicity") == "input_toxicity"
    assert dd.metric_label("answer-relevance v2") == "answer_relevance_v2"
    assert dd.metric_label("2nd_check") == "eval_2nd_check"
    assert len(dd.metric_label("x" * 300)) == 200


# --- delivery: batching, retries, never blocking, deadlines -------------------------------------------------------


def test_retryable_failures_are_retried_with_backoff_then_delivered(intake):
    intake.script(Scripted(503), Scripted(429, headers={"Retry-After": "0.05"}), Scripted(500))
    sink = DatadogSink("k", "app", url=intake.url, **FAST)
    sink.enqueue([record(label="x")])
    assert sink.force_flush(5000)
    assert len(intake.requests) == 4
    assert len(intake.metrics) == 1
    assert (sink.delivered, sink.dropped) == (1, 0)
    sink.shutdown()


def test_a_refused_batch_is_dropped_without_retrying(intake):
    intake.script(Scripted(400, {"errors": []}))
    sink = DatadogSink("k", "app", url=intake.url, **FAST)
    sink.enqueue([record(name="refused", label="x")])
    assert sink.force_flush(5000)
    assert (sink.delivered, sink.dropped, len(intake.requests)) == (0, 1, 1)  # refused once, not retried
    sink.enqueue([record(name="next", label="x")])
    assert sink.force_flush(5000)
    assert [m["label"] for m in intake.metrics] == ["next"]
    sink.shutdown()


def test_batches_hold_up_to_batch_size(intake):
    sink = DatadogSink("k", "app", url=intake.url, batch_size=4, batch_delay=5.0)
    sink.enqueue([record(name=f"e{i}", label="x") for i in range(10)])
    assert sink.force_flush(5000)  # a flush does not wait out the batch delay
    assert [len(r.body["data"]["attributes"]["metrics"]) for r in intake.requests] == [4, 4, 2]
    sink.shutdown()


def test_a_full_queue_drops_and_counts_never_blocks():
    with ScriptedServer(Scripted(hang=True)) as server:
        sink = DatadogSink("k", "app", url=server.url, queue_size=5, request_timeout=0.2, **FAST)
        sink.enqueue([record(name=f"e{i}", label="x") for i in range(50)])
        assert sink.dropped >= 45
        sink.shutdown_within(200)


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@pytest.mark.parametrize("server_kind", ["dead", "hanging"])
def test_flush_and_shutdown_keep_their_timeouts(server_kind):
    with ScriptedServer(Scripted(hang=True)) as hanging:
        url = f"http://127.0.0.1:{_closed_port()}/intake" if server_kind == "dead" else hanging.url
        sink = DatadogSink("k", "app", url=url, max_retries=100, backoff=0.05, batch_delay=0.01)
        sink.enqueue([record(label="x")])
        started = time.monotonic()
        assert sink.force_flush(500) is False
        assert time.monotonic() - started < 1.5
        started = time.monotonic()
        sink.shutdown_within(500)
        assert time.monotonic() - started < 1.5
        assert sink.dropped == 1
        sink.on_end(None)  # type: ignore[arg-type]  # closed: ignored without reading the span


def test_llmotel_shutdown_returns_in_time_with_a_hanging_sink(exporter, openai_client):
    with ScriptedServer(Scripted(hang=True)) as server:
        enable(exporter, evaluators=["failure_to_answer"],
               evaluation=llmotel.EvaluationOptions(sinks=["datadog"], datadog_api_key="k", datadog_ml_app="app",
                                                    datadog_intake_url=server.url))
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        started = time.monotonic()
        llmotel.shutdown(timeout=1)
        assert time.monotonic() - started < 4
        assert exporter.get_finished_spans()  # the span itself went out


def test_a_sink_error_never_reaches_the_caller(exporter, openai_client):
    class Broken(EvaluationSink):
        name = "broken"

        def deliver(self, records: list[EvaluationRecord], timeout: float) -> None:
            raise RuntimeError("a bug in a sink")

    broken = Broken(**FAST)
    enable(exporter, evaluators=["failure_to_answer"], evaluation=llmotel.EvaluationOptions(sinks=[broken]))
    response = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert response.choices[0].message.content
    assert llmotel.flush(timeout=5)
    assert broken.dropped == 1


@pytest.mark.skipif(not hasattr(os, "fork"), reason="fork() only")
def test_a_forked_child_delivers_with_its_own_thread(intake):
    sink = DatadogSink("k", "app", url=intake.url, **FAST)
    sink.enqueue([record(name="parent", label="x")])
    assert sink.force_flush(5000)
    pid = os.fork()
    if pid == 0:  # the child: the parent's thread is gone; the sink must start its own
        code = 1
        try:
            sink.enqueue([record(name="child", label="x")])
            code = 0 if sink.force_flush(5000) else 2
        finally:
            os._exit(code)
    _, status = os.waitpid(pid, 0)
    assert os.waitstatus_to_exitcode(status) == 0
    assert [m["label"] for m in intake.metrics] == ["parent", "child"]
    sink.shutdown()


# --- configuration -------------------------------------------------------------------------------------------------


@pytest.mark.parametrize(("options", "flat", "setting"), [
    ({"sinks": ["datadog"], "datadog_ml_app": "a"}, {}, "datadog_api_key"),
    ({"sinks": ["datadog"], "datadog_api_key": "k"}, {}, "datadog_ml_app"),
    ({"sinks": ["phoenix"]}, {"endpoint": "http://localhost:4317", "protocol": "grpc"}, "phoenix_endpoint"),
    ({"sinks": ["mlflow"]}, {}, "mlflow_tracking_uri"),
    ({"sinks": ["langfuse"]}, {}, "evaluation_sinks"),
    ({"sinks": [object()]}, {}, "evaluation_sinks"),
])
def test_misconfigured_sinks_are_configuration_errors(options, flat, setting):
    with pytest.raises(llmotel.ConfigurationError) as info:
        llmotel.enable(exporter="none", evaluation=llmotel.EvaluationOptions(**options), **flat,
                       export=llmotel.ExportOptions(console=False))
    assert info.value.setting == setting


def test_sinks_from_the_environment(monkeypatch, intake):
    monkeypatch.setenv("LLMOTEL_EVALUATION_SINKS", "datadog")
    monkeypatch.setenv("DD_API_KEY", "env-key")
    monkeypatch.setenv("DD_LLMOBS_ML_APP", "env-app")
    monkeypatch.setenv("LLMOTEL_DATADOG_INTAKE_URL", intake.url)
    from llmotel import config

    settings = config.resolve()
    assert settings.evaluation_sinks == ("datadog",)
    assert (settings.datadog_api_key, settings.datadog_ml_app, settings.datadog_intake_url) == (
        "env-key", "env-app", intake.url)
    assert "env-key" not in repr(settings)
