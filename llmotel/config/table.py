"""The settings table: every setting, where it is given, its environment variables, parser, default and meaning.

``enable()``'s flat arguments are declared here; the option groups' fields declare theirs on the field
(:mod:`llmotel.config.options`). ``resolve()`` reads the environment and checks values by this table, ``enable()``
names a moved argument's new home by it, and the README's configuration table is rendered from it:
``python -m llmotel.config --markdown``.
"""

from __future__ import annotations

import sys
from collections.abc import Mapping
from typing import Any

from llmotel.config import validation as v
from llmotel.config.choices import BUILTIN_EVALUATORS, EXPORTERS, INSTRUMENTATIONS, PROTOCOLS
from llmotel.config.options import GROUPS
from llmotel.config.spec import Setting


def _is_evaluator(value: Any) -> bool:
    name = getattr(value, "name", None)
    return isinstance(name, str) and bool(name) and callable(getattr(value, "evaluate", None))


_OTLP = "OTEL_EXPORTER_OTLP_"

#: ``enable()``'s flat arguments, in its order
FLAT: tuple[Setting, ...] = (
    Setting("service_name", v.TEXT, None, "`service.name` (also `OTEL_RESOURCE_ATTRIBUTES`)",
            env=("OTEL_SERVICE_NAME",), default_doc="SDK default"),
    Setting("endpoint", v.URL, None, "OTLP endpoint (`http(s)://host:port`; `/v1/traces` is added for HTTP)",
            env=(f"{_OTLP}TRACES_ENDPOINT", f"{_OTLP}ENDPOINT"), default_doc="none → local sink"),
    Setting("protocol", v.choice(PROTOCOLS), "http/protobuf", "`grpc` or `http/protobuf`",
            env=(f"{_OTLP}TRACES_PROTOCOL", f"{_OTLP}PROTOCOL")),
    Setting("headers", v.HEADERS, {}, "dict or `k1=v1,k2=v2` (URL-encoded values)",
            env=(f"{_OTLP}TRACES_HEADERS", f"{_OTLP}HEADERS")),
    Setting("exporter", v.choice(EXPORTERS), None,
            "`otlp`, `console`, `none`, or a `SpanExporter` instance (argument only)",
            default_doc="`otlp` with an endpoint, else `console`"),
    Setting("tracer_provider", None, None, "the `TracerProvider` to add llmotel's processor to",
            default_doc="global SDK provider, else a new one", llmotel_env=False, stored=False),
    Setting("meter_provider", None, None, "where the GenAI metrics go",
            default_doc="global SDK provider, else a new one when exporting OTLP", llmotel_env=False, stored=False),
    Setting("capture_content", v.CAPTURE_MODE, None,
            "record prompts/completions (`true/false`, `NO_CONTENT`, `SPAN_ONLY`, `EVENT_ONLY`, `SPAN_AND_EVENT`)",
            env=("OTEL_INSTRUMENTATION_GENAI_CAPTURE_MESSAGE_CONTENT",), default_doc="`true`"),
    Setting("instrument", v.names(INSTRUMENTATIONS), None, 'e.g. `["openai"]`', default_doc="every installed SDK"),
    Setting("evaluators", v.names_or_objects(
                BUILTIN_EVALUATORS, _is_evaluator,
                "evaluator objects with a non-empty `name` and an `evaluate(input)` method"), (),
            "built-in names (`pii`, `language_mismatch`, `failure_to_answer`, `sentiment`, `toxicity`, and the "
            "judge checks) and/or evaluator objects (argument only); see [Evaluation](#evaluation-and-pii-redaction)"),
    Setting("redact_pii", v.BOOLEAN, False,
            "redact PII from every exported span (same as evaluator `pii`; needs `llmotel[pii]`); see `pii=`"),
    Setting("judge", v.instance("an llmotel.evaluation.judge.Judge", lambda j: callable(getattr(j, "ask", None))),
            None, "a `Judge` object for the judge checks, or `JudgeOptions` (below) to have llmotel build one",
            llmotel_env=False),
    Setting("resource_attributes", v.MAPPING, {}, "extra resource attributes", llmotel_env=False,
            sdk_env=("OTEL_RESOURCE_ATTRIBUTES",)),
    Setting("disabled", v.BOOLEAN, False, "`enable()` does nothing", env=("OTEL_SDK_DISABLED",)),
)

#: every setting: the flat arguments, then each group's fields
TABLE: tuple[Setting, ...] = FLAT + tuple(row for group in GROUPS for row in group.settings().values())
#: ``Settings`` name -> row, for the settings ``resolve()`` produces
BY_NAME: Mapping[str, Setting] = {row.name: row for row in TABLE if row.stored}
#: group argument -> class
GROUP_CLASSES = {group.argument: group for group in GROUPS}


def moved_argument_message(name: str) -> str | None:
    """Where a former flat ``enable()`` argument went, or None when ``name`` was never one."""
    row = BY_NAME.get(name)
    if row is None or row.group is None:
        return None
    cls = GROUP_CLASSES[row.group].__name__
    return f"enable({name}=...) moved: use enable({row.group}=llmotel.{cls}({row.option}=...))"


def _default(row: Setting) -> str:
    if row.default_doc:
        return row.default_doc
    value = row.default
    if value is None or value == () or value == {}:
        return "none"
    if isinstance(value, bool):
        return f"`{str(value).lower()}`"
    if isinstance(value, float) and value.is_integer():
        return f"`{int(value)}`"
    return f"`{value}`"


def _env(row: Setting) -> str:
    names = row.env_names + row.sdk_env
    return ", ".join(f"`{n}`" for n in names) if names else "\u2013"


def markdown() -> str:
    """The README's configuration tables: the flat arguments, then one table per option group."""
    header = "| {} | environment | default | meaning |\n|---|---|---|---|\n"
    out = ["**`enable()` arguments**\n\n", header.format("argument")]
    out += [f"| `{r.name}` | {_env(r)} | {_default(r)} | {r.doc} |\n" for r in FLAT]
    for group in GROUPS:
        out.append(f"\n**`{group.argument}=llmotel.{group.__name__}(...)`**: {_first_line(group.__doc__)}\n\n")
        out.append(header.format("field"))
        out += [f"| `{name}` | {_env(r)} | {_default(r)} | {r.doc} |\n" for name, r in group.settings().items()]
    return "".join(out)


def _first_line(doc: str | None) -> str:
    return (doc or "").strip().splitlines()[0]


README_START = "<!-- settings table: generated by `python -m llmotel.config --markdown` -->\n"
README_END = "<!-- end of settings table -->\n"


def readme_section(readme: str) -> str:
    """The generated part of README text (between its markers)."""
    start = readme.index(README_START) + len(README_START)
    return readme[start:readme.index(README_END, start)]


def main(argv: list[str]) -> int:
    """``--markdown`` prints the tables; ``--write README.md`` replaces them in that file."""
    if argv[:1] == ["--markdown"]:
        sys.stdout.write(markdown())
        return 0
    if len(argv) == 2 and argv[0] == "--write":
        with open(argv[1], encoding="utf-8") as f:
            text = f.read()
        old = readme_section(text)
        with open(argv[1], "w", encoding="utf-8") as f:
            f.write(text.replace(README_START + old + README_END, README_START + markdown() + README_END, 1))
        return 0
    sys.stderr.write("usage: python -m llmotel.config --markdown | --write README.md\n")
    return 2
