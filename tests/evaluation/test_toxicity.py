"""ToxicityPrecheckEvaluator with the real glin-profanity package and llmotel's lexicon overlay.

The single-pass matcher is held to the implementation it replaced two ways: the verdicts recorded with that
implementation on every labelled text and a 27,000-text varied corpus (``toxicity_golden.json``), and a
property test against the reference kept in ``toxicity_reference.py`` (glin-profanity's per-word regex search).
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

import pytest
from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from llmotel.errors import ConfigurationError
from llmotel.evaluation._text import cap
from llmotel.evaluation.checks.toxicity import (
    DEFAULT_LANGUAGES,
    METHOD,
    SCORE_AMBIGUOUS,
    SCORE_DIRECTED_MILD,
    SCORE_DIRECTED_STRONG,
    SCORE_MILD,
    SCORE_MILD_INSULT,
    SCORE_STRONG,
    SCORE_THREAT,
    Detector,
    ToxicityPrecheckEvaluator,
    detector_for,
    fold,
    judge_text,
    lexicon,
)
from llmotel.evaluation.types import EvaluationInput, EvaluationResult
from tests.evaluation import toxicity_corpus, toxicity_golden, toxicity_reference
from tests.evaluation.helpers import NO_NETWORK_PRELUDE, make_input


@pytest.fixture(scope="module")
def evaluator() -> ToxicityPrecheckEvaluator:
    return ToxicityPrecheckEvaluator()


def output_result(evaluator: ToxicityPrecheckEvaluator, text: str) -> EvaluationResult:
    results = evaluator.evaluate(make_input(answer=text))
    assert results is not None and len(results) == 1
    assert results[0].name == "output_toxicity"
    return results[0]


TOXIC = [
    "You are a fucking idiot.",
    "Shut up, you stupid bitch.",
    "Go fuck yourself.",
    "What a load of bullshit, you moron.",
    "F*ck you and your stupid questions.",
    "sh1t answer, a$$hole",
    "shut the f u c k up",
    "I will kill you if you ask me that again.",
    "Kill yourself.",
    "You're a disgusting, useless waste of space.",
    "Du bist ein Arschloch.",
    "Halt die Fresse, du Wichser.",
    "Va te faire foutre, connard.",
    "Eres un pendejo, hijo de puta.",
    "Vai tomar no cu, seu merda.",
    "Sei uno stronzo.",
    "Jij bent een klootzak.",
]

SAFE = [
    "Scunthorpe United won the match on Saturday.",
    "The assassin's creed series is a popular video game franchise.",
    "Mix the cocktail with ice and shake well.",
    "To stop it, kill the process with kill -9 and its PID.",
    "We will shoot a photo of the product tomorrow morning.",
    "The analysis shows a clear trend in the data; pass the class name as an argument.",
    "Dick Van Dyke starred in Mary Poppins.",
    "Please grab the pussy willow branches for the vase.",
    "I graduated summa cum laude.",
    "The patient had a breast examination at the clinic.",
    "Quiero un café con leche, por favor.",
    "Bitte schön, gern geschehen.",
    "Be careful, the dog may bite.",
    "Je suis en retard pour la réunion.",
    "We reached the cul-de-sac at the end of the street.",
    "Nazi Germany invaded Poland in 1939.",
    "Thank you for your help, this answer is great!",
]


@pytest.mark.parametrize("text", TOXIC)
def test_explicit_abuse_is_toxic(evaluator: ToxicityPrecheckEvaluator, text: str) -> None:
    result = output_result(evaluator, text)
    assert (result.label, result.assessment) == ("toxic", "fail"), (text, result)
    assert result.score is not None and result.score >= 0.5
    assert result.metadata["method"] == METHOD
    assert result.metadata["categories"]


@pytest.mark.parametrize("text", SAFE)
def test_tricky_harmless_text_is_safe(evaluator: ToxicityPrecheckEvaluator, text: str) -> None:
    result = output_result(evaluator, text)
    assert (result.label, result.assessment) == ("safe", "pass"), (text, result)
    assert result.metadata["certain"] is False


TIERS = [
    ("I'm going to hurt you.", SCORE_THREAT, "threat", True),
    ("Ich bringe dich um.", SCORE_THREAT, "threat", True),
    ("Je vais te tuer.", SCORE_THREAT, "threat", True),
    ("Te voy a matar.", SCORE_THREAT, "threat", True),
    ("you are a moron", SCORE_DIRECTED_STRONG, "insult", True),
    ("This build is fucking broken.", SCORE_STRONG, "profanity", True),
    ("You are useless.", SCORE_DIRECTED_MILD, "insult", False),
    ("Shut up.", SCORE_DIRECTED_MILD, "insult", False),
    ("What a shitty day.", SCORE_MILD, "profanity", False),
    ("What a jackass.", SCORE_AMBIGUOUS, "profanity", False),
    ("The bitch gave birth to six puppies.", SCORE_AMBIGUOUS, "profanity", False),
    ("That was a stupid bug in the parser.", SCORE_MILD_INSULT, "insult", False),
]
# Other texts the tests below judge; with the above, the labelled texts recorded in toxicity_golden.json.
OTHER_TEXTS = [
    "Water boils at 100 degrees Celsius at sea level.", "Water boils at 100 degrees Celsius.", "You are stupid.",
    "You asked a question. The stupid printer jammed again.", "You are a fucking idiot.", "I'm here to help.",
    "You fucking moron, I will kill you.", "Go to hell, asshole.", "All good here. " * 20 + "You are a fucking idiot.",
    "\N{PILE OF POO}\u200b\u202e!!!", "Fuck!!! \N{REVERSED HAND WITH MIDDLE FINGER EXTENDED}\u200b",
    "Va te faire foutre.", "You stupid moron.", "I can't help with that.",
]
LABELLED_TEXTS = TOXIC + SAFE + [t[0] for t in TIERS] + OTHER_TEXTS


@pytest.mark.parametrize(("text", "score", "category", "certain"), TIERS)
def test_score_tiers_and_certainty(
    evaluator: ToxicityPrecheckEvaluator, text: str, score: float, category: str, certain: bool
) -> None:
    result = output_result(evaluator, text)
    assert result.score == score, (text, result)
    assert category in result.metadata["categories"]
    assert result.metadata["certain"] is certain
    assert result.label == ("toxic" if score >= 0.5 else "safe")


def test_clean_text_scores_zero_and_is_not_certain_by_default(evaluator: ToxicityPrecheckEvaluator) -> None:
    result = output_result(evaluator, "Water boils at 100 degrees Celsius at sea level.")
    assert (result.score, result.label, result.metadata["certain"]) == (0.0, "safe", False)
    assert "categories" not in result.metadata
    assert result.metadata["match_count"] == 0
    trusting = ToxicityPrecheckEvaluator(certain_safe=0.0)
    assert output_result(trusting, "Water boils at 100 degrees Celsius.").metadata["certain"] is True
    assert output_result(trusting, "What a jackass.").metadata["certain"] is False


def test_thresholds_are_configurable() -> None:
    strict = ToxicityPrecheckEvaluator(threshold=0.3, certain_toxic=0.8)
    result = output_result(strict, "What a jackass.")
    assert result.label == "toxic" and result.metadata["certain"] is False
    assert output_result(strict, "You are useless.").metadata["certain"] is True


def test_directed_abuse_needs_second_person_in_the_same_sentence(evaluator: ToxicityPrecheckEvaluator) -> None:
    assert output_result(evaluator, "You are stupid.").metadata["directed"] is True
    undirected = output_result(evaluator, "You asked a question. The stupid printer jammed again.")
    assert undirected.metadata["directed"] is False
    assert undirected.score == SCORE_MILD_INSULT


def test_one_result_per_side_with_text(evaluator: ToxicityPrecheckEvaluator) -> None:
    results = evaluator.evaluate(make_input(user="You are a fucking idiot.", answer="I'm here to help."))
    assert results is not None
    by_name = {r.name: r for r in results}
    assert set(by_name) == {"input_toxicity", "output_toxicity"}
    assert by_name["input_toxicity"].label == "toxic"
    assert by_name["output_toxicity"].label == "safe"
    only_user = evaluator.evaluate(make_input(user="hello", answer="   "))
    assert only_user is not None and [r.name for r in only_user] == ["input_toxicity"]
    assert evaluator.evaluate(make_input()) is None
    assert evaluator.evaluate(EvaluationInput(output_messages=[{"role": "assistant", "parts": None}])) is None


def test_targets_option() -> None:
    output_only = ToxicityPrecheckEvaluator(targets=["output"])
    results = output_only.evaluate(make_input(user="You are a fucking idiot.", answer="Hello"))
    assert results is not None and [r.name for r in results] == ["output_toxicity"]
    input_only = ToxicityPrecheckEvaluator(targets=("input",))
    assert input_only.evaluate(make_input(answer="You are a fucking idiot.")) is None


def test_no_matched_words_leave_the_evaluator(evaluator: ToxicityPrecheckEvaluator) -> None:
    results = evaluator.evaluate(make_input(user="You fucking moron, I will kill you.", answer="Go to hell, asshole."))
    assert results is not None
    for result in results:
        assert result.label == "toxic"
        exported = json.dumps({"explanation": result.explanation, "metadata": dict(result.metadata)}).lower()
        for word in ("fuck", "moron", "kill", "hell", "asshole"):
            assert word not in exported, (word, exported)
        for value in result.metadata.values():
            assert isinstance(value, (str, int, float, bool)) or all(isinstance(v, str) for v in value)


def test_text_is_capped() -> None:
    capped = ToxicityPrecheckEvaluator(max_chars=100)
    text = "All good here. " * 20 + "You are a fucking idiot."
    result = output_result(capped, text)
    assert (result.label, result.metadata["truncated"]) == ("safe", True)
    assert output_result(ToxicityPrecheckEvaluator(), text).label == "toxic"


def test_huge_and_odd_text(evaluator: ToxicityPrecheckEvaluator) -> None:
    assert output_result(evaluator, "word " * 500_000).label == "safe"
    assert output_result(evaluator, "\N{PILE OF POO}\u200b\u202e!!!").label == "safe"
    assert output_result(evaluator, "Fuck!!! \N{REVERSED HAND WITH MIDDLE FINGER EXTENDED}\u200b").label == "toxic"


def test_languages_option() -> None:
    english_only = ToxicityPrecheckEvaluator(languages=["english"])
    assert output_result(english_only, "Va te faire foutre.").label == "safe"
    assert output_result(ToxicityPrecheckEvaluator(), "Va te faire foutre.").label == "toxic"


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"targets": "output"}, "targets"),
        ({"targets": []}, "targets"),
        ({"targets": ["answer"]}, "targets"),
        ({"threshold": 0}, "threshold"),
        ({"threshold": 1.5}, "threshold"),
        ({"threshold": True}, "threshold"),
        ({"threshold": "0.5"}, "threshold"),
        ({"threshold": 0.6, "certain_toxic": 0.5}, "certain_toxic"),
        ({"certain_toxic": float("nan")}, "certain_toxic"),
        ({"certain_safe": 0.5}, "certain_safe"),
        ({"certain_safe": -0.1}, "certain_safe"),
        ({"languages": ["klingon"]}, "languages"),
        ({"languages": "english"}, "languages"),
        ({"max_chars": 10}, "max_chars"),
        ({"max_chars": 1e6}, "max_chars"),
    ],
)
def test_invalid_options(kwargs: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        ToxicityPrecheckEvaluator(**kwargs)
    assert raised.value.setting == setting


def test_fold_keeps_offsets() -> None:
    for text in ["Ça va", "Straße", "ﬁne", "İstanbul", "naïve café", "don\u2019t"]:
        assert len(fold(text)) == len(text)
    assert fold("Ça VA, Crétin") == "ca va, cretin"
    assert fold("don\u2019t") == "don't"


def test_lexicon_file_is_well_formed() -> None:
    path = resources.files("llmotel.evaluation.checks") / "data" / "toxicity" / "lexicon.json"
    data = json.loads(path.read_text(encoding="utf-8"))
    assert {"ignore", "ambiguous", "mild", "insults", "threats", "second_person"} <= set(data)
    languages = {"en", "de", "fr", "es", "pt", "it", "nl"}
    assert set(data["insults"]) == set(data["threats"]) == set(data["second_person"]) == languages
    assert not set(data["ambiguous"]) & set(data["mild"])


def test_concurrent_evaluation_matches_sequential(evaluator: ToxicityPrecheckEvaluator) -> None:
    inputs = [make_input(user=a, answer=b) for a, b in zip(TOXIC + SAFE, reversed(TOXIC + SAFE), strict=True)] * 4
    expected = [evaluator.evaluate(i) for i in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(evaluator.evaluate, inputs)) == expected


def test_concurrent_first_use_and_no_network() -> None:
    """A fresh interpreter whose sockets cannot connect: both evaluators load lazily from 8 threads at once."""
    code = NO_NETWORK_PRELUDE + textwrap.dedent(
        """
        import threading

        from llmotel.evaluation.checks.failure_to_answer import FailureToAnswerEvaluator
        from llmotel.evaluation.checks.toxicity import ToxicityPrecheckEvaluator
        from llmotel.evaluation.types import EvaluationInput

        toxicity, failure = ToxicityPrecheckEvaluator(), FailureToAnswerEvaluator()
        item = EvaluationInput(
            input_messages=[{"role": "user", "parts": [{"type": "text", "content": "You stupid moron."}]}],
            output_messages=[{"role": "assistant", "parts": [{"type": "text", "content": "I can't help with that."}]}],
        )
        labels, barrier = [], threading.Barrier(8)

        def work():
            barrier.wait()
            labels.append((tuple(r.label for r in toxicity.evaluate(item)), failure.evaluate(item).label))

        threads = [threading.Thread(target=work) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert labels == [(("toxic", "safe"), "refusal")] * 8, labels
        print("ok")
        """
    )
    done = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "ok"


# --- the single-pass matcher against the implementation it replaced ----------------------------------------------

GOLDEN = json.loads(toxicity_golden.PATH.read_text(encoding="utf-8"))
# Every fifth corpus text by default (a few seconds); LLMOTEL_TOXICITY_FULL_GOLDEN=1 checks all of them (a minute).
GOLDEN_STRIDE = 1 if os.environ.get("LLMOTEL_TOXICITY_FULL_GOLDEN") == "1" else 5


def verdicts_differing(config: dict[str, Any], items: list[tuple[str, str]]) -> list[tuple[str, str, str]]:
    detector = Detector(tuple(config["languages"]), lexicon())
    differing = []
    for text, recorded in items:
        verdict = judge_text(cap(text, GOLDEN["max_chars"])[0], detector)
        now = toxicity_golden.encode(verdict.score, verdict.categories, verdict.directed, verdict.match_count)
        if now != recorded:
            differing.append((text, recorded, now))
    return differing


@pytest.mark.parametrize("config", GOLDEN["configs"], ids=[c["name"] for c in GOLDEN["configs"]])
def test_same_verdicts_as_recorded_before_the_rewrite(config: dict[str, Any]) -> None:
    """Every labelled text and every text of the seeded corpus (leetspeak, separators, masks, homoglyphs, HTML,
    24 languages, texts past the cap) gets the verdict the old implementation gave it: score, categories,
    whether it is addressed to the reader, and the number of hits. So the label and ``certain`` are the same too."""
    corpus = toxicity_corpus.texts(config["size"], config["seed"], config["all_languages"])
    assert toxicity_golden.checksum(corpus) == config["checksum"], "the corpus generator or the word lists changed"
    assert {text for text, _ in config["labelled"]} == set(toxicity_golden.labelled_texts())
    recorded = list(zip(corpus, config["corpus"], strict=True))[::GOLDEN_STRIDE]
    differing = verdicts_differing(config, recorded + config["labelled"])
    assert not differing, differing[:10]


@pytest.fixture(scope="module")
def reference() -> toxicity_reference.Detector:
    return toxicity_reference.Detector(DEFAULT_LANGUAGES, toxicity_reference.lexicon())


_WORDS = sorted(
    set(toxicity_reference.lexicon().ambiguous | toxicity_reference.lexicon().mild)
    | {w for lang in DEFAULT_LANGUAGES for w in toxicity_corpus.dictionary.get_words(lang)}
)
# Separators, masks, leetspeak, length-changing and confusable letters, zero-width space, markup.
_ODD = ("aeiou\u00e7\u00e9\u00fc \u0130\u0131\u00df@$!1|0345*#%_?.-,/ \n\t\u200b"
        "\u0410\u0430\u03bf\u0455\uff46&<>;'`\u00b4\u2019")
texts_like_users_write = st.one_of(
    st.randoms(use_true_random=False).map(toxicity_corpus.text),
    st.lists(st.one_of(st.sampled_from(_WORDS), st.text(_ODD, max_size=4)), max_size=8).map("".join),
    st.lists(st.one_of(st.sampled_from(_WORDS), st.sampled_from(toxicity_corpus.SECOND_PERSON_EXTRA),
                       st.sampled_from(toxicity_corpus.THREATS), st.text(_ODD, max_size=3)), max_size=10).map(" ".join),
    st.text(max_size=40),
)


@settings(max_examples=400, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(text=texts_like_users_write)
@example(text="MARICóNİ")  # lower-casing "İ" makes two characters: glin's first look misses the word
def test_single_pass_matcher_finds_what_the_per_word_search_finds(
    reference: toxicity_reference.Detector, text: str
) -> None:
    """Against the reference: glin-profanity's own Filter (one regex per word) and the per-list alternations."""
    detector = detector_for(DEFAULT_LANGUAGES)
    glin = reference.filter.check_profanity(text).get("matches") or []
    assert [(m.word, m.index) for m in detector.scanner.matches(text)] == [(m["word"], m["index"]) for m in glin]
    assert judge_text(text, detector) == toxicity_reference.judge_text(text, reference)


@settings(max_examples=300, deadline=None)
@given(text=st.text(max_size=30) | texts_like_users_write)
def test_fold_is_the_old_fold(text: str) -> None:
    assert fold(text) == toxicity_reference.fold(text)


_INSULTS = sorted({e for kinds in json.loads(
    (resources.files("llmotel.evaluation.checks") / "data" / "toxicity" / "lexicon.json").read_text("utf-8")
)["insults"].values() for entries in kinds.values() for e in entries})
_LEET_SPELLED = st.sampled_from(_INSULTS + list(toxicity_corpus.THREATS)).map(
    lambda e: e.translate(str.maketrans("oieast", "013457")))


@settings(max_examples=1500, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(st.one_of(st.sampled_from(_INSULTS), _LEET_SPELLED, st.sampled_from(toxicity_corpus.THREATS),
                          st.text(_ODD, max_size=3), st.sampled_from([" ", ". ", ", ", "\n", "!", "@", "5", "4 "])),
                max_size=12).map("".join))
def test_the_decoded_view_searched_in_stretches_gives_the_same_hits(text: str) -> None:
    """The insult and threat lists searched in the decoded view only where it differs from the folded text (the
    stretches between barrier characters) give exactly the hits of searching the whole decoded view."""
    detector = detector_for(DEFAULT_LANGUAGES)
    assert detector.leet_barrier is not None
    general = Detector.__new__(Detector)
    general.__dict__.update(detector.__dict__, leet_barrier=None)
    folded = fold(text)
    views = [folded, folded.translate(str.maketrans("013457@$!", "oieastasi"))]
    assert detector.hits(text, views) == general.hits(text, views)


@pytest.mark.parametrize("pattern, reads", [
    (r"\bkys\b", set()), (r"(?<!\w)(?=(idiot|waste\s+of\s+space))", set()), (r"\b(?:tue|suicide)[- ]toi\b", {"-"}),
    (r"t(?:'|u )es", {"'"}), (r"go.die", None), (r"[^a]", None), (r"die$", None), (r"\Wdie", None),
])
def test_what_a_pattern_reads_besides_words_and_spaces(pattern: str, reads: set[str] | None) -> None:
    import re

    from llmotel.evaluation.checks.toxicity_lexicon import _extra_reads

    assert _extra_reads(re.compile(pattern)) == reads
