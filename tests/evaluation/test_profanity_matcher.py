"""The parts of the single-pass toxicity matcher, each against plainly written or glin-profanity's own counterpart.

glin-profanity's internal modules are the reference here (tests only): the library ports their rules, so each
port must give the same text, the same edits and the same offsets back into the original text.
"""

from __future__ import annotations

import json
import re
from importlib import resources

import pytest
from glin_profanity.filters.pipeline import html as glin_html
from glin_profanity.filters.pipeline import masking as glin_masking
from glin_profanity.filters.pipeline import separators as glin_separators
from glin_profanity.filters.pipeline import stretch as glin_stretch
from glin_profanity.filters.pipeline import views as glin_views
from glin_profanity.filters.pipeline.dictionary_index import DictionaryIndex as GlinIndex
from glin_profanity.filters.pipeline.mapped import Edit as GlinEdit
from glin_profanity.filters.pipeline.mapped import MappedText as GlinMapped
from glin_profanity.filters.pipeline.mapped import apply_edits, from_text, to_original_span
from glin_profanity.filters.pipeline.normalizers import leet_transformer, unicode_transformer
from glin_profanity.filters.word_matcher import word_pattern
from glin_profanity.utils.leetspeak import measurement_digit_indices, normalize_leetspeak
from glin_profanity.utils.unicode import normalize_unicode
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from llmotel.evaluation.checks._trie import trie_pattern
from llmotel.evaluation.checks.profanity import normalize, obfuscation
from llmotel.evaluation.checks.profanity.dictionary import DictionaryIndex, active_words
from llmotel.evaluation.checks.profanity.mapped import Edit, MappedText, edited
from llmotel.evaluation.checks.profanity.scanner import ProfanityScanner, WordAutomaton
from llmotel.evaluation.checks.toxicity import DEFAULT_LANGUAGES, SUPPORTED_LANGUAGES, lexicon
from llmotel.evaluation.checks.toxicity_lexicon import InsultMatcher, ThreatMatcher, _literal_prefixes
from tests.evaluation import toxicity_corpus, toxicity_reference

PROPERTY = settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
ALL_WORDS = active_words(sorted(SUPPORTED_LANGUAGES), lexicon().ignore)
WORDS = active_words(DEFAULT_LANGUAGES, lexicon().ignore)
# Letters that matter to the rules: separators, masks, leetspeak, spaces, length-changing and confusable letters,
# accents and combining marks, markup, katakana, Han.
ODD = ("aeiostu \u00e7\u00e9\u00fc\u0130\u0131\u00df@$!1|03457*#%_?.-,/\n\t\u200b\u0301\u0410\u0430\u03bf\u0455"
       "\uff46&<>;'`\u00b4\u2019\u30b0\u30ed\u4ed6\u5988")
words_and_odd_bits = st.lists(
    st.one_of(st.sampled_from(ALL_WORDS), st.text(ODD, max_size=4), st.sampled_from(["<b>", "</p>", "&amp;"])),
    max_size=10,
).map("".join)
texts = st.one_of(words_and_odd_bits, st.randoms(use_true_random=False).map(lambda r: toxicity_corpus.text(r, True)),
                  st.text(max_size=30))


@pytest.fixture(scope="module")
def index() -> DictionaryIndex:
    return DictionaryIndex(WORDS)


@pytest.fixture(scope="module")
def glin_index() -> GlinIndex:
    return GlinIndex(WORDS, True, "moderate")


# --- the trie pattern and the automaton ---------------------------------------------------------------------------

def test_trie_pattern_finds_the_longest_word_at_a_place() -> None:
    pattern = re.compile(f"(?=({trie_pattern(['ass', 'asshole', 'as', 'bass'])}))")
    found = {m.start(): m.group(1) for m in pattern.finditer("asshole bass ash")}
    assert found == {0: "asshole", 8: "bass", 9: "ass", 13: "as"}
    assert re.compile(trie_pattern([])).search("anything") is None
    spaced = re.compile(trie_pattern(["piece of shit", "piece"], lambda c: r"\s+" if c == " " else re.escape(c)))
    assert spaced.match("piece  of\tshit!").group(0) == "piece  of\tshit"


@PROPERTY
@given(text=texts)
def test_automaton_finds_every_occurrence_of_every_word(text: str) -> None:
    """Against one anchored match per word per position of glin's own word pattern (its boundary rules)."""
    haystack = text.lower()
    expected = {(i, m.start(), m.end())
                for i, regex in enumerate(_WORD_PATTERNS) if ALL_WORDS[i] in haystack
                for p in range(len(haystack)) if (m := regex.match(haystack, p)) and m.end() > m.start()}
    assert set(_AUTOMATON.find(haystack)) == expected


_AUTOMATON = WordAutomaton(ALL_WORDS)
_WORD_PATTERNS = [re.compile(word_pattern(w)) for w in ALL_WORDS]


# --- offsets ------------------------------------------------------------------------------------------------------

@st.composite
def edit_steps(draw: st.DrawFn) -> tuple[str, list[list[tuple[int, int, str]]]]:
    text = draw(st.text("abcdef .", min_size=1, max_size=20))
    steps, current = [], text
    for _ in range(draw(st.integers(1, 3))):
        cuts = sorted(draw(st.sets(st.integers(0, len(current)), max_size=6)))
        edits = [(a, b, draw(st.text("xyzab", max_size=3))) for a, b in zip(cuts[::2], cuts[1::2], strict=False)
                 if b > a]
        steps.append(edits)
        out, cursor = [], 0
        for a, b, r in edits:
            out += [current[cursor:a], r]
            cursor = b
        current = "".join([*out, current[cursor:]])
    return text, steps


@PROPERTY
@given(case=edit_steps())
def test_positions_map_back_as_glin_maps_them(case: tuple[str, list[list[tuple[int, int, str]]]]) -> None:
    text, steps = case
    ours, theirs = MappedText(text), from_text(text)
    for step in steps:
        ours = edited(ours, [Edit(*e) for e in step])
        theirs = apply_edits(theirs, [GlinEdit(*e) for e in step])
    assert ours.text == theirs.text
    for start in range(len(ours.text)):  # hits and safe words are never empty
        for end in range(start + 1, len(ours.text) + 1):
            assert ours.to_original(start, end) == to_original_span(theirs, start, end), (start, end)


# --- normalisation ------------------------------------------------------------------------------------------------

def _same_offsets(ours: MappedText, theirs: GlinMapped) -> None:
    assert ours.text == theirs.text
    for i in range(len(ours.text)):
        assert ours.to_original(i, i + 1) == to_original_span(theirs, i, i + 1), i


@PROPERTY
@given(text=texts)
def test_unicode_and_leetspeak_normalisation_match_glin(text: str) -> None:
    folded = normalize.unicode_text(text)
    assert folded == normalize_unicode(text)
    norm, aggr = normalize.leet_texts(folded)
    assert norm == normalize.leet_text(folded, 2) == normalize_leetspeak(folded, "moderate", max_repeated=2)
    assert aggr == normalize.leet_text(folded, 1) == normalize_leetspeak(folded, "moderate", max_repeated=1)
    mapped = normalize.unicode_mapped(MappedText(text))
    glin = unicode_transformer(from_text(text))
    _same_offsets(mapped, glin)
    for repeats, as_l in ((2, False), (1, False), (2, True)):
        _same_offsets(normalize.leet_mapped(mapped, repeats, as_l), leet_transformer("moderate", repeats, as_l)(glin))


@settings(max_examples=500, deadline=None)
@given(text=st.text("ab1 2 3x5m!|@$\u0661\u00b2", max_size=16))
def test_rewritten_regexes_find_what_glins_find(text: str) -> None:
    measured = {i for m in normalize._MEASUREMENT.finditer(text) for i in range(m.start(), m.end() - 1)}
    assert measured == measurement_digit_indices(text)
    glin_sign = re.compile(r"[^\W_][.,/|_\-][^\W_]|\b[^\W\d_] [^\W\d_] [^\W\d_]\b")
    assert bool(obfuscation._SEPARATOR_SIGN.search(text)) == bool(glin_sign.search(text))
    from llmotel.evaluation.checks.profanity import scanner

    assert bool(scanner._AMBIGUOUS_GLYPH.search(text)) == bool(glin_views._AMBIGUOUS_GLYPH.search(text))
    from llmotel.evaluation.checks import toxicity

    assert bool(toxicity._LEET_CHARS.search(text)) == bool(toxicity_reference._LEET_CHARS.search(text))


# --- obfuscation --------------------------------------------------------------------------------------------------

@PROPERTY
@given(text=texts)
def test_obfuscation_steps_edit_as_glins_do(text: str, index: DictionaryIndex, glin_index: GlinIndex) -> None:
    original, glin = MappedText(text), from_text(text)
    ours_html, theirs_html = obfuscation.html(original), glin_html.html_transformer(2)(glin)
    _same_offsets(ours_html, theirs_html)
    ours = edited(ours_html, obfuscation.separator_edits(ours_html.text, index))
    theirs = glin_separators.separator_transformer(glin_index, ".,/|_-", False, 4)(theirs_html)
    _same_offsets(ours, theirs)
    ours = edited(ours, obfuscation.mask_edits(ours.text, index))
    theirs = glin_masking.masking_transformer(glin_index, "*#@$%_?!", 1)(theirs)
    _same_offsets(ours, theirs)
    ours = edited(ours, obfuscation.stretch_edits(ours.text, index))
    theirs = glin_stretch.stretch_transformer(glin_index)(theirs)
    _same_offsets(ours, theirs)


@PROPERTY
@given(token=st.text("fuckshitas*#@$%_?!0134", min_size=3, max_size=9))
def test_masked_words_resolve_as_in_glin(token: str, index: DictionaryIndex, glin_index: GlinIndex) -> None:
    masks = frozenset("*#@$%_?!")
    assert index.resolve_masked(token, masks, 1) == glin_index.resolve_masked(token, masks, 1)


def test_a_long_sentence_with_one_separator_is_joined_only_where_glin_joins(index: DictionaryIndex,
                                                                             glin_index: GlinIndex) -> None:
    words = " ".join(["we", "sent", "a", "note"] * 12)
    for text in [f"{words} to the e-mail address {words}", f"{words} f.u.c.k {words} s h i t {words}",
                 f"{words} f-u c-k you_a.s.s_x {words}", "x_f.u.c.k_y " * 30]:
        ours = edited(MappedText(text), obfuscation.separator_edits(text, index))
        _same_offsets(ours, glin_separators.separator_transformer(glin_index, ".,/|_-", False, 4)(from_text(text)))


# --- the scanner's views ------------------------------------------------------------------------------------------

@PROPERTY
@given(text=texts)
def test_fast_view_texts_are_the_offset_tracked_ones(text: str) -> None:
    scanner = _SCANNER
    for view in scanner._views(text):
        if view is not None:
            assert view.mapped().text == view.text, view.kind


_SCANNER = ProfanityScanner(sorted(SUPPORTED_LANGUAGES), lexicon().ignore)


def test_all_languages_scanner_matches_glin_on_the_corpus() -> None:
    reference = toxicity_reference.Detector(tuple(sorted(SUPPORTED_LANGUAGES)), toxicity_reference.lexicon())
    for text in toxicity_corpus.texts(60, 99, all_languages=True):
        glin = reference.filter.check_profanity(text[:5000]).get("matches") or []
        assert [(m.word, m.index) for m in _SCANNER.matches(text[:5000])] == [(m["word"], m["index"]) for m in glin]


# --- llmotel's own lists ------------------------------------------------------------------------------------------

LEXICON_DATA = json.loads(
    (resources.files("llmotel.evaluation.checks") / "data" / "toxicity" / "lexicon.json").read_text(encoding="utf-8")
)
THREATS = [t for lang in LEXICON_DATA["threats"].values() for t in lang]
overlay_texts = st.one_of(
    texts.map(toxicity_reference.fold),
    st.lists(st.sampled_from(
        [toxicity_reference.fold(t) for t in toxicity_corpus.THREATS]
        + [toxicity_reference.fold(e) for lang in LEXICON_DATA["insults"].values() for kind in lang.values()
           for e in kind]
        + ["you", "u", "la", "te", "  ", "\n", ".", "-", "'"]), max_size=8).map(" ".join),
)


@PROPERTY
@given(text=overlay_texts)
def test_insult_lists_match_as_one_alternation_per_list_would(text: str) -> None:
    old = toxicity_reference.lexicon()
    found = lexicon().insults.find(text)
    for kind, pattern in (("strong", old.strong_insults), ("mild", old.mild_insults),
                          ("directed", old.directed_insults)):
        assert pattern is not None
        assert found[kind] == [m.span() for m in pattern.finditer(text)], kind


@PROPERTY
@given(text=overlay_texts)
def test_threats_match_where_the_plain_alternation_matches(text: str) -> None:
    old = toxicity_reference.lexicon().threats
    assert old is not None
    assert lexicon().threats.starts(text) == [m.start() for m in old.finditer(text)]


def test_every_threat_expression_has_prefixes_and_its_matches_start_with_one() -> None:
    for expression in THREATS:
        prefixes = _literal_prefixes(expression)
        assert prefixes, expression
        for phrase in toxicity_corpus.THREATS:
            for m in re.finditer(expression, toxicity_reference.fold(phrase)):
                assert any(m.group(0).startswith(p) for p in prefixes), (expression, phrase)


@pytest.mark.parametrize(("expression", "prefixes"), [
    (r"\bkys\b", {"kys"}),
    (r"\b(?:i|we) (?:hope|wish)", {"i h", "i w", "we "}),
    (r"\b(?:eu )?(?:vou|vamos) te", {"eu ", "vou", "vam"}),
    (r"\bt(?:'|u )es", {"t'e", "tu "}),
    (r"\b(?:tue|suicide)[- ]toi", {"tue", "sui"}),
    (r"\bi\w+", {"i"}),  # a category: the prefix stops where it is known
    (r"\w+ing", None),  # may start with anything
    (r"(?i)kys", None),  # case-insensitive: literal prefixes would not be sound
    (r"(?:a|b){0,2}c", {"c", "a", "b"}),  # a repeat: followed for one round, then nothing more is assumed
])
def test_literal_prefixes(expression: str, prefixes: set[str] | None) -> None:
    assert _literal_prefixes(expression) == prefixes


def test_insult_entries_separate_words_with_single_spaces() -> None:
    with pytest.raises(ValueError, match="single spaces"):
        InsultMatcher({"strong": ["waste  of space"]})
    with pytest.raises(ValueError, match="single spaces"):
        InsultMatcher({"mild": ["tab\tseparated"]})


def test_a_threat_list_whose_expressions_cannot_be_anchored_still_matches() -> None:
    matcher = ThreatMatcher([r"\w+ you\b", r"\bkys\b"])
    assert matcher.starts("hate you. kys") == [0, 10]
    assert InsultMatcher({}).find("anything") == {"strong": [], "mild": [], "directed": []}
