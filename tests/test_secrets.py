"""The secret scrubber's pre-check: a cheap test that must never skip a string the patterns would change."""

from __future__ import annotations

import re
import sys

from hypothesis import example, given, settings
from hypothesis import strategies as st

from llmotel import _secrets

# The pre-check the scrubber used before (a case-insensitive regex search): the reference for the fast one.
REFERENCE_HINT = re.compile(
    r"(?i)sk-|rk-|AKIA|ASIA|AIza|gh[pousr]_|hf_|xox|bearer|basic|key|token|secret|passw|authoriz")


def reference_scrub(text: str) -> str:
    for secret in tuple(_secrets._known):
        if secret in text:
            text = text.replace(secret, _secrets.SECRET_PLACEHOLDER)
    if REFERENCE_HINT.search(text) is None:
        return text
    text = _secrets._SHAPES.sub(_secrets.SECRET_PLACEHOLDER, text)
    text = _secrets._CREDENTIAL.sub(lambda m: m.group(1) + m.group(2) + _secrets.SECRET_PLACEHOLDER, text)
    return _secrets._KEYED.sub(lambda m: m.group(1) + _secrets.SECRET_PLACEHOLDER, text)


def test_every_character_case_insensitive_matching_takes_for_an_ascii_letter_is_folded_to_it():
    everything = "".join(chr(cp) for cp in range(sys.maxunicode + 1) if not 0xD800 <= cp <= 0xDFFF)
    folded = everything.translate(_secrets._ASCII_LOOKALIKES)
    for letter in "abcdefghijklmnopqrstuvwxyz":
        for found in re.finditer(f"(?i){letter}", everything):
            char = found.group()
            assert folded[found.start()].lower() == letter, (hex(ord(char)), letter)


HINTY = st.sampled_from(["sk-", "rk-", "AKIA", "asia", "AIza", "ghp_", "gh", "hf_", "xoxb-", "Bearer ", "BASIC ",
                         "api_key=", "x-api-key: ", "Token", "secret", "PASSWORD=", "passwd:", "Authorization: ",
                         "\u0130", "\u0131", "\u017f", "\u212a", "\u00df", "\u0307"])
TEXT = st.lists(st.one_of(st.text(min_size=0, max_size=12), HINTY,
                          st.text(alphabet="abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_-=:",
                                  min_size=8, max_size=40)), max_size=8).map("".join)


@settings(max_examples=400)
@given(TEXT)
@example("author\u0131zation: Zm9vYmFyYmF6cXV4")
@example("pa\u017f\u017fword=hunter2hunter2")
@example("api_\u212aey=abcdefgh12345678")
@example("Bearer abcdefgh12345678")
def test_the_fast_pre_check_never_skips_what_the_reference_would_scrub(text: str) -> None:
    if REFERENCE_HINT.search(text) is not None:
        assert _secrets.may_hold_secret(text)
    assert _secrets.scrub(text) == reference_scrub(text)


def test_plain_text_is_returned_as_it_is():
    text = "Hello, I need help with my order 48213; the tracking page shows an error since yesterday."
    assert not _secrets.may_hold_secret(text)
    assert _secrets.scrub(text) is text
