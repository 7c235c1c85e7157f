#!/bin/sh
# At-least-once across crashes: kill -9 the agent at random moments while a
# replayable input feeds a fast and a slow output; after the restarts every
# number has arrived at both outputs, duplicates bounded by what was in
# flight.
. "$(dirname "$0")/lib.sh"

cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: tp_counter
        per_tick: 50
        interval: 5ms
    outputs:
      - name: file
        path: $T/fast.jsonl
        fsync: never
      - name: tp_slow
        path: $T/slow.jsonl
        delay: 15ms
YAML
cycles=${KILL_CYCLES:-30}
i=0
while [ "$i" -lt "$cycles" ]; do
    start_vigil "c$i" -c "$T/vigil.yaml"
    sleep "0.$(( $(od -An -N2 -tu2 /dev/urandom) % 6 + 2 ))"
    kill -9 "$VPID"
    wait "$VPID" 2>/dev/null
    i=$((i + 1))
done
start_vigil last -c "$T/vigil.yaml"
sleep 1
kill -TERM "$VPID"
wait_exit "$VPID" 30 || fail "last run did not stop"
[ "$RC" -eq 0 ] || fail "last run exit code $RC"
python3 - "$T/fast.jsonl" "$T/slow.jsonl" "$cycles" <<'PY' || fail "at-least-once"
import json, sys
cycles = int(sys.argv[3])
for path in sys.argv[1:3]:
    vals = []
    for n, line in enumerate(open(path), 1):
        try:
            vals.append(int(json.loads(line)["value"]))
        except ValueError:
            sys.exit(f"{path}:{n}: not a JSON line (torn by a crash?): {line[:80]!r}")
    top = max(vals)
    missing = set(range(1, top + 1)) - set(vals)
    assert not missing, f"{path}: {len(missing)} numbers lost, e.g. {sorted(missing)[:5]}"
    dups = len(vals) - len(set(vals))
    # Each crash may replay what was in flight: at most the batches queued
    # for the slow output (its queue) plus one tick.
    assert dups <= cycles * 5000, f"{path}: {dups} duplicates"
    print(f"{path}: {top} numbers, {dups} duplicates over {cycles} crashes")
PY
ok "every number delivered at least once across $cycles kill -9 restarts"
