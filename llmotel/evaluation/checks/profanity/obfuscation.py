"""Undoing deliberate obfuscation: HTML, separators (f.u.c.k), masks (f*ck), stretched letters (fuuuck).

Ports of glin-profanity's ``filters/pipeline/{html,separators,masking,stretch}.py`` (MIT licence) at its
"standard" obfuscation level, returning edits. Each step first asks a cheap question that is false for almost
every text ("is there a separator between two letters?", "is there a token with a mask character?") and only
then does glin's work, on the parts of the text the question points at; the edits are the same as glin's.
"""

from __future__ import annotations

import bisect
import re
from typing import NamedTuple

from llmotel.evaluation.checks.profanity.dictionary import DictionaryIndex, squeeze
from llmotel.evaluation.checks.profanity.mapped import Edit, MappedText, edited, regex_edits

# --- HTML ---------------------------------------------------------------------------------------------------------
HTML_DECODE_DEPTH = 2
# Real tags and comments only ("a < b" and "x <3" stay); comments are capped so "<!--" x 1000 stays linear.
_TAG = re.compile(r"<!--[\s\S]{0,2000}?-->|</?[a-zA-Z][a-zA-Z0-9-]*(?:\s[^<>]*)?/?>")
_ENTITY = re.compile(r"&(?:#(\d{1,7})|#[xX]([0-9a-fA-F]{1,6})|([a-zA-Z][a-zA-Z0-9]{1,31}));")
_BLOCK_TAG = re.compile(r"</?(?:p|div|li|ul|ol|tr|td|th|table|h[1-6]|section|article|blockquote|pre|hr)\b",
                        re.IGNORECASE)
_NAMED_ENTITIES = {
    "amp": "&", "lt": "<", "gt": ">", "quot": '"', "apos": "'", "nbsp": " ", "ensp": " ", "emsp": " ",
    "thinsp": " ", "shy": "", "zwnj": "", "zwj": "", "lrm": "", "rlm": "", "hellip": "...", "ndash": "-",
    "mdash": "-", "auml": "ä", "ouml": "ö", "uuml": "ü", "Auml": "Ä", "Ouml": "Ö", "Uuml": "Ü", "szlig": "ß",
    "eacute": "é", "egrave": "è", "ecirc": "ê", "aacute": "á", "agrave": "à", "acirc": "â", "iacute": "í",
    "oacute": "ó", "uacute": "ú", "ntilde": "ñ", "ccedil": "ç",
}
_SOFT_HYPHEN = "\u00ad"


def _code_point(code: int) -> str | None:
    if code < 1 or code > 0x10FFFF or 0xD800 <= code <= 0xDFFF:
        return None
    char = chr(code)
    return "" if char == _SOFT_HYPHEN else char


def _decode_entity(match: re.Match[str]) -> str | None:
    if match.group(1) is not None:
        return _code_point(int(match.group(1), 10))
    if match.group(2) is not None:
        return _code_point(int(match.group(2), 16))
    return _NAMED_ENTITIES.get(match.group(3))


def html(source: MappedText) -> MappedText:
    """Tags and comments removed (inline ones join the text around them, block ones separate it), then entities
    decoded, double-encoded ones too."""
    if "<" not in source.text and "&" not in source.text:
        return source
    view = edited(source, regex_edits(source.text, _TAG, lambda m: " " if _BLOCK_TAG.match(m.group(0)) else ""))
    for _ in range(HTML_DECODE_DEPTH):
        if "&" not in view.text:
            break
        decoded = edited(view, regex_edits(view.text, _ENTITY, _decode_entity))
        if decoded is view:
            break
        view = decoded
    return view


# --- separators ---------------------------------------------------------------------------------------------------
SEPARATORS = ".,/|_-"
#: A two-piece join must make a word this long ("b.s." stays clean).
MIN_TWO_PIECE_LENGTH = 4
_SEP = re.escape(SEPARATORS)
_CHAIN = re.compile(rf"[^\W_]+(?:[{_SEP} ][^\W_]+)+")
# glin's [^\W_][seps][^\W_]|\b[^\W\d_] [^\W\d_] [^\W\d_]\b, starting with the separator or space so the search
# skips to one.
_SEPARATOR_SIGN = re.compile(rf"[{_SEP}](?<=[^\W_][{_SEP}])(?=[^\W_])| (?<=\b[^\W\d_] )(?=[^\W\d_] [^\W\d_]\b)")
_PIECE = re.compile(r"[^\W_]+")
# Where a chain can be joined: a separator other than a space between letters, or three single letters spaced out
# (at the first space); each pattern starts with the character it looks for so the search skips to one.
_JOINABLE = (re.compile(rf"[{_SEP}](?<=[^\W_].)(?=[^\W_])"),
             re.compile(r" (?<=(?<![^\W_])[^\W_] )(?=[^\W_] [^\W_](?![^\W_]))"))
# A chain read backwards from one of its letters (the grammar reads the same both ways), and onwards from a separator.
_CHAIN_BACK = re.compile(rf"[^\W_]+(?:[{_SEP} ][^\W_]+)*")
_CHAIN_ON = re.compile(rf"(?:[{_SEP} ][^\W_]+)+")
_SINGLE = re.compile(r"(?<![^\W_])[^\W_](?![^\W_])")  # a piece of one letter: every join has one
# Inflections that may follow a spelled-out word ("f u c k e d").
_SUFFIXES = frozenset({"s", "es", "ed", "er", "ers", "ing", "y"})


_RUN = re.compile(r"[^\W_]*")


def _reach(pattern: re.Pattern[str], text: str, at: int) -> int:
    """Where ``pattern``, matched at ``at``, ends (it always matches where it is used)."""
    match = pattern.match(text, at)
    assert match is not None
    return match.end()


class _Piece(NamedTuple):
    text: str
    start: int
    end: int
    sep: str  # the separator after it in the chain, "" for the chain's last piece


class _Window(NamedTuple):
    """The pieces of a chain around the places it can be joined."""

    pieces: list[_Piece]
    at_chain_start: bool
    at_chain_end: bool


def separator_edits(text: str, index: DictionaryIndex) -> list[Edit]:
    """Letters split by separators joined when the joined text is a dictionary word (f.u.c.k, f|u|c|k, f.uck).

    Only whole fragments are joined, so "end.fuck" and "e.g." never make a match the plain text lacks. A space
    joins only plain single letters ("s h i t") or after two other separators.
    """
    if not _SEPARATOR_SIGN.search(text):
        return []
    # The chains (maximal runs of letters joined by single separators or spaces) with a place a join can cross;
    # no other chain can be joined.
    joinable = sorted(m.start() for pattern in _JOINABLE for m in pattern.finditer(text))
    if not joinable:
        return []
    backwards = text[::-1]
    edits: list[Edit] = []
    taken: set[int] = set()
    end = -1
    for at in joinable:
        if at < end:
            continue  # in the chain just done
        start = len(text) - _reach(_CHAIN_BACK, backwards, len(text) - at)
        end = _reach(_CHAIN_ON, text, at)
        if not _SINGLE.search(text, start, end):
            continue
        last = joinable[bisect.bisect_left(joinable, end) - 1]
        window = _window(text, backwards, start, end, at, last, index.max_word_length)
        _collect_joins(window, text, index, edits, taken)
    edits.sort(key=lambda e: e.start)
    return edits


def _window(text: str, backwards: str, start: int, end: int, first: int, last: int, max_len: int) -> _Window:
    """The pieces of the chain ``text[start:end]`` that joins crossing ``first`` .. ``last`` can involve.

    A join starts at most ``max_len`` letters (and as many separators) before the place it crosses, takes at
    most ``max_len`` letters, and the check that it ends at a word's end reads at most ``max_len + 1`` further
    single letters; the window reaches beyond all that, to whole pieces.
    """
    low, high = max(start, first - 3 * max_len), min(end, last + 5 * max_len + 4)
    if low > start:
        low = len(text) - _reach(_RUN, backwards, len(text) - low)  # back to the start of the piece
    if high < end:
        high = _reach(_RUN, text, high)  # on to the end of the piece
    pieces = [_Piece(m.group(0), m.start(), m.end(), text[m.end()] if m.end() < end else "")
              for m in _PIECE.finditer(text, low, high)]
    return _Window(pieces, low == start, high == end)


def _join_starts(pieces: list[_Piece], max_len: int) -> list[int]:
    """The pieces a join can start at; every other start fails the span rules.

    A join either spells out single letters with spaces ("s h i t") or crosses a separator other than a space,
    within ``max_len`` letters, with a single letter among its pieces, and with a second such separator if it
    also crosses a space. The counts below are over the furthest reach from each start.
    """
    count = len(pieces)
    lengths, singles, others = [0], [0], [0]  # prefix sums: letters, single-letter pieces, non-space separators
    for piece in pieces:
        lengths.append(lengths[-1] + len(piece.text))
        singles.append(singles[-1] + (len(piece.text) == 1))
        others.append(others[-1] + (piece.sep not in (" ", "")))
    starts: set[int] = set()
    for k in range(count - 1):
        piece = pieces[k]
        if piece.sep == " ":
            if (k + 2 < count and pieces[k + 1].sep == " " and len(piece.text) == 1
                    and len(pieces[k + 1].text) == 1 and len(pieces[k + 2].text) == 1):
                starts.add(k)
            continue
        spaced = False  # a space between piece i and piece k
        for i in range(k, -1, -1):
            if i < k and pieces[i].sep == " ":
                spaced = True
            if lengths[k + 2] - lengths[i] > max_len:
                break
            reach = bisect.bisect_right(lengths, lengths[i] + max_len) - 2  # last piece a join from i can take
            if singles[reach + 1] - singles[i] and (not spaced or others[reach] - others[i] >= 2):
                starts.add(i)
    return sorted(starts)


def _collect_joins(window: _Window, source: str, index: DictionaryIndex, edits: list[Edit],
                   taken: set[int]) -> None:
    pieces = window.pieces
    max_len = index.max_word_length
    next_free = 0
    for i in _join_starts(pieces, max_len):
        if i < next_free:
            continue
        joined_to = -1
        candidate = ""
        spaces = others = 0
        has_single = False
        all_single = True
        for j in range(i, len(pieces)):
            piece = pieces[j]
            candidate += piece.text
            if len(candidate) > max_len:
                break
            if len(piece.text) == 1:
                has_single = True
            else:
                all_single = False
            if (j > i and has_single and _span_allowed(j - i + 1, len(candidate), spaces, others, all_single)
                    and index.is_word(candidate) and _ends_at_word_end(pieces, j, index)):
                joined_to = j
            if piece.sep == " ":
                spaces += 1
            else:
                others += 1
        if joined_to >= 0:
            _add_edits(window, i, joined_to, source, edits, taken)
            next_free = joined_to + 1


def _ends_at_word_end(pieces: list[_Piece], to: int, index: DictionaryIndex) -> bool:
    """Refuse a dictionary prefix of a longer chain ("a s s i g n m e n t"): when single letters keep going with
    the same separator, the rest has to be a word or an inflection of its own."""
    sep = pieces[to - 1].sep
    rest: list[str] = []
    k = to + 1
    while (k < len(pieces) and len(pieces[k].text) == 1 and pieces[k - 1].sep == sep
           and len(rest) <= index.max_word_length):
        rest.append(pieces[k].text)
        k += 1
    if not rest:
        return True
    tail = "".join(rest)
    return tail.lower() in _SUFFIXES or index.is_word(tail)


def _span_allowed(span_len: int, candidate_len: int, spaces: int, others: int, all_single: bool) -> bool:
    if span_len == 2 and candidate_len < MIN_TWO_PIECE_LENGTH:
        return False
    if spaces > 0:
        spelled_out = others == 0 and span_len >= 3 and all_single  # plain "s h i t"
        if not spelled_out and others < 2:
            return False
    return True


def _add_edits(window: _Window, start: int, end: int, source: str, edits: list[Edit], taken: set[int]) -> None:
    def push(edit: Edit) -> None:
        if edit.start not in taken:
            taken.add(edit.start)
            edits.append(edit)

    pieces = window.pieces
    for k in range(start, end):
        push(Edit(pieces[k].end, pieces[k + 1].start, ""))
    # "_" is a word character, so a neighbouring one would hide the word's edge.
    before = pieces[start].start - 1
    if (start > 0 or not window.at_chain_start) and source[before] == "_":
        push(Edit(before, before + 1, " "))
    after = pieces[end].end
    if (end + 1 < len(pieces) or not window.at_chain_end) and source[after] == "_":
        push(Edit(after, after + 1, " "))


# --- masks --------------------------------------------------------------------------------------------------------
MASKS = "*#@$%_?!"
MASK_MIN_VISIBLE = 1
_MASK_SET = frozenset(MASKS)
_MASK = re.escape(MASKS)
_MASK_CHAR = re.compile(f"[{_MASK}]")
_TOKEN_CHARS = re.compile(rf"(?:[^\W_]|[{_MASK}])*")
_EDGE_PUNCTUATION = frozenset("?!")  # sentence punctuation when at a token's edge
_OPENER_WINDOW = 200
_EMPHASIS_CHARS = frozenset("*_")  # markdown emphasis wraps a word rather than hiding a letter


def _split_emphasis(raw: str) -> tuple[str, str, str]:
    lead = 0
    while lead < len(raw) and raw[lead] in _EMPHASIS_CHARS:
        lead += 1
    if lead == len(raw):
        return raw, "", ""
    end = len(raw)
    while end > lead and raw[end - 1] in _EMPHASIS_CHARS:
        end -= 1
    return raw[:lead], raw[lead:end], raw[end:]


def _is_emphasis(raw: str, text: str, token_start: int) -> bool:
    """True for ``**bold**``, ``__init__`` and a closing ``bold**`` with an opener earlier on the line."""
    lead, inner, trail = _split_emphasis(raw)
    if any(c in _MASK_SET for c in inner):
        return False
    if lead and trail:
        return True
    if not trail:
        return False
    window = text[max(0, token_start - _OPENER_WINDOW):token_start]
    before = window[window.rfind("\n") + 1:]
    return re.search(rf"(?:^|\s){re.escape(trail)}\S", before) is not None


def _masked_tokens(text: str) -> list[tuple[int, int]]:
    """Spans of the tokens (runs of letters, digits and mask characters) that have a mask character in them;
    tokens without one never resolve, so the others are not looked at."""
    spans: list[tuple[int, int]] = []
    backwards = ""
    for mask in _MASK_CHAR.finditer(text):
        at = mask.start()
        if spans and at < spans[-1][1]:
            continue  # inside the previous token
        backwards = backwards or text[::-1]
        start = len(text) - _reach(_TOKEN_CHARS, backwards, len(text) - at)
        spans.append((start, _reach(_TOKEN_CHARS, text, at)))
    return spans


def mask_edits(text: str, index: DictionaryIndex) -> list[Edit]:
    """Tokens with mask characters (f*ck, sh#t, b*****d, @sshole) replaced by the same-length dictionary word they
    stand for; tokens that stand for none (p@ssword, ****) stay."""
    edits: list[Edit] = []
    resolved: dict[str, str | None] = {}
    for start, end in _masked_tokens(text):
        raw = text[start:end]
        if _is_emphasis(raw, text, start):
            continue
        lo, hi = 0, len(raw)
        while lo < hi and raw[lo] in _EDGE_PUNCTUATION:
            lo += 1
        while hi > lo and raw[hi - 1] in _EDGE_PUNCTUATION:
            hi -= 1
        core = raw[lo:hi]
        if len(core) < 3:
            continue
        if core not in resolved:
            resolved[core] = index.resolve_masked(core, _MASK_SET, MASK_MIN_VISIBLE)
        word = resolved[core]
        if word and len(word) == len(core):
            edits.append(Edit(start + lo, start + hi, word))
    return edits


# --- stretched letters --------------------------------------------------------------------------------------------
_TOKEN = re.compile(r"[^\W_]+")
_HAS_REPEAT = re.compile(r"(.)\1")


def stretch_edits(text: str, index: DictionaryIndex) -> list[Edit]:
    """Stretched tokens (aaaasshole, assholeeee) of an already leet-decoded text replaced by their word."""
    if not _HAS_REPEAT.search(text):
        return []
    # A token resolves only if its squeezed lower-case form squeezes a dictionary word: look at all tokens at once.
    if not index.has_squeezed(_TOKEN.findall(squeeze(text.lower()))):
        return []
    edits = []
    for match in _TOKEN.finditer(text):
        # A token without a repeated letter (in lower case) never resolves.
        if len(match.group(0)) >= 4 and _HAS_REPEAT.search(match.group(0).lower()):
            word = index.resolve_stretched(match.group(0))
            if word:
                edits.append(Edit(match.start(), match.end(), word))
    return edits
