#!/usr/bin/env bash
# Sourced by the ensure-*.sh scripts that make a pinned Python virtual environment.
#
# ensure_python_venv NAME VENV READY_FILE CHECK REQUIREMENT...
#   Makes VENV with exactly the REQUIREMENTs from PyPI, unless READY_FILE (relative to VENV) is
#   executable and the venv's stamp lists the same requirements. CHECK, a Python statement, must
#   then succeed in the venv. Installs python3-venv when missing. Prints the venv's folder.
ensure_python_venv() {
    local name=$1 venv=$2 ready=$3 check=$4
    shift 4
    local requirements=("$@")
    local here stamp log
    here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
    stamp="$venv/.berth-requirements"
    if [ -x "$venv/$ready" ] && [ "$(cat "$stamp" 2>/dev/null)" = "${requirements[*]}" ]; then
        (cd "$venv" && pwd)
        return 0
    fi
    if ! python3 -c 'import venv, ensurepip' >/dev/null 2>&1; then
        "$here/ensure-apt-packages.sh" python3-venv
    fi
    echo "$name: making $venv with ${requirements[*]}" >&2
    python3 -m venv "$venv"
    log="$(mktemp)"
    if ! "$venv/bin/pip" install --quiet --disable-pip-version-check --no-input "${requirements[@]}" >"$log" 2>&1; then
        cat "$log" >&2
        rm -f "$log"
        echo "$name: error: pip could not install ${requirements[*]}" >&2
        return 1
    fi
    rm -f "$log"
    if ! "$venv/bin/python" -c "$check"; then
        echo "$name: error: the venv fails its check: $check" >&2
        return 1
    fi
    echo "${requirements[*]}" >"$stamp"
    (cd "$venv" && pwd)
}
