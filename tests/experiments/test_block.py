"""The notebook form: ``with llmotel.Experiment("name") as exp:`` around plain code, and ``exp.repeat``.

Every ``@llmotel.metric`` value computed inside is logged to the run; the run log records the prompts, the
models with their temperature and system prompt, and the conversation, read from the LLM spans made inside."""

from __future__ import annotations

import asyncio
import threading

import openai
import pytest

import llmotel
from llmotel import EvaluationError, Objective, Prompt
from llmotel import semconv as sc
from llmotel.experiments import ExperimentResult, Store
from tests.fake_providers import Reply


@llmotel.metric
def word_count(text: str) -> int:
    return len(text.split())


@llmotel.metric
def is_polite(text: str) -> bool:
    return "please" in text.lower() or "thank" in text.lower()


@llmotel.metric
def mood(text: str) -> str:
    return "happy"


def test_block_logs_metrics_prompts_models_and_the_conversation(spans, openai_client, anthropic_client,
                                                                fake_provider, sqlite_store):
    fake_provider.script(Reply(text="Bonjour! Thank you for asking."), Reply(text="Paris, of course."))
    prompt = Prompt(template="Greet {name} in French.", variables={"name": "Ada"}, id="greeting")
    experiment = llmotel.Experiment("greeter", store=sqlite_store, objectives=[Objective("is_polite", equals=1)])
    with experiment as exp:
        with llmotel.annotation_context(prompt=prompt):
            reply = openai_client.chat.completions.create(
                model="gpt-4o-mini", temperature=0.2,
                messages=[{"role": "system", "content": "You are a friendly concierge."},
                          {"role": "user", "content": "Greet Ada in French."}])
        answer = reply.choices[0].message.content
        word_count(answer)
        is_polite(answer)
        anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=30, system="Be brief.",
                                         messages=[{"role": "user", "content": "Capital of France?"}])
        run_id = exp.run_id
        assert exp.metrics == {"word_count": 5, "is_polite": 1}
    result = exp.last_result
    assert result.run_id == run_id and result.status == "completed" and result.passed
    assert result.metrics == {"is_polite": 1.0, "word_count": 5.0}
    assert result.run["kind"] == "block" and result.run["input_tokens"] > 0

    log = result.log()
    prompts = [e["entry"] for e in log if e["kind"] == "prompt"]
    assert prompts == [{"name": "greeting", "version": prompt.version, "template": "Greet {name} in French."}]
    models = [(e["entry"]["provider"], e["entry"]["request_model"], e["entry"]["temperature"],
               e["entry"]["system_prompt"]) for e in log if e["kind"] == "model"]
    assert models == [("openai", "gpt-4o-mini", 0.2, "You are a friendly concierge."),
                      ("anthropic", "claude-haiku-4-5", None, "Be brief.")]
    calls = [e["entry"] for e in log if e["kind"] == "call"]
    assert [c["output_messages"][0]["parts"][0]["content"] for c in calls] == [
        "Bonjour! Thank you for asking.", "Paris, of course."]
    assert calls[0]["input_messages"][-1]["parts"][0]["content"] == "Greet Ada in French."
    assert calls[0]["prompt"] == {"name": "greeting", "version": prompt.version}

    llmotel.flush()
    root = next(s for s in spans.get_finished_spans() if s.name == "experiment greeter")
    assert root.attributes[sc.LLMOTEL_EXPERIMENT_RUN_ID] == run_id
    chats = [s for s in spans.get_finished_spans() if s.attributes.get(sc.GEN_AI_OPERATION_NAME) == "chat"]
    assert {c.parent.span_id for c in chats} == {root.context.span_id}
    names = {e.attributes[sc.GEN_AI_EVALUATION_NAME] for e in root.events}
    assert names == {"word_count", "is_polite"}

    again = ExperimentResult(Store(sqlite_store), run_id)
    assert again.metrics == result.metrics


def test_metric_rules_inside_a_block(sqlite_store):
    experiment = llmotel.Experiment("rules", store=sqlite_store)
    with pytest.raises(EvaluationError, match="must return a bool, int or finite float"), experiment:
        mood("fine")
    assert experiment.last_result.status == "failed"
    with pytest.raises(EvaluationError, match="computed twice in one run"), experiment:
        word_count("one")
        word_count("two words")
    with experiment as exp:
        exp.log_metric("manual", 0.25)
        is_polite("thanks")
    assert experiment.last_result.metrics == {"manual": 0.25, "is_polite": 1.0}
    word_count("outside any run")  # no run in progress: nothing logged, no error
    with pytest.raises(llmotel.ExperimentError):
        experiment.log_metric("late", 1)


def test_a_failing_block_is_stored_as_failed_and_the_error_propagates(sqlite_store):
    experiment = llmotel.Experiment("boom", store=sqlite_store)
    with pytest.raises(RuntimeError, match="kaput"), experiment:
        word_count("a b")
        raise RuntimeError("kaput")
    run = experiment.last_result.run
    assert (run["status"], run["error"], experiment.last_result.metrics) == ("failed", "RuntimeError: kaput",
                                                                             {"word_count": 2.0})


def test_repeat_makes_one_run_per_call(openai_client, fake_provider, sqlite_store):
    fake_provider.script(*(Reply(text=t) for t in ["yes please", "no", "yes thank you", "no", "ok"]))
    seen_threads = set()

    def ask() -> str:
        seen_threads.add(threading.get_ident())
        reply = openai_client.chat.completions.create(model="gpt-4o-mini",
                                                      messages=[{"role": "user", "content": "Coffee?"}])
        text = reply.choices[0].message.content
        is_polite(text)
        return text

    experiment = llmotel.Experiment("coffee", store=sqlite_store)
    results = experiment.repeat(ask, times=5, jobs=2)
    assert len({r.run_id for r in results}) == 5
    assert sorted(r.records[0].output for r in results) == sorted(["yes please", "no", "yes thank you", "no", "ok"])
    assert sorted(r.metrics["is_polite"] for r in results) == [0, 0, 0, 1, 1]
    assert all(len([e for e in r.log() if e["kind"] == "call"]) == 1 for r in results)
    assert len(seen_threads) == 2
    assert len(Store(sqlite_store).runs("coffee")) == 5


def test_repeat_with_an_async_function(fake_provider, sqlite_store):
    fake_provider.script(*(Reply(text="thanks") for _ in range(3)))

    async def ask() -> str:
        # a client per call: repeat() runs the calls on an event loop of its own
        async with openai.AsyncOpenAI(api_key="k", base_url=fake_provider.openai_base_url, max_retries=0) as client:
            reply = await client.chat.completions.create(model="gpt-4o-mini",
                                                         messages=[{"role": "user", "content": "Tea?"}])
        await asyncio.sleep(0)
        is_polite(reply.choices[0].message.content)
        return reply.choices[0].message.content

    results = llmotel.Experiment("tea", store=sqlite_store).repeat(ask, times=3, jobs=3)
    assert [r.metrics for r in results] == [{"is_polite": 1.0}] * 3
    assert all(r.run["output_tokens"] > 0 for r in results)
