"""Helpers shared by the OpenAI and Anthropic fakes: ids, tokens, models, text and JSON synthesis."""

from __future__ import annotations

import base64
import hashlib
import json
import re
import string
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

JsonDict = dict[str, Any]
SseEvent = tuple[str | None, Any]
"""One SSE event: the ``event:`` name (``None`` for none) and its data (a JSON-able value, or a raw string)."""

CREATED = 1_735_689_600
"""The fixed ``created`` timestamp of every object (2025-01-01T00:00:00Z), so responses are deterministic."""

SYSTEM_FINGERPRINT = "fp_fake0001"
DEFAULT_ANSWER = "Hello! How can I help you today?"

_ALPHABET = string.digits + string.ascii_letters
_TOKEN_RE = re.compile(r"\s*\S+")
_DATED_RE = re.compile(r"(-\d{4}-\d{2}-\d{2}|-\d{8}|-\d{4})$")

OPENAI_MODELS: Mapping[str, str] = {
    "gpt-4o": "gpt-4o-2024-08-06",
    "gpt-4o-mini": "gpt-4o-mini-2024-07-18",
    "gpt-4.1": "gpt-4.1-2025-04-14",
    "gpt-4.1-mini": "gpt-4.1-mini-2025-04-14",
    "gpt-4.1-nano": "gpt-4.1-nano-2025-04-14",
    "gpt-4-turbo": "gpt-4-turbo-2024-04-09",
    "gpt-3.5-turbo": "gpt-3.5-turbo-0125",
    "gpt-3.5-turbo-instruct": "gpt-3.5-turbo-instruct-0914",
    "gpt-5": "gpt-5-2025-08-07",
    "gpt-5-mini": "gpt-5-mini-2025-08-07",
    "o1": "o1-2024-12-17",
    "o3": "o3-2025-04-16",
    "o3-mini": "o3-mini-2025-01-31",
    "o4-mini": "o4-mini-2025-04-16",
}
ANTHROPIC_MODELS: Mapping[str, str] = {
    "claude-3-5-sonnet-latest": "claude-3-5-sonnet-20241022",
    "claude-3-5-haiku-latest": "claude-3-5-haiku-20241022",
    "claude-3-7-sonnet-latest": "claude-3-7-sonnet-20250219",
    "claude-sonnet-4-0": "claude-sonnet-4-20250514",
    "claude-opus-4-0": "claude-opus-4-20250514",
    "claude-opus-4-1": "claude-opus-4-1-20250805",
    "claude-opus-4-5": "claude-opus-4-5-20251101",
    "claude-sonnet-4-5": "claude-sonnet-4-5-20250929",
    "claude-haiku-4-5": "claude-haiku-4-5-20251001",
}


class IdFactory:
    """Thread-safe, deterministic id generator: the n-th id made since the last reset depends only on n and prefix."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._counter = 0

    def reset(self) -> None:
        with self._lock:
            self._counter = 0

    def new(self, prefix: str, length: int = 24) -> str:
        with self._lock:
            self._counter += 1
            n = self._counter
        return prefix + _base62(hashlib.sha256(f"{prefix}{n}".encode()).digest())[:length]


def _base62(data: bytes) -> str:
    number = int.from_bytes(data, "big")
    chars: list[str] = []
    while number:
        number, rem = divmod(number, len(_ALPHABET))
        chars.append(_ALPHABET[rem])
    return "".join(chars)


@dataclass
class GenContext:
    """Everything a response generator needs besides the request body."""

    ids: IdFactory
    text_override: str | None = None
    usage_override: JsonDict = field(default_factory=dict)

    def answer(self, default: str) -> str:
        """The reply text: the scripted override if any, else ``default``."""
        return default if self.text_override is None else self.text_override

    def usage(self, default: JsonDict) -> JsonDict:
        """``default`` with the scripted usage override deep-merged into it."""
        return deep_merge(default, self.usage_override)


def deep_merge(base: JsonDict, override: Mapping[str, Any]) -> JsonDict:
    """A copy of ``base`` with ``override`` merged in, recursively for nested dicts."""
    merged = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(merged.get(key), dict):
            merged[key] = deep_merge(merged[key], value)
        else:
            merged[key] = value
    return merged


def tokenize(text: str) -> list[str]:
    """Split text into fake "tokens": each whitespace-separated word with its leading whitespace."""
    return _TOKEN_RE.findall(text)


def count_tokens(text: str) -> int:
    return len(tokenize(text))


def truncate(text: str, max_tokens: int | None) -> tuple[str, bool]:
    """Cut ``text`` to ``max_tokens`` tokens; returns the text and whether it was cut."""
    tokens = tokenize(text)
    if max_tokens is None or len(tokens) <= max_tokens:
        return text, False
    return "".join(tokens[:max_tokens]), True


def split_fragments(text: str, size: int = 8) -> list[str]:
    """Split ``text`` into fixed-size fragments (at least one), as tool-argument deltas are streamed."""
    return [text[i : i + size] for i in range(0, len(text), size)] or [""]


def echo(prompt: str) -> str:
    return f"Echo: {prompt}" if prompt.strip() else DEFAULT_ANSWER


def tool_answer(result: str) -> str:
    return f"The tool returned: {result}"


def reasoning_text(prompt: str) -> str:
    return f"The user wrote: {prompt!r}. I will answer concisely." if prompt else "I will answer concisely."


def resolve_model(model: str, table: Mapping[str, str], date_suffix: str) -> str:
    """The model name a provider reports: the pinned snapshot of an alias, or a dated snapshot of an undated name."""
    if model in table:
        return table[model]
    if _DATED_RE.search(model):
        return model
    return model + date_suffix


def text_of(content: Any) -> str:
    """The text of a message's content: a string, or a list of parts/blocks with ``text`` (or nested content)."""
    if content is None:
        return ""
    if isinstance(content, str):
        return content
    if isinstance(content, Mapping):
        if isinstance(content.get("text"), str):
            return str(content["text"])
        return text_of(content.get("content") or content.get("output"))
    if isinstance(content, list):
        return " ".join(part for part in (text_of(item) for item in content) if part)
    return str(content)


def compact_json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False)


def example_from_schema(schema: Any, root: Any = None, depth: int = 0) -> Any:
    """A deterministic value that validates against a (simple) JSON schema, as a model would produce."""
    root = schema if root is None else root
    if not isinstance(schema, Mapping) or depth > 12:
        return "example"
    if "$ref" in schema:
        return example_from_schema(_resolve_ref(root, schema["$ref"]), root, depth + 1)
    if "const" in schema:
        return schema["const"]
    if schema.get("enum"):
        return schema["enum"][0]
    if "default" in schema:
        return schema["default"]
    for key in ("anyOf", "oneOf", "allOf"):
        if schema.get(key):
            return example_from_schema(_first_non_null(schema[key]), root, depth + 1)
    return _example_for_type(schema, root, depth)


def _example_for_type(schema: Mapping[str, Any], root: Any, depth: int) -> Any:
    kind = schema.get("type", "object" if "properties" in schema else "string")
    if isinstance(kind, list):
        kind = next((k for k in kind if k != "null"), "null")
    if kind == "object":
        props = schema.get("properties") or {}
        return {name: example_from_schema(sub, root, depth + 1) for name, sub in props.items()}
    if kind == "array":
        return [example_from_schema(schema.get("items", {}), root, depth + 1)]
    simple = {"integer": 1, "number": 1.5, "boolean": True, "null": None}
    if kind in simple:
        return simple[kind]
    formats = {"date-time": "2025-01-01T00:00:00Z", "date": "2025-01-01", "email": "user@example.com"}
    return formats.get(schema.get("format", ""), "example")


def _resolve_ref(root: Any, ref: str) -> Any:
    node = root
    for part in ref.lstrip("#/").split("/"):
        node = node.get(part, {}) if isinstance(node, Mapping) else {}
    return node


def _first_non_null(options: list[Any]) -> Any:
    return next((o for o in options if not (isinstance(o, Mapping) and o.get("type") == "null")), options[0])


def logprob_entries(tokens: list[str], top: int) -> list[JsonDict]:
    """Deterministic chat-completions ``logprobs.content`` entries for ``tokens``."""
    return [_logprob_entry(token, i, top) for i, token in enumerate(tokens)]


def _logprob_entry(token: str, i: int, top: int) -> JsonDict:
    logprob = -round(0.01 * (i % 7 + 1), 4)
    alternatives = [
        {"token": token if k == 0 else f"{token}{k}", "logprob": logprob - k, "bytes": list(token.encode())}
        for k in range(top)
    ]
    return {"token": token, "logprob": logprob, "bytes": list(token.encode()), "top_logprobs": alternatives}


def signature_for(text: str) -> str:
    """An opaque, deterministic "signature" for a thinking block."""
    return base64.b64encode(hashlib.sha256(text.encode()).digest() * 2).decode()


@dataclass
class JsonOutput:
    """A JSON response produced by an endpoint."""

    body: Any
    status: int = 200


@dataclass
class SseOutput:
    """A ``text/event-stream`` response produced by an endpoint."""

    events: list[SseEvent]


Output = JsonOutput | SseOutput


class RequestError(Exception):
    """Raised by an endpoint to answer with the provider's error JSON (e.g. a missing required field)."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status = status
        self.message = message


def require(body: Mapping[str, Any], *names: str) -> None:
    """Raise a 400 :class:`RequestError` unless every field in ``names`` is present."""
    for name in names:
        if body.get(name) is None:
            raise RequestError(400, f"Missing required parameter: '{name}'.")


def max_tokens_of(body: Mapping[str, Any], *names: str) -> int | None:
    """The first integer among the fields ``names`` of ``body``."""
    for name in names:
        if isinstance(body.get(name), int):
            return int(body[name])
    return None
