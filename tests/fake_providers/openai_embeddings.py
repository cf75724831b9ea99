"""OpenAI ``POST /v1/embeddings``: deterministic unit vectors, as floats or base64 float32."""

from __future__ import annotations

import array
import base64
import hashlib
import math
import random
from typing import Any

from ._common import JsonDict, JsonOutput, Output, RequestError, count_tokens, require

DEFAULT_DIMENSIONS = {"text-embedding-3-large": 3072}
FALLBACK_DIMENSIONS = 1536


def embeddings(body: JsonDict, _ctx: Any) -> Output:
    """Generate one embedding per input (a string, token list, or a list of either)."""
    require(body, "model", "input")
    inputs = _inputs(body["input"])
    dimensions = int(body.get("dimensions") or DEFAULT_DIMENSIONS.get(body["model"], FALLBACK_DIMENSIONS))
    as_base64 = body.get("encoding_format") == "base64"
    data = [_embedding(index, text, dimensions, as_base64) for index, text in enumerate(inputs)]
    tokens = sum(max(1, count_tokens(text)) for text in inputs)
    usage = {"prompt_tokens": tokens, "total_tokens": tokens}
    return JsonOutput({"object": "list", "data": data, "model": body["model"], "usage": usage})


def _inputs(value: Any) -> list[str]:
    """Each input as a string: a string, a token list (``[1, 2]``), or a list of strings or token lists."""
    if isinstance(value, str):
        return [value]
    if not isinstance(value, list) or not value:
        raise RequestError(400, "'input' must be a non-empty string or array.")
    if all(isinstance(v, int) for v in value):
        return [" ".join(map(str, value))]
    return [v if isinstance(v, str) else " ".join(map(str, v)) for v in value]


def vector_for(text: str, dimensions: int) -> list[float]:
    """A deterministic unit vector for ``text``."""
    rng = random.Random(hashlib.sha256(text.encode()).digest())
    raw = [rng.gauss(0.0, 1.0) for _ in range(dimensions)]
    norm = math.sqrt(sum(x * x for x in raw)) or 1.0
    return [x / norm for x in raw]


def _embedding(index: int, text: str, dimensions: int, as_base64: bool) -> JsonDict:
    vector = vector_for(text, dimensions)
    value: Any = base64.b64encode(array.array("f", vector).tobytes()).decode() if as_base64 else vector
    return {"object": "embedding", "index": index, "embedding": value}
