/*
 * input generate: synthetic metrics and log lines at a configured rate, for
 * tests, demos and benchmarks.  Every event carries a sequence number
 * (1, 2, ...; the metric's value, the log's `seq` attribute) so a test can
 * check that each one arrived exactly once and in order.
 *
 * Events are owed by a periodic tick (rate * interval, fractions carried
 * over) or, at rate 0, without limit; a one-shot 0-delay "drain" timer pays
 * them off one batch per loop iteration so other watchers keep running.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <vigil/plugin.h>

enum gen_kind {
    GEN_METRIC,
    GEN_LOG,
    GEN_BOTH,
};

/* Owed steps are sums of fractions: 0.1 * 10 must make a whole step. */
#define OWED_EPS 1e-9

struct gen_conf {                       /* the core fills this in */
    double          rate;               /* steps per second; 0 = unlimited */
    int64_t         count;              /* steps in all; 0 = unlimited */
    int             kind;               /* enum gen_kind */
    int64_t         batch_size;         /* events per batch, at most */
    int64_t         interval;           /* ns between ticks */
    int64_t         series;             /* distinct metric series */
    char           *metric;
    char           *message;
    struct vg_map   labels;
    int             exit_when_done;
};

struct gen_state {
    const struct gen_conf *conf;
    struct vg_timer *tick;              /* adds what rate * interval owes */
    struct vg_timer *drain;             /* emits one batch, rearms itself */
    uint64_t         seq;               /* last sequence number emitted */
    double           owed;              /* steps due, not yet emitted */
    int              running;
    int              paused;            /* by backpressure */
    struct vg_kv    *mlabels;           /* static labels + series label */
    uint32_t         nmlabels;
    struct vg_kv    *llabels;           /* static labels (logs) */
    uint32_t         nllabels;
    char             series_val[24];    /* value of the series label */
    char            *body;              /* message with %d expanded */
    size_t           body_cap;
};

static const struct vg_option gen_options[] = {
    { .name = "rate", .type = VG_OPT_DOUBLE, .def = "10",
      .offset = offsetof(struct gen_conf, rate),
      .help = "events per second (kind both: pairs); 0 = unlimited" },
    { .name = "count", .type = VG_OPT_INT, .def = "0",
      .offset = offsetof(struct gen_conf, count),
      .help = "events in all (kind both: pairs), then stop; 0 = unlimited" },
    { .name = "kind", .type = VG_OPT_ENUM, .def = "metric",
      .choices = "metric|log|both", .offset = offsetof(struct gen_conf, kind),
      .help = "generate metrics, log lines, or both" },
    { .name = "batch_size", .type = VG_OPT_INT, .def = "500",
      .offset = offsetof(struct gen_conf, batch_size),
      .help = "most events in one batch" },
    { .name = "interval", .type = VG_OPT_DURATION, .def = "1s",
      .offset = offsetof(struct gen_conf, interval),
      .help = "how often batches are emitted at a finite rate" },
    { .name = "series", .type = VG_OPT_INT, .def = "1",
      .offset = offsetof(struct gen_conf, series),
      .help = "distinct metric series, labelled series=\"0\", \"1\", ..." },
    { .name = "metric", .type = VG_OPT_STR, .def = "vigil.generate",
      .offset = offsetof(struct gen_conf, metric),
      .help = "metric name" },
    { .name = "message", .type = VG_OPT_STR, .def = "generated log line %d",
      .offset = offsetof(struct gen_conf, message),
      .help = "log body; %d becomes the sequence number" },
    { .name = "labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct gen_conf, labels),
      .help = "static labels added to every event" },
    { .name = "exit_when_done", .type = VG_OPT_BOOL, .def = "false",
      .offset = offsetof(struct gen_conf, exit_when_done),
      .help = "end the pipeline once count events were generated" },
    { 0 }
};

/* Appends s to the body buffer, growing it; -ENOMEM on failure. */
static int
body_add(struct gen_state *st, size_t *len, const char *s, size_t n)
{
    if (!st->body || *len + n + 1 > st->body_cap) {
        size_t cap = st->body_cap ? st->body_cap : 64;
        char *p;

        while (cap < *len + n + 1)
            cap *= 2;
        if (!(p = realloc(st->body, cap)))
            return -ENOMEM;
        st->body = p;
        st->body_cap = cap;
    }
    memcpy(st->body + *len, s, n);
    *len += n;
    st->body[*len] = '\0';
    return 0;
}

/*
 * The message is the user's text, never a printf format: only "%d" (the
 * sequence number) and "%%" are expanded, anything else is copied as is.
 */
static int
body_format(struct gen_state *st, uint64_t seq, size_t *len)
{
    const char *m = st->conf->message;
    char num[24];
    int rc = 0;

    *len = 0;
    while (*m && rc == 0) {
        const char *pct = strchr(m, '%');

        if (!pct) {
            rc = body_add(st, len, m, strlen(m));
            break;
        }
        rc = body_add(st, len, m, (size_t)(pct - m));
        if (rc == 0 && pct[1] == 'd') {
            int n = snprintf(num, sizeof(num), "%" PRIu64, seq);

            rc = body_add(st, len, num, (size_t)n);
            m = pct + 2;
        } else if (rc == 0 && pct[1] == '%') {
            rc = body_add(st, len, "%", 1);
            m = pct + 2;
        } else if (rc == 0) {
            rc = body_add(st, len, "%", 1);
            m = pct + 1;
        }
    }
    if (rc == 0 && !st->body)
        rc = body_add(st, len, "", 0);
    return rc;
}

static uint64_t
steps_left(const struct gen_state *st)
{
    if (st->conf->count == 0)
        return UINT64_MAX;
    return (uint64_t)st->conf->count - st->seq;
}

static void
gen_finish(struct vg_instance *in, struct gen_state *st)
{
    st->running = 0;
    vg_timer_stop(in, st->tick);
    vg_timer_stop(in, st->drain);
    vg_log(in, VG_LOG_DEBUG, "generated %" PRIu64 " events, done", st->seq);
    if (st->conf->exit_when_done)
        vg_input_done(in);
}

/* Adds the events of one step (one sequence number) to b. */
static int
gen_step(struct vg_instance *in, struct gen_state *st, struct vg_batch *b,
         uint64_t seq, int64_t time)
{
    const struct gen_conf *c = st->conf;
    struct vg_event ev;
    int rc = 0;

    if (c->kind == GEN_METRIC || c->kind == GEN_BOTH) {
        memset(&ev, 0, sizeof(ev));
        ev.kind = VG_EV_METRIC;
        ev.time = time;
        ev.name = c->metric;
        ev.metric_type = VG_METRIC_GAUGE;
        ev.value = (double)seq;
        snprintf(st->series_val, sizeof(st->series_val), "%" PRIu64,
                 (seq - 1) % (uint64_t)c->series);
        st->mlabels[st->nmlabels - 1].len = (uint32_t)strlen(st->series_val);
        ev.labels = st->mlabels;
        ev.nlabels = st->nmlabels;
        rc = vg_batch_add(in, b, &ev);
    }
    if (rc == 0 && (c->kind == GEN_LOG || c->kind == GEN_BOTH)) {
        struct vg_kv attr = { .key = "seq", .key_len = 3,
                              .type = VG_VAL_INT, .v.i = (int64_t)seq };
        size_t len;

        if ((rc = body_format(st, seq, &len)) < 0)
            return rc;
        memset(&ev, 0, sizeof(ev));
        ev.kind = VG_EV_LOG;
        ev.time = time + (c->kind == GEN_BOTH);
        ev.severity = VG_SEV_INFO;
        ev.body = st->body;
        ev.body_len = (uint32_t)len;
        ev.attrs = &attr;
        ev.nattrs = 1;
        ev.labels = st->llabels;
        ev.nlabels = st->nllabels;
        rc = vg_batch_add(in, b, &ev);
    }
    return rc;
}

static void
on_drain(struct vg_instance *in, void *arg)
{
    struct gen_state *st = arg;
    const struct gen_conf *c = st->conf;
    uint64_t per_step = c->kind == GEN_BOTH ? 2 : 1;
    uint64_t steps = (uint64_t)c->batch_size / per_step;
    uint64_t left = steps_left(st);
    struct vg_batch *b;
    int64_t now;
    uint64_t i;
    int rc = 0;

    if (!st->running || st->paused)
        return;
    if (steps == 0)
        steps = 1;
    if (c->rate > 0 && (double)steps > st->owed + OWED_EPS)
        steps = (uint64_t)(st->owed + OWED_EPS);
    if (steps > left)
        steps = left;
    if (steps == 0)
        return;

    b = vg_batch_new(in, steps * per_step * (96 + strlen(c->metric)));
    now = vg_now(in);
    for (i = 0; i < steps && rc == 0; i++) {
        uint64_t seq = st->seq + 1;

        /* 1 ns apart per event, so the order survives any sort by time */
        rc = gen_step(in, st, b, seq, now + (int64_t)(i * per_step));
        if (rc == 0)
            st->seq = seq;
    }
    if (rc < 0)
        vg_log(in, VG_LOG_ERROR, "cannot build event %" PRIu64 ": %s",
               st->seq + 1, strerror(-rc));
    vg_emit(in, b);
    if (rc < 0) {
        /* the same event would fail again: stop rather than spin */
        gen_finish(in, st);
        return;
    }

    if (c->rate > 0)
        st->owed -= (double)i;
    if (steps_left(st) == 0)
        gen_finish(in, st);
    else if (c->rate == 0 || st->owed + OWED_EPS >= 1)
        vg_timer_start(in, st->drain, 0, 0);
}

static void
on_tick(struct vg_instance *in, void *arg)
{
    struct gen_state *st = arg;
    const struct gen_conf *c = st->conf;

    if (!st->running)
        return;
    st->owed += c->rate * ((double)c->interval / (double)VG_SECOND);
    if (st->owed + OWED_EPS >= 1 && !st->paused)
        vg_timer_start(in, st->drain, 0, 0);
}

static void
gen_state_free(struct gen_state *st)
{
    if (!st)
        return;
    free(st->mlabels);
    free(st->body);
    free(st);
}

static int
gen_check(struct vg_instance *in, const void *conf)
{
    const struct gen_conf *c = conf;

    if (!(c->rate >= 0) || isinf(c->rate))
        vg_log(in, VG_LOG_ERROR, "option 'rate' must be a finite number "
               ">= 0, not %g", c->rate);
    else if (c->count < 0)
        vg_log(in, VG_LOG_ERROR, "option 'count' must be >= 0, not %" PRId64,
               c->count);
    else if (c->batch_size < 1 || c->batch_size > 1000000)
        vg_log(in, VG_LOG_ERROR, "option 'batch_size' must be within "
               "1..1000000, not %" PRId64, c->batch_size);
    else if (c->interval <= 0)
        vg_log(in, VG_LOG_ERROR, "option 'interval' must be positive");
    else if (c->series < 1)
        vg_log(in, VG_LOG_ERROR, "option 'series' must be >= 1, not %"
               PRId64, c->series);
    else if (!c->metric[0])
        vg_log(in, VG_LOG_ERROR, "option 'metric' must not be empty");
    else
        return 0;
    return -EINVAL;
}

static int
gen_init(struct vg_instance *in, void *conf)
{
    const struct gen_conf *c = conf;
    struct gen_state *st = NULL;
    uint32_t n = 0;
    size_t i;
    int rc = -ENOMEM;

    if (!(st = calloc(1, sizeof(*st))))
        goto fail;
    st->conf = c;

    /*
     * One array serves both kinds: logs use the static labels, metrics the
     * same plus the series label at the end.  A static "series" label
     * would clash with the generated one, so the generated one wins.
     */
    if (!(st->mlabels = calloc(c->labels.n + 1, sizeof(*st->mlabels))))
        goto fail;
    for (i = 0; i < c->labels.n; i++) {
        if (strcmp(c->labels.v[i].key, "series") == 0)
            continue;
        st->mlabels[n++] = vg_kv_str(c->labels.v[i].key,
                                     c->labels.v[i].value);
    }
    st->llabels = st->mlabels;
    st->nllabels = n;
    st->mlabels[n] = vg_kv_str("series", "");
    st->mlabels[n].v.s = st->series_val;
    st->nmlabels = n + 1;
    if (c->labels.n > n)
        vg_log(in, VG_LOG_WARN, "label 'series' is set by the generator; "
               "the static value is not used on metrics or logs");

    if (!(st->tick = vg_timer_new(in, on_tick, st)) ||
        !(st->drain = vg_timer_new(in, on_drain, st)))
        goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    if (st) {
        if (st->tick)
            vg_timer_free(in, st->tick);
        gen_state_free(st);
    }
    return rc;
}

static int
gen_start(struct vg_instance *in)
{
    struct gen_state *st = vg_instance_data(in);

    st->running = 1;
    if (st->conf->rate > 0)
        vg_timer_start(in, st->tick, 0, st->conf->interval);
    else
        vg_timer_start(in, st->drain, 0, 0);
    return 0;
}

static void
gen_stop(struct vg_instance *in)
{
    struct gen_state *st = vg_instance_data(in);

    st->running = 0;
    vg_timer_stop(in, st->tick);
    vg_timer_stop(in, st->drain);
}

/* Backpressure: what a paused generator owes is emitted on resume, so a
 * finite rate still adds up to the same count. */
static void
gen_pause(struct vg_instance *in)
{
    struct gen_state *st = vg_instance_data(in);

    st->paused = 1;
    vg_timer_stop(in, st->drain);
}

static void
gen_resume(struct vg_instance *in)
{
    struct gen_state *st = vg_instance_data(in);

    st->paused = 0;
    if (st->running)
        vg_timer_start(in, st->drain, 0, 0);
}

static void
gen_destroy(struct vg_instance *in)
{
    struct gen_state *st = vg_instance_data(in);

    if (!st)
        return;
    vg_timer_free(in, st->tick);
    vg_timer_free(in, st->drain);
    gen_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "generate",
    .summary = "synthetic metrics and log lines at a set rate",
    .options = gen_options,
    .conf_size = sizeof(struct gen_conf),
    .check = gen_check,
    .init = gen_init,
    .start = gen_start,
    .stop = gen_stop,
    .destroy = gen_destroy,
    .pause = gen_pause,
    .resume = gen_resume,
};
