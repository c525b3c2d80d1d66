#!/usr/bin/env bash
# Makes sure a Docker Engine answers on this machine.
#
# If `docker info` already works, nothing happens. Otherwise the engine from Debian's
# `docker.io` package is installed when `dockerd` is missing, started in the background
# (log: /var/log/berth-dockerd.log) and waited for, up to BERTH_DOCKER_WAIT seconds (60).
# Safe to run any number of times.
set -euo pipefail

log_file=/var/log/berth-dockerd.log
wait_seconds="${BERTH_DOCKER_WAIT:-60}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

say() { echo "ensure-docker: $*"; }
fail() {
    echo "ensure-docker: error: $*" >&2
    exit 1
}

engine_answers() {
    if command -v docker >/dev/null 2>&1; then
        docker info >/dev/null 2>&1
    else
        # No CLI yet: ask the default socket directly.
        curl -fsS --max-time 2 --unix-socket /var/run/docker.sock http://localhost/_ping >/dev/null 2>&1
    fi
}

if engine_answers; then
    say "Docker Engine answers; nothing to do"
    exit 0
fi

if [ -n "${DOCKER_HOST:-}" ] && [ "${DOCKER_HOST}" != "unix:///var/run/docker.sock" ]; then
    fail "DOCKER_HOST=${DOCKER_HOST} does not answer; start that engine, or unset DOCKER_HOST to use a local one"
fi

if [ "$(id -u)" -ne 0 ]; then
    fail "no Docker Engine answers and installing or starting one needs root; run this script as root"
fi

if ! command -v dockerd >/dev/null 2>&1; then
    say "dockerd is missing; installing Debian's docker.io"
    "$here/ensure-apt-packages.sh" docker.io
    command -v dockerd >/dev/null 2>&1 || fail "docker.io was installed but dockerd is still not on PATH"
fi

if pgrep -x dockerd >/dev/null 2>&1; then
    say "dockerd is already running but does not answer yet; waiting for it"
else
    say "starting dockerd in the background (log: $log_file)"
    mkdir -p "$(dirname "$log_file")"
    # setsid: the daemon must outlive this shell, make and any Ctrl-C sent to them.
    setsid nohup dockerd >>"$log_file" 2>&1 </dev/null &
fi

for _ in $(seq 1 "$wait_seconds"); do
    if engine_answers; then
        say "Docker Engine is up"
        exit 0
    fi
    sleep 1
done

echo "ensure-docker: last lines of $log_file:" >&2
tail -n 30 "$log_file" >&2 2>/dev/null || true
fail "dockerd did not answer within ${wait_seconds}s; see $log_file"
