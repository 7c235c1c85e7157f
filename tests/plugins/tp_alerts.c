/*
 * Test plugin: an input that emits the alert events its config lists, each
 * `after` its delay from start, so the alert outputs can be tested without
 * rules.  Like the alert filter, it adds the alertname label (= rule); the
 * fingerprint is the series hash of rule + labels, so the firing and the
 * resolved event of one alert share it.  Alerts with the same `after` go
 * out in one batch; the input is done after the last one.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/plugin.h>

#define MAX_LABELS 16

struct alert_item {
    char          *rule;
    int            state;               /* 0 firing, 1 resolved */
    int            severity;            /* 0 info .. 3 critical */
    char          *summary;
    char          *description;
    struct vg_map  labels;
    double         value;
    int64_t        after;               /* ns from start */
};

struct alerts_conf {
    struct vg_list alerts;
    int            exit_when_done;
};

struct alerts {
    struct alerts_conf *conf;
    struct vg_timer    *timer;
    int64_t             t0;             /* ns, wall clock at start */
    size_t              next;           /* index of the next alert */
};

static const struct vg_option item_options[] = {
    { .name = "rule", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct alert_item, rule), .help = "rule name" },
    { .name = "state", .type = VG_OPT_ENUM, .def = "firing",
      .choices = "firing|resolved",
      .offset = offsetof(struct alert_item, state), .help = "state" },
    { .name = "severity", .type = VG_OPT_ENUM, .def = "warning",
      .choices = "info|warning|error|critical",
      .offset = offsetof(struct alert_item, severity), .help = "severity" },
    { .name = "summary", .type = VG_OPT_STR, .def = "test alert",
      .offset = offsetof(struct alert_item, summary), .help = "summary" },
    { .name = "description", .type = VG_OPT_STR,
      .offset = offsetof(struct alert_item, description),
      .help = "description" },
    { .name = "labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct alert_item, labels), .help = "labels" },
    { .name = "value", .type = VG_OPT_DOUBLE, .def = "0",
      .offset = offsetof(struct alert_item, value), .help = "value" },
    { .name = "after", .type = VG_OPT_DURATION, .def = "0s",
      .offset = offsetof(struct alert_item, after),
      .help = "delay from start" },
    { 0 }
};

static const struct vg_option alerts_options[] = {
    { .name = "alerts", .type = VG_OPT_LIST, .flags = VG_OPT_REQUIRED,
      .sub = item_options, .elem_size = sizeof(struct alert_item),
      .offset = offsetof(struct alerts_conf, alerts),
      .help = "alert events to emit" },
    { .name = "exit_when_done", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct alerts_conf, exit_when_done),
      .help = "tell the core when the last alert is out" },
    { 0 }
};

static struct alert_item *
item(struct alerts *a, size_t i)
{
    return (struct alert_item *)a->conf->alerts.items + i;
}

static void
add_alert(struct vg_instance *in, struct alerts *a, struct vg_batch *b,
          const struct alert_item *it, int64_t now)
{
    static const uint32_t sev[] = {
        VG_ALERT_INFO, VG_ALERT_WARNING, VG_ALERT_ERROR, VG_ALERT_CRITICAL,
    };
    struct vg_kv kv[MAX_LABELS + 1];
    struct vg_event ev;
    uint32_t n = 0;

    for (size_t i = 0; i < it->labels.n && n < MAX_LABELS; i++)
        kv[n++] = vg_kv_str(it->labels.v[i].key, it->labels.v[i].value);
    kv[n++] = vg_kv_str("alertname", it->rule);
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_ALERT;
    ev.time = now;
    ev.labels = kv;
    ev.nlabels = n;
    ev.hash = vg_series_hash(in, it->rule, kv, n);
    ev.rule = it->rule;
    ev.alert_state = it->state ? VG_ALERT_RESOLVED : VG_ALERT_FIRING;
    ev.alert_severity = sev[it->severity];
    ev.summary = it->summary;
    ev.description = it->description;
    ev.value = it->value;
    /* a resolve starts when its alert first fired: the run's start */
    ev.starts_at = it->state ? a->t0 : now;
    ev.ends_at = it->state ? now : 0;
    vg_batch_add(in, b, &ev);
}

static void
on_timer(struct vg_instance *in, void *arg)
{
    struct alerts *a = arg;
    struct vg_batch *b = vg_batch_new(in, 1024);
    int64_t now = vg_now(in);
    int64_t due = item(a, a->next)->after;

    while (a->next < a->conf->alerts.n && item(a, a->next)->after == due)
        add_alert(in, a, b, item(a, a->next++), now);
    vg_emit(in, b);
    if (a->next < a->conf->alerts.n) {
        int64_t wait = item(a, a->next)->after - (now - a->t0);

        vg_timer_start(in, a->timer, wait > 0 ? wait : 0, 0);
    } else if (a->conf->exit_when_done) {
        vg_input_done(in);
    }
}

static int
alerts_init(struct vg_instance *in, void *conf)
{
    struct alerts *a = calloc(1, sizeof(*a));
    struct alerts_conf *c = conf;

    if (!a)
        return -ENOMEM;
    for (size_t i = 1; i < c->alerts.n; i++) {
        struct alert_item *items = c->alerts.items;

        if (items[i].after < items[i - 1].after) {
            vg_log(in, VG_LOG_ERROR, "alerts must be listed by 'after'");
            free(a);
            return -EINVAL;
        }
    }
    a->conf = c;
    a->timer = vg_timer_new(in, on_timer, a);
    vg_instance_set_data(in, a);
    return 0;
}

static int
alerts_start(struct vg_instance *in)
{
    struct alerts *a = vg_instance_data(in);

    a->t0 = vg_now(in);
    if (a->conf->alerts.n)
        vg_timer_start(in, a->timer, item(a, 0)->after, 0);
    else if (a->conf->exit_when_done)
        vg_input_done(in);
    return 0;
}

static void
alerts_stop(struct vg_instance *in)
{
    struct alerts *a = vg_instance_data(in);

    vg_timer_stop(in, a->timer);
}

static void
alerts_destroy(struct vg_instance *in)
{
    struct alerts *a = vg_instance_data(in);

    vg_timer_free(in, a->timer);
    free(a);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "tp_alerts",
    .summary = "test: emit the configured alert events on schedule",
    .options = alerts_options,
    .conf_size = sizeof(struct alerts_conf),
    .init = alerts_init,
    .start = alerts_start,
    .stop = alerts_stop,
    .destroy = alerts_destroy,
};
