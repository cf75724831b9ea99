"""End-to-end: a GenAI-shaped trace exported by llmotel arrives intact in Arize Phoenix."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import uuid
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Any

import pytest

from . import demo_trace
from .phoenix import REPO_ROOT, PhoenixServer

if TYPE_CHECKING:
    from phoenix.client import Client

pytestmark = pytest.mark.e2e


def _emit_in_subprocess(endpoint: str, protocol: str, service_name: str) -> dict[str, str]:
    """Run :mod:`tests.e2e.demo_trace` in a fresh interpreter; returns its ids."""
    env = {key: value for key, value in os.environ.items() if not key.startswith(("OTEL_", "LLMOTEL_"))}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(REPO_ROOT), env.get("PYTHONPATH")]))
    command = [sys.executable, "-m", "tests.e2e.demo_trace", "--endpoint", endpoint, "--protocol", protocol]
    result = subprocess.run(
        [*command, "--service-name", service_name],
        cwd=REPO_ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert result.returncode == 0, f"demo_trace failed:\n{result.stdout}\n{result.stderr}"
    ids: dict[str, str] = json.loads(result.stdout.strip().splitlines()[-1])
    return ids


def _read_trace(client: Client, trace_id: str, expected: int, timeout: float = 30) -> list[Mapping[str, Any]]:
    """Poll every Phoenix project until ``expected`` spans of ``trace_id`` are stored."""
    deadline = time.monotonic() + timeout
    while True:
        spans: list[Mapping[str, Any]] = []
        for project in client.projects.list():
            spans.extend(client.spans.get_spans(project_identifier=project["name"], trace_ids=[trace_id]))
        if len(spans) >= expected or time.monotonic() > deadline:
            return spans
        time.sleep(0.2)


def _mismatches(actual: Mapping[str, Any], expected: Mapping[str, Any]) -> dict[str, Any]:
    """The entries of ``expected`` that ``actual`` lacks or holds with another value."""
    return {key: actual.get(key) for key, value in expected.items() if _normalise(actual.get(key)) != value}


def _normalise(value: Any) -> Any:
    return list(value) if isinstance(value, Sequence) and not isinstance(value, str) else value


@pytest.mark.parametrize("protocol", ["http/protobuf", "grpc"])
def test_genai_trace_arrives_in_phoenix(phoenix_server: PhoenixServer, phoenix_client: Client, protocol: str) -> None:
    service_name = f"llmotel-e2e-{uuid.uuid4().hex[:8]}"
    ids = _emit_in_subprocess(phoenix_server.endpoint(protocol), protocol, service_name)
    trace_id = ids["trace_id"]

    spans = _read_trace(phoenix_client, trace_id, expected=2)
    by_name = {span["name"]: span for span in spans}
    assert sorted(by_name) == sorted([demo_trace.ROOT_NAME, demo_trace.CHAT_NAME]), (
        spans,
        phoenix_server.log_tail(20),
    )
    root, chat = by_name[demo_trace.ROOT_NAME], by_name[demo_trace.CHAT_NAME]

    assert root["context"] == {"trace_id": trace_id, "span_id": ids["root_span_id"]}
    assert chat["context"] == {"trace_id": trace_id, "span_id": ids["chat_span_id"]}
    assert root.get("parent_id") is None
    assert chat["parent_id"] == ids["root_span_id"]

    assert _mismatches(root.get("attributes", {}), demo_trace.ROOT_ATTRIBUTES) == {}
    assert _mismatches(chat.get("attributes", {}), demo_trace.CHAT_ATTRIBUTES) == {}

    events = [event for event in chat.get("events", []) if event["name"] == demo_trace.EVALUATION_EVENT]
    assert len(events) == 1, chat.get("events")
    assert _mismatches(events[0].get("attributes", {}), demo_trace.EVALUATION_ATTRIBUTES) == {}
