"""Where in a text the recognizers look: chunks of long texts, windows around digits and around each "@".

Recognizers run only in windows that can hold their entity, which keeps prose without digits nearly free.
A :data:`Gate` per recognizer says what a window needs (enough digits, a long enough digit run, a cheap pattern)
for the recognizer to be worth running there; gates are chosen so that they never lose a match.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator

#: (minimum digits in the window, minimum longest digit run, cheap stdlib pattern or None).
Gate = tuple[int, int, "re.Pattern[str] | None"]


def gate(min_digits: int, min_run: int, pattern: str | None) -> Gate:
    """A :data:`Gate` from its parts, the pattern compiled."""
    return (min_digits, min_run, re.compile(pattern) if pattern else None)


# Long texts are scanned in chunks of CHUNK characters that overlap by OVERLAP (longer than any entity we
# detect: e-mail addresses are at most 254 characters), so every entity lies wholly inside some chunk.
CHUNK = 16_384
OVERLAP = 512


def chunks(text: str) -> Iterable[tuple[int, str]]:
    """(offset, chunk) pairs covering ``text``; consecutive chunks overlap by at least ``OVERLAP`` characters and
    start at a whitespace boundary where one is near, so recognizers do not see half a token at a chunk start."""
    n = len(text)
    if n <= CHUNK + OVERLAP:
        yield 0, text
        return
    start = 0
    while start < n:
        end = min(n, start + CHUNK + OVERLAP)
        yield start, text[start:end]
        if end >= n:
            return
        nominal = start + CHUNK
        # Move the next start back to just after a whitespace, within the overlap, when there is one.
        ws = max(text.rfind(" ", nominal - OVERLAP // 2, nominal), text.rfind("\n", nominal - OVERLAP // 2, nominal))
        start = ws + 1 if ws > start else nominal


# Every pattern entity contains a digit, or a hex digit next to a colon (IPv6 and MAC addresses written with
# letters only), except e-mail addresses, which are searched around each "@" instead. Recognizers run only in
# windows around these anchors; \d also matches other scripts' digits, as the recognizers' \d do. (The one
# exception: an Italian fiscal code with every digit replaced by a letter, which is vanishingly rare.)
_ANCHOR = re.compile(r"(\d+)|[0-9A-Fa-f]:[0-9A-Fa-f:]|::")


# Every anchor holds a digit or a colon; this single class is searched several times faster than the anchor's
# alternation, so a text without either is ruled out cheaply.
_DIGIT_OR_COLON = re.compile(r"[\d:]")


def has_anchor(text: str) -> bool:
    """Whether ``text`` has an anchor or an "@": without one, no pattern recognizer has a window to run in."""
    return "@" in text or (_DIGIT_OR_COLON.search(text) is not None and _ANCHOR.search(text) is not None)


# How far an entity reaches from its digits: letters before them (IBAN "DE", NINO "QQ", fiscal-code letters,
# an IPv6 or MAC address's letter-only groups, a phone number's "+" or "(") and after them (IBAN and wallet
# tails). Digit runs of one entity are never further apart than these margins, so they share a window.
_WINDOW_BEFORE = 24
_WINDOW_AFTER = 72
_SNAP = 16
_SPACE = re.compile(r"\s")


def anchor_windows(text: str) -> list[tuple[int, int, int, int]]:
    """Merged windows around the anchors as (start, end, digits, longest digit run), widened to the nearest
    whitespace when one is close so recognizers see whole tokens. The digit counts let recognizers that need
    e.g. 13 digits (credit cards) skip a window at no cost."""
    windows: list[list[int]] = []
    n = len(text)
    last: list[int] | None = None
    for m in _ANCHOR.finditer(text):
        digits = m.group(1)
        run = len(digits) if digits else 0
        a = m.start() - _WINDOW_BEFORE
        b = m.end() + _WINDOW_AFTER
        if last is not None and a <= last[1] + _SNAP:
            last[1] = b
            last[2] += run
            if run > last[3]:
                last[3] = run
        else:
            last = [a if a > 0 else 0, b, run, run]
            windows.append(last)
    snapped = []
    for a, b, digits, longest in windows:
        if b > n:
            b = n
        if a > 0:
            ws = _last_space(text, a - _SNAP if a > _SNAP else 0, a)
            if ws >= 0:
                a = ws + 1
        if b < n:
            ws = _first_space(text, b, b + _SNAP)
            if ws >= 0:
                b = ws
        snapped.append((a, b, digits, longest))
    return snapped


def _last_space(text: str, lo: int, hi: int) -> int:
    found = -1
    for m in _SPACE.finditer(text, lo, hi):
        found = m.start()
    return found


def _first_space(text: str, lo: int, hi: int) -> int:
    m = _SPACE.search(text, lo, hi)
    return m.start() if m else -1


# An e-mail's local part is at most 64 characters and its domain at most 255.
_AT_BEFORE = 80
_AT_AFTER = 260
_AT = re.compile("@")


def at_windows(text: str) -> Iterable[tuple[int, str]]:
    """Windows of text around each "@" (merged when they overlap), from after the last whitespace before the "@"
    to the first whitespace after it: an e-mail address holds none, so the e-mail pattern runs only on the token
    around the "@", which keeps it linear on long tokens such as base64 blobs and cheap in prose."""
    start = end = -1
    for m in _AT.finditer(text):
        at = m.start()
        a, b = max(0, at - _AT_BEFORE), min(len(text), at + 1 + _AT_AFTER)
        ws = max(text.rfind(" ", a, at), text.rfind("\n", a, at), text.rfind("\t", a, at))
        if ws >= 0:
            a = ws + 1
        after = _first_space(text, at + 1, b)
        if after >= 0:
            b = after
        if start >= 0 and a <= end:
            end = max(end, b)
            continue
        if start >= 0:
            yield start, text[start:end]
        start, end = a, b
    if start >= 0:
        yield start, text[start:end]


def matches_from(pattern: re.Pattern[str], first: re.Pattern[str], text: str) -> Iterator[re.Match[str]]:
    """``pattern.finditer(text)`` for a pattern that never matches the empty string and whose every match starts
    where ``first`` matches, trying the pattern only there. A pattern that opens with lookbehinds keeps the regex
    engine from skipping ahead by itself; ``first``, one character class with its conditions after it, lets it:
    the same matches, found several times faster where such places are sparse (numbers in prose)."""
    pos = 0
    search, match = first.search, pattern.match
    while (candidate := search(text, pos)) is not None:
        found = match(text, candidate.start())
        if found is None:
            pos = candidate.start() + 1
        else:
            yield found
            pos = found.end()
