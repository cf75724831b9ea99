"""Word diffs: the segments rebuild both outputs exactly, adjacent segments differ in kind, and a change inside a
long shared text is found in the middle (the shared head and tail are kept whole)."""

from __future__ import annotations

import itertools

from hypothesis import given, settings
from hypothesis import strategies as st

from llmotel.experiments.diffs import MAX_WORD_TOKENS, plain, word_diff

WORDS = st.lists(st.sampled_from(["the", "cat", "sat", "on", "mat", ".", ",", " ", "\n", "é", "42"]), max_size=40)


def rebuilt(segments: list[tuple[str, str]]) -> tuple[str, str]:
    return ("".join(t for op, t in segments if op != "+"), "".join(t for op, t in segments if op != "-"))


@settings(max_examples=400, deadline=None)
@given(st.one_of(WORDS.map("".join), st.text(max_size=60)), st.one_of(WORDS.map("".join), st.text(max_size=60)))
def test_segments_rebuild_both_texts(old, new):
    segments = word_diff(old, new)
    assert rebuilt(segments) == (old, new)
    assert all(text for _, text in segments)
    assert all(x[0] != y[0] for x, y in itertools.pairwise(segments))  # neighbours merged
    if old == new:
        assert segments == ([("=", old)] if old else [])


def test_a_change_between_shared_ends():
    old = "the capital of France is Paris, on the Seine"
    new = "the capital of France is Lyon, on the Seine"
    assert word_diff(old, new) == [("=", "the capital of France is "), ("-", "Paris"), ("+", "Lyon"),
                                   ("=", ", on the Seine")]
    assert plain(word_diff("a b c", "a c")) == "a [-b -]c"
    assert word_diff("x", "x y") == [("=", "x"), ("+", " y")]


def test_long_outputs_are_compared_line_by_line():
    old = "\n".join(f"line {i}" for i in range(MAX_WORD_TOKENS))
    new = old.replace("line 7\n", "line seven\n")
    segments = word_diff(old, new)
    assert rebuilt(segments) == (old, new)
    assert ("-", "line 7\n") in segments and ("+", "line seven\n") in segments
