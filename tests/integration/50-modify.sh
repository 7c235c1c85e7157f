#!/bin/sh
# generate -> modify -> file: labels renamed, copied, dropped by glob and
# set; events kept by name and dropped by a label regex; attribute types
# cast; values converted between units and scaled; drop-only operation
# lists drop in place.  Operations with no or two actions, and units of
# different quantities, are refused at start.
. "$(dirname "$0")/lib.sh"
need_plugin flt_modify

cat >"$T/vigil.yaml" <<YAML
pipelines:
  metrics:
    inputs:
      - name: generate
        rate: 0
        count: 300
        series: 3
        metric: system.memory.usage
        labels: { hostname: web-1, tmp_a: x, tmp_b: y, path: /api }
        exit_when_done: true
    filters:
      - name: modify
        operations:
          - { rename: { from: hostname, to: host } }
          - { copy: { from: path, to: route } }
          - { drop_labels: [ "tmp_*" ] }
          - { set: { key: env, value: prod } }
          - { keep: { name: "system.*" } }
          - { drop: { label: series, regex: "^2\$" } }
          - { convert: { from: bytes, to: KiB } }
    outputs:
      - name: file
        path: $T/metrics.jsonl
  other:
    inputs:
      - name: generate
        rate: 0
        count: 50
        metric: app.requests
        exit_when_done: true
    filters:
      - name: modify
        operations:
          - { keep: { name_regex: "^system\\\\." } }
    outputs:
      - name: file
        path: $T/other.jsonl
  logs:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: 100
        message: "GET /api/items/%d 200"
        labels: { a: b }
        exit_when_done: true
    filters:
      - name: modify
        operations:
          - { set: { key: status, value: "404" } }
          - { cast: { key: status, type: int } }
          - { set: { key: ratio, value: "0.25" } }
          - { cast: { key: ratio, type: double } }
          - { convert: { field: ratio, from: ratio, to: percent } }
          - { set: { key: ok, value: "yes" } }
          - { cast: { key: ok, type: bool } }
          - { set: { key: bad, value: "12x" } }
          - { cast: { key: bad, type: int } }
          - { cast: { key: seq, type: string } }
          - { drop: { attribute: seq, value: "*3" } }
          - { drop: { body: "*/items/5? *" } }
          - { rename: { from: a, to: c } }
          - { set: { key: kind, value: access, in: labels } }
    outputs:
      - name: file
        path: $T/logs.jsonl
  inplace:
    inputs:
      - name: generate
        rate: 0
        count: 90
        series: 3
        exit_when_done: true
    filters:
      - name: modify
        operations:
          - { keep: { name: "vigil.*" } }
          - { drop: { key: series, value: "1" } }
    outputs:
      - name: file
        path: $T/inplace.jsonl
YAML
start_vigil run -c "$T/vigil.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"

python3 - "$T" <<'PY' || fail "modified records"
import json, os, sys
t = sys.argv[1]
rows = [json.loads(l) for l in open(t + "/metrics.jsonl")]
assert len(rows) == 200, len(rows)
for r in rows:
    assert r["labels"]["series"] in ("0", "1"), r
    assert r["labels"] == {"env": "prod", "host": "web-1", "path": "/api",
                           "route": "/api",
                           "series": r["labels"]["series"]}, r["labels"]
want = [v / 1024 for v in range(1, 301) if (v - 1) % 3 != 2]
assert [r["value"] for r in rows] == want, "values not converted"
assert not os.path.exists(t + "/other.jsonl") or \
    open(t + "/other.jsonl").read() == "", "keep let app.requests pass"
rows = [json.loads(l) for l in open(t + "/logs.jsonl")]
seqs = [int(r["attributes"]["seq"]) for r in rows]
want = [i for i in range(1, 101) if i % 10 != 3 and not 50 <= i <= 59]
assert seqs == want, seqs
for r in rows:
    a = r["attributes"]
    assert a == {"seq": a["seq"], "status": 404, "ratio": 25.0, "ok": True,
                 "bad": "12x"}, a
    assert isinstance(a["seq"], str), a
    assert r["labels"] == {"c": "b", "kind": "access"}, r["labels"]
rows = [json.loads(l) for l in open(t + "/inplace.jsonl")]
assert [r["value"] for r in rows] == \
    [v for v in range(1, 91) if (v - 1) % 3 != 1], "in-place drops"
PY
ok "rename, copy, drop_labels, set, keep, drop, cast, convert"

bad() {
    cat >"$T/bad.yaml" <<YAML
pipelines:
  p:
    inputs: [ { name: generate } ]
    filters:
      - name: modify
        operations: [ $1 ]
    outputs: [ { name: file, path: $T/x.jsonl } ]
YAML
    timeout 10 "$VIGIL" --plugin-path "$PLUGPATH" -c "$T/bad.yaml" \
        >"$T/check.out" 2>&1
    [ $? -eq 1 ] || fail "not refused with exit 1: $1"
    grep -q "$2" "$T/check.out" || {
        cat "$T/check.out" >&2
        fail "no '$2' for: $1"
    }
}
bad "{ set: { key: a, value: b }, drop_labels: [ x ] }" "exactly one action"
bad "{ }" "exactly one action"
bad "{ convert: { from: bytes, to: ms } }" "cannot convert 'bytes' to 'ms'"
bad "{ drop: { name_regex: \"(\" } }" "bad name_regex"
bad "{ drop: { value: x } }" "need 'label', 'attribute' or 'key'"
bad "{ cast: { key: a, type: integer } }" "expects one of string|int"
ok "bad operations refused with a reason"
