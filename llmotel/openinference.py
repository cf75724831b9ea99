"""``compat=["openinference"]``: the OpenInference attributes Arize Phoenix renders, written besides the GenAI ones.

Phoenix converts GenAI attributes itself, but not everything: a workflow or task span stays ``unknown`` with
empty input and output, and prompt templates are not shown. With this setting on, manual spans also carry
``openinference.span.kind`` (``CHAIN`` for workflows and tasks, ``AGENT``, ``TOOL``, ``RETRIEVER``, ``EMBEDDING``,
``LLM``), ``input.value`` / ``output.value`` with their mime types, and LLM spans started inside an annotated
prompt carry ``llm.prompt_template.template`` / ``.variables`` / ``.version``. Values are content: written only
with content capture on (the version and the kind are not content).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from llmotel import semconv as sc
from llmotel.content import to_json


def enabled(compat: Any) -> bool:
    """Whether a settings' ``compat`` asks for OpenInference attributes."""
    return isinstance(compat, (tuple, list)) and sc.COMPAT_OPENINFERENCE in compat


def kind_attributes(kind: str) -> dict[str, Any]:
    """``openinference.span.kind`` of an ``llmotel.span.kind`` (none for a kind OpenInference does not name)."""
    value = sc.OPENINFERENCE_KINDS.get(kind)
    return {sc.OPENINFERENCE_SPAN_KIND: value} if value else {}


def io_attributes(direction: str, text: str, is_json: bool) -> dict[str, Any]:
    """``input.value``/``output.value`` (``direction`` ``input`` or ``output``) and its mime type."""
    keys = (sc.INPUT_VALUE, sc.INPUT_MIME_TYPE) if direction == "input" else (sc.OUTPUT_VALUE, sc.OUTPUT_MIME_TYPE)
    return {keys[0]: text, keys[1]: sc.MIME_JSON if is_json else sc.MIME_TEXT}


def prompt_attributes(template: str | None, variables: Mapping[str, str], version: str | None,
                      capture_content: bool) -> dict[str, Any]:
    """The prompt template attributes Phoenix shows on an LLM span."""
    attrs: dict[str, Any] = {}
    if version:
        attrs[sc.LLM_PROMPT_TEMPLATE_VERSION] = version
    if capture_content:
        if template is not None:
            attrs[sc.LLM_PROMPT_TEMPLATE] = template
        if variables:
            attrs[sc.LLM_PROMPT_TEMPLATE_VARIABLES] = to_json(dict(variables))
    return attrs
