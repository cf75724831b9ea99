"""CompoundScorer gives exactly VADER's own compound score, on sentences built to reach every rule VADER applies."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st
from vaderSentiment import vaderSentiment as vader

from llmotel.evaluation.checks import sentiment
from llmotel.evaluation.checks.vader_compound import CompoundScorer

SCORER = sentiment._compound_scorer()
ANALYZER = SCORER.analyzer

# Every rule's trigger words: boosters (and the halves of two-word ones), negations, the "no"/"least"/"never so"/
# "without doubt" rules, "but", the special-case idioms, plus a sample of the lexicon (emoticons included).
_RULE_WORDS = sorted(
    {w for key in vader.BOOSTER_DICT for w in key.split()}
    | set(vader.NEGATE)
    | {w for key in vader.SPECIAL_CASES for w in key.split()}
    | {"no", "or", "nor", "least", "at", "very", "never", "so", "this", "without", "doubt", "but", "kind", "of",
       "sort", "n't", "isn't", "good", "bad", "great", "love", "hate", "fix", "fixed", "help", "error", "worried"}
)
_LEXICON_SAMPLE = sorted(ANALYZER.lexicon)[::11]
_OTHER = ["the", "parcel", "Berlin", "48213", ":)", ":-(", "<3", "!!!", "?", "??", "...", "—", "(", ")", "'", '"',
          "-", "İstanbul", "ΣΑΣ", "straße", "\N{GRINNING FACE}", "\N{PILE OF POO}", "\N{HEAVY BLACK HEART}"]


@st.composite
def tokens(draw: st.DrawFn) -> str:
    word = draw(st.sampled_from(_RULE_WORDS + _LEXICON_SAMPLE + _OTHER))
    word = draw(st.sampled_from([word, word.upper(), word.title(), word.lower()]))
    before = draw(st.sampled_from(["", "", "", "(", '"', "'", "*", "..."]))
    after = draw(st.sampled_from(["", "", "", "", ",", ".", "!", "?", "!!", "?!", ":", ")", "'s", "..."]))
    return before + word + after


# Multi-word rules (idioms, "kind of", "never so", "without doubt", "at least") with words before and after them.
_PHRASES = sorted({*vader.SPECIAL_CASES, *(k for k in vader.BOOSTER_DICT if " " in k), "never so", "never this",
                   "without doubt", "at least", "very least", "no or", "no nor"})
phrases = st.tuples(st.lists(tokens(), max_size=5), st.sampled_from(_PHRASES), st.lists(tokens(), max_size=4)).map(
    lambda parts: " ".join([*parts[0], parts[1], *parts[2]]))
sentences = (
    st.tuples(st.lists(tokens(), max_size=16), st.sampled_from([" ", " ", "  ", "\t", "\n", " \u00a0"]))
    .map(lambda parts: parts[1].join(parts[0]))
    | phrases
    | st.text(max_size=60)
    | st.lists(st.sampled_from(_RULE_WORDS), min_size=1, max_size=8).map(" ".join)
)


def test_the_fast_path_is_the_one_tested() -> None:
    assert SCORER.exact, f"vaderSentiment is not {vader.__name__} 3.3.2: the property below compares VADER with itself"


@settings(max_examples=3000, deadline=None)
@given(sentence=sentences)
def test_compound_is_vaders_compound(sentence: str) -> None:
    assert SCORER(sentence) == ANALYZER.polarity_scores(sentence)["compound"]


def test_known_sentences() -> None:
    cases = [
        "VADER is smart, handsome, and funny.",
        "VADER is VERY SMART, handsome, and FUNNY!!!",
        "The book was kind of good.",
        "Today SUX!",
        "Not bad at all",
        "At least it isn't a horrible book.",
        "the least good thing",
        "It was never so good, but the ending was bad",
        "Without doubt the best",
        "no good or bad news",
        "that movie was the bomb and a bad ass ride, to die for",
        "the plot of this bad ass film",
        "we met at the bus stop yesterday, yeah right",
        "I am not worried, nor happy, just kinda ok??",
        "",
        "   ",
        "😍😍",
    ]
    for text in cases:
        assert SCORER(text) == ANALYZER.polarity_scores(text)["compound"], text


def test_any_other_vader_version_is_left_to_vader() -> None:
    scorer = CompoundScorer(ANALYZER)
    scorer.exact = False  # as for a vaderSentiment release these rules were not read from
    for text in ("Not bad at all", "The book was kind of good.", ""):
        assert scorer(text) == ANALYZER.polarity_scores(text)["compound"]
