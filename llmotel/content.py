"""Messages and parts in the GenAI semconv JSON format, shared by every provider adapter.

A message is ``{"role": ..., "parts": [...], "name"?: ...}``; parts are small dicts whose ``type`` is one of
the ``PART_*`` names in :mod:`llmotel.semconv`. Text and blobs are cut to the configured limits with an
explicit marker, so the JSON stays valid whatever the OTel attribute length limit is.
"""

from __future__ import annotations

import json
import os
import threading
import traceback
from typing import Any

from opentelemetry.trace import Status, StatusCode

from llmotel import semconv as sc

Part = dict[str, Any]
Message = dict[str, Any]

#: characters of an error's status message that are exported
STATUS_MESSAGE_LIMIT = 512
#: with PII redaction on, texts are cut this much beyond their limit and cut to the limit after redaction, so
#: that no cut falls inside a value the redactor must see whole (the longest: e-mail addresses, IBANs, wallets)
REDACTION_MARGIN = 256


def error_status_message(error: BaseException, capture_content: bool, redacting: bool) -> str:
    """An error span's status message: ``Type: message``, or only the type when content capture is off
    (provider errors echo the prompt; a decorated function's exception may quote anything). Cut to
    :data:`STATUS_MESSAGE_LIMIT`, or a margin beyond it when redaction cuts it after redacting."""
    error_type = type(error).__qualname__
    if not capture_content:
        return error_type
    limit = STATUS_MESSAGE_LIMIT + (REDACTION_MARGIN if redacting else 0)
    return f"{error_type}: {error}"[:limit]


def exception_event_attributes(error: BaseException) -> dict[str, str]:
    """The ``exception`` event of an error when content capture is off: its type and a fixed-form message, and
    the stack trace without the message (whose last line would repeat it) or any chained exception."""
    module = type(error).__module__
    error_type = type(error).__qualname__
    qualified = error_type if module in ("builtins", "") else f"{module}.{error_type}"
    trace = "Traceback (most recent call last):\n" + "".join(traceback.format_tb(error.__traceback__)) + qualified
    return {
        "exception.type": qualified,
        "exception.message": f"{error_type} (message not recorded: content capture is off)",
        "exception.stacktrace": trace,
        "exception.escaped": "False",
    }


def record_error(span: Any, error: BaseException, capture_content: bool, redacting: bool) -> None:
    """Record an error on a span: the ``exception`` event and an ERROR status. With content capture off, neither
    carries the exception's message (see :func:`exception_event_attributes`)."""
    if capture_content:
        span.record_exception(error)
    else:
        span.add_event("exception", exception_event_attributes(error))
    span.set_status(Status(StatusCode.ERROR, error_status_message(error, capture_content, redacting)))


class Truncator:
    """Cuts text and base64 blobs to fixed limits and remembers whether it cut anything."""

    __slots__ = ("blob_limit", "text_limit", "truncated")

    def __init__(self, text_limit: int, blob_limit: int) -> None:
        self.text_limit = text_limit
        self.blob_limit = blob_limit
        self.truncated = False

    def text(self, value: str) -> str:
        if len(value) <= self.text_limit:
            return value
        self.truncated = True
        return value[: self.text_limit] + sc.TRUNCATION_MARKER.format(dropped=len(value) - self.text_limit)

    def blob(self, value: str) -> str:
        if len(value) <= self.blob_limit:
            return value
        self.truncated = True
        return value[: self.blob_limit] + sc.TRUNCATION_MARKER.format(dropped=len(value) - self.blob_limit)


def _default(obj: object) -> Any:
    dump = getattr(obj, "model_dump", None)
    if callable(dump):
        try:
            return dump(mode="json", exclude_unset=True, warnings=False)  # never warn on the user's behalf
        except Exception:  # an exotic model: fall back to its repr
            pass
    return repr(obj)


_ENCODER = json.JSONEncoder(ensure_ascii=False, separators=(",", ":"), default=_default)


def to_json(value: Any) -> str:
    """Compact JSON; objects JSON cannot represent become their pydantic dump or ``repr``."""
    return _ENCODER.encode(value)


_encode_string = json.encoder.encode_basestring  # C-accelerated; what the encoder uses with ensure_ascii=False


def output_text_message_json(role: str, text: str, finish_reason: str) -> str:
    """One ``{role, parts: [text], finish_reason}`` output message as the JSON :func:`to_json` makes of it."""
    return (f'{{"role":{_encode_string(role)},"parts":[{{"type":"text","content":{_encode_string(text)}}}],'
            f'"finish_reason":{_encode_string(finish_reason)}}}')


def text_parts_json(text: str, text_limit: int) -> str | None:
    """Fast path: one text as the JSON of a one-text-part list (e.g. system instructions); None when too long."""
    if len(text) > text_limit:
        return None
    return f'[{{"type":"text","content":{_encode_string(text)}}}]'


def plain_messages_json(messages: Any, text_limit: int) -> str | None:
    """The JSON of request messages that are all plain ``{"role": str, "content": str}`` dicts with no text over
    ``text_limit``; None for anything else (then the general path renders them, cutting and marking).

    One pass, each ``{role, parts: [text]}`` message rendered inline: this runs on every call with content capture
    on.
    """
    if not isinstance(messages, list):
        return None
    out = []
    try:
        for msg in messages:
            if type(msg) is not dict or len(msg) != 2:
                return None
            role = msg["role"]  # two keys, and both of them role and content (else KeyError)
            content = msg["content"]
            if type(role) is not str or type(content) is not str or len(content) > text_limit:
                return None
            out.append(
                f'{{"role":{_encode_string(role)},"parts":[{{"type":"text","content":{_encode_string(content)}}}]}}'
            )
    except KeyError:
        return None
    return f"[{','.join(out)}]"


def as_text(value: Any) -> str:
    """Any value as a string: strings as-is, everything else as JSON."""
    return value if isinstance(value, str) else to_json(value)


def text_part(text: str, cut: Truncator) -> Part:
    return {"type": sc.PART_TEXT, "content": cut.text(text)}


def _id(value: Any) -> str | None:
    """A tool call id as the schemas want it: a string or null."""
    return value if value is None or isinstance(value, str) else str(value)


def tool_call_part(call_id: Any, name: Any, arguments: Any, cut: Truncator) -> Part:
    # the schema requires a string name: a stream cut off before the name arrived gives ""
    part: Part = {"type": sc.PART_TOOL_CALL, "id": _id(call_id), "name": name if isinstance(name, str) else ""}
    if arguments is not None:
        part["arguments"] = _arguments(arguments, cut)
    return part


def _arguments(arguments: Any, cut: Truncator) -> Any:
    """Tool arguments as the model sent them: parsed JSON when they are a JSON object string."""
    if isinstance(arguments, str):
        if len(arguments) <= cut.text_limit and arguments[:1] == "{":
            try:
                return json.loads(arguments)
            except ValueError:
                pass
        return cut.text(arguments)
    return arguments


def tool_response_part(call_id: Any, response: Any, cut: Truncator) -> Part:
    return {"type": sc.PART_TOOL_CALL_RESPONSE, "id": _id(call_id), "response": cut.text(as_text(response))}


def media_part(url: str, modality: str, cut: Truncator, mime_type: str | None = None) -> Part:
    """A ``data:`` URL becomes a blob part (base64 cut to the blob limit); anything else a uri part."""
    if url.startswith("data:"):
        header, _, payload = url[5:].partition(",")
        mime = header.split(";", 1)[0] or mime_type
        return {"type": sc.PART_BLOB, "modality": modality, "mime_type": mime, "content": cut.blob(payload)}
    part: Part = {"type": sc.PART_URI, "modality": modality, "uri": cut.text(url)}
    if mime_type:
        part["mime_type"] = mime_type
    return part


def blob_part(data: str, modality: str, mime_type: str | None, cut: Truncator) -> Part:
    return {"type": sc.PART_BLOB, "modality": modality, "mime_type": mime_type, "content": cut.blob(data)}


# Part types the GenAI schemas define, each with required fields: a generic part never claims one of them.
_SCHEMA_PART_TYPES = frozenset({
    sc.PART_TEXT, sc.PART_TOOL_CALL, sc.PART_TOOL_CALL_RESPONSE, sc.PART_REASONING, sc.PART_BLOB, sc.PART_URI,
    sc.PART_FILE, sc.PART_SERVER_TOOL_CALL, sc.PART_SERVER_TOOL_CALL_RESPONSE,
})


def generic_part(kind: Any, cut: Truncator, content: Any = None) -> Part:
    """A part of a type semconv does not name (or the SDK added later): keep its type, and text if any.

    A part that has a schema-defined type but lacks what that type requires (a file with neither id nor data)
    becomes ``{"type": "unknown", "provider_type": kind}``, so it still validates.
    """
    if not isinstance(kind, str):
        part: Part = {"type": "unknown"}
    elif kind in _SCHEMA_PART_TYPES:
        part = {"type": "unknown", "provider_type": kind}
    else:
        part = {"type": kind}
    if content is not None:
        part["content"] = cut.text(as_text(content))
    return part


def message(role: Any, parts: list[Part], name: Any = None) -> Message:
    msg: Message = {"role": role if isinstance(role, str) else "unknown", "parts": parts}
    if isinstance(name, str) and name:
        msg["name"] = name
    return msg


def output_message(role: Any, parts: list[Part], finish_reason: str) -> Message:
    """An output message: the GenAI output-message schema requires ``finish_reason`` on every one (backends such
    as Phoenix drop the whole output without it); ``""`` when the provider gave none (a stream cut short)."""
    msg = message(role, parts)
    msg["finish_reason"] = finish_reason
    return msg


def normalized_finish_reason(value: Any, mapping: dict[str, str]) -> str:
    """A provider's finish reason in the output-message schema's terms (``stop``, ``length``, ``content_filter``,
    ``tool_call``, ``error``) where ``mapping`` has an equivalent, else the provider's own value; ``""`` for none."""
    if not isinstance(value, str):
        return ""
    return mapping.get(value, value)



# span id -> content attributes kept in-process for evaluators (see keep_private_content). Bounded: spans that
# never reach the evaluating processor (another provider, shut down meanwhile) are forgotten oldest first.
_private: dict[int, dict[str, Any]] = {}
_private_lock = threading.Lock()
_PRIVATE_LIMIT = 10_000


def keep_private_content(span: Any, attributes: dict[str, Any]) -> None:
    """Keep content attributes of a recording span in-process only, for the evaluating processor.

    Used when content capture is off but evaluators run: nothing else reads this store, so the content never
    reaches another processor or an exporter; the evaluating processor takes it with :func:`pop_private_content`
    when the span ends.
    """
    if not attributes or not span.is_recording():
        return
    span_id = span.get_span_context().span_id
    with _private_lock:
        held = _private.get(span_id)
        if held is not None:
            held.update(attributes)
            return
        if len(_private) >= _PRIVATE_LIMIT:
            del _private[next(iter(_private))]
        _private[span_id] = dict(attributes)


def pop_private_content(span_id: int) -> dict[str, Any]:
    """The content kept for a span by :func:`keep_private_content`, removed from the store (empty if none)."""
    with _private_lock:
        return _private.pop(span_id, None) or {}


def _reset_private_content_in_child() -> None:
    """A forked child starts with an empty store and a lock no thread of the parent can hold."""
    global _private_lock
    _private_lock = threading.Lock()
    _private.clear()


os.register_at_fork(after_in_child=_reset_private_content_in_child)
