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

#define TEXT_MAX     2048               /* rendered summary/description */
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
    struct vg_timer    *check;
    int64_t             check_every;    /* ns */
    char               *path;           /* state file, NULL: not kept */
    struct vg_batch    *parent;         /* batch being processed */
    struct vg_batch    *out;            /* its alerts, or the timer's */
    int64_t             warned_at;      /* last series_dropped warning */
    uint64_t            dropped_seen;
    int                 save_failed;
    char                summary[TEXT_MAX];
    char                description[TEXT_MAX];
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
    struct alert_state *st = arg;
    const struct alert_rule_conf *c = n->rule->conf;
    struct vg_event ev;
    int rc;

    if (!st->out) {
        st->out = st->parent ? vg_batch_derive(st->in, st->parent, 4096)
                             : vg_batch_new(st->in, 4096);
        if (!st->out) {
            vg_log(st->in, VG_LOG_ERROR, "cannot allocate a batch: alert "
                   "'%s' lost", c->name);
            vg_count(st->in, "alerts_lost", 1);
            return;
        }
    }
    alert_render(st->summary, sizeof(st->summary), c->summary, n->rule,
                 n->s, n->time);
    if (c->description)
        alert_render(st->description, sizeof(st->description),
                     c->description, n->rule, n->s, n->time);
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_ALERT;
    ev.time = n->time;
    ev.labels = n->s->labels;
    ev.nlabels = n->s->nlabels;
    ev.value = n->s->value;
    ev.rule = c->name;
    ev.alert_state = n->state;
    ev.alert_severity = n->rule->severity;
    ev.summary = st->summary;
    ev.description = c->description ? st->description : NULL;
    ev.starts_at = n->s->starts_at;
    ev.ends_at = n->state == VG_ALERT_RESOLVED ? n->time : 0;
    if ((rc = vg_batch_add(st->in, st->out, &ev)) < 0) {
        vg_log(st->in, VG_LOG_ERROR, "cannot add alert '%s': %s", c->name,
               strerror(-rc));
        vg_count(st->in, "alerts_lost", 1);
        return;
    }
    vg_count(st->in, n->state == VG_ALERT_FIRING ? "alerts_firing"
                                                 : "alerts_resolved", 1);
}

/* Saves the state file when it changed; a failure is logged once. */
static void
state_sync(struct alert_state *st)
{
    int rc;

    if (!st->path || !st->eng.dirty)
        return;
    st->eng.dirty = 0;
    if ((rc = alert_state_save(&st->eng, st->path)) < 0) {
        if (!st->save_failed)
            vg_log(st->in, VG_LOG_WARN, "cannot write state file '%s': %s",
                   st->path, strerror(-rc));
        st->save_failed = 1;
        st->eng.dirty = 1;              /* try again on the next change */
    } else if (st->save_failed) {
        vg_log(st->in, VG_LOG_INFO, "state file '%s' written again",
               st->path);
        st->save_failed = 0;
    }
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

/* Emits the alerts collected in st->out, if any. */
static void
flush_out(struct alert_state *st)
{
    struct vg_batch *out = st->out;

    st->out = NULL;
    st->parent = NULL;
    if (!out)
        return;
    if (vg_batch_count(st->in, out) > 0)
        vg_emit(st->in, out);
    else
        vg_batch_unref(st->in, out);
}

static void
alert_process(struct vg_instance *in, struct vg_batch *b)
{
    struct alert_state *st = vg_instance_data(in);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    int64_t wall = vg_now(in);

    st->parent = b;
    while (vg_batch_next(in, b, &it, &ev) > 0) {
        if (ev.kind != VG_EV_METRIC ||
            ev.metric_type == VG_METRIC_HISTOGRAM)
            continue;
        alert_engine_sample(&st->eng, ev.name, ev.labels, ev.nlabels,
                            ev.hash, ev.time, ev.value, wall);
    }
    vg_iter_release(in, &it);
    vg_emit(in, b);
    flush_out(st);
    report_dropped(st);
    state_sync(st);
}

static void
on_check(struct vg_instance *in, void *arg)
{
    struct alert_state *st = arg;

    st->parent = NULL;
    alert_engine_tick(&st->eng, vg_now(in));
    flush_out(st);
    state_sync(st);
}

/*
 * STATE_DIR/alert-PIPELINE-INSTANCE.state, the instance being the alias
 * or "alert#N" from "filter[...]"; anything but [A-Za-z0-9_.-] becomes '_'.
 */
static char *
state_path(struct vg_instance *in)
{
    const char *dir = vg_state_dir(in);
    const char *pipe = vg_pipeline_name(in), *name = vg_instance_name(in);
    size_t n, i, start, nlen = strlen(name);
    char *p;

    if (!dir || !dir[0])
        return NULL;
    if (nlen > 8 && strncmp(name, "filter[", 7) == 0 &&
        name[nlen - 1] == ']') {
        name += 7;
        nlen -= 8;
    }
    n = strlen(dir) + strlen(pipe) + nlen + 32;
    if (!(p = malloc(n)))
        return NULL;
    start = (size_t)snprintf(p, n, "%s/alert-", dir);
    snprintf(p + start, n - start, "%s-%.*s.state", pipe, (int)nlen, name);
    for (i = start; p[i] && strcmp(p + i, ".state") != 0; i++) {
        char c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            p[i] = '_';
    }
    return p;
}

static void
alert_state_free(struct alert_state *st)
{
    if (!st)
        return;
    if (st->rules)
        alert_engine_release(&st->eng);
    free(st->rules);
    free(st->path);
    free(st);
}

static int
alert_init(struct vg_instance *in, void *conf)
{
    const struct alert_conf *c = conf;
    const struct alert_rule_conf *rc_items = c->rules.items;
    struct alert_state *st = NULL;
    int64_t every = CHECK_MAX;
    char err[256];
    size_t i, j;
    int rc = -ENOMEM;

    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->rules = calloc(c->rules.n + 1, sizeof(*st->rules))))
        goto fail;
    st->conf = c;
    st->in = in;
    alert_engine_init(&st->eng, st->rules, c->rules.n, c->inhibit,
                      &c->inhibit_labels, on_note, st);
    rc = -EINVAL;
    if (c->rules.n == 0) {
        vg_log(in, VG_LOG_ERROR, "option 'rules' must hold at least one "
               "rule");
        goto fail;
    }
    for (i = 0; i < c->rules.n; i++) {
        if (alert_rule_init(&st->rules[i], &rc_items[i], err,
                            sizeof(err)) < 0) {
            vg_log(in, VG_LOG_ERROR, "%s", err);
            goto fail;
        }
        for (j = 0; j < i; j++)
            if (strcmp(rc_items[j].name, rc_items[i].name) == 0) {
                vg_log(in, VG_LOG_ERROR, "rule '%s': name used twice",
                       rc_items[i].name);
                goto fail;
            }
        /* absent is checked at least twice per duration */
        if (rc_items[i].absent && rc_items[i].absent / 2 < every)
            every = rc_items[i].absent / 2;
    }
    st->check_every = every < CHECK_MIN ? CHECK_MIN : every;

    if (c->persist && (st->path = state_path(in))) {
        rc = alert_state_load(&st->eng, st->path, vg_now(in), err,
                              sizeof(err));
        if (rc == -EINVAL)
            vg_log(in, VG_LOG_WARN, "state file '%s' ignored: %s",
                   st->path, err);
        else if (rc < 0 && rc != -ENOENT)
            vg_log(in, VG_LOG_WARN, "cannot read state file '%s': %s",
                   st->path, strerror(-rc));
        st->eng.dirty = 0;
    }
    rc = -ENOMEM;
    if (!(st->check = vg_timer_new(in, on_check, st)))
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

    vg_timer_start(in, st->check, st->check_every, st->check_every);
    return 0;
}

static void
alert_stop(struct vg_instance *in)
{
    struct alert_state *st = vg_instance_data(in);

    vg_timer_stop(in, st->check);
    state_sync(st);
}

static void
alert_destroy(struct vg_instance *in)
{
    struct alert_state *st = vg_instance_data(in);

    if (!st)
        return;
    vg_timer_free(in, st->check);
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
    .init = alert_init,
    .start = alert_start,
    .process = alert_process,
    .stop = alert_stop,
    .destroy = alert_destroy,
};
