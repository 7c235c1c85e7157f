/*
 * Test plugin: an input that cannot pause (like a UDP listener): it emits
 * `per_tick` events every `interval` whatever the outputs do.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/plugin.h>

struct flood_conf {
    int64_t per_tick;
    int64_t interval;
};

struct flood {
    struct flood_conf *conf;
    struct vg_timer   *tick;
    uint64_t           seq;
};

static const struct vg_option flood_options[] = {
    { .name = "per_tick", .type = VG_OPT_INT, .def = "1000",
      .offset = offsetof(struct flood_conf, per_tick), .help = "events" },
    { .name = "interval", .type = VG_OPT_DURATION, .def = "10ms",
      .offset = offsetof(struct flood_conf, interval), .help = "period" },
    { 0 }
};

static void
on_tick(struct vg_instance *in, void *arg)
{
    struct flood *f = arg;
    struct vg_batch *b = vg_batch_new(in, (size_t)f->conf->per_tick * 96);
    struct vg_event ev;
    int64_t i;

    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_LOG;
    ev.severity = VG_SEV_INFO;
    ev.body = "flood";
    ev.body_len = 5;
    ev.time = vg_now(in);
    for (i = 0; i < f->conf->per_tick; i++)
        vg_batch_add(in, b, &ev);
    f->seq++;
    vg_emit(in, b);
}

static int
flood_init(struct vg_instance *in, void *conf)
{
    struct flood *f = calloc(1, sizeof(*f));

    if (!f)
        return -ENOMEM;
    f->conf = conf;
    f->tick = vg_timer_new(in, on_tick, f);
    vg_instance_set_data(in, f);
    return 0;
}

static int
flood_start(struct vg_instance *in)
{
    struct flood *f = vg_instance_data(in);

    vg_timer_start(in, f->tick, 0, f->conf->interval);
    return 0;
}

static void
flood_destroy(struct vg_instance *in)
{
    struct flood *f = vg_instance_data(in);

    vg_timer_free(in, f->tick);
    free(f);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "tp_flood",
    .summary = "test input that cannot pause",
    .options = flood_options,
    .conf_size = sizeof(struct flood_conf),
    .init = flood_init,
    .start = flood_start,
    .destroy = flood_destroy,
};
