"""The ``llmotel`` command: ``run`` a program with tracing enabled, run the ``demo``, run and inspect
experiments (``llmotel experiment run FILE.py``, ``llmotel experiments list|show|export|import``)."""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from collections.abc import Sequence
from pathlib import Path

from llmotel._version import __version__

_BOOTSTRAP_DIR = Path(__file__).resolve().parent / "_bootstrap"
# `llmotel run` options -> the environment variables enable() reads in the child process.
_RUN_OPTIONS = {
    "service_name": "LLMOTEL_SERVICE_NAME",
    "endpoint": "LLMOTEL_ENDPOINT",
    "protocol": "LLMOTEL_PROTOCOL",
    "headers": "LLMOTEL_HEADERS",
    "exporter": "LLMOTEL_EXPORTER",
    "traces_file": "LLMOTEL_TRACES_FILE",
    "capture_content": "LLMOTEL_CAPTURE_CONTENT",
}


def run_environment(base: dict[str, str], options: dict[str, str | None]) -> dict[str, str]:
    """The child's environment: llmotel's bootstrap first on PYTHONPATH, options as LLMOTEL_* variables."""
    env = dict(base)
    paths = [str(_BOOTSTRAP_DIR)] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p]
    env["PYTHONPATH"] = os.pathsep.join(paths)
    env.pop("LLMOTEL_BOOTSTRAPPED", None)
    for option, variable in _RUN_OPTIONS.items():
        value = options.get(option)
        if value is not None:
            env[variable] = value
    return env


def _run(args: argparse.Namespace) -> int:
    command = list(args.command)
    if command and command[0] == "--":
        command = command[1:]
    if not command:
        print("llmotel run: give the program to run, e.g. `llmotel run -- python app.py`", file=sys.stderr)
        return 2
    executable = shutil.which(command[0])
    if executable is None:
        print(f"llmotel run: command not found: {command[0]}", file=sys.stderr)
        return 127
    env = run_environment(dict(os.environ), {k: getattr(args, k) for k in _RUN_OPTIONS})
    os.execve(executable, command, env)
    return 0  # not reached


def _demo(args: argparse.Namespace) -> int:
    from llmotel.demo.app import main as demo_main

    return demo_main(question=args.question, stream=args.stream, endpoint=args.endpoint, protocol=args.protocol)


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="llmotel", description="OpenTelemetry tracing for LLM applications.")
    parser.add_argument("--version", action="version", version=f"llmotel {__version__}")
    commands = parser.add_subparsers(dest="cmd", required=True)
    run = commands.add_parser("run", help="run a program with llmotel enabled from the environment")
    for option in _RUN_OPTIONS:
        run.add_argument("--" + option.replace("_", "-"), dest=option, default=None)
    run.add_argument("command", nargs=argparse.REMAINDER, help="-- program [args...]")
    run.set_defaults(func=_run)
    demo = commands.add_parser("demo", help="a small traced RAG question-answering program")
    demo.add_argument("--question", default=None, help="ask this instead of the built-in questions")
    demo.add_argument("--stream", action="store_true", help="stream the answers")
    demo.add_argument("--endpoint", default=None,
                      help="send the spans to this OTLP endpoint (default: OTEL_EXPORTER_OTLP_ENDPOINT, if set)")
    demo.add_argument("--protocol", default=None, choices=["http/protobuf", "grpc"], help="OTLP protocol")
    demo.set_defaults(func=_demo)
    from llmotel.experiments.cli import add_commands

    add_commands(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
