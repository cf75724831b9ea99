"""``compat=["openinference"]``: the OpenInference attributes Phoenix renders (span kind, input/output values,
prompt template), off by default, never content with capture off. (Phoenix itself: ``tests/e2e``.)"""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc

USER = [{"role": "user", "content": "Which port does OTLP/gRPC use?"}]
OPENINFERENCE_KEYS = (sc.OPENINFERENCE_SPAN_KIND, sc.INPUT_VALUE, sc.INPUT_MIME_TYPE, sc.OUTPUT_VALUE,
                      sc.OUTPUT_MIME_TYPE, sc.LLM_PROMPT_TEMPLATE, sc.LLM_PROMPT_TEMPLATE_VARIABLES,
                      sc.LLM_PROMPT_TEMPLATE_VERSION)


def run_app(openai_client: Any, **settings: Any) -> dict[str, dict[str, Any]]:
    """A small RAG app with every manual span kind; the exported spans' attributes by span name."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(tracer_provider=provider, exporter="none", **settings, export=llmotel.ExportOptions(console=False))

    @llmotel.retrieval(name="kb")
    def retrieve(query: str) -> list[dict[str, Any]]:
        return [{"id": "d1", "text": "OTLP/gRPC uses port 4317.", "score": 0.9}]

    @llmotel.tool
    def shout(text: str) -> str:
        return text.upper()

    @llmotel.task
    def prepare(question: str, top_k: int = 1) -> dict[str, Any]:
        return {"docs": retrieve(question), "top_k": top_k}

    @llmotel.agent
    def agent(question: str) -> str:
        return shout(question)

    @llmotel.workflow(name="rag")
    def rag(client: Any, question: str) -> str:
        context = prepare(question)["docs"][0]["text"]
        prompt = llmotel.Prompt(template="Context: {context}\nQuestion: {question}", id="rag_answer",
                                variables={"context": context, "question": question})
        with llmotel.annotation_context(prompt=prompt):
            answer = client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        agent(question)
        return str(answer.choices[0].message.content)

    rag(openai_client, USER[0]["content"])
    llmotel.flush()
    spans: list[ReadableSpan] = list(exporter.get_finished_spans())
    return {s.name: dict(s.attributes or {}) for s in spans}


def test_off_by_default(openai_client):
    spans = run_app(openai_client)
    assert not [(name, key) for name, a in spans.items() for key in OPENINFERENCE_KEYS if key in a]


def test_kinds_inputs_outputs_and_prompt_template(openai_client):
    spans = run_app(openai_client, content=llmotel.ContentOptions(compat=["openinference"]))
    kinds = {name: a.get(sc.OPENINFERENCE_SPAN_KIND) for name, a in spans.items()}
    assert kinds == {"invoke_workflow rag": "CHAIN", "task prepare": "CHAIN", "retrieval kb": "RETRIEVER",
                     "chat gpt-4o-mini": None, "invoke_agent agent": "AGENT", "execute_tool shout": "TOOL"}
    workflow = spans["invoke_workflow rag"]
    assert (workflow[sc.INPUT_VALUE], workflow[sc.INPUT_MIME_TYPE]) == (USER[0]["content"], "text/plain")
    assert workflow[sc.OUTPUT_VALUE].startswith("Echo: ")  # the fake provider echoes the question
    task = spans["task prepare"]
    assert json.loads(task[sc.INPUT_VALUE]) == {"question": USER[0]["content"], "top_k": 1}
    assert task[sc.INPUT_MIME_TYPE] == task[sc.OUTPUT_MIME_TYPE] == "application/json"
    assert json.loads(task[sc.OUTPUT_VALUE])["docs"][0]["id"] == "d1"
    assert spans["retrieval kb"][sc.INPUT_VALUE] == USER[0]["content"]
    assert spans["execute_tool shout"][sc.OUTPUT_VALUE] == USER[0]["content"].upper()
    llm = spans["chat gpt-4o-mini"]  # Phoenix maps chat spans to LLM itself; the prompt template it does not
    assert llm[sc.LLM_PROMPT_TEMPLATE] == "Context: {context}\nQuestion: {question}"
    assert json.loads(llm[sc.LLM_PROMPT_TEMPLATE_VARIABLES]) == {"context": "OTLP/gRPC uses port 4317.",
                                                                  "question": USER[0]["content"]}
    assert llm[sc.LLM_PROMPT_TEMPLATE_VERSION] == llm[sc.GEN_AI_PROMPT_VERSION]


def test_capture_off_keeps_content_out_of_the_compat_attributes(openai_client):
    spans = run_app(openai_client, content=llmotel.ContentOptions(compat=["openinference"]), capture_content=False)
    assert spans["invoke_workflow rag"][sc.OPENINFERENCE_SPAN_KIND] == "CHAIN"
    assert sc.LLM_PROMPT_TEMPLATE_VERSION in spans["chat gpt-4o-mini"]  # a hash, not content
    everything = repr(spans)
    assert "OTLP/gRPC" not in everything and "Context:" not in everything
    for attributes in spans.values():
        for key in (sc.INPUT_VALUE, sc.OUTPUT_VALUE, sc.LLM_PROMPT_TEMPLATE, sc.LLM_PROMPT_TEMPLATE_VARIABLES):
            assert key not in attributes


def test_annotate_writes_them_too(openai_client):
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(tracer_provider=provider, exporter="none", instrument=[],
                   export=llmotel.ExportOptions(console=False), content=llmotel.ContentOptions(compat="openinference"))
    with llmotel.workflow("by_hand"):
        llmotel.annotate(input={"q": "x"}, output="done")
    (span,) = exporter.get_finished_spans()
    a = dict(span.attributes or {})
    assert (a[sc.OPENINFERENCE_SPAN_KIND], a[sc.INPUT_VALUE], a[sc.INPUT_MIME_TYPE]) == (
        "CHAIN", '{"q":"x"}', "application/json")
    assert (a[sc.OUTPUT_VALUE], a[sc.OUTPUT_MIME_TYPE]) == ("done", "text/plain")
    assert json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["finish_reason"] == "stop"


def test_compat_setting_from_the_environment_and_its_errors(monkeypatch):
    from llmotel import config

    monkeypatch.setenv("LLMOTEL_COMPAT", "openinference")
    assert config.resolve().compat == ("openinference",)
    with pytest.raises(llmotel.ConfigurationError) as info:
        config.resolve(compat=["langfuse"])
    assert info.value.setting == "compat"
