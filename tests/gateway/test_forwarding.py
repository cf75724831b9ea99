"""Spans in over OTLP (gRPC, HTTP protobuf, HTTP JSON, gzip), evaluated and redacted, forwarded in order."""

from __future__ import annotations

import base64
import gzip
import json
import random
import threading
import time
from typing import Any

import pytest
import requests
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.trace import Link, SpanKind, Status, StatusCode

from llmotel.evaluation import EvaluationResult
from llmotel.gateway import Gateway
from tests.gateway.clients import (
    ANSWER,
    EMAIL,
    QUESTION,
    grpc_exporter,
    http_exporter,
    openinference_chat,
    openllmetry_chat,
    results,
    semconv_chat,
    tracer_provider,
    url,
)
from tests.otlp_receiver import OtlpReceiver

OFFLINE_RESULTS = {"language_mismatch", "failure_to_answer", "input_sentiment", "output_sentiment", "input_toxicity",
                   "output_toxicity", "pii"}


@pytest.mark.parametrize("transport", ["grpc", "http", "http+gzip"])
def test_semconv_spans_from_sdk_exporters_are_evaluated_redacted_and_forwarded(
        transport: str, start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway()
    exporter = grpc_exporter(gateway) if transport == "grpc" else http_exporter(gateway, gzip=transport == "http+gzip")
    provider = tracer_provider(exporter, service="checkout")
    tracer = provider.get_tracer("app")
    with tracer.start_as_current_span("handle request", kind=SpanKind.SERVER), \
            tracer.start_as_current_span("chat gpt-4o-mini", kind=SpanKind.CLIENT, attributes=semconv_chat()):
        pass
    provider.shutdown()

    spans = otlp_receiver.wait_for_spans(2, timeout=20)
    chat = next(s for s in spans if s.name == "chat gpt-4o-mini")
    root = next(s for s in spans if s.name == "handle request")
    assert set(results(chat)) == OFFLINE_RESULTS
    assert results(chat)["language_mismatch"] == "match" and results(chat)["pii"] == "detected"
    assert chat.parent_span_id == root.span_id and chat.kind == "CLIENT" and root.kind == "SERVER"
    assert chat.resource["service.name"] == "checkout" and chat.scope_name == "app"
    assert "<EMAIL_ADDRESS>" in chat.attributes["gen_ai.input.messages"]
    assert results(root) == {}  # not an LLM span: redacted (nothing to redact), no evaluations
    assert EMAIL.encode() not in otlp_receiver.raw_traces()


def _otlp_json_span(trace_id: str, span_id: str, attributes: dict[str, Any]) -> dict[str, Any]:
    def value(v: Any) -> dict[str, Any]:
        if isinstance(v, bool):
            return {"boolValue": v}
        if isinstance(v, int):
            return {"intValue": str(v)}
        if isinstance(v, float):
            return {"doubleValue": v}
        if isinstance(v, bytes):
            return {"bytesValue": base64.b64encode(v).decode()}
        if isinstance(v, list):
            return {"arrayValue": {"values": [value(x) for x in v]}}
        if isinstance(v, dict):
            return {"kvlistValue": {"values": [{"key": k, "value": value(x)} for k, x in v.items()]}}
        return {"stringValue": v}

    return {"traceId": trace_id, "spanId": span_id, "name": "chat gpt-4o-mini", "kind": 3,
            "startTimeUnixNano": "1767225600000000000", "endTimeUnixNano": "1767225601000000000",
            "attributes": [{"key": k, "value": value(v)} for k, v in attributes.items()],
            "status": {"code": 2, "message": "upstream said no"}}


def test_otlp_json_with_every_value_type_round_trips(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(redact=False)
    trace_id, span_id = "5b8efff798038103d269b633813fc60c", "eee19b7ec3c1b174"
    extra = {"n": 7, "ratio": 0.25, "flag": True, "raw": b"\x00\x01", "list": ["a", "b"],
             "map": {"k": "v", "inner": [1, 2]}}
    body = {"resourceSpans": [{"resource": {"attributes": [{"key": "service.name", "value": {"stringValue": "ts"}}]},
                               "scopeSpans": [{"scope": {"name": "js"},
                                               "spans": [_otlp_json_span(trace_id, span_id,
                                                                         {**semconv_chat(), **extra})]}]}]}
    response = requests.post(url(gateway, "/v1/traces"), data=gzip.compress(json.dumps(body).encode()),
                             headers={"Content-Type": "application/json", "Content-Encoding": "gzip"}, timeout=10)
    assert response.status_code == 200 and response.headers["Content-Type"] == "application/json"
    assert response.json() == {}

    (span,) = otlp_receiver.wait_for_spans(1, timeout=20)
    assert (span.trace_id, span.span_id) == (trace_id, span_id)
    assert span.start_time_unix_nano == 1767225600000000000 and span.status_code == "ERROR"
    assert span.status_message == "upstream said no"
    assert {k: span.attributes[k] for k in extra} == {**extra, "list": ["a", "b"]}
    assert set(results(span)) == OFFLINE_RESULTS - {"pii"}


@pytest.mark.parametrize("shape", [openllmetry_chat, openinference_chat])
def test_openllmetry_and_openinference_spans_are_evaluated_and_forwarded_as_they_came(
        shape: Any, start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway()
    provider = tracer_provider(http_exporter(gateway))
    attributes = shape()
    with provider.get_tracer("other-instrumentation").start_as_current_span("openai.chat", attributes=attributes):
        pass
    provider.shutdown()

    (span,) = otlp_receiver.wait_for_spans(1, timeout=20)
    assert set(results(span)) == OFFLINE_RESULTS
    assert results(span)["failure_to_answer"] == "answered" and results(span)["pii"] == "detected"
    # forwarded with its own attributes: nothing of the semconv view the evaluators read was added
    assert "gen_ai.operation.name" not in span.attributes and "gen_ai.input.messages" not in span.attributes
    assert set(attributes) <= set(span.attributes)
    assert EMAIL.encode() not in otlp_receiver.raw_traces()
    assert ANSWER in json.dumps(span.attributes)


def test_structured_semconv_messages_and_event_content_are_evaluated(start_gateway: Any,
                                                                     otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(redact=False)
    provider = tracer_provider(http_exporter(gateway))
    tracer = provider.get_tracer("java-like")
    span = tracer.start_span("chat model", attributes={"gen_ai.operation.name": "chat"})
    span.add_event("gen_ai.client.inference.operation.details", {
        "gen_ai.input.messages": json.dumps([{"role": "user", "parts": [{"type": "text", "content": QUESTION}]}]),
        "gen_ai.output.messages": json.dumps([{"role": "assistant", "finish_reason": "stop",
                                               "parts": [{"type": "text", "content": "Ich weiß es nicht, tut mir "
                                                          "leid, dazu habe ich keine Informationen."}]}]),
    })
    span.end()
    provider.shutdown()

    (received,) = otlp_receiver.wait_for_spans(1, timeout=20)
    assert results(received)["language_mismatch"] == "mismatch"


class _Slow:
    """An evaluator that takes a random time, so workers finish spans out of order."""

    name = "slow"
    content_fields = ()

    def evaluate(self, input: Any) -> EvaluationResult:
        time.sleep(random.uniform(0, 0.02))
        return EvaluationResult("slow", score=1.0)


def test_accepted_spans_are_forwarded_once_each_in_acceptance_order(start_gateway: Any,
                                                                    otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[_Slow()], redact=False, settings={"evaluation_workers": 4})
    exporter = http_exporter(gateway)
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    tracer = provider.get_tracer("order")
    for i in range(120):
        attributes = semconv_chat() if i % 3 else {}
        with tracer.start_as_current_span(f"span {i:03d}", attributes=attributes):
            pass
    provider.shutdown()

    spans = otlp_receiver.wait_for_spans(120, timeout=30)
    assert [s.name for s in spans] == [f"span {i:03d}" for i in range(120)]
    assert len({s.span_id for s in spans}) == 120
    assert all(results(s) == ({"slow": None} if i % 3 else {}) for i, s in enumerate(spans))


def test_span_parts_survive_the_trip(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False)
    provider = tracer_provider(grpc_exporter(gateway))
    tracer = provider.get_tracer("scope", "1.2.3")
    with tracer.start_as_current_span("linked") as linked:
        pass
    span = tracer.start_span("full", kind=SpanKind.PRODUCER, links=[Link(linked.get_span_context(), {"why": "x"})],
                             attributes={"a": 1, "b": [1.5, 2.5], "c": ["x", "y"]})
    span.add_event("something", {"k": "v"})
    span.set_status(Status(StatusCode.ERROR, "broken"))
    span.end()
    provider.shutdown()

    got = {s.name: s for s in otlp_receiver.wait_for_spans(2, timeout=20)}
    full = got["full"]
    assert full.kind == "PRODUCER" and full.scope_version == "1.2.3"
    assert full.attributes == {"a": 1, "b": [1.5, 2.5], "c": ["x", "y"]}
    assert [(e.name, e.attributes) for e in full.events] == [("something", {"k": "v"})]
    assert [(link.span_id, link.attributes) for link in full.links] == [(got["linked"].span_id, {"why": "x"})]
    assert (full.status_code, full.status_message) == ("ERROR", "broken")
    assert full.start_time_unix_nano == span.start_time and full.end_time_unix_nano == span.end_time


def test_secrets_are_scrubbed_from_forwarded_spans_whatever_the_settings(start_gateway: Any,
                                                                       otlp_receiver: OtlpReceiver) -> None:
    gateway = start_gateway(evaluators=[], redact=False)
    key = "sk-proj-" + "A1b2C3d4E5f6G7h8I9j0K1l2M3n4"
    provider = tracer_provider(http_exporter(gateway))
    with provider.get_tracer("t").start_as_current_span("call", attributes={"error.body": f"Incorrect API key {key}"}):
        pass
    provider.shutdown()
    (span,) = otlp_receiver.wait_for_spans(1, timeout=20)
    assert span.attributes["error.body"] == "Incorrect API key <SECRET>"
    assert key.encode() not in otlp_receiver.raw_traces()


def test_concurrent_senders_on_both_transports_lose_nothing(start_gateway: Any, otlp_receiver: OtlpReceiver) -> None:
    gateway: Gateway = start_gateway()
    errors: list[BaseException] = []

    def send(index: int) -> None:
        try:
            exporter = grpc_exporter(gateway) if index % 2 else http_exporter(gateway, gzip=index % 3 == 0)
            provider = tracer_provider(exporter, service=f"svc-{index}")
            for n in range(10):
                with provider.get_tracer("t").start_as_current_span(f"s{index}-{n}", attributes=semconv_chat()):
                    pass
            provider.shutdown()
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=send, args=(i,)) for i in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert not errors
    spans = otlp_receiver.wait_for_spans(60, timeout=60)
    assert sorted(s.name for s in spans) == sorted(f"s{i}-{n}" for i in range(6) for n in range(10))
    assert all(set(results(s)) == OFFLINE_RESULTS for s in spans)
