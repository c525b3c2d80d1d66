#!/usr/bin/env bash
# Builds the local image berth/base:latest without any registry.
#
# The root file system is made here from Debian's busybox-static binary: /bin/busybox, a
# symlink for every applet, a `player` user (uid 1000, home /home/player) and the usual
# directories. It is then tarred and loaded with `docker import`.
#
# Skips when the image exists; FORCE=1 rebuilds it. BERTH_BASE_IMAGE overrides the tag.
set -euo pipefail

image="${BERTH_BASE_IMAGE:-berth/base:latest}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
required_applets=(sh ash sleep httpd nc wget ps id stty ls cat find grep env)

say() { echo "build-base-image: $*"; }
fail() {
    echo "build-base-image: error: $*" >&2
    exit 1
}

"$here/ensure-docker.sh" >/dev/null

if [ "${FORCE:-0}" != "1" ] && docker image inspect "$image" >/dev/null 2>&1; then
    say "$image already exists; skipping (FORCE=1 rebuilds it)"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || fail "run as root: the root file system needs files owned by root and by uid 1000"

"$here/ensure-apt-packages.sh" busybox-static
busybox="$(dpkg-query -L busybox-static | grep -E '/bin/busybox$' | head -n 1)"
[ -x "$busybox" ] || fail "busybox-static is installed but its binary was not found"

for applet in "${required_applets[@]}"; do
    "$busybox" --list | grep -qx "$applet" || fail "this busybox has no '$applet' applet"
done

workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
rootfs="$workdir/rootfs"

say "assembling the root file system in $rootfs"
mkdir -p "$rootfs"
cd "$rootfs"
mkdir -p bin sbin usr/bin usr/sbin usr/local/bin etc home/player root tmp opt srv var/tmp var/log proc sys dev run
install -m 0755 "$busybox" bin/busybox

# One symlink per applet, at the path busybox itself reports (bin/sh, usr/bin/wget, ...).
while IFS= read -r applet_path; do
    case "$applet_path" in
        bin/busybox | linuxrc | "") continue ;;
    esac
    mkdir -p "$(dirname "$applet_path")"
    ln -sf /bin/busybox "$applet_path"
done < <("$busybox" --list-full)

cat > etc/passwd <<'PASSWD'
root:x:0:0:root:/root:/bin/sh
player:x:1000:1000:player:/home/player:/bin/sh
nobody:x:65534:65534:nobody:/nonexistent:/bin/false
PASSWD
cat > etc/group <<'GROUP'
root:x:0:
player:x:1000:
nogroup:x:65534:
GROUP
cat > etc/shadow <<'SHADOW'
root:!:19000:0:99999:7:::
player:!:19000:0:99999:7:::
nobody:!:19000:0:99999:7:::
SHADOW
echo berth > etc/hostname
cat > etc/profile <<'PROFILE'
# Login shells of Berth instances read this file.
export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME="${HOME:-/home/player}"
export TERM="${TERM:-xterm-256color}"
if [ "$(id -u)" -eq 0 ]; then
    PS1='\u@\h:\w# '
else
    PS1='\u@\h:\w$ '
fi
export PS1
[ -r /etc/motd ] && cat /etc/motd
PROFILE
cat > etc/os-release <<RELEASE
NAME="Berth base"
ID=berth-base
PRETTY_NAME="Berth base ($("$busybox" | head -n 1 | cut -d' ' -f1-2))"
RELEASE
: > etc/motd

chmod 0644 etc/passwd etc/group etc/hostname etc/profile etc/os-release etc/motd
chmod 0600 etc/shadow
chmod 1777 tmp var/tmp
chmod 0700 root
chown 1000:1000 home/player
chmod 0755 home/player

say "importing $image"
tar --numeric-owner -C "$rootfs" -cf "$workdir/rootfs.tar" .
docker import \
    --change 'CMD ["/bin/sh"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL org.opencontainers.image.title="berth-base" org.opencontainers.image.description="busybox root file system with a player user (uid 1000)"' \
    --message "berth base image from Debian busybox-static" \
    "$workdir/rootfs.tar" "$image" >/dev/null

# A quick smoke test: the player user exists and the shell runs, without any network.
check="$(docker run --rm --network none --user 1000:1000 "$image" /bin/sh -c 'id -u; id -g; echo "$HOME"')"
[ "$(echo "$check" | tr '\n' ' ')" = "1000 1000 /home/player " ] || fail "smoke test of $image failed: $check"
say "built $image ($(docker image inspect -f '{{.Size}}' "$image") bytes)"
