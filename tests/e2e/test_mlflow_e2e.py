"""End-to-end against a real MLflow tracking server (SQLite store, OTLP/HTTP on ``/v1/traces``): the same
application as the Phoenix test, with GenAI attributes only and the MLflow evaluation sink, read back through
MLflow's own client (``MlflowClient.get_trace``, run in MLflow's venv)."""

from __future__ import annotations

import time
import uuid
from typing import Any

import pytest

from . import backend_app as app
from .conftest import run_app
from .mlflow_server import EXPERIMENT_HEADER, MlflowServer

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # a backend starts in 10-90 s on a busy machine
LLM_EVALUATIONS = {"failure_to_answer", "language_mismatch", "hallucination"}


class Run:
    def __init__(self, output: dict[str, Any], stderr: str, traces: dict[str, Any]) -> None:
        self.output = output
        self.stderr = stderr
        self.emitted = output["spans"]
        self.traces = traces
        self.stored = {s["span_id"]: s for t in traces.values() for s in t["spans"]}
        self.assessments = [a for t in traces.values() for a in t["assessments"]]

    def ids(self, name: str) -> list[str]:
        return [s["span_id"] for s in self.emitted if s["name"] == name]

    def one(self, name: str) -> dict[str, Any]:
        (span_id,) = self.ids(name)
        return dict(self.stored[span_id])

    def trace_of(self, name: str) -> dict[str, Any]:
        (trace_id,) = {s["trace_id"] for s in self.emitted if s["name"] == name}
        return dict(self.traces[f"tr-{trace_id}"])

    def assessments_of(self, name: str) -> dict[str, dict[str, Any]]:
        (span_id,) = self.ids(name)
        return {a["name"]: a for a in self.assessments if a["span_id"] == span_id}


@pytest.fixture(scope="module")
def mlflow_run(mlflow_server: MlflowServer, fake_provider_server: Any) -> Run:
    experiment = mlflow_server.create_experiment(f"llmotel-e2e-{uuid.uuid4().hex[:6]}")
    output, stderr = run_app(fake_provider_server, "--endpoint", mlflow_server.base_url, "--sink", "mlflow",
                             "--header", f"{EXPERIMENT_HEADER}={experiment}", "--service-name", "llmotel-e2e")
    trace_ids = sorted({f"tr-{s['trace_id']}" for s in output["spans"]})
    expected = len([s for s in output["spans"] if s["name"].startswith(("chat ", "generate_answer"))]) * 3 + 1
    deadline = time.monotonic() + 60
    while True:  # the sink retries assessments until MLflow has stored their trace
        traces = mlflow_server.read_traces(trace_ids)
        if sum(len(t["assessments"]) for t in traces.values()) >= expected or time.monotonic() > deadline:
            return Run(output, stderr, traces)
        time.sleep(1)


def test_every_span_arrives_with_its_parent(mlflow_run):
    assert len(mlflow_run.stored) == len(mlflow_run.emitted)
    for emitted in mlflow_run.emitted:
        assert mlflow_run.stored[emitted["span_id"]]["parent_id"] == emitted["parent_id"], emitted["name"]


def test_span_types_from_genai_attributes(mlflow_run):
    assert mlflow_run.one("generate_answer")["span_type"] == "CHAT_MODEL"
    assert mlflow_run.one("chat gpt-4o-mini")["span_type"] == "CHAT_MODEL"
    assert {mlflow_run.stored[i]["span_type"] for i in mlflow_run.ids("chat claude-haiku-4-5")} == {"CHAT_MODEL"}
    assert mlflow_run.one("execute_tool cite")["span_type"] == "TOOL"


def test_inputs_outputs_and_token_usage(mlflow_run):
    answers, usage = mlflow_run.output["answers"], mlflow_run.output["usage"]
    outputs = mlflow_run.one("generate_answer")["outputs"]
    assert outputs == [{"role": "assistant", "parts": [{"type": "text", "content": answers["generate_answer"]}],
                        "finish_reason": "stop"}]
    assert mlflow_run.one("chat gpt-4o-mini")["outputs"][0]["parts"][0]["content"] == answers["openai_stream"]
    claude = {mlflow_run.stored[i]["outputs"][0]["parts"][0]["content"]
              for i in mlflow_run.ids("chat claude-haiku-4-5")}
    assert claude == {answers["anthropic"], answers["anthropic_stream"]}
    workflow = mlflow_run.one("invoke_workflow rag_answer")  # a workflow's input/output: GenAI messages
    assert workflow["inputs"][0]["parts"][0]["content"] == app.QUESTION
    assert workflow["outputs"][0]["parts"][0]["content"] == answers["generate_answer"]
    tool = mlflow_run.one("execute_tool cite")
    assert (tool["inputs"], tool["outputs"]) == ({"doc_id": "otlp-ports"}, "[otlp-ports]")
    for name, key in (("generate_answer", "generate_answer"), ("chat gpt-4o-mini", "openai_stream")):
        tokens = mlflow_run.trace_of(name)["token_usage"]
        assert [tokens["input_tokens"], tokens["output_tokens"]] == usage[key], name


def test_prompt_template_attributes_arrive(mlflow_run):
    attributes = mlflow_run.one("generate_answer")["attributes"]
    assert attributes["gen_ai.prompt.name"] == "rag_answer"
    assert attributes["llmotel.prompt.template"] == app.TEMPLATE
    assert attributes["gen_ai.prompt.variable.user_question"] == app.QUESTION


def test_evaluations_are_mlflow_assessments(mlflow_run):
    for name in ("generate_answer", "chat gpt-4o-mini", "chat claude-haiku-4-5"):
        for span_id in mlflow_run.ids(name):
            assert {a["name"] for a in mlflow_run.assessments if a["span_id"] == span_id} == LLM_EVALUATIONS, name
    rag = mlflow_run.assessments_of("generate_answer")
    assert (rag["failure_to_answer"]["value"], rag["failure_to_answer"]["source_type"]) == ("answered", "CODE")
    assert (rag["hallucination"]["value"], rag["hallucination"]["source_type"]) == ("grounded", "LLM_JUDGE")
    assert rag["hallucination"]["rationale"] == "all 1 claims are supported by the context"
    rating = mlflow_run.assessments_of("invoke_workflow rag_answer")["user_rating"]
    assert (rating["value"], rating["rationale"]) == (4.0, app.RATING_REASON)


def test_one_warning_for_the_metrics_mlflow_does_not_take(mlflow_run):
    lines = [line for line in mlflow_run.stderr.splitlines() if "does not accept OTLP metrics" in line]
    assert len(lines) == 1 and "HTTP 404" in lines[0], mlflow_run.stderr
