/*
 * host: uptime, boot time, logical cpus and the kernel's file handle
 * table (allocated and maximum).
 */
#include <errno.h>
#include <string.h>

#include "sys.h"

int
sys_host_collect(struct sys_ctx *c, struct sys_sink *s)
{
    const char *p;
    uint64_t ncpu = 0, v, alloc, unused, max;
    double up;
    int rc = 0, err = 0;

    if ((p = sys_read(c, SYS_F_UPTIME, &err)) != NULL &&
        pf_double(p, &up) != NULL)
        sys_sink_put(s, "system.uptime", VG_METRIC_GAUGE, up, SYS_END);
    else
        rc = err ? err : -EINVAL;
    if ((p = sys_read(c, SYS_F_STAT, &err)) != NULL) {
        for (; *p; p = pf_next_line(p)) {
            if (p[0] == 'c' && strncmp(p, "cpu", 3) == 0 && p[3] >= '0' &&
                p[3] <= '9')
                ncpu++;
            else if (strncmp(p, "btime ", 6) == 0 && pf_u64(p + 6, &v))
                sys_sink_put(s, "system.boot_time", VG_METRIC_GAUGE,
                             (double)v, SYS_END);
        }
        /* /proc/stat lists the online cpus, as sysconf counts them. */
        sys_sink_put(s, "system.cpu.logical.count", VG_METRIC_GAUGE,
                     (double)ncpu, SYS_END);
    } else {
        rc = err;
    }
    if ((p = sys_read(c, SYS_F_FILENR, &err)) != NULL &&
        (p = pf_u64(p, &alloc)) != NULL && (p = pf_u64(p, &unused)) != NULL &&
        pf_u64(p, &max) != NULL) {
        sys_sink_put(s, "system.file_descriptor.count", VG_METRIC_GAUGE,
                     (double)alloc, SYS_END);
        sys_sink_put(s, "system.file_descriptor.limit", VG_METRIC_GAUGE,
                     (double)max, SYS_END);
    } else {
        rc = err ? err : -EINVAL;
    }
    return rc;
}
