"""``llmotel demo``: a small traced RAG question-answering program using the real ``openai`` client.

With ``OPENAI_API_KEY`` set it calls the real API (model from ``LLMOTEL_DEMO_MODEL``, default
``gpt-4o-mini``); without it, it starts a local OpenAI-compatible stand-in on loopback and says so.
It prints each answer and the trace tree; with an OTLP endpoint configured the spans are exported there too.
"""

from __future__ import annotations

import json
import os
import re
import sys
from contextlib import ExitStack
from typing import Any

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import ReadableSpan, TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter

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
    "What does a span represent?",
    "Who won the 1998 football World Cup?",
]
SYSTEM_PROMPT = "Answer the question using only the context. If the context does not contain the answer, say so."
_WORD = re.compile(r"[a-z0-9]+")


PROMPT_TEMPLATE = "Context: {article}\nQuestion: {user_question}"


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
        template=PROMPT_TEMPLATE, id="rag_answer", variables={"user_question": question, "article": article},
        rag_query_variables=["user_question"], rag_context_variables=["article"],
    )
    messages = [
        {"role": "system", "content": SYSTEM_PROMPT},
        {"role": "user", "content": PROMPT_TEMPLATE.format(article=article, user_question=question)},
    ]
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


def _describe(span: ReadableSpan) -> str:
    attrs: Any = span.attributes or {}
    duration = ((span.end_time or 0) - (span.start_time or 0)) / 1e6
    bits = [f"{span.name}  ({duration:.1f} ms)"]
    if attrs.get(sc.GEN_AI_OPERATION_NAME) == sc.OP_CHAT and sc.GEN_AI_RESPONSE_MODEL in attrs:
        bits.append(f"model={attrs[sc.GEN_AI_RESPONSE_MODEL]}")
    if sc.GEN_AI_PROMPT_NAME in attrs:
        bits.append(f"prompt={attrs[sc.GEN_AI_PROMPT_NAME]}@{attrs.get(sc.GEN_AI_PROMPT_VERSION)}")
    if sc.GEN_AI_USAGE_INPUT_TOKENS in attrs:
        bits.append(f"tokens in={attrs[sc.GEN_AI_USAGE_INPUT_TOKENS]} out={attrs.get(sc.GEN_AI_USAGE_OUTPUT_TOKENS)}")
    if sc.GEN_AI_RESPONSE_FINISH_REASONS in attrs:
        bits.append("finish=" + ",".join(attrs[sc.GEN_AI_RESPONSE_FINISH_REASONS]))
    if sc.GEN_AI_RETRIEVAL_DOCUMENTS in attrs:
        bits.append("docs=" + ",".join(d["id"] for d in json.loads(attrs[sc.GEN_AI_RETRIEVAL_DOCUMENTS])))
    for event in span.events:
        if event.name == sc.GEN_AI_EVALUATION_RESULT_EVENT and event.attributes:
            bits.append(f"eval {event.attributes.get(sc.GEN_AI_EVALUATION_NAME)}="
                        f"{event.attributes.get(sc.GEN_AI_EVALUATION_SCORE_LABEL)}")
    return "  ".join(bits)


def trace_tree(spans: list[ReadableSpan]) -> str:
    """An indented tree of spans, children in start order."""
    children: dict[int | None, list[ReadableSpan]] = {}
    ids = {s.context.span_id for s in spans if s.context}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        parent = span.parent.span_id if span.parent and span.parent.span_id in ids else None
        children.setdefault(parent, []).append(span)
    lines: list[str] = []

    def walk(parent: int | None, depth: int) -> None:
        for span in children.get(parent, []):
            lines.append("  " * depth + ("└─ " if depth else "● ") + _describe(span))
            walk(span.context.span_id if span.context else None, depth + 1)

    walk(None, 0)
    return "\n".join(lines)


def main(question: str | None = None, stream: bool = False) -> int:
    import openai

    collected = InMemorySpanExporter()
    service = os.environ.get("OTEL_SERVICE_NAME", "llmotel-demo")
    provider = TracerProvider(resource=Resource.create({SERVICE_NAME: service}))
    provider.add_span_processor(SimpleSpanProcessor(collected))
    llmotel.enable(service_name=service, tracer_provider=provider, console=False)
    settings = current_settings()
    model = os.environ.get("LLMOTEL_DEMO_MODEL", "gpt-4o-mini")
    with ExitStack() as stack:
        if os.environ.get("OPENAI_API_KEY"):
            print(f"llmotel demo: calling the real OpenAI API with model {model}")
            client = openai.OpenAI()
        else:
            standin = stack.enter_context(StandIn())
            print("llmotel demo: OPENAI_API_KEY is not set, so this run uses a LOCAL STAND-IN for the OpenAI API")
            print(f"              at {standin.base_url} (it quotes the best-matching context sentence; not a model)")
            client = openai.OpenAI(api_key="standin", base_url=standin.base_url, max_retries=0)
        stack.callback(client.close)
        for q in [question] if question else QUESTIONS:
            print(f"\nQ: {q}\nA: {answer(client, model, q, stream)}")
    llmotel.flush()
    print("\nTrace tree:")
    print(trace_tree(list(collected.get_finished_spans())))
    if settings is not None and settings.endpoint:
        print(f"\nSpans exported to {settings.endpoint} ({settings.protocol}).")
    else:
        print("\nNo OTLP endpoint configured: set OTEL_EXPORTER_OTLP_ENDPOINT to export these spans.")
    llmotel.shutdown()
    return 0


if __name__ == "__main__":
    sys.exit(main())
