"""What the gateway answers, the same for HTTP and gRPC: a status for each transport, a reason, a retry delay.

Refusals worth retrying carry a delay (HTTP ``Retry-After``, gRPC ``RetryInfo``): the OTLP exporters of every SDK
retry ``429`` / ``503`` and, with ``RetryInfo``, ``RESOURCE_EXHAUSTED`` / ``UNAVAILABLE``. Refusals of the
request itself (malformed, too large, unauthenticated) carry none.
"""

from __future__ import annotations

from dataclasses import dataclass

from llmotel.export.otlp_traces import SendResult
from llmotel.gateway.engine import Admission, Refusal
from llmotel.gateway.wire import BadRequest


@dataclass(frozen=True)
class Reply:
    """An answer to one export request."""

    http_status: int
    grpc_code: str  # a grpc.StatusCode name
    message: str = ""
    retry_after: float | None = None
    #: the refused-requests metric's reason (None: not a refusal)
    reason: str | None = None

    @property
    def ok(self) -> bool:
        return self.http_status < 300


OK = Reply(200, "OK")
ACCEPTED = Reply(202, "OK")
UNAUTHENTICATED = Reply(401, "UNAUTHENTICATED", "missing or wrong token", reason="unauthenticated")
_GRPC_FOR_HTTP = {400: "INVALID_ARGUMENT", 404: "UNIMPLEMENTED", 411: "INVALID_ARGUMENT", 413: "RESOURCE_EXHAUSTED",
                  415: "INVALID_ARGUMENT"}
_REASON_FOR_HTTP = {413: "too_large", 415: "unsupported"}


def refused(admission: Admission) -> Reply:
    if admission.refusal is Refusal.QUEUE_FULL:
        return Reply(429, "RESOURCE_EXHAUSTED", "the gateway's queue is full; retry later", admission.retry_after)
    if admission.refusal is Refusal.SHUTTING_DOWN:
        return Reply(503, "UNAVAILABLE", "the gateway is shutting down; retry (another replica)", admission.retry_after)
    return Reply(503, "UNAVAILABLE", "the gateway cannot write to its spool; retry later", admission.retry_after)


def bad_request(error: BadRequest) -> Reply:
    return Reply(error.status, _GRPC_FOR_HTTP.get(error.status, "INVALID_ARGUMENT"), error.reason,
                 reason=_REASON_FOR_HTTP.get(error.status, "malformed"))


def from_backend(result: SendResult) -> Reply:
    """The backend's outcome of a passed-through request, as the sender's answer."""
    if result.ok:
        return OK
    if result.retryable:
        return Reply(503, "UNAVAILABLE", f"the backend is unavailable ({result.detail}); retry later",
                     result.retry_after if result.retry_after is not None else 1.0)
    return Reply(400, "INVALID_ARGUMENT", f"the backend refused the request ({result.detail})")
