"""Plain-text reports for the terminal: the run list; one run's summary, objectives, records, run log and
metadata; and the comparison of two runs."""

from __future__ import annotations

import datetime
import json
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from llmotel.experiments.compare import PASS_FAIL, Comparison, MetricComparison, RecordComparison, RunFacts, SideRecord
from llmotel.experiments.diffs import plain
from llmotel.experiments.filters import Where, select
from llmotel.experiments.finalize import MEASURES
from llmotel.experiments.results import ExperimentResult, RecordResult

_CELL = 60  # characters shown of a cell


def fmt(value: Any, width: int = _CELL) -> str:
    """A value for a table cell: numbers to 4 significant digits, JSON for structures, cut to ``width``."""
    if value is None:
        text = "-"
    elif isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = f"{value:.4g}"
    elif isinstance(value, str):
        text = value
    else:
        text = json.dumps(value, ensure_ascii=False, separators=(",", ":"), default=str)
    text = " ".join(text.split())
    return text if len(text) <= width else text[: width - 1] + "…"


def table(headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> str:
    cells = [[fmt(c) for c in row] for row in rows]
    widths = [max([len(h)] + [len(r[i]) for r in cells]) for i, h in enumerate(headers)]
    lines = ["  ".join(h.ljust(w) for h, w in zip(headers, widths, strict=True)).rstrip(),
             "  ".join("-" * w for w in widths)]
    lines += ["  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells]
    return "\n".join(lines)


def when(timestamp: float | None) -> str:
    if timestamp is None:
        return "-"
    return datetime.datetime.fromtimestamp(timestamp).strftime("%Y-%m-%d %H:%M:%S")


def runs_table(runs: Sequence[Mapping[str, Any]]) -> str:
    rows = [(r["id"][:8], r["experiment_name"], r["kind"], r["status"], _passed(r), when(r["started_at"]),
             f"{r['results_done']}/{r['records_total'] * r['iterations']}", r["results_failed"],
             r["dataset_name"], r["dataset_version"], ((r["run_metadata"] or {}).get("git") or {}).get("branch"))
            for r in runs]
    return table(["run", "experiment", "kind", "status", "passed", "started", "done", "errors", "dataset",
                  "version", "branch"], rows)


def _passed(run: Mapping[str, Any]) -> str:
    if run["status"] != "completed":
        return "-"
    return "PASS" if run["passed"] else "FAIL"


def summary_table(result: ExperimentResult) -> str:
    rows = []
    for name, d in result.summary_details.items():
        rows.append((name, d.get("kind"), d.get("value"), d.get("mean_std"), d.get("high_variance_records"),
                     d.get("pass_all_rate"), d.get("pass_any_rate"), d.get("records")))
    return table(["metric", "kind", "value", "mean std", "high-var", "pass all", "pass any", "records"], rows)


def objectives_table(result: ExperimentResult) -> str:
    rows = [(o.objective.metric, o.objective.condition, o.objective.across_runs or "default",
             f"{o.passed_records}/{o.records}", o.pass_rate, o.objective.min_pass_rate,
             "PASS" if o.passed else "FAIL") for o in result.objectives]
    return table(["objective", "condition", "across runs", "records", "pass rate", "required", "result"], rows)


def records_table(records: Iterable[RecordResult], names: Sequence[str]) -> str:
    rows = []
    for record in records:
        errors = [e for e in record.errors if e is not None]
        objectives = "-" if record.passed is None else ("PASS" if record.passed else "FAIL")
        rows.append((record.record_id, fmt(record.input_data, 40), fmt(record.output, 40),
                     f"{len(errors)} ({errors[0]['type']})" if errors else 0,
                     *(record.aggregated.get(n) for n in names), objectives))
    return table(["record", "input", "output", "errors", *names, "objectives"], rows)


def log_section(entries: Sequence[Mapping[str, Any]]) -> str:
    lines = []
    for item in entries:
        entry = item["entry"]
        if item["kind"] == "prompt":
            lines.append(f"prompt  {entry.get('name') or '-'} version {entry.get('version') or '-'}"
                         + (f": {fmt(entry['template'], 100)}" if entry.get("template") else ""))
        elif item["kind"] == "model":
            lines.append(f"model   {entry.get('provider') or '-'} {entry.get('request_model') or '-'} "
                         f"(response {entry.get('response_model') or '-'}) temperature "
                         f"{fmt(entry.get('temperature'))}" + (f", system prompt: {fmt(entry['system_prompt'], 80)}"
                                                               if entry.get("system_prompt") else ""))
        else:
            lines.append(f"call    {entry.get('request_model') or '-'}: "
                         f"{_messages(entry.get('input_messages'))} -> {_messages(entry.get('output_messages'))}")
    return "\n".join(lines) if lines else "(no LLM calls)"


def _messages(messages: Any) -> str:
    from llmotel.evaluation.types import message_text

    if not isinstance(messages, list) or not messages:
        return "-"
    last = messages[-1]
    return f"{last.get('role', '?')}: {fmt(message_text(last), 60)}" + (
        f" (+{len(messages) - 1} earlier)" if len(messages) > 1 else "")


def run_rows_table(rows: Iterable[tuple[RecordResult, int]], names: Sequence[str]) -> str:
    """Record x run rows (a run-level ``--where``): each run's output, error and values."""
    out = []
    for record, i in rows:
        error = record.errors[i]
        out.append((record.record_id, i + 1, fmt(record.input_data, 40), fmt(record.outputs[i], 40),
                    f"{error['type']}" if error else "-",
                    *(record.values.get(n, [None] * (i + 1))[i] for n in names)))
    return table(["record", "run", "input", "output", "error", *names], out)


def _records_section(result: ExperimentResult, record_limit: int, where: Where | None) -> str:
    names = [n for n in result.summary_details if n not in MEASURES and
             result.summary_details[n].get("kind") != "summary"] + ["latency_s"]
    total = result.run["records_total"]
    if where is None:
        records: list[RecordResult] = []
        for record in result.iter_records():
            if len(records) >= record_limit:
                break
            records.append(record)
        return f"Records (first {len(records)} of {total})\n" + records_table(records, names)
    shown: list[tuple[RecordResult, int | None]] = []
    matched = 0
    for row in select(result.iter_records(), where):
        matched += 1
        if len(shown) < record_limit:
            shown.append(row)
    unit = "runs" if where.per_run else "records"
    head = (f"Records where {where.query}: {matched} {unit} of "
            f"{total * int(result.run['iterations']) if where.per_run else total}"
            + (f" (first {len(shown)} shown)" if len(shown) < matched else ""))
    if where.per_run:
        return head + "\n" + run_rows_table([(r, i or 0) for r, i in shown], names)
    return head + "\n" + records_table([r for r, _ in shown], names)


def run_report(result: ExperimentResult, record_limit: int = 20, where: Where | None = None) -> str:
    """Everything ``llmotel experiments show`` prints about one run (its records filtered by ``where``)."""
    run = result.run
    meta = result.metadata
    git = meta.get("git") or {}
    versions = meta.get("versions") or {}
    total = run["records_total"] * run["iterations"]
    head = [
        f"run {run['id']}  experiment {run['experiment_name']}  ({run['kind']})",
        f"status {run['status']}" + (f" ({run['error']})" if run["error"] else "")
        + (f"  objectives {'PASS' if run['passed'] else 'FAIL'}" if run["objective_results"] else ""),
        f"started {when(run['started_at'])}  finished {when(run['finished_at'])}",
        f"dataset {run['dataset_name'] or '-'} version {run['dataset_version'] or '-'}  records {run['records_total']}"
        f" x runs {run['iterations']}: done {run['results_done']}/{total}, errors {run['results_failed']}",
        f"tokens in {run['input_tokens']} out {run['output_tokens']}",
        f"git {git.get('branch') or '-'} {str(git.get('commit') or '-')[:12]}"
        + (" (dirty)" if git.get("dirty") else "") + f"  host {meta.get('host') or '-'}  "
        + " ".join(f"{k} {v}" for k, v in versions.items() if v),
    ]
    if run["config"]:
        head.append(f"config {fmt(run['config'], 200)}")
    if meta.get("user"):
        head.append(f"metadata {fmt(meta['user'], 200)}")
    parts = ["\n".join(head), "Summary\n" + summary_table(result)]
    if result.objectives:
        parts.append("Objectives\n" + objectives_table(result))
    if run["kind"] == "dataset" or where is not None:
        parts.append(_records_section(result, record_limit, where))
    parts.append("Run log\n" + log_section(result.log()))
    return "\n\n".join(parts)


# --- comparison -------------------------------------------------------------------------------------------------

_IDS_SHOWN = 20


def ids(record_ids: Sequence[str], limit: int = _IDS_SHOWN) -> str:
    """Record ids, the first ``limit`` of them, with how many more."""
    shown = ", ".join(record_ids[:limit])
    return shown + (f" ... (+{len(record_ids) - limit} more)" if len(record_ids) > limit else "")


def side_title(facts: RunFacts) -> str:
    where = " ".join(filter(None, [facts.branch, f"@ {facts.commit[:12]}" if facts.commit else None]))
    iteration = f" run {facts.iteration} of {facts.iterations}" if facts.iteration is not None else (
        f", {facts.iterations} runs per record" if facts.iterations > 1 else "")
    return f"{facts.label} ({facts.experiment}{iteration}{', ' + where if where else ''})"


def paired_line(comparison: Comparison) -> str:
    a, b = comparison.a, comparison.b
    line = (f"paired records: {len(comparison.records)} (A has {a.records}, B has {b.records}; "
            f"{len(comparison.only_a)} only in A, {len(comparison.only_b)} only in B)")
    if comparison.record_means:
        line += "; with several runs per record, each record's mean (mode for labels) is compared"
    return line


def metric_label(metric: MetricComparison) -> str:
    return f"{metric.name} ({PASS_FAIL})" if metric.kind == PASS_FAIL else metric.name


def metrics_table(comparison: Comparison) -> str:
    rows = [(metric_label(m), m.kind, m.a_value, m.b_value,
             "-" if m.difference is None else f"{m.difference:+.4g}", m.paired, m.test, m.evidence, m.verdict)
            for m in comparison.metrics]
    return table(["metric", "kind", "A", "B", "diff", "paired", "test", "evidence", "verdict"], rows)


def flips_section(comparison: Comparison) -> str:
    lines = []
    for m in comparison.metrics:
        parts = []
        if m.passed_to_failed:
            parts.append(f"passed -> failed ({len(m.passed_to_failed)}): {ids(m.passed_to_failed)}")
        if m.failed_to_passed:
            parts.append(f"failed -> passed ({len(m.failed_to_passed)}): {ids(m.failed_to_passed)}")
        if m.changed and not parts:
            shown = [f"{r} {x} -> {y}" for r, x, y in m.changed[:_IDS_SHOWN]]
            more = len(m.changed) - len(shown)
            parts.append(f"changed ({len(m.changed)}): {', '.join(shown)}" + (f" ... (+{more} more)" if more else ""))
        if parts:
            lines.append(f"{metric_label(m)}: " + "; ".join(parts))
    return "\n".join(lines) if lines else "(no record flipped)"


def duration(seconds: float | None) -> str:
    return "-" if seconds is None else f"{seconds:.3g} s"


def run_rows(comparison: Comparison) -> list[tuple[str, str, str, str]]:
    """(what, A, B, difference) rows of the run-level comparison."""
    a, b = comparison.a, comparison.b

    def delta(x: float | None, y: float | None, unit: str = "") -> str:
        return "-" if x is None or y is None else f"{y - x:+.4g}{unit}"

    def verdict(passed: bool | None) -> str:
        return "-" if passed is None else ("PASS" if passed else "FAIL")

    return [
        ("status", a.status, b.status, ""),
        ("objectives", verdict(a.passed), verdict(b.passed), ""),
        ("errors", str(a.errors), str(b.errors), delta(a.errors, b.errors)),
        ("input tokens", str(a.input_tokens), str(b.input_tokens), delta(a.input_tokens, b.input_tokens)),
        ("output tokens", str(a.output_tokens), str(b.output_tokens), delta(a.output_tokens, b.output_tokens)),
        ("cost", a.cost.text(), b.cost.text(), delta(a.cost.total, b.cost.total)),
        ("duration", duration(a.duration_s), duration(b.duration_s), delta(a.duration_s, b.duration_s, " s")),
        ("mean latency", duration(a.latency_mean), duration(b.latency_mean),
         delta(a.latency_mean, b.latency_mean, " s")),
    ]


def _objectives_text(record: SideRecord) -> str:
    return "-" if record.passed is None else ("PASS" if record.passed else "FAIL")


def compared_records_table(records: Sequence[RecordComparison], names: Sequence[str]) -> str:
    rows = []
    for r in records:
        values = [f"{fmt(r.a.values.get(n), 12)} -> {fmt(r.b.values.get(n), 12)}"
                  if r.a.values.get(n) != r.b.values.get(n) else fmt(r.b.values.get(n), 12) for n in names]
        objectives = _objectives_text(r.a) + (f" -> {_objectives_text(r.b)}" if r.a.passed != r.b.passed else "")
        rows.append((r.record_id, objectives, *values, plain(r.diff) if r.output_changed else fmt(r.b.output)))
    return table(["record", "objectives", *names, "output ([-A-]{+B+})"], rows)


def comparison_report(comparison: Comparison, record_limit: int = 20) -> str:
    """Everything ``llmotel experiments compare`` prints."""
    parts = [f"A: {side_title(comparison.a)}\nB: {side_title(comparison.b)}\n{paired_line(comparison)}",
             "Evaluators\n" + metrics_table(comparison),
             "Flipped records\n" + flips_section(comparison),
             "Run\n" + table(["", "A", "B", "diff"], run_rows(comparison))]
    parts.append("Changes\n" + ("\n".join(comparison.changes) if comparison.changes else "(none recorded)"))
    names = [m.name for m in comparison.metrics if m.kind not in ("summary", PASS_FAIL)]
    ordered = comparison.ordered_records()[:record_limit]
    parts.append(f"Records (first {len(ordered)} of {len(comparison.records)}: regressions, improvements and "
                 "changes first)\n" + compared_records_table(ordered, names))
    if comparison.only_a:
        parts.append(f"Only in A ({len(comparison.only_a)}): {ids([r.record_id for r in comparison.only_a])}")
    if comparison.only_b:
        parts.append(f"Only in B ({len(comparison.only_b)}): {ids([r.record_id for r in comparison.only_b])}")
    regressions = comparison.regressions
    parts.append("Verdict: " + (f"REGRESSED ({', '.join(metric_label(m) for m in regressions)})" if regressions
                                else "no significant regression"))
    return "\n\n".join(parts)
