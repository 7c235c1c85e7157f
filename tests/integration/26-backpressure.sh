#!/bin/sh
# A slow output fills its memory queue: inputs that can pause are paused
# and resumed, nothing is lost and memory stays bounded; an input that
# cannot pause has its events dropped and counted, and the agent lives on.
. "$(dirname "$0")/lib.sh"

cat >"$T/pause.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: generate
        rate: 0
        batch_size: 500
    outputs:
      - name: tp_slow
        path: $T/slow.jsonl
        delay: 20ms
        buffer: { max_memory: 256KiB }
YAML
start_vigil pause -c "$T/pause.yaml"
sample_peak_rss "$VPID" 3
peak=$PEAK
kill -TERM "$VPID"
wait_exit "$VPID" 30 || fail "no exit after SIGTERM"
[ "$RC" -eq 0 ] || fail "exit code $RC"
grep -q "paused: an output of pipeline 'p' is full" "$T/pause.log" ||
    fail "input was not paused"
grep -q "resumed" "$T/pause.log" || fail "input was not resumed"
python3 - "$T/slow.jsonl" <<'PY' || fail "records under backpressure"
import json, sys
vals = [json.loads(l)["value"] for l in open(sys.argv[1])]
assert len(vals) > 1000, len(vals)
assert vals == list(range(1, len(vals) + 1)), "gap or duplicate"
PY
# An unbounded generator would have queued millions of events by now.
limit=$(rss_limit $((80 * 1024)))
[ "$peak" -lt "$limit" ] || fail "peak RSS ${peak} KiB, want < $limit KiB"
ok "paused and resumed, $(lines "$T/slow.jsonl") events in order, peak RSS ${peak} KiB"

cat >"$T/drop.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: tp_flood
        per_tick: 2000
        interval: 5ms
    outputs:
      - name: tp_slow
        path: $T/flood.jsonl
        delay: 50ms
        buffer: { max_memory: 128KiB }
YAML
start_vigil drop -c "$T/drop.yaml"
sleep 2
kill -0 "$VPID" || fail "agent died under a flood"
kill -TERM "$VPID"
wait_exit "$VPID" 30 || fail "no exit after SIGTERM"
grep -q "queue full (.* bytes): dropped 2000 events" "$T/drop.log" ||
    fail "drops not reported"
ok "an input that cannot pause drops with a warning, agent stays up"
