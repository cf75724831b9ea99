"""Apply a text redactor to everything in a span that may carry user content.

Every string attribute (and string in a list or in a JSON document) of the span, of its events, links and status
description, the span name and event names are redacted, except attributes known to hold identifiers, enums or
numbers (model names, ids, server address, finish reasons, ...): those are not user content, and "redacting" an
IP-shaped server address would corrupt telemetry. Unknown attributes are redacted, so content from other
instrumentations is covered; so are evaluation labels and metadata (a custom evaluator or a categorical
``submit_evaluation`` may put anything there). The key a value sits under (a JSON key, an attribute name's last
part) is given to the redactor as context, as a word just before the value would be.

Content is cut to its length limit *after* redaction: the instrumentation cuts texts a margin longer than the
limit and marks the cut, and here the redacted text is cut to the limit, so no cut ever falls inside a value the
redactor had to see whole (a card number cut after 11 digits is no longer a card number).
"""

from __future__ import annotations

import functools
import inspect
import json
import re
from collections import Counter
from collections.abc import Mapping, Sequence
from typing import Any, Protocol

from llmotel import semconv as sc
from llmotel.content import STATUS_MESSAGE_LIMIT


class TextRedactor(Protocol):
    """Anything that redacts one text and says how many of each entity type it found."""

    def redact(self, text: str) -> tuple[str, Mapping[str, int]]: ...
    # A redactor may also take ``context=`` (words that precede the text, e.g. the JSON key it sits under).


_SAFE_KEYS = frozenset({
    sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, "gen_ai.system", sc.GEN_AI_PROMPT_NAME,
    sc.GEN_AI_PROMPT_VERSION, sc.GEN_AI_CONVERSATION_ID, sc.GEN_AI_EVALUATION_NAME,
    sc.GEN_AI_OUTPUT_TYPE, sc.ERROR_TYPE, "exception.type", "exception.escaped", sc.LLMOTEL_SPAN_KIND,
    sc.LLMOTEL_STREAM_ENDED_BY, sc.LLMOTEL_PROMPT_RAG_QUERY_VARIABLES, sc.LLMOTEL_PROMPT_RAG_CONTEXT_VARIABLES,
    sc.LLMOTEL_EVALUATION_METRIC_TYPE, sc.LLMOTEL_EVALUATION_ASSESSMENT, sc.LLMOTEL_EVALUATION_SOURCE,
    sc.LLMOTEL_EVALUATION_STATUS, sc.GEN_AI_TOOL_NAME, sc.GEN_AI_TOOL_CALL_ID, sc.GEN_AI_TOOL_TYPE,
    "gen_ai.agent.name", "gen_ai.agent.id", "gen_ai.data_source.id", "url.scheme",
})
# gen_ai.request.* / gen_ai.response.* / gen_ai.usage.* are parameters, ids, models and counts
_SAFE_PREFIXES = (
    "gen_ai.request.", "gen_ai.response.", "gen_ai.usage.", "gen_ai.token.", "server.", "client.port", "http.",
    "code.", "thread.", "openai.", "anthropic.", "telemetry.", "otel.", "rpc.", "network.",
)
_UNSAFE_UNDER_SAFE_PREFIX = frozenset({"gen_ai.request.stop_sequences"})


def is_content_key(key: str) -> bool:
    """Whether an attribute may carry user content (and so is redacted)."""
    if key in _SAFE_KEYS:
        return False
    return key in _UNSAFE_UNDER_SAFE_PREFIX or not key.startswith(_SAFE_PREFIXES)


_MARKER = re.compile(re.escape(sc.TRUNCATION_MARKER).replace(re.escape("{dropped}"), r"(\d+)") + "$")
_WORDS = re.compile(r"[A-Za-z]+")
_PLACEHOLDER_REACH = 64  # how far back a cut looks for the start of a replacement such as <EMAIL_ADDRESS>


@functools.lru_cache(maxsize=4096)  # the same few attribute names and JSON keys, span after span
def key_words(key: str) -> tuple[str, ...]:
    """Context words of an attribute name or JSON key: ``gen_ai.prompt.variable.phone_number`` -> phone, number."""
    return tuple(w.lower() for w in _WORDS.findall(key.rsplit(".", 1)[-1]))


def takes_context(redactor: TextRedactor) -> bool:
    """Whether ``redactor.redact`` accepts ``context=`` (ask once per redactor: the signature is slow to read)."""
    try:
        return "context" in inspect.signature(redactor.redact).parameters
    except (TypeError, ValueError):
        return False


class SpanRedaction:
    """Redacts one span's name, attributes, event names and attributes, link attributes and status text,
    counting what it found; cuts cut texts to ``text_limit`` after redacting them. ``with_context``: what
    :func:`takes_context` says of the redactor, when the caller already knows."""

    def __init__(self, redactor: TextRedactor, text_limit: int | None = None, *,
                 with_context: bool | None = None) -> None:
        self._redactor = redactor
        self._text_limit = text_limit
        self._takes_context = takes_context(redactor) if with_context is None else with_context
        self.found: Counter[str] = Counter()
        #: whether a text was cut here (after redaction)
        self.truncated = False

    def text(self, value: str, context: Sequence[str] = ()) -> str:
        """Redact a string attribute; a JSON document is redacted leaf by leaf so it stays valid JSON."""
        if value[:1] in ("[", "{"):
            try:
                document = json.loads(value)
            except ValueError:
                document = None
            if isinstance(document, (list, dict)):
                changed, redacted = self._walk(document, tuple(context))
                return json.dumps(redacted, ensure_ascii=False, separators=(",", ":")) if changed else value
        return self._leaf(value, tuple(context))

    def status_text(self, value: str) -> str:
        """A status description, redacted, then cut to the status message limit."""
        redacted = self.text(value)
        return redacted if len(redacted) <= STATUS_MESSAGE_LIMIT else _cut(redacted, STATUS_MESSAGE_LIMIT)

    def _leaf(self, value: str, context: tuple[str, ...]) -> str:
        if not value:
            return value
        if self._takes_context and context:
            redacted, counts = self._redactor.redact(value, context=context)  # type: ignore[call-arg]
        else:
            redacted, counts = self._redactor.redact(value)
        if counts:
            self.found.update(counts)
        if self._text_limit is not None and len(redacted) > self._text_limit:
            redacted = self._recut(redacted)
        return redacted

    def _recut(self, value: str) -> str:
        """A text longer than the limit (the instrumentation cuts a margin beyond it), redacted: cut it now."""
        limit = self._text_limit
        assert limit is not None
        match = _MARKER.search(value)
        body, dropped = (value[: match.start()], int(match.group(1))) if match else (value, 0)
        if len(body) <= limit:
            return value
        self.truncated = True
        return _cut(body, limit, dropped)

    def _walk(self, node: Any, context: tuple[str, ...]) -> tuple[bool, Any]:
        if isinstance(node, str):
            out = self._leaf(node, context)
            return out != node, out
        if isinstance(node, list):
            results = [self._walk(item, context) for item in node]
            return any(c for c, _ in results), [v for _, v in results]
        if isinstance(node, dict):
            changed = False
            redacted: dict[str, Any] = {}
            for key, item in node.items():
                item_changed, redacted[key] = self._walk(item, key_words(key) if isinstance(key, str) else context)
                changed = changed or item_changed
            return changed, redacted
        return False, node

    def attributes(self, attributes: Mapping[str, Any] | None) -> dict[str, Any]:
        """A redacted copy of ``attributes`` (content keys only; other values are kept as they are)."""
        out: dict[str, Any] = {}
        for key, value in (attributes or {}).items():
            if not is_content_key(key):
                out[key] = value
            elif isinstance(value, str):
                out[key] = self.text(value, key_words(key))
            elif isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value):
                words = key_words(key)
                out[key] = tuple(self.text(v, words) if isinstance(v, str) else v for v in value)
            else:
                out[key] = value
        return out


def _cut(text: str, limit: int, dropped_before: int = 0) -> str:
    """``text`` cut to ``limit`` characters with the truncation marker, never inside a replacement such as
    ``<EMAIL_ADDRESS>`` (the cut moves to its start)."""
    cut = limit
    opening = text.rfind("<", max(cut - _PLACEHOLDER_REACH, 0), cut)
    if opening != -1 and text.find(">", opening, cut) == -1:
        cut = opening
    return text[:cut] + sc.TRUNCATION_MARKER.format(dropped=dropped_before + len(text) - cut)
