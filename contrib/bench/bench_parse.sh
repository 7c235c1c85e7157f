#!/bin/sh
# Throughput of the parse filter through the real agent: generate (kind
# log, rate 0, COUNT realistic lines) -> parse -> file, against the same
# pipeline without the filter.  Cases: a JSON application log line, a
# combined access log line read by the built-in nginx reader and by an
# equivalent PCRE2 (JIT) regex, and a logfmt line.  Prints the median of
# RUNS runs: wall and CPU time, events/s end to end, CPU seconds per
# million events, and the filter's own cost (CPU with it minus CPU
# without) as events/s and CPU seconds per million.
#
# usage: contrib/bench/bench_parse.sh [BUILDDIR]   (default: build)
#        COUNT=1000000 RUNS=3 contrib/bench/bench_parse.sh /tmp/build
set -eu
B=${1:-build}
COUNT=${COUNT:-1000000}
RUNS=${RUNS:-3}
VIGIL="$B/vigil"
PLUGINS="$B/plugins/.libs"
[ -x "$VIGIL" ] || { echo "no $VIGIL: build first" >&2; exit 2; }
T=$(mktemp -d /tmp/vigil-bench.XXXXXX)
trap '[ -n "${KEEP:-}" ] || rm -rf "$T"' EXIT

JSON='{"time":"2026-11-23T12:00:00.123Z","level":"info","logger":"http.access","msg":"request served","req":{"id":"%d","method":"GET","path":"/api/v1/orders","remote":"10.1.2.3"},"status":200,"bytes":5123,"duration_ms":4.2,"cached":false,"tags":["edge","eu"]}'
NGINX='10.1.2.3 - - [23/Nov/2026:12:00:00 +0000] "GET /api/v1/users/%d/orders?page=2 HTTP/1.1" 200 5123 "https://shop.example.com/cart" "Mozilla/5.0 (X11; Linux x86_64) Chrome/119.0"'
LOGFMT='time=2026-11-23T12:00:00.123Z level=info logger=http.access msg="request served" id=%d method=GET path=/api/v1/orders status=200 bytes=5123 duration_ms=4.2'
REGEX='^(?<remote_addr>\S+) \S+ (?<user>\S+) \[(?<time>[^\]]+)\] "(?<method>\S+) (?<path>\S+) (?<protocol>[^"]+)" (?<status>\d{3}) (?<bytes>\d+|-) "(?<referer>[^"]*)" "(?<user_agent>[^"]*)"'

# conf NAME MESSAGE FILTER-YAML (messages and patterns go in YAML single
# quotes: no ' in them, backslashes as they are)
conf() {
    cat >"$T/$1.yaml" <<YAML
agent: { log_level: warn }
pipelines:
  b:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: $COUNT
        batch_size: 1000
        message: '$2'
        exit_when_done: true
$3
    outputs:
      - name: file
        path: $T/$1.out
        max_size: 16GiB
        fsync: never
YAML
}

conf base_json "$JSON" ""
conf parse_json "$JSON" "    filters:
      - name: parse
        format: json
        time_key: time
        severity_key: level"
conf base_nginx "$NGINX" ""
conf parse_nginx "$NGINX" "    filters:
      - name: parse
        format: nginx"
conf parse_regex "$NGINX" "    filters:
      - name: parse
        format: regex
        pattern: '$REGEX'
        types: { status: int, bytes: int }
        time_key: time
        time_format: \"%d/%b/%Y:%H:%M:%S %z\""
conf base_logfmt "$LOGFMT" ""
conf parse_logfmt "$LOGFMT" "    filters:
      - name: parse
        format: logfmt
        types: { status: int, bytes: int, duration_ms: double }
        severity_key: level"

# a wrong pattern would measure the error path: check each case once
for c in parse_json parse_nginx parse_regex parse_logfmt; do
    "$VIGIL" --plugin-path "$PLUGINS" --check -c "$T/$c.yaml" >/dev/null ||
        { echo "bad config $c" >&2; exit 1; }
done

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

# the parsed events must carry the attributes, or the figures mean nothing
check() {
    head -1 "$T/$1.out" | grep -q "\"$2\"" ||
        { echo "case $1: no '$2' in $(head -c 300 "$T/$1.out")" >&2; exit 1; }
}

printf '%-14s %7s %7s %11s %12s %13s %14s\n' case wall_s cpu_s \
    "events/s" "cpu_s/1M" "filter_ev/s" "filter_cpu/1M"
report() {                                # NAME BASE
    echo "$(cat "$T/$1.res") $(cat "$T/$2.res")" |
    awk -v name="$1" -v n="$COUNT" '{
        wall = $1; cpu = $2; d = cpu - $4;
        fe = d > 0 ? sprintf("%.0f", n / d) : "n/a";
        fc = d > 0 ? sprintf("%.3f", d * 1e6 / n) : "n/a";
        printf "%-14s %7.2f %7.2f %11.0f %12.3f %13s %14s\n", name, wall,
               cpu, n / wall, cpu * 1e6 / n, fe, fc }'
}
for c in base_json parse_json base_nginx parse_nginx parse_regex \
         base_logfmt parse_logfmt; do
    run "$c" >"$T/$c.res"
done
check parse_json "req.method"
check parse_nginx "user_agent"
check parse_regex "user_agent"
check parse_logfmt "duration_ms"
report base_json base_json
report parse_json base_json
report base_nginx base_nginx
report parse_nginx base_nginx
report parse_regex base_nginx
report base_logfmt base_logfmt
report parse_logfmt base_logfmt
