"""Odd shapes never cost a span its outcome or its output (issue 13, items 15 and 16)."""

from __future__ import annotations

import json
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llmotel import semconv as sc
from tests.fake_providers import Reply


def deep_schema(depth: int) -> dict[str, Any]:
    schema: dict[str, Any] = {"type": "string"}
    for _ in range(depth):
        schema = {"type": "object", "properties": {"x": schema}}
    return schema


def test_a_content_serialisation_error_keeps_the_error_status(traced, openai_client, fake_provider):
    """A 3,000-deep tool schema: the request fails (the SDK cannot serialise it either), and the span records that
    outcome although its content cannot be rendered."""
    tools = [{"type": "function", "function": {"name": "deep", "parameters": deep_schema(3000)}}]
    with pytest.raises(RecursionError):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}],
                                              tools=tools)
    span = traced.one()
    assert span.attributes[sc.ERROR_TYPE] == "RecursionError"
    assert span.status.status_code.name == "ERROR"
    assert [e.name for e in span.events] == ["exception"]


def legacy_chunk(text: str, finish_reason: str | None = None, **choice: Any) -> dict[str, Any]:
    return {"id": "cmpl-1", "object": "text_completion", "created": 1, "model": "gpt-3.5-turbo-instruct",
            "choices": [{"text": text, "index": 0, "logprobs": None, "finish_reason": finish_reason, **choice}]}


def without_index(chunk: dict[str, Any]) -> dict[str, Any]:
    del chunk["choices"][0]["index"]
    return chunk


@pytest.mark.parametrize("last", [
    without_index(legacy_chunk("", "stop")),
    legacy_chunk("", "stop", index=None),
])
def test_a_legacy_stream_whose_last_chunk_has_no_index_keeps_its_output(traced, openai_client, fake_provider, last):
    fake_provider.script(Reply(events=[(None, legacy_chunk("Hello")), (None, legacy_chunk(" world")),
                                       (None, last), (None, "[DONE]")]))
    chunks = list(openai_client.completions.create(model="gpt-3.5-turbo-instruct", prompt="Say hi", stream=True))
    assert len(chunks) == 3
    span = traced.one()
    assert span.attributes[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    (output,) = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["parts"][0]["content"] == "Hello world"


odd_choice = st.one_of(
    st.just({}),  # no index, no text
    st.fixed_dictionaries({"index": st.one_of(st.none(), st.text(max_size=3), st.floats(allow_nan=False))}),
    st.fixed_dictionaries({"index": st.just(0), "text": st.one_of(st.none(), st.integers(), st.lists(st.text()))}),
    st.fixed_dictionaries({"index": st.just(0), "delta": st.one_of(st.none(), st.integers(), st.text(max_size=3))}),
    st.fixed_dictionaries({"index": st.just(0), "finish_reason": st.one_of(st.integers(), st.lists(st.text())),
                           "delta": st.fixed_dictionaries({"content": st.one_of(st.integers(), st.lists(st.text())),
                                                           "role": st.integers(), "refusal": st.integers()})}),
)


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(words=st.lists(st.text(alphabet="abcxyz ", min_size=1, max_size=6), min_size=1, max_size=5),
       odd=odd_choice, position=st.integers(0, 5), chat=st.booleans())
@example(words=["a"], odd={"index": 0, "text": 1}, position=0, chat=False)  # a number where the text goes
@example(words=["a"], odd={"index": 0, "delta": {"content": 1, "role": 2, "refusal": 3}, "finish_reason": 4},
         position=0, chat=True)
def test_one_odd_chunk_never_loses_the_rest_of_the_output(instrument, openai_client, fake_provider, words, odd,
                                                          position, chat):
    traced = instrument()
    if chat:
        good = [{"id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
                 "choices": [{"index": 0, "delta": {"content": w}, "finish_reason": None}]} for w in words]
    else:
        good = [legacy_chunk(w) for w in words]
    odd_chunk = {**good[0], "choices": [odd]}
    events = [(None, c) for c in good]
    events.insert(min(position, len(events)), (None, odd_chunk))
    fake_provider.script(Reply(events=[*events, (None, "[DONE]")]))
    if chat:
        list(openai_client.chat.completions.create(model="m", messages=[{"role": "user", "content": "x"}],
                                                   stream=True))
    else:
        list(openai_client.completions.create(model="m", prompt="x", stream=True))
    span = traced.one()
    (output,) = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    texts = [p["content"] for p in output["parts"] if p["type"] == "text"]
    assert "".join(texts) == "".join(words)
