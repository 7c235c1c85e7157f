#!/bin/sh
# output pagerduty against a local HTTPS receiver that checks Events API v2
# bodies as documented: one trigger and one resolve per alert with the
# fingerprint as dedup_key, min_severity, summary cut at 1024 characters,
# 429/500 retried, 400 permanent and logged with PagerDuty's message, the
# routing key never logged.
. "$(dirname "$0")/lib.sh"
need_plugin out_pagerduty
. "$VIGIL_SRCDIR/tests/integration/receivers/lib-http.sh"

make_certs
KEY=R0UT1NGKEYR0UT1NGKEYR0UT1NGKEY42

# pd_config FILE ALERTS-YAML [EXTRA-OUTPUT-YAML]
pd_config() {
    cat >"$1" <<YAML
agent:
  hostname: agent-host
  state_dir: $T/state
pipelines:
  alerts:
    inputs:
      - name: tp_alerts
        alerts:
$2
    outputs:
      - name: pagerduty
        routing_key: $KEY
        endpoint: https://127.0.0.1:$RPORT/v2/enqueue
        component_label: service
        group_label: team
        client_url: https://vigil.example/alerts
        tls: { ca_file: $T/ca.crt }
        retry: { initial: 100ms, max: 500ms }
${3:-}
      - name: file
        path: $T/alerts-$(basename "$1" .yaml).jsonl
YAML
}

CPU='labels: { host: web-1, service: api, team: infra }'

# --- fire, fire again (flap), resolve: one incident, same dedup_key
start_receiver pd pagerduty
pd_config "$T/basic.yaml" "
          - { rule: HighCPU, severity: critical, summary: 'CPU at 97%', value: 97.5, $CPU }
          - { rule: HighCPU, severity: critical, summary: 'CPU at 97%', value: 98, $CPU, after: 200ms }
          - { rule: DiskFull, severity: warning, summary: 'disk /var', labels: { mount: /var }, after: 200ms }
          - { rule: HighCPU, state: resolved, severity: critical, summary: 'CPU at 97%', $CPU, after: 400ms }"
start_vigil basic -c "$T/basic.yaml" --log-level debug
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/pd.jsonl" "$T/alerts-basic.jsonl" "$KEY" <<'PY' || fail "events"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
alerts = [json.loads(l) for l in open(sys.argv[2])]
key = sys.argv[3]
for r in recs:
    assert not r["errors"], r["errors"]
    assert r["status"] == 202, r["status"]
    assert r["path"] == "/v2/enqueue" and r["method"] == "POST"
    assert r["headers"]["content-type"] == "application/json"
evs = [json.loads(r["body"]) for r in recs]
cpu_fp = [a["fingerprint"] for a in alerts if a["rule"] == "HighCPU"]
assert len(set(cpu_fp)) == 1, cpu_fp
cpu = [e for e in evs if e["dedup_key"] == cpu_fp[0]]
acts = [e["event_action"] for e in cpu]
# the flap repeats the trigger with the same key: still one incident
assert acts == ["trigger", "trigger", "resolve"], acts
assert len({e["dedup_key"] for e in evs}) == 2
t = cpu[0]
assert t["routing_key"] == key
assert len(t["dedup_key"]) == 16 and int(t["dedup_key"], 16) >= 0
p = t["payload"]
assert p["summary"] == "CPU at 97%", p
assert p["source"] == "web-1" and p["severity"] == "critical", p
assert p["component"] == "api" and p["group"] == "infra", p
assert p["class"] == "HighCPU", p
assert p["custom_details"]["service"] == "api", p
assert p["custom_details"]["vigil.value"] == 97.5, p
assert p["timestamp"].endswith("Z"), p
assert t["client_url"] == "https://vigil.example/alerts"
assert cpu[2] == {"routing_key": key, "event_action": "resolve",
                  "dedup_key": cpu_fp[0]}, cpu[2]
disk = [e for e in evs if e["dedup_key"] != cpu_fp[0]]
assert len(disk) == 1 and disk[0]["payload"]["source"] == "agent-host"
assert disk[0]["payload"]["severity"] == "warning"
PY
ok "fire, flap, resolve: triggers and one resolve share dedup_key = fingerprint"
grep -q "$KEY" "$T/basic.log" && fail "the routing key reached the log"
ok "routing key not in the debug log"

# --- min_severity and a long multibyte summary
: >"$T/pd.jsonl"
LONG=$(python3 -c 'print("é" * 1500)')
pd_config "$T/sev.yaml" "
          - { rule: Low, severity: warning, summary: low }
          - { rule: High, severity: critical, summary: '$LONG' }" \
"        min_severity: error"
start_vigil sev -c "$T/sev.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/pd.jsonl" <<'PY' || fail "min_severity / summary"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["status"] for r in recs] == [202], [r["status"] for r in recs]
ev = json.loads(recs[0]["body"])
assert ev["payload"]["class"] == "High"
assert ev["payload"]["summary"] == "é" * 1024, len(ev["payload"]["summary"])
PY
ok "min_severity: error drops a warning; summary cut to 1024 characters"

# --- 429 then 500: retried; each event accepted once
: >"$T/pd.jsonl"
printf '429 1\n500\n' >"$T/pd.ctl"
pd_config "$T/retry.yaml" "
          - { rule: HighCPU, severity: error, $CPU }
          - { rule: HighCPU, state: resolved, severity: error, $CPU, after: 1500ms }"
start_vigil retry -c "$T/retry.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/pd.jsonl" <<'PY' || fail "retries"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
st = [(r["status"], json.loads(r["body"])["event_action"]) for r in recs]
assert st == [(429, "trigger"), (500, "trigger"), (202, "trigger"),
              (202, "resolve")], st
assert recs[1]["time"] - recs[0]["time"] >= 0.9, "Retry-After not honoured"
PY
ok "429 (Retry-After 1s) and 500 retried: one accepted trigger, then the resolve"

# --- 400: permanent, logged with PagerDuty's message, not retried
: >"$T/pd.jsonl"
printf '400\n' >"$T/pd.ctl"
pd_config "$T/bad.yaml" "
          - { rule: HighCPU, severity: error, $CPU }"
start_vigil bad -c "$T/bad.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$(lines "$T/pd.jsonl")" -eq 1 ] || fail "a refused event was retried"
grep -q "event refused.*HTTP 400.*Event object is invalid" "$T/bad.log" ||
    fail "refusal not logged with PagerDuty's message"
ok "400: logged as permanent with PagerDuty's message, not retried"

# --- the alert filter's own events: dedup_key is the JSON fingerprint
: >"$T/pd.jsonl"
cat >"$T/real.yaml" <<YAML
agent:
  hostname: agent-host
  state_dir: $T/state-real
pipelines:
  p:
    inputs:
      - name: generate
        rate: 20
        count: 10
        exit_when_done: true
    filters:
      - name: enrich
      - name: alert
        rules:
          - name: TooHigh
            above: 5
            severity: error
            summary: "value {{ value }} on {{ labels.host }}"
    outputs:
      - name: pagerduty
        routing_key: $KEY
        endpoint: https://127.0.0.1:$RPORT/v2/enqueue
        tls: { ca_file: $T/ca.crt }
      - name: file
        path: $T/real.jsonl
YAML
start_vigil real -c "$T/real.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/pd.jsonl" "$T/real.jsonl" <<'PY' || fail "alert filter"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
alerts = [a for a in map(json.loads, open(sys.argv[2])) if a["kind"] == "alert"]
assert len(recs) == 1 and len(alerts) == 1, (len(recs), len(alerts))
assert recs[0]["status"] == 202 and not recs[0]["errors"], recs[0]
ev = json.loads(recs[0]["body"])
assert ev["dedup_key"] == alerts[0]["fingerprint"], (ev, alerts[0])
assert ev["payload"]["summary"] == "value 6 on agent-host", ev
PY
ok "alert filter -> pagerduty: dedup_key equals the fingerprint of the alert"
