"""What the evaluator tests share: building an EvaluationInput, and a prelude that cuts a subprocess off the net."""

from __future__ import annotations

from llmotel.evaluation.types import EvaluationInput

#: Python source to put first in a ``python -c`` script: every socket connection or DNS lookup then raises.
NO_NETWORK_PRELUDE = """
import socket

def refuse(*args, **kwargs):
    raise OSError("network access attempted")

socket.socket.connect = refuse
socket.socket.connect_ex = refuse
socket.create_connection = refuse
socket.getaddrinfo = refuse
"""


def make_input(user: str | None = None, answer: str | None = None) -> EvaluationInput:
    """A chat call with one user message and one assistant answer (either side left out when None)."""
    inputs = [] if user is None else [{"role": "user", "parts": [{"type": "text", "content": user}]}]
    outputs = [] if answer is None else [
        {"role": "assistant", "parts": [{"type": "text", "content": answer}], "finish_reason": "stop"}
    ]
    return EvaluationInput(input_messages=inputs, output_messages=outputs)
