"""The hand-written JSON fast paths of the hot path give exactly what the general path (message dicts through
``to_json``) gives, for any text (unicode, control characters, quotes, surrogate-free code points) and any role."""

from __future__ import annotations

import json

from hypothesis import given
from hypothesis import strategies as st

from llmotel.content import (
    Truncator,
    message,
    output_message,
    output_text_message_json,
    plain_messages_json,
    text_part,
    text_parts_json,
    to_json,
)

LIMIT = 200
texts = st.text(st.characters(blacklist_categories=("Cs",)), max_size=60)
roles = st.one_of(st.sampled_from(["user", "assistant", "system", "tool", "developer"]), texts)


def general(messages: list[dict[str, str]]) -> str:
    cut = Truncator(LIMIT, LIMIT)
    return to_json([message(m["role"], [text_part(m["content"], cut)]) for m in messages])


@given(st.lists(st.fixed_dictionaries({"role": roles, "content": texts}), max_size=6))
def test_plain_messages_fast_path_equals_the_general_path(messages):
    fast = plain_messages_json(messages, LIMIT)
    assert fast == general(messages)
    assert json.loads(fast) == json.loads(general(messages))


@given(st.lists(st.fixed_dictionaries({"role": roles, "content": st.text(min_size=LIMIT + 1, max_size=LIMIT + 5)}),
                min_size=1, max_size=2))
def test_plain_messages_fast_path_declines_what_must_be_cut(messages):
    assert plain_messages_json(messages, LIMIT) is None


@given(st.lists(st.one_of(st.fixed_dictionaries({"role": roles, "content": st.none()}),
                          st.fixed_dictionaries({"role": roles, "content": texts, "name": texts}),
                          st.fixed_dictionaries({"role": st.integers(), "content": texts})), min_size=1, max_size=3))
def test_plain_messages_fast_path_declines_other_shapes(messages):
    assert plain_messages_json(messages, LIMIT) is None


@given(roles, texts, texts)
def test_output_message_fast_path_equals_the_general_path(role, text, finish_reason):
    cut = Truncator(LIMIT, LIMIT)
    assert output_text_message_json(role, text, finish_reason) == to_json(
        output_message(role, [text_part(text, cut)], finish_reason))


@given(texts)
def test_text_parts_fast_path_equals_the_general_path(text):
    assert text_parts_json(text, LIMIT) == to_json([text_part(text, Truncator(LIMIT, LIMIT))])


@given(st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "developer"]),
                                       "content": texts}), max_size=6))
def test_the_fast_path_equals_each_adapters_general_path(messages):
    from llmotel.instrumentation._anthropic_content import input_messages
    from llmotel.instrumentation._openai_content import chat_input_messages

    fast = plain_messages_json(messages, LIMIT)
    assert fast == to_json(chat_input_messages(messages, Truncator(LIMIT, LIMIT)))
    anthropic_shaped = [m for m in messages if m["role"] in ("user", "assistant")]
    assert plain_messages_json(anthropic_shaped, LIMIT) == to_json(input_messages(anthropic_shaped,
                                                                                  Truncator(LIMIT, LIMIT)))
