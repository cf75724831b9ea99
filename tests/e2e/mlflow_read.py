"""Read traces back through MLflow's own client; run with the MLflow venv's interpreter by the e2e tests.

``<mlflow python> tests/e2e/mlflow_read.py TRACKING_URI TRACE_ID...`` prints one JSON object: for each trace
(``tr-<hex>``) its spans (name, ids, parent, span type, inputs, outputs, attributes) and its assessments (name,
value, rationale, source type, span id), as ``MlflowClient.get_trace`` returns them.
"""

from __future__ import annotations

import json
import sys
from typing import Any


def _plain(value: Any) -> Any:
    try:
        json.dumps(value)
        return value
    except TypeError:
        return repr(value)


def read(tracking_uri: str, trace_ids: list[str]) -> dict[str, Any]:
    from mlflow import MlflowClient

    client = MlflowClient(tracking_uri=tracking_uri)
    out: dict[str, Any] = {}
    for trace_id in trace_ids:
        trace = client.get_trace(trace_id)
        out[trace_id] = {
            "spans": [{"name": s.name, "span_id": s.span_id, "parent_id": s.parent_id, "span_type": s.span_type,
                       "inputs": _plain(s.inputs), "outputs": _plain(s.outputs),
                       "attributes": {k: _plain(v) for k, v in s.attributes.items()}} for s in trace.data.spans],
            "assessments": [{"name": a.name, "value": _plain(a.feedback.value if a.feedback else None),
                             "rationale": a.rationale, "source_type": a.source.source_type, "span_id": a.span_id,
                             "metadata": a.metadata} for a in trace.info.assessments],
            "token_usage": _plain(trace.info.token_usage),
        }
    return out


if __name__ == "__main__":
    print(json.dumps(read(sys.argv[1], sys.argv[2:])))
