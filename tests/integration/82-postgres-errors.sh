#!/bin/sh
# The postgres output's failures: a wrong password and an unreachable or
# silent server are reported clearly (host, db, user; never the password)
# and retried; a password from ${file:...} works; rows the server refuses
# go to the dead-letter file while the rest of their batch lands.
. "$(dirname "$0")/lib.sh"
need_plugin out_postgres
. "$(dirname "$0")/pg-lib.sh"

pg_sql postgres -c "CREATE ROLE vigil_pw LOGIN PASSWORD 's3cretPW'" ||
    fail "create role"
pg_sql postgres -c "CREATE DATABASE pwdb OWNER vigil_pw" || fail "createdb"
pg_createdb vigil

# conf NAME DSN [EXTRA]: a config sending generated logs to DSN.
conf() {
    cat >"$T/$1.yaml" <<YAML
agent:
  state_dir: $T/state
  shutdown_timeout: 20s
pipelines:
  p:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: ${COUNT:-10}
        batch_size: 100
        exit_when_done: true
    outputs:
      - name: postgres
        dsn: "$2"
        timeout: 1s
        reconnect_max: 200ms
        retry: { initial: 50ms, max: 200ms }
${3:-}
YAML
}

# count_ge N PATTERN FILE: at least N lines of FILE match.
count_ge() {
    [ "$(grep -c "$2" "$3")" -ge "$1" ]
}

# --- wrong password -------------------------------------------------------
COUNT=0 conf badpw "host=127.0.0.1 port=$PGPORT_NUM user=vigil_pw dbname=pwdb password=wrongPW"
HPORT=$(free_port)
sed -i "s|^agent:|agent:\n  http: { listen: \"127.0.0.1:$HPORT\" }\n  health: { max_failing: 1s }|" \
    "$T/badpw.yaml"
start_vigil badpw -c "$T/badpw.yaml" --log-level debug
wait_for 10 grep -q 'password authentication failed for user "vigil_pw"' \
    "$T/badpw.log" || fail "no authentication error: $(cat "$T/badpw.log")"
grep -q "cannot connect to PostgreSQL (host=127.0.0.1 port=$PGPORT_NUM db=pwdb user=vigil_pw)" \
    "$T/badpw.log" || fail "the error does not say where"
wait_for 10 count_ge 3 'cannot connect to PostgreSQL' "$T/badpw.log" ||
    fail "not retried"
wait_for 10 sh -c "curl -s 'http://127.0.0.1:$HPORT/health' | grep -q 'output\[postgres#1\]'" ||
    fail "/health does not show the failing output"
[ "$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$HPORT/health")" = 503 ] ||
    fail "/health does not answer 503"
kill "$VPID"
sleep 0.2
kill "$VPID"                    # the second stop request does not wait
wait_exit "$VPID" 30
if grep -q "wrongPW" "$T/badpw.log" "$T/badpw.out"; then
    fail "the password was logged"
fi
ok "a wrong password is reported with host, db and user, retried, and /health shows it"

# --- the right password, from a file ----------------------------------------
printf 's3cretPW' >"$T/pw"
conf goodpw "host=127.0.0.1 port=$PGPORT_NUM user=vigil_pw dbname=pwdb password=\${file:$T/pw}"
start_vigil goodpw -c "$T/goodpw.yaml"
wait_exit "$VPID" 30 || fail "goodpw: no exit"
[ "$RC" -eq 0 ] || fail "goodpw: exit code $RC"
[ "$(pg_sql pwdb -c 'SELECT count(*) FROM vigil_logs')" = 10 ] ||
    fail "nothing written with the password from a file"
if grep -q "s3cretPW" "$T/goodpw.log"; then fail "password logged"; fi
ok "scram password from \${file:...}"

# --- nobody listening, then a server that never answers ---------------------
free=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
conf refused "host=127.0.0.1 port=$free user=x dbname=y"
start_vigil refused -c "$T/refused.yaml" --log-level debug
wait_for 10 count_ge 3 'Connection refused' "$T/refused.log" ||
    fail "refused: $(cat "$T/refused.log")"
kill -0 "$VPID" || fail "vigil gave up"
kill "$VPID"
wait_exit "$VPID" 30
ok "an unreachable server: connection refused, retried"

python3 -c '
import socket, sys, time
s = socket.socket()
s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
s.bind(("127.0.0.1", 0))
s.listen(16)
print(s.getsockname()[1], flush=True)
time.sleep(60)
' >"$T/silent.port" &
PIDS="$PIDS $!"
wait_for 5 test -s "$T/silent.port" || fail "no silent server"
conf silent "host=127.0.0.1 port=$(cat "$T/silent.port") user=x dbname=y"
start_vigil silent -c "$T/silent.yaml" --log-level debug
wait_for 10 grep -q "cannot connect to PostgreSQL.*connection timed out" \
    "$T/silent.log" || fail "silent: $(cat "$T/silent.log")"
kill "$VPID"
wait_exit "$VPID" 30
ok "a server that never answers times out"

# --- rows the server refuses ------------------------------------------------
COUNT=1 conf schema "$(pg_dsn vigil)"
start_vigil schema -c "$T/schema.yaml"
wait_exit "$VPID" 30 || fail "schema: no exit"
pg_sql vigil -c "DELETE FROM vigil_logs; ALTER TABLE vigil_logs ADD
    CONSTRAINT no_bad CHECK (body NOT IN ('generated log line 57',
    'generated log line 58', 'generated log line 150'))" ||
    fail "constraint"
COUNT=200 conf reject "$(pg_dsn vigil)"
start_vigil reject -c "$T/reject.yaml"
wait_exit "$VPID" 30 || fail "reject: no exit"
[ "$RC" -eq 0 ] || fail "reject: exit code $RC"
dlq="$T/state/dead-letter/p.output-postgres-1.jsonl"
[ -f "$dlq" ] || fail "no dead-letter file: $(ls -R "$T/state")"
python3 - "$dlq" <<'PY' || fail "dead letters"
import json, sys
dead = [json.loads(l) for l in open(sys.argv[1])]
assert [d["event"]["body"] for d in dead] == [
    "generated log line 57", "generated log line 58",
    "generated log line 150"], dead
assert all('violates check constraint "no_bad"' in d["reason"]
           for d in dead), dead[0]["reason"]
assert all(d["output"] == "output[postgres#1]" and d["pipeline"] == "p"
           and d["attempts"] == 1 for d in dead), dead[0]
PY
got=$(pg_sql vigil -c "SELECT count(*), count(DISTINCT body) FROM vigil_logs")
[ "$got" = "197|197" ] || fail "the other rows: $got"
grep -q "events rejected, written to '$dlq'" "$T/reject.log" ||
    fail "rejects not logged"
ok "refused rows are dead-lettered, the rest of their batch lands"
