#!/usr/bin/env bash
# Create an isolated virtualenv holding an MLflow tracking server for the e2e tests (see install_backend_venv.sh).
# The e2e fixture (tests/e2e/mlflow_server.py) runs `<venv>/bin/python -m mlflow server` on loopback with a
# SQLite store.
#
# Environment:
#   LLMOTEL_MLFLOW_VENV     target venv (default: <repo>/.venv-mlflow)
#   LLMOTEL_MLFLOW_SPEC     requirement to install (default: mlflow>=3.17)
#   LLMOTEL_MLFLOW_BASE_PY  interpreter used to create the venv (default: python3)
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo_root="$(cd "$here/../.." && pwd)"
LLMOTEL_BACKEND_BASE_PY="${LLMOTEL_MLFLOW_BASE_PY:-python3}" exec bash "$here/install_backend_venv.sh" mlflow \
    "${LLMOTEL_MLFLOW_VENV:-$repo_root/.venv-mlflow}" "${LLMOTEL_MLFLOW_SPEC:-mlflow>=3.17}" mlflow.server
