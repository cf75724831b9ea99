"""The endpoint-table adapter both providers use: URL -> :class:`Endpoint` -> :class:`LLMCall`.

A provider module supplies its endpoint table and, where it needs them, the two hooks (``request_body`` and
``prepare``); everything else about turning a Stainless request into an LLM call is here, once.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from llmotel import semconv as sc
from llmotel.calls import LLMCall, Telemetry
from llmotel.instrumentation._stream import Accumulator
from llmotel.instrumentation.providers import server_of

_SERVER_ATTR = "_llmotel_server"  # on the client: (its base URL object, server(client))


@dataclass(frozen=True)
class Endpoint:
    """One traced endpoint: its operation, request/response extractors and stream accumulator factory."""

    operation: str
    request: Callable[[LLMCall, dict[str, Any], dict[str, Any]], None]
    response: Callable[[LLMCall, Any], None]
    accumulator: Callable[[LLMCall], Accumulator] | None = None


class _NoStream:
    """An endpoint that should not stream did: keep the span, record nothing from the chunks."""

    __slots__ = ()

    def add(self, chunk: Any) -> None:
        return None

    def finish(self, call: LLMCall) -> None:
        return None


class EndpointAdapter:
    """Implements :class:`llmotel.instrumentation._stainless.Adapter` from an endpoint table."""

    endpoints: Mapping[str, Endpoint]
    default_provider: str

    def request_body(self, options: Any) -> dict[str, Any]:
        """The JSON body the SDK will send (a dict, or empty when the SDK sends something else)."""
        body = options.json_data
        return body if isinstance(body, dict) else {}

    def server(self, client: Any) -> tuple[str, str | None, int | None]:
        """``(gen_ai.provider.name, server.address, server.port)`` for a client (cached per client by :meth:`begin`)."""
        return server_of(client, self.default_provider)

    def prepare(self, call: LLMCall, client: Any, options: Any, body: dict[str, Any], stream: bool) -> None:
        """Provider-specific additions before the span starts (attributes, request options)."""
        return None

    def begin(self, telemetry: Telemetry, client: Any, options: Any, stream: bool) -> LLMCall | None:
        endpoint = self.endpoints.get(options.url)
        if endpoint is None or options.method != "post":
            return None
        body = self.request_body(options)
        # server(), cached on the client for as long as its base URL object is the same one
        fields = client.__dict__
        url = fields.get("_base_url")
        cached = fields.get(_SERVER_ATTR)
        if cached is not None and cached[0] is url and url is not None:
            server = cached[1]
        else:
            server = self.server(client)
            fields[_SERVER_ATTR] = (url, server)
        provider, address, port = server
        model = body.get("model")
        call = LLMCall(
            telemetry, endpoint.operation, provider, model if isinstance(model, str) else None, address, port
        )
        call.handler = endpoint
        if stream:
            call.start_attributes[sc.GEN_AI_REQUEST_STREAM] = True
        self.prepare(call, client, options, body, stream)
        endpoint.request(call, body, call.start_attributes)
        return call

    def read_response(self, path: str, telemetry: Telemetry, response: Any, provider: str | None = None,
                      model: str | None = None) -> LLMCall:
        """A response of endpoint ``path`` read by this adapter's own rules (token counts, finish reasons, ids;
        output messages when ``telemetry`` collects content) into an LLM call that is never started: no span, no
        metrics. For callers that account for their own calls (the judge)."""
        endpoint = self.endpoints[path]
        call = LLMCall(telemetry, endpoint.operation, provider or self.default_provider, model, None, None)
        endpoint.response(call, response)
        return call

    def on_response(self, call: LLMCall, response: Any) -> None:
        call.handler.response(call, response)

    def accumulator(self, call: LLMCall) -> Accumulator:
        factory = call.handler.accumulator
        return factory(call) if factory is not None else _NoStream()
