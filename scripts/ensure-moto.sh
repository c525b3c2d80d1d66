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
source "$here/python-venv.sh"
ensure_python_venv ensure-moto "${MOTO_VENV:-$here/../.build-moto-venv}" bin/python \
    'import moto.server, botocore.auth, flask' "moto[server]==5.2.1"
