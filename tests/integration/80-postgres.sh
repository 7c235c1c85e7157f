#!/bin/sh
# The postgres output against a real PostgreSQL: schema creation, every
# event kind exactly once with its values and labels, series ids kept
# across restarts, migration of an older schema, a user-managed schema
# checked, partitions created on demand and dropped by retention.
. "$(dirname "$0")/lib.sh"
need_plugin out_postgres
. "$(dirname "$0")/pg-lib.sh"

pg_createdb vigil
DSN=$(pg_dsn vigil)

# run NAME YAML-PIPELINES: runs vigil to its end (the inputs finish).
run() {
    cat >"$T/$1.yaml" <<YAML
agent:
  state_dir: $T/state
  shutdown_timeout: 20s
pipelines:
$2
YAML
    start_vigil "$1" -c "$T/$1.yaml"
    wait_exit "$VPID" 60 || fail "$1: no exit"
    [ "$RC" -eq 0 ] || fail "$1: exit code $RC"
}

PG_OUT="    outputs:
      - name: postgres
        dsn: \"$DSN\"
        retry: { initial: 100ms, max: 1s }"

# --- metrics and logs ---------------------------------------------------
run gen "  gen:
    inputs:
      - name: generate
        kind: both
        rate: 0
        count: 1000
        batch_size: 100
        series: 3
        labels: { env: test }
        exit_when_done: true
$PG_OUT"

[ "$(pg_sql vigil -c 'SELECT max(version) FROM vigil_schema')" = 2 ] ||
    fail "schema version not recorded"
got=$(pg_sql vigil -c "SELECT count(*), count(DISTINCT value), min(value),
    max(value) FROM vigil_samples")
[ "$got" = "1000|1000|1|1000" ] || fail "samples: $got"
got=$(pg_sql vigil -c "SELECT count(*) FROM vigil_series")
[ "$got" = 3 ] || fail "series rows: $got"
got=$(pg_sql vigil -c "SELECT name, labels->>'env', labels->>'series'
    FROM vigil_series ORDER BY labels->>'series'" | tr '\n' ' ')
[ "$got" = "vigil.generate|test|0 vigil.generate|test|1 vigil.generate|test|2 " ] ||
    fail "series names and labels: $got"
got=$(pg_sql vigil -c "SELECT count(*) FROM vigil_metrics
    WHERE labels @> '{\"env\": \"test\"}' AND name = 'vigil.generate'")
[ "$got" = 1000 ] || fail "vigil_metrics view: $got"
got=$(pg_sql vigil -c "SELECT count(*), count(DISTINCT body) FROM vigil_logs
    WHERE severity = 9 AND severity_text = 'info' AND source = 'gen'
    AND labels->>'env' = 'test' AND body ~ '^generated log line [0-9]+$'")
[ "$got" = "1000|1000" ] || fail "logs: $got"
ok "metrics and logs land exactly once with values, labels and severity"

today=$(date -u +%Y%m%d)
ahead=$(date -u -d '+3 days' +%Y%m%d)
for t in vigil_samples vigil_histograms vigil_logs; do
    for d in $today $ahead; do
        got=$(pg_sql vigil -c "SELECT to_regclass('${t}_p$d') IS NOT NULL")
        [ "$got" = t ] || fail "partition ${t}_p$d missing"
    done
done
ok "daily partitions created ahead of time"

# --- series ids across restarts -----------------------------------------
before=$(pg_sql vigil -c "SELECT string_agg(id::text, ',' ORDER BY id)
    FROM vigil_series")
run gen2 "  gen:
    inputs:
      - name: generate
        kind: metric
        rate: 0
        count: 500
        batch_size: 50
        series: 3
        labels: { env: test }
        exit_when_done: true
$PG_OUT
        copy_format: text"
after=$(pg_sql vigil -c "SELECT string_agg(id::text, ',' ORDER BY id)
    FROM vigil_series")
[ "$before" = "$after" ] || fail "series ids changed: $before -> $after"
got=$(pg_sql vigil -c "SELECT count(*) FROM vigil_samples")
[ "$got" = 1500 ] || fail "samples after the second run: $got"
got=$(pg_sql vigil -c "SELECT count(DISTINCT series_id) FROM vigil_samples")
[ "$got" = 3 ] || fail "samples spread over $got series"
got=$(pg_sql vigil -c "SELECT sum(value), count(*) FILTER (WHERE value <= 500)
    FROM vigil_samples")
[ "$got" = "625750|1000" ] || fail "text COPY values: $got"
ok "series ids survive a restart, no duplicate series (text COPY)"

# many new series in one batch: several upsert statements
run many "  many:
    inputs:
      - name: generate
        rate: 0
        count: 4500
        batch_size: 4500
        series: 4500
        metric: many
        exit_when_done: true
$PG_OUT"
got=$(pg_sql vigil -c "SELECT count(*), count(DISTINCT s.series_id),
    count(DISTINCT r.labels->>'series') FROM vigil_samples s
    JOIN vigil_series r ON r.id = s.series_id WHERE r.name = 'many'")
[ "$got" = "4500|4500|4500" ] || fail "4500 new series in one batch: $got"
ok "thousands of new series in one batch"

# the histogram rows the encoder writes (unit-tested) load into the table
printf "$(date -u +%Y-%m-%d)"' 00:00:00.000000+00\t7\t{0.5,Infinity}\t{3,1}\t2\t4\n' |
    pg_sql vigil -c "\copy vigil_histograms (time, series_id, bounds,
        counts, sum, count) from stdin" || fail "histogram row refused"
got=$(pg_sql vigil -c "SELECT bounds[2], counts[1], sum, count
    FROM vigil_histograms")
[ "$got" = "Infinity|3|2|4" ] || fail "histogram row: $got"
pg_sql vigil -c "DELETE FROM vigil_histograms" || fail "delete"
ok "histogram rows fit vigil_histograms"

# --- alerts: fire, then resolve in place ----------------------------------
now=$(date -u +%s)
{
    echo "timestamp,value"
    i=0
    for v in 10 20 95 96 97 30 20 10; do
        echo "$((now - 100 + i * 10)),$v"
        i=$((i + 1))
    done
} >"$T/alerts.csv"
run alerts "  al:
    inputs:
      - name: replay
        path: $T/alerts.csv
        metric: cpu
        labels: { host: web-1 }
    filters:
      - name: alert
        persist: false
        rules:
          - name: cpu_high
            metric: cpu
            above: 90
            severity: critical
            summary: 'cpu at {{ value }}'
$PG_OUT"
got=$(pg_sql vigil -c "SELECT count(*), min(rule), min(state), min(severity),
    bool_and(ends_at > starts_at), min(labels->>'host') FROM vigil_alerts")
[ "$got" = "1|cpu_high|resolved|critical|t|web-1" ] || fail "alerts: $got"
got=$(pg_sql vigil -c "SELECT rule, resolved, extract(epoch FROM mttr)::int
    FROM vigil_mttr")
[ "$got" = "cpu_high|1|30" ] || fail "vigil_mttr: $got"
got=$(pg_sql vigil -c "SELECT count(*) FROM vigil_alert_durations
    WHERE NOT open")
[ "$got" = 1 ] || fail "vigil_alert_durations: $got"
ok "a firing alert is inserted and updated in place when it resolves"

# --- migration from version 1 --------------------------------------------
pg_createdb legacy
pg_sql legacy <<'SQL' || fail "legacy schema"
CREATE TABLE vigil_schema (version int PRIMARY KEY,
    applied_at timestamptz NOT NULL DEFAULT now());
INSERT INTO vigil_schema VALUES (1);
CREATE TABLE vigil_series (id bigserial PRIMARY KEY,
    hash bigint NOT NULL UNIQUE, name text NOT NULL,
    labels jsonb NOT NULL DEFAULT '{}');
CREATE TABLE vigil_samples (time timestamptz NOT NULL,
    series_id bigint NOT NULL, value double precision)
    PARTITION BY RANGE (time);
CREATE TABLE vigil_logs (time timestamptz NOT NULL, severity int,
    body text, attributes jsonb, labels jsonb) PARTITION BY RANGE (time);
CREATE TABLE vigil_logs_old PARTITION OF vigil_logs
    FOR VALUES FROM ('2000-01-01') TO ('2000-01-02');
INSERT INTO vigil_logs VALUES ('2000-01-01 12:00+00', 9, 'kept', '{}', '{}');
SQL
run legacy "  leg:
    inputs:
      - name: generate
        kind: log
        rate: 0
        count: 10
        exit_when_done: true
    outputs:
      - name: postgres
        dsn: \"$(pg_dsn legacy)\""
got=$(pg_sql legacy -c "SELECT string_agg(version::text, ',' ORDER BY version)
    FROM vigil_schema")
[ "$got" = "1,2" ] || fail "legacy versions: $got"
got=$(pg_sql legacy -c "SELECT count(*) FILTER (WHERE body = 'kept'),
    count(*) FILTER (WHERE source = 'leg') FROM vigil_logs")
[ "$got" = "1|10" ] || fail "legacy rows: $got"
grep -q "schema migrated to version 2" "$T/legacy.log" ||
    fail "migration not logged"
ok "a version 1 schema is migrated, its rows kept"

# --- a user-managed schema is checked -------------------------------------
pg_createdb managed
pg_sql managed -c "CREATE TABLE vigil_series (id bigint)" || fail "managed"
cat >"$T/managed.yaml" <<YAML
agent:
  state_dir: $T/state
pipelines:
  man:
    inputs:
      - name: generate
        rate: 10
    outputs:
      - name: postgres
        dsn: "$(pg_dsn managed)"
        create_schema: false
YAML
start_vigil managed -c "$T/managed.yaml"
wait_for 10 grep -q "missing column vigil_series.hash" "$T/managed.log" ||
    fail "missing columns not named: $(cat "$T/managed.log")"
grep -q "table vigil_logs," "$T/managed.log" || fail "missing table not named"
grep -q "set create_schema: true" "$T/managed.log" || fail "no hint"
kill "$VPID"
wait_exit "$VPID" 20
[ "$(pg_sql managed -c "SELECT to_regclass('vigil_samples') IS NULL")" = t ] ||
    fail "create_schema: false created tables"
ok "create_schema: false checks and names what is missing"

# --- partitions on demand, retention --------------------------------------
old=$((now - 10 * 86400))
oldday=$(date -u -d "@$old" +%Y%m%d)
printf 'timestamp,value\n%s,1\n%s,2\n%s,3\n' "$old" "$((old + 1))" "$now" \
    >"$T/old.csv"
run old "  old:
    inputs:
      - name: replay
        path: $T/old.csv
        metric: old.metric
$PG_OUT"
[ "$(pg_sql vigil -c "SELECT to_regclass('vigil_samples_p$oldday') IS NOT NULL")" = t ] ||
    fail "no partition made on demand for $oldday"
got=$(pg_sql vigil -c "SELECT count(*) FROM vigil_metrics
    WHERE name = 'old.metric'")
[ "$got" = 3 ] || fail "rows outside the pre-made partitions: $got"
ok "rows older than the partitions get theirs on demand"

printf 'timestamp,value\n%s,4\n' "$now" >"$T/new.csv"
run retention "  old:
    inputs:
      - name: replay
        path: $T/new.csv
        metric: old.metric
$PG_OUT
        retention: 5d"
[ "$(pg_sql vigil -c "SELECT to_regclass('vigil_samples_p$oldday') IS NULL")" = t ] ||
    fail "partition $oldday not dropped by retention"
[ "$(pg_sql vigil -c "SELECT to_regclass('vigil_samples_p$today') IS NOT NULL")" = t ] ||
    fail "today's partition dropped"
got=$(pg_sql vigil -c "SELECT count(*) FROM vigil_metrics
    WHERE name = 'old.metric'")
[ "$got" = 2 ] || fail "rows after retention: $got"
ok "retention drops whole days past it, keeps the rest"

# --- a table dropped by hand is created again -----------------------------
pg_sql vigil -c "DROP TABLE vigil_alerts CASCADE" 2>/dev/null ||
    fail "drop table"
run alerts2 "  al:
    inputs:
      - name: replay
        path: $T/alerts.csv
        metric: cpu
    filters:
      - name: alert
        persist: false
        rules: [ { name: cpu_high, metric: cpu, above: 90 } ]
$PG_OUT"
grep -q "schema incomplete (missing table vigil_alerts)" "$T/alerts2.log" ||
    fail "no repair logged"
got=$(pg_sql vigil -c "SELECT count(*), min(state) FROM vigil_alerts")
[ "$got" = "1|resolved" ] || fail "after the repair: $got"
[ "$(pg_sql vigil -c 'SELECT count(*) FROM vigil_mttr')" = 1 ] ||
    fail "views not recreated"
ok "a table dropped by hand is created again"

pg_sql vigil -v metric=vigil.generate \
    -f "$VIGIL_SRCDIR/contrib/sql/postgres-queries.sql" >"$T/queries.out" ||
    fail "contrib/sql/postgres-queries.sql: $(cat "$T/queries.out")"
ok "the queries in contrib/sql run"
