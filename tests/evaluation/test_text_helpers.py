"""The offline checks' text helpers give what their plainer earlier forms gave: made faster, not different."""

from __future__ import annotations

import re

from hypothesis import given, settings
from hypothesis import strategies as st

from llmotel.evaluation import _text
from tests.evaluation import toxicity_corpus

# The forms before they were made faster: one search of one pattern per line, a loop per character, no guard.
OLD_CODE_LINE = re.compile(
    r"^\s*(?:def|class|fn|func|function)\s+[A-Za-z_]\w*\s*[(:<{]"
    r"|^\s*(?:from\s+[\w.]+\s+)?import\s+[\w.*]+(?:\s*,\s*[\w.*]+)*(?:\s+as\s+\w+)?\s*;?\s*$"
    r"|^\s*(?:elif|else|try|except|finally|for|while|if|with)\b.*[\w)\]'\"]:\s*$"
    r"|^\s*(?:#include|#define|#!/|SELECT\s|INSERT\s+INTO|UPDATE\s+\w+\s+SET|DELETE\s+FROM|CREATE\s+TABLE)"
    r"|^\s*(?://|/\*|\*/|[}\])]|\$ \S)"
    r"|^\s*[A-Za-z_$][\w.$\[\]'\"]*\s*(?:[-+*/%|&]|\?\?)?=(?!=)\s*\S"
    r"|^\s*[\w.]+\([^\n]*\)\s*;?\s*$"
    r"|^(?=.*[(=]).*;\s*$|\{\s*$|\w\([^()\n]*\)\s*:\s*$|=>"
)


def old_looks_like_code(lines: list[str]) -> bool:
    if len(lines) >= 2:
        return sum(1 for line in lines if OLD_CODE_LINE.search(line)) / len(lines) >= 0.6
    chars = [ch for ch in lines[0] if not ch.isspace()]
    return len(chars) >= 8 and sum(ch in _text._CODE_SYMBOLS for ch in chars) / len(chars) >= 0.25


def old_prose(text: str, *, drop_quotes: bool = False, min_rest: int = 1) -> str:
    text = _text._FENCED_CODE.sub(" ", text)
    text = _text._TABLE_ROW.sub(" ", text)
    text = _text._INLINE_CODE.sub(" ", text)
    text = _text._URL_OR_EMAIL.sub(" ", text)
    text = _text._TAG.sub(" ", text)
    text = "\n".join(line for line in text.splitlines() if not OLD_CODE_LINE.search(line))
    if drop_quotes:
        unquoted = _text._QUOTED.sub(" ", text)
        if _text.letter_count(unquoted) >= min_rest:
            text = unquoted
    return text


CODE_BITS = ["def f(x):", "import os", "x = 1", "if a:", "}", "// c", "f(x);", "a => b", "{", "print(x):",
             "SELECT a", "x += 2", "# t", "foo(bar)", "(a = b);", "else:", "https://a.b/c", "mail a.b@c.de", "www.x",
             "`code`", "<b>", "```py", "```", "| a | b |", '"quoted"', "“q”", "«g»"]
lines = st.lists(st.one_of(st.sampled_from(CODE_BITS), st.text("ab (){}=;:>#$/*\t '\"x1_.@", max_size=12)),
                 max_size=4).map(" ".join)
texts = st.one_of(st.lists(lines, max_size=5).map("\n".join), st.randoms(use_true_random=False).map(
    toxicity_corpus.text), st.text(max_size=40))


@settings(max_examples=600, deadline=None)
@given(line=lines)
def test_code_line_is_the_one_pattern(line: str) -> None:
    assert _text._is_code_line(line) == bool(OLD_CODE_LINE.search(line))


@settings(max_examples=400, deadline=None)
@given(text=texts, drop_quotes=st.booleans(), min_rest=st.integers(1, 30))
def test_prose_and_structure_are_unchanged(text: str, drop_quotes: bool, min_rest: int) -> None:
    assert _text.prose(text, drop_quotes=drop_quotes, min_rest=min_rest) == old_prose(
        text, drop_quotes=drop_quotes, min_rest=min_rest)
    chunks = [line for line in text.strip().splitlines() if line.strip()]
    if chunks:
        assert _text._looks_like_code(chunks) == old_looks_like_code(chunks)


# Pieces of URLs and e-mail addresses, glued together or apart by every kind of whitespace.
URL_BITS = ["https://", "http://", "www.", "@", ".", "+", "-", "_", "a", "b.c", "x@y.z", "mail", "é", "ß", "1",
            "://", "/", "?q=1", "(", ")", "<", ">", ",", "“", "ww", "w", "h", "ttp", "\u0301"]
WHITESPACE = [" ", "  ", "\n", "\t", "\u00a0", "\u2003", "\u3000", "\x1c", "\u2028", "\r\n"]
url_texts = st.one_of(
    st.lists(st.sampled_from(URL_BITS + WHITESPACE), max_size=30).map("".join),
    st.lists(st.one_of(st.sampled_from(CODE_BITS), st.text(max_size=8)), max_size=8).map(" ".join),
    st.text(alphabet=st.sampled_from("@:/w.+-_ab\u00e9 \n\u00a0"), max_size=40),
)


@settings(max_examples=2000, deadline=None)
@given(text=url_texts)
def test_without_urls_is_the_pattern_over_the_whole_text(text: str) -> None:
    assert _text.without_urls(text) == _text._URL_OR_EMAIL.sub(" ", text)


# One line (no line break) with code symbols, Unicode spaces that are not line breaks, and what ends a code line.
SPACES = [" ", "\t", "\u00a0", "\u2003", "\u3000", "\u200a", "\u1680"]
one_line = st.lists(
    st.one_of(st.sampled_from(CODE_BITS + SPACES + ["{", ":", "(", ")", "=>", "f(x):", "é", "日本", "\ud800"]),
              st.text(alphabet=st.sampled_from("ab(){}=;:>#$/*_.é " + "".join(SPACES)), max_size=6)),
    max_size=10,
).map("".join)


@settings(max_examples=1500, deadline=None)
@given(line=one_line)
def test_code_line_and_symbol_share_on_one_line(line: str) -> None:
    assert _text._is_code_line(line) == bool(OLD_CODE_LINE.search(line))
    assert _text._looks_like_code([line]) == old_looks_like_code([line])
