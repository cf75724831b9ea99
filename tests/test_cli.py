"""The command line: `llmotel run` (no code change needed) and `llmotel demo`, as real subprocesses."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from importlib.metadata import entry_points
from pathlib import Path

import llmotel.cli

APP = textwrap.dedent(
    """
    import os, openai
    client = openai.OpenAI(api_key="k", base_url=os.environ["FAKE_BASE_URL"], max_retries=0)
    reply = client.chat.completions.create(model="gpt-4o-mini", messages=[{"role": "user", "content": "hi"}])
    print("ANSWER:", reply.choices[0].message.content)
    """
)


def cli(*args: str, env: dict[str, str], timeout: float = 120) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "llmotel", *args], env=env, capture_output=True, text=True,
                          timeout=timeout, check=False)


def clean_env(**extra: str) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("LLMOTEL_", "OTEL_", "OPENAI_"))}
    env.update(extra)
    return env


def file_spans(path: Path) -> list[dict]:
    return [s for line in path.read_text().splitlines() for rs in json.loads(line)["resourceSpans"]
            for ss in rs["scopeSpans"] for s in ss["spans"]]


def test_run_traces_an_unmodified_program(tmp_path, fake_provider):
    app = tmp_path / "app.py"
    app.write_text(APP)
    traces = tmp_path / "traces.jsonl"
    env = clean_env(FAKE_BASE_URL=fake_provider.openai_base_url)
    result = cli("run", "--traces-file", str(traces), "--service-name", "cli-app", "--", sys.executable, str(app),
                 env=env)
    assert result.returncode == 0, result.stderr
    assert "ANSWER: Echo: hi" in result.stdout
    assert "[llmotel] chat gpt-4o-mini" in result.stderr  # the local sink's console summary
    (span,) = file_spans(traces)
    assert span["name"] == "chat gpt-4o-mini"


def test_run_with_bad_configuration_still_runs_the_program(tmp_path, fake_provider):
    app = tmp_path / "app.py"
    app.write_text(APP)
    env = clean_env(FAKE_BASE_URL=fake_provider.openai_base_url, OTEL_EXPORTER_OTLP_PROTOCOL="carrier-pigeon")
    result = cli("run", "--", sys.executable, str(app), env=env)
    assert result.returncode == 0
    assert "ANSWER:" in result.stdout
    assert "OTEL_EXPORTER_OTLP_PROTOCOL" in result.stderr


def test_run_without_a_command():
    assert llmotel.cli.main(["run"]) == 2


def test_run_environment_keeps_existing_pythonpath():
    env = llmotel.cli.run_environment({"PYTHONPATH": "/somewhere"}, {"endpoint": "http://h:4318"})
    assert env["PYTHONPATH"].split(os.pathsep)[1] == "/somewhere"
    assert env["LLMOTEL_ENDPOINT"] == "http://h:4318"


def test_demo_offline_shows_each_evaluation_under_its_llm_span_and_exports(otlp_receiver):
    env = clean_env()
    result = cli("demo", "--endpoint", otlp_receiver.http_endpoint, env=env)
    assert result.returncode == 0, result.stderr
    out = result.stdout
    assert "LOCAL STAND-IN" in out
    assert "evaluations: failure_to_answer, language_mismatch, pii" in out
    assert "A: OTLP over gRPC listens on port 4317 by default." in out
    assert "A: I don't know the answer: the context does not mention it." in out
    tree = out[out.index("Trace tree"):]
    blocks = tree.split("● ")[1:]  # one per question, in order
    assert len(blocks) == 4
    assert "└─ retrieval knowledge_base" in blocks[0] and "└─ generate_answer" in blocks[0]
    assert "✔ failure_to_answer: answered" in blocks[0] and "✔ language_mismatch: match" in blocks[0]
    assert "✘ failure_to_answer: no_content" in blocks[1]
    assert "✘ language_mismatch: mismatch (input is German (de), output is English (en))" in blocks[2]
    assert "question='I am <EMAIL_ADDRESS> - what does a span represent?'" in blocks[3]
    assert "✘ pii: detected" in blocks[3]
    assert "jane.doe@example.com" not in tree  # the tree is what was exported: redacted
    # each LLM span's evaluations come right after it, before the next span
    llm = blocks[1].split("└─ generate_answer", 1)[1]
    assert llm.index("failure_to_answer") < llm.index("language_mismatch") < llm.index("pii")
    assert f"Spans exported to {otlp_receiver.http_endpoint}" in out

    spans = otlp_receiver.wait_for_spans(12, timeout=20)
    chats = [s for s in spans if s.attributes.get("gen_ai.operation.name") == "chat"]
    workflows = {s.span_id for s in spans if s.name == "invoke_workflow rag_answer"}
    assert len(chats) == 4
    assert all(c.parent_span_id in workflows for c in chats)
    assert chats[0].resource["service.name"] == "llmotel-demo"
    assert all(c.name == "generate_answer" for c in chats)
    assert chats[0].attributes["gen_ai.prompt.name"] == "rag_answer"
    assert chats[0].attributes["llmotel.prompt.rag_context_variables"] == ["article"]
    assert "jane.doe@example.com" not in repr([s.attributes for s in spans])


def test_demo_takes_the_endpoint_from_the_environment(otlp_receiver):
    result = cli("demo", "--question", "What does a span represent?",
                 env=clean_env(OTEL_EXPORTER_OTLP_ENDPOINT=otlp_receiver.http_endpoint))
    assert result.returncode == 0, result.stderr
    assert result.stdout.count("● invoke_workflow rag_answer") == 1
    assert otlp_receiver.wait_for_spans(3, timeout=20)


def test_instrumentor_entry_point():
    names = {ep.name: ep.value for ep in entry_points(group="opentelemetry_instrumentor")}
    assert names["llmotel_openai"] == "llmotel.instrumentation.openai:OpenAIInstrumentor"
