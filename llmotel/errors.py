"""Exceptions llmotel raises into user code (only for mistakes the user can fix)."""

from __future__ import annotations

from collections.abc import Iterable


class LlmotelError(Exception):
    """Base class of every exception llmotel raises on purpose."""


class ConfigurationError(LlmotelError, ValueError):
    """A setting given to ``enable()`` or through the environment is invalid.

    ``setting`` names the argument or environment variable; ``accepted`` describes what would be valid.
    """

    def __init__(self, setting: str, value: object, accepted: str | Iterable[str]) -> None:
        self.setting = setting
        self.value = value
        self.accepted = accepted if isinstance(accepted, str) else ", ".join(sorted(accepted))
        super().__init__(f"invalid {setting}={value!r}; accepted: {self.accepted}")


class AnnotationError(LlmotelError, ValueError):
    """An annotation was given the wrong shape, or targets a span that has already ended."""


class EvaluationError(LlmotelError, ValueError):
    """A custom evaluation or metric value does not match what was declared."""


class DatasetError(LlmotelError, ValueError):
    """A dataset record is malformed (missing ``input_data``, a value that is not JSON, ...); names the record."""


class ExperimentError(LlmotelError, RuntimeError):
    """An experiment cannot run or be found (unknown run id, unreadable store, a task or file that is missing)."""
