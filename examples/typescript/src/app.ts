/**
 * A TypeScript support bot traced with the OpenTelemetry JS SDK and evaluated by `llmotel gateway`.
 *
 * It answers one question with an LLM stand-in, records the call as a GenAI semantic-convention span, exports its
 * spans to the gateway over OTLP/HTTP (JSON), then posts its own judgement of the answer ("Answered": true/false)
 * for that span to the gateway's evaluation intake with plain `fetch`: no llmotel client library.
 *
 *   LLMOTEL_GATEWAY_URL=http://127.0.0.1:4318 node dist/app.js "How long does delivery to Berlin take?"
 *
 * With LLMOTEL_GATEWAY_TOKEN set, both requests carry it as a bearer token. Prints the span's ids and the answer
 * as one JSON line.
 */
import { SpanKind, context, trace } from "@opentelemetry/api";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";

const GATEWAY = (process.env.LLMOTEL_GATEWAY_URL ?? "http://127.0.0.1:4318").replace(/\/+$/, "");
const TOKEN = process.env.LLMOTEL_GATEWAY_TOKEN;
const AUTH: Record<string, string> = TOKEN ? { Authorization: `Bearer ${TOKEN}` } : {};
const SERVICE = "ts-support-bot";
const MODEL = "stand-in-1";

/** What the stand-in knows; it is not a model, it quotes the entry sharing the most words with the question. */
const KNOWLEDGE: readonly string[] = [
  "Delivery to Berlin usually takes two to three working days.",
  "You can return any item within 30 days for a full refund.",
  "Our support team answers e-mails within one working day.",
];

interface Answer {
  text: string;
  answered: boolean;
}

function words(text: string): Set<string> {
  return new Set(text.toLowerCase().match(/[a-z]+/g) ?? []);
}

/** The LLM stand-in: the best-matching knowledge entry, or a refusal when nothing matches. */
function standIn(question: string): Answer {
  const asked = words(question);
  let best = "";
  let bestScore = 0;
  for (const entry of KNOWLEDGE) {
    const score = [...words(entry)].filter((w) => w.length > 3 && asked.has(w)).length;
    if (score > bestScore) {
      best = entry;
      bestScore = score;
    }
  }
  return bestScore > 0
    ? { text: best, answered: true }
    : { text: "I'm sorry, I don't have information about that.", answered: false };
}

function textMessage(role: string, text: string, finishReason?: string): Record<string, unknown> {
  const message: Record<string, unknown> = { role, parts: [{ type: "text", content: text }] };
  if (finishReason !== undefined) {
    message.finish_reason = finishReason;
  }
  return message;
}

async function main(): Promise<void> {
  const question = process.argv.slice(2).join(" ") || "How long does delivery to Berlin take?";
  const provider = new TracerProvider({
    resource: resourceFromAttributes({ "service.name": SERVICE }),
    spanProcessors: [
      new BatchSpanProcessor({ exporter: new OTLPTraceExporter({ url: `${GATEWAY}/v1/traces`, headers: AUTH }) }),
    ],
  });
  const tracer = provider.getTracer("support-bot", "1.0.0");

  const request = tracer.startSpan("answer_question", { kind: SpanKind.SERVER });
  const chat = tracer.startSpan(
    `chat ${MODEL}`,
    {
      kind: SpanKind.CLIENT,
      attributes: {
        "gen_ai.operation.name": "chat",
        "gen_ai.provider.name": "stand_in",
        "gen_ai.request.model": MODEL,
        "gen_ai.input.messages": JSON.stringify([textMessage("user", question)]),
      },
    },
    trace.setSpan(context.active(), request),
  );
  const answer = standIn(question);
  chat.setAttributes({
    "gen_ai.response.model": MODEL,
    "gen_ai.response.finish_reasons": ["stop"],
    "gen_ai.output.messages": JSON.stringify([textMessage("assistant", answer.text, "stop")]),
  });
  chat.end();
  request.end();
  await provider.forceFlush();

  // The application's own judgement of its answer, attached to the chat span by its ids.
  const { traceId, spanId } = chat.spanContext();
  const response = await fetch(`${GATEWAY}/v1/evaluations`, {
    method: "POST",
    headers: { "Content-Type": "application/json", ...AUTH },
    body: JSON.stringify({
      data: {
        type: "evaluation_metric",
        attributes: {
          metrics: [
            {
              span_id: spanId,
              trace_id: traceId,
              ml_app: SERVICE,
              timestamp_ms: Date.now(),
              metric_type: "categorical",
              label: "Answered",
              categorical_value: answer.answered ? "true" : "false",
              tags: ["source:typescript"],
            },
          ],
        },
      },
    }),
  });
  if (response.status !== 202) {
    throw new Error(`the gateway refused the evaluation: ${response.status} ${await response.text()}`);
  }
  await provider.shutdown();
  console.log(JSON.stringify({ trace_id: traceId, span_id: spanId, answer: answer.text, answered: answer.answered }));
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
