"""Every attribute, event and metric name llmotel emits, in one place.

Target: the OpenTelemetry GenAI semantic conventions as developed on ``semantic-conventions-genai`` main
(autumn 2026). Where main renamed a v1.41.0 name, main's name is used and the old one is noted.
No other module spells an attribute name as a string literal.

Metrics: llmotel emits the v1.41 histogram set (``gen_ai.client.token.usage``,
``gen_ai.client.operation.duration``, ``gen_ai.client.operation.time_to_first_chunk``), because that is what
backends read today. Main's ``gen_ai.client.inference.*`` counters are not emitted.
"""

from __future__ import annotations

from typing import Final

# --- operation / provider -------------------------------------------------------------------------------------------
GEN_AI_OPERATION_NAME: Final = "gen_ai.operation.name"
GEN_AI_PROVIDER_NAME: Final = "gen_ai.provider.name"  # replaces deprecated gen_ai.system

OP_CHAT: Final = "chat"
OP_TEXT_COMPLETION: Final = "text_completion"
OP_GENERATE_CONTENT: Final = "generate_content"
OP_EMBEDDINGS: Final = "embeddings"
OP_RETRIEVAL: Final = "retrieval"
OP_EXECUTE_TOOL: Final = "execute_tool"
OP_INVOKE_AGENT: Final = "invoke_agent"
OP_INVOKE_WORKFLOW: Final = "invoke_workflow"

#: Operations that generate text from messages or a prompt: the spans evaluators read and annotations describe.
LLM_OPERATIONS: Final = frozenset({OP_CHAT, OP_TEXT_COMPLETION, OP_GENERATE_CONTENT})
#: Operations that describe a call to a model (the LLM operations and embeddings); the console summary shows them.
MODEL_OPERATIONS: Final = LLM_OPERATIONS | {OP_EMBEDDINGS}

PROVIDER_OPENAI: Final = "openai"
PROVIDER_AZURE_OPENAI: Final = "azure.ai.openai"
PROVIDER_ANTHROPIC: Final = "anthropic"
PROVIDER_AWS_BEDROCK: Final = "aws.bedrock"
PROVIDER_GCP_VERTEX_AI: Final = "gcp.vertex_ai"
PROVIDER_GCP_GEMINI: Final = "gcp.gemini"
PROVIDER_DEEPSEEK: Final = "deepseek"
PROVIDER_GROQ: Final = "groq"
PROVIDER_MISTRAL_AI: Final = "mistral_ai"
PROVIDER_PERPLEXITY: Final = "perplexity"
PROVIDER_X_AI: Final = "x_ai"

# --- server ---------------------------------------------------------------------------------------------------------
SERVER_ADDRESS: Final = "server.address"
SERVER_PORT: Final = "server.port"
ERROR_TYPE: Final = "error.type"
HTTP_RESPONSE_STATUS_CODE: Final = "http.response.status_code"

# --- request --------------------------------------------------------------------------------------------------------
GEN_AI_REQUEST_MODEL: Final = "gen_ai.request.model"
GEN_AI_REQUEST_MAX_TOKENS: Final = "gen_ai.request.max_tokens"
GEN_AI_REQUEST_TEMPERATURE: Final = "gen_ai.request.temperature"
GEN_AI_REQUEST_TOP_P: Final = "gen_ai.request.top_p"
GEN_AI_REQUEST_TOP_K: Final = "gen_ai.request.top_k"
GEN_AI_REQUEST_FREQUENCY_PENALTY: Final = "gen_ai.request.frequency_penalty"
GEN_AI_REQUEST_PRESENCE_PENALTY: Final = "gen_ai.request.presence_penalty"
GEN_AI_REQUEST_STOP_SEQUENCES: Final = "gen_ai.request.stop_sequences"
GEN_AI_REQUEST_SEED: Final = "gen_ai.request.seed"
GEN_AI_REQUEST_CHOICE_COUNT: Final = "gen_ai.request.choice.count"
GEN_AI_REQUEST_STREAM: Final = "gen_ai.request.stream"
GEN_AI_REQUEST_REASONING_LEVEL: Final = "gen_ai.request.reasoning.level"
GEN_AI_REQUEST_ENCODING_FORMATS: Final = "gen_ai.request.encoding_formats"
GEN_AI_REQUEST_PREVIOUS_RESPONSE_ID: Final = "gen_ai.request.previous_response.id"
GEN_AI_OUTPUT_TYPE: Final = "gen_ai.output.type"
GEN_AI_CONVERSATION_ID: Final = "gen_ai.conversation.id"

OUTPUT_TYPE_TEXT: Final = "text"
OUTPUT_TYPE_JSON: Final = "json"
OUTPUT_TYPE_IMAGE: Final = "image"
OUTPUT_TYPE_SPEECH: Final = "speech"

# --- response -------------------------------------------------------------------------------------------------------
GEN_AI_RESPONSE_ID: Final = "gen_ai.response.id"
GEN_AI_RESPONSE_MODEL: Final = "gen_ai.response.model"
GEN_AI_RESPONSE_FINISH_REASONS: Final = "gen_ai.response.finish_reasons"  # the provider's own values

# finish_reason of an output message (required by the output-messages JSON schema): the schema's values where
# the provider's has an equivalent, else the provider's own value.
FINISH_STOP: Final = "stop"
FINISH_LENGTH: Final = "length"
FINISH_CONTENT_FILTER: Final = "content_filter"
FINISH_TOOL_CALL: Final = "tool_call"
FINISH_ERROR: Final = "error"
GEN_AI_RESPONSE_TIME_TO_FIRST_CHUNK: Final = "gen_ai.response.time_to_first_chunk"
GEN_AI_EMBEDDINGS_DIMENSION_COUNT: Final = "gen_ai.embeddings.dimension.count"

# --- usage ----------------------------------------------------------------------------------------------------------
GEN_AI_USAGE_INPUT_TOKENS: Final = "gen_ai.usage.input_tokens"  # includes cached tokens
GEN_AI_USAGE_OUTPUT_TOKENS: Final = "gen_ai.usage.output_tokens"
GEN_AI_USAGE_CACHE_READ_INPUT_TOKENS: Final = "gen_ai.usage.cache_read.input_tokens"
GEN_AI_USAGE_CACHE_WRITE_INPUT_TOKENS: Final = "gen_ai.usage.cache_write.input_tokens"  # v1.41: cache_creation
GEN_AI_USAGE_REASONING_OUTPUT_TOKENS: Final = "gen_ai.usage.reasoning.output_tokens"  # inside output_tokens

# --- content (JSON strings) -----------------------------------------------------------------------------------------
GEN_AI_SYSTEM_INSTRUCTIONS: Final = "gen_ai.system_instructions"
GEN_AI_INPUT_MESSAGES: Final = "gen_ai.input.messages"
GEN_AI_OUTPUT_MESSAGES: Final = "gen_ai.output.messages"
GEN_AI_TOOL_DEFINITIONS: Final = "gen_ai.tool.definitions"

# Message part types and modalities.
PART_TEXT: Final = "text"
PART_TOOL_CALL: Final = "tool_call"
PART_TOOL_CALL_RESPONSE: Final = "tool_call_response"
PART_REASONING: Final = "reasoning"
PART_BLOB: Final = "blob"
PART_URI: Final = "uri"
PART_FILE: Final = "file"
PART_SERVER_TOOL_CALL: Final = "server_tool_call"
PART_SERVER_TOOL_CALL_RESPONSE: Final = "server_tool_call_response"
PART_REFUSAL: Final = "refusal"  # generic part: the model declined to answer

MODALITY_IMAGE: Final = "image"
MODALITY_VIDEO: Final = "video"
MODALITY_AUDIO: Final = "audio"
MODALITY_DOCUMENT: Final = "document"

# --- prompt templates -----------------------------------------------------------------------------------------------
GEN_AI_PROMPT_NAME: Final = "gen_ai.prompt.name"
GEN_AI_PROMPT_VERSION: Final = "gen_ai.prompt.version"
GEN_AI_PROMPT_VARIABLE_PREFIX: Final = "gen_ai.prompt.variable."

# --- other spans ----------------------------------------------------------------------------------------------------
GEN_AI_DATA_SOURCE_ID: Final = "gen_ai.data_source.id"
GEN_AI_RETRIEVAL_QUERY_TEXT: Final = "gen_ai.retrieval.query.text"
GEN_AI_RETRIEVAL_DOCUMENTS: Final = "gen_ai.retrieval.documents"
GEN_AI_RETRIEVAL_TOP_K: Final = "gen_ai.retrieval.top_k"
GEN_AI_TOOL_NAME: Final = "gen_ai.tool.name"
GEN_AI_TOOL_CALL_ID: Final = "gen_ai.tool.call.id"
GEN_AI_TOOL_DESCRIPTION: Final = "gen_ai.tool.description"
GEN_AI_TOOL_TYPE: Final = "gen_ai.tool.type"
GEN_AI_TOOL_CALL_ARGUMENTS: Final = "gen_ai.tool.call.arguments"
GEN_AI_TOOL_CALL_RESULT: Final = "gen_ai.tool.call.result"
GEN_AI_AGENT_NAME: Final = "gen_ai.agent.name"
GEN_AI_WORKFLOW_NAME: Final = "gen_ai.workflow.name"

# --- OpenAI-specific ------------------------------------------------------------------------------------------------
OPENAI_API_TYPE: Final = "openai.api.type"
OPENAI_API_TYPE_CHAT_COMPLETIONS: Final = "chat_completions"
OPENAI_API_TYPE_RESPONSES: Final = "responses"
OPENAI_REQUEST_SERVICE_TIER: Final = "openai.request.service_tier"
OPENAI_RESPONSE_SERVICE_TIER: Final = "openai.response.service_tier"
OPENAI_RESPONSE_SYSTEM_FINGERPRINT: Final = "openai.response.system_fingerprint"

# --- Anthropic-specific (the names the anthropic SDK's own spans use, so dashboards carry over) ---------------------
ANTHROPIC_REQUEST_SERVICE_TIER: Final = "anthropic.request.service_tier"
ANTHROPIC_RESPONSE_SERVICE_TIER: Final = "anthropic.response.service_tier"
ANTHROPIC_THINKING_TYPE: Final = "anthropic.thinking.type"  # enabled | adaptive | disabled | ...
ANTHROPIC_THINKING_BUDGET_TOKENS: Final = "anthropic.thinking.budget_tokens"

# --- evaluation -----------------------------------------------------------------------------------------------------
GEN_AI_EVALUATION_RESULT_EVENT: Final = "gen_ai.evaluation.result"
GEN_AI_EVALUATION_NAME: Final = "gen_ai.evaluation.name"
GEN_AI_EVALUATION_SCORE_VALUE: Final = "gen_ai.evaluation.score.value"
GEN_AI_EVALUATION_SCORE_LABEL: Final = "gen_ai.evaluation.score.label"
GEN_AI_EVALUATION_EXPLANATION: Final = "gen_ai.evaluation.explanation"

# --- experiments (attributes of the root span `experiment {name}` of each record x run) -----------------------
LLMOTEL_EXPERIMENT_ID: Final = "llmotel.experiment.id"
LLMOTEL_EXPERIMENT_NAME: Final = "llmotel.experiment.name"
LLMOTEL_EXPERIMENT_RUN_ID: Final = "llmotel.experiment.run_id"
LLMOTEL_EXPERIMENT_ITERATION: Final = "llmotel.experiment.iteration"  # 0-based run of the record (runs=N)
LLMOTEL_EXPERIMENT_ATTEMPTS: Final = "llmotel.experiment.attempts"  # task calls, retries after a 429 included
LLMOTEL_EXPERIMENT_INPUT_TOKENS: Final = "llmotel.experiment.usage.input_tokens"  # summed over the LLM spans below
LLMOTEL_EXPERIMENT_OUTPUT_TOKENS: Final = "llmotel.experiment.usage.output_tokens"
LLMOTEL_DATASET_NAME: Final = "llmotel.dataset.name"
LLMOTEL_DATASET_VERSION: Final = "llmotel.dataset.version"  # content hash of the dataset's records
LLMOTEL_DATASET_RECORD_ID: Final = "llmotel.dataset.record_id"
LLMOTEL_EVALUATION_VALUE: Final = "llmotel.evaluation.value"  # JSON text of an evaluator's JSON (dict/list) value

# --- llmotel-specific -----------------------------------------------------------------------------------------------
LLMOTEL_CONTENT_TRUNCATED: Final = "llmotel.content.truncated"  # true when any content attribute was cut
LLMOTEL_STREAM_ENDED_BY: Final = "llmotel.stream.ended_by"  # completed | closed | error | garbage_collected
LLMOTEL_STREAM_CHUNKS: Final = "llmotel.stream.chunk_count"
LLMOTEL_STREAM_UNREADABLE_CHUNKS: Final = "llmotel.stream.unreadable_chunks"  # skipped: a shape not understood
LLMOTEL_PROMPT_TEMPLATE: Final = "llmotel.prompt.template"  # the template text (chat templates as JSON); content
LLMOTEL_PROMPT_RAG_QUERY_VARIABLES: Final = "llmotel.prompt.rag_query_variables"  # string[]: variable names
LLMOTEL_PROMPT_RAG_CONTEXT_VARIABLES: Final = "llmotel.prompt.rag_context_variables"  # string[]: variable names
LLMOTEL_PROMPT_TAGS: Final = "llmotel.prompt.tags"  # string[] of "key:value"
LLMOTEL_TAGS: Final = "llmotel.tags"  # string[] of "key:value" (or "key")
LLMOTEL_METADATA_PREFIX: Final = "llmotel.metadata."
LLMOTEL_METRIC_PREFIX: Final = "llmotel.metric."
# llmotel.span.kind: workflow | task | agent | tool | retrieval | embedding | llm | evaluation | experiment
LLMOTEL_SPAN_KIND: Final = "llmotel.span.kind"
LLMOTEL_SPAN_INPUT: Final = "llmotel.span.input"  # JSON; content
LLMOTEL_SPAN_OUTPUT: Final = "llmotel.span.output"  # JSON; content
LLMOTEL_EVALUATION_METRIC_TYPE: Final = "llmotel.evaluation.metric_type"  # score | categorical | boolean
LLMOTEL_EVALUATION_ASSESSMENT: Final = "llmotel.evaluation.assessment"  # pass | fail
LLMOTEL_EVALUATION_TAGS: Final = "llmotel.evaluation.tags"  # string[] of "key:value"
LLMOTEL_EVALUATION_SOURCE: Final = "llmotel.evaluation.source"  # custom | <evaluator name>
LLMOTEL_EVALUATION_METADATA_PREFIX: Final = "llmotel.evaluation.metadata."  # + an evaluator's metadata key
LLMOTEL_EVALUATION_DURATION: Final = "llmotel.evaluation.duration"  # seconds the evaluator took (event attribute)
LLMOTEL_EVALUATION_STATUS: Final = "llmotel.evaluation.status"  # unevaluated: on spans exported without evaluation
LLMOTEL_PII_REDACTED: Final = "llmotel.pii.redacted"  # true on spans whose exported content was redacted
TRUNCATION_MARKER: Final = "…[llmotel: truncated {dropped} chars]"

# --- OpenInference (compat=["openinference"]): what Arize Phoenix renders, besides the GenAI attributes ---------
OPENINFERENCE_SPAN_KIND: Final = "openinference.span.kind"
INPUT_VALUE: Final = "input.value"  # content
INPUT_MIME_TYPE: Final = "input.mime_type"
OUTPUT_VALUE: Final = "output.value"  # content
OUTPUT_MIME_TYPE: Final = "output.mime_type"
LLM_PROMPT_TEMPLATE: Final = "llm.prompt_template.template"  # content
LLM_PROMPT_TEMPLATE_VARIABLES: Final = "llm.prompt_template.variables"  # JSON object; content
LLM_PROMPT_TEMPLATE_VERSION: Final = "llm.prompt_template.version"
MIME_JSON: Final = "application/json"
MIME_TEXT: Final = "text/plain"
# llmotel.span.kind -> openinference.span.kind
OPENINFERENCE_KINDS: Final = {
    "workflow": "CHAIN", "task": "CHAIN", "agent": "AGENT", "tool": "TOOL", "retrieval": "RETRIEVER",
    "embedding": "EMBEDDING", "llm": "LLM", "evaluation": "EVALUATOR",
}
COMPAT_OPENINFERENCE: Final = "openinference"

# --- metrics (v1.41 set) --------------------------------------------------------------------------------------------
METRIC_TOKEN_USAGE: Final = "gen_ai.client.token.usage"
METRIC_OPERATION_DURATION: Final = "gen_ai.client.operation.duration"
METRIC_TIME_TO_FIRST_CHUNK: Final = "gen_ai.client.operation.time_to_first_chunk"
METRIC_EXPORT_FAILURES: Final = "llmotel.export.failed_spans"
METRIC_INSTRUMENTATION_ERRORS: Final = "llmotel.instrumentation.errors"
METRIC_EVALUATIONS: Final = "llmotel.evaluation.results"  # counter: gen_ai.evaluation.name, score.label, error.type
METRIC_EVALUATION_DURATION: Final = "llmotel.evaluation.duration"  # histogram (s) per gen_ai.evaluation.name
METRIC_EVALUATION_QUEUE_DEPTH: Final = "llmotel.evaluation.queue.depth"  # gauge: spans waiting for evaluation
METRIC_EVALUATION_DROPPED: Final = "llmotel.evaluation.unevaluated_spans"  # counter: exported without evaluation
LLMOTEL_DROP_REASON: Final = "llmotel.reason"  # queue_full | shutdown
# counter of LLM-judge tokens: gen_ai.evaluation.name, gen_ai.provider.name, gen_ai.request.model, gen_ai.token.type
# (input | output | total)
METRIC_JUDGE_TOKEN_USAGE: Final = "llmotel.evaluation.judge.token.usage"
TOKEN_TYPE_TOTAL: Final = "total"
LLMOTEL_EVALUATION_JUDGE: Final = "llmotel.evaluation.judge"  # true on spans of traced judge calls (trace_judge)
GEN_AI_TOKEN_TYPE: Final = "gen_ai.token.type"
TOKEN_TYPE_INPUT: Final = "input"
TOKEN_TYPE_OUTPUT: Final = "output"

TOKEN_USAGE_BUCKETS: Final = tuple(float(4**i) for i in range(14))  # 1, 4, 16, ... 67108864
DURATION_BUCKETS: Final = tuple(0.01 * 2**i for i in range(14))  # 0.01, 0.02, ... 81.92

# --- gateway (llmotel gateway's own metrics; Prometheus names: dots -> underscores, counters + _total) -------------
METRIC_GATEWAY_ACCEPTED: Final = "llmotel.gateway.accepted_spans"  # counter: llmotel.source (otlp | intake)
METRIC_GATEWAY_REFUSED: Final = "llmotel.gateway.refused_requests"  # counter: llmotel.reason
METRIC_GATEWAY_EVALUATED: Final = "llmotel.gateway.evaluated_spans"  # counter: llmotel.outcome (evaluated | ...)
METRIC_GATEWAY_FORWARDED: Final = "llmotel.gateway.forwarded_spans"  # counter: llmotel.outcome (exported | refused)
METRIC_GATEWAY_QUEUE_SPANS: Final = "llmotel.gateway.queue.spans"  # gauge: spans accepted and not yet delivered
METRIC_GATEWAY_QUEUE_BYTES: Final = "llmotel.gateway.queue.bytes"  # gauge: their request bytes
METRIC_GATEWAY_EVALUATION_LATENCY: Final = "llmotel.gateway.evaluation.latency"  # histogram (s): accepted -> evaluated
METRIC_GATEWAY_PASSTHROUGH: Final = "llmotel.gateway.passthrough_requests"  # counter: llmotel.signal, llmotel.outcome
LLMOTEL_SOURCE: Final = "llmotel.source"
LLMOTEL_OUTCOME: Final = "llmotel.outcome"
LLMOTEL_SIGNAL: Final = "llmotel.signal"
