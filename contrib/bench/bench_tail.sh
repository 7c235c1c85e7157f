#!/bin/sh
# Benchmark of the tail input: reads a file of access-log lines (~120
# bytes each) from its head to its end (exit_on_eof) into the file output
# writing to /dev/null, and reports lines/s, MB/s, CPU seconds per million
# lines and peak RSS, the median of RUNS runs.  With PARSE the parse
# filter sits between them: json (on a file of ~120-byte JSON lines),
# json-modify (json, then an exclude on an attribute and a modify filter
# renaming an attribute and adding a label), nginx (the built-in reader)
# or regex (the same fields by a PCRE2 pattern).
#
#   contrib/bench/bench_tail.sh            # 1000 MB, 3 runs
#   SIZE_MB=200 RUNS=1 contrib/bench/bench_tail.sh
#   PARSE=json SIZE_MB=240 contrib/bench/bench_tail.sh
#
# Env: VIGIL (default build/vigil), VIGIL_PLUGINS (default beside it),
# BENCH_DIR (where the data file is kept between runs, default /tmp).
set -eu
SIZE_MB=${SIZE_MB:-1000}
RUNS=${RUNS:-3}
VIGIL=${VIGIL:-build/vigil}
VIGIL_PLUGINS=${VIGIL_PLUGINS:-$(dirname "$VIGIL")/plugins/.libs}
BENCH_DIR=${BENCH_DIR:-/tmp}
PARSE=${PARSE:-none}
case $PARSE in
none|nginx|regex) KIND=access ;;
json|json-modify) KIND=json ;;
*) echo "PARSE must be none, json, json-modify, nginx or regex" >&2; exit 2 ;;
esac
DATA="$BENCH_DIR/vigil-bench-tail-v2-$KIND-${SIZE_MB}MB.log"
[ "$KIND" = access ] && DATA="$BENCH_DIR/vigil-bench-tail-v2-${SIZE_MB}MB.log"
W=$(mktemp -d /tmp/vigil-bench-tail.XXXXXX)
trap 'rm -rf "$W"' EXIT

if [ ! -s "$DATA" ]; then
    echo "generating $DATA ($SIZE_MB MB)..."
    python3 - "$DATA" "$SIZE_MB" "$KIND" <<'PY'
import random, sys
path, mb, kind = sys.argv[1], int(sys.argv[2]), sys.argv[3]
rnd = random.Random(42)
paths = ["/", "/index.html", "/api/v1/users", "/api/v1/orders?page=2",
         "/static/app.js", "/static/style.css", "/login", "/health"]
agents = ["curl/8.4.0", "Mozilla/5.0 (X11; Linux x86_64)", "kube-probe/1.29",
          "Go-http-client/1.1"]
methods = ["GET"] * 8 + ["POST", "PUT"]
lines = []
for i in range(20000):
    lines.append('%d.%d.%d.%d - - [23/Nov/2026:12:%02d:%02d +0000] "%s %s '
                 'HTTP/1.1" %d %d "-" "%s" rt=%.3f\n' % (
        rnd.randrange(1, 255), rnd.randrange(256), rnd.randrange(256),
        rnd.randrange(1, 255), rnd.randrange(60), rnd.randrange(60),
        rnd.choice(methods), rnd.choice(paths),
        rnd.choice([200] * 9 + [404, 500, 301]), rnd.randrange(100, 50000),
        rnd.choice(agents), rnd.random()))
    if kind == "json":
        lines[-1] = ('{"time":"2026-11-23T12:%02d:%02d.%03dZ","level":"%s",'
                     '"msg":"request served","method":"%s","path":"%s",'
                     '"status":%d,"ms":%.3f}\n' % (
            rnd.randrange(60), rnd.randrange(60), rnd.randrange(1000),
            rnd.choice(["info"] * 8 + ["warn", "error"]),
            rnd.choice(methods), rnd.choice(paths),
            rnd.choice([200] * 9 + [404, 500, 301]), rnd.random() * 100))
block = "".join(lines).encode()
want = mb * 1000 * 1000
with open(path + ".tmp", "wb") as f:
    done = 0
    while done < want:
        f.write(block)
        done += len(block)
import os
os.rename(path + ".tmp", path)
PY
fi
BYTES=$(stat -c %s "$DATA")
LINES=$(wc -l <"$DATA")

REGEX='^(?<remote_addr>\S+) \S+ (?<user>\S+) \[(?<time>[^\]]+)\] "(?<method>\S+) (?<path>\S+) (?<protocol>[^"]+)" (?<status>\d{3}) (?<bytes>\d+|-) "(?<referer>[^"]*)" "(?<user_agent>[^"]*)"'
case $PARSE in
none) FILTERS= ;;
json) FILTERS="    filters:
      - name: parse
        format: json
        time_key: time
        severity_key: level
        keep_body: false" ;;
json-modify) FILTERS="    filters:
      - name: parse
        format: json
        time_key: time
        severity_key: level
        keep_body: false
        exclude: '^/health'
        match_key: path
      - name: modify
        operations:
          - rename: { from: ms, to: duration_ms, in: attributes }
          - set: { key: team, value: web, in: labels }" ;;
nginx) FILTERS="    filters:
      - name: parse
        format: nginx
        keep_body: false" ;;
regex) FILTERS="    filters:
      - name: parse
        format: regex
        pattern: '$REGEX'
        types: { status: int, bytes: int }
        time_key: time
        time_format: \"%d/%b/%Y:%H:%M:%S %z\"
        keep_body: false" ;;
esac

cat >"$W/bench.yaml" <<YAML
agent:
  state_dir: $W/state
  log_level: warn
pipelines:
  bench:
    inputs:
      - name: tail
        paths: [ "$DATA" ]
        read_from_head: true
        exit_on_eof: true
$FILTERS
    outputs:
      - name: file
        path: /dev/null
        max_size: 0
        fsync: never
YAML

python3 - "$VIGIL" "$VIGIL_PLUGINS" "$W" "$RUNS" "$BYTES" "$LINES" <<'PY'
import os, statistics, subprocess, sys, time
vigil, plugins, w, runs, nbytes, nlines = sys.argv[1:7]
runs, nbytes, nlines = int(runs), int(nbytes), int(nlines)
res = []
for r in range(runs):
    subprocess.run(["rm", "-rf", w + "/state"], check=True)
    t0 = time.monotonic()
    p = subprocess.Popen([vigil, "--plugin-path", plugins, "-c",
                          w + "/bench.yaml"], stderr=subprocess.PIPE)
    _, status, ru = os.wait4(p.pid, 0)
    wall = time.monotonic() - t0
    err = p.stderr.read().decode()
    if status != 0:
        sys.exit("vigil failed (status %d): %s" % (status, err))
    cpu = ru.ru_utime + ru.ru_stime
    res.append((wall, cpu, ru.ru_maxrss))
    print("run %d: %.2f s, %.0f lines/s, %.1f MB/s, %.3f CPU-s per "
          "million lines, peak RSS %.1f MiB" % (
              r + 1, wall, nlines / wall, nbytes / wall / 1e6,
              cpu / nlines * 1e6, ru.ru_maxrss / 1024))
wall = statistics.median(x[0] for x in res)
cpu = statistics.median(x[1] for x in res)
rss = statistics.median(x[2] for x in res)
print("median of %d: %d lines (%.0f MB) in %.2f s: %.0f lines/s, %.1f MB/s, "
      "%.3f CPU-s per million lines, peak RSS %.1f MiB" % (
          runs, nlines, nbytes / 1e6, wall, nlines / wall,
          nbytes / wall / 1e6, cpu / nlines * 1e6, rss / 1024))
PY
