#!/usr/bin/env bash
# Start (if not yet running) a private PostgreSQL server for the test suite,
# on 127.0.0.1:${SHOUWANG_TEST_PG_PORT:-55432}, and print the URL the tests
# take in SHOUWANG_TEST_PG_URL. Installs Debian's postgresql when missing.
# Usage: eval "$(scripts/test-postgres.sh)"; scripts/test-postgres.sh stop
set -euo pipefail

port="${SHOUWANG_TEST_PG_PORT:-55432}"
dir="${SHOUWANG_TEST_PG_DIR:-/tmp/shouwang-test-pg}"

bindir() { ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1; }

if [ -z "$(bindir)" ]; then
    echo "installing PostgreSQL from Debian's packages..." >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq >&2
    apt-get install -y -qq postgresql >&2
fi
bin="$(bindir)"

# PostgreSQL refuses to run as root: run it as an unprivileged user.
# On a new machine Debian's package may have left the `postgres` group
# without its user; plain `useradd postgres` then stops with "group postgres
# exists", so the user joins the group that is there.
ensure_pg_user() {
    id postgres >/dev/null 2>&1 && return 0
    if getent group postgres >/dev/null; then
        useradd --system --gid postgres --home-dir /var/lib/postgresql --shell /bin/bash postgres
    else
        useradd --system --user-group --home-dir /var/lib/postgresql --shell /bin/bash postgres
    fi
}
as_pg() {
    if [ "$(id -u)" = 0 ]; then
        ensure_pg_user
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

if [ "${1:-start}" = stop ]; then
    as_pg "$bin/pg_ctl" -D "$dir" -m fast stop >&2 || true
    exit 0
fi

if ! "$bin/pg_isready" -q -h 127.0.0.1 -p "$port"; then
    if [ ! -f "$dir/PG_VERSION" ]; then
        mkdir -p "$dir"
        [ "$(id -u)" = 0 ] && { ensure_pg_user; chown postgres "$dir"; }
        as_pg "$bin/initdb" -D "$dir" -U postgres --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
    fi
    as_pg "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w \
        -o "-c listen_addresses=127.0.0.1 -p $port -k $dir -c fsync=off -c max_connections=200" start >&2
fi
echo "export SHOUWANG_TEST_PG_URL='host=127.0.0.1 port=$port user=postgres dbname=postgres'"
