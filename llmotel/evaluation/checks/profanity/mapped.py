"""Text made from the original by edits, able to say where any of its characters came from.

A match found in a normalised view ("f.u.c.k" joined to "fuck") is reported at its place in the user's text.
Matches are rare, so a view keeps the edits that made it and maps a position back only when asked, through each
edit step in turn (a binary search per step), instead of building per-character offset arrays for every view.

The mapping rules are glin-profanity's (``filters/pipeline/mapped.py``, MIT licence): a character kept as it is,
or one of several characters kept while the others are deleted, maps to its own source character; every
character of a rewrite of another shape maps to the whole range it replaced.
"""

from __future__ import annotations

import bisect
import re
from collections.abc import Callable
from typing import NamedTuple


class Edit(NamedTuple):
    """Replace ``text[start:end]`` with ``replacement``."""

    start: int
    end: int
    replacement: str


class MappedText:
    """``text``, and where each of its characters lies in the original."""

    __slots__ = ("_edits", "_offsets", "_source", "text")

    def __init__(self, text: str, source: MappedText | None = None, edits: list[Edit] | None = None) -> None:
        self.text = text
        self._source = source  # None: this is the original
        self._edits = edits  # None (with a source): a one-for-one rewrite of the source
        self._offsets: list[int] | None = None  # where each edit's replacement starts in ``text``

    def char_span(self, index: int) -> tuple[int, int]:
        """Start and end offset in the original of ``text[index]``."""
        if self._source is None:
            return index, index + 1
        if self._edits is None:
            return self._source.char_span(index)
        edits = self._edits
        if self._offsets is None:
            offsets, shift = [], 0
            for edit in edits:
                offsets.append(edit.start + shift)
                shift += len(edit.replacement) - (edit.end - edit.start)
            self._offsets = offsets
        k = bisect.bisect_right(self._offsets, index) - 1
        if k < 0:
            return self._source.char_span(index)
        edit, at = edits[k], self._offsets[k]
        offset = index - at
        if offset >= len(edit.replacement):  # copied text after edit k
            return self._source.char_span(edit.end + offset - len(edit.replacement))
        source = self._source.text[edit.start:edit.end]
        replacement = edit.replacement
        if len(replacement) == len(source):
            return self._source.char_span(edit.start + offset)
        if len(replacement) < len(source):
            picked = _subsequence(source, replacement)
            if picked is not None:
                return self._source.char_span(edit.start + picked[offset])
        return self._source.char_span(edit.start)[0], self._source.char_span(edit.end - 1)[1]

    def to_original(self, start: int, end: int) -> tuple[int, int]:
        """The original offsets of ``text[start:end]``."""
        if end <= start:
            last = len(self.text) - 1
            at = self.char_span(start)[0] if start <= last else self.char_span(max(0, last))[1]
            return at, at
        return self.char_span(start)[0], self.char_span(end - 1)[1]


def edited(source: MappedText, edits: list[Edit]) -> MappedText:
    """``source`` with non-overlapping ``edits`` (sorted by start) applied; ``source`` itself when there are none."""
    if not edits:
        return source
    text = source.text
    out: list[str] = []
    cursor = 0
    for edit in edits:
        out.append(text[cursor:edit.start])
        out.append(edit.replacement)
        cursor = edit.end
    out.append(text[cursor:])
    return MappedText("".join(out), source, edits)


def rewritten(source: MappedText, text: str) -> MappedText:
    """``source`` with characters replaced one for one by ``text`` (same length): positions map as before."""
    return source if text == source.text else MappedText(text, source, None)


def regex_edits(text: str, pattern: re.Pattern[str], replace: Callable[[re.Match[str]], str | None]) -> list[Edit]:
    """Edits replacing each non-empty match with ``replace(match)``; None or the same text keeps the match."""
    edits = []
    for match in pattern.finditer(text):
        if match.end() == match.start():
            continue
        replacement = replace(match)
        if replacement is not None and replacement != match.group(0):
            edits.append(Edit(match.start(), match.end(), replacement))
    return edits


def _subsequence(source: str, replacement: str) -> list[int] | None:
    """Indices in ``source`` from which ``replacement`` can be read by deleting characters."""
    picked: list[int] = []
    at = 0
    for char in replacement:
        found = source.find(char, at)
        if found < 0:
            return None
        picked.append(found)
        at = found + 1
    return picked
