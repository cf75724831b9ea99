"""Apply a text redactor to everything in a span that may carry user content.

Every string attribute (and string in a list or in a JSON document) of the span, of its events and its status
description is redacted, except attributes known to hold identifiers, enums or numbers (model names, ids,
server address, finish reasons, ...): those are not user content, and "redacting" an IP-shaped server address
would corrupt telemetry. Unknown attributes are redacted, so content from other instrumentations is covered.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping
from typing import Any, Protocol

from llmotel import semconv as sc


class TextRedactor(Protocol):
    """Anything that redacts one text and says how many of each entity type it found."""

    def redact(self, text: str) -> tuple[str, Mapping[str, int]]: ...


_SAFE_KEYS = frozenset({
    sc.GEN_AI_OPERATION_NAME, sc.GEN_AI_PROVIDER_NAME, "gen_ai.system", sc.GEN_AI_PROMPT_NAME,
    sc.GEN_AI_PROMPT_VERSION, sc.GEN_AI_CONVERSATION_ID, sc.GEN_AI_EVALUATION_NAME, sc.GEN_AI_EVALUATION_SCORE_LABEL,
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
    sc.LLMOTEL_EVALUATION_METADATA_PREFIX,
)
_UNSAFE_UNDER_SAFE_PREFIX = frozenset({"gen_ai.request.stop_sequences"})


def is_content_key(key: str) -> bool:
    """Whether an attribute may carry user content (and so is redacted)."""
    if key in _SAFE_KEYS:
        return False
    return key in _UNSAFE_UNDER_SAFE_PREFIX or not key.startswith(_SAFE_PREFIXES)


class SpanRedaction:
    """Redacts one span's attributes, event attributes and status text, counting what it found."""

    def __init__(self, redactor: TextRedactor) -> None:
        self._redactor = redactor
        self.found: Counter[str] = Counter()

    def text(self, value: str) -> str:
        """Redact a string attribute; a JSON document is redacted leaf by leaf so it stays valid JSON."""
        if value[:1] in ("[", "{"):
            try:
                document = json.loads(value)
            except ValueError:
                document = None
            if isinstance(document, (list, dict)):
                changed, redacted = self._walk(document)
                return json.dumps(redacted, ensure_ascii=False, separators=(",", ":")) if changed else value
        return self._leaf(value)

    def _leaf(self, value: str) -> str:
        if not value:
            return value
        redacted, counts = self._redactor.redact(value)
        if counts:
            self.found.update(counts)
        return redacted

    def _walk(self, node: Any) -> tuple[bool, Any]:
        if isinstance(node, str):
            out = self._leaf(node)
            return out != node, out
        if isinstance(node, list):
            results = [self._walk(item) for item in node]
            return any(c for c, _ in results), [v for _, v in results]
        if isinstance(node, dict):
            changed = False
            redacted: dict[str, Any] = {}
            for key, item in node.items():
                item_changed, redacted[key] = self._walk(item)
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
                out[key] = self.text(value)
            elif isinstance(value, (list, tuple)) and any(isinstance(v, str) for v in value):
                out[key] = tuple(self.text(v) if isinstance(v, str) else v for v in value)
            else:
                out[key] = value
        return out
