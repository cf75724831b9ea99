"""Export a run (JSONL with everything, incl. the run log; or CSV, one row per record x run) and import a
JSONL export into another store, so a CI job can keep a run as an artifact and load a baseline from one."""

from __future__ import annotations

import csv
import json
from collections import defaultdict
from collections.abc import Iterator, Mapping
from typing import IO, Any

from llmotel.errors import ExperimentError
from llmotel.experiments.finalize import MEASURES
from llmotel.experiments.store import Store

FORMAT = "llmotel.experiment_run"
FORMAT_VERSION = 1
#: JSONL line type -> store table, in the order they are written and read
TABLES = {"run_record": "run_records", "result": "results", "evaluation": "evaluations",
          "record_aggregate": "record_aggregates", "log": "run_log", "usage": "run_usage"}
_BATCH = 1000
_SLICE = 500


def _line(kind: str, row: Mapping[str, Any]) -> str:
    return json.dumps({"type": kind, **row}, ensure_ascii=False, separators=(",", ":"), allow_nan=False) + "\n"


def export_jsonl(store: Store, run_ref: str, out: IO[str]) -> int:
    """Write run ``run_ref`` as JSON lines (a header, then its rows); returns the number of lines."""
    run = store.run(run_ref)
    run_id = run["id"]
    experiment = store.experiment(run["experiment_name"])
    out.write(_line(FORMAT, {"format_version": FORMAT_VERSION, "run": run, "experiment": experiment}))
    lines = 1
    record_ids = [r for _, r in store.run_record_ids(run_id)]
    if run["dataset_version"]:
        for start in range(0, len(record_ids), _SLICE):
            for row in store.dataset_records(run["dataset_version"], record_ids[start:start + _SLICE]).values():
                out.write(_line("dataset_record", row))
                lines += 1
    for kind, table in TABLES.items():
        for row in store.rows(table, run_id):
            out.write(_line(kind, row))
            lines += 1
    return lines


def import_jsonl(store: Store, source: IO[str], replace: bool = False) -> str:
    """Load a JSONL export into ``store``; returns the run id. An existing run is an error unless ``replace``."""
    header_line = source.readline()
    try:
        header = json.loads(header_line)
    except ValueError:
        header = None
    if not isinstance(header, dict) or header.get("type") != FORMAT:
        raise ExperimentError(f"not an llmotel run export (the first line must be a {FORMAT!r} header)")
    if header.get("format_version") != FORMAT_VERSION:
        raise ExperimentError(f"run export format {header.get('format_version')!r}; this llmotel reads "
                              f"{FORMAT_VERSION}")
    run = dict(header["run"])
    experiment = header.get("experiment") or {}
    try:
        store.run(run["id"])
    except ExperimentError:
        pass
    else:
        if not replace:
            raise ExperimentError(f"run {run['id']} is already in {store.display_url} (import with replace)")
        store.delete_run(run["id"])
    run["experiment_id"] = store.experiment_id(run["experiment_name"], experiment.get("description"),
                                               experiment.get("tags"), new_id=experiment.get("id"))
    store.insert_rows("runs", [run])
    pending: dict[str, list[dict[str, Any]]] = defaultdict(list)
    tables = {**TABLES, "dataset_record": "dataset_records"}
    for number, line in enumerate(source, 2):
        if not line.strip():
            continue
        try:
            row = json.loads(line)
            table = tables[row.pop("type")]
        except (ValueError, KeyError, AttributeError, TypeError):
            raise ExperimentError(f"line {number} of the run export is not a row of a known type") from None
        pending[table].append(row)
        if len(pending[table]) >= _BATCH:
            store.insert_rows(table, pending.pop(table))
    for table, rows in pending.items():
        store.insert_rows(table, rows)
    return str(run["id"])


def _cell(value: Any) -> Any:
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return json.dumps(value, ensure_ascii=False, separators=(",", ":"))


def csv_rows(store: Store, run_ref: str) -> Iterator[list[Any]]:
    """A header, then one row per record x run: input, expected and actual output, error, measures, values."""
    run = store.run(run_ref)
    run_id = run["id"]
    names = store.value_names(run_id)
    yield ["run_id", "record_id", "iteration", "status", "input_data", "expected_output", "output", "error_type",
           "error_message", *MEASURES, "trace_id", *names]
    selection = store.run_record_ids(run_id)
    for start in range(0, len(selection), _SLICE):
        chunk = selection[start:start + _SLICE]
        results, values = store.results_between(run_id, chunk[0][0], chunk[-1][0])
        records = store.dataset_records(run["dataset_version"], [r for _, r in chunk]) if run[
            "dataset_version"] else {}
        by_unit: dict[tuple[str, int], dict[str, Any]] = defaultdict(dict)
        for value in values:
            by_unit[(value["record_id"], value["iteration"])][value["name"]] = (
                value["value"] if value["error_type"] is None else f"error: {value['error_type']}")
        for result in results:
            record = records.get(result["record_id"], {})
            unit_values = by_unit.get((result["record_id"], result["iteration"]), {})
            yield [run_id, result["record_id"], result["iteration"], result["status"],
                   _cell(record.get("input_data")), _cell(record.get("expected_output")), _cell(result["output"]),
                   result["error_type"], result["error_message"], *(result[m] for m in MEASURES),
                   result["trace_id"], *(_cell(unit_values.get(n)) for n in names)]


def export_csv(store: Store, run_ref: str, out: IO[str]) -> int:
    writer = csv.writer(out)
    count = 0
    for row in csv_rows(store, run_ref):
        writer.writerow(row)
        count += 1
    return count
