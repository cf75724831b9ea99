"""Judge prompts (versioned, with their output schema) and replies: the JSON object found in a reply, checked
against the schema."""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import json
import re
import string
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmotel import semconv as sc
from llmotel.evaluation.judge import _schema

PROMPT_KEYS = ("name", "version", "system", "user", "schema")
_OPTIONAL_PROMPT_KEYS = ("description",)
_PROMPT_NAME = re.compile(r"[a-z][a-z0-9_]*\Z")
MAX_FIELD_CHARS = 100_000  # per prompt field: a cost guard; the checks cap their inputs far below this already
MAX_REPLY_CHARS = 100_000  # of a reply searched for a JSON object (max_output_tokens keeps replies far smaller)
MAX_ECHOED_REPLY_CHARS = 8_000  # of a bad reply sent back in the repair call
_MAX_OBJECT_STARTS = 50  # "{" positions tried when the reply has text around its JSON object
_FENCE = re.compile(r"```[ \t]*(?:json|JSON)?[ \t]*\r?\n?(.*?)```", re.DOTALL)


class JudgeError(Exception):
    """A judge call could not give a verdict (base class of the judge's own errors)."""


class JudgePromptError(JudgeError, ValueError):
    """A judge prompt is missing, malformed, or was given the wrong fields."""


class JudgeOutputError(JudgeError):
    """The model's reply was not valid JSON or did not match the schema, even after one repair call."""



# --- prompts --------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class JudgePrompt:
    """A versioned judge prompt with its output schema (loaded from ``llmotel/evaluation/judge/data/<name>.json``).

    ``user`` is a ``str.format`` template with named fields (``"Context:\\n{context}\\n\\nAnswer:\\n{answer}"``);
    ``schema`` is the JSON schema of the reply, an object (see :mod:`llmotel.evaluation.judge._schema` for the subset).
    The judge tells the model the schema itself, so ``system`` need not repeat it.
    """

    name: str
    version: str
    system: str
    user: str
    schema: Mapping[str, Any]

    def __post_init__(self) -> None:
        for key in ("name", "version", "system", "user"):
            if not isinstance(getattr(self, key), str) or not getattr(self, key).strip():
                raise JudgePromptError(f"judge prompt {key} must be a non-empty string, got {getattr(self, key)!r}")
        problems = _schema.schema_errors(self.schema)
        if not problems and self.schema.get("type") != "object":
            problems = ["$.type: a judge reply must be an object"]
        if problems:
            raise JudgePromptError(f"judge prompt {self.name!r} has an invalid schema: {'; '.join(problems)}")
        self.fields  # noqa: B018  (parses the template: a malformed one fails here, not on the first call)

    @functools.cached_property
    def fields(self) -> frozenset[str]:
        """The names of the template's fields."""
        try:
            parsed = list(string.Formatter().parse(self.user))
        except ValueError as exc:
            raise JudgePromptError(f"judge prompt {self.name!r} has a malformed user template: {exc}") from None
        names = {field for _, field, _, _ in parsed if field is not None}
        bad = sorted(n for n in names if not n.isidentifier())
        if bad:
            raise JudgePromptError(f"judge prompt {self.name!r}: template fields must be plain names, got {bad}")
        return frozenset(names)

    @classmethod
    def from_mapping(cls, data: Any) -> JudgePrompt:
        """A prompt from a prompt file's JSON object (keys ``name, version, system, user, schema``)."""
        if not isinstance(data, Mapping):
            raise JudgePromptError("a judge prompt file must hold a JSON object")
        missing = [k for k in PROMPT_KEYS if k not in data]
        unknown = sorted(k for k in data if k not in PROMPT_KEYS and k not in _OPTIONAL_PROMPT_KEYS)
        if missing or unknown:
            raise JudgePromptError(f"judge prompt keys: missing {missing}, unknown {unknown}; expected {PROMPT_KEYS}")
        version = data["version"]
        version = str(version) if isinstance(version, int) and not isinstance(version, bool) else version
        return cls(data["name"], version, data["system"], data["user"], data["schema"])

    def render(self, values: Mapping[str, Any]) -> tuple[str, str]:
        """The system message (with the schema appended) and the user message for these field values."""
        given = set(values)
        if given != self.fields:
            raise JudgePromptError(
                f"judge prompt {self.name!r} takes fields {sorted(self.fields)}; missing {sorted(self.fields - given)}"
                f", unknown {sorted(given - self.fields)}"
            )
        user = self.user.format_map({name: _field_text(value) for name, value in values.items()})
        system = (
            f"{self.system.rstrip()}\n\nReply with one JSON object and nothing else. "
            f"It must match this JSON schema:\n{json.dumps(self.schema, ensure_ascii=False)}"
        )
        return system, user


def _field_text(value: Any) -> str:
    text = "" if value is None else value if isinstance(value, str) else str(value)
    if len(text) > MAX_FIELD_CHARS:
        text = text[:MAX_FIELD_CHARS] + sc.TRUNCATION_MARKER.format(dropped=len(text) - MAX_FIELD_CHARS)
    return text


@functools.lru_cache(maxsize=64)
def load_prompt(name: str) -> JudgePrompt:
    """The built-in judge prompt ``name`` (``llmotel/evaluation/judge/data/<name>.json``), validated and cached."""
    if not isinstance(name, str) or not _PROMPT_NAME.match(name):
        raise JudgePromptError(f"invalid judge prompt name {name!r}: lower-case letters, digits and _")
    resource = importlib.resources.files("llmotel.evaluation.judge") / "data" / f"{name}.json"
    try:
        data = json.loads(resource.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise JudgePromptError(f"no judge prompt named {name!r}") from None
    except ValueError as exc:
        raise JudgePromptError(f"judge prompt {name!r} is not valid JSON: {exc}") from None
    prompt = JudgePrompt.from_mapping(data)
    if prompt.name != name:
        raise JudgePromptError(f"judge prompt file {name}.json names itself {prompt.name!r}")
    return prompt


# --- replies --------------------------------------------------------------------------------------------------------


def _reject_constant(token: str) -> Any:
    raise ValueError(f"{token} is not valid JSON")


_DECODER = json.JSONDecoder(parse_constant=_reject_constant)


def _extract_json_object(text: str) -> dict[str, Any]:
    """The JSON object in a model reply: the whole reply, a fenced ```json block, or one object amid text.

    Raises ``ValueError`` whose message completes "the reply ..." and never quotes the reply.
    """
    text = text[:MAX_REPLY_CHARS].strip()
    if not text:
        raise ValueError("is empty")
    candidates = [m.group(1).strip() for m in _FENCE.finditer(text)] + [text]
    first_error: str | None = None
    for candidate in candidates:
        try:
            value = _DECODER.decode(candidate)
        except ValueError as exc:
            first_error = first_error or f"is not valid JSON ({_short_error(exc)})"
            continue
        if isinstance(value, dict):
            return value
        first_error = first_error or f"is a JSON {_schema.type_name(value)}, not an object"
    starts = [m.start() for m in re.finditer(r"\{", text)][:_MAX_OBJECT_STARTS]
    for start in starts:
        try:
            value, _ = _DECODER.raw_decode(text, start)
        except ValueError:
            continue
        if isinstance(value, dict):
            return value
    raise ValueError(first_error or "holds no JSON object")


def _short_error(exc: ValueError) -> str:
    # json.JSONDecodeError's message is positional ("Expecting ',' delimiter: line 1 column 9 (char 8)").
    return exc.msg if isinstance(exc, json.JSONDecodeError) else str(exc)


def _problem(text: str, schema: Mapping[str, Any]) -> tuple[dict[str, Any] | None, str | None]:
    """The validated object, or what is wrong with the reply."""
    try:
        value = _extract_json_object(text)
    except ValueError as exc:
        return None, str(exc)
    errors = _schema.validate(value, schema)
    if errors:
        return None, "does not match the schema: " + "; ".join(errors)
    return value, None
