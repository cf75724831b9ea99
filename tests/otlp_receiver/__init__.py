"""OTLP receiver test fixture: real gRPC + HTTP servers that decode what arrives.

Load the pytest fixtures with ``-p tests.otlp_receiver.pytest_plugin`` (or
``pytest_plugins = ["tests.otlp_receiver.pytest_plugin"]`` in a conftest).
"""

from .model import (
    ReceivedDataPoint,
    ReceivedEvent,
    ReceivedLink,
    ReceivedLog,
    ReceivedMetric,
    ReceivedRequest,
    ReceivedSpan,
)
from .receiver import OtlpReceiver

__all__ = [
    "OtlpReceiver",
    "ReceivedDataPoint",
    "ReceivedEvent",
    "ReceivedLink",
    "ReceivedLog",
    "ReceivedMetric",
    "ReceivedRequest",
    "ReceivedSpan",
]
