"""Datasets: from a list, CSV, JSONL and llmotel's own traces file; stable ids, content-hash versions, and bad
records rejected with an error that names them."""

from __future__ import annotations

import json
import math

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import llmotel
from llmotel import Dataset, DatasetError

RECORDS = [
    {"input_data": {"country": "France"}, "expected_output": "Paris"},
    {"input_data": {"country": "Japan"}, "expected_output": "Tokyo", "metadata": {"region": "asia"}},
    {"input_data": "What is 2+2?", "expected_output": 4, "id": "math-1"},
]


def test_records_ids_and_version_are_stable():
    first, again = Dataset("capitals", RECORDS), Dataset("capitals", [dict(r) for r in RECORDS])
    assert [r.id for r in first] == [r.id for r in again]
    assert first.version == again.version and len(first.version) == 16
    assert first.get("math-1").expected_output == 4
    assert first.records[1].metadata == {"region": "asia"}
    changed = Dataset("capitals", [*RECORDS[:2], {**RECORDS[2], "expected_output": 5}])
    assert changed.version != first.version
    assert [r.id for r in changed][:2] == [r.id for r in first][:2]


def test_identical_records_get_distinct_stable_ids():
    dataset = Dataset("d", [{"input_data": "x"}, {"input_data": "x"}, {"input_data": "x"}])
    ids = [r.id for r in dataset]
    assert ids[1] == ids[0] + "-2" and ids[2] == ids[0] + "-3"


@pytest.mark.parametrize(("records", "message"), [
    ([{"expected_output": 1}], "record 0: 'input_data' is missing"),
    ([{"input_data": 1}, {"input_data": None}], "record 1: 'input_data' is missing"),
    ([{"input_data": {"a": object()}}], "record 0: 'input_data' is not JSON-serialisable"),
    ([{"input_data": 1, "expected_output": math.nan}], "record 0: 'expected_output' is not JSON-serialisable"),
    ([{"input_data": 1, "metadata": ["x"]}], "record 0: 'metadata' must be a dict"),
    ([{"input_data": 1, "id": "a"}, {"input_data": 2, "id": "a"}], "record 1: id 'a' is also the id of record 0"),
    ([{"input_data": 1, "expected": 2}], "record 0: unknown keys ['expected']"),
    (["just a string"], "record 0: a record is a dict"),
    ([{"input_data": 1, "id": "q7", "metadata": {"t": {1, 2}}}], "record 0 (id 'q7'): 'metadata' is not JSON"),
])
def test_bad_records_are_named(records, message):
    with pytest.raises(DatasetError) as caught:
        Dataset("bad", records)
    assert message in str(caught.value)


def test_bad_record_fails_before_any_task_runs(tmp_path):
    calls = []
    with pytest.raises(DatasetError, match="record 1"):
        llmotel.experiment("x", lambda d: calls.append(d), Dataset("d", [{"input_data": 1}, {}]),
                           store=str(tmp_path / "s.db"))
    assert calls == []


def test_from_csv_with_column_mapping(tmp_path):
    path = tmp_path / "qa.csv"
    path.write_text("id,question,context,answer,source\nq1,Capital of France?,France...,Paris,wiki\n"
                    'q2,"Capital of Peru, please?",Peru...,Lima,atlas\n', encoding="utf-8")
    dataset = Dataset.from_csv(path, input_columns=["question", "context"], expected_output_columns="answer",
                               metadata_columns=["source"], id_column="id", context_fields=["context"])
    assert dataset.name == "qa"
    assert dataset.get("q2").input_data == {"question": "Capital of Peru, please?", "context": "Peru..."}
    assert dataset.get("q2").expected_output == "Lima"
    assert dataset.get("q1").metadata == {"source": "wiki"}
    assert dataset.context_fields == ("context",)
    default = Dataset.from_csv(path, expected_output_columns=["answer"])
    assert default.records[0].input_data == {"id": "q1", "question": "Capital of France?", "context": "France...",
                                             "source": "wiki"}
    assert default.records[0].expected_output == {"answer": "Paris"}
    with pytest.raises(DatasetError, match=r"columns \['nope'\] are not in the header"):
        Dataset.from_csv(path, input_columns=["nope"])


def test_from_jsonl_names_the_bad_line(tmp_path):
    path = tmp_path / "set.jsonl"
    path.write_text('{"input_data": "a", "expected_output": "A"}\n\n{"input_data": "b"}\n', encoding="utf-8")
    dataset = Dataset.from_jsonl(path)
    assert (dataset.name, len(dataset), dataset.records[0].expected_output) == ("set", 2, "A")
    path.write_text('{"input_data": "a"}\n{"input_data": \n', encoding="utf-8")
    with pytest.raises(DatasetError, match="line 2: not JSON"):
        Dataset.from_jsonl(path)
    path.write_text('{"input_data": "a"}\n{"expected_output": "b"}\n', encoding="utf-8")
    with pytest.raises(DatasetError, match="record 1: 'input_data' is missing"):
        Dataset.from_jsonl(path)


def test_from_traces_turns_production_calls_into_records(tmp_path, openai_client, anthropic_client, monkeypatch):
    traces = tmp_path / "traces.jsonl"
    llmotel.enable(exporter="none", export=llmotel.ExportOptions(traces_file=str(traces), console=False))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "system", "content": "Be brief."}, {"role": "user", "content": "Capital of France?"}])
    anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=50, system="Answer in one word.",
                                     messages=[{"role": "user", "content": "Capital of Peru?"}])
    openai_client.embeddings.create(model="text-embedding-3-small", input="not a chat")
    llmotel.shutdown()
    monkeypatch.setenv("LLMOTEL_TRACES_FILE", str(traces))
    dataset = Dataset.from_traces()
    assert len(dataset) == 2
    chat, claude = dataset.records
    assert chat.input_data["messages"][-1] == {"role": "user",
                                               "parts": [{"type": "text", "content": "Capital of France?"}]}
    assert chat.expected_output == "Echo: Capital of France?"
    assert chat.metadata["model"].startswith("gpt-4o-mini") and chat.metadata["provider"] == "openai"
    assert chat.id == f"{chat.metadata['trace_id']}-{chat.metadata['span_id']}"
    assert claude.input_data["system_instructions"] == [{"type": "text", "content": "Answer in one word."}]
    assert claude.metadata["provider"] == "anthropic"
    only_claude = Dataset.from_traces(traces, "prod", where=lambda call: call.provider == "anthropic")
    assert [r.id for r in only_claude] == [claude.id] and only_claude.name == "prod"
    assert Dataset.from_traces(traces).version == dataset.version


def test_from_traces_without_content_is_a_clear_error(tmp_path, openai_client):
    traces = tmp_path / "traces.jsonl"
    llmotel.enable(exporter="none", capture_content=False,
                   export=llmotel.ExportOptions(traces_file=str(traces), console=False))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    llmotel.shutdown()
    with pytest.raises(DatasetError, match="no LLM spans with captured messages"):
        Dataset.from_traces(traces)


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(), children, max_size=3),
    max_leaves=10,
)


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.fixed_dictionaries({"input_data": json_values.filter(lambda v: v is not None)},
                                      optional={"expected_output": json_values,
                                                "metadata": st.dictionaries(st.text(), json_values, max_size=3)}),
                max_size=8))
def test_any_json_records_load_with_unique_ids(records):
    dataset = Dataset("generated", records)
    ids = [r.id for r in dataset]
    assert len(ids) == len(set(ids)) == len(records)
    assert Dataset("generated", json.loads(json.dumps(records))).version == dataset.version
