#!/bin/sh
# output slack against a local HTTPS receiver that checks webhook payloads
# (text fallback, Block Kit limits): grouping by group_by within
# group_wait, firing and resolved told apart, pacing, min_severity, 429 +
# Retry-After, truncation to Slack's limits, the webhook URL never logged.
. "$(dirname "$0")/lib.sh"
need_plugin out_slack
. "$VIGIL_SRCDIR/tests/integration/receivers/lib-http.sh"

make_certs
start_receiver slack slack

# slack_config FILE ALERTS-YAML [EXTRA-OUTPUT-YAML]
slack_config() {
    cat >"$1" <<YAML
agent:
  hostname: agent-host
pipelines:
  alerts:
    inputs:
      - name: tp_alerts
        exit_when_done: false
        alerts:
$2
    outputs:
      - name: slack
        webhook_url: https://127.0.0.1:$RPORT/services/T0/B0/hushhookpath
        group_wait: 1s
        link: https://grafana.example/d/abc
        tls: { ca_file: $T/ca.crt }
${3:-}
YAML
}

# run_until NAME N: runs $T/NAME.yaml until the receiver holds N records.
run_until() {
    start_vigil "$1" -c "$T/$1.yaml" --log-level debug
    wait_for 30 sh -c "[ \$(wc -l <'$T/slack.jsonl') -ge $2 ]" ||
        fail "$1: the receiver got $(lines "$T/slack.jsonl") of $2 messages"
    sleep 0.5
    kill "$VPID"
    wait_exit "$VPID" 20 || fail "vigil did not stop"
}

# --- grouping, states, colours, pacing
: >"$T/slack.jsonl"
slack_config "$T/group.yaml" "
          - { rule: HighCPU, severity: critical, summary: 'CPU <hot> & busy', value: 97.5, labels: { host: a } }
          - { rule: HighCPU, severity: critical, summary: 'CPU hot', value: 95, labels: { host: b }, after: 300ms }
          - { rule: DiskFull, severity: warning, summary: 'disk full', labels: { host: a }, after: 300ms }
          - { rule: HighCPU, state: resolved, severity: critical, summary: 'CPU hot', labels: { host: a }, after: 2500ms }
          - { rule: HighCPU, state: resolved, severity: critical, summary: 'CPU hot', labels: { host: b }, after: 2600ms }"
run_until group 3
python3 - "$T/slack.jsonl" <<'PY' || fail "grouping"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 3, len(recs)
for r in recs:
    assert not r["errors"], r["errors"]
    assert r["status"] == 200 and r["method"] == "POST"
    assert r["path"] == "/services/T0/B0/hushhookpath"
msgs = [json.loads(r["body"]) for r in recs]
texts = [m["text"] for m in msgs]
assert texts[0].startswith("[FIRING:2] alertname=HighCPU"), texts
assert texts[1].startswith("[FIRING:1] alertname=DiskFull"), texts
assert texts[2].startswith("[RESOLVED:2] alertname=HighCPU"), texts
colors = [m["attachments"][0]["color"] for m in msgs]
assert colors == ["danger", "warning", "good"], colors
b = msgs[0]["attachments"][0]["blocks"]
assert b[0]["type"] == "header" and "FIRING" in b[0]["text"]["text"]
secs = [x["text"]["text"] for x in b if x["type"] == "section"]
assert len(secs) == 2, secs
assert "CPU &lt;hot&gt; &amp; busy" in secs[0], secs[0]
assert "*critical*" in secs[0] and "host=a" in secs[0], secs[0]
assert "*Value:* 97.5" in secs[0] and "*Started:*" in secs[0], secs[0]
assert b[-1]["type"] == "context" and "grafana.example" in \
    b[-1]["elements"][0]["text"]
rs = [x["text"]["text"] for x in msgs[2]["attachments"][0]["blocks"]
      if x["type"] == "section"]
assert all("*Resolved after:*" in s for s in rs), rs
gaps = [recs[i + 1]["time"] - recs[i]["time"] for i in range(2)]
assert min(gaps) >= 0.9, f"messages {gaps} s apart, want >= 1s"
PY
ok "2 firing HighCPU grouped, DiskFull apart, resolved apart; colours; 1/s"
grep -q "hushhookpath" "$T/group.log" && fail "the webhook path was logged"
ok "webhook URL path not in the debug log"

# --- min_severity
: >"$T/slack.jsonl"
slack_config "$T/sev.yaml" "
          - { rule: Chatty, severity: info, summary: 'fyi' }
          - { rule: Broken, severity: error, summary: 'broken', after: 100ms }" \
"        min_severity: error"
# an info alert sent by mistake would come first (its group is older)
run_until sev 1
python3 - "$T/slack.jsonl" <<'PY' || fail "min_severity"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 1, len(recs)
assert "Broken" in json.loads(recs[0]["body"])["text"]
PY
ok "min_severity: error keeps an info alert out"

# --- 429 + Retry-After: the message waits, then goes once
: >"$T/slack.jsonl"
printf '429 2\n' >"$T/slack.ctl"
slack_config "$T/limit.yaml" "
          - { rule: HighCPU, severity: critical, summary: 'hot' }"
run_until limit 2
python3 - "$T/slack.jsonl" <<'PY' || fail "429"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["status"] for r in recs] == [429, 200], [r["status"] for r in recs]
assert recs[1]["time"] - recs[0]["time"] >= 1.9, "Retry-After not honoured"
assert recs[0]["body"] == recs[1]["body"]
PY
ok "429 with Retry-After: 2 resent 2s later, delivered once"

# --- 60 alerts with 4000-character summaries: cut, never refused
: >"$T/slack.jsonl"
LONG=$(python3 -c 'print("x" * 4000)')
ALERTS=$(i=0; while [ $i -lt 60 ]; do
    printf "          - { rule: Flood, summary: '%s', labels: { n: '%d' } }\n" \
        "$LONG" "$i"; i=$((i + 1)); done)
slack_config "$T/big.yaml" "$ALERTS"
run_until big 1
python3 - "$T/slack.jsonl" <<'PY' || fail "limits"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 1 and recs[0]["status"] == 200, recs[0]["errors"]
m = json.loads(recs[0]["body"])
blocks = m["attachments"][0]["blocks"]
assert len(blocks) == 50, len(blocks)
secs = [b["text"]["text"] for b in blocks if b["type"] == "section"]
assert all(len(s) <= 3000 for s in secs)
assert secs[-1].endswith("and 13 more_"), secs[-1]
assert m["text"].startswith("[FIRING:60] alertname=Flood")
assert len(m["text"]) <= 3000
PY
ok "60 long alerts: 50 blocks, sections <= 3000 chars, '...and 13 more'"
