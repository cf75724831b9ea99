"""End-to-end against a real Arize Phoenix: real instrumented OpenAI and Anthropic calls (plain and streamed), a RAG
workflow with a prompt template, evaluations (offline checks, an LLM-judge check, a user rating), read back through
Phoenix's client and looked at in its web UI in headless Chromium.

Two runs of the same application: OTLP/HTTP with ``compat=["openinference"]``, and OTLP/gRPC with GenAI attributes
only; both with the Phoenix evaluation sink.
"""

from __future__ import annotations

import time
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

import pytest

from . import backend_app as app
from .conftest import CHROMIUM_FLAGS, run_app
from .phoenix import PhoenixServer

if TYPE_CHECKING:
    from phoenix.client import Client

pytestmark = [pytest.mark.e2e, pytest.mark.timeout(600)]  # a backend starts in 10-90 s on a busy machine
METRICS_WARNING = "does not accept OTLP metrics"
LLM_EVALUATIONS = {"failure_to_answer", "language_mismatch", "hallucination"}
PROJECT = "llmotel-e2e"  # the HTTP run names its Phoenix project; the gRPC run lands in "default"


class Run:
    """One run of the application and what Phoenix stored of it."""

    def __init__(self, output: dict[str, Any], stderr: str, spans: list[Mapping[str, Any]],
                 annotations: list[Mapping[str, Any]]) -> None:
        self.output = output
        self.stderr = stderr
        self.emitted = output["spans"]
        self.stored = {s["context"]["span_id"]: s for s in spans}
        self.annotations = annotations

    def ids(self, name: str) -> list[str]:
        return [s["span_id"] for s in self.emitted if s["name"] == name]

    def one(self, name: str) -> Mapping[str, Any]:
        (span_id,) = self.ids(name)
        return self.stored[span_id]

    def annotations_of(self, name: str) -> dict[str, Mapping[str, Any]]:
        (span_id,) = self.ids(name)
        return {a["name"]: a for a in self.annotations if a["span_id"] == span_id}


def _read_back(client: Client, output: dict[str, Any], timeout: float = 90) -> tuple[list[Any], list[Any]]:
    """Poll Phoenix until every emitted span and every expected annotation is stored (annotations that arrive before
    their span are retried by Phoenix every 10 s)."""
    trace_ids = sorted({s["trace_id"] for s in output["spans"]})
    span_ids = [s["span_id"] for s in output["spans"]]
    llm_spans = [s["span_id"] for s in output["spans"] if s["name"].startswith(("chat ", "generate_answer"))]
    expected_annotations = len(llm_spans) * len(LLM_EVALUATIONS) + 1  # + the user rating
    deadline = time.monotonic() + timeout
    while True:
        spans: list[Any] = []
        annotations: list[Any] = []
        for project in client.projects.list():
            found = client.spans.get_spans(project_identifier=project["name"], trace_ids=trace_ids)
            spans += [{**span, "project": project["name"]} for span in found]
            if found:  # Phoenix answers 404 for span ids that are not in the project
                annotations += client.spans.get_span_annotations(span_ids=[s["context"]["span_id"] for s in found],
                                                                 project_identifier=project["name"])
        if (len(spans) >= len(span_ids) and len(annotations) >= expected_annotations) or time.monotonic() > deadline:
            return spans, annotations
        time.sleep(1)


@pytest.fixture(scope="module")
def http_run(phoenix_server: PhoenixServer, phoenix_client: Client, fake_provider_server: Any) -> Run:
    output, stderr = run_app(fake_provider_server, "--endpoint", phoenix_server.base_url, "--sink", "phoenix",
                             "--compat", "--service-name", f"e2e-http-{uuid.uuid4().hex[:6]}",
                             "--resource", f"openinference.project.name={PROJECT}")
    return Run(output, stderr, *_read_back(phoenix_client, output))


@pytest.fixture(scope="module")
def grpc_run(phoenix_server: PhoenixServer, phoenix_client: Client, fake_provider_server: Any) -> Run:
    output, stderr = run_app(fake_provider_server, "--endpoint", phoenix_server.grpc_endpoint, "--protocol", "grpc",
                             "--sink", "phoenix", "--service-name", f"e2e-grpc-{uuid.uuid4().hex[:6]}",
                             env={"PHOENIX_COLLECTOR_ENDPOINT": phoenix_server.base_url})
    return Run(output, stderr, *_read_back(phoenix_client, output))


@pytest.fixture(params=["http", "grpc"])
def run(request: pytest.FixtureRequest) -> Run:
    return request.getfixturevalue(f"{request.param}_run")  # type: ignore[no-any-return]


def test_every_span_arrives_with_its_parent(run):
    assert len(run.stored) == len(run.emitted), (sorted(s["name"] for s in run.emitted), len(run.stored))
    for emitted in run.emitted:
        assert run.stored[emitted["span_id"]].get("parent_id") == emitted["parent_id"], emitted["name"]
    (workflow_id,) = run.ids("invoke_workflow rag_answer")
    for child in ("retrieval knowledge_base", "execute_tool cite", "generate_answer", "evaluation user_rating"):
        assert run.one(child)["parent_id"] == workflow_id, child


def test_the_phoenix_project_comes_from_a_resource_attribute(http_run, grpc_run):
    assert {s["project"] for s in http_run.stored.values()} == {PROJECT}
    assert {s["project"] for s in grpc_run.stored.values()} == {"default"}


def test_the_answer_and_token_counts_show_on_every_llm_span(run):
    answers = run.output["answers"]
    usage = run.output["usage"]
    cases = [("generate_answer", "generate_answer"), ("chat gpt-4o-mini", "openai_stream")]
    for name, key in cases:
        attributes = run.one(name)["attributes"]
        assert attributes["llm.output_messages.0.message.content"] == answers[key], name
        assert attributes["llm.output_messages.0.message.role"] == "assistant"
        assert [attributes["llm.token_count.prompt"], attributes["llm.token_count.completion"]] == usage[key], name
    claude = [run.stored[i]["attributes"] for i in run.ids("chat claude-haiku-4-5")]
    assert {a["llm.output_messages.0.message.content"] for a in claude} == {answers["anthropic"],
                                                                            answers["anthropic_stream"]}
    assert sorted([a["llm.token_count.prompt"], a["llm.token_count.completion"]] for a in claude) == sorted(
        [usage["anthropic"], usage["anthropic_stream"]])
    assert claude[0]["llm.input_messages.0.message.role"] == "system"  # Anthropic's top-level system= prompt


def test_span_kinds(http_run, grpc_run):
    kinds = {s["name"]: s["span_kind"] for s in http_run.stored.values()}
    assert kinds == {"invoke_workflow rag_answer": "CHAIN", "retrieval knowledge_base": "RETRIEVER",
                     "execute_tool cite": "TOOL", "generate_answer": "LLM", "chat gpt-4o-mini": "LLM",
                     "chat claude-haiku-4-5": "LLM", "evaluation user_rating": "UNKNOWN"}
    kinds = {s["name"]: s["span_kind"] for s in grpc_run.stored.values()}  # GenAI attributes only
    assert kinds["retrieval knowledge_base"] == "RETRIEVER"
    assert kinds["execute_tool cite"] == "TOOL"
    assert kinds["generate_answer"] == kinds["chat claude-haiku-4-5"] == "LLM"
    assert kinds["invoke_workflow rag_answer"] == "UNKNOWN"  # Phoenix does not map invoke_workflow: compat does


def test_workflow_tool_and_retrieval_inputs_and_outputs(http_run):
    workflow = http_run.one("invoke_workflow rag_answer")["attributes"]
    assert workflow["input.value"] == app.QUESTION
    assert workflow["output.value"] == http_run.output["answers"]["generate_answer"]
    tool = http_run.one("execute_tool cite")["attributes"]
    assert (tool["input.value"], tool["output.value"]) == ("otlp-ports", "[otlp-ports]")
    retrieval = http_run.one("retrieval knowledge_base")["attributes"]
    assert retrieval["input.value"] == app.QUESTION
    assert retrieval["retrieval.documents.0.document.content"] == app.CONTEXT
    assert retrieval["retrieval.documents.0.document.id"] == "otlp-ports"


def test_prompt_template_and_variables(http_run, grpc_run):
    attributes = http_run.one("generate_answer")["attributes"]
    assert attributes["llm.prompt_template.template"] == app.TEMPLATE
    # Phoenix stores the variables JSON as one attribute per variable
    assert attributes["llm.prompt_template.variables.user_question"] == app.QUESTION
    assert attributes["llm.prompt_template.variables.article"] == app.CONTEXT
    assert attributes["llm.prompt_template.version"] == attributes["gen_ai.prompt.version"]
    raw = grpc_run.one("generate_answer")["attributes"]  # the GenAI attributes arrive as they are
    assert raw["gen_ai.prompt.name"] == "rag_answer"
    assert raw["gen_ai.prompt.variable.user_question"] == app.QUESTION


def test_evaluations_are_phoenix_annotations(run):
    for name in ("generate_answer", "chat gpt-4o-mini", "chat claude-haiku-4-5"):
        for span_id in run.ids(name):
            names = {a["name"] for a in run.annotations if a["span_id"] == span_id}
            assert names == LLM_EVALUATIONS, (name, names)
    rag = run.annotations_of("generate_answer")
    assert (rag["failure_to_answer"]["annotator_kind"], rag["failure_to_answer"]["result"]["label"]) == (
        "CODE", "answered")
    assert rag["language_mismatch"]["result"]["label"] == "match"
    assert (rag["hallucination"]["annotator_kind"], rag["hallucination"]["result"]["label"]) == ("LLM", "grounded")
    assert rag["hallucination"]["result"]["explanation"] == "all 1 claims are supported by the context"
    rating = run.annotations_of("invoke_workflow rag_answer")["user_rating"]  # submitted after the span ended
    assert (rating["result"]["score"], rating["result"]["explanation"]) == (4.0, app.RATING_REASON)
    events = [e for e in run.one("generate_answer")["events"] if e["name"] == "gen_ai.evaluation.result"]
    assert len(events) == len(LLM_EVALUATIONS)  # the OTel-native span events stay


def test_one_warning_for_the_metrics_phoenix_does_not_take(http_run, grpc_run):
    for run, answer in ((http_run, "HTTP 405"), (grpc_run, "gRPC UNIMPLEMENTED")):
        lines = [line for line in run.stderr.splitlines() if METRICS_WARNING in line]
        assert len(lines) == 1 and answer in lines[0], run.stderr
        assert "Failed to export metrics" not in run.stderr


def test_the_ui_shows_the_answer_and_the_evaluations(http_run, phoenix_server, chromium, artifacts):
    from playwright.sync_api import sync_playwright

    (span_id,) = http_run.ids("generate_answer")
    answer_start = http_run.output["answers"]["generate_answer"][:40]
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=str(chromium), args=CHROMIUM_FLAGS, headless=True)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 1100})
            page.goto(f"{phoenix_server.base_url}/redirects/spans/{span_id}")  # Phoenix opens the span's trace
            page.get_by_text("Prompt Template").first.wait_for(state="visible", timeout=90_000)
            page.get_by_text(answer_start).first.wait_for(state="visible", timeout=30_000)
            page.wait_for_load_state("networkidle")
            page.screenshot(path=str(Path(artifacts) / "phoenix-trace.png"))
            text = page.inner_text("body")
            assert "invoke_workflow rag_answer" in text and "retrieval knowledge_base" in text
            for name in (*LLM_EVALUATIONS, "user_rating"):
                assert name in text, name
            chip = page.get_by_role("button", name="View annotation details").filter(has_text="hallucination").last
            chip.click()
            page.get_by_text("grounded").first.wait_for(state="visible", timeout=30_000)
            page.wait_for_timeout(1000)  # the popover fades in
            page.screenshot(path=str(Path(artifacts) / "phoenix-annotation.png"))
            assert "LLM" in page.inner_text("body")
        finally:
            browser.close()
