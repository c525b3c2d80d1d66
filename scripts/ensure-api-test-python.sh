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
venv="${API_TEST_VENV:-$here/../.build-api-venv}"
requirements=(schemathesis==4.32.5 openapi-spec-validator==0.9.0 PyYAML==6.0.3 websocket-client==1.8.0)

say() { echo "ensure-api-test-python: $*" >&2; }

stamp="$venv/.berth-requirements"
if [ -x "$venv/bin/st" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${requirements[*]}" ]; then
    cd "$venv" && pwd
    exit 0
fi
if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
    "$here/ensure-apt-packages.sh" python3-venv
fi
say "making $venv with ${requirements[*]}"
python3 -m venv "$venv"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "${requirements[@]}" >"$log" 2>&1; then
    cat "$log" >&2
    say "error: pip could not install ${requirements[*]}"
    exit 1
fi
echo "${requirements[*]}" >"$stamp"
cd "$venv" && pwd
