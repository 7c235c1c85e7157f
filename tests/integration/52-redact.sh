#!/bin/sh
# generate -> redact -> file: e-mails in query strings become keyed
# pseudonyms (HMAC-SHA-256, checked here with python's hmac), client IPs
# are truncated, card numbers and bearer tokens masked, a user regex masks
# its group; labels of logs and metrics are redacted too, and a drop rule
# removes a label.
# Bad rules are refused at start.
. "$(dirname "$0")/lib.sh"
need_plugin flt_redact

REDACT_KEY=test-key-1
export REDACT_KEY
cat >"$T/vigil.yaml" <<YAML
pipelines:
  all:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: 200
        batch_size: 64
        message: "GET /reset?email=user%d@example.com&session=abc%d from 10.1.%d.7 via 2001:db8:1:2::%d card 4111-1111-1111-1111 Authorization: Bearer tok%d_abcdefgh"
        labels: { user: "ann@example.com", client: "10.9.8.7", zone: eu }
        exit_when_done: true
    filters:
      - name: redact
        key: "\${REDACT_KEY}"
        rules:
          - { detector: email, action: hash }
          - { detector: ipv4, action: truncate, prefix: 24 }
          - { detector: ipv6, action: truncate }
          - { detector: credit_card, action: mask }
          - { detector: token, mask: "[token]" }
          - { regex: "session=([0-9a-f]+)", name: session }
    outputs:
      - name: file
        path: $T/all.jsonl
  labels:
    inputs:
      - name: generate
        kind: both
        rate: 0
        count: 50
        message: "login by bob@example.org from 192.168.0.1"
        labels: { user: "ann@example.com", client: "10.9.8.7", zone: eu }
        exit_when_done: true
    filters:
      - name: redact
        fields: [ labels ]
        rules:
          - { detector: ipv4, action: drop }
          - { detector: email }
    outputs:
      - name: file
        path: $T/labels.jsonl
  clean:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: 100
        message: "request %d served in 12 ms, version 1.2.3.4.5"
        exit_when_done: true
    filters:
      - name: redact
        rules:
          - { detector: email }
          - { detector: ipv4 }
          - { detector: ipv6 }
          - { detector: credit_card }
          - { detector: token }
    outputs:
      - name: file
        path: $T/clean.jsonl
YAML
start_vigil run -c "$T/vigil.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
grep -q "$REDACT_KEY" "$T/run.log" && fail "the key appears in the log"

python3 - "$T" "$REDACT_KEY" <<'PY' || fail "redacted records"
import hashlib, hmac, json, sys
t, key = sys.argv[1], sys.argv[2].encode()
def h(s):
    return "h:" + hmac.new(key, s.encode(), hashlib.sha256).hexdigest()[:16]
rows = [json.loads(l) for l in open(t + "/all.jsonl")]
assert len(rows) == 200, len(rows)
for r in rows:
    i = r["attributes"]["seq"]
    want = (f"GET /reset?email={h(f'user{i}@example.com')}&session=*** "
            f"from 10.1.{i}.0 via 2001:db8:1:: card *** "
            f"Authorization: Bearer [token]")
    assert r["body"] == want, (r["body"], want)
    assert r["labels"] == {"user": h("ann@example.com"),
                           "client": "10.9.8.0", "zone": "eu"}, r["labels"]
# the same address always maps to the same pseudonym
assert len({r["labels"]["user"] for r in rows}) == 1
rows = [json.loads(l) for l in open(t + "/labels.jsonl")]
assert len(rows) == 100, len(rows)
for r in rows:
    if r["kind"] == "metric":
        assert r["labels"] == {"user": "***", "zone": "eu", "series": "0"}, r
        continue
    assert r["body"] == "login by bob@example.org from 192.168.0.1", r
    assert r["labels"] == {"user": "***", "zone": "eu"}, r["labels"]
rows = [json.loads(l) for l in open(t + "/clean.jsonl")]
assert [r["body"] for r in rows] == [
    f"request {i} served in 12 ms, version 1.2.3.4.5" for i in range(1, 101)]
PY
ok "bodies and labels redacted: hash, truncate, mask, drop, user regex"

bad() {
    cat >"$T/bad.yaml" <<YAML
pipelines:
  p:
    inputs: [ { name: generate } ]
    filters:
      - name: redact
        rules: [ $1 ]
    outputs: [ { name: file, path: $T/x.jsonl } ]
YAML
    # init compiles the rules: a bad one stops the start, exit 1
    timeout 10 "$VIGIL" --plugin-path "$PLUGPATH" -c "$T/bad.yaml" \
        >"$T/check.out" 2>&1
    [ $? -eq 1 ] || fail "not refused with exit 1: $1"
    grep -q "$2" "$T/check.out" || {
        cat "$T/check.out" >&2
        fail "no '$2' for: $1"
    }
}
bad "{ detector: email, action: hash }" "action hash needs a key"
bad "{ detector: email, action: truncate }" "truncate needs detector ipv4"
bad "{ regex: \"a(b\" }" "bad regex"
bad "{ action: mask }" "either 'detector' or 'regex'"
bad "{ detector: emial }" "did you mean 'email'"
ok "bad rules refused with a reason"
