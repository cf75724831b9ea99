"""Topic relevancy: is the user's message within the topics the application is meant for? Judged by an LLM.

The judge (prompt ``data/topic_relevancy.json``) sees the allowed topics as a numbered list and answers with
a number (0: none of them), so its reply can only name a configured topic. The prompt's schema is narrowed to
``0..len(topics)`` for each evaluator, and the judge's own validation (with its repair retry) enforces it.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence
from typing import Any

from llmotel.errors import ConfigurationError
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

NAME = "topic_relevancy"
LABEL_ON_TOPIC = "on_topic"
LABEL_OFF_TOPIC = "off_topic"
#: ``matched_topic`` of a greeting or thanks when ``small_talk_on_topic`` is on.
SMALL_TALK = "small_talk"
MAX_TOPICS = 100
MAX_TOPIC_CHARS = 200


def _topics(value: Any) -> tuple[str, ...]:
    accepted = f"a non-empty list of up to {MAX_TOPICS} distinct topic descriptions ({MAX_TOPIC_CHARS} chars max)"
    if isinstance(value, str) or not isinstance(value, Sequence):
        raise ConfigurationError("topics", value, accepted)
    topics = tuple(dict.fromkeys(t.strip() for t in value if isinstance(t, str)))
    if (not topics or len(topics) != len(value) or len(topics) > MAX_TOPICS
            or any(not t or len(t) > MAX_TOPIC_CHARS or "\n" in t for t in topics)):
        raise ConfigurationError("topics", value, accepted)
    return topics


class TopicRelevancyEvaluator(JudgeCheck):
    """Checks whether the user's message is about one of the allowed ``topics``.

    Result ``topic_relevancy``: label ``on_topic`` or ``off_topic``, score 1.0 or 0.0, assessment ``pass``/
    ``fail``. Metadata ``matched_topic`` (the configured topic the judge chose; ``small_talk`` for a greeting or
    thanks; "" when off topic), ``small_talk``, ``truncated``, ``method`` ("judge"), ``judge_provider``,
    ``judge_model``. An empty message gives no result; a message the judge's budget could not pay for is
    ``skipped`` (``skip_reason`` "judge_budget").

    Options:
        topics: the allowed topics, each a short description ("billing and invoices", "our mobile app").
        small_talk_on_topic: whether a greeting, thanks or goodbye counts as on topic.
        max_chars: only the first this many characters of the message go to the judge.
        timeout: seconds the evaluating processor waits for this check.
    """

    name = NAME
    #: The explanation names configured topics only.
    explanation_has_content = False

    def __init__(
        self,
        judge: Judge,
        *,
        topics: Sequence[str],
        small_talk_on_topic: bool = True,
        max_chars: int = 4_000,
        timeout: float = DEFAULT_TIMEOUT,
    ) -> None:
        super().__init__(judge, max_chars=max_chars, timeout=timeout)
        self.topics = _topics(topics)
        self.small_talk_on_topic = flag("small_talk_on_topic", small_talk_on_topic)
        prompt = self.prompt
        schema = dict(prompt.schema)
        properties = dict(schema.get("properties") or {})
        properties["topic"] = {**dict(properties.get("topic") or {}), "maximum": len(self.topics)}
        schema["properties"] = properties
        self.prompt = dataclasses.replace(prompt, schema=schema)
        self._topic_list = "\n".join(f"{i}. {t}" for i, t in enumerate(self.topics, 1))

    def evaluate(self, input: EvaluationInput) -> EvaluationResult | None:
        """Judge the last user message; None when there is none."""
        text = input.input_text
        if not text.strip():
            return None
        # Only the start of a long message is judged: the cost grows with the length.
        capped, truncated = cap(text, self.max_chars)
        try:
            reply = self.judge.ask(self.prompt, NAME, topics=self._topic_list, message=capped)
        except JudgeBudgetExceeded:
            return budget_skipped(NAME)
        return self._result(reply, truncated)

    def _result(self, reply: Mapping[str, Any], truncated: bool) -> EvaluationResult:
        number = reply.get("topic")
        small_talk = reply.get("small_talk") is True
        index = number if isinstance(number, int) and not isinstance(number, bool) else 0
        if 1 <= index <= len(self.topics):
            matched, explanation = self.topics[index - 1], f"about the allowed topic {self.topics[index - 1]!r}"
        elif small_talk and self.small_talk_on_topic:
            matched, explanation = SMALL_TALK, "small talk (greeting, thanks or goodbye)"
        else:
            matched = ""
            explanation = "small talk, not counted as on topic" if small_talk else "about none of the allowed topics"
        on_topic = bool(matched)
        metadata = {**judge_metadata(self.judge), "matched_topic": matched, "small_talk": small_talk,
                    "truncated": truncated}
        return EvaluationResult(
            NAME, score=1.0 if on_topic else 0.0, label=LABEL_ON_TOPIC if on_topic else LABEL_OFF_TOPIC,
            assessment="pass" if on_topic else "fail", explanation=explanation, metadata=metadata,
        )
