#!/bin/sh
# Permanent failures and exhausted retries go to the dead-letter file with
# the reason; the other batches are delivered; Retry-After is honoured.
. "$(dirname "$0")/lib.sh"

run() {
    cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: generate
        rate: 0
        count: 1000
        batch_size: 100
        exit_when_done: true
    outputs:
      - name: tp_slow
        path: $T/$1
        delay: 1ms
        fail_first: $2
        fail_outcome: $3
        retry_after: $4
        reject_every: ${5:-0}
        retry: { initial: 10ms, max: 20ms, max_attempts: 2 }
YAML
    start_vigil "$1" -c "$T/vigil.yaml"
    wait_exit "$VPID" 30 || fail "$1: no exit"
    [ "$RC" -eq 0 ] || fail "$1: exit code $RC"
}

run permanent 3 permanent 0
dlq="$T/state/dead-letter/p.output-tp_slow-1.jsonl"
[ -f "$dlq" ] || fail "no dead-letter file: $(ls -R "$T/state")"
python3 - "$dlq" "$T/permanent" <<'PY' || fail "dead letters"
import json, sys
dead = [json.loads(l) for l in open(sys.argv[1])]
assert len(dead) == 300, len(dead)
assert all(d["reason"] == "tp_slow: rejected on purpose" for d in dead)
assert all(d["output"] == "output[tp_slow#1]" and d["pipeline"] == "p"
           for d in dead)
assert [d["event"]["value"] for d in dead] == list(range(1, 301))
got = [json.loads(l)["value"] for l in open(sys.argv[2])]
assert got == list(range(301, 1001)), "the other batches"
PY
grep -q "300 events\|100 events rejected, written to" "$T/permanent.log" ||
    fail "dead letters not logged"
ok "permanent failures dead-lettered with the reason, the rest delivered"

rm -rf "$T/state"
run attempts 4 retry 0
python3 - "$dlq" "$T/attempts" <<'PY' || fail "retries exhausted"
import json, sys
dead = [json.loads(l) for l in open(sys.argv[1])]
assert len(dead) == 200, len(dead)
assert all(d["reason"].startswith("gave up after 2 attempts: ") for d in dead)
assert all(d["attempts"] == 2 for d in dead), dead[0]
got = [json.loads(l)["value"] for l in open(sys.argv[2])]
assert got == list(range(201, 1001))
PY
ok "retries exhausted after max_attempts go to the dead-letter file"

rm -rf "$T/state"
run after 1 retry 1500ms
grep -q "flush failed, retry 1 in 1.500s: tp_slow: asked to wait" \
    "$T/after.log" || fail "Retry-After not honoured: $(cat "$T/after.log")"
[ "$(lines "$T/after")" -eq 1000 ] || fail "not all delivered after the wait"
ok "a server's Retry-After sets the retry delay"

# An output that delivers a batch but some of its events hands those to
# the core's dead-letter file, each with its own reason (vg_dead_letter).
rm -rf "$T/state"
run some 0 retry 0 10
python3 - "$dlq" "$T/some" <<'PY' || fail "events dead-lettered one by one"
import json, sys
dead = [json.loads(l) for l in open(sys.argv[1])]
assert [d["event"]["value"] for d in dead] == list(range(10, 1001, 10)), dead
assert all(d["reason"] == "tp_slow: refused event %d of its batch"
           % ((d["event"]["value"] - 1) % 100 + 1) for d in dead), dead[:2]
assert all(d["attempts"] == 1 and d["output"] == "output[tp_slow#1]"
           for d in dead), dead[0]
got = [json.loads(l)["value"] for l in open(sys.argv[2])]
assert got == [v for v in range(1, 1001) if v % 10], "the others"
PY
grep -q "10 events rejected, written to '$dlq' (the first's reason): " \
    "$T/some.log" || fail "vg_dead_letter not logged: $(cat "$T/some.log")"
ok "an output's own rejects go to the dead-letter file, each with its reason"

# ... and counts them where the batches the core dead-letters are counted.
PORT=$(free_port)
cat >"$T/metrics.yaml" <<YAML
agent:
  state_dir: $T/mstate
  http: { listen: "127.0.0.1:$PORT" }
pipelines:
  p:
    inputs:
      - name: generate
        rate: 0
        count: 1000
        batch_size: 100
    outputs:
      - name: tp_slow
        path: $T/metrics
        delay: 1ms
        reject_every: 10
YAML
start_vigil metrics -c "$T/metrics.yaml"
wait_for 30 sh -c "[ \$(wc -l <'$T/metrics') -eq 900 ]" ||
    fail "metrics: not delivered: $(cat "$T/metrics.log")"
curl -sf "http://127.0.0.1:$PORT/metrics" >"$T/metrics.txt" ||
    fail "no /metrics"
grep -qF 'vigil_dead_lettered_events_total{pipeline="p",instance="output[tp_slow#1]",plugin="tp_slow",kind="output"} 100' \
    "$T/metrics.txt" || fail "dead letters not counted: $(grep dead_lettered \
    "$T/metrics.txt")"
kill "$VPID"
wait_exit "$VPID" 10
ok "an output's own rejects are in vigil_dead_lettered_events_total"

# A dead-letter file that cannot be written: the loss is said, with the
# reason, and the rest of the batch is still delivered.
rm -rf "$T/state"
mkdir -p "$T/state"
: >"$T/state/dead-letter"               # a file where the directory goes
run unwritable 0 retry 0 10
grep -q "10 events lost: cannot write the dead-letter file .*(they were \
rejected: tp_slow: refused event 10 of its batch)" "$T/unwritable.log" ||
    fail "loss not logged: $(cat "$T/unwritable.log")"
[ "$(lines "$T/unwritable")" -eq 900 ] || fail "the others not delivered"
ok "a dead-letter file that cannot be written: the loss is logged"
