"""The built-in offline checks by name through enable(): real SDK calls, results as span events."""

from __future__ import annotations

import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc
from llmotel.config import BUILTIN_EVALUATORS
from llmotel.errors import ConfigurationError
from llmotel.evaluation import builtin
from llmotel.evaluation._loading import background_load
from tests.fake_providers import Reply

OFFLINE = ["language_mismatch", "failure_to_answer", "sentiment", "toxicity"]
GERMAN_QUESTION = "Wie lange dauert die Lieferung nach Berlin, und kann ich die Adresse noch ändern?"


def run(openai_client: Any, fake_provider: Any, answer: str, question: str = GERMAN_QUESTION,
        **settings: Any) -> dict[str, dict[str, Any]]:
    exporter = InMemorySpanExporter()
    llmotel.enable(exporter=exporter, tracer_provider=TracerProvider(), **settings,
                   export=llmotel.ExportOptions(console=False))
    assert background_load.wait(240)  # results, not StillLoading, however slow this machine is today
    fake_provider.script(Reply(text=answer))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": question}])
    assert llmotel.flush(timeout=30)
    (span,) = exporter.get_finished_spans()
    return events_by_name(span)


def events_by_name(span: ReadableSpan) -> dict[str, dict[str, Any]]:
    return {e.attributes[sc.GEN_AI_EVALUATION_NAME]: dict(e.attributes) for e in span.events
            if e.name == sc.GEN_AI_EVALUATION_RESULT_EVENT}


def label(event: dict[str, Any]) -> str:
    return event[sc.GEN_AI_EVALUATION_SCORE_LABEL]


def test_every_builtin_name_builds():
    assert set(BUILTIN_EVALUATORS) == {"pii"} | set(builtin.BUILTIN) | set(builtin.JUDGE_CHECKS)
    assert [e.name for e in builtin.evaluators(list(builtin.BUILTIN))] == list(builtin.BUILTIN)


@pytest.mark.parametrize("name", ["hallucination", "prompt_injection", "topic_relevancy", "answer_relevance"])
def test_judge_checks_need_a_judge(name):
    with pytest.raises(ConfigurationError, match="judge"):
        llmotel.enable(exporter="none", evaluators=[name], export=llmotel.ExportOptions(console=False))


@pytest.mark.parametrize("options, setting", [
    ({"provider": "openai"}, "judge"),
    ({"model": "gpt-4o-mini"}, "judge_provider"),
    ({"provider": "mistral", "model": "m"}, "judge_provider"),
    (None, "judge"),
    ({"max_tokens_per_minute": 0}, "judge_max_tokens_per_minute"),
])
def test_invalid_judge_settings(options, setting):
    with pytest.raises(ConfigurationError, match=setting):
        judge = object() if options is None else llmotel.JudgeOptions(**options)
        llmotel.enable(exporter="none", judge=judge, export=llmotel.ExportOptions(console=False))


def test_a_helpful_english_answer_to_a_german_question(openai_client, fake_provider):
    events = run(openai_client, fake_provider, evaluators=OFFLINE,
                 answer="Delivery to Berlin usually takes two to three working days, and you can change the "
                        "address until the parcel ships. Thank you, that is a great question!")
    assert label(events["language_mismatch"]) == "mismatch"
    assert "German (de)" in events["language_mismatch"][sc.GEN_AI_EVALUATION_EXPLANATION]
    assert label(events["failure_to_answer"]) == "answered"
    assert label(events["output_sentiment"]) == "positive"
    assert label(events["input_sentiment"]) == "skipped"  # VADER is English-only
    assert label(events["input_toxicity"]) == "safe" and label(events["output_toxicity"]) == "safe"


def test_a_rude_refusal(openai_client, fake_provider):
    events = run(openai_client, fake_provider, question="Can you help me reset my password please?",
                 answer="I'm sorry, but I can't help with that. Shut up, you useless idiot.",
                 evaluators=OFFLINE)
    assert label(events["language_mismatch"]) == "match"
    assert label(events["failure_to_answer"]) == "refusal"
    assert label(events["output_sentiment"]) == "negative"
    assert label(events["output_toxicity"]) == "toxic"
    assert events["output_toxicity"][sc.LLMOTEL_EVALUATION_METADATA_PREFIX + "certain"] is True


def test_builtins_with_capture_off_export_results_only(openai_client, fake_provider):
    events = run(openai_client, fake_provider, evaluators=OFFLINE, capture_content=False,
                 answer="Delivery to Berlin usually takes two to three working days.")
    assert label(events["language_mismatch"]) == "mismatch"
    # the built-ins' explanations carry no user text, so they are exported even with capture off
    assert "English (en)" in events["language_mismatch"][sc.GEN_AI_EVALUATION_EXPLANATION]


@pytest.mark.parametrize("evaluators", ["language_mismatch,sentiment", ["failure_to_answer"]])
def test_names_from_env_or_list(monkeypatch, openai_client, fake_provider, evaluators):
    if isinstance(evaluators, str):
        monkeypatch.setenv("LLMOTEL_EVALUATORS", evaluators)
        events = run(openai_client, fake_provider, answer="Two to three days.")
    else:
        events = run(openai_client, fake_provider, answer="Two to three days.", evaluators=evaluators)
    expected = {"language_mismatch", "input_sentiment", "output_sentiment"} if isinstance(evaluators, str) \
        else {"failure_to_answer"}
    assert set(events) == expected


@pytest.mark.parametrize("trace_judge", [False, True])
def test_a_judge_check_through_enable(openai_client, fake_provider, trace_judge):
    """hallucination by name with a Judge on the fake provider: the user's span gets the result; the judge's own
    call is either untraced or a separate root trace that is never evaluated."""
    from llmotel.evaluation.judge import Judge

    exporter = InMemorySpanExporter()
    judge = Judge(openai_client, model="gpt-4o-mini", trace=trace_judge)
    llmotel.enable(exporter=exporter, tracer_provider=TracerProvider(), evaluators=["hallucination"], judge=judge,
                   export=llmotel.ExportOptions(console=False))
    verdict = {"claims": [{"claim": "Delivery takes two days.", "verdict": "contradicted",
                           "evidence": "Delivery takes five working days."}]}
    fake_provider.script(Reply(text="Delivery takes two days."), Reply(text=json.dumps(verdict)))
    prompt = llmotel.Prompt(template="Context: {context}\nQuestion: {question}",
                            variables={"context": "Delivery takes five working days.",
                                       "question": "How long does delivery take?"},
                            rag_query_variables=["question"], rag_context_variables=["context"])
    with llmotel.workflow("answer"), llmotel.annotation_context(prompt=prompt):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "How long?"}])
    assert llmotel.flush(timeout=30)
    spans = exporter.get_finished_spans()
    user_chat = next(s for s in spans if s.name == "chat gpt-4o-mini" and s.parent is not None
                     and any(p.name == "invoke_workflow answer" and p.context.span_id == s.parent.span_id
                             for p in spans))
    event = events_by_name(user_chat)["hallucination"]
    assert label(event) == "hallucination" and event[sc.GEN_AI_EVALUATION_SCORE_VALUE] == 1.0
    judge_spans = [s for s in spans if s.context.trace_id != user_chat.context.trace_id]
    if not trace_judge:
        assert judge_spans == []
    else:
        root = next(s for s in judge_spans if s.parent is None)
        assert root.name == "evaluation judge hallucination" and root.attributes[sc.LLMOTEL_EVALUATION_JUDGE] is True
        assert any(s.name.startswith("chat ") for s in judge_spans)
        assert all(not events_by_name(s) for s in judge_spans)  # judge calls are never evaluated
    assert len(fake_provider.requests) == 2
