/*
 * filter anomaly: scores every sample of the selected metric series with
 * an online detector (detect.c) and raises alerts on what stays anomalous.
 * Every input batch goes on unchanged; scores (emit_scores) and alerts
 * follow in a batch derived from it.  Alerting reuses the alert filter's
 * engine with one `above: threshold` rule on the held score, so firing,
 * repeats, resolving with the same fingerprint, templates and the state
 * file behave exactly as the alert filter's.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "alert.h"
#include "detect.h"
#include "sink.h"

#define NAME_MAX_B  1024                /* score metric name            */
#define CHECK_EVERY (10 * VG_SECOND)    /* repeats by the wall clock    */
#define SCORE_SUFFIX ".anomaly_score"

struct anomaly_conf {                   /* the core fills this in */
    char           *metric;             /* name or glob; NULL = every one */
    struct vg_map   labels;
    char           *rule;
    double          threshold;
    int64_t         for_ns;
    int64_t         repeat;
    int             severity;           /* enum alert_sev_choice */
    struct vg_map   add_labels;
    char           *summary;
    char           *description;
    int64_t         warmup;             /* samples */
    int64_t         season;             /* ns, 0 = one day, if it fits */
    int64_t         hold;               /* samples */
    int             emit_scores;
    int64_t         max_series;
    int             persist;
};

struct anomaly_state {
    const struct anomaly_conf *conf;
    struct vg_instance    *in;
    struct anom_params     params;
    struct anom_table      table;
    struct alert_rule_conf rule_conf;
    struct alert_rule      rule;
    struct alert_engine    eng;
    struct alert_sink      sink;        /* scores and alerts out, state */
    uint64_t               evicted_seen;
    size_t                 prune_at;    /* engine entries that prune */
    struct vg_kv          *kv;          /* labels + metric, scratch */
    uint32_t               kv_cap;
    char                   name[NAME_MAX_B];
};

static const struct vg_option anomaly_options[] = {
    { .name = "metric", .type = VG_OPT_STR,
      .offset = offsetof(struct anomaly_conf, metric),
      .help = "metric name or glob; every metric when absent" },
    { .name = "labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct anomaly_conf, labels),
      .help = "label matchers: exact value or glob" },
    { .name = "rule", .type = VG_OPT_STR, .def = "anomaly",
      .offset = offsetof(struct anomaly_conf, rule),
      .help = "rule name of the alerts, the alertname label" },
    { .name = "threshold", .type = VG_OPT_DOUBLE, .def = "0.55",
      .offset = offsetof(struct anomaly_conf, threshold),
      .help = "alert when the score stays above this (0..1)" },
    { .name = "for", .type = VG_OPT_DURATION, .def = "0s",
      .offset = offsetof(struct anomaly_conf, for_ns),
      .help = "how long the score must stay above before firing" },
    { .name = "repeat_interval", .type = VG_OPT_DURATION, .def = "4h",
      .offset = offsetof(struct anomaly_conf, repeat),
      .help = "send a firing alert again this often" },
    { .name = "severity", .type = VG_OPT_ENUM, .def = "warning",
      .choices = "critical|error|warning|info",
      .offset = offsetof(struct anomaly_conf, severity),
      .help = "alert severity" },
    { .name = "add_labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct anomaly_conf, add_labels),
      .help = "labels added to the alerts" },
    { .name = "summary", .type = VG_OPT_STR,
      .def = "anomaly in {{ labels.metric }} (score {{ value }})",
      .offset = offsetof(struct anomaly_conf, summary),
      .help = "template: {{ value }}, {{ threshold }}, {{ labels.NAME }}" },
    { .name = "description", .type = VG_OPT_STR,
      .offset = offsetof(struct anomaly_conf, description),
      .help = "template, as summary" },
    { .name = "warmup", .type = VG_OPT_INT, .def = "60",
      .offset = offsetof(struct anomaly_conf, warmup),
      .help = "samples a new series is learnt before it is scored" },
    { .name = "season", .type = VG_OPT_DURATION, .def = "0s",
      .offset = offsetof(struct anomaly_conf, season),
      .help = "seasonality period; 0s: one day, used when it fits" },
    { .name = "hold", .type = VG_OPT_INT, .def = "32",
      .offset = offsetof(struct anomaly_conf, hold),
      .help = "calm samples that end an incident" },
    { .name = "emit_scores", .type = VG_OPT_BOOL, .def = "false",
      .offset = offsetof(struct anomaly_conf, emit_scores),
      .help = "emit METRIC.anomaly_score gauges" },
    { .name = "max_series", .type = VG_OPT_INT, .def = "10000",
      .offset = offsetof(struct anomaly_conf, max_series),
      .help = "series tracked; the least recently seen is evicted" },
    { .name = "persist", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct anomaly_conf, persist),
      .help = "keep firing alerts in state_dir across restarts" },
    { 0 }
};

static void
on_note(void *arg, const struct alert_note *n)
{
    alert_sink_note(&((struct anomaly_state *)arg)->sink, n);
}

static int
labels_match(const struct vg_map *m, const struct vg_kv *kv, uint32_t n)
{
    char val[256];
    size_t i;
    uint32_t j;

    for (i = 0; i < m->n; i++) {
        size_t klen = strlen(m->v[i].key);

        val[0] = '\0';
        for (j = 0; j < n; j++) {
            if (kv[j].key_len != klen || memcmp(kv[j].key, m->v[i].key,
                                                klen) != 0 ||
                kv[j].type != VG_VAL_STR)
                continue;
            snprintf(val, sizeof(val), "%.*s", (int)kv[j].len, kv[j].v.s);
            break;
        }
        if (fnmatch(m->v[i].value, val, 0) != 0)
            return 0;
    }
    return 1;
}

/*
 * The alert engine keeps one entry per series it has seen; entries of
 * series that are neither pending nor firing hold nothing worth keeping,
 * so when the engine's table reaches max_series they are dropped (the
 * detector table bounds the live series, this bounds the engine's).
 */
static void
alerts_prune(struct alert_rule *r)
{
    struct alert_series *tab = r->tab, *keep;
    size_t i, cap = r->cap;

    if (!(keep = calloc(cap, sizeof(*keep))))
        return;
    r->used = 0;
    for (i = 0; i < cap; i++) {
        size_t j;

        if (!tab[i].hash)
            continue;
        if (tab[i].phase == PHASE_INACTIVE) {
            free(tab[i].labels);
            free(tab[i].fc);
            continue;
        }
        for (j = tab[i].hash & (cap - 1); keep[j].hash; j = (j + 1) &
             (cap - 1))
            ;
        keep[j] = tab[i];
        r->used++;
    }
    free(tab);
    r->tab = keep;
}

/* The series' labels plus metric=NAME, in st->kv. */
static int
alert_labels(struct anomaly_state *st, const struct vg_event *ev)
{
    uint32_t n = ev->nlabels + 1;

    if (n > st->kv_cap) {
        struct vg_kv *p = realloc(st->kv, n * sizeof(*p));

        if (!p)
            return -ENOMEM;
        st->kv = p;
        st->kv_cap = n;
    }
    memcpy(st->kv, ev->labels, ev->nlabels * sizeof(*st->kv));
    st->kv[ev->nlabels] = vg_kv_str("metric", ev->name);
    return 0;
}

static void
emit_score(struct anomaly_state *st, const struct vg_event *ev, double score)
{
    struct vg_event sev;
    int rc;

    if ((size_t)snprintf(st->name, sizeof(st->name), "%s" SCORE_SUFFIX,
                         ev->name) >= sizeof(st->name)) {
        vg_count(st->in, "scores_lost", 1);
        return;
    }
    memset(&sev, 0, sizeof(sev));
    sev.kind = VG_EV_METRIC;
    sev.time = ev->time;
    sev.labels = ev->labels;
    sev.nlabels = ev->nlabels;
    sev.name = st->name;
    sev.metric_type = VG_METRIC_GAUGE;
    sev.value = score;
    if ((rc = alert_sink_add(&st->sink, &sev)) < 0)
        vg_count(st->in, "scores_lost", 1);
}

static void
sample(struct anomaly_state *st, const struct vg_event *ev, int64_t wall)
{
    struct anom_det *d;
    double x = ev->value, score, alarm;
    int created;

    if (!(d = anom_table_get(&st->table, ev->hash, &created)))
        return;
    if (created)
        d->engaged = 1;             /* a restored alert may be waiting */
    if (ev->metric_type == VG_METRIC_COUNTER &&
        anom_det_rate(d, ev->time, ev->value, &x) < 0)
        return;
    score = anom_det_update(d, &st->params, ev->time, x, &alarm);
    if (st->conf->emit_scores)
        emit_score(st, ev, score);
    /* a detector still warming up knows nothing: it neither fires nor
       resolves (an alert restored from the state file keeps firing) */
    if (d->n <= st->params.warmup)
        return;
    /*
     * Calm samples of a series the engine holds nothing for would only
     * find it inactive: skip the lookup, the common case by far.
     */
    if (!d->engaged && alarm <= st->params.threshold)
        return;
    d->engaged = alarm > st->params.threshold;
    if (alert_labels(st, ev) < 0)
        return;
    if (st->rule.used >= st->prune_at) {
        alerts_prune(&st->rule);
        /* what survives is pending or firing: prune again only later */
        st->prune_at = st->rule.used + (size_t)st->conf->max_series / 2 + 1;
    }
    alert_engine_sample(&st->eng, ev->name, st->kv, ev->nlabels + 1,
                        ev->hash, ev->time, alarm, wall);
}

static void
anomaly_process(struct vg_instance *in, struct vg_batch *b)
{
    struct anomaly_state *st = vg_instance_data(in);
    const struct anomaly_conf *c = st->conf;
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    int64_t wall = vg_now(in);

    st->sink.parent = b;
    while (vg_batch_next(in, b, &it, &ev) > 0) {
        if (ev.kind != VG_EV_METRIC ||
            ev.metric_type == VG_METRIC_HISTOGRAM)
            continue;
        if (c->metric && fnmatch(c->metric, ev.name, 0) != 0)
            continue;
        if (!labels_match(&c->labels, ev.labels, ev.nlabels))
            continue;
        sample(st, &ev, wall);
    }
    vg_iter_release(in, &it);
    vg_emit(in, b);
    alert_sink_flush(&st->sink);
    if (st->table.evicted != st->evicted_seen) {
        vg_count(in, "series_evicted",
                 (int64_t)(st->table.evicted - st->evicted_seen));
        st->evicted_seen = st->table.evicted;
    }
    alert_sink_sync(&st->sink);
}

static void
anomaly_state_free(struct anomaly_state *st)
{
    if (!st)
        return;
    alert_engine_release(&st->eng);
    anom_table_release(&st->table);
    free(st->kv);
    alert_sink_release(&st->sink);
    free(st);
}

/* The alert rule the engine evaluates on the held score. */
static void
rule_conf_fill(struct alert_rule_conf *rc, const struct anomaly_conf *c)
{
    memset(rc, 0, sizeof(*rc));
    rc->name = c->rule;
    rc->above = c->threshold;
    rc->below = rc->resolve_above = rc->resolve_below = ALERT_UNSET;
    rc->rate_above = rc->rate_below = ALERT_UNSET;
    rc->p_above = rc->p_below = ALERT_UNSET;
    rc->for_ns = c->for_ns;
    rc->repeat = c->repeat;
    rc->severity = c->severity;
    rc->add_labels = c->add_labels;
    rc->summary = c->summary;
    rc->description = c->description;
    /* room for the live series and for the ones still firing */
    rc->max_series = c->max_series * 2;
}

static int
anomaly_check(struct vg_instance *in, const void *conf)
{
    const struct anomaly_conf *c = conf;
    const char *why = NULL;

    if (c->threshold <= 0 || c->threshold >= 1)
        why = "option 'threshold' must be between 0 and 1";
    else if (c->warmup < 0)
        why = "option 'warmup' must not be negative";
    else if (c->hold < 1)
        why = "option 'hold' must be at least 1";
    else if (c->max_series < 1 || c->max_series > (1 << 24))
        why = "option 'max_series' must be between 1 and 16777216";
    else if (c->season < 0 || (c->season && c->season < 60 * VG_SECOND))
        why = "option 'season' must be at least 1m";
    if (why) {
        vg_log(in, VG_LOG_ERROR, "%s", why);
        return -EINVAL;
    }
    return 0;
}

static int
anomaly_init(struct vg_instance *in, void *conf)
{
    const struct anomaly_conf *c = conf;
    struct anomaly_state *st = NULL;
    char err[256];
    int rc = -EINVAL;

    if (!(st = calloc(1, sizeof(*st))))
        return -ENOMEM;
    st->conf = c;
    st->in = in;
    anom_params_default(&st->params);
    st->params.warmup = (uint32_t)c->warmup;
    st->params.season = c->season;
    st->params.hold = (uint32_t)c->hold;
    st->params.threshold = c->threshold;
    rule_conf_fill(&st->rule_conf, c);
    st->prune_at = (size_t)c->max_series;
    alert_engine_init(&st->eng, &st->rule, 1, 0, NULL, on_note, st);
    if (alert_rule_init(&st->rule, &st->rule_conf, err, sizeof(err)) < 0) {
        vg_log(in, VG_LOG_ERROR, "%s", err);
        goto fail;
    }
    if ((rc = anom_table_init(&st->table, (size_t)c->max_series)) < 0)
        goto fail;
    rc = alert_sink_open(&st->sink, in, &st->eng, "anomaly", c->persist,
                         CHECK_EVERY);
    if (rc < 0)
        goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    anomaly_state_free(st);
    return rc;
}

static int
anomaly_start(struct vg_instance *in)
{
    struct anomaly_state *st = vg_instance_data(in);

    alert_sink_start(&st->sink);
    return 0;
}

static void
anomaly_stop(struct vg_instance *in)
{
    struct anomaly_state *st = vg_instance_data(in);

    alert_sink_stop(&st->sink);
}

static void
anomaly_destroy(struct vg_instance *in)
{
    struct anomaly_state *st = vg_instance_data(in);

    if (!st)
        return;
    anomaly_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "anomaly",
    .summary = "streaming anomaly detection on metrics, with alerts",
    .options = anomaly_options,
    .conf_size = sizeof(struct anomaly_conf),
    .check = anomaly_check,
    .init = anomaly_init,
    .start = anomaly_start,
    .process = anomaly_process,
    .stop = anomaly_stop,
    .destroy = anomaly_destroy,
};
