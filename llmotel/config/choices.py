"""The accepted values of llmotel's enumerated settings (names of built-ins, protocols, operators, ...)."""

from __future__ import annotations

PROTOCOLS = ("grpc", "http/protobuf")
EXPORTERS = ("otlp", "console", "none")
INSTRUMENTATIONS = ("openai", "anthropic")
#: Names of the built-in evaluators (``pii`` is the same as ``redact_pii=True``; the last four need a judge).
BUILTIN_EVALUATORS: tuple[str, ...] = (
    "pii", "language_mismatch", "failure_to_answer", "sentiment", "toxicity",
    "hallucination", "prompt_injection", "topic_relevancy", "answer_relevance",
)
JUDGE_PROVIDERS = ("openai", "anthropic")
#: Names of the built-in evaluation sinks (each delivers results in a backend's own evaluation model).
EVALUATION_SINKS = ("phoenix", "mlflow", "datadog")
#: Attribute sets written besides the GenAI conventions' (``compat``).
COMPAT_MODES = ("openinference",)
PII_OPERATORS = ("replace", "mask", "hash", "drop")
#: Entities found by the PII redactor's pattern recognizers (no model needed); the default set when NER is off.
PII_PATTERN_ENTITIES: tuple[str, ...] = (
    "EMAIL_ADDRESS", "PHONE_NUMBER", "CREDIT_CARD", "IBAN_CODE", "IP_ADDRESS", "US_SSN", "CRYPTO",
    "US_ITIN", "UK_NINO", "MAC_ADDRESS", "ES_NIF", "ES_NIE", "IT_FISCAL_CODE",
)
#: Entities found by a spaCy NER model, when one is installed.
PII_NER_ENTITIES: tuple[str, ...] = ("PERSON", "LOCATION")
#: where evaluation and redaction run: worker threads of the application, or a child process llmotel starts
EVALUATION_PLACES = ("thread", "subprocess")
COMPRESSIONS = ("gzip", "none")
