/*
 * disk: per block device counters of /proc/diskstats.  Kernels add fields
 * at the end (discard in 4.18, flush in 5.5); only the first eleven, which
 * every 2.6+ kernel has, are used, so older and newer layouts both parse.
 * Devices come and go with no state kept: each value is the kernel's own
 * cumulative counter.
 */
#include <errno.h>
#include <string.h>

#include "sys.h"

#define SECTOR 512.0            /* diskstats sectors are always 512 bytes */

enum {
    DS_RD_IOS, DS_RD_MERGES, DS_RD_SECTORS, DS_RD_TICKS,
    DS_WR_IOS, DS_WR_MERGES, DS_WR_SECTORS, DS_WR_TICKS,
    DS_IN_FLIGHT, DS_IO_TICKS, DS_TIME_IN_QUEUE, DS_N,
};

static void
disk_emit(struct sys_sink *s, const char *dev, const uint64_t *v)
{
    static const char *const dir[2] = { "read", "write" };
    int i;

    for (i = 0; i < 2; i++) {
        const uint64_t *d = v + i * 4;     /* read block, then write block */

        sys_sink_put(s, "system.disk.io", VG_METRIC_COUNTER,
                     (double)d[DS_RD_SECTORS] * SECTOR, "system.device", dev,
                     "disk.io.direction", dir[i], SYS_END);
        sys_sink_put(s, "system.disk.operations", VG_METRIC_COUNTER,
                     (double)d[DS_RD_IOS], "system.device", dev,
                     "disk.io.direction", dir[i], SYS_END);
        sys_sink_put(s, "system.disk.operation_time", VG_METRIC_COUNTER,
                     (double)d[DS_RD_TICKS] / 1000.0, "system.device", dev,
                     "disk.io.direction", dir[i], SYS_END);
        sys_sink_put(s, "system.disk.merged", VG_METRIC_COUNTER,
                     (double)d[DS_RD_MERGES], "system.device", dev,
                     "disk.io.direction", dir[i], SYS_END);
    }
    sys_sink_put(s, "system.disk.io_time", VG_METRIC_COUNTER,
                 (double)v[DS_IO_TICKS] / 1000.0, "system.device", dev, SYS_END);
    sys_sink_put(s, "system.disk.weighted_io_time", VG_METRIC_COUNTER,
                 (double)v[DS_TIME_IN_QUEUE] / 1000.0, "system.device", dev,
                 SYS_END);
    sys_sink_put(s, "system.disk.pending_operations", VG_METRIC_GAUGE,
                 (double)v[DS_IN_FLIGHT], "system.device", dev, SYS_END);
}

int
sys_disk_collect(struct sys_ctx *c, struct sys_sink *s)
{
    const struct sys_conf *conf = c->conf;
    const char *p;
    int rc = 0;

    if ((p = sys_read(c, SYS_F_DISKSTATS, &rc)) == NULL)
        return rc;
    for (; *p; p = pf_next_line(p)) {
        uint64_t major, minor, v[DS_N];
        const char *name, *q;
        char dev[64];
        size_t len;
        int i;

        if ((q = pf_u64(p, &major)) == NULL || (q = pf_u64(q, &minor)) == NULL
            || (q = pf_word(q, &name, &len)) == NULL || len >= sizeof(dev))
            continue;
        for (i = 0; i < DS_N && (q = pf_u64(q, &v[i])) != NULL; i++)
            ;
        if (i < DS_N)               /* 2.4-style partition line: 4 fields */
            continue;
        memcpy(dev, name, len);
        dev[len] = '\0';
        if (!pf_filter_pass(&conf->disk_include, &conf->disk_exclude, dev))
            continue;
        disk_emit(s, dev, v);
    }
    return 0;
}
