"""Failure to answer: did the model answer, or did it refuse, deflect, say nothing, or return an empty object?

Categories, checked in this order (the first that applies wins):

``empty_response``
    No text (whitespace only) and no tool call.
``empty_code_object``
    The whole answer is ``{}``, ``[]``, ``""``, ``null``, an object whose every value is empty, or an empty
    code block (```` ```json\\n{}\\n``` ````, ```` ```\\n``` ````).
``refusal``
    A refusal part in the output messages (``{"type": "refusal"}``), an empty answer cut by the provider's
    content filter, or a refusal phrase ("I can't help with that", "As an AI language model, I cannot").
``no_content``
    "I don't have that information", "the context does not mention ..."; terse ones ("N/A", "unknown",
    "none", "not found") only when they are the whole answer.
``redirection``
    "please contact support", "consult a doctor", "refer to the documentation".

Phrase lists live in ``data/failure_to_answer/<language>.json`` (``{"language", "opening": {category: [phrase]},
"whole": {category: [phrase]}, "overlap_stopwords": [word]}``); both phrases and answers are normalised the same
way (case-folded, accents stripped, punctuation and whitespace collapsed to single spaces) and the lists are
compiled once per process. Phrase syntax: words; ``(a|b c|)`` a choice (an empty choice makes it optional);
``*`` any one word; ``!word`` "not followed by that word" (``i can't help !but``).

The rule against false positives: a phrase only counts when

* it opens the answer: it starts within the first ``opening_words`` words (a refusal that comes later, after
  some content, is part of an answer), and
* the answer is short: at most ``max_failure_words`` words (a long answer that opens with "I'm not a doctor,
  but ..." or mentions "not found" in passing still says something), and
* for ``redirection`` only: the user did not ask for it; when a content word of the matched phrase ("support",
  "doctor", "documentation") is in the user's question, pointing there is the answer.

Terse ``no_content`` phrases ("none", "unknown", "N/A", "I don't know") additionally have to be (almost) the
whole answer: at most :data:`WHOLE_ANSWER_SLACK` other words around them.

A tool call in the output counts as an answer: the model acted instead of replying in text.
"""

from __future__ import annotations

import json
import re
import threading
import unicodedata
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from importlib import resources
from itertools import islice
from typing import Any

from llmotel.errors import ConfigurationError
from llmotel.evaluation.types import LABEL_SKIPPED, EvaluationInput, EvaluationResult

NAME = "failure_to_answer"
LABEL_ANSWERED = "answered"
#: Every category, in the order they are checked.
CATEGORIES: tuple[str, ...] = ("empty_response", "empty_code_object", "refusal", "no_content", "redirection")
#: Categories found through the phrase lists; on a tie in position the earlier one wins.
PHRASE_CATEGORIES: tuple[str, ...] = ("refusal", "no_content", "redirection")
#: How many other words a terse "whole answer" phrase may have around it ("Sorry, unknown." still counts).
WHOLE_ANSWER_SLACK = 3

# A structured reply is only parsed when it is small: an "empty object" cannot be long.
_MAX_CODE_OBJECT_CHARS = 2_000
# Opening phrases are searched in the first opening_words + this many words.
_LONGEST_PHRASE_WORDS = 30
# Words after a redirection phrase that may name its target.
_TARGET_WORDS = 4
# Whole-answer phrases are only tried on answers this short.
_WHOLE_ANSWER_MAX_WORDS = 2 * WHOLE_ANSWER_SLACK + 8
_NON_WORD = re.compile(r"[\W_]+")
_VISIBLE = re.compile(r"\S")
_PHRASE_TOKEN = re.compile(r"\(([^()]*)\)|(\S+)")
_CODE_FENCE = re.compile(r"^```[\w+.-]*[ \t]*\n?(.*?)\n?```$", re.DOTALL)
_INVISIBLE = {"Cf", "Zs", "Zl", "Zp", "Cc"}


def normalize(text: str) -> str:
    """Case-folded, accent-free text with every run of punctuation/whitespace made one space."""
    decomposed = unicodedata.normalize("NFKD", text)
    if not decomposed.isascii():
        decomposed = "".join(c for c in decomposed if not unicodedata.combining(c))
    return " ".join(t for t in _NON_WORD.split(decomposed.casefold()) if t)


def _render_words(words: str) -> str:
    """Regex source for a space-separated run of phrase words; ``*`` stands for any one word."""
    out: list[str] = []
    for word in words.split():
        if word == "*":
            out.append(r"\S+")
        else:
            out.extend(re.escape(t) for t in normalize(word).split())
    return " ".join(out)


def compile_phrase(phrase: str) -> str:
    """Regex source for one phrase of the phrase-list syntax.

    Words are normalised like answers; ``(a|b c|)`` is a choice (an empty choice makes it optional); ``*`` is
    any one word; ``!word`` means "not followed by that word" ("i can't help !but"). The source matches a run of
    whole words in normalised text padded with spaces, each word followed by one space (so matches always end at
    a word boundary).
    """
    parts: list[str] = []
    for match in _PHRASE_TOKEN.finditer(phrase):
        group, word = match.groups()
        if group is not None:
            choices = group.split("|")
            rendered = sorted({r for r in (_render_words(c) for c in choices) if r}, key=len, reverse=True)
            if not rendered:
                continue
            optional = "?" if any(not c.strip() for c in choices) else ""
            parts.append(f"(?:(?:{'|'.join(rendered)}) ){optional}")
        elif word.startswith("!") and len(word) > 1:
            parts.append(f"(?!{_render_words(word[1:])} )")
        else:
            rendered_word = _render_words(word)
            if rendered_word:
                parts.append(rendered_word + " ")
    source = "".join(parts)
    if not any(not p.startswith("(?!") for p in parts):
        raise ValueError(f"phrase {phrase!r} has no words")
    return source


@dataclass(frozen=True)
class PhraseList:
    """One language's compiled phrase lists."""

    language: str
    #: category -> regex over the padded normalised answer, matching at a word start (leading space).
    opening: Mapping[str, re.Pattern[str]]
    #: category -> regex that must match the whole padded answer (a few extra words allowed).
    whole: Mapping[str, re.Pattern[str]]
    #: words of a matched phrase that do not show the user asked for the redirect target ("please", "your").
    overlap_stopwords: frozenset[str]


def _alternation(phrases: Iterable[str]) -> str:
    return "|".join(sorted({compile_phrase(p) for p in phrases}, key=len, reverse=True))


def load_phrase_list(language: str, data: Mapping[str, Any]) -> PhraseList:
    """Compile one language file's content (see the module docstring for the file format)."""
    opening: dict[str, re.Pattern[str]] = {}
    whole: dict[str, re.Pattern[str]] = {}
    for mode, target in (("opening", opening), ("whole", whole)):
        for category, phrases in (data.get(mode) or {}).items():
            if category not in PHRASE_CATEGORIES:
                raise ValueError(f"{language}: unknown category {category!r} under {mode!r}")
            if not phrases:
                continue
            body = _alternation(phrases)
            if mode == "opening":
                target[category] = re.compile(f" (?:{body})")
            else:
                slack = f"(?:\\S+ ){{0,{WHOLE_ANSWER_SLACK}}}"
                target[category] = re.compile(f" {slack}(?:{body}){slack}")
    stopwords = frozenset(normalize(" ".join(data.get("overlap_stopwords") or [])).split())
    return PhraseList(language, opening, whole, stopwords)


_LOCK = threading.Lock()
_PHRASE_LISTS: tuple[PhraseList, ...] | None = None


def phrase_lists() -> tuple[PhraseList, ...]:
    """Every shipped language's phrase lists, compiled on first use and shared (English first)."""
    global _PHRASE_LISTS
    if _PHRASE_LISTS is None:
        with _LOCK:
            if _PHRASE_LISTS is None:
                folder = resources.files("llmotel.evaluation.checks") / "data" / "failure_to_answer"
                loaded = []
                for entry in folder.iterdir():
                    if entry.name.endswith(".json"):
                        data = json.loads(entry.read_text(encoding="utf-8"))
                        loaded.append(load_phrase_list(data.get("language") or entry.name[:-5], data))
                loaded.sort(key=lambda p: (p.language != "en", p.language))
                _PHRASE_LISTS = tuple(loaded)
    return _PHRASE_LISTS


def _is_empty_value(value: Any) -> bool:
    if value is None or value == "" or value == [] or value == {}:
        return True
    if isinstance(value, Mapping):
        return all(_is_empty_value(v) for v in value.values())
    return False


def is_empty_code_object(text: str) -> bool:
    """True when the whole answer is an empty JSON value or an empty code block."""
    stripped = text.strip()
    if len(stripped) > _MAX_CODE_OBJECT_CHARS:
        return False
    fenced = _CODE_FENCE.match(stripped)
    if fenced:
        stripped = fenced.group(1).strip()
        if not stripped:
            return True
    stripped = stripped.strip("`").strip()
    if not stripped or stripped[0] not in '{["n':
        return False
    try:
        value = json.loads(stripped)
    except ValueError:
        return False
    return _is_empty_value(value)


def _is_blank(text: str) -> bool:
    """True for text of whitespace and invisible characters only (stops at the first visible one)."""
    return all(unicodedata.category(c) in _INVISIBLE for c in text)


def _word_count(text: str, limit: int) -> int:
    """Words in ``text``, counting no further than ``limit + 1`` (cheap on huge answers)."""
    return sum(1 for _ in islice(re.finditer(r"\w+", text), limit + 1))


@dataclass(frozen=True)
class _Match:
    category: str
    language: str
    rule: str
    position: int = 0


class FailureToAnswerEvaluator:
    """Flags answers that are empty, refuse, redirect elsewhere, or say there is nothing to say.

    One result named ``failure_to_answer``: label = the category or ``answered``, score 1.0 for a failure and
    0.0 for an answer, assessment ``fail``/``pass``; metadata ``category``, ``rule`` (what decided it) and,
    for phrase matches, ``language`` (of the phrase list that matched). Spans without any output message
    get a ``skipped`` result.

    Options:
        categories: the categories to check (default: all of :data:`CATEGORIES`).
        max_answer_chars: only the first this many characters of the answer are examined.
        opening_words: a phrase counts only when it starts within this many words of the answer's start.
        max_failure_words: an answer longer than this many words is never a phrase-based failure.
    """

    name = NAME
    #: Explanations name categories and languages only, so they are exported even with content capture off.
    explanation_has_content = False
    #: CPU-bound with a capped input and no I/O: runs on the evaluation worker's thread (see Evaluator).
    cpu_bound = True

    def __init__(
        self,
        *,
        categories: Iterable[str] = CATEGORIES,
        max_answer_chars: int = 2_000,
        opening_words: int = 15,
        max_failure_words: int = 60,
    ) -> None:
        if isinstance(categories, str) or not isinstance(categories, Iterable):
            raise ConfigurationError("categories", categories, "a list of " + ", ".join(CATEGORIES))
        chosen = tuple(categories)
        unknown = [c for c in chosen if c not in CATEGORIES]
        if not chosen or unknown:
            raise ConfigurationError("categories", unknown[0] if unknown else chosen, CATEGORIES)
        self.categories: frozenset[str] = frozenset(chosen)
        self.max_answer_chars = _positive_int("max_answer_chars", max_answer_chars, minimum=100)
        self.opening_words = _positive_int("opening_words", opening_words, minimum=1)
        self.max_failure_words = _positive_int("max_failure_words", max_failure_words, minimum=1)

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        """Judge the model's answer in ``input`` (its text, tool calls and output message parts)."""
        if not input.output_messages:
            return EvaluationResult(NAME, label=LABEL_SKIPPED, explanation="The span has no output messages.")
        found = self._classify(input)
        if found is None:
            return EvaluationResult(
                NAME, score=0.0, label=LABEL_ANSWERED, assessment="pass",
                explanation="The model answered.", metadata={"category": LABEL_ANSWERED},
            )
        metadata: dict[str, Any] = {"category": found.category, "rule": found.rule}
        if found.language:
            metadata["language"] = found.language
        return EvaluationResult(
            NAME, score=1.0, label=found.category, assessment="fail",
            explanation=_explain(found), metadata=metadata,
        )

    def _classify(self, input: EvaluationInput) -> _Match | None:
        if input.output_tool_calls:
            return None
        messages = [m for m in input.output_messages if isinstance(m, Mapping)]
        refusal_part = any(
            isinstance(part, Mapping) and part.get("type") == "refusal"
            for message in messages for part in (message.get("parts") or [])
        )
        if refusal_part and "refusal" in self.categories:
            return _Match("refusal", "", "refusal_part")
        text = input.output_text
        if _is_blank(text):
            filtered = any(m.get("finish_reason") == "content_filter" for m in messages)
            if filtered and "refusal" in self.categories:
                return _Match("refusal", "", "content_filter")
            return _Match("empty_response", "", "blank") if "empty_response" in self.categories else None
        if "empty_code_object" in self.categories and is_empty_code_object(text):
            return _Match("empty_code_object", "", "empty_value")
        if not self.categories.intersection(PHRASE_CATEGORIES):
            return None
        # Only the start of a long answer (after leading whitespace) is examined: phrases count only near the start.
        first = _VISIBLE.search(text)
        start = first.start() if first else 0
        examined = text[start : start + self.max_answer_chars]
        normalized = normalize(examined)
        if not normalized:
            # Only punctuation ("...", "-", "?") says nothing; symbols and emoji ("\N{THUMBS UP SIGN}") do.
            punctuation_only = all(unicodedata.category(c)[0] == "P" or _is_blank(c) for c in examined)
            if punctuation_only and "no_content" in self.categories:
                return _Match("no_content", "", "no_words")
            return None
        if _word_count(examined, self.max_failure_words) > self.max_failure_words:
            return None
        return self._phrase_match(normalized, input.input_text)

    def _phrase_match(self, normalized: str, question: str) -> _Match | None:
        padded = f" {normalized} "
        words = padded.count(" ") - 1
        # A phrase must start before the opening_words-th word; the search runs on the first words only.
        limit = _nth_space(padded, self.opening_words)
        cut = _nth_space(padded, self.opening_words + _LONGEST_PHRASE_WORDS)
        head = padded if cut < 0 else padded[: cut + 1]
        best: _Match | None = None
        question_words: frozenset[str] | None = None
        for plist in phrase_lists():
            for category in PHRASE_CATEGORIES:
                if category not in self.categories:
                    continue
                whole = plist.whole.get(category)
                if whole is not None and words <= _WHOLE_ANSWER_MAX_WORDS and whole.fullmatch(padded):
                    best = _better(best, _Match(category, plist.language, "whole_answer", 0))
                    continue
                regex = plist.opening.get(category)
                found = regex.search(head) if regex is not None else None
                if found is None or (limit >= 0 and found.start() >= limit):
                    continue
                if category == "redirection":
                    if question_words is None:
                        question_words = frozenset(normalize(question[: self.max_answer_chars]).split())
                    # The phrase and the few words after it name the target ("consult" + "a doctor").
                    following = padded[found.start():].split(" ", found.group(0).count(" ") + _TARGET_WORDS)
                    if _asked_for(following[:-1], question_words, plist.overlap_stopwords):
                        continue
                position = padded.count(" ", 0, found.start())
                best = _better(best, _Match(category, plist.language, "opening_phrase", position))
        return best


def _asked_for(matched: Sequence[str], question_words: frozenset[str], stopwords: frozenset[str]) -> bool:
    """True when a content word of a redirect ("support", "doctor") is in the user's question."""
    return any(len(w) >= 4 and w not in stopwords and w in question_words for w in matched)


def _better(current: _Match | None, candidate: _Match) -> _Match:
    if current is None:
        return candidate
    rank = PHRASE_CATEGORIES.index
    if (candidate.position, rank(candidate.category)) < (current.position, rank(current.category)):
        return candidate
    return current


def _nth_space(text: str, n: int) -> int:
    """Index of the ``n``-th space in ``text`` (0-based count), or -1 when there are fewer."""
    index = -1
    for _ in range(n + 1):
        index = text.find(" ", index + 1)
        if index < 0:
            return -1
    return index


def _positive_int(setting: str, value: Any, *, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(setting, value, f"an integer >= {minimum}")
    return value


_EXPLANATIONS = {
    "empty_response": "The answer has no text and no tool call.",
    "empty_code_object": "The answer is an empty object, list, string, null or code block.",
    "refusal_part": "The model returned a refusal part.",
    "content_filter": "The answer is empty and was stopped by the provider's content filter.",
    "no_words": "The answer has no words, only punctuation.",
}


def _explain(found: _Match) -> str:
    if found.rule in _EXPLANATIONS:
        return _EXPLANATIONS[found.rule]
    kind = found.category.replace("_", " ")
    if found.rule == "whole_answer":
        return f"The whole answer is a {kind} phrase ({found.language})."
    return f"The short answer opens with a {kind} phrase ({found.language})."
