"""``llmotel gateway``: evaluate spans from any language over OTLP, an evaluation intake API, scale-out.

The gateway sits between any OTLP exporter and any OTLP backend. It receives traces over gRPC and HTTP, runs the
same evaluation pipeline as ``llmotel.enable(evaluators=..., redact_pii=...)`` on the GenAI spans among them
(semconv, OpenLLMetry and OpenInference attributes), forwards everything in order with backpressure instead of
loss, passes metrics and logs through, and takes evaluations over HTTP (``POST /v1/evaluations``). It is also
the engine behind ``enable(evaluation=EvaluationOptions(run_in="subprocess"))``. It builds on ``llmotel.evaluation`` and
``llmotel.export``; nothing outside this package imports it except the CLI and that one ``enable()`` option.
"""

from llmotel.gateway.options import GatewayOptions, resolve_options
from llmotel.gateway.server import Gateway, serve

__all__ = ["Gateway", "GatewayOptions", "resolve_options", "serve"]
