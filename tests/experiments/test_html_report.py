"""The HTML report in a real headless Chromium (Debian's, driven by playwright with ``executable_path``; skipped
locally without it, a failure in CI): it loads from a file with no console errors and no request beyond itself,
the numbers on the page equal the store's, sorting, filtering and pages work, the diff view highlights the changed
words, record text is shown as text (never run), trace links follow ``LLMOTEL_TRACE_URL_TEMPLATE``, and a
multi-run report shows each record's spread. A screenshot of each view is kept under the test's tmp_path."""

from __future__ import annotations

import importlib.util
import json
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

import llmotel
from llmotel import ConfigurationError, Objective
from llmotel.experiments import ExperimentResult, Store
from llmotel.experiments.compare import compare
from llmotel.experiments.html_report import render, trace_url_template

from .helpers import cli, environment

CHROMIUM = Path(os.environ.get("LLMOTEL_CHROMIUM", "/usr/bin/chromium"))
FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
         "--disable-background-networking", "--disable-component-update", "--disable-sync"]
TRACES = "http://localhost:16686/trace/{trace_id}"
HOSTILE = '<img src=x onerror="alert(1)"> </script><script>alert(2)</script> The answer is 11'


@pytest.fixture(scope="module")
def browser() -> Iterator[Any]:
    """A headless Chromium; skipped locally when it or playwright is missing, failed in CI."""
    missing = None if CHROMIUM.exists() else f"Chromium not found at {CHROMIUM} (apt-get install chromium)"
    if missing is None and importlib.util.find_spec("playwright") is None:
        missing = "the playwright package is not installed"
    if missing:
        if os.environ.get("CI") == "true":
            pytest.fail(f"{missing}: .ci/run installs it", pytrace=False)
        pytest.skip(missing)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        yield playwright


class Page:
    """One report opened in a fresh browser profile, recording console messages, errors, requests and dialogs."""

    def __init__(self, playwright: Any, path: Path, profile: Path) -> None:
        self.context = playwright.chromium.launch_persistent_context(
            str(profile), executable_path=str(CHROMIUM), args=FLAGS, headless=True,
            viewport={"width": 1400, "height": 1000})
        self.page = self.context.new_page()
        self.messages: list[tuple[str, str]] = []
        self.requests: list[str] = []
        self.page.on("console", lambda m: self.messages.append((m.type, m.text)))
        self.page.on("pageerror", lambda e: self.messages.append(("pageerror", str(e))))
        self.page.on("request", lambda r: self.requests.append(r.url))
        self.page.on("dialog", lambda d: (self.messages.append(("dialog", d.message)), d.dismiss()))
        self.url = path.resolve().as_uri()
        self.page.goto(self.url)
        self.page.wait_for_selector("html[data-ready=true]")

    def view(self, name: str) -> None:
        self.page.click(f"#tabs button[data-view={name}]")

    def column(self, grid: str, key: str) -> list[Any]:
        cells = self.page.query_selector_all(f"#{grid} tbody tr.record td[data-column='{key}']")
        return [json.loads(c.get_attribute("data-value")) if c.get_attribute("data-value") is not None
                else c.inner_text() for c in cells]

    def close(self) -> None:
        self.context.close()


def numbers(ids: range) -> llmotel.Dataset:
    return llmotel.Dataset("nums", [{"input_data": i, "expected_output": i * 2, "id": f"r{i}"} for i in ids])


def before(n: int) -> str:
    return f"The answer is {n * 2}" if n not in (20, 21) else f"The answer is {n}"


def after(n: int) -> str:
    if n == 5:
        return HOSTILE
    return f"The answer is {n * 2 + 1}" if n in range(1, 15) else f"The answer is {n * 2}"


def correct(input_data: Any, output: str, expected: int) -> bool:
    return output.endswith(f" {expected}")


def closeness(input_data: Any, output: str, expected: int) -> float:
    return 1 / (1 + abs(int(output.split()[-1]) - expected))


def parity(input_data: Any, output: str, expected: int) -> str:
    return "even" if int(output.split()[-1]) % 2 == 0 else "odd"


@pytest.fixture
def runs(sqlite_store) -> tuple[ExperimentResult, ExperimentResult]:
    def one(task: Any, ids: range) -> ExperimentResult:
        return llmotel.experiment("nums", task, numbers(ids), evaluators=[correct, closeness, parity],
                                  objectives=[Objective("correct", equals=True, min_pass_rate=0.9)],
                                  store=sqlite_store).run(progress=False)

    return one(before, range(0, 40)), one(after, range(1, 41))


def test_report_in_a_browser(browser, runs, tmp_path):
    a, b = runs
    store_b = ExperimentResult(Store(b.store.url.removeprefix("sqlite:///")), b.run_id)
    comparison = compare(a, b)
    path = tmp_path / "report.html"
    path.write_text(render(b, comparison, trace_url=TRACES, page_size=15), encoding="utf-8")
    page = Page(browser, path, tmp_path / "profile")
    try:
        p = page.page
        p.screenshot(path=str(tmp_path / "summary.png"), full_page=True)
        for name, value in store_b.summary.items():  # the cards' numbers are the store's summary
            card = p.query_selector(f".card[data-metric='{name}'] .value")
            if card is not None:
                assert json.loads(card.get_attribute("data-value")) == value, name
        assert p.inner_text(".card[data-metric='correct'] .objective") == (
            "FAIL: == True on 26/40 records (required 90%)")

        page.view("records")
        p.screenshot(path=str(tmp_path / "records.png"), full_page=True)
        assert p.inner_text("#records-count") == "40 of 40 rows"
        assert p.inner_text("#records-table .page") == "page 1 of 3 (rows 1-15)"
        assert page.column("records-table", "status")[:14] == [1] * 14  # failed first (the 14 wrong answers)
        store_records = {r.record_id: r for r in store_b.records}
        shown_ids = page.column("records-table", "record")
        for record_id, value in zip(shown_ids, page.column("records-table", "metric:closeness"), strict=True):
            assert value == store_records[record_id].aggregated["closeness"]
        p.click("#records-table th[data-column='metric:closeness']")
        ascending = page.column("records-table", "metric:closeness")
        assert ascending == sorted(r.aggregated["closeness"] for r in store_b.records)[:15]
        p.click("#records-table th[data-column='metric:closeness']")
        assert page.column("records-table", "metric:closeness")[0] == 1.0
        assert p.get_attribute("#records-table th[data-column='metric:closeness']", "aria-sort") == "descending"
        p.click("#records-table .next")
        assert p.inner_text("#records-table .page") == "page 2 of 3 (rows 16-30)"

        p.fill("#records-filter", "answer is 3")
        assert p.inner_text("#records-count") == "6 of 40 rows"  # 3, 30, 32, 34, 36, 38
        assert sorted(page.column("records-table", "record")) == ["r1", "r15", "r16", "r17", "r18", "r19"]
        p.fill("#records-filter", "")
        p.select_option("#records-status", "fail")
        assert p.inner_text("#records-count") == "14 of 40 rows"
        p.select_option("#records-status", "")
        p.fill("#records-filter", "onerror")
        (hostile,) = p.query_selector_all("#records-table tbody tr.record td[data-column='output']")
        assert hostile.inner_text() == HOSTILE and hostile.query_selector("img") is None
        p.click("#records-table tbody tr.record")  # details
        trace = store_records["r5"].trace_ids[0]
        assert p.get_attribute("#records-table tr.detail a.trace", "href") == TRACES.format(trace_id=trace)

        page.view("comparison")
        p.screenshot(path=str(tmp_path / "comparison.png"), full_page=True)
        verdicts = {row.get_attribute("data-metric"): row for row in p.query_selector_all("#verdicts tbody tr")}
        assert verdicts["correct"].query_selector(".verdict-cell").inner_text() == "regressed"
        a_cell, b_cell = verdicts["correct"].query_selector_all("td.num")[:2]
        assert json.loads(a_cell.get_attribute("data-value")) == a.summary["correct"] == 0.95
        assert json.loads(b_cell.get_attribute("data-value")) == store_b.summary["correct"]
        assert "p=0.00418 (14 lost, 2 gained)" in verdicts["correct"].inner_text()
        assert page.column("comparison-table", "record")[:3] == ["r1", "r2", "r3"]  # regressions first
        first = p.query_selector("#comparison-table tbody tr.record td[data-column='output']")
        assert [d.inner_text() for d in first.query_selector_all("del")] == ["2"]
        assert [i.inner_text() for i in first.query_selector_all("ins")] == ["3"]
        assert first.inner_text() == "The answer is 23"
        p.select_option("#comparison-rank", "improved")
        assert page.column("comparison-table", "record") == ["r20", "r21"]
        assert p.inner_text("#comparison-count") == "2 of 39 rows"
        p.click("#comparison-table tbody tr.record")
        p.screenshot(path=str(tmp_path / "comparison-detail.png"), full_page=True)
        assert "failed → passed" in p.inner_text("#comparison-table tr.detail")

        page.view("log")
        p.screenshot(path=str(tmp_path / "log.png"), full_page=True)
        assert b.run_id in p.inner_text("#view-log")

        assert page.messages == []
        assert set(page.requests) == {page.url}
    finally:
        page.close()
    assert sorted(f.name for f in tmp_path.glob("*.png")) == [
        "comparison-detail.png", "comparison.png", "log.png", "records.png", "summary.png"]


def test_report_of_a_multi_run_experiment_from_the_cli(browser, sqlite_store, tmp_path):
    counts: dict[int, int] = {}

    def flaky(n: int) -> str:
        counts[n] = counts.get(n, 0) + 1
        return f"The answer is {n * 2 + (counts[n] == 2 and n % 3 == 0)}"

    with pytest.warns(llmotel.experiments.HighVarianceWarning):
        result = llmotel.experiment("flaky", flaky, numbers(range(12)), evaluators=[correct, closeness], runs=3,
                                    store=sqlite_store, jobs=1).run(progress=False)
    path = tmp_path / "multi.html"
    made = cli("experiments", "report", result.run_id, "--store", sqlite_store, "-o", str(path),
               env=environment(LLMOTEL_TRACE_URL_TEMPLATE=TRACES))
    assert made.returncode == 0, made.stderr
    assert f"wrote {path}" in made.stderr
    page = Page(browser, path, tmp_path / "profile")
    try:
        p = page.page
        assert "Variance across 3 runs per record" in p.inner_text("#view-summary")
        variance_rows = p.query_selector_all("#view-summary table.static tbody tr")
        assert {row.query_selector_all("td")[1].inner_text() for row in variance_rows} == {"r0", "r3", "r6", "r9"}
        p.screenshot(path=str(tmp_path / "multi-summary.png"), full_page=True)
        page.view("records")
        p.fill("#records-filter", "r3")
        p.click("#records-table tbody tr.record")
        detail = p.inner_text("#records-table tr.detail")
        assert "output of run 2\nThe answer is 7\n" in detail
        assert "correct per run\ntrue, false, true  (std 0.4714)" in detail
        p.screenshot(path=str(tmp_path / "multi-records.png"), full_page=True)
        assert page.messages == [] and set(page.requests) == {page.url}
    finally:
        page.close()


def test_markdown_report_and_trace_template_errors(runs, sqlite_store, tmp_path):
    a, b = runs
    markdown = cli("experiments", "report", b.run_id, "--compare", a.run_id, "--format", "markdown", "--store",
                   sqlite_store, env=environment())
    assert markdown.returncode == 0, markdown.stderr
    assert markdown.stdout.startswith(f"## Experiment nums: run `{b.run_id[:8]}`")
    assert "## Experiment comparison: nums" in markdown.stdout
    assert "**❌ Regressed:** closeness, correct" in markdown.stdout
    one_iteration = cli("experiments", "report", f"{b.run_id}#1", "--compare", a.run_id, "--format", "markdown",
                        "--store", sqlite_store, env=environment())
    assert one_iteration.returncode == 0, one_iteration.stderr
    assert f"**B** {b.run_id[:8]}\\#1 (nums run 1 of 1" in one_iteration.stdout  # "#" escaped
    assert "**❌ Regressed:** closeness, correct" in one_iteration.stdout
    alone = cli("experiments", "report", f"{b.run_id}#1", "--store", sqlite_store, env=environment())
    assert alone.returncode == 2 and "RUN#N picks one run of a multi-run experiment for a comparison" in alone.stderr
    with pytest.raises(ConfigurationError, match="LLMOTEL_TRACE_URL_TEMPLATE"):
        trace_url_template("javascript:alert(1)//{trace_id}")
    with pytest.raises(ConfigurationError, match=r"containing \{trace_id\}"):
        trace_url_template("http://jaeger/trace/")
    bad = cli("experiments", "report", b.run_id, "--store", sqlite_store, "-o", str(tmp_path / "x.html"),
              env=environment(LLMOTEL_TRACE_URL_TEMPLATE="ftp://x/{trace_id}"))
    assert bad.returncode == 2 and "invalid LLMOTEL_TRACE_URL_TEMPLATE" in bad.stderr


def test_cli_report_reads_the_run_once_and_writes_the_same_page(runs, sqlite_store, tmp_path):
    """``report --compare`` builds the record table while the comparison reads the run: the page is the one
    :func:`render` makes reading the run itself (but for the minute it was generated)."""
    import re

    a, b = runs
    path = tmp_path / "cli.html"
    made = cli("experiments", "report", b.run_id, "--compare", a.run_id, "--store", sqlite_store, "-o", str(path),
               env=environment(LLMOTEL_TRACE_URL_TEMPLATE=TRACES))
    assert made.returncode == 0, made.stderr
    direct = render(b, compare(a, b), trace_url=TRACES)

    def generated(page: str) -> str:
        return re.sub(r"generated \d{4}-\d\d-\d\d \d\d:\d\d", "generated (time)", page)

    assert generated(path.read_text(encoding="utf-8")) == generated(direct)
    assert '"id":"r40"' in direct and direct.count('"rank":"regressed"') >= 1
