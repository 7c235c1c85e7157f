# A throwaway PostgreSQL server for the postgres output's tests, sourced
# after lib.sh: initdb in a temp dir, a unix socket there and a free
# loopback port, no fsync, trust for local sockets and scram-sha-256 over
# TCP (for the password tests).  The server is always stopped at exit.
# PostgreSQL refuses to run as root, so as root it runs as `postgres`.
# PG_EXTRA_OPTS, set before sourcing, adds server settings ("-c name=value
# ...", e.g. shared_preload_libraries).
# Skips the test (exit 77) only when the PostgreSQL binaries are absent.

PGBIN=""
for d in $(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V -r); do
    if [ -x "$d/initdb" ] && [ -x "$d/pg_ctl" ]; then
        PGBIN=$d
        break
    fi
done
if [ -z "$PGBIN" ] && command -v initdb >/dev/null 2>&1; then
    PGBIN=$(dirname "$(command -v initdb)")
fi
if [ -z "$PGBIN" ] || ! command -v psql >/dev/null 2>&1; then
    echo "SKIP: PostgreSQL server binaries not installed"
    exit 77
fi

PGDIR=$(mktemp -d /tmp/vigil-pg.XXXXXX)
PGDATA_DIR="$PGDIR/data"
PGHOST_DIR="$PGDIR"
PGPORT_NUM=$(free_port)
PGUSER_NAME=postgres
export PGCONNECT_TIMEOUT=5

if [ "$(id -u)" = 0 ]; then
    id postgres >/dev/null 2>&1 || { echo "SKIP: no postgres user"; exit 77; }
    chown postgres "$PGDIR"
    pg_as() { runuser -u postgres -- "$@"; }
else
    pg_as() { "$@"; }
    PGUSER_NAME=$(id -un)
fi
chmod 700 "$PGDIR"

pg_cleanup() {
    if [ -f "$PGDATA_DIR/postmaster.pid" ]; then
        pg_as "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m immediate -w -t 20 \
            stop >/dev/null 2>&1
    fi
    if [ "${KEEP_TMP:-}" = "" ]; then rm -rf "$PGDIR"; fi
}
trap 'pg_cleanup; cleanup' EXIT

pg_fail() {
    echo "--- postgres log" >&2
    tail -n 30 "$PGDIR/server.log" >&2 2>/dev/null
    fail "$@"
}

# psql as the superuser over the socket; extra args go to psql.
pg_sql() {
    local db=$1
    shift
    psql -X -A -t -q -v ON_ERROR_STOP=1 -h "$PGHOST_DIR" -p "$PGPORT_NUM" \
        -U "$PGUSER_NAME" -d "$db" "$@"
}

pg_start() {
    pg_as "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -l "$PGDIR/server.log" -w -t 30 \
        -o "-c port=$PGPORT_NUM -c listen_addresses=127.0.0.1 \
-c unix_socket_directories=$PGHOST_DIR -c fsync=off \
-c synchronous_commit=off -c full_page_writes=off -c shared_buffers=32MB \
-c max_connections=30 -c max_wal_size=1GB ${PG_EXTRA_OPTS:-}" start \
        >/dev/null ||
        pg_fail "cannot start PostgreSQL"
    wait_for 20 "$PGBIN/pg_isready" -q -h "$PGHOST_DIR" -p "$PGPORT_NUM" ||
        pg_fail "PostgreSQL not ready"
}

# pg_restart: a fast restart, as an administrator would do it.
pg_restart() {
    pg_as "$PGBIN/pg_ctl" -D "$PGDATA_DIR" -m fast -w -t 30 \
        -l "$PGDIR/server.log" restart >/dev/null ||
        pg_fail "cannot restart PostgreSQL"
    wait_for 20 "$PGBIN/pg_isready" -q -h "$PGHOST_DIR" -p "$PGPORT_NUM" ||
        pg_fail "PostgreSQL not ready after restart"
}

pg_init() {
    pg_as "$PGBIN/initdb" -D "$PGDATA_DIR" -U "$PGUSER_NAME" -E UTF8 \
        --locale=C --no-sync --auth-local=trust \
        --auth-host=scram-sha-256 >"$PGDIR/initdb.log" 2>&1 ||
        { cat "$PGDIR/initdb.log" >&2; fail "initdb failed"; }
    pg_start
}

# pg_createdb NAME: an empty database.
pg_createdb() {
    pg_sql postgres -c "CREATE DATABASE $1" || pg_fail "createdb $1"
}

# DSN of the superuser over the socket, for vigil.
pg_dsn() {
    echo "host=$PGHOST_DIR port=$PGPORT_NUM user=$PGUSER_NAME dbname=$1"
}

pg_init
