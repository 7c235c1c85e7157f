/*
 * The system input's collectors.  Everything here is independent of the
 * core: a collection reads files under a root path (a fixture tree in the
 * unit tests, "/host" in a sidecar) into a sys_sink of samples, which
 * system.c turns into events.  State kept between collections (previous
 * CPU ticks, the process table) lives in struct sys_ctx, and its arrays
 * only grow, so a steady-state collection does not allocate.
 */
#ifndef VG_SYSTEM_SYS_H
#define VG_SYSTEM_SYS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vigil/plugin.h>

#include "procfs.h"

/* The configuration, filled by the core from the option table. */
struct sys_conf {
    int64_t        interval;            /* ns */
    struct vg_strv collect;             /* group names; empty = all */
    char          *root;                /* "/" or a host mount: "/host" */
    int            cpu_per_cpu;
    struct vg_strv disk_include;
    struct vg_strv disk_exclude;
    struct vg_strv fs_include_mounts;
    struct vg_strv fs_exclude_mounts;
    struct vg_strv fs_include_types;
    struct vg_strv fs_exclude_types;
    struct vg_strv net_include;
    struct vg_strv net_exclude;
    int64_t        proc_top;            /* 0 = no top-N processes */
};

/* Option defaults, comma-separated as the core takes STRLIST defaults;
 * shared with the unit tests so they check the filters users get. */
#define SYS_DEF_COLLECT \
    "cpu, memory, load, disk, filesystem, network, processes, host"
#define SYS_DEF_DISK_EXCLUDE "loop*, ram*"
#define SYS_DEF_FS_EXCLUDE_MOUNTS \
    "/proc/*, /sys/*, /var/lib/docker/*, /var/lib/kubelet/*, " \
    "/run/containerd/*, /run/docker/*, /run/netns/*"
/* Pseudo and virtual filesystems, read-only images (always full), and
 * network filesystems: statvfs on a dead server blocks the loop. */
#define SYS_DEF_FS_EXCLUDE_TYPES \
    "autofs, binfmt_misc, bpf, cgroup, cgroup2, configfs, debugfs, " \
    "devpts, devtmpfs, efivarfs, fusectl, hugetlbfs, mqueue, nsfs, " \
    "overlay, proc, pstore, rpc_pipefs, securityfs, selinuxfs, squashfs, " \
    "sysfs, tracefs, ramfs, iso9660, erofs, nfs, nfs4, cifs, smb3, 9p, " \
    "ceph, glusterfs, fuse.*"
#define SYS_DEF_NET_EXCLUDE "lo"

/* Aborts on OOM, as the core's allocator does. */
void *sys_xrealloc(void *p, size_t n);

/* ---- samples ---------------------------------------------------------- */

#define SYS_MAX_LABELS 5

struct sys_sample {
    const char *name;                   /* static string                */
    uint32_t    type;                   /* enum vg_metric_type          */
    double      value;
    uint32_t    nlabels;
    const char *keys[SYS_MAX_LABELS];   /* static strings               */
    size_t      voff[SYS_MAX_LABELS];   /* value offsets in the arena   */
};

/* Samples of one collection; reset and refilled, never shrunk. */
struct sys_sink {
    struct sys_sample *v;
    size_t             n, cap;
    char              *arena;           /* label values, NUL-terminated */
    size_t             alen, acap;
};

void sys_sink_reset(struct sys_sink *s);
void sys_sink_release(struct sys_sink *s);
/* Ends the key, value pairs of sys_sink_put and sys_sink_find: a plain
 * NULL may be an int in a variadic call. */
#define SYS_END ((const char *)NULL)

/*
 * Appends a sample: name and label keys must be static strings; label
 * values are copied.  The variadic part is key, value pairs ended by
 * SYS_END.
 */
void sys_sink_put(struct sys_sink *s, const char *name, uint32_t type,
                  double value, ...);
/* The label value of a sample, or NULL. */
const char *sys_sample_label(const struct sys_sink *s,
                             const struct sys_sample *m, const char *key);
/* The first sample with this name and these key, value pairs (ended by
 * SYS_END), or NULL. */
const struct sys_sample *sys_sink_find(const struct sys_sink *s,
                                       const char *name, ...);
/* Samples with this name. */
size_t sys_sink_count(const struct sys_sink *s, const char *name);

/* ---- collection state ------------------------------------------------- */

enum sys_group {
    SYS_CPU        = 1u << 0,
    SYS_MEMORY     = 1u << 1,
    SYS_LOAD       = 1u << 2,
    SYS_DISK       = 1u << 3,
    SYS_FILESYSTEM = 1u << 4,
    SYS_NETWORK    = 1u << 5,
    SYS_PROCESSES  = 1u << 6,
    SYS_HOST       = 1u << 7,
    SYS_ALL        = 0xffu,
};

/* Returns the group bit for a name, or 0. */
unsigned sys_group_parse(const char *name);

typedef void (*sys_log_fn)(void *arg, int level, const char *msg);

#define SYS_CPU_MODES 10        /* user .. guest_nice in /proc/stat */
#define SYS_DIAG_BUF  32768     /* one netlink receive */

struct sys_cpu_ticks {
    uint64_t t[SYS_CPU_MODES];
    int      nmodes;            /* fields the kernel gave; 0 = no sample */
};

struct sys_proc {
    int      pid;
    char     state;
    uint64_t start;             /* ticks after boot: tells reused pids */
    uint64_t ticks;             /* utime + stime                       */
    uint64_t rss;               /* pages                               */
    double   cpu;               /* utilisation over the last interval  */
    char     comm[32];
};

struct sys_user {
    uid_t uid;
    char  name[32];
};

enum {
    SYS_F_STAT, SYS_F_MEMINFO, SYS_F_LOADAVG, SYS_F_PSI_CPU, SYS_F_PSI_MEM,
    SYS_F_PSI_IO, SYS_F_DISKSTATS, SYS_F_NETDEV, SYS_F_TCP, SYS_F_TCP6,
    SYS_F_SNMP, SYS_F_MOUNTINFO, SYS_F_FILENR, SYS_F_UPTIME, SYS_F_N,
};

struct sys_ctx {
    const struct sys_conf *conf;
    char        root[256];          /* "" for "/"                       */
    unsigned    groups;
    long        clk_tck;            /* USER_HZ                          */
    long        page_size;
    uint64_t    tick;               /* collections so far               */
    unsigned    logged;             /* one-time messages already given  */
    unsigned    failing;            /* groups whose last run failed     */
    sys_log_fn  log;
    void       *log_arg;

    struct pf_file files[SYS_F_N];

    /* cpu: slot 0 is the total, slot i+1 is cpu i */
    struct sys_cpu_ticks *cpu_prev;
    size_t                cpu_cap;

    /* processes: the last walk and the current one, sorted by pid */
    int              proc_dirfd;
    char            *dents;
    size_t           dents_cap;
    struct sys_proc *procs, *procs_prev;
    size_t           nprocs, nprocs_prev, procs_cap, procs_prev_cap;
    int64_t          procs_time;    /* ns, monotonic, of the last walk  */
    /* network: the sock_diag socket (-1 closed, -2 unavailable) */
    int              diag_fd;
    uint32_t         diag_seq;
    int              diag_v2_only;  /* the one-request dump was refused */
    char            *diag_buf;

    struct sys_user *users;
    size_t           nusers, users_cap;
    size_t          *top;           /* indexes, proc_top of them        */
    size_t           top_cap;
};

/*
 * Prepares a context for conf (borrowed; must outlive the context); log
 * (may be NULL) receives its messages.  Returns 0, -EINVAL for an unknown
 * group name or -ENAMETOOLONG for a root too long.  Release it with
 * sys_ctx_release either way.
 */
int  sys_ctx_init(struct sys_ctx *c, const struct sys_conf *conf,
                  sys_log_fn log, void *log_arg);
void sys_ctx_release(struct sys_ctx *c);

/* One collection of every configured group into s (reset first).  A group
 * that fails logs and is skipped; the others still report.  now is a
 * monotonic time in ns, used for per-process CPU utilisation. */
void sys_collect(struct sys_ctx *c, struct sys_sink *s, int64_t now);

/* The collectors, each 0 or a negative errno. */
int sys_cpu_collect(struct sys_ctx *c, struct sys_sink *s);
int sys_memory_collect(struct sys_ctx *c, struct sys_sink *s);
int sys_load_collect(struct sys_ctx *c, struct sys_sink *s);
int sys_disk_collect(struct sys_ctx *c, struct sys_sink *s);
int sys_filesystem_collect(struct sys_ctx *c, struct sys_sink *s);
int sys_network_collect(struct sys_ctx *c, struct sys_sink *s);
int sys_processes_collect(struct sys_ctx *c, struct sys_sink *s,
                          int64_t now);
int sys_host_collect(struct sys_ctx *c, struct sys_sink *s);

/* Reads a file at most once per collection: the cpu and host groups share
 * /proc/stat.  Returns the contents, or NULL with *err set. */
const char *sys_read(struct sys_ctx *c, int which, int *err);

/* Logs through the context's hook, if any. */
void sys_log(struct sys_ctx *c, int level, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
/* Logs once per bit for the life of the context. */
void sys_log_once(struct sys_ctx *c, unsigned bit, int level,
                  const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

/* Parses one mountinfo line: fields are cut in place (mount point
 * unescaped).  0, or -EINVAL for a malformed line. */
struct sys_mount {
    char *mountpoint;
    char *fstype;
    char *source;
};
int sys_mountinfo_parse(char *line, struct sys_mount *m);
/* 1 when the mount passes the filesystem filters of conf. */
int sys_mount_wanted(const struct sys_conf *conf, const struct sys_mount *m);

#endif
