"""Issue 13 item 14: an SDK release whose private classes moved is left exactly as it was, and untraced.

Each case breaks a real installed SDK the way a new release could (a class moved out of its module, a private
module gone, ``request`` with another signature), then calls ``enable()``: no exception, one warning naming the
SDK and its version, every method the wrap would patch still the SDK's own, the other provider still traced,
and calls through the broken provider still answered (untraced).
"""

from __future__ import annotations

import logging
import sys
from collections.abc import Callable
from typing import Any

import anthropic
import openai
import pytest

import llmotel
from llmotel import semconv as sc
from llmotel.instrumentation._stainless import Patcher, SdkLayoutError, resolve_layout
from tests.test_enable import fresh_provider

SDKS = {"openai": openai, "anthropic": anthropic}
# (module, class, method) the wrap patches: at enable() or, for raw responses, on first use
PATCHED = [
    ("_base_client", "SyncAPIClient", "request"),
    ("_base_client", "AsyncAPIClient", "request"),
    ("_streaming", "Stream", "close"),
    ("_streaming", "AsyncStream", "close"),
    ("_response", "APIResponse", "parse"),
    ("_response", "APIResponse", "close"),
    ("_response", "AsyncAPIResponse", "parse"),
    ("_response", "AsyncAPIResponse", "close"),
]


def class_methods(sdk: Any) -> dict[tuple[str, str, str], Any]:
    """The functions in the patched classes' own ``__dict__`` (identity is what matters)."""
    out = {}
    for module, cls, method in PATCHED:
        klass = getattr(sys.modules[f"{sdk.__name__}.{module}"], cls, None)
        if klass is not None:
            out[(module, cls, method)] = klass.__dict__.get(method)
    return out


def move_async_stream(sdk: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delattr(sdk._streaming, "AsyncStream")
    return f"{sdk.__name__}._streaming.AsyncStream is missing"


def move_async_client(sdk: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delattr(sdk._base_client, "AsyncAPIClient")
    return f"{sdk.__name__}._base_client.AsyncAPIClient is missing"


def drop_response_module(sdk: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.delattr(sdk, "_response")
    monkeypatch.setitem(sys.modules, f"{sdk.__name__}._response", None)  # import of it now fails
    return f"{sdk.__name__}._response cannot be imported"


def change_request_signature(sdk: Any, monkeypatch: pytest.MonkeyPatch) -> str:
    async def request(self: Any, options: Any, cast_to: Any, *, stream: bool = False) -> Any:
        raise AssertionError("never called in this test")

    monkeypatch.setattr(sdk._base_client.AsyncAPIClient, "request", request)
    return f"{sdk.__name__}._base_client.AsyncAPIClient.request(self, options, cast_to, stream) is not"


BREAKAGES: dict[str, Callable[[Any, pytest.MonkeyPatch], str]] = {
    "class moved out of _streaming": move_async_stream,
    "class moved out of _base_client": move_async_client,
    "private module gone": drop_response_module,
    "request signature changed": change_request_signature,
}


def ask_both(openai_client: openai.OpenAI, anthropic_client: anthropic.Anthropic) -> tuple[str, str]:
    answer = openai_client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    message = anthropic_client.messages.create(model="claude-haiku-4-5", max_tokens=32,
                                               messages=[{"role": "user", "content": "hi"}])
    return answer.choices[0].message.content or "", message.content[0].text


@pytest.mark.parametrize("broken_name", ["openai", "anthropic"])
@pytest.mark.parametrize("breakage", list(BREAKAGES))
def test_sdk_whose_private_modules_moved_is_left_unpatched_and_untraced_with_one_warning(
    breakage, broken_name, monkeypatch, caplog, openai_client, anthropic_client
):
    """Issue 13 item 14: enable() against an SDK whose private modules moved leaves it unpatched and untraced."""
    broken = SDKS[broken_name]
    ask_both(openai_client, anthropic_client)  # the SDKs' own lazy imports done before the layout is broken
    detail = BREAKAGES[breakage](broken, monkeypatch)
    before = class_methods(broken)  # what enable() finds
    caplog.set_level(logging.WARNING, logger="llmotel")
    provider, exporter = fresh_provider()

    # no exception:
    llmotel.enable(tracer_provider=provider, exporter="none", export=llmotel.ExportOptions(console=False))

    warned = [r.getMessage() for r in caplog.records if r.name == "llmotel"]
    assert len(warned) == 1, warned
    assert f"{broken_name} {broken.__version__} is not traced" in warned[0]
    assert detail in warned[0]
    after = class_methods(broken)
    assert after == before
    assert all(after[key] is before[key] for key in before)
    assert not any(hasattr(method, "__llmotel_original__") for method in after.values())

    assert all(ask_both(openai_client, anthropic_client))  # the broken provider's call still works (untraced)
    (span,) = [s for s in exporter.get_finished_spans() if s.attributes.get(sc.GEN_AI_OPERATION_NAME)]
    traced = "anthropic" if broken_name == "openai" else "openai"
    assert span.attributes[sc.GEN_AI_PROVIDER_NAME] == traced


def test_intact_sdks_resolve_every_class_the_wrap_patches():
    for sdk in SDKS.values():
        layout = resolve_layout(sdk)
        assert layout.sync_client is sdk._base_client.SyncAPIClient
        assert layout.async_response is sdk._response.AsyncAPIResponse


class _RefusesSetattr(type):
    """A class that, like a C type or a frozen class, refuses some attribute assignments."""

    refused: set[str] = set()

    def __setattr__(cls, name: str, value: Any) -> None:
        if name in _RefusesSetattr.refused:
            raise TypeError(f"cannot set {name!r}")
        super().__setattr__(name, value)


def test_patch_all_undoes_its_earlier_patches_when_one_fails():
    class First:
        def request(self) -> str:
            return "first"

    class Second(metaclass=_RefusesSetattr):
        def close(self) -> str:
            return "second"

    originals = (First.__dict__["request"], Second.__dict__["close"])
    _RefusesSetattr.refused = {"close"}
    patcher = Patcher()
    wrap: Callable[[Any], Any] = lambda original: (lambda self: "patched")  # noqa: E731
    with pytest.raises(SdkLayoutError, match="could not patch"):
        patcher.patch_all([(First, "request", wrap), (Second, "close", wrap)])
    assert (First.__dict__["request"], Second.__dict__["close"]) == originals
    assert First().request() == "first"
    patcher.unpatch_all()  # nothing left to undo
    assert First().request() == "first"


def test_inherited_method_is_patched_on_the_class_and_inherited_again_after():
    class Base:
        def request(self) -> str:
            return "base"

    class Client(Base):
        pass

    patcher = Patcher()
    patcher.patch_all([(Client, "request", lambda original: (lambda self: "patched " + original(self)))])
    assert Client().request() == "patched base"
    patcher.unpatch_all()
    assert "request" not in Client.__dict__
    assert Client().request() == "base"
