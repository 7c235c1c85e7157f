/*
 * SQL of the postgres output's schema: see schema.h.  Migrations only ever
 * add (IF NOT EXISTS), so running one again is harmless and an agent of an
 * older version keeps working against a newer schema.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>

#include "schema.h"

const char *const pg_timed_tables[PG_NTIMED] = {
    "vigil_samples", "vigil_histograms", "vigil_logs",
};

const char pg_schema_version_sql[] =
    "CREATE TABLE IF NOT EXISTS vigil_schema ("
    "version int PRIMARY KEY, "
    "applied_at timestamptz NOT NULL DEFAULT now()); "
    "SELECT coalesce(max(version), 0) FROM vigil_schema";

/* Every column the output writes, and whether the timed tables are
 * partitioned (then the output creates their partitions). */
const char pg_schema_check_sql[] =
    "WITH need(x) AS (SELECT unnest(ARRAY["
    "'vigil_series.id', 'vigil_series.hash', 'vigil_series.name', "
    "'vigil_series.labels', 'vigil_samples.time', "
    "'vigil_samples.series_id', 'vigil_samples.value', "
    "'vigil_histograms.time', 'vigil_histograms.series_id', "
    "'vigil_histograms.bounds', 'vigil_histograms.counts', "
    "'vigil_histograms.sum', 'vigil_histograms.count', "
    "'vigil_logs.time', 'vigil_logs.severity', 'vigil_logs.severity_text', "
    "'vigil_logs.body', 'vigil_logs.attributes', 'vigil_logs.labels', "
    "'vigil_logs.source', 'vigil_alerts.fingerprint', 'vigil_alerts.rule', "
    "'vigil_alerts.severity', 'vigil_alerts.state', 'vigil_alerts.summary', "
    "'vigil_alerts.description', 'vigil_alerts.labels', "
    "'vigil_alerts.value', 'vigil_alerts.starts_at', "
    "'vigil_alerts.ends_at', 'vigil_commits.token', 'vigil_commits.time'"
    "])), missing AS (SELECT x, split_part(x, '.', 1) AS t FROM need "
    "WHERE NOT EXISTS (SELECT 1 FROM pg_attribute a "
    "WHERE a.attrelid = to_regclass(split_part(x, '.', 1)) "
    "AND a.attname = split_part(x, '.', 2) AND NOT a.attisdropped)) "
    /* a missing table is named once, not once per column */
    "SELECT (SELECT string_agg(DISTINCT CASE WHEN to_regclass(t) IS NULL "
    "THEN 'table ' || t ELSE 'column ' || x END, ', ') FROM missing), "
    "coalesce((SELECT relkind = 'p' FROM pg_class "
    "WHERE oid = to_regclass('vigil_samples')), false), "
    "coalesce((SELECT relkind = 'p' FROM pg_class "
    "WHERE oid = to_regclass('vigil_histograms')), false), "
    "coalesce((SELECT relkind = 'p' FROM pg_class "
    "WHERE oid = to_regclass('vigil_logs')), false)";

/* %1$s: the partitioning clause, empty with TimescaleDB. */
static const char migration1[] =
    "CREATE TABLE IF NOT EXISTS vigil_series ("
    "id bigserial PRIMARY KEY, "
    "hash bigint NOT NULL UNIQUE, "
    "name text NOT NULL, "
    "labels jsonb NOT NULL DEFAULT '{}'); "
    "CREATE INDEX IF NOT EXISTS vigil_series_name ON vigil_series (name); "
    "CREATE INDEX IF NOT EXISTS vigil_series_labels ON vigil_series "
    "USING gin (labels); "
    "CREATE TABLE IF NOT EXISTS vigil_samples ("
    "time timestamptz NOT NULL, "
    "series_id bigint NOT NULL, "
    "value double precision)%1$s; "
    "CREATE INDEX IF NOT EXISTS vigil_samples_series_time ON vigil_samples "
    "(series_id, time DESC); "
    "CREATE TABLE IF NOT EXISTS vigil_logs ("
    "time timestamptz NOT NULL, "
    "severity int, "
    "body text, "
    "attributes jsonb, "
    "labels jsonb)%1$s; "
    "CREATE INDEX IF NOT EXISTS vigil_logs_time ON vigil_logs (time DESC); ";

static const char migration2[] =
    "ALTER TABLE vigil_logs ADD COLUMN IF NOT EXISTS severity_text text, "
    "ADD COLUMN IF NOT EXISTS source text; "
    "CREATE TABLE IF NOT EXISTS vigil_histograms ("
    "time timestamptz NOT NULL, "
    "series_id bigint NOT NULL, "
    "bounds float8[] NOT NULL, "
    "counts int8[] NOT NULL, "
    "sum double precision, "
    "count bigint)%1$s; "
    "CREATE INDEX IF NOT EXISTS vigil_histograms_series_time ON "
    "vigil_histograms (series_id, time DESC); "
    "CREATE TABLE IF NOT EXISTS vigil_alerts ("
    "fingerprint text NOT NULL, "
    "rule text NOT NULL, "
    "severity text, "
    "state text NOT NULL, "
    "summary text, "
    "description text, "
    "labels jsonb, "
    "value double precision, "
    "starts_at timestamptz NOT NULL, "
    "ends_at timestamptz, "
    "updated_at timestamptz NOT NULL DEFAULT now(), "
    "PRIMARY KEY (fingerprint, starts_at)); "
    "CREATE INDEX IF NOT EXISTS vigil_alerts_rule ON vigil_alerts "
    "(rule, starts_at DESC); "
    "CREATE TABLE IF NOT EXISTS vigil_commits ("
    "token bigint PRIMARY KEY, "
    "time timestamptz NOT NULL DEFAULT now()); "
    "CREATE OR REPLACE VIEW vigil_metrics AS "
    "SELECT s.time, r.name, r.labels, s.value, s.series_id "
    "FROM vigil_samples s JOIN vigil_series r ON r.id = s.series_id; "
    "CREATE OR REPLACE VIEW vigil_alert_durations AS "
    "SELECT fingerprint, rule, severity, labels, starts_at, ends_at, "
    "coalesce(ends_at, now()) - starts_at AS duration, "
    "ends_at IS NULL AS open FROM vigil_alerts; "
    "CREATE OR REPLACE VIEW vigil_mttr AS "
    "SELECT rule, count(*) AS resolved, "
    "avg(ends_at - starts_at) AS mttr, "
    "max(ends_at - starts_at) AS longest "
    "FROM vigil_alerts WHERE ends_at IS NOT NULL GROUP BY rule; ";

int
pg_schema_migration(struct pg_buf *b, int v, int partitioned)
{
    const char *part = partitioned ? " PARTITION BY RANGE (time)" : "";
    char tail[96];
    int rc = 0;

    b->len = 0;
    if (v < 1 || v > PG_SCHEMA_VERSION)
        return -EINVAL;
    /* two agents starting together: the second waits, then finds it done */
    if (pg_buf_addstr(b, "BEGIN; SELECT pg_advisory_xact_lock("
                      "hashtext('vigil_schema')); ") < 0 ||
        pg_buf_reserve(b, 8192) < 0)
        return -ENOMEM;
    rc = snprintf(b->data + b->len, b->cap - b->len,
                  v == 1 ? migration1 : migration2, part);
    if (rc < 0 || (size_t)rc >= b->cap - b->len)
        return -ENOMEM;
    b->len += (size_t)rc;
    snprintf(tail, sizeof(tail), "INSERT INTO vigil_schema (version) "
             "VALUES (%d) ON CONFLICT DO NOTHING; COMMIT", v);
    if (pg_buf_addstr(b, tail) < 0 || pg_buf_addz(b) < 0)
        return -ENOMEM;
    return 0;
}

int
pg_schema_partition(struct pg_buf *b, const char *table, int64_t day)
{
    char name[9], from[11], to[11], sql[320];

    pg_day_name(day, name);
    pg_day_date(day, from);
    pg_day_date(day + 1, to);
    snprintf(sql, sizeof(sql), "CREATE TABLE IF NOT EXISTS %s_p%s "
             "PARTITION OF %s FOR VALUES FROM ('%s 00:00:00+00') "
             "TO ('%s 00:00:00+00'); ", table, name, table, from, to);
    return pg_buf_addstr(b, sql);
}

int
pg_schema_retention(struct pg_buf *b, int64_t retention_s, int timescale)
{
    char sql[1536];
    size_t i;

    if (pg_buf_addstr(b, "DELETE FROM vigil_commits WHERE time < now() - "
                      "interval '1 day'; ") < 0)
        return -ENOMEM;
    if (retention_s <= 0)
        return 0;
    if (timescale) {
        for (i = 0; i < PG_NTIMED; i++) {
            snprintf(sql, sizeof(sql), "SELECT drop_chunks('%s', "
                     "older_than => interval '%" PRId64 " seconds'); ",
                     pg_timed_tables[i], retention_s);
            if (pg_buf_addstr(b, sql) < 0)
                return -ENOMEM;
        }
    } else {
        /* a partition pYYYYMMDD holds [day, day + 1): it goes once the
         * whole day is older than the retention */
        snprintf(sql, sizeof(sql),
                 "DO $vigil$ DECLARE r record; BEGIN "
                 "FOR r IN SELECT n.nspname, c.relname FROM pg_inherits i "
                 "JOIN pg_class c ON c.oid = i.inhrelid "
                 "JOIN pg_namespace n ON n.oid = c.relnamespace "
                 "WHERE i.inhparent IN (to_regclass('vigil_samples'), "
                 "to_regclass('vigil_histograms'), to_regclass('vigil_logs')) "
                 "AND c.relname ~ '_p[0-9]{8}$' "
                 "AND (to_date(right(c.relname, 8), 'YYYYMMDD') + 1)::timestamp"
                 " AT TIME ZONE 'UTC' <= now() - interval '%" PRId64
                 " seconds' LOOP "
                 "EXECUTE format('DROP TABLE IF EXISTS %%I.%%I', r.nspname, "
                 "r.relname); END LOOP; END $vigil$; ", retention_s);
        if (pg_buf_addstr(b, sql) < 0)
            return -ENOMEM;
    }
    snprintf(sql, sizeof(sql), "DELETE FROM vigil_alerts WHERE "
             "coalesce(ends_at, starts_at) < now() - interval '%" PRId64
             " seconds' AND ends_at IS NOT NULL; ", retention_s);
    return pg_buf_addstr(b, sql);
}

int
pg_schema_hypertables(struct pg_buf *b, int64_t compress_s)
{
    char sql[512];
    size_t i;

    for (i = 0; i < PG_NTIMED; i++) {
        snprintf(sql, sizeof(sql), "SELECT create_hypertable('%s', 'time', "
                 "chunk_time_interval => interval '1 day', "
                 "if_not_exists => true, migrate_data => true); ",
                 pg_timed_tables[i]);
        if (pg_buf_addstr(b, sql) < 0)
            return -ENOMEM;
        if (compress_s <= 0 || i == 2)
            continue;
        snprintf(sql, sizeof(sql), "ALTER TABLE %s SET ("
                 "timescaledb.compress, "
                 "timescaledb.compress_segmentby = 'series_id', "
                 "timescaledb.compress_orderby = 'time DESC'); "
                 "SELECT add_compression_policy('%s', "
                 "compress_after => interval '%" PRId64 " seconds', "
                 "if_not_exists => true); ", pg_timed_tables[i],
                 pg_timed_tables[i], compress_s);
        if (pg_buf_addstr(b, sql) < 0)
            return -ENOMEM;
    }
    return 0;
}
