"""A tiny OpenAI-compatible stand-in on loopback, so the demo runs offline.

It answers ``POST /v1/chat/completions`` (plain and ``stream=True``) by quoting the context sentence (from the
system message) that shares the most words with the question (the last user message), the way a well-behaved
RAG model would, and says it does not know when none does. It is not a model: it answers in English whatever
the question's language.
"""

from __future__ import annotations

import json
import re
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

_WORD = re.compile(r"[a-z0-9]+")
_STOPWORDS = frozenset({
    "a", "an", "and", "are", "as", "at", "be", "by", "do", "does", "for", "from", "how", "in", "is", "it", "of",
    "on", "or", "the", "to", "what", "when", "which", "who", "why",
})


def _words(text: str) -> set[str]:
    return {w for w in _WORD.findall(text.lower()) if w not in _STOPWORDS}


REFUSAL = "I don't know the answer: the context does not mention it."


def _text(content: Any) -> str:
    if isinstance(content, str):
        return content
    return " ".join(p.get("text", "") for p in content or () if isinstance(p, dict))


def grounded_answer(messages: list[dict[str, Any]]) -> str:
    """The context sentence that best overlaps the question; a refusal when nothing does.

    The context is in the system message(s) (after ``Context:``), the question is the last user message.
    """
    context = " ".join(_text(m.get("content")) for m in messages if m.get("role") == "system")
    question = next((_text(m.get("content")) for m in reversed(messages) if m.get("role") == "user"), "")
    _, found, after = context.partition("Context:")
    sentences = [s.strip() for s in re.split(r"(?<=[.!?])\s+", after if found else context) if s.strip()]
    wanted = _words(question)
    best = max(sentences, key=lambda s: len(_words(s) & wanted), default="")
    if not best or not _words(best) & wanted:
        return REFUSAL
    return best


def _usage(prompt: str, answer: str) -> dict[str, int]:
    prompt_tokens, completion_tokens = len(prompt.split()), len(answer.split())
    return {"prompt_tokens": prompt_tokens, "completion_tokens": completion_tokens,
            "total_tokens": prompt_tokens + completion_tokens}


class _Handler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, format: str, *args: Any) -> None:  # quiet
        return None

    def _send_json(self, status: int, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def do_POST(self) -> None:
        length = int(self.headers.get("content-length") or 0)
        try:
            body = json.loads(self.rfile.read(length) or b"{}")
        except ValueError:
            self._send_json(400, {"error": {"message": "invalid JSON", "type": "invalid_request_error"}})
            return
        if self.path.rstrip("/") != "/v1/chat/completions":
            self._send_json(404, {"error": {"message": f"{self.path} is not served by the stand-in",
                                            "type": "invalid_request_error"}})
            return
        messages = body.get("messages") or []
        answer = grounded_answer(messages)
        model = body.get("model", "gpt-4o-mini")
        created = int(time.time())
        base = {"id": f"chatcmpl-standin{created}", "created": created, "model": f"{model}-standin",
                "system_fingerprint": "fp_standin"}
        prompt = json.dumps(messages)
        if not body.get("stream"):
            self._send_json(200, {**base, "object": "chat.completion", "choices": [
                {"index": 0, "message": {"role": "assistant", "content": answer, "refusal": None},
                 "finish_reason": "stop", "logprobs": None}], "usage": _usage(prompt, answer)})
            return
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("connection", "close")
        self.end_headers()
        words = answer.split(" ")
        deltas = [{"role": "assistant", "content": ""}] + [{"content": w if i == 0 else " " + w}
                                                           for i, w in enumerate(words)]
        for delta in deltas:
            self._event({**base, "object": "chat.completion.chunk",
                         "choices": [{"index": 0, "delta": delta, "finish_reason": None}]})
        self._event({**base, "object": "chat.completion.chunk",
                     "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        if (body.get("stream_options") or {}).get("include_usage"):
            self._event({**base, "object": "chat.completion.chunk", "choices": [], "usage": _usage(prompt, answer)})
        self.wfile.write(b"data: [DONE]\n\n")
        self.close_connection = True

    def _event(self, data: dict[str, Any]) -> None:
        self.wfile.write(b"data: " + json.dumps(data).encode() + b"\n\n")
        self.wfile.flush()


class StandIn:
    """Runs the stand-in on 127.0.0.1 on an ephemeral port, in a daemon thread; a context manager."""

    def __init__(self) -> None:
        self._server = ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self._server.daemon_threads = True
        self._thread = threading.Thread(target=self._server.serve_forever, name="llmotel-standin", daemon=True)

    @property
    def base_url(self) -> str:
        port = self._server.server_address[1]
        return f"http://127.0.0.1:{port}/v1"

    def __enter__(self) -> StandIn:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)
