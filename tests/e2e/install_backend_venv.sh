#!/usr/bin/env bash
# Create an isolated virtualenv holding a backend server for the e2e tests (used by install_phoenix.sh and
# install_mlflow.sh): a backend pins its own opentelemetry/protobuf versions, so it must never be installed into
# the project's test environment.
#
#   install_backend_venv.sh NAME VENV SPEC CHECK_MODULE
#
# NAME: shown in messages; VENV: the venv directory; SPEC: the requirement to install; CHECK_MODULE: imported
# after installing (fail here, not in the test, when broken). Environment: LLMOTEL_BACKEND_BASE_PY, the
# interpreter that creates the venv (default: python3).
#
# Idempotent: an existing venv whose package satisfies the spec is left as is.
set -euo pipefail

name="$1"
venv="$2"
spec="$3"
check_module="$4"
base_py="${LLMOTEL_BACKEND_BASE_PY:-python3}"
package="$("$base_py" -c 'import re, sys; print(re.split(r"[<>=!~;\[ ]", sys.argv[1], maxsplit=1)[0])' "$spec")"

start=$(date +%s)
installed_version() { "$venv/bin/python" -c 'import sys; from importlib.metadata import version; print(version(sys.argv[1]))' "$package"; }

if [ -x "$venv/bin/python" ] && "$venv/bin/python" - "$spec" <<'PY' 2>/dev/null
import sys
from importlib.metadata import version
from packaging.requirements import Requirement

req = Requirement(sys.argv[1])
sys.exit(0 if req.specifier.contains(version(req.name), prereleases=True) else 1)
PY
then
    echo "install_$name: $venv already has $package $(installed_version)"
    exit 0
fi

echo "install_$name: creating $venv with $spec"
"$base_py" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check --upgrade pip
"$venv/bin/python" -m pip install --quiet --disable-pip-version-check "$spec"
"$venv/bin/python" -c "import $check_module"

echo "install_$name: installed $package $(installed_version) in $(( $(date +%s) - start ))s"
