"""Model prices (``data/prices.json``, plus ``LLMOTEL_PRICES_FILE``) and the cost of a run's token usage.

A model without a known price has an unknown cost: :func:`run_cost` returns None, shown as "unknown", never 0.
"""

from __future__ import annotations

import json
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from importlib import resources
from typing import Any

from llmotel.errors import ConfigurationError

PRICES_FILE_ENV = "LLMOTEL_PRICES_FILE"
_SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{8}|\d{4}|latest)$")


@dataclass(frozen=True)
class Price:
    """US dollars per million input and output tokens of one model."""

    model: str
    input: float
    output: float

    def cost(self, input_tokens: int, output_tokens: int) -> float:
        return (input_tokens * self.input + output_tokens * self.output) / 1_000_000


def _parse(data: Any, source: str) -> dict[str, Price]:
    models = data.get("models") if isinstance(data, Mapping) else None
    if not isinstance(models, Mapping):
        raise ConfigurationError(PRICES_FILE_ENV, source, 'a JSON file {"models": {"NAME": {"input": USD per '
                                 'million tokens, "output": USD per million tokens}}}')
    out = {}
    for name, price in models.items():
        numbers = [price.get(k) if isinstance(price, Mapping) else None for k in ("input", "output")]
        if not all(isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0 for v in numbers):
            raise ConfigurationError(PRICES_FILE_ENV, source, f"{name!r}: input and output prices >= 0")
        out[str(name).lower()] = Price(str(name), float(numbers[0]), float(numbers[1]))  # type: ignore[arg-type]
    return out


@lru_cache(maxsize=4)
def _table(extra_path: str | None) -> dict[str, Price]:
    bundled = json.loads(resources.files("llmotel.experiments").joinpath("data/prices.json").read_text("utf-8"))
    table = _parse(bundled, "data/prices.json")
    if extra_path:
        try:
            with open(extra_path, encoding="utf-8") as file:
                table.update(_parse(json.load(file), extra_path))
        except (OSError, ValueError) as exc:
            raise ConfigurationError(PRICES_FILE_ENV, extra_path, f"a readable JSON price file ({exc})") from None
    return table


def price_of(model: str | None) -> Price | None:
    """The price of ``model`` (``gpt-4o-mini-2024-07-18`` and ``openai/gpt-4o-mini`` are ``gpt-4o-mini``), or
    None when it is not in the table."""
    if not model:
        return None
    table = _table(os.environ.get(PRICES_FILE_ENV) or None)
    name = model.strip().lower().rsplit("/", 1)[-1]
    return table.get(name) or table.get(_SNAPSHOT.sub("", name))


@dataclass(frozen=True)
class RunCost:
    """A run's cost: ``total`` in US dollars, or None with the ``unknown`` models that kept it from being known."""

    total: float | None
    by_model: dict[str, float | None]
    unknown: tuple[str, ...]

    def text(self) -> str:
        if self.total == 0 and not self.by_model:
            return "$0 (no LLM calls)"
        if self.total is not None:
            return f"${self.total:.4f}"
        return "unknown" + (f" (no price for {', '.join(self.unknown)})" if self.unknown else "")


def run_cost(usage: Sequence[Mapping[str, Any]], log_models: Sequence[str] = (), input_tokens: int = 0,
             output_tokens: int = 0) -> RunCost:
    """The cost of a run's token usage per model (``Store.usage``). A run stored before usage was kept per
    model is costed when its run log names exactly one model; otherwise it is unknown."""
    if not usage and (input_tokens or output_tokens):
        if len(set(log_models)) != 1:
            return RunCost(None, {}, tuple(sorted(set(log_models))) or ("models not recorded",))
        usage = [{"model": log_models[0], "input_tokens": input_tokens, "output_tokens": output_tokens}]
    by_model: dict[str, float | None] = {}
    unknown = []
    for row in usage:
        model = row.get("model") or ""
        price = price_of(model)
        cost = price.cost(int(row.get("input_tokens") or 0), int(row.get("output_tokens") or 0)) if price else None
        by_model[model or "(unnamed)"] = cost
        if cost is None:
            unknown.append(model or "(unnamed)")
    if unknown:
        return RunCost(None, by_model, tuple(unknown))
    return RunCost(sum(c for c in by_model.values() if c is not None), by_model, ())
