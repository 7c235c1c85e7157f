#!/bin/sh
# prometheus input: a python HTTP server serves the pages of
# tests/fixtures/prometheus, one per port (a target's instance label is
# its host:port; .txt pages are sent as OpenMetrics), plus a slow page
# (timeout -> up 0), a page behind a bearer token, a page too large that
# says so (Content-Length) and one that does not (cut while streamed),
# and a large page sent in odd-sized chunks that cut lines anywhere; one
# more port refuses connections (up 0).  One scrape of each (interval
# 1h), checked in the file output: samples, histograms, summaries,
# escaping, time stamps, OpenMetrics, honor_labels both ways, added
# labels, a malformed line among good ones, and every line of the large
# page.
. "$(dirname "$0")/lib.sh"
need_plugin in_prometheus

FIX="$VIGIL_SRCDIR/tests/fixtures/prometheus"
PAGES="node_exporter.prom histograms.prom summaries.prom escaping.prom timestamps.prom openmetrics.txt malformed.prom"

# the agent refuses bad targets and options
bad_config() {
    printf 'pipelines:\n  b:\n    inputs:\n      - name: prometheus\n%s\n    outputs:\n      - name: stdout\n' "$1" >"$T/bad.yaml"
    if timeout 10 "$VIGIL" --plugin-path "$PLUGPATH" -c "$T/bad.yaml" \
        >"$T/bad.out" 2>&1; then
        fail "accepted: $1"
    fi
    grep -q "$2" "$T/bad.out" || fail "no '$2' in: $(cat "$T/bad.out")"
}
bad_config '        targets: [ "ftp://x/metrics" ]' "targets': cannot read 'ftp://x': want http(s)"
bad_config '        targets: [ "http://x/" ]
        auth: { user: u, bearer_token: t }' "exclude each other"
ok "bad targets and auth refuse to start"

# the server: each page on its own port, printed as "name port" lines
python3 - "$FIX" "$T/ports" $PAGES >"$T/server.log" 2>&1 <<'PY' &
import http.server, socketserver, sys, threading, time, os
fix, portfile, pages = sys.argv[1], sys.argv[2], sys.argv[3:]
class Srv(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
def handler(kind, body, ctype="text/plain; version=0.0.4"):
    class H(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"
        def log_message(self, *a):
            pass
        def do_GET(self):
            if kind == "slow":
                time.sleep(3)
            if kind == "auth" and \
                    self.headers.get("Authorization") != "Bearer s3cret":
                self.send_response(401)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            self.send_response(200)
            self.send_header("Content-Type", ctype)
            if kind == "chunked":
                self.send_header("Transfer-Encoding", "chunked")
            else:
                self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            try:
                if kind != "chunked":
                    self.wfile.write(body)
                    return
                # sizes that cut lines, escapes and UTF-8 anywhere
                off, sizes, k = 0, [1, 2, 3, 7, 13, 4093, 16385, 65537], 0
                while off < len(body):
                    n = sizes[k % len(sizes)]
                    k += 1
                    c = body[off:off + n]
                    off += n
                    self.wfile.write(b"%x\r\n%s\r\n" % (len(c), c))
                self.wfile.write(b"0\r\n\r\n")
            except (BrokenPipeError, ConnectionResetError):
                pass
    return H
# the large page: K counters with escaped labels, H histograms, one line
# longer than max_line_size
K, H = 40000, 2000
big = [b"# HELP big_requests_total Requests.",
       b"# TYPE big_requests_total counter"]
for i in range(K):
    big.append(('big_requests_total{path="/p/%d",q="a\\"b\\\\c\\nd",'
                'u="h\u00e9llo w\u00f6rld"} %d' % (i, i)).encode())
big.append(b'too_long{x="' + b"y" * 2000 + b'"} 1')
big.append(b"# TYPE big_latency histogram")
for j in range(H):
    for le, m in (("0.1", 1), ("1", 2), ("+Inf", 3)):
        big.append(b'big_latency_bucket{g="%d",le="%s"} %d' %
                   (j, le.encode(), m * j))
    big.append(b'big_latency_sum{g="%d"} %d' % (j, j))
    big.append(b'big_latency_count{g="%d"} %d' % (j, 3 * j))
big = b"\r\n".join(big) + b"\r\n"

OM = "application/openmetrics-text; version=1.0.0; charset=utf-8"
servers = []
for p in pages:
    servers.append((p, "page", open(os.path.join(fix, p), "rb").read(),
                    OM if p.endswith(".txt") else None))
servers.append(("slow", "slow", b"slow_metric 1\n", None))
servers.append(("auth", "auth", b"secret_metric 42\n", None))
servers.append(("big", "page", b"big_metric 1\n" * 200, None))
servers.append(("cut", "chunked",
                b"".join(b"cut_metric{i=\"%d\"} 1\n" % i
                         for i in range(500)), None))
servers.append(("large", "chunked", big, None))
out = []
for name, kind, body, ctype in servers:
    s = Srv(("127.0.0.1", 0), handler(kind, body, *([ctype] if ctype else [])))
    threading.Thread(target=s.serve_forever, daemon=True).start()
    out.append("%s %d" % (name, s.server_address[1]))
# a port that refuses: bound, then closed
import socket
d = socket.socket()
d.bind(("127.0.0.1", 0))
out.append("dead %d" % d.getsockname()[1])
d.close()
open(portfile + ".tmp", "w").write("\n".join(out) + "\n")
os.rename(portfile + ".tmp", portfile)
while True:
    time.sleep(60)
PY
PIDS="$PIDS $!"
wait_for 10 test -f "$T/ports" || fail "server did not start: $(cat "$T/server.log")"
port() { awk -v n="$1" '$1 == n { print $2 }' "$T/ports"; }

targets=""
for p in $PAGES slow dead; do
    targets="$targets
          - http://127.0.0.1:$(port "$p")/metrics"
done
cat >"$T/vigil.yaml" <<YAML
pipelines:
  prom:
    inputs:
      - name: prometheus
        targets: $targets
        interval: 1h
        timeout: 1s
        job: fixtures
        labels: { env: test }
      - name: prometheus
        alias: honor
        targets: [ "http://127.0.0.1:$(port node_exporter.prom)/metrics" ]
        interval: 1h
        job: honored
        honor_labels: true
      - name: prometheus
        alias: auth
        targets:
          - http://127.0.0.1:$(port auth)/metrics
          - http://127.0.0.1:$(port big)/metrics
          - http://127.0.0.1:$(port cut)/metrics
        interval: 1h
        job: authjob
        max_body_size: 1KiB
        auth: { bearer_token: s3cret }
      - name: prometheus
        alias: large
        targets: [ "http://127.0.0.1:$(port large)/metrics" ]
        interval: 1h
        job: large
        max_line_size: 1KiB
    outputs:
      - name: file
        path: $T/out.jsonl
YAML
chmod 600 "$T/vigil.yaml"              # it holds the bearer token
"$VIGIL" --plugin-path "$PLUGPATH" --check -c "$T/vigil.yaml" \
    >"$T/check.log" 2>&1 || fail "config check: $(cat "$T/check.log")"
start_vigil run -c "$T/vigil.yaml"
# 9 + 1 + 3 + 1 targets, each reports up once
wait_for 30 sh -c "[ \$(grep -c '\"name\":\"up\"' '$T/out.jsonl' 2>/dev/null) -ge 14 ]" ||
    fail "not every target scraped: $(grep -c '"name":"up"' "$T/out.jsonl" 2>/dev/null)"
kill -TERM "$VPID"
wait_exit "$VPID" 20 || fail "vigil did not stop"
# a sanitizer's report (a leak of a cut page's buffers) fails the exit
[ "$RC" = 0 ] || fail "vigil exited $RC"

python3 - "$T/out.jsonl" "$T/ports" <<'PY' || fail "scraped values differ"
import json, sys
ports = dict(l.split() for l in open(sys.argv[2]))
ev = [json.loads(l) for l in open(sys.argv[1])]
def inst(page):
    return "127.0.0.1:" + ports[page]
def find(name, **labels):
    for e in ev:
        if e["name"] == name and all(e["labels"].get(k) == v
                                     for k, v in labels.items()):
            return e
    return None
bad = []
def want(name, field, value, **labels):
    e = find(name, **labels)
    got = None if e is None else e.get(field)
    if got != value:
        bad.append("%s %s %s: want %r, got %r" % (name, labels, field,
                                                  value, got))

# up, per target; slow (timeout) and dead (refused) are 0
for page in ["node_exporter.prom", "histograms.prom", "summaries.prom",
             "escaping.prom", "timestamps.prom", "openmetrics.txt",
             "malformed.prom"]:
    want("up", "value", 1, instance=inst(page), job="fixtures", env="test")
want("up", "value", 0, instance=inst("slow"), job="fixtures")
want("up", "value", 0, instance=inst("dead"), job="fixtures")
want("scrape_samples_scraped", "value", 23, instance=inst("node_exporter.prom"))
want("scrape_samples_scraped", "value", 3, instance=inst("malformed.prom"))
e = find("scrape_duration_seconds", instance=inst("slow"))
if not e or not 0.9 <= e["value"] < 2.5:
    bad.append("slow scrape_duration_seconds: %r" % e)
# counters, gauges, summaries
want("node_cpu_seconds_total", "type", "counter", cpu="0", mode="idle",
     instance=inst("node_exporter.prom"), job="fixtures", env="test")
want("node_cpu_seconds_total", "value", 123456.78, cpu="0", mode="idle")
want("go_goroutines", "type", "gauge", instance=inst("node_exporter.prom"))
want("go_gc_duration_seconds", "value", 4.0912e-05, quantile="0.5",
     instance=inst("node_exporter.prom"))
want("rpc_duration_seconds_count", "type", "counter", service="exponential")
want("rpc_duration_seconds", "value", 0.0049, quantile="0.99")
# honor_labels false: scraped instance/job renamed; true: scraped wins
want("node_untyped_thing", "value", 17, exported_instance="scraped-host",
     exported_job="scraped-job", instance=inst("node_exporter.prom"),
     job="fixtures")
want("node_untyped_thing", "value", 17, instance="scraped-host",
     job="scraped-job")
if find("node_untyped_thing", job="honored"):
    bad.append("honor_labels: the target's job was kept")
# histograms: per-bucket counts
e = find("http_request_duration_seconds", handler="/api")
if not e or e["type"] != "histogram" or \
        [b["count"] for b in e["buckets"]] != [24054, 9390, 66948, 28997,
                                               4599, 10332] or \
        e["buckets"][-1]["le"] != "+Inf" or e["count"] != 144320 or \
        e["sum"] != 53423:
    bad.append("histogram /api: %r" % e)
e = find("foo", instance=inst("openmetrics.txt"))
if not e or [b["count"] for b in e["buckets"]] != [0, 0, 8, 2, 7]:
    bad.append("openmetrics histogram: %r" % e)
# escaping
want("msg_total", "value", 3, path="C:\\Windows\\", quote='say "hi"',
     nl="a\nb", utf8="h\u00e9llo w\u00f6rld")
# time stamps: ms in 0.0.4, seconds in OpenMetrics
want("stamped", "time", "2023-11-14T22:13:20.123000000Z", k="a")
want("process_cpu_seconds_total", "time", "2023-11-14T22:13:20.500000000Z")
# malformed page: the good lines are kept
want("good_three", "value", 3, instance=inst("malformed.prom"))
want("good_two", "value", 2, a="b")
# bearer token; a page larger than max_body_size fails
want("secret_metric", "value", 42, job="authjob")
want("up", "value", 1, instance=inst("auth"), job="authjob")
want("up", "value", 0, instance=inst("big"), job="authjob")
if find("big_metric"):
    bad.append("a page that announced more than max_body_size was read")
# a page past max_body_size without Content-Length: cut, its first lines
# kept and counted
want("up", "value", 0, instance=inst("cut"), job="authjob")
cut = [e for e in ev if e["name"] == "cut_metric"]
e = find("scrape_samples_scraped", instance=inst("cut"))
if not 0 < len(cut) < 100 or not e or e["value"] != len(cut) or \
        [c["labels"]["i"] for c in cut] != [str(i) for i in range(len(cut))]:
    bad.append("cut page: %d events, scrape_samples_scraped %r" %
               (len(cut), e))
# the large page: every line, whatever the chunks cut
K, H = 40000, 2000
want("up", "value", 1, instance=inst("large"), job="large")
want("scrape_samples_scraped", "value", K + 5 * H, instance=inst("large"))
reqs = [e for e in ev if e["name"] == "big_requests_total"]
lat = [e for e in ev if e["name"] == "big_latency"]
if len(reqs) != K or len(lat) != H:
    bad.append("large page: %d counters, %d histograms" % (len(reqs),
                                                            len(lat)))
for i, e in enumerate(reqs):
    l = e["labels"]
    if e["value"] != i or e["type"] != "counter" or \
            l.get("path") != "/p/%d" % i or l.get("q") != 'a"b\\c\nd' or \
            l.get("u") != "h\u00e9llo w\u00f6rld":
        bad.append("large page: counter %d: %r" % (i, e))
        break
for j, e in enumerate(lat):
    if e["labels"].get("g") != str(j) or \
            [b["count"] for b in e["buckets"]] != [j, j, j] or \
            e["sum"] != j or e["count"] != 3 * j:
        bad.append("large page: histogram %d: %r" % (j, e))
        break
if find("too_long"):
    bad.append("a line past max_line_size was read")
for b in bad:
    print(b)
sys.exit(1 if bad else 0)
PY
ok "pages of every kind scraped: samples, histograms, summaries, escaping, time stamps, OpenMetrics, labels"

grep -q "scrape of 'http://127.0.0.1:$(port slow)' failed: .*timed out" "$T/run.log" ||
    fail "slow target failure not logged"
grep -q "scrape of 'http://127.0.0.1:$(port dead)' failed: .*[Cc]onnect" "$T/run.log" ||
    fail "dead target failure not logged"
grep -q "page larger than max_body_size" "$T/run.log" ||
    fail "page too large not logged"
grep -q "malformed line from 'http://127.0.0.1:$(port malformed.prom)': 'this line is broken'" "$T/run.log" ||
    fail "malformed line not logged"
grep -Eq "input\[prometheus#1\]:.* malformed 4(,|$)" "$T/run.log" ||
    fail "malformed not counted 4: $(grep 'events in' "$T/run.log")"
grep -Eq "input\[large\]:.* malformed 1(,|$)" "$T/run.log" ||
    fail "line past max_line_size not counted: $(grep 'large' "$T/run.log")"
long_msg="'too_long{x=\"yyy.*\.\.\.': line longer than max_line_size"
grep -q "malformed line from 'http://127.0.0.1:$(port large)': $long_msg" \
    "$T/run.log" ||
    fail "line past max_line_size not logged"
ok "timeouts, refused connections, pages too large and malformed lines logged and counted"
