/*
 * The system input: Linux host metrics read straight from /proc and /sys.
 * This file is the plugin's face (options, timer, turning samples into a
 * batch); the collectors in the other files know nothing of the core.
 */
#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vigil/plugin.h>

#include "sys.h"

struct sys_state {
    struct vg_instance *in;
    struct sys_conf    *conf;
    struct sys_ctx      ctx;
    struct sys_sink     sink;
    struct vg_timer    *timer;
    struct vg_kv        kv[SYS_MAX_LABELS + 1];
    size_t              batch_hint;     /* bytes of the last batch */
};

#define CONF(f) offsetof(struct sys_conf, f)

static const struct vg_option cpu_options[] = {
    { .name = "per_cpu", .type = VG_OPT_BOOL, .def = "false",
      .offset = CONF(cpu_per_cpu), .help = "also report each cpu" },
    { 0 }
};

static const struct vg_option disk_options[] = {
    { .name = "include", .type = VG_OPT_STRLIST,
      .offset = CONF(disk_include),
      .help = "device globs to report (empty: all)" },
    { .name = "exclude", .type = VG_OPT_STRLIST, .def = SYS_DEF_DISK_EXCLUDE,
      .offset = CONF(disk_exclude), .help = "device globs to leave out" },
    { 0 }
};

static const struct vg_option fs_options[] = {
    { .name = "include_mounts", .type = VG_OPT_STRLIST,
      .offset = CONF(fs_include_mounts),
      .help = "mount point globs to report (empty: all)" },
    { .name = "exclude_mounts", .type = VG_OPT_STRLIST,
      .def = SYS_DEF_FS_EXCLUDE_MOUNTS,
      .offset = CONF(fs_exclude_mounts),
      .help = "mount point globs to leave out" },
    { .name = "include_types", .type = VG_OPT_STRLIST,
      .offset = CONF(fs_include_types),
      .help = "filesystem type globs to report (empty: all)" },
    { .name = "exclude_types", .type = VG_OPT_STRLIST,
      .def = SYS_DEF_FS_EXCLUDE_TYPES,
      .offset = CONF(fs_exclude_types),
      .help = "filesystem type globs to leave out" },
    { 0 }
};

static const struct vg_option net_options[] = {
    { .name = "include", .type = VG_OPT_STRLIST,
      .offset = CONF(net_include),
      .help = "interface globs to report (empty: all)" },
    { .name = "exclude", .type = VG_OPT_STRLIST, .def = SYS_DEF_NET_EXCLUDE,
      .offset = CONF(net_exclude), .help = "interface globs to leave out" },
    { 0 }
};

static const struct vg_option proc_options[] = {
    { .name = "top", .type = VG_OPT_INT, .def = "0",
      .offset = CONF(proc_top),
      .help = "report the N busiest and N largest processes (0: none)" },
    { 0 }
};

static const struct vg_option system_options[] = {
    { .name = "interval", .type = VG_OPT_DURATION, .def = "10s",
      .offset = CONF(interval), .help = "time between collections" },
    { .name = "collect", .type = VG_OPT_STRLIST,
      .def = SYS_DEF_COLLECT,
      .offset = CONF(collect), .help = "metric groups to collect" },
    { .name = "root", .type = VG_OPT_STR, .def = "/", .offset = CONF(root),
      .help = "where the host's /proc and /sys are mounted (\"/host\")" },
    { .name = "cpu", .type = VG_OPT_OBJECT, .sub = cpu_options,
      .help = "cpu group options" },
    { .name = "disk", .type = VG_OPT_OBJECT, .sub = disk_options,
      .help = "disk group options" },
    { .name = "filesystem", .type = VG_OPT_OBJECT, .sub = fs_options,
      .help = "filesystem group options" },
    { .name = "network", .type = VG_OPT_OBJECT, .sub = net_options,
      .help = "network group options" },
    { .name = "processes", .type = VG_OPT_OBJECT, .sub = proc_options,
      .help = "processes group options" },
    { 0 }
};

static void
on_log(void *arg, int level, const char *msg)
{
    vg_log(arg, level, "%s", msg);
}

static int64_t
monotonic_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * VG_SECOND + ts.tv_nsec;
}

static void
on_tick(struct vg_instance *in, void *arg)
{
    struct sys_state *st = arg;
    struct sys_sink *s = &st->sink;
    const char *host = vg_hostname(in);
    struct vg_batch *b;
    int64_t now = vg_now(in);
    size_t i, failed = 0;

    sys_collect(&st->ctx, s, monotonic_ns());
    if (s->n == 0)
        return;
    b = vg_batch_new(in, st->batch_hint);
    for (i = 0; i < s->n; i++) {
        const struct sys_sample *m = &s->v[i];
        struct vg_event ev;
        uint32_t j;

        for (j = 0; j < m->nlabels; j++)
            st->kv[j] = vg_kv_str(m->keys[j], s->arena + m->voff[j]);
        if (host != NULL)
            st->kv[j++] = vg_kv_str("host", host);
        memset(&ev, 0, sizeof(ev));
        ev.kind = VG_EV_METRIC;
        ev.time = now;
        ev.name = m->name;
        ev.metric_type = m->type;
        ev.value = m->value;
        ev.labels = st->kv;
        ev.nlabels = j;
        if (vg_batch_add(in, b, &ev) < 0)
            failed++;
    }
    if (failed > 0)
        vg_log(in, VG_LOG_WARN, "%zu of %zu samples did not fit the batch",
               failed, s->n);
    st->batch_hint = vg_batch_bytes(in, b);
    vg_emit(in, b);
}

static void
system_destroy(struct vg_instance *in)
{
    struct sys_state *st = vg_instance_data(in);

    if (st == NULL)
        return;
    if (st->timer != NULL)
        vg_timer_free(in, st->timer);
    sys_ctx_release(&st->ctx);
    sys_sink_release(&st->sink);
    free(st);
    vg_instance_set_data(in, NULL);
}

static int
system_check(struct vg_instance *in, const void *conf)
{
    const struct sys_conf *c = conf;

    if (c->interval <= 0) {
        vg_log(in, VG_LOG_ERROR, "option 'interval' must be positive");
        return -EINVAL;
    }
    if (c->proc_top < 0 || c->proc_top > 1000) {
        vg_log(in, VG_LOG_ERROR, "option 'processes.top' must be 0 to 1000, "
               "not %lld", (long long)c->proc_top);
        return -EINVAL;
    }
    return 0;
}

static int
system_init(struct vg_instance *in, void *conf)
{
    struct sys_state *st = calloc(1, sizeof(*st));
    int rc;

    if (st == NULL)
        return -ENOMEM;
    st->in = in;
    st->conf = conf;
    vg_instance_set_data(in, st);
    if ((rc = sys_ctx_init(&st->ctx, st->conf, on_log, in)) < 0)
        goto fail;
    return 0;
fail:
    system_destroy(in);
    return rc;
}

static int
system_start(struct vg_instance *in)
{
    struct sys_state *st = vg_instance_data(in);

    if (st->timer == NULL)
        st->timer = vg_timer_new(in, on_tick, st);
    if (st->timer == NULL)
        return -ENOMEM;
    /* The first collection at once: it primes the utilisation deltas. */
    vg_timer_start(in, st->timer, 1, st->conf->interval);
    return 0;
}

static void
system_stop(struct vg_instance *in)
{
    struct sys_state *st = vg_instance_data(in);

    if (st != NULL && st->timer != NULL)
        vg_timer_stop(in, st->timer);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "system",
    .summary = "Linux host metrics from /proc and /sys",
    .options = system_options,
    .conf_size = sizeof(struct sys_conf),
    .check = system_check,
    .init = system_init,
    .start = system_start,
    .stop = system_stop,
    .destroy = system_destroy,
};
