"""What senders do in the gateway tests: OpenTelemetry SDK exporters and plain HTTP, and GenAI span shapes."""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter as GrpcSpanExporter
from opentelemetry.exporter.otlp.proto.http import Compression
from opentelemetry.exporter.otlp.proto.http.trace_exporter import OTLPSpanExporter as HttpSpanExporter
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor, SpanExporter

from llmotel.gateway import Gateway

QUESTION = "Hello, I am Maria and my e-mail is maria.schmidt@example.com. How long does delivery to Berlin take?"
ANSWER = "Delivery to Berlin usually takes two to three working days. Thank you for your patience!"
EMAIL = "maria.schmidt@example.com"


def grpc_exporter(gateway: Gateway, **kwargs: Any) -> GrpcSpanExporter:
    return GrpcSpanExporter(endpoint=f"http://127.0.0.1:{gateway.grpc_port}", insecure=True, **kwargs)


def http_exporter(gateway: Gateway, gzip: bool = False, **kwargs: Any) -> HttpSpanExporter:
    return HttpSpanExporter(endpoint=f"http://127.0.0.1:{gateway.http_port}/v1/traces",
                            compression=Compression.Gzip if gzip else Compression.NoCompression, **kwargs)


def url(gateway: Gateway, path: str) -> str:
    return f"http://127.0.0.1:{gateway.http_port}{path}"


def tracer_provider(exporter: SpanExporter, service: str = "sender") -> TracerProvider:
    provider = TracerProvider(resource=Resource.create({"service.name": service}))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    return provider


def semconv_chat(question: str = QUESTION, answer: str = ANSWER) -> dict[str, Any]:
    """Attributes of a chat span as the GenAI conventions (and llmotel) write them."""
    return {
        "gen_ai.operation.name": "chat", "gen_ai.provider.name": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": question}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "finish_reason": "stop",
                                               "parts": [{"type": "text", "content": answer}]}]),
    }


def openllmetry_chat(question: str = QUESTION, answer: str = ANSWER) -> dict[str, Any]:
    """Attributes of a chat span as OpenLLMetry (traceloop) writes them."""
    return {
        "llm.request.type": "chat", "gen_ai.system": "openai", "gen_ai.request.model": "gpt-4o-mini",
        "gen_ai.prompt.0.role": "system", "gen_ai.prompt.0.content": "You are a helpful support assistant.",
        "gen_ai.prompt.1.role": "user", "gen_ai.prompt.1.content": question,
        "gen_ai.completion.0.role": "assistant", "gen_ai.completion.0.content": answer,
        "gen_ai.completion.0.finish_reason": "stop",
    }


def openinference_chat(question: str = QUESTION, answer: str = ANSWER) -> dict[str, Any]:
    """Attributes of an LLM span as OpenInference writes them."""
    return {
        "openinference.span.kind": "LLM", "llm.model_name": "gpt-4o-mini", "llm.provider": "openai",
        "llm.input_messages.0.message.role": "system",
        "llm.input_messages.0.message.content": "You are a helpful support assistant.",
        "llm.input_messages.1.message.role": "user", "llm.input_messages.1.message.content": question,
        "llm.output_messages.0.message.role": "assistant", "llm.output_messages.0.message.content": answer,
        "input.value": json.dumps({"messages": [{"role": "user", "content": question}]}),
        "input.mime_type": "application/json", "output.value": answer, "output.mime_type": "text/plain",
    }


def evaluation_names(span: Any) -> list[str]:
    return [e.attributes.get("gen_ai.evaluation.name") for e in span.events if e.name == "gen_ai.evaluation.result"]


def results(span: Any) -> Mapping[str, Any]:
    return {e.attributes.get("gen_ai.evaluation.name"): e.attributes.get("gen_ai.evaluation.score.label")
            for e in span.events if e.name == "gen_ai.evaluation.result"}
