"""Received spans as SDK spans and back (the gateway re-encodes what it forwards), and the semconv view evaluators
read of spans from other instrumentations: property tests over the shapes SDKs produce."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.exporter.otlp.proto.common.trace_encoder import encode_spans
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.sdk.trace.id_generator import IdGenerator
from opentelemetry.trace import (
    Link,
    NonRecordingSpan,
    SpanContext,
    SpanKind,
    Status,
    StatusCode,
    TraceFlags,
    set_span_in_context,
)

from llmotel.evaluation.types import EvaluationInput
from llmotel.gateway.genai_view import evaluation_view
from llmotel.gateway.received import iter_spans

_text = st.text(max_size=30)
_scalar = st.one_of(_text, st.integers(-(2**63), 2**63 - 1), st.floats(allow_nan=False), st.booleans())
_value = st.one_of(_scalar, st.lists(_text, max_size=3).map(tuple), st.lists(st.integers(-5, 5), max_size=3).map(tuple),
                   st.lists(st.floats(allow_nan=False), max_size=3).map(tuple))
_attributes = st.dictionaries(st.text(min_size=1, max_size=20), _value, max_size=6)


class _Ids(IdGenerator):
    """Ids from hypothesis' random source (the SDK's generator uses the ``random`` module)."""

    def __init__(self, source: Any) -> None:
        self._source = source

    def generate_span_id(self) -> int:
        return int(self._source.getrandbits(64)) or 1

    def generate_trace_id(self) -> int:
        return int(self._source.getrandbits(128)) or 1


@st.composite
def sdk_spans(draw: st.DrawFn) -> ExportTraceServiceRequest:
    exporter = InMemorySpanExporter()
    resource = Resource.create(draw(st.dictionaries(st.sampled_from(["service.name", "host.name", "k8s.pod.name"]),
                                                    _text, max_size=3)))
    provider = TracerProvider(resource=resource, id_generator=_Ids(draw(st.randoms(use_true_random=False))))
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    for _ in range(draw(st.integers(1, 4))):
        tracer = provider.get_tracer(draw(_text), draw(st.one_of(st.none(), _text)),
                                     attributes=draw(st.one_of(st.none(), _attributes)))
        remote_parent = draw(st.booleans())
        parent = SpanContext(draw(st.integers(1, 2**128 - 1)), draw(st.integers(1, 2**64 - 1)), is_remote=remote_parent,
                             trace_flags=TraceFlags(TraceFlags.SAMPLED))
        links = [Link(SpanContext(draw(st.integers(1, 2**128 - 1)), draw(st.integers(1, 2**64 - 1)),
                                  is_remote=draw(st.booleans())), draw(_attributes))
                 for _ in range(draw(st.integers(0, 2)))]
        span = tracer.start_span(draw(_text), context=set_span_in_context(NonRecordingSpan(parent))
                                 if draw(st.booleans()) else None,
                                 kind=draw(st.sampled_from(list(SpanKind))), attributes=draw(_attributes), links=links)
        for _ in range(draw(st.integers(0, 3))):
            span.add_event(draw(_text), draw(_attributes))
        code = draw(st.sampled_from(list(StatusCode)))
        span.set_status(Status(code, draw(_text) if code is StatusCode.ERROR else None))
        span.end()
    return encode_spans(exporter.get_finished_spans())


@settings(max_examples=100, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(sdk_spans())
def test_spans_from_an_sdk_encode_back_to_the_same_request(request: ExportTraceServiceRequest) -> None:
    again = encode_spans(list(iter_spans(ExportTraceServiceRequest.FromString(request.SerializeToString()))))
    assert again == request


_ROLES = st.sampled_from(["system", "user", "assistant", "tool", "user"])
_CONTENT = st.one_of(st.text(min_size=1, max_size=40),
                     st.lists(st.text(min_size=1, max_size=20), min_size=1, max_size=3).map(
                         lambda texts: json.dumps([{"type": "text", "text": t} for t in texts])))
_JUNK = st.dictionaries(st.sampled_from(["gen_ai.prompt.x", "gen_ai.prompt.1", "gen_ai.completion.",
                                         "llm.input_messages", "llm.input_messages.0.message",
                                         "llm.output_messages.a.message.role",
                                         "input.value", "output.value", "llm.prompts", "retrieval.documents.0.document",
                                         "openinference.span.kind", "llm.prompt_template.variables",
                                         "gen_ai.input.messages", "gen_ai.output.messages", "llm.request.type"]),
                        st.one_of(_value, st.dictionaries(_text, _scalar, max_size=2)), max_size=5)


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_ROLES, _CONTENT), min_size=1, max_size=5), st.text(max_size=40), _JUNK)
def test_openllmetry_messages_become_semconv_messages(prompts: list[tuple[str, str]], answer: str,
                                                      junk: dict[str, Any]) -> None:
    attributes: dict[str, Any] = {"llm.request.type": "chat"}
    for i, (role, content) in enumerate(prompts):
        attributes[f"gen_ai.prompt.{i}.role"] = role
        attributes[f"gen_ai.prompt.{i}.content"] = content
    attributes["gen_ai.completion.0.role"] = "assistant"
    attributes["gen_ai.completion.0.content"] = answer
    view = evaluation_view(attributes)
    assert view.operation == "chat"
    evaluation = EvaluationInput.from_attributes({**attributes, **view.private})
    users = [c for r, c in prompts if r == "user"]
    if users:
        last = users[-1]
        expected = "\n".join(p["text"] for p in json.loads(last)) if last.startswith("[") and _is_parts(last) else last
        assert evaluation.input_text == expected
    assert evaluation.output_text == answer
    assert all(m.get("finish_reason") for m in evaluation.output_messages)
    evaluation_view({**attributes, **junk})  # other keys of any shape never break it


def _is_parts(text: str) -> bool:
    try:
        return isinstance(json.loads(text), list)
    except ValueError:
        return False


@settings(max_examples=200, deadline=None)
@given(st.lists(st.tuples(_ROLES, st.text(min_size=1, max_size=40)), min_size=1, max_size=4), st.text(min_size=1),
       _JUNK)
def test_openinference_messages_become_semconv_messages(messages: list[tuple[str, str]], answer: str,
                                                        junk: dict[str, Any]) -> None:
    attributes: dict[str, Any] = {"openinference.span.kind": "LLM"}
    for i, (role, content) in enumerate(messages):
        attributes[f"llm.input_messages.{i}.message.role"] = role
        attributes[f"llm.input_messages.{i}.message.contents.0.message_content.type"] = "text"
        attributes[f"llm.input_messages.{i}.message.contents.0.message_content.text"] = content
    attributes["llm.output_messages.0.message.role"] = "assistant"
    attributes["llm.output_messages.0.message.content"] = answer
    view = evaluation_view(attributes)
    evaluation = EvaluationInput.from_attributes({**attributes, **view.private})
    assert view.operation == "chat"
    assert [(m["role"], m["parts"][0]["content"]) for m in evaluation.input_messages] == messages
    assert evaluation.output_text == answer
    evaluation_view({**attributes, **junk})


def test_openinference_values_and_documents() -> None:
    attributes = {
        "openinference.span.kind": "LLM",
        "input.value": json.dumps({"system": "Be brief.", "messages": [
            {"role": "user", "content": [{"type": "text", "text": "What is the capital of France?"}]}]}),
        "input.mime_type": "application/json",
        "output.value": json.dumps({"content": [{"type": "text", "text": "Paris."}], "stop_reason": "end_turn"}),
        "output.mime_type": "application/json",
        "llm.prompt_template.variables": json.dumps({"city": "Paris", "n": 2}),
        "retrieval.documents.0.document.content": "Paris is the capital of France.",
        "retrieval.documents.0.document.id": "doc-1",
    }
    evaluation = EvaluationInput.from_attributes({**attributes, **evaluation_view(attributes).private})
    assert evaluation.input_text == "What is the capital of France?" and evaluation.system_text == "Be brief."
    assert evaluation.output_text == "Paris." and evaluation.output_messages[0]["finish_reason"] == "end_turn"
    assert evaluation.prompt_variables == {"city": "Paris", "n": "2"}
    assert evaluation.rag_context == "Paris is the capital of France."


def test_older_content_events_and_structured_values() -> None:
    from opentelemetry.sdk.trace import Event

    events = [Event("gen_ai.content.prompt", {"gen_ai.prompt": '[{"role": "user", "content": "Hi there"}]'}),
              Event("gen_ai.content.completion", {"gen_ai.completion": "Hello! How can I help?"})]
    view = evaluation_view({"gen_ai.system": "openai"}, events)
    evaluation = EvaluationInput.from_attributes(view.private)
    assert (view.operation, evaluation.input_text, evaluation.output_text) == ("chat", "Hi there",
                                                                                "Hello! How can I help?")
    structured = ({"role": "user", "parts": ({"type": "text", "content": "Bonjour"},)},)
    view = evaluation_view({"gen_ai.operation.name": "chat", "gen_ai.input.messages": structured})
    assert view.operation is None
    assert EvaluationInput.from_attributes(view.private).input_text == "Bonjour"
