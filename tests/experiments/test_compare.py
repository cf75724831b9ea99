"""``compare``: real runs in real stores (SQLite, PostgreSQL), verdicts checked against the exact tests computed
here, flipped records, records in one run only, iterations (``RUN#N``), record means, directions, pass/fail
assessments, run-log changes, tokens and cost from LLM calls to the fake provider; and the CLI's CI gate with
``--baseline BRANCH`` (a real git repository) and ``--baseline FILE.jsonl``."""

from __future__ import annotations

import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest

import llmotel
from llmotel import EvaluatorResult, Objective
from llmotel.errors import ExperimentError
from llmotel.experiments import HighVarianceWarning, Store
from llmotel.experiments.compare import CHANGED, IMPROVED, NO_CHANGE, NOT_TESTED, PASS_FAIL, REGRESSED, compare, side
from llmotel.experiments.report import comparison_report
from tests.fake_providers import Reply

from .helpers import cli, environment, write_experiment

WRONG_IN_B = set(range(1, 15))  # B answers these wrongly; A answered 20 and 21 wrongly


def numbers(ids: range) -> llmotel.Dataset:
    return llmotel.Dataset("nums", [{"input_data": i, "expected_output": i * 2, "id": f"r{i}"} for i in ids])


def task_a(n: int, config: dict[str, Any]) -> str:
    return f"The answer is {n * 2}" if n not in (20, 21) else f"The answer is {n}"


def task_b(n: int, config: dict[str, Any]) -> str:
    return f"The answer is {n * 2 + 1}" if n in WRONG_IN_B else f"The answer is {n * 2}"


def correct(input_data: Any, output: str, expected: int) -> bool:
    return output.endswith(f" {expected}")


def closeness(input_data: Any, output: str, expected: int) -> float:
    return 1 / (1 + abs(int(output.split()[-1]) - expected))


def parity(input_data: Any, output: str, expected: int) -> str:
    return "even" if int(output.split()[-1]) % 2 == 0 else "odd"


def length(input_data: Any, output: str, expected: int) -> int:
    return len(output)


EVALUATORS = [correct, closeness, parity, length]
GATE = [Objective("correct", equals=True, min_pass_rate=0.9)]


def two_runs(store: str) -> tuple[Any, Any]:
    a = llmotel.experiment("nums", task_a, numbers(range(0, 40)), evaluators=EVALUATORS, objectives=GATE,
                           config={"factor": 2, "temperature": 0.3}, store=store).run(progress=False)
    b = llmotel.experiment("nums", task_b, numbers(range(1, 41)), evaluators=EVALUATORS, objectives=GATE,
                           config={"factor": 2, "temperature": 0.7}, store=store).run(progress=False)
    return a, b


def exact_mcnemar(lost: int, gained: int) -> float:
    n = lost + gained
    return min(1.0, 2 * sum(math.comb(n, i) for i in range(min(lost, gained) + 1)) / 2**n)


def test_verdicts_flips_records_in_one_run_and_changes(store_url):
    a, b = two_runs(store_url)
    comparison = compare(a, b, lower_is_better=["length"])
    metrics = {m.name: m for m in comparison.metrics}

    correct_ = metrics["correct"]
    assert (correct_.kind, correct_.paired, correct_.a_value, correct_.b_value) == ("boolean", 39, 0.95, 0.65)
    assert (correct_.mcnemar.lost, correct_.mcnemar.gained) == (14, 2)
    assert correct_.mcnemar.p_value == pytest.approx(exact_mcnemar(14, 2), rel=1e-12)
    assert correct_.verdict == REGRESSED and correct_.difference == pytest.approx(-0.3)
    assert correct_.passed_to_failed == [f"r{i}" for i in range(1, 15)]  # in dataset order
    assert correct_.failed_to_passed == ["r20", "r21"]

    close = metrics["closeness"]
    assert close.bootstrap is not None and close.bootstrap.n == 39
    diffs = [closeness(None, task_b(i, {}), 2 * i) - closeness(None, task_a(i, {}), 2 * i) for i in range(1, 40)]
    assert close.bootstrap.mean_difference == pytest.approx(sum(diffs) / 39)
    assert close.bootstrap.high < 0 and close.verdict == REGRESSED

    parity_ = metrics["parity"]  # labels without a target: significant, no direction
    assert parity_.permutation.exact and parity_.permutation.discordant == 15  # r21 turns even, r20 stays
    assert parity_.verdict == CHANGED and len(parity_.changed) == 15
    assert parity_.changed[0] == ("r1", "even", "odd")

    longer = metrics["length"]  # B's wrong answers are one character longer sometimes (2 -> 3 is not)
    assert longer.direction == -1
    assert longer.verdict in (REGRESSED, NO_CHANGE)

    assert [r.record_id for r in comparison.only_a] == ["r0"]
    assert [r.record_id for r in comparison.only_b] == ["r40"]
    assert len(comparison.records) == 39
    first = comparison.ordered_records()[0]
    assert first.record_id == "r1" and first.regressed == ["correct"] and first.output_changed
    assert first.diff == [("=", "The answer is "), ("-", "2"), ("+", "3")]
    assert first.a.passed is True and first.b.passed is False
    assert "temperature 0.3 -> 0.7" in comparison.changes
    assert any(line.startswith("dataset version ") for line in comparison.changes)
    assert comparison.a.passed is True and comparison.b.passed is False
    assert comparison.a.cost.text() == "$0 (no LLM calls)"
    assert [m.name for m in comparison.regressions][:2] == ["closeness", "correct"]

    again = compare(a, b, lower_is_better=["length"])  # fixed seed: the same intervals and p-values
    assert [(m.bootstrap, m.mcnemar, m.permutation) for m in again.metrics] == [
        (m.bootstrap, m.mcnemar, m.permutation) for m in comparison.metrics]
    text = comparison_report(comparison)
    assert "Verdict: REGRESSED (closeness, correct" in text and "The answer is [-2-]{+3+}" in text
    assert "Only in A (1): r0" in text and "Only in B (1): r40" in text


def test_no_change_and_improvement(sqlite_store):
    a, b = two_runs(sqlite_store)
    same = compare(b, b)
    assert {m.verdict for m in same.metrics} == {NO_CHANGE}
    assert not same.regressions and not same.changes
    reverse = compare(b, a)
    assert {m.name: m.verdict for m in reverse.metrics}["correct"] == IMPROVED


def iteration_task(n: int, config: dict[str, Any]) -> str:
    counts = config["calls"]
    counts[n] = counts.get(n, 0) + 1
    return f"The answer is {n * 2 + (counts[n] == 3)}"  # the third run of each record is wrong


def test_iterations_and_record_means(sqlite_store):
    config: dict[str, Any] = {}
    experiment = llmotel.Experiment("iters", iteration_task, numbers(range(30)), evaluators=[correct], runs=3,
                                    store=sqlite_store, jobs=1)
    experiment.config = {"calls": config}  # the task counts its calls per record (not stored: set after init)
    with pytest.warns(HighVarianceWarning):
        result = experiment.run(progress=False)
    store = Store(sqlite_store)
    first, third = side(store, f"{result.run_id}#1"), side(store, f"{result.run_id[:8]}#3")
    by_iteration = compare(first, third)
    (metric,) = by_iteration.metrics
    assert (metric.a_value, metric.b_value, metric.mcnemar.lost, metric.verdict) == (1.0, 0.0, 30, REGRESSED)
    assert by_iteration.a.label.endswith("#1") and by_iteration.a.iteration == 1
    assert by_iteration.b.input_tokens == 0 and by_iteration.b.errors == 0

    whole = compare(result, result)  # three runs per record: record means, bootstrapped
    (metric,) = whole.metrics
    assert whole.record_means and metric.record_means and metric.bootstrap is not None
    assert metric.test == "paired bootstrap (record means)" and metric.verdict == NO_CHANGE
    assert whole.records[0].a.values["correct"] == pytest.approx(2 / 3)
    with pytest.raises(ExperimentError, match=r"has runs 1\.\.3"):
        side(store, f"{result.run_id}#4")


def judged(input_data: Any, output: str, expected: int) -> EvaluatorResult:
    score = closeness(input_data, output, expected)
    return EvaluatorResult(score, reasoning="distance", assessment="pass" if score == 1 else "fail")


def test_pass_fail_assessments_and_objective_directions(sqlite_store):
    objectives = [Objective("length", at_most=16), Objective("correct", equals=False)]
    runs = [llmotel.experiment("dirs", task, numbers(range(1, 30)), evaluators=[judged, length, correct],
                               objectives=objectives, store=sqlite_store).run(progress=False)
            for task in (task_a, task_b)]
    metrics = {(m.name, m.kind): m for m in compare(*runs).metrics}
    pass_fail = metrics[("judged", PASS_FAIL)]
    assert pass_fail.mcnemar is not None and (pass_fail.mcnemar.lost, pass_fail.mcnemar.gained) == (14, 2)
    assert pass_fail.verdict == REGRESSED and pass_fail.passed_to_failed[0] == "r1"
    assert metrics[("length", "score")].direction == -1  # only at_most: lower is better
    # an objective asking for False: losing True answers is an improvement
    assert metrics[("correct", "boolean")].direction == -1 and metrics[("correct", "boolean")].verdict == IMPROVED


def test_summary_evaluators_are_shown_not_tested(sqlite_store):
    def share(inputs, outputs, expected, results):
        return sum(results["correct"]) / len(outputs)

    runs = [llmotel.experiment("sums", task, numbers(range(1, 20)), evaluators=[correct], summary_evaluators=[share],
                               store=sqlite_store).run(progress=False) for task in (task_a, task_b)]
    metrics = {m.name: m for m in compare(*runs).metrics}
    assert metrics["share"].verdict == NOT_TESTED and metrics["share"].b_value == pytest.approx(5 / 19)


def ask(client):
    def task(input_data: dict[str, Any], config: dict[str, Any]) -> str:
        prompt = llmotel.Prompt(template="Capital of {country}?", variables=input_data, id="rag_answer",
                                version=config["prompt_version"])
        with llmotel.annotation_context(prompt=prompt):
            reply = client.chat.completions.create(model=config["model"], temperature=config["temperature"],
                                                   messages=[{"role": "user", "content": f"{input_data}"}])
        return reply.choices[0].message.content

    return task


def test_tokens_cost_and_run_log_changes_from_llm_calls(spans, openai_client, fake_provider, sqlite_store):
    dataset = llmotel.Dataset("caps", [{"input_data": {"country": c}, "expected_output": e, "id": c}
                                       for c, e in (("France", "Paris"), ("Japan", "Tokyo"))])
    fake_provider.script(*(Reply(text=t) for t in ("Paris", "Tokyo", "Lyon", "Tokyo")))
    a = llmotel.experiment("caps", ask(openai_client), dataset, evaluators=["exact_match"], store=sqlite_store,
                           config={"model": "gpt-4o-mini", "temperature": 0.3, "prompt_version": "caf0333"}
                           ).run(jobs=1, progress=False)
    b = llmotel.experiment("caps", ask(openai_client), dataset, evaluators=["exact_match"], store=sqlite_store,
                           config={"model": "unreleased-model-x", "temperature": 0.7, "prompt_version": "91b2e7a"}
                           ).run(jobs=1, progress=False)
    store = Store(sqlite_store)
    usage = store.usage(a.run_id)
    assert [(u["model"], u["calls"]) for u in usage] == [("gpt-4o-mini-2024-07-18", 2)]  # priced as gpt-4o-mini
    assert (usage[0]["input_tokens"], usage[0]["output_tokens"]) == (a.run["input_tokens"], a.run["output_tokens"])
    comparison = compare(a, b)
    expected_cost = (a.run["input_tokens"] * 0.15 + a.run["output_tokens"] * 0.6) / 1e6
    assert comparison.a.cost.total == pytest.approx(expected_cost) and expected_cost > 0
    assert comparison.b.cost.total is None and comparison.b.cost.text() == (
        "unknown (no price for unreleased-model-x-2025-01-01)")  # the response model the fake provider names
    assert comparison.b.input_tokens == b.run["input_tokens"] > 0
    assert "prompt rag_answer changed version caf0333 -> 91b2e7a" in comparison.changes
    assert "model gpt-4o-mini -> unreleased-model-x" in comparison.changes
    assert "temperature 0.3 -> 0.7" in comparison.changes
    (metric,) = comparison.metrics
    assert metric.passed_to_failed == ["France"]


def git(repo: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=repo, check=True, capture_output=True)


def test_cli_gate_against_a_branch_and_an_exported_baseline(tmp_path):
    repo = tmp_path / "repo"
    repo.mkdir()
    git(repo, "init", "-q", "-b", "main")
    git(repo, "config", "user.email", "ci@example.com")
    git(repo, "config", "user.name", "CI")
    experiment_file = write_experiment(repo)
    git(repo, "add", ".")
    git(repo, "commit", "-q", "-m", "experiment")
    store = str(tmp_path / "store.db")
    target = f"{experiment_file}:numbers"
    on_main = cli("experiment", "run", target, "--store", store, "--no-progress", env=environment(RECORDS="20"),
                  cwd=repo)
    assert on_main.returncode == 0, on_main.stderr
    main_run = on_main.stdout.rsplit("run id: ", 1)[1].strip()
    git(repo, "checkout", "-q", "-b", "feature")
    broken = cli("experiment", "run", target, "--store", store, "--no-progress",
                 env=environment(RECORDS="20", FACTOR="3"), cwd=repo)
    feature_run = broken.stdout.rsplit("run id: ", 1)[1].strip()

    gate = cli("experiments", "compare", feature_run, "--baseline", "main", "--fail-on-regression", "--store", store,
               env=environment())
    assert gate.returncode == 1, gate.stdout + gate.stderr
    assert "regressed significantly: exact_match" in gate.stderr
    assert f"A: {main_run[:8]} (numbers, main @" in gate.stdout and "factor 2 -> 3" in gate.stdout
    assert "passed -> failed (19): r1, r2, r3" in gate.stdout

    fine = cli("experiments", "compare", main_run, main_run, "--fail-on-regression", "--store", store,
               env=environment())
    assert fine.returncode == 0 and "Verdict: no significant regression" in fine.stdout

    exported = tmp_path / "main.jsonl"
    assert cli("experiments", "export", main_run, "-o", str(exported), "--store", store,
               env=environment()).returncode == 0
    other_store = str(tmp_path / "ci.db")  # a CI job's fresh store, with the baseline as an artifact
    imported = cli("experiments", "import", str(tmp_path / "main.jsonl"), "--store", other_store, env=environment())
    assert imported.returncode == 0
    Store(other_store).delete_run(main_run)  # keep only a feature run in the CI store
    rerun = cli("experiment", "run", target, "--store", other_store, "--no-progress",
                env=environment(RECORDS="20", FACTOR="3"), cwd=repo)
    as_markdown = cli("experiments", "compare", "latest", "--baseline", str(exported), "--fail-on-regression",
                      "--format", "markdown", "--store", other_store, env=environment())
    assert rerun.returncode == 0 and as_markdown.returncode == 1
    assert "**❌ Regressed:** exact\\_match" in as_markdown.stdout
    assert ("| exact\\_match | boolean | 1 | 0.05 | -0.95 | 20 | exact McNemar | p=3.81e-06 (19 lost, 0 gained) | "
            "❌ regressed |") in as_markdown.stdout
    assert "| `r1` | PASS → FAIL | true → false | <del>2</del><ins>3</ins> |" in as_markdown.stdout
    assert [r["id"] for r in Store(other_store).runs()] == [rerun.stdout.rsplit("run id: ", 1)[1].strip()]

    missing = cli("experiments", "compare", feature_run, "--baseline", "nope", "--store", store, env=environment())
    assert missing.returncode == 2 and "no completed run of experiment 'numbers' on branch 'nope'" in missing.stderr
    both = cli("experiments", "compare", feature_run, main_run, "--baseline", "main", "--store", store,
               env=environment())
    assert both.returncode == 2 and "give one run with --baseline" in both.stderr


def test_usage_survives_export_and_import_and_old_stores_migrate(sqlite_store, tmp_path):
    import io

    import sqlalchemy as sa

    from llmotel.experiments.store import schema
    from llmotel.experiments.transfer import export_jsonl, import_jsonl

    old = Store(str(tmp_path / "old.db"), migrate=False)
    old.migrate(to=2)
    with old.reading() as conn:
        assert not sa.inspect(conn).has_table("run_usage")
    old.close()
    assert Store(str(tmp_path / "old.db")).schema_version() == schema.SCHEMA_VERSION == 3

    store = Store(sqlite_store)
    run = llmotel.experiment("u", task_a, numbers(range(3)), store=store).run(progress=False)
    store.insert_rows("run_usage", [{"run_id": run.run_id, "provider": "openai", "model": "gpt-4o", "input_tokens": 7,
                                     "output_tokens": 3, "calls": 1}])
    buffer = io.StringIO()
    export_jsonl(store, run.run_id, buffer)
    lines = [json.loads(line) for line in buffer.getvalue().splitlines()]
    assert {"type": "usage", "run_id": run.run_id, "provider": "openai", "model": "gpt-4o", "input_tokens": 7,
            "output_tokens": 3, "calls": 1} in lines
    other = Store(str(tmp_path / "other.db"))
    import_jsonl(other, io.StringIO(buffer.getvalue()))
    assert other.usage(run.run_id) == store.usage(run.run_id)
