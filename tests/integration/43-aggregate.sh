#!/bin/sh
# replay -> aggregate -> file: tumbling windows in event time with the
# exact count/sum/min/max/avg/last/rate and sketch quantiles, labels cut
# to group_by, a late sample within allowed_lateness counted and a later
# one dropped (late_dropped), drop_raw; generate (logs) -> aggregate:
# log-to-metric counts and a numeric attribute; live windows closed by the
# wall clock; bad options refused.
. "$(dirname "$0")/lib.sh"

cat >"$T/s.csv" <<'CSV'
timestamp,value
2026-01-01T00:00:05Z,1
2026-01-01T00:00:25Z,2
2026-01-01T00:00:55Z,3
2026-01-01T00:01:05Z,10
2026-01-01T00:00:59Z,4
2026-01-01T00:01:40Z,20
2026-01-01T00:02:31Z,7
2026-01-01T00:00:30Z,99
CSV
cat >"$T/metrics.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: replay
        path: $T/s.csv
        metric: req
        labels: { host: web-1, pod: a }
    filters:
      - name: aggregate
        window: 1m
        allowed_lateness: 10s
        group_by: [host]
        functions: [count, sum, min, max, avg, last, rate, p50, p99]
        drop_raw: true
    outputs:
      - name: file
        path: $T/metrics.jsonl
YAML
start_vigil metrics -c "$T/metrics.yaml"
wait_exit "$VPID" 20 || fail "metrics: vigil did not exit"
[ "$RC" -eq 0 ] || fail "metrics: exit code $RC"
grep -q "late_dropped 1" "$T/metrics.log" || fail "late sample not counted"
python3 - "$T/metrics.jsonl" <<'PY' || fail "metric windows"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
assert all(r["name"].startswith("req.") for r in rows), "raw events kept"
assert all(r["labels"] == {"host": "web-1"} for r in rows), rows[0]
got = {(r["time"][11:19], r["name"][4:]): r["value"] for r in rows}
want = {
    # 00:00:59 came after 00:01:05 but within the 10 s lateness
    "00:00:00": dict(count=4, sum=10, min=1, max=4, avg=2.5, last=4,
                     rate=10 / 60, p50=2, p99=3),
    "00:01:00": dict(count=2, sum=30, min=10, max=20, avg=15, last=20,
                     rate=0.5, p50=10, p99=10),
    # flushed at stop; 00:00:30 came after 00:02:31: dropped
    "00:02:00": dict(count=1, sum=7, min=7, max=7, avg=7, last=7,
                     rate=7 / 60, p50=7, p99=7),
}
assert len(got) == 27, sorted(got)
for t, fns in want.items():
    for fn, v in fns.items():
        g = got[(t, fn)]
        tol = 0.01 * abs(v) if fn.startswith("p") else 1e-12
        assert abs(g - v) <= tol, (t, fn, g, v)
PY
ok "metric windows: exact values, quantiles within 1%, lateness, drop_raw"

# ---- log-to-metric ---------------------------------------------------------
cat >"$T/logs.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: 500
        labels: { host: web-1, app: shop }
        exit_when_done: true
    filters:
      - name: aggregate
        alias: count
        window: 1h
        logs: count
        group_by: [host]
        functions: [count, rate]
      - name: aggregate
        alias: seq
        window: 1h
        logs: count
        value_attribute: seq
        metric_name: seq
        group_by: [app]
        functions: [count, sum, max]
    outputs:
      - name: file
        path: $T/logs.jsonl
YAML
start_vigil logs -c "$T/logs.yaml"
wait_exit "$VPID" 20 || fail "logs: vigil did not exit"
[ "$RC" -eq 0 ] || fail "logs: exit code $RC"
python3 - "$T/logs.jsonl" <<'PY' || fail "log-to-metric"
import collections, json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
logs = [r for r in rows if r["kind"] == "log"]
assert len(logs) == 500, len(logs)
m = collections.defaultdict(float)
for r in rows:
    if r["kind"] == "metric":
        key = (r["name"], tuple(sorted(r["labels"].items())))
        # the run may straddle an hour: add the windows up (max: the max)
        if r["name"] == "seq.max":
            m[key] = max(m[key], r["value"])
        elif not r["name"].endswith(".rate"):
            m[key] += r["value"]
assert m[("log_events.count", (("host", "web-1"),))] == 500, dict(m)
assert m[("seq.count", (("app", "shop"),))] == 500, dict(m)
assert m[("seq.sum", (("app", "shop"),))] == 500 * 501 / 2, dict(m)
assert m[("seq.max", (("app", "shop"),))] == 500, dict(m)
rates = [r for r in rows if r.get("name") == "log_events.rate"]
assert rates and abs(sum(r["value"] for r in rates) * 3600 - 500) < 1e-6
PY
ok "log-to-metric: counts and a numeric attribute"

# ---- live data: with no further event the wall clock closes the window ------
cat >"$T/live.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: generate
        rate: 1000
        count: 50
    filters:
      - name: aggregate
        window: 1s
        functions: [count]
        drop_raw: true
    outputs:
      - name: file
        path: $T/live.jsonl
YAML
start_vigil live -c "$T/live.yaml"
live_total() {
    [ -s "$T/live.jsonl" ] &&
        python3 -c "import json, sys
n = sum(json.loads(l)['value'] for l in open(sys.argv[1]))
sys.exit(0 if n == 50 else 1)" "$T/live.jsonl"
}
wait_for 10 live_total || fail "live windows not closed by the timer"
kill -0 "$VPID" || fail "live: vigil exited"
kill "$VPID"
wait_exit "$VPID" 20 || fail "live: vigil did not stop"
ok "live data: windows close on the wall clock while the agent runs"

# ---- bad options -------------------------------------------------------------
sed 's/functions: \[count, rate\]/functions: [count, p75]/' "$T/logs.yaml" \
    >"$T/bad.yaml"
"$VIGIL" --plugin-path "$PLUGPATH" -c "$T/bad.yaml" >"$T/bad.out" \
    2>"$T/bad.log" && fail "unknown function accepted"
grep -q "unknown function 'p75'" "$T/bad.log" ||
    fail "no function error: $(cat "$T/bad.log")"
ok "unknown function refused"
