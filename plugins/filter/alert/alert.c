/*
 * filter alert: evaluates rules on the metrics that pass and emits alert
 * events.  Every input batch goes on unchanged; the alerts it caused follow
 * in a batch derived from it, so delivery tracking covers them.  A timer
 * checks `absent` rules and repeats, and the firing alerts are kept in a
 * state file so a restart neither pages again nor forgets them.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#include "alert.h"
#include "sink.h"

#define CHECK_MAX    (10 * VG_SECOND)
#define CHECK_MIN    (100 * VG_MILLISECOND)
#define WARN_EVERY   (60 * VG_SECOND)

struct alert_conf {                     /* the core fills this in */
    struct vg_list  rules;              /* of struct alert_rule_conf */
    int             inhibit;
    struct vg_strv  inhibit_labels;
    int             persist;
};

struct alert_state {
    const struct alert_conf *conf;
    struct vg_instance *in;
    struct alert_rule  *rules;
    struct alert_engine eng;
    struct alert_sink   sink;           /* alerts out, state file */
    int64_t             warned_at;      /* last series_dropped warning */
    uint64_t            dropped_seen;
};

static const struct vg_option predict_options[] = {
    { .name = "above", .type = VG_OPT_DOUBLE, .def = ALERT_UNSET_STR,
      .offset = offsetof(struct alert_rule_conf, p_above),
      .help = "fire when the forecast rises past this" },
    { .name = "below", .type = VG_OPT_DOUBLE, .def = ALERT_UNSET_STR,
      .offset = offsetof(struct alert_rule_conf, p_below),
      .help = "fire when the forecast falls past this" },
    { .name = "within", .type = VG_OPT_DURATION,
      .offset = offsetof(struct alert_rule_conf, p_within),
      .help = "horizon: fire when the crossing is this close" },
    { .name = "window", .type = VG_OPT_DURATION, .def = "24h",
      .offset = offsetof(struct alert_rule_conf, p_window),
      .help = "history the forecast is fitted on" },
    { .name = "method", .type = VG_OPT_ENUM, .def = "linear",
      .choices = "linear|holt",
      .offset = offsetof(struct alert_rule_conf, p_method),
      .help = "least-squares line, or damped Holt smoothing" },
    { 0 }
};

static const struct vg_option rule_options[] = {
    { .name = "name", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct alert_rule_conf, name),
      .help = "rule name, the alertname label" },
    { .name = "metric", .type = VG_OPT_STR,
      .offset = offsetof(struct alert_rule_conf, metric),
      .help = "metric name or glob; every metric when absent" },
    { .name = "labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct alert_rule_conf, labels),
      .help = "label matchers: exact value or glob" },
    { .name = "above", .type = VG_OPT_DOUBLE, .def = ALERT_UNSET_STR,
      .offset = offsetof(struct alert_rule_conf, above),
      .help = "fire when the value is above this" },
    { .name = "below", .type = VG_OPT_DOUBLE, .def = ALERT_UNSET_STR,
      .offset = offsetof(struct alert_rule_conf, below),
      .help = "fire when the value is below this" },
    { .name = "resolve_below", .type = VG_OPT_DOUBLE, .def = ALERT_UNSET_STR,
      .offset = offsetof(struct alert_rule_conf, resolve_below),
      .help = "with above: resolve only at or below this" },
    { .name = "resolve_above", .type = VG_OPT_DOUBLE, .def = ALERT_UNSET_STR,
      .offset = offsetof(struct alert_rule_conf, resolve_above),
      .help = "with below: resolve only at or above this" },
    { .name = "rate_above", .type = VG_OPT_DOUBLE, .def = ALERT_UNSET_STR,
      .offset = offsetof(struct alert_rule_conf, rate_above),
      .help = "fire when the counter grows faster than this per second" },
    { .name = "rate_below", .type = VG_OPT_DOUBLE, .def = ALERT_UNSET_STR,
      .offset = offsetof(struct alert_rule_conf, rate_below),
      .help = "fire when the counter grows slower than this per second" },
    { .name = "absent", .type = VG_OPT_DURATION,
      .offset = offsetof(struct alert_rule_conf, absent),
      .help = "fire when a seen series is silent this long" },
    { .name = "predict", .type = VG_OPT_OBJECT, .sub = predict_options,
      .help = "fire when the forecast crosses a threshold soon" },
    { .name = "for", .type = VG_OPT_DURATION, .def = "0s",
      .offset = offsetof(struct alert_rule_conf, for_ns),
      .help = "how long the condition must hold before firing" },
    { .name = "repeat_interval", .type = VG_OPT_DURATION, .def = "4h",
      .offset = offsetof(struct alert_rule_conf, repeat),
      .help = "send a firing alert again this often" },
    { .name = "severity", .type = VG_OPT_ENUM, .def = "warning",
      .choices = "critical|error|warning|info",
      .offset = offsetof(struct alert_rule_conf, severity),
      .help = "alert severity" },
    { .name = "add_labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct alert_rule_conf, add_labels),
      .help = "labels added to the alert" },
    { .name = "summary", .type = VG_OPT_STR, .def = "{{ rule }}",
      .offset = offsetof(struct alert_rule_conf, summary),
      .help = "template: {{ value }}, {{ labels.NAME }}, {{ eta_in }}..." },
    { .name = "description", .type = VG_OPT_STR,
      .offset = offsetof(struct alert_rule_conf, description),
      .help = "template, as summary" },
    { .name = "max_series", .type = VG_OPT_INT, .def = "10000",
      .offset = offsetof(struct alert_rule_conf, max_series),
      .help = "series tracked per rule; more are ignored" },
    { 0 }
};

static const struct vg_option alert_options[] = {
    { .name = "rules", .type = VG_OPT_LIST, .flags = VG_OPT_REQUIRED,
      .sub = rule_options, .elem_size = sizeof(struct alert_rule_conf),
      .offset = offsetof(struct alert_conf, rules),
      .help = "alerting rules" },
    { .name = "inhibit", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct alert_conf, inhibit),
      .help = "a firing critical alert holds back warning/info ones" },
    { .name = "inhibit_labels", .type = VG_OPT_STRLIST, .def = "host",
      .offset = offsetof(struct alert_conf, inhibit_labels),
      .help = "labels that must be equal for inhibition" },
    { .name = "persist", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct alert_conf, persist),
      .help = "keep firing alerts in state_dir across restarts" },
    { 0 }
};

static void
on_note(void *arg, const struct alert_note *n)
{
    alert_sink_note(&((struct alert_state *)arg)->sink, n);
}

static void
report_dropped(struct alert_state *st)
{
    uint64_t n = st->eng.dropped - st->dropped_seen;
    int64_t now;

    if (!n)
        return;
    vg_count(st->in, "series_dropped", (int64_t)n);
    now = vg_now(st->in);
    if (!st->warned_at || now - st->warned_at >= WARN_EVERY) {
        vg_log(st->in, VG_LOG_WARN, "max_series reached: %" PRIu64
               " samples of new series ignored so far", st->eng.dropped);
        st->warned_at = now;
    }
    st->dropped_seen = st->eng.dropped;
}

static void
alert_process(struct vg_instance *in, struct vg_batch *b)
{
    struct alert_state *st = vg_instance_data(in);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    int64_t wall = vg_now(in);

    st->sink.parent = b;
    while (vg_batch_next(in, b, &it, &ev) > 0) {
        if (ev.kind != VG_EV_METRIC ||
            ev.metric_type == VG_METRIC_HISTOGRAM)
            continue;
        alert_engine_sample(&st->eng, ev.name, ev.labels, ev.nlabels,
                            ev.hash, ev.time, ev.value, wall);
    }
    vg_iter_release(in, &it);
    vg_emit(in, b);
    alert_sink_flush(&st->sink);
    report_dropped(st);
    alert_sink_sync(&st->sink);
}

static void
alert_state_free(struct alert_state *st)
{
    if (!st)
        return;
    if (st->rules)
        alert_engine_release(&st->eng);
    free(st->rules);
    alert_sink_release(&st->sink);
    free(st);
}

/* Every rule compiles, and names are unique; each problem is reported. */
static int
alert_check(struct vg_instance *in, const void *conf)
{
    const struct alert_conf *c = conf;
    const struct alert_rule_conf *items = c->rules.items;
    struct alert_rule rule;
    char err[256];
    size_t i, j;
    int rc = 0;

    if (c->rules.n == 0) {
        vg_log(in, VG_LOG_ERROR, "option 'rules' must hold at least one "
               "rule");
        return -EINVAL;
    }
    for (i = 0; i < c->rules.n; i++) {
        memset(&rule, 0, sizeof(rule));
        if (alert_rule_init(&rule, &items[i], err, sizeof(err)) < 0) {
            vg_log(in, VG_LOG_ERROR, "%s", err);
            rc = -EINVAL;
        }
        alert_rule_release(&rule);
        for (j = 0; j < i; j++)
            if (strcmp(items[j].name, items[i].name) == 0) {
                vg_log(in, VG_LOG_ERROR, "rule '%s': name used twice",
                       items[i].name);
                rc = -EINVAL;
                break;
            }
    }
    return rc;
}

static int
alert_init(struct vg_instance *in, void *conf)
{
    const struct alert_conf *c = conf;
    const struct alert_rule_conf *rc_items = c->rules.items;
    struct alert_state *st = NULL;
    int64_t every = CHECK_MAX;
    char err[256];
    size_t i;
    int rc = -ENOMEM;

    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->rules = calloc(c->rules.n + 1, sizeof(*st->rules))))
        goto fail;
    st->conf = c;
    st->in = in;
    alert_engine_init(&st->eng, st->rules, c->rules.n, c->inhibit,
                      &c->inhibit_labels, on_note, st);
    rc = -EINVAL;
    for (i = 0; i < c->rules.n; i++) {
        if (alert_rule_init(&st->rules[i], &rc_items[i], err,
                            sizeof(err)) < 0) {
            vg_log(in, VG_LOG_ERROR, "%s", err);
            goto fail;
        }
        /* absent is checked at least twice per duration */
        if (rc_items[i].absent && rc_items[i].absent / 2 < every)
            every = rc_items[i].absent / 2;
    }
    rc = alert_sink_open(&st->sink, in, &st->eng, "alert", c->persist,
                         every < CHECK_MIN ? CHECK_MIN : every);
    if (rc < 0)
        goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    alert_state_free(st);
    return rc;
}

static int
alert_start(struct vg_instance *in)
{
    struct alert_state *st = vg_instance_data(in);

    alert_sink_start(&st->sink);
    return 0;
}

static void
alert_stop(struct vg_instance *in)
{
    struct alert_state *st = vg_instance_data(in);

    alert_sink_stop(&st->sink);
}

static void
alert_destroy(struct vg_instance *in)
{
    struct alert_state *st = vg_instance_data(in);

    if (!st)
        return;
    alert_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "alert",
    .summary = "alerting rules on metrics: thresholds, rates, absence, "
               "forecasts",
    .options = alert_options,
    .conf_size = sizeof(struct alert_conf),
    .check = alert_check,
    .init = alert_init,
    .start = alert_start,
    .process = alert_process,
    .stop = alert_stop,
    .destroy = alert_destroy,
};
