"""GitHub-flavoured Markdown of a run and of a comparison: every table row has its header's number of cells
whatever the outputs contain (pipes, HTML, backticks, newlines: escaped, shown as written), word diffs as
``<del>``/``<ins>``, and the numbers equal the comparison's."""

from __future__ import annotations

import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

import llmotel
from llmotel import Objective
from llmotel.experiments.compare import compare
from llmotel.experiments.diffs import word_diff
from llmotel.experiments.markdown import cell, comparison_markdown, diff_cell, run_markdown

NASTY = ["a | b", "<script>alert(1)</script>", "`code` *bold* _it_ [link](x)", "line one\nline two", "~~x~~ # h"]


def cells(row: str) -> list[str]:
    """The cells of a GFM table row (a pipe preceded by a backslash is text)."""
    return re.split(r"(?<!\\)\|", row.strip())[1:-1]


def tables(markdown: str) -> list[list[str]]:
    found, current = [], []
    for line in markdown.splitlines():
        if line.startswith("|"):
            current.append(line)
        elif current:
            found.append(current)
            current = []
    return found + ([current] if current else [])


def answering(answers: list[str]) -> Any:
    def task(i: int) -> str:
        return answers[i]

    return task


def runs(store: str) -> tuple[Any, Any]:
    dataset = llmotel.Dataset("nasty", [{"input_data": i, "expected_output": text, "id": f"r|{i}"}
                                        for i, text in enumerate(NASTY)])
    out = []
    for answers in (NASTY, [t + " changed" if i % 2 else t for i, t in enumerate(NASTY)]):
        out.append(llmotel.experiment("nasty", answering(answers), dataset,
                                      evaluators=["exact_match"], objectives=[Objective("exact_match", equals=True)],
                                      store=store).run(progress=False))
    return out[0], out[1]


def test_tables_hold_their_shape_and_text_is_escaped(sqlite_store):
    a, b = runs(sqlite_store)
    comparison = compare(a, b)
    markdown = comparison_markdown(comparison)
    for rows in tables(markdown) + tables(run_markdown(b)):
        widths = {len(cells(row)) for row in rows}
        assert len(widths) == 1, rows
    assert "<script>" not in markdown and "&lt;script&gt;alert(1)&lt;/script&gt;" in markdown
    assert "a \\| b" in markdown and "line one<br>line two" in markdown
    assert "`r\\|1`" in markdown
    assert "| \\`code\\` \\*bold\\* \\_it\\_ \\[link\\](x) |" in markdown
    assert "line one<br>line two<ins> changed</ins>" in markdown
    (metric,) = comparison.metrics
    assert (metric.mcnemar.lost, metric.mcnemar.p_value) == (2, 0.5)
    assert "| exact\\_match | boolean | 1 | 0.6 | -0.4 | 5 | exact McNemar | p=0.5 (2 lost, 0 gained) |" in markdown
    summary = run_markdown(b)
    assert "| exact\\_match | boolean | 0.6 |" in summary
    assert "| exact\\_match | == True | 3/5 | 1 | ❌ FAIL |" in summary


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=80), st.text(max_size=80))
def test_any_text_stays_inside_its_cell(old, new):
    for rendered in (cell(new), diff_cell(word_diff(old, new))):
        text = re.sub(r"</?(del|ins)>|<br>", "", rendered)
        assert "\n" not in text and "<" not in text and ">" not in text
        assert not re.search(r"(?<!\\)\|", text)
