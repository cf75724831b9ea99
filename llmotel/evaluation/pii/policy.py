"""What a redaction writes in place of a value (the operators), and how overlapping matches become one."""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets

from llmotel.evaluation.pii.options import NER_ENTITIES, PiiMatch

# Key for the "hash" operator when no hash_key is set: random per process, so hashes correlate values within
# one process only (across spans of one run), never across processes or restarts.
PROCESS_HASH_KEY = secrets.token_bytes(32)


def replacement(operator: str, hash_key: bytes, entity_type: str, value: str) -> str:
    """The text that replaces ``value`` (an ``entity_type``) under ``operator``.

    Every replacement is made of ``[A-Z0-9_:a-f<>*]`` only: safe inside JSON strings, no quotes or backslashes.
    """
    if operator == "replace":
        return f"<{entity_type}>"
    if operator == "mask":
        return "*" * len(value)
    if operator == "drop":
        return ""
    digest = hmac.new(hash_key, _hash_message(entity_type, value), hashlib.sha256).hexdigest()
    return f"<{entity_type}:{digest[:16]}>"


_HASH_SEPARATORS = re.compile(r"[\s\-.()/]+")


def _hash_message(entity_type: str, value: str) -> bytes:
    """What the hash operator signs: the type and a normalised value, so "415-555-0132" and "415 555 0132"
    (or "Jane@Example.com" and "jane@example.com") hash alike."""
    if entity_type in NER_ENTITIES:
        normalized = " ".join(value.split()).casefold()
    else:
        normalized = _HASH_SEPARATORS.sub("", value).casefold()
    return f"{entity_type}\x00{normalized}".encode("utf-8", "surrogatepass")


def resolve_overlaps(matches: list[PiiMatch]) -> list[PiiMatch]:
    """Overlapping matches become one redaction covering all of them, typed after the best one (higher score,
    then longer): every character any recognizer flagged is redacted, so a wrong winner never lets part of a
    true entity through. Returns the merged matches sorted by position."""
    if not matches:
        return []
    ordered = sorted(matches, key=lambda m: (m.start, -m.end))
    merged: list[PiiMatch] = []
    group_start, group_end, best = ordered[0].start, ordered[0].end, ordered[0]
    for m in ordered[1:]:
        if m.start < group_end:
            group_end = max(group_end, m.end)
            if (m.score, m.end - m.start) > (best.score, best.end - best.start):
                best = m
            continue
        merged.append(PiiMatch(group_start, group_end, best.entity_type, best.score))
        group_start, group_end, best = m.start, m.end, m
    merged.append(PiiMatch(group_start, group_end, best.entity_type, best.score))
    return merged
