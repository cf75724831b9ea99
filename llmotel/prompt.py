"""``Prompt``: a prompt template, its variables, and which variables hold the RAG query and context."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from llmotel.errors import AnnotationError


def _variable_text(key: str, value: Any) -> str:
    if isinstance(value, str):
        return value
    try:
        return json.dumps(value, ensure_ascii=False, sort_keys=True)
    except (TypeError, ValueError) as exc:
        raise AnnotationError(
            f"prompt variable {key!r} must be a string or JSON-serialisable, got {type(value).__name__}: {exc}"
        ) from None


def _names(argument: str, value: str | Sequence[str]) -> tuple[str, ...]:
    names = (value,) if isinstance(value, str) else tuple(value)
    if not all(isinstance(n, str) and n for n in names):
        raise AnnotationError(f"Prompt({argument}=...) must be a variable name or a sequence of names, got {value!r}")
    return names


def _chat_template(value: Any) -> tuple[dict[str, str], ...]:
    if isinstance(value, (str, bytes)) or not isinstance(value, Sequence):
        raise AnnotationError("Prompt(chat_template=...) must be a list of {'role': ..., 'content': ...} dicts")
    out = []
    for item in value:
        if not (isinstance(item, Mapping) and isinstance(item.get("role"), str)
                and isinstance(item.get("content"), str)):
            raise AnnotationError(
                f"each chat_template message must be {{'role': str, 'content': str}}, got {item!r}"
            )
        out.append({"role": item["role"], "content": item["content"]})
    return tuple(out)


@dataclass(frozen=True)
class Prompt:
    """A prompt template and the values it was filled with.

    ``template`` (a string) and ``chat_template`` (a list of ``{"role", "content"}`` messages) are exclusive.
    ``version`` defaults to a stable hash of the template, so a changed template is a new version.
    ``variables`` values are strings or JSON-serialisable (stored as JSON text). ``rag_query_variables`` and
    ``rag_context_variables`` name the variables that hold the user's question and the retrieved context, which
    the hallucination and relevancy checks read.
    """

    template: str | None = None
    chat_template: Sequence[Mapping[str, str]] | None = None
    variables: Mapping[str, Any] | None = None
    id: str | None = None
    version: str | None = None
    rag_query_variables: str | Sequence[str] = ("question",)
    rag_context_variables: str | Sequence[str] = ("context",)
    tags: Mapping[str, str] | None = None
    variable_text: Mapping[str, str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        if self.template is not None and self.chat_template is not None:
            raise AnnotationError("Prompt takes template or chat_template, not both")
        if self.template is not None and not isinstance(self.template, str):
            raise AnnotationError(f"Prompt(template=...) must be a string, got {type(self.template).__name__}")
        if self.chat_template is not None:
            object.__setattr__(self, "chat_template", _chat_template(self.chat_template))
        for argument in ("id", "version"):
            value = getattr(self, argument)
            if value is not None and not isinstance(value, str):
                raise AnnotationError(f"Prompt({argument}=...) must be a string, got {type(value).__name__}")
        variables = self.variables or {}
        if not isinstance(variables, Mapping) or not all(isinstance(k, str) and k for k in variables):
            raise AnnotationError("Prompt(variables=...) must be a mapping of variable names to values")
        object.__setattr__(self, "variable_text", {k: _variable_text(k, v) for k, v in variables.items()})
        object.__setattr__(self, "rag_query_variables", _names("rag_query_variables", self.rag_query_variables))
        object.__setattr__(self, "rag_context_variables", _names("rag_context_variables", self.rag_context_variables))
        tags_ok = isinstance(self.tags, Mapping) and all(
            isinstance(k, str) and isinstance(v, str) for k, v in self.tags.items()
        )
        if self.tags is not None and not tags_ok:
            raise AnnotationError("Prompt(tags=...) must be a mapping of strings to strings")
        if self.version is None and self.template_text is not None:
            digest = hashlib.sha256(self.template_text.encode()).hexdigest()[:12]
            object.__setattr__(self, "version", digest)

    @property
    def template_text(self) -> str | None:
        """The template as one string: ``template`` itself, or ``chat_template`` as JSON."""
        if self.template is not None:
            return self.template
        if self.chat_template is not None:
            return json.dumps(list(self.chat_template), ensure_ascii=False, separators=(",", ":"))
        return None
