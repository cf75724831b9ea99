"""The store on SQLite and on a real PostgreSQL server: schema versions and migrations, two processes writing at
once, a process killed mid-run, export and import between stores."""

from __future__ import annotations

import io
import json
import signal
import subprocess
import sys
import threading
import time

import pytest
import sqlalchemy as sa

import llmotel
from llmotel import ConfigurationError
from llmotel.experiments import Dataset, ExperimentResult, HighVarianceWarning, Store
from llmotel.experiments.store import schema, store_url
from llmotel.experiments.transfer import export_csv, export_jsonl, import_jsonl

from .helpers import cli, environment, llmotel_command, wait_until, write_experiment

DATASET = Dataset("d", [{"input_data": i, "expected_output": i, "id": f"r{i}"} for i in range(5)])


def test_schema_versions_and_migrations(store_url):
    old = Store(store_url, migrate=False)
    assert old.schema_version() == 0
    old.migrate(to=1)
    assert old.schema_version() == 1
    with old.reading() as conn:
        assert not sa.inspect(conn).has_table("run_log")
    old.experiment_id("kept")
    old.close()
    store = Store(store_url)
    assert store.schema_version() == schema.SCHEMA_VERSION == 3
    with store.reading() as conn:
        assert sa.inspect(conn).has_table("run_log") and sa.inspect(conn).has_table("run_usage")
    assert store.experiment("kept")["name"] == "kept"
    store.migrate()  # idempotent
    with store.writing() as conn:
        conn.execute(sa.update(schema.schema_version).values(version=99))
    with pytest.raises(ConfigurationError, match="it has version 99: upgrade llmotel"):
        Store(store_url)


def test_sqlite_store_runs_in_wal_mode(sqlite_store):
    store = Store(sqlite_store)
    with store.reading() as conn:
        assert conn.exec_driver_sql("PRAGMA journal_mode").scalar() == "wal"
        assert conn.exec_driver_sql("PRAGMA busy_timeout").scalar() == 60000


def test_store_location(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    assert store_url() == f"sqlite:///{tmp_path / '.llmotel' / 'llmotel.db'}"
    monkeypatch.setenv("LLMOTEL_STORE", str(tmp_path / "ci.db"))
    result = llmotel.experiment("where", lambda i: i, DATASET).run()
    assert result.store.url == f"sqlite:///{tmp_path / 'ci.db'}"
    assert store_url("postgresql://u:p@db:5432/x") == "postgresql+psycopg://u:p@db:5432/x"
    with pytest.raises(ConfigurationError, match="a file path, sqlite:///PATH or postgresql://"):
        Store("mysql://somewhere/db")
    with pytest.raises(ConfigurationError, match="a reachable, writable database"):
        Store("postgresql://nobody@127.0.0.1:1/none")


def test_the_same_run_on_sqlite_and_postgresql(store_url):
    answers = iter([0, 1, 2, 3, 5, 0, 1, 2, 3, 4])
    experiment = llmotel.experiment("both", lambda i: next(answers), DATASET, evaluators=["exact_match"], runs=2,
                                    jobs=1, store=store_url,
                                    objectives=[llmotel.Objective("exact_match", equals=True, min_pass_rate=0.8)])
    with pytest.warns(HighVarianceWarning):
        result = experiment.run()
    assert result.summary["exact_match"] == pytest.approx(0.9)
    assert [r.values["exact_match"] for r in result.records][-1] == [False, True]
    assert result.objectives[0].passed_records == 4 and result.passed
    assert [r["id"] for r in Store(store_url).runs("both")] == [result.run_id]


def test_two_processes_write_one_store_at_once(tmp_path, store_url):
    experiment_file = write_experiment(tmp_path)
    env = environment(RECORDS="150", SLEEP="0.002")
    command = llmotel_command("experiment", "run", f"{experiment_file}:numbers", "--jobs", "4", "--store", store_url,
                              "--no-progress")
    processes = [subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                 for _ in range(2)]
    outputs = [p.communicate(timeout=240) for p in processes]
    assert [p.returncode for p in processes] == [0, 0], outputs
    runs = Store(store_url).runs("numbers")
    assert len(runs) == 2
    for run in runs:
        assert (run["status"], run["results_done"], run["results_failed"], run["passed"]) == ("completed", 150, 0,
                                                                                            True)
        assert len(ExperimentResult(Store(store_url), run["id"]).records) == 150


def test_a_killed_run_loses_only_the_records_in_flight(tmp_path, store_url):
    experiment_file = write_experiment(tmp_path)
    task_log = tmp_path / "tasks.log"
    env = environment(RECORDS="400", SLEEP="0.05", TASK_LOG=str(task_log))
    process = subprocess.Popen(
        llmotel_command("experiment", "run", f"{experiment_file}:numbers", "--jobs", "4", "--store", store_url,
                        "--no-progress"), env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    store = Store(store_url)

    def stored() -> int:
        runs = store.runs("numbers")
        return runs[0]["results_done"] if runs else 0

    try:
        wait_until(lambda: stored() >= 40)
    finally:
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
    time.sleep(0.2)
    run = store.runs("numbers")[0]
    assert run["status"] == "running"  # nobody could mark it: it was killed
    kept = {r for r, _ in store.finished_units(run["id"])}
    finished = set(task_log.read_text().split())
    assert kept <= finished
    # in flight: 4 running (jobs) and those finished within the last commit interval (0.05 s: at most 4 + 1 here)
    assert len(finished - kept) <= 4 + 5 + 1, "more than the records in flight were lost"
    resumed = cli("experiment", "resume", run["id"], "--store", store_url, "--no-progress", env=env)
    assert resumed.returncode == 0, resumed.stderr
    result = ExperimentResult(store, run["id"])
    assert result.status == "completed" and result.run["results_done"] == 400 and result.passed
    calls = task_log.read_text().split()
    assert all(calls.count(r) == 1 for r in kept), "a stored record was run again"


def test_export_and_import_between_sqlite_and_postgresql(sqlite_store, postgres_server, tmp_path):
    with llmotel.Experiment("notebook", store=sqlite_store) as exp:
        exp.log_metric("quality", 0.5)
    result = llmotel.experiment("portable", lambda i: i if i != 3 else -1, DATASET, evaluators=["exact_match"],
                                store=sqlite_store, objectives=[llmotel.Objective("exact_match", equals=True)]).run()
    exported = io.StringIO()
    lines = export_jsonl(Store(sqlite_store), result.run_id, exported)
    header = json.loads(exported.getvalue().splitlines()[0])
    assert header["type"] == "llmotel.experiment_run" and header["run"]["id"] == result.run_id
    assert lines == 1 + 5 + 5 + 5 + 5 + 5 * 4  # header, dataset records, run records, results, values, aggregates

    target = Store(postgres_server.database("imported"))
    assert import_jsonl(target, io.StringIO(exported.getvalue())) == result.run_id
    copy = ExperimentResult(target, result.run_id)
    assert copy.summary == result.summary and not copy.passed
    assert [(r.record_id, r.input_data, r.outputs, r.objectives) for r in copy.records] == [
        (r.record_id, r.input_data, r.outputs, r.objectives) for r in result.records]
    with pytest.raises(llmotel.ExperimentError, match="already in"):
        import_jsonl(target, io.StringIO(exported.getvalue()))
    import_jsonl(target, io.StringIO(exported.getvalue()), replace=True)

    block = io.StringIO()
    export_jsonl(Store(sqlite_store), exp.last_result.run_id, block)
    import_jsonl(target, io.StringIO(block.getvalue()))
    assert ExperimentResult(target, exp.last_result.run_id).metrics == {"quality": 0.5}

    table = io.StringIO()
    export_csv(target, result.run_id, table)
    rows = table.getvalue().splitlines()
    assert rows[0].startswith("run_id,record_id,iteration,status,input_data,expected_output,output")
    assert rows[0].endswith(",trace_id,exact_match") and len(rows) == 6
    assert rows[4].split(",")[6] == "-1" and rows[4].endswith(",False")

    with pytest.raises(llmotel.ExperimentError, match="not an llmotel run export"):
        import_jsonl(target, io.StringIO('{"hello": 1}\n'))


def test_threads_and_processes_opening_a_new_sqlite_store_together_all_get_it(tmp_path):
    """SQLite answers "database is locked" at once, not after its busy timeout, when waiting could deadlock, e.g.
    while another connection turns a new file to WAL mode; opening a store retries that."""
    script = (
        "import sys, threading\n"
        "from llmotel.experiments.store import Store\n"
        "barrier = threading.Barrier(6)\n"
        "errors = []\n"
        "def open_store():\n"
        "    barrier.wait()\n"
        "    try:\n"
        "        Store(sys.argv[1]).close()\n"
        "    except Exception as exc:\n"
        "        errors.append(repr(exc))\n"
        "threads = [threading.Thread(target=open_store) for _ in range(6)]\n"
        "[t.start() for t in threads]\n"
        "[t.join() for t in threads]\n"
        "print(errors)\n"
    )
    for attempt in range(4):
        path = tmp_path / f"new-{attempt}.db"
        children = [subprocess.Popen([sys.executable, "-c", script, f"sqlite:///{path}"], stdout=subprocess.PIPE,
                                     text=True, env=environment()) for _ in range(3)]
        outputs = [child.communicate(timeout=120)[0].strip() for child in children]
        assert outputs == ["[]"] * 3, outputs
        with Store(f"sqlite:///{path}") as store:
            assert store.schema_version() == schema.SCHEMA_VERSION


def test_runs_asking_for_an_experiments_store_at_once_share_one(tmp_path):
    """repeat(jobs=N) starts runs on threads that all ask for the experiment's store: one store is opened (two
    opening a new SQLite file together made one fail with "database is locked" on a loaded machine)."""
    experiment = llmotel.Experiment("together", store=str(tmp_path / "store.db"))
    barrier = threading.Barrier(8)
    stores: list[Store] = []

    def ask() -> None:
        barrier.wait()
        stores.append(experiment.store)

    threads = [threading.Thread(target=ask) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert len(stores) == 8 and len({id(store) for store in stores}) == 1
