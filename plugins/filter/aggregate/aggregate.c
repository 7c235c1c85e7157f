/*
 * filter aggregate: tumbling-window aggregates of metrics and of logs
 * (log-to-metric).  Samples are grouped by metric name and the group_by
 * labels (log attributes too), windows close in event time (a sample past
 * a window's end plus allowed_lateness closes it) and, when no event
 * comes, by a timer that moves event time on with the wall clock.  Results
 * follow the batch that closed their window, in a batch derived from it;
 * stop flushes the open windows.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "agg.h"

#define NAME_MAX_B  1024                /* result metric name            */
#define VAL_MAX_B   64                  /* a non-string attribute value  */
#define TICK_MIN    (100 * VG_MILLISECOND)
#define TICK_MAX    (10 * VG_SECOND)

enum logs_mode {
    LOGS_NONE = 0,
    LOGS_COUNT,
};

struct aggregate_conf {                 /* the core fills this in */
    int64_t         window;             /* ns */
    struct vg_strv  functions;
    struct vg_strv  group_by;
    char           *metric;             /* glob; NULL: see metrics_on */
    int             logs;               /* enum logs_mode */
    char           *value_attribute;
    char           *metric_name;        /* name of the log results */
    int64_t         lateness;           /* ns */
    int             drop_raw;
    int64_t         max_groups;
};

struct aggregate_state {
    const struct aggregate_conf *conf;
    struct vg_instance *in;
    struct agg_engine   eng;
    struct vg_timer    *tick;
    int64_t             tick_every;     /* ns */
    int                 metrics_on;     /* metrics are aggregated */
    int                 logs_on;        /* logs are aggregated */
    const char        **keys;           /* group_by, sorted */
    size_t              nkeys;
    struct vg_kv       *kept;           /* nkeys: the group's labels */
    char              (*vals)[VAL_MAX_B];   /* formatted attribute values */
    struct vg_batch    *parent;
    struct vg_batch    *out;
    int64_t             last_t;         /* latest event time seen, ns */
    int64_t             last_wall;      /* wall clock when it came */
    int                 seen;
    uint64_t            late_seen, groups_seen;
    char                name[NAME_MAX_B];
};

static const struct vg_option aggregate_options[] = {
    { .name = "window", .type = VG_OPT_DURATION, .def = "1m",
      .offset = offsetof(struct aggregate_conf, window),
      .help = "tumbling window length (10s, 1m, 5m, 1h...)" },
    { .name = "functions", .type = VG_OPT_STRLIST,
      .def = "count, sum, min, max, avg",
      .offset = offsetof(struct aggregate_conf, functions),
      .help = "count sum min max avg last rate p50 p90 p99 p999" },
    { .name = "group_by", .type = VG_OPT_STRLIST,
      .offset = offsetof(struct aggregate_conf, group_by),
      .help = "labels (and log attributes) kept; the others are dropped" },
    { .name = "metric", .type = VG_OPT_STR,
      .offset = offsetof(struct aggregate_conf, metric),
      .help = "metrics to aggregate (glob); every one when logs is none" },
    { .name = "logs", .type = VG_OPT_ENUM, .def = "none",
      .choices = "none|count",
      .offset = offsetof(struct aggregate_conf, logs),
      .help = "count: aggregate log events into metric_name" },
    { .name = "value_attribute", .type = VG_OPT_STR,
      .offset = offsetof(struct aggregate_conf, value_attribute),
      .help = "aggregate this numeric log attribute instead of counting" },
    { .name = "metric_name", .type = VG_OPT_STR, .def = "log_events",
      .offset = offsetof(struct aggregate_conf, metric_name),
      .help = "metric name of the log aggregates" },
    { .name = "allowed_lateness", .type = VG_OPT_DURATION, .def = "0s",
      .offset = offsetof(struct aggregate_conf, lateness),
      .help = "late samples this recent still count in their window" },
    { .name = "drop_raw", .type = VG_OPT_BOOL, .def = "false",
      .offset = offsetof(struct aggregate_conf, drop_raw),
      .help = "drop the events that were aggregated" },
    { .name = "max_groups", .type = VG_OPT_INT, .def = "10000",
      .offset = offsetof(struct aggregate_conf, max_groups),
      .help = "groups with open windows; samples of more are dropped" },
    { 0 }
};

static int
out_add(struct aggregate_state *st, const struct vg_event *ev)
{
    if (!st->out) {
        st->out = st->parent ? vg_batch_derive(st->in, st->parent, 4096)
                             : vg_batch_new(st->in, 4096);
        if (!st->out)
            return -ENOMEM;
    }
    return vg_batch_add(st->in, st->out, ev);
}

static void
on_result(void *arg, const struct agg_group *g, int fn, int64_t time,
          double value)
{
    struct aggregate_state *st = arg;
    struct vg_event ev;

    if ((size_t)snprintf(st->name, sizeof(st->name), "%s.%s", g->name,
                         agg_fn_name(fn)) >= sizeof(st->name)) {
        vg_count(st->in, "results_lost", 1);
        return;
    }
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = time;
    ev.labels = g->labels;
    ev.nlabels = g->nlabels;
    ev.name = st->name;
    ev.metric_type = VG_METRIC_GAUGE;
    ev.value = value;
    if (out_add(st, &ev) < 0)
        vg_count(st->in, "results_lost", 1);
}

static void
flush_out(struct aggregate_state *st)
{
    struct vg_batch *out = st->out;

    st->out = NULL;
    st->parent = NULL;
    if (out && vg_batch_count(st->in, out) > 0)
        vg_emit(st->in, out);
    else if (out)
        vg_batch_unref(st->in, out);
}

static void
report_drops(struct aggregate_state *st)
{
    if (st->eng.late_dropped != st->late_seen) {
        vg_count(st->in, "late_dropped",
                 (int64_t)(st->eng.late_dropped - st->late_seen));
        st->late_seen = st->eng.late_dropped;
    }
    if (st->eng.groups_dropped != st->groups_seen) {
        vg_count(st->in, "groups_dropped",
                 (int64_t)(st->eng.groups_dropped - st->groups_seen));
        st->groups_seen = st->eng.groups_dropped;
    }
}

static const struct vg_kv *
kv_find(const struct vg_kv *kv, uint32_t n, const char *key, size_t klen)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        if (kv[i].key_len == klen && memcmp(kv[i].key, key, klen) == 0)
            return &kv[i];
    return NULL;
}

/* A kept label from a label or attribute of any type; 0 when absent. */
static int
keep(struct aggregate_state *st, size_t k, const struct vg_kv *src,
     struct vg_kv *dst)
{
    char *buf = st->vals[k];

    if (!src)
        return 0;
    *dst = *src;
    dst->type = VG_VAL_STR;
    switch (src->type) {
    case VG_VAL_STR:
        return 1;
    case VG_VAL_INT:
        snprintf(buf, VAL_MAX_B, "%" PRId64, src->v.i);
        break;
    case VG_VAL_DOUBLE:
        snprintf(buf, VAL_MAX_B, "%.17g", src->v.d);
        break;
    default:
        snprintf(buf, VAL_MAX_B, "%s", src->v.b ? "true" : "false");
        break;
    }
    dst->v.s = buf;
    dst->len = (uint32_t)strlen(buf);
    return 1;
}

/* The group_by labels of ev, sorted by key, into st->kept. */
static uint32_t
kept_labels(struct aggregate_state *st, const struct vg_event *ev)
{
    uint32_t n = 0;
    size_t k;

    for (k = 0; k < st->nkeys; k++) {
        size_t klen = strlen(st->keys[k]);
        const struct vg_kv *l = kv_find(ev->labels, ev->nlabels,
                                        st->keys[k], klen);

        if (!l && ev->kind == VG_EV_LOG)
            l = kv_find(ev->attrs, ev->nattrs, st->keys[k], klen);
        n += (uint32_t)keep(st, k, l, &st->kept[n]);
    }
    return n;
}

/* The value a log contributes: 1, or its value_attribute; 0 when none. */
static int
log_value(const struct aggregate_state *st, const struct vg_event *ev,
          double *v)
{
    const char *attr = st->conf->value_attribute;
    const struct vg_kv *a;
    char buf[64], *end;

    if (!attr) {
        *v = 1;
        return 1;
    }
    if (!(a = kv_find(ev->attrs, ev->nattrs, attr, strlen(attr))))
        return 0;
    switch (a->type) {
    case VG_VAL_INT:
        *v = (double)a->v.i;
        return 1;
    case VG_VAL_DOUBLE:
        *v = a->v.d;
        return 1;
    case VG_VAL_STR:
        if (a->len == 0 || a->len >= sizeof(buf))
            return 0;
        memcpy(buf, a->v.s, a->len);
        buf[a->len] = '\0';
        *v = strtod(buf, &end);
        return *end == '\0';
    default:
        return 0;
    }
}

static void
aggregate_process(struct vg_instance *in, struct vg_batch *b)
{
    struct aggregate_state *st = vg_instance_data(in);
    const struct aggregate_conf *c = st->conf;
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    uint64_t novalue = 0;

    st->parent = b;
    while (vg_batch_next(in, b, &it, &ev) > 0) {
        const char *name;
        double v;
        int rc;

        if (ev.kind == VG_EV_METRIC && st->metrics_on &&
            ev.metric_type != VG_METRIC_HISTOGRAM &&
            (!c->metric || fnmatch(c->metric, ev.name, 0) == 0)) {
            name = ev.name;
            v = ev.value;
        } else if (ev.kind == VG_EV_LOG && st->logs_on) {
            if (!log_value(st, &ev, &v)) {
                novalue++;
                continue;
            }
            name = c->metric_name;
        } else {
            continue;
        }
        rc = agg_add(&st->eng, name, st->kept, kept_labels(st, &ev),
                     ev.time, v);
        if (rc == -ENOMEM)
            vg_count(in, "samples_lost", 1);
        if (!st->seen || ev.time > st->last_t) {
            st->last_t = ev.time;
            st->last_wall = vg_now(in);
            st->seen = 1;
        }
        if (c->drop_raw)
            vg_batch_drop(in, b, &it);
    }
    vg_iter_release(in, &it);
    if (novalue)
        vg_count(in, "logs_without_value", (int64_t)novalue);
    /* results go after the batch: the aggregates follow their inputs;
       the derived batch keeps the delivery tracking of a dropped one */
    vg_emit(in, b);
    flush_out(st);
    report_drops(st);
}

/*
 * With no event coming, event time is taken to move on with the wall
 * clock from the last event: live windows close on time, and replayed
 * history (far behind the wall clock) is not cut short.
 */
static void
on_tick(struct vg_instance *in, void *arg)
{
    struct aggregate_state *st = arg;

    if (!st->seen)
        return;
    st->parent = NULL;
    agg_advance(&st->eng, st->last_t + (vg_now(in) - st->last_wall));
    flush_out(st);
}

static int
cmp_str(const void *a, const void *b)
{
    return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
aggregate_state_free(struct aggregate_state *st)
{
    if (!st)
        return;
    agg_release(&st->eng);
    free(st->keys);
    free(st->kept);
    free(st->vals);
    free(st);
}

static int
aggregate_check(struct vg_instance *in, const void *conf)
{
    const struct aggregate_conf *c = conf;
    uint32_t fns = 0;
    size_t i;

    if (c->window < VG_MILLISECOND) {
        vg_log(in, VG_LOG_ERROR, "option 'window' must be at least 1ms");
        return -EINVAL;
    }
    if (c->lateness < 0 || c->max_groups < 1) {
        vg_log(in, VG_LOG_ERROR, "option 'allowed_lateness' must not be "
               "negative and 'max_groups' must be at least 1");
        return -EINVAL;
    }
    for (i = 0; i < c->functions.n; i++) {
        int fn = agg_fn_parse(c->functions.v[i]);

        if (fn < 0) {
            vg_log(in, VG_LOG_ERROR, "option 'functions': unknown function "
                   "'%s' (count, sum, min, max, avg, last, rate, p50, p90, "
                   "p99, p999)", c->functions.v[i]);
            return -EINVAL;
        }
        fns |= 1u << fn;
    }
    if (!fns) {
        vg_log(in, VG_LOG_ERROR, "option 'functions' must name at least one "
               "function");
        return -EINVAL;
    }
    if (c->value_attribute && c->logs == LOGS_NONE) {
        vg_log(in, VG_LOG_ERROR, "option 'value_attribute' needs "
               "'logs: count'");
        return -EINVAL;
    }
    return 0;
}

static int
aggregate_init(struct vg_instance *in, void *conf)
{
    const struct aggregate_conf *c = conf;
    struct aggregate_state *st = NULL;
    uint32_t fns = 0;
    size_t i;
    int rc = -EINVAL;

    for (i = 0; i < c->functions.n; i++)
        fns |= 1u << agg_fn_parse(c->functions.v[i]);  /* checked */
    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->keys = calloc(c->group_by.n + 1, sizeof(*st->keys))) ||
        !(st->kept = calloc(c->group_by.n + 1, sizeof(*st->kept))) ||
        !(st->vals = calloc(c->group_by.n + 1, sizeof(*st->vals))))
        goto fail;
    st->conf = c;
    st->in = in;
    for (i = 0; i < c->group_by.n; i++)
        st->keys[i] = c->group_by.v[i];
    st->nkeys = c->group_by.n;
    /* kept labels come out sorted, as the group key needs */
    qsort(st->keys, st->nkeys, sizeof(*st->keys), cmp_str);
    st->logs_on = c->logs != LOGS_NONE;
    st->metrics_on = c->metric || !st->logs_on;
    agg_init(&st->eng, c->window, c->lateness, fns, (size_t)c->max_groups,
             on_result, st);
    st->tick_every = c->window / 10;
    if (st->tick_every < TICK_MIN)
        st->tick_every = TICK_MIN;
    if (st->tick_every > TICK_MAX)
        st->tick_every = TICK_MAX;
    if (!(st->tick = vg_timer_new(in, on_tick, st)))
        goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    aggregate_state_free(st);
    return rc;
}

static int
aggregate_start(struct vg_instance *in)
{
    struct aggregate_state *st = vg_instance_data(in);

    vg_timer_start(in, st->tick, st->tick_every, st->tick_every);
    return 0;
}

static void
aggregate_stop(struct vg_instance *in)
{
    struct aggregate_state *st = vg_instance_data(in);

    vg_timer_stop(in, st->tick);
    st->parent = NULL;
    agg_flush(&st->eng);
    flush_out(st);
    report_drops(st);
}

static void
aggregate_destroy(struct vg_instance *in)
{
    struct aggregate_state *st = vg_instance_data(in);

    if (!st)
        return;
    vg_timer_free(in, st->tick);
    aggregate_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "aggregate",
    .summary = "tumbling-window aggregates of metrics and logs",
    .options = aggregate_options,
    .conf_size = sizeof(struct aggregate_conf),
    .check = aggregate_check,
    .init = aggregate_init,
    .start = aggregate_start,
    .process = aggregate_process,
    .stop = aggregate_stop,
    .destroy = aggregate_destroy,
};
