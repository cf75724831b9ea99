"""Emit a small GenAI-shaped trace through llmotel's public API.

Run as ``python -m tests.e2e.demo_trace --endpoint URL --protocol grpc|http/protobuf
--service-name NAME``; prints ``{"trace_id", "root_span_id", "chat_span_id"}``
as JSON. The e2e test runs this in a subprocess, exactly as an application
would use llmotel (``enable()`` installs the global tracer provider, which can
only happen once per process), and keeps the test process itself untouched.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

ROOT_NAME = "invoke_workflow demo"
CHAT_NAME = "chat gpt-4o-mini"
EVALUATION_EVENT = "gen_ai.evaluation.result"
ROOT_ATTRIBUTES: dict[str, Any] = {"gen_ai.operation.name": "invoke_workflow"}
CHAT_ATTRIBUTES: dict[str, Any] = {
    "gen_ai.operation.name": "chat",
    "gen_ai.provider.name": "openai",
    "gen_ai.request.model": "gpt-4o-mini",
    "gen_ai.request.temperature": 0.2,
    "gen_ai.response.model": "gpt-4o-mini-2024-07-18",
    "gen_ai.response.id": "chatcmpl-e2e",
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.usage.input_tokens": 12,
    "gen_ai.usage.output_tokens": 34,
}
EVALUATION_ATTRIBUTES: dict[str, Any] = {
    "gen_ai.evaluation.name": "relevance",
    "gen_ai.evaluation.score.value": 0.9,
    "gen_ai.evaluation.score.label": "relevant",
}


def emit(endpoint: str, protocol: str, service_name: str) -> dict[str, str]:
    """Enable llmotel, record the demo trace, shut down (flushing); return the ids as hex."""
    from opentelemetry import trace
    from opentelemetry.trace import SpanKind

    import llmotel

    # metrics=False: Phoenix ingests traces only.
    llmotel.enable(service_name=service_name, endpoint=endpoint, protocol=protocol, metrics=False)
    try:
        tracer = trace.get_tracer("llmotel.e2e")
        with (
            tracer.start_as_current_span(ROOT_NAME, attributes=ROOT_ATTRIBUTES) as root,
            tracer.start_as_current_span(CHAT_NAME, kind=SpanKind.CLIENT, attributes=CHAT_ATTRIBUTES) as chat,
        ):
            chat.add_event(EVALUATION_EVENT, EVALUATION_ATTRIBUTES)
    finally:
        llmotel.shutdown()
    return {
        "trace_id": format(root.get_span_context().trace_id, "032x"),
        "root_span_id": format(root.get_span_context().span_id, "016x"),
        "chat_span_id": format(chat.get_span_context().span_id, "016x"),
    }


def main() -> None:
    """Command-line entry point (see module docstring)."""
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--protocol", required=True, choices=["grpc", "http/protobuf"])
    parser.add_argument("--service-name", required=True)
    args = parser.parse_args()
    print(json.dumps(emit(args.endpoint, args.protocol, args.service_name)))


if __name__ == "__main__":
    main()
