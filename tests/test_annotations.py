"""Prompt, annotation_context (threads, asyncio, nesting) on auto-instrumented spans, and annotate()."""

from __future__ import annotations

import asyncio
import contextvars
import json
from concurrent.futures import ThreadPoolExecutor

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc
from llmotel.annotations import current_annotations

USER = [{"role": "user", "content": "What is OTLP?"}]


def attrs(span):
    return dict(span.attributes or {})


# --- Prompt ------


def test_prompt_version_is_a_stable_content_hash():
    a = llmotel.Prompt(template="Answer {question} from {context}")
    b = llmotel.Prompt(template="Answer {question} from {context}", variables={"question": "x"})
    c = llmotel.Prompt(template="Answer {question} using {context}")
    assert a.version == b.version
    assert a.version != c.version
    assert llmotel.Prompt(template="t", version="v7").version == "v7"
    chat = llmotel.Prompt(chat_template=[{"role": "system", "content": "Be brief"}])
    assert chat.version and chat.template_text == '[{"role":"system","content":"Be brief"}]'


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"template": "a", "chat_template": [{"role": "user", "content": "b"}]}, "not both"),
        ({"variables": {"x": object()}}, "variable 'x'"),
        ({"chat_template": "just a string"}, "chat_template"),
        ({"chat_template": [{"role": "user"}]}, "chat_template message"),
        ({"rag_query_variables": [""]}, "rag_query_variables"),
        ({"template": 42}, "template"),
        ({"tags": {"a": 1}}, "tags"),
    ],
)
def test_prompt_errors(kwargs, message):
    with pytest.raises(llmotel.AnnotationError, match=message):
        llmotel.Prompt(**kwargs)


def test_prompt_variables_json_serialised():
    prompt = llmotel.Prompt(template="t", variables={"n": 3, "docs": ["a", "b"], "q": "hi"})
    assert prompt.variable_text == {"n": "3", "docs": '["a", "b"]', "q": "hi"}


# --- annotation_context on auto-instrumented spans ------


def rag_prompt(question: str = "What is OTLP?") -> llmotel.Prompt:
    return llmotel.Prompt(
        template="Answer {user_question} from {article}", id="qa-prompt",
        variables={"user_question": question, "article": "OTLP is the OpenTelemetry protocol."},
        rag_query_variables=["user_question"], rag_context_variables=["article"],
    )


def test_rag_example_from_the_readme(traced, openai_client):
    with llmotel.annotation_context(prompt=rag_prompt(), name="generate_answer", tags={"team": "ml"},
                                    metadata={"user_tier": "pro", "attempt": 2}):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    span = traced.one()
    a = attrs(span)
    assert span.name == "generate_answer"
    assert a[sc.GEN_AI_PROMPT_NAME] == "qa-prompt"
    assert a[sc.GEN_AI_PROMPT_VERSION] == rag_prompt().version
    assert a["gen_ai.prompt.variable.user_question"] == "What is OTLP?"
    assert a["gen_ai.prompt.variable.article"] == "OTLP is the OpenTelemetry protocol."
    assert a[sc.LLMOTEL_PROMPT_TEMPLATE] == "Answer {user_question} from {article}"
    assert a[sc.LLMOTEL_PROMPT_RAG_QUERY_VARIABLES] == ("user_question",)
    assert a[sc.LLMOTEL_PROMPT_RAG_CONTEXT_VARIABLES] == ("article",)
    assert a[sc.LLMOTEL_TAGS] == ("team:ml",)
    assert a["llmotel.metadata.user_tier"] == "pro"
    assert a["llmotel.metadata.attempt"] == 2
    assert a[sc.GEN_AI_OPERATION_NAME] == "chat"  # still a normal LLM span


def test_capture_off_keeps_variables_and_template_out(instrument, openai_client):
    traced = instrument(capture_content=False)
    with llmotel.annotation_context(prompt=rag_prompt()):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    a = attrs(traced.one())
    assert a[sc.GEN_AI_PROMPT_NAME] == "qa-prompt"
    assert not any(k.startswith(sc.GEN_AI_PROMPT_VARIABLE_PREFIX) for k in a)
    assert sc.LLMOTEL_PROMPT_TEMPLATE not in a
    assert "OpenTelemetry protocol" not in repr(a)


def test_nested_contexts_merge_inner_wins(traced, openai_client):
    outer = llmotel.Prompt(template="outer", id="outer")
    with llmotel.annotation_context(prompt=outer, name="outer-name", tags={"a": "1", "b": "1"}, metadata={"x": 1}):
        with llmotel.annotation_context(tags={"b": "2"}, metadata={"y": 2}):
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)  # inherits the outer prompt
        with llmotel.annotation_context(prompt=llmotel.Prompt(template="inner", id="inner"), name="inner-name"):
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    first, second, third, outside = traced.llm_spans()
    assert attrs(first)[sc.GEN_AI_PROMPT_NAME] == "outer"
    assert first.name == "outer-name"
    assert attrs(first)[sc.LLMOTEL_TAGS] == ("a:1", "b:2")
    assert attrs(first)["llmotel.metadata.x"] == 1
    assert attrs(first)["llmotel.metadata.y"] == 2
    assert attrs(second)[sc.GEN_AI_PROMPT_NAME] == "inner"
    assert second.name == "inner-name"
    assert attrs(third)[sc.GEN_AI_PROMPT_NAME] == "outer"
    assert "llmotel.metadata.y" not in attrs(third)
    assert sc.GEN_AI_PROMPT_NAME not in attrs(outside)
    assert outside.name == "chat gpt-4o-mini"


def test_threads_with_copied_context(traced, openai_client):
    with llmotel.annotation_context(prompt=rag_prompt("threaded?")), ThreadPoolExecutor(2) as pool:
        futures = [pool.submit(contextvars.copy_context().run, openai_client.chat.completions.create,
                               model="gpt-4o-mini", messages=USER) for _ in range(2)]
        for f in futures:
            f.result()
    spans = traced.llm_spans()
    assert len(spans) == 2
    assert all(attrs(s)["gen_ai.prompt.variable.user_question"] == "threaded?" for s in spans)


async def test_asyncio_tasks_inherit_and_do_not_leak(traced, async_openai_client):
    async def ask(tag: str) -> None:
        async with llmotel.annotation_context(tags={"task": tag}):
            await asyncio.sleep(0)
            await async_openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)

    async with llmotel.annotation_context(prompt=rag_prompt("async?")):
        await asyncio.gather(ask("one"), ask("two"))
    assert current_annotations() is None
    spans = traced.llm_spans()
    assert sorted(attrs(s)[sc.LLMOTEL_TAGS][0] for s in spans) == ["task:one", "task:two"]
    assert all(attrs(s)["gen_ai.prompt.variable.user_question"] == "async?" for s in spans)


def test_annotation_context_errors():
    with pytest.raises(llmotel.AnnotationError, match="Prompt"):
        llmotel.annotation_context(prompt={"template": "x"})
    with pytest.raises(llmotel.AnnotationError, match="tags"):
        llmotel.annotation_context(tags="team:ml")
    with pytest.raises(llmotel.AnnotationError, match="metadata"):
        llmotel.annotation_context(metadata=["x"])


# --- annotate() ------


@pytest.fixture
def manual():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(tracer_provider=provider, exporter="none", instrument=[],
                   export=llmotel.ExportOptions(console=False))
    return exporter


def test_annotate_llm_span_messages(manual):
    with llmotel.llm(model_name="my-model", model_provider="custom") as span:
        llmotel.annotate(input=[{"role": "system", "content": "Be brief"}, {"role": "user", "content": "Hi"}],
                         output={"role": "assistant", "content": None, "tool_calls": [
                             {"id": "c1", "name": "lookup", "arguments": '{"q": "x"}'}]},
                         metadata={"k": "v"}, metrics={"latency_ms": 12.5}, tags=["exp:1"])
        llmotel.annotate(span=span, tags={"more": "yes"})
    (done,) = manual.get_finished_spans()
    a = attrs(done)
    assert done.name == "chat my-model"
    assert json.loads(a[sc.GEN_AI_INPUT_MESSAGES])[1] == {"role": "user", "parts": [{"type": "text",
                                                                                     "content": "Hi"}]}
    assert json.loads(a[sc.GEN_AI_OUTPUT_MESSAGES])[0]["parts"][0] == {
        "type": "tool_call", "id": "c1", "name": "lookup", "arguments": {"q": "x"}}
    assert a["llmotel.metadata.k"] == "v"
    assert a["llmotel.metric.latency_ms"] == 12.5
    assert a[sc.LLMOTEL_TAGS] == ("exp:1", "more:yes")
    assert a[sc.GEN_AI_PROVIDER_NAME] == "custom"


def test_annotate_retrieval_documents(manual):
    with llmotel.retrieval("vector_db"):
        llmotel.annotate(input="what is otlp", output=[{"text": "OTLP is...", "id": "d1", "score": 0.9},
                                                       {"text": "Spans are...", "id": "d2", "name": "spans.md"}])
    a = attrs(manual.get_finished_spans()[0])
    assert a[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "what is otlp"
    assert json.loads(a[sc.GEN_AI_RETRIEVAL_DOCUMENTS]) == [
        {"id": "d1", "score": 0.9, "content": "OTLP is..."},
        {"id": "d2", "score": None, "name": "spans.md", "content": "Spans are..."}]


def test_annotate_with_capture_off_keeps_content_out():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(tracer_provider=provider, exporter="none", instrument=[], capture_content=False,
                   export=llmotel.ExportOptions(console=False))
    with llmotel.retrieval("db"):
        llmotel.annotate(input="secret query", documents=[{"text": "secret doc", "id": "d1", "score": 0.5}])
    with llmotel.llm(model_name="m"):
        llmotel.annotate(input="secret prompt", output="secret answer", metrics={"m": 1})
    text = repr([attrs(s) for s in exporter.get_finished_spans()])
    assert "secret" not in text
    assert json.loads(attrs(exporter.get_finished_spans()[0])[sc.GEN_AI_RETRIEVAL_DOCUMENTS]) == [
        {"id": "d1", "score": 0.5}]


@pytest.mark.parametrize(
    ("factory", "kwargs", "message"),
    [
        (lambda: llmotel.llm(model_name="m"), {"input": 42}, "llm span"),
        (lambda: llmotel.llm(model_name="m"), {"output": [{"role": "assistant"}]}, "llm span"),
        (lambda: llmotel.retrieval("db"), {"output": [{"id": "x"}]}, "documents"),
        (lambda: llmotel.retrieval("db"), {"input": ["not", "a", "string"]}, "query"),
        (lambda: llmotel.task("t"), {"metrics": {"x": "high"}}, "metrics"),
        (lambda: llmotel.task("t"), {"metrics": {"x": float("nan")}}, "metrics"),
        (lambda: llmotel.task("t"), {"tags": "x"}, "tags"),
        (lambda: llmotel.task("t"), {"prompt": "template"}, "Prompt"),
        (lambda: llmotel.task("t"), {"tool_definitions": "x"}, "tool_definitions"),
    ],
)
def test_annotate_wrong_shapes(manual, factory, kwargs, message):
    with factory(), pytest.raises(llmotel.AnnotationError, match=message):
        llmotel.annotate(**kwargs)


def test_annotate_ended_span_raises(manual):
    with llmotel.task("t") as span:
        pass
    with pytest.raises(llmotel.AnnotationError, match="already ended"):
        llmotel.annotate(span=span, metadata={"late": True})


def test_annotate_without_tracing_is_a_no_op():
    llmotel.annotate(metadata={"x": 1}, output="fine")  # no span, no error


def test_annotation_context_on_anthropic_spans(traced, anthropic_client):
    with llmotel.annotation_context(prompt=rag_prompt("claude?"), name="claude_answer"):
        anthropic_client.messages.create(model="claude-sonnet-4-5", max_tokens=50,
                                         messages=[{"role": "user", "content": "hi"}])
    span = traced.one()
    assert span.name == "claude_answer"
    assert attrs(span)[sc.GEN_AI_PROVIDER_NAME] == "anthropic"
    assert attrs(span)["gen_ai.prompt.variable.user_question"] == "claude?"
    assert attrs(span)[sc.LLMOTEL_PROMPT_RAG_CONTEXT_VARIABLES] == ("article",)
