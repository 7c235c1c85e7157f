#!/bin/sh
# syslog input: logger(1) sends RFC 5424 and RFC 3164 over UDP, TCP (octet
# counting and newline framing) and a unix socket; python sends what logger
# cannot: malformed lines, frames split across writes, oversized frames,
# more connections than allowed, a line left open until the idle timeout,
# and TLS with and without a client certificate.
. "$(dirname "$0")/lib.sh"
need_plugin in_syslog

command -v logger >/dev/null || { echo "skip: no logger"; exit 77; }
command -v openssl >/dev/null || { echo "skip: no openssl"; exit 77; }

P=$(free_port)
PT=$(free_port)
PV=$(free_port)

# a CA, a server certificate for 127.0.0.1 and a client certificate
(
    cd "$T" &&
    openssl req -x509 -newkey rsa:2048 -nodes -subj /CN=test-ca -days 2 \
        -keyout ca.key -out ca.crt &&
    openssl req -newkey rsa:2048 -nodes -subj /CN=localhost \
        -keyout srv.key -out srv.csr &&
    printf 'subjectAltName=IP:127.0.0.1\n' >srv.ext &&
    openssl x509 -req -in srv.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
        -days 2 -extfile srv.ext -out srv.crt &&
    openssl req -newkey rsa:2048 -nodes -subj /CN=client \
        -keyout cli.key -out cli.csr &&
    openssl x509 -req -in cli.csr -CA ca.crt -CAkey ca.key -CAcreateserial \
        -days 2 -out cli.crt
) >"$T/openssl.log" 2>&1 || fail "cannot make test certificates"

# the agent refuses to start with a bad URL, TLS without a usable key
bad_config() {
    printf 'pipelines:\n  b:\n    inputs:\n      - name: syslog\n%s\n    outputs:\n      - name: stdout\n' "$1" >"$T/bad.yaml"
    if timeout 10 "$VIGIL" --plugin-path "$PLUGPATH" -c "$T/bad.yaml" \
        >"$T/bad.out" 2>&1; then
        fail "accepted: $1"
    fi
    grep -q "$2" "$T/bad.out" || fail "no '$2' in: $(cat "$T/bad.out")"
}
bad_config '        listen: [ "http://127.0.0.1:1" ]' "cannot read 'http://127.0.0.1:1'"
bad_config '        listen: [ "tls://127.0.0.1:1" ]' "need tls.cert_file and tls.key_file"
bad_config "        listen: [ \"tls://127.0.0.1:1\" ]
        tls: { cert_file: $T/nope.crt, key_file: $T/nope.key }" "cannot set up TLS with '$T/nope.crt'"
bad_config '        max_message_size: 100' "max_message_size"
ok "bad listen URLs and TLS settings refuse to start"

cat >"$T/vigil.yaml" <<YAML
agent:
  hostname: collector
pipelines:
  sl:
    inputs:
      - name: syslog
        listen:
          - udp://127.0.0.1:$P
          - tcp://127.0.0.1:$P
          - unix://$T/log.sock
          - tls://127.0.0.1:$PT
        max_message_size: 1KiB
        max_connections: 3
        idle_timeout: 1s
        tls: { cert_file: $T/srv.crt, key_file: $T/srv.key }
      - name: syslog
        alias: verified
        listen: [ "tls://127.0.0.1:$PV" ]
        host_label: false
        tls:
          cert_file: $T/srv.crt
          key_file: $T/srv.key
          ca_file: $T/ca.crt
          verify_client: true
    outputs:
      - name: file
        path: $T/out.jsonl
YAML
"$VIGIL" --plugin-path "$PLUGPATH" --check -c "$T/vigil.yaml" \
    >"$T/check.log" 2>&1 || fail "config check: $(cat "$T/check.log")"
start_vigil run -c "$T/vigil.yaml"
wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $P)).close()" ||
    fail "syslog did not listen on tcp $P"
wait_for 5 test -S "$T/log.sock" || fail "no unix socket"

# ---- real senders ---------------------------------------------------------
logger --udp --server 127.0.0.1 --port "$P" --rfc5424 -t app5424 \
    -p local3.warning --sd-id 'meta@1' --sd-param 'k="v 1"' "udp 5424" ||
    fail "logger udp 5424"
logger --udp --server 127.0.0.1 --port "$P" --rfc3164 -t app3164 -p \
    auth.err "udp 3164" || fail "logger udp 3164"
logger --tcp --server 127.0.0.1 --port "$P" --rfc5424 --octet-count \
    -t tcpoc -p daemon.debug "tcp octet counted" || fail "logger tcp octet"
logger --tcp --server 127.0.0.1 --port "$P" --rfc3164 -t tcplf \
    "tcp newline framed" || fail "logger tcp lf"
logger --socket "$T/log.sock" --socket-errors=on -t unixapp "unix datagram" ||
    fail "logger unix"

# ---- python senders -------------------------------------------------------
python3 - "$P" "$PT" "$PV" "$T" <<'PY' || fail "python senders"
import socket, ssl, sys, time
p, pt, pv, t = int(sys.argv[1]), int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]

u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.sendto(b"<13>1 bad-stamp host app - - - broken 5424", ("127.0.0.1", p))
u.sendto(b"no pri, no stamp, just text\n", ("127.0.0.1", p))
u.sendto(b"<300>impossible pri", ("127.0.0.1", p))

# octet-counted frames split in awkward places, then a newline frame
c = socket.create_connection(("127.0.0.1", p))
m1 = b"<14>1 2026-11-23T12:00:00Z h1 split - - - first split"
m2 = b"<14>1 2026-11-23T12:00:01Z h1 split - - - second split"
data = b"%d %s%d %s<14>line after counts\n" % (len(m1), m1, len(m2), m2)
for i in range(0, len(data), 7):
    c.sendall(data[i:i + 7])
    time.sleep(0.005)
# oversized: 3000 bytes with a 1 KiB limit, in both framings
c.sendall(b"3000 <14>" + b"A" * 2996 + b"<14>after big counted\n")
c.sendall(b"<14>" + b"B" * 2000 + b"\n<14>after big line\n")
c.close()
time.sleep(0.5)

# connection limit: 3 allowed, the 4th and 5th are closed at once (an
# idle close would take the 1s idle timeout)
held = [socket.create_connection(("127.0.0.1", p)) for _ in range(3)]
time.sleep(0.3)
for _ in range(2):
    x = socket.create_connection(("127.0.0.1", p))
    x.settimeout(0.8)
    try:
        x.sendall(b"<14>over the limit\n")
        got = x.recv(1)
        assert got == b"", "over-limit connection was served"
    except (ConnectionResetError, BrokenPipeError):
        pass
    x.close()
for h in held:
    h.close()
time.sleep(0.3)

# a line without its newline comes out when the idle timeout closes it
idle = socket.create_connection(("127.0.0.1", p))
idle.sendall(b"<14>unterminated idle line")
time.sleep(2.5)
idle.close()

# TLS, server verified by the client
ctx = ssl.create_default_context(cafile=t + "/ca.crt")
with socket.create_connection(("127.0.0.1", pt)) as raw:
    with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        for i in range(50):
            m = b"<86>1 - tlshost tlsapp - - - tls message %d" % i
            s.sendall(b"%d %s" % (len(m), m))

# TLS with client verification: no certificate is refused
try:
    with socket.create_connection(("127.0.0.1", pv)) as raw:
        with ctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
            s.sendall(b"21 <14>no certificate!!")
            s.recv(1)
except (ssl.SSLError, ConnectionResetError, BrokenPipeError, OSError):
    pass
cctx = ssl.create_default_context(cafile=t + "/ca.crt")
cctx.load_cert_chain(t + "/cli.crt", t + "/cli.key")
with socket.create_connection(("127.0.0.1", pv)) as raw:
    with cctx.wrap_socket(raw, server_hostname="127.0.0.1") as s:
        m = b"<14>1 - verified app - - - with client cert"
        s.sendall(b"%d %s" % (len(m), m))
PY

want=67
wait_for 10 sh -c "[ \$(wc -l <'$T/out.jsonl') -ge $want ]" ||
    fail "want $want events, got $(lines "$T/out.jsonl")"
sleep 0.5
python3 - "$T/out.jsonl" <<'PY' || fail "events"
import json, sys
rows = [json.loads(l) for l in open(sys.argv[1])]
by = {}
for r in rows:
    assert r["kind"] == "log", r
    by.setdefault(r["body"], []).append(r)
def one(body):
    assert len(by.get(body, [])) == 1, (body, len(by.get(body, [])),
                                        sorted(by)[:80])
    return by[body][0]

r = one("udp 5424")
assert r["severity"] == "warn", r
a = r["attributes"]
assert a["syslog.facility"] == "local3" and a["syslog.appname"] == "app5424", a
assert a["sd.meta@1.k"] == "v 1", a
assert r["labels"]["peer"] == "127.0.0.1" and "host" in r["labels"], r

r = one("udp 3164")
assert r["severity"] == "error" and r["attributes"]["syslog.facility"] == "auth", r
r = one("tcp octet counted")
assert r["severity"] == "debug", r
assert r["attributes"]["syslog.facility"] == "daemon", r
one("tcp newline framed")
r = one("unix datagram")
assert r["labels"]["peer"].startswith("unix://"), r

r = one("<13>1 bad-stamp host app - - - broken 5424")
assert r["attributes"]["parse_error"] is True, r
assert r["severity"] == "info", r        # the PRI was still read
r = one("no pri, no stamp, just text")
assert "parse_error" not in r["attributes"], r
assert r["attributes"]["syslog.facility"] == "user", r
r = one("<300>impossible pri")
assert r["attributes"]["parse_error"] is True, r

r = one("first split")
assert r["time"] == "2026-11-23T12:00:00.000000000Z", r["time"]
assert r["labels"]["host"] == "h1", r
one("second split")
one("line after counts")
big = [b for b in by if b.startswith("AAAA") or b.startswith("BBBB")]
assert len(big) == 2, big
for b in big:
    r = by[b][0]
    assert r["attributes"]["truncated"] is True, r
    assert len(b) == 1024 - 4, len(b)
one("after big counted")
one("after big line")
assert "over the limit" not in by, "over-limit connection was read"
one("unterminated idle line")

tls = [b for b in by if b.startswith("tls message ")]
assert len(tls) == 50, len(tls)
r = by["tls message 7"][0]
assert r["labels"]["host"] == "tlshost" and r["severity"] == "info", r
assert r["attributes"]["syslog.facility"] == "authpriv", r
r = one("with client cert")
assert r["attributes"]["syslog.hostname"] == "verified", r
assert "host" not in r["labels"], r
assert not any("certificate!!" in b for b in by), "unverified client served"
assert len(rows) == 67, len(rows)
PY
ok "udp, tcp, unix and tls senders; malformed kept; framing, limits, idle"

kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "vigil did not stop"
[ "$RC" -eq 0 ] || fail "exit code $RC"
grep -q "max_connections (3) reached, 1 refused" "$T/run.log" ||
    fail "no log line about refused connections"
[ ! -e "$T/log.sock" ] || fail "unix socket left behind"
ok "refused connections logged; clean stop removes the socket"

# ---- backpressure: a slow output pauses the TCP listener, TCP flow control
# holds the sender, and nothing is lost -----------------------------------
PB=$(free_port)
cat >"$T/bp.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  p:
    inputs:
      - name: syslog
        listen: [ "tcp://127.0.0.1:$PB" ]
    outputs:
      - name: tp_slow
        path: $T/slow.jsonl
        delay: 20ms
        buffer: { max_memory: 64KiB }
YAML
start_vigil bp -c "$T/bp.yaml"
wait_for 10 python3 -c "import socket; socket.create_connection(('127.0.0.1', $PB)).close()" ||
    fail "syslog did not listen on tcp $PB"
python3 - "$PB" <<'PY' || fail "backpressure sender"
import socket, sys
c = socket.create_connection(("127.0.0.1", int(sys.argv[1])))
c.sendall(b"".join(b"<14>1 - h app - - - line %06d padding padding padding\n"
                   % i for i in range(20000)))
c.close()
PY
wait_for 60 sh -c "[ \$(wc -l <'$T/slow.jsonl') -ge 20000 ]" ||
    fail "backpressure: $(lines "$T/slow.jsonl") of 20000 events"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "vigil did not stop"
grep -q "paused: an output of pipeline 'p' is full" "$T/bp.log" ||
    fail "the syslog input was not paused"
grep -q "resumed" "$T/bp.log" || fail "the syslog input was not resumed"
python3 - "$T/slow.jsonl" <<'PY' || fail "records under backpressure"
import json, sys
seq = [int(json.loads(l)["body"].split()[1]) for l in open(sys.argv[1])]
assert seq == list(range(20000)), "gap, duplicate or reorder"
PY
ok "tcp paused and resumed under backpressure: 20000 lines, none lost"

# ---- reload: the new instance binds the same sockets; the old one, on
# stop, leaves the new unix socket in place -------------------------------
PR=$(free_port)
cat >"$T/reload.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: syslog
        listen: [ "unix://$T/r.sock", "udp://127.0.0.1:$PR" ]
    outputs:
      - name: file
        path: $T/reload.jsonl
YAML
start_vigil reload -c "$T/reload.yaml"
wait_for 10 test -S "$T/r.sock" || fail "no unix socket before reload"
logger --socket "$T/r.sock" --socket-errors=on -t a "before reload" ||
    fail "logger before reload"
kill -HUP "$VPID"
wait_for 10 grep -q "reloaded" "$T/reload.log" || fail "no reload"
logger --socket "$T/r.sock" --socket-errors=on -t a "after reload" ||
    fail "unix socket gone after reload"
logger --udp --server 127.0.0.1 --port "$PR" -t a "udp after reload"
wait_for 10 sh -c "[ \$(wc -l <'$T/reload.jsonl') -ge 3 ]" ||
    fail "reload: $(lines "$T/reload.jsonl") of 3 events"
kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "vigil did not stop"
[ "$RC" -eq 0 ] || fail "exit code $RC"
ok "sockets survive a reload"
