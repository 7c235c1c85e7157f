/*
 * load: the load averages of /proc/loadavg, and pressure stall information
 * from /proc/pressure where the kernel has it (4.20+, CONFIG_PSI, and
 * not disabled with psi=0); without it pressure is skipped quietly.
 */
#include <errno.h>
#include <string.h>

#include "sys.h"

#define LOGGED_NO_PSI 0x1u

static const struct {
    int         file;
    const char *resource;
} psi_files[] = {
    { SYS_F_PSI_CPU, "cpu" },
    { SYS_F_PSI_MEM, "memory" },
    { SYS_F_PSI_IO, "io" },
};

/* "some avg10=0.70 avg60=0.71 avg300=0.35 total=4575704" */
static void
psi_line(struct sys_sink *s, const char *resource, const char *p)
{
    const char *scope, *w;
    size_t len;
    char sc[8];
    double avg10 = -1;
    uint64_t total;
    int have_total = 0;

    if ((p = pf_word(p, &scope, &len)) == NULL || len >= sizeof(sc))
        return;
    memcpy(sc, scope, len);
    sc[len] = '\0';
    while ((p = pf_word(p, &w, &len)) != NULL) {
        if (len > 6 && strncmp(w, "avg10=", 6) == 0)
            pf_double(w + 6, &avg10);
        else if (len > 6 && strncmp(w, "total=", 6) == 0)
            have_total = pf_u64(w + 6, &total) != NULL;
    }
    if (avg10 >= 0)
        sys_sink_put(s, "system.pressure.avg10", VG_METRIC_GAUGE,
                     avg10 / 100.0, "system.pressure.resource", resource,
                     "system.pressure.scope", sc, SYS_END);
    if (have_total)
        sys_sink_put(s, "system.pressure.stall_time", VG_METRIC_COUNTER,
                     (double)total / 1e6, "system.pressure.resource",
                     resource, "system.pressure.scope", sc, SYS_END);
}

int
sys_load_collect(struct sys_ctx *c, struct sys_sink *s)
{
    static const char *const names[] = {
        "system.cpu.load_average.1m", "system.cpu.load_average.5m",
        "system.cpu.load_average.15m",
    };
    const char *p;
    double la;
    size_t i;
    int rc = 0;

    if ((p = sys_read(c, SYS_F_LOADAVG, &rc)) == NULL)
        return rc;
    for (i = 0; i < 3; i++) {
        if ((p = pf_double(p, &la)) == NULL)
            return -EINVAL;
        sys_sink_put(s, names[i], VG_METRIC_GAUGE, la, SYS_END);
    }
    for (i = 0; i < sizeof(psi_files) / sizeof(psi_files[0]); i++) {
        int err = 0;

        /* PSI does not appear at run time: stop asking once it is known
         * to be absent. */
        if (c->files[psi_files[i].file].missing)
            continue;
        if ((p = sys_read(c, psi_files[i].file, &err)) == NULL) {
            /* EOPNOTSUPP: built in but booted with psi=0. */
            sys_log_once(c, LOGGED_NO_PSI, VG_LOG_DEBUG,
                         "no pressure stall information at '%s': %s",
                         c->files[psi_files[i].file].path, strerror(-err));
            continue;
        }
        for (; *p; p = pf_next_line(p))
            psi_line(s, psi_files[i].resource, p);
    }
    return 0;
}
