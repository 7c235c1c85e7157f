/*
 * Writes the seed batches of fuzz_batch: sealed batches built with the
 * batch API, one file per shape (metrics of every type, logs with every
 * attribute type and a body holding any byte, alerts, a mix with dropped
 * events, an empty batch).  Usage: gen_batch_seeds DIR
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "util.h"

static struct vg_kv
kv_typed(const char *key, uint32_t type, int64_t i, double d)
{
    struct vg_kv kv = { .key = key, .key_len = (uint32_t)strlen(key),
                        .type = type };

    if (type == VG_VAL_DOUBLE)
        kv.v.d = d;
    else if (type == VG_VAL_BOOL)
        kv.v.b = (int)i;
    else
        kv.v.i = i;
    return kv;
}

static int
add(struct vg_batch *b, const struct vg_event *ev)
{
    int rc = vg_batch_add_raw(b, ev);

    if (rc < 0)
        fprintf(stderr, "gen_batch_seeds: add: %s\n", vg_strerror(rc));
    return rc;
}

static int
add_metrics(struct vg_batch *b)
{
    static const double bounds[] = { 0.1, 1, 10, INFINITY };
    static const uint64_t counts[] = { 3, 5, 0, 1 };
    struct vg_kv labels[] = { vg_kv_str("host", "web-1"),
                              vg_kv_str("cpu", "0"),
                              vg_kv_str("mode", "idle") };
    struct vg_event ev = { .kind = VG_EV_METRIC,
                           .time = INT64_C(1700000000000000000),
                           .labels = labels, .nlabels = 3,
                           .name = "cpu_seconds",
                           .metric_type = VG_METRIC_COUNTER,
                           .value = 12345.5 };

    if (add(b, &ev) < 0)
        return -1;
    ev.name = "load1";
    ev.metric_type = VG_METRIC_GAUGE;
    ev.value = NAN;
    ev.nlabels = 1;
    if (add(b, &ev) < 0)
        return -1;
    ev.name = "latency";
    ev.metric_type = VG_METRIC_HISTOGRAM;
    ev.hist.nbuckets = 4;
    ev.hist.bounds = bounds;
    ev.hist.counts = counts;
    ev.hist.sum = 7.25;
    ev.hist.count = 9;
    return add(b, &ev);
}

static int
add_logs(struct vg_batch *b)
{
    static const char body[] = "GET /x \"q\" \x01\xff\xc3\xa9 done\0tail";
    struct vg_kv attrs[] = { vg_kv_str("path", "/var/log/syslog"),
                             kv_typed("pid", VG_VAL_INT, 4242, 0),
                             kv_typed("ratio", VG_VAL_DOUBLE, 0, 0.25),
                             kv_typed("ok", VG_VAL_BOOL, 1, 0) };
    struct vg_kv labels[] = { vg_kv_str("service", "nginx") };
    struct vg_event ev = { .kind = VG_EV_LOG,
                           .time = INT64_C(1700000000123456789),
                           .labels = labels, .nlabels = 1,
                           .severity = VG_SEV_WARN, .body = body,
                           .body_len = sizeof(body) - 1, .attrs = attrs,
                           .nattrs = 4 };

    if (add(b, &ev) < 0)
        return -1;
    ev.severity = VG_SEV_TRACE;
    ev.body = "";
    ev.body_len = 0;
    ev.nattrs = 0;
    ev.nlabels = 0;
    return add(b, &ev);
}

static int
add_alerts(struct vg_batch *b)
{
    struct vg_kv labels[] = { vg_kv_str("host", "db-2"),
                              vg_kv_str("mount", "/") };
    struct vg_event ev = { .kind = VG_EV_ALERT,
                           .time = INT64_C(1700000000000000000),
                           .labels = labels, .nlabels = 2,
                           .value = 97.5, .rule = "disk_full",
                           .alert_state = VG_ALERT_FIRING,
                           .alert_severity = VG_ALERT_CRITICAL,
                           .summary = "disk / on db-2 at 97.5%",
                           .description = "above 95 for 5m",
                           .starts_at = INT64_C(1699999700000000000) };

    if (add(b, &ev) < 0)
        return -1;
    ev.alert_state = VG_ALERT_RESOLVED;
    ev.alert_severity = VG_ALERT_INFO;
    ev.description = NULL;
    ev.ends_at = INT64_C(1700000300000000000);
    return add(b, &ev);
}

static int
write_seed(const char *dir, const char *name, struct vg_batch *b)
{
    char *path = vg_xasprintf("%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    int rc = 0;

    vg_batch_seal(b);
    if (!f || fwrite(b->buf, 1, b->len, f) != b->len) {
        fprintf(stderr, "gen_batch_seeds: cannot write %s\n", path);
        rc = -1;
    }
    if (f && fclose(f) != 0)
        rc = -1;
    free(path);
    vg_batch_unref_raw(b);
    return rc;
}

int
main(int argc, char **argv)
{
    struct vg_batch *b;
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    int rc = 0;

    if (argc != 2) {
        fprintf(stderr, "usage: gen_batch_seeds DIR\n");
        return 2;
    }
    b = vg_batch_new_raw(0);
    rc |= write_seed(argv[1], "empty.vgb", b);
    b = vg_batch_new_raw(0);
    rc |= add_metrics(b);
    rc |= write_seed(argv[1], "metrics.vgb", b);
    b = vg_batch_new_raw(0);
    rc |= add_logs(b);
    rc |= write_seed(argv[1], "logs.vgb", b);
    b = vg_batch_new_raw(0);
    rc |= add_alerts(b);
    rc |= write_seed(argv[1], "alerts.vgb", b);
    b = vg_batch_new_raw(0);
    rc |= add_metrics(b);
    rc |= add_logs(b);
    rc |= add_alerts(b);
    vg_batch_seal(b);
    while (vg_batch_next_raw(b, &it, &ev))
        if (it.index % 2)
            vg_batch_drop_raw(b, &it);
    vg_iter_release_raw(&it);
    rc |= write_seed(argv[1], "mixed-dropped.vgb", b);
    return rc ? 1 : 0;
}
