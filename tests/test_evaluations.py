"""export_span, submit_evaluation (live span, ended span, another process's SpanRef) and @metric."""

from __future__ import annotations

import json
import math
import subprocess
import sys
import textwrap
from datetime import datetime, timezone

import pytest
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc


@pytest.fixture
def exporter():
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(tracer_provider=provider, exporter="none", export=llmotel.ExportOptions(console=False))
    return exporter


def evaluation_events(span):
    return [dict(e.attributes) for e in span.events if e.name == sc.GEN_AI_EVALUATION_RESULT_EVENT]


def test_export_span_ref(exporter):
    with llmotel.task("t") as span:
        ref = llmotel.export_span()
    assert ref.trace_id == format(span.get_span_context().trace_id, "032x")
    assert ref.span_id == format(span.get_span_context().span_id, "016x")
    assert ref.is_valid
    assert ref.to_dict() == {"trace_id": ref.trace_id, "span_id": ref.span_id}
    assert not llmotel.export_span().is_valid  # no current span


def test_on_a_recording_span_the_event_is_added(exporter):
    with llmotel.llm(model_name="m") as span:
        span.set_attribute(sc.GEN_AI_RESPONSE_ID, "resp_1")
        llmotel.submit_evaluation(label="helpfulness", metric_type="score", value=0.8, reasoning="clear",
                                  assessment="pass", tags={"judge": "human"})
    (done,) = exporter.get_finished_spans()
    (event,) = evaluation_events(done)
    assert event == {
        sc.GEN_AI_EVALUATION_NAME: "helpfulness", sc.GEN_AI_EVALUATION_SCORE_VALUE: 0.8,
        sc.GEN_AI_EVALUATION_SCORE_LABEL: "pass", sc.GEN_AI_EVALUATION_EXPLANATION: "clear",
        sc.LLMOTEL_EVALUATION_ASSESSMENT: "pass", sc.LLMOTEL_EVALUATION_METRIC_TYPE: "score",
        sc.LLMOTEL_EVALUATION_TAGS: ("judge:human",), sc.LLMOTEL_EVALUATION_SOURCE: "custom",
        sc.GEN_AI_RESPONSE_ID: "resp_1",
    }


def test_on_an_ended_span_a_child_evaluation_span_carries_it(exporter, openai_client):
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    (chat,) = exporter.get_finished_spans()
    ref = llmotel.export_span(chat)
    when = datetime(2026, 1, 1, tzinfo=timezone.utc)
    llmotel.submit_evaluation(ref, label="tone", metric_type="categorical", value="friendly", timestamp=when)
    llmotel.submit_evaluation(span=chat, label="correct", metric_type="boolean", value=False)
    tone, correct = [s for s in exporter.get_finished_spans() if s.name.startswith("evaluation ")]
    assert tone.name == "evaluation tone"
    assert tone.parent.span_id == chat.context.span_id
    assert tone.context.trace_id == chat.context.trace_id
    (event,) = evaluation_events(tone)
    assert event[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "friendly"
    assert tone.events[0].timestamp == int(when.timestamp() * 1e9)
    (event,) = evaluation_events(correct)
    assert event[sc.GEN_AI_EVALUATION_SCORE_VALUE] == 0.0
    assert event[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "false"
    assert correct.parent.span_id == chat.context.span_id


def test_span_ref_from_another_process(exporter, tmp_path):
    with llmotel.workflow("request") as span:
        ref = llmotel.export_span()
    payload = json.dumps(ref.to_dict())
    script = textwrap.dedent(f"""
        import json, llmotel
        from opentelemetry.sdk.trace import TracerProvider
        from opentelemetry.sdk.trace.export import SimpleSpanProcessor
        from llmotel.export.otlp_json import OtlpJsonFileExporter
        provider = TracerProvider()
        provider.add_span_processor(SimpleSpanProcessor(OtlpJsonFileExporter({str(tmp_path / "out.jsonl")!r})))
        llmotel.enable(tracer_provider=provider, exporter="none", export=llmotel.ExportOptions(console=False))
        ref = llmotel.SpanRef(**json.loads({payload!r}))
        llmotel.submit_evaluation(ref, label="user_rating", value=4, metric_type="score")
        llmotel.shutdown()
    """)
    subprocess.run([sys.executable, "-c", script], check=True, timeout=60)
    (line,) = (tmp_path / "out.jsonl").read_text().splitlines()
    (child,) = json.loads(line)["resourceSpans"][0]["scopeSpans"][0]["spans"]
    assert child["name"] == "evaluation user_rating"
    assert child["traceId"] == ref.trace_id
    assert child["parentSpanId"] == ref.span_id
    assert span.get_span_context().span_id == int(ref.span_id, 16)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"label": "", "value": 1}, "label"),
        ({"label": "a.b", "value": 1}, "'.'"),
        ({"label": "x", "metric_type": "stars", "value": 1}, "metric_type"),
        ({"label": "x", "metric_type": "score", "value": "high"}, "score"),
        ({"label": "x", "metric_type": "score", "value": True}, "score"),
        ({"label": "x", "metric_type": "score", "value": math.inf}, "score"),
        ({"label": "x", "metric_type": "categorical", "value": 3}, "categorical"),
        ({"label": "x", "metric_type": "boolean", "value": 1}, "boolean"),
        ({"label": "x", "value": 1, "assessment": "ok"}, "assessment"),
        ({"label": "x", "value": 1, "reasoning": 5}, "reasoning"),
        ({"label": "x", "value": 1, "timestamp": "yesterday"}, "timestamp"),
        ({"label": "x", "value": 1, "tags": "a"}, "tags"),
    ],
)
def test_validation(exporter, kwargs, message):
    with llmotel.task("t"), pytest.raises((llmotel.EvaluationError, llmotel.AnnotationError), match=message):
        llmotel.submit_evaluation(**kwargs)


def test_no_span_is_a_no_op():
    llmotel.submit_evaluation(label="x", value=1.0)  # tracing not enabled: nothing to attach to, no error


def test_metric_helper():
    @llmotel.metric
    def exact(a: str, b: str) -> bool:
        return a == b

    @llmotel.metric
    def bad(value):
        return value

    assert exact("a", "a") == 1
    assert exact("a", "b") == 0
    assert bad(3) == 3
    assert bad(0.5) == 0.5
    for wrong in ("0.5", None, float("nan")):
        with pytest.raises(llmotel.EvaluationError, match="bad must return"):
            bad(wrong)


async def test_async_metric_helper():
    @llmotel.metric
    async def score() -> float:
        return 0.25

    assert await score() == 0.25
