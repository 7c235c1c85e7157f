#!/bin/sh
# output file after a crash: a JSON line torn by kill -9 in the middle of a
# write is cut off when the file is opened again (its batch comes again);
# a foreign tail without a newline is kept and ended with one.
. "$(dirname "$0")/lib.sh"

printf '{"value":1}\n{"value":2,"na' >"$T/torn.jsonl"
printf 'kept text' >"$T/foreign.jsonl"
cat >"$T/vigil.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: generate
        rate: 0
        count: 100
        exit_when_done: true
    outputs:
      - name: file
        path: $T/torn.jsonl
      - name: file
        alias: foreign
        path: $T/foreign.jsonl
YAML
start_vigil run -c "$T/vigil.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
grep -q "torn.jsonl' ends in a line torn by a crash; cutting its 14 bytes" \
    "$T/run.log" || fail "no warning about the torn line"
grep -q "foreign.jsonl' does not end in a newline; adding one" "$T/run.log" ||
    fail "no warning about the foreign tail"
python3 - "$T/torn.jsonl" "$T/foreign.jsonl" <<'PY' || fail "file contents"
import json, sys
lines = open(sys.argv[1]).read().split("\n")
assert lines[0] == '{"value":1}', lines[0]
assert lines[-1] == "", "no newline at the end"
rows = [json.loads(l) for l in lines[1:-1]]
assert [r["value"] for r in rows] == list(range(1, 101)), "values"
text = open(sys.argv[2]).read().split("\n")
assert text[0] == "kept text", text[0]
assert len([json.loads(l) for l in text[1:-1]]) == 100
PY
ok "torn line cut, foreign tail kept, 100 lines after each"
