"""Prompt injection in the user's message: a cheap heuristic pre-filter, then an LLM judge.

Two tiers of compiled patterns run on the message first (microseconds, no network):

* **strong** signals are phrasings with hardly any innocent use: "ignore all previous instructions" (in English,
  German, French, Spanish, Portuguese, Italian and Dutch), chat-template control tokens pasted into a message
  (``<|im_start|>``, ``[INST]``, ``<<SYS>>``), "Do Anything Now" / "developer mode enabled" jailbreaks. They
  decide on their own: label ``injection``, method ``heuristic``, no judge call.
* **weak** signals are a broad net: words such as "ignore", "instructions", "system prompt", "pretend",
  "jailbreak", fake role lines ("System:"), code that could be executed (SQL, script tags, shell substitutions,
  template expressions) and long base64 blobs. Most messages that hit them are innocent, so the judge (prompt
  ``data/prompt_injection.json``) decides.

Default ``judge_all=False``: the judge is only called on a weak signal, and a message without any signal is
``benign`` (method ``heuristic``). Injection attempts are a tiny share of real traffic, so judging every message
would spend nearly every judge call on benign text; the weak net is kept deliberately wide (high recall, low
precision) so that the judge supplies the precision. Its blind spot is a novel attack that avoids every listed
word, or one in a language without patterns; set ``judge_all=True`` when that recall is worth a judge call per
message.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmotel.evaluation._text import cap
from llmotel.evaluation.judge import Judge, JudgeBudgetExceeded
from llmotel.evaluation.judge.checks import (
    DEFAULT_TIMEOUT,
    JudgeCheck,
    budget_skipped,
    flag,
    judge_metadata,
)
from llmotel.evaluation.types import EvaluationInput, EvaluationResult

NAME = "prompt_injection"
LABEL_INJECTION = "injection"
LABEL_BENIGN = "benign"
CATEGORIES: tuple[str, ...] = ("instruction_override", "code_injection", "context_switching", "jailbreak")
NO_CATEGORY = "none"
METHOD_HEURISTIC = "heuristic"
METHOD_JUDGE = "judge"

# --- patterns ----------------------------------------------------------------------------------------------------
# "Words" patterns run on the folded word view (case-folded, accents stripped, punctuation and whitespace runs
# made one space); "raw" patterns on the lower-cased text with zero-width characters removed.

_ANY = r"(?:\w+ ){0,3}"  # up to three filler words ("all of the", "your", "tutte le tue")
_OVERRIDE = [
    # English
    rf"\b(?:ignore|disregard|forget|override|bypass|skip|drop) {_ANY}(?:previous|prior|above|earlier|preceding"
    rf"|former|initial|original|system|developer|existing) (?:instructions?|prompts?|rules|directions|directives"
    rf"|guidelines|messages?|commands|context|constraints)\b",
    r"\b(?:ignore|disregard|forget) (?:everything|anything|all) (?:above|before|said before|you were told|prior)\b",
    r"\b(?:ignore|disregard|forget) (?:your|all|any|the) (?:instructions|rules|guidelines|programming)\b",
    # German
    rf"\b(?:ignoriere|ignorier|ignorieren sie|vergiss|vergessen sie|missachte) {_ANY}(?:vorherigen|vorigen"
    rf"|bisherigen|obigen|fruheren|vorangegangenen|ursprunglichen) (?:anweisungen|instruktionen|befehle|regeln"
    rf"|anordnungen|vorgaben)\b",
    # French
    rf"\b(?:ignore|ignorez|oublie|oubliez|ne tiens pas compte de) {_ANY}(?:instructions|consignes|regles"
    rf"|directives) (?:precedentes|anterieures|ci dessus|initiales|d origine)\b",
    # Spanish
    rf"\b(?:ignora|ignore|ignoren|olvida|olvide|olviden) {_ANY}(?:instrucciones|indicaciones|reglas|directrices)"
    rf" (?:anteriores|previas|de arriba|iniciales|originales)\b",
    # Portuguese
    rf"\b(?:ignore|ignora|ignorem|esqueca|esquece|esquecam) {_ANY}(?:instrucoes|regras|orientacoes|diretrizes)"
    rf" (?:anteriores|previas|acima|iniciais|originais)\b",
    # Italian
    rf"\b(?:ignora|ignori|ignorate|dimentica|dimentichi) {_ANY}(?:istruzioni|regole|indicazioni|direttive)"
    rf" (?:precedenti|sopra|iniziali|originali)\b",
    # Dutch
    rf"\b(?:negeer|vergeet) {_ANY}(?:vorige|voorgaande|eerdere|bovenstaande|oorspronkelijke) (?:instructies"
    rf"|opdrachten|regels|aanwijzingen)\b",
]
_JAILBREAK = [
    r"\bdo anything now\b",
    r"\b(?:you are|you re|act as|pretend to be|become) (?:now )?(?:dan|stan|dude|aim)\b(?! \w+ing)",
    r"\b(?:developer|god|jailbreak|jailbroken|unrestricted|dan) mode (?:enabled|activated|on|engaged)\b",
    r"\b(?:enable|activate|enter) (?:developer|god|jailbreak|dan) mode\b",
    r"\byou (?:are|re) (?:now )?(?:free from|freed from|unbound by|not bound by|no longer bound by) "
    r"(?:\w+ ){0,2}(?:rules|restrictions|guidelines|policies|filters)\b",
]
_CONTROL_TOKENS = [  # raw view: chat-template tokens have no business in a user's message
    r"<\|(?:im_start|im_end|system|user|assistant|endoftext|start_header_id|end_header_id|eot_id)\|>",
    r"\[/?inst\]", r"<</?sys>>", r"<(?:start|end)_of_turn>",
]

_WEAK_WORDS = [
    r"\b(?:ignore|ignoring|disregard|override|bypass|circumvent|jailbreak\w*|unfiltered|uncensored)\b",
    r"\b(?:instructions?|system prompt|system message|initial prompt|hidden prompt|your prompt|your rules)\b",
    r"\b(?:pretend|roleplay|role play|act as|you are now|from now on|stay in character|hypothetically)\b",
    r"\b(?:no|without) (?:any )?(?:restrictions|limitations|filters|censorship|guidelines|rules)\b",
    r"\b(?:developer mode|new task|new instructions|end of (?:prompt|instructions|input))\b",
    r"\b(?:repeat|reveal|print|output|show|leak) (?:\w+ ){0,3}(?:above|prompt|instructions|verbatim)\b",
    # the same ideas in German, French, Spanish, Portuguese, Italian, Dutch
    r"\b(?:ignoriere\w*|anweisungen|systemprompt|vergiss|tu so als|ab jetzt)\b",
    r"\b(?:ignore[sz]?|consignes|oublie[sz]?|fais comme si|a partir de maintenant)\b",
    r"\b(?:ignora\w*|instrucciones|olvida\w*|finge|a partir de ahora|instrucoes|esqueca|finja|istruzioni"
    r"|dimentica|fingi|da ora in poi)\b",
    r"\b(?:negeer|instructies|vergeet|doe alsof|vanaf nu)\b",
]
_WEAK_RAW = [
    r"^\s*(?:#{1,3}\s*)?(?:system|assistant|developer)\s*:",  # a fake role line
    r"</?(?:system|instructions?|prompt|context)>",  # fake delimiters
    r"[\"'`]\s*;\s*(?:drop|delete|truncate|update|insert)\s",  # SQL injection
    r"\bunion\s+select\b|\bor\s+['\"]?1['\"]?\s*=\s*['\"]?1",
    r"<script\b|javascript:|\bon(?:error|load)\s*=",
    r"\$\([^)\n]{1,200}\)|`[^`\n]*\b(?:rm|curl|wget|nc|bash|sh)\b[^`\n]*`|\brm\s+-rf\b|\|\s*(?:ba)?sh\b",
    r"\{\{[^}\n]{1,200}\}\}|\{%[^%\n]{1,200}%\}|\$\{[^}\n]{1,200}\}",  # template expressions
    r"\b(?:__import__|os\.system|subprocess\.|eval\(|exec\()",
    r"[a-z0-9+/]{120,}={0,2}",  # a long base64 blob (a smuggled payload)
]


def _compile(patterns: list[str], *, raw: bool = False) -> re.Pattern[str]:
    return re.compile("|".join(f"(?:{p})" for p in patterns), re.MULTILINE if raw else 0)


_STRONG: tuple[tuple[str, re.Pattern[str], bool], ...] = (
    ("instruction_override", _compile(_OVERRIDE), False),
    ("jailbreak", _compile(_JAILBREAK), False),
    ("context_switching", _compile(_CONTROL_TOKENS, raw=True), True),
)
_WEAK_WORD_PATTERN = _compile(_WEAK_WORDS)
_WEAK_RAW_PATTERN = _compile(_WEAK_RAW, raw=True)
_NON_WORD = re.compile(r"[\W_]+")
# A quoted passage (straight, curly or angle quotes; a single quote only when no letter touches its outside, so
# apostrophes do not open one). A strong phrase that is only quoted ("translate 'ignore previous instructions'")
# is mentioned, not used: it becomes a weak signal.
_QUOTED = re.compile(r"\"[^\"\n]{1,300}\"|“[^”\n]{1,300}”|«[^»\n]{1,300}»|„[^“”\n]{1,300}[“”]"
                     r"|(?<!\w)['\u2018][^'\u2018\u2019\n]{1,300}['\u2019](?!\w)")
_INVISIBLE = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u200e\u200f\u2060\u2061\u2062\u2063\u2064\ufeff\u00ad"))


def _views(text: str) -> tuple[str, str]:
    """The raw view (NFKC, no zero-width characters, lower case) and the folded word view of ``text``."""
    raw = unicodedata.normalize("NFKC", text).translate(_INVISIBLE).lower()
    if raw.isascii():
        return raw, " ".join(_NON_WORD.split(raw)).strip()
    decomposed = "".join(c for c in unicodedata.normalize("NFKD", raw) if not unicodedata.combining(c))
    return raw, " ".join(_NON_WORD.split(decomposed)).strip()


@dataclass(frozen=True)
class Signal:
    """What the pre-filter found: ``"strong"`` (with the category it implies), ``"weak"`` or ``"none"``."""

    strength: str
    category: str = NO_CATEGORY


def heuristic_signal(text: str) -> Signal:
    """The pre-filter's verdict on ``text`` (already capped)."""
    raw, words = _views(text)
    unquoted_raw, unquoted_words = _views(_QUOTED.sub(" ", raw)) if _QUOTED.search(raw) else (raw, words)
    mentioned = False
    for category, pattern, on_raw in _STRONG:
        if pattern.search(unquoted_raw if on_raw else unquoted_words):
            return Signal("strong", category)
        mentioned = mentioned or pattern.search(raw if on_raw else words) is not None
    if mentioned or _WEAK_WORD_PATTERN.search(words) or _WEAK_RAW_PATTERN.search(raw):
        return Signal("weak")
    return Signal("none")


class PromptInjectionEvaluator(JudgeCheck):
    """Detects attempts in the user's message to override, escape or jailbreak the assistant's instructions.

    Result ``prompt_injection``: label ``injection`` or ``benign``, score the likelihood of an injection (1.0
    for a strong heuristic hit, 0.0 when nothing matched, the judge's confidence otherwise), assessment
    ``fail``/``pass``. Metadata: ``method`` ("heuristic" or "judge"), ``category`` (one of :data:`CATEGORIES`,
    or "none"), ``signal`` (strong/weak/none), ``truncated``, and ``judge_provider``/``judge_model`` when the
    judge decided. A message the judge's budget could not pay for is ``skipped`` (``skip_reason``
    "judge_budget"); an empty message gives no result. See the module docstring for the tiers.

    Options:
        judge_all: call the judge on every message without a strong signal, not only on weak signals.
        max_chars: only the first this many characters of the message are examined and judged.
        timeout: seconds the evaluating processor waits for this check.
    """

    name = NAME
    #: Explanations name the method and the category only.
    explanation_has_content = False

    def __init__(
        self,
        judge: Judge,
        *,
        judge_all: bool = False,
        max_chars: int = 10_000,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(judge, max_chars=max_chars, timeout=timeout)
        self.judge_all = flag("judge_all", judge_all)

    def evaluate(self, input: EvaluationInput) -> EvaluationResult | None:
        """Check the last user message; None when there is none."""
        text = input.input_text
        if not text.strip():
            return None
        # Only the start of a long message is examined: the regexes and the judge cost grow with the length.
        capped, truncated = cap(text, self.max_chars)
        signal = heuristic_signal(capped)
        base = {"signal": signal.strength, "truncated": truncated}
        if signal.strength == "strong":
            return EvaluationResult(
                NAME, score=1.0, label=LABEL_INJECTION, assessment="fail",
                explanation=f"{signal.category.replace('_', ' ')} phrasing found by the heuristic pre-filter",
                metadata={"method": METHOD_HEURISTIC, "category": signal.category, **base},
            )
        if signal.strength == "none" and not self.judge_all:
            return EvaluationResult(
                NAME, score=0.0, label=LABEL_BENIGN, assessment="pass",
                explanation="no injection signal found by the heuristic pre-filter; the judge was not asked",
                metadata={"method": METHOD_HEURISTIC, "category": NO_CATEGORY, **base},
            )
        try:
            reply = self.judge.ask(self.prompt, NAME, message=capped)
        except JudgeBudgetExceeded:
            return budget_skipped(NAME)
        return self._result(reply, base)

    def _result(self, reply: Mapping[str, Any], base: dict[str, Any]) -> EvaluationResult:
        category = str(reply["category"]) if reply.get("category") in CATEGORIES else NO_CATEGORY
        raw_confidence = reply.get("confidence")
        confidence = (
            min(max(float(raw_confidence), 0.0), 1.0) if isinstance(raw_confidence, (int, float)) else 1.0
        )
        injection = reply.get("injection") is True
        metadata = {**judge_metadata(self.judge), "category": category if injection else NO_CATEGORY, **base}
        if injection:
            what = category.replace("_", " ") if category != NO_CATEGORY else "an injection of no listed category"
            explanation = f"the judge found {what} (confidence {confidence:.2f})"
        else:
            explanation = f"the judge found no injection (confidence {confidence:.2f})"
        return EvaluationResult(
            NAME, score=confidence if injection else 1.0 - confidence,
            label=LABEL_INJECTION if injection else LABEL_BENIGN, assessment="fail" if injection else "pass",
            explanation=explanation, metadata=metadata,
        )
