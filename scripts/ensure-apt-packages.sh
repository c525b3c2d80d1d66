#!/usr/bin/env bash
# Installs the Debian packages named as arguments that are not installed yet.
# Runs `apt-get update` at most once, and only when something is missing.
# Usage: scripts/ensure-apt-packages.sh PACKAGE...
set -euo pipefail

missing=()
for package in "$@"; do
    if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q 'install ok installed'; then
        missing+=("$package")
    fi
done

if [ "${#missing[@]}" -eq 0 ]; then
    exit 0
fi

if [ "$(id -u)" -ne 0 ]; then
    echo "ensure-apt-packages: missing Debian packages: ${missing[*]}" >&2
    echo "ensure-apt-packages: run as root, or install them with: sudo apt-get install -y ${missing[*]}" >&2
    exit 1
fi

echo "ensure-apt-packages: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq "${missing[@]}"
