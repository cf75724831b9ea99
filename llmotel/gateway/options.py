"""The gateway's own options (where it listens, its limits, its spool), from arguments and ``LLMOTEL_GATEWAY_*``.

Everything about evaluation and forwarding (endpoint, protocol, headers, evaluators, PII, judge, sampling,
timeouts) is the same :class:`~llmotel.config.Settings` ``enable()`` reads.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from llmotel.config.validation import BOOLEAN, SECONDS, integer, parse_int
from llmotel.errors import ConfigurationError

MIB = 1024 * 1024


@dataclass(frozen=True)
class GatewayOptions:
    """Where the gateway listens and how much it holds."""

    #: interface to listen on; 127.0.0.1 unless another is given explicitly (``0.0.0.0`` for every interface)
    listen: str = "127.0.0.1"
    #: OTLP/gRPC port (0: any free port; None: no gRPC)
    grpc_port: int | None = 4317
    #: OTLP/HTTP, intake, health and metrics port (0: any free port)
    http_port: int = 4318
    #: bearer token (or value of ``auth_header``) every receiver and the intake require; None: no auth
    token: str | None = None
    auth_header: str = "authorization"
    #: largest request body, as sent and once decompressed; larger ones get 413
    max_request_bytes: int = 8 * MIB
    #: spans and request bytes the gateway holds (accepted, not delivered) before it refuses with a retry delay
    queue_spans: int = 4096
    queue_bytes: int = 64 * MIB
    #: directory of the on-disk spool (None: no spool)
    spool: str | None = None
    spool_fsync: bool = False
    #: seconds SIGTERM gives evaluation and delivery before the gateway exits
    grace_period: float = 20.0


_ENV = {
    "listen": "LLMOTEL_GATEWAY_LISTEN", "grpc_port": "LLMOTEL_GATEWAY_GRPC_PORT",
    "http_port": "LLMOTEL_GATEWAY_HTTP_PORT", "token": "LLMOTEL_GATEWAY_TOKEN",
    "auth_header": "LLMOTEL_GATEWAY_AUTH_HEADER", "max_request_bytes": "LLMOTEL_GATEWAY_MAX_REQUEST_SIZE",
    "queue_spans": "LLMOTEL_GATEWAY_QUEUE_SIZE", "queue_bytes": "LLMOTEL_GATEWAY_QUEUE_BYTES",
    "spool": "LLMOTEL_GATEWAY_SPOOL", "spool_fsync": "LLMOTEL_GATEWAY_SPOOL_FSYNC",
    "grace_period": "LLMOTEL_GATEWAY_GRACE_PERIOD",
}


def _port(setting: str, raw: Any, allow_off: bool) -> int | None:
    if allow_off and isinstance(raw, str) and raw.strip().lower() in ("off", "none", "-1"):
        return None
    value = parse_int(setting, raw) if isinstance(raw, str) else raw
    if isinstance(value, bool) or not isinstance(value, int) or not 0 <= value <= 65535:
        raise ConfigurationError(setting, raw, "a port number 0-65535" + (" or 'off'" if allow_off else ""))
    return value


def resolve_options(env: Mapping[str, str] | None = None, **given: Any) -> GatewayOptions:
    """Options from explicit values (None: not given), then ``LLMOTEL_GATEWAY_*``, then the defaults."""
    env = os.environ if env is None else env
    unknown = set(given) - set(_ENV)
    if unknown:
        raise ConfigurationError("gateway option", sorted(unknown)[0], sorted(_ENV))
    raw: dict[str, Any] = {}
    for name, variable in _ENV.items():
        value = given.get(name)
        if value is None and (env.get(variable) or "").strip():
            value = env[variable].strip()
            name_for_error = variable
        else:
            name_for_error = name
        if value is not None:
            raw[name] = (name_for_error, value)
    out: dict[str, Any] = {}
    for name, (setting, value) in raw.items():
        if name == "grpc_port":
            out[name] = _port(setting, value, allow_off=True)
        elif name == "http_port":
            out[name] = _port(setting, value, allow_off=False)
        elif name in ("max_request_bytes", "queue_spans", "queue_bytes"):
            out[name] = integer(1).argument(setting, value)
        elif name == "grace_period":
            out[name] = SECONDS.argument(setting, value)
        elif name == "spool_fsync":
            out[name] = BOOLEAN.argument(setting, value)
        elif name == "listen":
            if not isinstance(value, str) or not value.strip():
                raise ConfigurationError(setting, value, "an interface address, e.g. 127.0.0.1 or 0.0.0.0")
            out[name] = value.strip().strip("[]")
        elif name == "auth_header":
            if not isinstance(value, str) or not value.strip() or any(c.isspace() for c in value.strip()):
                raise ConfigurationError(setting, value, "a header name, e.g. authorization or x-api-key")
            out[name] = value.strip().lower()
        else:
            out[name] = value
    return GatewayOptions(**out)
