"""A small instrumented application, run by the backend e2e tests in a fresh interpreter (``enable()`` installs
the global tracer provider, once per process), exactly as a user's program would run.

``python -m tests.e2e.backend_app --endpoint URL --openai-base-url URL --anthropic-base-url URL
[--protocol grpc] [--header k=v ...] [--resource k=v ...] [--sink phoenix|mlflow] [--compat]`` sends, with
llmotel's real instrumentation and the real ``openai`` / ``anthropic`` SDKs (pointed at the fake providers):

- a RAG workflow (``invoke_workflow rag_answer``): a retrieval span, a tool span, then an OpenAI chat call named
  ``generate_answer`` inside an annotated prompt template; a user rating submitted afterwards;
- a streamed OpenAI chat call, a plain and a streamed Anthropic call, each its own trace;
- evaluations: the offline ``failure_to_answer`` and ``language_mismatch`` checks and the LLM-judge
  ``hallucination`` check (its judge: a second local stand-in scripted with a verdict), delivered as span events
  and, with ``--sink``, through that backend's evaluation sink.

Prints one JSON line: every span emitted (name, trace/span/parent ids in hex), the answers and usage the SDKs
returned.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

import anthropic
import openai
from opentelemetry import trace
from opentelemetry.sdk.trace import ReadableSpan, SpanProcessor

import llmotel
from llmotel.evaluation import Judge
from tests.fake_providers import FakeProvider, Reply

QUESTION = "Which port does OTLP over gRPC use by default?"
CONTEXT = "OTLP over gRPC listens on port 4317 by default. OTLP over HTTP uses port 4318."
TEMPLATE = "Context: {article}\nQuestion: {user_question}"
RAG_ANSWER = "OTLP over gRPC uses port 4317 by default."
STREAM_QUESTION = "What does a span represent?"
ANTHROPIC_QUESTION = "What is the OpenTelemetry Collector?"
ANTHROPIC_STREAM_QUESTION = "Name the two OTLP transports."
VERDICT = {"claims": [{"claim": "OTLP over gRPC uses port 4317 by default.", "verdict": "supported",
                       "evidence": "OTLP over gRPC listens on port 4317 by default."}]}
RATING_REASON = "the user clicked thumbs up"


class Emitted(SpanProcessor):
    """Notes every span the application emits (name -> trace and span ids, parent), to look them up later."""

    def __init__(self) -> None:
        self.spans: list[dict[str, Any]] = []

    def on_end(self, span: ReadableSpan) -> None:
        context = span.context
        if context is not None:
            self.spans.append({"name": span.name, "trace_id": format(context.trace_id, "032x"),
                               "span_id": format(context.span_id, "016x"),
                               "parent_id": format(span.parent.span_id, "016x") if span.parent else None})


def run(args: argparse.Namespace) -> dict[str, Any]:
    judge_stand_in = FakeProvider().start()  # the judge's "model": answers with the scripted verdict
    judge_stand_in.script(*(Reply(text=json.dumps(VERDICT)) for _ in range(3)))
    judge = Judge(openai.OpenAI(api_key="judge", base_url=judge_stand_in.openai_base_url, max_retries=0),
                  model="gpt-4o-mini")
    headers = dict(h.split("=", 1) for h in args.header)
    resource = dict(r.split("=", 1) for r in args.resource)
    llmotel.enable(service_name=args.service_name, endpoint=args.endpoint, protocol=args.protocol,
                   headers=headers or None, resource_attributes=resource or None,
                   evaluators=["failure_to_answer", "language_mismatch", "hallucination"], judge=judge,
                   content=llmotel.ContentOptions(compat=["openinference"] if args.compat else None),
                   evaluation=llmotel.EvaluationOptions(sinks=[args.sink] if args.sink else None))
    emitted = Emitted()
    trace.get_tracer_provider().add_span_processor(emitted)  # type: ignore[attr-defined]
    oai = openai.OpenAI(api_key="test", base_url=args.openai_base_url, max_retries=0)
    claude = anthropic.Anthropic(api_key="test", base_url=args.anthropic_base_url, max_retries=0)
    out: dict[str, Any] = {"answers": {}, "usage": {}}

    @llmotel.retrieval(name="knowledge_base")
    def retrieve(question: str) -> list[dict[str, Any]]:
        return [{"id": "otlp-ports", "text": CONTEXT, "score": 0.92}]

    @llmotel.tool(description="Formats a citation")
    def cite(doc_id: str) -> str:
        return f"[{doc_id}]"

    @llmotel.workflow(name="rag_answer")
    def rag_answer(client: openai.OpenAI, question: str) -> str:
        docs = retrieve(question)
        cite(docs[0]["id"])
        article = docs[0]["text"]
        prompt = llmotel.Prompt(template=TEMPLATE, id="rag_answer", variables={"user_question": question,
                                                                                 "article": article},
                                rag_query_variables=["user_question"], rag_context_variables=["article"])
        with llmotel.annotation_context(prompt=prompt, name="generate_answer"):
            response = client.chat.completions.create(model="gpt-4o-mini", messages=[
                {"role": "user", "content": TEMPLATE.format(article=article, user_question=question)}])
        out["usage"]["generate_answer"] = [response.usage.prompt_tokens, response.usage.completion_tokens]
        out["rating_for"] = llmotel.export_span().to_dict()  # the workflow span: current inside the function
        return str(response.choices[0].message.content)

    out["answers"]["generate_answer"] = rag_answer(oai, QUESTION)
    llmotel.submit_evaluation(llmotel.SpanRef(**out["rating_for"]), label="user_rating", metric_type="score",
                              value=4, reasoning=RATING_REASON, assessment="pass")

    pieces = []
    with oai.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": STREAM_QUESTION}],
                                     stream=True, stream_options={"include_usage": True}) as stream:
        for chunk in stream:
            if chunk.choices and chunk.choices[0].delta.content:
                pieces.append(chunk.choices[0].delta.content)
            if chunk.usage is not None:
                out["usage"]["openai_stream"] = [chunk.usage.prompt_tokens, chunk.usage.completion_tokens]
    out["answers"]["openai_stream"] = "".join(pieces)

    message = claude.messages.create(model="claude-haiku-4-5", max_tokens=256, system="Answer briefly.",
                                     messages=[{"role": "user", "content": ANTHROPIC_QUESTION}])
    out["answers"]["anthropic"] = message.content[0].text
    out["usage"]["anthropic"] = [message.usage.input_tokens, message.usage.output_tokens]
    with claude.messages.stream(model="claude-haiku-4-5", max_tokens=256,
                                messages=[{"role": "user", "content": ANTHROPIC_STREAM_QUESTION}]) as stream:
        final = stream.get_final_message()
    out["answers"]["anthropic_stream"] = final.content[0].text
    out["usage"]["anthropic_stream"] = [final.usage.input_tokens, final.usage.output_tokens]

    llmotel.shutdown(timeout=60)  # generous: the backends share a busy 2-core machine with the test run
    judge_stand_in.stop()
    out["spans"] = emitted.spans
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--endpoint", required=True)
    parser.add_argument("--openai-base-url", required=True)
    parser.add_argument("--anthropic-base-url", required=True)
    parser.add_argument("--protocol", default="http/protobuf", choices=["http/protobuf", "grpc"])
    parser.add_argument("--service-name", default="llmotel-e2e")
    parser.add_argument("--header", action="append", default=[])
    parser.add_argument("--resource", action="append", default=[], help="a resource attribute, key=value")
    parser.add_argument("--sink", choices=["phoenix", "mlflow"])
    parser.add_argument("--compat", action="store_true")
    print(json.dumps(run(parser.parse_args())))


if __name__ == "__main__":
    main()
