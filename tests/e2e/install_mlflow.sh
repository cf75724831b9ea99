#!/usr/bin/env bash
# Create an isolated virtualenv holding an MLflow tracking server for the e2e tests.
#
# MLflow pins its own opentelemetry/protobuf versions and brings a large dependency
# tree, so it must never be installed into the project's test environment. The e2e
# fixture (tests/e2e/mlflow.py) runs `<venv>/bin/python -m mlflow server` on
# loopback with a SQLite store.
#
# Environment:
#   LLMOTEL_MLFLOW_VENV     target venv (default: <repo>/.venv-mlflow)
#   LLMOTEL_MLFLOW_SPEC     requirement to install (default: mlflow>=3.17)
#   LLMOTEL_MLFLOW_BASE_PY  interpreter used to create the venv (default: python3)
#
# Idempotent: an existing venv whose Phoenix satisfies the spec is left as is.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${LLMOTEL_MLFLOW_VENV:-$repo_root/.venv-mlflow}"
spec="${LLMOTEL_MLFLOW_SPEC:-mlflow>=3.17}"
base_py="${LLMOTEL_MLFLOW_BASE_PY:-python3}"

start=$(date +%s)

if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$spec" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
from packaging.requirements import Requirement

req = Requirement(sys.argv[1])
sys.exit(0 if req.specifier.contains(version(req.name), prereleases=True) else 1)
PY
then
    echo "install_mlflow: $venv already has $("$venv/bin/python" -c 'from importlib.metadata import version; print("mlflow", version("mlflow"))')"
    exit 0
fi

echo "install_mlflow: creating $venv with $spec"
"$base_py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
"$venv/bin/python" -c 'import mlflow.server'  # fail here, not in the test, if broken

echo "install_mlflow: installed $("$venv/bin/python" -c 'from importlib.metadata import version; print("mlflow", version("mlflow"))') in $(( $(date +%s) - start ))s"
