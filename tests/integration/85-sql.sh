#!/bin/sh
# The dashboards' SQL against a real PostgreSQL filled by vigil: host
# metrics (system input, and replayed history for the fill forecast, the
# counter rates and the PostgreSQL dashboard), the agent's own metrics
# (self), logs of several
# severities (tail + parse), alerts that fire and resolve (replay + alert),
# and histogram rows. contrib/sql/dashboards.sql is loaded (twice: it must
# be reloadable), its views and functions are checked against the values
# the data implies, and every query of every Grafana dashboard in
# contrib/grafana/ (panels and template variables) is run with the
# Grafana macros expanded, and must succeed with the columns its panel
# format needs, and rows.
. "$(dirname "$0")/lib.sh"
need_plugin out_postgres in_tail flt_parse
. "$(dirname "$0")/pg-lib.sh"

pg_createdb vigil
DSN=$(pg_dsn vigil)
SQL_DIR=$VIGIL_SRCDIR/contrib/sql
GRAFANA_DIR=$VIGIL_SRCDIR/contrib/grafana
now=$(date -u +%s)
start=$((now - 3600))

# --- history to replay --------------------------------------------------
# Filesystem /srv/a fills at 0.01 per hour from 0.5 six hours ago: full 50 h
# after that, 44 h from now; /srv/b is flat. Disk and network counters
# grow by 1000 per second. PostgreSQL server metrics as the postgres
# input names them (postgres.*, labels db and state) for the database
# dashboard.
{
    printf '%s,%s,%s\n' timestamp,name,value,host,system.device \
        system.filesystem.mountpoint,disk.io.direction \
        network.interface.name,network.io.direction,db,state
    i=0
    while [ "$i" -le 36 ]; do
        t=$((now - 21600 + i * 600))
        u=$(awk "BEGIN { printf \"%.6f\", 0.5 + 0.01 * $i * 600 / 3600 }")
        fs=system.filesystem.utilization
        echo "$t,$fs,$u,sqlhost,testdisk0p1,/srv/a,,,,,"
        echo "$t,$fs,0.3,sqlhost,testdisk0p2,/srv/b,,,,,"
        echo "$t,system.disk.io,$((i * 600000)),sqlhost,testdisk0,,read,,,,"
        echo "$t,system.disk.io_time,$((i * 60)),sqlhost,testdisk0,,,,,,"
        echo "$t,system.network.io,$((i * 600000)),sqlhost,,,,test0,receive,,"
        echo "$t,system.network.errors,$i,sqlhost,,,,test0,receive,,"
        echo "$t,system.network.dropped,$((i * 2)),sqlhost,,,,test0,receive,,"
        p=postgres
        for m in "up 1" "database_size_bytes $((1000000 + i * 1000))" \
            "xact_commit $((i * 6000))" "xact_rollback $i" \
            "cache_hit_ratio 0.99" "deadlocks $((i / 10))" \
            "longest_transaction_seconds 2" "longest_query_seconds 1" \
            "replication.replay_lag_seconds 0.5"; do
            echo "$t,$p.${m% *},${m#* },sqlhost,,,,,,app,"
        done
        echo "$t,$p.connections,5,sqlhost,,,,,,app,active"
        echo "$t,$p.connections,20,sqlhost,,,,,,app,idle"
        i=$((i + 1))
    done
} >"$T/history.csv"

# app.cpu over the last hour, one sample a minute: above 90 for 3 and 7
# minutes (cpu_high, critical, MTTR 300 s), above 70 also for 2 minutes
# and at the end, unresolved (cpu_warn, warning: 4 fired, 1 firing,
# MTTR (3 + 7 + 2) / 3 = 240 s).
{
    echo "timestamp,value"
    m=0
    while [ "$m" -lt 60 ]; do
        v=20
        if [ "$m" -ge 10 ] && [ "$m" -le 12 ]; then v=95; fi
        if [ "$m" -ge 30 ] && [ "$m" -le 36 ]; then v=95; fi
        if [ "$m" -ge 50 ] && [ "$m" -le 51 ]; then v=75; fi
        if [ "$m" -ge 58 ]; then v=75; fi
        echo "$((start + m * 60)),$v"
        m=$((m + 1))
    done
} >"$T/cpu.csv"

# 60 log lines over the last hour: 40 info, 12 warn, 8 error.
i=0
while [ "$i" -lt 60 ]; do
    ts=$(date -u -d "@$((start + i * 60))" +%Y-%m-%dT%H:%M:%SZ)
    if [ $((i % 15)) -eq 0 ] || [ $((i % 15)) -eq 7 ]; then
        lvl=error msg="upstream timed out"
        [ $((i % 15)) -eq 7 ] && msg="disk quota exceeded"
    elif [ $((i % 5)) -eq 1 ]; then
        lvl=warn msg="slow request"
    else
        lvl=info msg="request served"
    fi
    printf '{"ts":"%s","level":"%s","msg":"%s","n":%d}\n' \
        "$ts" "$lvl" "$msg" "$i"
    i=$((i + 1))
done >"$T/app.jsonl"

# The schema first, by one output: the four of the run below then find it.
cat >"$T/schema.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  schema:
    inputs:
      - name: generate
        count: 1
        exit_when_done: true
    outputs:
      - name: postgres
        dsn: "$DSN"
YAML
start_vigil schema -c "$T/schema.yaml"
wait_exit "$VPID" 30 || fail "schema run: no exit"
[ "$RC" -eq 0 ] || fail "schema run: exit code $RC"

cat >"$T/fill.yaml" <<YAML
agent:
  state_dir: $T/state
  hostname: sqlhost
  shutdown_timeout: 20s
pipelines:
  host:
    inputs:
      - name: system
        interval: 1s
      - name: self
        interval: 1s
    filters:
      - name: enrich
    outputs:
      - name: postgres
        dsn: "$DSN"
        retry: { initial: 100ms, max: 1s }
  history:
    inputs:
      - name: replay
        path: $T/history.csv
        type: counter
    outputs:
      - name: postgres
        dsn: "$DSN"
  alerts:
    inputs:
      - name: replay
        path: $T/cpu.csv
        metric: app.cpu
        labels: { host: sqlhost }
    filters:
      - name: alert
        persist: false
        inhibit: false
        rules:
          - name: cpu_high
            metric: app.cpu
            above: 90
            severity: critical
            summary: 'cpu at {{ value }}'
          - name: cpu_warn
            metric: app.cpu
            above: 70
            severity: warning
            summary: 'cpu at {{ value }}'
    outputs:
      - name: postgres
        dsn: "$DSN"
  app:
    inputs:
      - name: tail
        paths: [ "$T/app.jsonl" ]
        read_from_head: true
    filters:
      - name: parse
        format: json
        time_key: ts
        severity_key: level
      - name: enrich
    outputs:
      - name: postgres
        dsn: "$DSN"
YAML
start_vigil fill -c "$T/fill.yaml"

# filled: every source has landed, and the live series have the few
# samples that rates need.
filled() {
    [ "$(pg_sql vigil -c "SELECT
        (SELECT count(*) FROM vigil_alerts) = 6
        AND (SELECT count(*) FROM vigil_logs) = 60
        AND (SELECT count(*) FROM vigil_metrics
             WHERE name = 'postgres.connections') >= 74
        AND (SELECT count(*) FROM vigil_metrics
             WHERE name = 'system.cpu.utilization') >= 2
        AND (SELECT count(*) FROM vigil_metrics
             WHERE name = 'vigil.flush_duration_seconds_count') >= 6
        AND (SELECT count(*) FROM vigil_metrics
             WHERE name = 'vigil.process_cpu_seconds') >= 3" 2>/dev/null)" = t ]
}
wait_for 60 filled || fail "the tables were not filled:
$(pg_sql vigil -c "SELECT name, count(*) FROM vigil_metrics GROUP BY 1
    ORDER BY 1; SELECT count(*) FROM vigil_alerts;
    SELECT count(*) FROM vigil_logs" 2>&1)"
kill -TERM "$VPID"
wait_exit "$VPID" 30 || fail "no exit after SIGTERM"
[ "$RC" -eq 0 ] || fail "exit code $RC"
ok "vigil filled metrics, logs and alerts"

# Histograms: rows as the output writes them (per-bucket counts).
hid=$(pg_sql vigil -c "INSERT INTO vigil_series (hash, name, labels)
    VALUES (8500001, 'http.server.duration',
            '{\"host\": \"sqlhost\", \"route\": \"/api\"}') RETURNING id") ||
    fail "histogram series"
for ago in 900 600 120; do
    printf '%s\t%s\t{0.1,0.5,1,Infinity}\t{50,30,15,5}\t40\t100\n' \
        "$(date -u -d "@$((now - ago))" '+%Y-%m-%d %H:%M:%S+00')" "$hid"
done | pg_sql vigil -c "\copy vigil_histograms (time, series_id, bounds,
    counts, sum, count) from stdin" || fail "histogram rows refused"

# --- contrib/sql/dashboards.sql -------------------------------------------
for pass in 1 2; do
    pg_sql vigil -f "$SQL_DIR/dashboards.sql" >"$T/dashboards.out" 2>&1 ||
        fail "dashboards.sql (load $pass): $(tail -n 5 "$T/dashboards.out")"
done
ok "dashboards.sql loads, twice, and its example queries run"

check() {
    got=$(pg_sql vigil -c "$2" 2>&1) || fail "$1: $got"
    [ "$got" = "$3" ] || fail "$1: got '$got', want '$3'"
}
check "histogram quantile" "SELECT
    vigil_histogram_quantile(0.5, '{1,2,Infinity}', '{2,2,0}'),
    round(vigil_histogram_quantile(0.95, '{1,2,Infinity}',
        '{2,2,0}')::numeric, 6),
    vigil_histogram_quantile(0.9, '{1,2,Infinity}', '{1,1,2}'),
    round(vigil_histogram_quantile(0.25, '{0.5,Infinity}',
        '{4,0}')::numeric, 6),
    vigil_histogram_quantile(0.5, '{1,Infinity}', '{0,0}') IS NULL" \
    "1|1.900000|2|0.125000|t"
# 3 x {50,30,15,5}: rank 285 of 300 falls in (0.5, 1] at 45 of 45: 1.0;
# the p50 (rank 150) is the top of the first bucket.
check "histogram quantiles over a range" "SELECT sum(observations),
    round(max(value) FILTER (WHERE TRUE)::numeric, 6)
    FROM vigil_histogram_quantiles('http.server.duration', 0.95,
        '1 day', now() - interval '1 day', now())" "300|1.000000"
check "histogram p50 over a range" "SELECT round(value::numeric, 6)
    FROM vigil_histogram_quantiles('http.server.duration', 0.5,
        '1 day', now() - interval '2 hours', now())
    ORDER BY time DESC LIMIT 1" "0.100000"
ok "histogram quantiles interpolate within buckets"

check "alert counts" "SELECT string_agg(rule || ':' || severity || ':' ||
    fired || ':' || firing_now || ':' || resolved, ' ' ORDER BY rule)
    FROM vigil_alert_counts" \
    "cpu_high:critical:2:0:2 cpu_warn:warning:4:1:3"
check "mttr by severity" "SELECT string_agg(severity || ':' ||
    extract(epoch FROM mttr)::int || ':' || resolved, ' '
    ORDER BY severity) FROM vigil_mttr_by_severity" \
    "critical:300:2 warning:240:3"
check "noisy alerts" "SELECT string_agg(rule || ':' || fired || ':' ||
    flaps || ':' || (labels->>'host'), ' ' ORDER BY rule)
    FROM vigil_noisy_alerts" "cpu_high:2:1:sqlhost cpu_warn:4:2:sqlhost"
check "mttr daily" "SELECT sum(resolved) FROM vigil_mttr_daily" 5
ok "alert counts, MTTR and noise"

check "log error rates" "SELECT sum(total), sum(errors),
    round(sum(errors)::numeric / sum(total), 4)
    FROM vigil_log_error_rates('1 hour', now() - interval '1 day',
        now() + interval '1 hour') WHERE source = 'app'" "60|8|0.1333"
check "log severities" "SELECT string_agg(severity_text || ':' || n, ' '
    ORDER BY severity_text) FROM (SELECT severity_text, count(*) AS n
    FROM vigil_logs GROUP BY 1) s" "error:8 info:40 warn:12"
ok "log volume and error rates"

check "counter rates" "SELECT count(*), round(min(rate)), round(max(rate))
    FROM vigil_rates('system.disk.io', now() - interval '1 day', now())
    WHERE labels->>'disk.io.direction' = 'read'
      AND labels->>'system.device' = 'testdisk0'" "36|1000|1000"
check "fill forecast" "SELECT mountpoint, round(utilization::numeric, 2),
    round(growth_per_day::numeric, 4),
    predicted_full BETWEEN now() + interval '43 hours'
                       AND now() + interval '45 hours'
    FROM vigil_filesystem_forecast
    WHERE host = 'sqlhost' AND device = 'testdisk0p1'" \
    "/srv/a|0.56|0.2400|t"
check "no forecast when flat" "SELECT predicted_full IS NULL
    FROM vigil_filesystem_forecast WHERE device = 'testdisk0p2'" t
ok "counter rates and the filesystem fill forecast"

# --- every dashboard query ------------------------------------------------
# Extracts the SQL of every panel and template variable, with Grafana's
# macros expanded the way its PostgreSQL data source does for a range of
# the last day: one file per query and a line per query in index.tsv
# (file, format, title).
python3 - "$GRAFANA_DIR" "$T/q" <<'PY' || fail "cannot extract the queries"
import json, os, re, sys

src, out = sys.argv[1], sys.argv[2]
os.makedirs(out)
units = {"s": 1, "m": 60, "h": 3600, "d": 86400}
subst = {"host": "sqlhost", "histogram": "http.server.duration",
         "db": "app"}


def group(m):
    secs = int(m.group(2)) * units[m.group(3)]
    return ("to_timestamp(floor(extract(epoch FROM %s) / %d) * %d)"
            " AS \"time\"" % (m.group(1).strip(), secs, secs))


def expand(sql, host):
    sql = re.sub(r"\$__timeGroupAlias\(([^,()]+),\s*'(\d+)([smhd])'\)",
                 group, sql)
    sql = re.sub(r"\$__timeFilter\(([^()]+)\)",
                 r"(\1 BETWEEN now() - interval '1 day' AND now())", sql)
    sql = sql.replace("$__timeFrom()", "(now() - interval '1 day')")
    sql = sql.replace("$__timeTo()", "now()")
    values = dict(subst, host=host)
    sql = re.sub(r"\$(\w+)", lambda m: values.get(m.group(1), m.group(0)),
                 sql)
    if re.search(r"\$(?!\$)", sql.replace("$$", "")):
        raise SystemExit("unexpanded macro or variable in: " + sql)
    return sql


n = 0
with open(os.path.join(out, "index.tsv"), "w") as idx:
    for name in sorted(os.listdir(src)):
        if not name.endswith(".json"):
            continue
        d = json.load(open(os.path.join(src, name)))
        assert d.get("schemaVersion", 0) >= 36, name + ": schemaVersion"
        assert d.get("uid") and d.get("title"), name + ": uid and title"
        names = [v["name"] for v in d["templating"]["list"]]
        assert "host" in names, name + ": no host variable"
        queries = []
        for v in d["templating"]["list"]:
            if v["type"] == "query":
                queries.append(("variable", "var " + v["name"], v["query"]))
        panels = [p for p in d["panels"] if p["type"] != "row"]
        ids = [p["id"] for p in d["panels"]]
        assert len(ids) == len(set(ids)), name + ": duplicate panel ids"
        for p in panels:
            assert p["targets"], name + ": panel without a query"
            for t in p["targets"]:
                assert t.get("rawQuery") and t.get("rawSql"), p["title"]
                queries.append((t["format"], p["type"] + " " + p["title"],
                                t["rawSql"]))
        # A host variable with "(any)" first: every query runs for both.
        hosts = [subst["host"]]
        for v in d["templating"]["list"]:
            if v["name"] == "host" and "(any)" in v["query"]:
                hosts.append("(any)")
        for fmt, title, sql in queries:
            for host in hosts:
                n += 1
                f = "%03d.sql" % n
                with open(os.path.join(out, f), "w") as q:
                    q.write(expand(sql, host) + ";\n")
                idx.write("%s\t%s\t%s: %s [host %s]\n"
                          % (f, fmt, name, title, host))
PY

# Counters that only exist once something went wrong may have no rows in
# a clean run; their queries must still run and have the right columns.
MAY_BE_EMPTY="Dropped events per second|Dead-lettered events per second"
MAY_BE_EMPTY="$MAY_BE_EMPTY|Flushes retried per second"
nq=0
while IFS="$(printf '\t')" read -r f fmt title; do
    nq=$((nq + 1))
    out=$(psql -X -A -q -F '|' -v ON_ERROR_STOP=1 -h "$PGHOST_DIR" \
        -p "$PGPORT_NUM" -U "$PGUSER_NAME" -d vigil -f "$T/q/$f" 2>&1) ||
        fail "$title: $out
$(cat "$T/q/$f")"
    header=$(printf '%s\n' "$out" | head -n 1)
    rows=$(printf '%s\n' "$out" | sed -n '2,$p' | grep -vc '^([0-9]* rows\?)$')
    case $fmt in
    time_series)
        case "|$header|" in
        *"|time|"*) ;;
        *) fail "$title: time series without a time column: $header" ;;
        esac
        ;;
    variable)
        [ "$(printf '%s\n' "$header" | tr -cd '|')" = "" ] ||
            fail "$title: a variable query must return one column"
        ;;
    esac
    if [ "$rows" -eq 0 ] &&
        ! printf '%s\n' "$title" | grep -Eq "$MAY_BE_EMPTY"; then
        fail "$title: no rows
$(cat "$T/q/$f")"
    fi
done <"$T/q/index.tsv"
[ "$nq" -ge 100 ] || fail "only $nq dashboard queries found"
for f in $(awk -F '\t' '$3 ~ /: var host / { print $1 }' "$T/q/index.tsv")
do
    got=$(pg_sql vigil -f "$T/q/$f")
    printf '%s\n' "$got" | grep -qx sqlhost || fail "host variable: $got"
done
ok "all $nq dashboard queries run, with their columns and rows"
