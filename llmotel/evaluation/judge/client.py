"""LLM-as-judge on the user's own OpenAI or Anthropic client.

A :class:`Judge` renders a versioned :class:`JudgePrompt`, calls the model at temperature 0, extracts the JSON
object from the reply and validates it against the prompt's schema, with one repair call when it does not match.
It owns retries (HTTP 429 only, honouring ``retry-after``), limits calls in flight, keeps an optional per-minute
token budget and counts the tokens it uses (``llmotel.evaluation.judge.token.usage``).

Judge calls are invisible by default: each runs in a fresh OpenTelemetry context with instrumentation suppressed,
so it makes no span and never nests in the user's trace. With ``trace=True`` each :meth:`Judge.ask` is a root
span of its own (``evaluation judge <evaluator>``) with the LLM spans under it; :func:`is_judge_trace` tells the
evaluating processor which traces those are, so judge calls are never evaluated themselves.

This is the only module of ``llmotel.evaluation`` that touches a provider SDK, and it imports the SDK lazily. The
token counts of a reply are read by the provider's instrumentation adapter (``read_response``), so the judge and
the traced calls count alike.
"""

from __future__ import annotations

import functools
import importlib
import importlib.resources
import inspect
import logging
import math
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import Any

from opentelemetry import context as otel_context
from opentelemetry import metrics, trace

from llmotel import semconv as sc
from llmotel._version import __version__
from llmotel.calls import Telemetry
from llmotel.config import Settings
from llmotel.errors import ConfigurationError
from llmotel.evaluation.judge.budget import (
    MAX_RETRY_AFTER,
    JudgeBudgetExceeded,
    _remember_judge_trace,
    _retry_after,
    _TokenWindow,
)
from llmotel.evaluation.judge.prompts import (
    MAX_ECHOED_REPLY_CHARS,
    JudgeOutputError,
    JudgePrompt,
    _problem,
)
from llmotel.instrumentation._adapter import EndpointAdapter

logger = logging.getLogger("llmotel")


@dataclass(frozen=True)
class _Usage:
    input: int | None
    output: int | None
    total: int | None


def _int(value: Any) -> int | None:
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


def _sum(*values: int | None) -> int | None:
    known = [v for v in values if v is not None]
    return sum(known) if known else None


PROVIDERS = ("openai", "anthropic")


@functools.cache
def _adapter(provider: str) -> tuple[EndpointAdapter, str]:
    """The instrumentation adapter reading ``provider``'s responses, and the endpoint the judge calls."""
    if provider == "anthropic":
        from llmotel.instrumentation.anthropic import AnthropicAdapter

        return AnthropicAdapter(), "/v1/messages"
    from llmotel.instrumentation.openai import OpenAIAdapter

    return OpenAIAdapter(), "/chat/completions"


@functools.cache
def _usage_telemetry() -> Telemetry:
    """Telemetry for reading judge responses: no content, no metrics, never a span."""
    return Telemetry(Settings(capture_content=False, metrics=False))


def _reply_text(provider: str, response: Any) -> str:
    if provider == "anthropic":
        blocks = getattr(response, "content", None) or []
        return "".join(b.text for b in blocks if getattr(b, "type", None) == "text" and isinstance(b.text, str))
    choices = getattr(response, "choices", None) or []
    content = getattr(choices[0].message, "content", None) if choices else None
    return content if isinstance(content, str) else ""


# --- the judge ------------------------------------------------------------------------------------------------------


def _import_sdk(provider: str) -> Any:
    try:
        return importlib.import_module(provider)
    except ImportError:
        raise ConfigurationError(
            "judge_provider", provider, f"a provider whose SDK is installed (pip install 'llmotel[{provider}]')"
        ) from None


def _client_provider(client: Any) -> str | None:
    """``"openai"``/``"anthropic"`` for a sync client of that SDK (or a subclass), else None."""
    roots = {klass.__module__.split(".")[0] for klass in type(client).__mro__}
    for provider, path in (("openai", ("chat", "completions", "create")), ("anthropic", ("messages", "create"))):
        if provider not in roots:
            continue
        # Stainless SDKs' async clients share this base; their (decorated) methods hide that they are coroutines.
        async_base = getattr(getattr(importlib.import_module(provider), "_base_client", None), "AsyncAPIClient", None)
        if isinstance(async_base, type) and isinstance(client, async_base):
            return None
        method = client
        for attribute in path:
            method = getattr(method, attribute, None)
        if callable(method) and not inspect.iscoroutinefunction(method):
            return provider
    return None


def _accepts(function: Any, parameter: str) -> bool:
    try:
        return parameter in inspect.signature(function).parameters
    except (TypeError, ValueError):
        return False


def _check_count(setting: str, value: Any, minimum: int) -> None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigurationError(setting, value, f"an integer >= {minimum}")


def _check_seconds(setting: str, value: Any) -> None:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value < math.inf:
        raise ConfigurationError(setting, value, "a number of seconds > 0")


class Judge:
    """Asks an LLM for a JSON verdict: the engine of the judge-based checks (hallucination, ...).

    ``client`` is the user's own sync ``openai.OpenAI`` / ``openai.AzureOpenAI`` / ``anthropic.Anthropic`` client,
    or None to build one from ``provider`` (``"openai"`` or ``"anthropic"``), ``api_key`` and ``base_url`` (None:
    the SDK's environment variables). Every call goes through a copy of the client without SDK retries, with
    ``timeout`` seconds per request. ``max_concurrency`` calls at most are in flight; with
    ``max_tokens_per_minute`` a call is refused (:class:`JudgeBudgetExceeded`) while the last 60 seconds' calls
    used that many tokens or more (calls already in flight may overshoot it). HTTP 429 is retried
    ``rate_limit_retries`` times after the wait the provider asks for (at most 30 s; else 1, 2, 4, ... s).
    Token usage is counted on ``meter_provider`` (None: the global one). ``trace=True`` traces each :meth:`ask`
    as a root span of its own. Thread-safe. Raises :class:`llmotel.ConfigurationError` for invalid options.

    ``provider`` is the API family (``"openai"``/``"anthropic"``); ``provider_name`` the semconv
    ``gen_ai.provider.name`` of the client (``azure.ai.openai``, ``aws.bedrock``, ...) used on the token metric.
    """

    def __init__(
        self,
        client: Any = None,
        *,
        provider: str | None = None,
        model: str,
        api_key: str | None = None,
        base_url: str | None = None,
        timeout: float = 30.0,
        max_concurrency: int = 4,
        max_tokens_per_minute: int | None = None,
        rate_limit_retries: int = 3,
        max_output_tokens: int = 1024,
        trace: bool = False,
        meter_provider: Any = None,
    ) -> None:
        if not isinstance(model, str) or not model.strip():
            raise ConfigurationError("judge_model", model, "a non-empty model name")
        _check_seconds("judge_timeout", timeout)
        _check_count("judge_max_concurrency", max_concurrency, 1)
        if max_tokens_per_minute is not None:
            _check_count("judge_max_tokens_per_minute", max_tokens_per_minute, 1)
        _check_count("judge_rate_limit_retries", rate_limit_retries, 0)
        _check_count("judge_max_output_tokens", max_output_tokens, 1)
        if not isinstance(trace, bool):
            raise ConfigurationError("trace_judge", trace, "true or false")
        if provider is not None and provider not in PROVIDERS:
            raise ConfigurationError("judge_provider", provider, PROVIDERS)

        self._owns_client = client is None
        if client is None:
            if provider is None:
                raise ConfigurationError("judge_provider", None, "'openai' or 'anthropic' (or a client object)")
            client = self._build_client(provider, api_key, base_url, timeout)
        else:
            detected = _client_provider(client)
            if detected is None:
                raise ConfigurationError(
                    "judge", type(client).__name__, "a sync openai.OpenAI, openai.AzureOpenAI or anthropic.Anthropic"
                )
            if provider is not None and provider != detected:
                raise ConfigurationError("judge_provider", provider, f"{detected!r}, the provider of the client given")
            if api_key is not None:
                raise ConfigurationError("judge", "api_key=<redacted>", "no api_key when a client is given")
            if base_url is not None:
                raise ConfigurationError("judge_base_url", base_url, "None when a client is given")
            provider = detected

        self.provider: str = provider
        self.model: str = model
        self._trace = trace
        self._sdk = _import_sdk(provider)
        self._client_given = client
        self._client = self._call_client(client, timeout)
        self.provider_name = self._semconv_provider(client)
        self._max_output_tokens = max_output_tokens
        self._rate_limit_retries = rate_limit_retries
        self._slots = threading.BoundedSemaphore(max_concurrency)
        self._budget = _TokenWindow(max_tokens_per_minute) if max_tokens_per_minute is not None else None
        create = self._client.messages.create if provider == "anthropic" else self._client.chat.completions.create
        # anthropic >= 1.0 dropped temperature (API version 2026-10-21 rejects it); some OpenAI models (reasoning
        # ones) reject 0: _complete then stops sending it.
        self._send_temperature = provider == "openai" or _accepts(create, "temperature")
        meter = metrics.get_meter("llmotel.evaluation", __version__, meter_provider)
        self._tokens = meter.create_counter(
            sc.METRIC_JUDGE_TOKEN_USAGE, unit="{token}", description="Tokens used by LLM-judge calls."
        )

    # -- construction ----------------------------------------------------------------------------------------------

    @staticmethod
    def _build_client(provider: str, api_key: str | None, base_url: str | None, timeout: float) -> Any:
        sdk = _import_sdk(provider)
        factory = sdk.OpenAI if provider == "openai" else sdk.Anthropic
        kwargs: dict[str, Any] = {"max_retries": 0, "timeout": timeout}
        if api_key is not None:
            kwargs["api_key"] = api_key
        if base_url is not None:
            kwargs["base_url"] = base_url
        if _accepts(factory, "open_telemetry"):
            kwargs["open_telemetry"] = False  # the SDK's own spans: judge calls are traced by llmotel or not at all
        try:
            return factory(**kwargs)
        except Exception as exc:  # the SDK's "missing credentials" and the like; its message names no secret
            accepted = f"a provider whose client can be built: {exc}"
            raise ConfigurationError("judge_provider", provider, accepted) from None

    def _call_client(self, client: Any, timeout: float) -> Any:
        options: dict[str, Any] = {"max_retries": 0, "timeout": timeout}
        if not self._trace and _accepts(client.with_options, "open_telemetry"):
            # anthropic's own tracing ignores the suppress flag: its span would be a root span of its own.
            options["open_telemetry"] = False
        return client.with_options(**options)

    def _semconv_provider(self, client: Any) -> str:
        if self.provider == "openai":
            return sc.PROVIDER_AZURE_OPENAI if isinstance(client, self._sdk.AzureOpenAI) else sc.PROVIDER_OPENAI
        declared = getattr(type(client), "_gen_ai_provider_name", None)  # the SDK's own name for the platform
        return declared if isinstance(declared, str) and declared else sc.PROVIDER_ANTHROPIC

    def close(self) -> None:
        """Close the client if the judge built it (a client given by the user is the user's to close)."""
        if self._owns_client:
            self._client_given.close()

    def __enter__(self) -> Judge:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def __repr__(self) -> str:
        return f"Judge(provider={self.provider!r}, model={self.model!r})"

    # -- asking ----------------------------------------------------------------------------------------------------

    def ask(self, prompt: JudgePrompt, evaluator: str, **fields: str) -> dict[str, Any]:
        """Render the prompt, call the model (temperature 0), parse and validate the JSON reply (one repair retry),
        record token usage; returns the validated object.

        Raises :class:`JudgePromptError` (wrong fields), :class:`JudgeOutputError`, :class:`JudgeBudgetExceeded`,
        or the SDK's own exceptions (timeouts, API errors, 429 after the retries).
        """
        system, user = prompt.render(fields)
        with self._context(evaluator):
            turns: list[dict[str, str]] = [{"role": "user", "content": user}]
            reply = self._complete(system, turns, evaluator)
            value, problem = _problem(reply, prompt.schema)
            if value is not None:
                return value
            logger.debug("llmotel: judge reply for %s %s; asking once more", evaluator, problem)
            turns += [
                {"role": "assistant", "content": reply[:MAX_ECHOED_REPLY_CHARS] or "(empty reply)"},
                {"role": "user", "content": (
                    f"Your reply {problem}. Reply again with only the corrected JSON object, matching the schema "
                    "in the instructions, and no other text."
                )},
            ]
            reply = self._complete(system, turns, evaluator)
            value, problem = _problem(reply, prompt.schema)
            if value is not None:
                return value
            raise JudgeOutputError(
                f"the judge reply for {evaluator!r} (prompt {prompt.name} v{prompt.version}) {problem}, "
                "also after one repair call"
            )

    @contextmanager
    def _context(self, evaluator: str) -> Iterator[None]:
        """A fresh root context: instrumentation suppressed, or (``trace=True``) a new root span current."""
        if not self._trace:
            token = otel_context.attach(otel_context.set_value(otel_context._SUPPRESS_INSTRUMENTATION_KEY, True,
                                                              otel_context.Context()))
            try:
                yield
            finally:
                otel_context.detach(token)
            return
        from llmotel._setup import manual_tracer  # late: _setup imports the evaluation package

        span = manual_tracer().start_span(
            f"evaluation judge {evaluator}",
            context=otel_context.Context(),
            attributes={
                sc.LLMOTEL_SPAN_KIND: "evaluation",
                sc.LLMOTEL_EVALUATION_JUDGE: True,
                sc.GEN_AI_EVALUATION_NAME: evaluator,
            },
        )
        span_context = span.get_span_context()
        if span_context.is_valid:
            _remember_judge_trace(span_context.trace_id)
        token = otel_context.attach(trace.set_span_in_context(span, otel_context.Context()))
        try:
            yield
        except BaseException as exc:
            span.set_attribute(sc.ERROR_TYPE, type(exc).__qualname__)
            span.set_status(trace.StatusCode.ERROR, type(exc).__qualname__)
            raise
        finally:
            otel_context.detach(token)
            span.end()

    def _complete(self, system: str, turns: list[dict[str, str]], evaluator: str) -> str:
        """One model reply's text, after waiting out rate limits; records the tokens it used."""
        retries = 0
        while True:
            if self._budget is not None and self._budget.exhausted():
                raise JudgeBudgetExceeded(
                    f"judge token budget of {self._budget.limit} tokens per minute is used up; {evaluator!r} skipped"
                )
            try:
                with self._slots:
                    response = self._call(system, turns)
            except self._sdk.RateLimitError as exc:
                if retries >= self._rate_limit_retries:
                    raise
                wait = _retry_after(exc)
                time.sleep(min(wait if wait is not None else 2.0**retries, MAX_RETRY_AFTER))
                retries += 1
                continue
            except self._sdk.BadRequestError as exc:
                if not (self._send_temperature and "temperature" in str(exc).lower()):
                    raise
                logger.info("llmotel: judge model %s rejects temperature=0; calling it without", self.model)
                self._send_temperature = False
                continue
            text, usage = self._read(response)
            self._record(usage, evaluator)
            return text

    def _call(self, system: str, turns: list[dict[str, str]]) -> Any:
        extra: dict[str, Any] = {"temperature": 0} if self._send_temperature else {}
        if self.provider == "anthropic":
            return self._client.messages.create(
                model=self.model, system=system, messages=turns, max_tokens=self._max_output_tokens, **extra
            )
        return self._client.chat.completions.create(
            model=self.model,
            messages=[{"role": "system", "content": system}, *turns],
            response_format={"type": "json_object"},
            max_completion_tokens=self._max_output_tokens,
            **extra,
        )

    def _read(self, response: Any) -> tuple[str, _Usage]:
        """The reply's text, and its token counts read by the provider's instrumentation adapter (one set of rules:
        Anthropic's input tokens include cache reads and writes, as the GenAI conventions ask)."""
        adapter, path = _adapter(self.provider)
        usage = adapter.read_response(path, _usage_telemetry(), response)
        input_tokens, output_tokens = _int(usage.input_tokens), _int(usage.output_tokens)
        return _reply_text(self.provider, response), _Usage(input_tokens, output_tokens,
                                                            _sum(input_tokens, output_tokens))

    def _record(self, usage: _Usage, evaluator: str) -> None:
        attributes = {
            sc.GEN_AI_EVALUATION_NAME: evaluator,
            sc.GEN_AI_PROVIDER_NAME: self.provider_name,
            sc.GEN_AI_REQUEST_MODEL: self.model,
        }
        for kind, count in (
            (sc.TOKEN_TYPE_INPUT, usage.input), (sc.TOKEN_TYPE_OUTPUT, usage.output), (sc.TOKEN_TYPE_TOTAL, usage.total)
        ):
            if count is not None:
                self._tokens.add(count, {**attributes, sc.GEN_AI_TOKEN_TYPE: kind})
        if self._budget is not None and usage.total:
            self._budget.add(usage.total)


__all__ = ["PROVIDERS", "Judge"]
