#!/usr/bin/env bash
# A real three-node Docker Swarm on this one machine, for Berth's Swarm tests (issue 15). Run as root.
#
#   scripts/swarm-harness.sh up [IMAGE...]   build it (tears an existing one down first), print the env
#   scripts/swarm-harness.sh down            tear everything down, even a half-built harness
#   scripts/swarm-harness.sh load IMAGE...   load more images of the host engine into every node (ids checked)
#   scripts/swarm-harness.sh env             print the export lines of a running harness
#   scripts/swarm-harness.sh status          the nodes as the manager sees them
#   scripts/swarm-harness.sh stop-node N     stop node N's dockerd (SIGTERM, wait, then SIGKILL its tree)
#   scripts/swarm-harness.sh start-node N    start node N's dockerd again and wait until it is Ready
#   scripts/swarm-harness.sh exec N CMD...   run CMD in node N's network namespace (DOCKER_HOST is node N)
#
# What `up` builds:
# - a bridge bsw0 (10.77.0.1/24) in the root namespace, three network namespaces bsw-node1..3 with a veth
#   each on the bridge (10.77.0.11-13, default route via 10.77.0.1), and a FORWARD rule
#   `-i bsw0 -o bsw0 -j ACCEPT` in the root namespace (the host's FORWARD policy is DROP when its dockerd
#   runs, and bridged traffic crosses it through br_netfilter);
# - one dockerd per namespace, in its own mount and UTS namespace (hostname bsw-nodeN, private tmpfs on
#   /run/docker and /run/containerd, its own /etc/docker: nothing is shared with the host's engine), with
#   its own data root, exec root, pidfile, config file and Unix socket under $STATE/nodeN/, a TLS listener
#   tcp://10.77.0.1N:2376 (--tlsverify, server certificate for that IP, signed by a CA made here), the
#   node settings Berth requires (--no-new-privileges --icc=false, default seccomp), docker0 on
#   172.31.1N.1/24, its processes in the cgroup berth-swarm/nodeN/daemon and its containers under
#   berth-swarm/nodeN/containers (so `down` finds every process);
# - a swarm: node1 is the manager (advertise 10.77.0.11), nodes 2 and 3 join it as workers;
# - a node firewall in each namespace: instances (docker0, docker_gwbridge) may not open connections to
#   the node itself (INPUT) nor to 10.77.0.0/24 (DOCKER-USER), replies excepted; rules commented "berth";
# - the images: the arguments, else $BERTH_SWARM_IMAGES (space separated; set and empty: none), else
#   every tagged image of the host engine with the label berth.environment plus berth/base:* and
#   berth-base:*, saved once from the host engine and loaded into every node, ids checked;
# - $STATE/env with the export lines the tests read (also printed on stdout):
#   BERTH_SWARM_MANAGER, BERTH_SWARM_TLS_DIR (ca.pem cert.pem key.pem of a client), BERTH_SWARM_NODES,
#   BERTH_SWARM_NODEn_SOCK (unix:// URL of node n's engine), BERTH_SWARM_NODEn_ID (its swarm node id),
#   BERTH_SWARM_NODEn_HOSTNAME, BERTH_SWARM_ENGINE_PORT, BERTH_SWARM_STATE.
#
# `up` on an existing harness tears it down first (never reuses it), so every run starts clean. When
# `up` fails it prints the daemons' logs and tears down what it built (BERTH_SWARM_KEEP_FAILED=1 keeps
# it for a look). Progress goes to stderr; stdout carries only the export lines.
#
# Settings (environment):
# - BERTH_SWARM_INSTANCE: 0-9, default 0. Instance 0 is bsw0, bsw-node1..3, 10.77.0.0/24,
#   /run/berth-swarm; instance K is bswK, bswK-node1..3, 10.77.K.0/24, /run/berth-swarm-K, so several
#   harnesses (engineers, CI) live side by side on one machine. Every command acts on its instance only.
# - STATE (default /run/berth-swarm[-K]), BERTH_SWARM_NET (first three octets of the nodes' /24).
# - BERTH_SWARM_LOG_LEVEL (dockerd's, default warn), BERTH_SWARM_WAIT (seconds to wait for a daemon or
#   the swarm, default 90), BERTH_SWARM_STOP_WAIT (seconds stop-node waits after SIGTERM, default 20;
#   0 sends no SIGTERM and kills the node's whole tree at once, like a crash).
# - BERTH_SWARM_HEARTBEAT: the swarm's dispatcher heartbeat period (e.g. 2s); default Docker's 5s, with
#   which the manager marks a dead node down about 11 s after it dies.
# Never touches the host's own dockerd, its containers or its networks.
set -euo pipefail

INSTANCE="${BERTH_SWARM_INSTANCE:-0}"
case "$INSTANCE" in
    [0-9]) ;;
    *)
        echo "swarm-harness: error: BERTH_SWARM_INSTANCE must be a digit 0-9, got '$INSTANCE'" >&2
        exit 2
        ;;
esac
if [ "$INSTANCE" = 0 ]; then
    NAME_PREFIX=bsw-
    SUFFIX=
else
    NAME_PREFIX="bsw$INSTANCE-"
    SUFFIX="-$INSTANCE"
fi
STATE="${STATE:-/run/berth-swarm$SUFFIX}"
NET="${BERTH_SWARM_NET:-10.77.$INSTANCE}"
LOG_LEVEL="${BERTH_SWARM_LOG_LEVEL:-warn}"
WAIT_SECONDS="${BERTH_SWARM_WAIT:-90}"
STOP_WAIT_SECONDS="${BERTH_SWARM_STOP_WAIT:-20}"
ENGINE_PORT=2376
BRIDGE="bsw$INSTANCE"
NODES=(1 2 3)
CGROUP_NAME="berth-swarm$SUFFIX"
DEFAULT_IMAGES=0
RULE_COMMENT=berth
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
self="$here/$(basename "${BASH_SOURCE[0]}")"

say() { echo "swarm-harness: $*" >&2; }
fail() {
    echo "swarm-harness: error: $*" >&2
    exit 1
}

node_ns() { echo "${NAME_PREFIX}node$1"; }
node_ip() { echo "$NET.1$1"; }
node_dir() { echo "$STATE/node$1"; }
node_host() { echo "unix://$STATE/node$1/docker.sock"; }
node_veth() { echo "${NAME_PREFIX}n$1"; }
node_docker() {
    local n="$1"
    shift
    DOCKER_HOST="$(node_host "$n")" DOCKER_TLS_VERIFY='' DOCKER_CERT_PATH='' DOCKER_CONTEXT='' docker "$@"
}
check_node_number() {
    case "${1:-}" in
        1 | 2 | 3) ;;
        *) fail "expected a node number 1, 2 or 3, got '${1:-}'" ;;
    esac
}

# The base directory of the cgroup hierarchy that holds processes: pids on cgroup v1 (and hybrid),
# the unified hierarchy on cgroup v2.
cgroup_base() {
    if [ -f /sys/fs/cgroup/cgroup.controllers ]; then
        echo /sys/fs/cgroup
    else
        echo /sys/fs/cgroup/pids
    fi
}

# Every pid in the cgroup subtree of node N (dockerd, containerd, shims, containers).
node_cgroup_pids() {
    local dir
    dir="$(cgroup_base)/$CGROUP_NAME/node$1"
    [ -d "$dir" ] || return 0
    find "$dir" -name cgroup.procs -exec cat {} + 2>/dev/null || true
}

pidfile_pid() {
    local file="$1" pid
    [ -s "$file" ] || return 1
    pid="$(tr -dc '0-9' <"$file")"
    [ -n "$pid" ] && kill -0 "$pid" 2>/dev/null && echo "$pid"
}

require_root() { [ "$(id -u)" -eq 0 ] || fail "run as root (namespaces, bridges, iptables and dockerd need it)"; }

lock() {
    exec 9>"$STATE.lock"
    flock -w 600 9 || fail "another swarm-harness run holds $STATE.lock"
}

ensure_prerequisites() {
    "$here/ensure-apt-packages.sh" iproute2 openssl iptables util-linux curl
    command -v dockerd >/dev/null 2>&1 || "$here/ensure-apt-packages.sh" docker.io
    command -v dockerd >/dev/null 2>&1 || fail "dockerd is missing after installing docker.io"
    command -v docker >/dev/null 2>&1 || fail "the docker CLI is missing"
}

# ---------------------------------------------------------------------------------------------------
# Certificates: one CA, a server certificate per node (SAN = the node's IP), one client certificate.

make_certificates() {
    local ca="$STATE/ca" n dir
    mkdir -p "$ca" "$STATE/client"
    chmod 700 "$ca" "$STATE/client"
    openssl req -x509 -new -newkey rsa:2048 -nodes -sha256 -days 30 \
        -subj "/CN=berth swarm harness CA" \
        -addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" \
        -keyout "$ca/ca-key.pem" -out "$ca/ca.pem" 2>/dev/null
    for n in "${NODES[@]}"; do
        dir="$(node_dir "$n")/tls"
        mkdir -p "$dir"
        chmod 700 "$dir"
        issue_certificate "$dir" "/CN=$(node_ns "$n")" \
            "subjectAltName=IP:$(node_ip "$n"),DNS:$(node_ns "$n")" "extendedKeyUsage=serverAuth"
    done
    issue_certificate "$STATE/client" "/CN=berth" "" "extendedKeyUsage=clientAuth"
}

issue_certificate() {
    local dir="$1" subject="$2" san="$3" usage="$4" ca="$STATE/ca" ext
    ext="$dir/ext.cnf"
    {
        echo "basicConstraints=CA:FALSE"
        echo "keyUsage=critical,digitalSignature,keyEncipherment"
        echo "$usage"
        [ -z "$san" ] || echo "$san"
    } >"$ext"
    openssl req -new -newkey rsa:2048 -nodes -sha256 -subj "$subject" \
        -keyout "$dir/key.pem" -out "$dir/csr.pem" 2>/dev/null
    openssl x509 -req -sha256 -days 30 -in "$dir/csr.pem" -CA "$ca/ca.pem" -CAkey "$ca/ca-key.pem" \
        -CAcreateserial -extfile "$ext" -out "$dir/cert.pem" 2>/dev/null
    cp "$ca/ca.pem" "$dir/ca.pem"
    rm -f "$dir/csr.pem" "$ext"
    chmod 600 "$dir/key.pem"
}

# ---------------------------------------------------------------------------------------------------
# Network: bridge, namespaces, veths, the root namespace's FORWARD accepts.

check_subnet_free() {
    local routes
    routes="$(ip -4 route show root "$NET.0/24"; ip -4 route show match "$NET.0/24" | grep -v '^default' || true)"
    if [ -n "$routes" ]; then
        fail "the subnet $NET.0/24 is already routed on this machine ($(echo "$routes" | tr '\n' ';')); pick another with BERTH_SWARM_NET"
    fi
}

make_network() {
    local n ns veth
    ip link add "$BRIDGE" type bridge
    ip addr add "$NET.1/24" dev "$BRIDGE"
    ip link set "$BRIDGE" up
    iptables -I FORWARD 1 -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$RULE_COMMENT-swarm-harness" -j ACCEPT
    for n in "${NODES[@]}"; do
        ns="$(node_ns "$n")"
        veth="$(node_veth "$n")"
        ip netns add "$ns"
        ip link add "$veth" type veth peer name eth0 netns "$ns"
        ip link set "$veth" master "$BRIDGE" up
        ip -n "$ns" addr add "$(node_ip "$n")/24" dev eth0
        ip -n "$ns" link set lo up
        ip -n "$ns" link set eth0 up
        ip -n "$ns" route add default via "$NET.1"
    done
}

# ---------------------------------------------------------------------------------------------------
# The daemons.

# Runs inside node N's network namespace (from `ip netns exec ... unshare --uts`), in the mount namespace
# `ip netns exec` made (its fresh /sys has no cgroup mounts: they are mounted again as on the host).
node_init() {
    local n="$1" dir source target fstype options _
    dir="$(node_dir "$n")"
    while read -r source target fstype options _; do
        mkdir -p "$target"
        mount -t "$fstype" -o "$options" "$source" "$target"
    done <"$STATE/cgroup-mounts"
    mkdir -p /run/docker /run/containerd
    mount -t tmpfs -o mode=0711 tmpfs /run/docker
    mount -t tmpfs -o mode=0711 tmpfs /run/containerd
    # dockerd's identity key (/etc/docker/key.json): one per node, so each engine has its own ID.
    if [ -d /etc/docker ]; then
        mkdir -p "$dir/etc-docker"
        mount --bind "$dir/etc-docker" /etc/docker
    fi
    hostname "$(node_ns "$n")"
    exec dockerd \
        --config-file "$dir/daemon.json" \
        --data-root "$dir/data" \
        --exec-root "$dir/exec" \
        --pidfile "$dir/dockerd.pid" \
        -H "unix://$dir/docker.sock" \
        -H "tcp://$(node_ip "$n"):$ENGINE_PORT" \
        --tlsverify \
        --tlscacert "$dir/tls/ca.pem" \
        --tlscert "$dir/tls/cert.pem" \
        --tlskey "$dir/tls/key.pem" \
        --no-new-privileges \
        --icc=false \
        --bip "172.31.1$n.1/24" \
        --cgroup-parent "/$CGROUP_NAME/node$n/containers" \
        --shutdown-timeout 5 \
        --log-level "$LOG_LEVEL"
}

start_daemon() {
    local n="$1" dir cgroup
    dir="$(node_dir "$n")"
    mkdir -p "$dir/data" "$dir/exec"
    [ -s "$dir/daemon.json" ] || echo '{}' >"$dir/daemon.json"
    cgroup="$(cgroup_base)/$CGROUP_NAME/node$n/daemon"
    mkdir -p "$cgroup"
    # The shell moves itself into the node's cgroup, then becomes `ip netns exec`, then dockerd.
    # shellcheck disable=SC2016 # $$ and $@ are the inner shell's.
    setsid sh -c 'echo $$ > "$1/cgroup.procs" && shift && exec "$@"' sh "$cgroup" \
        ip netns exec "$(node_ns "$n")" unshare --uts -- "$self" _node-init "$n" \
        >>"$dir/dockerd.log" 2>&1 </dev/null 9>&- &
    disown
}

daemon_answers() { curl -fsS --max-time 2 --unix-socket "$(node_dir "$1")/docker.sock" http://localhost/_ping >/dev/null 2>&1; }

wait_daemon() {
    local n="$1" i
    for ((i = 0; i < WAIT_SECONDS * 4; i++)); do
        daemon_answers "$n" && return 0
        sleep 0.25
    done
    fail "node $n's dockerd did not answer within ${WAIT_SECONDS}s (log: $(node_dir "$n")/dockerd.log)"
}

# Kills node N: SIGTERM to the dockerd of its pidfile, up to `wait` seconds, then SIGKILL to everything
# left in its cgroup (dockerd, containerd, shims, containers) and in its network namespace.
kill_node() {
    local n="$1" wait="$2" dir pid pids i
    dir="$(node_dir "$n")"
    if [ "$wait" -gt 0 ] && pid="$(pidfile_pid "$dir/dockerd.pid")"; then
        kill -TERM "$pid" 2>/dev/null || true
        for ((i = 0; i < wait * 4; i++)); do
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.25
        done
        if kill -0 "$pid" 2>/dev/null; then
            say "node $n's dockerd still runs ${wait}s after SIGTERM; SIGKILL"
        else
            say "node $n's dockerd exited $((i / 4)).$(((i % 4) * 25))s after SIGTERM"
        fi
    fi
    for _ in 1 2 3 4 5 6 7 8 9 10; do
        pids="$(
            node_cgroup_pids "$n"
            pidfile_pid "$dir/dockerd.pid" || true
            pidfile_pid "$dir/exec/containerd/containerd.pid" || true
            ip netns pids "$(node_ns "$n")" 2>/dev/null || true
        )"
        pids="$(echo "$pids" | grep -E '^[0-9]+$' | sort -u || true)"
        [ -n "$pids" ] || return 0
        # shellcheck disable=SC2086
        kill -KILL $pids 2>/dev/null || true
        sleep 0.3
    done
    say "warning: node $n still has processes: $(echo "$pids" | tr '\n' ' ')"
}

# ---------------------------------------------------------------------------------------------------
# Node firewall, in a node's own netfilter.

apply_node_firewall() {
    local n="$1" ns iface
    ns="$(node_ns "$n")"
    remove_node_firewall "$n"
    ip netns exec "$ns" iptables -n -L DOCKER-USER >/dev/null 2>&1 || ip netns exec "$ns" iptables -N DOCKER-USER
    for iface in docker0 docker_gwbridge; do
        # Inserted in reverse: the reply exception ends up first.
        ip netns exec "$ns" iptables -I INPUT 1 -i "$iface" -m comment --comment "$RULE_COMMENT" \
            -j REJECT --reject-with icmp-admin-prohibited
        ip netns exec "$ns" iptables -I INPUT 1 -i "$iface" -m conntrack --ctstate ESTABLISHED,RELATED \
            -m comment --comment "$RULE_COMMENT" -j ACCEPT
        ip netns exec "$ns" iptables -I DOCKER-USER 1 -i "$iface" -d "$NET.0/24" -m comment --comment "$RULE_COMMENT" \
            -j REJECT --reject-with icmp-admin-prohibited
        ip netns exec "$ns" iptables -I DOCKER-USER 1 -i "$iface" -m conntrack --ctstate ESTABLISHED,RELATED \
            -m comment --comment "$RULE_COMMENT" -j RETURN
    done
}

remove_node_firewall() {
    local ns rule
    ns="$(node_ns "$1")"
    { ip netns exec "$ns" iptables-save -t filter 2>/dev/null || true; } |
        { grep -E -- "^-A .*--comment \"?$RULE_COMMENT\"? " || true; } |
        while read -r rule; do
            read -ra args <<<"${rule/#-A /-D }"
            ip netns exec "$ns" iptables -t filter "${args[@]}" 2>/dev/null || true
        done
}

# ---------------------------------------------------------------------------------------------------
# Swarm.

make_swarm() {
    local token n
    node_docker 1 swarm init --advertise-addr "$(node_ip 1)" --listen-addr "$(node_ip 1):2377" >/dev/null
    token="$(node_docker 1 swarm join-token -q worker)"
    for n in 2 3; do
        node_docker "$n" swarm join --advertise-addr "$(node_ip "$n")" --listen-addr "$(node_ip "$n"):2377" \
            --token "$token" "$(node_ip 1):2377" >/dev/null
    done
    if [ -n "${BERTH_SWARM_HEARTBEAT:-}" ]; then
        node_docker 1 swarm update --dispatcher-heartbeat "$BERTH_SWARM_HEARTBEAT" >/dev/null
    fi
    wait_ready_nodes 3
}

ready_node_count() { node_docker 1 node ls --format '{{.Status}}' 2>/dev/null | grep -c '^Ready$' || true; }

wait_ready_nodes() {
    local want="$1" i
    for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
        [ "$(ready_node_count)" -ge "$want" ] && return 0
        sleep 0.5
    done
    node_docker 1 node ls >&2 || true
    fail "the swarm did not show $want Ready nodes within ${WAIT_SECONDS}s"
}

wait_node_ready() {
    local n="$1" i state
    for ((i = 0; i < WAIT_SECONDS * 2; i++)); do
        state="$(node_docker 1 node inspect -f '{{.Status.State}}' "$(node_ns "$n")" 2>/dev/null || true)"
        [ "$state" = ready ] && return 0
        sleep 0.5
    done
    fail "node $n did not become Ready on the manager within ${WAIT_SECONDS}s"
}

# ---------------------------------------------------------------------------------------------------
# Images.

default_images() {
    {
        docker images --filter label=berth.environment --format '{{.Repository}}:{{.Tag}}'
        docker images --format '{{.Repository}}:{{.Tag}}' berth/base
        docker images --format '{{.Repository}}:{{.Tag}}' berth-base
    } 2>/dev/null | grep -v '<none>' | sort -u || true
}

# "name:tag id" of every tagged image of an engine (the docker CLI's environment picks the engine).
image_table() { docker images --no-trunc --format '{{.Repository}}:{{.Tag}} {{.ID}}' | grep -v '<none>' | sort -u; }

# Saves the images from the host engine to $STATE/images.tar and writes "name:tag id" of each to
# $STATE/images.new. The default list is read again when an image vanished in between (tests of other
# engineers remove theirs); named images must exist.
save_images() {
    local images=("$@") attempt
    for attempt in 1 2 3; do
        if docker save -o "$STATE/images.tar" "${images[@]}" 2>"$STATE/save.log"; then
            image_table | awk 'NR == FNR { want[$1] = 1; next } ($1 in want)' <(printf '%s\n' "${images[@]}") - \
                >"$STATE/images.new"
            [ "$(wc -l <"$STATE/images.new")" -eq "${#images[@]}" ] && return 0
        fi
        [ "$DEFAULT_IMAGES" = 1 ] || fail "docker save failed for: ${images[*]}: $(cat "$STATE/save.log")"
        say "an image vanished while saving ($(cat "$STATE/save.log")); listing them again (attempt $attempt)"
        mapfile -t images < <(default_images)
    done
    fail "could not save a stable set of images: $(cat "$STATE/save.log")"
}

# Loads the images into every node and checks their ids; $STATE/images lists all loaded so far.
load_images() {
    local images=("$@") n failed=0 pids=() missing
    touch "$STATE/images"
    if [ "${#images[@]}" -eq 0 ]; then
        say "no images to load"
        return 0
    fi
    say "saving ${#images[@]} image(s) from the host engine"
    save_images "${images[@]}"
    say "loading $(wc -l <"$STATE/images.new") image(s) into every node"
    for n in "${NODES[@]}"; do
        node_docker "$n" load -q -i "$STATE/images.tar" >"$(node_dir "$n")/load.log" 2>&1 &
        pids+=("$!")
    done
    for n in "${NODES[@]}"; do
        wait "${pids[$((n - 1))]}" || {
            say "loading the images into node $n failed: $(tail -n 5 "$(node_dir "$n")/load.log")"
            failed=1
        }
    done
    rm -f "$STATE/images.tar"
    [ "$failed" -eq 0 ] || fail "docker load failed"
    for n in "${NODES[@]}"; do
        # Every "name:tag id" of the host must be on the node, with the same id.
        missing="$(comm -23 "$STATE/images.new" <(DOCKER_HOST="$(node_host "$n")" image_table))"
        [ -z "$missing" ] || fail "node $n lacks, or has another id for: $(echo "$missing" | tr '\n' ';')"
    done
    say "loaded $(wc -l <"$STATE/images.new") image(s) into every node; ids match (list: $STATE/images)"
    sort -u "$STATE/images" "$STATE/images.new" >"$STATE/images.tmp"
    mv "$STATE/images.tmp" "$STATE/images"
    rm -f "$STATE/images.new"
}

# ---------------------------------------------------------------------------------------------------
# Commands.

write_env() {
    local n nodes=()
    for n in "${NODES[@]}"; do nodes+=("$(node_ip "$n")"); done
    {
        echo "export BERTH_SWARM_STATE=$STATE"
        echo "export BERTH_SWARM_MANAGER=$(node_host 1)"
        echo "export BERTH_SWARM_TLS_DIR=$STATE/client"
        echo "export BERTH_SWARM_ENGINE_PORT=$ENGINE_PORT"
        echo "export BERTH_SWARM_NODES=\"${nodes[*]}\""
        for n in "${NODES[@]}"; do
            echo "export BERTH_SWARM_NODE${n}_SOCK=$(node_host "$n")"
            echo "export BERTH_SWARM_NODE${n}_HOSTNAME=$(node_ns "$n")"
            echo "export BERTH_SWARM_NODE${n}_ID=$(node_docker "$n" info -f '{{.Swarm.NodeID}}')"
        done
    } >"$STATE/env.tmp"
    mv "$STATE/env.tmp" "$STATE/env"
}

harness_exists() {
    [ -e "$STATE" ] && return 0
    ip link show "$BRIDGE" >/dev/null 2>&1 && return 0
    ip netns list 2>/dev/null | grep -q "^${NAME_PREFIX}node" && return 0
    return 1
}

on_up_failure() {
    local status=$? n
    trap - EXIT
    [ "$status" -ne 0 ] || return 0
    for n in "${NODES[@]}"; do
        if [ -s "$(node_dir "$n")/dockerd.log" ]; then
            say "last lines of node $n's dockerd log:"
            tail -n 15 "$(node_dir "$n")/dockerd.log" >&2 || true
        fi
    done
    if [ "${BERTH_SWARM_KEEP_FAILED:-0}" = 1 ]; then
        say "up failed; the half-built harness is kept (BERTH_SWARM_KEEP_FAILED=1); '$self down' removes it"
    else
        say "up failed; tearing down what was built"
        do_down || true
    fi
    exit "$status"
}

do_up() {
    local images=() n started
    started="$(date +%s.%N)"
    DEFAULT_IMAGES=0
    if [ "$#" -gt 0 ]; then
        images=("$@")
    elif [ -n "${BERTH_SWARM_IMAGES+set}" ]; then
        read -ra images <<<"$BERTH_SWARM_IMAGES"
    else
        DEFAULT_IMAGES=1
        mapfile -t images < <(default_images)
    fi
    if harness_exists; then
        say "a harness exists; tearing it down first"
        do_down
    fi
    check_subnet_free
    trap on_up_failure EXIT
    mkdir -p "$STATE"
    chmod 711 "$STATE"
    grep -E '^[^ ]+ /sys/fs/cgroup[ /]' /proc/self/mounts >"$STATE/cgroup-mounts" ||
        fail "no cgroup file system is mounted under /sys/fs/cgroup"
    say "certificates"
    make_certificates
    say "network: $BRIDGE $NET.1/24, namespaces $(node_ns 1)..3"
    make_network
    say "starting three dockerd"
    for n in "${NODES[@]}"; do start_daemon "$n"; done
    for n in "${NODES[@]}"; do wait_daemon "$n"; done
    for n in "${NODES[@]}"; do apply_node_firewall "$n"; done
    say "swarm: manager $(node_ip 1), workers $(node_ip 2) $(node_ip 3)"
    make_swarm
    load_images ${images[@]+"${images[@]}"}
    write_env
    trap - EXIT
    say "up in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s; env in $STATE/env"
    cat "$STATE/env"
}

do_down() {
    local n mount dir
    # Everything is thrown away: no graceful stop, SIGKILL at once (dockerd and containerd by their
    # pidfiles, then whatever is left in the node's cgroup and network namespace).
    for n in "${NODES[@]}"; do kill_node "$n" 0; done
    # Anything still mounted under the state directory in this namespace (the daemons' own mounts
    # lived in their mount namespaces, gone with their processes).
    if [ -n "$STATE" ] && [ "$STATE" != / ]; then
        awk -v s="$STATE" '$2 == s || index($2, s "/") == 1 { print $2 }' /proc/self/mounts | sort -r |
            while read -r mount; do umount -l "$mount" 2>/dev/null || true; done
    fi
    for n in "${NODES[@]}"; do
        ip netns del "$(node_ns "$n")" 2>/dev/null || true
        ip link del "$(node_veth "$n")" 2>/dev/null || true
    done
    ip link del "$BRIDGE" 2>/dev/null || true
    while iptables -D FORWARD -i "$BRIDGE" -o "$BRIDGE" -m comment --comment "$RULE_COMMENT-swarm-harness" -j ACCEPT 2>/dev/null; do :; done
    for dir in /sys/fs/cgroup/*/"$CGROUP_NAME" "/sys/fs/cgroup/$CGROUP_NAME"; do
        [ -d "$dir" ] || continue
        for _ in 1 2 3 4 5; do
            find "$dir" -depth -type d -exec rmdir {} + 2>/dev/null || true
            [ -d "$dir" ] || break
            sleep 0.3
        done
        [ ! -d "$dir" ] || say "warning: could not remove the cgroup $dir"
    done
    if [ -n "$STATE" ] && [ "$STATE" != / ]; then
        for _ in 1 2 3; do
            [ -e "$STATE" ] || break
            # The data roots hold every loaded image: removed side by side.
            for n in "${NODES[@]}"; do rm -rf --one-file-system "$(node_dir "$n")" & done
            wait
            rm -rf --one-file-system "$STATE" 2>/dev/null && break
            # A process that outlived the kill wrote into it meanwhile: kill again, remove again.
            sleep 0.5
            for n in "${NODES[@]}"; do kill_node "$n" 0; done
        done
        [ ! -e "$STATE" ] || say "warning: could not remove $STATE"
    fi
}

do_stop_node() {
    local n="$1"
    check_node_number "$n"
    [ -d "$(node_dir "$n")" ] || fail "no harness at $STATE (run up first)"
    if [ "$STOP_WAIT_SECONDS" -gt 0 ]; then
        say "stopping node $n's dockerd (SIGTERM, up to ${STOP_WAIT_SECONDS}s, then SIGKILL)"
    else
        say "killing node $n (SIGKILL to its dockerd, containerd, shims and containers)"
    fi
    kill_node "$n" "$STOP_WAIT_SECONDS"
    say "node $n stopped"
}

do_start_node() {
    local n="$1"
    check_node_number "$n"
    [ -d "$(node_dir "$n")" ] || fail "no harness at $STATE (run up first)"
    if pidfile_pid "$(node_dir "$n")/dockerd.pid" >/dev/null; then
        say "node $n's dockerd is already running"
    else
        # Leftovers of a stopped daemon (a stale pidfile refuses the start).
        rm -f "$(node_dir "$n")/dockerd.pid" "$(node_dir "$n")/docker.sock"
        start_daemon "$n"
    fi
    wait_daemon "$n"
    apply_node_firewall "$n"
    if [ "$n" = 1 ]; then
        wait_ready_nodes 1
    elif daemon_answers 1; then
        wait_node_ready "$n"
    fi
    say "node $n started"
}

main() {
    local command="${1:-}"
    [ "$#" -eq 0 ] || shift
    case "$command" in
        _node-init)
            node_init "$@"
            ;;
        up)
            require_root
            ensure_prerequisites
            lock
            do_up "$@"
            ;;
        down)
            require_root
            lock
            local started
            started="$(date +%s.%N)"
            do_down
            say "down in $(awk -v s="$started" -v e="$(date +%s.%N)" 'BEGIN { printf "%.1f", e - s }') s"
            rm -f "$STATE.lock"
            ;;
        load)
            require_root
            [ -s "$STATE/env" ] || fail "no harness at $STATE (run up first)"
            [ "$#" -gt 0 ] || fail "usage: $0 load IMAGE..."
            lock
            load_images "$@"
            ;;
        env)
            [ -s "$STATE/env" ] || fail "no harness at $STATE (run up first)"
            cat "$STATE/env"
            ;;
        status)
            [ -d "$STATE" ] || fail "no harness at $STATE (run up first)"
            node_docker 1 node ls
            ;;
        stop-node)
            require_root
            lock
            do_stop_node "${1:-}"
            ;;
        start-node)
            require_root
            lock
            do_start_node "${1:-}"
            ;;
        exec)
            require_root
            check_node_number "${1:-}"
            local n="$1"
            shift
            [ "$#" -gt 0 ] || fail "usage: $0 exec N COMMAND..."
            DOCKER_HOST="$(node_host "$n")" exec ip netns exec "$(node_ns "$n")" "$@"
            ;;
        -h | --help | help)
            sed -n '2,/^set -euo/p' "$self" | sed '$d' | sed 's/^# \{0,1\}//'
            ;;
        *)
            echo "usage: $0 up [IMAGE...] | down | load IMAGE... | env | status | stop-node N | start-node N | exec N CMD..." >&2
            exit 2
            ;;
    esac
}

main "$@"
