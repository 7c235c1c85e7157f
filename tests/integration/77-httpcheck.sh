#!/bin/sh
# The httpcheck input against local servers: an HTTP and an HTTPS server
# (a test CA, a certificate that expires in 20 days), a wrong status, a
# body that does not match, a server that never answers, a closed port,
# a redirect, and TCP probes up and down.  Checks the metrics and the
# reason label each target gets, and the log line of a target going down.
. "$(dirname "$0")/lib.sh"
need_plugin in_httpcheck
unset http_proxy https_proxy HTTP_PROXY HTTPS_PROXY all_proxy ALL_PROXY
command -v openssl >/dev/null 2>&1 || { echo "SKIP: no openssl"; exit 77; }

# --- certificates: a CA, a server certificate valid for 20 days ---------
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/ca.key" -out "$T/ca.crt" -days 30 -subj /CN=hc-test-ca \
    >/dev/null 2>&1 || fail "openssl: CA"
openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes \
    -keyout "$T/srv.key" -out "$T/srv.csr" -subj /CN=localhost \
    >/dev/null 2>&1 || fail "openssl: server key"
printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" \
    -CAcreateserial -out "$T/srv.crt" -days 20 -extfile "$T/srv.ext" \
    >/dev/null 2>&1 || fail "openssl: server certificate"

# --- servers --------------------------------------------------------------
cat >"$T/srv.py" <<'PY'
import http.server, socket, ssl, sys

class H(http.server.BaseHTTPRequestHandler):
    def log_message(self, *a):
        pass

    def do_GET(self):
        if self.path == "/redirect":
            self.send_response(302)
            self.send_header("Location", "/ok")
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self.path == "/flappy":
            # answers with the status written in the control file
            code = int(open(sys.argv[2] + ".flappy").read())
            body = b"flappy\n"
        elif self.path == "/header":
            ok = self.headers.get("X-Probe") == "yes"
            code, body = (200 if ok else 400), b"header seen\n"
        else:
            code, body = {"/ok": (200, b"service healthy\n"),
                          "/fail": (503, b"down for maintenance\n")}.get(
                              self.path, (404, b"no such page\n"))
        self.send_response(code)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

mode, portfile = sys.argv[1], sys.argv[2]
if mode == "mute":
    # accepts connections (the kernel does) and never answers
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    s.listen(16)
    open(portfile + ".tmp", "w").write(str(s.getsockname()[1]))
    __import__("os").rename(portfile + ".tmp", portfile)
    __import__("time").sleep(3600)
# every probe connects at once: more than the default backlog of 5
http.server.ThreadingHTTPServer.request_queue_size = 128
srv = http.server.ThreadingHTTPServer(("127.0.0.1", 0), H)
if mode == "https":
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(sys.argv[3], sys.argv[4])
    srv.socket = ctx.wrap_socket(srv.socket, server_side=True)
open(portfile + ".tmp", "w").write(str(srv.server_address[1]))
__import__("os").rename(portfile + ".tmp", portfile)
srv.serve_forever()
PY

# start_server MODE PORTFILE [CERT KEY]: sets SPORT.
start_server() {
    python3 "$T/srv.py" "$@" >/dev/null 2>"$T/srv-$1.err" &
    PIDS="$PIDS $!"
    wait_for 10 test -s "$2" || fail "server $1 did not start"
    SPORT=$(cat "$2")
}
start_server http "$T/http.port"
HP=$SPORT
start_server https "$T/https.port" "$T/srv.crt" "$T/srv.key"
SP=$SPORT
start_server mute "$T/mute.port"
MP=$SPORT
CP=$(python3 -c 'import socket; s = socket.socket(); \
s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')  # closed at once

cat >"$T/hc.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  hc:
    inputs:
      - name: httpcheck
        interval: 1s
        timeout: 1s
        targets:
          - { name: ok, url: "http://127.0.0.1:$HP/ok", body_regex: "health" }
          - { name: wrong_status, url: "http://127.0.0.1:$HP/fail" }
          - name: accept_503
            url: "http://127.0.0.1:$HP/fail"
            expect_status: [ 200, 5xx ]
          - { name: mismatch, url: "http://127.0.0.1:$HP/ok",
              body_regex: "^ready\$" }
          - { name: redirect, url: "http://127.0.0.1:$HP/redirect" }
          - { name: noredirect, url: "http://127.0.0.1:$HP/redirect",
              follow_redirects: false, expect_status: "200-299" }
          - name: header
            url: "http://127.0.0.1:$HP/header"
            headers: { X-Probe: "yes" }
          - { name: mute, url: "http://127.0.0.1:$MP/", timeout: 500ms }
          - { name: closed, url: "http://127.0.0.1:$CP/" }
          - name: secret
            url: "http://user:hunter2@127.0.0.1:$HP/ok"
          - name: tls
            url: "https://localhost:$SP/ok"
            tls: { ca_file: $T/ca.crt }
          - { name: tls_untrusted, url: "https://localhost:$SP/ok" }
          - { name: tcp_up, url: "tcp://127.0.0.1:$HP" }
          - { name: tcp_down, url: "tcp://127.0.0.1:$CP" }
    outputs:
      - name: file
        path: $T/out.jsonl
YAML
"$VIGIL" --plugin-path "$PLUGPATH" --check -c "$T/hc.yaml" >"$T/check.log" 2>&1 ||
    fail "config refused: $(cat "$T/check.log")"
start_vigil hc -c "$T/hc.yaml"
sleep 3.5
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "no exit after SIGTERM"
[ "$RC" -eq 0 ] || fail "exit code $RC"

# last value of each metric per target, as "target metric value reason"
python3 - "$T/out.jsonl" >"$T/last.txt" <<'PY' || fail "bad JSON output"
import json, sys
last = {}
for line in open(sys.argv[1]):
    e = json.loads(line)
    l = e["labels"]
    last[(l["target"], e["name"])] = (e["value"], l.get("reason", "-"),
                                      l["url"])
for (t, n), (v, r, u) in sorted(last.items()):
    print(t, n, v, r, u)
PY

# get TARGET METRIC: "value reason" of the last sample
get() {
    awk -v t="$1" -v m="$2" '$1 == t && $2 == m { print $3, $4 }' \
        "$T/last.txt"
}
expect_up() {
    got=$(get "$1" httpcheck.up)
    [ "$got" = "$2 $3" ] || fail "$1: up/reason is '$got', want '$2 $3'"
}

expect_up ok 1 ok
expect_up wrong_status 0 status
expect_up accept_503 1 ok
expect_up mismatch 0 body_mismatch
expect_up redirect 1 ok
expect_up noredirect 0 status
expect_up header 1 ok
expect_up mute 0 timeout
expect_up closed 0 refused
expect_up secret 1 ok
expect_up tls 1 ok
expect_up tls_untrusted 0 tls
expect_up tcp_up 1 ok
expect_up tcp_down 0 refused
ok "up and reason of every target"

[ "$(get ok httpcheck.status_code)" = "200 -" ] || fail "ok: status code"
[ "$(get wrong_status httpcheck.status_code)" = "503 -" ] ||
    fail "wrong_status: status code $(get wrong_status httpcheck.status_code)"
[ "$(get noredirect httpcheck.status_code)" = "302 -" ] ||
    fail "noredirect: status code"
[ "$(get ok httpcheck.body_bytes)" = "16 -" ] || fail "ok: body bytes"
[ "$(get redirect httpcheck.body_bytes)" = "16 -" ] ||
    fail "redirect: body bytes of the final page"
ok "status codes and body sizes"

for m in duration dns_seconds connect_seconds tls_seconds ttfb_seconds; do
    v=$(get tls "httpcheck.$m" | cut -d' ' -f1)
    [ -n "$v" ] || fail "tls: no httpcheck.$m"
    awk -v v="$v" 'BEGIN { exit !(v >= 0 && v < 1) }' ||
        fail "tls: httpcheck.$m = $v"
done
for m in duration dns_seconds connect_seconds ttfb_seconds; do
    [ -n "$(get ok "httpcheck.$m")" ] || fail "ok: no httpcheck.$m"
done
[ -z "$(get ok httpcheck.tls_seconds)" ] || fail "plain HTTP has tls_seconds"
[ -z "$(get ok httpcheck.cert_expiry_days)" ] ||
    fail "plain HTTP has cert_expiry_days"
v=$(get mute httpcheck.duration | cut -d' ' -f1)
awk -v v="$v" 'BEGIN { exit !(v >= 0.4 && v < 0.9) }' ||
    fail "mute: duration $v, want about the 500ms timeout"
[ -n "$(get tcp_up httpcheck.connect_seconds)" ] || fail "tcp: connect time"
ok "duration and its breakdown"

v=$(get tls httpcheck.cert_expiry_days | cut -d' ' -f1)
awk -v v="$v" 'BEGIN { exit !(v > 19 && v <= 20) }' ||
    fail "tls: cert_expiry_days = '$v', want 19..20"
ok "certificate expiry in days ($v)"

grep -q hunter2 "$T/out.jsonl" "$T/hc.log" && fail "password leaked"
grep -q 'secret httpcheck.up 1 ok http://127.0.0.1:[0-9]*/ok$' "$T/last.txt" ||
    fail "credentials not removed from the url label"
ok "credentials never reach labels or logs"

# two failing targets alone (the core rate-limits a log site), then one
# recovers when its server answers 200 again
cat >"$T/down.yaml" <<YAML
pipelines:
  hc:
    inputs:
      - name: httpcheck
        interval: 300ms
        targets:
          - { name: flappy, url: "http://127.0.0.1:$HP/flappy" }
          - { name: mute, url: "http://127.0.0.1:$MP/", timeout: 200ms }
    outputs:
      - name: file
        path: $T/down.jsonl
YAML
echo 503 >"$T/http.port.flappy"
start_vigil down -c "$T/down.yaml"
wait_for 10 grep -q "target 'mute' is down" "$T/down.log" ||
    fail "no down line for mute"
sleep 1
echo 200 >"$T/http.port.flappy"
wait_for 10 grep -q "target 'flappy' is up again" "$T/down.log" ||
    fail "no recovery line"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "down: no exit"
n=$(grep -c "target 'flappy' is down: GET http://127.0.0.1:$HP: unexpected HTTP 503" "$T/down.log")
[ "$n" = 1 ] || fail "down log line $n times, want once"
n=$(grep -c "target 'mute' is down: GET http://127.0.0.1:$MP: .*timed out" "$T/down.log")
[ "$n" = 1 ] || fail "timeout log line $n times, want once"
ok "a target going down is logged once, with its cause"

# bad options are refused with a clear message
cat >"$T/bad.yaml" <<YAML
pipelines:
  hc:
    inputs:
      - name: httpcheck
        targets:
          - { url: "http://127.0.0.1:1/", expect_status: [ 2xx, "99" ] }
    outputs:
      - name: file
        path: $T/bad.jsonl
YAML
start_vigil bad -c "$T/bad.yaml"
wait_exit "$VPID" 10 || fail "bad config: no exit"
[ "$RC" -ne 0 ] || fail "bad expect_status accepted"
grep -q "bad expect_status '99'" "$T/bad.log" || fail "no expect_status error"
sed -i 's/expect_status: \[ 2xx, "99" \]/body_regex: "(unclosed"/' "$T/bad.yaml"
start_vigil bad2 -c "$T/bad.yaml"
wait_exit "$VPID" 10 || fail "bad regex: no exit"
[ "$RC" -ne 0 ] || fail "bad body_regex accepted"
grep -q "bad body_regex at offset" "$T/bad2.log" || fail "no regex error"
ok "bad expect_status and body_regex are refused"
