#!/usr/bin/env bash
# Makes sure the browser test can run: Debian's Chromium and its WebDriver, and Selenium for
# Python.
#
# - `chromium` and `chromium-driver` (/usr/bin/chromium, /usr/bin/chromedriver) come from
#   Debian with apt, only when missing (`apt-get update` runs only then);
# - the PyPI package `selenium` is installed with pip for the `python3` on PATH when
#   `python3 -c 'import selenium'` fails.
#
# Nothing is downloaded outside Debian's archive and PyPI: the test points Selenium at
# /usr/bin/chromedriver and /usr/bin/chromium, so Selenium Manager never fetches a browser or
# a driver. SELENIUM_VERSION pins a release (default: any 4.x). Safe to run any number of times.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
selenium_requirement="selenium${SELENIUM_VERSION:+==$SELENIUM_VERSION}"
[ -n "${SELENIUM_VERSION:-}" ] || selenium_requirement="selenium>=4.11,<5"

say() { echo "ensure-browser: $*"; }
fail() {
    echo "ensure-browser: error: $*" >&2
    exit 1
}

export DEBIAN_FRONTEND=noninteractive
# needrestart (when installed) must only list services, never restart dockerd mid-run.
export NEEDRESTART_MODE=l

# Chromium and chromedriver: ensure-apt-packages.sh installs only what is missing and runs
# `apt-get update` only then.
"$here/ensure-apt-packages.sh" chromium chromium-driver
[ -x /usr/bin/chromium ] || fail "chromium is installed but /usr/bin/chromium is missing"
[ -x /usr/bin/chromedriver ] || fail "chromium-driver is installed but /usr/bin/chromedriver is missing"

# Selenium for the python3 the tests run with.
if python3 -c 'import selenium' >/dev/null 2>&1; then
    say "selenium $(python3 -c 'import selenium; print(selenium.__version__)') is importable; nothing to install"
else
    if ! python3 -m pip --version >/dev/null 2>&1; then
        "$here/ensure-apt-packages.sh" python3-pip
    fi
    say "installing $selenium_requirement from PyPI with $(command -v python3)"
    log="$(mktemp)"
    trap 'rm -f "$log"' EXIT
    pip_args=(install --quiet --disable-pip-version-check --no-input "$selenium_requirement")
    if ! python3 -m pip "${pip_args[@]}" >"$log" 2>&1; then
        if grep -q externally-managed-environment "$log"; then
            # Debian's own python3 (PEP 668): this machine is a throwaway test machine, so
            # install beside the system packages rather than set up a virtual environment.
            say "python3 is externally managed; retrying with --break-system-packages"
            python3 -m pip "${pip_args[@]}" --break-system-packages >"$log" 2>&1 || {
                cat "$log" >&2
                fail "pip could not install $selenium_requirement"
            }
        else
            cat "$log" >&2
            fail "pip could not install $selenium_requirement"
        fi
    fi
    python3 -c 'import selenium' || fail "selenium was installed but python3 cannot import it"
fi

say "$(/usr/bin/chromium --version 2>/dev/null | head -n 1), $(/usr/bin/chromedriver --version 2>/dev/null | head -n 1 | cut -d' ' -f1-2), selenium $(python3 -c 'import selenium; print(selenium.__version__)')"
