"""Scripted replies (:class:`Reply`) and the providers' error bodies."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from ._common import JsonDict, SseEvent

# status -> (error.type, error.code, default message)
_OPENAI_ERRORS: dict[int, tuple[str, str | None, str]] = {
    400: ("invalid_request_error", None, "Invalid request."),
    401: ("invalid_request_error", "invalid_api_key", "Incorrect API key provided."),
    403: ("invalid_request_error", "unsupported_country_region_territory", "Country not supported."),
    404: ("invalid_request_error", "model_not_found", "The model does not exist or you do not have access to it."),
    409: ("invalid_request_error", None, "Conflict."),
    422: ("invalid_request_error", None, "Unprocessable entity."),
    429: ("requests", "rate_limit_exceeded", "Rate limit reached for requests. Please try again in 1s."),
    500: ("server_error", None, "The server had an error while processing your request. Sorry about that!"),
    502: ("server_error", None, "Bad gateway."),
    503: ("server_error", None, "The engine is currently overloaded, please try again later."),
    504: ("server_error", None, "Gateway timeout."),
}

# status -> (error.type, default message)
_ANTHROPIC_ERRORS: dict[int, tuple[str, str]] = {
    400: ("invalid_request_error", "Invalid request."),
    401: ("authentication_error", "invalid x-api-key"),
    402: ("billing_error", "Your credit balance is too low."),
    403: ("permission_error", "Your API key does not have permission to use the specified resource."),
    404: ("not_found_error", "Not found"),
    413: ("request_too_large", "Request exceeds the maximum allowed number of bytes."),
    429: ("rate_limit_error", "Number of requests has exceeded your rate limit."),
    500: ("api_error", "Internal server error"),
    503: ("overloaded_error", "Overloaded"),
    504: ("timeout_error", "Request timed out"),
    529: ("overloaded_error", "Overloaded"),
}


def openai_error_body(
    status: int, message: str | None = None, error_type: str | None = None, code: str | None = None
) -> JsonDict:
    """An OpenAI error body: ``{"error": {"message", "type", "param", "code"}}``."""
    default_type, default_code, default_message = _OPENAI_ERRORS.get(
        status, ("server_error" if status >= 500 else "invalid_request_error", None, f"Error {status}")
    )
    return {
        "error": {
            "message": message or default_message,
            "type": error_type or default_type,
            "param": None,
            "code": code if code is not None else default_code,
        }
    }


def anthropic_error_body(
    status: int, message: str | None = None, error_type: str | None = None, request_id: str | None = None
) -> JsonDict:
    """An Anthropic error body: ``{"type": "error", "error": {"type", "message"}, "request_id"}``."""
    default_type, default_message = _ANTHROPIC_ERRORS.get(
        status, ("api_error" if status >= 500 else "invalid_request_error", f"Error {status}")
    )
    return {
        "type": "error",
        "error": {"type": error_type or default_type, "message": message or default_message},
        "request_id": request_id,
    }


@dataclass
class Reply:
    """One scripted reply, used for the next matching request instead of (or as a variation of) the default.

    Fields that describe the response (``body``, ``events``, an error ``status``) replace the default response;
    the others modify how the default response is generated or delivered:

    - ``status``: HTTP status. ``>= 400`` without ``body`` sends the provider's error JSON (see :meth:`error`).
    - ``body``: a JSON value sent verbatim (with ``status``).
    - ``events``: SSE events sent verbatim, each ``(event_name | None, data)``; ``data`` is JSON-encoded
      unless it is a string.
    - ``headers``: extra response headers.
    - ``delay``: seconds to wait before responding (to provoke client timeouts).
    - ``chunk_delay``: seconds to wait before each SSE event (to measure time-to-first-token).
    - ``drop_connection``: close the socket without any response.
    - ``drop_after_chunks``: send that many SSE events, then close the socket abruptly. For a JSON response,
      send the headers and half the body, then close.
    - ``malformed_json``: an invalid JSON body (with ``status``), or a stream whose second event has invalid data.
    - ``text``: the assistant text of the default response, instead of the echo of the prompt.
    - ``usage``: deep-merged into the default response's usage (e.g. ``{"cache_read_input_tokens": 7}``).
    - ``error_message``/``error_type``/``error_code``: fields of the error JSON (see :meth:`error`).
    """

    status: int = 200
    body: Any = None
    events: list[SseEvent] | None = None
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0
    chunk_delay: float = 0.0
    drop_connection: bool = False
    drop_after_chunks: int | None = None
    malformed_json: bool = False
    text: str | None = None
    usage: JsonDict | None = None
    error_message: str | None = None
    error_type: str | None = None
    error_code: str | None = None

    @classmethod
    def error(
        cls,
        status: int,
        message: str | None = None,
        retry_after: float | None = None,
        *,
        error_type: str | None = None,
        code: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> Reply:
        """An error reply whose body is shaped like the error JSON of the provider that the request went to.

        ``error_type``/``code`` override the defaults for ``status`` (``code`` is OpenAI-only);
        ``retry_after`` sets the ``retry-after`` header.
        """
        extra = dict(headers or {})
        if retry_after is not None:
            extra["retry-after"] = f"{retry_after:g}"
        return cls(status=status, headers=extra, error_message=message, error_type=error_type, error_code=code)

    @property
    def is_error(self) -> bool:
        return self.status >= 400

    def error_body(self, provider: str, request_id: str | None) -> Any:
        """The body of an error reply for ``provider`` (``"openai"`` or ``"anthropic"``)."""
        if self.body is not None:
            return self.body
        if provider == "anthropic":
            return anthropic_error_body(self.status, self.error_message, self.error_type, request_id)
        return openai_error_body(self.status, self.error_message, self.error_type, self.error_code)
