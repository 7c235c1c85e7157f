#!/bin/sh
# Overhead of the system input against collectd collecting the same groups:
# both run side by side at a 1 s interval for DURATION seconds; for each the
# CPU seconds used (utime + stime of /proc/PID/stat) and the peak RSS (VmHWM)
# are read just before stopping it.  Prints the median of RUNS runs and the
# ratios.  Goal: vigil <= 0.5x collectd's CPU, and no more peak RSS.
#
#   DURATION=60 RUNS=3 VIGIL=./vigil PLUGINS=./plugins/.libs \
#       contrib/bench/system-vs-collectd.sh
set -eu

DURATION=${DURATION:-60}
RUNS=${RUNS:-3}
VIGIL=${VIGIL:-./vigil}
PLUGINS=${PLUGINS:-./plugins/.libs}
COLLECTD=${COLLECTD:-collectd}
COLLECTD_PLUGINS=${COLLECTD_PLUGINS:-/usr/lib/collectd}

command -v "$COLLECTD" >/dev/null 2>&1 || {
    echo "collectd not found: apt-get install -y collectd-core" >&2
    exit 1
}
[ -x "$VIGIL" ] || { echo "no vigil binary at $VIGIL" >&2; exit 1; }

tmp=$(mktemp -d)
vpid=
cpid=
cleanup() {
    [ -n "$vpid" ] && kill "$vpid" 2>/dev/null
    [ -n "$cpid" ] && kill "$cpid" 2>/dev/null
    rm -rf "$tmp"
}
trap cleanup EXIT INT TERM

cat > "$tmp/vigil.yaml" <<YAML
pipelines:
  host:
    inputs:
      - name: system
        interval: 1s
    outputs:
      - name: stdout
        format: json
YAML

cat > "$tmp/collectd.conf" <<CONF
Hostname "bench"
FQDNLookup false
BaseDir "$tmp/collectd"
PIDFile "$tmp/collectd.pid"
PluginDir "$COLLECTD_PLUGINS"
TypesDB "/usr/share/collectd/types.db"
Interval 1
LoadPlugin cpu
LoadPlugin memory
LoadPlugin load
LoadPlugin disk
LoadPlugin df
LoadPlugin interface
LoadPlugin processes
LoadPlugin csv
<Plugin csv>
  DataDir "$tmp/csv"
  StoreRates false
</Plugin>
CONF
mkdir -p "$tmp/collectd" "$tmp/csv"

tck=$(getconf CLK_TCK)

# CPU seconds (utime + stime) of a live process.
cpu_secs() {
    awk -v t="$tck" '{ sub(/^.*\) /, ""); printf "%.3f", ($12 + $13) / t }' \
        "/proc/$1/stat"
}

# Peak resident set in KiB.
peak_kib() {
    awk '/^VmHWM:/ { print $2 }' "/proc/$1/status"
}

median() {
    sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'
}

: > "$tmp/vcpu"; : > "$tmp/vrss"; : > "$tmp/ccpu"; : > "$tmp/crss"
run=1
while [ "$run" -le "$RUNS" ]; do
    "$VIGIL" -c "$tmp/vigil.yaml" --plugin-path "$PLUGINS" \
        > /dev/null 2> "$tmp/vigil.log" &
    vpid=$!
    "$COLLECTD" -f -C "$tmp/collectd.conf" > "$tmp/collectd.log" 2>&1 &
    cpid=$!
    sleep "$DURATION"
    for p in "$vpid" "$cpid"; do
        kill -0 "$p" 2>/dev/null || {
            echo "a process died early; logs:" >&2
            cat "$tmp/vigil.log" "$tmp/collectd.log" >&2
            exit 1
        }
    done
    cpu_secs "$vpid" >> "$tmp/vcpu"; echo >> "$tmp/vcpu"
    peak_kib "$vpid" >> "$tmp/vrss"
    cpu_secs "$cpid" >> "$tmp/ccpu"; echo >> "$tmp/ccpu"
    peak_kib "$cpid" >> "$tmp/crss"
    kill "$vpid" "$cpid"
    wait "$vpid" 2>/dev/null || true
    wait "$cpid" 2>/dev/null || true
    vpid=
    cpid=
    echo "run $run/$RUNS: vigil $(tail -n 1 "$tmp/vcpu") s" \
         "$(tail -n 1 "$tmp/vrss") KiB; collectd $(tail -n 1 "$tmp/ccpu") s" \
         "$(tail -n 1 "$tmp/crss") KiB"
    run=$((run + 1))
done

vc=$(median < "$tmp/vcpu"); vr=$(median < "$tmp/vrss")
cc=$(median < "$tmp/ccpu"); cr=$(median < "$tmp/crss")
echo
echo "median of $RUNS runs of ${DURATION}s at a 1s interval:"
printf '  %-9s %8s CPU s %8s KiB peak RSS\n' vigil "$vc" "$vr" \
    collectd "$cc" "$cr"
awk -v vc="$vc" -v cc="$cc" -v vr="$vr" -v cr="$cr" 'BEGIN {
    c = 0; r = 0
    if (cc > 0) c = vc / cc
    if (cr > 0) r = vr / cr
    printf "  vigil/collectd: CPU %.2fx (goal <= 0.50x), ", c
    printf "peak RSS %.2fx (goal <= 1.00x)\n", r
}'
