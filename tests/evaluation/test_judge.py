"""The LLM judge: real openai/anthropic clients against the fake provider; the schema validator on its own."""

from __future__ import annotations

import importlib.resources
import json
import threading
import time
from collections.abc import Iterator
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry import trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

import llmotel
from llmotel import semconv as sc
from llmotel.errors import ConfigurationError
from llmotel.evaluation.judge import (
    Judge,
    JudgeBudgetExceeded,
    JudgeError,
    JudgeOutputError,
    JudgePrompt,
    JudgePromptError,
    _schema,
    is_judge_trace,
    load_prompt,
)
from llmotel.evaluation.judge import budget as judge_budget
from llmotel.evaluation.judge import prompts as judge_prompts
from tests.fake_providers import Reply

MODELS = {"openai": "gpt-4o-mini", "anthropic": "claude-haiku-4-5"}
SCHEMA = {
    "type": "object",
    "properties": {
        "verdict": {"type": "string", "enum": ["pass", "fail"]},
        "score": {"type": "number", "minimum": 0, "maximum": 1},
        "reason": {"type": "string"},
    },
    "required": ["verdict", "score", "reason"],
    "additionalProperties": False,
}
PROMPT = JudgePrompt(
    name="test_verdict",
    version="3",
    system="You grade answers to questions.",
    user="Question:\n{question}\n\nAnswer:\n{answer}",
    schema=SCHEMA,
)
VALID = {"verdict": "pass", "score": 0.75, "reason": "It answers the question."}
VALID_TEXT = json.dumps(VALID)
SECRET = "Zanzibar-4471"  # user content that must never appear in an error message


def ask(judge: Judge, question: str = f"Where is {SECRET}?", answer: str = "Nowhere.") -> dict[str, Any]:
    return judge.ask(PROMPT, "test_check", question=question, answer=answer)


@pytest.fixture(params=["openai", "anthropic"])
def provider(request: pytest.FixtureRequest) -> str:
    return request.param


@pytest.fixture
def client(provider: str, request: pytest.FixtureRequest) -> Any:
    return request.getfixturevalue(f"{provider}_client")


@pytest.fixture
def metric_reader() -> InMemoryMetricReader:
    return InMemoryMetricReader()


@pytest.fixture
def make_judge(client: Any, provider: str, metric_reader: InMemoryMetricReader) -> Any:
    meter_provider = MeterProvider(metric_readers=[metric_reader])

    def make(**kwargs: Any) -> Judge:
        return Judge(client, model=MODELS[provider], meter_provider=meter_provider, **kwargs)

    yield make
    meter_provider.shutdown()


def model_path(provider: str) -> str:
    return "/v1/messages" if provider == "anthropic" else "/v1/chat/completions"


def sent_messages(request: Any, provider: str) -> tuple[str, list[dict[str, Any]]]:
    """The system text and the other messages of a recorded request."""
    body = request.body
    if provider == "anthropic":
        return body["system"], body["messages"]
    assert body["messages"][0]["role"] == "system"
    return body["messages"][0]["content"], body["messages"][1:]


def token_points(reader: InMemoryMetricReader) -> dict[str, Any]:
    """token type -> data point of the judge token counter."""
    data = reader.get_metrics_data()
    points: dict[str, Any] = {}
    for rm in data.resource_metrics if data else ():
        for sm in rm.scope_metrics:
            for metric in sm.metrics:
                if metric.name == sc.METRIC_JUDGE_TOKEN_USAGE:
                    for point in metric.data.data_points:
                        points[point.attributes[sc.GEN_AI_TOKEN_TYPE]] = point
    return points


# --- replies --------------------------------------------------------------------------------------------------------


def test_valid_json_reply(make_judge, provider, fake_provider):
    fake_provider.script(Reply(text=VALID_TEXT))
    assert ask(make_judge()) == VALID
    (request,) = fake_provider.requests
    assert request.path == model_path(provider)
    system, messages = sent_messages(request, provider)
    assert system.startswith("You grade answers to questions.")
    assert json.dumps(SCHEMA) in system  # the judge tells the model the schema
    assert messages == [{"role": "user", "content": f"Question:\nWhere is {SECRET}?\n\nAnswer:\nNowhere."}]
    assert request.header("x-stainless-retry-count") == "0"
    assert request.header("x-stainless-read-timeout") == "30.0"
    if provider == "openai":
        assert request.body["temperature"] == 0
        assert request.body["response_format"] == {"type": "json_object"}
        assert request.body["max_completion_tokens"] == 1024
    else:
        assert request.body["max_tokens"] == 1024
        # anthropic >= 1.0 has no temperature; API version 2026-10-21 rejects it.
        assert "temperature" not in request.body


@pytest.mark.parametrize(
    "text",
    [
        f"Here is my verdict:\n```json\n{VALID_TEXT}\n```\nHope this helps.",
        f"```\n{VALID_TEXT}\n```",
        f"My verdict is {VALID_TEXT} and that is final.",
        f"  \n{json.dumps(VALID, indent=2)}\n\n",
    ],
    ids=["json-fence", "bare-fence", "surrounding-text", "whitespace"],
)
def test_json_is_found_in_the_reply(make_judge, fake_provider, text):
    fake_provider.script(Reply(text=text))
    assert ask(make_judge()) == VALID
    assert len(fake_provider.requests) == 1


def test_braces_in_field_values_are_not_template_fields(make_judge, fake_provider, provider):
    fake_provider.script(Reply(text=VALID_TEXT))
    ask(make_judge(), question="What does {answer} mean in {0}?", answer="{}")
    _, messages = sent_messages(fake_provider.last_request, provider)
    assert messages[0]["content"] == "Question:\nWhat does {answer} mean in {0}?\n\nAnswer:\n{}"


def test_invalid_json_is_repaired_once(make_judge, fake_provider, provider):
    fake_provider.script(Reply(text="The answer is fine, I would say pass."), Reply(text=VALID_TEXT))
    assert ask(make_judge()) == VALID
    first, second = fake_provider.requests
    system, messages = sent_messages(second, provider)
    assert system == sent_messages(first, provider)[0]
    assert messages[0] == sent_messages(first, provider)[1][0]
    assert messages[1] == {"role": "assistant", "content": "The answer is fine, I would say pass."}
    assert messages[2]["role"] == "user"
    assert "is not valid JSON" in messages[2]["content"]
    assert "corrected JSON object" in messages[2]["content"]


def test_schema_violation_is_repaired_with_the_error(make_judge, fake_provider, provider):
    fake_provider.script(Reply(text='{"verdict": "maybe", "score": 0.5, "reason": "?"}'), Reply(text=VALID_TEXT))
    assert ask(make_judge()) == VALID
    _, messages = sent_messages(fake_provider.requests[1], provider)
    assert "$.verdict: not one of the allowed values ['pass', 'fail']" in messages[-1]["content"]


def test_wrong_schema_twice_raises_output_error(make_judge, fake_provider):
    bad = json.dumps({"verdict": SECRET, "score": 7, "extra": SECRET})
    fake_provider.script(Reply(text=bad), Reply(text=bad))
    with pytest.raises(JudgeOutputError) as caught:
        ask(make_judge())
    message = str(caught.value)
    assert "test_check" in message and "test_verdict v3" in message
    assert "$.verdict: not one of the allowed values" in message
    assert "$.score: above the maximum 1" in message
    assert "missing required property 'reason'" in message
    assert "$.extra: property not allowed" in message
    assert SECRET not in message
    assert len(fake_provider.requests) == 2


@pytest.mark.parametrize(
    "text, problem",
    [
        ("", "is empty"),
        ("[1, 2]", "is a JSON array, not an object"),
        ('{"verdict": "pass", "score": NaN, "reason": "x"}', "is not valid JSON"),
        (f"I refuse to judge {SECRET}.", "is not valid JSON"),
    ],
)
def test_unusable_reply_twice(make_judge, fake_provider, text, problem):
    fake_provider.script(Reply(text=text), Reply(text=text))
    with pytest.raises(JudgeOutputError, match=problem) as caught:
        ask(make_judge())
    assert SECRET not in str(caught.value)


def test_malformed_response_body_is_the_sdks_error(make_judge, fake_provider):
    fake_provider.script(Reply(malformed_json=True), Reply(text=VALID_TEXT))
    with pytest.raises(Exception) as caught:  # whatever the SDK raises: the body is no JSON
        ask(make_judge())
    assert not isinstance(caught.value, JudgeError)
    assert len(fake_provider.requests) == 1


def test_prompt_fields_must_match(make_judge, fake_provider):
    judge = make_judge()
    with pytest.raises(JudgePromptError, match=r"missing \['answer'\]"):
        judge.ask(PROMPT, "test_check", question="q")
    with pytest.raises(JudgePromptError, match=r"unknown \['anwser'\]"):
        judge.ask(PROMPT, "test_check", question="q", answer="a", anwser="a")
    assert fake_provider.requests == []


def test_huge_field_is_truncated_with_a_marker(make_judge, fake_provider, provider):
    fake_provider.script(Reply(text=VALID_TEXT))
    ask(make_judge(), answer="x" * (judge_prompts.MAX_FIELD_CHARS + 10))
    _, messages = sent_messages(fake_provider.last_request, provider)
    assert messages[0]["content"].endswith(sc.TRUNCATION_MARKER.format(dropped=10))


# --- rate limits, timeouts, budget, concurrency ----------------------------------------------------------------------


def test_rate_limit_waits_retry_after_then_succeeds(make_judge, fake_provider):
    fake_provider.script(Reply.error(429, retry_after=0.3), Reply(text=VALID_TEXT))
    started = time.monotonic()
    assert ask(make_judge()) == VALID
    assert time.monotonic() - started >= 0.3  # the judge waited what the provider asked for
    assert len(fake_provider.requests) == 2


def test_rate_limit_retry_after_ms(make_judge, fake_provider):
    headers = {"retry-after-ms": "250", "retry-after": "20"}
    fake_provider.script(Reply(status=429, headers=headers), Reply(text=VALID_TEXT))
    started = time.monotonic()
    assert ask(make_judge()) == VALID
    assert time.monotonic() - started >= 0.25  # retry-after-ms wins (else the judge would wait 20 s)


def test_rate_limit_forever_reraises_after_retries(make_judge, fake_provider, provider):
    fake_provider.script(*[Reply.error(429, retry_after=0) for _ in range(4)])
    sdk = openai if provider == "openai" else anthropic
    with pytest.raises(sdk.RateLimitError):
        ask(make_judge(rate_limit_retries=2))
    assert len(fake_provider.requests) == 3
    assert fake_provider.pending_scripts == 1


def test_other_api_errors_are_not_retried(make_judge, fake_provider, provider):
    fake_provider.script(Reply.error(500), Reply(text=VALID_TEXT))
    sdk = openai if provider == "openai" else anthropic
    with pytest.raises(sdk.InternalServerError):
        ask(make_judge())
    assert len(fake_provider.requests) == 1


def test_timeout_propagates_without_retry(make_judge, fake_provider, provider):
    fake_provider.script(Reply(delay=2, text=VALID_TEXT))
    sdk = openai if provider == "openai" else anthropic
    with pytest.raises(sdk.APITimeoutError):
        ask(make_judge(timeout=0.3))
    assert len(fake_provider.requests) == 1


@pytest.mark.parametrize("provider", ["openai"])  # anthropic >= 1.0 never sends temperature
def test_openai_model_rejecting_temperature(make_judge, fake_provider):
    rejection = "Unsupported value: 'temperature' does not support 0 with this model. Only 1 is supported."
    fake_provider.script(Reply.error(400, rejection), Reply(text=VALID_TEXT), Reply(text=VALID_TEXT))
    judge = make_judge()
    assert ask(judge) == VALID
    assert ask(judge) == VALID
    first, second, third = fake_provider.requests
    assert first.body["temperature"] == 0
    assert "temperature" not in second.body and "temperature" not in third.body


def test_budget_exceeded_makes_no_call(make_judge, fake_provider, provider):
    usage = {"prompt_tokens": 30, "completion_tokens": 20} if provider == "openai" else {
        "input_tokens": 30, "output_tokens": 20}
    fake_provider.script(Reply(text=VALID_TEXT, usage=usage))
    judge = make_judge(max_tokens_per_minute=50)
    assert ask(judge) == VALID
    with pytest.raises(JudgeBudgetExceeded, match="50 tokens per minute"):
        ask(judge)
    assert len(fake_provider.requests) == 1


def test_budget_under_the_ceiling_allows_calls(make_judge, fake_provider, provider):
    usage = {"prompt_tokens": 30, "completion_tokens": 19} if provider == "openai" else {
        "input_tokens": 30, "output_tokens": 19}
    fake_provider.script(Reply(text=VALID_TEXT, usage=usage), Reply(text=VALID_TEXT, usage=usage))
    judge = make_judge(max_tokens_per_minute=50)
    ask(judge)
    ask(judge)  # 49 < 50: allowed (and now 98 are used)
    with pytest.raises(JudgeBudgetExceeded):
        ask(judge)
    assert len(fake_provider.requests) == 2


def test_budget_is_checked_before_the_repair_call(make_judge, fake_provider, provider):
    usage = {"prompt_tokens": 80, "completion_tokens": 40} if provider == "openai" else {
        "input_tokens": 80, "output_tokens": 40}
    fake_provider.script(Reply(text="not json", usage=usage), Reply(text=VALID_TEXT))
    with pytest.raises(JudgeBudgetExceeded):
        ask(make_judge(max_tokens_per_minute=100))
    assert len(fake_provider.requests) == 1


def test_budget_window_slides():
    window = judge_budget._TokenWindow(10)
    window.add(10)
    assert window.exhausted()
    window._used[0] = (time.monotonic() - 61, 10)  # the call happened over a minute ago
    assert not window.exhausted()
    assert window._total == 0


def run_in_threads(count: int, target: Any) -> list[Any]:
    results: list[Any] = [None] * count

    def run(index: int) -> None:
        try:
            results[index] = target()
        except Exception as exc:
            results[index] = exc

    threads = [threading.Thread(target=run, args=(i,)) for i in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    return results


def test_concurrency_limit_serialises_calls(make_judge, fake_provider):
    fake_provider.script(*[Reply(delay=0.3, text=VALID_TEXT) for _ in range(3)])
    judge = make_judge(max_concurrency=1)
    started = time.monotonic()
    assert run_in_threads(3, lambda: ask(judge)) == [VALID] * 3
    assert time.monotonic() - started >= 0.9  # one call in flight at a time: three delays one after another


def test_calls_run_in_parallel_up_to_the_limit(make_judge, fake_provider):
    fake_provider.script(*[Reply(delay=1.5, text=VALID_TEXT) for _ in range(3)])
    judge = make_judge(max_concurrency=3)
    received_before_first_reply: list[int] = []

    def call() -> Any:
        result = ask(judge)
        received_before_first_reply.append(len(fake_provider.requests))
        return result

    assert run_in_threads(3, call) == [VALID] * 3
    assert received_before_first_reply[0] == 3  # all three were in flight before any reply came back


def test_concurrent_asks_are_thread_safe(make_judge, fake_provider, metric_reader, provider):
    usage = {"prompt_tokens": 4, "completion_tokens": 6} if provider == "openai" else {
        "input_tokens": 4, "output_tokens": 6}
    fake_provider.script(*[Reply(text=VALID_TEXT, usage=usage) for _ in range(24)])
    judge = make_judge(max_concurrency=4, max_tokens_per_minute=10_000)
    assert run_in_threads(24, lambda: ask(judge)) == [VALID] * 24
    assert token_points(metric_reader)[sc.TOKEN_TYPE_TOTAL].value == 240
    assert judge._budget is not None and judge._budget._total == 240


def test_retry_after_parsing():
    class Response:
        def __init__(self, headers: dict[str, str]) -> None:
            self.headers = headers

    class Error(Exception):
        def __init__(self, headers: dict[str, str]) -> None:
            self.response = Response(headers)

    assert judge_budget._retry_after(Error({"retry-after": "1.5"})) == 1.5
    assert judge_budget._retry_after(Error({"retry-after-ms": "200"})) == pytest.approx(0.2)
    assert judge_budget._retry_after(Error({"retry-after": "-3"})) == 0.0
    assert judge_budget._retry_after(Error({"retry-after": "soon"})) is None
    assert judge_budget._retry_after(Error({})) is None
    in_ten = time.strftime("%a, %d %b %Y %H:%M:%S GMT", time.gmtime(time.time() + 10))
    assert 8 <= judge_budget._retry_after(Error({"retry-after": in_ten})) <= 10  # type: ignore[operator]


# --- metrics --------------------------------------------------------------------------------------------------------


def test_token_usage_metric(make_judge, fake_provider, provider, metric_reader):
    if provider == "openai":
        usage = {"prompt_tokens": 11, "completion_tokens": 7}
        expected = {"input": 11, "output": 7, "total": 18}
    else:  # anthropic reports cached input apart from input_tokens; the judge counts it as input
        usage = {"input_tokens": 20, "output_tokens": 5, "cache_read_input_tokens": 3}
        expected = {"input": 23, "output": 5, "total": 28}
    fake_provider.script(Reply(text=VALID_TEXT, usage=usage))
    ask(make_judge())
    points = token_points(metric_reader)
    assert {kind: point.value for kind, point in points.items()} == expected
    assert dict(points["total"].attributes) == {
        sc.GEN_AI_EVALUATION_NAME: "test_check",
        sc.GEN_AI_PROVIDER_NAME: provider,
        sc.GEN_AI_REQUEST_MODEL: MODELS[provider],
        sc.GEN_AI_TOKEN_TYPE: "total",
    }


def test_repair_and_default_usage_are_counted(make_judge, fake_provider, provider, metric_reader):
    fake_provider.script(Reply(text="nope"), Reply(text=VALID_TEXT))
    ask(make_judge())
    first, second = fake_provider.requests

    def words(text: str) -> int:  # the fake provider counts whitespace-separated words as tokens
        return len(text.split())

    def input_tokens(request: Any) -> int:
        system, messages = sent_messages(request, provider)
        return words(system) + sum(words(m["content"]) for m in messages)

    expected_input = input_tokens(first) + input_tokens(second)
    expected_output = words("nope") + words(VALID_TEXT)
    points = token_points(metric_reader)
    assert points["input"].value == expected_input
    assert points["output"].value == expected_output
    assert points["total"].value == expected_input + expected_output


def test_tokens_of_a_failed_check_are_counted_per_evaluator(make_judge, fake_provider, metric_reader, provider):
    usage = {"prompt_tokens": 5, "completion_tokens": 1} if provider == "openai" else {
        "input_tokens": 5, "output_tokens": 1}
    fake_provider.script(Reply(text="x", usage=usage), Reply(text="y", usage=usage))
    with pytest.raises(JudgeOutputError):
        make_judge().ask(PROMPT, "other_check", question="q", answer="a")
    point = token_points(metric_reader)["total"]
    assert point.value == 12 and point.attributes[sc.GEN_AI_EVALUATION_NAME] == "other_check"


# --- tracing --------------------------------------------------------------------------------------------------------


@pytest.fixture
def enabled() -> Iterator[InMemorySpanExporter]:
    """llmotel.enable() on a private provider whose spans land in memory as they end."""
    exporter = InMemorySpanExporter()
    provider = TracerProvider()
    provider.add_span_processor(SimpleSpanProcessor(exporter))
    llmotel.enable(tracer_provider=provider, exporter="none", export=llmotel.ExportOptions(console=False))
    yield exporter
    llmotel.shutdown(timeout=5)


def user_call(client: Any, provider: str) -> None:
    if provider == "openai":
        client.chat.completions.create(model=MODELS[provider], messages=[{"role": "user", "content": "hi"}])
    else:
        client.messages.create(model=MODELS[provider], max_tokens=20, messages=[{"role": "user", "content": "hi"}])


def test_untraced_judge_makes_no_span(enabled, make_judge, client, provider, fake_provider):
    from llmotel._setup import manual_tracer

    fake_provider.script(Reply(text=VALID_TEXT))
    judge = make_judge()
    with manual_tracer().start_as_current_span("user work"):
        assert ask(judge) == VALID
        user_call(client, provider)  # the control: llmotel does trace the user's own calls
    names = sorted(s.name for s in enabled.get_finished_spans())
    assert names == sorted(["user work", f"chat {MODELS[provider]}"])
    judge_request = fake_provider.requests[0]
    assert "traceparent" not in judge_request.headers


def test_untraced_judge_with_anthropic_sdk_tracing_on(enabled, metric_reader, anthropic_client, fake_provider):
    sdk_exporter = InMemorySpanExporter()
    sdk_provider = TracerProvider()
    sdk_provider.add_span_processor(SimpleSpanProcessor(sdk_exporter))
    sdk_tracing = {"tracer_provider": sdk_provider, "traces": {"enabled": True}}
    client = anthropic_client.with_options(open_telemetry=sdk_tracing)
    fake_provider.script(Reply(text=VALID_TEXT))
    assert ask(Judge(client, model=MODELS["anthropic"])) == VALID
    client.messages.count_tokens(model=MODELS["anthropic"], messages=[{"role": "user", "content": "hi"}])
    # The control: the SDK traces this client's (untraced-by-llmotel) calls; the judge's call left no span.
    assert [s.name for s in sdk_exporter.get_finished_spans()] == ["anthropic.messages.count_tokens"]
    assert enabled.get_finished_spans() == ()
    assert "traceparent" not in fake_provider.requests[0].headers


def test_traced_judge_is_a_root_trace_of_its_own(enabled, make_judge, provider, fake_provider):
    from llmotel._setup import manual_tracer

    fake_provider.script(Reply(text="not json"), Reply(text=VALID_TEXT))
    judge = make_judge(trace=True)
    with manual_tracer().start_as_current_span("user work") as user_span:
        assert ask(judge) == VALID
    spans = {s.name: s for s in enabled.get_finished_spans()}
    root = spans.pop("evaluation judge test_check")
    user = spans.pop("user work")
    llm_spans = [s for s in enabled.get_finished_spans() if s.name == f"chat {MODELS[provider]}"]
    assert len(llm_spans) == 2  # the call and its repair
    assert root.parent is None
    assert root.context.trace_id != user.context.trace_id
    assert dict(root.attributes or {}) == {
        sc.LLMOTEL_SPAN_KIND: "evaluation",
        sc.LLMOTEL_EVALUATION_JUDGE: True,
        sc.GEN_AI_EVALUATION_NAME: "test_check",
    }
    for span in llm_spans:
        assert span.parent is not None and span.parent.span_id == root.context.span_id
        assert span.context.trace_id == root.context.trace_id
    assert is_judge_trace(root.context.trace_id)
    assert not is_judge_trace(user_span.get_span_context().trace_id)


def test_traced_judge_failure_marks_the_span(enabled, make_judge, fake_provider):
    fake_provider.script(Reply(text="x"), Reply(text="y"))
    with pytest.raises(JudgeOutputError):
        ask(make_judge(trace=True))
    (root,) = [s for s in enabled.get_finished_spans() if s.name == "evaluation judge test_check"]
    assert root.status.status_code == trace.StatusCode.ERROR
    assert (root.attributes or {})[sc.ERROR_TYPE] == "JudgeOutputError"


def test_judge_traces_are_remembered_boundedly():
    first = 0xABC0000000000000
    for offset in range(judge_budget._MAX_JUDGE_TRACES + 1):
        judge_budget._remember_judge_trace(first + offset)
    assert not is_judge_trace(first)
    assert is_judge_trace(first + 1)
    assert is_judge_trace(first + judge_budget._MAX_JUDGE_TRACES)
    assert len(judge_budget._judge_traces) == judge_budget._MAX_JUDGE_TRACES


# --- construction ---------------------------------------------------------------------------------------------------


def test_built_clients(fake_provider):
    fake_provider.script(Reply(text=VALID_TEXT), Reply(text=VALID_TEXT))
    with Judge(provider="openai", model="gpt-4o-mini", api_key="k", base_url=fake_provider.openai_base_url) as judge:
        assert (judge.provider, judge.model) == ("openai", "gpt-4o-mini")
        assert ask(judge) == VALID
    with Judge(provider="anthropic", model="claude-haiku-4-5", api_key="k",
               base_url=fake_provider.anthropic_base_url, trace=True) as judge:
        assert judge.provider == "anthropic"
        assert judge._client_given.open_telemetry["traces"]["enabled"] is False  # no SDK span under the judge's
        assert ask(judge) == VALID
    assert [r.path for r in fake_provider.requests] == ["/v1/chat/completions", "/v1/messages"]


def test_built_client_reads_the_sdk_environment(fake_provider, monkeypatch):
    monkeypatch.setenv("OPENAI_API_KEY", "env-key")
    monkeypatch.setenv("OPENAI_BASE_URL", fake_provider.openai_base_url)
    fake_provider.script(Reply(text=VALID_TEXT))
    with Judge(provider="openai", model="gpt-4o-mini") as judge:
        assert ask(judge) == VALID
    assert fake_provider.last_request.header("authorization") == "Bearer env-key"


def test_azure_client_is_accepted(fake_provider):
    azure = openai.AzureOpenAI(api_key="k", api_version="2024-10-21", base_url=f"{fake_provider.base_url}/v1")
    judge = Judge(azure, model="my-deployment")
    assert judge.provider == "openai"
    assert judge.provider_name == sc.PROVIDER_AZURE_OPENAI
    azure.close()


def test_missing_credentials_are_a_configuration_error(monkeypatch):
    monkeypatch.delenv("OPENAI_API_KEY", raising=False)
    with pytest.raises(ConfigurationError) as caught:
        Judge(provider="openai", model="gpt-4o-mini")
    assert caught.value.setting == "judge_provider"


@pytest.mark.parametrize(
    "kwargs, setting",
    [
        ({"model": "m"}, "judge_provider"),
        ({"provider": "gemini", "model": "m"}, "judge_provider"),
        ({"provider": "openai", "model": ""}, "judge_model"),
        ({"provider": "openai", "model": None}, "judge_model"),
        ({"provider": "openai", "model": "m", "timeout": 0}, "judge_timeout"),
        ({"provider": "openai", "model": "m", "timeout": float("inf")}, "judge_timeout"),
        ({"provider": "openai", "model": "m", "timeout": "30"}, "judge_timeout"),
        ({"provider": "openai", "model": "m", "max_concurrency": 0}, "judge_max_concurrency"),
        ({"provider": "openai", "model": "m", "max_concurrency": 2.0}, "judge_max_concurrency"),
        ({"provider": "openai", "model": "m", "max_tokens_per_minute": 0}, "judge_max_tokens_per_minute"),
        ({"provider": "openai", "model": "m", "rate_limit_retries": -1}, "judge_rate_limit_retries"),
        ({"provider": "openai", "model": "m", "max_output_tokens": 0}, "judge_max_output_tokens"),
        ({"provider": "openai", "model": "m", "trace": "yes"}, "trace_judge"),
    ],
)
def test_invalid_options(kwargs, setting):
    with pytest.raises(ConfigurationError) as caught:
        Judge(api_key="k", **kwargs)
    assert caught.value.setting == setting


def test_invalid_clients(openai_client, anthropic_client, async_openai_client):
    with pytest.raises(ConfigurationError) as caught:
        Judge(async_openai_client, model="m")
    assert caught.value.setting == "judge"
    with pytest.raises(ConfigurationError) as caught:
        Judge(object(), model="m")
    assert caught.value.setting == "judge"
    with pytest.raises(ConfigurationError) as caught:
        Judge(openai_client, provider="anthropic", model="m")
    assert caught.value.setting == "judge_provider"
    with pytest.raises(ConfigurationError) as caught:
        Judge(anthropic_client, model="m", base_url="http://example.invalid")
    assert caught.value.setting == "judge_base_url"
    with pytest.raises(ConfigurationError) as caught:
        Judge(anthropic_client, model="m", api_key="sk-very-secret")
    assert "sk-very-secret" not in str(caught.value)
    assert Judge(anthropic_client, provider="anthropic", model="m").provider == "anthropic"


def test_a_subclassed_client_is_recognised(fake_provider):
    class MyClient(openai.OpenAI):
        pass

    with MyClient(api_key="k", base_url=fake_provider.openai_base_url) as client:
        assert Judge(client, model="m").provider == "openai"


# --- prompts --------------------------------------------------------------------------------------------------------


def _package_prompts() -> list[str]:
    folder = importlib.resources.files("llmotel.evaluation.judge") / "data"
    if not folder.is_dir():
        return []
    return sorted(p.name[: -len(".json")] for p in folder.iterdir() if p.name.endswith(".json"))


@pytest.mark.parametrize("name", _package_prompts())
def test_package_prompts_load(name):
    prompt = load_prompt(name)
    assert prompt.name == name
    assert prompt.fields
    assert load_prompt(name) is prompt  # cached
    system, _ = prompt.render(dict.fromkeys(prompt.fields, "x"))
    assert json.dumps(prompt.schema, ensure_ascii=False) in system


def test_load_prompt_errors():
    with pytest.raises(JudgePromptError, match="no judge prompt named"):
        load_prompt("no_such_prompt")
    for name in ("../judge", "Hallucination", "", "a/b"):
        with pytest.raises(JudgePromptError, match="invalid judge prompt name"):
            load_prompt(name)
    assert issubclass(JudgePromptError, JudgeError)


def test_prompt_from_mapping():
    data = {"name": "p", "version": 2, "system": "s", "user": "{a}", "schema": {"type": "object"},
            "description": "for people"}
    prompt = JudgePrompt.from_mapping(data)
    assert (prompt.version, prompt.fields) == ("2", frozenset({"a"}))
    with pytest.raises(JudgePromptError, match=r"missing \['schema'\]"):
        JudgePrompt.from_mapping({k: v for k, v in data.items() if k != "schema"})
    with pytest.raises(JudgePromptError, match=r"unknown \['examples'\]"):
        JudgePrompt.from_mapping({**data, "examples": []})
    with pytest.raises(JudgePromptError):
        JudgePrompt.from_mapping([data])


@pytest.mark.parametrize(
    "changes, problem",
    [
        ({"schema": {"type": "array"}}, "must be an object"),
        ({"schema": {"type": "object", "pattern": "x"}}, "unsupported keyword 'pattern'"),
        ({"schema": {"type": "object", "properties": {"a": {"type": "text"}}}}, r"\$.properties.a.type"),
        ({"user": "Question: {question"}, "malformed user template"),
        ({"user": "{0} and {a.b}"}, "plain names"),
        ({"system": ""}, "system must be a non-empty string"),
        ({"version": 1}, "version must be a non-empty string"),
    ],
)
def test_invalid_prompts(changes, problem):
    fields = {"name": "p", "version": "1", "system": "s", "user": "{a}", "schema": {"type": "object"}, **changes}
    with pytest.raises(JudgePromptError, match=problem):
        JudgePrompt(**fields)


# --- the schema validator -------------------------------------------------------------------------------------------


def test_schema_types():
    assert _schema.validate({"a": 1}, {"type": "object"}) == []
    assert _schema.validate([], {"type": "object"}) == ["$: expected object, got array"]
    assert _schema.validate(1.0, {"type": "integer"}) == []
    assert _schema.validate(1.5, {"type": "integer"}) == ["$: expected integer, got number"]
    assert _schema.validate(True, {"type": "integer"}) == ["$: expected integer, got boolean"]
    assert _schema.validate(True, {"type": "number"}) == ["$: expected number, got boolean"]
    assert _schema.validate(3, {"type": "number"}) == []
    assert _schema.validate(float("nan"), {"type": "number"}) == ["$: expected number, got number"]
    assert _schema.validate("x", {"type": "boolean"}) == ["$: expected boolean, got string"]
    assert _schema.validate(None, {"type": ["string", "null"]}) == []
    assert _schema.validate(2, {"type": ["string", "null"]}) == ["$: expected string or null, got integer"]
    assert _schema.validate({"anything": [1, "x"]}, {}) == []


def test_schema_enum_and_bounds():
    assert _schema.validate(1, {"enum": [1.0, "one"]}) == []
    assert _schema.validate(True, {"enum": [1]}) == ["$: not one of the allowed values [1]"]
    assert _schema.validate("Pass", {"enum": ["pass"]}) == ["$: not one of the allowed values ['pass']"]
    assert _schema.validate(0, {"type": "number", "minimum": 0, "maximum": 1}) == []
    assert _schema.validate(-0.1, {"type": "number", "minimum": 0}) == ["$: below the minimum 0"]
    assert _schema.validate(2, {"type": "integer", "maximum": 1}) == ["$: above the maximum 1"]


def test_schema_objects_and_arrays_with_paths():
    schema = {
        "type": "object",
        "properties": {
            "claims": {
                "type": "array",
                "items": {
                    "type": "object",
                    "properties": {"verdict": {"enum": ["supported", "unsupported"]}, "evidence": {"type": "string"}},
                    "required": ["verdict"],
                    "additionalProperties": False,
                },
            },
            "meta": {"type": "object", "additionalProperties": {"type": "integer"}},
        },
        "required": ["claims"],
    }
    value = {
        "claims": [{"verdict": "supported"}, {"verdict": "secret words", "note": "x"}, {"evidence": 3}],
        "meta": {"count": 1, "odd key": "x"},
    }
    assert _schema.validate(value, schema) == [
        "$.claims[1].verdict: not one of the allowed values ['supported', 'unsupported']",
        "$.claims[1].note: property not allowed",
        "$.claims[2]: missing required property 'verdict'",
        "$.claims[2].evidence: expected string, got integer",
        "$.meta['odd key']: expected integer, got string",
    ]
    assert _schema.validate({}, schema) == ["$: missing required property 'claims'"]
    assert all("secret" not in e for e in _schema.validate(value, schema))


def test_schema_error_count_is_capped():
    errors = _schema.validate(list(range(100)), {"type": "array", "items": {"type": "string"}})
    assert len(errors) == 20 and errors[0] == "$[0]: expected string, got integer"


def test_schema_errors_of_schemas():
    assert _schema.schema_errors(SCHEMA) == []
    assert _schema.schema_errors({"type": "object", "properties": {"a": {"minimum": "0"}}, "oneOf": []}) == [
        "$: unsupported keyword 'oneOf'",
        "$.properties.a.minimum: must be a number",
    ]
    assert _schema.schema_errors({"required": "a", "enum": [], "items": 3, "additionalProperties": {"type": 1}}) == [
        "$.required: must be a list of property names",
        "$.additionalProperties.type: must be one of ['object', 'array', 'string', 'number', 'integer', 'boolean', "
        "'null'] or a list of them",
        "$.items: a schema must be an object",
        "$.enum: must be a non-empty list",
    ]
    assert _schema.schema_errors([]) == ["$: a schema must be an object"]
