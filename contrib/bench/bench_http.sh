#!/bin/sh
# Throughput of the http output: generate (rate 0, COUNT metrics, batches
# of BATCH) -> http (json_lines, keep-alive) -> a local receiver that
# reads and discards the bodies.  Prints, per run, events/s end to end,
# vigil's CPU per million events, and the receiver's CPU over the same
# time, so a receiver that is the bottleneck shows (it is Python: when its
# CPU is near the wall time, the figure is the receiver's, not vigil's).
# Also one gzip run.
#
# usage: contrib/bench/bench_http.sh [BUILDDIR]   (default: build)
#        COUNT=2000000 BATCH=1000 RUNS=3 contrib/bench/bench_http.sh /tmp/b
set -eu
B=${1:-build}
COUNT=${COUNT:-1000000}
BATCH=${BATCH:-1000}
RUNS=${RUNS:-3}
VIGIL="$B/vigil"
PLUGINS="$B/plugins/.libs"
HERE=$(cd "$(dirname "$0")" && pwd)
RECV="$HERE/../../tests/integration/receivers/receiver.py"
[ -x "$VIGIL" ] || { echo "no $VIGIL: build first" >&2; exit 2; }
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
RPID=
trap '[ -z "$RPID" ] || kill "$RPID" 2>/dev/null; rm -rf "$T"' EXIT

python3 "$RECV" --mode discard --port-file "$T/port" --stats "$T/stats" &
RPID=$!
i=0
while [ ! -s "$T/port" ] && [ $i -lt 100 ]; do sleep 0.1; i=$((i + 1)); done
PORT=$(cat "$T/port")

# run COMPRESS: one timed run; prints a result line
run() {
    cat >"$T/b.yaml" <<YAML
agent:
  shutdown_timeout: 120s
pipelines:
  p:
    inputs:
      - name: generate
        rate: 0
        count: $COUNT
        batch_size: $BATCH
        exit_when_done: true
    outputs:
      - name: http
        url: http://127.0.0.1:$PORT/bench
        compress: $1
YAML
    python3 - "$VIGIL" "$PLUGINS" "$T/b.yaml" "$COUNT" "$RPID" "$1" \
        "$T/stats" <<'PY'
import json, os, resource, subprocess, sys, time
vigil, plugins, conf, count, rpid, comp, stats = sys.argv[1:]
count = int(count)

def received():
    time.sleep(0.6)             # the receiver writes its counts each 0.5s
    try:
        s = json.load(open(stats))
        return s["events"], s["connections"]
    except (OSError, ValueError):
        return 0, 0

def recv_cpu():
    with open(f"/proc/{rpid}/stat") as f:
        fields = f.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")

e0 = received()
r0 = recv_cpu()
t0 = time.monotonic()
rc = subprocess.call([vigil, "--plugin-path", plugins, "-c", conf],
                     stderr=subprocess.DEVNULL)
wall = time.monotonic() - t0
ru = resource.getrusage(resource.RUSAGE_CHILDREN)
cpu = ru.ru_utime + ru.ru_stime
r1 = recv_cpu()
e1 = received()
got, conns = e1[0] - e0[0], e1[1] - e0[1]
print(f"compress={comp:5s} rc={rc} events={count} wall={wall:.2f}s "
      f"events/s={count / wall:,.0f} vigil_cpu={cpu:.2f}s "
      f"({cpu / count * 1e6:.2f} s per million events) "
      f"receiver_cpu={r1 - r0:.2f}s received={got} connections={conns}")
PY
}

echo "http output, json_lines, $COUNT events in batches of $BATCH," \
     "keep-alive, to a discarding Python receiver"
n=0
while [ $n -lt "$RUNS" ]; do
    run none
    n=$((n + 1))
done
run gzip
