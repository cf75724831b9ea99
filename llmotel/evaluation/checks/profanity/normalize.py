"""Unicode and leetspeak normalisation, glin-profanity's rules: a fast text-only form and an offset-tracking form.

Every text goes through the fast form (``str.translate`` and a few substitutions, no per-character Python);
the offset-tracking form, which yields the same text, runs only for a view in which something was found.
glin-profanity's tables (homoglyphs, zero-width characters, the "moderate" leetspeak map) are used as they are.
"""

from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

from glin_profanity.utils.leetspeak import SPACED_CHARS_PATTERN, get_leetspeak_tables
from glin_profanity.utils.unicode import HOMOGLYPHS, ZERO_WIDTH_CHARS

from llmotel.evaluation.checks.profanity.mapped import Edit, MappedText, edited, regex_edits, rewritten

LEETSPEAK_LEVEL = "moderate"
_MARKS = re.compile("[\u0300-\u036f]")
_WHITESPACE = re.compile(r"\s+")
_REPEATS = {n: re.compile(rf"(.)\1{{{n},}}", re.IGNORECASE) for n in (1, 2)}
# A digit plus one Latin letter ("5m") is a measurement: its digits stay digits. glin's pattern is
# (?<![A-Za-z])\d+[A-Za-z](?![A-Za-z]); starting with the digit lets the search skip to digits.
_MEASUREMENT = re.compile(r"\d(?<![A-Za-z]\d)\d*[A-Za-z](?![A-Za-z])")


def _unicode_table() -> dict[int, str | None]:
    """Zero-width characters deleted, full-width ASCII made ASCII, homoglyphs replaced: one pass.

    glin runs these as three passes; one table gives the same text because no step's output is another
    step's input (homoglyph keys are neither ASCII nor zero-width, and full-width forms are converted first).
    """
    table: dict[int, str | None] = {ord(char): None for char in ZERO_WIDTH_CHARS}
    for code in range(0xFF01, 0xFF5F):
        table[code] = chr(code - 0xFEE0)
    for char, replacement in HOMOGLYPHS.items():
        table.setdefault(ord(char), replacement)
    return table


_UNICODE = _unicode_table()
_UNICODE_CHARS = re.compile("[" + "".join(re.escape(chr(code)) for code in sorted(_UNICODE)) + "]")
_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_LEET_MAPS = {as_l: get_leetspeak_tables(LEETSPEAK_LEVEL, as_l)[1] for as_l in (False, True)}
_LEET_TABLES = {as_l: str.maketrans(table) for as_l, table in _LEET_MAPS.items()}
_LEET_CHARS = {as_l: re.compile("[" + "".join(re.escape(c) for c in sorted(table)) + "]")
               for as_l, table in _LEET_MAPS.items()}


def _unicode_replacement(match: re.Match[str]) -> str:
    return _UNICODE[ord(match.group(0))] or ""


def _strip_marks(text: str) -> str:
    return _MARKS.sub("", unicodedata.normalize("NFKD", text))


@lru_cache(maxsize=4096)
def _stripped_char(char: str) -> str:
    return _strip_marks(char)


def unicode_text(text: str) -> str:
    """Zero-width characters gone, full-width and homoglyph letters as ASCII, accents (U+0300-U+036F) stripped."""
    if text.isascii():
        return text
    # str.translate looks every character of a non-ASCII text up in the table; the regex visits only those in it.
    return _strip_marks(_UNICODE_CHARS.sub(_unicode_replacement, text))


def unicode_mapped(source: MappedText) -> MappedText:
    """:func:`unicode_text` with offsets."""
    text = source.text
    if text.isascii():
        return source
    replaced = edited(source, regex_edits(text, _UNICODE_CHARS, _unicode_replacement))
    text = replaced.text
    target = _strip_marks(text)
    if target == text:
        return replaced
    edits = regex_edits(text, _NON_ASCII, lambda m: _stripped_char(m.group(0)))
    # Per character keeps positions precise; canonical reordering across characters needs one edit for all.
    per_char = edited(replaced, edits)
    return per_char if per_char.text == target else edited(replaced, [Edit(0, len(text), target)])


def _spaced_out(match: re.Match[str]) -> str:
    return _WHITESPACE.sub("", match.group(0))


def _decoded(text: str, ambiguous_as_l: bool) -> str:
    """Leetspeak characters replaced one for one, except the digits of measurement-like tokens ("5m")."""
    if text.isascii():
        decoded = text.translate(_LEET_TABLES[ambiguous_as_l])
    else:  # see unicode_text
        table = _LEET_MAPS[ambiguous_as_l]
        decoded = _LEET_CHARS[ambiguous_as_l].sub(lambda m: table[m.group(0)], text)
    if decoded != text:
        measurements = [m.span() for m in _MEASUREMENT.finditer(text)]
        if measurements:
            chars = list(decoded)
            for start, end in measurements:
                chars[start:end - 1] = text[start:end - 1]  # the digits; the letter was never decoded
            decoded = "".join(chars)
    return decoded


def leet_text(text: str, max_repeated: int, ambiguous_as_l: bool = False) -> str:
    """Spaced letters joined ("f u c k"), leetspeak decoded (except digits of measurements like "5m"), runs of a
    character longer than ``max_repeated`` cut to ``max_repeated``."""
    decoded = _decoded(SPACED_CHARS_PATTERN.sub(_spaced_out, text), ambiguous_as_l)
    return _REPEATS[max_repeated].sub(lambda m: m.group(1) * max_repeated, decoded)


def leet_texts(text: str) -> tuple[str, str]:
    """``leet_text(text, 2)`` and ``leet_text(text, 1)``, sharing the work: one search for runs serves both."""
    decoded = _decoded(SPACED_CHARS_PATTERN.sub(_spaced_out, text), False)
    runs = [(m.start(), m.end(), m.group(1)) for m in _REPEATS[1].finditer(decoded)]
    if not runs:
        return decoded, decoded
    norm: list[str] = []
    aggr: list[str] = []
    cursor = 0
    for start, end, char in runs:
        between = decoded[cursor:start]
        norm.append(between)
        aggr.append(between)
        norm.append(char * 2 if end - start >= 3 else decoded[start:end])
        aggr.append(char)
        cursor = end
    norm.append(decoded[cursor:])
    aggr.append(decoded[cursor:])
    return "".join(norm), "".join(aggr)


def leet_mapped(source: MappedText, max_repeated: int, ambiguous_as_l: bool = False) -> MappedText:
    """:func:`leet_text` with offsets."""
    joined = edited(source, regex_edits(source.text, SPACED_CHARS_PATTERN, _spaced_out))
    decoded = rewritten(joined, _decoded(joined.text, ambiguous_as_l))
    return edited(decoded, regex_edits(decoded.text, _REPEATS[max_repeated], lambda m: m.group(1) * max_repeated))
