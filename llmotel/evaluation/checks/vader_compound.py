"""VADER's compound score of one sentence, computed as ``vaderSentiment`` 3.3.2 computes it, in fewer steps.

``SentimentIntensityAnalyzer.polarity_scores`` lower-cases the whole sentence again for every rule it applies to
every lexicon word (negation, idioms: a list comprehension over all words each time), copies the text one
character at a time to replace emoji, and computes the positive/negative/neutral proportions that the compound
score does not use. :class:`CompoundScorer` lower-cases each word once and applies the same rules, in the same
order and with the same arithmetic, to the words found in the lexicon; it reuses VADER's own tables and helper
functions (boosters, negations, special cases, ``scalar_inc_dec``, ``normalize``, the "but" rule), so it gives
bit-for-bit the same score (a property test compares the two on generated sentences).

Sentences with an emoji VADER knows, and any other version of ``vaderSentiment`` than the one these rules were
read from, go to ``polarity_scores`` itself.
"""

from __future__ import annotations

import importlib.metadata
import string
from typing import Any

#: The vaderSentiment release whose ``polarity_scores`` this module reproduces.
VADER_VERSION = "3.3.2"
_PUNCTUATION = string.punctuation


class CompoundScorer:
    """``analyzer.polarity_scores(sentence)["compound"]`` for one shared analyzer; safe to share between threads."""

    def __init__(self, analyzer: Any) -> None:
        from vaderSentiment import vaderSentiment as vader

        self._vader = vader
        self.analyzer = analyzer
        self._general = analyzer.polarity_scores
        self._but_check = analyzer._but_check
        self._punctuation_emphasis = analyzer._punctuation_emphasis
        self.lexicon: dict[str, float] = analyzer.lexicon
        # polarity_scores looks up one character at a time, so only one-character emoji are ever replaced.
        self.emoji_chars = frozenset(e for e in analyzer.emojis if len(e) == 1)
        self.exact = importlib.metadata.version("vaderSentiment") == VADER_VERSION
        self._negations = frozenset(vader.NEGATE)

    def __call__(self, sentence: str) -> float:
        """The compound score (-1..1, rounded to 4 places as VADER rounds it)."""
        if not self.exact or not self.emoji_chars.isdisjoint(sentence):
            return float(self._general(sentence)["compound"])
        lexicon = self.lexicon
        # SentiText._strip_punc_if_word: punctuation stripped from both ends, unless two or fewer characters would
        # remain (an emoticon such as ":)"); inline, as it runs for every word of every sentence
        words = [token if len(stripped := token.strip(_PUNCTUATION)) <= 2 else stripped for token in sentence.split()]
        lower = [word.lower() for word in words]
        if lexicon.keys().isdisjoint(lower):  # every word scores 0 (a booster in the lexicon scores 0 too)
            return 0.0
        return self._scored(sentence, words, lower)

    def _scored(self, sentence: str, words: list[str], lower: list[str]) -> float:
        vader, lexicon = self._vader, self.lexicon
        boosters = vader.BOOSTER_DICT
        uppercase = sum(1 for word in words if word.isupper())
        is_cap_diff = 0 < len(words) - uppercase < len(words)  # allcap_differential
        last = len(words) - 1
        sentiments: list[float] = []
        for i, item_lowercase in enumerate(lower):
            if item_lowercase in boosters or (i < last and item_lowercase == "kind" and lower[i + 1] == "of"):
                sentiments.append(0)
                continue
            if item_lowercase not in lexicon:
                sentiments.append(0)
                continue
            sentiments.append(self._valence(words, lower, i, is_cap_diff))
        if "but" in lower:
            sentiments = self._but_check(words, sentiments)
        if not sentiments:
            return 0.0
        # score_valence, the compound part
        sum_s = float(sum(sentiments))
        amplifier = self._punctuation_emphasis(sentence)
        if sum_s > 0:
            sum_s += amplifier
        elif sum_s < 0:
            sum_s -= amplifier
        return round(vader.normalize(sum_s), 4)

    def _valence(self, words: list[str], lower: list[str], i: int, is_cap_diff: bool) -> float:
        """``SentimentIntensityAnalyzer.sentiment_valence`` for the lexicon word at ``i``."""
        vader, lexicon = self._vader, self.lexicon
        item_lowercase = lower[i]
        valence = lexicon[item_lowercase]
        if item_lowercase == "no" and i != len(words) - 1 and lower[i + 1] in lexicon:
            valence = 0.0
        if (i > 0 and lower[i - 1] == "no") or (i > 1 and lower[i - 2] == "no") or (
            i > 2 and lower[i - 3] == "no" and lower[i - 1] in ("or", "nor")
        ):
            valence = lexicon[item_lowercase] * vader.N_SCALAR
        if words[i].isupper() and is_cap_diff:
            valence = valence + vader.C_INCR if valence > 0 else valence - vader.C_INCR
        for start_i in range(3):
            if i > start_i and lower[i - (start_i + 1)] not in lexicon:
                s = vader.scalar_inc_dec(words[i - (start_i + 1)], valence, is_cap_diff)
                if start_i == 1 and s != 0:
                    s = s * 0.95
                if start_i == 2 and s != 0:
                    s = s * 0.9
                valence = valence + s
                valence = self._negation_check(valence, lower, start_i, i)
                if start_i == 2:
                    valence = self._special_idioms_check(valence, lower, i)
        return self._least_check(valence, lower, i)

    def _negated(self, word: str) -> bool:
        """``vaderSentiment.negated([word])`` for a lower-case word."""
        return word in self._negations or "n't" in word

    def _negation_check(self, valence: float, lower: list[str], start_i: int, i: int) -> float:
        n_scalar = self._vader.N_SCALAR
        if start_i == 0:
            if self._negated(lower[i - 1]):
                valence = valence * n_scalar
        elif start_i == 1:
            if lower[i - 2] == "never" and (lower[i - 1] == "so" or lower[i - 1] == "this"):
                valence = valence * 1.25
            elif lower[i - 2] == "without" and lower[i - 1] == "doubt":
                pass
            elif self._negated(lower[i - 2]):
                valence = valence * n_scalar
        else:
            if (lower[i - 3] == "never" and (lower[i - 2] == "so" or lower[i - 2] == "this")) or (
                lower[i - 1] == "so" or lower[i - 1] == "this"
            ):
                valence = valence * 1.25
            elif lower[i - 3] == "without" and (lower[i - 2] == "doubt" or lower[i - 1] == "doubt"):
                pass
            elif self._negated(lower[i - 3]):
                valence = valence * n_scalar
        return valence

    def _special_idioms_check(self, valence: float, lower: list[str], i: int) -> float:
        special, boosters = self._vader.SPECIAL_CASES, self._vader.BOOSTER_DICT
        onezero = f"{lower[i - 1]} {lower[i]}"
        twoonezero = f"{lower[i - 2]} {lower[i - 1]} {lower[i]}"
        twoone = f"{lower[i - 2]} {lower[i - 1]}"
        threetwoone = f"{lower[i - 3]} {lower[i - 2]} {lower[i - 1]}"
        threetwo = f"{lower[i - 3]} {lower[i - 2]}"
        for sequence in (onezero, twoonezero, twoone, threetwoone, threetwo):
            if sequence in special:
                valence = special[sequence]
                break
        if len(lower) - 1 > i:
            zeroone = f"{lower[i]} {lower[i + 1]}"
            if zeroone in special:
                valence = special[zeroone]
        if len(lower) - 1 > i + 1:
            zeroonetwo = f"{lower[i]} {lower[i + 1]} {lower[i + 2]}"
            if zeroonetwo in special:
                valence = special[zeroonetwo]
        for n_gram in (threetwoone, threetwo, twoone):
            if n_gram in boosters:
                valence = valence + boosters[n_gram]
        return valence

    def _least_check(self, valence: float, lower: list[str], i: int) -> float:
        lexicon, n_scalar = self.lexicon, self._vader.N_SCALAR
        if i > 1 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
            if lower[i - 2] != "at" and lower[i - 2] != "very":
                valence = valence * n_scalar
        elif i > 0 and lower[i - 1] not in lexicon and lower[i - 1] == "least":
            valence = valence * n_scalar
        return valence

