"""A fake OpenAI/Anthropic API: a real HTTP server on 127.0.0.1 for tests that drive the real SDKs.

Example::

    with FakeProvider() as provider:
        client = openai.OpenAI(base_url=provider.openai_base_url, api_key="test-key")
        provider.script(Reply.error(429, retry_after=1))
        ...
        assert provider.requests[-1].body["model"] == "gpt-4o-mini"
"""

from .reply import Reply, anthropic_error_body, openai_error_body
from .server import FakeProvider, RecordedRequest, encode_sse

__all__ = ["FakeProvider", "RecordedRequest", "Reply", "anthropic_error_body", "encode_sse", "openai_error_body"]
