#!/bin/sh
# The tail input through rotation while a writer appends numbered lines at
# a steady rate: rotation by rename (the writer reopens its path, a few
# lines still land in the old file) and by copytruncate; then deletion,
# a symlink swapped to another file, and a plain truncation.  Without a
# crash every line must arrive exactly once.
. "$(dirname "$0")/lib.sh"
need_plugin in_tail

mkdir -p "$T/r" "$T/c" "$T/misc"
cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: tail
        paths: [ "$T/r/app.log" ]
        rotate_wait: 2s
      - name: tail
        paths: [ "$T/c/app.log" ]
      - name: tail
        paths: [ "$T/misc/*.log" ]
        refresh_interval: 200ms
    outputs:
      - name: file
        path: $T/out.jsonl
        fsync: never
        max_size: 0
YAML
: >"$T/r/app.log"
: >"$T/c/app.log"
start_vigil run -c "$T/vigil.yaml"
wait_for 10 grep -q "following '$T/c/app.log'" "$T/run.log" ||
    fail "tail did not start"

# writer.py MODE PATH N RATE: appends "MODE N ..." lines; rename mode
# reopens its path when it was renamed away (as a logger told by
# logrotate would), so a few lines still go to the old file.
cat >"$T/writer.py" <<'PY'
import fcntl, os, sys, time
mode, path = sys.argv[1], sys.argv[2]
n, rate = int(sys.argv[3]), float(sys.argv[4])
lock = open(path + ".lock", "a")
fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
t0 = time.time()
for i in range(1, n + 1):
    if mode == "rename" and i % 7 == 0:
        try:
            same = os.stat(path).st_ino == os.fstat(fd).st_ino
        except FileNotFoundError:
            same = False
        if not same:
            os.close(fd)
            fd = os.open(path, os.O_WRONLY | os.O_APPEND | os.O_CREAT, 0o644)
    fcntl.flock(lock, fcntl.LOCK_EX)
    os.write(fd, ("%s %d %s\n" % (mode, i, "x" * 90)).encode())
    fcntl.flock(lock, fcntl.LOCK_UN)
    delay = t0 + i / rate - time.time()
    if delay > 0:
        time.sleep(delay)
PY
# rotator.py MODE PATH TIMES: rotates every 0.4 s.  copytruncate holds
# the writer's lock over the copy and the truncation: lines written in
# between would be lost by any reader (logrotate documents this race),
# so the test keeps that window closed to see only the tail input's own
# losses.
cat >"$T/rotator.py" <<'PY'
import fcntl, os, shutil, sys, time
mode, path, times = sys.argv[1], sys.argv[2], int(sys.argv[3])
lock = open(path + ".lock", "a")
for k in range(1, times + 1):
    time.sleep(0.4)
    if mode == "rename":
        os.rename(path, "%s.%d" % (path, k))
    else:
        fcntl.flock(lock, fcntl.LOCK_EX)
        time.sleep(0.2)
        shutil.copyfile(path, "%s.%d" % (path, k))
        os.truncate(path, 0)
        fcntl.flock(lock, fcntl.LOCK_UN)
PY
N=6000
python3 "$T/writer.py" rename "$T/r/app.log" $N 2000 &
W1=$!
python3 "$T/writer.py" copytruncate "$T/c/app.log" $N 2000 &
W2=$!
PIDS="$PIDS $W1 $W2"
python3 "$T/rotator.py" rename "$T/r/app.log" 5 &
R1=$!
python3 "$T/rotator.py" copytruncate "$T/c/app.log" 5 &
R2=$!
PIDS="$PIDS $R1 $R2"
wait $W1 $W2 $R1 $R2

# deletion, symlink swap, truncation
seq 1 50 | sed 's/^/deleted /' >"$T/misc/del.log"
printf 'a 1\na 2\n' >"$T/misc/a.target"
printf 'b 1\n' >"$T/misc/b.target"
ln -s "$T/misc/a.target" "$T/misc/cur.log"
seq 1 10 | sed 's/^/trunc /' >"$T/misc/trunc.log"
wait_for 10 grep -q '"trunc 10"' "$T/out.jsonl" || fail "misc files not read"
wait_for 10 grep -q '"a 2"' "$T/out.jsonl" || fail "symlink not read"
rm "$T/misc/del.log"
wait_for 10 grep -q "del.log' was deleted" "$T/run.log" ||
    fail "deletion not noticed"
seq 51 60 | sed 's/^/deleted /' >"$T/misc/del.log"
ln -s "$T/misc/b.target" "$T/misc/cur.tmp"
mv -T "$T/misc/cur.tmp" "$T/misc/cur.log"
echo "b 2" >>"$T/misc/b.target"
: >"$T/misc/trunc.log"
wait_for 10 grep -q "trunc.log' was truncated" "$T/run.log" ||
    fail "truncation not noticed"
seq 11 13 | sed 's/^/trunc /' >>"$T/misc/trunc.log"
wait_for 10 grep -q '"trunc 13"' "$T/out.jsonl" ||
    fail "lines after truncation missing"
wait_for 10 grep -q '"b 2"' "$T/out.jsonl" || fail "swapped symlink not read"
wait_for 10 grep -q '"deleted 60"' "$T/out.jsonl" ||
    fail "recreated file not read"
sleep 2.5                               # rotate_wait: late lines
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "vigil did not stop"
[ "$RC" -eq 0 ] || fail "exit code $RC"

python3 - "$T/out.jsonl" $N <<'PY' || fail "lines lost or duplicated"
import collections, json, sys
n = int(sys.argv[2])
seen = collections.defaultdict(list)
for l in open(sys.argv[1]):
    e = json.loads(l)
    w = e["body"].split(" ")
    seen[w[0]].append(w[1])
for mode in ("rename", "copytruncate"):
    got = collections.Counter(int(x) for x in seen[mode])
    missing = [i for i in range(1, n + 1) if i not in got]
    dups = [i for i, c in got.items() if c > 1]
    assert not missing, f"{mode}: {len(missing)} lost, e.g. {missing[:5]}"
    assert not dups, f"{mode}: {len(dups)} duplicated, e.g. {dups[:5]}"
    print(f"{mode}: {n} lines exactly once across 5 rotations")
d = collections.Counter(int(x) for x in seen["deleted"])
assert sorted(d) == list(range(1, 61)) and max(d.values()) == 1, d
t = collections.Counter(int(x) for x in seen["trunc"])
assert sorted(t) == list(range(1, 14)) and max(t.values()) == 1, t
assert collections.Counter(seen["a"]) == {"1": 1, "2": 1}, seen["a"]
assert collections.Counter(seen["b"]) == {"1": 1, "2": 1}, seen["b"]
PY
grep -q "app.log' was rotated" "$T/run.log" || fail "no rotation logged"
ok "rotation by rename and copytruncate under writes, deletion," \
    "symlink swap, truncation"

# Truncated and written past the old position before the input looks
# (polling, every 2 s): the changed first bytes give it away.
mkdir -p "$T/grow"
seq 1 10 | sed 's/^/before /' >"$T/grow/g.log"
cat >"$T/grow.yaml" <<YAML
agent:
  state_dir: $T/state2
pipelines:
  p:
    inputs:
      - name: tail
        paths: [ "$T/grow/g.log" ]
        read_from_head: true
        watch: poll
        poll_interval: 2s
    outputs:
      - name: file
        path: $T/grow.jsonl
        fsync: never
YAML
start_vigil grow -c "$T/grow.yaml"
wait_for 10 grep -q '"before 10"' "$T/grow.jsonl" || fail "grow: not read"
seq 1 40 | sed 's/^/after /' >"$T/grow/g.log"
wait_for 10 grep -q '"after 40"' "$T/grow.jsonl" ||
    fail "grow: rewritten file not read"
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "grow: vigil did not stop"
grep -q "g.log' was truncated (.*new first bytes" "$T/grow.log" ||
    fail "grow: rewrite not reported"
[ "$(grep -c '"after ' "$T/grow.jsonl")" -eq 40 ] ||
    fail "grow: $(grep -c '"after ' "$T/grow.jsonl") of 40 lines"
ok "a file truncated and regrown between two looks is read from its start"
