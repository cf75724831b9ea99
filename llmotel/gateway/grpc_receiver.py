"""The gRPC side: the OTLP ``TraceService``, ``MetricsService`` and ``LogsService`` ``Export`` methods.

Requests arrive as bytes (gRPC has already undone gzip) and are parsed here, so a malformed message gets
``INVALID_ARGUMENT`` with the reason instead of a bare ``INTERNAL``. Messages over the size limit are refused by
gRPC itself (``RESOURCE_EXHAUSTED`` without ``RetryInfo``, which exporters do not retry); a full queue answers
``RESOURCE_EXHAUSTED`` with ``RetryInfo``, which they do.
"""

from __future__ import annotations

from concurrent import futures
from typing import TYPE_CHECKING, Any

import grpc
from google.protobuf import duration_pb2
from google.rpc import error_details_pb2

from llmotel.gateway.replies import UNAUTHENTICATED, bad_request
from llmotel.gateway.wire import PROTOBUF, BadRequest, parse, response_body

if TYPE_CHECKING:
    from llmotel.gateway.server import Gateway

_SERVICES = {
    "traces": "opentelemetry.proto.collector.trace.v1.TraceService",
    "metrics": "opentelemetry.proto.collector.metrics.v1.MetricsService",
    "logs": "opentelemetry.proto.collector.logs.v1.LogsService",
}
_WORKERS = 16


def _export(gateway: Gateway, signal: str) -> Any:
    def export(raw: bytes, context: grpc.ServicerContext) -> bytes:
        metadata = {key.lower(): value for key, value in context.invocation_metadata() if isinstance(value, str)}
        if not gateway.auth.allows(metadata):
            reply = gateway.refusal(UNAUTHENTICATED)
        else:
            try:
                request = parse(signal, PROTOBUF, raw)
            except BadRequest as error:
                reply = gateway.refusal(bad_request(error))
            else:
                reply = gateway.handle(signal, request, raw)
        if reply.ok:
            return response_body(signal, PROTOBUF)
        if reply.retry_after:
            delay = duration_pb2.Duration()
            delay.FromNanoseconds(int(reply.retry_after * 1e9))
            info = error_details_pb2.RetryInfo(retry_delay=delay)
            context.set_trailing_metadata((("google.rpc.retryinfo-bin", info.SerializeToString()),))
        context.set_code(grpc.StatusCode[reply.grpc_code])
        context.set_details(reply.message)
        return b""

    return export


def start_grpc(gateway: Gateway, host: str, port: int) -> tuple[grpc.Server, int]:
    """Serve the three OTLP services on ``host:port`` (0: any free port); returns the server and its port."""
    server = grpc.server(
        futures.ThreadPoolExecutor(max_workers=_WORKERS, thread_name_prefix="llmotel-gateway-grpc"),
        options=[
            ("grpc.so_reuseport", 0),  # a second gateway on the same port must fail, not share it silently
            ("grpc.max_receive_message_length", gateway.options.max_request_bytes),
        ],
    )
    for signal, service in _SERVICES.items():
        handler = grpc.unary_unary_rpc_method_handler(_export(gateway, signal))  # bytes in, bytes out
        server.add_generic_rpc_handlers((grpc.method_handlers_generic_handler(service, {"Export": handler}),))
    address = f"[{host}]:{port}" if ":" in host else f"{host}:{port}"
    bound = server.add_insecure_port(address)
    if bound == 0:
        raise OSError(f"cannot listen for gRPC on {address}")
    server.start()
    return server, bound
