#!/bin/sh
# The tail input across restarts: saved offsets (SIGTERM, append, start:
# only the new lines), a file rewritten in place or a reused inode (the
# fingerprint tells it apart: read from the start), a corrupt offsets file
# (reported, ignored), and kill -9 cycles while a writer appends: every
# line arrives at least once, duplicates bounded by what was in flight.
. "$(dirname "$0")/lib.sh"
need_plugin in_tail

mkdir -p "$T/logs"
cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: tail
        paths: [ "$T/logs/*.log" ]
        read_from_head: true
    outputs:
      - name: file
        path: $T/out.jsonl
        fsync: never
        max_size: 0
YAML

# run_once NAME: starts vigil, waits for the line count WANT, stops it.
run_once() {
    start_vigil "$1" -c "$T/vigil.yaml"
    wait_for 10 sh -c "[ \$(wc -l <'$T/out.jsonl' 2>/dev/null || echo 0) \
        -ge $WANT ]" || fail "$1: $(lines "$T/out.jsonl") lines, want $WANT"
    sleep 0.3
    kill -TERM "$VPID"
    wait_exit "$VPID" 20 || fail "$1: vigil did not stop"
    [ "$RC" -eq 0 ] || fail "$1: exit code $RC"
    [ "$(lines "$T/out.jsonl")" -eq "$WANT" ] ||
        fail "$1: $(lines "$T/out.jsonl") lines, want $WANT"
}

seq 1 100 | sed 's/^/first /' >"$T/logs/a.log"
WANT=100 run_once r1
ls "$T"/state/*.offsets >/dev/null 2>&1 || fail "no offsets file"
seq 101 150 | sed 's/^/first /' >>"$T/logs/a.log"
WANT=150 run_once r2
python3 - "$T/out.jsonl" <<'PY' || fail "restart re-read or skipped lines"
import json, sys
b = [json.loads(l)["body"] for l in open(sys.argv[1])]
assert b == ["first %d" % i for i in range(1, 151)], b[95:105]
PY
ok "restart resumes at the saved offset"

# Same inode, new content longer than the saved offset: without the
# fingerprint the first 150 lines would be skipped.
ino=$(stat -c %i "$T/logs/a.log")
seq 1 300 | sed 's/^/second /' >"$T/logs/a.log"
[ "$(stat -c %i "$T/logs/a.log")" = "$ino" ] || fail "inode changed"
WANT=450 run_once r3
grep -q 'has the inode of a file read before but not its content' \
    "$T/r3.log" || fail "fingerprint mismatch not reported"
[ "$(grep -c '"second ' "$T/out.jsonl")" -eq 300 ] ||
    fail "rewritten file not read whole"
ok "a file rewritten in place is read from its start"

# A deleted file whose inode is given to a new one (ext4 reuses the
# lowest free inode; when it does not, the check above already covered
# the fingerprint).
rm "$T/logs/a.log"
i=0
while [ $i -lt 50 ]; do
    seq 1 400 | sed "s/^/third$i /" >"$T/logs/b.log"
    [ "$(stat -c %i "$T/logs/b.log")" = "$ino" ] && break
    rm "$T/logs/b.log"
    i=$((i + 1))
done
if [ -f "$T/logs/b.log" ]; then
    WANT=850 run_once r4
    [ "$(grep -c "\"third$i " "$T/out.jsonl")" -eq 400 ] ||
        fail "file on a reused inode not read whole"
    ok "a reused inode is read from its start"
else
    seq 1 400 | sed "s/^/third /" >"$T/logs/b.log"
    WANT=850 run_once r4
    ok "inode not reused by the file system: new file read whole"
fi

# A corrupt offsets file is reported and ignored (files found at start
# without offset: read_from_head).
f=$(ls "$T"/state/*.offsets)
python3 - "$f" <<'PY'
import sys
p = sys.argv[1]
d = bytearray(open(p, "rb").read())
d[25] ^= 1
open(p, "wb").write(bytes(d))
PY
WANT=1250 run_once r5
grep -q 'is torn or corrupt' "$T/r5.log" || fail "corruption not reported"
ok "corrupt offsets file reported and ignored"

# Rotated while vigil was down: the rest of the old file (found by its
# inode beside the path) and the whole new file are read.
rm -f "$T/logs/"*.log "$T/out.jsonl"
seq 1 20 | sed 's/^/rot /' >"$T/logs/app.log"
WANT=20 run_once r6
seq 21 30 | sed 's/^/rot /' >>"$T/logs/app.log"
mv "$T/logs/app.log" "$T/logs/app.log.1"
seq 31 40 | sed 's/^/rot /' >"$T/logs/app.log"
WANT=40 run_once r7
python3 - "$T/out.jsonl" <<'PY' || fail "rotation while down"
import json, sys
b = sorted(int(json.loads(l)["body"].split()[1]) for l in open(sys.argv[1]))
assert b == list(range(1, 41)), b
PY
ok "a file rotated while vigil was down is finished, the new one read"

# kill -9 while a writer appends.
rm -f "$T/logs/"*.log "$T/out.jsonl" "$T"/state/*.offsets
N=${TAIL_CRASH_LINES:-30000}
RATE=3000
python3 - "$T/logs/w.log" $N $RATE >/dev/null 2>&1 <<'PY' &
import os, sys, time
path, n, rate = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
t0 = time.time()
for i in range(1, n + 1):
    os.write(fd, b"crash %d\n" % i)
    if i % 100 == 0:
        delay = t0 + i / rate - time.time()
        if delay > 0:
            time.sleep(delay)
PY
W=$!
PIDS="$PIDS $W"
cycles=0
while kill -0 "$W" 2>/dev/null; do
    start_vigil "k$cycles" -c "$T/vigil.yaml"
    # long enough for an offsets save (every second) now and then
    sleep "1.$(( $(od -An -N2 -tu2 /dev/urandom) % 10 ))"
    kill -9 "$VPID"
    wait "$VPID" 2>/dev/null
    cycles=$((cycles + 1))
done
start_vigil last -c "$T/vigil.yaml"
wait_for 20 sh -c "grep -q '\"crash $N\"' '$T/out.jsonl'" ||
    fail "last line never arrived"
sleep 0.5
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "last run did not stop"
[ "$RC" -eq 0 ] || fail "last run exit code $RC"
python3 - "$T/out.jsonl" $N $cycles $RATE <<'PY' || fail "at-least-once"
import json, sys
n, cycles, rate = int(sys.argv[2]), int(sys.argv[3]), int(sys.argv[4])
vals = [int(json.loads(l)["body"].split()[1]) for l in open(sys.argv[1])]
missing = set(range(1, n + 1)) - set(vals)
assert not missing, f"{len(missing)} lines lost, e.g. {sorted(missing)[:5]}"
dups = len(vals) - len(set(vals))
# a crash replays what was read since the last offsets save (every
# second) plus what was in flight: about 2 s of writes at most
assert dups <= cycles * 2.5 * rate, f"{dups} duplicates"
print(f"{n} lines, {dups} duplicates over {cycles} kill -9")
PY
ok "every line at least once across kill -9 restarts"
