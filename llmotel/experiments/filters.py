"""``--where``: filter a run's records by their values, in the spirit of Datadog's ``@multi_run_avg.`` and
``@multi_run_mode.`` filters. A small hand-written parser; nothing is evaluated as Python.

A query is conditions joined by ``and``, ``or``, ``not`` and parentheses. A condition is ``FIELD OP VALUE``
with ``OP`` one of ``== != < <= > >=`` (``=`` is ``==``) and ``VALUE`` a number, ``true``/``false``, a word or
a quoted string. Fields:

- record level (the query selects records): ``NAME.avg`` (alias ``NAME.mean``), ``NAME.min``, ``NAME.max``,
  ``NAME.std`` (numbers and booleans across a record's runs), ``NAME.mode`` (any kind); ``record`` (its id),
  ``passed`` (every objective held), ``error`` (a run failed); and, in a one-run experiment, ``NAME`` itself.
- run level (the query selects record x run rows): ``run`` (1-based) with ``NAME`` (that run's value) and
  ``error``; ``record`` too.

``NAME`` is an evaluator, a metric, ``latency_s``, ``input_tokens``, ``output_tokens`` or ``tokens`` (input +
output). A value that is missing makes its condition false. An unknown field, a comparison that does not fit the
field's kind, and a query mixing run-level fields with values across runs are errors (:class:`FilterError`).
"""

from __future__ import annotations

import difflib
import math
import re
from collections import Counter
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from llmotel.errors import ExperimentError
from llmotel.experiments.aggregation import mean, pstdev
from llmotel.experiments.finalize import MEASURES
from llmotel.experiments.results import RecordResult
from llmotel.experiments.values import BOOLEAN, CATEGORICAL, SCORE

SUFFIXES = {"avg": "avg", "mean": "avg", "min": "min", "max": "max", "std": "std", "mode": "mode"}
OPERATORS = {"==", "!=", "<", "<=", ">", ">="}
TOKENS = "tokens"  # input_tokens + output_tokens
_TOKEN = re.compile(r"""
    (?P<space>\s+)
  | (?P<number>-?(?:\d+\.?\d*|\.\d+)(?:[eE][-+]?\d+)?(?![\w.]))
  | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
  | (?P<op>==|!=|<=|>=|<|>|=)
  | (?P<paren>[()])
  | (?P<word>[A-Za-z_][\w\-]*(?:\.[A-Za-z_]\w*)?)
""", re.VERBOSE)
_KEYWORDS = {"and", "or", "not"}


class FilterError(ExperimentError):
    """A ``--where`` query that cannot be parsed or answered for this run."""


# --- parsing ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Token:
    kind: str  # number | string | op | paren | word | end
    text: str
    column: int  # 1-based


def tokenize(query: str) -> list[Token]:
    tokens, position = [], 0
    while position < len(query):
        match = _TOKEN.match(query, position)
        if match is None:
            raise FilterError(f"--where: unexpected {query[position]!r} at column {position + 1} of {query!r}")
        kind = match.lastgroup or ""
        if kind != "space":
            tokens.append(Token(kind, match.group(), position + 1))
        position = match.end()
    tokens.append(Token("end", "", len(query) + 1))
    return tokens


@dataclass(frozen=True)
class Condition:
    name: str  # metric or field name
    suffix: str | None  # avg | min | max | std | mode | None
    op: str
    value: Any  # float, bool or str
    text: str  # the value as written (a number compared with a label compares as this text)
    column: int

    @property
    def field(self) -> str:
        return self.name + (f".{self.suffix}" if self.suffix else "")


@dataclass(frozen=True)
class Not:
    operand: Node


@dataclass(frozen=True)
class Both:
    operator: str  # and | or
    left: Node
    right: Node


Node = Condition | Not | Both


class _Parser:
    def __init__(self, query: str) -> None:
        self.query = query
        self.tokens = tokenize(query)
        self.at = 0

    def peek(self) -> Token:
        return self.tokens[self.at]

    def take(self) -> Token:
        token = self.tokens[self.at]
        self.at += 1
        return token

    def error(self, token: Token, expected: str) -> FilterError:
        found = "the end" if token.kind == "end" else repr(token.text)
        return FilterError(f"--where: expected {expected} at column {token.column}, found {found}, in {self.query!r}")

    def is_word(self, text: str) -> bool:
        token = self.peek()
        return token.kind == "word" and token.text.lower() == text

    def parse(self) -> Node:
        if self.peek().kind == "end":
            raise FilterError("--where: an empty query; write e.g. \"exact_match.avg < 1\"")
        node = self.either()
        if self.peek().kind != "end":
            raise self.error(self.peek(), "'and', 'or' or the end")
        return node

    def either(self) -> Node:
        node = self.both()
        while self.is_word("or"):
            self.take()
            node = Both("or", node, self.both())
        return node

    def both(self) -> Node:
        node = self.negation()
        while self.is_word("and"):
            self.take()
            node = Both("and", node, self.negation())
        return node

    def negation(self) -> Node:
        if self.is_word("not"):
            self.take()
            return Not(self.negation())
        if self.peek().text == "(":
            self.take()
            node = self.either()
            if self.peek().text != ")":
                raise self.error(self.peek(), "')'")
            self.take()
            return node
        return self.condition()

    def condition(self) -> Condition:
        field = self.take()
        if field.kind != "word" or field.text.lower() in _KEYWORDS:
            raise self.error(field, "a field (e.g. exact_match.avg) or '('")
        name, _, suffix = field.text.partition(".")
        if suffix and suffix.lower() not in SUFFIXES:
            raise FilterError(f"--where: unknown aggregate .{suffix} in {field.text!r} (column {field.column}); "
                              f"use one of {', '.join('.' + s for s in SUFFIXES)}")
        op = self.take()
        if op.kind != "op":
            raise self.error(op, "a comparison (== != < <= > >=)")
        value = self.take()
        if value.kind == "number":
            literal: Any = float(value.text)
        elif value.kind == "string":
            literal = re.sub(r"\\(.)", r"\1", value.text[1:-1])
        elif value.kind == "word" and value.text.lower() not in _KEYWORDS:
            lowered = value.text.lower()
            literal = {"true": True, "false": False}.get(lowered, value.text)
        else:
            raise self.error(value, "a value (a number, true/false, a word or 'quoted text')")
        text = value.text[1:-1] if value.kind == "string" else value.text
        return Condition(name, SUFFIXES[suffix.lower()] if suffix else None, "==" if op.text == "=" else op.text,
                         literal, text, field.column)


def parse(query: str) -> Node:
    """The query's syntax tree (:class:`FilterError` for a syntax error)."""
    return _Parser(query).parse()


def conditions(node: Node) -> Iterator[Condition]:
    if isinstance(node, Condition):
        yield node
    elif isinstance(node, Not):
        yield from conditions(node.operand)
    else:
        yield from conditions(node.left)
        yield from conditions(node.right)


# --- binding to a run -------------------------------------------------------------------------------------------

NUMBER, FLAG, LABEL = "number", "flag", "label"  # what a field's values are, for checking comparisons
RECORD_FIELDS = {"record": LABEL, "passed": FLAG, "error": FLAG}


@dataclass(frozen=True)
class Where:
    """A query bound to a run: ``per_run`` says whether it selects record x run rows or records."""

    query: str
    node: Node
    per_run: bool
    kinds: Mapping[str, str]  # metric name -> value kind

    def matches(self, record: RecordResult, iteration: int | None = None) -> bool:
        return _evaluate(self.node, lambda c: _value(c, record, iteration, self.kinds))


def _field_type(condition: Condition, kind: str | None) -> str:
    if condition.name in RECORD_FIELDS and condition.suffix is None:
        return RECORD_FIELDS[condition.name]
    if condition.suffix == "mode":
        return {BOOLEAN: FLAG, SCORE: NUMBER}.get(kind or "", LABEL)
    if condition.suffix is not None:
        return NUMBER
    return {BOOLEAN: FLAG, SCORE: NUMBER}.get(kind or "", LABEL)


def _check(condition: Condition, kind: str | None, query: str) -> None:
    field_type = _field_type(condition, kind)
    if condition.suffix in ("avg", "min", "max", "std") and kind == CATEGORICAL:
        raise FilterError(f"--where: {condition.name} is categorical: use {condition.name}.mode (in {query!r})")
    value = condition.value
    if field_type in (FLAG, LABEL) and condition.op not in ("==", "!="):
        what = "true or false" if field_type == FLAG else "a label"
        raise FilterError(f"--where: {condition.field} is {what}: compare it with == or != (in {query!r})")
    if field_type == NUMBER and not isinstance(value, float):
        raise FilterError(f"--where: {condition.field} is a number: compare it with a number, not {condition.text!r} "
                          f"(in {query!r})")
    if field_type == FLAG and not isinstance(value, bool):
        raise FilterError(f"--where: {condition.field} is true or false, not {condition.text!r} (in {query!r})")


def bind(query: str, kinds: Mapping[str, str], iterations: int) -> Where:
    """Check ``query`` against a run whose metrics have these ``kinds`` (name -> boolean/score/categorical) and
    ``iterations`` runs per record; :class:`FilterError` says what cannot be answered and why."""
    node = parse(query)
    known = {**kinds, **dict.fromkeys(MEASURES, SCORE), TOKENS: SCORE}
    found = list(conditions(node))
    per_run = any(c.name == "run" and c.suffix is None for c in found)
    for c in found:
        if c.name == "run":
            if c.suffix is not None or not isinstance(c.value, float) or c.value != int(c.value):
                raise FilterError(f"--where: run is a run number 1..{iterations}: write e.g. run == 1 (in {query!r})")
            continue
        if c.name in RECORD_FIELDS and c.suffix is None:
            if c.name == "passed" and per_run:
                raise FilterError(f"--where: passed is a record's objectives across its runs; it cannot be asked "
                                  f"of one run (in {query!r})")
            _check(c, None, query)
            continue
        if c.name not in known:
            close = difflib.get_close_matches(c.name, [*known, "run", *RECORD_FIELDS], n=1)
            hint = f" (did you mean {close[0]}?)" if close else ""
            raise FilterError(f"--where: unknown field {c.name!r}{hint}; this run has "
                              f"{', '.join(sorted(known))}, and run, record, passed, error")
        if per_run and c.suffix is not None:
            raise FilterError(
                f"--where: a mixed query: 'run' selects single runs, but {c.field} is a value across a record's runs. "
                f"Ask about runs ({c.name} {c.op} {c.text} with run == N) or about records ({c.field} without run)")
        if not per_run and c.suffix is None and iterations > 1:
            raise FilterError(
                f"--where: {c.name} has {iterations} values per record (one per run): use {c.name}.avg (or .mode, "
                f".min, .max, .std), or pick a run: run == 1 and {c.name} {c.op} {c.text}")
        _check(c, known[c.name], query)
    return Where(query, node, per_run, known)


# --- evaluation -------------------------------------------------------------------------------------------------


def _evaluate(node: Node, value_of: Callable[[Condition], Any]) -> bool:
    if isinstance(node, Condition):
        return _compare(node, value_of(node))
    if isinstance(node, Not):
        return not _evaluate(node.operand, value_of)
    if node.operator == "and":
        return _evaluate(node.left, value_of) and _evaluate(node.right, value_of)
    return _evaluate(node.left, value_of) or _evaluate(node.right, value_of)


_ORDER: dict[str, Callable[[Any, Any], bool]] = {
    "==": lambda a, b: bool(a == b), "!=": lambda a, b: bool(a != b), "<": lambda a, b: bool(a < b),
    "<=": lambda a, b: bool(a <= b), ">": lambda a, b: bool(a > b), ">=": lambda a, b: bool(a >= b)}


def _compare(condition: Condition, actual: Any) -> bool:
    if actual is None:
        return False  # a missing value meets no condition
    expected, compare = condition.value, _ORDER[condition.op]
    if isinstance(actual, str):  # a label or record id: a number or word in the query is its text
        return compare(actual, expected if isinstance(expected, str) else condition.text)
    if isinstance(expected, bool):
        return isinstance(actual, bool) and compare(actual, expected)
    if isinstance(expected, str):
        return False
    return compare(float(actual), expected)


def _runs_of(record: RecordResult, name: str) -> list[Any]:
    if name == TOKENS:
        inputs, outputs = record.values.get("input_tokens", []), record.values.get("output_tokens", [])
        return [None if i is None and o is None else (i or 0) + (o or 0) for i, o in zip(inputs, outputs, strict=True)]
    return list(record.values.get(name, []))


def _across(values: Sequence[Any], suffix: str) -> Any:
    present = [v for v in values if v is not None]
    if not present:
        return None
    if suffix == "mode":
        return Counter(present).most_common(1)[0][0]
    numbers = [float(v) for v in present]
    if suffix == "avg":
        return mean(numbers)
    if suffix == "std":
        return pstdev(numbers)
    return min(numbers) if suffix == "min" else max(numbers)


def _value(condition: Condition, record: RecordResult, iteration: int | None, kinds: Mapping[str, str]) -> Any:
    name = condition.name
    if condition.suffix is None:
        if name == "run":
            return None if iteration is None else float(iteration + 1)
        if name == "record":
            return record.record_id
        if name == "passed":
            return record.passed
        if name == "error":
            if iteration is not None:
                return record.errors[iteration] is not None
            return any(e is not None for e in record.errors)
    runs = _runs_of(record, name)
    if condition.suffix is not None:
        value = _across(runs, condition.suffix)
        return value if not (isinstance(value, float) and math.isnan(value)) else None
    index = iteration if iteration is not None else 0
    return runs[index] if index < len(runs) else None


def select(records: Iterator[RecordResult] | Sequence[RecordResult], where: Where
           ) -> Iterator[tuple[RecordResult, int | None]]:
    """The records (or record x run rows, with their 0-based iteration) the query selects."""
    for record in records:
        if where.per_run:
            for i in range(len(record.outputs)):
                if where.matches(record, i):
                    yield record, i
        elif where.matches(record):
            yield record, None


def run_kinds(summary_details: Mapping[str, Mapping[str, Any]]) -> dict[str, str]:
    """Metric name -> kind, from a run's summary (summary evaluators and JSON values cannot be filtered on)."""
    return {name: str(d.get("kind")) for name, d in summary_details.items()
            if d.get("kind") in (BOOLEAN, SCORE, CATEGORICAL)}
