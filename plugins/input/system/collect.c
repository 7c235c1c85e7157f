/*
 * The collection context: which groups run, where the files are (the root
 * prefix), and the per-file state shared by the collectors.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "sys.h"

static const char *const group_names[] = {
    "cpu", "memory", "load", "disk", "filesystem", "network", "processes",
    "host",
};

unsigned
sys_group_parse(const char *name)
{
    size_t i;

    for (i = 0; i < sizeof(group_names) / sizeof(group_names[0]); i++)
        if (strcmp(group_names[i], name) == 0)
            return 1u << i;
    return 0;
}

void
sys_log(struct sys_ctx *c, int level, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    if (c->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->log(c->log_arg, level, msg);
}

void
sys_log_once(struct sys_ctx *c, unsigned bit, int level, const char *fmt,
             ...)
{
    char msg[512];
    va_list ap;

    if (c->logged & bit)
        return;
    c->logged |= bit;
    if (c->log == NULL)
        return;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    c->log(c->log_arg, level, msg);
}

/*
 * Where each file lives.  With a root other than "/", per-namespace files
 * are read through pid 1: <root>/proc/net is a link to self/net, which
 * would name the agent's own network namespace, not the host's.
 */
static const char *
file_rel(int which, int hostns)
{
    switch (which) {
    case SYS_F_STAT:      return "/proc/stat";
    case SYS_F_MEMINFO:   return "/proc/meminfo";
    case SYS_F_LOADAVG:   return "/proc/loadavg";
    case SYS_F_PSI_CPU:   return "/proc/pressure/cpu";
    case SYS_F_PSI_MEM:   return "/proc/pressure/memory";
    case SYS_F_PSI_IO:    return "/proc/pressure/io";
    case SYS_F_DISKSTATS: return "/proc/diskstats";
    case SYS_F_NETDEV:    return hostns ? "/proc/1/net/dev" : "/proc/net/dev";
    case SYS_F_TCP:       return hostns ? "/proc/1/net/tcp" : "/proc/net/tcp";
    case SYS_F_TCP6:
        return hostns ? "/proc/1/net/tcp6" : "/proc/net/tcp6";
    case SYS_F_SNMP:
        return hostns ? "/proc/1/net/snmp" : "/proc/net/snmp";
    case SYS_F_MOUNTINFO:
        return hostns ? "/proc/1/mountinfo" : "/proc/self/mountinfo";
    case SYS_F_FILENR:    return "/proc/sys/fs/file-nr";
    case SYS_F_UPTIME:    return "/proc/uptime";
    }
    return "";
}

int
sys_ctx_init(struct sys_ctx *c, const struct sys_conf *conf, sys_log_fn log,
             void *log_arg)
{
    const char *root = conf->root ? conf->root : "/";
    size_t len = strlen(root);
    size_t i;
    int rc = 0;

    memset(c, 0, sizeof(*c));
    c->conf = conf;
    c->log = log;
    c->log_arg = log_arg;
    c->proc_dirfd = -1;
    c->diag_fd = -1;
    while (len > 0 && root[len - 1] == '/')
        len--;
    if (len >= sizeof(c->root) - 32) {
        rc = -ENAMETOOLONG;
        goto fail;
    }
    memcpy(c->root, root, len);
    c->root[len] = '\0';
    if (conf->collect.n == 0)
        c->groups = SYS_ALL;
    for (i = 0; i < conf->collect.n; i++) {
        unsigned g = sys_group_parse(conf->collect.v[i]);

        if (g == 0) {
            sys_log(c, VG_LOG_ERROR, "collect: unknown group '%s' (known: "
                    "cpu, memory, load, disk, filesystem, network, "
                    "processes, host)", conf->collect.v[i]);
            rc = -EINVAL;
            goto fail;
        }
        c->groups |= g;
    }
    c->clk_tck = sysconf(_SC_CLK_TCK);
    if (c->clk_tck <= 0)
        c->clk_tck = 100;
    c->page_size = sysconf(_SC_PAGESIZE);
    if (c->page_size <= 0)
        c->page_size = 4096;
    for (i = 0; i < SYS_F_N; i++)
        pf_file_init(&c->files[i], c->root, file_rel((int)i, len > 0));
    return 0;
fail:
    return rc;
}

void
sys_ctx_release(struct sys_ctx *c)
{
    size_t i;

    if (c->files[0].path != NULL)
        for (i = 0; i < SYS_F_N; i++)
            pf_file_release(&c->files[i]);
    if (c->proc_dirfd >= 0)
        close(c->proc_dirfd);
    if (c->diag_fd >= 0)
        close(c->diag_fd);
    free(c->diag_buf);
    free(c->cpu_prev);
    free(c->dents);
    free(c->procs);
    free(c->procs_prev);
    free(c->users);
    free(c->top);
    memset(c, 0, sizeof(*c));
    c->proc_dirfd = -1;
    c->diag_fd = -1;
}

const char *
sys_read(struct sys_ctx *c, int which, int *err)
{
    struct pf_file *f = &c->files[which];
    ssize_t n;

    if (f->tick == c->tick && f->buf != NULL)
        return f->buf;
    if ((n = pf_file_read(f)) < 0) {
        *err = (int)n;
        return NULL;
    }
    f->tick = c->tick;
    return f->buf;
}

struct group_run {
    unsigned    bit;
    const char *name;
};

/* A broken group usually stays broken (a file the kernel lacks, a denied
 * read); saying so every interval would flood the log, so it is said once
 * when it starts and once when it ends. */
static void
group_result(struct sys_ctx *c, unsigned bit, const char *name, int rc)
{
    if (rc < 0 && !(c->failing & bit)) {
        c->failing |= bit;
        sys_log(c, VG_LOG_WARN, "collecting %s failed: %s", name,
                strerror(-rc));
    } else if (rc >= 0 && (c->failing & bit)) {
        c->failing &= ~bit;
        sys_log(c, VG_LOG_INFO, "collecting %s works again", name);
    }
}

void
sys_collect(struct sys_ctx *c, struct sys_sink *s, int64_t now)
{
    static const struct group_run runs[] = {
        { SYS_CPU, "cpu" }, { SYS_MEMORY, "memory" }, { SYS_LOAD, "load" },
        { SYS_DISK, "disk" }, { SYS_FILESYSTEM, "filesystem" },
        { SYS_NETWORK, "network" }, { SYS_PROCESSES, "processes" },
        { SYS_HOST, "host" },
    };
    size_t i;

    sys_sink_reset(s);
    c->tick++;
    for (i = 0; i < sizeof(runs) / sizeof(runs[0]); i++) {
        int rc = 0;

        if (!(c->groups & runs[i].bit))
            continue;
        switch (runs[i].bit) {
        case SYS_CPU:        rc = sys_cpu_collect(c, s); break;
        case SYS_MEMORY:     rc = sys_memory_collect(c, s); break;
        case SYS_LOAD:       rc = sys_load_collect(c, s); break;
        case SYS_DISK:       rc = sys_disk_collect(c, s); break;
        case SYS_FILESYSTEM: rc = sys_filesystem_collect(c, s); break;
        case SYS_NETWORK:    rc = sys_network_collect(c, s); break;
        case SYS_PROCESSES:  rc = sys_processes_collect(c, s, now); break;
        case SYS_HOST:       rc = sys_host_collect(c, s); break;
        }
        group_result(c, runs[i].bit, runs[i].name, rc);
    }
}
