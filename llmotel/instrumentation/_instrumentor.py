"""The ``BaseInstrumentor`` classes of the Stainless SDKs, for ``opentelemetry-instrument`` and direct use.

Each is a thin front of the SDK's :class:`~llmotel.instrumentation._stainless.SdkInstrumentation`, made when
first asked for (see ``llmotel.instrumentation.openai.__getattr__``): importing ``opentelemetry.instrumentation``
(``packaging``, the semconv opt-in tables) is the dearest part of the wrap, and ``enable()`` does without it.
"""

from __future__ import annotations

import threading
from collections.abc import Collection
from typing import Any

from opentelemetry.instrumentation.instrumentor import BaseInstrumentor  # type: ignore[attr-defined]

from llmotel.config import Settings, from_env
from llmotel.instrumentation._stainless import Instrumented, SdkInstrumentation


class StainlessInstrumentor(BaseInstrumentor):
    """A ``BaseInstrumentor`` for one Stainless SDK.

    ``instrument(tracer_provider=..., meter_provider=..., settings=...)``; without ``settings`` (e.g. started by
    ``opentelemetry-instrument``) the ``LLMOTEL_*`` / ``OTEL_*`` environment decides, and content capture is
    opt-in, as in the GenAI conventions. The SDK is patched when the application imports it (at once if it has).
    """

    instrumentation: SdkInstrumentation

    def __init__(self) -> None:
        # BaseInstrumentor is a singleton whose __init__ runs on every construction: keep the first state.
        if not hasattr(self, "_instrumented"):
            self._instrumented: Instrumented | None = None

    def instrumentation_dependencies(self) -> Collection[str]:
        return self.instrumentation.dependencies

    def _instrument(self, **kwargs: Any) -> None:
        settings: Settings = kwargs.get("settings") or from_env(capture_default=False)
        self._instrumented = self.instrumentation.instrument(
            settings, kwargs.get("tracer_provider"), kwargs.get("meter_provider")
        )

    def _uninstrument(self, **kwargs: Any) -> None:
        instrumented, self._instrumented = self._instrumented, None
        if instrumented is not None:
            instrumented.uninstrument()


_lock = threading.Lock()
_classes: dict[str, type] = {}  # one class per SDK (a BaseInstrumentor is a singleton per class)


def instrumentor_class(name: str, instrumentation: SdkInstrumentation, module: str) -> type:
    """The ``StainlessInstrumentor`` subclass ``name`` for ``instrumentation``, made once."""
    doc = (f"Traces the ``{instrumentation.sdk_module}`` SDK. Found by ``opentelemetry-instrument``; "
           f"``llmotel.enable()`` uses ``{module}.INSTRUMENTATION``, the same instrumentation.")
    with _lock:
        cls = _classes.get(name)
        if cls is None:
            cls = _classes[name] = type(name, (StainlessInstrumentor,), {
                "instrumentation": instrumentation, "__module__": module, "__doc__": doc, "__qualname__": name,
            })
        return cls
