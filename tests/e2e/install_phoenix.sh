#!/usr/bin/env bash
# Create an isolated virtualenv holding an Arize Phoenix server for the e2e tests.
#
# Phoenix pins its own opentelemetry/protobuf/grpc versions, so it must never be
# installed into the project's test environment. The e2e fixture
# (tests/e2e/conftest.py) runs `<venv>/bin/python -m phoenix.server.main serve`.
#
# Environment:
#   LLMOTEL_PHOENIX_VENV     target venv (default: <repo>/.venv-phoenix)
#   LLMOTEL_PHOENIX_SPEC     requirement to install (default: arize-phoenix>=20.26.1)
#   LLMOTEL_PHOENIX_BASE_PY  interpreter used to create the venv (default: python3)
#
# Idempotent: an existing venv whose Phoenix satisfies the spec is left as is.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
venv="${LLMOTEL_PHOENIX_VENV:-$repo_root/.venv-phoenix}"
spec="${LLMOTEL_PHOENIX_SPEC:-arize-phoenix>=20.26.1}"
base_py="${LLMOTEL_PHOENIX_BASE_PY:-python3}"

start=$(date +%s)

if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$spec" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
from packaging.requirements import Requirement

req = Requirement(sys.argv[1])
sys.exit(0 if req.specifier.contains(version(req.name), prereleases=True) else 1)
PY
then
    echo "install_phoenix: $venv already has $("$venv/bin/python" -c 'from importlib.metadata import version; print("arize-phoenix", version("arize-phoenix"))')"
    exit 0
fi

echo "install_phoenix: creating $venv with $spec"
"$base_py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
"$venv/bin/python" -c 'import phoenix.server.main'  # fail here, not in the test, if broken

echo "install_phoenix: installed $("$venv/bin/python" -c 'from importlib.metadata import version; print("arize-phoenix", version("arize-phoenix"))') in $(( $(date +%s) - start ))s"
