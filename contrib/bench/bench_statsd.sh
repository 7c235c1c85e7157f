#!/bin/sh
# Speed of the statsd input: a python sender paces UDP datagrams of
# LINES metrics each (as real clients batch them) at several rates for
# SECONDS each, over SERIES series (counters, timers with a tag, gauges);
# the agent aggregates with a 1 s flush into a file.  For each rate:
# metrics sent and aggregated (the input's own count), kernel drops
# (SO_RXQ_OVFL), agent CPU seconds and CPU seconds per million metrics.
# A rate is kept up with when every metric sent was aggregated.
#
# usage: contrib/bench/bench_statsd.sh [BUILDDIR]     (default: build)
#        RATES="500000 1000000" SECONDS_EACH=10 LINES=25 SERIES=1000 ...
set -eu
B=${1:-build}
RATES=${RATES:-250000 500000 1000000 1500000}
SECONDS_EACH=${SECONDS_EACH:-5}
LINES=${LINES:-25}
SERIES=${SERIES:-1000}
VIGIL="$B/vigil"
PLUGINS="$B/plugins/.libs"
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
trap '[ -n "${VPID:-}" ] && kill -9 "$VPID" 2>/dev/null; rm -rf "$T"' EXIT

PORT=$(python3 -c 'import socket; s=socket.socket(socket.AF_INET, socket.SOCK_DGRAM); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
cat >"$T/vigil.yaml" <<YAML
pipelines:
  b:
    inputs:
      - name: statsd
        listen: [ "udp://127.0.0.1:$PORT" ]
        flush_interval: 1s
        rcvbuf: 32MiB
    outputs:
      - name: file
        path: $T/out.jsonl
YAML

cpu_of() {      # utime + stime of pid $1, in clock ticks
    awk '{ print $14 + $15 }' "/proc/$1/stat"
}

printf '%10s %12s %12s %8s %8s %12s\n' rate/s sent aggregated drops cpu_s \
    cpu_s/1M
for rate in $RATES; do
    "$VIGIL" --plugin-path "$PLUGINS" -c "$T/vigil.yaml" >"$T/run.out" \
        2>"$T/run.log" &
    VPID=$!
    i=0
    until grep -q "receive buffer of" "$T/run.log"; do
        i=$((i + 1))
        [ "$i" -lt 100 ] || { cat "$T/run.log"; exit 1; }
        sleep 0.1
    done
    c0=$(cpu_of "$VPID")
    sent=$(python3 - "$PORT" "$rate" "$SECONDS_EACH" "$LINES" "$SERIES" <<'PY'
import socket, sys, time
port, rate, secs, lines, series = map(int, sys.argv[1:])
u = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
u.connect(("127.0.0.1", port))
pkts = []
for p in range(512):
    ls = []
    for k in range(lines):
        s = (p * lines + k) % series
        kind = s % 3
        if kind == 0:
            ls.append(b"app.req.%d:1|c" % s)
        elif kind == 1:
            ls.append(b"app.lat.%d:%d|ms|#route:r%d" % (s, (p * 7 + k) % 900, s % 10))
        else:
            ls.append(b"app.q.%d:+1|g" % s)
    pkts.append(b"\n".join(ls))
pps = rate / lines
slice_ = 0.005
per = max(1, int(pps * slice_))
n = 0
start = time.monotonic()
deadline = start + secs
nxt = start
while True:
    now = time.monotonic()
    if now >= deadline:
        break
    for i in range(per):
        u.send(pkts[(n + i) & 511])
    n += per
    nxt += slice_
    d = nxt - time.monotonic()
    if d > 0:
        time.sleep(d)
print(n * lines)
PY
)
    sleep 1.5
    c1=$(cpu_of "$VPID")
    kill -TERM "$VPID"
    wait "$VPID" || true
    VPID=
    got=$(sed -n 's/.*input\[statsd#1\]:.* metrics \([0-9]*\).*/\1/p' \
        "$T/run.log" | tail -n 1)
    drops=$(sed -n 's/.*kernel_drops \([0-9]*\).*/\1/p' "$T/run.log" |
        tail -n 1)
    awk -v r="$rate" -v s="$sent" -v g="${got:-0}" -v d="${drops:-0}" \
        -v c="$((c1 - c0))" -v hz="$(getconf CLK_TCK)" 'BEGIN {
        cs = c / hz
        printf "%10d %12d %12d %8d %8.2f %12.3f\n", r, s, g, d, cs,
               g ? cs / (g / 1e6) : 0 }'
done
