"""``llmotel experiments report RUN [--compare OTHER] -o report.html``: one self-contained HTML file.

No CDN and no network: the CSS, the script and the charts (SVG) are inline, and a content security policy lets
only that script and style run (by hash) and nothing load. Views: summary cards per evaluator (objectives
passed or failed), distributions, the spread across runs of multi-run records, the record table (failed first,
sortable, filterable, in pages of ``PAGE_SIZE`` rows, built from JSON in the page), the comparison (verdicts,
flipped records, run level, what changed, records with their output diffs), and the run log. Record texts longer
than ``TEXT_LIMIT`` characters are cut (marked). With ``LLMOTEL_TRACE_URL_TEMPLATE`` (e.g.
``http://localhost:16686/trace/{trace_id}``) each record links to its traces.
"""

from __future__ import annotations

import base64
import datetime
import hashlib
import html
import json
import os
from collections.abc import Iterable, Mapping, Sequence
from importlib import resources
from string import Template
from typing import Any

from llmotel.errors import ConfigurationError
from llmotel.experiments import charts
from llmotel.experiments import report as text
from llmotel.experiments.compare import IMPROVED, PASS_FAIL, REGRESSED, Comparison, RecordComparison, SideRecord
from llmotel.experiments.diffs import output_text
from llmotel.experiments.finalize import MEASURES
from llmotel.experiments.results import ExperimentResult, RecordResult

TRACE_URL_ENV = "LLMOTEL_TRACE_URL_TEMPLATE"
PAGE_SIZE = 100
TEXT_LIMIT = 2000
_REASONING_LIMIT = 500
_IDS_SHOWN = 50
_VARIANCE_ROWS = 20


def trace_url_template(value: str | None = None) -> str | None:
    """The trace link template (``LLMOTEL_TRACE_URL_TEMPLATE``): an http(s) URL with ``{trace_id}``."""
    template = value if value is not None else os.environ.get(TRACE_URL_ENV) or None
    if template is None:
        return None
    if not template.startswith(("http://", "https://")) or "{trace_id}" not in template:
        raise ConfigurationError(TRACE_URL_ENV, template, "an http(s) URL containing {trace_id}, e.g. "
                                 "http://localhost:16686/trace/{trace_id}")
    return template


def _asset(name: str) -> str:
    return resources.files("llmotel.experiments").joinpath(f"data/{name}").read_text("utf-8")


def _cut(value: Any, limit: int = TEXT_LIMIT) -> str:
    raw = output_text(value)
    return raw if len(raw) <= limit else raw[:limit] + f"… ({len(raw) - limit} more characters)"


def _e(value: Any) -> str:
    return html.escape(value if isinstance(value, str) else text.fmt(value, 10_000))


def _jsonable(value: Any) -> Any:
    if isinstance(value, float) and value != value:  # NaN never reaches the store; keep the page's JSON valid
        return None
    return value


# --- the run: records, summary cards, distributions, variance, run log --------------------------------------------


def _status(record: RecordResult) -> str:
    if any(e is not None for e in record.errors):
        return "error"
    if record.passed is None:
        return "none"
    return "pass" if record.passed else "fail"


def _mean(values: Iterable[Any]) -> float | None:
    present = [float(v) for v in values if v is not None]
    return sum(present) / len(present) if present else None


def _value(record: RecordResult, name: str, iterations: int) -> Any:
    """A record's value of one metric: its mean or mode across runs; a one-run boolean stays true/false."""
    aggregate = record.aggregates.get(name) or {}
    value = aggregate.get("value")
    if iterations == 1 and aggregate.get("kind") == "boolean" and value is not None:
        return bool(value)
    return _jsonable(value)


def _record(record: RecordResult, names: Sequence[str], iterations: int) -> dict[str, Any]:
    tokens = [(i or 0) + (o or 0) for i, o in zip(record.values.get("input_tokens", []),
                                                   record.values.get("output_tokens", []), strict=True)
              if i is not None or o is not None]
    out: dict[str, Any] = {
        "p": record.position, "id": record.record_id, "status": _status(record), "input": _cut(record.input_data),
        "expected": _cut(record.expected_output), "output": _cut(record.output),
        "values": [_value(record, n, iterations) for n in names],
        "latency": _mean(record.values.get("latency_s", [])), "tokens": _mean(tokens),
        "traces": [t for t in record.trace_ids if t], "objectives": record.objectives,
        "errors": [f"{e['type']}: {_cut(e['message'], _REASONING_LIMIT)}" if e else None for e in record.errors],
    }
    reasoning = {}
    for name in names:
        first = next((d for d in record.details.get(name, []) if d and d.get("reasoning")), None)
        if first:
            reasoning[name] = _cut(first["reasoning"], _REASONING_LIMIT)
    if reasoning:
        out["reasoning"] = reasoning
    if iterations > 1:
        out["runs"] = {"outputs": [_cut(o, _REASONING_LIMIT) for o in record.outputs],
                       "values": [[_jsonable(v) for v in record.values.get(n, [None] * iterations)] for n in names],
                       "std": [_jsonable(record.aggregates.get(n, {}).get("std")) for n in names]}
    return out


class RecordRows:
    """The record table's rows of one run, built as its records are read: ``report --compare`` adds them while
    the comparison reads the run, so the run's records are read from the store once."""

    def __init__(self, result: ExperimentResult) -> None:
        details = result.summary_details
        self.run_id = result.run_id
        self.names = [n for n, d in details.items() if n not in MEASURES and d.get("kind") != "summary"]
        self.kinds = {n: str(details[n].get("kind")) for n in self.names}
        self.iterations = int(result.run["iterations"])
        self.rows: list[dict[str, Any]] = []

    def add(self, record: RecordResult) -> None:
        self.rows.append(_record(record, self.names, self.iterations))


def _cards(result: ExperimentResult, names: Sequence[str]) -> str:
    objectives = {o.objective.metric: o for o in result.objectives}
    cards = []
    for name, detail in result.summary_details.items():
        if name in MEASURES:
            continue
        objective = objectives.get(name)
        badge = ""
        if objective is not None:
            outcome = "pass" if objective.passed else "fail"
            badge = (f'<p class="objective {outcome}">{"PASS" if objective.passed else "FAIL"}: '
                     f"{_e(objective.objective.condition)} on {objective.passed_records}/{objective.records} records "
                     f"(required {objective.objective.min_pass_rate:.0%})</p>")
        facts = [("kind", detail.get("kind"))]
        for key, label in (("pass_all_rate", "passed in all runs"), ("pass_any_rate", "passed in any run"),
                           ("mean_std", "mean std across runs"), ("high_variance_records", "high-variance records"),
                           ("records", "records")):
            if detail.get(key) is not None and (key not in ("mean_std", "high_variance_records")
                                                or result.run["iterations"] > 1):
                facts.append((label, detail[key]))
        rows = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
        cards.append(f'<article class="card" data-metric="{_e(name)}"><h3>{_e(name)}</h3>'
                     f'<p class="value" data-value="{_e(json.dumps(detail.get("value")))}">{_e(detail.get("value"))}'
                     f"</p>{badge}<dl>{rows}</dl></article>")
    return f'<div class="cards">{"".join(cards)}</div>'


def _distributions(names: Sequence[str], kinds: Mapping[str, str], columns: Sequence[Sequence[Sequence[Any]]]
                   ) -> str:
    figures = []
    for i, name in enumerate(names):
        if kinds.get(name) in ("boolean", "score", "categorical"):
            chart = charts.distribution(name, kinds[name], [c[i] for c in columns])
            figures.append(f'<figure data-metric="{_e(name)}">{chart}<figcaption>{_e(name)}</figcaption></figure>')
    legend = ""
    if len(columns) > 1:
        legend = ('<p class="legend"><span class="swatch a"></span> A (before) <span class="swatch b"></span> '
                  "B (after)</p>")
    return f'<h2>Distributions</h2>{legend}<div class="figures">{"".join(figures)}</div>' if figures else ""


def _variance(result: ExperimentResult, names: Sequence[str], kinds: Mapping[str, str],
              records: Sequence[dict[str, Any]]) -> str:
    if int(result.run["iterations"]) < 2:
        return ""
    numeric = [(i, n) for i, n in enumerate(names) if kinds.get(n) in ("boolean", "score")]
    if not numeric:
        return ""
    details = result.summary_details
    figures, rows = [], []
    for i, name in numeric:
        deviations = [r["runs"]["std"][i] for r in records if r["runs"]["std"][i] is not None]
        chart = charts.spread(name, deviations, int(details[name].get("high_variance_records") or 0))
        figures.append(f"<figure>{chart}<figcaption>{_e(name)}</figcaption></figure>")
        top = sorted((r for r in records if r["runs"]["std"][i]), key=lambda r: -r["runs"]["std"][i])
        for r in top[:_VARIANCE_ROWS]:
            per_run = ", ".join(text.fmt(v) for v in r["runs"]["values"][i])
            rows.append(f"<tr><td>{_e(name)}</td><td>{_e(r['id'])}</td><td>{_e(r['values'][i])}</td>"
                        f"<td>{_e(r['runs']['std'][i])}</td><td>{_e(per_run)}</td></tr>")
    table = ("<table class=\"static\"><thead><tr><th>metric</th><th>record</th><th>mean</th><th>std</th>"
             f"<th>values per run</th></tr></thead><tbody>{''.join(rows)}</tbody></table>") if rows else ""
    return (f"<h2>Variance across {result.run['iterations']} runs per record</h2><div class=\"figures\">"
            f"{''.join(figures)}</div><h3>Records whose runs disagree most</h3>{table}")


def _log(result: ExperimentResult) -> str:
    run, meta = result.run, result.metadata
    git = meta.get("git") or {}
    facts = [("experiment", run["experiment_name"]), ("run", run["id"]), ("status", run["status"]),
             ("dataset", f"{run['dataset_name'] or '-'} version {run['dataset_version'] or '-'}"),
             ("runs per record", run["iterations"]), ("started", text.when(run["started_at"])),
             ("finished", text.when(run["finished_at"])),
             ("git", f"{git.get('branch') or '-'} {git.get('commit') or '-'}"
                     + (" (dirty)" if git.get("dirty") else "")),
             ("host", meta.get("host")),
             ("versions", " ".join(f"{k} {v}" for k, v in (meta.get("versions") or {}).items() if v))]
    items = "".join(f"<dt>{_e(k)}</dt><dd>{_e(v)}</dd>" for k, v in facts)
    parts = [f"<h2>Run</h2><dl class=\"facts\">{items}</dl>",
             f"<h3>Config</h3><pre>{_e(json.dumps(run['config'] or {}, indent=2, ensure_ascii=False))}</pre>"]
    if meta.get("user"):
        parts.append(f"<h3>Metadata</h3><pre>{_e(json.dumps(meta['user'], indent=2, ensure_ascii=False))}</pre>")
    prompts, models = result.log(("prompt",)), result.log(("model",))
    if prompts:
        parts.append("<h3>Prompts</h3>" + "".join(
            f"<article class=\"log\"><h4>{_e(p['entry'].get('name') or '(unnamed)')} <code>version "
            f"{_e(p['entry'].get('version') or '-')}</code></h4>"
            + (f"<pre>{_e(p['entry']['template'])}</pre>" if p["entry"].get("template") else "") + "</article>"
            for p in prompts))
    if models:
        rows = "".join(f"<tr><td>{_e(m['entry'].get('provider'))}</td><td>{_e(m['entry'].get('request_model'))}</td>"
                       f"<td>{_e(m['entry'].get('response_model'))}</td><td>{_e(m['entry'].get('temperature'))}</td>"
                       f"<td>{_e(text.fmt(m['entry'].get('system_prompt'), 200))}</td></tr>" for m in models)
        parts.append("<h3>Models</h3><table class=\"static\"><thead><tr><th>provider</th><th>request model</th>"
                     f"<th>response model</th><th>temperature</th><th>system prompt</th></tr></thead><tbody>{rows}"
                     "</tbody></table>")
    if not prompts and not models:
        parts.append("<p>No LLM calls were recorded.</p>")
    return "".join(parts)


# --- the comparison -------------------------------------------------------------------------------------------------

_VERDICT_CLASS = {IMPROVED: "improved", REGRESSED: "regressed"}


def _ids(record_ids: Sequence[str]) -> str:
    shown = ", ".join(record_ids[:_IDS_SHOWN])
    return _e(shown) + (f" … (+{len(record_ids) - _IDS_SHOWN} more)" if len(record_ids) > _IDS_SHOWN else "")


def _comparison_html(comparison: Comparison) -> str:
    a, b = comparison.a, comparison.b
    regressions = comparison.regressions
    verdict = (f'<p class="verdict regressed">Regressed: {_e(", ".join(text.metric_label(m) for m in regressions))}'
               "</p>" if regressions else '<p class="verdict improved">No significant regression</p>')
    rows = []
    for m in comparison.metrics:
        rows.append(
            f'<tr data-metric="{_e(text.metric_label(m))}"><td>{_e(text.metric_label(m))}</td><td>{_e(m.kind)}</td>'
            f'<td class="num" data-value="{_e(json.dumps(m.a_value))}">{_e(m.a_value)}</td>'
            f'<td class="num" data-value="{_e(json.dumps(m.b_value))}">{_e(m.b_value)}</td>'
            f'<td class="num">{"-" if m.difference is None else f"{m.difference:+.4g}"}</td>'
            f'<td class="num">{m.paired}</td><td>{_e(m.test)}</td><td>{_e(m.evidence)}</td>'
            f'<td class="verdict-cell {_VERDICT_CLASS.get(m.verdict, "")}">{_e(m.verdict)}</td></tr>')
    flips = []
    for m in comparison.metrics:
        if m.passed_to_failed:
            flips.append(f"<li><b>{_e(text.metric_label(m))}</b> passed → failed ({len(m.passed_to_failed)}): "
                         f"{_ids(m.passed_to_failed)}</li>")
        if m.failed_to_passed:
            flips.append(f"<li><b>{_e(text.metric_label(m))}</b> failed → passed ({len(m.failed_to_passed)}): "
                         f"{_ids(m.failed_to_passed)}</li>")
        if m.changed and not (m.passed_to_failed or m.failed_to_passed):
            flips.append(f"<li><b>{_e(m.name)}</b> changed label ({len(m.changed)}): "
                         f"{_ids([f'{r} {x} → {y}' for r, x, y in m.changed])}</li>")
    run_rows = "".join(f"<tr><td>{_e(what)}</td><td>{_e(x)}</td><td>{_e(y)}</td><td>{_e(d)}</td></tr>"
                       for what, x, y, d in text.run_rows(comparison))
    changes = "".join(f"<li>{_e(line)}</li>" for line in comparison.changes) or "<li>(none recorded)</li>"
    only = "".join(f"<p><b>Only in {side}</b> ({len(records)}): {_ids([r.record_id for r in records])}</p>"
                   for side, records in (("A", comparison.only_a), ("B", comparison.only_b)) if records)
    return (f"<h2>Comparison</h2><p><b>A</b> {_e(text.side_title(a))} → <b>B</b> {_e(text.side_title(b))}</p>"
            f"<p>{_e(text.paired_line(comparison))}</p>{verdict}"
            "<table class=\"static\" id=\"verdicts\"><thead><tr><th>metric</th><th>kind</th><th>A</th><th>B</th>"
            "<th>diff</th><th>paired</th><th>test</th><th>evidence</th><th>verdict</th></tr></thead>"
            f"<tbody>{''.join(rows)}</tbody></table>"
            f"<h3>Flipped records</h3><ul>{''.join(flips) or '<li>(no record flipped)</li>'}</ul>"
            "<h3>Run</h3><table class=\"static\" id=\"run-level\"><thead><tr><th></th><th>A</th><th>B</th>"
            f"<th>diff</th></tr></thead><tbody>{run_rows}</tbody></table>"
            f"<h3>Changes</h3><ul>{changes}</ul>{only}")


def _side(record: SideRecord, names: Sequence[str]) -> dict[str, Any]:
    return {"values": [_jsonable(record.values.get(n)) for n in names], "passed": record.passed,
            "errors": len(record.errors), "trace": record.trace_id}


def _rank(record: RecordComparison) -> str:
    if record.regressed:
        return "regressed"
    if record.improved:
        return "improved"
    return "changed" if record.output_changed or record.values_changed else "same"


def _compared_record(record: RecordComparison, names: Sequence[str]) -> dict[str, Any]:
    out: dict[str, Any] = {"p": record.b.position, "id": record.record_id, "rank": _rank(record),
                           "input": _cut(record.b.input_data), "expected": _cut(record.b.expected_output),
                           "a": _side(record.a, names), "b": _side(record.b, names),
                           "regressed": record.regressed, "improved": record.improved}
    if record.output_changed:
        out["diff"] = _cut_segments(record.diff)
    else:
        out["output"] = _cut(record.b.output)
    return out


def _cut_segments(segments: Sequence[tuple[str, str]], limit: int = 2 * TEXT_LIMIT) -> list[list[str]]:
    out, used = [], 0
    for op, piece in segments:
        if used >= limit:
            out.append(["=", "… (cut)"])
            break
        out.append([op, piece[: limit - used]])
        used += len(piece)
    return out


# --- the page -------------------------------------------------------------------------------------------------------


def _csp_hash(content: str) -> str:
    return "'sha256-" + base64.b64encode(hashlib.sha256(content.encode("utf-8")).digest()).decode() + "'"


def render(result: ExperimentResult, comparison: Comparison | None = None, *, trace_url: str | None = None,
           page_size: int = PAGE_SIZE, rows: RecordRows | None = None) -> str:
    """The report of ``result`` (and its comparison with another run, ``comparison``'s B being ``result``);
    ``rows``: the record table already built from ``result``'s records (else they are read here)."""
    template = trace_url_template(trace_url)
    if rows is None or rows.run_id != result.run_id:
        rows = RecordRows(result)
        for record in result.iter_records():
            rows.add(record)
    names, kinds, iterations, records = rows.names, rows.kinds, rows.iterations, rows.rows
    own = [[r["values"][i] for r in records] for i in range(len(names))]
    columns: list[list[list[Any]]] = [own]
    data: dict[str, Any] = {"page_size": page_size, "trace_url": template, "names": names, "kinds": kinds,
                            "iterations": iterations, "records": records, "comparison": None}
    comparison_html = ""
    if comparison is not None:
        compared = [m.name for m in comparison.metrics if m.kind not in ("summary", PASS_FAIL, "mixed", "json")]
        ordered = comparison.ordered_records()
        data["comparison"] = {"names": compared, "records": [_compared_record(r, compared) for r in ordered],
                              "a": comparison.a.label, "b": comparison.b.label}
        a_values = {r.record_id: r.a.values for r in comparison.records}
        a_values.update({r.record_id: r.values for r in comparison.only_a})
        columns = [[[v.get(n) for v in a_values.values()] for n in names], own]
        comparison_html = _comparison_html(comparison)
    run = result.run
    status = "no objectives"
    if run["objective_results"]:
        outcome = "pass" if run["passed"] else "fail"
        status = f'<b class="{outcome}">objectives {outcome.upper()}</b>'
    header = (f"<h1>{_e(run['experiment_name'])} <small>run {_e(run['id'][:8])}</small></h1>"
              f"<p class=\"facts\">{_e(run['status'])} · {status} · {run['records_total']} records x {iterations} "
              f"runs · {run['results_failed']} errors · tokens {run['input_tokens']} in / {run['output_tokens']} out"
              " · generated "
              f"{_e(datetime.datetime.now().strftime('%Y-%m-%d %H:%M'))}</p>")
    summary = (f"<h2>Summary</h2>{_cards(result, names)}{_distributions(names, kinds, columns)}"
               f"{_variance(result, names, kinds, records)}")
    style, script = _asset("report.css"), _asset("report.js")
    csp = (f"default-src 'none'; script-src {_csp_hash(script)}; style-src {_csp_hash(style)}; img-src data:; "
           "base-uri 'none'; form-action 'none'")
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"), allow_nan=False, default=str)
    tabs = [("summary", "Summary"), ("records", f"Records ({len(records)})")]
    if comparison is not None:
        tabs.append(("comparison", f"Comparison ({len(comparison.records)} paired)"))
    tabs.append(("log", "Run log"))
    return Template(_asset("report.html")).substitute(
        title=_e(f"{run['experiment_name']} run {run['id'][:8]}"), csp=_e(csp), style=style, script=script,
        header=header, summary=summary, comparison=comparison_html, log=_log(result),
        tabs="".join(f'<button type="button" data-view="{v}">{_e(label)}</button>' for v, label in tabs),
        data=payload.replace("<", "\\u003c"),  # no "</script>" or "<!--" can end the data early
    )
