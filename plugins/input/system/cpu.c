/*
 * cpu: time per mode and utilisation, total and per cpu, from /proc/stat;
 * context switches and forks.  Utilisation needs two samples: the first
 * collection reports none, and an interval in which any tick counter went
 * backwards (a reset, a cpu replaced by hotplug) is skipped.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "sys.h"

/* Modes reported, in /proc/stat order; guest and guest_nice are already
 * counted in user and nice, so they are left out of times and totals. */
static const char *const cpu_modes[] = {
    "user", "nice", "system", "idle", "iowait", "irq", "softirq", "steal",
};
#define CPU_NMODES 8
#define CPU_IDLE   3
#define CPU_IOWAIT 4

static void
cpu_reserve(struct sys_ctx *c, size_t slot)
{
    size_t cap = c->cpu_cap ? c->cpu_cap : 8;

    if (slot < c->cpu_cap)
        return;
    while (cap <= slot)
        cap *= 2;
    c->cpu_prev = sys_xrealloc(c->cpu_prev, cap * sizeof(*c->cpu_prev));
    memset(c->cpu_prev + c->cpu_cap, 0,
           (cap - c->cpu_cap) * sizeof(*c->cpu_prev));
    c->cpu_cap = cap;
}

/* Busy share of the interval, or -1 when there is no valid interval. */
static double
cpu_utilization(const struct sys_cpu_ticks *prev,
                const struct sys_cpu_ticks *cur)
{
    uint64_t total = 0, idle = 0;
    int i, n = cur->nmodes < CPU_NMODES ? cur->nmodes : CPU_NMODES;

    if (prev->nmodes != cur->nmodes || n <= CPU_IDLE)
        return -1;
    for (i = 0; i < n; i++) {
        if (cur->t[i] < prev->t[i])
            return -1;
        total += cur->t[i] - prev->t[i];
        if (i == CPU_IDLE || i == CPU_IOWAIT)
            idle += cur->t[i] - prev->t[i];
    }
    if (total == 0)
        return -1;
    return (double)(total - idle) / (double)total;
}

static void
cpu_emit(struct sys_ctx *c, struct sys_sink *s, size_t slot,
         const struct sys_cpu_ticks *cur, const char *cpu)
{
    struct sys_cpu_ticks *prev;
    double util;
    int i;

    cpu_reserve(c, slot);
    prev = &c->cpu_prev[slot];
    for (i = 0; i < cur->nmodes && i < CPU_NMODES; i++) {
        double secs = (double)cur->t[i] / (double)c->clk_tck;

        if (cpu)
            sys_sink_put(s, "system.cpu.time", VG_METRIC_COUNTER, secs,
                         "cpu.mode", cpu_modes[i], "cpu", cpu, SYS_END);
        else
            sys_sink_put(s, "system.cpu.time", VG_METRIC_COUNTER, secs,
                         "cpu.mode", cpu_modes[i], SYS_END);
    }
    util = cpu_utilization(prev, cur);
    if (util >= 0) {
        if (cpu)
            sys_sink_put(s, "system.cpu.utilization", VG_METRIC_GAUGE, util,
                         "cpu", cpu, SYS_END);
        else
            sys_sink_put(s, "system.cpu.utilization", VG_METRIC_GAUGE, util,
                         SYS_END);
    }
    *prev = *cur;
}

/* Parses the numbers after "cpu" or "cpuN". */
static void
cpu_parse_ticks(const char *p, struct sys_cpu_ticks *t)
{
    const char *q;

    t->nmodes = 0;
    while (t->nmodes < SYS_CPU_MODES &&
           (q = pf_u64(p, &t->t[t->nmodes])) != NULL) {
        t->nmodes++;
        p = q;
    }
}

int
sys_cpu_collect(struct sys_ctx *c, struct sys_sink *s)
{
    const char *p;
    int rc = 0;

    if ((p = sys_read(c, SYS_F_STAT, &rc)) == NULL)
        return rc;
    for (; *p; p = pf_next_line(p)) {
        struct sys_cpu_ticks cur;
        uint64_t v;

        if (strncmp(p, "cpu", 3) == 0) {
            char cpu[24];
            uint64_t n;
            const char *q = p + 3;

            if (*q == ' ') {
                cpu_parse_ticks(q, &cur);
                cpu_emit(c, s, 0, &cur, NULL);
                continue;
            }
            if (!c->conf->cpu_per_cpu || (q = pf_u64(q, &n)) == NULL ||
                n > 65535)
                continue;
            cpu_parse_ticks(q, &cur);
            snprintf(cpu, sizeof(cpu), "%u", (unsigned)n);
            cpu_emit(c, s, (size_t)n + 1, &cur, cpu);
        } else if (strncmp(p, "ctxt ", 5) == 0 && pf_u64(p + 5, &v)) {
            sys_sink_put(s, "system.cpu.context_switches", VG_METRIC_COUNTER,
                         (double)v, SYS_END);
        } else if (strncmp(p, "processes ", 10) == 0 && pf_u64(p + 10, &v)) {
            sys_sink_put(s, "system.processes.created", VG_METRIC_COUNTER,
                         (double)v, SYS_END);
        }
    }
    return 0;
}
