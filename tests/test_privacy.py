"""Nothing private leaves the process: planted values are grepped for in the raw bytes the backend received.

Every test exports to the real OTLP receiver and searches the serialised export requests (what crossed the wire)
for the values it planted: PII with PII redaction on, user text with content capture off, API keys always.
(Issue 13, items 1-6.)
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from typing import Any

import anthropic
import openai
import pytest
from opentelemetry.sdk.trace import TracerProvider

import llmotel
from llmotel import semconv as sc
from llmotel.evaluation import EvaluationInput, EvaluationResult
from tests.fake_providers import Reply

EMAIL = "jane.roe@example.org"
CARD = "4111 1111 1111 1111"
IBAN = "DE89 3704 0044 0532 0130 00"
PHONE = "+1 415 555 0132"
USER_TEXT = "my secret plan is purple-elephant-42"
API_KEY = "sk-proj-Xq7Lr9Tz2Vb8Nm4Kp6Wd3Hs5Jf1Gc0Ye"
PROXY_KEY = "proxy-credential-7f3a9c2e"  # not shaped like any provider key: scrubbed because it is the client's


def enable_to(receiver: Any, **settings: Any) -> None:
    settings.setdefault("pii", llmotel.PiiOptions(use_ner=False))
    llmotel.enable(endpoint=receiver.http_endpoint, tracer_provider=TracerProvider(), **settings,
                   export=llmotel.ExportOptions(console=False, metrics=False))


def exported_bytes(receiver: Any, spans: int) -> bytes:
    assert llmotel.flush(timeout=20)
    receiver.wait_for_spans(spans, timeout=20)
    return receiver.raw_traces()


def assert_absent(raw: bytes, *values: str) -> None:
    leaked = [v for v in values if v.encode() in raw or json.dumps(v)[1:-1].encode() in raw]
    assert leaked == [], f"exported: {leaked}"


# --- item 1: span names and event names are redacted --------------------------------------------------------------

def test_span_and_event_names_are_redacted(otlp_receiver, openai_client):
    enable_to(otlp_receiver, redact_pii=True)
    with llmotel.annotation_context(name=f"chat for {EMAIL}"):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with llmotel.task(f"lookup {PHONE}") as span:
        span.add_event(f"called {EMAIL}")
    raw = exported_bytes(otlp_receiver, 2)
    assert_absent(raw, EMAIL, PHONE, "jane.roe", "415 555")
    names = {s.name for s in otlp_receiver.spans}
    assert "chat for <EMAIL_ADDRESS>" in names
    assert "task lookup <PHONE_NUMBER>" in names


# --- item 2: redaction happens before truncation ----------------------------------------------------------------

@pytest.mark.parametrize("value, fragments", [
    (CARD, ["4111", "1111 1111"]),
    (IBAN, ["DE89", "3704"]),
    (EMAIL, ["jane", "roe@"]),
])
def test_a_value_at_the_cut_does_not_leak_in_part(otlp_receiver, openai_client, value, fragments):
    limit = 64
    prefix = "x" * (limit - len(value) // 2 - 1) + " "  # the cut falls in the middle of the value
    enable_to(otlp_receiver, redact_pii=True, content=llmotel.ContentOptions(max_content_length=limit))
    openai_client.chat.completions.create(model="gpt-4o-mini",
                                          messages=[{"role": "user", "content": prefix + value + " and more text"}])
    raw = exported_bytes(otlp_receiver, 1)
    assert_absent(raw, value, *fragments)
    (chat,) = otlp_receiver.spans
    (message,) = json.loads(chat.attributes[sc.GEN_AI_INPUT_MESSAGES])
    text = message["parts"][0]["content"]
    assert "[llmotel: truncated" in text
    assert len(text.split("…[llmotel")[0]) <= limit


def test_status_message_is_redacted_before_it_is_cut(otlp_receiver):
    enable_to(otlp_receiver, redact_pii=True)
    with pytest.raises(ValueError), llmotel.task("failing"):
        raise ValueError("y" * 480 + f" reach me at {EMAIL}")  # "ValueError: " + 493 characters, then the address
    raw = exported_bytes(otlp_receiver, 1)
    assert_absent(raw, EMAIL, "jane.roe", "jane")
    (span,) = otlp_receiver.spans
    assert len(span.status_message) <= 512 + len("…[llmotel: truncated 9999 chars]")


# --- item 3: evaluation labels and metadata are redacted ------------------------------------------------------------

class Leaky:
    """A custom evaluator that puts user text everywhere it can."""

    name = "leaky"

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        return EvaluationResult("leaky", score=1.0, label=f"seen {EMAIL}", explanation=f"about {EMAIL}",
                                metadata={"who": EMAIL, "plan": input.input_text, "count": 3})


def test_evaluation_labels_and_metadata_are_redacted(otlp_receiver, openai_client):
    enable_to(otlp_receiver, redact_pii=True, evaluators=[Leaky()])
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with llmotel.task("rated") as span:
        ref = llmotel.export_span(span)
    llmotel.submit_evaluation(ref, label="customer", metric_type="categorical", value=EMAIL)
    raw = exported_bytes(otlp_receiver, 3)
    assert_absent(raw, EMAIL)
    chat = next(s for s in otlp_receiver.spans if s.name.startswith("chat"))
    (leaky,) = [e for e in chat.events if e.attributes.get(sc.GEN_AI_EVALUATION_NAME) == "leaky"]
    assert leaky.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "seen <EMAIL_ADDRESS>"
    assert leaky.attributes[sc.LLMOTEL_EVALUATION_METADATA_PREFIX + "who"] == "<EMAIL_ADDRESS>"
    assert leaky.attributes[sc.LLMOTEL_EVALUATION_METADATA_PREFIX + "count"] == 3


class ClaimsNoContent(Leaky):
    """Declares its results free of user text, and is wrong: only llmotel's own checks are taken at their word."""

    name = "claims_no_content"
    content_fields = ()

    def evaluate(self, input: EvaluationInput) -> EvaluationResult:
        return EvaluationResult(self.name, label=f"seen {EMAIL}", explanation=f"about {EMAIL}",
                                metadata={"who": EMAIL})


def _leaky_sentiment() -> Any:
    from llmotel.evaluation.checks.sentiment import SentimentEvaluator

    class LeakySentiment(SentimentEvaluator):  # a built-in check's subclass, defined outside llmotel
        name = "leaky_sentiment"

        def evaluate(self, input: EvaluationInput) -> list[EvaluationResult] | None:
            return [EvaluationResult(self.name, label="neutral", explanation=f"wrote to {EMAIL}")]

    return LeakySentiment()


def test_only_llmotels_own_checks_skip_redaction_of_their_results(otlp_receiver, openai_client):
    """The built-in checks' results are exported as made (fixed labels, template explanations); a custom
    evaluator that declares ``content_fields=()``, or subclasses a built-in check, is redacted all the same."""
    enable_to(otlp_receiver, redact_pii=True, evaluators=[ClaimsNoContent(), _leaky_sentiment(), "sentiment"])
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    raw = exported_bytes(otlp_receiver, 1)
    assert_absent(raw, EMAIL)
    (chat,) = otlp_receiver.spans
    results = {e.attributes[sc.GEN_AI_EVALUATION_NAME]: e.attributes
               for e in chat.events_named(sc.GEN_AI_EVALUATION_RESULT_EVENT)}
    claims = results["claims_no_content"]
    assert claims[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "seen <EMAIL_ADDRESS>"
    assert claims[sc.GEN_AI_EVALUATION_EXPLANATION] == "about <EMAIL_ADDRESS>"
    assert claims[sc.LLMOTEL_EVALUATION_METADATA_PREFIX + "who"] == "<EMAIL_ADDRESS>"
    assert results["leaky_sentiment"][sc.GEN_AI_EVALUATION_EXPLANATION] == "wrote to <EMAIL_ADDRESS>"
    assert results["input_sentiment"][sc.GEN_AI_EVALUATION_EXPLANATION].startswith("VADER compound score")


# --- item 4: capture off means no user text anywhere -----------------------------------------------------------------

def test_capture_off_provider_errors_keep_only_the_type(otlp_receiver, fake_provider, openai_client,
                                                          anthropic_client):
    enable_to(otlp_receiver, capture_content=False)
    echo = f"Invalid request: messages[0].content '{USER_TEXT}' is too long"
    fake_provider.script(Reply.error(400, echo), Reply.error(400, echo))
    with pytest.raises(openai.BadRequestError):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": USER_TEXT}],
                                              stop=["purple-elephant"])
    with pytest.raises(anthropic.BadRequestError):
        anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=10, stop_sequences=["purple-elephant"],
                                         messages=[{"role": "user", "content": USER_TEXT}])
    raw = exported_bytes(otlp_receiver, 2)
    assert_absent(raw, USER_TEXT, "purple-elephant")
    for span in otlp_receiver.spans:
        assert span.attributes[sc.ERROR_TYPE] == "BadRequestError"
        assert span.attributes[sc.HTTP_RESPONSE_STATUS_CODE] == 400
        assert span.status_code == "ERROR" and span.status_message == "BadRequestError"
        assert sc.GEN_AI_REQUEST_STOP_SEQUENCES not in span.attributes
        (exception,) = span.events_named("exception")
        assert exception.attributes["exception.type"].endswith("BadRequestError")
        assert "content capture is off" in exception.attributes["exception.message"]
        assert "Traceback" in exception.attributes["exception.stacktrace"]


def test_capture_off_decorated_function_errors_evaluations_and_feedback(otlp_receiver, openai_client):
    enable_to(otlp_receiver, capture_content=False, evaluators=[Leaky(), "failure_to_answer"])

    @llmotel.tool
    def lookup(query: str) -> str:
        raise KeyError(f"no record for {USER_TEXT}")

    with pytest.raises(KeyError):
        lookup(USER_TEXT)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": USER_TEXT}])
    with llmotel.task("rated") as span:
        ref = llmotel.export_span(span)
    llmotel.submit_evaluation(ref, label="helpful", metric_type="boolean", value=True, reasoning=f"said {USER_TEXT}")
    raw = exported_bytes(otlp_receiver, 4)
    assert_absent(raw, USER_TEXT, "purple-elephant", EMAIL)
    chat = next(s for s in otlp_receiver.spans if s.name.startswith("chat"))
    results = {e.attributes[sc.GEN_AI_EVALUATION_NAME]: e.attributes
               for e in chat.events_named(sc.GEN_AI_EVALUATION_RESULT_EVENT)}
    assert results["leaky"][sc.GEN_AI_EVALUATION_SCORE_VALUE] == 1.0  # the score stays, the text goes
    assert sc.GEN_AI_EVALUATION_SCORE_LABEL not in results["leaky"]
    assert results["leaky"][sc.LLMOTEL_EVALUATION_METADATA_PREFIX + "count"] == 3
    assert results["failure_to_answer"][sc.GEN_AI_EVALUATION_SCORE_LABEL] == "answered"  # built-ins keep labels


# --- item 5: secrets are scrubbed always ----------------------------------------------------------------------------

@pytest.mark.parametrize("capture", [True, False])
def test_api_keys_echoed_in_errors_are_never_exported(otlp_receiver, fake_provider, capture):
    enable_to(otlp_receiver, capture_content=capture)
    fake_provider.script(Reply.error(401, f"Incorrect API key provided: {API_KEY}."),
                         Reply.error(401, f"invalid x-api-key {PROXY_KEY}"))
    with openai.OpenAI(api_key=API_KEY, base_url=fake_provider.openai_base_url, max_retries=0) as client, \
            pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    with anthropic.Anthropic(api_key=PROXY_KEY, base_url=fake_provider.anthropic_base_url, max_retries=0) as client, \
            pytest.raises(anthropic.AuthenticationError):
        client.messages.create(model="claude-haiku-4-5", max_tokens=5, messages=[{"role": "user", "content": "hi"}])
    with pytest.raises(RuntimeError), llmotel.task("upstream"):
        raise RuntimeError("proxy said: Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.abcdefghijkl")
    raw = exported_bytes(otlp_receiver, 3)
    assert_absent(raw, API_KEY, API_KEY[8:20], PROXY_KEY, "eyJhbGciOiJIUzI1NiJ9")
    if capture:
        assert b"<SECRET>" in raw


def test_keys_typed_into_prompts_and_configured_ones_are_scrubbed(otlp_receiver, openai_client, monkeypatch):
    monkeypatch.setenv("MY_SERVICE_API_KEY", "svc-9d8c7b6a5f4e")
    enable_to(otlp_receiver, headers={"api-key": "backend-token-31415"})
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{
        "role": "user", "content": f"use {API_KEY}, svc-9d8c7b6a5f4e and backend-token-31415 please"}])
    raw = exported_bytes(otlp_receiver, 1)
    assert_absent(raw, API_KEY, "svc-9d8c7b6a5f4e", "backend-token-31415")
    assert otlp_receiver.requests[0].headers["api-key"] == "backend-token-31415"  # still sent where it belongs


# --- item 6: a later, stricter enable() wins --------------------------------------------------------------------------

def test_a_stricter_second_enable_takes_effect(otlp_receiver, openai_client, caplog):
    enable_to(otlp_receiver)
    enable_to(otlp_receiver, redact_pii=True)
    assert any("stricter privacy (redact_pii=True)" in r.getMessage() for r in caplog.records)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": EMAIL}])
    assert_absent(exported_bytes(otlp_receiver, 1), EMAIL)


def test_a_looser_second_enable_never_weakens_privacy(otlp_receiver, openai_client):
    enable_to(otlp_receiver, capture_content=False)
    with pytest.warns(UserWarning, match="changes nothing"):
        enable_to(otlp_receiver, capture_content=True)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": USER_TEXT}])
    assert_absent(exported_bytes(otlp_receiver, 1), USER_TEXT)


APP = """
import openai, llmotel
llmotel.enable(redact_pii=True, pii=llmotel.PiiOptions(use_ner=False), export=llmotel.ExportOptions(metrics=False))
client = openai.OpenAI(api_key="test-key", base_url={base_url!r}, max_retries=0)
client.chat.completions.create(model="gpt-4o-mini", messages=[{{"role": "user", "content": {content!r}}}])
llmotel.shutdown(timeout=10)
"""


def test_llmotel_run_yields_to_the_applications_own_stricter_enable(otlp_receiver, fake_provider, tmp_path):
    app = tmp_path / "app.py"
    app.write_text(APP.format(base_url=fake_provider.openai_base_url, content=f"mail {EMAIL}"))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_"))}
    result = subprocess.run(
        [sys.executable, "-m", "llmotel", "run", "--endpoint", otlp_receiver.http_endpoint, "--",
         sys.executable, str(app)], env=env, capture_output=True, text=True, timeout=90)
    assert result.returncode == 0, result.stderr
    otlp_receiver.wait_for_spans(1, timeout=20)
    assert_absent(otlp_receiver.raw_traces(), EMAIL)
    (span,) = otlp_receiver.spans
    assert "<EMAIL_ADDRESS>" in span.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "after `llmotel run` enabled it" in result.stderr


def test_llmotel_run_says_nothing_in_pythons_without_llmotel(tmp_path):
    """Item 13: the base interpreter (outside the virtual environment) cannot import llmotel; started by the traced
    program with llmotel's PYTHONPATH, it must print nothing of llmotel's."""
    base_python = getattr(sys, "_base_executable", sys.executable)
    probe = subprocess.run([base_python, "-c", "import llmotel"], cwd=tmp_path, capture_output=True)
    if probe.returncode == 0:
        pytest.skip("the base interpreter can import llmotel here")
    script = tmp_path / "parent.py"
    script.write_text(textwrap.dedent(f"""
        import subprocess, sys
        out = subprocess.run([{base_python!r}, "-c", "print('child ok')"], capture_output=True, text=True)
        sys.stdout.write(out.stdout + out.stderr)
    """))
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_"))}
    env.update(LLMOTEL_EXPORTER="none", LLMOTEL_CONSOLE="false")
    result = subprocess.run([sys.executable, "-m", "llmotel", "run", "--", sys.executable, str(script)],
                            env=env, capture_output=True, text=True, timeout=60, cwd=tmp_path)
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == "child ok"
    assert "llmotel" not in result.stdout + result.stderr


def test_json_keys_are_context_for_the_values_under_them(otlp_receiver, openai_client):
    """Item 17: a bare digit run is a phone number or an SSN because of the key it sits under, inside a span too."""
    enable_to(otlp_receiver, redact_pii=True)
    arguments = json.dumps({"phone": "07186788066", "social_security_number": "138867055", "order": "4021"})
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[
        {"role": "user", "content": "update my record"},
        {"role": "assistant", "content": None, "tool_calls": [
            {"id": "call_1", "type": "function", "function": {"name": "update", "arguments": arguments}}]},
        {"role": "tool", "tool_call_id": "call_1", "content": "done"},
    ])
    with llmotel.task("crm"):
        llmotel.annotate(metadata={"mobile_phone": "07186788066"})
    raw = exported_bytes(otlp_receiver, 2)
    assert_absent(raw, "07186788066", "138867055")
    assert b"4021" in raw  # an order number is not personal data
