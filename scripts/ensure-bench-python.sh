#!/usr/bin/env bash
# Installs the Python packages bench/terminal.py needs, only when they are missing: terminado
# and tornado, for its terminado baseline (its WebSocket client is its own, standard library
# only). Uses pip from PyPI; where the interpreter is Debian's externally managed one and pip
# refuses, falls back to Debian's python3-terminado and python3-tornado.
# PYTHON picks the interpreter (default python3).
# Usage: scripts/ensure-bench-python.sh
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
python="${PYTHON:-python3}"

say() { echo "ensure-bench-python: $*"; }

# PyPI name, import name and Debian package of each requirement.
requirements=(
    "terminado terminado python3-terminado"
    "tornado tornado python3-tornado"
)

missing_pip=()
missing_apt=()
for entry in "${requirements[@]}"; do
    read -r pip_name module apt_name <<<"$entry"
    if ! "$python" -c "import $module" >/dev/null 2>&1; then
        missing_pip+=("$pip_name")
        missing_apt+=("$apt_name")
    fi
done

if [ "${#missing_pip[@]}" -eq 0 ]; then
    exit 0
fi

if ! "$python" -m pip --version >/dev/null 2>&1; then
    "$here/ensure-apt-packages.sh" python3-pip
fi

say "installing ${missing_pip[*]} with pip"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
if "$python" -m pip install --quiet --disable-pip-version-check "${missing_pip[@]}" >"$log" 2>&1; then
    exit 0
fi
if grep -q 'externally-managed-environment' "$log"; then
    say "pip refuses to touch this interpreter; using Debian's packages ${missing_apt[*]}"
    "$here/ensure-apt-packages.sh" "${missing_apt[@]}"
else
    cat "$log" >&2
    echo "ensure-bench-python: error: pip could not install ${missing_pip[*]}" >&2
    exit 1
fi

for entry in "${requirements[@]}"; do
    read -r _ module _ <<<"$entry"
    "$python" -c "import $module" >/dev/null 2>&1 || {
        echo "ensure-bench-python: error: $python still cannot import $module" >&2
        exit 1
    }
done
