#!/usr/bin/env bash
# Puts CodeMirror 5 (the real one, from a package registry) into vendor/codemirror/.
#
# CodeMirror 5 is taken from Debian's `libjs-codemirror` package (installed with apt when missing),
# which keeps it under /usr/share/javascript/codemirror. The editor on the environment page needs
# the core, the `simple` mode addon (dockerfile and rust are written with it), `meta.js` (markdown
# reads it) and one file per language mode; they are copied flat into vendor/codemirror/ under the
# names Berth serves at /assets/codemirror/<name> (Sources/BerthHTTP/PageRoutes.swift allows exactly
# these). Nothing is committed: /vendor/ is ignored by git. Skips when the files are already there;
# FORCE=1 copies them again. CODEMIRROR_SOURCE overrides the package's folder.
set -euo pipefail

repo_root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
here="$repo_root/scripts"
target="$repo_root/vendor/codemirror"
source_dir="${CODEMIRROR_SOURCE:-/usr/share/javascript/codemirror}"
modes=(shell python javascript css xml htmlmixed markdown yaml clike go rust sql dockerfile)

# "served name=path in the package", in the order the SOURCE.txt lists them.
files=(
    "codemirror.js=lib/codemirror.js"
    "codemirror.css=lib/codemirror.css"
    "simple.js=addon/mode/simple.js"
    "meta.js=mode/meta.js"
)
for mode in "${modes[@]}"; do
    files+=("mode-$mode.js=mode/$mode/$mode.js")
done

say() { echo "fetch-codemirror: $*"; }
fail() {
    echo "fetch-codemirror: error: $*" >&2
    exit 1
}

all_present() {
    local entry
    for entry in "${files[@]}"; do
        [ -s "$target/${entry%%=*}" ] || return 1
    done
}

if [ "${FORCE:-0}" != "1" ] && all_present; then
    say "CodeMirror is already in $target; skipping (FORCE=1 copies it again)"
    exit 0
fi

if [ -z "${CODEMIRROR_SOURCE:-}" ]; then
    "$here/ensure-apt-packages.sh" libjs-codemirror
fi
[ -d "$source_dir" ] || fail "$source_dir does not exist; install Debian's libjs-codemirror (apt-get install libjs-codemirror)"

mkdir -p "$target"
for entry in "${files[@]}"; do
    name="${entry%%=*}"
    path="${entry#*=}"
    # The package links some files (codemirror.js -> lib/codemirror.js); copy what they point to.
    [ -s "$source_dir/$path" ] || fail "$source_dir/$path is missing from libjs-codemirror"
    install -m 0644 "$(readlink -f "$source_dir/$path")" "$target/$name"
done

version="$(dpkg-query -W -f='${Version}' libjs-codemirror 2>/dev/null || echo unknown)"
{
    echo "CodeMirror 5 as shipped in Debian's libjs-codemirror $version ($source_dir)."
    echo "CodeMirror is MIT-licensed (c) Marijn Haverbeke and others. Copied by scripts/fetch-codemirror.sh;"
    echo "not part of the Berth repository."
    echo
    for entry in "${files[@]}"; do
        echo "${entry%%=*} <- ${entry#*=}"
    done
    echo
    (cd "$target" && for entry in "${files[@]}"; do sha256sum "${entry%%=*}"; done)
} >"$target/SOURCE.txt"

say "CodeMirror is in $target (${#files[@]} files, $(du -cb "$target"/*.js "$target"/*.css | tail -n 1 | cut -f1) bytes)"
