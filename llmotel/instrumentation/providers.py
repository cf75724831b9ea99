"""Which provider and server a Stainless client talks to (``gen_ai.provider.name``, ``server.*``)."""

from __future__ import annotations

from typing import Any

from llmotel import semconv as sc

# Host suffix -> provider, for OpenAI-compatible base URLs. Unknown hosts keep the client's own provider.
_HOST_SUFFIXES = (
    ("openai.azure.com", sc.PROVIDER_AZURE_OPENAI),
    ("cognitiveservices.azure.com", sc.PROVIDER_AZURE_OPENAI),
    ("services.ai.azure.com", sc.PROVIDER_AZURE_OPENAI),
    ("amazonaws.com", sc.PROVIDER_AWS_BEDROCK),
    ("aiplatform.googleapis.com", sc.PROVIDER_GCP_VERTEX_AI),
    ("generativelanguage.googleapis.com", sc.PROVIDER_GCP_GEMINI),
    ("api.deepseek.com", sc.PROVIDER_DEEPSEEK),
    ("api.groq.com", sc.PROVIDER_GROQ),
    ("api.mistral.ai", sc.PROVIDER_MISTRAL_AI),
    ("api.perplexity.ai", sc.PROVIDER_PERPLEXITY),
    ("api.x.ai", sc.PROVIDER_X_AI),
    ("api.anthropic.com", sc.PROVIDER_ANTHROPIC),
    ("api.openai.com", sc.PROVIDER_OPENAI),
)
# Client class name fragment -> provider (platform clients whose host may be a private endpoint).
_CLASS_HINTS = (
    ("Azure", sc.PROVIDER_AZURE_OPENAI),
    ("Bedrock", sc.PROVIDER_AWS_BEDROCK),
    ("Vertex", sc.PROVIDER_GCP_VERTEX_AI),
)
_DEFAULT_PORTS = {"https": 443, "http": 80}
_MAX_CACHED = 512

_cache: dict[tuple[type, str], tuple[str, str | None, int | None]] = {}


def provider_for(client_type: type, host: str, default: str) -> str:
    name = client_type.__name__
    for hint, provider in _CLASS_HINTS:
        if hint in name:
            return provider
    for suffix, provider in _HOST_SUFFIXES:
        if host == suffix or host.endswith("." + suffix):
            return provider
    return default


def server_of(client: Any, default_provider: str = sc.PROVIDER_OPENAI) -> tuple[str, str | None, int | None]:
    """``(provider, server.address, server.port)`` for a client (callers cache it per client: see ``_adapter``)."""
    # The private attribute first: openai's public `base_url` property does work on every access.
    url = client.__dict__.get("_base_url") or client.base_url
    return _server_of(type(client), url, default_provider)


def _server_of(client_type: type, url: Any, default_provider: str) -> tuple[str, str | None, int | None]:
    key = (client_type, str(url))
    found = _cache.get(key)
    if found is not None:
        return found
    host = url.host or None
    port = url.port or _DEFAULT_PORTS.get(url.scheme)
    found = (provider_for(client_type, host or "", default_provider), host, port)
    if len(_cache) >= _MAX_CACHED:
        _cache.clear()
    _cache[key] = found
    return found
