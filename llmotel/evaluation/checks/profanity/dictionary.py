"""glin-profanity's word lists for some languages, and the index its obfuscation steps consult.

The word list is built as glin-profanity's ``Filter`` builds it (dictionary order, accent-free aliases of long
accented entries, lower case, ignored words removed), because the order decides which of several hits of one
word is reported. :class:`DictionaryIndex` ports glin's ``filters/pipeline/dictionary_index.py`` (MIT licence):
"could this fragment be a dictionary word?" for the separator, mask and stretch steps.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable
from itertools import groupby

from glin_profanity import normalize_leetspeak, normalize_unicode
from glin_profanity.data.dictionary import dictionary

_ACCENT_ALIAS_MIN_LENGTH = 4
_NEEDS_NORMALIZING = re.compile(r"[^a-z]|ph|vv|(.)\1\1")
_REPEAT = re.compile(r"(.)\1+")
_WHITESPACE = re.compile(r"\s")
#: Bounds the is_word memo so hostile input cannot grow it without limit.
_WORD_CACHE_LIMIT = 50_000
#: What a digit may stand for in a masked word ("f*5k").
_LEET_READINGS = {"0": "o", "1": "il", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g"}


def active_words(languages: Iterable[str], ignore: Collection[str]) -> list[str]:
    """The dictionary words of ``languages`` that count, in glin-profanity's order; ``ignore`` is lower-case."""
    words: list[str] = []
    for language in languages:
        words.extend(dictionary.get_words(language))
    # Text is accent-folded before matching, so an accented entry needs a folded alias ("ereccion"); short
    # entries get none (año would alias to ano).
    seen = {word.lower() for word in words}
    aliases: list[str] = []
    for word in words:
        folded = normalize_unicode(word)
        key = folded.lower()
        if key == word.lower() or key in seen or len(key.replace(" ", "")) < _ACCENT_ALIAS_MIN_LENGTH:
            continue
        seen.add(key)
        aliases.append(folded)
    ordered = dict.fromkeys(word.lower() for word in words + aliases)
    return [word for word in ordered if word not in ignore]


def squeeze(value: str) -> str:
    """Every run of one character cut to one (aasshhole -> ashole)."""
    return _REPEAT.sub(_first, value)  # a function is cheaper than a template, which re expands in Python


def _first(match: re.Match[str]) -> str:
    return match.group(1)


def normalize(value: str) -> str:
    """A fragment as the index compares it: leetspeak decoded, runs of three or more cut to two, lower case."""
    return normalize_leetspeak(value, level="moderate", max_repeated=2, remove_spaced_chars=False).lower()


class DictionaryIndex:
    """Cheap "could this be a dictionary word?" questions about fragments of a text."""

    def __init__(self, words: Iterable[str]) -> None:
        self._exact: dict[str, None] = {}
        self._normalized: set[str] = set()
        self._by_length: dict[int, list[str]] = {}
        self._squeezed: dict[str, list[str]] = {}
        self._stretch_patterns: dict[str, re.Pattern[str]] = {}
        self._word_cache: dict[str, bool] = {}
        longest = 0
        for raw in words:
            word = raw.lower()
            if _WHITESPACE.search(word):
                continue
            self._exact[word] = None
            longest = max(longest, len(word))
            norm = normalize(word)
            self._normalized.add(norm)
            # Letters only: a digit would be read as leetspeak again after unmasking.
            if word.isalpha():
                self._by_length.setdefault(len(word), []).append(word)
            if norm.isalpha() and len(norm) >= 3:
                bucket = self._squeezed.setdefault(squeeze(norm), [])
                if norm not in bucket:
                    bucket.append(norm)
        self.max_word_length = longest
        # Per length, per position, per letter: which words of that length (by rank) have that letter there.
        self._letters: dict[int, list[dict[str, set[int]]]] = {}
        # A masked word resolves to the root other entries build on first (fuck before fvck, shit before scat).
        roots: dict[str, int] = {}
        for word in self._exact:
            for length in range(3, len(word)):
                roots[word[:length]] = roots.get(word[:length], 0) + 1
        for length, bucket in self._by_length.items():
            bucket.sort(key=lambda w: -roots.get(w, 0))
            positions: list[dict[str, set[int]]] = [{} for _ in range(length)]
            for rank, word in enumerate(bucket):
                for position, letter in enumerate(word):
                    positions[position].setdefault(letter, set()).add(rank)
            self._letters[length] = positions

    def is_word(self, fragment: str) -> bool:
        """True when the fragment is a dictionary word, also after leetspeak decoding."""
        cached = self._word_cache.get(fragment)
        if cached is not None:
            return cached
        lower = fragment.lower()
        if lower in self._exact:
            found = True
        elif not _NEEDS_NORMALIZING.search(lower):  # plain letters normalise to themselves
            found = False
        else:
            found = normalize(lower) in self._normalized
        if len(self._word_cache) < _WORD_CACHE_LIMIT:
            self._word_cache[fragment] = found
        return found

    def resolve_masked(self, token: str, masks: frozenset[str], min_visible: int) -> str | None:
        """The same-length dictionary word a token with mask characters stands for (f*ck), if any."""
        chars = list(token.lower())
        length = len(chars)
        candidates = self._by_length.get(length)
        if not candidates:
            return None
        mask_count = sum(1 for c in chars if c in masks)
        visible = sum(1 for c in chars if c not in masks and c.isalpha())
        if mask_count == 0 or visible < min_visible:
            return None
        # A lone visible letter is only trusted as the first letter (f***).
        if visible == 1 and not (length >= 4 and chars[0] not in masks and chars[0].isalpha()):
            return None
        if length <= 3 and visible < 2:
            return None
        # The first candidate whose every letter is the token's character there, or a letter that character (a
        # digit) may stand for, or under a mask: intersect, per unmasked position, the candidates that fit.
        fitting: set[int] | None = None
        for position, char in enumerate(chars):
            if char in masks:
                continue
            letters = self._letters[length][position]
            here = set(letters.get(char, ()))
            for reading in _LEET_READINGS.get(char, ""):
                here |= letters.get(reading, set())
            fitting = here if fitting is None else fitting & here
            if not fitting:
                return None
        return candidates[min(fitting)] if fitting else candidates[0]

    def has_squeezed(self, tokens: Iterable[str]) -> bool:
        """Whether any of ``tokens`` (squeezed, lower case) is the squeezed form of a word a stretch can resolve to."""
        return not self._squeezed.keys().isdisjoint(tokens)

    def resolve_stretched(self, token: str) -> str | None:
        """The dictionary word a stretched token (aaaasshole) stands for: its own letter runs, only longer."""
        lower = token.lower()
        candidates = self._squeezed.get(squeeze(lower))
        if not candidates:
            return None
        for word in candidates:
            if len(lower) > len(word) and self._stretch_pattern(word).fullmatch(lower):
                return word
        return None

    def _stretch_pattern(self, word: str) -> re.Pattern[str]:
        pattern = self._stretch_patterns.get(word)
        if pattern is None:
            parts = []
            for char, run in groupby(word):
                count = len(list(run))
                parts.append(f"{re.escape(char)}{{{count},}}" if count > 1 else f"{re.escape(char)}+")
            pattern = self._stretch_patterns[word] = re.compile("".join(parts))
        return pattern
