"""Word-level differences between two outputs, as segments ``(op, text)``: ``"="`` kept, ``"-"`` only in the
first, ``"+"`` only in the second. Shared by the terminal, Markdown and HTML views."""

from __future__ import annotations

import difflib
import json
import re
from typing import Any

#: words, runs of whitespace, and single other characters: what a change is measured in
_TOKEN = re.compile(r"\s+|\w+|[^\w\s]")
#: beyond this many tokens on a side, outputs are compared line by line (difflib is quadratic at worst)
MAX_WORD_TOKENS = 3000

Segments = list[tuple[str, str]]


def output_text(value: Any) -> str:
    """An output as text: strings as they are, anything else as JSON (None as an empty string)."""
    if value is None:
        return ""
    if isinstance(value, str):
        return value
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def word_diff(old: str, new: str) -> Segments:
    """The segments that turn ``old`` into ``new``, adjacent segments of one kind merged."""
    if old == new:
        return [("=", old)] if old else []
    a, b = _TOKEN.findall(old), _TOKEN.findall(new)
    if max(len(a), len(b)) > MAX_WORD_TOKENS:
        a, b = old.splitlines(keepends=True), new.splitlines(keepends=True)
    segments: Segments = []

    def add(op: str, text: str) -> None:
        if not text:
            return
        if segments and segments[-1][0] == op:
            segments[-1] = (op, segments[-1][1] + text)
        else:
            segments.append((op, text))

    # the common head and tail are kept as they are and only the middle is matched: difflib's cost grows with the
    # product of the lengths it compares, and two answers that differ in a few words share most of both ends
    head = 0
    while head < min(len(a), len(b)) and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < min(len(a), len(b)) - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    add("=", "".join(a[:head]))
    middle_a, middle_b = a[head:len(a) - tail], b[head:len(b) - tail]
    for tag, i1, i2, j1, j2 in difflib.SequenceMatcher(None, middle_a, middle_b, autojunk=False).get_opcodes():
        if tag == "equal":
            add("=", "".join(middle_a[i1:i2]))
        else:
            add("-", "".join(middle_a[i1:i2]))
            add("+", "".join(middle_b[j1:j2]))
    add("=", "".join(a[len(a) - tail:]))
    return segments


def plain(segments: Segments) -> str:
    """Segments in git's word-diff notation: ``[-removed-]{+added+}``."""
    marks = {"=": ("", ""), "-": ("[-", "-]"), "+": ("{+", "+}")}
    return "".join(marks[op][0] + text + marks[op][1] for op, text in segments)
