"""llmotel: OpenTelemetry-native tracing and evaluation for Python LLM applications.

``llmotel.enable()`` once at start-up traces every OpenAI call to the GenAI semantic conventions and
exports the spans over OTLP (or, with no endpoint configured, to a local console/file sink).
"""

from llmotel._setup import enable, flush, shutdown
from llmotel._version import __version__
from llmotel.errors import ConfigurationError, LlmotelError

__all__ = ["ConfigurationError", "LlmotelError", "__version__", "enable", "flush", "shutdown"]
