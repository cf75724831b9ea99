"""The ``llmotel`` command: ``run`` a program with tracing enabled, run the ``demo``, run the ``gateway``, run
and inspect experiments (``llmotel experiment run FILE.py``, ``llmotel experiments list|show|export|import``)."""

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


def _gateway(args: argparse.Namespace) -> int:
    import logging

    from llmotel import config
    from llmotel.errors import ConfigurationError
    from llmotel.gateway.options import resolve_options
    from llmotel.gateway.server import serve

    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    try:
        settings = config.resolve(
            endpoint=args.endpoint, protocol=args.protocol, headers=args.headers, exporter="otlp",
            evaluators=args.evaluators, redact_pii=True if args.redact_pii else None, service_name=args.service_name,
        )
        options = resolve_options(
            listen=args.listen, grpc_port=args.grpc_port, http_port=args.http_port, spool=args.spool,
            queue_spans=args.queue_size, max_request_bytes=args.max_request_size, grace_period=args.grace_period,
        )
        status = serve(settings, options)
    except ConfigurationError as exc:
        print(f"llmotel gateway: {exc}", file=sys.stderr)
        return 2
    except OSError as exc:
        print(f"llmotel gateway: {exc}", file=sys.stderr)
        return 1
    # Drained: everything is delivered (or spooled). Tearing down the interpreter's loaded models takes seconds
    # that a rolling restart's grace period should not spend.
    logging.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(status)


def _add_gateway_parser(commands: argparse._SubParsersAction) -> None:
    gateway = commands.add_parser(
        "gateway", help="receive OTLP from any SDK, evaluate and redact GenAI spans, forward to an OTLP backend",
        description="Receive OTLP (gRPC and HTTP), run the enable() evaluation pipeline on GenAI spans, forward "
                    "everything to the configured OTLP endpoint. Other settings (evaluator options, PII, judge, "
                    "sampling, timeouts) come from the LLMOTEL_* / OTEL_* environment, as for enable().",
    )
    gateway.add_argument("--listen", default=None, help="interface to listen on (default 127.0.0.1; 0.0.0.0: all)")
    gateway.add_argument("--grpc-port", default=None, help="OTLP/gRPC port (default 4317; 0: any free; off)")
    gateway.add_argument("--http-port", default=None, help="OTLP/HTTP, intake, health and metrics port (default 4318)")
    gateway.add_argument("--endpoint", default=None, help="the OTLP backend to forward to (else OTEL_EXPORTER_OTLP_*)")
    gateway.add_argument("--protocol", default=None, help="grpc or http/protobuf, towards the backend")
    gateway.add_argument("--headers", default=None, help="k1=v1,k2=v2 headers towards the backend")
    gateway.add_argument("--service-name", default=None, help="service.name of the gateway's own metrics")
    gateway.add_argument("--evaluators", default=None, help="built-in evaluator names, comma-separated")
    gateway.add_argument("--redact-pii", action="store_true", help="redact PII from everything forwarded")
    gateway.add_argument("--spool", default=None, help="directory of the on-disk spool (nothing acknowledged is lost "
                                                       "across a restart)")
    gateway.add_argument("--queue-size", default=None, help="spans held before senders are asked to retry (4096)")
    gateway.add_argument("--max-request-size", default=None, help="largest request body in bytes (8 MiB)")
    gateway.add_argument("--grace-period", default=None, help="seconds SIGTERM gives draining (20)")
    gateway.set_defaults(func=_gateway)


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
    _add_gateway_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    args = build_parser().parse_args(argv)
    return int(args.func(args))


if __name__ == "__main__":
    raise SystemExit(main())
