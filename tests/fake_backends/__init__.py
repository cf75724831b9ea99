"""Local HTTP servers standing in for evaluation backends in tests: a scriptable JSON server (failures, delays,
hangs) and Datadog's eval-metric intake, which checks every request against the documented shape."""

from .datadog_intake import DatadogIntake, eval_metric_errors
from .http_server import Recorded, Scripted, ScriptedServer

__all__ = ["DatadogIntake", "Recorded", "Scripted", "ScriptedServer", "eval_metric_errors"]
