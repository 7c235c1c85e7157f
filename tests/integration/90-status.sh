#!/bin/sh
# Status server: every endpoint's shape, /metrics parsed back as Prometheus
# text, strict limits, keep-alive and HEAD, a token off loopback, reload
# through the API, /health failing while an output fails, firing alerts.
. "$(dirname "$0")/lib.sh"

PORT=$(free_port)
URL="http://127.0.0.1:$PORT"

config() {   # config EXTRA-AGENT-LINES
    cat >"$T/vigil.yaml" <<YAML
agent:
  state_dir: $T/state
  http: { listen: "127.0.0.1:$PORT" $1 }
  health: { max_failing: 1s }
pipelines:
  p:
    inputs:
      - name: generate
        rate: 200
        interval: 100ms
    filters:
      - name: alert
        rules:
          - name: high_value
            metric: vigil.generate
            above: 0
            severity: critical
            summary: "value {{ value }} is high"
    outputs:
      - name: tp_slow
        path: $T/out.jsonl
        delay: 1ms
        down_file: $T/down
        retry: { initial: 100ms, max: 200ms }
YAML
}

config ""
start_vigil run -c "$T/vigil.yaml"
wait_for 10 curl -sf "$URL/health" || fail "status server not up"

python3 - "$URL" <<'PY' || fail "endpoints"
import json, re, socket, sys, urllib.request, urllib.error
url = sys.argv[1]
def get(path, method="GET", headers={}, data=None):
    req = urllib.request.Request(url + path, method=method, headers=headers, data=data)
    try:
        r = urllib.request.urlopen(req, timeout=5)
        return r.status, dict(r.headers), r.read()
    except urllib.error.HTTPError as e:
        return e.code, dict(e.headers), e.read()

st, h, body = get("/health")
assert st == 200 and json.loads(body)["status"] == "ok", body

st, h, body = get("/api/v1/status")
s = json.loads(body)
assert st == 200 and h["Content-Type"] == "application/json"
assert s["config"]["path"].endswith("vigil.yaml") and len(s["config"]["hash"]) == 16
p = s["pipelines"][0]
assert p["name"] == "p" and len(p["history"]) == 90
assert [i["plugin"] for i in p["inputs"] + p["filters"] + p["outputs"]] == ["generate", "alert", "tp_slow"]
out = p["outputs"][0]
assert out["state"] == "running" and "queue" in out and out["events_out"] > 0, out

# /metrics: parse every line back as Prometheus text format 0.0.4.
st, h, body = get("/metrics")
assert st == 200 and h["Content-Type"].startswith("text/plain; version=0.0.4")
name_re = r"[a-zA-Z_:][a-zA-Z0-9_:]*"
sample_re = re.compile(r"^(%s)(\{(%s=\"(\\.|[^\"\\])*\")(,%s=\"(\\.|[^\"\\])*\")*\})? (-?[0-9.e+-]+|NaN|[+-]Inf)$"
                       % (name_re, name_re, name_re))
types, seen_family = {}, []
for line in body.decode().splitlines():
    if line.startswith("# HELP "):
        continue
    if line.startswith("# TYPE "):
        _, _, fam, typ = line.split(" ")
        assert fam not in types, "TYPE twice: " + fam
        assert typ in ("counter", "gauge", "histogram", "summary", "untyped")
        types[fam] = typ
        seen_family.append(fam)
        continue
    m = sample_re.match(line)
    assert m, "bad sample line: " + line
    name = m.group(1)
    fam = re.sub(r"_(bucket|sum|count)$", "", name) if name not in types else name
    assert fam == seen_family[-1], "family lines not contiguous: " + line
for want in ("vigil_events_out_total", "vigil_queue_bytes", "vigil_flush_duration_seconds",
             "vigil_process_resident_memory_bytes", "vigil_build_info", "vigil_alerts_firing",
             "vigil_config_reloads_total", "vigil_uptime_seconds", "vigil_process_open_fds"):
    assert want in types, want
assert 'le="+Inf"' in body.decode()

# Alerts: the rule fires on the first sample.
st, h, body = get("/api/v1/alerts")
a = json.loads(body)["alerts"]
assert len(a) == 1 and a[0]["rule"] == "high_value" and a[0]["severity"] == "critical", a
assert len(a[0]["fingerprint"]) == 16 and a[0]["labels"]["alertname"] == "high_value", a

# The page: self-contained HTML, no external request.
st, h, body = get("/")
assert st == 200 and h["Content-Type"].startswith("text/html")
assert b"<main" in body and b"http://" not in body and b"https://" not in body

# Methods, unknown paths, HEAD.
assert get("/nope")[0] == 404
st, h, body = get("/metrics", method="DELETE")
assert st == 405 and h["Allow"] == "GET, HEAD"
assert get("/api/v1/reload")[0] == 405
st, h, body = get("/api/v1/status", method="HEAD")
assert st == 200 and body == b"" and int(h["Content-Length"]) > 0

# Limits: a huge header, a huge body, garbage.
def raw(data, read=65536):
    s = socket.create_connection(("127.0.0.1", int(url.rsplit(":", 1)[1])), timeout=5)
    s.sendall(data)
    out = b""
    while True:
        chunk = s.recv(read)
        if not chunk:
            break
        out += chunk
    s.close()
    return out
assert raw(b"GET / HTTP/1.1\r\nX: " + b"a" * 10000 + b"\r\n\r\n").startswith(b"HTTP/1.1 431")
assert raw(b"POST /api/v1/reload HTTP/1.1\r\nContent-Length: 999999\r\n\r\n").startswith(b"HTTP/1.1 413")
assert raw(b"BLAH\r\n\r\n").startswith(b"HTTP/1.1 400")
assert raw(b"GET / HTTP/2.0\r\n\r\n").startswith(b"HTTP/1.1 505")
# Keep-alive: two requests on one connection, answered in order.
two = raw(b"GET /health HTTP/1.1\r\n\r\nGET /health HTTP/1.1\r\nConnection: close\r\n\r\n")
assert two.count(b"HTTP/1.1 200") == 2, two
PY
ok "endpoints, Prometheus format, alerts, page, methods, limits, keep-alive"

# A client that trickles its request is cut off, and the loop keeps serving.
python3 - "$PORT" <<'PY' || fail "slow client"
import socket, sys, time, urllib.request
s = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
s.sendall(b"GET /he")
t = time.time()
assert urllib.request.urlopen("http://127.0.0.1:%s/health" % sys.argv[1], timeout=2).status == 200
s.settimeout(15)
data = s.recv(100)
assert data.startswith(b"HTTP/1.1 408") and 8 < time.time() - t < 14, (data, time.time() - t)
PY
ok "a slow client times out without stalling the loop"

# /health goes 503 when an output has failed longer than max_failing.
touch "$T/down"
wait_for 10 sh -c "curl -s '$URL/health' | grep -q '\"status\":\"failing\"'" ||
    fail "/health did not report the failing output"
code=$(curl -s -o "$T/h.json" -w '%{http_code}' "$URL/health")
[ "$code" = 503 ] || fail "/health answered $code"
grep -q '"output":"output\[tp_slow#1\]"' "$T/h.json" || fail "failing output not named"
grep -q 'tp_slow: down' "$T/h.json" || fail "failure reason missing"
rm -f "$T/down"
wait_for 10 sh -c "curl -sf '$URL/health' >/dev/null" || fail "/health did not recover"
ok "/health fails with the reason while an output fails, recovers after"

# Reload through the API: a bad file is refused with its errors.
cp "$T/vigil.yaml" "$T/good.yaml"
printf 'pipelines:\n  p:\n    inputs:\n      - name: generate\n        rat: 1\n' >"$T/vigil.yaml"
code=$(curl -s -o "$T/r.json" -w '%{http_code}' -X POST "$URL/api/v1/reload")
[ "$code" = 400 ] || fail "bad reload answered $code"
grep -q "unknown option 'rat'" "$T/r.json" || fail "reload errors missing: $(cat "$T/r.json")"
cp "$T/good.yaml" "$T/vigil.yaml"
curl -sf -X POST "$URL/api/v1/reload" | grep -q '"ok":true' || fail "good reload"
curl -s "$URL/metrics" | grep -q 'vigil_config_reloads_total{result="ok"} 1' ||
    fail "reload not counted"
ok "reload through the API"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "no exit"

# A token: required for everything but /health and the page (which holds
# no data and asks for the token itself).
config ', token: "s3cret-token"'
start_vigil tok -c "$T/vigil.yaml"
wait_for 10 curl -sf "$URL/health" || fail "status server with token not up"
[ "$(curl -s -o /dev/null -w '%{http_code}' "$URL/metrics")" = 401 ] ||
    fail "no token: not refused"
[ "$(curl -s -o /dev/null -w '%{http_code}' -H 'Authorization: Bearer wrong' "$URL/metrics")" = 401 ] ||
    fail "wrong token: not refused"
curl -sf -H 'Authorization: Bearer s3cret-token' "$URL/metrics" >/dev/null ||
    fail "right token refused"
curl -sf "$URL/" | grep -q '<main' || fail "the page needs no token"
curl -sf -H 'Authorization: Bearer s3cret-token' "$URL/api/v1/status" |
    grep -q s3cret-token && fail "token shown in the status"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "no exit"
ok "token required when set"

# Off loopback without a token: refused with the reason.
cat >"$T/open.yaml" <<YAML
agent:
  http: { listen: "0.0.0.0:$PORT" }
pipelines:
  p:
    inputs: [ { name: generate } ]
    outputs: [ { name: stdout } ]
YAML
"$VIGIL" --plugin-path "$PLUGPATH" --check -c "$T/open.yaml" >"$T/o.out" 2>&1 &&
    fail "open listen without a token accepted"
grep -q "open.yaml:2:19: agent: http.listen '0.0.0.0:$PORT' is not a loopback address: set http.token" \
    "$T/o.out" || fail "open listen message: $(cat "$T/o.out")"
ok "a non-loopback listen needs a token"

# The self input: the same figures as metric events.
cat >"$T/self.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: self
        interval: 200ms
    outputs:
      - name: file
        path: $T/self.jsonl
YAML
start_vigil self -c "$T/self.yaml"
sleep 1
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "self run did not stop"
python3 - "$T/self.jsonl" <<'PY' || fail "self metrics"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
names = {r["name"] for r in rows}
for want in ("vigil.events_out", "vigil.queue_bytes", "vigil.process_resident_memory_bytes",
             "vigil.uptime_seconds"):
    assert want in names, (want, sorted(names))
out = [r for r in rows if r["name"] == "vigil.events_out"
       and r["labels"]["instance"] == "output[file#1]"]
assert out and out[-1]["type"] == "counter" and out[-1]["value"] > 0, out[-1:]
PY
ok "the self input emits the agent's metrics"
