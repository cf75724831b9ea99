"""Reference-based evaluators users otherwise write by hand, in the experiment signature
``f(input_data, output_data, expected_output)``.

``exact_match``, ``normalized_match`` and ``json_valid`` are ready to use (also by name); ``contains``,
``regex_match``, ``json_schema``, ``numeric_close`` and ``correctness`` (an LLM judge) take options. Each
returns None when there is nothing to compare (no expected output), which is not counted.
"""

from __future__ import annotations

import importlib.resources
import json
import math
import re
import string
import unicodedata
from collections.abc import Callable, Mapping
from functools import cached_property
from typing import Any

from llmotel.errors import ConfigurationError
from llmotel.experiments.values import EvaluatorResult

_NUMBER = re.compile(r"[-+]?(?:\d{1,3}(?:,\d{3})+|\d+)?(?:\.\d+)?(?:[eE][-+]?\d+)?")
_SPACES = re.compile(r"\s+")


def as_text(value: Any) -> str:
    """A value as text: strings as they are, anything else as compact JSON."""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"), default=str)


def normalize(text: str) -> str:
    """Unicode NFKC, case-folded, punctuation removed, whitespace collapsed."""
    text = unicodedata.normalize("NFKC", text).casefold()
    text = "".join(" " if unicodedata.category(c).startswith("P") or c in string.punctuation else c for c in text)
    return _SPACES.sub(" ", text).strip()


def exact_match(input_data: Any, output_data: Any, expected_output: Any) -> bool | None:
    """The output equals the expected output (JSON equality; ``1 == 1.0``)."""
    if expected_output is None:
        return None
    return bool(output_data == expected_output)


def normalized_match(input_data: Any, output_data: Any, expected_output: Any) -> bool | None:
    """The output equals the expected output after :func:`normalize` (case, punctuation, spacing)."""
    if expected_output is None:
        return None
    return normalize(as_text(output_data)) == normalize(as_text(expected_output))


def json_valid(input_data: Any, output_data: Any, expected_output: Any) -> bool:
    """The output is JSON: a dict/list, or a string that parses as JSON."""
    if isinstance(output_data, (dict, list)):
        return True
    if not isinstance(output_data, str):
        return False
    try:
        json.loads(output_data)
    except ValueError:
        return False
    return True


class contains:
    """The output contains ``text`` (default: the expected output), case-insensitively unless told otherwise."""

    def __init__(self, text: str | None = None, *, case_sensitive: bool = False, name: str = "contains") -> None:
        if text is not None and not isinstance(text, str):
            raise ConfigurationError("contains(text)", text, "a string or None (the expected output)")
        self.text = text
        self.case_sensitive = case_sensitive
        self.name = name

    def __call__(self, input_data: Any, output_data: Any, expected_output: Any) -> bool | None:
        needle = self.text if self.text is not None else (None if expected_output is None else as_text(expected_output))
        if needle is None:
            return None
        haystack = as_text(output_data)
        if not self.case_sensitive:
            needle, haystack = needle.casefold(), haystack.casefold()
        return needle in haystack


class regex_match:
    """The output matches a regular expression (``re.search``; ``full=True`` for ``re.fullmatch``)."""

    def __init__(self, pattern: str, *, flags: int = 0, full: bool = False, name: str = "regex") -> None:
        try:
            self.pattern = re.compile(pattern, flags)
        except (re.error, TypeError) as exc:
            raise ConfigurationError("regex_match(pattern)", pattern, f"a valid regular expression ({exc})") from None
        self.full = full
        self.name = name

    def __call__(self, input_data: Any, output_data: Any, expected_output: Any) -> bool:
        text = as_text(output_data)
        return (self.pattern.fullmatch(text) if self.full else self.pattern.search(text)) is not None


class json_schema:
    """The output is JSON that validates against a JSON Schema (the ``jsonschema`` package, any draft)."""

    def __init__(self, schema: Mapping[str, Any], *, name: str = "json_schema") -> None:
        try:
            import jsonschema
        except ImportError as exc:  # pragma: no cover - installed with llmotel[experiments]
            raise ConfigurationError("json_schema", schema, "pip install 'llmotel[experiments]'") from exc
        validator_class = jsonschema.validators.validator_for(schema)
        try:
            validator_class.check_schema(schema)
        except jsonschema.SchemaError as exc:
            raise ConfigurationError("json_schema(schema)", schema.get("type") if isinstance(schema, Mapping) else
                                     schema, f"a valid JSON Schema ({exc.message})") from None
        self.validator = validator_class(schema)
        self.name = name

    def __call__(self, input_data: Any, output_data: Any, expected_output: Any) -> EvaluatorResult:
        document = output_data
        if isinstance(output_data, str):
            try:
                document = json.loads(output_data)
            except ValueError as exc:
                return EvaluatorResult(False, reasoning=f"not JSON: {exc}", assessment="fail")
        error = next(iter(sorted(self.validator.iter_errors(document), key=lambda e: list(e.path))), None)
        if error is None:
            return EvaluatorResult(True, assessment="pass")
        where = "$" + "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.absolute_path)
        return EvaluatorResult(False, reasoning=f"{where}: {error.message}", assessment="fail")


def parse_number(value: Any) -> float | None:
    """A number, or the first number in a text (``"about 1,234.5 km"`` -> 1234.5), else None."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value) if math.isfinite(value) else None
    if not isinstance(value, str):
        return None
    for match in _NUMBER.finditer(value):
        token = match.group().replace(",", "")
        if any(c.isdigit() for c in token):
            try:
                return float(token)
            except ValueError:
                continue
    return None


class numeric_close:
    """The output's number is close to the expected one (``math.isclose`` with ``rel_tol`` / ``abs_tol``)."""

    def __init__(self, *, rel_tol: float = 1e-6, abs_tol: float = 0.0, name: str = "numeric_close") -> None:
        for setting, value in (("rel_tol", rel_tol), ("abs_tol", abs_tol)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 <= value < math.inf:
                raise ConfigurationError(f"numeric_close({setting})", value, "a finite number >= 0")
        self.rel_tol = float(rel_tol)
        self.abs_tol = float(abs_tol)
        self.name = name

    def __call__(self, input_data: Any, output_data: Any, expected_output: Any) -> EvaluatorResult | None:
        expected = parse_number(expected_output)
        if expected is None:
            return None
        actual = parse_number(output_data)
        if actual is None:
            return EvaluatorResult(False, reasoning="no number in the output", assessment="fail")
        close = math.isclose(actual, expected, rel_tol=self.rel_tol, abs_tol=self.abs_tol)
        return EvaluatorResult(close, reasoning=f"{actual:g} vs expected {expected:g}",
                               assessment="pass" if close else "fail")


class correctness:
    """An LLM judge grades the output against the expected output (``Judge`` from ``llmotel.evaluation``).

    Value: True when the verdict is ``correct`` (with ``partial_is_correct``, also ``partially_correct``);
    reasoning is the judge's reason; metadata ``verdict`` and ``score`` (0..1). The question is
    ``input_data`` itself, or its ``question``/``query``/``input``/``prompt`` field.
    """

    def __init__(self, judge: Any, *, partial_is_correct: bool = False, max_chars: int = 10_000,
                 name: str = "correctness") -> None:
        if not callable(getattr(judge, "ask", None)):
            raise ConfigurationError("correctness(judge)", judge, "an llmotel.evaluation.Judge")
        self.judge = judge
        self.partial_is_correct = partial_is_correct
        self.max_chars = max_chars
        self.name = name

    @cached_property
    def prompt(self) -> Any:
        from llmotel.evaluation.judge import JudgePrompt

        resource = importlib.resources.files("llmotel.experiments") / "data" / "correctness.json"
        return JudgePrompt.from_mapping(json.loads(resource.read_text(encoding="utf-8")))

    def __call__(self, input_data: Any, output_data: Any, expected_output: Any) -> EvaluatorResult | None:
        if expected_output is None:
            return None
        reply = self.judge.ask(self.prompt, self.name, question=question_text(input_data)[: self.max_chars],
                               reference=as_text(expected_output)[: self.max_chars],
                               answer=as_text(output_data)[: self.max_chars])
        verdict = str(reply.get("verdict"))
        correct = verdict == "correct" or (verdict == "partially_correct" and self.partial_is_correct)
        score = reply.get("score")
        return EvaluatorResult(
            correct, reasoning=str(reply.get("reason") or verdict), assessment="pass" if correct else "fail",
            metadata={"verdict": verdict, "score": float(score) if isinstance(score, (int, float)) else None},
        )


#: the parameterless reference checks, usable by name in ``evaluators=[...]``
BY_NAME: dict[str, Callable[..., Any]] = {
    "exact_match": exact_match, "normalized_match": normalized_match, "json_valid": json_valid, "contains": contains(),
}

QUESTION_KEYS = ("question", "query", "input", "prompt")


def question_text(input_data: Any, field: str | None = None) -> str:
    """The user's question in a record's input: the named field, a usual field name, or the whole input."""
    if isinstance(input_data, Mapping):
        for key in ((field,) if field else QUESTION_KEYS):
            value = input_data.get(key)
            if value is not None:
                return as_text(value)
    return as_text(input_data)
