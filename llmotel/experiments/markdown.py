"""GitHub-flavoured Markdown: a run's summary, and the comparison of two runs, for a pull request comment or
``$GITHUB_STEP_SUMMARY``. Text from records (outputs, labels, ids) is escaped, so it shows as written."""

from __future__ import annotations

import html
import re
from collections.abc import Iterable, Sequence
from typing import Any

from llmotel.experiments import report as text
from llmotel.experiments.compare import (
    IMPROVED,
    NO_CHANGE,
    PASS_FAIL,
    REGRESSED,
    Comparison,
    RecordComparison,
)
from llmotel.experiments.diffs import Segments, output_text
from llmotel.experiments.results import ExperimentResult

_CELL = 200  # characters of record text in a cell
_MARKUP = re.compile(r"([\\`*_{}\[\]~#|!])")
_VERDICT_MARK = {IMPROVED: "✅ improved", REGRESSED: "❌ regressed", NO_CHANGE: "no significant change"}


def cell(value: Any, limit: int = _CELL) -> str:
    """A value as the text of a table cell: HTML and Markdown markup escaped, one line, cut to ``limit``."""
    raw = value if isinstance(value, str) else text.fmt(value, limit)
    raw = raw if len(raw) <= limit else raw[: limit - 1] + "…"
    return _MARKUP.sub(r"\\\1", html.escape(raw, quote=False)).replace("\r", "").replace("\n", "<br>")


def md_table(headers: Sequence[str], rows: Iterable[Sequence[str]], right: Sequence[int] = ()) -> str:
    """A GFM table; cells are given already escaped."""
    align = ["---:" if i in right else "---" for i in range(len(headers))]
    lines = ["| " + " | ".join(headers) + " |", "| " + " | ".join(align) + " |"]
    lines += ["| " + " | ".join(row) + " |" for row in rows]
    return "\n".join(lines)


def diff_cell(segments: Segments, limit: int = _CELL * 2) -> str:
    """A word diff with ``<del>`` / ``<ins>`` (GitHub renders both), cut after ``limit`` characters."""
    out, used = [], 0
    for op, piece in segments:
        if used >= limit:
            out.append("…")
            break
        piece = piece[: limit - used]
        used += len(piece)
        escaped = cell(piece, limit + 1)
        tag = {"-": "del", "+": "ins"}.get(op)
        out.append(f"<{tag}>{escaped}</{tag}>" if tag else escaped)
    return "".join(out)


def run_markdown(result: ExperimentResult) -> str:
    """A run's summary and objectives."""
    run = result.run
    head = (f"## Experiment {cell(run['experiment_name'])}: run `{run['id'][:8]}`\n\n"
            f"{cell(run['status'])}"
            + (f" · objectives **{'PASS' if run['passed'] else 'FAIL'}**" if run["objective_results"] else "")
            + f" · {run['records_total']} records x {run['iterations']} runs · {run['results_failed']} errors"
            + f" · tokens {run['input_tokens']} in / {run['output_tokens']} out")
    rows = [(cell(name), cell(d.get("kind")), cell(d.get("value")), cell(d.get("pass_all_rate")),
             cell(d.get("records"))) for name, d in result.summary_details.items()]
    parts = [head, md_table(["Metric", "Kind", "Value", "Passed in all runs", "Records"], rows, right=(2, 3, 4))]
    if result.objectives:
        rows = [(cell(o.objective.metric), cell(o.objective.condition), f"{o.passed_records}/{o.records}",
                 cell(o.objective.min_pass_rate), "✅ PASS" if o.passed else "❌ FAIL") for o in result.objectives]
        parts.append("### Objectives\n\n" + md_table(["Objective", "Condition", "Records passed", "Required rate",
                                                      "Result"], rows, right=(2, 3)))
    return "\n\n".join(parts) + "\n"


def _records_table(records: Sequence[RecordComparison], names: Sequence[str]) -> str:
    rows = []
    for r in records:
        values = [cell(r.b.values.get(n)) if r.a.values.get(n) == r.b.values.get(n)
                  else f"{cell(r.a.values.get(n))} → {cell(r.b.values.get(n))}" for n in names]
        objectives = text._objectives_text(r.a) + (
            f" → {text._objectives_text(r.b)}" if r.a.passed != r.b.passed else "")
        output = diff_cell(r.diff) if r.output_changed else cell(output_text(r.b.output))
        rows.append((f"`{cell(r.record_id, 80)}`", objectives, *values, output))
    return md_table(["Record", "Objectives", *(cell(n) for n in names), "Output (A → B)"], rows)


def comparison_markdown(comparison: Comparison, record_limit: int = 20) -> str:
    """The comparison: verdicts per evaluator, flipped records, run level, changes, the changed records."""
    a, b = comparison.a, comparison.b
    regressions = comparison.regressions
    verdict = ("**❌ Regressed:** " + ", ".join(cell(text.metric_label(m)) for m in regressions) if regressions
               else "**✅ No significant regression**")
    parts = [f"## Experiment comparison: {cell(b.experiment)}",
             f"**A** {cell(text.side_title(a))} → **B** {cell(text.side_title(b))}\n\n"
             f"{cell(text.paired_line(comparison))}\n\n{verdict}"]
    rows = [(cell(text.metric_label(m)), cell(m.kind), cell(m.a_value), cell(m.b_value),
             "-" if m.difference is None else f"{m.difference:+.4g}", str(m.paired), cell(m.test), cell(m.evidence),
             _VERDICT_MARK.get(m.verdict, cell(m.verdict))) for m in comparison.metrics]
    parts.append(md_table(["Evaluator", "Kind", "A", "B", "Δ", "Paired", "Test", "Evidence", "Verdict"], rows,
                          right=(2, 3, 4, 5)))
    flips = text.flips_section(comparison)
    parts.append(f"<details><summary>Flipped records</summary>\n\n{cell(flips, 20_000)}\n\n</details>")
    parts.append("### Run\n\n" + md_table(["", "A", "B", "Δ"], [tuple(cell(c) for c in row)
                                                             for row in text.run_rows(comparison)], right=(1, 2, 3)))
    if comparison.changes:
        parts.append("### Changes\n\n" + "\n".join(f"- {cell(line, 500)}" for line in comparison.changes))
    names = [m.name for m in comparison.metrics if m.kind not in ("summary", PASS_FAIL)]
    ordered = comparison.ordered_records()[:record_limit]
    parts.append(f"<details><summary>Records (first {len(ordered)} of {len(comparison.records)}, regressions "
                 f"first)</summary>\n\n{_records_table(ordered, names)}\n\n</details>")
    for title, only in (("Only in A", comparison.only_a), ("Only in B", comparison.only_b)):
        if only:
            parts.append(f"**{title}** ({len(only)}): " + cell(text.ids([r.record_id for r in only]), 5000))
    return "\n\n".join(parts) + "\n"
