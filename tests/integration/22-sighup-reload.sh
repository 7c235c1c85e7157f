#!/bin/sh
# SIGHUP: a good new config replaces the pipelines; a bad one is refused
# and the running pipelines keep going.
. "$(dirname "$0")/lib.sh"

write_config() {
    cat >"$T/vigil.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: generate
        rate: 200
        interval: 50ms
    outputs:
      - name: file
        path: $T/$1
YAML
}

write_config a.jsonl
start_vigil run -c "$T/vigil.yaml"
wait_for 10 test -s "$T/a.jsonl" || fail "nothing written before reload"

write_config b.jsonl
kill -HUP "$VPID"
wait_for 10 grep -q "reloaded: 1 pipeline running" "$T/run.log" ||
    fail "good reload not done"
wait_for 10 test -s "$T/b.jsonl" || fail "new pipeline writes nothing"
a1=$(lines "$T/a.jsonl")
sleep 0.5
a2=$(lines "$T/a.jsonl")
[ "$a1" -eq "$a2" ] || fail "old pipeline still writing after reload"
ok "good config reloaded"

printf 'pipelines:\n  p:\n    inputs:\n      - name: generate\n        rat: 1\n' \
    >"$T/vigil.yaml"
kill -HUP "$VPID"
wait_for 10 grep -q "reload refused: the running pipelines are kept" \
    "$T/run.log" || fail "bad reload not refused"
grep -q "vigil.yaml:5:9: input 'generate': unknown option 'rat'" \
    "$T/run.log" || fail "bad reload not explained"
b1=$(lines "$T/b.jsonl")
sleep 0.6
b2=$(lines "$T/b.jsonl")
[ "$b2" -gt "$b1" ] || fail "pipelines stopped after a refused reload"
kill -0 "$VPID" || fail "vigil died on a bad reload"
ok "bad config refused, old pipelines keep running"

kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "no exit after SIGTERM"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/a.jsonl" "$T/b.jsonl" <<'PY' || fail "records after reload"
import json, sys
for f in sys.argv[1:]:
    vals = [json.loads(l)["value"] for l in open(f)]
    assert vals == list(range(1, len(vals) + 1)), f"{f}: gap or duplicate"
PY
ok "each generation's records complete"
