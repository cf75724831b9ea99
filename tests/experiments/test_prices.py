"""The price table: dated snapshots and provider prefixes resolve to the listed model, unknown models (and runs
that used one) cost "unknown" and never 0, a run with one model in its log is costed without per-model usage, and
``LLMOTEL_PRICES_FILE`` adds or overrides prices (a bad file is a ConfigurationError)."""

from __future__ import annotations

import json

import pytest

from llmotel import ConfigurationError
from llmotel.experiments import prices


@pytest.fixture(autouse=True)
def fresh_table(monkeypatch):
    monkeypatch.delenv(prices.PRICES_FILE_ENV, raising=False)
    prices._table.cache_clear()
    yield
    prices._table.cache_clear()


@pytest.mark.parametrize(("model", "listed"), [
    ("gpt-4o-mini", "gpt-4o-mini"), ("gpt-4o-mini-2024-07-18", "gpt-4o-mini"), ("openai/GPT-4o", "gpt-4o"),
    ("claude-sonnet-4-20250514", "claude-sonnet-4"), ("claude-3-5-sonnet-latest", "claude-3-5-sonnet"),
    ("gpt-4-0613", "gpt-4"), ("claude-haiku-4-5-20251001", "claude-haiku-4-5"),
])
def test_snapshots_and_prefixes_resolve(model, listed):
    assert prices.price_of(model).model == listed


@pytest.mark.parametrize("model", ["gpt-4o-mini-finetuned", "ft:gpt-4o-mini:org::abc", "llama-3", "", None])
def test_unknown_models_have_no_price(model):
    assert prices.price_of(model) is None


def test_run_cost_is_unknown_never_zero():
    usage = [{"model": "gpt-4o-mini-2024-07-18", "input_tokens": 1_000_000, "output_tokens": 500_000},
             {"model": "claude-3-5-haiku-20241022", "input_tokens": 2000, "output_tokens": 1000}]
    cost = prices.run_cost(usage)
    assert cost.total == pytest.approx(0.15 + 0.30 + (2000 * 0.8 + 1000 * 4) / 1e6)
    unknown = prices.run_cost([*usage, {"model": "house-model", "input_tokens": 5, "output_tokens": 5}])
    assert unknown.total is None and unknown.text() == "unknown (no price for house-model)"
    assert prices.run_cost([], ["gpt-4o"], 1000, 100).total == pytest.approx((1000 * 2.5 + 100 * 10) / 1e6)
    several = prices.run_cost([], ["gpt-4o", "gpt-4o-mini"], 1000, 100)
    assert several.total is None and several.text() == "unknown (no price for gpt-4o, gpt-4o-mini)"
    assert prices.run_cost([], [], 10, 1).text() == "unknown (no price for models not recorded)"
    assert prices.run_cost([]).text() == "$0 (no LLM calls)"


def test_prices_file_overrides_and_validates(tmp_path, monkeypatch):
    extra = tmp_path / "prices.json"
    extra.write_text(json.dumps({"models": {"house-model": {"input": 1, "output": 2}, "gpt-4o": {"input": 0,
                                                                                               "output": 0}}}))
    monkeypatch.setenv(prices.PRICES_FILE_ENV, str(extra))
    assert prices.price_of("house-model").cost(1_000_000, 1_000_000) == 3.0
    assert prices.price_of("gpt-4o").input == 0.0 and prices.price_of("gpt-4o-mini").input == 0.15
    extra.write_text(json.dumps({"models": {"bad": {"input": "free"}}}))
    monkeypatch.setenv(prices.PRICES_FILE_ENV, str(tmp_path / "other.json"))
    with pytest.raises(ConfigurationError, match="LLMOTEL_PRICES_FILE"):
        prices.price_of("gpt-4o")
    monkeypatch.setenv(prices.PRICES_FILE_ENV, str(extra))
    prices._table.cache_clear()  # the file is read once per process
    with pytest.raises(ConfigurationError, match="'bad': input and output prices >= 0"):
        prices.price_of("gpt-4o")


def test_bundled_table_is_well_formed():
    table = prices._table(None)
    assert len(table) >= 20 and all(p.input > 0 and p.output >= p.input for p in table.values())
