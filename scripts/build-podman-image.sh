#!/usr/bin/env bash
# Builds the local image berth/podman:latest, the base of container labs (`berth.containers: true`),
# without any registry.
#
# The root file system is a `debootstrap --variant=minbase bookworm` from the machine's Debian
# mirror with rootless Podman and Buildah (podman, buildah, crun, uidmap, fuse-overlayfs,
# slirp4netns, catatonit, busybox-static), a `player` user (uid 1000) configured for rootless
# containers inside a Berth instance (see docs/container-labs.md), and
# /usr/share/berth/rootfs.tar: a busybox root file system a learner's Containerfile starts from
# (`FROM scratch` + `ADD rootfs.tar /`), since there is no registry to pull from. It is then
# tarred and loaded with `docker import`.
#
# Skips when the image exists; FORCE=1 rebuilds it. BERTH_PODMAN_IMAGE overrides the tag and
# BERTH_DEBIAN_MIRROR the mirror (default: the first of the machine's apt sources).
set -euo pipefail

image="${BERTH_PODMAN_IMAGE:-berth/podman:latest}"
suite=bookworm
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
packages=(podman buildah crun uidmap fuse-overlayfs slirp4netns catatonit busybox-static containernetworking-plugins ca-certificates)

say() { echo "build-podman-image: $*"; }
fail() {
    echo "build-podman-image: error: $*" >&2
    exit 1
}

"$here/ensure-docker.sh" >/dev/null

if [ "${FORCE:-0}" != "1" ] && docker image inspect "$image" >/dev/null 2>&1; then
    say "$image already exists; skipping (FORCE=1 rebuilds it)"
    exit 0
fi

[ "$(id -u)" -eq 0 ] || fail "run as root: debootstrap and the root file system need root"

"$here/ensure-apt-packages.sh" debootstrap

# The machine's own Debian mirror: the deb822 sources first, then the one-line format.
mirror="${BERTH_DEBIAN_MIRROR:-}"
if [ -z "$mirror" ]; then
    mirror="$(awk '/^URIs:/ { print $2; exit }' /etc/apt/sources.list.d/*.sources 2>/dev/null || true)"
fi
if [ -z "$mirror" ] && [ -r /etc/apt/sources.list ]; then
    mirror="$(awk '$1 == "deb" { for (i = 2; i <= NF; i++) if ($i ~ /^https?:/) { print $i; exit } }' /etc/apt/sources.list)"
fi
mirror="${mirror:-http://deb.debian.org/debian}"

started=$(date +%s)
workdir="$(mktemp -d)"
trap 'rm -rf "$workdir"' EXIT
rootfs="$workdir/rootfs"

say "debootstrap $suite from $mirror into $rootfs"
if ! debootstrap --variant=minbase --include="$(IFS=,; echo "${packages[*]}")" "$suite" "$rootfs" "$mirror" > "$workdir/debootstrap.log" 2>&1; then
    tail -n 30 "$workdir/debootstrap.log" >&2
    [ -r "$rootfs/debootstrap/debootstrap.log" ] && tail -n 30 "$rootfs/debootstrap/debootstrap.log" >&2
    fail "debootstrap failed (log above)"
fi
for tool in podman buildah crun fuse-overlayfs setpriv busybox; do
    chroot "$rootfs" sh -c "command -v $tool" >/dev/null || fail "$tool is missing from the root file system"
done

say "configuring the player user for rootless containers"
chroot "$rootfs" useradd --create-home --uid 1000 --user-group --shell /bin/bash player
# No subordinate ids: the player's containers get a single mapping (player = root inside), as
# newuidmap (setuid) cannot work under no-new-privileges and without CAP_SETUID. Files of other
# owners in an image are then stored as the player's (ignore_chown_errors below).
: > "$rootfs/etc/subuid"
: > "$rootfs/etc/subgid"
config="$rootfs/home/player/.config/containers"
mkdir -p "$config"
cat > "$config/storage.conf" <<'STORAGE'
# Rootless storage inside a Berth instance (docs/container-labs.md). The instance's root is
# itself an overlay, which cannot hold an overlay upper directory: fuse-overlayfs through
# /dev/fuse. With a single uid mapping, chown to other ids is ignored rather than failing.
[storage]
driver = "overlay"
runroot = "/tmp/containers-run-1000"
graphroot = "/home/player/.local/share/containers/storage"

[storage.options.overlay]
mount_program = "/usr/bin/fuse-overlayfs"
ignore_chown_errors = "true"
STORAGE
cat > "$config/containers.conf" <<'CONTAINERS'
# Containers of a learner inside a Berth instance (docs/container-labs.md).
# - netns host: nested containers share the instance's network (no /dev/net/tun, no slirp4netns);
#   a service listening on 8080 in a nested container answers on the instance's 8080, and
#   `-p` is accepted and ignored with a warning.
# - pidns host: nested containers share the instance's pid namespace, so their /proc is a bind
#   of the instance's; a fresh proc mount is refused because Docker masks paths in /proc.
# - keyring false: no session keyring per container (keyctl stays refused by the seccomp profile).
# - cgroups: the engine's cgroup v1 gives a rootless user no cgroup of its own; the instance's
#   memory and pids limits bound every nested container together.
[containers]
netns = "host"
pidns = "host"
keyring = false
log_driver = "k8s-file"

[engine]
cgroup_manager = "cgroupfs"
events_logger = "file"
runtime = "crun"
CONTAINERS
chroot "$rootfs" chown -R 1000:1000 /home/player/.config

say "making the busybox root file system for learners' Containerfiles"
mini="$workdir/mini"
mkdir -p "$mini/bin" "$mini/etc" "$mini/tmp" "$mini/www" "$mini/root"
install -m 0755 "$rootfs/bin/busybox" "$mini/bin/busybox"
for applet in $(chroot "$rootfs" /bin/busybox --list); do
    [ "$applet" = busybox ] || ln -s busybox "$mini/bin/$applet"
done
printf 'root:x:0:0:root:/root:/bin/sh\nnobody:x:65534:65534:nobody:/nonexistent:/bin/false\n' > "$mini/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\n' > "$mini/etc/group"
chmod 1777 "$mini/tmp"
mkdir -p "$rootfs/usr/share/berth"
tar --numeric-owner --owner=0 --group=0 -C "$mini" -cf "$rootfs/usr/share/berth/rootfs.tar" .
chmod 0644 "$rootfs/usr/share/berth/rootfs.tar"

# Smaller image: no package caches, lists, manuals or documentation.
rm -rf "$rootfs"/var/cache/apt/archives/*.deb "$rootfs"/var/lib/apt/lists/* "$rootfs"/debootstrap \
    "$rootfs"/usr/share/man/* "$rootfs"/usr/share/doc/* "$rootfs"/usr/share/info/*
echo berth > "$rootfs/etc/hostname"
# Small tools a learner reaches for that minbase lacks, from busybox-static.
for applet in wget nc vi less; do
    [ -e "$rootfs/usr/bin/$applet" ] || ln -s /bin/busybox "$rootfs/usr/local/bin/$applet"
done

say "importing $image"
tar --numeric-owner -C "$rootfs" -cf "$workdir/rootfs.tar" .
docker import \
    --change 'CMD ["/bin/bash"]' \
    --change 'ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin' \
    --change 'LABEL org.opencontainers.image.title="berth-podman" org.opencontainers.image.description="Debian bookworm with rootless Podman and Buildah for a player user (uid 1000)"' \
    --message "berth podman image from debootstrap $suite" \
    "$workdir/rootfs.tar" "$image" >/dev/null

# A quick smoke test without any network: the player user exists and Podman runs.
check="$(docker run --rm --network none --user 1000:1000 "$image" sh -c 'id -u; podman --version >/dev/null && echo podman-ok')"
[ "$(echo "$check" | tr '\n' ' ')" = "1000 podman-ok " ] || fail "smoke test of $image failed: $check"
say "built $image ($(docker image inspect -f '{{.Size}}' "$image") bytes) in $(($(date +%s) - started)) s"
