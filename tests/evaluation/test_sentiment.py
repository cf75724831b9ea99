"""SentimentEvaluator with the real vaderSentiment lexicon (and the real language model for the English check)."""

# Multilingual test texts use full-width and non-Latin punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from llmotel.errors import ConfigurationError
from llmotel.evaluation.checks.sentiment import SentimentEvaluator
from llmotel.evaluation.types import LABEL_SKIPPED, EvaluationInput, EvaluationResult
from tests.evaluation.helpers import NO_NETWORK_PRELUDE, make_input

REPO = Path(__file__).resolve().parents[2]

ANGRY = "This is the worst support I have ever dealt with. Your app lost my files and I am furious!"
HAPPY = "Thank you so much, this worked perfectly! You saved my day."
NEUTRAL = "The train to Berlin leaves from platform 7 at 9:15 and arrives at 13:40."
APOLOGY_AND_HELP = (
    "I'm sorry about the lost files, that is frustrating. Good news: deleted files stay in the trash for 30 "
    "days, so you can restore them from there."
)


@pytest.fixture(scope="module")
def evaluator() -> SentimentEvaluator:
    return SentimentEvaluator()


def by_name(results: list[EvaluationResult] | None) -> dict[str, EvaluationResult]:
    assert results is not None
    return {r.name: r for r in results}


def test_input_and_output_labels(evaluator: SentimentEvaluator) -> None:
    results = by_name(evaluator.evaluate(make_input(ANGRY, HAPPY)))
    assert set(results) == {"input_sentiment", "output_sentiment"}
    angry, happy = results["input_sentiment"], results["output_sentiment"]
    assert angry.label == "negative" and angry.score is not None and -1.0 <= angry.score <= -0.05
    assert happy.label == "positive" and happy.score is not None and 0.05 <= happy.score <= 1.0
    assert angry.assessment is None and happy.assessment is None
    assert angry.metadata == {"sentences": 2, "positive_sentences": 0, "negative_sentences": 2, "truncated": False}
    assert angry.explanation is not None and angry.explanation.startswith("VADER compound score -")
    for result in results.values():
        assert result.explanation is not None
        assert ANGRY not in result.explanation and HAPPY not in result.explanation


def test_neutral(evaluator: SentimentEvaluator) -> None:
    results = by_name(evaluator.evaluate(make_input(NEUTRAL, NEUTRAL)))
    assert results["input_sentiment"].label == "neutral"
    assert results["input_sentiment"].score == 0.0


def test_long_answer_is_the_mean_of_its_sentences(evaluator: SentimentEvaluator) -> None:
    output = by_name(evaluator.evaluate(make_input(None, APOLOGY_AND_HELP)))["output_sentiment"]
    assert output.metadata["sentences"] == 2
    assert output.metadata["positive_sentences"] == 1 and output.metadata["negative_sentences"] == 1
    assert output.score is not None and -1.0 < output.score < 1.0


def test_emoji_are_scored(evaluator: SentimentEvaluator) -> None:
    output = by_name(evaluator.evaluate(make_input(None, "😍😍")))["output_sentiment"]
    assert output.label == "positive"


def test_thresholds_are_configurable() -> None:
    text = "The update is okay I guess."
    default = by_name(SentimentEvaluator().evaluate(make_input(text, None)))["input_sentiment"]
    assert default.label == "positive"
    strict = by_name(SentimentEvaluator(positive_threshold=0.9).evaluate(make_input(text, None)))["input_sentiment"]
    assert strict.label == "neutral" and strict.score == default.score
    loose = SentimentEvaluator(negative_threshold=-1.0).evaluate(make_input(ANGRY, None))
    assert by_name(loose)["input_sentiment"].label == "neutral"


def test_empty_sides_give_no_result(evaluator: SentimentEvaluator) -> None:
    assert list(by_name(evaluator.evaluate(make_input(ANGRY, None)))) == ["input_sentiment"]
    assert list(by_name(evaluator.evaluate(make_input("   ", HAPPY)))) == ["output_sentiment"]
    assert evaluator.evaluate(make_input(None, None)) is None
    assert evaluator.evaluate(make_input("", " \n ")) is None


def test_targets() -> None:
    only_output = SentimentEvaluator(targets=["output"])
    assert list(by_name(only_output.evaluate(make_input(ANGRY, HAPPY)))) == ["output_sentiment"]
    assert only_output.evaluate(make_input(ANGRY, None)) is None
    both = SentimentEvaluator(targets=("output", "input"))
    assert both.targets == ("input", "output")


def test_non_english_is_skipped(evaluator: SentimentEvaluator) -> None:
    german = "Das ist wirklich der schlechteste Kundendienst, den ich je erlebt habe. Niemand hilft mir!"
    japanese = "日本語で答えてもいいですか？ご不便をおかけして申し訳ありません。"
    results = by_name(evaluator.evaluate(make_input(german, japanese)))
    skipped = results["input_sentiment"]
    assert skipped.label == LABEL_SKIPPED and skipped.score is None
    assert skipped.explanation == "VADER scores English only; input is German (de)"
    assert skipped.metadata == {"skip_reason": "not_english", "language": "de", "truncated": False}
    assert results["output_sentiment"].metadata["language"] == "ja"
    # Too short to trust a language guess: scored anyway (VADER knows many emoji and some loanwords).
    short = by_name(evaluator.evaluate(make_input("Merci beaucoup!", None)))["input_sentiment"]
    assert short.label != LABEL_SKIPPED
    # An English message quoting another language stays English.
    quoting = 'My colleague wrote "Das ist wirklich schrecklich" about your product, which is really awful news.'
    assert by_name(evaluator.evaluate(make_input(quoting, None)))["input_sentiment"].label == "negative"


def test_non_english_check_can_be_off() -> None:
    german = "Das ist wirklich der schlechteste Kundendienst, den ich je erlebt habe. Niemand hilft mir!"
    result = by_name(SentimentEvaluator(skip_non_english=False).evaluate(make_input(german, None)))["input_sentiment"]
    assert result.label in ("positive", "neutral", "negative")


def test_very_long_text_is_capped(evaluator: SentimentEvaluator) -> None:
    text = (HAPPY + " ") * 50_000  # ~3 MB
    output = by_name(evaluator.evaluate(make_input(None, text)))["output_sentiment"]
    assert output.metadata["truncated"] is True
    assert output.label == "positive"
    assert output.metadata["sentences"] < 200
    small = SentimentEvaluator(max_chars=30)
    assert by_name(small.evaluate(make_input(None, HAPPY + " " + ANGRY)))["output_sentiment"].label == "positive"


def test_non_text_parts_are_ignored(evaluator: SentimentEvaluator) -> None:
    odd = EvaluationInput(
        input_messages=[{"role": "user", "parts": [{"type": "text", "content": None}]}],
        output_messages=[{"role": "assistant", "parts": [{"type": "tool_call", "name": "f", "arguments": {"x": 1}}]}],
    )
    assert evaluator.evaluate(odd) is None


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"targets": ()}, "targets"),
        ({"targets": "input"}, "targets"),
        ({"targets": ["input", "system"]}, "targets"),
        ({"targets": ["input", "input"]}, "targets"),
        ({"targets": 3}, "targets"),
        ({"positive_threshold": 1.5}, "positive_threshold"),
        ({"positive_threshold": -0.1}, "positive_threshold"),
        ({"positive_threshold": "0.05"}, "positive_threshold"),
        ({"negative_threshold": 0.2}, "negative_threshold"),
        ({"negative_threshold": True}, "negative_threshold"),
        ({"max_chars": 0}, "max_chars"),
        ({"max_chars": 10.5}, "max_chars"),
        ({"skip_non_english": "yes"}, "skip_non_english"),
    ],
)
def test_invalid_options(options: dict[str, object], setting: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        SentimentEvaluator(**options)  # type: ignore[arg-type]
    assert caught.value.setting == setting


def test_thread_safety() -> None:
    cases = [
        make_input(ANGRY, HAPPY),
        make_input(NEUTRAL, APOLOGY_AND_HELP),
        make_input("Das ist wirklich der schlechteste Kundendienst, den ich je erlebt habe.", HAPPY),
        make_input(None, "😍😍"),
    ]
    fresh = SentimentEvaluator()
    serial = [fresh.evaluate(c) for c in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(fresh.evaluate, cases * 50))
    assert parallel == serial * 50


NO_NETWORK_SCRIPT = NO_NETWORK_PRELUDE + textwrap.dedent(
    """
    import json

    from llmotel.evaluation.checks.sentiment import SentimentEvaluator
    from llmotel.evaluation.types import EvaluationInput

    results = SentimentEvaluator().evaluate(EvaluationInput(
        input_messages=[{"role": "user", "parts": [{"type": "text", "content": "This is awful, nothing works!"}]}],
        output_messages=[{"role": "assistant", "parts": [{"type": "text",
                          "content": "Das tut mir wirklich leid. Ich helfe dir gerne, das Problem zu lösen."}]}],
    ))
    print(json.dumps([[r.name, r.label] for r in results]))
    """
)


def test_scoring_works_without_network(tmp_path: Path) -> None:
    env = {**os.environ, "FTLANG_CACHE": str(tmp_path / "ftlang-cache"), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", NO_NETWORK_SCRIPT], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == [
        ["input_sentiment", "negative"],
        ["output_sentiment", "skipped"],
    ]
    assert not (tmp_path / "ftlang-cache").exists()
