"""The published GenAI JSON schemas for content attributes (vendored in ``tests/data/genai_schemas/``).

``content_errors(attributes)`` validates ``gen_ai.input.messages``, ``gen_ai.output.messages`` and
``gen_ai.system_instructions`` against them. The schemas list ``GenericPart`` (any ``type``) among the parts, so
a malformed ``tool_call`` part would pass as a generic one; backends (Phoenix's pydantic models) read a part by
its ``type``, so a part whose ``type`` the schema names is also checked against that definition alone.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from functools import cache
from pathlib import Path
from typing import Any

from jsonschema import Draft202012Validator

from llmotel import semconv as sc

SCHEMA_DIR = Path(__file__).parent / "data" / "genai_schemas"
SCHEMA_FILES = {
    sc.GEN_AI_INPUT_MESSAGES: "gen-ai-input-messages.json",
    sc.GEN_AI_OUTPUT_MESSAGES: "gen-ai-output-messages.json",
    sc.GEN_AI_SYSTEM_INSTRUCTIONS: "gen-ai-system-instructions.json",
}
# part type -> its definition in the schemas' $defs
PART_DEFINITIONS = {
    "text": "TextPart", "tool_call": "ToolCallRequestPart", "tool_call_response": "ToolCallResponsePart",
    "server_tool_call": "ServerToolCallPart", "server_tool_call_response": "ServerToolCallResponsePart",
    "blob": "BlobPart", "file": "FilePart", "uri": "UriPart", "reasoning": "ReasoningPart",
}


@cache
def schema(attribute: str) -> dict[str, Any]:
    document: dict[str, Any] = json.loads((SCHEMA_DIR / SCHEMA_FILES[attribute]).read_text())
    return document


@cache
def _validator(attribute: str) -> Draft202012Validator:
    return Draft202012Validator(schema(attribute))


@cache
def _part_validator(attribute: str, definition: str) -> Draft202012Validator:
    document = schema(attribute)
    return Draft202012Validator({"$defs": document["$defs"], "$ref": f"#/$defs/{definition}"})


def _parts(attribute: str, value: Any) -> list[Any]:
    if attribute == sc.GEN_AI_SYSTEM_INSTRUCTIONS:
        return list(value)
    return [part for message in value for part in message.get("parts", ())]


def content_errors(attributes: Mapping[str, Any]) -> list[str]:
    """Every schema violation of the content attributes present (empty when they all conform)."""
    errors = []
    for attribute in SCHEMA_FILES:
        raw = attributes.get(attribute)
        if raw is None:
            continue
        try:
            value = json.loads(raw)
        except (TypeError, ValueError) as exc:
            errors.append(f"{attribute}: not JSON ({exc})")
            continue
        found = [f"{attribute}: {e.message} at {list(e.absolute_path)}"
                 for e in _validator(attribute).iter_errors(value)]
        if not found:  # well-formed: now each named part against its own definition
            for part in _parts(attribute, value):
                definition = PART_DEFINITIONS.get(part.get("type"))
                if definition is not None:
                    found.extend(f"{attribute}: {definition}: {e.message} in {part!r}"
                                 for e in _part_validator(attribute, definition).iter_errors(part))
        errors.extend(found)
    return errors


def assert_content_valid(attributes: Mapping[str, Any]) -> None:
    errors = content_errors(attributes)
    assert not errors, "\n".join(errors)
