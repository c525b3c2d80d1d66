#!/usr/bin/env bash
# Makes the Python virtual environment the API checks run in (tests/api): schemathesis, the
# OpenAPI validator, PyYAML and websocket-client, at pinned versions from PyPI. A venv keeps
# schemathesis' many dependencies away from the system's Python (and works where Debian's
# interpreter is externally managed). Nothing is done when the venv already has these versions.
# API_TEST_VENV picks its folder (default .build-api-venv in the repository, git-ignored).
# Prints the venv's folder on its last line.
# Usage: scripts/ensure-api-test-python.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
source "$here/python-venv.sh"
ensure_python_venv ensure-api-test-python "${API_TEST_VENV:-$here/../.build-api-venv}" bin/st \
    'import schemathesis, yaml, websocket' \
    schemathesis==4.32.5 openapi-spec-validator==0.9.0 PyYAML==6.0.3 websocket-client==1.8.0
