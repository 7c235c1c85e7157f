#!/bin/sh
# The filesystem under the disk buffer fills up (a 2 MiB tmpfs): a clear
# error, backpressure instead of a crash, and recovery once delivery frees
# space; every event arrives once, in order.
. "$(dirname "$0")/lib.sh"

[ "$(id -u)" = 0 ] || { echo "skip: mounting a tmpfs needs root"; exit 77; }
mkdir -p "$T/small"
mount -t tmpfs -o size=2m tmpfs "$T/small" 2>/dev/null ||
    { echo "skip: cannot mount a tmpfs here"; exit 77; }
trap 'umount "$T/small" 2>/dev/null; cleanup' EXIT

touch "$T/down"
cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/small/state
pipelines:
  p:
    inputs:
      - name: generate
        rate: 0
        count: 100000
        exit_when_done: true
    outputs:
      - name: tp_slow
        path: $T/out.jsonl
        delay: 1ms
        down_file: $T/down
        retry: { initial: 50ms, max: 200ms }
        buffer:
          max_memory: 256KiB
          disk: { max_size: 64MiB }
YAML
start_vigil full -c "$T/vigil.yaml"
wait_for 15 grep -q "disk buffer full (max_size, or the disk): queueing in memory" \
    "$T/full.log" || fail "a full disk was not reported"
wait_for 15 grep -q "paused: an output of pipeline 'p' is full" "$T/full.log" ||
    fail "no backpressure when the disk was full"
sleep 0.5
kill -0 "$VPID" || fail "agent died on a full disk"
ok "full disk reported, inputs paused, agent up"
rm -f "$T/down"
wait_exit "$VPID" 60 || fail "no exit after the output came back"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/out.jsonl" <<'PY' || fail "records after a full disk"
import json, sys
vals = [json.loads(l)["value"] for l in open(sys.argv[1])]
assert vals == list(range(1, 100001)), f"{len(vals)} records, not 1..100000 in order"
PY
ok "recovered when space returned: 100000 events once, in order"
