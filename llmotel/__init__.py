"""llmotel: OpenTelemetry-native tracing and evaluation for Python LLM applications.

``llmotel.enable()`` once at start-up traces every OpenAI call to the GenAI semantic conventions and
exports the spans over OTLP (or, with no endpoint configured, to a local console/file sink).
"""

from typing import TYPE_CHECKING, Any

from llmotel._setup import enable, flush, shutdown
from llmotel._version import __version__
from llmotel.annotations import annotate, annotation_context
from llmotel.calls import LLMCallHandle, llm_call
from llmotel.config import ContentOptions, EvaluationOptions, ExportOptions, JudgeOptions, PiiOptions
from llmotel.errors import (
    AnnotationError,
    ConfigurationError,
    DatasetError,
    EvaluationError,
    ExperimentError,
    LlmotelError,
)
from llmotel.feedback import SpanRef, export_span, metric, submit_evaluation
from llmotel.prompt import Prompt
from llmotel.spans import agent, embedding, llm, retrieval, task, tool, workflow

if TYPE_CHECKING:
    from llmotel.experiments import Dataset, EvaluatorResult, ExperimentResult, Objective
    from llmotel.experiments.experiment import Experiment, experiment

_EXPERIMENTS = frozenset({"Dataset", "EvaluatorResult", "Experiment", "ExperimentResult", "Objective", "experiment"})


def __getattr__(name: str) -> Any:
    """The experiments names, imported on first use (the store and the checks they bring cost start-up time
    that tracing alone does not need)."""
    if name in _EXPERIMENTS:
        from llmotel import experiments

        value = getattr(experiments, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'llmotel' has no attribute {name!r}")

__all__ = [
    "AnnotationError",
    "ConfigurationError",
    "ContentOptions",
    "Dataset",
    "DatasetError",
    "EvaluationError",
    "EvaluationOptions",
    "EvaluatorResult",
    "Experiment",
    "ExperimentError",
    "ExperimentResult",
    "ExportOptions",
    "JudgeOptions",
    "LLMCallHandle",
    "LlmotelError",
    "Objective",
    "PiiOptions",
    "Prompt",
    "SpanRef",
    "__version__",
    "agent",
    "annotate",
    "annotation_context",
    "embedding",
    "enable",
    "experiment",
    "export_span",
    "flush",
    "llm",
    "llm_call",
    "metric",
    "retrieval",
    "shutdown",
    "submit_evaluation",
    "task",
    "tool",
    "workflow",
]
