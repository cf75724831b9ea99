"""Pytest fixtures for the fake providers.

Register with ``pytest_plugins = ["tests.fake_providers.pytest_plugin"]`` in the root ``conftest.py``.

- ``fake_provider_server`` (session): the one started :class:`FakeProvider`, stopped at the end of the session.
- ``fake_provider``: the same server, :meth:`~FakeProvider.reset` before and after each test.
- ``openai_client`` / ``async_openai_client`` / ``anthropic_client`` / ``async_anthropic_client``: real SDK clients
  pointed at the fake (``api_key="test-key"``, ``max_retries=0``, 5 s timeout), closed after the test.
- ``openai_client_kwargs`` / ``anthropic_client_kwargs``: extra constructor arguments for those clients
  (empty by default); override them in a ``conftest.py`` or a test module to customise the clients.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator
from typing import Any

import anthropic
import openai
import pytest
import pytest_asyncio

from . import FakeProvider

CLIENT_TIMEOUT = 5.0


@pytest.fixture(scope="session")
def fake_provider_server() -> Iterator[FakeProvider]:
    provider = FakeProvider().start()
    try:
        yield provider
    finally:
        provider.stop()


@pytest.fixture
def fake_provider(fake_provider_server: FakeProvider) -> Iterator[FakeProvider]:
    fake_provider_server.reset()
    yield fake_provider_server
    fake_provider_server.reset()


@pytest.fixture
def openai_client_kwargs() -> dict[str, Any]:
    return {}


@pytest.fixture
def anthropic_client_kwargs() -> dict[str, Any]:
    return {}


def _openai_kwargs(provider: FakeProvider, extra: dict[str, Any]) -> dict[str, Any]:
    base = {"api_key": "test-key", "base_url": provider.openai_base_url, "max_retries": 0, "timeout": CLIENT_TIMEOUT}
    return {**base, **extra}


def _anthropic_kwargs(provider: FakeProvider, extra: dict[str, Any]) -> dict[str, Any]:
    base = {"api_key": "test-key", "base_url": provider.anthropic_base_url, "max_retries": 0, "timeout": CLIENT_TIMEOUT}
    return {**base, **extra}


@pytest.fixture
def openai_client(fake_provider: FakeProvider, openai_client_kwargs: dict[str, Any]) -> Iterator[openai.OpenAI]:
    with openai.OpenAI(**_openai_kwargs(fake_provider, openai_client_kwargs)) as client:
        yield client


@pytest_asyncio.fixture
async def async_openai_client(
    fake_provider: FakeProvider, openai_client_kwargs: dict[str, Any]
) -> AsyncIterator[openai.AsyncOpenAI]:
    async with openai.AsyncOpenAI(**_openai_kwargs(fake_provider, openai_client_kwargs)) as client:
        yield client


@pytest.fixture
def anthropic_client(
    fake_provider: FakeProvider, anthropic_client_kwargs: dict[str, Any]
) -> Iterator[anthropic.Anthropic]:
    with anthropic.Anthropic(**_anthropic_kwargs(fake_provider, anthropic_client_kwargs)) as client:
        yield client


@pytest_asyncio.fixture
async def async_anthropic_client(
    fake_provider: FakeProvider, anthropic_client_kwargs: dict[str, Any]
) -> AsyncIterator[anthropic.AsyncAnthropic]:
    async with anthropic.AsyncAnthropic(**_anthropic_kwargs(fake_provider, anthropic_client_kwargs)) as client:
        yield client
