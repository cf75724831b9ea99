"""The built-in evaluators by name: built (options checked) in ``enable()``, loaded on a background thread."""

from __future__ import annotations

import functools
import importlib
from collections.abc import Mapping, Sequence
from typing import Any

from llmotel.config import JudgeOptions, PiiOptions, Settings
from llmotel.errors import ConfigurationError
from llmotel.evaluation._loading import LoadingEvaluator, LoadingRedactor, background_load
from llmotel.evaluation.judge.checks import JUDGE_CHECKS
from llmotel.evaluation.redaction import TextRedactor
from llmotel.evaluation.types import EvaluationInput, Evaluator

#: offline evaluator name -> "module:class" (constructed with default options; build your own for others)
BUILTIN: Mapping[str, str] = {
    "language_mismatch": "llmotel.evaluation.checks.language:LanguageMismatchEvaluator",
    "failure_to_answer": "llmotel.evaluation.checks.failure_to_answer:FailureToAnswerEvaluator",
    "sentiment": "llmotel.evaluation.checks.sentiment:SentimentEvaluator",
    "toxicity": "llmotel.evaluation.checks.toxicity:ToxicityPrecheckEvaluator",
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


# A built-in imports its packages and loads its model on its first evaluation. enable() makes that first use at
# once (the warm-up below), by default on a background thread: llmotel.evaluation._loading says how that is kept
# safe for the application's own imports. False: the warm-ups run in enable(), on its thread.
load_in_background = True
_WARM_UP = EvaluationInput(
    input_messages=[{"role": "user", "parts": [{"type": "text", "content": "How long does delivery take, please?"}]}],
    output_messages=[{"role": "assistant", "parts": [{"type": "text", "content": "Delivery usually takes two to "
                                                      "three working days. Thank you for your patience!"}]}],
)
_WARM_UP_PII = "Write to jane@example.org or call +1 415 555 0132 about card 4111 1111 1111 1111."


def evaluators(configured: Sequence[Any], settings: Settings | None = None, meter_provider: Any = None
               ) -> list[Evaluator]:
    """Evaluator objects for ``settings.evaluators``: names become built-ins (offline ones loaded now, judge
    checks bound to the configured judge); objects are used as they are."""
    settings = settings or Settings()
    judge: Any = None
    out: list[Evaluator] = []
    for item in configured:
        if not isinstance(item, str):
            out.append(item)
            continue
        offline: Any = None
        if item in BUILTIN:  # offline: loaded now (see _WARM_UP)
            offline = _loaded(_construct(BUILTIN[item], "evaluators", item), settings)
        if item in JUDGE_CHECKS and (offline is None or _has_judge(settings)):
            judge = judge or _judge(settings, meter_provider, item)
            options: dict[str, Any] = {}
            if item == "topic_relevancy":
                if not settings.relevant_topics:
                    raise ConfigurationError("relevant_topics", None, "the topics topic_relevancy checks against")
                options["topics"] = settings.relevant_topics
            if offline is not None:  # toxicity: the pre-check just loaded runs before the judge
                options["precheck"] = offline
            out.append(_construct(JUDGE_CHECKS[item], "evaluators", item, judge=judge, **options))
        else:
            out.append(offline)
    names = [e.name for e in out]
    duplicates = sorted({n for n in names if names.count(n) > 1})
    if duplicates:
        raise ConfigurationError("evaluators", duplicates[0], "evaluators with distinct names")
    return out


def _has_judge(settings: Settings) -> bool:
    return settings.judge is not None or settings.judge_provider is not None


def _judge(settings: Settings, meter_provider: Any, needed_by: str) -> Any:
    """The configured judge: ``settings.judge``, or one built from ``judge_provider`` / ``judge_model``."""
    if settings.judge is not None:
        return settings.judge
    if settings.judge_provider is None or settings.judge_model is None:
        raise ConfigurationError(
            "evaluators", needed_by, "a judge for LLM-judge checks: enable(judge=Judge(client, model=...)) or "
            "enable(judge=JudgeOptions(provider=..., model=...)) (LLMOTEL_JUDGE_PROVIDER / LLMOTEL_JUDGE_MODEL)",
        )
    from llmotel.evaluation.judge import Judge

    return Judge(**settings.group(JudgeOptions).as_kwargs(), meter_provider=meter_provider)


def pii_redactor(settings: Settings) -> TextRedactor:
    """The PII redactor for ``redact_pii`` / ``evaluators=["pii"]``, from the ``pii_*`` settings."""
    from llmotel.evaluation import pii  # presidio is an optional extra: imported only when redaction is on

    redactor = pii.PiiRedactor(settings.group(PiiOptions))
    if not load_in_background:
        redactor.redact(_WARM_UP_PII)
        return redactor
    return LoadingRedactor(redactor, background_load.submit("pii", functools.partial(redactor.redact, _WARM_UP_PII)))


def _loaded(evaluator: Any, settings: Settings) -> Any:
    """The built-in, with its packages and model loaded now or (by default) on the loading thread."""
    if not load_in_background:
        evaluator.evaluate(_WARM_UP)
        return evaluator
    loaded = background_load.submit(evaluator.name, functools.partial(evaluator.evaluate, _WARM_UP))
    return LoadingEvaluator(evaluator, loaded, settings.evaluator_timeout)
