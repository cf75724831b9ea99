"""llmotel's own toxicity lists (``data/toxicity/lexicon.json``), compiled for one pass per text.

The lexicon grades glin-profanity's words (ignored, ambiguous, mild), and adds per-language insults, threats and
second-person words. Insults and threats are matched on lower-cased, accent-free text:

* the three insult lists (strong, mild, directed) are one trie-shaped pattern (:class:`InsultMatcher`); where
  several entries start at one place, each list still gets its own longest entry, and each list's matches do not
  overlap each other, exactly as one search per list would find them;
* the threat expressions are one alternation that is tried only where a text could start one of them
  (:class:`ThreatMatcher`): the few letters every match starts with are read from the expressions themselves.
"""

from __future__ import annotations

import importlib
import re
import unicodedata
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

from llmotel.evaluation.checks._trie import trie_pattern

#: Strengths of a hit.
STRONG, MILD, AMBIGUOUS = 2, 1, 0
INSULT_LISTS = ("strong", "mild", "directed")
_APOSTROPHES = "\u2019\u2018\u02bc\u0060\u00b4"
_WHITESPACE = re.compile(r"\s+")
# What fold() changes in a text that is not all ASCII: capitals, the backtick (an apostrophe), non-ASCII.
_TO_FOLD = re.compile(r"[A-Z`\u0080-\U0010ffff]")


@lru_cache(maxsize=4096)
def _fold_char(char: str) -> str:
    if char in _APOSTROPHES:
        return "'"
    base = "".join(c for c in unicodedata.normalize("NFKD", char) if not unicodedata.combining(c)).lower()
    return base if len(base) == 1 else char.lower() if len(char.lower()) == 1 else char


def fold(text: str) -> str:
    """Lower-case, accent-free text of exactly the same length (offsets stay valid)."""
    if text.isascii():
        return text.lower()
    return _TO_FOLD.sub(lambda m: _fold_char(m.group(0)), text)


def _render(symbol: str) -> str:
    return r"\s+" if symbol == " " else re.escape(symbol)


class InsultMatcher:
    """Where the strong, mild and directed insult lists match in a (folded) text."""

    def __init__(self, lists: Mapping[str, Iterable[str]]) -> None:
        self._lists: dict[str, frozenset[str]] = {
            kind: frozenset(fold(e).strip() for e in lists.get(kind, ()) if e.strip()) for kind in INSULT_LISTS
        }
        entries = sorted(set().union(*self._lists.values()))
        for entry in entries:  # a space stands for any run of whitespace; other whitespace would be ambiguous
            if entry != " ".join(entry.split()):
                raise ValueError(f"insult entries separate their words with single spaces: {entry!r}")
        # Every entry that is a prefix of this one (so matches at the same place), longest first.
        self._chains = {entry: sorted((o for o in entries if entry.startswith(o)), key=len, reverse=True)
                        for entry in entries}
        self._pattern = re.compile(rf"(?<!\w)(?=({trie_pattern(entries, _render)}))")
        self._entry_patterns: dict[str, re.Pattern[str]] = {}

    def find(self, text: str, stretches: Sequence[tuple[int, int]] | None = None
             ) -> dict[str, list[tuple[int, int]]]:
        """Per list, the (start, end) of its matches in ``text``: what ``finditer`` of one pattern per list,
        ``(?<!\\w)(?:entries, longest first)(?!\\w)``, would find; only those in ``stretches`` (see
        :meth:`Lexicon.barrier`) when given."""
        found: dict[str, list[tuple[int, int]]] = {kind: [] for kind in INSULT_LISTS}
        free_from = dict.fromkeys(INSULT_LISTS, 0)  # each list's matches do not overlap
        for match in _matches(self._pattern, text, stretches):
            start = match.start()
            longest = _WHITESPACE.sub(" ", match.group(1))
            ends: dict[str, int] = {}
            for kind in INSULT_LISTS:
                if start < free_from[kind]:
                    continue
                for entry in self._chains[longest]:
                    if entry not in self._lists[kind]:
                        continue
                    if entry not in ends:
                        ends[entry] = match.end(1) if entry == longest else self._end(entry, text, start)
                    end = ends[entry]
                    if end == len(text) or not _is_word(text[end]):
                        found[kind].append((start, end))
                        free_from[kind] = end
                        break
        return found

    def _end(self, entry: str, text: str, start: int) -> int:
        pattern = self._entry_patterns.get(entry)
        if pattern is None:
            pattern = self._entry_patterns[entry] = re.compile("".join(_render(c) for c in entry))
        match = pattern.match(text, start)
        assert match is not None  # a prefix of the entry that matched here
        return match.end()


def _is_word(char: str) -> bool:
    return char.isalnum() or char == "_"


class ThreatMatcher:
    """Where the threat expressions match in a (folded) text: ``finditer`` of their alternation, tried only at
    places where the text starts as one of them must."""

    def __init__(self, expressions: list[str]) -> None:
        body = "|".join(f"(?:{e})" for e in expressions)
        prefixes = [_literal_prefixes(e) for e in expressions]
        guard = ""
        if expressions and all(p for p in prefixes):
            starts = set().union(*(p for p in prefixes if p))
            boundary = r"\b" if all(e.startswith(r"\b") for e in expressions) else ""
            guard = f"{boundary}(?={trie_pattern(sorted(starts))})"
        self._pattern = re.compile(f"{guard}(?:{body})") if expressions else None

    def starts(self, text: str, stretches: Sequence[tuple[int, int]] | None = None) -> list[int]:
        """Start offsets of the non-overlapping matches in ``text`` (in ``stretches`` only, when given)."""
        return [m.start() for m in _matches(self._pattern, text, stretches)] if self._pattern is not None else []


def _matches(pattern: re.Pattern[str], text: str, stretches: Sequence[tuple[int, int]] | None
             ) -> Iterator[re.Match[str]]:
    if stretches is None:
        yield from pattern.finditer(text)
        return
    for start, end in stretches:
        yield from pattern.finditer(text, start, end)


def stretches(text: str, barrier: re.Pattern[str], marked: re.Pattern[str]) -> list[tuple[int, int]]:
    """The stretches of ``text`` between two barrier characters (or an end of the text) that hold a match of
    ``marked``, in order; ``marked`` never matches a barrier character."""
    found: list[tuple[int, int]] = []
    backwards = ""
    n = len(text)
    mark = marked.search(text)
    while mark is not None:
        at = mark.start()
        backwards = backwards or text[::-1]
        before = barrier.search(backwards, n - at)  # the nearest barrier before the mark
        after = barrier.search(text, at)
        end = after.start() if after is not None else n
        found.append((n - before.start() if before is not None else 0, end))
        mark = marked.search(text, end)
    return found


# Python's own regular-expression parser: re._parser from 3.11, sre_parse before.
try:
    _sre: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - Python 3.10
    _sre = importlib.import_module("sre_parse")
_PREFIX_LIMIT = 3
_MAX_PREFIXES = 512
_ZERO_WIDTH = frozenset({"AT", "ASSERT", "ASSERT_NOT"})
_REPEATS = frozenset({"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"})
_STOP: list[tuple[Any, Any]] = []  # a frame marking "nothing is known after this point"


class _TooMany(Exception):
    pass


def _literal_prefixes(expression: str, limit: int = _PREFIX_LIMIT) -> set[str] | None:
    """Strings of at most ``limit`` characters, one of which every match of ``expression`` starts with; None when a
    match may start with anything, or the expression uses a construct this does not follow. A zero-width
    assertion is passed over (leaving a condition out only widens the set), a repetition is followed for its
    first round, anything else unknown ends the prefix where it stands."""
    try:
        parsed = _sre.parse(expression)
    except re.error:
        return None
    if parsed.state.flags & re.IGNORECASE:
        return None  # the prefixes are compared case-sensitively
    found: set[str] = set()

    def walk(stack: tuple[tuple[Any, int], ...], prefix: str) -> None:
        if len(found) > _MAX_PREFIXES:
            raise _TooMany
        while stack and stack[-1][0] is not _STOP and stack[-1][1] >= len(stack[-1][0]):
            stack = stack[:-1]
        if len(prefix) >= limit or not stack or stack[-1][0] is _STOP:
            found.add(prefix)
            return
        items, i = stack[-1]
        rest = (*stack[:-1], (items, i + 1))
        op, av = items[i]
        name = op.name
        if name == "LITERAL":
            walk(rest, prefix + chr(av))
        elif name in _ZERO_WIDTH:
            walk(rest, prefix)
        elif name == "SUBPATTERN" and not av[1] and not av[2]:  # a group without inline flags
            walk((*rest, (av[3], 0)), prefix)
        elif name == "BRANCH":
            for alternative in av[1]:
                walk((*rest, (alternative, 0)), prefix)
        elif name in _REPEATS:
            low, high, item = av
            if low == 0:
                walk(rest, prefix)
            if high >= 1:
                after = rest if high == 1 else (*rest, (_STOP, 0))
                walk((*after, (item, 0)), prefix)
        elif name == "IN" and (chars := _literal_set(av)) is not None:
            for char in chars:
                walk(rest, prefix + char)
        else:
            found.add(prefix)

    try:
        walk(((parsed, 0),), "")
    except _TooMany:
        return None
    return None if "" in found else found


_SAFE_AT = frozenset({"AT_BEGINNING", "AT_BEGINNING_STRING", "AT_BEGINNING_LINE", "AT_BOUNDARY",
                      "AT_NON_BOUNDARY"})
_READ_CATEGORIES = frozenset({"CATEGORY_WORD", "CATEGORY_SPACE", "CATEGORY_DIGIT"})
_MAX_RANGE = 256


def _extra_reads(pattern: re.Pattern[str]) -> set[str] | None:
    """The characters other than word characters and whitespace that ``pattern`` may read anywhere (lookarounds
    included); None when it may read any character (``.``, a negated class) or tests for the text's end ("$",
    which a stretch's end would pass and a character there would not), or uses a construct this does not know."""
    extra: set[str] = set()

    def walk(items: Any) -> bool:
        for op, av in items:
            name = op.name
            if name == "LITERAL":
                extra.add(chr(av))
            elif name == "IN":
                for item_op, item in av:
                    if item_op.name == "LITERAL":
                        extra.add(chr(item))
                    elif item_op.name == "RANGE" and item[1] - item[0] < _MAX_RANGE:
                        extra.update(chr(c) for c in range(item[0], item[1] + 1))
                    elif not (item_op.name == "CATEGORY" and item.name in _READ_CATEGORIES):
                        return False
            elif name == "AT":
                if av.name not in _SAFE_AT:
                    return False
            elif name == "SUBPATTERN":
                if not walk(av[3]):
                    return False
            elif name == "BRANCH":
                if not all(walk(alternative) for alternative in av[1]):
                    return False
            elif name in _REPEATS:
                if not walk(av[2]):
                    return False
            elif name in ("ASSERT", "ASSERT_NOT"):
                if not walk(av[1]):
                    return False
            elif name != "GROUPREF":  # a group's text, which the group's own pattern reads
                return False
        return True

    parsed = _sre.parse(pattern.pattern, pattern.flags)
    return {c for c in extra if not (c.isspace() or _is_word(c))} if walk(parsed) else None


def _literal_set(items: list[tuple[Any, Any]]) -> set[str] | None:
    """The characters a character class matches, when it lists a few (no negation or categories)."""
    chars: set[str] = set()
    for op, av in items:
        if op.name == "LITERAL":
            chars.add(chr(av))
        elif op.name == "RANGE" and av[1] - av[0] < 32:
            chars.update(chr(c) for c in range(av[0], av[1] + 1))
        else:
            return None
    return chars if len(chars) <= 32 else None


@dataclass(frozen=True)
class Lexicon:
    """llmotel's overlay on glin-profanity, compiled."""

    ignore: frozenset[str]
    ambiguous: frozenset[str]
    mild: frozenset[str]
    insults: InsultMatcher
    threats: ThreatMatcher
    second_person: frozenset[str]

    @classmethod
    def from_data(cls, data: Mapping[str, Any]) -> Lexicon:
        """Compile the content of ``lexicon.json``."""
        insults: Mapping[str, Mapping[str, list[str]]] = data.get("insults") or {}
        ignore = [w.lower() for w in data.get("ignore") or []]
        return cls(
            # glin also matches accent-folded aliases of its entries, so both spellings are ignored.
            ignore=frozenset(ignore) | frozenset(fold(w) for w in ignore),
            ambiguous=frozenset(fold(w) for w in data.get("ambiguous") or []),
            mild=frozenset(fold(w) for w in data.get("mild") or []),
            insults=InsultMatcher({kind: [e for lang in insults.values() for e in lang.get(kind, [])]
                                   for kind in INSULT_LISTS}),
            threats=ThreatMatcher([t for lang in (data.get("threats") or {}).values() for t in lang]),
            second_person=frozenset(fold(w) for lang in (data.get("second_person") or {}).values() for w in lang),
        )

    def barrier(self, changed: str) -> re.Pattern[str] | None:
        """A class of the characters no insult or threat pattern reads and that are not in ``changed``: no match
        reaches across one, and where a stretch of text ends at one a pattern reads what it would at the text's
        end. So in a text that differs from another only in ``changed`` characters, only the :func:`stretches`
        between barriers that hold one of them can match differently. None when a pattern may read anything."""
        reads = [_extra_reads(p) for p in (self.insults._pattern, self.threats._pattern) if p is not None]
        kept: set[str] = set(changed)
        for read in reads:
            if read is None:
                return None
            kept |= read
        return re.compile(r"[^\w\s" + "".join(re.escape(c) for c in sorted(kept)) + "]")

    def strength(self, word: str) -> int:
        """How strong a glin-profanity hit is (its dictionary word or matched text)."""
        folded = fold(word)
        return AMBIGUOUS if folded in self.ambiguous else MILD if folded in self.mild else STRONG
