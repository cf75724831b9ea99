"""PII redaction in the evaluating processor: what arrives at a real OTLP receiver carries no PII."""

from __future__ import annotations

import dataclasses
import json
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

import llmotel
from llmotel import semconv as sc
from llmotel.errors import ConfigurationError
from llmotel.evaluation.pii import PiiOptions, PiiRedactor
from llmotel.evaluation.redaction import SpanRedaction, is_content_key
from tests.evaluation.pii_corpus import generate

EMAIL, PHONE, CARD = "jane.roe@example.org", "+1 415 555 0132", "4111 1111 1111 1111"
IBAN, SSN = "DE89 3704 0044 0532 0130 00", "536-22-8726"


def received_text(span: Any) -> str:
    """Everything a backend got for a span: attributes, event attributes, status message."""
    return json.dumps([span.attributes, [(e.name, e.attributes) for e in span.events], span.status_message],
                      default=str)


def enable_to(otlp_receiver: Any, protocol: str = "http/protobuf", ner_off: bool = True, **settings: Any) -> None:
    """enable() exporting to the receiver; the NER model (an optional extra) is left out (unless the PII options say
    otherwise, or ``ner_off=False``) so results are the same whether or not it is installed."""
    pii = settings.get("pii") or llmotel.PiiOptions()
    if ner_off and pii.use_ner is None:
        settings["pii"] = dataclasses.replace(pii, use_ner=False)
    llmotel.enable(endpoint=otlp_receiver.endpoint(protocol), protocol=protocol, tracer_provider=TracerProvider(),
                   **settings, export=llmotel.ExportOptions(console=False, metrics=False))


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_every_content_attribute_is_redacted_before_export(otlp_receiver, openai_client, protocol):
    enable_to(otlp_receiver, protocol, redact_pii=True)
    prompt = llmotel.Prompt(template="Customer {email} asks: {question}",
                            variables={"email": EMAIL, "question": f"call me on {PHONE}"},
                            rag_query_variables=["question"])
    with llmotel.workflow("support"):
        llmotel.annotate(metadata={"customer": EMAIL}, tags={"caller": PHONE})
        with llmotel.retrieval("kb") as retrieval:
            llmotel.annotate(retrieval, input=f"refund for card {CARD}",
                             documents=[{"text": f"IBAN on file: {IBAN}", "id": "doc-1"}])
        with llmotel.annotation_context(prompt=prompt, metadata={"ssn": SSN}):
            openai_client.chat.completions.create(
                model="gpt-4o-mini",
                messages=[{"role": "system", "content": f"Escalate to {EMAIL}"},
                          {"role": "user", "content": f"My card is {CARD} and my SSN is {SSN}"}],
                tools=[{"type": "function", "function": {
                    "name": "lookup", "description": f"look up {EMAIL}", "parameters": {"type": "object"}}}],
            )
        with pytest.raises(ValueError), llmotel.task("failing"):
            raise ValueError(f"could not reach {EMAIL}")
    assert llmotel.flush(timeout=20)
    spans = otlp_receiver.wait_for_spans(4, timeout=20)
    everything = "".join(received_text(s) for s in spans)
    for secret in (EMAIL, PHONE, CARD, IBAN, SSN, "4111", "0532 0130", "536-22"):
        assert secret not in everything, secret
    chat = next(s for s in spans if s.name.startswith("chat"))
    assert "Escalate to <EMAIL_ADDRESS>" in chat.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert "<CREDIT_CARD>" in chat.attributes[sc.GEN_AI_INPUT_MESSAGES]
    assert json.loads(chat.attributes[sc.GEN_AI_INPUT_MESSAGES])  # still valid JSON
    assert json.loads(chat.attributes[sc.GEN_AI_TOOL_DEFINITIONS])
    assert chat.attributes[sc.GEN_AI_PROMPT_VARIABLE_PREFIX + "email"] == "<EMAIL_ADDRESS>"
    assert chat.attributes[sc.LLMOTEL_PII_REDACTED] is True
    # identifiers are not content: left alone even when they look like PII
    assert chat.attributes[sc.SERVER_ADDRESS] == "127.0.0.1"
    (pii,) = [e for e in chat.events if e.attributes.get(sc.GEN_AI_EVALUATION_NAME) == "pii"]
    assert pii.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "detected"
    meta = sc.LLMOTEL_EVALUATION_METADATA_PREFIX
    assert pii.attributes[meta + "EMAIL_ADDRESS"] >= 2 and pii.attributes[meta + "CREDIT_CARD"] == 1
    failing = next(s for s in spans if s.name.endswith("failing"))
    assert "<EMAIL_ADDRESS>" in failing.status_message
    (exception,) = failing.events_named("exception")
    assert "<EMAIL_ADDRESS>" in exception.attributes["exception.message"]


def test_a_clean_llm_span_gets_a_none_pii_evaluation(otlp_receiver, openai_client):
    enable_to(otlp_receiver, redact_pii=True)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hello"}])
    assert llmotel.flush(timeout=20)
    (chat,) = otlp_receiver.wait_for_spans(1, timeout=20)
    (pii,) = chat.events_named(sc.GEN_AI_EVALUATION_RESULT_EVENT)
    assert pii.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "none"
    assert sc.LLMOTEL_PII_REDACTED not in chat.attributes


def test_with_capture_off_pii_is_counted_but_nothing_is_exported(otlp_receiver, openai_client):
    enable_to(otlp_receiver, evaluators=["pii"], capture_content=False)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": EMAIL}])
    assert llmotel.flush(timeout=20)
    (chat,) = otlp_receiver.wait_for_spans(1, timeout=20)
    assert sc.GEN_AI_INPUT_MESSAGES not in chat.attributes
    (pii,) = chat.events_named(sc.GEN_AI_EVALUATION_RESULT_EVENT)
    assert pii.attributes[sc.GEN_AI_EVALUATION_SCORE_LABEL] == "detected"
    assert EMAIL not in received_text(chat)


def test_corpus_sentences_sent_through_the_sdk_arrive_without_pii(otlp_receiver, openai_client):
    """The labelled corpus as user messages: every PII value is gone from what the receiver decoded."""
    samples = [s for s in generate(n_per_kind=12, n_distractor_samples=0, seed=7) if any(v.pii for v in s.values)]
    enable_to(otlp_receiver, redact_pii=True)
    for sample in samples:
        openai_client.chat.completions.create(model="gpt-4o-mini",
                                              messages=[{"role": "user", "content": sample.text}])
    assert llmotel.flush(timeout=60)
    spans = otlp_receiver.wait_for_spans(len(samples), timeout=60)
    received = "\n".join(received_text(s) for s in spans)
    phones = [sample.text[v.start:v.end] for sample in samples for v in sample.values if v.kind == "PHONE_NUMBER"]
    others = [sample.text[v.start:v.end] for sample in samples for v in sample.values
              if v.pii and v.kind != "PHONE_NUMBER"]
    assert [v for v in others if json.dumps(v)[1:-1] in received] == []
    leaked_phones = [v for v in phones if json.dumps(v)[1:-1] in received]
    assert len(leaked_phones) <= 0.05 * len(phones), leaked_phones


@pytest.mark.parametrize("operator, expected", [
    ("replace", "<EMAIL_ADDRESS>"), ("mask", "*" * len(EMAIL)), ("drop", ""),
])
def test_operators_through_enable(otlp_receiver, openai_client, operator, expected):
    enable_to(otlp_receiver, redact_pii=True, pii=llmotel.PiiOptions(operator=operator))
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": EMAIL}])
    assert llmotel.flush(timeout=20)
    (chat,) = otlp_receiver.wait_for_spans(1, timeout=20)
    (message,) = json.loads(chat.attributes[sc.GEN_AI_INPUT_MESSAGES])
    assert message["parts"][0]["content"] == expected


def test_hash_operator_is_stable_across_spans_with_a_key(otlp_receiver, openai_client):
    enable_to(otlp_receiver, redact_pii=True, pii=llmotel.PiiOptions(operator="hash", hash_key="k1"))
    for _ in range(2):
        openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": EMAIL}])
    assert llmotel.flush(timeout=20)
    first, second = [json.loads(s.attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"]
                     for s in otlp_receiver.wait_for_spans(2, timeout=20)]
    assert first == second and first.startswith("<EMAIL_ADDRESS:")


def test_allow_list_and_entities(otlp_receiver, openai_client):
    enable_to(otlp_receiver, redact_pii=True, pii=llmotel.PiiOptions(allow_list=[EMAIL], entities=["EMAIL_ADDRESS"]))
    openai_client.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": f"{EMAIL} other@example.com {CARD}"}])
    assert llmotel.flush(timeout=20)
    (chat,) = otlp_receiver.wait_for_spans(1, timeout=20)
    content = json.loads(chat.attributes[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"]
    assert content == f"{EMAIL} <EMAIL_ADDRESS> {CARD}"


@pytest.mark.parametrize("kwargs, setting", [
    ({"operator": "shred"}, "pii_operator"),
    ({"score_threshold": 1.5}, "pii_score_threshold"),
    ({"entities": ["NOT_AN_ENTITY"]}, "pii_entities"),
    ({"hash_key": ""}, "pii_hash_key"),
])
def test_invalid_pii_settings(kwargs, setting):
    with pytest.raises(ConfigurationError, match=setting):
        llmotel.enable(exporter="none", redact_pii=True, pii=llmotel.PiiOptions(**kwargs),
                       export=llmotel.ExportOptions(console=False))


def test_env_settings(monkeypatch, otlp_receiver, openai_client):
    monkeypatch.setenv("LLMOTEL_EVALUATORS", "pii")
    monkeypatch.setenv("LLMOTEL_PII_OPERATOR", "mask")
    monkeypatch.setenv("LLMOTEL_PII_USE_NER", "false")
    enable_to(otlp_receiver, ner_off=False)
    openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": EMAIL}])
    assert llmotel.flush(timeout=20)
    (chat,) = otlp_receiver.wait_for_spans(1, timeout=20)
    assert EMAIL not in chat.attributes[sc.GEN_AI_INPUT_MESSAGES]


def test_span_redaction_keeps_json_valid_and_non_content_keys():
    redaction = SpanRedaction(PiiRedactor(PiiOptions(use_ner=False)))
    attributes = {
        sc.GEN_AI_INPUT_MESSAGES: json.dumps([{"role": "user", "parts": [{"type": "text", "content": f'"{EMAIL}"'}]}]),
        sc.GEN_AI_RESPONSE_ID: "chatcmpl-078-05-1120", sc.SERVER_ADDRESS: "10.0.0.1",
        "unknown.attribute": f"mail {EMAIL}", "list.attribute": (EMAIL, "x"), "number": 4111111111111111,
        sc.GEN_AI_REQUEST_STOP_SEQUENCES: (EMAIL,), "broken.json": "[not json " + EMAIL,
    }
    out = redaction.attributes(attributes)
    assert json.loads(out[sc.GEN_AI_INPUT_MESSAGES])[0]["parts"][0]["content"] == '"<EMAIL_ADDRESS>"'
    assert out[sc.GEN_AI_RESPONSE_ID] == "chatcmpl-078-05-1120" and out[sc.SERVER_ADDRESS] == "10.0.0.1"
    assert out["unknown.attribute"] == "mail <EMAIL_ADDRESS>"
    assert out["list.attribute"] == ("<EMAIL_ADDRESS>", "x")
    assert out[sc.GEN_AI_REQUEST_STOP_SEQUENCES] == ("<EMAIL_ADDRESS>",)
    assert out["broken.json"] == "[not json <EMAIL_ADDRESS>"
    assert out["number"] == 4111111111111111
    assert redaction.found == {"EMAIL_ADDRESS": 5}
    assert is_content_key("llmotel.metadata.customer") and not is_content_key(sc.GEN_AI_REQUEST_MODEL)
