#!/bin/sh
# generate -> sample -> file: consistent sampling by key keeps the same
# keys in two separate agent processes (batched differently), random
# sampling keeps about the rate, kept events carry the sample rate,
# always_keep bypasses sampling, and throttling keeps max events per
# window per key with one summary event per throttled key.
. "$(dirname "$0")/lib.sh"

# sampled NAME RATE BATCH EXTRA: a config sampling 20000 log lines
sampled() {
    cat >"$T/$1.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: 20000
        batch_size: $3
        message: "trace %d"
        labels: { tier: gold }
        exit_when_done: true
    filters:
      - name: sample
        rate: $2
$4
    outputs:
      - name: file
        path: $T/$1.jsonl
YAML
}
sampled a 0.1 500 "        key: seq"
sampled b 0.1 37 "        key: seq"
sampled rnd 0.25 500 ""
sampled sev 0 500 "        always_keep: { min_severity: info }"
sampled nosev 0 500 "        always_keep: { min_severity: warn }"
sampled gold 0 500 "        always_keep: { key: tier, value: gold }"
sampled silver 0 500 "        always_keep: { key: tier, value: silver }"
for n in a b rnd sev nosev gold silver; do
    start_vigil "$n" -c "$T/$n.yaml"
    eval "pid_$n=\$VPID"
done
for n in a b rnd sev nosev gold silver; do
    eval "p=\$pid_$n"
    wait_exit "$p" 30 || fail "$n: vigil did not exit"
    [ "$RC" -eq 0 ] || fail "$n: exit code $RC"
done

python3 - "$T" <<'PY' || fail "sampled records"
import json, os, sys
t = sys.argv[1]
def load(n):
    p = f"{t}/{n}.jsonl"
    return [json.loads(l) for l in open(p)] if os.path.exists(p) else []
a, b = load("a"), load("b")
ka = [r["attributes"]["seq"] for r in a]
kb = [r["attributes"]["seq"] for r in b]
assert ka == kb, "two processes kept different keys"
assert 1700 <= len(ka) <= 2300, f"rate 0.1 kept {len(ka)} of 20000"
assert all(r["attributes"]["sample_rate"] == "10" for r in a)
rnd = load("rnd")
assert 4500 <= len(rnd) <= 5500, f"rate 0.25 kept {len(rnd)} of 20000"
assert all(r["attributes"]["sample_rate"] == "4" for r in rnd)
assert len(load("sev")) == 20000, "min_severity info did not keep all"
assert len(load("nosev")) == 0, "rate 0 kept events"
gold = load("gold")
assert len(gold) == 20000, "always_keep key/value did not keep all"
assert "sample_rate" not in gold[0]["attributes"], gold[0]
assert len(load("silver")) == 0, "rate 0 kept events of another value"
PY
ok "consistent by key across processes, random rate, always_keep"

cat >"$T/thr.yaml" <<YAML
pipelines:
  tmpl:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: 1000
        message: "request %d done in 5 ms"
    filters:
      - name: sample
        throttle: { max: 10, window: 1s, key: body_template }
    outputs:
      - name: file
        path: $T/tmpl.jsonl
  series:
    inputs:
      - name: generate
        rate: 0
        count: 100
        series: 5
    filters:
      - name: sample
        throttle: { max: 3, window: 1s, key: series, max_keys: 2 }
    outputs:
      - name: file
        path: $T/series.jsonl
YAML
start_vigil thr -c "$T/thr.yaml"
has_summaries() {
    [ "$(grep -c throttled "$T/tmpl.jsonl" 2>/dev/null)" -ge 1 ] &&
    [ "$(grep -c throttled "$T/series.jsonl" 2>/dev/null)" -ge 3 ]
}
wait_for 10 has_summaries || fail "no throttling summaries"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "vigil did not stop"
[ "$RC" -eq 0 ] || fail "exit code $RC"

python3 - "$T" <<'PY' || fail "throttled records"
import json, sys
t = sys.argv[1]
rows = [json.loads(l) for l in open(t + "/tmpl.jsonl")]
kept = [r for r in rows if "seq" in r["attributes"]]
summ = [r for r in rows if "throttled" in r["attributes"]]
assert [r["attributes"]["seq"] for r in kept] == list(range(1, 11)), kept
assert len(summ) == 1, summ
s = summ[0]
assert s["severity"] == "warn", s
assert s["body"] == ("throttled 990 events for key request # done in # ms "
                     "in the last window"), s["body"]
assert s["attributes"] == {"throttle_key": "request # done in # ms",
                           "throttled": 990}, s["attributes"]
rows = [json.loads(l) for l in open(t + "/series.jsonl")]
kept = [r for r in rows if r["kind"] == "metric"]
summ = {r["attributes"]["throttle_key"]: r["attributes"]["throttled"]
        for r in rows if r["kind"] == "log"}
# series 0 and 1 are tracked; 2, 3, 4 share the overflow entry
assert summ == {"0": 17, "1": 17, "(other keys)": 57}, summ
assert len(kept) == 9, len(kept)
assert [r["value"] for r in kept if r["labels"]["series"] == "0"] == \
    [1, 6, 11], kept
PY
ok "throttle: max per window per key, summaries, bounded keys"
