"""``llmotel gateway``: OTLP in (gRPC and HTTP), the ``enable()`` evaluation pipeline, OTLP out.

:class:`Gateway` wires the receivers, the engine (bounded queue, spool, evaluation, forwarding), the
pass-through of metrics and logs, the evaluation intake and the gateway's own metrics; :func:`serve` runs it
until ``SIGTERM`` / ``SIGINT``, then drains.
"""

from __future__ import annotations

import logging
import signal
import sys
import threading
import time
from typing import Any

from google.protobuf.message import Message
from opentelemetry.proto.collector.trace.v1.trace_service_pb2 import ExportTraceServiceRequest

from llmotel import _secrets
from llmotel import semconv as sc
from llmotel.config import Settings
from llmotel.errors import ConfigurationError
from llmotel.gateway import intake, replies
from llmotel.gateway.auth import TokenAuth
from llmotel.gateway.engine import Engine
from llmotel.gateway.metrics import GatewayMetrics
from llmotel.gateway.options import GatewayOptions
from llmotel.gateway.passthrough import Passthrough
from llmotel.gateway.received import MalformedSpans
from llmotel.gateway.replies import Reply
from llmotel.gateway.spool import Spool

logger = logging.getLogger("llmotel.gateway")
_DEFAULT_SERVICE = "llmotel-gateway"
_METRICS_SHUTDOWN_S = 2.0


def _meter_provider(settings: Settings) -> Any:
    from opentelemetry.sdk.metrics import MeterProvider
    from opentelemetry.sdk.metrics.export import PeriodicExportingMetricReader
    from opentelemetry.sdk.resources import SERVICE_NAME, Resource

    from llmotel.export.otlp import metric_exporter

    resource = Resource.create({**settings.resource_attributes,
                                SERVICE_NAME: settings.service_name or _DEFAULT_SERVICE})
    return MeterProvider(resource=resource, metric_readers=[PeriodicExportingMetricReader(metric_exporter(settings))])


def _check_not_itself(settings: Settings, options: GatewayOptions) -> None:
    from urllib.parse import urlsplit

    assert settings.endpoint is not None
    target = urlsplit(settings.endpoint)
    loopback = {"127.0.0.1", "localhost", "::1", options.listen}
    ports = {options.http_port, options.grpc_port} - {None, 0}
    if target.hostname in loopback and (target.port or (4317 if settings.protocol == "grpc" else 4318)) in ports:
        raise ConfigurationError("endpoint", settings.endpoint,
                                 "a backend other than this gateway (it would forward to itself)")


class Gateway:
    """One gateway: receivers, engine, pass-through, intake and metrics. :meth:`start`, then :meth:`drain`.

    ``exporter`` (default: the OTLP exporter ``settings`` describe) and ``redactor`` (default: built from the
    ``pii_*`` settings when ``redact_pii`` is on) are for embedding a gateway with parts built elsewhere.
    """

    def __init__(self, settings: Settings, options: GatewayOptions, *, exporter: Any = None,
                 redactor: Any = None) -> None:
        if settings.endpoint is None or settings.exporter != "otlp":
            raise ConfigurationError("endpoint", settings.endpoint, "the OTLP endpoint the gateway forwards to")
        _check_not_itself(settings, options)
        self.settings = settings
        self.options = options
        self.auth = TokenAuth(options.token, options.auth_header)
        self.metrics = GatewayMetrics()
        self.state = "starting"
        _secrets.register_environment()
        _secrets.register_all([*settings.headers.values(), options.token])
        self._meter_provider = _meter_provider(settings) if settings.metrics else None
        if self._meter_provider is not None:
            self.metrics.bind(self._meter_provider)
        from llmotel.evaluation import builtin
        from llmotel.export.otlp import quiet_exporter_logs, span_exporter

        quiet_exporter_logs()
        if redactor is None and settings.redact_pii:
            redactor = builtin.pii_redactor(settings)  # loaded once, shared by evaluation and the logs pass-through
        self.engine = Engine(
            settings, exporter if exporter is not None else span_exporter(settings), self.metrics,
            queue_spans=options.queue_spans, queue_bytes=options.queue_bytes,
            spool=Spool(options.spool, fsync=options.spool_fsync) if options.spool else None,
            meter_provider=self._meter_provider, redactor=redactor,
        )
        self.passthrough = Passthrough(settings, redactor)
        self._http: Any = None
        self._http_thread: threading.Thread | None = None
        self._grpc: Any = None
        self.http_port = 0
        self.grpc_port: int | None = None

    # --- requests -----------------------------------------------------------------------------------------------

    def handle(self, signal_name: str, request: Message, raw: bytes | None) -> Reply:
        """Answer one OTLP export request (traces are queued, metrics and logs passed through)."""
        if signal_name != "traces":
            reply = replies.from_backend(self.passthrough.forward(signal_name, request))
            self.metrics.add(sc.METRIC_GATEWAY_PASSTHROUGH, signal=signal_name,
                             outcome="ok" if reply.ok else f"http_{reply.http_status}")
            return reply
        assert isinstance(request, ExportTraceServiceRequest)
        try:
            admission = self.engine.submit(request, raw)
        except MalformedSpans as exc:
            return self.refusal(Reply(400, "INVALID_ARGUMENT", str(exc), reason="malformed"))
        return replies.OK if admission.accepted else replies.refused(admission)

    def refusal(self, reply: Reply) -> Reply:
        """Count a refusal the receivers decided on (auth, size, malformed) and return it."""
        if reply.reason is not None:
            self.metrics.add(sc.METRIC_GATEWAY_REFUSED, reason=reply.reason)
        return reply

    def evaluations(self, document: Any) -> tuple[int, Any, float | None]:
        """The intake: ``(status, JSON payload, retry delay)`` for one ``POST /v1/evaluations`` body."""
        try:
            metrics = intake.parse(document)
        except intake.InvalidEvaluations as invalid:
            self.refusal(Reply(400, "INVALID_ARGUMENT", reason="malformed"))
            return 400, {"errors": invalid.errors}, None
        spans, request = intake.evaluation_spans(
            metrics, service_name=self.settings.service_name or _DEFAULT_SERVICE,
            capture_content=self.settings.capture_content)
        admission = self.engine.submit_spans(spans, request, source="intake")
        if not admission.accepted:
            reply = replies.refused(admission)
            return reply.http_status, {"error": reply.message}, reply.retry_after
        return 202, {"accepted": len(spans)}, None

    # --- lifecycle ----------------------------------------------------------------------------------------------

    def start(self) -> None:
        """Replay the spool, then listen."""
        from llmotel.gateway.grpc_receiver import start_grpc
        from llmotel.gateway.http_receiver import GatewayHttpServer

        recovered = self.engine.recover()
        if recovered:
            logger.info("llmotel gateway: replaying %d span(s) from the spool", recovered)
        self._http = GatewayHttpServer(self.options.listen, self.options.http_port, self)
        self.http_port = self._http.server_address[1]
        self._http_thread = threading.Thread(target=self._http.serve_forever, kwargs={"poll_interval": 0.1},
                                             name="llmotel-gateway-http", daemon=True)
        self._http_thread.start()
        if self.options.grpc_port is not None:
            try:
                self._grpc, self.grpc_port = start_grpc(self, self.options.listen, self.options.grpc_port)
            except BaseException:
                self._stop_http()
                raise
        self.state = "ready"

    def describe(self) -> str:
        grpc_part = f"grpc {self.options.listen}:{self.grpc_port}, " if self.grpc_port is not None else ""
        return (f"{grpc_part}http {self.options.listen}:{self.http_port} -> {self.settings.endpoint} "
                f"({self.settings.protocol})")

    def drain(self, grace: float | None = None) -> None:
        """Stop accepting (new requests get 503 / UNAVAILABLE), evaluate and forward what was accepted within the
        grace period (unevaluated when evaluation cannot finish), then stop listening."""
        grace = self.options.grace_period if grace is None else grace
        started = time.monotonic()
        self.state = "draining"
        self.engine.drain(grace)
        held = self.engine.held_spans
        if held:
            where = "kept in the spool for the next start" if self.options.spool else "lost"
            logger.warning("llmotel gateway: %d accepted span(s) not delivered within the grace period; %s", held,
                           where)
        self._stop_http()
        if self._grpc is not None:
            self._grpc.stop(grace=1.0).wait(2.0)
        self.passthrough.close()
        if self._meter_provider is not None:
            provider = self._meter_provider
            thread = threading.Thread(target=provider.shutdown, name="llmotel-gateway-metrics", daemon=True)
            thread.start()
            thread.join(_METRICS_SHUTDOWN_S)
        self.state = "stopped"
        logger.info("llmotel gateway: stopped after draining for %.1f s", time.monotonic() - started)

    def _stop_http(self) -> None:
        if self._http is not None:
            self._http.shutdown()
            self._http.server_close()


def serve(settings: Settings, options: GatewayOptions) -> int:
    """Run a gateway until ``SIGTERM`` or ``SIGINT``, then drain within the grace period; the exit status."""
    stop = threading.Event()

    def on_signal(signum: int, _frame: Any) -> None:
        logger.info("llmotel gateway: %s received; draining", signal.Signals(signum).name)
        stop.set()

    from llmotel.evaluation import builtin

    # A server listens once it can evaluate: the checks load before it does (an application's enable() loads them
    # in the background instead), so a SIGTERM soon after start never spends its grace period waiting for a load.
    builtin.load_in_background = False
    gateway = Gateway(settings, options)
    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    gateway.start()
    print(f"llmotel gateway listening: {gateway.describe()}", flush=True)
    while not stop.wait(0.5):
        pass
    gateway.drain()
    sys.stdout.flush()
    return 0
