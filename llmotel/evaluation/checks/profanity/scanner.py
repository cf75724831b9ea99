"""The profanity scan: glin-profanity's word lists and rules, one pass of one compiled pattern per view of the text.

glin-profanity checks a text by running one regular expression per dictionary word over several views of it
(the text itself, its Unicode- and leetspeak-normalised forms, and views with obfuscation undone): several
milliseconds per 500 characters. :class:`ProfanityScanner` finds the same hits with one trie-shaped pattern
per view (:class:`WordAutomaton`) and normalises with ``str.translate``; the offset bookkeeping that maps a hit
back to the text, the safe words and the choice of which hits to report run only when a view has a hit.

The hits reported are those of glin-profanity 4's ``Filter.check_profanity`` with leetspeak on ("moderate"),
"standard" obfuscation handling and the given ignored words, in the same order; the tests compare the two.
"""

from __future__ import annotations

import functools
import re
import unicodedata
from collections.abc import Callable, Collection, Iterable
from dataclasses import dataclass
from typing import Literal

from llmotel.evaluation.checks._trie import trie_pattern
from llmotel.evaluation.checks.profanity import obfuscation, whitelist
from llmotel.evaluation.checks.profanity.dictionary import DictionaryIndex, active_words
from llmotel.evaluation.checks.profanity.mapped import MappedText, edited
from llmotel.evaluation.checks.profanity.normalize import (
    leet_mapped,
    leet_text,
    leet_texts,
    unicode_mapped,
    unicode_text,
)

Edge = Literal["ascii", "native", "kata", "free"]
ViewKind = Literal["orig", "norm", "aggr", "enhanced"]

# Katakana may touch hiragana or Han, but not more katakana ("グロ" inside "グローバル").
_KATAKANA = "\u30a1-\u30fa\u30fc-\u30ff\u31f0-\u31ff\uff66-\uff9f"
_KATAKANA_CHAR = re.compile(f"[{_KATAKANA}]")
_HAN_RANGES = ((0x3005, 0x3005), (0x3100, 0x312F), (0x3400, 0x4DBF), (0x4E00, 0x9FFF), (0xF900, 0xFAFF),
               (0x20000, 0x2FA1F))
_UNAMBIGUOUS_SINGLE_HAN = frozenset("肏屄屌膣姦姘")  # one-character Han words profane wherever they appear
_HEAD = {"ascii": r"(?a:\b)", "native": r"(?<!\w)", "kata": f"(?<![{_KATAKANA}])", "free": ""}
_ASCII_TOKEN = re.compile(r"[A-Za-z0-9_]+")
_ASCII_UPPER = str.maketrans("ABCDEFGHIJKLMNOPQRSTUVWXYZ", "abcdefghijklmnopqrstuvwxyz")
_LONG_RUN = re.compile(r"(.)\1\1")
_LONGER_IN_LOWER_CASE = "\u0130"  # the one character whose lower case is two characters
# glin's (?:[^\W\d_]|[@$])[|1!]+[^\W\d_] ("h1t", "b!tch"), starting with the glyph so the search skips to one.
_AMBIGUOUS_GLYPH = re.compile(r"[|1!](?<=(?:[^\W\d_]|[@$])[|1!])[|1!]*[^\W\d_]")


def edge(char: str, length: int) -> Edge:
    """Which boundary a word needs at an end whose character is ``char`` (glin's word-edge rules)."""
    native = not char.isascii() and (char.isalnum() or unicodedata.category(char).startswith("M"))
    if not native:
        return "ascii"
    if _KATAKANA_CHAR.match(char):
        return "kata"
    code = ord(char)
    if not any(low <= code <= high for low, high in _HAN_RANGES):
        return "native"
    return "free" if length >= 2 or char in _UNAMBIGUOUS_SINGLE_HAN else "native"


def _is_ascii_word(char: str) -> bool:
    return char.isascii() and (char.isalnum() or char == "_")


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


def _boundary_ok(kind: Edge, inner: str, outer: str) -> bool:
    """Whether a word whose end character is ``inner`` may have ``outer`` ("" at the text's edge) beside it."""
    if kind == "ascii":
        return _is_ascii_word(inner) != (outer != "" and _is_ascii_word(outer))
    if kind == "native":
        return not (outer and _is_word(outer))
    if kind == "kata":
        return not (outer and _KATAKANA_CHAR.match(outer))
    return True


class WordAutomaton:
    """Every occurrence of every word of a list in a text, each word between the boundaries its ends need.

    One pattern finds, at every position where a word may start, the longest word starting there: a lookahead
    over a trie of the words. Every other word starting there is a prefix of that one (precomputed); each is
    kept when both its ends are at the boundaries they need. Words that start with an ASCII character need an
    ASCII word boundary there, so their pattern only looks at such boundaries; the others (accented, Cyrillic,
    CJK first letters) get a pattern that starts by consuming the first letter, which lets the regex engine skip
    ahead to the few places where one of those letters occurs. Matching is exact and case-sensitive: give it
    lower-case text.
    """

    def __init__(self, words: list[str]) -> None:
        self.words = words
        self._edges = [(edge(w[0], len(w)), edge(w[-1], len(w))) for w in words]
        index_of = {word: i for i, word in enumerate(words)}
        members = set(words)
        # Every word that is a prefix of this one, longest first.
        self._chains = {word: [index_of[word[:n]] for n in range(len(word), 0, -1) if word[:n] in members]
                        for word in words}
        ascii_head = [w for w, (head, _) in zip(words, self._edges, strict=True) if head == "ascii"]
        self._ascii = re.compile(rf"(?a:\b)(?=({trie_pattern(ascii_head)}))") if ascii_head else None
        rests: dict[str, set[str]] = {}
        for word, (head, _) in zip(words, self._edges, strict=True):
            if head != "ascii":
                rests.setdefault(word[0], set()).add(word[1:])
        self._firsts = sorted(rests)
        branches = []
        for first in self._firsts:
            longer = sorted(r for r in rests[first] if r)
            rest = trie_pattern(longer) if longer else ""
            if longer and "" in rests[first]:
                rest = f"(?:{rest})?"
            branches.append(f"{re.escape(first)}(?=({rest}))")
        self._other = re.compile("|".join(branches)) if branches else None

    def find(self, text: str) -> list[tuple[int, int, int]]:
        """``(word index, start, end)`` of every occurrence in ``text``."""
        found: list[tuple[int, int, int]] = []
        if self._ascii is not None:
            for match in self._ascii.finditer(text):
                self._keep(match.group(1), match.start(), text, found)
        if self._other is not None:
            for match in self._other.finditer(text):
                group = match.lastindex or 0
                self._keep(self._firsts[group - 1] + match.group(group), match.start(), text, found)
        return found

    def _keep(self, longest: str, start: int, text: str, found: list[tuple[int, int, int]]) -> None:
        before = text[start - 1] if start else ""
        for index in self._chains[longest]:
            word = self.words[index]
            end = start + len(word)
            head, tail = self._edges[index]
            if _boundary_ok(head, word[0], before) and _boundary_ok(tail, word[-1], text[end:end + 1]):
                found.append((index, start, end))


@dataclass(frozen=True)
class ProfanityMatch:
    """One reported hit: the matched text (lower case) for a hit in the text as given, else the dictionary word."""

    word: str
    index: int


class _View:
    """A text matched against the dictionary; its offset mapping is built on the first question."""

    __slots__ = ("_build", "_mapped", "kind", "text")

    def __init__(self, kind: ViewKind, text: str, build: Callable[[], MappedText]) -> None:
        self.kind, self.text, self._build = kind, text, build
        self._mapped: MappedText | None = None

    def mapped(self) -> MappedText:
        if self._mapped is None:
            self._mapped = self._build()
        return self._mapped


@dataclass
class _Hit:
    word: int
    view: int
    start: int
    end: int
    text: str


class ProfanityScanner:
    """glin-profanity's dictionary hits in a text, found with a single pass per view."""

    def __init__(self, languages: Iterable[str], ignore: Collection[str]) -> None:
        self.words = active_words(languages, ignore)
        self._automaton = WordAutomaton(self.words)
        # Words glin looks up as whole tokens, which it does case-sensitively in a text it could not lower-case.
        self._token_words = frozenset(
            i for i, w in enumerate(self.words)
            if _ASCII_TOKEN.fullmatch(w) or (w.isalnum() and not any(c.isascii() for c in w)
                                               and edge(w[0], len(w)) == "native" == edge(w[-1], len(w)))
        )
        self.index = DictionaryIndex(self.words)

    def matches(self, text: str) -> list[ProfanityMatch]:
        """The hits glin-profanity reports for ``text``, in its order."""
        views = self._views(text)
        hits: list[_Hit] = []
        for number, view in enumerate(views):
            if view is not None:
                hits.extend(self._occurrences(view, number))
        if not hits:
            return []
        # glin first asks whether any view, lower-cased, has a candidate at all; for the text as given it asks that
        # of text.lower() even when lower-casing changes the text's length ("İ" becomes "i" and a combining dot),
        # where it then matches the text itself. A hit found only that way is never reported.
        only_as_given = all(h.view == 0 for h in hits)  # view 0 is the text as given
        if _LONGER_IN_LOWER_CASE in text and only_as_given and not self._automaton.find(text.lower()):
            return []
        return self._report(hits, views)

    # -- views ---------------------------------------------------------------------------------------------------
    def _views(self, text: str) -> list[_View | None]:
        """orig, norm, aggr and the enhanced views glin builds for this text; None for a view that is an exact
        copy of an earlier one (same text, same offsets), whose hits glin would not report again."""
        original = MappedText(text)
        norm_text, aggr_text = leet_texts(unicode_text(text))
        unicode_view: list[MappedText] = []

        def unicode_of_original() -> MappedText:
            if not unicode_view:
                unicode_view.append(unicode_mapped(original))
            return unicode_view[0]

        views: list[_View | None] = [
            _View("orig", text, lambda: original),
            None if norm_text == text else _View("norm", norm_text, lambda: leet_mapped(unicode_of_original(), 2)),
            None if aggr_text == norm_text else _View("aggr", aggr_text,
                                                      lambda: leet_mapped(unicode_of_original(), 1)),
        ]
        prepared = self._prefix(original, join_separators=True)
        if prepared is not original:
            views.append(self._enhanced(prepared, ambiguous_as_l=False))
        elif _LONG_RUN.search(text):  # the norm view, stretched letters undone
            stretch = obfuscation.stretch_edits(norm_text, self.index)
            # Without a stretched word it is the norm view again: glin finds the same hits there, drops them as seen.
            if stretch:
                views.append(self._enhanced(original, ambiguous_as_l=False))
        ambiguous = _AMBIGUOUS_GLYPH.search(text) is not None
        if ambiguous:
            views.append(self._enhanced(prepared, ambiguous_as_l=True))
            unjoined = self._prefix(original, join_separators=False)
            if unjoined.text != prepared.text:
                views.append(self._enhanced(unjoined, ambiguous_as_l=True))
        return views

    def _prefix(self, original: MappedText, join_separators: bool) -> MappedText:
        view = obfuscation.html(original)
        if join_separators:
            view = edited(view, obfuscation.separator_edits(view.text, self.index))
        return edited(view, obfuscation.mask_edits(view.text, self.index))

    def _enhanced(self, prepared: MappedText, ambiguous_as_l: bool) -> _View:
        decoded = leet_text(unicode_text(prepared.text), 2, ambiguous_as_l)
        stretch = obfuscation.stretch_edits(decoded, self.index)

        def build() -> MappedText:
            # The same text as ``decoded``, so the same stretch edits apply.
            return edited(leet_mapped(unicode_mapped(prepared), 2, ambiguous_as_l), stretch)

        return _View("enhanced", edited(MappedText(decoded), stretch).text, build)

    # -- hits ----------------------------------------------------------------------------------------------------
    def _occurrences(self, view: _View, number: int) -> list[_Hit]:
        lowered = view.text.lower()
        # glin matches ASCII letters case-insensitively on the lower-cased view, or on the view itself when lower
        # casing changes its length ("İ"); then its token lookup is case-sensitive.
        exact = len(lowered) != len(view.text)
        haystack = view.text.translate(_ASCII_UPPER) if exact else lowered
        source = view.text if exact else lowered
        found = [_Hit(w, number, s, e, source[s:e]) for w, s, e in self._automaton.find(haystack)]
        if exact:
            spelled = {h.word for h in found if h.word in self._token_words and h.text == self.words[h.word]}
            found = [h for h in found if h.word not in self._token_words or h.word in spelled]
        return found

    def _report(self, hits: list[_Hit], views: list[_View | None]) -> list[ProfanityMatch]:
        """glin's report: hits in the order word, view, position; a hit in a derived view only when it is the first
        hit of its word and no hit in the text as given found that word; never one inside a safe word."""
        hits.sort(key=lambda h: (h.word, h.view, h.start))
        reported: list[ProfanityMatch] = []
        keys: set[str] = set()
        seen: set[tuple[int, int, int]] = set()
        safe: list[tuple[int, int]] | None = None
        last = (-1, -1, -1)  # word, view, end of the previous occurrence: one word's matches in a view never overlap
        for hit in hits:
            if (hit.word, hit.view) == last[:2] and hit.start < last[2]:
                continue
            last = (hit.word, hit.view, hit.end)
            view = views[hit.view]
            assert view is not None
            first = view.kind == "orig"
            key = hit.text if first else self.words[hit.word]
            if not first and key in keys:
                continue  # never reported; nor does it matter as "seen": only this word's later hits look at it
            span = view.mapped().to_original(hit.start, hit.end)
            if view.kind == "enhanced" and (hit.word, *span) in seen:
                continue
            seen.add((hit.word, *span))
            if safe is None:
                safe = self._safe_spans(views)
            if safe and whitelist.within(span, safe):
                continue
            if first or key not in keys:
                keys.add(key)
                reported.append(ProfanityMatch(key, span[0]))
        return reported

    def _safe_spans(self, views: list[_View | None]) -> list[tuple[int, int]]:
        """Safe words in every view, as original spans; a view that copies another has the same ones."""
        spans: list[tuple[int, int]] = []
        for view in views:
            if view is not None:
                spans.extend(whitelist.protected(view.text, functools.partial(_mapping, view)))
        return spans


def _mapping(view: _View) -> Callable[[int, int], tuple[int, int]]:
    return view.mapped().to_original
