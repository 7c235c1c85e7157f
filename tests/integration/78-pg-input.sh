#!/bin/sh
# The postgres input against a real PostgreSQL with pg_stat_statements
# loaded: commits grow, connections and locks of a session held open,
# the test's statement among the top statements, table vacuum metrics
# equal to what the views say; a missing extension, a refused query and
# an unreachable server each give one warning while the rest is collected;
# a streaming standby: replication lag on the primary and on the standby.
PG_EXTRA_OPTS="-c shared_preload_libraries=pg_stat_statements"
. "$(dirname "$0")/lib.sh"
need_plugin in_postgres
. "$(dirname "$0")/pg-lib.sh"

pg_createdb app
pg_sql app -c "CREATE EXTENSION pg_stat_statements" ||
    pg_fail "CREATE EXTENSION pg_stat_statements"
pg_sql app -c "CREATE TABLE t78 (id int PRIMARY KEY, v int)
    WITH (autovacuum_enabled = off);
    INSERT INTO t78 SELECT g, g % 10 FROM generate_series(1, 1000) g;
    DELETE FROM t78 WHERE id <= 100" || pg_fail "create t78"
for i in $(seq 1 30); do
    echo "SELECT count(*) FROM t78 WHERE v > $i % 7;"
done | pg_sql app >/dev/null || pg_fail "load"
commits0=$(pg_sql app -c "SELECT xact_commit FROM pg_stat_database
    WHERE datname = 'app'")

# a session idle in a transaction that holds a SHARE lock, for 20 s
{ echo "BEGIN; LOCK TABLE t78 IN SHARE MODE; SELECT 1;"; sleep 20; } |
    pg_sql app >/dev/null 2>&1 &
PIDS="$PIDS $!"
idle_sessions() {
    [ "$(pg_sql app -c "SELECT count(*) FROM pg_stat_activity
        WHERE state = 'idle in transaction'")" = 1 ]
}
wait_for 10 idle_sessions || pg_fail "no idle session"

DSN=$(pg_dsn app)
cat >"$T/pg.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  db:
    inputs:
      - name: postgres
        dsn: "$DSN"
        interval: 1s
        top_statements: 5
    outputs:
      - name: file
        path: $T/out.jsonl
YAML
chmod 600 "$T/pg.yaml"
start_vigil pg -c "$T/pg.yaml"
sleep 1.5
for i in $(seq 1 20); do echo "SELECT 1;"; done |
    pg_sql app -c "CREATE TABLE IF NOT EXISTS t78b (x int)" >/dev/null
for i in $(seq 1 20); do
    pg_sql app -c "INSERT INTO t78b VALUES ($i)" >/dev/null
done
sleep 2
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "no exit after SIGTERM"
[ "$RC" -eq 0 ] || fail "exit code $RC"
commits1=$(pg_sql app -c "SELECT xact_commit FROM pg_stat_database
    WHERE datname = 'app'")

# every sample as "name|labels-as-k=v,...|value", labels sorted
python3 - "$T/out.jsonl" >"$T/samples.txt" <<'PY' || fail "bad JSON output"
import json, sys
for line in open(sys.argv[1]):
    e = json.loads(line)
    l = ",".join("%s=%s" % kv for kv in sorted(e["labels"].items()))
    print("%s|%s|%r|%s" % (e["name"], l, e["value"], e["time"]))
PY
S="server=$PGHOST_DIR:$PGPORT_NUM"
# vals NAME LABELS: the values of that series, in order
vals() {
    awk -F'|' -v n="$1" -v l="$2" '$1 == n && $2 == l { print $3 }' \
        "$T/samples.txt"
}
last() { vals "$@" | tail -n 1; }

[ "$(last postgres.up "$S")" = 1 ] || fail "postgres.up is not 1"
c=$(vals postgres.xact_commit "db=app,$S")
first=$(echo "$c" | head -n 1)
lastc=$(echo "$c" | tail -n 1)
[ -n "$first" ] || fail "no xact_commit for app"
awk -v a="$first" -v b="$lastc" -v c0="$commits0" -v c1="$commits1" \
    'BEGIN { exit !(a >= c0 && b >= a + 20 && b <= c1) }' ||
    fail "xact_commit: $commits0 <= $first, +20 <= $lastc <= $commits1"
ok "commits grow with the load ($first -> $lastc)"

[ "$(last postgres.connections.max "$S")" = 30 ] ||
    fail "connections.max: $(last postgres.connections.max "$S")"
[ "$(last postgres.connections "db=app,$S,state=idle in transaction")" = 1 ] ||
    fail "idle in transaction: $(grep 'postgres.connections|' "$T/samples.txt" | tail -n 4)"
v=$(last postgres.longest_transaction_seconds "$S")
awk -v v="$v" 'BEGIN { exit !(v >= 2) }' ||
    fail "longest_transaction_seconds: $v"
[ "$(last postgres.locks "granted=true,mode=ShareLock,$S")" -ge 1 ] ||
    fail "no granted ShareLock"
ok "connections by state, max_connections, transaction age, locks"

want=$(pg_sql app -c "SELECT calls FROM pg_stat_statements
    WHERE query LIKE 'SELECT count(*) FROM t78 WHERE v > \$1%'")
got=$(grep '^postgres.statement.calls|db=app,query=SELECT count(\*) FROM t78 WHERE v > \$1 % \$2,queryid=' \
    "$T/samples.txt" | tail -n 1 | cut -d'|' -f3)
[ -n "$got" ] && [ "$got" = "$want" ] ||
    fail "statement calls: got '$got', pg_stat_statements says '$want'"
grep -q '^postgres.statement.mean_seconds|db=app,query=SELECT count(\*) FROM t78' \
    "$T/samples.txt" || fail "no mean_seconds"
n=$(grep '^postgres.statement.calls|' "$T/samples.txt" |
    awk -F'|' '{ print $4 }' | sort | uniq -c | sort -n | tail -n 1 |
    awk '{ print $1 }')
[ "$n" -ge 2 ] && [ "$n" -le 5 ] ||
    fail "$n statements in a collection, top_statements is 5"
ok "top statements: the test's query with $got calls"

dead=$(pg_sql app -c "SELECT n_dead_tup FROM pg_stat_user_tables
    WHERE relname = 't78'")
[ "$(last postgres.table.dead_tuples "db=app,schema=public,$S,table=t78")" = "$dead" ] ||
    fail "dead tuples: want $dead"
age=$(pg_sql app -c "SELECT age(relfrozenxid) FROM pg_class
    WHERE relname = 't78'")
got=$(last postgres.table.frozenxid_age "db=app,schema=public,$S,table=t78")
awk -v a="$got" -v b="$age" 'BEGIN { exit !(a > 0 && a <= b) }' ||
    fail "frozenxid age $got, now $age"
ok "table dead tuples ($dead) and frozenxid age"

for m in postgres.blks_hit postgres.tup_inserted postgres.cache_hit_ratio \
    postgres.database_size_bytes; do
    [ -n "$(last "$m" "db=app,$S")" ] || fail "no $m"
done
for m in postgres.wal.generated_bytes postgres.buffers_alloc \
    postgres.checkpoints_timed postgres.in_recovery \
    postgres.replication.standbys; do
    [ -n "$(last "$m" "$S")" ] || fail "no $m"
done
size=$(last postgres.database_size_bytes "db=app,$S")
[ "${size%.*}" -gt 1000000 ] || fail "database size $size"
ok "database I/O, size, WAL, bgwriter and replication metrics"
grep -q "warn  input\[postgres" "$T/pg.log" &&
    fail "warnings: $(cat "$T/pg.log")"

# --- a plain user without the extension, refused pg_locks, a dead server
pg_sql postgres -c "CREATE ROLE mon LOGIN;
    REVOKE SELECT ON pg_catalog.pg_locks FROM PUBLIC" || pg_fail "role"
DEAD=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
cat >"$T/mon.yaml" <<YAML
pipelines:
  db:
    inputs:
      - name: postgres
        dsn: "host=$PGHOST_DIR port=$PGPORT_NUM user=mon dbname=postgres"
        interval: 500ms
      - name: postgres
        dsn: "host=127.0.0.1 port=$DEAD user=mon dbname=postgres password=sekrit"
        interval: 500ms
        timeout: 2s
    outputs:
      - name: file
        path: $T/mon.jsonl
YAML
chmod 600 "$T/mon.yaml"
start_vigil mon -c "$T/mon.yaml"
sleep 2.5
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "mon: no exit"
n=$(grep -c "extension pg_stat_statements is not installed in database 'postgres'" "$T/mon.log")
[ "$n" = 1 ] || fail "missing extension warned $n times"
n=$(grep -c "cannot collect locks: permission denied for view pg_locks (SQLSTATE 42501); the other" "$T/mon.log")
[ "$n" = 1 ] || fail "refused pg_locks warned $n times"
n=$(grep -c "cannot reach the database" "$T/mon.log")
[ "$n" = 1 ] || fail "dead server warned $n times"
grep -q sekrit "$T/mon.log" && fail "password in the log"
grep -q "\"name\":\"postgres.xact_commit\".*\"db\":\"postgres\"" "$T/mon.jsonl" ||
    fail "no xact_commit without pg_locks"
grep -q "\"name\":\"postgres.locks\"" "$T/mon.jsonl" && fail "locks emitted"
grep -q "\"name\":\"postgres.up\",\"type\":\"gauge\",\"value\":0,\"labels\":{\"server\":\"127.0.0.1:$DEAD\"}" \
    "$T/mon.jsonl" || fail "no postgres.up 0 for the dead server"
ok "missing extension, refused query and dead server: one warning each"

# --- a server restart: the input reconnects and collects again ----------
cat >"$T/restart.yaml" <<YAML
pipelines:
  db:
    inputs:
      - name: postgres
        dsn: "$DSN"
        interval: 300ms
    outputs:
      - name: file
        path: $T/restart.jsonl
YAML
chmod 600 "$T/restart.yaml"
start_vigil restart -c "$T/restart.yaml"
wait_for 10 grep -q '"postgres.up".*"value":1' "$T/restart.jsonl" ||
    fail "restart: no first collection"
pg_restart
wait_for 20 grep -q "connected to the database again" "$T/restart.log" ||
    fail "restart: no reconnection"
ups() { grep -c '"postgres.up".*"value":1' "$T/restart.jsonl"; }
n=$(ups)
more_ups() { [ "$(ups)" -gt "$n" ]; }
wait_for 10 more_ups
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "restart: no exit"
more_ups || fail "restart: no collection after the reconnection"
ok "a server restart: reconnected and collecting again"

# --- replication: a streaming standby made with pg_basebackup -------------
if ! [ -x "$PGBIN/pg_basebackup" ]; then
    echo "SKIP: no pg_basebackup, replication not checked"
    exit 0
fi
SBDIR="$PGDIR/standby"
SBPORT=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
standby_stop() {
    if [ -f "$SBDIR/postmaster.pid" ]; then
        pg_as "$PGBIN/pg_ctl" -D "$SBDIR" -m immediate -w -t 20 stop \
            >/dev/null 2>&1
    fi
}
trap 'standby_stop; pg_cleanup; cleanup' EXIT
pg_as "$PGBIN/pg_basebackup" -h "$PGHOST_DIR" -p "$PGPORT_NUM" \
    -U "$PGUSER_NAME" -D "$SBDIR" -R -X stream >"$PGDIR/basebackup.log" 2>&1 ||
    pg_fail "pg_basebackup: $(cat "$PGDIR/basebackup.log")"
pg_as "$PGBIN/pg_ctl" -D "$SBDIR" -l "$PGDIR/standby.log" -w -t 30 \
    -o "-c port=$SBPORT -c listen_addresses= \
-c unix_socket_directories=$PGHOST_DIR" start >/dev/null ||
    { cat "$PGDIR/standby.log" >&2; fail "cannot start the standby"; }
streaming() {
    [ "$(pg_sql postgres -c "SELECT count(*) FROM pg_stat_replication
        WHERE state = 'streaming'")" = 1 ]
}
wait_for 20 streaming || fail "the standby does not stream"
pg_sql app -c "INSERT INTO t78b VALUES (0)" >/dev/null
cat >"$T/repl.yaml" <<YAML
pipelines:
  db:
    inputs:
      - name: postgres
        dsn: "$DSN"
        interval: 500ms
      - name: postgres
        dsn: "host=$PGHOST_DIR port=$SBPORT user=$PGUSER_NAME dbname=app"
        interval: 500ms
    outputs:
      - name: file
        path: $T/repl.jsonl
YAML
chmod 600 "$T/repl.yaml"
start_vigil repl -c "$T/repl.yaml"
sleep 2
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "repl: no exit"
P="\"server\":\"$PGHOST_DIR:$PGPORT_NUM\""
SB="\"server\":\"$PGHOST_DIR:$SBPORT\""
grep "\"name\":\"postgres.replication.standbys\",.*\"value\":1,.*$P" \
    "$T/repl.jsonl" >/dev/null || fail "primary: no standby counted"
grep "\"name\":\"postgres.replication.replay_lag_bytes\",.*$P" \
    "$T/repl.jsonl" >/dev/null || fail "primary: no replay_lag_bytes"
grep "\"name\":\"postgres.in_recovery\",.*\"value\":1,.*$SB" \
    "$T/repl.jsonl" >/dev/null || fail "standby: in_recovery not 1"
grep "\"name\":\"postgres.replication.standby_lag_seconds\",.*$SB" \
    "$T/repl.jsonl" >/dev/null || fail "standby: no standby_lag_seconds"
grep "\"name\":\"postgres.wal.position_bytes\",.*$SB" "$T/repl.jsonl" \
    >/dev/null && fail "standby: WAL position of a primary"
ok "replication: lag on the primary per standby, replay lag on the standby"
