"""Static checks of ``collector/*.yaml``, ``docker-compose.yml`` and ``deploy/``.

Docker isn't available where the tests run, so the files are parsed and
cross-checked instead: collector pipelines only use defined components and
every component is used, exporters point at compose services on ports those
services listen on, the collector publishes exactly its receiver ports, and
the demo sends OTLP to the collector with a protocol matching the port. The
scale-out files (a load-balancing collector in front of three gateway replicas,
in compose and on Kubernetes) are checked the same way, and the gateways'
command lines and settings are read by the gateway's own option parsing.
"""

from __future__ import annotations

import re
import shlex
import shutil
import subprocess
import sys
from functools import cache
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import pytest
import yaml

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    tomllib = None

REPO_ROOT = Path(__file__).resolve().parents[1]
COLLECTOR_CONFIG = REPO_ROOT / "collector" / "otel-collector-config.yaml"
COMPOSE_FILE = REPO_ROOT / "docker-compose.yml"
COLLECTOR_SERVICE = "otel-collector"
DEMO_SERVICE = "demo"
LB_COLLECTOR_CONFIG = REPO_ROOT / "collector" / "gateway-loadbalancing.yaml"
KUBERNETES = REPO_ROOT / "deploy" / "kubernetes" / "llmotel-gateway.yaml"
LB_COLLECTOR = "lb-collector"
GATEWAYS = ("gateway-1", "gateway-2", "gateway-3")

PIPELINE_TYPES = {"traces", "metrics", "logs", "profiles"}
# Exporter types by wire protocol (``otlp_grpc``/``otlp_http`` are the names
# since collector v0.144; ``otlp``/``otlphttp`` are the older aliases).
GRPC_EXPORTERS = {"otlp", "otlp_grpc"}
HTTP_EXPORTERS = {"otlphttp", "otlp_http"}
# The OTLP convention for well-known ports; other ports are not protocol-checked.
OTLP_PORT_PROTOCOLS = {4317: "grpc", 4318: "http"}


@cache
def collector() -> dict[str, Any]:
    data = yaml.safe_load(COLLECTOR_CONFIG.read_text())
    assert isinstance(data, dict)
    return data


@cache
def compose() -> dict[str, Any]:
    data = yaml.safe_load(COMPOSE_FILE.read_text())
    assert isinstance(data, dict)
    return data


def services() -> dict[str, Any]:
    result = compose()["services"]
    assert isinstance(result, dict) and result
    return result


def component_type(component_id: str) -> str:
    """``otlp_grpc/jaeger`` -> ``otlp_grpc``."""
    return component_id.split("/", 1)[0]


def pipelines() -> dict[str, dict[str, list[str]]]:
    result = collector()["service"]["pipelines"]
    assert isinstance(result, dict) and result
    return result


def defined(kind: str) -> set[str]:
    return set(collector().get(kind) or {})


def used_in_pipelines(role: str) -> set[str]:
    return {component for pipeline in pipelines().values() for component in pipeline.get(role) or []}


def host_port(endpoint: str) -> tuple[str, int]:
    """Host and explicit port of ``host:port`` or ``scheme://host:port/path``."""
    parts = urlsplit(endpoint if "://" in endpoint else f"//{endpoint}")
    assert parts.hostname, f"no host in endpoint {endpoint!r}"
    assert parts.port is not None, f"endpoint {endpoint!r} must name its port explicitly"
    return parts.hostname, parts.port


def container_port(spec: Any) -> int:
    """Container side of a compose ``ports``/``expose`` entry (short or long syntax)."""
    if isinstance(spec, dict):
        return int(spec["target"])
    text = str(spec).split("/", 1)[0]  # drop /tcp, /udp
    return int(text.rsplit(":", 1)[-1])


def published_ports(service: dict[str, Any]) -> set[int]:
    return {container_port(spec) for spec in service.get("ports") or []}


def listening_ports(service: dict[str, Any]) -> set[int]:
    """Ports a service listens on inside the compose network: ``ports`` and ``expose``."""
    return published_ports(service) | {container_port(spec) for spec in service.get("expose") or []}


def environment(service: dict[str, Any]) -> dict[str, str]:
    env = service.get("environment") or {}
    if isinstance(env, list):
        return dict(item.split("=", 1) if "=" in item else (item, "") for item in env)
    return {key: "" if value is None else str(value) for key, value in env.items()}


def depends_on(service: dict[str, Any]) -> list[str]:
    deps = service.get("depends_on") or []
    return list(deps) if isinstance(deps, (list, dict)) else [deps]


def receiver_ports() -> dict[int, str]:
    """Port -> protocol (``grpc``/``http``) of every OTLP receiver protocol."""
    ports: dict[int, str] = {}
    for receiver_id, receiver in (collector().get("receivers") or {}).items():
        if component_type(receiver_id) != "otlp":
            continue
        for protocol, settings in (receiver.get("protocols") or {}).items():
            endpoint = (settings or {}).get("endpoint")
            assert endpoint, f"receiver {receiver_id} {protocol}: set the endpoint (the default binds localhost only)"
            host, port = host_port(endpoint)
            assert host == "0.0.0.0", f"receiver {receiver_id} {protocol} must bind 0.0.0.0 in a container, not {host}"
            ports[port] = protocol
    return ports


def otlp_protocol(env_value: str) -> str:
    """``OTEL_EXPORTER_OTLP_PROTOCOL`` value -> ``grpc``/``http``."""
    assert env_value in ("grpc", "http/protobuf", "http/json"), env_value
    return "grpc" if env_value == "grpc" else "http"


# -- collector config ------------------------------------------------------------


def test_pipelines_reference_only_defined_components() -> None:
    connectors = defined("connectors")
    for name, pipeline in pipelines().items():
        assert component_type(name) in PIPELINE_TYPES, f"unknown pipeline type {name!r}"
        assert pipeline.get("receivers"), f"pipeline {name} has no receivers"
        assert pipeline.get("exporters"), f"pipeline {name} has no exporters"
        for receiver in pipeline["receivers"]:
            assert receiver in defined("receivers") | connectors, f"{name}: undefined receiver {receiver!r}"
        for processor in pipeline.get("processors") or []:
            assert processor in defined("processors"), f"{name}: undefined processor {processor!r}"
        for exporter in pipeline["exporters"]:
            assert exporter in defined("exporters") | connectors, f"{name}: undefined exporter {exporter!r}"
        for role in ("receivers", "processors", "exporters"):
            items = pipeline.get(role) or []
            assert len(items) == len(set(items)), f"{name}: duplicate {role}"
    for extension in collector()["service"].get("extensions") or []:
        assert extension in defined("extensions"), f"undefined extension {extension!r}"


def test_every_defined_component_is_used() -> None:
    assert defined("receivers") - used_in_pipelines("receivers") == set()
    assert defined("processors") - used_in_pipelines("processors") == set()
    assert defined("exporters") - used_in_pipelines("exporters") == set()
    for connector in defined("connectors"):  # a connector is an exporter of one pipeline, a receiver of another
        assert connector in used_in_pipelines("exporters") and connector in used_in_pipelines("receivers")
    assert defined("extensions") == set(collector()["service"].get("extensions") or [])


def test_collector_pipelines_have_the_intended_shape() -> None:
    assert receiver_ports() == {4317: "grpc", 4318: "http"}
    traces = pipelines()["traces"]
    assert {component_type(e) for e in traces["exporters"]} >= {"debug"}
    targets = {host_port(collector()["exporters"][e]["endpoint"])[0] for e in traces["exporters"] if e != "debug"}
    assert targets == {"jaeger", "phoenix"}
    for name in ("traces", "metrics", "logs"):
        processors = [component_type(p) for p in pipelines()[name].get("processors") or []]
        assert processors[:1] == ["memory_limiter"], f"{name}: memory_limiter must run first"
        assert "batch" in processors, f"{name}: no batch processor"


def test_memory_limiter_is_configured() -> None:
    for processor_id, settings in (collector().get("processors") or {}).items():
        if component_type(processor_id) == "memory_limiter":
            assert settings.get("check_interval"), "memory_limiter needs check_interval"
            assert settings.get("limit_mib") or settings.get("limit_percentage"), "memory_limiter needs a limit"


def test_exporter_endpoints_are_compose_services_listening_on_that_port() -> None:
    checked = 0
    for exporter_id, settings in (collector().get("exporters") or {}).items():
        endpoint = (settings or {}).get("endpoint")
        if endpoint is None:
            continue
        host, port = host_port(endpoint)
        assert host in services(), f"{exporter_id}: {host!r} is not a compose service"
        assert port in listening_ports(services()[host]), (
            f"{exporter_id}: {host} does not list port {port} in its compose ports/expose"
        )
        kind = component_type(exporter_id)
        expected = "grpc" if kind in GRPC_EXPORTERS else "http" if kind in HTTP_EXPORTERS else None
        if expected is not None and port in OTLP_PORT_PROTOCOLS:
            assert OTLP_PORT_PROTOCOLS[port] == expected, f"{exporter_id}: {expected} exporter aimed at port {port}"
        if kind in GRPC_EXPORTERS and not endpoint.startswith("https://"):
            assert (settings.get("tls") or {}).get("insecure") is True, f"{exporter_id}: plaintext needs tls.insecure"
        checked += 1
    assert checked >= 2


# -- docker-compose ------------------------------------------------------------------


def test_collector_publishes_exactly_its_receiver_ports() -> None:
    service = services()[COLLECTOR_SERVICE]
    assert published_ports(service) == set(receiver_ports())
    for spec in service["ports"]:  # same port on the host, so apps use the OTLP defaults
        if isinstance(spec, str) and spec.count(":") == 1:
            host, container = spec.split("/", 1)[0].split(":")
            assert host == container


def test_collector_mounts_its_config_where_its_command_reads_it() -> None:
    service = services()[COLLECTOR_SERVICE]
    assert "opentelemetry-collector-contrib" in service["image"]
    mounts = {}
    for volume in service.get("volumes") or []:
        source, target = str(volume).split(":")[:2]
        mounts[target] = source
    command = service.get("command") or []
    command = shlex.split(command) if isinstance(command, str) else command
    config_paths = [arg.split("=", 1)[1] for arg in command if arg.startswith("--config=")]
    assert len(config_paths) == 1, command
    assert config_paths[0] in mounts, f"{config_paths[0]} is not mounted"
    assert (REPO_ROOT / mounts[config_paths[0]]).resolve() == COLLECTOR_CONFIG.resolve()


def test_demo_exports_to_the_collector_with_a_matching_protocol() -> None:
    demo = services()[DEMO_SERVICE]
    env = environment(demo)
    host, port = host_port(env["OTEL_EXPORTER_OTLP_ENDPOINT"])
    assert host == COLLECTOR_SERVICE
    assert port in receiver_ports(), f"collector has no receiver on {port}"
    assert otlp_protocol(env["OTEL_EXPORTER_OTLP_PROTOCOL"]) == receiver_ports()[port]
    assert env["OTEL_EXPORTER_OTLP_ENDPOINT"] == "http://otel-collector:4317"
    assert env["OTEL_EXPORTER_OTLP_PROTOCOL"] == "grpc"
    assert COLLECTOR_SERVICE in depends_on(demo)


def test_demo_runs_llmotel_demo() -> None:
    demo = services()[DEMO_SERVICE]
    build = demo["build"]
    dockerfile = build.get("dockerfile_inline")
    if dockerfile is None:
        dockerfile = (REPO_ROOT / build.get("context", ".") / build.get("dockerfile", "Dockerfile")).read_text()
    entrypoint = re.findall(r"^ENTRYPOINT\s+(\[.*\])\s*$", dockerfile, flags=re.MULTILINE)
    command = demo.get("command") or []
    argv = [*yaml.safe_load(entrypoint[-1]), *command] if entrypoint else list(command)
    assert argv[:2] == ["llmotel", "demo"], argv
    assert re.search(r"^FROM python:3\.\d+-slim\s*$", dockerfile, flags=re.MULTILINE)
    assert 'pip install --no-cache-dir ".[openai]"' in dockerfile
    if tomllib is not None:
        pyproject = tomllib.loads((REPO_ROOT / "pyproject.toml").read_text())
        assert "llmotel" in pyproject["project"]["scripts"], "the image's entrypoint needs the llmotel script"
        assert "openai" in pyproject["project"]["optional-dependencies"]


def test_demo_build_copies_files_that_exist() -> None:
    build = services()[DEMO_SERVICE]["build"]
    context = REPO_ROOT / build.get("context", ".")
    dockerfile = build.get("dockerfile_inline") or ""
    copies = re.findall(r"^COPY\s+(.+)$", dockerfile, flags=re.MULTILINE)
    assert copies
    for line in copies:
        *sources, _destination = line.split()
        for source in sources:
            assert list(context.glob(source)), f"COPY source {source!r} does not exist in {context}"


def test_depends_on_names_existing_services_without_cycles() -> None:
    graph = {name: depends_on(service) for name, service in services().items()}
    for name, deps in graph.items():
        for dep in deps:
            assert dep in graph, f"{name} depends on unknown service {dep!r}"
            assert dep != name

    def visit(name: str, path: tuple[str, ...]) -> None:
        assert name not in path, f"depends_on cycle: {' -> '.join((*path, name))}"
        for dep in graph[name]:
            visit(dep, (*path, name))

    for name in graph:
        visit(name, ())


def test_compose_has_the_expected_services_and_uis() -> None:
    default = {name for name, service in services().items() if not service.get("profiles")}
    assert default == {COLLECTOR_SERVICE, "jaeger", "phoenix", DEMO_SERVICE}
    assert set(services()) - default == {LB_COLLECTOR, *GATEWAYS}
    assert 16686 in published_ports(services()["jaeger"])
    assert 6006 in published_ports(services()["phoenix"])
    assert "build" in services()[DEMO_SERVICE]


def test_images_are_pinned() -> None:
    for name, service in services().items():
        image = service.get("image")
        if image is None:
            assert "build" in service, f"{name} has neither image nor build"
            continue
        tag = image.rsplit("/", 1)[-1].partition(":")[2]
        assert tag and tag != "latest", f"{name}: pin {image!r} to a version"


def _docker_compose_available() -> bool:
    if shutil.which("docker") is None:
        return False
    result = subprocess.run(["docker", "compose", "version"], capture_output=True, check=False)
    return result.returncode == 0


@pytest.mark.skipif(not _docker_compose_available(), reason="docker compose CLI not installed")
def test_docker_compose_config_accepts_the_file() -> None:
    result = subprocess.run(
        ["docker", "compose", "-f", str(COMPOSE_FILE), "config", "--quiet"],
        capture_output=True,
        text=True,
        check=False,
        cwd=REPO_ROOT,
    )
    assert result.returncode == 0, result.stderr


# -- scale-out: a load-balancing collector in front of gateway replicas ------------------------------------------


def check_pipelines(config: dict[str, Any]) -> None:
    """Pipelines use only defined components and every defined component is used."""
    used: dict[str, set[str]] = {"receivers": set(), "processors": set(), "exporters": set()}
    for name, pipeline in config["service"]["pipelines"].items():
        assert component_type(name) in PIPELINE_TYPES
        for role in used:
            for component in pipeline.get(role) or []:
                assert component in (config.get(role) or {}), f"{name}: undefined {role[:-1]} {component!r}"
                used[role].add(component)
    for role, components in used.items():
        assert set(config.get(role) or {}) == components, f"unused {role}"


def load_balancing(config: dict[str, Any]) -> dict[str, Any]:
    """The loadbalancing exporter: routes by trace ID, plaintext OTLP with retries and a queue, traces only."""
    check_pipelines(config)
    pipelines_ = config["service"]["pipelines"]
    assert set(pipelines_) == {"traces"} and pipelines_["traces"]["exporters"] == ["loadbalancing"]
    assert pipelines_["traces"]["processors"][:1] == ["memory_limiter"]
    exporter = config["exporters"]["loadbalancing"]
    assert exporter["routing_key"] == "traceID"
    otlp = exporter["protocol"]["otlp"]
    assert otlp["tls"]["insecure"] is True
    assert otlp["retry_on_failure"]["enabled"] is True and otlp["sending_queue"]["enabled"] is True
    receivers = config["receivers"]["otlp"]["protocols"]
    assert {host_port(p["endpoint"]) for p in receivers.values()} == {("0.0.0.0", 4317), ("0.0.0.0", 4318)}
    resolver: dict[str, Any] = exporter["resolver"]
    return resolver


def gateway_args(argv: list[str]) -> Any:
    from llmotel.cli import build_parser

    args = build_parser().parse_args(["gateway", *argv])
    assert args.cmd == "gateway"
    return args


def check_gateway_settings(args: Any, env: dict[str, str]) -> tuple[Any, Any]:
    """The gateway's settings and options as the gateway itself resolves them from its command line and env."""
    from llmotel import config
    from llmotel.gateway.options import resolve_options

    settings = config.resolve(env=env, endpoint=args.endpoint, protocol=args.protocol, exporter="otlp",
                              evaluators=args.evaluators, redact_pii=True if args.redact_pii else None)
    options = resolve_options(env=env, listen=args.listen, grpc_port=args.grpc_port, http_port=args.http_port,
                              spool=args.spool, grace_period=args.grace_period)
    assert options.listen == "0.0.0.0", "in a container the gateway must listen on every interface (explicitly)"
    assert settings.redact_pii and set(settings.evaluators) == {"language_mismatch", "failure_to_answer",
                                                                 "sentiment", "toxicity"}
    assert options.spool, "replicas spool what they acknowledged"
    return settings, options


def test_lb_collector_routes_traces_by_trace_id_to_the_three_gateway_services() -> None:
    config = yaml.safe_load(LB_COLLECTOR_CONFIG.read_text())
    resolver = load_balancing(config)
    hostnames = resolver["static"]["hostnames"]
    assert sorted(host_port(h)[0] for h in hostnames) == list(GATEWAYS)
    for hostname in hostnames:
        host, port = host_port(hostname)
        service = services()[host]
        assert service["profiles"] == ["scale-out"]
        assert port in listening_ports(service)
        _settings, options = check_gateway_settings(gateway_args(service["command"]), environment(service))
        assert options.grpc_port == port, f"{host} serves OTLP/gRPC on {options.grpc_port}, not {port}"


def test_scale_out_compose_services() -> None:
    lb = services()[LB_COLLECTOR]
    assert lb["profiles"] == ["scale-out"]
    mounts = dict(str(v).split(":")[:2][::-1] for v in lb["volumes"])
    (config_path,) = [a.split("=", 1)[1] for a in lb["command"] if a.startswith("--config=")]
    assert (REPO_ROOT / mounts[config_path]).resolve() == LB_COLLECTOR_CONFIG.resolve()
    published = {int(str(spec).split(":")[0]) for spec in lb["ports"]}
    assert published.isdisjoint(published_ports(services()[COLLECTOR_SERVICE])) and \
        published.isdisjoint({int(str(p).split(":")[0]) for s in services().values() for p in s.get("ports") or []
                              if s is not lb})
    assert set(depends_on(lb)) == set(GATEWAYS)
    declared = set(compose().get("volumes") or {})
    spools = set()
    for name in GATEWAYS:
        service = services()[name]
        settings, options = check_gateway_settings(gateway_args(service["command"]), environment(service))
        host, port = host_port(settings.endpoint)
        assert host in services() and port in listening_ports(services()[host]) and settings.protocol == "grpc"
        assert host in depends_on(service)
        (volume,) = service["volumes"]
        source, target = volume.split(":")[:2]
        assert target == options.spool and source in declared
        spools.add(source)
        grace = int(service["stop_grace_period"].rstrip("s"))
        assert grace > options.grace_period, f"{name}: docker must wait longer than the gateway drains"
        assert "/readyz" in " ".join(service["healthcheck"]["test"])
        assert {4317, 4318} <= listening_ports(service)
        dockerfile = (REPO_ROOT / service["build"]["context"] / service["build"]["dockerfile"]).read_text()
        assert 'ENTRYPOINT ["llmotel", "gateway"]' in dockerfile and ".[pii,evaluators]" in dockerfile
        for line in re.findall(r"^COPY\s+(.+)$", dockerfile, flags=re.MULTILINE):
            for source_path in line.split()[:-1]:
                assert list(REPO_ROOT.glob(source_path)), source_path
    assert len(spools) == 3, "each replica has its own spool"


@cache
def kubernetes() -> dict[tuple[str, str], dict[str, Any]]:
    documents = [d for d in yaml.safe_load_all(KUBERNETES.read_text()) if d]
    out = {}
    for document in documents:
        key = (document["kind"], document["metadata"]["name"])
        assert key not in out, f"duplicate {key}"
        out[key] = document
    return out


def _selected(service: dict[str, Any], deployment: dict[str, Any]) -> bool:
    labels = deployment["spec"]["template"]["metadata"]["labels"]
    selector = service["spec"]["selector"]
    return all(labels.get(k) == v for k, v in selector.items())


def _container_ports(deployment: dict[str, Any]) -> dict[str, int]:
    (container,) = deployment["spec"]["template"]["spec"]["containers"]
    return {p["name"]: p["containerPort"] for p in container["ports"]}


def test_kubernetes_objects_fit_together() -> None:
    objects = kubernetes()
    namespace = next(name for kind, name in objects if kind == "Namespace")
    for (kind, name), document in objects.items():
        if kind != "Namespace":
            assert document["metadata"]["namespace"] == namespace, f"{kind} {name}"
    for kind, name in objects:
        if kind != "Deployment":
            continue
        deployment = objects[(kind, name)]
        assert deployment["spec"]["selector"]["matchLabels"].items() <= \
            deployment["spec"]["template"]["metadata"]["labels"].items()
        (container,) = deployment["spec"]["template"]["spec"]["containers"]
        assert container["image"].rsplit(":", 1)[-1] not in ("", "latest"), name
    for kind, name in objects:
        if kind != "Service":
            continue
        service = objects[(kind, name)]
        (deployment,) = [d for (k, _), d in objects.items() if k == "Deployment" and _selected(service, d)]
        for port in service["spec"]["ports"]:
            assert port["targetPort"] in _container_ports(deployment), f"{name}: no container port {port}"


def test_kubernetes_collector_resolves_the_headless_gateway_service() -> None:
    objects = kubernetes()
    headless = objects[("Service", "llmotel-gateway-headless")]
    assert headless["spec"]["clusterIP"] == "None"
    gateway = objects[("Deployment", "llmotel-gateway")]
    assert _selected(headless, gateway) and gateway["spec"]["replicas"] == 3
    collector_deployment = objects[("Deployment", "otel-collector")]
    (container,) = collector_deployment["spec"]["template"]["spec"]["containers"]
    (config_arg,) = [a.split("=", 1)[1] for a in container["args"] if a.startswith("--config=")]
    (mount,) = container["volumeMounts"]
    (volume,) = [v for v in collector_deployment["spec"]["template"]["spec"]["volumes"] if v["name"] == mount["name"]]
    config_map = objects[("ConfigMap", volume["configMap"]["name"])]
    directory, key = config_arg.rsplit("/", 1)
    assert directory == mount["mountPath"] and key in config_map["data"]
    resolver = load_balancing(yaml.safe_load(config_map["data"][key]))
    namespace = headless["metadata"]["namespace"]
    assert resolver["dns"]["hostname"] == f"llmotel-gateway-headless.{namespace}.svc.cluster.local"
    grpc_port = _container_ports(gateway)["otlp-grpc"]
    assert resolver["dns"]["port"] == grpc_port == 4317
    assert [p["port"] for p in headless["spec"]["ports"]] == [grpc_port]
    collector_service = objects[("Service", "otel-collector")]
    assert _selected(collector_service, collector_deployment)
    assert {p["port"] for p in collector_service["spec"]["ports"]} == {4317, 4318}


def test_kubernetes_gateway_settings_probes_and_grace_period() -> None:
    from llmotel.config import Settings, env_name
    from llmotel.gateway.options import _ENV

    objects = kubernetes()
    gateway = objects[("Deployment", "llmotel-gateway")]
    pod = gateway["spec"]["template"]["spec"]
    (container,) = pod["containers"]
    (source,) = container["envFrom"]
    env = dict(objects[("ConfigMap", source["configMapRef"]["name"])]["data"])
    known = {env_name(n) for n in Settings.names()} | set(_ENV.values())
    for entry in container.get("env") or []:
        assert entry["valueFrom"]["secretKeyRef"]["optional"] is True
        known_name = entry["name"]
        assert known_name in known
    assert set(env) <= known, f"unknown settings: {set(env) - known}"
    args = gateway_args(container.get("args") or [])
    _settings, options = check_gateway_settings(args, env)
    ports = _container_ports(gateway)
    assert ports == {"otlp-grpc": options.grpc_port, "http": options.http_port}
    assert container["readinessProbe"]["httpGet"] == {"path": "/readyz", "port": "http"}
    assert container["livenessProbe"]["httpGet"] == {"path": "/healthz", "port": "http"}
    assert pod["terminationGracePeriodSeconds"] > options.grace_period
    (mount,) = container["volumeMounts"]
    assert mount["mountPath"] == options.spool
    intake = objects[("Service", "llmotel-gateway")]
    assert _selected(intake, gateway) and [p["targetPort"] for p in intake["spec"]["ports"]] == ["http"]
