#!/bin/sh
# Delivery benchmark: end-to-end latency from an event's creation (generate)
# to its arrival in a file output, read by a follower, at 1k, 10k and 100k
# events/s; and throughput with and without queue limits.
#
#   contrib/bench/bench_delivery.sh            (from the source tree, after
#   VIGIL=build/vigil PLUGINS=build/plugins/.libs SECONDS_EACH=10 ...)
set -eu
VIGIL=${VIGIL:-build/vigil}
PLUGINS=${PLUGINS:-build/plugins/.libs}
SECONDS_EACH=${SECONDS_EACH:-10}
RUNS=${RUNS:-3}
HERE=$(cd "$(dirname "$0")" && pwd)
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
trap 'rm -rf "$T"' EXIT

latency() {   # latency RATE
    cat >"$T/lat.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: generate
        rate: $1
        interval: 10ms
    outputs:
      - name: file
        path: $T/lat.jsonl
        fsync: never
YAML
    rm -f "$T/lat.jsonl"
    "$VIGIL" --plugin-path "$PLUGINS" -c "$T/lat.yaml" 2>/dev/null &
    pid=$!
    python3 "$HERE/latency.py" "$T/lat.jsonl" "$SECONDS_EACH"
    kill -TERM "$pid"
    wait "$pid" || true
}

throughput() {   # throughput MAX_MEMORY -> events/s
    cat >"$T/tp.yaml" <<YAML
pipelines:
  p:
    inputs:
      - name: generate
        rate: 0
        count: 2000000
        exit_when_done: true
    outputs:
      - name: file
        path: $T/tp.jsonl
        fsync: never
        buffer: { max_memory: $1 }
YAML
    rm -f "$T/tp.jsonl"
    s=$(date +%s.%N)
    "$VIGIL" --plugin-path "$PLUGINS" -c "$T/tp.yaml" 2>/dev/null
    e=$(date +%s.%N)
    python3 -c "print(int(2000000 / ($e - $s)))"
}

median() { sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'; }

echo "== end-to-end latency, generate -> file, follower polling every 0.5 ms"
for rate in 1000 10000 100000; do
    printf "%7s events/s: " "$rate"
    latency "$rate"
done

echo "== throughput, 2M metrics -> file (median of $RUNS)"
for mem in 32MiB 0; do
    v=$(for i in $(seq "$RUNS"); do throughput "$mem"; done | median)
    echo "  buffer.max_memory $mem: $v events/s"
done
