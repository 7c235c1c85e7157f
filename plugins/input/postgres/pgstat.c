/*
 * postgres input: database monitoring over one non-blocking libpq
 * connection (the output's conn.c).  Each collection runs a fixed list of
 * queries one after the other, chosen by the server's version, and emits
 * one batch at its end.  A query the server refuses (a missing privilege
 * or extension) is warned about once and skipped; the others still run.
 * At most one collection is in flight; a tick that finds one is skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <libpq-fe.h>
#include <vigil/plugin.h>

#include "conn.h"

#define MAX_QUERY_CHARS 120             /* query label, code points */
#define MAX_LABELS 5                    /* with `server` */

struct pgs_conf {
    char    *dsn;
    int64_t  interval;                  /* ns */
    int64_t  timeout;                   /* ns */
    int64_t  top_statements;
    int64_t  top_tables;
};

static const struct vg_option pgs_options[] = {
    { .name = "dsn", .type = VG_OPT_STR,
      .flags = VG_OPT_REQUIRED | VG_OPT_SECRET,
      .offset = offsetof(struct pgs_conf, dsn),
      .help = "libpq connection string or URI of the database to watch" },
    { .name = "interval", .type = VG_OPT_DURATION, .def = "30s",
      .offset = offsetof(struct pgs_conf, interval),
      .help = "collection interval" },
    { .name = "timeout", .type = VG_OPT_DURATION, .def = "10s",
      .offset = offsetof(struct pgs_conf, timeout),
      .help = "connect and per-query timeout" },
    { .name = "top_statements", .type = VG_OPT_INT, .def = "10",
      .offset = offsetof(struct pgs_conf, top_statements),
      .help = "pg_stat_statements entries by total time (0: none)" },
    { .name = "top_tables", .type = VG_OPT_INT, .def = "10",
      .offset = offsetof(struct pgs_conf, top_tables),
      .help = "largest tables with vacuum and bloat metrics (0: none)" },
    { 0 }
};

struct pgs_state;

/* One query of a collection: its SQL for this server (NULL: skip) and
 * what turns its rows into metrics. */
struct pgs_query {
    const char *what;
    const char *(*sql)(struct pgs_state *st);
    void (*rows)(struct pgs_state *st, const PGresult *res);
};

struct pgs_state {
    struct vg_instance *in;
    struct pgs_conf    *conf;
    struct pg_conn     *conn;
    const char         *keys[4];
    const char         *vals[4];
    struct vg_timer    *timer;
    int                 connecting;
    int                 down_logged;
    int                 busy;           /* a collection is running */
    int                 stopped;
    int                 version;        /* server_version_num */
    int                 in_recovery;
    int                 has_pss;        /* pg_stat_statements installed */
    unsigned            warned;         /* bit per query: warned once */
    int                 pss_warned;     /* missing extension, warned */
    size_t              step;
    struct vg_batch    *b;
    int64_t             now;
    char                db[128];        /* current_database() */
    char                server[256];    /* `server` label: host:port */
    double              wal_prev;       /* WAL position, bytes; < 0: none */
    char                sql[1024];
};

/* ---- metrics ------------------------------------------------------- */

/* Adds a metric with the server label; kv holds nkv key, value pairs
 * (values may not be NULL). */
static void
put(struct pgs_state *st, const char *name, int type, double v,
    const char *const *kv, int nkv)
{
    struct vg_kv labels[MAX_LABELS];
    struct vg_event ev;
    int n = 0;

    for (; n < nkv && n < MAX_LABELS - 1; n++)
        labels[n] = vg_kv_str(kv[2 * n], kv[2 * n + 1]);
    labels[n++] = vg_kv_str("server", st->server);
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = st->now;
    ev.name = name;
    ev.metric_type = type;
    ev.value = v;
    ev.labels = labels;
    ev.nlabels = (uint32_t)n;
    if (vg_batch_add(st->in, st->b, &ev) < 0)
        vg_count(st->in, "postgres_dropped", 1);
}

/* Column c of row r as a number; 0 when NULL (*null set). */
static double
num(const PGresult *res, int r, int c, int *null)
{
    if (PQgetisnull(res, r, c)) {
        if (null)
            *null = 1;
        return 0;
    }
    if (null)
        *null = 0;
    return strtod(PQgetvalue(res, r, c), NULL);
}

/* put() unless the column is NULL. */
static void
put_col(struct pgs_state *st, const char *name, int type,
        const PGresult *res, int r, int c, const char *const *kv, int nkv)
{
    int null;
    double v = num(res, r, c, &null);

    if (!null)
        put(st, name, type, v, kv, nkv);
}

/* ---- queries ------------------------------------------------------- */

static const char *
sql_info(struct pgs_state *st)
{
    (void)st;
    return "SELECT current_database(), pg_is_in_recovery(), "
           "current_setting('max_connections')::int, "
           "(SELECT count(*) FROM pg_extension "
           "WHERE extname = 'pg_stat_statements'), "
           "CASE WHEN pg_is_in_recovery() THEN extract(epoch FROM now() - "
           "pg_last_xact_replay_timestamp()) END, "
           "CASE WHEN NOT pg_is_in_recovery() THEN "
           "pg_wal_lsn_diff(pg_current_wal_lsn(), '0/0') END";
}

static void
rows_info(struct pgs_state *st, const PGresult *res)
{
    int null;
    double wal;

    if (PQntuples(res) != 1)
        return;
    snprintf(st->db, sizeof(st->db), "%s", PQgetvalue(res, 0, 0));
    st->in_recovery = PQgetvalue(res, 0, 1)[0] == 't';
    st->has_pss = num(res, 0, 3, NULL) > 0;
    put(st, "postgres.in_recovery", VG_METRIC_GAUGE, st->in_recovery,
        NULL, 0);
    put_col(st, "postgres.connections.max", VG_METRIC_GAUGE, res, 0, 2,
            NULL, 0);
    put_col(st, "postgres.replication.standby_lag_seconds", VG_METRIC_GAUGE,
            res, 0, 4, NULL, 0);
    wal = num(res, 0, 5, &null);
    if (!null) {
        /* a position: what grew since the last collection is the WAL
         * generated in between */
        if (st->wal_prev >= 0 && wal >= st->wal_prev)
            put(st, "postgres.wal.generated_bytes", VG_METRIC_GAUGE,
                wal - st->wal_prev, NULL, 0);
        put(st, "postgres.wal.position_bytes", VG_METRIC_COUNTER, wal,
            NULL, 0);
        st->wal_prev = wal;
    }
    if (!st->has_pss && st->conf->top_statements > 0 && !st->pss_warned) {
        st->pss_warned = 1;
        vg_log(st->in, VG_LOG_WARN, "extension pg_stat_statements is not "
               "installed in database '%s': top statements are not "
               "collected", st->db);
    }
}

static const char *
sql_databases(struct pgs_state *st)
{
    (void)st;
    return "SELECT s.datname, xact_commit, xact_rollback, blks_hit, "
           "blks_read, tup_returned, tup_fetched, tup_inserted, "
           "tup_updated, tup_deleted, deadlocks, temp_bytes, "
           "CASE WHEN has_database_privilege(d.oid, 'CONNECT') "
           "THEN pg_database_size(d.oid) END "
           "FROM pg_stat_database s JOIN pg_database d ON d.oid = s.datid "
           "WHERE d.datallowconn AND NOT d.datistemplate";
}

static void
rows_databases(struct pgs_state *st, const PGresult *res)
{
    static const char *const counters[] = {
        NULL, "postgres.xact_commit", "postgres.xact_rollback",
        "postgres.blks_hit", "postgres.blks_read", "postgres.tup_returned",
        "postgres.tup_fetched", "postgres.tup_inserted",
        "postgres.tup_updated", "postgres.tup_deleted", "postgres.deadlocks",
        "postgres.temp_bytes",
    };

    for (int r = 0; r < PQntuples(res); r++) {
        const char *kv[] = { "db", PQgetvalue(res, r, 0) };
        double hit = num(res, r, 3, NULL), read = num(res, r, 4, NULL);

        for (int c = 1; c <= 11; c++)
            put_col(st, counters[c], VG_METRIC_COUNTER, res, r, c, kv, 1);
        if (hit + read > 0)
            put(st, "postgres.cache_hit_ratio", VG_METRIC_GAUGE,
                hit / (hit + read), kv, 1);
        put_col(st, "postgres.database_size_bytes", VG_METRIC_GAUGE, res, r,
                12, kv, 1);
    }
}

static const char *
sql_connections(struct pgs_state *st)
{
    (void)st;
    return "SELECT coalesce(datname, ''), coalesce(state, 'unknown'), "
           "count(*) FROM pg_stat_activity "
           "WHERE backend_type = 'client backend' GROUP BY 1, 2";
}

static void
rows_connections(struct pgs_state *st, const PGresult *res)
{
    double total = 0;

    for (int r = 0; r < PQntuples(res); r++) {
        const char *kv[] = { "db", PQgetvalue(res, r, 0),
                             "state", PQgetvalue(res, r, 1) };
        double n = num(res, r, 2, NULL);

        put(st, "postgres.connections", VG_METRIC_GAUGE, n, kv, 2);
        total += n;
    }
    put(st, "postgres.connections.total", VG_METRIC_GAUGE, total, NULL, 0);
}

static const char *
sql_ages(struct pgs_state *st)
{
    (void)st;
    return "SELECT coalesce(max(extract(epoch FROM now() - xact_start)), 0), "
           "coalesce(max(extract(epoch FROM now() - query_start)) "
           "FILTER (WHERE state = 'active'), 0) FROM pg_stat_activity "
           "WHERE backend_type = 'client backend' "
           "AND pid <> pg_backend_pid()";
}

static void
rows_ages(struct pgs_state *st, const PGresult *res)
{
    if (PQntuples(res) != 1)
        return;
    put_col(st, "postgres.longest_transaction_seconds", VG_METRIC_GAUGE,
            res, 0, 0, NULL, 0);
    put_col(st, "postgres.longest_query_seconds", VG_METRIC_GAUGE, res, 0, 1,
            NULL, 0);
}

static const char *
sql_locks(struct pgs_state *st)
{
    (void)st;
    return "SELECT mode, granted, count(*) FROM pg_locks GROUP BY 1, 2";
}

static void
rows_locks(struct pgs_state *st, const PGresult *res)
{
    for (int r = 0; r < PQntuples(res); r++) {
        const char *kv[] = {
            "mode", PQgetvalue(res, r, 0),
            "granted", PQgetvalue(res, r, 1)[0] == 't' ? "true" : "false",
        };

        put(st, "postgres.locks", VG_METRIC_GAUGE, num(res, r, 2, NULL), kv,
            2);
    }
}

static const char *
sql_replication(struct pgs_state *st)
{
    if (st->in_recovery)
        return NULL;
    return "SELECT coalesce(application_name, ''), "
           "coalesce(host(client_addr), 'local'), "
           "extract(epoch FROM write_lag), extract(epoch FROM flush_lag), "
           "extract(epoch FROM replay_lag), "
           "pg_wal_lsn_diff(pg_current_wal_lsn(), write_lsn), "
           "pg_wal_lsn_diff(pg_current_wal_lsn(), flush_lsn), "
           "pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn) "
           "FROM pg_stat_replication";
}

static void
rows_replication(struct pgs_state *st, const PGresult *res)
{
    static const char *const names[] = {
        NULL, NULL, "postgres.replication.write_lag_seconds",
        "postgres.replication.flush_lag_seconds",
        "postgres.replication.replay_lag_seconds",
        "postgres.replication.write_lag_bytes",
        "postgres.replication.flush_lag_bytes",
        "postgres.replication.replay_lag_bytes",
    };

    for (int r = 0; r < PQntuples(res); r++) {
        const char *kv[] = { "application", PQgetvalue(res, r, 0),
                             "client", PQgetvalue(res, r, 1) };

        for (int c = 2; c <= 7; c++)
            put_col(st, names[c], VG_METRIC_GAUGE, res, r, c, kv, 2);
    }
    put(st, "postgres.replication.standbys", VG_METRIC_GAUGE, PQntuples(res),
        NULL, 0);
}

/* Same columns on every version: PostgreSQL 17 moved the checkpoint
 * counters to pg_stat_checkpointer and dropped buffers_backend. */
static const char *
sql_bgwriter(struct pgs_state *st)
{
    if (st->version >= 170000)
        return "SELECT c.num_timed, c.num_requested, c.write_time, "
               "c.sync_time, c.buffers_written, b.buffers_clean, "
               "b.maxwritten_clean, NULL, b.buffers_alloc "
               "FROM pg_stat_checkpointer c, pg_stat_bgwriter b";
    return "SELECT checkpoints_timed, checkpoints_req, "
           "checkpoint_write_time, checkpoint_sync_time, buffers_checkpoint, "
           "buffers_clean, maxwritten_clean, buffers_backend, buffers_alloc "
           "FROM pg_stat_bgwriter";
}

static void
rows_bgwriter(struct pgs_state *st, const PGresult *res)
{
    static const char *const names[] = {
        "postgres.checkpoints_timed", "postgres.checkpoints_requested",
        "postgres.checkpoint_write_ms", "postgres.checkpoint_sync_ms",
        "postgres.buffers_checkpoint", "postgres.buffers_clean",
        "postgres.maxwritten_clean", "postgres.buffers_backend",
        "postgres.buffers_alloc",
    };

    if (PQntuples(res) != 1)
        return;
    for (int c = 0; c < 9; c++)
        put_col(st, names[c], VG_METRIC_COUNTER, res, 0, c, NULL, 0);
}

static const char *
sql_statements(struct pgs_state *st)
{
    const char *t = st->version >= 130000 ? "total_exec_time"
                                          : "total_time";
    const char *m = st->version >= 130000 ? "mean_exec_time" : "mean_time";

    if (!st->has_pss || st->conf->top_statements <= 0)
        return NULL;
    snprintf(st->sql, sizeof(st->sql),
             "SELECT s.queryid, coalesce(d.datname, ''), s.query, s.calls, "
             "s.%s / 1000, s.%s / 1000, s.rows FROM pg_stat_statements s "
             "LEFT JOIN pg_database d ON d.oid = s.dbid "
             "WHERE s.queryid IS NOT NULL ORDER BY s.%s DESC LIMIT %lld",
             t, m, t, (long long)st->conf->top_statements);
    return st->sql;
}

/*
 * Whitespace runs become one space and the text is cut at
 * MAX_QUERY_CHARS code points, never inside one: the label stays short
 * and the same for the same statement.
 */
static void
normalise_query(const char *q, char *out, size_t size)
{
    size_t o = 0, chars = 0;
    int space = 0;

    while (*q == ' ' || *q == '\t' || *q == '\n' || *q == '\r')
        q++;
    for (; *q && o + 5 < size; q++) {
        unsigned char c = (unsigned char)*q;

        if (c == ' ' || c == '\t' || c == '\n' || c == '\r') {
            space = 1;
            continue;
        }
        if ((c & 0xc0) != 0x80) {       /* a new code point begins */
            if (chars + space >= MAX_QUERY_CHARS)
                break;
            if (space) {
                out[o++] = ' ';
                chars++;
                space = 0;
            }
            chars++;
        }
        out[o++] = (char)c;
    }
    out[o] = '\0';
}

static void
rows_statements(struct pgs_state *st, const PGresult *res)
{
    char query[MAX_QUERY_CHARS * 4 + 8];

    for (int r = 0; r < PQntuples(res); r++) {
        const char *kv[] = { "queryid", PQgetvalue(res, r, 0),
                             "db", PQgetvalue(res, r, 1),
                             "query", query };

        normalise_query(PQgetvalue(res, r, 2), query, sizeof(query));
        put_col(st, "postgres.statement.calls", VG_METRIC_COUNTER, res, r, 3,
                kv, 3);
        put_col(st, "postgres.statement.total_seconds", VG_METRIC_COUNTER,
                res, r, 4, kv, 3);
        put_col(st, "postgres.statement.mean_seconds", VG_METRIC_GAUGE, res,
                r, 5, kv, 3);
        put_col(st, "postgres.statement.rows", VG_METRIC_COUNTER, res, r, 6,
                kv, 3);
    }
}

static const char *
sql_tables(struct pgs_state *st)
{
    if (st->conf->top_tables <= 0)
        return NULL;
    snprintf(st->sql, sizeof(st->sql),
             "SELECT s.schemaname, s.relname, s.n_live_tup, s.n_dead_tup, "
             "extract(epoch FROM now() - s.last_autovacuum), "
             "age(c.relfrozenxid), pg_total_relation_size(c.oid) "
             "FROM pg_stat_user_tables s JOIN pg_class c ON c.oid = s.relid "
             "ORDER BY pg_total_relation_size(c.oid) DESC LIMIT %lld",
             (long long)st->conf->top_tables);
    return st->sql;
}

static void
rows_tables(struct pgs_state *st, const PGresult *res)
{
    for (int r = 0; r < PQntuples(res); r++) {
        const char *kv[] = { "db", st->db, "schema", PQgetvalue(res, r, 0),
                             "table", PQgetvalue(res, r, 1) };

        put_col(st, "postgres.table.live_tuples", VG_METRIC_GAUGE, res, r, 2,
                kv, 3);
        put_col(st, "postgres.table.dead_tuples", VG_METRIC_GAUGE, res, r, 3,
                kv, 3);
        put_col(st, "postgres.table.last_autovacuum_age_seconds",
                VG_METRIC_GAUGE, res, r, 4, kv, 3);
        put_col(st, "postgres.table.frozenxid_age", VG_METRIC_GAUGE, res, r,
                5, kv, 3);
        put_col(st, "postgres.table.size_bytes", VG_METRIC_GAUGE, res, r, 6,
                kv, 3);
    }
}

static const struct pgs_query queries[] = {
    { "server info", sql_info, rows_info },
    { "database statistics", sql_databases, rows_databases },
    { "connections", sql_connections, rows_connections },
    { "transaction and query ages", sql_ages, rows_ages },
    { "locks", sql_locks, rows_locks },
    { "replication", sql_replication, rows_replication },
    { "checkpoints and bgwriter", sql_bgwriter, rows_bgwriter },
    { "top statements", sql_statements, rows_statements },
    { "largest tables", sql_tables, rows_tables },
};
#define NQUERIES (sizeof(queries) / sizeof(queries[0]))

/* ---- collection ---------------------------------------------------- */

static void run_step(struct pgs_state *st);

/* Ends the collection: postgres.up, then the batch goes out. */
static void
collect_end(struct pgs_state *st, int up)
{
    struct vg_batch *b = st->b;

    st->busy = 0;
    if (!b)
        return;
    put(st, "postgres.up", VG_METRIC_GAUGE, up, NULL, 0);
    st->b = NULL;
    if (st->stopped)
        vg_batch_unref(st->in, b);
    else
        vg_emit(st->in, b);
}

static void
on_result(struct pg_conn *c, int rc, PGresult *res, void *arg)
{
    struct pgs_state *st = arg;
    const struct pgs_query *q = &queries[st->step];

    (void)c;
    if (rc == 0 && res) {
        q->rows(st, res);
    } else if (rc == -EIO) {
        if (!(st->warned & (1u << st->step))) {
            const char *code = NULL, *msg = NULL;

            if (res) {
                code = PQresultErrorField(res, PG_DIAG_SQLSTATE);
                msg = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
            }
            /* once: it fails the same way at every collection */
            st->warned |= 1u << st->step;
            vg_log(st->in, VG_LOG_WARN, "cannot collect %s: %s (SQLSTATE "
                   "%s); the other metrics are still collected", q->what,
                   msg ? msg : pg_conn_error(st->conn), code ? code : "?");
        }
    } else if (rc < 0) {
        collect_end(st, 0);             /* the link is gone: on_state */
        return;
    }
    st->step++;
    run_step(st);
}

static void
run_step(struct pgs_state *st)
{
    for (; st->step < NQUERIES; st->step++) {
        const char *sql = queries[st->step].sql(st);
        int rc;

        if (!sql)
            continue;
        rc = pg_conn_query(st->conn, sql, on_result, st);
        if (rc == 0)
            return;
        if (rc == -ECONNRESET || rc == -EBUSY) {
            collect_end(st, 0);
            return;
        }
        vg_log(st->in, VG_LOG_DEBUG, "cannot send the %s query: %s",
               queries[st->step].what, pg_conn_error(st->conn));
    }
    collect_end(st, 1);
}

static void
collect_begin(struct pgs_state *st)
{
    st->busy = 1;
    st->step = 0;
    st->now = vg_now(st->in);
    st->b = vg_batch_new(st->in, 16384);
    run_step(st);
}

/* The server is unreachable: postgres.up 0 alone. */
static void
report_down(struct pgs_state *st)
{
    if (st->stopped)
        return;
    st->now = vg_now(st->in);
    st->b = vg_batch_new(st->in, 256);
    st->busy = 1;
    collect_end(st, 0);
}

static void
on_state(struct pg_conn *c, int rc, void *arg)
{
    struct pgs_state *st = arg;
    int was_connecting = st->connecting;

    st->connecting = 0;
    if (rc < 0) {
        if (!st->down_logged)
            vg_log(st->in, VG_LOG_WARN, "cannot reach the database: %s",
                   pg_conn_error(c));
        st->down_logged = 1;
        /* a link lost during a collection was reported by its end; one
         * lost while idle is retried at the next tick */
        if (was_connecting && !st->busy)
            report_down(st);
        return;
    }
    if (st->down_logged)
        vg_log(st->in, VG_LOG_INFO, "connected to the database again");
    st->down_logged = 0;
    st->version = PQserverVersion(pg_conn_pg(c));
    vg_log(st->in, VG_LOG_DEBUG, "connected, server version %d",
           st->version);
    if (!st->stopped)
        collect_begin(st);
}

static void
on_tick(struct vg_instance *in, void *arg)
{
    struct pgs_state *st = arg;
    int rc;

    if (st->busy || st->connecting)
        return;
    if (pg_conn_is_up(st->conn)) {
        collect_begin(st);
        return;
    }
    st->connecting = 1;
    if ((rc = pg_conn_start(st->conn)) < 0) {
        st->connecting = 0;
        if (!st->down_logged)
            vg_log(in, VG_LOG_WARN, "cannot connect to the database: %s",
                   pg_conn_error(st->conn));
        st->down_logged = 1;
        report_down(st);
    }
}

/* ---- lifecycle ----------------------------------------------------- */

/*
 * The `server` label, host:port from the DSN as libpq would default
 * them, so instances watching different servers give different series.
 * Parse errors are not shown: they quote the DSN, a secret.
 */
static int
server_label(struct pgs_state *st)
{
    PQconninfoOption *opts, *o;
    const char *host = NULL, *port = NULL;
    char *err = NULL;

    if (!(opts = PQconninfoParse(st->conf->dsn, &err))) {
        PQfreemem(err);
        vg_log(st->in, VG_LOG_ERROR, "dsn is not a valid libpq connection "
               "string or URI");
        return -EINVAL;
    }
    for (o = opts; o->keyword; o++) {
        if (!o->val || !o->val[0])
            continue;
        if (strcmp(o->keyword, "host") == 0 ||
            (strcmp(o->keyword, "hostaddr") == 0 && !host))
            host = o->val;
        else if (strcmp(o->keyword, "port") == 0)
            port = o->val;
    }
    if (!host)
        host = getenv("PGHOST") ? getenv("PGHOST") : "localhost";
    if (!port)
        port = getenv("PGPORT") ? getenv("PGPORT") : "5432";
    snprintf(st->server, sizeof(st->server), "%s:%s", host, port);
    PQconninfoFree(opts);
    return 0;
}

static void
pgs_destroy(struct vg_instance *in)
{
    struct pgs_state *st = vg_instance_data(in);

    if (!st)
        return;
    pg_conn_free(st->conn);
    if (st->timer)
        vg_timer_free(in, st->timer);
    if (st->b)
        vg_batch_unref(in, st->b);
    free(st);
    vg_instance_set_data(in, NULL);
}

static int
pgs_check(struct vg_instance *in, const void *conf)
{
    const struct pgs_conf *c = conf;

    if (c->interval <= 0 || c->timeout <= 0 || c->top_statements < 0 ||
        c->top_tables < 0) {
        vg_log(in, VG_LOG_ERROR, "options 'interval' and 'timeout' must be "
               "positive, 'top_statements' and 'top_tables' not negative");
        return -EINVAL;
    }
    return 0;
}

static int
pgs_init(struct vg_instance *in, void *conf)
{
    struct pgs_state *st = calloc(1, sizeof(*st));
    int rc = -ENOMEM;

    if (!st)
        return -ENOMEM;
    st->in = in;
    st->conf = conf;
    st->wal_prev = -1;
    vg_instance_set_data(in, st);
    if ((rc = server_label(st)) < 0)
        goto fail;
    rc = -ENOMEM;
    st->keys[0] = "application_name";
    st->vals[0] = "vigil";
    st->keys[1] = "dbname";             /* expanded: a DSN or a URI */
    st->vals[1] = st->conf->dsn;
    st->keys[2] = NULL;
    st->vals[2] = NULL;
    if (!(st->conn = pg_conn_new(in, st->keys, st->vals, st->conf->timeout,
                                 on_state, st)) ||
        !(st->timer = vg_timer_new(in, on_tick, st)))
        goto fail;
    return 0;
fail:
    pgs_destroy(in);
    return rc;
}

static int
pgs_start(struct vg_instance *in)
{
    struct pgs_state *st = vg_instance_data(in);

    st->stopped = 0;
    vg_timer_start(in, st->timer, 1, st->conf->interval);
    return 0;
}

static void
pgs_stop(struct vg_instance *in)
{
    struct pgs_state *st = vg_instance_data(in);

    if (!st)
        return;
    st->stopped = 1;
    vg_timer_stop(in, st->timer);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "postgres",
    .summary = "PostgreSQL monitoring: activity, I/O, replication, "
               "statements, vacuum",
    .options = pgs_options,
    .conf_size = sizeof(struct pgs_conf),
    .check = pgs_check,
    .init = pgs_init,
    .start = pgs_start,
    .stop = pgs_stop,
    .destroy = pgs_destroy,
};
