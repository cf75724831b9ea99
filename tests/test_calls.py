"""The public LLM-call API, ``llmotel.llm_call``, instrumenting a client that is not a provider SDK: plain ``httpx``
calls to the fake provider's OpenAI-compatible endpoint, plain and streamed, sync and async, with errors. The span,
metrics, annotation context and the content (exported, or kept for evaluators with capture off) must be what an
instrumented SDK call gives."""

from __future__ import annotations

import json
from typing import Any
from urllib.parse import urlsplit

import httpx
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind, StatusCode

import llmotel
from llmotel import semconv as sc
from llmotel.evaluation import EvaluationInput, EvaluationResult
from tests.fake_providers.server import Reply

MESSAGES = [{"role": "system", "content": "Be brief."}, {"role": "user", "content": "What is the capital of France?"}]


class Pipeline:
    def __init__(self, **settings: Any) -> None:
        self.exporter = InMemorySpanExporter()
        self.reader = InMemoryMetricReader()
        llmotel.enable(exporter=self.exporter, tracer_provider=TracerProvider(),
                       meter_provider=MeterProvider(metric_readers=[self.reader]), instrument=[], **settings,
                       export=llmotel.ExportOptions(console=False))

    def spans(self) -> list[Any]:
        assert llmotel.flush(timeout=10)
        return list(self.exporter.get_finished_spans())

    def metric_names(self) -> set[str]:
        data = self.reader.get_metrics_data()
        if data is None:
            return set()
        return {m.name for rm in data.resource_metrics for sm in rm.scope_metrics for m in sm.metrics}


def chat(client: httpx.Client, base_url: str, body: dict[str, Any]) -> dict[str, Any]:
    """A hand-written client: what a user of a provider without an SDK instrumentation writes."""
    server = urlsplit(base_url)
    with llmotel.llm_call("openai", body["model"], server_address=server.hostname, server_port=server.port,
                          request={"temperature": body.get("temperature"), "max_tokens": body.get("max_tokens")},
                          input_messages=body["messages"]) as call:
        response = client.post(f"{base_url}/chat/completions", json=body)
        response.raise_for_status()
        reply = response.json()
        choice = reply["choices"][0]
        call.record_response(model=reply["model"], response_id=reply["id"], finish_reasons=[choice["finish_reason"]],
                             input_tokens=reply["usage"]["prompt_tokens"],
                             output_tokens=reply["usage"]["completion_tokens"],
                             output_messages=[{**choice["message"], "finish_reason": choice["finish_reason"]}])
        return reply


def test_a_plain_http_client_gets_the_span_an_sdk_call_gets(fake_provider):
    pipeline = Pipeline()
    with httpx.Client() as client:
        reply = chat(client, fake_provider.openai_base_url,
                     {"model": "gpt-4o-mini", "messages": MESSAGES, "temperature": 0.2, "max_tokens": 50})
    (span,) = pipeline.spans()
    attrs = span.attributes
    assert span.name == "chat gpt-4o-mini" and span.kind is SpanKind.CLIENT
    assert attrs[sc.GEN_AI_OPERATION_NAME] == "chat" and attrs[sc.GEN_AI_PROVIDER_NAME] == "openai"
    assert attrs[sc.SERVER_ADDRESS] == "127.0.0.1" and attrs[sc.SERVER_PORT] == fake_provider.port
    assert attrs[sc.GEN_AI_REQUEST_TEMPERATURE] == 0.2 and attrs[sc.GEN_AI_REQUEST_MAX_TOKENS] == 50
    assert attrs[sc.GEN_AI_RESPONSE_ID] == reply["id"] and attrs[sc.GEN_AI_RESPONSE_MODEL] == reply["model"]
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",)
    assert (attrs[sc.GEN_AI_USAGE_INPUT_TOKENS], attrs[sc.GEN_AI_USAGE_OUTPUT_TOKENS]) == (
        reply["usage"]["prompt_tokens"], reply["usage"]["completion_tokens"])
    inputs = json.loads(attrs[sc.GEN_AI_INPUT_MESSAGES])
    assert inputs[1] == {"role": "user", "parts": [{"type": "text", "content": MESSAGES[1]["content"]}]}
    (output,) = json.loads(attrs[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["finish_reason"] == "stop"
    assert output["parts"] == [{"type": "text", "content": reply["choices"][0]["message"]["content"]}]
    assert {sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE} <= pipeline.metric_names()


def test_a_streamed_answer_is_assembled_from_its_chunks(fake_provider):
    pipeline = Pipeline()
    body = {"model": "gpt-4o-mini", "messages": MESSAGES, "stream": True}
    url = f"{fake_provider.openai_base_url}/chat/completions"
    with (httpx.Client() as client,
          llmotel.llm_call("openai", "gpt-4o-mini", input_messages=MESSAGES, stream=True) as call,
          client.stream("POST", url, json=body) as response):
        for line in response.iter_lines():
            if not line.startswith("data: ") or line == "data: [DONE]":
                continue
            chunk = json.loads(line[6:])
            for choice in chunk["choices"]:
                call.record_chunk(choice["delta"].get("content"))
                if choice["finish_reason"]:
                    call.record_response(finish_reasons=[choice["finish_reason"]], response_id=chunk["id"])
    (span,) = pipeline.spans()
    (output,) = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    answer = "Echo: What is the capital of France?"
    assert output == {"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}
    assert span.attributes[sc.GEN_AI_REQUEST_STREAM] is True
    assert span.attributes[sc.GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK] >= 0
    assert sc.METRIC_TIME_TO_FIRST_CHUNK in pipeline.metric_names()


@pytest.mark.parametrize("status", [400, 429, 500])
def test_an_http_error_ends_the_call_with_its_type_once(fake_provider, status):
    pipeline = Pipeline()
    fake_provider.script(Reply(status=status, error_message="the prompt was: What is the capital of France?"))
    with httpx.Client() as client, pytest.raises(httpx.HTTPStatusError):
        chat(client, fake_provider.openai_base_url, {"model": "gpt-4o-mini", "messages": MESSAGES})
    (span,) = pipeline.spans()
    assert span.attributes[sc.ERROR_TYPE] == "HTTPStatusError"
    assert span.status.status_code is StatusCode.ERROR


def test_a_refused_connection_ends_the_call(fake_provider):
    pipeline = Pipeline()
    with httpx.Client() as client, pytest.raises(httpx.ConnectError):
        chat(client, "http://127.0.0.1:9/v1", {"model": "gpt-4o-mini", "messages": MESSAGES})
    (span,) = pipeline.spans()
    assert span.attributes[sc.ERROR_TYPE] == "ConnectError"


async def test_async_clients_use_the_same_api(fake_provider):
    pipeline = Pipeline()
    async with httpx.AsyncClient() as client:
        with llmotel.llm_call("openai", "gpt-4o-mini", input_messages=MESSAGES) as call:
            reply = (await client.post(f"{fake_provider.openai_base_url}/chat/completions",
                                       json={"model": "gpt-4o-mini", "messages": MESSAGES})).json()
            call.record_response(output_tokens=reply["usage"]["completion_tokens"])
    (span,) = pipeline.spans()
    assert span.attributes[sc.GEN_AI_USAGE_OUTPUT_TOKENS] == reply["usage"]["completion_tokens"]


def test_annotation_context_reaches_the_call(fake_provider):
    pipeline = Pipeline()
    prompt = llmotel.Prompt(template="What is the capital of {country}?", variables={"country": "France"}, id="cap")
    with httpx.Client() as client, llmotel.annotation_context(prompt=prompt, tags={"team": "geo"}):
        chat(client, fake_provider.openai_base_url, {"model": "gpt-4o-mini", "messages": MESSAGES})
    (span,) = pipeline.spans()
    assert span.attributes[sc.LLMOTEL_PROMPT_TEMPLATE] == "What is the capital of {country}?"
    assert "team" in json.dumps(dict(span.attributes))


class SeesContent:
    name = "sees_content"
    content_fields = ()  # its label quotes nothing: exported with capture off too

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        return EvaluationResult("sees_content", label="yes" if "France" in input.input_text else "no")


def test_with_capture_off_nothing_is_exported_and_evaluators_still_see_the_content(fake_provider):
    pipeline = Pipeline(capture_content=False, evaluators=[SeesContent()])
    with httpx.Client() as client:
        chat(client, fake_provider.openai_base_url, {"model": "gpt-4o-mini", "messages": MESSAGES})
    (span,) = pipeline.spans()
    assert "France" not in json.dumps(dict(span.attributes)) + json.dumps([dict(e.attributes) for e in span.events])
    (result,) = [e for e in span.events if e.name == sc.GEN_AI_EVALUATION_RESULT_EVENT]
    assert result.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "yes"


def test_end_runs_once_and_odd_values_never_raise(fake_provider):
    pipeline = Pipeline()
    call = llmotel.llm_call("openai", "m", request={"temperature": "hot", "seed": True, "stop_sequences": "END"},
                            input_messages=[{"role": "user", "content": {"not": "text"}}])
    call.record_response(input_tokens=-3, output_tokens="many", finish_reasons=[1, "stop"])  # type: ignore[list-item]
    call.end()
    call.end(RuntimeError("late"))
    (span,) = pipeline.spans()
    attrs = span.attributes
    assert sc.GEN_AI_REQUEST_TEMPERATURE not in attrs and sc.GEN_AI_REQUEST_SEED not in attrs
    assert attrs[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("END",)
    assert sc.GEN_AI_USAGE_INPUT_TOKENS not in attrs and sc.GEN_AI_USAGE_OUTPUT_TOKENS not in attrs
    assert attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS] == ("stop",) and sc.ERROR_TYPE not in attrs


def test_without_enable_the_global_provider_is_used():
    call = llmotel.llm_call("openai", "m")
    call.end()  # no provider configured: a non-recording span, nothing raised


@settings(max_examples=30, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(messages=st.lists(st.fixed_dictionaries({"role": st.sampled_from(["user", "assistant", "system", "tool"]),
                                                 "content": st.one_of(st.none(), st.text(max_size=30))}),
                         max_size=4),
       answer=st.text(max_size=30))
def test_any_chat_shaped_messages_give_schema_shaped_content(messages, answer):
    pipeline = Pipeline()
    with llmotel.llm_call("openai", "m", input_messages=messages) as call:
        call.record_response(output_messages=[{"role": "assistant", "content": answer}])
    (span,) = pipeline.spans()
    llmotel.shutdown()
    inputs = json.loads(span.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert [m["role"] for m in inputs] == [m["role"] for m in messages]
    assert all(isinstance(m["parts"], list) for m in inputs)
    (output,) = json.loads(span.attributes[sc.GEN_AI_OUTPUT_MESSAGES])
    assert output["finish_reason"] == "" and output["parts"] == [{"type": "text", "content": answer}]


# --- manual llm() spans are LLM calls of the same API ----------------------------------------------------------------


def test_a_manual_llm_span_gets_annotation_context_and_metrics():
    pipeline = Pipeline()
    prompt = llmotel.Prompt(template="Capital of {country}?", variables={"country": "France"}, id="cap")
    with llmotel.annotation_context(prompt=prompt), llmotel.llm(model_name="my-model", model_provider="acme") as span:
        llmotel.annotate(input="Capital of France?", output="Paris")
        span.set_attribute(sc.GEN_AI_USAGE_INPUT_TOKENS, 7)
        span.set_attribute(sc.GEN_AI_USAGE_OUTPUT_TOKENS, 2)
    (span,) = pipeline.spans()
    assert span.name == "chat my-model" and span.kind is SpanKind.CLIENT
    assert span.attributes[sc.LLMOTEL_PROMPT_TEMPLATE] == "Capital of {country}?"
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == "acme"
    assert {sc.METRIC_OPERATION_DURATION, sc.METRIC_TOKEN_USAGE} <= pipeline.metric_names()


def test_a_manual_llm_span_with_capture_off_is_still_evaluated_on_its_content():
    pipeline = Pipeline(capture_content=False, evaluators=[SeesContent()])

    @llmotel.llm(model_name="m")
    def ask(question: str) -> str:
        llmotel.annotate(input=question, output="Paris")
        return "Paris"

    ask("What is the capital of France?")
    (span,) = pipeline.spans()
    assert "France" not in json.dumps(dict(span.attributes))
    (result,) = [e for e in span.events if e.name == sc.GEN_AI_EVALUATION_RESULT_EVENT]
    assert result.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "yes"


def test_a_manual_llm_span_ends_once_with_the_error():
    pipeline = Pipeline()
    with pytest.raises(TimeoutError), llmotel.llm("my call", model_name="m"):
        raise TimeoutError("slow")
    (span,) = pipeline.spans()
    assert span.name == "my call"
    assert span.attributes[sc.ERROR_TYPE] == "TimeoutError" and span.status.status_code is StatusCode.ERROR
