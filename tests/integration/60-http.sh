#!/bin/sh
# output http against local HTTPS receivers: TLS verification (untrusted
# CA refused, nothing sent; tls.ca_file accepted), gzip, auth and custom
# headers, json/otlp bodies, 429 + Retry-After, 500 retried, 400
# permanent, and a receiver that is down and comes up.
. "$(dirname "$0")/lib.sh"
need_plugin out_http
. "$VIGIL_SRCDIR/tests/integration/receivers/lib-http.sh"

make_certs

# gen_config FILE COUNT OUTPUT-YAML: generate COUNT metrics in batches of
# 100, then exit; OUTPUT-YAML is the output's options, indented 8.
gen_config() {
    cat >"$1" <<YAML
agent:
  hostname: test-host
  state_dir: $T/state
pipelines:
  p1:
    inputs:
      - name: generate
        rate: 0
        count: $2
        batch_size: 100
        exit_when_done: true
    filters:
      - name: enrich
    outputs:
      - name: http
        alias: sink
        retry: { initial: 100ms, max: 500ms }
$3
YAML
}

# --- untrusted CA: refused with a clear error, nothing reaches the server
start_receiver untrusted sink
gen_config "$T/untrusted.yaml" 100 "        url: https://127.0.0.1:$RPORT/ingest"
start_vigil untrusted -c "$T/untrusted.yaml"
wait_for 20 grep -q "certificate" "$T/untrusted.log" ||
    fail "no certificate error logged"
kill "$VPID"
wait_exit "$VPID" 20 || fail "vigil did not stop"
grep -qi "SSL certificate problem" "$T/untrusted.log" ||
    fail "error does not say what is wrong"
[ "$(lines "$T/untrusted.jsonl")" -eq 0 ] ||
    fail "a request went through with an untrusted certificate"
ok "untrusted CA: '$(grep -o 'SSL certificate problem[^"]*' "$T/untrusted.log" | head -1)', nothing sent"

# --- custom CA, gzip, bearer token, extra header, secret path hidden
start_receiver main sink
gen_config "$T/main.yaml" 1000 "        url: https://localhost:$RPORT/ingest/{pipeline}/{alias}?key=hush-path-secret
        compress: gzip
        auth: { bearer_token: hush-token-secret }
        headers: { X-Team: core }
        tls: { ca_file: $T/ca.crt }"
start_vigil main -c "$T/main.yaml" --log-level debug
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/main.jsonl" <<'PY' || fail "gzip/auth/headers"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert recs, "no request"
values = []
for r in recs:
    h = r["headers"]
    assert r["method"] == "POST", r["method"]
    assert r["path"] == "/ingest/p1/sink?key=hush-path-secret", r["path"]
    assert h["content-encoding"] == "gzip", h
    assert h["content-type"] == "application/x-ndjson", h
    assert h["authorization"] == "Bearer hush-token-secret", h
    assert h["x-team"] == "core", h
    for line in r["body"].splitlines():
        ev = json.loads(line)
        assert ev["kind"] == "metric" and ev["labels"]["host"] == "test-host"
        values.append(ev["value"])
assert values == list(range(1, 1001)), "values not 1..1000 once, in order"
PY
ok "custom CA, gzip, bearer token, headers, URL template: 1000 events once"
grep -q "hush" "$T/main.log" && fail "a secret reached the log"
ok "no secret in the debug log"

# --- basic auth, PUT, a JSON array
start_receiver arr sink
gen_config "$T/arr.yaml" 150 "        url: https://127.0.0.1:$RPORT/put
        format: json
        method: PUT
        auth: { user: alice, password: 'op3n sesame' }
        tls: { ca_file: $T/ca.crt }"
start_vigil arr -c "$T/arr.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/arr.jsonl" <<'PY' || fail "json array / basic auth"
import base64, json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
values = []
for r in recs:
    assert r["method"] == "PUT", r["method"]
    auth = r["headers"]["authorization"]
    assert auth == "Basic " + base64.b64encode(b"alice:op3n sesame").decode()
    assert r["headers"]["content-type"] == "application/json"
    arr = json.loads(r["body"])
    assert isinstance(arr, list)
    values += [e["value"] for e in arr]
assert values == list(range(1, 151)), values
PY
ok "basic auth, PUT, JSON array bodies"

# --- OTLP/HTTP JSON: metrics and logs to their paths
start_receiver otlp sink
cat >"$T/otlp.yaml" <<YAML
agent:
  hostname: test-host
pipelines:
  p1:
    inputs:
      - name: generate
        rate: 0
        count: 50
        exit_when_done: true
        labels: { dc: eu }
      - name: generate
        kind: log
        rate: 0
        count: 20
        message: "line %d"
        exit_when_done: true
    filters:
      - name: enrich
    outputs:
      - name: http
        url: https://127.0.0.1:$RPORT/otel/
        format: otlp
        tls: { ca_file: $T/ca.crt }
YAML
start_vigil otlp -c "$T/otlp.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/otlp.jsonl" <<'PY' || fail "otlp"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
points, logs = [], []
for r in recs:
    doc = json.loads(r["body"])
    if r["path"] == "/otel/v1/metrics":
        for rm in doc["resourceMetrics"]:
            attrs = rm["resource"]["attributes"]
            assert attrs == [{"key": "host.name",
                              "value": {"stringValue": "test-host"}}], attrs
            for sm in rm["scopeMetrics"]:
                for m in sm["metrics"]:
                    assert m["name"] == "vigil.generate"
                    for dp in m["gauge"]["dataPoints"]:
                        assert int(dp["timeUnixNano"]) > 0
                        assert {"key": "dc", "value": {"stringValue": "eu"}} \
                            in dp["attributes"], dp
                        points.append(dp["asDouble"])
    elif r["path"] == "/otel/v1/logs":
        for rl in doc["resourceLogs"]:
            for sl in rl["scopeLogs"]:
                for lr in sl["logRecords"]:
                    assert lr["severityNumber"] == 9, lr
                    assert lr["severityText"] == "INFO", lr
                    seq = [a for a in lr["attributes"] if a["key"] == "seq"]
                    assert seq and "intValue" in seq[0]["value"], lr
                    logs.append(lr["body"]["stringValue"])
    else:
        raise AssertionError("unexpected path " + r["path"])
assert sorted(points) == list(range(1, 51)), points
assert sorted(logs, key=lambda s: int(s.split()[1])) == \
    [f"line {i}" for i in range(1, 21)], logs
PY
ok "otlp: resourceMetrics (host.name, gauge points) and resourceLogs"

# --- 429 + Retry-After, then 500, then accepted: each batch once
start_receiver retry sink
printf '429 2\n500\n' >"$T/retry.ctl"
gen_config "$T/retry.yaml" 100 "        url: https://127.0.0.1:$RPORT/r
        tls: { ca_file: $T/ca.crt }"
start_vigil retry -c "$T/retry.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/retry.jsonl" <<'PY' || fail "retries"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert [r["status"] for r in recs] == [429, 500, 200], \
    [r["status"] for r in recs]
wait = recs[1]["time"] - recs[0]["time"]
assert wait >= 1.9, f"retried {wait:.2f}s after a Retry-After of 2s"
assert recs[0]["body"] == recs[1]["body"] == recs[2]["body"]
PY
ok "429 + Retry-After: 2 waited 2s; 500 retried; delivered once"

# --- 400: permanent, logged with the server's words, not retried
start_receiver perm sink
printf '400\n' >"$T/perm.ctl"
gen_config "$T/perm.yaml" 100 "        url: https://127.0.0.1:$RPORT/p
        tls: { ca_file: $T/ca.crt }"
start_vigil perm -c "$T/perm.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$(lines "$T/perm.jsonl")" -eq 1 ] || fail "a refused batch was retried"
grep -q "HTTP 400.*told to refuse" "$T/perm.log" ||
    fail "the refusal is not logged with the server's message"
ok "400: permanent, logged: $(grep -o 'rejected.*HTTP 400' "$T/perm.log" | head -1)"

# --- receiver down, then up: delivered once
start_receiver late sink
kill "$RPID"
wait "$RPID" 2>/dev/null
port=$RPORT
gen_config "$T/late.yaml" 300 "        url: https://127.0.0.1:$port/late
        tls: { ca_file: $T/ca.crt }"
start_vigil late -c "$T/late.yaml"
wait_for 20 grep -q "Couldn't connect\|onnection refused" "$T/late.log" ||
    fail "no connection error logged"
start_receiver late sink --port "$port"
wait_exit "$VPID" 30 || fail "vigil did not exit once the receiver was up"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/late.jsonl" <<'PY' || fail "late delivery"
import json, sys
vals = []
for l in open(sys.argv[1]):
    for line in json.loads(l)["body"].splitlines():
        vals.append(json.loads(line)["value"])
assert vals == list(range(1, 301)), vals[:20]
PY
ok "receiver down then up: 300 events delivered once, in order"

# --- tls.server_name: the certificate is checked against that name
start_receiver sni sink
gen_config "$T/sni.yaml" 100 "        url: https://127.0.0.1:$RPORT/sni
        tls: { ca_file: $T/ca.crt, server_name: localhost }"
start_vigil sni -c "$T/sni.yaml"
wait_exit "$VPID" 30 || fail "vigil did not exit"
[ "$RC" -eq 0 ] || fail "exit code $RC"
python3 - "$T/sni.jsonl" "$RPORT" <<'PY' || fail "server_name"
import json, sys
recs = [json.loads(l) for l in open(sys.argv[1])]
assert len(recs) == 1 and recs[0]["status"] == 200, recs
assert recs[0]["headers"]["host"] == "localhost:" + sys.argv[2], recs[0]
PY
gen_config "$T/sni-bad.yaml" 100 "        url: https://127.0.0.1:$RPORT/sni
        tls: { ca_file: $T/ca.crt, server_name: wrong.example }"
start_vigil snibad -c "$T/sni-bad.yaml"
wait_for 20 grep -q "wrong.example\|certificate subject name" \
    "$T/snibad.log" || fail "a wrong server_name was not refused"
kill "$VPID"
wait_exit "$VPID" 20 || fail "vigil did not stop"
[ "$(lines "$T/sni.jsonl")" -eq 1 ] ||
    fail "a request went through with the wrong server name"
ok "tls.server_name: verified against localhost; a wrong name is refused"
