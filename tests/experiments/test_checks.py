"""The reference checks, the progress bar and the run metadata captured from a real git repository."""

from __future__ import annotations

import io
import subprocess

import pytest
from hypothesis import given
from hypothesis import strategies as st

from llmotel import ConfigurationError, EvaluatorResult
from llmotel.errors import EvaluationError
from llmotel.experiments import (
    contains,
    exact_match,
    json_schema,
    json_valid,
    normalized_match,
    numeric_close,
    regex_match,
)
from llmotel.experiments.checks import normalize, parse_number
from llmotel.experiments.progress import Progress
from llmotel.experiments.runmeta import capture, git_info


def test_exact_and_normalized_match():
    assert exact_match(None, "Paris", "Paris") and not exact_match(None, "paris", "Paris")
    assert exact_match(None, {"a": 1}, {"a": 1.0}) and exact_match(None, "x", None) is None
    assert normalized_match(None, "  PARIS!! ", "paris")
    assert normalized_match(None, "\uff30\uff41\uff52\uff49\uff53", "paris")  # full-width letters
    assert normalized_match(None, "It's  Paris.", "its paris") is False  # the apostrophe becomes a space
    assert normalized_match(None, {"b": 2, "a": 1}, '{"a":1,"b":2}')
    assert not normalized_match(None, "Lyon", "Paris")


@given(st.text())
def test_normalize_is_idempotent(text):
    assert normalize(normalize(text)) == normalize(text)


def test_contains_and_regex():
    assert contains()(None, "The capital is Paris.", "paris")
    assert contains("Paris", case_sensitive=True)(None, "PARIS", None) is False
    assert contains()(None, "anything", None) is None
    assert regex_match(r"\b\d{4}\b")(None, "founded in 1934", None)
    assert regex_match(r"\d+", full=True)(None, "12a", None) is False
    assert regex_match("x", name="has_x").name == "has_x"
    with pytest.raises(ConfigurationError, match="a valid regular expression"):
        regex_match("(")


def test_json_checks():
    assert json_valid(None, '{"a": [1, 2]}', None) and json_valid(None, {"a": 1}, None)
    assert not json_valid(None, "{'a': 1}", None) and not json_valid(None, 3, None)
    check = json_schema({"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]})
    assert check(None, '{"city": "Paris"}', None) == EvaluatorResult(True, assessment="pass")
    missing = check(None, {"town": "Paris"}, None)
    assert missing.value is False and "'city' is a required property" in missing.reasoning
    wrong = check(None, {"city": 3}, None)
    assert wrong.reasoning.startswith("$.city: 3 is not of type 'string'")
    assert check(None, "not json", None).reasoning.startswith("not JSON")
    with pytest.raises(ConfigurationError, match="a valid JSON Schema"):
        json_schema({"type": "no-such-type"})


def test_numeric_close():
    close = numeric_close(rel_tol=1e-4)
    assert close(None, "About 1,234.5 km.", 1234).value is False
    assert close(None, "About 1,234.5 km.", "1234.5").value is True
    assert numeric_close(rel_tol=0.01)(None, "About 1,234.5 km.", 1240).value is True
    assert close(None, 99.5, "100").reasoning == "99.5 vs expected 100"
    assert close(None, "no digits here", 3).value is False
    assert close(None, 1, None) is None
    assert numeric_close(abs_tol=0.5)(None, "-2.4", -2).value is True
    assert parse_number("v1.2e3 items") == 1200.0 and parse_number(True) is None and parse_number("-") is None
    with pytest.raises(ConfigurationError):
        numeric_close(rel_tol=-1)


def test_evaluator_result_validation():
    for bad in ({"value": object()}, {"value": float("nan")}, {"value": 1, "assessment": "ok"},
                {"value": 1, "tags": {"a": 1}}, {"value": 1, "reasoning": 3}):
        with pytest.raises(EvaluationError):
            EvaluatorResult(**bad)


def test_progress_bar_draws_done_failed_and_eta():
    stream = io.StringIO()
    progress = Progress("capitals", 4, enabled=True, stream=stream)
    progress.update(True)
    progress.update(False)
    line = progress.line()
    assert "capitals [############............] 2/4 failed 1" in line and "ETA" in line
    progress.close()
    assert stream.getvalue().startswith("\rcapitals [") and stream.getvalue().endswith("\n")
    quiet = io.StringIO()
    silent = Progress("x", 2, stream=quiet)  # not a terminal: nothing is drawn
    silent.update(True)
    silent.close()
    assert quiet.getvalue() == ""


def test_run_metadata_from_a_real_git_repository(tmp_path, monkeypatch):
    def git(*args: str) -> None:
        subprocess.run(["git", *args], cwd=tmp_path, check=True, capture_output=True)

    git("init", "-b", "feature-x")
    (tmp_path / "app.py").write_text("print('v1')\n")
    git("add", "app.py")
    git("-c", "user.name=t", "-c", "user.email=t@example.org", "commit", "-m", "v1")
    monkeypatch.chdir(tmp_path)
    info = git_info()
    assert info["branch"] == "feature-x" and len(info["commit"]) == 40 and info["dirty"] is False
    (tmp_path / "app.py").write_text("print('v2')\n")
    assert git_info()["dirty"] is True
    git("checkout", "--detach")
    monkeypatch.setenv("GITHUB_REF_NAME", "main")
    assert git_info()["branch"] == "main"
    meta = capture()
    assert meta["versions"]["python"] and meta["versions"]["llmotel"] and meta["host"]
    monkeypatch.chdir(tmp_path.parent)
    assert git_info() == {} or git_info()["commit"] != info["commit"]
