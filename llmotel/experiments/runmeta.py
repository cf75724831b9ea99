"""Run metadata captured automatically: git branch, commit and dirty flag; Python, llmotel and SDK versions;
the host. CI variables (``GITHUB_REF_NAME``, ``GITHUB_SHA``, ...) fill in what a detached checkout lacks."""

from __future__ import annotations

import os
import platform
import socket
import subprocess
from importlib import metadata as importlib_metadata
from typing import Any

from llmotel._version import __version__

_GIT_TIMEOUT = 5.0
_PACKAGES = ("openai", "anthropic")


def _git(*args: str) -> str | None:
    try:
        done = subprocess.run(["git", *args], capture_output=True, text=True, timeout=_GIT_TIMEOUT, check=False)
    except (OSError, subprocess.SubprocessError):
        return None
    return done.stdout.strip() if done.returncode == 0 else None


def git_info() -> dict[str, Any]:
    """``{"branch", "commit", "dirty"}`` of the working directory's repository ({} outside one)."""
    commit = _git("rev-parse", "HEAD")
    if commit is None:
        return {}
    branch = _git("rev-parse", "--abbrev-ref", "HEAD")
    if branch in (None, "HEAD"):  # detached (CI checkouts): the CI's own variables say which branch
        branch = os.environ.get("GITHUB_HEAD_REF") or os.environ.get("GITHUB_REF_NAME") or os.environ.get(
            "CI_COMMIT_REF_NAME") or branch
    status = _git("status", "--porcelain", "--untracked-files=no")
    return {"branch": branch, "commit": commit, "dirty": bool(status) if status is not None else None}


def versions() -> dict[str, str | None]:
    out: dict[str, str | None] = {"python": platform.python_version(), "llmotel": __version__}
    for name in _PACKAGES:
        try:
            out[name] = importlib_metadata.version(name)
        except importlib_metadata.PackageNotFoundError:
            out[name] = None
    return out


def capture() -> dict[str, Any]:
    """Everything above, as the ``system`` part of a run's metadata."""
    return {"git": git_info(), "versions": versions(), "host": socket.gethostname()}
