#!/bin/sh
# SIGTERM stops the inputs and drains the queues before exiting 0; with a
# deadline too short for the backlog, it says what was lost and exits 1.
. "$(dirname "$0")/lib.sh"

config() {
    cat >"$T/vigil.yaml" <<YAML
agent:
  shutdown_timeout: $1
pipelines:
  p:
    inputs:
      - name: generate
        rate: 20000
        interval: 100ms
        batch_size: 200
    outputs:
      - name: tp_slow
        path: $T/$2
        delay: 20ms
YAML
}

# running FILE: the pipeline writes FILE (so vigil has its signal handlers:
# a slow start, under valgrind on a loaded machine, must not meet the
# SIGTERM first), then 1.5 s more to build a backlog.
running() {
    wait_for 60 test -s "$T/$1" || fail "vigil wrote nothing to $1"
    sleep 1.5
}

config 30s drained.jsonl
start_vigil drain -c "$T/vigil.yaml"
running drained.jsonl
kill -TERM "$VPID"
wait_exit "$VPID" 40 || fail "vigil did not exit after SIGTERM"
[ "$RC" -eq 0 ] || fail "exit code $RC after a full drain"
grep -q "stopping: draining queues" "$T/drain.log" || fail "no drain message"
python3 - "$T/drained.jsonl" <<'PY' || fail "drained records"
import json, sys
vals = [json.loads(l)["value"] for l in open(sys.argv[1])]
assert len(vals) > 15000, f"only {len(vals)} records: no backlog was built"
assert vals == list(range(1, len(vals) + 1)), "gap or duplicate in drain"
PY
ok "SIGTERM drained a backlog of $(lines "$T/drained.jsonl") events"

config 300ms cut.jsonl
start_vigil cut -c "$T/vigil.yaml"
running cut.jsonl
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "vigil did not exit at the deadline"
[ "$RC" -eq 1 ] || fail "exit code $RC, want 1 when events were lost"
grep -q "shutdown timeout: .* batches were not delivered" "$T/cut.log" ||
    fail "loss not reported"
ok "deadline reached: loss reported, exit 1"

# A second SIGTERM exits at once.
config 30s twice.jsonl
start_vigil twice -c "$T/vigil.yaml"
running twice.jsonl
kill -TERM "$VPID"
sleep 0.2
kill -TERM "$VPID"
wait_exit "$VPID" 5 || fail "second SIGTERM did not exit at once"
grep -q "second stop request" "$T/twice.log" || fail "second stop message"
ok "second SIGTERM exits at once"
