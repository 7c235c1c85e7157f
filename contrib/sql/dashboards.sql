-- Views and functions behind the Grafana dashboards of contrib/grafana/,
-- over the tables of vigil's postgres output (docs/plugins/postgres.md).
-- Load once into the database the output writes to (as its owner):
--   psql -d metrics -f contrib/sql/dashboards.sql
-- Every object is CREATE OR REPLACE, so loading again upgrades them. They
-- read only; they need the output's schema (run vigil once first).
-- The queries at the end show each object in use over the last day.

-- ---- counters -------------------------------------------------------------

-- Per-second rate of a counter between consecutive samples of each of its
-- series in [t_from, t_to]. A counter that went backwards (a restart) gives
-- no rate for that step rather than a negative one.
CREATE OR REPLACE FUNCTION vigil_rates(metric text, t_from timestamptz,
                                       t_to timestamptz)
RETURNS TABLE ("time" timestamptz, series_id bigint, labels jsonb,
               rate double precision)
LANGUAGE sql STABLE AS $$
    SELECT d.time, d.series_id, r.labels, d.delta / d.secs
    FROM (SELECT s.time, s.series_id,
                 s.value - lag(s.value) OVER w AS delta,
                 extract(epoch FROM s.time - lag(s.time) OVER w)::float8
                     AS secs
          FROM vigil_samples s
          WHERE s.series_id IN (SELECT id FROM vigil_series
                                WHERE name = metric)
            AND s.time >= t_from AND s.time <= t_to
          WINDOW w AS (PARTITION BY s.series_id ORDER BY s.time)) d
    JOIN vigil_series r ON r.id = d.series_id
    WHERE d.secs > 0 AND d.delta >= 0
$$;

-- Start of the bucket of width `width` that holds t, aligned on the epoch
-- (date_bin needs PostgreSQL 14; the output supports 11).
CREATE OR REPLACE FUNCTION vigil_bucket(t timestamptz, width interval)
RETURNS timestamptz
LANGUAGE sql IMMUTABLE AS $$
    SELECT to_timestamp(floor(extract(epoch FROM t) /
               greatest(extract(epoch FROM width), 0.001)) *
           greatest(extract(epoch FROM width), 0.001))
$$;

-- ---- histograms -----------------------------------------------------------

-- The q-quantile (0..1) of one histogram: bounds are the buckets' upper
-- bounds (the last Infinity), counts the per-bucket (not cumulative)
-- counts, as vigil_histograms stores them. Linear within the bucket that
-- holds the rank; the first bucket starts at 0 (or at its bound if that is
-- negative); a rank in the +Inf bucket gives the highest finite bound.
-- NULL for an empty histogram.
CREATE OR REPLACE FUNCTION vigil_histogram_quantile(q double precision,
                                                    bounds float8[],
                                                    counts int8[])
RETURNS double precision
LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    total double precision := 0;
    rank double precision;
    cum double precision := 0;
    lower double precision;
    i int;
BEGIN
    IF bounds IS NULL OR counts IS NULL OR q IS NULL OR q < 0 OR q > 1 THEN
        RETURN NULL;
    END IF;
    FOR i IN 1 .. coalesce(array_length(counts, 1), 0) LOOP
        total := total + coalesce(counts[i], 0);
    END LOOP;
    IF total <= 0 THEN
        RETURN NULL;
    END IF;
    rank := q * total;
    FOR i IN 1 .. array_length(counts, 1) LOOP
        IF coalesce(counts[i], 0) > 0 AND cum + counts[i] >= rank THEN
            IF bounds[i] = 'Infinity'::float8 THEN
                RETURN CASE WHEN i > 1 THEN bounds[i - 1] ELSE NULL END;
            END IF;
            lower := CASE WHEN i > 1 THEN bounds[i - 1]
                          ELSE least(0, bounds[1]) END;
            RETURN lower + (bounds[i] - lower) *
                   greatest(rank - cum, 0) / counts[i];
        END IF;
        cum := cum + coalesce(counts[i], 0);
    END LOOP;
    RETURN bounds[array_length(bounds, 1)];
END
$$;

-- The q-quantile of a histogram metric per series and bucket of time:
-- the histograms of a bucket are added bucket by bucket (those of one
-- series share their bounds) before the quantile is taken, so a p95 over
-- 5 minutes is the p95 of every observation in them.
CREATE OR REPLACE FUNCTION vigil_histogram_quantiles(metric text,
                                                     q double precision,
                                                     width interval,
                                                     t_from timestamptz,
                                                     t_to timestamptz)
RETURNS TABLE ("time" timestamptz, series_id bigint, labels jsonb,
               value double precision, observations bigint)
LANGUAGE sql STABLE AS $$
    WITH h AS (
        SELECT vigil_bucket(h.time, width) AS t, h.series_id, h.bounds,
               h.counts, h.count
        FROM vigil_histograms h
        WHERE h.series_id IN (SELECT id FROM vigil_series
                              WHERE name = metric)
          AND h.time >= t_from AND h.time <= t_to
    ), per_bucket AS (
        SELECT h.t, h.series_id, b.i, max(b.bound) AS bound,
               sum(h.counts[b.i])::int8 AS n
        FROM h, unnest(h.bounds) WITH ORDINALITY AS b(bound, i)
        GROUP BY h.t, h.series_id, b.i
    )
    SELECT p.t, p.series_id, r.labels,
           vigil_histogram_quantile(q, array_agg(p.bound ORDER BY p.i),
                                    array_agg(p.n ORDER BY p.i)),
           sum(p.n)::bigint
    FROM per_bucket p JOIN vigil_series r ON r.id = p.series_id
    GROUP BY p.t, p.series_id, r.labels
$$;

-- ---- logs -----------------------------------------------------------------

-- Log events per bucket of time and source: all of them, and those of
-- severity error or fatal (OpenTelemetry numbers 17 and up), with their
-- share.
CREATE OR REPLACE FUNCTION vigil_log_error_rates(width interval,
                                                 t_from timestamptz,
                                                 t_to timestamptz)
RETURNS TABLE ("time" timestamptz, source text, total bigint,
               errors bigint, error_ratio double precision)
LANGUAGE sql STABLE AS $$
    SELECT vigil_bucket(l.time, width), coalesce(l.source, ''), count(*),
           count(*) FILTER (WHERE l.severity >= 17),
           (count(*) FILTER (WHERE l.severity >= 17))::float8 / count(*)
    FROM vigil_logs l
    WHERE l.time >= t_from AND l.time <= t_to
    GROUP BY 1, 2
$$;

-- ---- alerts ---------------------------------------------------------------

-- Alerts per rule and severity: every firing in the table, those firing
-- now, those resolved, and the last start.
CREATE OR REPLACE VIEW vigil_alert_counts AS
SELECT rule, coalesce(severity, '') AS severity, count(*) AS fired,
       count(*) FILTER (WHERE ends_at IS NULL) AS firing_now,
       count(*) FILTER (WHERE ends_at IS NOT NULL) AS resolved,
       max(starts_at) AS last_fired
FROM vigil_alerts
GROUP BY rule, coalesce(severity, '');

-- Noisy alerts over the last 7 days: one row per alert (rule and labels,
-- that is fingerprint), how often it fired, how often it resolved within
-- 5 minutes (flapping), and the time it spent firing in all.
CREATE OR REPLACE VIEW vigil_noisy_alerts AS
SELECT fingerprint, rule, min(severity) AS severity,
       (array_agg(labels ORDER BY starts_at DESC))[1] AS labels,
       count(*) AS fired,
       count(*) FILTER (WHERE ends_at - starts_at < interval '5 minutes')
           AS flaps,
       sum(coalesce(ends_at, now()) - starts_at) AS firing_time,
       max(starts_at) AS last_fired
FROM vigil_alerts
WHERE starts_at > now() - interval '7 days'
GROUP BY fingerprint, rule;

-- Time to resolve per severity: mean, median and 90th percentile.
CREATE OR REPLACE VIEW vigil_mttr_by_severity AS
SELECT coalesce(severity, '') AS severity, count(*) AS resolved,
       avg(ends_at - starts_at) AS mttr,
       percentile_cont(0.5) WITHIN GROUP (ORDER BY ends_at - starts_at)
           AS median,
       percentile_cont(0.9) WITHIN GROUP (ORDER BY ends_at - starts_at)
           AS p90
FROM vigil_alerts
WHERE ends_at IS NOT NULL
GROUP BY coalesce(severity, '');

-- Mean time to resolve per rule and day (UTC) the alerts started.
CREATE OR REPLACE VIEW vigil_mttr_daily AS
SELECT date_trunc('day', starts_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
           AS day,
       rule, count(*) AS resolved, avg(ends_at - starts_at) AS mttr
FROM vigil_alerts
WHERE ends_at IS NOT NULL
GROUP BY 1, 2;

-- ---- hosts ----------------------------------------------------------------

-- Filesystem fill forecast: a least-squares line through each
-- filesystem's utilization (0..1) over the last 24 hours, and the time it
-- reaches 1 (NULL when it is not growing, or not within 10 years). Time
-- is counted from now, which keeps the fit's numbers small. Needs 2
-- samples or more.
CREATE OR REPLACE VIEW vigil_filesystem_forecast AS
WITH fit AS (
    SELECT s.series_id, count(*) AS samples,
           regr_slope(s.value, extract(epoch FROM s.time - now()))
               AS slope,
           regr_intercept(s.value, extract(epoch FROM s.time - now()))
               AS icept,
           (array_agg(s.value ORDER BY s.time DESC))[1] AS utilization,
           max(s.time) AS last_seen
    FROM vigil_samples s
    WHERE s.series_id IN (SELECT id FROM vigil_series
                          WHERE name = 'system.filesystem.utilization')
      AND s.time > now() - interval '24 hours'
    GROUP BY s.series_id
    HAVING count(*) >= 2
)
SELECT r.labels->>'host' AS host,
       r.labels->>'system.filesystem.mountpoint' AS mountpoint,
       r.labels->>'system.device' AS device,
       f.utilization, f.last_seen, f.samples,
       f.slope * 86400 AS growth_per_day,
       CASE WHEN f.slope > 0 AND f.utilization < 1
                 AND (1 - f.icept) / f.slope < 10 * 366 * 86400
            THEN now() + make_interval(secs => (1 - f.icept) / f.slope)
       END AS predicted_full
FROM fit f JOIN vigil_series r ON r.id = f.series_id;

-- The latest value of every series seen in the last hour.
CREATE OR REPLACE VIEW vigil_latest AS
SELECT DISTINCT ON (s.series_id) r.name, r.labels, s.time, s.value,
       s.series_id
FROM vigil_samples s JOIN vigil_series r ON r.id = s.series_id
WHERE s.time > now() - interval '1 hour'
ORDER BY s.series_id, s.time DESC;

-- ---- examples -------------------------------------------------------------

-- Alert counts by rule and severity, the most fired first.
SELECT rule, severity, fired, firing_now, resolved, last_fired
FROM vigil_alert_counts ORDER BY fired DESC, rule LIMIT 20;

-- The ten noisiest alerts of the week.
SELECT rule, labels, fired, flaps, firing_time
FROM vigil_noisy_alerts ORDER BY fired DESC, flaps DESC LIMIT 10;

-- Time to resolve per severity, then per rule and day.
SELECT severity, resolved, mttr, median, p90 FROM vigil_mttr_by_severity;
SELECT day, rule, resolved, mttr FROM vigil_mttr_daily ORDER BY day, rule;

-- Error share of the logs per source and 5 minutes.
SELECT time, source, total, errors, round(error_ratio::numeric, 3)
FROM vigil_log_error_rates('5 minutes', now() - interval '1 day', now())
ORDER BY time, source;

-- Network throughput per interface and direction, bytes per second.
SELECT vigil_bucket(time, '1 minute') AS time,
       labels->>'network.interface.name' AS interface,
       labels->>'network.io.direction' AS direction, avg(rate) AS bytes_s
FROM vigil_rates('system.network.io', now() - interval '1 day', now())
GROUP BY 1, 2, 3 ORDER BY 1;

-- p95 of a latency histogram per series and 5 minutes.
SELECT time, labels, value AS p95, observations
FROM vigil_histogram_quantiles('http.server.duration', 0.95, '5 minutes',
                               now() - interval '1 day', now())
ORDER BY time;

-- Filesystems that fill up within 30 days.
SELECT host, mountpoint, round(utilization::numeric, 3) AS utilization,
       round(growth_per_day::numeric, 4) AS growth_per_day, predicted_full
FROM vigil_filesystem_forecast
WHERE predicted_full < now() + interval '30 days'
ORDER BY predicted_full;
