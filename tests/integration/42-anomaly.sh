#!/bin/sh
# replay -> anomaly -> file: a recorded series with one injected spike
# passes unchanged, gets one score per sample (emit_scores), and raises
# exactly one firing alert and one resolve with the same fingerprint; the
# state file keeps an alert that still fires at the end of a run, so the
# next run does not page again but resolves it; a bad option is refused.
. "$(dirname "$0")/lib.sh"

# series FILE SPIKE_AT SHIFT_FROM: 400 samples a minute apart, noise
# around 50 (deterministic), +40 at SPIKE_AT, +30 from SHIFT_FROM on
series() {
    python3 - "$@" <<'PY'
import datetime, random, sys
path, spike, shift = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
r = random.Random(7)
t0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.timezone.utc)
with open(path, "w") as f:
    f.write("timestamp,value\n")
    for i in range(400):
        v = 50 + r.gauss(0, 2)
        if i == spike:
            v += 40
        if 0 <= shift <= i:
            v += 30
        t = t0 + datetime.timedelta(minutes=i)
        f.write("%s,%.3f\n" % (t.strftime("%Y-%m-%dT%H:%M:%SZ"), v))
PY
}

conf() {
    cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  api:
    inputs:
      - name: replay
        path: $1
        metric: api.latency
        labels: { host: web-1 }
    filters:
      - name: anomaly
        alias: lat
        metric: "api.*"
        labels: { host: "web-*" }
        emit_scores: true
        severity: critical
        add_labels: { team: ops }
        summary: "{{ labels.metric }} odd on {{ labels.host }}"
        $2
    outputs:
      - name: file
        path: $T/out.jsonl
YAML
}

run() {
    rm -f "$T/out.jsonl"
    start_vigil "$1" -c "$T/vigil.yaml"
    wait_exit "$VPID" 20 || fail "$1: vigil did not exit"
    [ "$RC" -eq 0 ] || fail "$1: exit code $RC"
}

mkdir -p "$T/state"
series "$T/spike.csv" 250 -1
conf "$T/spike.csv" ""
run spike
python3 - "$T/out.jsonl" <<'PY' || fail "spike run"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
metrics = [r for r in rows if r["kind"] == "metric"]
raw = [m for m in metrics if m["name"] == "api.latency"]
scores = [m for m in metrics if m["name"] == "api.latency.anomaly_score"]
assert len(raw) == 400 and len(scores) == 400, (len(raw), len(scores))
assert all(0 <= s["value"] <= 1 for s in scores)
assert all(s["labels"] == {"host": "web-1"} for s in scores), scores[0]
assert all(s["value"] == 0 for s in scores[:60]), "warm-up not quiet"
a = [r for r in rows if r["kind"] == "alert"]
assert [x["state"] for x in a] == ["firing", "resolved"], a
f, r = a
assert f["time"] == "2026-01-01T04:10:00.000000000Z", f
assert f["starts_at"] == f["time"] and f["ends_at"] is None, f
assert f["fingerprint"] == r["fingerprint"], a
assert r["starts_at"] == f["starts_at"] and r["ends_at"] == r["time"], r
assert f["rule"] == "anomaly" and f["severity"] == "critical", f
assert f["labels"] == {"alertname": "anomaly", "host": "web-1",
                       "metric": "api.latency", "team": "ops"}, f
assert f["summary"] == "api.latency odd on web-1", f["summary"]
assert f["value"] > 0.55, f
PY
ok "one spike: one firing, one resolved, scores for every sample"

# A shift at the very end: the alert still fires when the run ends.
series "$T/tail.csv" -1 390
conf "$T/tail.csv" ""
run tail1
n=$(grep -c '"state":"firing"' "$T/out.jsonl")
[ "$n" -eq 1 ] || fail "tail run: $n firing alerts"
grep -q '"state":"resolved"' "$T/out.jsonl" && fail "tail run resolved"
ls "$T/state"/anomaly-api-lat.state >/dev/null 2>&1 ||
    fail "no state file"
fp=$(grep '"state":"firing"' "$T/out.jsonl" |
    sed 's/.*"fingerprint":"\([0-9a-f]*\)".*/\1/')

# Next run: history where the level is back; the restored alert keeps
# firing through the new detector's warm-up, then resolves, without a
# second page.
cat >"$T/back.csv" <<'CSV'
timestamp,value
CSV
python3 - "$T/back.csv" <<'PY'
import random, sys
r = random.Random(3)
with open(sys.argv[1], "a") as f:
    for i in range(100):
        f.write("2026-01-02T%02d:%02d:00Z,%.3f\n" % (i // 60, i % 60,
                                                     50 + r.gauss(0, 2)))
PY
conf "$T/back.csv" ""
run tail2
grep -q '"state":"firing"' "$T/out.jsonl" && fail "restart paged again"
grep '"state":"resolved"' "$T/out.jsonl" | grep -q "\"fingerprint\":\"$fp\"" ||
    fail "restored alert not resolved with fingerprint $fp"
grep '"state":"resolved"' "$T/out.jsonl" |
    grep -q '"ends_at":"2026-01-02T01:00:00' ||
    fail "restored alert resolved before the warm-up ended"
ok "state file: no second page after a restart, resolved later"

# A threshold outside (0, 1) is refused by the plugin's init at start.
conf "$T/spike.csv" "threshold: 1.5"
"$VIGIL" --plugin-path "$PLUGPATH" -c "$T/vigil.yaml" \
    >"$T/bad.out" 2>"$T/bad.log" && fail "threshold 1.5 accepted"
grep -q "'threshold' must be between 0 and 1" "$T/bad.log" ||
    fail "no threshold error: $(cat "$T/bad.log")"
ok "bad threshold refused"
