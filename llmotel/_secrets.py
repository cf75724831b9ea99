"""Secrets never leave the process: API keys and tokens are scrubbed from every exported string, always.

Providers and proxies echo the API key in error bodies (``Incorrect API key provided: sk-...``), which end up in
``exception.message`` and the status message. Independent of PII settings, every string llmotel exports is
scrubbed of:

- the values llmotel knows are secret: environment variables named like keys (``*_API_KEY``, ``*_TOKEN``,
  ``*_SECRET``, ``*PASSWORD*``, ``*_ACCESS_KEY*``), the configured OTLP headers, and the API key of any client
  whose call failed (registered then, off the hot path);
- anything shaped like a provider key or a credential: ``sk-...`` (OpenAI, Anthropic ``sk-ant-...``), AWS access
  key ids, Google API keys, GitHub, Hugging Face and Slack tokens, ``Bearer``/``Basic`` credentials, and the value
  after ``api_key=``, ``x-api-key:``, ``password=``, ``token=`` and the like.
"""

from __future__ import annotations

import os
import re
import threading
from collections.abc import Iterable, Mapping

SECRET_PLACEHOLDER = "<SECRET>"
_MIN_SECRET_LENGTH = 8
_MAX_KNOWN = 256

_SHAPES = re.compile(
    r"\b(?:sk|rk)-[A-Za-z0-9_\-]{20,}"  # OpenAI (sk-, sk-proj-, sk-svcacct-), Anthropic (sk-ant-api03-...)
    r"|\b(?:AKIA|ASIA)[0-9A-Z]{16}\b"  # AWS access key ids
    r"|\bAIza[0-9A-Za-z_\-]{35}"  # Google API keys
    r"|\bgh[pousr]_[A-Za-z0-9]{30,}"  # GitHub tokens
    r"|\bhf_[A-Za-z0-9]{30,}"  # Hugging Face tokens
    r"|\bxox[abprs]-[A-Za-z0-9\-]{10,}"  # Slack tokens
)
_CREDENTIAL = re.compile(r"(?i)\b(bearer|basic)(\s+)[A-Za-z0-9\-._~+/]{8,}=*")
_KEYED = re.compile(
    r"(?i)((?:api[-_ ]?key|x-api-key|access[-_ ]?token|auth[-_ ]?token|secret(?:[-_ ]?key)?|password|passwd"
    r"|authorization|client[-_ ]?secret)[\"']?\s*[:=]\s*[\"']?)(?!<SECRET>)([^\s\"',;&}]{8,})"
)
_ENV_NAME = re.compile(r"(?i)(API_?KEY|_TOKEN|_SECRET|PASSWORD|ACCESS_KEY|SECRET_KEY)")
# Every match of the patterns above contains one of these (lowercased). Checking them with ``in`` on the lowered
# text is ~20x faster than a case-insensitive regex search, and most exported strings contain none.
_HINTS = ("sk-", "rk-", "akia", "asia", "aiza", "ghp_", "gho_", "ghu_", "ghs_", "ghr_", "hf_", "xox", "bearer",
          "basic", "key", "token", "secret", "passw", "authoriz")
# The non-ASCII characters that case-insensitive matching takes for ASCII letters (all of them: see the tests).
_ASCII_LOOKALIKES = str.maketrans({"\u0130": "i", "\u0131": "i", "\u017f": "s", "\u212a": "k"})

_lock = threading.Lock()
_known: dict[str, None] = {}  # insertion-ordered set, bounded


def register(value: object) -> None:
    """Remember a secret value (e.g. a client's API key) so that it is scrubbed wherever it appears."""
    if not isinstance(value, str) or len(value) < _MIN_SECRET_LENGTH or value in _known:
        return
    with _lock:
        if len(_known) >= _MAX_KNOWN:
            del _known[next(iter(_known))]
        _known[value] = None


def register_environment(environ: Mapping[str, str] | None = None) -> None:
    """Remember the values of environment variables whose names say they hold a key, token or password."""
    for name, value in (os.environ if environ is None else environ).items():
        if _ENV_NAME.search(name):
            register(value)


def register_all(values: Iterable[object]) -> None:
    for value in values:
        register(value)


def scrub(text: str) -> str:
    """``text`` with every known secret and every key- or credential-shaped string replaced by ``<SECRET>``."""
    for secret in tuple(_known):
        if secret in text:
            text = text.replace(secret, SECRET_PLACEHOLDER)
    if not may_hold_secret(text):
        return text
    text = _SHAPES.sub(SECRET_PLACEHOLDER, text)
    text = _CREDENTIAL.sub(lambda m: m.group(1) + m.group(2) + SECRET_PLACEHOLDER, text)
    return _KEYED.sub(lambda m: m.group(1) + SECRET_PLACEHOLDER, text)


def may_hold_secret(text: str) -> bool:
    """Whether ``text`` may contain a key- or credential-shaped string (False means it certainly does not)."""
    lowered = text.lower() if text.isascii() else text.translate(_ASCII_LOOKALIKES).lower()
    return any(hint in lowered for hint in _HINTS)


def _reset_lock_in_child() -> None:
    global _lock
    _lock = threading.Lock()


os.register_at_fork(after_in_child=_reset_lock_in_child)
