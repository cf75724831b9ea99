"""``--where``: the parser (precedence, literals, errors with columns; any text either parses or is a
``FilterError``; rendered syntax trees parse back to themselves) and the queries' meaning on a real three-run
experiment whose task calls the fake OpenAI provider (token counts scripted per call), through the API and
``llmotel experiments show --where`` as a subprocess."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmotel
from llmotel.experiments import ExperimentResult, Store
from llmotel.experiments.filters import Both, Condition, FilterError, Not, bind, parse, run_kinds, select
from tests.fake_providers import Reply

from .helpers import cli, environment

KINDS = {"exact_match": "boolean", "mood": "categorical", "score": "score"}


def test_precedence_literals_and_aliases():
    query = "a.avg < 1 or not b.mode == 'x y' and (c >= -2.5e1 or d = true)"
    node = parse(query)
    assert isinstance(node, Both) and node.operator == "or"
    left, right = node.left, node.right
    assert left == Condition("a", "avg", "<", 1.0, "1", 1)
    assert isinstance(right, Both) and right.operator == "and" and isinstance(right.left, Not)
    assert right.left.operand == Condition("b", "mode", "==", "x y", "x y", query.index("b.mode") + 1)
    inner = right.right
    assert isinstance(inner, Both) and inner.right == Condition("d", None, "==", True, "true", query.index("d =") + 1)
    assert inner.left.value == -25.0
    assert parse('m.mean != "say \\"hi\\""').value == 'say "hi"'
    assert parse("sentiment.MODE == non-english").suffix == "mode"
    assert parse("sentiment.mode == non-english").value == "non-english"


@pytest.mark.parametrize(("query", "message"), [
    ("", "an empty query"),
    ("exact_match.avg <", "expected a value (a number, true/false, a word or 'quoted text') at column 18, found "
                          "the end"),
    ("exact_match.avg 1", "expected a comparison (== != < <= > >=) at column 17"),
    ("(a == 1", "expected ')' at column 8"),
    ("a == 1 b == 2", "expected 'and', 'or' or the end at column 8"),
    ("a == 1 and", "expected a field (e.g. exact_match.avg) or '(' at column 11"),
    ("a.median > 1", "unknown aggregate .median"),
    ("a == 1 ; drop", "unexpected ';' at column 8"),
    ("__import__('os') == 1", "expected a comparison"),
])
def test_syntax_errors_say_where(query, message):
    with pytest.raises(FilterError, match=None) as error:
        parse(query)
    assert message in str(error.value)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.text(max_size=60))
def test_any_text_parses_or_is_a_filter_error(query):
    with contextlib.suppress(FilterError):  # anything else fails the test
        bind(query, KINDS, iterations=3)


names = st.sampled_from(["exact_match", "mood", "score", "x-y", "tokens"])
values = st.one_of(st.integers(-1000, 1000).map(float), st.booleans(),
                   st.text(alphabet="abc xyz'\"\\", max_size=8))
leaves = st.builds(lambda n, s, o, v: (n, s, o, v), names, st.sampled_from([None, "avg", "mode", "min"]),
                   st.sampled_from(["==", "!=", "<", "<=", ">", ">="]), values)
trees = st.recursive(leaves, lambda inner: st.one_of(
    st.tuples(st.just("not"), inner), st.tuples(st.sampled_from(["and", "or"]), inner, inner)), max_leaves=6)


def render(tree: Any) -> str:
    if tree[0] == "not":
        return f"not ({render(tree[1])})"
    if tree[0] in ("and", "or"):
        return f"({render(tree[1])}) {tree[0]} ({render(tree[2])})"
    name, suffix, op, value = tree
    if isinstance(value, bool):
        text = "true" if value else "false"
    elif isinstance(value, float):
        text = str(int(value))
    else:
        text = '"' + value.replace("\\", "\\\\").replace('"', '\\"') + '"'
    return f"{name}{'.' + suffix if suffix else ''} {op} {text}"


def shape(node: Any) -> Any:
    if isinstance(node, Condition):
        return (node.name, node.suffix, node.op, node.value)
    if isinstance(node, Not):
        return ("not", shape(node.operand))
    return (node.operator, shape(node.left), shape(node.right))


@settings(max_examples=200, deadline=None)
@given(trees)
def test_rendered_trees_parse_back(tree):
    assert shape(parse(render(tree))) == tree


OUTPUTS = [  # iteration-major with jobs=1: r0..r5 in run 1, then run 2, then run 3
    "ok", "bad", "ok", "ok", "bad", "ok!",
    "ok", "bad", "bad", "ok", "bad", "ok",
    "ok", "ok", "bad", "ok", "bad", "ok",
]


def mood(input_data: Any, output: str, expected: str) -> str:
    return "negative" if output == "bad" else "positive"


@pytest.fixture
def three_runs(openai_client, fake_provider, sqlite_store) -> ExperimentResult:
    replies = [Reply(text=t, usage={"prompt_tokens": 3500}) if i == 3 else Reply(text=t) for i, t in enumerate(OUTPUTS)]
    fake_provider.script(*replies)

    def task(input_data: int, config: dict[str, Any]) -> str:
        reply = openai_client.chat.completions.create(model="gpt-4o-mini",
                                                      messages=[{"role": "user", "content": f"{input_data}"}])
        return reply.choices[0].message.content

    dataset = llmotel.Dataset("moods", [{"input_data": i, "expected_output": "ok", "id": f"r{i}"} for i in range(6)])
    with pytest.warns(llmotel.experiments.HighVarianceWarning):
        return llmotel.experiment("moods", task, dataset, evaluators=["exact_match", mood], runs=3,
                                  objectives=[llmotel.Objective("exact_match", equals=True)],
                                  store=sqlite_store).run(jobs=1, progress=False)


def chosen(result: ExperimentResult, query: str) -> list[Any]:
    where = bind(query, run_kinds(result.summary_details), int(result.run["iterations"]))
    return [r.record_id if i is None else (r.record_id, i + 1) for r, i in select(result.iter_records(), where)]


def test_queries_on_a_three_run_experiment(three_runs):
    result = three_runs
    assert chosen(result, "exact_match.avg < 1") == ["r1", "r2", "r4", "r5"]
    assert chosen(result, "mood.mode == negative") == ["r1", "r2", "r4"]
    assert chosen(result, "mood.mode == negative and not exact_match.min == 0") == []
    assert chosen(result, "exact_match.avg < 1 and mood.mode != negative") == ["r5"]
    assert chosen(result, "tokens.avg > 1000") == ["r3"]
    assert chosen(result, "run == 1 and tokens > 1000") == [("r3", 1)]
    assert chosen(result, "run == 2 and tokens > 1000") == []
    assert chosen(result, "run = 3 and exact_match == false") == [("r2", 3), ("r4", 3)]
    assert chosen(result, "record == r0 or record == 'r5'") == ["r0", "r5"]
    assert chosen(result, "passed == true") == ["r0", "r3"]
    assert chosen(result, "error == true") == []
    assert chosen(result, "exact_match.std > 0.4 and input_tokens.max >= 3500") == []
    assert chosen(result, "(exact_match.avg >= 0.5 or mood.mode == negative) and record != r4") == [
        "r0", "r1", "r2", "r3", "r5"]


@pytest.mark.parametrize(("query", "message"), [
    ("exact_mach.avg < 1", "unknown field 'exact_mach' (did you mean exact_match?)"),
    ("run == 1 and exact_match.avg < 1", "a mixed query: 'run' selects single runs, but exact_match.avg is a value"),
    ("tokens > 1000", "tokens has 3 values per record (one per run): use tokens.avg"),
    ("mood.avg > 0", "mood is categorical: use mood.mode"),
    ("mood.mode < b", "mood.mode is a label: compare it with == or !="),
    ("exact_match.avg < high", "exact_match.avg is a number: compare it with a number, not 'high'"),
    ("run == 1 and exact_match == 1", "exact_match is true or false, not '1'"),
    ("run == 1.5", "run is a run number 1..3"),
    ("run == 1 and passed == true", "passed is a record's objectives across its runs"),
])
def test_questions_that_cannot_be_answered(three_runs, query, message):
    with pytest.raises(FilterError) as error:
        chosen(three_runs, query)
    assert message in str(error.value)


def test_one_run_experiment_takes_bare_names(sqlite_store):
    dataset = llmotel.Dataset("d", [{"input_data": i, "expected_output": 2 * i, "id": f"r{i}"} for i in range(4)])
    result = llmotel.experiment("d", lambda i: i * i, dataset, evaluators=["exact_match"],
                                store=sqlite_store).run(progress=False)
    assert chosen(result, "exact_match == true") == ["r0", "r2"]
    assert chosen(result, "exact_match.avg == 1") == ["r0", "r2"]


def test_show_where_on_the_command_line(three_runs, sqlite_store):
    store = Store(sqlite_store)
    run_id = three_runs.run_id
    shown = cli("experiments", "show", run_id[:8], "--store", sqlite_store, "--where", "exact_match.avg < 1",
                "--records", "2", env=environment())
    assert shown.returncode == 0, shown.stderr
    assert "Records where exact_match.avg < 1: 4 records of 6 (first 2 shown)" in shown.stdout
    table = shown.stdout.split("Records where", 1)[1].split("Run log", 1)[0]
    assert "r1" in table and "r2" in table and "r4" not in table
    per_run = cli("experiments", "show", run_id, "--store", sqlite_store, "--where", "run == 1 and tokens > 1000",
                  env=environment())
    assert per_run.returncode == 0 and "Records where run == 1 and tokens > 1000: 1 runs of 18" in per_run.stdout
    row = next(line for line in per_run.stdout.splitlines() if line.startswith("r3 "))
    assert row.split()[1] == "1"
    bad = cli("experiments", "show", run_id, "--store", sqlite_store, "--where", "tokens > 1000", env=environment())
    assert bad.returncode == 2 and "llmotel: --where: tokens has 3 values per record" in bad.stderr
    assert store.run(run_id)["status"] == "completed"
