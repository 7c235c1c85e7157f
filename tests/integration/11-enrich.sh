#!/bin/sh
# enrich: static labels, host name and metadata, environment variables and
# a labels file re-read when it changes; labels on metrics, attributes on
# logs; existing values kept unless overwrite.
. "$(dirname "$0")/lib.sh"

cat >"$T/labels" <<'TXT'
# written by the orchestrator
app="checkout"
tier=web
TXT
cat >"$T/vigil.yaml" <<YAML
agent:
  hostname: test-host
pipelines:
  p:
    inputs:
      - name: generate
        kind: both
        rate: 20
        interval: 50ms
        labels: { env: keep-me }
    filters:
      - name: enrich
        labels: { env: prod, team: core }
        metadata: [ kernel, arch, machine_id, boot_id, os ]
        env: { region: VIGIL_TEST_REGION, missing: VIGIL_TEST_NOT_SET }
        file: $T/labels
        file_check: 100ms
    outputs:
      - name: file
        path: $T/out.jsonl
YAML
unset VIGIL_TEST_NOT_SET
VIGIL_TEST_REGION=eu-west-1 start_vigil run -c "$T/vigil.yaml"
sleep 0.7
printf '{"app": "payments", "version": 3}\n' >"$T/labels.new"
mv "$T/labels.new" "$T/labels"
wait_for 10 grep -q '"payments"' "$T/out.jsonl" || fail "labels file change not picked up"
sleep 0.3
kill -TERM "$VPID"
wait_exit "$VPID" 10 || fail "no exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
grep -q "environment variable 'VIGIL_TEST_NOT_SET' is not set" "$T/run.log" ||
    fail "missing variable not reported"
python3 - "$T/out.jsonl" "$(uname -r)" "$(uname -m)" <<'PY' || fail "enriched records"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
kernel, arch = sys.argv[2], sys.argv[3]
metrics = [r for r in rows if r["kind"] == "metric"]
logs = [r for r in rows if r["kind"] == "log"]
assert metrics and logs
m = metrics[0]["labels"]
assert m["env"] == "keep-me", "an existing value must win without overwrite"
assert m["team"] == "core" and m["host"] == "test-host" and m["region"] == "eu-west-1", m
assert m["os.kernel"] == kernel and m["host.arch"] == arch, m
assert len(m["host.id"]) >= 16 and len(m["host.boot_id"]) >= 16 and m["os.description"], m
assert m["app"] == "checkout" and m["tier"] == "web" and "missing" not in m, m
a = logs[0]["attributes"]
assert a["team"] == "core" and a["app"] == "checkout", a
assert "team" not in logs[0]["labels"], "logs get attributes, not labels"
last = metrics[-1]["labels"]
assert last["app"] == "payments" and last["version"] == "3" and "tier" not in last, last
PY
ok "static, host metadata, env and file labels; file re-read; logs get attributes"
