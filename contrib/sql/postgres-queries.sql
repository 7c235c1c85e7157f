-- Queries over the tables of vigil's postgres output (docs/plugins/postgres.md).
-- Each one stands alone; :'name' placeholders are psql variables
-- (psql -v metric=system.cpu.utilization -f ...), or Grafana macros where noted.

-- The latest value of every series of a metric, with its labels.
SELECT DISTINCT ON (s.series_id) r.name, r.labels, s.time, s.value
FROM vigil_samples s JOIN vigil_series r ON r.id = s.series_id
WHERE r.name = :'metric' AND s.time > now() - interval '1 hour'
ORDER BY s.series_id, s.time DESC;

-- Grafana time series panel (PostgreSQL data source): one line per host.
-- SELECT $__timeGroupAlias(s.time, '1m'), r.labels->>'host' AS metric,
--        avg(s.value) AS value
-- FROM vigil_samples s JOIN vigil_series r ON r.id = s.series_id
-- WHERE r.name = 'system.cpu.utilization' AND $__timeFilter(s.time)
-- GROUP BY 1, 2 ORDER BY 1;

-- Per-second rate of a counter over 5-minute buckets (resets ignored).
SELECT date_bin('5 minutes', s.time, timestamptz '2000-01-01') AS bucket,
       r.labels,
       (max(s.value) - min(s.value)) /
           nullif(extract(epoch FROM max(s.time) - min(s.time)), 0) AS rate
FROM vigil_samples s JOIN vigil_series r ON r.id = s.series_id
WHERE r.name = :'metric' AND s.time > now() - interval '1 day'
GROUP BY 1, 2 ORDER BY 1;

-- Series whose labels match (uses the GIN index on labels).
SELECT id, name, labels FROM vigil_series
WHERE labels @> '{"env": "prod"}' ORDER BY name;

-- Log lines per severity and source over the last hour.
SELECT severity_text, source, count(*)
FROM vigil_logs WHERE time > now() - interval '1 hour'
GROUP BY 1, 2 ORDER BY 3 DESC;

-- Errors with an attribute, newest first.
SELECT time, body, attributes, labels FROM vigil_logs
WHERE severity >= 17 AND attributes ? 'status' AND time > now() - interval '1 day'
ORDER BY time DESC LIMIT 100;

-- Alerts firing now.
SELECT rule, severity, labels, summary, now() - starts_at AS firing_for
FROM vigil_alerts WHERE state = 'firing' ORDER BY starts_at;

-- Mean time to resolve per rule over the last 30 days, with the worst case.
SELECT rule, count(*) AS resolved, avg(duration) AS mttr, max(duration) AS longest
FROM vigil_alert_durations
WHERE NOT open AND starts_at > now() - interval '30 days'
GROUP BY rule ORDER BY mttr DESC;

-- Size of each daily partition (retention and disk planning).
SELECT c.relname, pg_size_pretty(pg_total_relation_size(c.oid)) AS size
FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid
WHERE i.inhparent IN ('vigil_samples'::regclass, 'vigil_logs'::regclass,
                      'vigil_histograms'::regclass)
ORDER BY c.relname;
