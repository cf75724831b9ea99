"""Evaluation sinks: deliver each evaluation result in a backend's own evaluation model, besides the
``gen_ai.evaluation.result`` span events (which stay the OTel-native form).

``llmotel.enable(evaluation=EvaluationOptions(sinks=["phoenix", "mlflow", "datadog"]))`` (or sink objects) puts
one span processor per sink among the exporting processors, downstream of the evaluating processor: a sink sees
exactly the span copy that is exported (redacted, with capture off without explanations that may quote content)
and never anything else. See :mod:`._delivery` for batching, retries and timeouts.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from llmotel.evaluation.sinks._delivery import DeliveryError, EvaluationSink
from llmotel.evaluation.sinks._record import EvaluationRecord, records_of
from llmotel.evaluation.sinks.datadog import DatadogSink
from llmotel.evaluation.sinks.mlflow import MLflowSink
from llmotel.evaluation.sinks.phoenix import PhoenixSink

if TYPE_CHECKING:
    from llmotel.config import Settings


def build_sinks(settings: Settings) -> list[EvaluationSink]:
    """The sinks ``settings.evaluation_sinks`` names (built from the sink settings), and the sink objects given."""
    sinks: list[EvaluationSink] = []
    for item in settings.evaluation_sinks:
        if item == "phoenix":
            assert settings.phoenix_endpoint is not None  # config.resolve checked it
            sinks.append(PhoenixSink(settings.phoenix_endpoint, api_key=settings.phoenix_api_key))
        elif item == "mlflow":
            assert settings.mlflow_tracking_uri is not None
            sinks.append(MLflowSink(settings.mlflow_tracking_uri, token=settings.mlflow_tracking_token))
        elif item == "datadog":
            assert settings.datadog_api_key is not None and settings.datadog_ml_app is not None
            sinks.append(DatadogSink(settings.datadog_api_key, settings.datadog_ml_app, site=settings.datadog_site,
                                     url=settings.datadog_intake_url))
        else:
            sinks.append(item)
    return sinks


__all__ = [
    "DatadogSink",
    "DeliveryError",
    "EvaluationRecord",
    "EvaluationSink",
    "MLflowSink",
    "PhoenixSink",
    "build_sinks",
    "records_of",
]
