#!/bin/sh
# generate -> enrich -> file: every record arrives once, in order, with the
# labels the filter adds; the agent exits 0 when the input is done.
. "$(dirname "$0")/lib.sh"

cat >"$T/vigil.yaml" <<YAML
agent:
  hostname: test-host
pipelines:
  metrics:
    inputs:
      - name: generate
        rate: 0
        count: 20000
        batch_size: 250
        exit_when_done: true
    filters:
      - name: enrich
        labels: { env: test, team: core }
    outputs:
      - name: file
        path: $T/metrics.jsonl
  logs:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: 3000
        message: "request %d served"
        exit_when_done: true
    outputs:
      - name: file
        alias: logfile
        path: $T/logs.jsonl
YAML
start_vigil run -c "$T/vigil.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit after count was reached"
[ "$RC" -eq 0 ] || fail "exit code $RC"

python3 - "$T/metrics.jsonl" "$T/logs.jsonl" <<'PY' || fail "records"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert len(rows) == 20000, f"metrics: {len(rows)} records, want 20000"
values = [r["value"] for r in rows]
assert values == list(range(1, 20001)), "metric values not 1..20000 in order"
for r in rows:
    assert r["kind"] == "metric" and r["type"] == "gauge", r
    assert r["name"] == "vigil.generate", r
    assert r["labels"] == {"env": "test", "team": "core",
                           "host": "test-host", "series": "0"}, r["labels"]
    assert r["time"].endswith("Z") and len(r["time"]) == 30, r["time"]
logs = [json.loads(l) for l in open(sys.argv[2])]
assert len(logs) == 3000, f"logs: {len(logs)} records, want 3000"
for i, r in enumerate(logs, 1):
    assert r["kind"] == "log" and r["severity"] == "info", r
    assert r["body"] == f"request {i} served", r["body"]
    assert r["attributes"]["seq"] == i, r
PY
ok "20000 metrics and 3000 logs, each once, in order, labelled"
grep -E "Z (warn|error) " "$T/run.log" && fail "unexpected warnings"
grep -q "every input is done" "$T/run.log" || fail "no done message"
ok "clean exit when every input is done"
