/*
 * output postgres: metrics, histograms, logs and alerts into PostgreSQL
 * (or TimescaleDB) at COPY speed, without ever blocking the loop.
 *
 * A flush is one transaction: BEGIN; upsert the series the cache does not
 * know; COPY samples, histograms and logs; upsert alerts; record a commit
 * token; COMMIT.  So a batch lands whole or not at all, and a retry after
 * a lost connection writes it once; when the link dies while COMMIT is in
 * flight, the token tells on the retry whether it had landed.  A row the
 * server refuses (SQLSTATE class 22 or 23) sends the transaction into a
 * careful mode where halves are tried under savepoints until the refused
 * rows are isolated: the others are committed and the refused ones go to
 * the core's dead-letter file (vg_dead_letter).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <libpq-fe.h>
#include <vigil/plugin.h>

#include "conn.h"
#include "copy.h"
#include "schema.h"
#include "series.h"

#define SERIES_PER_UPSERT 2000
#define ALERT_PARAMS      10
#define BACKOFF_MIN       (VG_SECOND / 2)

struct pg_conf {                        /* the core fills this in */
    char    *dsn;
    int      create_schema;
    int64_t  retention;                 /* ns; 0 = keep */
    int64_t  compress_after;            /* ns; 0 = never (TimescaleDB) */
    int64_t  partitions_ahead;          /* days */
    int64_t  maintenance_interval;      /* ns */
    int64_t  timeout;                   /* ns */
    int64_t  reconnect_max;             /* ns */
    int64_t  series_cache;              /* entries */
    int      copy_format;               /* enum copy_format */
};

enum copy_format {
    COPY_BINARY,
    COPY_TEXT,
};

static const struct vg_option pg_options[] = {
    { .name = "dsn", .type = VG_OPT_STR,
      .flags = VG_OPT_REQUIRED | VG_OPT_SECRET,
      .offset = offsetof(struct pg_conf, dsn),
      .help = "libpq connection string or URI (never logged)" },
    { .name = "create_schema", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct pg_conf, create_schema),
      .help = "create and migrate the tables; false: only check them" },
    { .name = "retention", .type = VG_OPT_DURATION, .def = "0",
      .offset = offsetof(struct pg_conf, retention),
      .help = "drop data older than this (whole days); 0 = keep all" },
    { .name = "compress_after", .type = VG_OPT_DURATION, .def = "0",
      .offset = offsetof(struct pg_conf, compress_after),
      .help = "TimescaleDB: compress chunks older than this; 0 = never" },
    { .name = "partitions_ahead", .type = VG_OPT_INT, .def = "3",
      .offset = offsetof(struct pg_conf, partitions_ahead),
      .help = "daily partitions created ahead of time" },
    { .name = "maintenance_interval", .type = VG_OPT_DURATION, .def = "1h",
      .offset = offsetof(struct pg_conf, maintenance_interval),
      .help = "how often partitions are created and retention applied" },
    { .name = "timeout", .type = VG_OPT_DURATION, .def = "30s",
      .offset = offsetof(struct pg_conf, timeout),
      .help = "connect timeout, and longest wait for the server" },
    { .name = "reconnect_max", .type = VG_OPT_DURATION, .def = "30s",
      .offset = offsetof(struct pg_conf, reconnect_max),
      .help = "longest pause between reconnection attempts" },
    { .name = "series_cache", .type = VG_OPT_INT, .def = "1000000",
      .offset = offsetof(struct pg_conf, series_cache),
      .help = "series ids kept in memory (emptied when full)" },
    { .name = "copy_format", .type = VG_OPT_ENUM, .def = "binary",
      .choices = "binary|text", .offset = offsetof(struct pg_conf, copy_format),
      .help = "COPY format of samples and logs (binary: less server work)" },
    { 0 }
};

enum phase {
    P_DOWN,                             /* waiting to reconnect */
    P_CONNECTING,
    P_SETUP,                            /* schema, partitions */
    P_READY,
};

enum setup_step {
    S_DETECT,                           /* TimescaleDB? */
    S_VERSION,
    S_MIGRATE,
    S_HYPERTABLES,
    S_CHECK,
    S_DONE,
};

enum job_step {
    J_UNSURE,                           /* did the last COMMIT land? */
    J_PARTITIONS,
    J_BEGIN,
    J_SERIES,
    J_SAVEPOINT,
    J_SAMPLES,
    J_HISTOGRAMS,
    J_LOGS,
    J_ALERTS,
    J_RELEASE,
    J_COMMIT,
    J_ROLLBACK_CHUNK,                   /* careful mode: undo one chunk */
    J_ROLLBACK,                         /* then restart carefully */
    J_ABORT,                            /* then give the batch back */
};

struct range {
    uint32_t lo, hi;                    /* event indices [lo, hi) */
};

struct reject {
    uint32_t index;
    size_t   reason;                    /* offset in job.reasons */
};

struct job {
    struct vg_batch  *b;                /* our reference */
    struct vg_flush  *fl;
    uint32_t          n;                /* events in b */
    uint64_t          token;
    int               careful;
    enum job_step     step;
    int               outcome;          /* of J_ABORT */
    char              why[384];

    int64_t          *days;             /* partitions to create first */
    size_t            ndays;
    size_t            days_cap;

    struct pg_series  pending;          /* new series: hash -> id, -1 */
    struct pg_buf     upsert;           /* params: hash, name, labels */
    size_t           *upsert_off;
    size_t            nnew;
    size_t            new_cap;
    size_t            upsert_pos;       /* series sent so far */

    struct range     *stack;            /* careful mode: chunks to try */
    size_t            nstack;
    size_t            stack_cap;
    struct range      cur;
    struct pg_buf     samples;
    struct pg_buf     hists;
    struct pg_buf     logs;
    struct pg_buf     alerts;           /* ALERT_PARAMS strings each */
    size_t           *alert_off;        /* ALERT_PARAMS offsets each */
    size_t            nalerts;
    size_t            alerts_cap;
    size_t            alert_pos;

    struct reject    *rejects;
    size_t            nrejects;
    size_t            rejects_cap;
    struct pg_buf     reasons;
};

struct pg_state {
    struct vg_instance   *in;
    const struct pg_conf *conf;
    const char           *keys[6];
    const char           *vals[6];
    char                  where[256];   /* host, port, db, user for logs */

    struct pg_conn       *conn;
    enum phase            phase;
    struct vg_timer      *reconnect;
    struct vg_timer      *maint;
    int64_t               backoff;      /* ns */
    uint64_t              failures;     /* consecutive connect failures */
    uint64_t              rng;

    enum setup_step       setup;
    int                   version;      /* schema version found */
    int                   rebuilding;   /* migrations run again */
    int                   timescale;
    int                   partitioned[PG_NTIMED];
    int                   maint_due;
    int                   maint_busy;

    struct pg_series      cache;
    int64_t              *days;         /* partitions known to exist */
    size_t                ndays;
    size_t                days_cap;

    struct job            job;
    int                   job_active;
    int                   job_started;

    struct vg_batch      *unsure;       /* COMMIT in flight when lost */
    uint64_t              unsure_token;

    struct pg_buf         sql;
    struct pg_buf         tmp;
    const char          **params;
    size_t                params_cap;
};

static void kick(struct pg_state *st);
static void job_next(struct pg_state *st);
static void setup_next(struct pg_state *st);

/* ------------------------------------------------------------------ */
/* Small helpers                                                       */
/* ------------------------------------------------------------------ */

static uint64_t
rng_next(struct pg_state *st)
{
    /* xorshift64*: tokens and jitter need spread, not secrecy */
    st->rng ^= st->rng >> 12;
    st->rng ^= st->rng << 25;
    st->rng ^= st->rng >> 27;
    return st->rng * UINT64_C(2685821657736338717);
}

static int
days_has(const int64_t *v, size_t n, int64_t day)
{
    size_t i;

    for (i = 0; i < n; i++)
        if (v[i] == day)
            return 1;
    return 0;
}

static int
days_add(int64_t **v, size_t *n, size_t *cap, int64_t day)
{
    if (days_has(*v, *n, day))
        return 0;
    if (*n == *cap) {
        size_t c = *cap ? *cap * 2 : 16;
        int64_t *p = realloc(*v, c * sizeof(*p));

        if (!p)
            return -ENOMEM;
        *v = p;
        *cap = c;
    }
    (*v)[(*n)++] = day;
    return 0;
}

static const char *
sqlstate_of(const PGresult *res)
{
    const char *s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : NULL;

    return s ? s : "";
}

/* Data exceptions and integrity violations: the rows, not the link. */
static int
is_row_error(const PGresult *res)
{
    const char *s = sqlstate_of(res);

    return strncmp(s, "22", 2) == 0 || strncmp(s, "23", 2) == 0;
}

static const char **
params_get(struct pg_state *st, size_t n)
{
    if (n > st->params_cap) {
        const char **p = realloc(st->params, n * sizeof(*p));

        if (!p)
            return NULL;
        st->params = p;
        st->params_cap = n;
    }
    return st->params;
}

/* ------------------------------------------------------------------ */
/* Connection                                                          */
/* ------------------------------------------------------------------ */

static void
schedule_reconnect(struct pg_state *st)
{
    int64_t wait = st->backoff;

    if (wait < BACKOFF_MIN)
        wait = BACKOFF_MIN;
    /* full jitter over the upper half: restarts of many agents spread */
    wait = wait / 2 + (int64_t)(rng_next(st) % (uint64_t)(wait / 2 + 1));
    st->backoff = st->backoff ? st->backoff * 2 : BACKOFF_MIN * 2;
    if (st->backoff > st->conf->reconnect_max)
        st->backoff = st->conf->reconnect_max;
    st->phase = P_DOWN;
    vg_timer_start(st->in, st->reconnect, wait, 0);
}

static void job_end(struct pg_state *st, int outcome, const char *why);

static void
connect_start(struct pg_state *st)
{
    int rc;

    st->phase = P_CONNECTING;
    if ((rc = pg_conn_start(st->conn)) < 0) {
        vg_log(st->in, st->failures++ ? VG_LOG_DEBUG : VG_LOG_WARN,
               "cannot connect to PostgreSQL (%s): %s", st->where,
               pg_conn_error(st->conn));
        vg_count(st->in, "connect_failures", 1);
        schedule_reconnect(st);
        if (st->job_active)
            job_end(st, VG_RETRY, pg_conn_error(st->conn));
    }
}

static void
on_reconnect(struct vg_instance *in, void *arg)
{
    struct pg_state *st = arg;

    (void)in;
    if (st->phase == P_DOWN)
        connect_start(st);
}

/* The link is gone or never came: try again later, fail what waits. */
static void
link_failed(struct pg_state *st, const char *what)
{
    char why[384];

    snprintf(why, sizeof(why), "%s (%s): %s", what, st->where,
             pg_conn_error(st->conn));
    vg_log(st->in, st->failures++ ? VG_LOG_DEBUG : VG_LOG_WARN, "%s", why);
    vg_count(st->in, "connect_failures", 1);
    st->maint_busy = 0;
    schedule_reconnect(st);
    if (st->job_active)
        job_end(st, VG_RETRY, why);
}

static void
on_conn_state(struct pg_conn *c, int rc, void *arg)
{
    struct pg_state *st = arg;
    PGconn *pg = pg_conn_pg(c);

    if (rc < 0) {
        link_failed(st, st->phase == P_CONNECTING ?
                    "cannot connect to PostgreSQL" :
                    "lost the connection to PostgreSQL");
        return;
    }
    vg_log(st->in, st->failures ? VG_LOG_INFO : VG_LOG_DEBUG,
           "connected to PostgreSQL %d (host=%s db=%s user=%s)%s",
           PQserverVersion(pg) / 10000, PQhost(pg), PQdb(pg), PQuser(pg),
           st->failures ? " again" : "");
    st->failures = 0;
    st->backoff = 0;
    st->phase = P_SETUP;
    st->setup = S_DETECT;
    setup_next(st);
}

/* A command could not even be sent: the link is dead or broken. */
static void
send_failed(struct pg_state *st, int rc)
{
    (void)rc;
    pg_conn_close(st->conn);
    link_failed(st, "lost the connection to PostgreSQL");
}

/* ------------------------------------------------------------------ */
/* Setup: schema, partitions, retention                                */
/* ------------------------------------------------------------------ */

static void
setup_failed(struct pg_state *st, const char *why)
{
    char reason[512];

    snprintf(reason, sizeof(reason), "cannot prepare the schema: %s", why);
    vg_log(st->in, VG_LOG_ERROR, "%s", reason);
    vg_count(st->in, "schema_failures", 1);
    pg_conn_close(st->conn);
    /* the schema will not fix itself quickly: wait the longest */
    st->backoff = st->conf->reconnect_max;
    schedule_reconnect(st);
    if (st->job_active)
        job_end(st, VG_RETRY, reason);
}

/* Builds the maintenance SQL: partitions ahead, retention. */
static int
maint_sql(struct pg_state *st, struct pg_buf *b)
{
    int64_t today = pg_day_of(vg_now(st->in));
    int64_t d;
    size_t t;

    b->len = 0;
    for (t = 0; t < PG_NTIMED; t++) {
        if (!st->partitioned[t])
            continue;
        for (d = today - 1; d <= today + st->conf->partitions_ahead; d++)
            if (pg_schema_partition(b, pg_timed_tables[t], d) < 0)
                return -ENOMEM;
    }
    if (pg_schema_retention(b, st->conf->retention / VG_SECOND,
                            st->timescale) < 0)
        return -ENOMEM;
    return pg_buf_addz(b);
}

static void
maint_done_days(struct pg_state *st)
{
    int64_t today = pg_day_of(vg_now(st->in));
    int64_t d, cutoff;
    size_t i, j;

    for (d = today - 1; d <= today + st->conf->partitions_ahead; d++)
        days_add(&st->days, &st->ndays, &st->days_cap, d);
    if (st->conf->retention <= 0)
        return;
    /* forget the days retention dropped, so late rows recreate them */
    cutoff = pg_day_of(vg_now(st->in) - st->conf->retention);
    for (i = j = 0; i < st->ndays; i++)
        if (st->days[i] >= cutoff)
            st->days[j++] = st->days[i];
    st->ndays = j;
}

static void
on_maint_result(struct pg_conn *c, int rc, PGresult *res, void *arg)
{
    struct pg_state *st = arg;

    (void)c;
    st->maint_busy = 0;
    if (rc == -EIO) {
        vg_log(st->in, VG_LOG_WARN, "partition maintenance failed: %s",
               PQresultErrorMessage(res));
        vg_count(st->in, "maintenance_failures", 1);
    } else if (rc == 0) {
        maint_done_days(st);
        vg_log(st->in, VG_LOG_DEBUG, "partitions and retention maintained");
    }
    if (rc == 0 || rc == -EIO) {
        if (st->phase == P_SETUP)
            st->phase = P_READY;
        kick(st);
    }
}

static void
maint_run(struct pg_state *st)
{
    int rc;

    st->maint_due = 0;
    if (maint_sql(st, &st->sql) < 0) {
        setup_failed(st, "out of memory");
        return;
    }
    st->maint_busy = 1;
    if ((rc = pg_conn_query(st->conn, st->sql.data, on_maint_result,
                            st)) < 0) {
        st->maint_busy = 0;
        send_failed(st, rc);
    }
}

static void
on_maint_timer(struct vg_instance *in, void *arg)
{
    struct pg_state *st = arg;

    (void)in;
    st->maint_due = 1;
    kick(st);
}

static void
on_setup_result(struct pg_conn *c, int rc, PGresult *res, void *arg)
{
    struct pg_state *st = arg;
    size_t t;

    (void)c;
    if (rc == -EIO) {
        setup_failed(st, PQresultErrorMessage(res));
        return;
    }
    if (rc < 0)
        return;                         /* on_conn_state reports it */
    switch (st->setup) {
    case S_DETECT:
        st->timescale = PQntuples(res) > 0;
        if (st->timescale)
            vg_log(st->in, VG_LOG_INFO, "TimescaleDB %s found: using "
                   "hypertables", PQgetvalue(res, 0, 0));
        st->setup = st->conf->create_schema ? S_VERSION : S_CHECK;
        break;
    case S_VERSION:
        st->version = atoi(PQgetvalue(res, 0, 0));
        if (st->version > PG_SCHEMA_VERSION)
            vg_log(st->in, VG_LOG_WARN, "schema version %d is newer than "
                   "this vigil's %d: using it as it is", st->version,
                   PG_SCHEMA_VERSION);
        st->setup = st->version < PG_SCHEMA_VERSION ? S_MIGRATE :
                    S_HYPERTABLES;
        break;
    case S_MIGRATE:
        st->version++;
        vg_log(st->in, VG_LOG_INFO, "schema migrated to version %d",
               st->version);
        if (st->version >= PG_SCHEMA_VERSION)
            st->setup = S_HYPERTABLES;
        break;
    case S_HYPERTABLES:
        st->setup = S_CHECK;
        break;
    case S_CHECK:
        if (!PQgetisnull(res, 0, 0) && st->conf->create_schema &&
            !st->rebuilding) {
            /* dropped by hand after it was recorded: the migrations
             * only add what is missing, so running them all again is
             * safe */
            vg_log(st->in, VG_LOG_WARN, "schema incomplete (missing %s): "
                   "creating what is missing", PQgetvalue(res, 0, 0));
            st->rebuilding = 1;
            st->version = 0;
            st->setup = S_MIGRATE;
            break;
        }
        st->rebuilding = 0;
        if (!PQgetisnull(res, 0, 0)) {
            char why[1024];

            snprintf(why, sizeof(why), "missing %s%s",
                     PQgetvalue(res, 0, 0), st->conf->create_schema ? "" :
                     " (create them, or set create_schema: true)");
            setup_failed(st, why);
            return;
        }
        for (t = 0; t < PG_NTIMED; t++)
            st->partitioned[t] = !st->timescale &&
                                 PQgetvalue(res, 0, 1 + (int)t)[0] == 't';
        st->setup = S_DONE;
        break;
    case S_DONE:
        break;
    }
    setup_next(st);
}

static void
setup_next(struct pg_state *st)
{
    const char *sql = NULL;
    int rc;

    switch (st->setup) {
    case S_DETECT:
        sql = "SELECT extversion FROM pg_extension "
              "WHERE extname = 'timescaledb'";
        break;
    case S_VERSION:
        sql = pg_schema_version_sql;
        break;
    case S_MIGRATE:
        if (pg_schema_migration(&st->sql, st->version + 1,
                                !st->timescale) < 0) {
            setup_failed(st, "out of memory");
            return;
        }
        sql = st->sql.data;
        break;
    case S_HYPERTABLES:
        if (!st->timescale) {
            st->setup = S_CHECK;
            setup_next(st);
            return;
        }
        st->sql.len = 0;
        if (pg_schema_hypertables(&st->sql, st->conf->compress_after /
                                  VG_SECOND) < 0 || pg_buf_addz(&st->sql) < 0) {
            setup_failed(st, "out of memory");
            return;
        }
        sql = st->sql.data;
        break;
    case S_CHECK:
        sql = pg_schema_check_sql;
        break;
    case S_DONE:
        /* partitions and retention before the first batch */
        maint_run(st);
        return;
    }
    if ((rc = pg_conn_query(st->conn, sql, on_setup_result, st)) < 0)
        send_failed(st, rc);
}

/* ------------------------------------------------------------------ */
/* Jobs: one flush                                                     */
/* ------------------------------------------------------------------ */

static void
job_reset_chunk(struct job *j)
{
    j->samples.len = j->hists.len = j->logs.len = j->alerts.len = 0;
    j->nalerts = j->alert_pos = 0;
}

static void
job_release(struct pg_state *st, struct job *j)
{
    if (j->b)
        vg_batch_unref(st->in, j->b);
    free(j->days);
    pg_series_release(&j->pending);
    pg_buf_release(&j->upsert);
    free(j->upsert_off);
    free(j->stack);
    pg_buf_release(&j->samples);
    pg_buf_release(&j->hists);
    pg_buf_release(&j->logs);
    pg_buf_release(&j->alerts);
    free(j->alert_off);
    free(j->rejects);
    pg_buf_release(&j->reasons);
    memset(j, 0, sizeof(*j));
}

static void
job_end(struct pg_state *st, int outcome, const char *why)
{
    struct job *j = &st->job;
    struct vg_flush *fl = j->fl;
    char reason[512];

    snprintf(reason, sizeof(reason), "%s", why ? why : "");
    st->job_active = 0;
    st->job_started = 0;
    job_release(st, j);
    vg_flush_done(st->in, fl, outcome, outcome == VG_OK ? NULL : reason);
    kick(st);
}

/* Forgets the unsure commit: the batch it was about is settled. */
static void
unsure_clear(struct pg_state *st)
{
    if (st->unsure) {
        vg_batch_unref(st->in, st->unsure);
        st->unsure = NULL;
    }
}

static int
job_add_series(struct job *j, const struct vg_event *ev)
{
    char hash[24];

    if (pg_series_put(&j->pending, ev->hash, -1) < 0)
        return -ENOMEM;
    if (j->nnew == j->new_cap) {
        size_t c = j->new_cap ? j->new_cap * 2 : 64;
        size_t *p = realloc(j->upsert_off, c * 3 * sizeof(*p));

        if (!p)
            return -ENOMEM;
        j->upsert_off = p;
        j->new_cap = c;
    }
    snprintf(hash, sizeof(hash), "%" PRId64, (int64_t)ev->hash);
    j->upsert_off[j->nnew * 3] = j->upsert.len;
    if (pg_buf_addstr(&j->upsert, hash) < 0 || pg_buf_addz(&j->upsert) < 0)
        return -ENOMEM;
    j->upsert_off[j->nnew * 3 + 1] = j->upsert.len;
    if (pg_utf8_text(&j->upsert, ev->name ? ev->name : "",
                     ev->name ? strlen(ev->name) : 0) < 0 ||
        pg_buf_addz(&j->upsert) < 0)
        return -ENOMEM;
    j->upsert_off[j->nnew * 3 + 2] = j->upsert.len;
    if (pg_json_labels(&j->upsert, ev->labels, ev->nlabels) < 0 ||
        pg_buf_addz(&j->upsert) < 0)
        return -ENOMEM;
    j->nnew++;
    return 0;
}

/* One pass: the partitions and new series the batch needs. */
static int
job_prepare(struct pg_state *st, struct job *j)
{
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    int any_timed = 0;
    int rc = 0;
    size_t t;

    for (t = 0; t < PG_NTIMED; t++)
        any_timed |= st->partitioned[t];
    while (rc == 0 && vg_batch_next(st->in, j->b, &it, &ev) > 0) {
        j->n++;
        if (ev.kind == VG_EV_ALERT)
            continue;
        if (any_timed) {
            int64_t day = pg_day_of(ev.time);

            if (!days_has(st->days, st->ndays, day))
                rc = days_add(&j->days, &j->ndays, &j->days_cap, day);
        }
        if (rc == 0 && ev.kind == VG_EV_METRIC &&
            pg_series_get(&st->cache, ev.hash) == 0 &&
            pg_series_get(&j->pending, ev.hash) == 0)
            rc = job_add_series(j, &ev);
    }
    vg_iter_release(st->in, &it);
    return rc;
}

static int
alert_param(struct job *j, size_t *off, const char *s)
{
    if (!s) {
        *off = (size_t)-1;              /* NULL */
        return 0;
    }
    *off = j->alerts.len;
    if (pg_buf_addstr(&j->alerts, s) < 0 || pg_buf_addz(&j->alerts) < 0)
        return -ENOMEM;
    return 0;
}

static int
alert_encode(struct job *j, const struct vg_event *ev)
{
    char fp[24], buf[40];
    struct pg_buf tb = { 0 };
    size_t *o;
    int rc = -ENOMEM;

    if (j->nalerts == j->alerts_cap) {
        size_t c = j->alerts_cap ? j->alerts_cap * 2 : 8;
        size_t *p = realloc(j->alert_off, c * ALERT_PARAMS * sizeof(*p));

        if (!p)
            return -ENOMEM;
        j->alert_off = p;
        j->alerts_cap = c;
    }
    o = j->alert_off + j->nalerts * ALERT_PARAMS;
    snprintf(fp, sizeof(fp), "%016" PRIx64, ev->hash);
    /* text parameters must be valid UTF-8 too */
    if (alert_param(j, &o[0], fp) < 0)
        goto out;
    if (pg_utf8_text(&tb, ev->rule ? ev->rule : "", ev->rule ?
                     strlen(ev->rule) : 0) < 0 || pg_buf_addz(&tb) < 0 ||
        alert_param(j, &o[1], tb.data) < 0)
        goto out;
    if (alert_param(j, &o[2], pg_alert_severity_text(ev->alert_severity)) < 0 ||
        alert_param(j, &o[3], ev->alert_state == VG_ALERT_RESOLVED ?
                    "resolved" : "firing") < 0)
        goto out;
    tb.len = 0;
    if (ev->summary && (pg_utf8_text(&tb, ev->summary,
                                     strlen(ev->summary)) < 0 ||
                        pg_buf_addz(&tb) < 0))
        goto out;
    if (alert_param(j, &o[4], ev->summary ? tb.data : NULL) < 0)
        goto out;
    tb.len = 0;
    if (ev->description && (pg_utf8_text(&tb, ev->description,
                                         strlen(ev->description)) < 0 ||
                            pg_buf_addz(&tb) < 0))
        goto out;
    if (alert_param(j, &o[5], ev->description ? tb.data : NULL) < 0)
        goto out;
    tb.len = 0;
    if (pg_json_labels(&tb, ev->labels, ev->nlabels) < 0 ||
        pg_buf_addz(&tb) < 0 || alert_param(j, &o[6], tb.data) < 0)
        goto out;
    tb.len = 0;
    if (pg_put_double(&tb, ev->value) < 0 || pg_buf_addz(&tb) < 0 ||
        alert_param(j, &o[7], tb.data) < 0)
        goto out;
    tb.len = 0;
    if (pg_put_time(&tb, ev->starts_at ? ev->starts_at : ev->time) < 0 ||
        pg_buf_addz(&tb) < 0 || alert_param(j, &o[8], tb.data) < 0)
        goto out;
    if (ev->ends_at) {
        tb.len = 0;
        if (pg_put_time(&tb, ev->ends_at) < 0 || pg_buf_addz(&tb) < 0)
            goto out;
        snprintf(buf, sizeof(buf), "%s", tb.data);
    }
    if (alert_param(j, &o[9], ev->ends_at ? buf : NULL) < 0)
        goto out;
    j->nalerts++;
    rc = 0;
out:
    pg_buf_release(&tb);
    return rc;
}

/* The rows of events [lo, hi) into the COPY buffers and alert params. */
static int
job_encode(struct pg_state *st, struct job *j)
{
    struct vg_iter it = VG_ITER_INIT;
    const char *source = vg_pipeline_name(st->in);
    int binary = st->conf->copy_format == COPY_BINARY;
    size_t nsamples = 0, nlogs = 0;
    struct vg_event ev;
    uint32_t i = 0;
    int rc = 0;

    job_reset_chunk(j);
    if (binary && (pg_bin_header(&j->samples) < 0 ||
                   pg_bin_header(&j->logs) < 0))
        return -ENOMEM;
    while (rc == 0 && i < j->cur.hi &&
           vg_batch_next(st->in, j->b, &it, &ev) > 0) {
        int64_t id;

        if (i++ < j->cur.lo)
            continue;
        switch (ev.kind) {
        case VG_EV_METRIC:
            id = pg_series_get(&st->cache, ev.hash);
            if (id <= 0)
                id = pg_series_get(&j->pending, ev.hash);
            if (id <= 0) {
                rc = -ENOENT;
                break;
            }
            if (ev.metric_type == VG_METRIC_HISTOGRAM)
                rc = pg_copy_histogram(&j->hists, &ev, id);
            else if (binary)
                rc = pg_bin_sample(&j->samples, &ev, id);
            else
                rc = pg_copy_sample(&j->samples, &ev, id);
            nsamples += ev.metric_type != VG_METRIC_HISTOGRAM;
            break;
        case VG_EV_LOG:
            rc = binary ? pg_bin_log(&j->logs, &ev, source) :
                 pg_copy_log(&j->logs, &st->tmp, &ev, source);
            nlogs++;
            break;
        case VG_EV_ALERT:
            rc = alert_encode(j, &ev);
            break;
        default:
            break;
        }
    }
    vg_iter_release(st->in, &it);
    /* an empty buffer means: no COPY for this table */
    if (rc == 0 && binary) {
        if (!nsamples)
            j->samples.len = 0;
        else
            rc = pg_bin_trailer(&j->samples);
        if (!nlogs)
            j->logs.len = 0;
        else if (rc == 0)
            rc = pg_bin_trailer(&j->logs);
    }
    return rc;
}

static int
job_push_range(struct job *j, uint32_t lo, uint32_t hi)
{
    if (lo >= hi)
        return 0;
    if (j->nstack == j->stack_cap) {
        size_t c = j->stack_cap ? j->stack_cap * 2 : 16;
        struct range *p = realloc(j->stack, c * sizeof(*p));

        if (!p)
            return -ENOMEM;
        j->stack = p;
        j->stack_cap = c;
    }
    j->stack[j->nstack].lo = lo;
    j->stack[j->nstack].hi = hi;
    j->nstack++;
    return 0;
}

static int
job_reject(struct job *j, uint32_t index, const char *why)
{
    if (j->nrejects == j->rejects_cap) {
        size_t c = j->rejects_cap ? j->rejects_cap * 2 : 8;
        struct reject *p = realloc(j->rejects, c * sizeof(*p));

        if (!p)
            return -ENOMEM;
        j->rejects = p;
        j->rejects_cap = c;
    }
    j->rejects[j->nrejects].index = index;
    j->rejects[j->nrejects].reason = j->reasons.len;
    if (pg_buf_addstr(&j->reasons, "rejected by PostgreSQL: ") < 0 ||
        pg_buf_add(&j->reasons, why, strcspn(why, "\n")) < 0 ||
        pg_buf_addz(&j->reasons) < 0)
        return -ENOMEM;
    j->nrejects++;
    return 0;
}

/* Careful mode picks the next chunk; -1 when none is left. */
static int
job_pop_chunk(struct job *j)
{
    if (!j->nstack)
        return -1;
    j->cur = j->stack[--j->nstack];
    return 0;
}

/* Sorted rejects keep the dead-letter pass to one walk of the batch. */
static int
cmp_reject(const void *a, const void *b)
{
    const struct reject *x = a, *y = b;

    return x->index < y->index ? -1 : x->index > y->index;
}

/* The rows PostgreSQL refused go to the dead-letter file, each with the
 * server's reason; the core counts and logs them. */
static void
dead_letter_rejects(struct pg_state *st, struct job *j)
{
    uint32_t *index = calloc(j->nrejects, sizeof(*index));
    const char **reason = calloc(j->nrejects, sizeof(*reason));
    size_t i;

    qsort(j->rejects, j->nrejects, sizeof(*j->rejects), cmp_reject);
    if (index && reason) {
        for (i = 0; i < j->nrejects; i++) {
            index[i] = j->rejects[i].index;
            reason[i] = j->reasons.data + j->rejects[i].reason;
        }
        vg_dead_letter(st->in, j->b, index, reason, j->nrejects, 1);
    } else {
        vg_log(st->in, VG_LOG_ERROR, "%zu events rejected by PostgreSQL are "
               "lost: out of memory (first: %s)", j->nrejects,
               j->reasons.data);
        vg_count(st->in, "dropped_dead_letter_failed", (int64_t)j->nrejects);
    }
    free(index);
    free(reason);
}

static void
job_committed(struct pg_state *st)
{
    struct job *j = &st->job;
    size_t i;

    /* the new series exist now: remember their ids */
    if (st->cache.n + j->pending.n > (size_t)st->conf->series_cache)
        pg_series_clear(&st->cache);
    for (i = 0; i < j->pending.cap; i++)
        if (j->pending.slots[i].id > 0)
            pg_series_put(&st->cache, j->pending.slots[i].hash,
                          j->pending.slots[i].id);
    vg_count(st->in, "events_written", (int64_t)(j->n - j->nrejects));
    if (j->nrejects) {
        vg_count(st->in, "events_rejected", (int64_t)j->nrejects);
        dead_letter_rejects(st, j);
    }
    job_end(st, VG_OK, NULL);
}

static void
on_job_result(struct pg_conn *c, int rc, PGresult *res, void *arg)
{
    struct pg_state *st = arg;
    struct job *j = &st->job;
    int i, n;

    (void)c;
    if (rc < 0 && rc != -EIO) {
        /* the link is gone: the transaction is void, except a COMMIT
         * whose answer got lost, which the token settles on the retry */
        if (j->step == J_COMMIT) {
            unsure_clear(st);
            st->unsure = j->b;
            vg_batch_ref(st->in, j->b);
            st->unsure_token = j->token;
        }
        return;                         /* on_conn_state ends the job */
    }
    if (rc == -EIO) {
        const char *msg = PQresultErrorMessage(res);
        const char *state = sqlstate_of(res);

        switch (j->step) {
        case J_SAMPLES:
        case J_HISTOGRAMS:
        case J_LOGS:
        case J_ALERTS:
            if (is_row_error(res)) {
                if (!j->careful) {
                    vg_log(st->in, VG_LOG_DEBUG, "batch refused (%s): %.*s; "
                           "looking for the bad rows", state,
                           (int)strcspn(msg, "\n"), msg);
                    j->step = J_ROLLBACK;
                } else {
                    if (j->cur.hi - j->cur.lo == 1) {
                        if (job_reject(j, j->cur.lo, msg) < 0)
                            goto nomem;
                    } else {
                        uint32_t mid = j->cur.lo + (j->cur.hi - j->cur.lo) / 2;

                        /* the upper half first on the stack: the lower
                         * half runs first and rows stay in order */
                        if (job_push_range(j, mid, j->cur.hi) < 0 ||
                            job_push_range(j, j->cur.lo, mid) < 0)
                            goto nomem;
                    }
                    j->step = J_ROLLBACK_CHUNK;
                }
                job_next(st);
                return;
            }
            break;
        case J_ROLLBACK:
        case J_ROLLBACK_CHUNK:
        case J_ABORT:
            /* a transaction that will not roll back must not be reused:
             * a new connection starts clean, and the batch is retried */
            pg_conn_close(st->conn);
            link_failed(st, "cannot roll back, reconnecting to PostgreSQL");
            return;
        default:
            break;
        }
        /* anything else: the batch is not at fault; undo, retry later */
        snprintf(j->why, sizeof(j->why), "%.*s", (int)strcspn(msg, "\n"),
                 msg);
        if (strncmp(state, "42", 2) == 0 || strncmp(state, "3F", 2) == 0) {
            /* a table or column went away: check the schema again */
            st->phase = P_SETUP;
            st->setup = S_DETECT;
        }
        if (j->step == J_UNSURE || j->step == J_PARTITIONS) {
            job_end(st, VG_RETRY, j->why);
            return;
        }
        j->outcome = VG_RETRY;
        j->step = J_ABORT;
        job_next(st);
        return;
    }
    switch (j->step) {
    case J_UNSURE:
        if (PQntuples(res) > 0) {
            vg_log(st->in, VG_LOG_INFO, "the batch whose COMMIT went "
                   "unanswered had landed: not written again");
            unsure_clear(st);
            job_end(st, VG_OK, NULL);
            return;
        }
        unsure_clear(st);
        j->step = j->ndays ? J_PARTITIONS : J_BEGIN;
        break;
    case J_PARTITIONS:
        for (i = 0; i < (int)j->ndays; i++)
            days_add(&st->days, &st->ndays, &st->days_cap, j->days[i]);
        j->step = J_BEGIN;
        break;
    case J_BEGIN:
        j->upsert_pos = 0;
        j->nstack = 0;
        j->cur.lo = 0;
        j->cur.hi = j->n;
        j->step = j->nnew ? J_SERIES : J_SAVEPOINT;
        break;
    case J_SERIES:
        n = PQntuples(res);
        for (i = 0; i < n; i++) {
            uint64_t hash = (uint64_t)strtoll(PQgetvalue(res, i, 0), NULL,
                                              10);
            int64_t id = strtoll(PQgetvalue(res, i, 1), NULL, 10);

            if (pg_series_put(&j->pending, hash, id) < 0)
                goto nomem;
        }
        if (j->upsert_pos >= j->nnew)
            j->step = J_SAVEPOINT;
        break;
    case J_SAVEPOINT:
        j->step = J_SAMPLES;
        break;
    case J_SAMPLES:
        j->step = J_HISTOGRAMS;
        break;
    case J_HISTOGRAMS:
        j->step = J_LOGS;
        break;
    case J_LOGS:
        j->step = J_ALERTS;
        break;
    case J_ALERTS:
        if (j->alert_pos >= j->nalerts)
            j->step = j->careful ? J_RELEASE : J_COMMIT;
        break;
    case J_RELEASE:
    case J_ROLLBACK_CHUNK:
        j->step = j->careful && job_pop_chunk(j) == 0 ? J_SAVEPOINT :
                  J_COMMIT;
        break;
    case J_COMMIT:
        job_committed(st);
        return;
    case J_ROLLBACK:
        /* again, carefully: savepoints around halves of the batch */
        j->careful = 1;
        pg_series_release(&j->pending);
        pg_series_init(&j->pending);
        for (i = 0; i < (int)j->nnew; i++) {
            const char *h = j->upsert.data + j->upsert_off[i * 3];

            if (pg_series_put(&j->pending, (uint64_t)strtoll(h, NULL, 10),
                              -1) < 0)
                goto nomem;
        }
        j->step = J_BEGIN;
        break;
    case J_ABORT:
        job_end(st, j->outcome, j->why);
        return;
    }
    job_next(st);
    return;
nomem:
    snprintf(j->why, sizeof(j->why), "out of memory");
    j->outcome = VG_RETRY;
    j->step = J_ABORT;
    job_next(st);
}

static void
job_next(struct pg_state *st)
{
    struct job *j = &st->job;
    const char **vals = NULL;
    char sql[160];
    size_t i, k;
    int rc = 0;

    for (;;) {
        switch (j->step) {
        case J_UNSURE:
            snprintf(sql, sizeof(sql), "SELECT 1 FROM vigil_commits "
                     "WHERE token = %" PRId64, (int64_t)st->unsure_token);
            rc = pg_conn_query(st->conn, sql, on_job_result, st);
            break;
        case J_PARTITIONS:
            st->sql.len = 0;
            for (i = 0; i < j->ndays && rc == 0; i++)
                for (k = 0; k < PG_NTIMED && rc == 0; k++)
                    if (st->partitioned[k])
                        rc = pg_schema_partition(&st->sql,
                                                 pg_timed_tables[k],
                                                 j->days[i]);
            if (rc == 0)
                rc = pg_buf_addz(&st->sql);
            if (rc == 0)
                rc = pg_conn_query(st->conn, st->sql.data, on_job_result,
                                   st);
            break;
        case J_BEGIN:
            rc = pg_conn_query(st->conn, "BEGIN", on_job_result, st);
            break;
        case J_SERIES:
            k = j->nnew - j->upsert_pos;
            if (k > SERIES_PER_UPSERT)
                k = SERIES_PER_UPSERT;
            st->sql.len = 0;
            rc = pg_buf_addstr(&st->sql, "INSERT INTO vigil_series "
                               "(hash, name, labels) VALUES ");
            for (i = 0; i < k && rc == 0; i++) {
                char row[64];

                snprintf(row, sizeof(row), "%s($%zu, $%zu, $%zu)",
                         i ? ", " : "", i * 3 + 1, i * 3 + 2, i * 3 + 3);
                rc = pg_buf_addstr(&st->sql, row);
            }
            if (rc == 0)
                rc = pg_buf_addstr(&st->sql, " ON CONFLICT (hash) DO UPDATE "
                                   "SET name = EXCLUDED.name "
                                   "RETURNING hash, id");
            if (rc == 0)
                rc = pg_buf_addz(&st->sql);
            if (rc == 0 && !(vals = params_get(st, k * 3)))
                rc = -ENOMEM;
            if (rc != 0)
                break;
            for (i = 0; i < k * 3; i++)
                vals[i] = j->upsert.data +
                          j->upsert_off[j->upsert_pos * 3 + i];
            j->upsert_pos += k;
            rc = pg_conn_params(st->conn, st->sql.data, (int)(k * 3), vals,
                                on_job_result, st);
            break;
        case J_SAVEPOINT:
            if (!j->careful) {
                if ((rc = job_encode(st, j)) < 0)
                    break;
                j->step = J_SAMPLES;
                continue;
            }
            if ((rc = job_encode(st, j)) < 0)
                break;
            rc = pg_conn_query(st->conn, "SAVEPOINT vigil_chunk",
                               on_job_result, st);
            break;
        case J_SAMPLES:
            if (!j->samples.len) {
                j->step = J_HISTOGRAMS;
                continue;
            }
            rc = pg_conn_copy(st->conn, st->conf->copy_format == COPY_BINARY ?
                              "COPY vigil_samples (time, series_id, value) "
                              "FROM STDIN WITH (FORMAT binary)" :
                              "COPY vigil_samples (time, series_id, value) "
                              "FROM STDIN", j->samples.data, j->samples.len,
                              on_job_result, st);
            break;
        case J_HISTOGRAMS:
            if (!j->hists.len) {
                j->step = J_LOGS;
                continue;
            }
            rc = pg_conn_copy(st->conn, "COPY vigil_histograms "
                              "(time, series_id, bounds, counts, sum, count) "
                              "FROM STDIN", j->hists.data, j->hists.len,
                              on_job_result, st);
            break;
        case J_LOGS:
            if (!j->logs.len) {
                j->step = J_ALERTS;
                continue;
            }
            rc = pg_conn_copy(st->conn, st->conf->copy_format == COPY_BINARY ?
                              "COPY vigil_logs (time, severity, "
                              "severity_text, body, attributes, labels, "
                              "source) FROM STDIN WITH (FORMAT binary)" :
                              "COPY vigil_logs (time, severity, "
                              "severity_text, body, attributes, labels, "
                              "source) FROM STDIN", j->logs.data,
                              j->logs.len, on_job_result, st);
            break;
        case J_ALERTS:
            if (j->alert_pos >= j->nalerts) {
                j->step = j->careful ? J_RELEASE : J_COMMIT;
                continue;
            }
            if (!(vals = params_get(st, ALERT_PARAMS))) {
                rc = -ENOMEM;
                break;
            }
            for (i = 0; i < ALERT_PARAMS; i++) {
                size_t off = j->alert_off[j->alert_pos * ALERT_PARAMS + i];

                vals[i] = off == (size_t)-1 ? NULL : j->alerts.data + off;
            }
            j->alert_pos++;
            /* a resolved alert updates the row its firing inserted */
            rc = pg_conn_params(st->conn, "INSERT INTO vigil_alerts "
                                "(fingerprint, rule, severity, state, "
                                "summary, description, labels, value, "
                                "starts_at, ends_at) VALUES ($1, $2, $3, $4, "
                                "$5, $6, $7, $8, $9, $10) "
                                "ON CONFLICT (fingerprint, starts_at) DO "
                                "UPDATE SET state = EXCLUDED.state, "
                                "severity = EXCLUDED.severity, "
                                "summary = EXCLUDED.summary, "
                                "description = EXCLUDED.description, "
                                "value = EXCLUDED.value, "
                                "ends_at = EXCLUDED.ends_at, "
                                "updated_at = now()", ALERT_PARAMS, vals,
                                on_job_result, st);
            break;
        case J_RELEASE:
            rc = pg_conn_query(st->conn, "RELEASE SAVEPOINT vigil_chunk",
                               on_job_result, st);
            break;
        case J_COMMIT:
            snprintf(sql, sizeof(sql), "INSERT INTO vigil_commits (token) "
                     "VALUES (%" PRId64 "); COMMIT", (int64_t)j->token);
            rc = pg_conn_query(st->conn, sql, on_job_result, st);
            break;
        case J_ROLLBACK_CHUNK:
            rc = pg_conn_query(st->conn, "ROLLBACK TO SAVEPOINT vigil_chunk",
                               on_job_result, st);
            break;
        case J_ROLLBACK:
        case J_ABORT:
            rc = pg_conn_query(st->conn, "ROLLBACK", on_job_result, st);
            break;
        }
        break;
    }
    if (rc == -ENOMEM || rc == -ENOENT) {
        /* nothing was sent: the transaction, if any, is still open */
        snprintf(j->why, sizeof(j->why), "%s", rc == -ENOMEM ?
                 "out of memory" : "a series id is missing");
        if (j->step == J_UNSURE || j->step == J_PARTITIONS ||
            j->step == J_ABORT || j->step == J_ROLLBACK) {
            job_end(st, VG_RETRY, j->why);
            return;
        }
        j->outcome = VG_RETRY;
        j->step = J_ABORT;
        job_next(st);
        return;
    }
    if (rc < 0)
        send_failed(st, rc);
}

static void
job_start(struct pg_state *st)
{
    struct job *j = &st->job;

    st->job_started = 1;
    /* here, not in flush: which tables are partitioned is known now */
    if (job_prepare(st, j) < 0) {
        job_end(st, VG_RETRY, "out of memory");
        return;
    }
    if (st->unsure && st->unsure != j->b)
        unsure_clear(st);
    if (st->unsure)
        j->step = J_UNSURE;
    else
        j->step = j->ndays ? J_PARTITIONS : J_BEGIN;
    job_next(st);
}

/* Runs what is due, in order: setup, maintenance, then the batch. */
static void
kick(struct pg_state *st)
{
    if (!pg_conn_is_up(st->conn) || !pg_conn_is_idle(st->conn))
        return;
    if (st->phase == P_SETUP) {
        if (st->setup == S_DETECT && !st->maint_busy)
            setup_next(st);
        return;
    }
    if (st->phase != P_READY || st->maint_busy)
        return;
    if (st->maint_due) {
        maint_run(st);
        return;
    }
    if (st->job_active && !st->job_started)
        job_start(st);
}

/* ------------------------------------------------------------------ */
/* Plugin callbacks                                                    */
/* ------------------------------------------------------------------ */

static void
pg_flush(struct vg_instance *in, struct vg_batch *b, struct vg_flush *fl)
{
    struct pg_state *st = vg_instance_data(in);
    struct job *j = &st->job;

    if (st->job_active) {
        vg_flush_done(in, fl, VG_RETRY, "a flush is already in progress");
        return;
    }
    memset(j, 0, sizeof(*j));
    vg_batch_ref(in, b);
    j->b = b;
    j->fl = fl;
    j->token = rng_next(st) >> 1;
    pg_series_init(&j->pending);
    st->job_active = 1;
    st->job_started = 0;
    if (vg_batch_count(in, b) == 0) {
        job_end(st, VG_OK, NULL);
        return;
    }
    if (st->phase == P_DOWN) {
        /* a batch waits: try now rather than at the next backoff tick;
         * the core's retry backoff paces a server that stays down */
        vg_timer_stop(in, st->reconnect);
        connect_start(st);
        return;
    }
    kick(st);
}

static void
pg_state_free(struct pg_state *st)
{
    if (!st)
        return;
    if (st->conn)
        pg_conn_free(st->conn);
    pg_series_release(&st->cache);
    free(st->days);
    pg_buf_release(&st->sql);
    pg_buf_release(&st->tmp);
    free(st->params);
    free(st);
}

/* "host=... port=... db=... user=..." from the DSN, for log lines. */
static int
describe(struct pg_state *st, const char *dsn)
{
    PQconninfoOption *opts, *o;
    const char *host = NULL, *port = NULL, *db = NULL, *user = NULL;
    char *err = NULL;

    if (!(opts = PQconninfoParse(dsn, &err))) {
        /* the message may quote the DSN, which may hold a password */
        PQfreemem(err);
        return -EINVAL;
    }
    for (o = opts; o->keyword; o++) {
        if (!o->val)
            continue;
        if (!strcmp(o->keyword, "host"))
            host = o->val;
        else if (!strcmp(o->keyword, "port"))
            port = o->val;
        else if (!strcmp(o->keyword, "dbname"))
            db = o->val;
        else if (!strcmp(o->keyword, "user"))
            user = o->val;
    }
    snprintf(st->where, sizeof(st->where), "host=%s port=%s db=%s user=%s",
             host ? host : "(default)", port ? port : "(default)",
             db ? db : "(default)", user ? user : "(default)");
    PQconninfoFree(opts);
    return 0;
}

/* Option ranges, and a DSN that libpq can read. */
static int
pg_check(struct vg_instance *in, const void *conf)
{
    const struct pg_conf *c = conf;
    PQconninfoOption *opts;
    char *why = NULL;

    if (c->partitions_ahead < 0 || c->partitions_ahead > 366) {
        vg_log(in, VG_LOG_ERROR, "option 'partitions_ahead' must be within "
               "0..366, not %" PRId64, c->partitions_ahead);
        return -EINVAL;
    }
    if (c->maintenance_interval < VG_SECOND || c->timeout < VG_MILLISECOND ||
        c->reconnect_max < VG_MILLISECOND) {
        vg_log(in, VG_LOG_ERROR, "options 'maintenance_interval' (>= 1s), "
               "'timeout' and 'reconnect_max' must be positive");
        return -EINVAL;
    }
    if (c->retention < 0 || (c->retention > 0 &&
                             c->retention < 86400 * VG_SECOND)) {
        vg_log(in, VG_LOG_ERROR, "option 'retention' must be 0 (keep all) "
               "or at least 1d: data is dropped by whole days");
        return -EINVAL;
    }
    if (c->series_cache < 1) {
        vg_log(in, VG_LOG_ERROR, "option 'series_cache' must be positive");
        return -EINVAL;
    }
    if (!(opts = PQconninfoParse(c->dsn, &why))) {
        /* libpq's message may quote the DSN, which may hold a password */
        PQfreemem(why);
        vg_log(in, VG_LOG_ERROR, "option 'dsn' is not a valid connection "
               "string or URI");
        return -EINVAL;
    }
    PQconninfoFree(opts);
    return 0;
}

static int
pg_init(struct vg_instance *in, void *conf)
{
    const struct pg_conf *c = conf;
    struct pg_state *st = NULL;
    int rc = -EINVAL;

    if (!VG_API_HAS(in, dead_letter)) {
        vg_log(in, VG_LOG_ERROR, "this vigil is older than the plugin: it "
               "cannot dead-letter rejected rows");
        goto fail;
    }
    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))))
        goto fail;
    st->in = in;
    st->conf = c;
    if (describe(st, c->dsn) < 0) {
        vg_log(in, VG_LOG_ERROR, "option 'dsn' is not a valid connection "
               "string or URI");
        rc = -EINVAL;
        goto fail;
    }
    /* later keys win over the DSN's, earlier ones are defaults */
    st->keys[0] = "application_name";
    st->vals[0] = "vigil";
    st->keys[1] = "dbname";
    st->vals[1] = c->dsn;
    st->keys[2] = "client_encoding";    /* the encoders write UTF-8 */
    st->vals[2] = "UTF8";
    st->keys[3] = NULL;
    st->vals[3] = NULL;
    st->rng = (uint64_t)vg_now(in) ^ ((uint64_t)getpid() << 32) ^
              (uint64_t)(uintptr_t)st;
    if (!st->rng)
        st->rng = 1;
    pg_series_init(&st->cache);
    if (!(st->conn = pg_conn_new(in, st->keys, st->vals, c->timeout,
                                 on_conn_state, st)) ||
        !(st->reconnect = vg_timer_new(in, on_reconnect, st)) ||
        !(st->maint = vg_timer_new(in, on_maint_timer, st)))
        goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    pg_state_free(st);
    return rc;
}

static int
pg_start(struct vg_instance *in)
{
    struct pg_state *st = vg_instance_data(in);

    vg_timer_start(in, st->maint, st->conf->maintenance_interval,
                   st->conf->maintenance_interval);
    connect_start(st);
    return 0;
}

/* Flushes after stop (the drain) still go out on the connection. */
static void
pg_stop(struct vg_instance *in)
{
    struct pg_state *st = vg_instance_data(in);

    vg_timer_stop(in, st->maint);
}

static void
pg_destroy(struct vg_instance *in)
{
    struct pg_state *st = vg_instance_data(in);

    if (!st)
        return;
    pg_conn_close(st->conn);
    /* a flush still waiting is the core's to forget: the queue frees it
     * and a replayable input sends its events again after a restart */
    if (st->job_active) {
        st->job_active = 0;
        job_release(st, &st->job);
    }
    unsure_clear(st);
    vg_timer_free(in, st->reconnect);
    vg_timer_free(in, st->maint);
    pg_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_OUTPUT,
    .name = "postgres",
    .summary = "metrics, logs and alerts into PostgreSQL/TimescaleDB by COPY",
    .options = pg_options,
    .conf_size = sizeof(struct pg_conf),
    .check = pg_check,
    .init = pg_init,
    .start = pg_start,
    .flush = pg_flush,
    .stop = pg_stop,
    .destroy = pg_destroy,
};
