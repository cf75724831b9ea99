"""``llmotel experiment run|resume`` and ``llmotel experiments list|show|export|import`` as real subprocesses:
the CI gate's exit codes, Ctrl-C (a real SIGINT) then resume."""

from __future__ import annotations

import json
import signal
import subprocess

import pytest

from llmotel.experiments import ExperimentResult, Store

from .helpers import cli, environment, llmotel_command, wait_until, write_experiment


@pytest.mark.timeout(300)  # ten CLI processes, each importing the SDKs
def test_run_gate_list_show_export_import(tmp_path):
    experiment_file = write_experiment(tmp_path)
    store = str(tmp_path / "store.db")
    env = environment(RECORDS="6")
    passing = cli("experiment", "run", f"{experiment_file}:numbers", "--store", store, "--fail-on-objectives",
                  "--metadata", "branch_under_test=feature-x", "--metadata", "pr=42", "--runs", "2", env=env)
    assert passing.returncode == 0, passing.stderr
    assert "exact_match" in passing.stdout and "PASS" in passing.stdout
    run_id = passing.stdout.rsplit("run id: ", 1)[1].strip()
    result = ExperimentResult(Store(store), run_id)
    assert result.metadata["user"] == {"branch_under_test": "feature-x", "pr": "42"}
    assert result.metadata["source"] == f"{experiment_file}:numbers" and result.run["iterations"] == 2

    failing_env = environment(RECORDS="6", FACTOR="3")  # a regression: every answer is now wrong except 0
    failing = cli("experiment", "run", f"{experiment_file}:numbers", "--store", store, "--fail-on-objectives",
                  "--sample", "3", "--seed", "1", env=failing_env)
    assert failing.returncode == 1 and "objectives failed: exact_match" in failing.stderr
    without_gate = cli("experiment", "run", f"{experiment_file}:numbers", "--store", store, "--record", "r0",
                       "--record", "r5", env=failing_env)
    assert without_gate.returncode == 0 and "r5" in without_gate.stdout

    listing = cli("experiments", "list", "--store", store, env=env)
    assert listing.returncode == 0 and len(listing.stdout.splitlines()) == 2 + 3 and "FAIL" in listing.stdout
    shown = cli("experiments", "show", run_id[:8], "--store", store, env=env)
    assert shown.returncode == 0
    for expected in ("Summary", "Objectives", "Records (first 6 of 6)", "Run log", "exact_match", "pr"):
        assert expected in shown.stdout

    exported = tmp_path / "run.jsonl"
    assert cli("experiments", "export", run_id, "--store", store, "-o", str(exported), env=env).returncode == 0
    as_csv = cli("experiments", "export", run_id, "--store", store, "--format", "csv", env=env)
    assert as_csv.returncode == 0 and len(as_csv.stdout.strip().splitlines()) == 1 + 12
    other = str(tmp_path / "baseline.db")
    loaded = cli("experiments", "import", str(exported), "--store", other, env=env)
    assert loaded.returncode == 0 and run_id in loaded.stdout
    assert ExperimentResult(Store(other), run_id).summary == result.summary


def test_usage_errors_exit_2(tmp_path):
    experiment_file = write_experiment(tmp_path)
    store = str(tmp_path / "store.db")
    env = environment()
    ambiguous = cli("experiment", "run", str(experiment_file), "--store", store, env=env)
    assert ambiguous.returncode == 2 and "defines 2 experiments" in ambiguous.stderr
    missing = cli("experiment", "run", f"{experiment_file}:nope", "--store", store, env=env)
    assert missing.returncode == 2 and "no experiment 'nope'" in missing.stderr
    no_task = cli("experiment", "run", f"{experiment_file}:other", "--store", store, env=env)
    assert no_task.returncode == 2 and "needs a task and a dataset" in no_task.stderr
    unknown = cli("experiments", "show", "deadbeef", "--store", store, env=env)
    assert unknown.returncode == 2 and "no run 'deadbeef'" in unknown.stderr
    bad_record = cli("experiment", "run", f"{experiment_file}:numbers", "--record", "zz", "--store", store, env=env)
    assert bad_record.returncode == 2 and "no record 'zz'" in bad_record.stderr


def test_ctrl_c_keeps_finished_records_and_resume_finishes_the_rest(tmp_path):
    experiment_file = write_experiment(tmp_path)
    store_path = str(tmp_path / "store.db")
    task_log = tmp_path / "tasks.log"
    env = environment(RECORDS="200", SLEEP="0.02", TASK_LOG=str(task_log))
    process = subprocess.Popen(
        llmotel_command("experiment", "run", f"{experiment_file}:numbers", "--jobs", "3", "--store", store_path,
                        "--fail-on-objectives", "--no-progress"),
        env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    store = Store(store_path)

    def started() -> bool:
        runs = store.runs("numbers")
        return bool(runs) and runs[0]["results_done"] >= 20

    try:
        wait_until(started)
        process.send_signal(signal.SIGINT)
        _, stderr = process.communicate(timeout=60)
    finally:
        if process.poll() is None:
            process.kill()
    assert process.returncode == 130, stderr
    run = store.runs("numbers")[0]
    assert "interrupted" in stderr and f"llmotel experiment resume {run['id']}" in stderr
    assert run["status"] == "interrupted" and not run["passed"]
    kept = {r for r, _ in store.finished_units(run["id"])}
    assert 20 <= len(kept) < 200 and run["results_done"] == len(kept)

    resumed = cli("experiment", "resume", run["id"][:8], "--store", store_path, "--fail-on-objectives",
                  "--no-progress", env=environment(RECORDS="200", TASK_LOG=str(task_log)))
    assert resumed.returncode == 0, resumed.stderr
    result = ExperimentResult(store, run["id"])
    assert (result.status, result.run["results_done"], result.passed) == ("completed", 200, True)
    calls = task_log.read_text().split()
    assert all(calls.count(r) == 1 for r in kept), "resume ran a finished record again"
    assert set(calls) == {f"r{i}" for i in range(200)}
    assert json.loads(json.dumps(result.summary))["exact_match"] == 1.0
