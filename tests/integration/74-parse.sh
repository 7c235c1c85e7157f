#!/bin/sh
# parse filter through the real agent: generate -> parse -> file for every
# format with good and broken lines (keep, tag, drop), typed casts, time
# and severity extraction, include/exclude, a second parse of an attribute;
# and syslog (logger) -> parse json -> file.
. "$(dirname "$0")/lib.sh"
need_plugin flt_parse in_syslog

command -v logger >/dev/null || { echo "skip: no logger"; exit 77; }
P=$(free_port)
N=200

# bad settings refuse to start, naming the option
bad_config() {
    printf 'pipelines:\n  b:\n    inputs:\n      - name: generate\n        kind: log\n    filters:\n      - name: parse\n%s\n    outputs:\n      - name: stdout\n' "$1" >"$T/bad.yaml"
    if timeout 10 "$VIGIL" --plugin-path "$PLUGPATH" -c "$T/bad.yaml" \
        >"$T/bad.out" 2>&1; then
        fail "accepted: $1"
    fi
    grep -q "$2" "$T/bad.out" || fail "no '$2' in: $(cat "$T/bad.out")"
}
bad_config "        format: regex
        pattern: '(?<a>x'" "option 'pattern': bad regex"
bad_config "        format: regex
        pattern: '(x)'" "has no named group"
bad_config "        format: regex" "needs option 'pattern'"
bad_config "        types: { a: float }" "want int, double, bool or string"
bad_config "        time_zone: Mars/Olympus" "option 'time_zone'"
bad_config "        time_format: iso" "option 'time_format'"
bad_config "        source: headers.x" "option 'source'"
bad_config "        exclude: '['" "option 'exclude': bad regex"
ok "bad patterns, types, zones, formats and sources refuse to start"

# gen NAME MESSAGE: a generate input of N log lines
gen() {
    cat <<YAML
      - name: generate
        alias: $1
        kind: log
        rate: 0
        count: $N
        batch_size: 64
        message: '$2'
        exit_when_done: true
YAML
}

out() {
    cat <<YAML
    outputs:
      - name: file
        alias: out_$1
        path: $T/$1.jsonl
YAML
}

{
cat <<YAML
agent:
  hostname: parse-host
pipelines:
  json:
    inputs:
YAML
gen jgood '{"level":"warning","ts":"2026-11-23T10:00:00.5Z","req":{"id":%d,"path":"/x"},"tags":["a",1],"ok":true,"dur":0.25,"n":null}'
gen jbad '{"level":"info", broken %d'
cat <<YAML
    filters:
      - name: parse
        format: json
        time_key: ts
        severity_key: level
        keep_body: false
        on_error: tag
YAML
out json
cat <<YAML
  logfmt:
    inputs:
YAML
gen lgood 'level=error msg="disk \"full\" %d" status=500 dur=0.5 retry'
gen lbad 'no pairs in line %d'
cat <<YAML
    filters:
      - name: parse
        format: logfmt
        severity_key: level
        types: { status: int, dur: double, retry: string }
        on_error: keep
      - name: parse
        alias: second
        format: logfmt
        source: attributes.msg
        on_error: keep
YAML
out logfmt
cat <<YAML
  regex:
    inputs:
YAML
gen rgood 'GET /api/%d 404 12.5ms 2026-11-23 08:30:00'
gen rbad 'garbage %d'
cat <<YAML
    filters:
      - name: parse
        format: regex
        pattern: '^(?<method>[A-Z]+) (?<path>\\S+) (?<status>\\d+) (?<ms>[\\d.]+)ms (?<when>.+)$'
        types: { status: int, ms: double }
        time_key: when
        time_format: "%Y-%m-%d %H:%M:%S"
        time_zone: "+02:00"
        on_error: drop
YAML
out regex
cat <<YAML
  nginx:
    inputs:
YAML
gen n200 '10.0.0.%d - alice [23/Nov/2026:12:00:00 +0100] "GET /ok HTTP/1.1" 200 512 "-" "curl/8.0"'
gen n500 '10.0.1.%d - - [23/Nov/2026:12:00:01 +0000] "POST /fail HTTP/2.0" 500 - "https://ref.example/" "Mozilla/5.0 (X11)"'
cat <<YAML
    filters:
      - name: parse
        format: nginx
        exclude: '^2'
        match_key: status
YAML
out nginx
cat <<YAML
  syslogfmt:
    inputs:
YAML
gen sgood "<34>1 2026-11-23T12:00:00Z web-1 sshd 42 ID7 [auth@1 user=\"bob\"] failed %d"
gen sbad '<34>1 not-a-time web-1 sshd - - - x %d'
cat <<YAML
    filters:
      - name: parse
        format: syslog
        keep_body: false
        on_error: drop
YAML
out syslogfmt
cat <<YAML
  fromsyslog:
    inputs:
      - name: syslog
        listen: [ "udp://127.0.0.1:$P" ]
    filters:
      - name: parse
        format: json
        include: login
YAML
out fromsyslog
} >"$T/vigil.yaml"

start_vigil run -c "$T/vigil.yaml"
wait_for 10 sh -c "[ \$(cat '$T'/json.jsonl '$T'/logfmt.jsonl '$T'/regex.jsonl '$T'/nginx.jsonl '$T'/syslogfmt.jsonl 2>/dev/null | wc -l) -ge $((N * 7)) ]" ||
    fail "generated events did not all arrive"
for i in 1 2 3; do
    logger --udp --server 127.0.0.1 --port "$P" --rfc5424 -t web \
        "{\"user\":\"u$i\",\"action\":\"login\",\"ok\":true}"
    logger --udp --server 127.0.0.1 --port "$P" --rfc5424 -t web \
        "{\"user\":\"u$i\",\"action\":\"logout\"}"
done
wait_for 10 sh -c "[ \$(wc -l <'$T/fromsyslog.jsonl') -ge 3 ]" ||
    fail "syslog -> parse: $(lines "$T/fromsyslog.jsonl") events"
sleep 0.3

python3 - "$T" "$N" <<'PY' || fail "records"
import json, sys
t, n = sys.argv[1], int(sys.argv[2])
def rows(name):
    return [json.loads(l) for l in open(f"{t}/{name}.jsonl")]

# json: good lines flattened and typed, time and severity taken; bad tagged
r = rows("json")
assert len(r) == 2 * n, len(r)
good = [e for e in r if "parse_error" not in e["attributes"]]
bad = [e for e in r if e["attributes"].get("parse_error") is True]
assert len(good) == n and len(bad) == n, (len(good), len(bad))
for e in good:
    a = e["attributes"]
    assert e["body"] == "", e
    assert e["time"] == "2026-11-23T10:00:00.500000000Z", e["time"]
    assert e["severity"] == "warn", e
    assert isinstance(a["req.id"], int) and a["req.path"] == "/x", a
    assert a["tags"] == '["a",1]' and a["ok"] is True and a["dur"] == 0.25, a
    assert "n" not in a and "seq" in a, a
assert sorted(e["attributes"]["req.id"] for e in good) == list(range(1, n + 1))
for e in bad:
    assert e["body"].startswith('{"level":"info", broken '), e
    assert e["severity"] == "info" and set(e["attributes"]) == {"seq", "parse_error"}, e

# logfmt: casts, severity, a second parse of the msg attribute; bad kept as is
r = rows("logfmt")
assert len(r) == 2 * n, len(r)
good = [e for e in r if "level" in e["attributes"]]
assert len(good) == n, len(good)
for e in good:
    a = e["attributes"]
    assert e["severity"] == "error", e
    assert a["status"] == 500 and a["dur"] == 0.5 and a["retry"] is True, a
    assert a["msg"].startswith('disk "full" '), a
    # second parse: "disk \"full\" N" is no logfmt: kept, not tagged
    assert "parse_error" not in a, a
    assert e["body"].startswith("level=error"), e
bad = [e for e in r if "level" not in e["attributes"]]
assert all(e["body"].startswith("no pairs") for e in bad), bad[:2]

# regex: bad lines dropped; zone +02:00 applied to the stamp
r = rows("regex")
assert len(r) == n, len(r)
for e in r:
    a = e["attributes"]
    assert a["method"] == "GET" and a["status"] == 404 and a["ms"] == 12.5, a
    assert a["path"] == "/api/%d" % a["seq"], a
    assert e["time"] == "2026-11-23T06:30:00.000000000Z", e["time"]

# nginx: 2xx excluded by status; the rest typed, time from the log line
r = rows("nginx")
assert len(r) == n, len(r)
for e in r:
    a = e["attributes"]
    assert a["status"] == 500 and a["method"] == "POST", a
    assert a["path"] == "/fail" and a["protocol"] == "HTTP/2.0", a
    assert "bytes" not in a and "user" not in a, a
    assert a["referer"] == "https://ref.example/", a
    assert a["user_agent"] == "Mozilla/5.0 (X11)", a
    assert a["remote_addr"].startswith("10.0.1."), a
    assert e["time"] == "2026-11-23T12:00:01.000000000Z", e["time"]

# syslog format: MSG becomes the body, fields attributes, bad dropped
r = rows("syslogfmt")
assert len(r) == n, len(r)
for e in r:
    a = e["attributes"]
    assert e["body"].startswith("failed "), e
    assert e["severity"] == "error", e          # crit
    assert e["time"] == "2026-11-23T12:00:00.000000000Z", e
    assert a["syslog.hostname"] == "web-1" and a["syslog.appname"] == "sshd", a
    assert a["syslog.facility"] == "auth" and a["sd.auth@1.user"] == "bob", a

# syslog input -> parse json with include: logouts left out
r = rows("fromsyslog")
assert len(r) == 3, r
for e in r:
    a = e["attributes"]
    assert a["action"] == "login" and a["ok"] is True, a
    assert a["syslog.appname"] == "web" and "peer" in e["labels"], e
PY
ok "json, logfmt, regex, nginx, syslog: good parsed, bad kept/tagged/dropped"

kill -TERM "$VPID"
wait_exit "$VPID" 15 || fail "vigil did not stop"
[ "$RC" -eq 0 ] || fail "exit code $RC"
ok "clean stop"
