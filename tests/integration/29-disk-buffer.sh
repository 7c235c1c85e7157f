#!/bin/sh
# Disk buffer: an output that is down for long keeps what it owes on disk
# (memory stays bounded), delivers all of it in order when it comes back,
# keeps it across a restart, and skips a corrupt batch without losing the
# others.
. "$(dirname "$0")/lib.sh"

config() {   # config FILE COUNT METRIC TIMEOUT
    cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
  shutdown_timeout: $4
pipelines:
  p:
    inputs:
      - name: generate
        rate: 0
        count: $2
        metric: $3
        exit_when_done: true
    outputs:
      - name: tp_slow
        path: $T/$1
        delay: 1ms
        down_file: $T/down
        retry: { initial: 50ms, max: 200ms }
        buffer:
          max_memory: 512KiB
          disk: { max_size: 256MiB, fsync: interval }
YAML
}

# 1. A long outage: memory bounded, everything delivered once afterwards.
touch "$T/down"
config outage.jsonl 300000 outage 30s
start_vigil outage -c "$T/vigil.yaml"
sample_peak_rss "$VPID" 3
peak=$PEAK
disk=$(du -sk "$T/state/buffer" | cut -f1)
[ "$disk" -gt 1024 ] || fail "disk buffer holds only ${disk} KiB"
rm -f "$T/down"
wait_exit "$VPID" 60 || fail "no exit after the output came back"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/outage.jsonl" <<'PY' || fail "records after the outage"
import json, sys
vals = [json.loads(l)["value"] for l in open(sys.argv[1])]
assert vals == list(range(1, 300001)), f"{len(vals)} records, not 1..300000 in order"
PY
[ "$peak" -lt "$(rss_limit $((60 * 1024)))" ] ||
    fail "peak RSS ${peak} KiB during the outage"
ok "300000 events through a ${disk} KiB disk buffer, peak RSS ${peak} KiB"
left=$(find "$T/state/buffer" -name 'seg-*' -size +0 | wc -l)
[ "$left" -le 1 ] || fail "$left delivered segments were not deleted"
ok "delivered segments deleted"

# 2. Across a restart: what the output could not take stays on disk.
rm -rf "$T/state"
touch "$T/down"
config first.jsonl 5000 first 500ms
start_vigil first -c "$T/vigil.yaml"
wait_exit "$VPID" 20 || fail "first run did not stop at its deadline"
[ "$RC" -eq 0 ] || fail "first run exit code $RC: nothing should be lost"
grep -q "batches stay in the disk buffer for the next start" "$T/first.log" ||
    fail "disk buffer not kept"
rm -f "$T/down"
config second.jsonl 10 second 10s
start_vigil second -c "$T/vigil.yaml"
wait_exit "$VPID" 20 || fail "second run did not exit"
grep -q "in the disk buffer from an earlier run will be sent" "$T/second.log" ||
    fail "replay not announced"
python3 - "$T/second.jsonl" <<'PY' || fail "records after restart"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
first = [r["value"] for r in rows if r["name"] == "first"]
second = [r["value"] for r in rows if r["name"] == "second"]
assert first == list(range(1, 5001)), f"{len(first)} of 5000 from disk"
assert second == list(range(1, 11)), second
PY
ok "a restart sends what the disk buffer kept, once"

# 3. A corrupt batch in a segment is skipped, the others are sent.
rm -rf "$T/state"
touch "$T/down"
config third.jsonl 5000 third 500ms
start_vigil third -c "$T/vigil.yaml"
wait_exit "$VPID" 20 || fail "third run did not stop"
seg=$(find "$T/state/buffer" -name 'seg-*' -size +0 | head -n1)
python3 - "$seg" <<'PY'
import sys
path = sys.argv[1]
data = bytearray(open(path, "rb").read())
mid = len(data) // 2
for i in range(mid, mid + 64):
    data[i] ^= 0x5a
open(path, "wb").write(bytes(data))
PY
printf 'garbage' >"$T/state/buffer/p.output-tp_slow-1/cursor"
rm -f "$T/down"
config fourth.jsonl 1 fourth 10s
start_vigil fourth -c "$T/vigil.yaml"
wait_exit "$VPID" 20 || fail "run after corruption did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC after corruption"
grep -q "cursor .* is corrupt: replaying from the oldest segment" \
    "$T/fourth.log" || fail "corrupt cursor not reported"
grep -q "corrupt bytes .* skipped" "$T/fourth.log" ||
    fail "corrupt record not reported: $(cat "$T/fourth.log")"
python3 - "$T/fourth.jsonl" <<'PY' || fail "records after corruption"
import json, sys
vals = [r["value"] for r in map(json.loads, open(sys.argv[1])) if r["name"] == "third"]
assert len(vals) == len(set(vals)), "duplicates"
assert 4000 <= len(vals) < 5000, f"{len(vals)} delivered: want all but the corrupt batch"
PY
ok "corrupt batch and cursor reported and skipped, the rest delivered"

# 4. kill -9 while the output is down: what was committed is on disk, the
# rest is read again by the input; nothing is missing afterwards.
rm -rf "$T/state"
touch "$T/down"
cat >"$T/crash.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: tp_counter
        per_tick: 100
        interval: 5ms
    outputs:
      - name: tp_slow
        path: $T/crash.jsonl
        delay: 1ms
        down_file: $T/down
        retry: { initial: 20ms, max: 100ms }
        buffer: { disk: { max_size: 64MiB, fsync: never } }
YAML
for i in 1 2 3 4 5; do
    start_vigil "crash$i" -c "$T/crash.yaml"
    sleep 0.4
    kill -9 "$VPID"
    wait "$VPID" 2>/dev/null
done
rm -f "$T/down"
start_vigil recover -c "$T/crash.yaml"
sleep 1.5
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "recovery run did not stop"
python3 - "$T/crash.jsonl" <<'PY' || fail "records after kill -9 with a disk buffer"
import json, sys
vals = [int(json.loads(l)["value"]) for l in open(sys.argv[1])]
missing = set(range(1, max(vals) + 1)) - set(vals)
assert not missing, f"{len(missing)} lost, e.g. {sorted(missing)[:5]}"
print(f"{max(vals)} numbers, {len(vals) - len(set(vals))} duplicates")
PY
ok "kill -9 with a disk buffer: nothing lost"
