#!/bin/sh
# replay -> alert -> file: metrics pass unchanged; a rule with `for` fires
# once and resolves once with the same fingerprint and a rendered summary;
# the state file keeps a firing alert across restarts (no second page, and
# the next run can still resolve it); predict gives the crossing time;
# absent fires on silence; a bad rule keeps the agent from starting.
. "$(dirname "$0")/lib.sh"

# conf FILE CSV: a pipeline replaying CSV through the alert filter
conf() {
    cat >"$1" <<YAML
agent:
  state_dir: $T/state
pipelines:
  hosts:
    inputs:
      - name: replay
        path: $2
        metric: cpu.usage
        labels: { host: web-1 }
    filters:
      - name: alert
        alias: cpu
        rules:
          - name: cpu_high
            metric: "cpu.*"
            labels: { host: "web-*" }
            above: 90
            resolve_below: 80
            for: 1m
            severity: critical
            add_labels: { team: ops }
            summary: >-
              cpu {{ value }}% on {{ labels.host }} (over {{ threshold }})
            description: "rule {{ rule }}"
    outputs:
      - name: file
        path: $T/out.jsonl
YAML
}

# alerts FILE: the alert lines of the output, one JSON object a line
alerts() {
    grep '"kind":"alert"' "$T/out.jsonl" >"$1" || true
}

run() {
    rm -f "$T/out.jsonl"
    start_vigil "$1" -c "$T/vigil.yaml"
    wait_exit "$VPID" 20 || fail "$1: vigil did not exit"
    [ "$RC" -eq 0 ] || fail "$1: exit code $RC"
}

# ---- one run: pending, firing, hysteresis, resolved -------------------
cat >"$T/a.csv" <<'CSV'
timestamp,value
2026-01-01T00:00:00Z,50
2026-01-01T00:01:00Z,95
2026-01-01T00:02:00Z,96
2026-01-01T00:03:00Z,85
2026-01-01T00:04:00Z,79
2026-01-01T00:05:00Z,50
CSV
conf "$T/vigil.yaml" "$T/a.csv"
run one
alerts "$T/one.alerts"
python3 - "$T/out.jsonl" "$T/one.alerts" <<'PY' || fail "one run"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
metrics = [r for r in rows if r["kind"] == "metric"]
assert [m["value"] for m in metrics] == [50, 95, 96, 85, 79, 50], metrics
a = [json.loads(l) for l in open(sys.argv[2])]
assert len(a) == 2, a
f, r = a
assert f["state"] == "firing" and r["state"] == "resolved", a
assert f["rule"] == "cpu_high" and f["severity"] == "critical", f
assert f["time"] == "2026-01-01T00:02:00.000000000Z", f
assert f["starts_at"] == "2026-01-01T00:01:00.000000000Z", f
assert f["ends_at"] is None, f
assert f["summary"] == "cpu 96% on web-1 (over 90)", f["summary"]
assert f["description"] == "rule cpu_high", f
assert f["labels"] == {"alertname": "cpu_high", "host": "web-1",
                       "team": "ops"}, f["labels"]
assert r["time"] == "2026-01-01T00:04:00.000000000Z", r
assert r["ends_at"] == "2026-01-01T00:04:00.000000000Z", r
assert r["starts_at"] == f["starts_at"], r
assert f["fingerprint"] == r["fingerprint"], a
assert len(f["fingerprint"]) == 16, f
PY
ok "fires after 'for', holds to resolve_below, resolves, same fingerprint"

# ---- restarts: firing, still firing (no page), resolved ------------------
rm -rf "$T/state"
cat >"$T/b1.csv" <<'CSV'
2026-02-01T00:00:00Z,95
2026-02-01T00:01:00Z,95
2026-02-01T00:02:00Z,97
CSV
cat >"$T/b2.csv" <<'CSV'
2026-02-01T00:03:00Z,98
2026-02-01T00:04:00Z,99
CSV
cat >"$T/b3.csv" <<'CSV'
2026-02-01T00:05:00Z,60
CSV
conf "$T/vigil.yaml" "$T/b1.csv"
run b1
alerts "$T/b1.alerts"
[ "$(lines "$T/b1.alerts")" -eq 1 ] || fail "b1: $(cat "$T/b1.alerts")"
grep -q '"state":"firing"' "$T/b1.alerts" || fail "b1: not firing"
[ -f "$T/state/alert-hosts-cpu.state" ] ||
    fail "no state file: $(ls "$T/state")"

conf "$T/vigil.yaml" "$T/b2.csv"
run b2
[ "$(grep -c '"kind":"metric"' "$T/out.jsonl")" -eq 2 ] || fail "b2: metrics"
alerts "$T/b2.alerts"
[ "$(lines "$T/b2.alerts")" -eq 0 ] ||
    fail "b2: paged again: $(cat "$T/b2.alerts")"
ok "a restart does not page a firing alert again"

conf "$T/vigil.yaml" "$T/b3.csv"
run b3
alerts "$T/b3.alerts"
python3 - "$T/b1.alerts" "$T/b3.alerts" <<'PY' || fail "b3"
import json, sys
f = json.loads(open(sys.argv[1]).read())
r = [json.loads(l) for l in open(sys.argv[2])]
assert len(r) == 1 and r[0]["state"] == "resolved", r
r = r[0]
assert r["fingerprint"] == f["fingerprint"], (f, r)
assert r["starts_at"] == f["starts_at"] == "2026-02-01T00:00:00.000000000Z", r
assert r["ends_at"] == "2026-02-01T00:05:00.000000000Z", r
PY
ok "the next run resolves the alert it remembered"

# ---- predict: disk rising 1%/day from 77%, crossing 95% on day 18 -------
python3 - "$T/disk.csv" <<'PY'
import sys
with open(sys.argv[1], "w") as f:
    f.write("timestamp,name,value,host\n")
    for h in range(0, 72):
        f.write(f"{1767225600 + h * 3600},disk.used,{77 + h / 24},db-1\n")
PY
cat >"$T/predict.yaml" <<YAML
pipelines:
  disks:
    inputs:
      - name: replay
        path: $T/disk.csv
    filters:
      - name: alert
        persist: false
        rules:
          - name: disk_filling
            metric: disk.used
            predict: { above: 95, within: 30d, window: 2d, method: linear }
            repeat_interval: 30d
            summary: "{{ labels.host }} full in {{ eta_in }}"
            description: "at {{ eta }}"
    outputs:
      - name: file
        path: $T/predict.jsonl
YAML
start_vigil predict -c "$T/predict.yaml"
wait_exit "$VPID" 20 || fail "predict: vigil did not exit"
[ "$RC" -eq 0 ] || fail "predict: exit code $RC"
grep '"kind":"alert"' "$T/predict.jsonl" >"$T/predict.alerts"
python3 - "$T/predict.alerts" <<'PY' || fail "predict"
import datetime, json, re, sys
a = [json.loads(l) for l in open(sys.argv[1])]
assert len(a) == 1 and a[0]["state"] == "firing", a
a = a[0]
# the line reaches 95 at 2026-01-01 + 18 days
eta = datetime.datetime.strptime(a["description"], "at %Y-%m-%dT%H:%M:%SZ")
want = datetime.datetime(2026, 1, 19)
assert abs((eta - want).total_seconds()) < 60, (eta, want)
assert re.fullmatch(r"db-1 full in 1[5-8]d( \d+h)?", a["summary"]), a
PY
ok "predict fires with the expected crossing time"

# ---- a corrupt state file is ignored with a warning --------------------
for f in "$T"/state/alert-hosts-*.state; do echo garbage >"$f"; done
conf "$T/vigil.yaml" "$T/b1.csv"
run corrupt
grep -q "state file .* ignored: line 1: not an alert state file" \
    "$T/corrupt.log" || fail "no warning for the corrupt state file"
alerts "$T/c.alerts"
[ "$(lines "$T/c.alerts")" -eq 1 ] || fail "corrupt: $(cat "$T/c.alerts")"
ok "a corrupt state file is reported and ignored"

# ---- a rule with two conditions is refused ------------------------------
cat >"$T/bad.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: replay
        path: $T/a.csv
    filters:
      - name: alert
        rules:
          - name: confused
            above: 1
            absent: 5m
    outputs:
      - name: file
        path: $T/bad.jsonl
YAML
# semantic rule errors come from the plugin's init, when the agent starts
"$VIGIL" --plugin-path "$PLUGPATH" -c "$T/bad.yaml" \
    >"$T/bad.out" 2>"$T/bad.log" && fail "bad rule accepted"
grep -q "rule 'confused': has more than one condition" "$T/bad.log" ||
    fail "no rule error: $(cat "$T/bad.log")"
ok "a rule with two conditions is refused"

# ---- absent: a series that stops reporting fires by the wall clock --------
cat >"$T/absent.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  live:
    inputs:
      - name: generate
        rate: 0
        count: 3
    filters:
      - name: alert
        rules:
          - name: silent
            metric: vigil.generate
            absent: 500ms
            summary: "{{ rule }}: no data for {{ threshold }} s"
    outputs:
      - name: file
        path: $T/absent.jsonl
YAML
start_vigil absent -c "$T/absent.yaml"
wait_for 10 grep -q '"kind":"alert"' "$T/absent.jsonl" ||
    fail "absent alert did not fire"
kill -TERM "$VPID"
wait_exit "$VPID" 10 || fail "absent: vigil did not stop"
[ "$RC" -eq 0 ] || fail "absent: exit code $RC"
grep '"kind":"alert"' "$T/absent.jsonl" >"$T/absent.alerts"
[ "$(lines "$T/absent.alerts")" -eq 1 ] ||
    fail "absent: $(cat "$T/absent.alerts")"
grep -q '"state":"firing".*"summary":"silent: no data for 0.5 s"' \
    "$T/absent.alerts" || fail "absent: $(cat "$T/absent.alerts")"
ok "absent fires once when a series goes silent"
