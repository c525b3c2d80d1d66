#!/usr/bin/env bash
# Puts xterm.js (the real one, from a package registry) into vendor/xterm/.
#
# xterm.js is published on npm, which this project's machines cannot reach; PyPI's `webssh`
# package ships a built copy (xterm.min.js, xterm.min.css and the fit addon) under
# webssh/static, so it is taken from there with pip. Nothing is committed: /vendor/ is
# ignored by git. Skips when the files are already there; FORCE=1 fetches them again.
# WEBSSH_VERSION picks the webssh release (default 1.6.3).
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
here="$repo_root/scripts"
target="$repo_root/vendor/xterm"
version="${WEBSSH_VERSION:-1.6.3}"
files=(xterm.min.js xterm.min.css xterm-addon-fit.min.js)

say() { echo "fetch-xterm: $*"; }
fail() {
    echo "fetch-xterm: error: $*" >&2
    exit 1
}

all_present() {
    local name
    for name in "${files[@]}"; do
        [ -s "$target/$name" ] || return 1
    done
}

if [ "${FORCE:-0}" != "1" ] && all_present; then
    say "xterm.js is already in $target; skipping (FORCE=1 fetches it again)"
    exit 0
fi

if ! python3 -m pip --version >/dev/null 2>&1; then
    "$here/ensure-apt-packages.sh" python3-pip
fi
"$here/ensure-apt-packages.sh" unzip

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT

say "downloading webssh $version from PyPI"
# webssh publishes source archives only; pip prepares its metadata, which needs setuptools
# from the registry too. A wheel, if pip picks one, is handled the same way below.
if ! python3 -m pip download --quiet --no-deps --disable-pip-version-check \
    "webssh==$version" -d "$workdir/download" >"$workdir/pip.log" 2>&1; then
    cat "$workdir/pip.log" >&2
    fail "pip could not download webssh==$version"
fi

archive="$(find "$workdir/download" -maxdepth 1 -type f \( -name '*.whl' -o -name '*.tar.gz' -o -name '*.zip' \) | head -n 1)"
[ -n "$archive" ] || fail "pip saved no webssh archive"
mkdir -p "$workdir/unpacked"
case "$archive" in
    *.tar.gz) tar -xzf "$archive" -C "$workdir/unpacked" ;;
    *) unzip -q "$archive" -d "$workdir/unpacked" ;;
esac

static="$(find "$workdir/unpacked" -type d -path '*/webssh/static' | head -n 1)"
[ -n "$static" ] || fail "$(basename "$archive") has no webssh/static folder"

mkdir -p "$target"
for name in "${files[@]}"; do
    source_file="$(find "$static" -type f -name "$name" | head -n 1)"
    [ -n "$source_file" ] || fail "$(basename "$archive") has no $name"
    install -m 0644 "$source_file" "$target/$name"
done

{
    echo "xterm.js 4.x as shipped in $(basename "$archive") (PyPI package webssh $version)."
    echo "xterm.js is MIT-licensed (c) The xterm.js authors. Fetched by scripts/fetch-xterm.sh;"
    echo "not part of the Berth repository."
    echo
    (cd "$target" && sha256sum "${files[@]}")
} >"$target/SOURCE.txt"

say "xterm.js is in $target:"
for name in "${files[@]}"; do
    say "  $target/$name ($(stat -c %s "$target/$name") bytes)"
done
