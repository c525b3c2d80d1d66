#!/usr/bin/env bash
# Checks that Debian's asciinema accepts recordings: `asciinema cat FILE` must succeed for each.
# Installs asciinema with apt when it is missing.
# asciinema 2.2 opens /dev/tty even for `cat`, so each run gets a terminal from `script`
# (Debian package bsdutils), which also works in CI where there is none. asciinema's errors go to stderr.
# Usage: scripts/check-asciinema.sh FILE...
set -euo pipefail
scripts_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

if [ "$#" -eq 0 ]; then
    echo "usage: scripts/check-asciinema.sh FILE..." >&2
    exit 2
fi

if ! command -v asciinema >/dev/null; then
    "$scripts_dir/ensure-apt-packages.sh" asciinema
fi
if ! command -v script >/dev/null; then
    "$scripts_dir/ensure-apt-packages.sh" bsdutils
fi

failed=0
for file in "$@"; do
    if [ ! -r "$file" ]; then
        echo "check-asciinema: cannot read $file" >&2
        failed=1
        continue
    fi
    quoted=$(printf '%q' "$file")
    if script -qec "asciinema cat $quoted > /dev/null" /dev/null < /dev/null >&2; then
        echo "check-asciinema: ok $file"
    else
        echo "check-asciinema: asciinema cat rejected $file" >&2
        failed=1
    fi
done
exit "$failed"
