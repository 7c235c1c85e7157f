#!/bin/sh
# Speed of the anomaly filter.  Two measures:
#  1. the detector alone: contrib/eval/anomaly_eval.c's bench mode, built
#     with -O2, feeds SAMPLES samples round-robin over 1, 1000 and 10000
#     series through the series table and detector (samples/s per core,
#     bytes per series);
#  2. the real agent: generate (rate 0, COUNT metrics over 100 series) ->
#     anomaly -> file, with and without emit_scores (which doubles what
#     the output writes), against the same pipeline without the filter;
#     the filter's own cost is the CPU difference.
#
# usage: contrib/bench/bench_anomaly.sh [BUILDDIR]   (default: build)
#        SAMPLES=20000000 COUNT=2000000 contrib/bench/bench_anomaly.sh B
set -eu
B=${1:-build}
SAMPLES=${SAMPLES:-20000000}
COUNT=${COUNT:-2000000}
SRC=$(cd "$(dirname "$0")/../.." && pwd)
VIGIL="$B/vigil"
PLUGINS="$B/plugins/.libs"
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

${CC:-cc} -O2 -I"$SRC/plugins/filter/anomaly" -o "$T/anomaly_eval" \
    "$SRC/contrib/eval/anomaly_eval.c" "$SRC/plugins/filter/anomaly/detect.c" \
    "$SRC/plugins/filter/anomaly/table.c" -lm
echo "== detector alone (one core)"
for n in 1 1000 10000; do
    "$T/anomaly_eval" bench "$n" "$SAMPLES"
done

[ -x "$VIGIL" ] || { echo "no $VIGIL: agent part skipped" >&2; exit 0; }
conf() {
    cat >"$T/$1.yaml" <<YAML
agent: { log_level: warn }
pipelines:
  b:
    inputs:
      - name: generate
        rate: 0
        count: $COUNT
        batch_size: 1000
        series: 100
        exit_when_done: true
$2
    outputs:
      - name: file
        path: $T/$1.out
        max_size: 16GiB
        fsync: never
YAML
}
conf base ""
conf anomaly "    filters:
      - name: anomaly
        persist: false"
conf scores "    filters:
      - name: anomaly
        emit_scores: true
        persist: false"

# run NAME: "wall cpu" in seconds
run() {
    rm -f "$T/$1.out"
    /usr/bin/time -f "%e %U %S" -o "$T/time" \
        "$VIGIL" --plugin-path "$PLUGINS" -c "$T/$1.yaml" >/dev/null
    awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$T/time"
}

echo "== agent: generate -> [anomaly] -> file, $COUNT metrics, 100 series"
set -- $(run base)
bw=$1 bc=$2
printf '%-22s %7s %7s %12s %16s\n' case wall_s cpu_s "metrics/s" \
    "filter_samples/s"
printf '%-22s %7.2f %7.2f %12.0f %16s\n' "no filter" "$bw" "$bc" \
    "$(echo "$COUNT $bw" | awk '{ print $1 / $2 }')" -
for c in anomaly scores; do
    set -- $(run $c)
    name=anomaly
    [ "$c" = scores ] && name="anomaly, emit_scores"
    echo "$1 $2" | awk -v n="$COUNT" -v bc="$bc" -v name="$name" '{
        d = $2 - bc
        f = "(below noise)"
        if (d > 0)
            f = sprintf("%.0f", n / d)
        printf "%-22s %7.2f %7.2f %12.0f %16s\n", name, $1, $2, n / $1, f
    }'
done
