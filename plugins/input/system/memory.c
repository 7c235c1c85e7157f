/*
 * memory: /proc/meminfo split as free(1) does, so that the used, free,
 * buffers and cached states add up to MemTotal; swap as paging usage.
 */
#include <errno.h>
#include <string.h>

#include "sys.h"

enum {
    MI_TOTAL, MI_FREE, MI_AVAILABLE, MI_BUFFERS, MI_CACHED, MI_SRECLAIM,
    MI_SUNRECLAIM, MI_SWAPTOTAL, MI_SWAPFREE, MI_N,
};

static const char *const mi_keys[MI_N] = {
    "MemTotal:", "MemFree:", "MemAvailable:", "Buffers:", "Cached:",
    "SReclaimable:", "SUnreclaim:", "SwapTotal:", "SwapFree:",
};

int
sys_memory_collect(struct sys_ctx *c, struct sys_sink *s)
{
    uint64_t v[MI_N];
    unsigned seen = 0;
    double total, used, cached;
    const char *p;
    int rc = 0, i;

    if ((p = sys_read(c, SYS_F_MEMINFO, &rc)) == NULL)
        return rc;
    memset(v, 0, sizeof(v));
    for (; *p; p = pf_next_line(p)) {
        for (i = 0; i < MI_N; i++) {
            size_t kl = strlen(mi_keys[i]);

            if (strncmp(p, mi_keys[i], kl) == 0 &&
                pf_u64(p + kl, &v[i]) != NULL) {
                v[i] *= 1024;               /* kB */
                seen |= 1u << i;
                break;
            }
        }
    }
    if (!(seen & (1u << MI_TOTAL)) || v[MI_TOTAL] == 0)
        return -EINVAL;
    /* Kernels before 3.14 have no MemAvailable: free + page cache is the
     * estimate they would have given. */
    if (!(seen & (1u << MI_AVAILABLE)))
        v[MI_AVAILABLE] = v[MI_FREE] + v[MI_BUFFERS] + v[MI_CACHED];
    total = (double)v[MI_TOTAL];
    cached = (double)v[MI_CACHED] + (double)v[MI_SRECLAIM];
    used = total - (double)v[MI_FREE] - (double)v[MI_BUFFERS] - cached;
    if (used < 0)                       /* cache counted across a race */
        used = total - (double)v[MI_FREE];

    sys_sink_put(s, "system.memory.limit", VG_METRIC_GAUGE, total, SYS_END);
    sys_sink_put(s, "system.memory.usage", VG_METRIC_GAUGE, used,
                 "system.memory.state", "used", SYS_END);
    sys_sink_put(s, "system.memory.usage", VG_METRIC_GAUGE,
                 (double)v[MI_FREE], "system.memory.state", "free", SYS_END);
    sys_sink_put(s, "system.memory.usage", VG_METRIC_GAUGE,
                 (double)v[MI_BUFFERS], "system.memory.state", "buffers",
                 SYS_END);
    sys_sink_put(s, "system.memory.usage", VG_METRIC_GAUGE, cached,
                 "system.memory.state", "cached", SYS_END);
    sys_sink_put(s, "system.memory.linux.available", VG_METRIC_GAUGE,
                 (double)v[MI_AVAILABLE], SYS_END);
    if (seen & (1u << MI_SRECLAIM))
        sys_sink_put(s, "system.memory.linux.slab.usage", VG_METRIC_GAUGE,
                     (double)v[MI_SRECLAIM], "linux.memory.slab.state",
                     "reclaimable", SYS_END);
    if (seen & (1u << MI_SUNRECLAIM))
        sys_sink_put(s, "system.memory.linux.slab.usage", VG_METRIC_GAUGE,
                     (double)v[MI_SUNRECLAIM], "linux.memory.slab.state",
                     "unreclaimable", SYS_END);
    sys_sink_put(s, "system.memory.utilization", VG_METRIC_GAUGE,
                 used / total, SYS_END);
    if (seen & (1u << MI_SWAPTOTAL)) {
        double sfree = (double)v[MI_SWAPFREE];
        double sused = (double)v[MI_SWAPTOTAL] - sfree;

        sys_sink_put(s, "system.paging.usage", VG_METRIC_GAUGE,
                     sused < 0 ? 0 : sused, "system.paging.state", "used",
                     SYS_END);
        sys_sink_put(s, "system.paging.usage", VG_METRIC_GAUGE, sfree,
                     "system.paging.state", "free", SYS_END);
    }
    return 0;
}
