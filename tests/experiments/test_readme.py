"""The README's experiment examples run as written (the OpenAI client pointed at the fake provider)."""

from __future__ import annotations

import re
from pathlib import Path

import llmotel

README = Path(__file__).resolve().parents[2] / "README.md"


def experiment_examples() -> list[str]:
    text = README.read_text(encoding="utf-8")
    section = text[text.index("\n## Experiments\n"):text.index("\n### Command line and CI gate")]
    return re.findall(r"```python\n(.*?)```", section, re.DOTALL)


def test_readme_examples_run(fake_provider, monkeypatch, tmp_path):
    monkeypatch.setenv("OPENAI_BASE_URL", fake_provider.openai_base_url)
    monkeypatch.setenv("OPENAI_API_KEY", "test-key")
    monkeypatch.setenv("LLMOTEL_STORE", str(tmp_path / "readme.db"))
    llmotel.enable(exporter="none", export=llmotel.ExportOptions(console=False))
    dataset_run, plain_code = experiment_examples()
    namespace: dict = {}
    exec(compile(dataset_run, "README: experiment", "exec"), namespace)
    result = namespace["result"]
    assert result.status == "completed" and result.run["results_done"] == 2 * 5
    assert set(result.summary) >= {"exact_match", "overlap", "accuracy", "latency_s"}
    assert result.records[0].outputs == ["Echo: Capital of France? The city only."] * 5  # the fake echoes
    assert not result.passed  # an echo is not a capital
    assert result.records[0].details["correctness"][0]["error_type"] == "JudgeOutputError"  # an echo is no verdict
    exec(compile(plain_code, "README: plain code", "exec"), namespace)
    assert namespace["exp"].last_result.metrics == {"is_polite": 1.0}
    assert len(namespace["runs"]) == 10
    kinds = [e["kind"] for e in namespace["runs"][0].log()]
    assert kinds == ["prompt", "model", "call"]
