"""Manual spans: decorators on the four function kinds, context managers, names, kinds, inputs/outputs."""

from __future__ import annotations

import gc
import json

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import llmotel
from llmotel import semconv as sc


@pytest.fixture
def spans():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(tracer_provider=provider, exporter="none", export=llmotel.ExportOptions(console=False))

    def finished(name=None):
        found = list(exporter.get_finished_spans())
        return [s for s in found if s.name == name] if name else found

    return finished


def attrs(span):
    return dict(span.attributes or {})


class Agent:
    @llmotel.agent
    def run(self, goal: str, *, budget: int = 3) -> str:
        return f"done: {goal}"


def test_sync_decorators_names_kinds_and_io(spans):
    @llmotel.workflow
    def pipeline(question: str) -> str:
        return answer(question)

    @llmotel.task(name="answer_step")
    def answer(question: str) -> dict:
        return {"answer": lookup(question), "agent": Agent().run("find")}

    @llmotel.tool(description="Looks things up")
    def lookup(query: str) -> str:
        return "42"

    assert pipeline("life?") == {"answer": "42", "agent": "done: find"}
    workflow, = spans("invoke_workflow pipeline")
    task, = spans("task answer_step")
    tool, = spans("execute_tool lookup")
    agent, = spans("invoke_agent run")
    assert workflow.kind is SpanKind.INTERNAL
    assert attrs(workflow)[sc.GEN_AI_OPERATION_NAME] == "invoke_workflow"
    assert attrs(workflow)[sc.GEN_AI_WORKFLOW_NAME] == "pipeline"
    assert json.loads(attrs(workflow)[sc.LLMOTEL_SPAN_INPUT]) == {"question": "life?"}
    assert json.loads(attrs(workflow)[sc.LLMOTEL_SPAN_OUTPUT]) == {"answer": "42", "agent": "done: find"}
    assert attrs(task)[sc.LLMOTEL_SPAN_KIND] == "task"
    assert task.parent.span_id == workflow.context.span_id
    assert tool.parent.span_id == task.context.span_id
    assert json.loads(attrs(tool)[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {"query": "life?"}
    assert json.loads(attrs(tool)[sc.GEN_AI_TOOL_CALL_RESULT]) == "42"
    assert attrs(tool)[sc.GEN_AI_TOOL_DESCRIPTION] == "Looks things up"
    assert json.loads(attrs(agent)[sc.LLMOTEL_SPAN_INPUT]) == {"goal": "find", "budget": 3}  # self dropped
    assert attrs(agent)[sc.GEN_AI_AGENT_NAME] == "run"


async def test_async_function_and_llm_span_with_auto_child(spans, async_openai_client):
    @llmotel.workflow(name="async_flow")
    async def flow() -> str:
        reply = await async_openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
        return reply.choices[0].message.content

    assert (await flow()).startswith("Echo")
    parent, = spans("invoke_workflow async_flow")
    chat, = spans("chat gpt-4o-mini")
    assert chat.parent.span_id == parent.context.span_id


def test_generator_span_covers_iteration(spans, openai_client):
    @llmotel.task
    def produce(n: int):
        for i in range(n):
            openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": str(i)}])
            yield i

    assert list(produce(3)) == [0, 1, 2]
    task, = spans("task produce")
    chats = spans("chat gpt-4o-mini")
    assert len(chats) == 3
    assert all(c.parent.span_id == task.context.span_id for c in chats)
    assert json.loads(attrs(task)[sc.LLMOTEL_SPAN_OUTPUT]) == [0, 1, 2]


def test_generator_closed_early_ends_span(spans):
    @llmotel.task
    def numbers():
        yield from range(100)

    gen = numbers()
    assert next(gen) == 0
    gen.close()
    task, = spans("task numbers")
    assert json.loads(attrs(task)[sc.LLMOTEL_SPAN_OUTPUT]) == [0]
    gen2 = numbers()
    next(gen2)
    del gen2
    gc.collect()
    assert len(spans("task numbers")) == 2


def test_generator_send(spans):
    @llmotel.task
    def echo():
        received = yield "ready"
        while received is not None:
            received = yield f"got {received}"

    gen = echo()
    assert next(gen) == "ready"
    assert gen.send("a") == "got a"
    with pytest.raises(StopIteration):
        gen.send(None)
    assert len(spans("task echo")) == 1


async def test_async_generator(spans):
    @llmotel.retrieval(name="kb")
    async def search(query: str):
        yield {"text": "doc one", "id": "1"}
        yield {"text": "doc two", "id": "2"}

    items = [d async for d in search("otlp")]
    assert len(items) == 2
    span, = spans("retrieval kb")
    assert span.kind is SpanKind.CLIENT
    a = attrs(span)
    assert a[sc.GEN_AI_DATA_SOURCE_ID] == "kb"
    assert a[sc.GEN_AI_RETRIEVAL_QUERY_TEXT] == "otlp"
    assert [d["id"] for d in json.loads(a[sc.GEN_AI_RETRIEVAL_DOCUMENTS])] == ["1", "2"]


async def test_async_generator_broken_out_of(spans):
    @llmotel.task
    async def ticks():
        for i in range(10):
            yield i

    agen = ticks()
    async for _ in agen:
        break
    await agen.aclose()
    assert len(spans("task ticks")) == 1


def test_exceptions_are_recorded_and_reraised(spans):
    @llmotel.tool
    def broken() -> None:
        raise KeyError("nope")

    with pytest.raises(KeyError):
        broken()
    span, = spans("execute_tool broken")
    assert span.status.status_code is StatusCode.ERROR
    assert attrs(span)[sc.ERROR_TYPE] == "KeyError"


def test_context_managers(spans):
    with llmotel.workflow("checkout") as outer:
        with llmotel.embedding(model_name="text-embedding-3-small", model_provider="openai") as inner:
            inner.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, 5)
        assert outer.is_recording()
    workflow, = spans("invoke_workflow checkout")
    emb, = spans("embeddings text-embedding-3-small")
    assert emb.parent.span_id == workflow.context.span_id
    assert attrs(emb)[sc.GEN_AI_OPERATION_NAME] == "embeddings"
    assert emb.kind is SpanKind.CLIENT


async def test_async_context_manager(spans):
    async with llmotel.agent("planner"):
        pass
    assert len(spans("invoke_agent planner")) == 1


def test_llm_and_embedding_never_capture_io(spans):
    @llmotel.llm(model_name="local-model")
    def generate(prompt: str) -> str:
        return "secret output"

    generate("secret input")
    span, = spans("chat local-model")
    assert "secret" not in repr(attrs(span))


def test_capture_off_records_no_io():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(tracer_provider=provider, exporter="none", capture_content=False,
                   export=llmotel.ExportOptions(console=False))

    @llmotel.task
    def step(secret: str) -> str:
        return secret

    step("secret value")
    (span,) = exporter.get_finished_spans()
    assert "secret" not in repr(attrs(span))


def test_only_data_is_recorded_and_sizes_are_bounded(spans, openai_client):
    class Thing:
        def __repr__(self) -> str:
            return "<Thing>"

    @llmotel.task
    def step(client: object, thing: Thing, callback: object, blob: str, n: int = 2) -> Thing:
        return thing

    step(openai_client, Thing(), print, "x" * 100_000)
    span, = spans("task step")
    a = attrs(span)
    recorded = json.loads(a[sc.LLMOTEL_SPAN_INPUT])  # still valid JSON after the cut
    assert set(recorded) == {"blob", "n"}  # the client, the object and the callable are left out
    assert "truncated" in recorded["blob"]
    assert len(a[sc.LLMOTEL_SPAN_INPUT]) < 40_000
    assert a[sc.LLMOTEL_CONTENT_TRUNCATED] is True
    assert "object at 0x" not in repr(a) and "<Thing>" not in repr(a)
    assert sc.LLMOTEL_SPAN_OUTPUT not in a  # the result is not data either


def test_data_arguments_become_json(spans):
    import dataclasses
    import datetime
    import enum
    import uuid

    class Colour(enum.Enum):
        RED = "red"

    @dataclasses.dataclass
    class Query:
        text: str
        top_k: int

    class Order:
        pass

    @llmotel.tool
    def lookup(query: Query, when: datetime.date, colour: Colour, ids: set, nested: dict, *rest, **extra) -> list:
        return [query, {"order": Order()}]

    lookup(Query("otlp", 3), datetime.date(2026, 1, 2), Colour.RED, {uuid.UUID(int=1)}, {"a": [1, 2.5, None]},
           "extra-positional", flag=True)
    span, = spans("execute_tool lookup")
    a = attrs(span)
    assert json.loads(a[sc.GEN_AI_TOOL_CALL_ARGUMENTS]) == {
        "query": {"text": "otlp", "top_k": 3}, "when": "2026-01-02", "colour": "red",
        "ids": ["00000000-0000-0000-0000-000000000001"], "nested": {"a": [1, 2.5, None]},
        "rest": ["extra-positional"], "flag": True}
    assert json.loads(a[sc.GEN_AI_TOOL_CALL_RESULT]) == [{"text": "otlp", "top_k": 3}, {}]


def test_workflow_and_agent_spans_carry_genai_input_and_output_messages(spans):
    from tests.genai_schemas import assert_content_valid

    @llmotel.workflow
    def ask(question: str) -> str:
        return "It is 4317."

    @llmotel.agent
    def plan(goal: str, steps: int) -> dict:
        return {"steps": steps}

    ask("Which port?")
    plan("ship it", 2)
    workflow, = spans("invoke_workflow ask")
    agent, = spans("invoke_agent plan")
    assert json.loads(attrs(workflow)[sc.GEN_AI_INPUT_MESSAGES]) == [
        {"role": "user", "parts": [{"type": "text", "content": "Which port?"}]}]
    assert json.loads(attrs(workflow)[sc.GEN_AI_OUTPUT_MESSAGES]) == [
        {"role": "assistant", "parts": [{"type": "text", "content": "It is 4317."}], "finish_reason": "stop"}]
    assert json.loads(attrs(agent)[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == (
        '{"goal":"ship it","steps":2}')
    for span in (workflow, agent):
        assert_content_valid(attrs(span))


def test_bad_options():
    with pytest.raises(llmotel.AnnotationError, match="unexpected option"):
        llmotel.workflow("x", model_name="m")
    with pytest.raises(llmotel.AnnotationError, match="name"):
        llmotel.task(name="")
