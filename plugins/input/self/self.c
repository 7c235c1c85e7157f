/*
 * Input self: the agent's own metrics (what /metrics shows) as metric
 * events every interval, so they can be stored like any other series: a
 * fleet view of agent health in PostgreSQL, say.
 */
#include <errno.h>
#include <stdlib.h>

#include <vigil/plugin.h>

struct self_conf {
    int64_t interval;                   /* ns */
};

struct self {
    struct self_conf *conf;
    struct vg_timer  *tick;
};

static const struct vg_option self_options[] = {
    { .name = "interval", .type = VG_OPT_DURATION, .def = "10s",
      .offset = offsetof(struct self_conf, interval),
      .help = "time between reports" },
    { 0 }
};

static void
on_tick(struct vg_instance *in, void *arg)
{
    struct vg_batch *b = vg_batch_new(in, 16384);
    int rc;

    (void)arg;
    rc = vg_self_metrics(in, b);
    if (rc < 0) {
        vg_log(in, VG_LOG_WARN, "cannot read the agent's metrics: %d", rc);
        vg_batch_unref(in, b);
        return;
    }
    vg_emit(in, b);
}

static int
self_init(struct vg_instance *in, void *conf)
{
    struct self *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    s->conf = conf;
    s->tick = vg_timer_new(in, on_tick, s);
    vg_instance_set_data(in, s);
    return 0;
}

static int
self_start(struct vg_instance *in)
{
    struct self *s = vg_instance_data(in);

    vg_timer_start(in, s->tick, s->conf->interval, s->conf->interval);
    return 0;
}

static void
self_destroy(struct vg_instance *in)
{
    struct self *s = vg_instance_data(in);

    vg_timer_free(in, s->tick);
    free(s);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "self",
    .summary = "the agent's own metrics, as /metrics shows them",
    .options = self_options,
    .conf_size = sizeof(struct self_conf),
    .init = self_init,
    .start = self_start,
    .destroy = self_destroy,
};
