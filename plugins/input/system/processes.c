/*
 * processes: counts by state and threads, from one pass over /proc/[pid]/stat
 * (the status files are ten times the bytes to read and parse), and when
 * top > 0 the top processes by CPU and by resident memory.  The pass reads
 * the /proc directory with getdents64 on a dir fd kept open and opens each
 * stat file with openat, so a pass costs three syscalls per process and no
 * allocation once the arrays have grown to the process count.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "sys.h"

#define DENTS_SIZE 32768
#define MAX_USERS  256          /* names cached; past it, looked up again */

enum {
    ST_RUNNING, ST_SLEEPING, ST_DISK_SLEEP, ST_STOPPED, ST_TRACING_STOP,
    ST_ZOMBIE, ST_DEAD, ST_IDLE, ST_OTHER, ST_N,
};

static const char *const state_names[ST_N] = {
    "running", "sleeping", "disk_sleep", "stopped", "tracing_stop",
    "zombie", "dead", "idle", "other",
};

static int
state_index(char st)
{
    switch (st) {
    case 'R': return ST_RUNNING;
    case 'S': return ST_SLEEPING;
    case 'D': return ST_DISK_SLEEP;
    case 'T': return ST_STOPPED;
    case 't': return ST_TRACING_STOP;
    case 'Z': return ST_ZOMBIE;
    case 'X': case 'x': return ST_DEAD;
    case 'I': return ST_IDLE;
    }
    return ST_OTHER;
}

/*
 * Parses a /proc/[pid]/stat line.  The command sits in parentheses and may
 * itself hold spaces and parentheses, so the fields start after the last
 * ')'.  Returns 0, or -EINVAL.
 */
static int
stat_parse(const char *buf, size_t len, struct sys_proc *pr,
           uint64_t *threads)
{
    const char *open = memchr(buf, '(', len);
    const char *close = NULL, *p;
    uint64_t v[23];     /* fields 4.. (ppid ..) by their 1-based number - 4 */
    size_t i, n;

    for (p = buf + len; p > buf; p--)
        if (p[-1] == ')') {
            close = p - 1;
            break;
        }
    if (open == NULL || close == NULL || close < open || close + 3 >= buf + len)
        return -EINVAL;
    n = (size_t)(close - open - 1);
    if (n >= sizeof(pr->comm))
        n = sizeof(pr->comm) - 1;
    memcpy(pr->comm, open + 1, n);
    pr->comm[n] = '\0';
    pr->state = close[2];
    p = close + 3;
    for (i = 0; i < 21; i++) {
        /* Fields can be negative (priority, nice): they are skipped. */
        p = pf_skip_ws(p);
        if (*p == '-')
            p++;
        if ((p = pf_u64(p, &v[i])) == NULL)
            return -EINVAL;
    }
    /* v[i] holds field i + 4: utime 14, stime 15, threads 20, start 22,
     * rss 24. */
    pr->ticks = v[10] + v[11];
    *threads = v[16];
    pr->start = v[18];
    pr->rss = v[20];
    return 0;
}

static void
procs_reserve(struct sys_ctx *c, size_t n)
{
    if (n < c->procs_cap)
        return;
    c->procs_cap = c->procs_cap ? c->procs_cap * 2 : 512;
    c->procs = sys_xrealloc(c->procs, c->procs_cap * sizeof(*c->procs));
}

static int
proc_cmp(const void *a, const void *b)
{
    const struct sys_proc *x = a, *y = b;

    return (x->pid > y->pid) - (x->pid < y->pid);
}

static const char *
user_name(struct sys_ctx *c, int pid, char *num, size_t numlen)
{
    char path[16], pwbuf[1024];
    struct passwd pw, *res = NULL;
    struct stat st;
    size_t i;

    snprintf(path, sizeof(path), "%d", pid);
    if (fstatat(c->proc_dirfd, path, &st, 0) < 0)
        return NULL;
    for (i = 0; i < c->nusers; i++)
        if (c->users[i].uid == st.st_uid)
            return c->users[i].name;
    snprintf(num, numlen, "%u", (unsigned)st.st_uid);
    if (getpwuid_r(st.st_uid, &pw, pwbuf, sizeof(pwbuf), &res) != 0 ||
        res == NULL || strlen(pw.pw_name) >= sizeof(c->users[0].name))
        return num;
    if (c->nusers == MAX_USERS)
        return num;
    if (c->nusers == c->users_cap) {
        c->users_cap = c->users_cap ? c->users_cap * 2 : 16;
        c->users = sys_xrealloc(c->users, c->users_cap * sizeof(*c->users));
    }
    c->users[c->nusers].uid = st.st_uid;
    strcpy(c->users[c->nusers].name, pw.pw_name);
    return c->users[c->nusers++].name;
}

/* Indexes of the n largest by key (cpu when by_cpu, else rss), largest
 * first; processes without a cpu figure are left out of the cpu list. */
static size_t
top_select(struct sys_ctx *c, size_t n, int by_cpu)
{
    size_t i, k = 0;

    if (c->top_cap < n) {
        c->top = sys_xrealloc(c->top, n * sizeof(*c->top));
        c->top_cap = n;
    }
    for (i = 0; i < c->nprocs; i++) {
        const struct sys_proc *pr = &c->procs[i];
        double key = by_cpu ? pr->cpu : (double)pr->rss;
        size_t j;

        if (by_cpu && key < 0)
            continue;
        if (k == n && key <= (by_cpu ? c->procs[c->top[k - 1]].cpu
                                     : (double)c->procs[c->top[k - 1]].rss))
            continue;
        j = k < n ? k++ : n - 1;
        while (j > 0) {
            const struct sys_proc *q = &c->procs[c->top[j - 1]];

            if ((by_cpu ? q->cpu : (double)q->rss) >= key)
                break;
            c->top[j] = c->top[j - 1];
            j--;
        }
        c->top[j] = i;
    }
    return k;
}

static void
top_emit(struct sys_ctx *c, struct sys_sink *s, int64_t now)
{
    size_t n = (size_t)c->conf->proc_top, i, j = 0, k;
    double dt = (double)(now - c->procs_time) / 1e9;
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    int first = c->procs_time == 0;
    char pid[16], num[16];

    if (ncpu < 1)
        ncpu = 1;
    /* /proc lists pids in ascending order; a copied tree may not. */
    for (i = 1; i < c->nprocs; i++)
        if (c->procs[i - 1].pid > c->procs[i].pid) {
            qsort(c->procs, c->nprocs, sizeof(*c->procs), proc_cmp);
            break;
        }
    /* Both walks are sorted by pid: match them in one merge pass. */
    for (i = 0; i < c->nprocs; i++) {
        struct sys_proc *pr = &c->procs[i];

        pr->cpu = -1;
        while (j < c->nprocs_prev && c->procs_prev[j].pid < pr->pid)
            j++;
        if (!first && dt > 0 && j < c->nprocs_prev &&
            c->procs_prev[j].pid == pr->pid &&
            c->procs_prev[j].start == pr->start &&
            pr->ticks >= c->procs_prev[j].ticks)
            pr->cpu = (double)(pr->ticks - c->procs_prev[j].ticks) /
                      (double)c->clk_tck / dt / (double)ncpu;
    }
    for (int by_cpu = 1; by_cpu >= 0; by_cpu--) {
        k = top_select(c, n, by_cpu);
        for (i = 0; i < k; i++) {
            const struct sys_proc *pr = &c->procs[c->top[i]];
            const char *user = user_name(c, pr->pid, num, sizeof(num));

            snprintf(pid, sizeof(pid), "%d", pr->pid);
            if (user == NULL)           /* exited meanwhile */
                continue;
            if (by_cpu)
                sys_sink_put(s, "process.cpu.utilization", VG_METRIC_GAUGE,
                             pr->cpu, "process.pid", pid,
                             "process.executable.name", pr->comm,
                             "process.owner", user, SYS_END);
            else
                sys_sink_put(s, "process.memory.usage", VG_METRIC_GAUGE,
                             (double)pr->rss * (double)c->page_size,
                             "process.pid", pid, "process.executable.name",
                             pr->comm, "process.owner", user, SYS_END);
        }
    }
}

static void
procs_swap(struct sys_ctx *c, int64_t now)
{
    struct sys_proc *t = c->procs_prev;
    size_t cap = c->procs_prev_cap;

    c->procs_prev = c->procs;
    c->procs_prev_cap = c->procs_cap;
    c->nprocs_prev = c->nprocs;
    c->procs = t;
    c->procs_cap = cap;
    c->nprocs = 0;
    c->procs_time = now;
}

static int
proc_dir_open(struct sys_ctx *c)
{
    char path[300];

    if (c->proc_dirfd >= 0)
        return lseek(c->proc_dirfd, 0, SEEK_SET) < 0 ? -errno : 0;
    snprintf(path, sizeof(path), "%s/proc", c->root);
    c->proc_dirfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (c->proc_dirfd < 0)
        return -errno;
    if (c->dents == NULL) {
        c->dents = sys_xrealloc(NULL, DENTS_SIZE);
        c->dents_cap = DENTS_SIZE;
    }
    return 0;
}

static void
proc_one(struct sys_ctx *c, const char *name, uint64_t *counts,
         uint64_t *threads)
{
    struct sys_proc pr;
    char path[32], buf[1024];
    uint64_t nthr;
    ssize_t n;
    int fd;

    snprintf(path, sizeof(path), "%s/stat", name);
    if ((fd = openat(c->proc_dirfd, path, O_RDONLY | O_CLOEXEC)) < 0)
        return;                         /* exited since readdir */
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    pr.pid = atoi(name);
    if (stat_parse(buf, (size_t)n, &pr, &nthr) < 0)
        return;
    counts[state_index(pr.state)]++;
    *threads += nthr;
    if (c->conf->proc_top > 0) {
        procs_reserve(c, c->nprocs + 1);
        c->procs[c->nprocs++] = pr;
    }
}

int
sys_processes_collect(struct sys_ctx *c, struct sys_sink *s, int64_t now)
{
    uint64_t counts[ST_N], threads = 0;
    ssize_t n;
    int rc, i;

    memset(counts, 0, sizeof(counts));
    if ((rc = proc_dir_open(c)) < 0)
        return rc;
    c->nprocs = 0;
    while ((n = getdents64(c->proc_dirfd, c->dents, c->dents_cap)) > 0) {
        ssize_t off = 0;

        while (off < n) {
            struct dirent64 *d = (struct dirent64 *)(c->dents + off);

            off += d->d_reclen;
            if (d->d_name[0] >= '1' && d->d_name[0] <= '9')
                proc_one(c, d->d_name, counts, &threads);
        }
    }
    if (n < 0) {
        rc = -errno;
        close(c->proc_dirfd);
        c->proc_dirfd = -1;
        return rc;
    }
    for (i = 0; i < ST_N; i++)
        sys_sink_put(s, "system.processes.count", VG_METRIC_GAUGE,
                     (double)counts[i], "system.process.status",
                     state_names[i], SYS_END);
    sys_sink_put(s, "system.thread.count", VG_METRIC_GAUGE, (double)threads,
                 SYS_END);
    if (c->conf->proc_top > 0) {
        top_emit(c, s, now);
        procs_swap(c, now);
    }
    /* Without the host group, the open file count still belongs here. */
    if (!(c->groups & SYS_HOST)) {
        const char *p = sys_read(c, SYS_F_FILENR, &rc);
        uint64_t alloc;

        if (p != NULL && pf_u64(p, &alloc) != NULL)
            sys_sink_put(s, "system.file_descriptor.count", VG_METRIC_GAUGE,
                         (double)alloc, SYS_END);
    }
    return 0;
}
