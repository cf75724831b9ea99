"""FailureToAnswerEvaluator on real phrase lists: categories in several languages, false positives, options."""

from __future__ import annotations

import json
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from importlib import resources
from typing import Any

import pytest

from llmotel.errors import ConfigurationError
from llmotel.evaluation.checks.failure_to_answer import (
    CATEGORIES,
    PHRASE_CATEGORIES,
    FailureToAnswerEvaluator,
    compile_phrase,
    is_empty_code_object,
    normalize,
    phrase_lists,
)
from llmotel.evaluation.types import LABEL_SKIPPED, EvaluationInput, EvaluationResult

QUESTION = "What is the boiling point of water at sea level?"


def make_input(
    answer: str | None = None,
    *,
    question: str = QUESTION,
    parts: list[Any] | None = None,
    finish_reason: str = "stop",
) -> EvaluationInput:
    if parts is None:
        parts = [{"type": "text", "content": answer or ""}]
    return EvaluationInput(
        input_messages=[{"role": "user", "parts": [{"type": "text", "content": question}]}],
        output_messages=[{"role": "assistant", "parts": parts, "finish_reason": finish_reason}],
    )


def judge(answer: str, evaluator: FailureToAnswerEvaluator | None = None, **kwargs: Any) -> EvaluationResult:
    result = (evaluator or FailureToAnswerEvaluator()).evaluate(make_input(answer, **kwargs))
    assert isinstance(result, EvaluationResult)
    return result


def assert_failure(result: EvaluationResult, category: str, language: str | None = None) -> None:
    assert result.name == "failure_to_answer"
    assert (result.label, result.score, result.assessment) == (category, 1.0, "fail"), result
    assert result.metadata["category"] == category
    if language is not None:
        assert result.metadata["language"] == language


def assert_answered(result: EvaluationResult) -> None:
    assert (result.label, result.score, result.assessment) == ("answered", 0.0, "pass"), result
    assert result.metadata == {"category": "answered"}


REFUSALS = [
    ("en", "I'm sorry, but I can't help with that."),
    ("en", "As an AI language model, I cannot browse the internet."),
    ("en", "I must respectfully decline this request."),
    ("en", "Great question! Unfortunately, I\u2019m not able to help with that request."),
    ("de", "Es tut mir leid, aber dabei kann ich Ihnen nicht helfen."),
    ("de", "Ich kann Ihnen dabei leider nicht weiterhelfen."),
    ("fr", "Désolé, je ne peux pas vous aider avec cela."),
    ("fr", "En tant qu'IA, je ne peux pas accéder à vos fichiers."),
    ("es", "Lo siento, pero no puedo ayudarte con eso."),
    ("pt", "Desculpe, mas não posso ajudar com isso."),
    ("it", "Mi dispiace, ma non posso aiutarti con questa richiesta."),
    ("nl", "Sorry, ik kan je daar helaas niet mee helpen."),
    ("pl", "Przepraszam, ale nie mogę w tym pomóc."),
    ("sv", "Tyvärr kan jag inte hjälpa dig med det."),
]

NO_CONTENT = [
    ("en", "I don't have that information."),
    ("en", "The provided context does not mention the boiling point."),
    ("en", "N/A"),
    ("en", "Unknown."),
    ("en", "None"),
    ("en", "Not found"),
    ("en", "Sorry, no information available."),
    ("de", "Dazu habe ich leider keine Informationen."),
    ("de", "Keine Ahnung."),
    ("fr", "Je n'ai pas d'informations à ce sujet."),
    ("fr", "Le contexte fourni ne mentionne pas cette valeur."),
    ("es", "No tengo información sobre eso."),
    ("es", "Desconocido"),
    ("pt", "Não encontrei nenhuma informação sobre isso."),
    ("it", "Non ho informazioni su questo argomento."),
    ("nl", "Er is helaas geen informatie beschikbaar."),
    ("nl", "Onbekend"),
]

REDIRECTIONS = [
    ("en", "Please contact our support team for help."),
    ("en", "You should consult a doctor."),
    ("en", "Please refer to the official documentation."),
    ("en", "I'd recommend reaching out to a licensed electrician."),
    ("de", "Bitte wenden Sie sich an den Kundendienst."),
    ("de", "Ich empfehle Ihnen, einen Arzt zu konsultieren."),
    ("fr", "Veuillez contacter votre médecin."),
    ("es", "Te recomiendo consultar a un abogado."),
    ("pt", "Entre em contato com o suporte técnico."),
    ("it", "Ti consiglio di consultare un medico."),
    ("nl", "Neem contact op met de klantenservice."),
]


@pytest.mark.parametrize(("language", "answer"), REFUSALS)
def test_refusals_in_several_languages(language: str, answer: str) -> None:
    result = judge(answer)
    assert_failure(result, "refusal", language)
    assert result.metadata["rule"] == "opening_phrase"


@pytest.mark.parametrize(("language", "answer"), NO_CONTENT)
def test_no_content_in_several_languages(language: str, answer: str) -> None:
    assert_failure(judge(answer), "no_content", language)


@pytest.mark.parametrize(("language", "answer"), REDIRECTIONS)
def test_redirections_in_several_languages(language: str, answer: str) -> None:
    assert_failure(judge(answer), "redirection", language)


@pytest.mark.parametrize("answer", ["", "   ", "\n\t \n", "\u200b\u00a0"])
def test_empty_response(answer: str) -> None:
    result = judge(answer)
    assert_failure(result, "empty_response")
    assert "language" not in result.metadata


def test_no_text_parts_at_all_is_empty() -> None:
    assert_failure(judge("", parts=[]), "empty_response")
    reasoning_only = [{"type": "reasoning", "content": "Let me think about boiling points."}]
    assert_failure(judge("", parts=reasoning_only), "empty_response")


@pytest.mark.parametrize(
    "answer",
    ["{}", "[]", '""', "null", " { } ", "```json\n{}\n```", "```\n\n```", "```json\n[]\n```", "`{}`",
     '{"results": []}', '{"answer": null, "sources": []}'],
)
def test_empty_code_object(answer: str) -> None:
    assert_failure(judge(answer), "empty_code_object")


@pytest.mark.parametrize(
    "answer", ['{"count": 0}', "[0]", '{"ok": false}', "```python\nprint('hi')\n```", "0", "false"]
)
def test_non_empty_code_objects_are_answers(answer: str) -> None:
    assert not is_empty_code_object(answer)
    assert_answered(judge(answer))


@pytest.mark.parametrize("answer", ["...", "?", " - "])
def test_punctuation_only_says_nothing(answer: str) -> None:
    result = judge(answer)
    assert_failure(result, "no_content")
    assert result.metadata["rule"] == "no_words"


@pytest.mark.parametrize(
    "answer",
    [
        "100 °C (212 °F).",
        "\N{THUMBS UP SIGN}",
        "The file was not found because the path is wrong; use /etc/app/config.yaml instead.",
        "If the key is not found, the function returns None, so check the result before using it.",
        "I can't help but notice the bug: close the file before reading it again.",
        "I don't know the exact number, but it is about 40% of the total.",
        "To reach Maria, contact her by email at the address on her profile and mention the invoice number.",
        "None of the three options is correct: the right value is 100 °C at sea level, lower at altitude.",
        "Unknown values are replaced by the column median before training.",
    ],
)
def test_helpful_answers_are_not_failures(answer: str) -> None:
    assert_answered(judge(answer))


def test_refusal_phrase_inside_a_long_helpful_answer_is_not_a_failure() -> None:
    answer = (
        "I'm sorry, but I can't give medical advice. However, here is what is generally known: "
        + "water boils at 100 degrees Celsius at sea level, and at lower temperatures higher up. " * 6
    )
    assert_answered(judge(answer))


def test_refusal_phrase_late_in_a_short_answer_is_not_a_failure() -> None:
    answer = (
        "Water boils at 100 degrees Celsius at sea level and at about 93 degrees in Denver; "
        "I can't help with the exact value for your kettle."
    )
    assert_answered(judge(answer))
    assert_failure(judge(answer, FailureToAnswerEvaluator(opening_words=30)), "refusal", "en")


def test_redirection_the_user_asked_for_is_an_answer() -> None:
    assert_answered(judge("Please contact our support team at help@example.com.", question="How do I contact support?"))
    answer = "You should consult a doctor about that rash."
    assert_answered(judge(answer, question="Should I see a doctor about my rash?"))
    assert_failure(judge(answer, question="How do I treat a rash?"), "redirection")


def test_tool_call_only_answer_is_answered() -> None:
    tool_call = {"type": "tool_call", "id": "call_1", "name": "search", "arguments": {"q": "boiling point"}}
    assert_answered(judge("", parts=[tool_call]))
    # A tool call with refusal-sounding text is still an action, not a refusal.
    assert_answered(judge("", parts=[{"type": "text", "content": "I can't answer that yet."}, tool_call]))


def test_refusal_part_and_content_filter() -> None:
    result = judge("", parts=[{"type": "refusal", "content": "I can't assist with that."}])
    assert_failure(result, "refusal")
    assert result.metadata["rule"] == "refusal_part"
    result = judge("", parts=[], finish_reason="content_filter")
    assert_failure(result, "refusal")
    assert result.metadata["rule"] == "content_filter"


def test_no_output_messages_is_skipped() -> None:
    result = FailureToAnswerEvaluator().evaluate(EvaluationInput())
    assert result.label == LABEL_SKIPPED
    assert result.score is None and result.assessment is None


def test_odd_parts_and_messages_do_not_break_it() -> None:
    evaluator = FailureToAnswerEvaluator()
    odd = EvaluationInput(output_messages=[
        {"role": "assistant", "parts": None},
        {"role": "assistant", "parts": ["plain string", 42, {"type": "image", "uri": "x"}, {"type": "text"}]},
    ])
    assert evaluator.evaluate(odd).label == "empty_response"
    text_with_odd = EvaluationInput(output_messages=[
        {"role": "assistant", "parts": [{"type": "text", "content": None}, {"type": "text", "content": "N/A"}]},
    ])
    assert evaluator.evaluate(text_with_odd).label == "no_content"


def test_huge_answer_is_capped_and_answered() -> None:
    huge = "I'm sorry, but I can't help with that. " + "Here is more about kettles. " * 100_000
    assert_answered(judge(huge))
    # Only the first max_answer_chars are examined: one giant "word" after a refusal leaves a short answer.
    assert_failure(judge("I'm sorry, but I can't help with that. " + "x" * 2_000_000), "refusal")
    assert_answered(judge(" " * 10_000 + "Water boils at 100 degrees Celsius."))


def test_max_answer_chars_examines_only_the_start() -> None:
    answer = "I'm sorry, but I can't help with that. " + "Here is a long unrelated story about kettles. " * 40
    assert_answered(judge(answer))
    assert_failure(judge(answer, FailureToAnswerEvaluator(max_answer_chars=100)), "refusal")


def test_max_failure_words() -> None:
    answer = "I can't help with that, but here are a few general notes about water and heat and pressure at altitude."
    assert_failure(judge(answer), "refusal")
    assert_answered(judge(answer, FailureToAnswerEvaluator(max_failure_words=10)))


def test_categories_option_limits_what_is_checked() -> None:
    only_refusal = FailureToAnswerEvaluator(categories=["refusal"])
    assert_failure(judge("I'm sorry, but I can't help with that.", only_refusal), "refusal")
    for answer in ["", "{}", "N/A", "Please contact our support team."]:
        assert_answered(judge(answer, only_refusal))
    no_redirect = FailureToAnswerEvaluator(categories=[c for c in CATEGORIES if c != "redirection"])
    assert_answered(judge("You should consult a doctor.", no_redirect))


@pytest.mark.parametrize(
    ("kwargs", "setting"),
    [
        ({"categories": "refusal"}, "categories"),
        ({"categories": []}, "categories"),
        ({"categories": ["refusal", "rudeness"]}, "categories"),
        ({"categories": 3}, "categories"),
        ({"max_answer_chars": 10}, "max_answer_chars"),
        ({"max_answer_chars": True}, "max_answer_chars"),
        ({"max_answer_chars": 500.0}, "max_answer_chars"),
        ({"opening_words": 0}, "opening_words"),
        ({"max_failure_words": -1}, "max_failure_words"),
    ],
)
def test_invalid_options(kwargs: dict[str, Any], setting: str) -> None:
    with pytest.raises(ConfigurationError) as raised:
        FailureToAnswerEvaluator(**kwargs)
    assert raised.value.setting == setting


def test_results_carry_no_user_content() -> None:
    secret = "Zanzibarquux"
    for answer in [f"I'm sorry, but I can't help with {secret}.", f"Please contact {secret} support team.", secret]:
        result = judge(answer, question=f"Tell me about {secret}")
        assert secret.lower() not in (result.explanation or "").lower()
        for value in result.metadata.values():
            assert isinstance(value, (str, int, float, bool))
            assert secret.lower() not in str(value).lower()


def test_every_shipped_language_file_loads_with_all_categories() -> None:
    lists = phrase_lists()
    assert lists is phrase_lists()  # compiled once, shared
    languages = [p.language for p in lists]
    assert languages[0] == "en"
    assert {"en", "de", "fr", "es", "pt", "it", "nl"} <= set(languages)
    folder = resources.files("llmotel.evaluation.checks") / "data" / "failure_to_answer"
    names = sorted(f.name[:-5] for f in folder.iterdir() if f.name.endswith(".json"))
    assert sorted(languages) == names
    for plist in lists:
        assert set(plist.opening) == set(PHRASE_CATEGORIES), plist.language
        assert "no_content" in plist.whole, plist.language
        data = json.loads((folder / f"{plist.language}.json").read_text(encoding="utf-8"))
        assert data["language"] == plist.language


def test_phrase_syntax() -> None:
    import re

    def matches(phrase: str, text: str) -> bool:
        return re.fullmatch(compile_phrase(phrase), f"{normalize(text)} ") is not None

    assert matches("I can't (help|assist) you", "i CAN\u2019T assist you!")
    assert matches("i (really|) can't", "I can't") and matches("i (really|) can't", "I really can't")
    assert matches("consult * doctor", "consult your doctor") and not matches("consult * doctor", "consult doctor")
    assert matches("Arzt für Geschäftsleute", "arzt fur geschaftsleute")
    assert matches("weiß", "WEISS")
    assert re.match(compile_phrase("i can't help !but"), "i can t help but notice ") is None
    assert re.match(compile_phrase("i can't help !but"), "i can t help with that ") is not None
    with pytest.raises(ValueError):
        compile_phrase("... (|)")


def test_normalize() -> None:
    assert normalize("  Ça  NE   marche PAS!!! ") == "ca ne marche pas"
    assert normalize("Don\u2019t   STOP—now") == "don t stop now"
    assert normalize("***") == ""


def test_concurrent_evaluation_matches_sequential() -> None:
    evaluator = FailureToAnswerEvaluator()
    answers = [a for _, a in REFUSALS + NO_CONTENT + REDIRECTIONS] + ["", "{}", "100 °C.", "..."]
    inputs = [make_input(a) for a in answers] * 8
    expected = [evaluator.evaluate(i) for i in inputs]
    with ThreadPoolExecutor(max_workers=8) as pool:
        assert list(pool.map(evaluator.evaluate, inputs)) == expected


def test_concurrent_first_load_compiles_once() -> None:
    code = (
        "import threading\n"
        "from llmotel.evaluation.checks import failure_to_answer as f\n"
        "seen = []\n"
        "barrier = threading.Barrier(8)\n"
        "def work():\n"
        "    barrier.wait()\n"
        "    seen.append(f.phrase_lists())\n"
        "threads = [threading.Thread(target=work) for _ in range(8)]\n"
        "[t.start() for t in threads]; [t.join() for t in threads]\n"
        "assert len(seen) == 8 and all(s is seen[0] for s in seen), 'not shared'\n"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=60)
