#!/bin/sh
# Throughput of the modify, sample and redact filters through the real
# agent: generate (rate 0, COUNT events) -> filter -> file, timed against
# the same pipeline without the filter.  Prints, per case, the median of
# RUNS runs: wall time, CPU time, events/s end to end, and the filter's
# own cost (CPU with it minus CPU without it) as events/s and, for
# redact, MB/s of log body text.
#
# usage: contrib/bench/bench_filters.sh [BUILDDIR]   (default: build)
#        COUNT=2000000 RUNS=3 contrib/bench/bench_filters.sh /tmp/build
set -eu
B=${1:-build}
COUNT=${COUNT:-2000000}
RUNS=${RUNS:-3}
VIGIL="$B/vigil"
PLUGINS="$B/plugins/.libs"
[ -x "$VIGIL" ] || { echo "no $VIGIL: build first" >&2; exit 2; }
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

# A combined access log line: client IP, e-mail in the query string, a
# token, an IPv6 peer; and a clean line of the same length without any.
PII='10.1.2.3 - - [23/Nov/2026:12:00:00 +0000] \"GET /reset?email=jane.doe%d@example.com&api_key=ZXhhbXBsZTEyMzQ1Ng HTTP/1.1\" 200 5123 \"https://shop.example.com/cart\" \"Mozilla/5.0 (X11; Linux x86_64) Chrome/119.0\" peer=2001:db8::42'
CLEAN='GET /api/v1/users/%d/orders?page=2&sort=desc HTTP/1.1 status=200 bytes=5123 referer=https://shop.example.com/cart agent=Mozilla/5.0 (X11; Linux x86_64) Chrome/119.0 upstream=backend-7 dur=0.0042'

# conf NAME KIND MESSAGE FILTER-YAML
conf() {
    cat >"$T/$1.yaml" <<YAML
agent: { log_level: warn }
pipelines:
  b:
    inputs:
      - name: generate
        kind: $2
        rate: 0
        count: $COUNT
        batch_size: 1000
        series: 100
        message: "$3"
        labels: { hostname: web-1, tmp_id: "42", path: /api, zone: eu }
        exit_when_done: true
$4
    outputs:
      - name: file
        path: $T/$1.out
        max_size: 16GiB
        fsync: never
YAML
}

conf base_metric metric x ""
conf modify metric x "    filters:
      - name: modify
        operations:
          - { rename: { from: hostname, to: host } }
          - { drop_labels: [ \"tmp_*\" ] }
          - { set: { key: env, value: prod } }
          - { drop: { label: series, value: \"9?\" } }
          - { convert: { from: KiB, to: bytes } }"
conf modify_drop_only metric x "    filters:
      - name: modify
        operations:
          - { keep: { name: \"vigil.*\" } }
          - { drop: { label: series, regex: \"^9.\$\" } }"
conf sample_key metric x "    filters:
      - name: sample
        rate: 0.1
        key: series"
# keeps (nearly) every series, so each event is hashed, annotated and
# copied: the sampler's full per-event cost, without the output savings
conf sample_key_all metric x "    filters:
      - name: sample
        rate: 0.99999
        key: series"
# every event is looked up and counted; none exceeds max, so the run
# measures the per-event cost, not the summaries
conf sample_throttle metric x "    filters:
      - name: sample
        throttle: { max: 100000000, window: 10s, key: series }"
conf base_log_pii log "$PII" ""
conf redact_pii log "$PII" "    filters:
      - name: redact
        key: bench-key
        rules:
          - { detector: email, action: hash }
          - { detector: ipv4, action: truncate }
          - { detector: ipv6 }
          - { detector: credit_card }
          - { detector: token }"
conf base_log_clean log "$CLEAN" ""
conf redact_clean log "$CLEAN" "    filters:
      - name: redact
        rules:
          - { detector: email }
          - { detector: ipv4 }
          - { detector: ipv6 }
          - { detector: credit_card }
          - { detector: token }"

# run NAME: prints "wall cpu" (seconds), the median run by wall time
run() {
    i=0
    : >"$T/$1.times"
    while [ "$i" -lt "$RUNS" ]; do
        rm -f "$T/$1.out"
        /usr/bin/time -f "%e %U %S" -o "$T/time" \
            "$VIGIL" --plugin-path "$PLUGINS" -c "$T/$1.yaml" >/dev/null
        awk '{ printf "%s %.3f\n", $1, $2 + $3 }' "$T/time" >>"$T/$1.times"
        i=$((i + 1))
    done
    sort -n "$T/$1.times" | awk -v n="$RUNS" 'NR == int((n + 1) / 2)'
}

# body length of the generated log lines (for MB/s)
blen() {
    printf '%s' "$1" | sed 's/\\"/"/g; s/%d/1000000/' | wc -c
}

printf '%-18s %8s %8s %12s %14s %10s\n' case wall_s cpu_s "events/s" \
    "filter_ev/s" "filter_MB/s"
report() {                                # NAME BASE [BODYLEN]
    set -- "$1" "$(cat "$T/$2.res")" "${3:-0}" "$(cat "$T/$1.res")"
    echo "$4 $2 $3" | awk -v name="$1" -v n="$COUNT" '{
        wall = $1; cpu = $2; bcpu = $4; d = cpu - bcpu;
        fe = d > 0 ? sprintf("%.0f", n / d) : "n/a";
        mb = ($5 > 0 && d > 0) ? sprintf("%.0f", n * $5 / d / 1e6) : "-";
        printf "%-18s %8.2f %8.2f %12.0f %14s %10s\n", name, wall, cpu,
               n / wall, fe, mb }'
}
for c in base_metric modify modify_drop_only sample_key sample_key_all \
         sample_throttle \
         base_log_pii redact_pii base_log_clean redact_clean; do
    run "$c" >"$T/$c.res"
done
report base_metric base_metric
report modify base_metric
report modify_drop_only base_metric
report sample_key base_metric
report sample_key_all base_metric
report sample_throttle base_metric
report base_log_pii base_log_pii
report redact_pii base_log_pii "$(blen "$PII")"
report base_log_clean base_log_clean
report redact_clean base_log_clean "$(blen "$CLEAN")"
