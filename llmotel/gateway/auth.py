"""Optional token auth for the receivers and the intake (``LLMOTEL_GATEWAY_TOKEN``), compared in constant time.

By default the token is a bearer token: ``Authorization: Bearer <token>`` (HTTP) or the ``authorization``
metadata (gRPC). With another header name (``LLMOTEL_GATEWAY_AUTH_HEADER=x-api-key``) that header's whole value is
the token. Health, readiness and ``/metrics`` stay open (probes and scrapers; they carry counts, never content).
"""

from __future__ import annotations

import hmac
from collections.abc import Mapping

_BEARER = "bearer "


class TokenAuth:
    """Checks request headers against the configured token (``None``: every request is allowed)."""

    def __init__(self, token: str | None, header: str = "authorization") -> None:
        self._token = token.encode() if token else None
        self.header = header.strip().lower()

    @property
    def enabled(self) -> bool:
        return self._token is not None

    def allows(self, headers: Mapping[str, str]) -> bool:
        """Whether the headers (names lower-case) carry the token."""
        if self._token is None:
            return True
        value = headers.get(self.header) or ""
        if self.header == "authorization":
            if value[: len(_BEARER)].lower() != _BEARER:
                return False
            value = value[len(_BEARER):].strip()
        return hmac.compare_digest(value.encode(), self._token)
