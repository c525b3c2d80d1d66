#!/usr/bin/env bash
# Makes sure the PostgreSQL server the tests use answers, and prints its URL on stdout (the only
# line this script writes there; everything else goes to stderr):
#
#     postgres://berth@127.0.0.1:55432/berth_test
#
# Installs Debian's `postgresql` when missing, then keeps a dedicated cluster, `berthtest`, of the
# installed major version: created once (`pg_createcluster`, listening on 127.0.0.1 only,
# loopback trusted, so no password), started with `pg_ctlcluster` when it is down (no systemd
# needed), left alone when it runs. The role `berth` (LOGIN CREATEDB) and the database
# `berth_test` it owns are created when missing. Tests make their own schemas (or databases)
# inside it. Settings are those of a throwaway test server: no fsync, more connections.
#
# Safe to run again and from two shells at once (a lock serialises runs). Needs root only when
# something must be installed, created or started.
# BERTH_POSTGRES_WAIT: seconds to wait for the server to answer (default 60).
# Usage: url="$(scripts/ensure-postgres.sh)"
set -euo pipefail

# stdout is kept for the URL alone; every other output, the tools' included, goes to stderr.
exec 3>&1 1>&2

cluster=berthtest
port=55432
host=127.0.0.1
role=berth
database=berth_test
url="postgres://$role@$host:$port/$database"
wait_seconds="${BERTH_POSTGRES_WAIT:-60}"
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

# The test server's settings, kept in the cluster's conf.d (which Debian's postgresql.conf reads).
# They are rewritten when they differ, and a running server is then restarted, so a cluster made
# by an older version of this script gets them too.
conf_wanted="# Written by Berth's scripts/ensure-postgres.sh; rewritten by it when it changes.
# Loopback only, and trusted (initdb -A trust): a throwaway server for tests.
listen_addresses = '$host'
# Several test processes, each with a connection pool, and two replicas in the replica test.
max_connections = 300
# The tests' data need not survive a power cut.
fsync = off
synchronous_commit = off
full_page_writes = off"

say() { echo "ensure-postgres: $*"; }
fail() {
    echo "ensure-postgres: error: $*"
    exit 1
}
need_root() {
    [ "$(id -u)" -eq 0 ] || fail "$1 needs root; run this script as root"
}

# Runs a command that may start the server, with every file descriptor above stderr closed: the
# server outlives this script, and must not hold the caller's stdout pipe (fd 3 here, so
# `url="$(scripts/ensure-postgres.sh)"` would never end), the lock, or a pipe of make's.
detached() {
    (
        for fd_path in /proc/"$BASHPID"/fd/*; do
            fd="${fd_path##*/}"
            if [ "$fd" -gt 2 ]; then eval "exec $fd>&-"; fi
        done
        exec "$@" </dev/null
    )
}

# psql as the superuser over loopback (the cluster trusts it); -X ignores any ~/.psqlrc.
admin_psql() {
    psql -X -q -v ON_ERROR_STOP=1 -h "$host" -p "$port" -U postgres -d postgres "$@"
}

server_answers() {
    pg_isready -q -h "$host" -p "$port" -t 2 >/dev/null 2>&1
}

# Fast path: the server answers, has its settings, and the role may log in to its database with
# CREATEDB. Nothing to install, create or start, so no root and no lock are needed.
if command -v pg_isready >/dev/null 2>&1 && server_answers &&
    [ "$(cat /etc/postgresql/*/"$cluster"/conf.d/berth-test.conf 2>/dev/null)" = "$conf_wanted" ] &&
    [ "$(psql -X -qtA -h "$host" -p "$port" -U "$role" -d "$database" \
        -c "SELECT rolcreatedb FROM pg_roles WHERE rolname = current_user" 2>/dev/null)" = "t" ]; then
    say "cluster $cluster answers on $host:$port; nothing to do"
    echo "$url" >&3
    exit 0
fi

if ! command -v pg_createcluster >/dev/null 2>&1 || ! ls /usr/lib/postgresql/*/bin/initdb >/dev/null 2>&1; then
    need_root "installing PostgreSQL"
    say "installing Debian's postgresql"
    "$here/ensure-apt-packages.sh" postgresql
fi

# One run at a time: two `make test` started together must not both create the cluster.
lock_file=/run/lock/berth-ensure-postgres.lock
[ -d /run/lock ] || lock_file=/tmp/berth-ensure-postgres.lock
exec 9>>"$lock_file" || fail "cannot open the lock file $lock_file"
flock -w 600 9 || fail "another ensure-postgres.sh has held $lock_file for 10 minutes"

# The cluster's line in pg_lsclusters: version, name, port, status, owner, data dir, log file.
cluster_line() {
    pg_lsclusters --no-header 2>/dev/null | awk -v name="$cluster" '$2 == name { print; exit }'
}

line="$(cluster_line)"
if [ -z "$line" ]; then
    need_root "creating the cluster $cluster"
    # The newest installed major version, read from the server binaries present.
    version="$(find /usr/lib/postgresql -mindepth 3 -maxdepth 3 -path '*/bin/initdb' 2>/dev/null |
        awk -F/ '{ print $5 }' | sort -n | tail -n 1)"
    [ -n "$version" ] || fail "no PostgreSQL server binaries under /usr/lib/postgresql after installing postgresql"
    say "creating cluster $version/$cluster on $host:$port"
    pg_createcluster "$version" "$cluster" -p "$port" -- -A trust
    line="$(cluster_line)"
    [ -n "$line" ] || fail "pg_createcluster $version $cluster succeeded but pg_lsclusters does not list it"
fi

version="$(awk '{ print $1 }' <<<"$line")"
cluster_port="$(awk '{ print $3 }' <<<"$line")"
status="$(awk '{ print $4 }' <<<"$line")"
[ "$cluster_port" = "$port" ] ||
    fail "cluster $version/$cluster exists but is set to port $cluster_port, not $port; drop it (pg_dropcluster --stop $version $cluster) and run this script again"

conf_file="/etc/postgresql/$version/$cluster/conf.d/berth-test.conf"
if [ "$(cat "$conf_file" 2>/dev/null)" != "$conf_wanted" ]; then
    need_root "configuring the cluster $version/$cluster"
    say "writing $conf_file"
    printf '%s\n' "$conf_wanted" >"$conf_file"
    case "$status" in
    online*)
        say "restarting cluster $version/$cluster for its new settings"
        detached pg_ctlcluster "$version" "$cluster" restart ||
            fail "pg_ctlcluster $version $cluster restart failed; see /var/log/postgresql/postgresql-$version-$cluster.log"
        status=online
        ;;
    esac
fi

case "$status" in
online*)
    say "cluster $version/$cluster is running"
    ;;
*)
    need_root "starting the cluster $version/$cluster"
    say "starting cluster $version/$cluster (was $status)"
    # pg_ctlcluster makes the socket directory (/var/run/postgresql) when it is missing.
    detached pg_ctlcluster "$version" "$cluster" start ||
        fail "pg_ctlcluster $version $cluster start failed; see /var/log/postgresql/postgresql-$version-$cluster.log"
    ;;
esac

deadline=$((SECONDS + wait_seconds))
until server_answers; do
    if [ "$SECONDS" -ge "$deadline" ]; then
        fail "cluster $version/$cluster did not answer on $host:$port within ${wait_seconds}s; see /var/log/postgresql/postgresql-$version-$cluster.log"
    fi
    sleep 0.2
done

# The role and its database, when missing. CREATE DATABASE cannot run inside a DO block, so the
# database is looked up first.
admin_psql <<SQL
DO \$\$
BEGIN
    IF NOT EXISTS (SELECT 1 FROM pg_roles WHERE rolname = '$role') THEN
        CREATE ROLE $role LOGIN CREATEDB;
    ELSE
        ALTER ROLE $role LOGIN CREATEDB;
    END IF;
END
\$\$;
SQL
if [ "$(admin_psql -tA -c "SELECT 1 FROM pg_database WHERE datname = '$database'")" != "1" ]; then
    say "creating database $database owned by $role"
    admin_psql -c "CREATE DATABASE $database OWNER $role"
fi

say "cluster $version/$cluster answers on $host:$port"
echo "$url" >&3
