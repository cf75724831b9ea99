"""EvaluatingSpanProcessor through enable(): real SDK calls to the fake provider, evaluations as span events."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import openai
import pytest
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc
from llmotel.errors import ConfigurationError
from llmotel.evaluation.processor import EvaluatingSpanProcessor
from llmotel.evaluation.types import EvaluationInput, EvaluationResult
from tests.fake_providers import Reply

USER = [{"role": "user", "content": "What is the capital of France?"}]


class Recorder:
    """A custom evaluator that remembers its inputs and answers with a fixed result."""

    def __init__(self, name: str = "recorder", label: str = "ok", explanation: str | None = None,
                 delay: float = 0.0) -> None:
        self.name = name
        self.label = label
        self.explanation = explanation
        self.delay = delay
        self.inputs: list[EvaluationInput] = []
        self.threads: set[str] = set()

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        self.inputs.append(input)
        self.threads.add(threading.current_thread().name)
        if self.delay:
            time.sleep(self.delay)
        return EvaluationResult(self.name, score=0.5, label=self.label, explanation=self.explanation,
                                assessment="pass", metadata={"chars": len(input.output_text), "tags": ["a", "b"]})


class Failing:
    name = "failing"

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        raise ValueError("boom")


class Wrong:
    name = "wrong"

    def evaluate(self, input: EvaluationInput) -> Any:
        return {"label": "not a result"}


class AsyncJudge:
    name = "async_judge"
    timeout = 0.3

    def __init__(self, delay: float = 0.0) -> None:
        self.delay = delay
        self.cancelled = threading.Event()

    async def evaluate(self, input: EvaluationInput) -> list[EvaluationResult]:
        try:
            await asyncio.sleep(self.delay)
        except asyncio.CancelledError:
            self.cancelled.set()
            raise
        return [EvaluationResult("async_a", label="x"), EvaluationResult("async_b", score=1)]


@pytest.fixture
def pipeline() -> Iterator[tuple[InMemorySpanExporter, InMemoryMetricReader]]:
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    reader = InMemoryMetricReader()
    meter_provider = MeterProvider(metric_readers=[reader])
    yield exporter, reader, provider, meter_provider  # type: ignore[misc]
    meter_provider.shutdown()


def start(pipeline: Any, **settings: Any) -> tuple[InMemorySpanExporter, InMemoryMetricReader]:
    _, reader, provider, meter_provider = pipeline
    own = InMemorySpanExporter()
    llmotel.enable(exporter=own, tracer_provider=provider, meter_provider=meter_provider, **settings,
                   export=llmotel.ExportOptions(console=False))
    return own, reader


def exported(exporter: InMemorySpanExporter) -> list[ReadableSpan]:
    assert llmotel.flush(timeout=10)
    return list(exporter.get_finished_spans())


def evaluations(span: ReadableSpan) -> dict[str, dict[str, Any]]:
    return {e.attributes[sc.GEN_AI_EVALUATION_NAME]: dict(e.attributes) for e in span.events
            if e.name == sc.GEN_AI_EVALUATION_RESULT_EVENT}


def points(reader: InMemoryMetricReader, name: str) -> list[Any]:
    data = reader.get_metrics_data()
    return [p for rm in (data.resource_metrics if data else ()) for sm in rm.scope_metrics for m in sm.metrics
            if m.name == name for p in m.data.data_points]


def test_a_custom_evaluator_result_becomes_an_event_on_the_exported_span(pipeline, openai_client):
    recorder = Recorder(explanation="looks fine")
    exporter, reader = start(pipeline, evaluators=[recorder])
    response = openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    (span,) = exported(exporter)
    event = evaluations(span)["recorder"]
    assert event[sc.GEN_AI_EVALUATION_SCORE_VALUE] == 0.5
    assert event[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "ok"
    assert event[sc.GEN_AI_EVALUATION_EXPLANATION] == "looks fine"
    assert event[sc.LLMOTEL_EVALUATION_ASSESSMENT] == "pass"
    assert event[sc.GEN_AI_RESPONSE_ID] == response.id
    assert event[sc.LLMOTEL_EVALUATION_METADATA_PREFIX + "tags"] == ("a", "b")
    assert event[sc.LLMOTEL_EVALUATION_DURATION] >= 0
    (seen,) = recorder.inputs
    assert seen.input_text == "What is the capital of France?"
    assert seen.output_text == response.choices[0].message.content
    assert seen.request_model == "gpt-4o-mini" and seen.operation == "chat" and seen.provider == "openai"
    assert all(name.startswith("llmotel-evaluator") for name in recorder.threads)
    # the copy keeps identity, timing and everything the instrumentation recorded
    assert span.attributes[sc.GEN_AI_RESPONSE_ID] == response.id
    assert span.start_time < span.end_time
    counts = {(p.attributes[sc.GEN_AI_EVALUATION_NAME], p.attributes.get(sc.GEN_AI_EVALUATION_SCORE_LABEL)): p.value
              for p in points(reader, sc.METRIC_EVALUATIONS)}
    assert counts == {("recorder", "ok"): 1}
    assert [p.count for p in points(reader, sc.METRIC_EVALUATION_DURATION)] == [1]


def test_the_copy_has_the_same_ids_parent_and_status(pipeline, openai_client, fake_provider):
    exporter, _ = start(pipeline, evaluators=[Recorder()])
    with llmotel.workflow("outer"):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    fake_provider.script(Reply(status=500))
    with pytest.raises(openai.InternalServerError):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    spans = exported(exporter)
    outer = next((s for s in spans if s.name == "invoke_workflow outer"), None)
    assert outer is not None, [s.name for s in spans]
    ok, failed = [s for s in spans if s.name.startswith("chat")]
    assert ok.parent.span_id == outer.context.span_id and ok.context.trace_id == outer.context.trace_id
    assert "recorder" in evaluations(ok) and "recorder" in evaluations(failed)
    assert not evaluations(outer)  # not an LLM span
    assert failed.status.status_code.name == "ERROR"
    assert failed.attributes[sc.ERROR_TYPE] == "InternalServerError"
    assert any(e.name == "exception" for e in failed.events)


def test_failing_wrong_and_slow_evaluators_only_affect_themselves(pipeline, openai_client):
    slow = Recorder("slow", delay=1.0)
    slow.timeout = 0.2  # type: ignore[attr-defined]
    exporter, reader = start(pipeline, evaluators=[Failing(), Wrong(), slow, Recorder()])
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    (span,) = exported(exporter)
    events = evaluations(span)
    assert events["failing"][sc.ERROR_TYPE] == "ValueError"
    assert events["wrong"][sc.ERROR_TYPE] == "TypeError"
    assert events["slow"][sc.ERROR_TYPE] == "TimeoutError"
    assert events["recorder"][sc.GEN_AI_EVALUATION_SCORE_LABEL] == "ok"
    errors = {p.attributes[sc.GEN_AI_EVALUATION_NAME]: p.attributes.get(sc.ERROR_TYPE)
              for p in points(reader, sc.METRIC_EVALUATIONS)}
    assert errors == {"failing": "ValueError", "wrong": "TypeError", "slow": "TimeoutError", "recorder": None}


class CpuBound(Recorder):
    cpu_bound = True


class CpuBoundFailing(Failing):
    name = "cpu_failing"
    cpu_bound = True


class CpuBoundWrong(Wrong):
    name = "cpu_wrong"
    cpu_bound = True


def test_cpu_bound_checks_run_on_the_worker_thread_with_the_same_outcomes(pipeline, openai_client):
    fast, pooled = CpuBound("fast"), Recorder("pooled")
    slow = CpuBound("slow_cpu", delay=0.4)
    slow.timeout = 0.1  # type: ignore[attr-defined]
    exporter, reader = start(pipeline, evaluators=[fast, CpuBoundFailing(), CpuBoundWrong(), slow, pooled])
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    (span,) = exported(exporter)
    events = evaluations(span)
    assert events["fast"][sc.GEN_AI_EVALUATION_SCORE_LABEL] == "ok"
    assert events["fast"][sc.LLMOTEL_EVALUATION_DURATION] >= 0
    assert events["cpu_failing"][sc.ERROR_TYPE] == "ValueError"
    assert events["cpu_wrong"][sc.ERROR_TYPE] == "TypeError"
    # it returned, but after its timeout: reported as a timeout, its result not used
    assert events["slow_cpu"][sc.ERROR_TYPE] == "TimeoutError"
    assert sc.GEN_AI_EVALUATION_SCORE_LABEL not in events["slow_cpu"]
    assert events["pooled"][sc.GEN_AI_EVALUATION_SCORE_LABEL] == "ok"
    assert all(name.startswith("llmotel-evaluation-") for name in fast.threads | slow.threads)
    assert all(name.startswith("llmotel-evaluator-") for name in pooled.threads)
    durations = {p.attributes[sc.GEN_AI_EVALUATION_NAME]: p.count
                 for p in points(reader, sc.METRIC_EVALUATION_DURATION)}
    assert durations == {"fast": 1, "pooled": 1}


@pytest.mark.parametrize("evaluators, expected", [
    ([CpuBound()], 1), ([], 1), ([CpuBound(), Recorder()], 3), ([AsyncJudge()], 3),
])
def test_one_worker_evaluates_when_every_evaluator_is_cpu_bound(evaluators, expected):
    before = set(threading.enumerate())
    processor = EvaluatingSpanProcessor(SimpleSpanProcessor(InMemorySpanExporter()), evaluators, workers=3)
    try:
        started = [t for t in set(threading.enumerate()) - before if t.name.startswith("llmotel-evaluation-")]
        assert len(started) == expected
    finally:
        processor.shutdown()


def test_the_built_in_offline_checks_are_cpu_bound():
    from llmotel.config import resolve
    from llmotel.evaluation import builtin

    names = ["language_mismatch", "failure_to_answer", "sentiment", "toxicity"]
    checks = builtin.evaluators(names, resolve(env={}, evaluators=names))
    assert [c.name for c in checks] == names and all(c.cpu_bound is True for c in checks)


def test_an_evaluator_stuck_past_its_timeout_is_skipped_until_it_returns(pipeline, openai_client):
    release = threading.Event()

    class Stuck:
        name = "stuck"
        timeout = 0.05

        def evaluate(self, input: EvaluationInput) -> None:
            release.wait(10)

    exporter, _ = start(pipeline, evaluators=[Stuck()], evaluation=llmotel.EvaluationOptions(workers=1))
    for _ in range(4):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    spans = exported(exporter)
    errors = [evaluations(s)["stuck"][sc.ERROR_TYPE] for s in spans]
    assert errors[:2] == ["TimeoutError", "TimeoutError"]
    assert errors[2:] == ["llmotel.evaluator_stalled"] * 2
    release.set()


async def test_async_evaluators_run_on_their_own_loop_and_time_out(pipeline, async_openai_client):
    fast, slow = AsyncJudge(), AsyncJudge(delay=5)
    slow.name = "slow_judge"
    exporter, _ = start(pipeline, evaluators=[fast, slow])
    await async_openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    (span,) = await asyncio.to_thread(exported, exporter)
    events = evaluations(span)
    assert events["async_a"][sc.GEN_AI_EVALUATION_SCORE_LABEL] == "x"
    assert events["async_b"][sc.GEN_AI_EVALUATION_SCORE_VALUE] == 1.0
    assert events["slow_judge"][sc.ERROR_TYPE] == "TimeoutError"
    assert slow.cancelled.wait(2)  # a timed-out coroutine is cancelled, not left running


def test_content_reaches_evaluators_but_not_the_exporter_when_capture_is_off(pipeline, openai_client):
    recorder = Recorder(explanation="quotes the answer")

    class Structural(Recorder):
        explanation_has_content = False

    structural = Structural("structural", explanation="no content here")
    exporter, _ = start(pipeline, evaluators=[recorder, structural], capture_content=False)
    prompt = llmotel.Prompt(template="Answer: {question}", variables={"question": "capital of France?"},
                            rag_query_variables=["question"])
    with llmotel.annotation_context(prompt=prompt):
        openai_client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "system", "content": "Be brief"}, *USER])
    (span,) = exported(exporter)
    (seen,) = recorder.inputs
    assert seen.input_text == "What is the capital of France?"
    assert seen.output_text
    assert seen.system_text == "Be brief"
    assert seen.rag_query == "capital of France?"
    assert seen.prompt_template == "Answer: {question}"
    dumped = json.dumps(dict(span.attributes)) + json.dumps([dict(e.attributes) for e in span.events])
    for secret in ("capital of France", "Be brief", seen.output_text, "Answer: {question}"):
        assert secret not in dumped
    assert sc.GEN_AI_EVALUATION_EXPLANATION not in evaluations(span)["recorder"]
    assert evaluations(span)["structural"][sc.GEN_AI_EVALUATION_EXPLANATION] == "no content here"


def test_content_stays_out_of_an_application_processor_on_the_same_provider(pipeline, openai_client):
    exporter, _ = start(pipeline, evaluators=[Recorder()], capture_content=False)
    application_exporter = pipeline[0]  # the application's own SimpleSpanProcessor on the provider
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    exported(exporter)
    (span,) = application_exporter.get_finished_spans()
    assert "capital of France" not in json.dumps(dict(span.attributes))


def test_sampling_rules_choose_spans_per_evaluator(pipeline, openai_client):
    always, never, by_model = Recorder("always"), Recorder("never"), Recorder("by_model")
    rules = json.dumps([
        {"evaluator": "never", "rate": 0},
        {"evaluator": "by_model", "model": "gpt-4o*", "rate": 1},
        {"evaluator": "by_model", "rate": 0},
    ])
    exporter, _ = start(pipeline, evaluators=[always, never, by_model],
                        evaluation=llmotel.EvaluationOptions(sampling_rules=rules))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    openai_client.chat.completions.create(model="o3-mini", messages=USER)
    spans = exported(exporter)
    assert len(always.inputs) == 2 and not never.inputs
    assert [i.request_model for i in by_model.inputs] == ["gpt-4o-mini"]
    assert {tuple(sorted(evaluations(s))) for s in spans} == {("always", "by_model"), ("always",)}


def test_spans_nothing_samples_pass_straight_through_unchanged(pipeline, openai_client):
    exporter, _ = start(pipeline, evaluators=[Recorder()],
                        evaluation=llmotel.EvaluationOptions(sampling_rules=[{"evaluator": "*", "rate": 0.0}]))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    (span,) = exported(exporter)
    assert not span.events
    assert type(span) is ReadableSpan  # what the SDK handed over, not a copy


@pytest.mark.parametrize("rules", [
    "not json", '{"evaluator": "x"}', '[{"rate": 2}]', '[{"rate": "half"}]', '[{"evaluator": ""}]',
    '[{"evaluatr": "x"}]', "[1]",
])
def test_invalid_sampling_rules_are_a_configuration_error(rules, monkeypatch):
    monkeypatch.setenv("LLMOTEL_EVALUATOR_SAMPLING_RULES", rules)
    with pytest.raises(ConfigurationError, match="LLMOTEL_EVALUATOR_SAMPLING_RULES"):
        llmotel.enable(exporter="none", export=llmotel.ExportOptions(console=False))


@pytest.mark.parametrize("kwargs, setting", [
    ({"evaluators": ["nope"]}, "evaluators"),
    ({"evaluators": [object()]}, "evaluators"),
    ({"evaluators": [Recorder("same"), Recorder("same")]}, "evaluators"),
    ({"evaluation": {"timeout": 0}}, "evaluator_timeout"),
    ({"evaluation": {"queue_size": 0}}, "evaluation_queue_size"),
    ({"evaluation": {"workers": "two"}}, "evaluation_workers"),
])
def test_invalid_evaluation_settings_are_configuration_errors(kwargs, setting):
    with pytest.raises(ConfigurationError, match=setting):
        if "evaluation" in kwargs:
            kwargs = {"evaluation": llmotel.EvaluationOptions(**kwargs["evaluation"])}
        llmotel.enable(exporter="none", **kwargs, export=llmotel.ExportOptions(console=False))


def test_a_full_queue_exports_unevaluated_and_counts_the_drop(pipeline, openai_client, caplog):
    gate = threading.Event()

    class Blocking(Recorder):
        def evaluate(self, input: EvaluationInput) -> EvaluationResult:
            gate.wait(10)
            return super().evaluate(input)

    exporter, reader = start(pipeline, evaluators=[Blocking("blocking")],
                             evaluation=llmotel.EvaluationOptions(queue_size=1, workers=1, timeout=30))
    for _ in range(5):  # one on the worker, one queued, three over the limit
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    assert not llmotel.flush(timeout=0.5)  # two are still being evaluated; the three others are exported
    early = list(exporter.get_finished_spans())
    assert len(early) == 3
    assert all(s.attributes[sc.LLMOTEL_EVALUATION_STATUS] == "unevaluated" and not evaluations(s) for s in early)
    gate.set()
    spans = exported(exporter)
    assert len(spans) == 5
    assert sum(1 for s in spans if "blocking" in evaluations(s)) == 2
    (dropped,) = points(reader, sc.METRIC_EVALUATION_DROPPED)
    assert dropped.value == 3 and dropped.attributes == {sc.LLMOTEL_DROP_REASON: "queue_full"}
    assert sum("queue is full" in r.getMessage() for r in caplog.records) == 1  # rate-limited


def test_queue_depth_gauge(pipeline, openai_client):
    gate = threading.Event()

    class Blocking(Recorder):
        def evaluate(self, input: EvaluationInput) -> EvaluationResult:
            gate.wait(10)
            return super().evaluate(input)

    exporter, reader = start(pipeline, evaluators=[Blocking("blocking")],
                             evaluation=llmotel.EvaluationOptions(workers=1, timeout=30))
    for _ in range(3):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    time.sleep(0.1)
    (depth,) = points(reader, sc.METRIC_EVALUATION_QUEUE_DEPTH)
    assert depth.value == 2
    gate.set()
    assert len(exported(exporter)) == 3


def test_flush_and_shutdown_drain_the_queue(pipeline, openai_client):
    exporter, _ = start(pipeline, evaluators=[Recorder("slowish", delay=0.05)],
                        evaluation=llmotel.EvaluationOptions(workers=1))
    for _ in range(6):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    llmotel.shutdown(timeout=10)
    spans = list(exporter.get_finished_spans())
    assert len(spans) == 6 and all("slowish" in evaluations(s) for s in spans)


def test_shutdown_timeout_exports_the_rest_unevaluated(pipeline, openai_client):
    """Issue 13 item 11: spans queued *and* the one still being evaluated are exported unevaluated at the
    deadline, each exactly once."""
    gate = threading.Event()

    class Blocking(Recorder):
        def evaluate(self, input: EvaluationInput) -> EvaluationResult:
            gate.wait(10)
            return super().evaluate(input)

    exporter, _ = start(pipeline, evaluators=[Blocking("blocking")],
                        evaluation=llmotel.EvaluationOptions(workers=1, timeout=30))
    for _ in range(3):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=USER)
    started = time.monotonic()
    llmotel.shutdown(timeout=0.5)
    assert time.monotonic() - started < 1.5
    spans = list(exporter.get_finished_spans())
    assert len(spans) == 3  # two queued, and the one on the worker
    assert all(s.attributes[sc.LLMOTEL_EVALUATION_STATUS] == "unevaluated" for s in spans)
    gate.set()
    time.sleep(0.2)  # the worker's late result is discarded, not exported a second time
    assert len(exporter.get_finished_spans()) == 3


def test_evaluators_work_on_spans_from_other_instrumentations():
    """Only semconv attributes are read, so a GenAI span made by hand (or by another library) is evaluated."""
    exporter = InMemorySpanExporter()
    recorder = Recorder()
    processor = EvaluatingSpanProcessor(SimpleSpanProcessor(exporter), [recorder])
    provider = TracerProvider()
    provider.add_span_processor(processor)
    tracer = provider.get_tracer("other")
    with tracer.start_as_current_span("chat other-model", attributes={
        sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_REQUEST_MODEL: "other-model",
        sc.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "parts": [{"type": "text", "content": "hola"}]}]),
        sc.GEN_AI_OUTPUT_MESSAGES: json.dumps([{"role": "assistant", "parts": [{"type": "text", "content": "hi"}]}]),
        sc.GEN_AI_RETRIEVAL_DOCUMENTS: json.dumps([{"id": "d1", "content": "doc text"}]),
    }):
        pass
    with tracer.start_as_current_span("chat broken", attributes={
        sc.GEN_AI_OPERATION_NAME: "chat", sc.GEN_AI_INPUT_MESSAGES: "{not json", sc.GEN_AI_OUTPUT_MESSAGES: "[1, 2]",
    }):
        pass
    assert processor.force_flush(5000)
    spans = exporter.get_finished_spans()
    assert [("recorder" in evaluations(s)) for s in spans] == [True, True]
    good, broken = recorder.inputs
    assert (good.input_text, good.output_text, good.rag_context) == ("hola", "hi", "doc text")
    assert (broken.input_text, broken.output_text) == ("", "")
    processor.shutdown()


def test_evaluation_result_validates():
    with pytest.raises(ValueError):
        EvaluationResult("")
    with pytest.raises(ValueError):
        EvaluationResult("x", score=float("nan"))
    with pytest.raises(ValueError):
        EvaluationResult("x", assessment="maybe")
    with pytest.raises(ValueError):
        EvaluationResult("x", label=3)  # type: ignore[arg-type]
