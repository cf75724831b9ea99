"""Experiment.run over a dataset with the real OpenAI/Anthropic SDKs against the fake provider (scripted
non-determinism across runs), real SQLite stores, and the traces it exports."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from typing import Any

import openai
import pytest

import llmotel
from llmotel import Dataset, EvaluatorResult, Objective
from llmotel import semconv as sc
from llmotel.evaluation import EvaluationInput, EvaluationResult, Judge
from llmotel.experiments import HighVarianceWarning, Store, exact_match, normalized_match
from tests.fake_providers import Reply

CAPITALS = Dataset("capitals", [
    {"input_data": {"country": "France"}, "expected_output": "Paris", "id": "fr"},
    {"input_data": {"country": "Japan"}, "expected_output": "Tokyo", "id": "jp"},
])


def overlap(input_data: Any, output_data: Any, expected_output: Any) -> float:
    """Share of the expected answer's characters found in the output."""
    expected = set(str(expected_output).lower())
    return len(expected & set(str(output_data).lower())) / len(expected)


def ask_capital(client: openai.OpenAI):
    def task(input_data: dict[str, Any], config: dict[str, Any]) -> str:
        reply = client.chat.completions.create(
            model=config["model"], temperature=config["temperature"],
            messages=[{"role": "system", "content": "Answer with the city only."},
                      {"role": "user", "content": f"What is the capital of {input_data['country']}?"}])
        return reply.choices[0].message.content

    return task


def root_spans(exporter) -> list:
    llmotel.flush()
    return [s for s in exporter.get_finished_spans() if s.name.startswith("experiment ")]


def test_capitals_three_runs_aggregated_stored_and_traced(spans, openai_client, fake_provider, sqlite_store):
    # iteration-major order with jobs=1: fr, jp, fr, jp, fr, jp; France is answered wrongly once
    fake_provider.script(*(Reply(text=t) for t in ["Paris", "Tokyo", "Lyon", "Tokyo", "Paris", "Tokyo"]))
    experiment = llmotel.experiment(
        "capitals", ask_capital(openai_client), CAPITALS, evaluators=[exact_match, overlap], runs=3,
        config={"model": "gpt-4o-mini", "temperature": 0.7},
        objectives=[Objective("exact_match", equals=True), Objective("overlap", at_least=0.6)],
        store=sqlite_store, metadata={"team": "search"},
    )
    with pytest.warns(HighVarianceWarning) as warned:
        result = experiment.run(jobs=1)
    assert sorted(str(w.message).split("'")[3] for w in warned) == ["exact_match", "overlap"]
    assert "varies highly across runs on 1 of 2 records" in str(warned[0].message)
    assert result.status == "completed"
    fr, jp = result.records
    assert fr.outputs == ["Paris", "Lyon", "Paris"] and jp.outputs == ["Tokyo"] * 3
    assert fr.values["exact_match"] == [True, False, True]
    assert fr.aggregates["exact_match"]["value"] == pytest.approx(2 / 3)
    assert (fr.aggregates["exact_match"]["passed_all"], fr.aggregates["exact_match"]["passed_any"]) == (False, True)
    assert fr.aggregates["exact_match"]["high_variance"] is True
    assert jp.aggregates["exact_match"] == {"kind": "boolean", "value": 1.0, "n": 3, "std": 0.0,
                                            "high_variance": False, "passed_all": True, "passed_any": True}
    assert result.summary["exact_match"] == pytest.approx((2 / 3 + 1) / 2)
    assert result.summary["overlap"] == pytest.approx((fr.aggregated["overlap"] + 1.0) / 2)
    assert fr.objectives == {"exact_match": False, "overlap": True} and jp.passed
    exact, over = result.objectives
    assert (exact.passed_records, exact.failed_records, exact.passed) == (1, 1, False)
    assert over.passed and not result.passed
    assert all(t > 0 for t in fr.values["input_tokens"]) and all(t > 0 for t in jp.values["output_tokens"])
    assert result.metadata["user"] == {"team": "search"} and result.metadata["versions"]["openai"]
    assert result.run["config"] == {"model": "gpt-4o-mini", "temperature": 0.7}
    assert result.run["dataset_version"] == CAPITALS.version and result.run["results_done"] == 6

    models = [e["entry"] for e in result.log(("model",))]
    assert [(m["request_model"], m["temperature"], m["system_prompt"]) for m in models] == [
        ("gpt-4o-mini", 0.7, "Answer with the city only.")]

    roots = root_spans(spans)
    assert len(roots) == 6 and len({r.context.trace_id for r in roots}) == 6
    first = next(r for r in roots if r.attributes[sc.LLMOTEL_DATASET_RECORD_ID] == "fr"
                 and r.attributes[sc.LLMOTEL_EXPERIMENT_ITERATION] == 1)
    assert first.parent is None
    assert first.attributes[sc.LLMOTEL_EXPERIMENT_RUN_ID] == result.run_id
    assert first.attributes[sc.LLMOTEL_DATASET_VERSION] == CAPITALS.version
    assert json.loads(first.attributes[sc.LLMOTEL_SPAN_INPUT]) == {"country": "France"}
    assert first.attributes[sc.LLMOTEL_SPAN_OUTPUT] == "Lyon"
    events = {e.attributes[sc.GEN_AI_EVALUATION_NAME]: e.attributes for e in first.events
              if e.name == sc.GEN_AI_EVALUATION_RESULT_EVENT}
    assert events["exact_match"][sc.GEN_AI_EVALUATION_SCORE_LABEL] == "false"
    assert events["overlap"][sc.GEN_AI_EVALUATION_SCORE_VALUE] == pytest.approx(fr.values["overlap"][1])
    llm = [s for s in spans.get_finished_spans() if s.context.trace_id == first.context.trace_id
           and s.attributes.get(sc.GEN_AI_OPERATION_NAME) == "chat"]
    assert len(llm) == 1 and llm[0].parent.span_id == first.context.span_id
    assert first.attributes[sc.LLMOTEL_EXPERIMENT_INPUT_TOKENS] == llm[0].attributes[sc.GEN_AI_USAGE_INPUT_TOKENS]

    reopened = llmotel.experiments.ExperimentResult(Store(sqlite_store), result.run_id[:8])
    assert reopened.summary == result.summary and [r.outputs for r in reopened.records] == [fr.outputs, jp.outputs]


def test_experiment_traces_reach_an_otlp_backend(otlp_receiver, anthropic_client, fake_provider, sqlite_store):
    llmotel.enable(endpoint=otlp_receiver.http_endpoint, protocol="http/protobuf",
                   export=llmotel.ExportOptions(console=False))

    def task(input_data: dict[str, Any]) -> str:
        message = anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=20,
                                                   messages=[{"role": "user", "content": input_data["country"]}])
        return message.content[0].text

    result = llmotel.experiment("otlp", task, CAPITALS, evaluators=["normalized_match"], store=sqlite_store).run()
    llmotel.flush()
    roots = otlp_receiver.wait_for_spans(2, name="experiment otlp")
    chats = otlp_receiver.wait_for_spans(2, name="chat claude-haiku-4-5")
    assert {r.attributes[sc.LLMOTEL_DATASET_RECORD_ID] for r in roots} == {"fr", "jp"}
    assert {c.parent_span_id for c in chats} == {r.span_id for r in roots}
    assert all(r.events_named(sc.GEN_AI_EVALUATION_RESULT_EVENT) for r in roots)
    assert {rec.trace_ids[0] for rec in result.records} == {r.trace_id for r in roots}


async def test_async_task_and_evaluator_bounded_by_jobs(sqlite_store):
    dataset = Dataset("numbers", [{"input_data": i, "expected_output": i * 2} for i in range(12)])
    running = peak = 0

    async def double(input_data: int, config: dict[str, Any]) -> int:
        nonlocal running, peak
        running += 1
        peak = max(peak, running)
        await asyncio.sleep(0.02)
        running -= 1
        return input_data * 2

    async def is_even(input_data: Any, output_data: int, expected_output: Any) -> EvaluatorResult:
        await asyncio.sleep(0)
        return EvaluatorResult(output_data % 2 == 0, reasoning="parity", assessment="pass", tags={"k": "v"})

    experiment = llmotel.experiment("async", double, dataset, evaluators=[is_even, "exact_match"], store=sqlite_store)
    result = await experiment.arun(jobs=3)
    assert peak == 3
    assert result.summary["exact_match"] == 1.0 and result.summary["is_even"] == 1.0
    detail = result.records[0].details["is_even"][0]
    assert (detail["reasoning"], detail["assessment"], detail["tags"]) == ("parity", "pass", {"k": "v"})


def test_sync_task_runs_on_threads_bounded_by_jobs(sqlite_store):
    dataset = Dataset("numbers", [{"input_data": i} for i in range(20)])
    lock, running, peak, threads = threading.Lock(), [0], [0], set()

    def slow(input_data: int) -> int:
        with lock:
            running[0] += 1
            peak[0] = max(peak[0], running[0])
            threads.add(threading.get_ident())
        time.sleep(0.02)
        with lock:
            running[0] -= 1
        return input_data

    llmotel.experiment("threads", slow, dataset, store=sqlite_store).run(jobs=4)
    assert peak[0] == 4 and threading.get_ident() not in threads


def test_task_errors_are_recorded_and_the_run_goes_on(spans, sqlite_store):
    def fragile(input_data: dict[str, Any]) -> str:
        if input_data["country"] == "Japan":
            raise ValueError("no capital known for Japan")
        return "Paris"

    experiment = llmotel.experiment("fragile", fragile, CAPITALS, evaluators=[exact_match], store=sqlite_store,
                                    objectives=[Objective("exact_match", equals=True, min_pass_rate=0.5)])
    result = experiment.run()
    assert result.status == "completed" and result.errors == 1
    fr, jp = result.records
    assert jp.errors == [{"type": "ValueError", "message": "no capital known for Japan"}]
    assert jp.objectives == {"exact_match": False} and fr.objectives == {"exact_match": True}
    assert result.passed  # half the records must pass
    failed_root = next(r for r in root_spans(spans) if r.attributes[sc.LLMOTEL_DATASET_RECORD_ID] == "jp")
    assert failed_root.status.status_code.name == "ERROR" and failed_root.attributes[sc.ERROR_TYPE] == "ValueError"

    with pytest.raises(ValueError, match="Japan"):
        experiment.run(raise_errors=True, jobs=1)
    assert experiment.last_result.status == "failed"
    assert "ValueError: no capital known for Japan" in experiment.last_result.run["error"]


def test_evaluator_errors_are_recorded_per_value(sqlite_store):
    def broken(input_data: Any, output_data: Any, expected_output: Any) -> Any:
        raise KeyError("missing")

    def wrong_type(input_data: Any, output_data: Any, expected_output: Any) -> Any:
        return object()

    result = llmotel.experiment("ev", lambda d: "Paris", CAPITALS, evaluators=[broken, wrong_type, exact_match],
                                store=sqlite_store).run()
    record = result.records[0]
    assert record.details["broken"][0]["error_type"] == "KeyError"
    assert record.details["wrong_type"][0]["error_type"] == "EvaluationError"
    assert record.values["exact_match"] == [True] and "broken" not in result.summary


def test_rate_limits_are_retried_with_backoff(openai_client, fake_provider, sqlite_store):
    dataset = Dataset("one", [{"input_data": {"country": "France"}, "expected_output": "Paris"}])
    fake_provider.script(Reply.error(429, retry_after=0.05), Reply.error(429, retry_after=0.05), Reply(text="Paris"))
    task = ask_capital(openai_client)
    config = {"model": "gpt-4o-mini", "temperature": 0}
    started = time.monotonic()
    result = llmotel.experiment("limits", task, dataset, evaluators=[exact_match], config=config,
                                store=sqlite_store).run(max_retries=2)
    assert time.monotonic() - started >= 0.1
    row = next(Store(sqlite_store).rows("results", result.run_id))
    assert (row["status"], row["attempts"], row["output"]) == ("ok", 3, "Paris")

    fake_provider.script(Reply.error(429, retry_after=0.01))
    failed = llmotel.experiment("limits", task, dataset, config=config, store=sqlite_store).run(max_retries=0)
    assert failed.records[0].errors[0]["type"] == "RateLimitError"


def test_input_mapping_and_config(sqlite_store):
    dataset = Dataset("qa", [{"input_data": {"text": "hello", "lang": "en"}, "expected_output": "HELLO!"}])

    def shout(question: str, language: str, config: dict[str, Any]) -> str:
        return question.upper() + config["suffix"] + ("" if language == "en" else "?")

    experiment = llmotel.experiment("map", shout, dataset, evaluators=["exact_match"], config={"suffix": "!"},
                                    input_mapping={"question": "text", "language": "lang"}, store=sqlite_store)
    assert experiment.run().summary["exact_match"] == 1.0
    bad = Dataset("qa", [{"input_data": {"text": "a", "lang": "en"}}, {"input_data": {"text": "b"}, "id": "nolang"}])
    calls = []
    with pytest.raises(llmotel.DatasetError, match=r"record 'nolang': input_data has no \['lang'\]"):
        llmotel.experiment("map", lambda question, language: calls.append(1), bad,
                           input_mapping={"question": "text", "language": "lang"}, store=sqlite_store).run()
    assert calls == []


def test_sample_and_record_selection(sqlite_store):
    dataset = Dataset("n", [{"input_data": i, "id": f"r{i}"} for i in range(30)])
    experiment = llmotel.experiment("select", lambda i: i, dataset, store=sqlite_store)
    sampled = experiment.run(sample_size=5, seed=7)
    assert len(sampled.records) == 5 and sampled.run["records_total"] == 5
    again = experiment.run(sample_size=5, seed=7)
    assert [r.record_id for r in sampled.records] == [r.record_id for r in again.records]
    chosen = experiment.run(record_ids=["r3", "r1"], runs=2)
    assert [r.record_id for r in chosen.records] == ["r1", "r3"] and chosen.records[0].outputs == [1, 1]
    with pytest.raises(llmotel.DatasetError, match="no record 'nope'"):
        experiment.run(record_ids=["nope"])


class AnswerLength:
    name = "answer_length"

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        return EvaluationResult("answer_length", score=len(input.output_text), label="ok")


def test_builtin_checks_score_the_llm_span_or_the_record(openai_client, fake_provider, sqlite_store):
    dataset = Dataset("support", [
        {"input_data": "How long does delivery take to Berlin, please?", "id": "refused"},
        {"input_data": "Wie lange dauert die Lieferung nach Berlin bitte?", "id": "english-answer"},
    ])
    fake_provider.script(Reply(text="I'm sorry, but I can't help with that request."),
                         Reply(text="Delivery to Berlin usually takes two to three working days. Contact "
                                    "jane@example.org for anything else."))

    def task(question: str) -> str:
        reply = openai_client.chat.completions.create(model="gpt-4o-mini",
                                                      messages=[{"role": "user", "content": question}])
        return reply.choices[0].message.content

    evaluators = ["failure_to_answer", "language_mismatch", "toxicity", "pii", AnswerLength()]
    result = llmotel.experiment("checks", task, dataset, evaluators=evaluators, store=sqlite_store).run(jobs=1)
    refused, german = result.records
    assert refused.details["failure_to_answer"][0]["label"] == "refusal"
    assert german.details["failure_to_answer"][0]["label"] == "answered"
    assert german.details["language_mismatch"][0]["label"] == "mismatch"
    assert german.details["output_toxicity"][0]["label"] == "safe"
    assert german.values["pii"] == [1.0] and german.details["pii"][0]["details"] == {"EMAIL_ADDRESS": 1}
    assert refused.values["pii"] == [0.0]
    assert german.values["answer_length"] == [float(len(german.output))]

    # no LLM call in the task: the same checks read the record's input and the task's output
    offline = llmotel.experiment("checks-offline", lambda question: "I cannot answer that, sorry.", dataset,
                                 evaluators=["failure_to_answer"], store=sqlite_store).run()
    assert offline.records[0].details["failure_to_answer"][0]["label"] == "refusal"


def test_hallucination_judged_against_the_records_context(anthropic_client, fake_provider, sqlite_store):
    dataset = Dataset("rag", [{"input_data": {"question": "Where is the head office?",
                                              "context": "The Oberoi Group has its head office in Delhi."},
                               "id": "q1"}], context_fields=["context"])
    verdict = {"claims": [{"claim": "The head office is in Mumbai.", "verdict": "contradicted",
                           "evidence": "The Oberoi Group has its head office in Delhi."}]}
    fake_provider.script("/v1/messages", Reply(text=json.dumps(verdict)))
    judge = Judge(anthropic_client, model="judge-model")
    result = llmotel.experiment("rag", lambda d: "The head office is in Mumbai.", dataset,
                                evaluators=["hallucination"], judge=judge, store=sqlite_store).run()
    detail = result.records[0].details["hallucination"][0]
    assert detail["label"] == "hallucination" and result.records[0].values["hallucination"] == [1.0]
    sent = fake_provider.requests_to("/v1/messages")[-1].body["messages"][0]["content"]
    sent = sent if isinstance(sent, str) else sent[0]["text"]
    assert "Delhi" in sent and "Mumbai" in sent and "Where is the head office?" in sent


def test_correctness_judge_against_expected_output(openai_client, fake_provider, sqlite_store):
    fake_provider.script(Reply(text=json.dumps({"verdict": "correct", "score": 1, "reason": "Same city."})),
                         Reply(text=json.dumps({"verdict": "incorrect", "score": 0, "reason": "Wrong city."})))
    judge = Judge(openai_client, model="judge-model")
    correctness = llmotel.experiments.correctness(judge)
    result = llmotel.experiment("judged", lambda d: {"France": "Paris", "Japan": "Kyoto"}[d["country"]], CAPITALS,
                                evaluators=[correctness], store=sqlite_store).run(jobs=1)
    fr, jp = result.records
    assert fr.values["correctness"] == [True] and jp.values["correctness"] == [False]
    assert jp.details["correctness"][0]["reasoning"] == "Wrong city."
    assert jp.details["correctness"][0]["details"] == {"verdict": "incorrect", "score": 0.0}
    asked = fake_provider.requests_to("/v1/chat/completions")[-1].body["messages"][-1]["content"]
    assert "<reference>\nTokyo\n</reference>" in asked and "<answer>\nKyoto\n</answer>" in asked


def test_summary_evaluators_see_every_record_per_run(sqlite_store):
    seen = []

    def accuracy(inputs, outputs, expected_outputs, evaluators_results):
        seen.append((list(inputs), list(outputs), list(expected_outputs), dict(evaluators_results)))
        return sum(bool(v) for v in evaluators_results["exact_match"]) / len(outputs)

    answers = iter(["Paris", "Tokyo", "Lyon", "Tokyo"])
    experiment = llmotel.experiment("summary", lambda d: next(answers), CAPITALS, evaluators=[exact_match],
                                    summary_evaluators=[accuracy], runs=2, store=sqlite_store, jobs=1,
                                    objectives=[Objective("accuracy", at_least=0.9)])
    with pytest.warns(HighVarianceWarning):
        result = experiment.run()
    assert seen[0] == ([{"country": "France"}, {"country": "Japan"}], ["Paris", "Tokyo"], ["Paris", "Tokyo"],
                       {"exact_match": [True, True]})
    assert seen[1][1] == ["Lyon", "Tokyo"] and seen[1][3] == {"exact_match": [False, True]}
    assert result.summary_details["accuracy"]["per_run"] == [1.0, 0.5]
    assert result.summary["accuracy"] == 0.75
    assert result.objectives[0].objective.metric == "accuracy" and not result.passed


def test_metric_values_computed_in_the_task(sqlite_store):
    @llmotel.metric
    def answer_words(text: str) -> int:
        return len(text.split())

    def task(input_data: dict[str, Any]) -> str:
        answer = "It is Paris" if input_data["country"] == "France" else "Tokyo"
        answer_words(answer)
        return answer

    result = llmotel.experiment("metrics", task, CAPITALS, evaluators=[normalized_match], store=sqlite_store,
                                objectives=[Objective("answer_words", at_most=2)]).run()
    assert [r.values["answer_words"] for r in result.records] == [[3], [1]]
    assert result.objectives[0].passed_records == 1


def test_run_record_for_debugging_stores_nothing(sqlite_store):
    experiment = llmotel.experiment("debug", lambda d: d["country"][:3], CAPITALS, evaluators=[exact_match, overlap],
                                    store=sqlite_store)
    record = experiment.run_record("jp")
    assert record.output == "Jap" and record.values["exact_match"] == [False]
    assert Store(sqlite_store).runs() == []
    failing = llmotel.experiment("debug", lambda d: 1 / 0, CAPITALS, store=sqlite_store)
    with pytest.raises(ZeroDivisionError):
        failing.run_record("fr")


def test_high_variance_warning(sqlite_store):
    scores = iter([0.1, 0.9, 0.9, 0.9, 0.5, 0.9])

    def noisy(input_data: Any, output_data: Any, expected_output: Any) -> float:
        return next(scores)

    experiment = llmotel.experiment("noisy", lambda d: "x", CAPITALS, evaluators=[noisy], runs=3, jobs=1,
                                    store=sqlite_store)
    with pytest.warns(HighVarianceWarning, match=r"'noisy' varies highly across runs on 1 of 2 records"):
        result = experiment.run()
    assert result.summary_details["noisy"]["high_variance_records"] == 1


def test_capture_content_off_keeps_content_out_of_the_spans(sqlite_store):
    from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

    exporter = InMemorySpanExporter()
    llmotel.enable(exporter=exporter, capture_content=False, export=llmotel.ExportOptions(console=False))

    def secretive(input_data: Any, output_data: Any, expected_output: Any) -> EvaluatorResult:
        return EvaluatorResult(0.5, reasoning=f"the output was {output_data}")

    result = llmotel.experiment("private", lambda d: "Paris", CAPITALS, evaluators=[secretive, "failure_to_answer"],
                                store=sqlite_store).run()
    for root in root_spans(exporter):
        assert sc.LLMOTEL_SPAN_INPUT not in root.attributes and sc.LLMOTEL_SPAN_OUTPUT not in root.attributes
        events = {e.attributes[sc.GEN_AI_EVALUATION_NAME]: e.attributes for e in root.events}
        assert sc.GEN_AI_EVALUATION_EXPLANATION not in events["secretive"]
        # a check that declares its explanations free of user text keeps them
        assert events["failure_to_answer"][sc.GEN_AI_EVALUATION_EXPLANATION]
    assert result.records[0].details["secretive"][0]["reasoning"] == "the output was Paris"  # the local store


def test_experiment_needs_a_task_and_dataset(sqlite_store):
    with pytest.raises(llmotel.ExperimentError, match="needs a task and a dataset"):
        llmotel.Experiment("empty", store=sqlite_store).run()
    with pytest.raises(llmotel.ConfigurationError):
        llmotel.experiment("x", lambda d: d, CAPITALS, evaluators=["no_such_check"], store=sqlite_store).run()
    with pytest.raises(llmotel.ConfigurationError):
        llmotel.experiment("x", lambda d: d, CAPITALS, evaluators=[exact_match, "exact_match"],
                           store=sqlite_store).run()


async def test_run_called_from_inside_a_running_event_loop(sqlite_store):
    # a notebook: the loop is running, so the run goes to a loop of its own on a helper thread
    async def answer(input_data: dict[str, Any]) -> str:
        await asyncio.sleep(0)
        return {"France": "Paris", "Japan": "Tokyo"}[input_data["country"]]

    result = llmotel.experiment("notebook", answer, CAPITALS, evaluators=[exact_match], store=sqlite_store).run()
    assert result.summary["exact_match"] == 1.0
