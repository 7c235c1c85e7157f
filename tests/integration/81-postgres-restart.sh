#!/bin/sh
# PostgreSQL restarted (fast shutdown) while vigil writes to it: the
# output reconnects, retries the batch in flight, and every event lands
# exactly once (generate values are 1..N, so the check is exact); and a
# COMMIT whose answer is lost is settled by its token, not written twice.
. "$(dirname "$0")/lib.sh"
need_plugin out_postgres
. "$(dirname "$0")/pg-lib.sh"

pg_createdb vigil
N=20000
cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
  shutdown_timeout: 30s
pipelines:
  p:
    inputs:
      - name: generate
        rate: 5000
        interval: 100ms
        count: $N
        batch_size: 100
        series: 5
        exit_when_done: true
    outputs:
      - name: postgres
        dsn: "$(pg_dsn vigil)"
        retry: { initial: 50ms, max: 500ms }
YAML
samples_over() {
    [ "$(pg_sql vigil -c 'SELECT count(*) FROM vigil_samples' 2>/dev/null ||
        echo 0)" -gt "$1" ]
}

start_vigil run -c "$T/vigil.yaml" --log-level debug
wait_for 10 samples_over 2000 || fail "nothing written before"
pg_restart
ok "server restarted mid-stream"
sleep 0.5
pg_restart
wait_exit "$VPID" 60 || fail "no exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
grep -q "lost the connection to PostgreSQL\|flush failed" "$T/run.log" ||
    fail "the restart went unnoticed"
grep -q "connected to PostgreSQL .* again" "$T/run.log" ||
    fail "no reconnection logged"
got=$(pg_sql vigil -c "SELECT count(*), count(DISTINCT value), min(value),
    max(value) FROM vigil_samples")
[ "$got" = "$N|$N|1|$N" ] || fail "after two restarts: $got"
[ "$(pg_sql vigil -c 'SELECT count(*) FROM vigil_series')" = 5 ] ||
    fail "series duplicated"
ok "$N events, none lost, none duplicated, across two restarts"

# --- the answer to COMMIT is lost ------------------------------------------
# A proxy forwards everything, but after the 5th batch's COMMIT has reached
# the server it cuts both connections before the answer gets back: the
# batch landed, vigil cannot know, and the retry must not write it again.
pg_sql postgres -c "CREATE ROLE vigil_pw LOGIN PASSWORD 'pw'" || fail "role"
pg_sql postgres -c "CREATE DATABASE cut OWNER vigil_pw" || fail "createdb"
python3 - "$PGPORT_NUM" >"$T/proxy.port" 2>"$T/proxy.log" <<'PY' &
import socket, sys, threading, time
upstream = int(sys.argv[1])
seen = [0]
lock = threading.Lock()
ls = socket.socket()
ls.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
ls.bind(("127.0.0.1", 0))
ls.listen(8)
print(ls.getsockname()[1], flush=True)

def pump(src, dst, watch, cutting):
    cut = False
    try:
        while True:
            data = src.recv(65536)
            if not data:
                break
            if not watch and cutting.is_set():
                break                       # the answer never arrives
            if watch and b"INSERT INTO vigil_commits" in data:
                with lock:
                    seen[0] += 1
                    cut = seen[0] == 5
                if cut:
                    cutting.set()
            dst.sendall(data)
            if cut:
                print("cut after COMMIT", file=sys.stderr, flush=True)
                time.sleep(0.5)             # the server commits
                break
    except OSError:
        pass
    # shutdown, not just close: the other pump may sit in recv()
    for s in (src, dst):
        try:
            s.shutdown(socket.SHUT_RDWR)
        except OSError:
            pass

while True:
    c, _ = ls.accept()
    u = socket.create_connection(("127.0.0.1", upstream))
    ev = threading.Event()
    threading.Thread(target=pump, args=(c, u, True, ev), daemon=True).start()
    threading.Thread(target=pump, args=(u, c, False, ev), daemon=True).start()
PY
PIDS="$PIDS $!"
wait_for 5 test -s "$T/proxy.port" || fail "no proxy"
N2=2000
cat >"$T/cut.yaml" <<YAML
agent:
  state_dir: $T/state
  shutdown_timeout: 30s
pipelines:
  p:
    inputs:
      - name: generate
        rate: 0
        count: $N2
        batch_size: 100
        exit_when_done: true
    outputs:
      - name: postgres
        dsn: "host=127.0.0.1 port=$(cat "$T/proxy.port") user=vigil_pw password=pw dbname=cut sslmode=disable"
        timeout: 5s
        retry: { initial: 50ms, max: 500ms }
YAML
start_vigil cut -c "$T/cut.yaml"
wait_exit "$VPID" 60 || fail "cut: no exit"
[ "$RC" -eq 0 ] || fail "cut: exit code $RC"
grep -q "cut after COMMIT" "$T/proxy.log" || fail "the proxy never cut"
grep -q "COMMIT went unanswered had landed: not written again" "$T/cut.log" ||
    fail "the unanswered COMMIT was not checked"
got=$(pg_sql cut -c "SELECT count(*), count(DISTINCT value) FROM vigil_samples")
[ "$got" = "$N2|$N2" ] || fail "after a lost COMMIT answer: $got"
ok "a batch whose COMMIT answer was lost is not written twice"
