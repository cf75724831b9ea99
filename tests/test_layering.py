"""The import rules of DESIGN.md, checked on the source (every import statement, nested ones included) and in a
fresh interpreter: instrumentation never imports evaluation, experiments or gateway; evaluation never imports a
provider SDK outside the judge, nor experiments or gateway; experiments and gateway build on evaluation, never the
other way round."""

from __future__ import annotations

import ast
import subprocess
import sys
from pathlib import Path

import pytest

PACKAGE = Path(__file__).resolve().parents[1] / "llmotel"


def imported_modules(path: Path) -> set[str]:
    """Every module an ``import`` / ``from ... import`` in the file names (relative imports resolved)."""
    tree = ast.parse(path.read_text(), str(path))
    package = ".".join(path.relative_to(PACKAGE.parent).with_suffix("").parts[:-1])
    out: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            out.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            base = node.module or ""
            if node.level:
                parts = package.split(".")[: len(package.split(".")) - node.level + 1]
                base = ".".join([*parts, base] if base else parts)
            out.add(base)
            out.update(f"{base}.{alias.name}" for alias in node.names)
    return out


def offenders(folder: str, forbidden: tuple[str, ...], allowed_files: tuple[str, ...] = ()) -> dict[str, list[str]]:
    found = {}
    for path in sorted((PACKAGE / folder).rglob("*.py")):
        name = str(path.relative_to(PACKAGE))
        if any(name.startswith(a) for a in allowed_files):
            continue
        bad = sorted(m for m in imported_modules(path) if any(m == f or m.startswith(f + ".") for f in forbidden))
        if bad:
            found[name] = bad
    return found


def test_instrumentation_imports_no_evaluation_experiments_or_gateway():
    assert offenders("instrumentation", ("llmotel.evaluation", "llmotel.experiments", "llmotel.gateway")) == {}


def test_evaluation_imports_no_experiments_gateway_or_instrumentation_internals():
    assert offenders("evaluation", ("llmotel.experiments", "llmotel.gateway")) == {}


def test_evaluation_imports_a_provider_sdk_only_in_the_judge():
    assert offenders("evaluation", ("openai", "anthropic"), ("evaluation/judge/",)) == {}


def test_experiments_never_import_the_gateway_and_the_gateway_never_imports_experiments():
    assert offenders("experiments", ("llmotel.gateway",)) == {}
    assert offenders("gateway", ("llmotel.experiments",)) == {}


def test_offline_checks_never_import_the_judge():
    assert offenders("evaluation/checks", ("llmotel.evaluation.judge",)) == {}


def test_the_config_imports_nothing_of_evaluation():
    assert offenders("config", ("llmotel.evaluation",)) == {}


@pytest.mark.parametrize("module", ["llmotel.instrumentation.openai", "llmotel.instrumentation.anthropic", "llmotel"])
def test_importing_loads_no_evaluation_experiments_or_gateway(module):
    code = (f"import sys, {module}\n"
            "print(sorted(m for m in sys.modules if m.startswith(('llmotel.evaluation', 'llmotel.experiments', "
            "'llmotel.gateway'))))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                            cwd=PACKAGE.parent)
    assert result.stdout.strip() == "[]"


def test_enable_without_evaluators_loads_no_evaluation():
    code = ("import sys, llmotel\n"
            "llmotel.enable(exporter='none', export=llmotel.ExportOptions(console=False, metrics=False))\n"
            "print(sorted(m for m in sys.modules if m.startswith(('llmotel.evaluation', 'llmotel.experiments'))))\n"
            "llmotel.shutdown()")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=120, check=True,
                            cwd=PACKAGE.parent, env={"PATH": "/usr/bin:/bin"})
    assert result.stdout.strip() == "[]"
