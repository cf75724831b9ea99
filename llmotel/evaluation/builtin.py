"""The built-in evaluators by name, built on first use (their models load lazily inside them)."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from llmotel.config import Settings
from llmotel.errors import ConfigurationError
from llmotel.evaluation.redaction import TextRedactor
from llmotel.evaluation.types import EvaluationInput, Evaluator

#: built-in evaluator name -> "module:class" (constructed with default options; build your own for others)
BUILTIN: Mapping[str, str] = {
    "language_mismatch": "llmotel.evaluation.language:LanguageMismatchEvaluator",
    "failure_to_answer": "llmotel.evaluation.failure_to_answer:FailureToAnswerEvaluator",
    "sentiment": "llmotel.evaluation.sentiment:SentimentEvaluator",
    "toxicity": "llmotel.evaluation.toxicity:ToxicityPrecheckEvaluator",
}


def _construct(target: str, setting: str, name: str, **kwargs: Any) -> Any:
    module_name, class_name = target.split(":")
    try:
        module = importlib.import_module(module_name)
    except ImportError as exc:
        raise ConfigurationError(
            setting, name, f"an evaluator whose dependencies are installed (pip install 'llmotel[evaluators]'): {exc}"
        ) from exc
    return getattr(module, class_name)(**kwargs)


# Built-ins import their packages and load their models on first use. That first use happens here, on the thread
# that calls enable(): a package imported on a worker while the application runs is briefly half-initialised in
# sys.modules, and the application's own code can trip over it (presidio pulls in httpx, which the openai SDK
# looks up in sys.modules).
_WARM_UP = EvaluationInput(
    input_messages=[{"role": "user", "parts": [{"type": "text", "content": "How long does delivery take, please?"}]}],
    output_messages=[{"role": "assistant", "parts": [{"type": "text", "content": "Delivery usually takes two to "
                                                      "three working days. Thank you for your patience!"}]}],
)
_WARM_UP_PII = "Write to jane@example.org or call +1 415 555 0132 about card 4111 1111 1111 1111."


def evaluators(configured: Sequence[Any]) -> list[Evaluator]:
    """Evaluator objects for ``settings.evaluators`` (names become built-ins, loaded now; objects are used as
    they are)."""
    out: list[Evaluator] = []
    for item in configured:
        if isinstance(item, str):
            evaluator = _construct(BUILTIN[item], "evaluators", item)
            evaluator.evaluate(_WARM_UP)
            out.append(evaluator)
        else:
            out.append(item)
    names = [e.name for e in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError("evaluators", duplicates[0], "evaluators with distinct names")
    return out


def pii_redactor(settings: Settings) -> TextRedactor:
    """The PII redactor for ``redact_pii`` / ``evaluators=["pii"]``, from the ``pii_*`` settings."""
    from llmotel.evaluation import pii  # presidio is an optional extra: imported only when redaction is on

    options = pii.PiiOptions(
        entities=settings.pii_entities,
        score_threshold=settings.pii_score_threshold,
        operator=settings.pii_operator,
        allow_list=settings.pii_allow_list,
        hash_key=settings.pii_hash_key,
        use_ner=settings.pii_use_ner,
    )
    redactor = pii.PiiRedactor(options)
    redactor.redact(_WARM_UP_PII)
    return redactor
