#!/usr/bin/env bash
# Makes the Python virtual environment the object-storage tests run in: moto's S3 server
# (`moto[server]`, which brings botocore, whose SigV4 signer the signer tests compare against),
# at a pinned version from PyPI. Nothing is done when the venv already has it.
# MOTO_VENV picks its folder (default .build-moto-venv in the repository, git-ignored).
# Prints the venv's folder on its last line; `<venv>/bin/python scripts/moto-server.py` starts a
# server (see that script).
# Usage: scripts/ensure-moto.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
venv="${MOTO_VENV:-$here/../.build-moto-venv}"
requirements=("moto[server]==5.2.1")

say() { echo "ensure-moto: $*" >&2; }

stamp="$venv/.berth-requirements"
if [ -x "$venv/bin/python" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${requirements[*]}" ]; then
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
"$venv/bin/python" -c 'import moto.server, botocore.auth, flask' || { say "error: the venv cannot import moto's server"; exit 1; }
echo "${requirements[*]}" >"$stamp"
cd "$venv" && pwd
