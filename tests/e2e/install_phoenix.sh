#!/usr/bin/env bash
# Create an isolated virtualenv holding an Arize Phoenix server for the e2e tests (see install_backend_venv.sh).
# The e2e fixture (tests/e2e/phoenix.py) runs `<venv>/bin/python -m phoenix.server.main serve`.
#
# Environment:
#   LLMOTEL_PHOENIX_VENV     target venv (default: <repo>/.venv-phoenix)
#   LLMOTEL_PHOENIX_SPEC     requirement to install (default: arize-phoenix>=20.26.1)
#   LLMOTEL_PHOENIX_BASE_PY  interpreter used to create the venv (default: python3)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
LLMOTEL_BACKEND_BASE_PY="${LLMOTEL_PHOENIX_BASE_PY:-python3}" exec bash "$here/install_backend_venv.sh" phoenix \
    "${LLMOTEL_PHOENIX_VENV:-$repo_root/.venv-phoenix}" "${LLMOTEL_PHOENIX_SPEC:-arize-phoenix>=20.26.1}" \
    phoenix.server.main
