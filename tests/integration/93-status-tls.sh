#!/bin/sh
# The status server over TLS: HTTPS with the configured certificate, TLS
# below 1.2 refused, plain HTTP not answered, the certificate re-read on
# SIGHUP, a missing key refused at start.
. "$(dirname "$0")/lib.sh"
need_plugin vigil-tls

PORT=$(free_port)
cert() {   # cert NAME CN: a self-signed certificate for 127.0.0.1
    openssl req -x509 -newkey rsa:2048 -nodes -days 30 -subj "/CN=$2" \
        -addext "subjectAltName=IP:127.0.0.1,DNS:localhost" \
        -keyout "$T/$1.key" -out "$T/$1.crt" >/dev/null 2>&1 ||
        fail "openssl could not make a certificate"
}
cert one first-cert
cp "$T/one.crt" "$T/server.crt"
cp "$T/one.key" "$T/server.key"
cat >"$T/vigil.yaml" <<YAML
agent:
  http:
    listen: "0.0.0.0:$PORT"
    token: "tls-test-token"
    tls: { cert_file: $T/server.crt, key_file: $T/server.key }
pipelines:
  p:
    inputs: [ { name: generate, rate: 10 } ]
    outputs: [ { name: file, path: $T/out.jsonl } ]
YAML
start_vigil run -c "$T/vigil.yaml"
wait_for 10 curl -sf --cacert "$T/one.crt" "https://127.0.0.1:$PORT/health" ||
    fail "no HTTPS: $(cat "$T/run.log")"
grep -q "status server on https://0.0.0.0:$PORT/" "$T/run.log" ||
    fail "HTTPS not announced"
curl -sf --cacert "$T/one.crt" -H "Authorization: Bearer tls-test-token" \
    "https://127.0.0.1:$PORT/api/v1/status" | grep -q '"pipelines"' ||
    fail "API over TLS"
curl -s --max-time 3 -o /dev/null "http://127.0.0.1:$PORT/health" &&
    fail "plain HTTP answered on the TLS port"
if openssl s_client -connect "127.0.0.1:$PORT" -tls1_1 </dev/null \
    >"$T/tls11.txt" 2>&1; then
    grep -q "Protocol  *: TLSv1.1" "$T/tls11.txt" && fail "TLS 1.1 accepted"
fi
ok "HTTPS with the configured certificate; plain HTTP and TLS 1.1 refused"

cert two second-cert
cp "$T/two.crt" "$T/server.crt"
cp "$T/two.key" "$T/server.key"
kill -HUP "$VPID"
wait_for 10 grep -q "reloaded" "$T/run.log" || fail "no reload"
wait_for 10 curl -sf --cacert "$T/two.crt" "https://127.0.0.1:$PORT/health" ||
    fail "the new certificate is not served after SIGHUP"
ok "certificate re-read on SIGHUP"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "no exit"

python3 - "$T/vigil.yaml" <<'PY'
import re, sys
text = open(sys.argv[1]).read()
open(sys.argv[1], "w").write(re.sub(r", key_file: [^ }]*", "", text))
PY
"$VIGIL" --plugin-path "$PLUGPATH" --check -c "$T/vigil.yaml" >"$T/check.txt" 2>&1 &&
    fail "a certificate without a key was accepted"
grep -q "agent: http.tls needs both cert_file and key_file" "$T/check.txt" ||
    fail "missing key not explained: $(cat "$T/check.txt")"
ok "a certificate without its key is refused"
