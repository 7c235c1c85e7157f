/*
 * filesystem: space and inodes of each mounted filesystem, with the mount
 * table from mountinfo (the host's, through pid 1, when a root is set) and
 * the numbers from statvfs on <root><mount point>.  statvfs on a dead
 * network mount blocks, which is why network filesystems are excluded by
 * default (see docs/plugins/system.md).
 */
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>
#include <sys/statvfs.h>

#include "sys.h"

/* Mountinfo escapes space, tab, newline and backslash as \ooo. */
static void
unescape(char *s)
{
    char *w = s;

    for (; *s; s++) {
        if (s[0] == '\\' && s[1] >= '0' && s[1] <= '3' && s[2] >= '0' &&
            s[2] <= '7' && s[3] >= '0' && s[3] <= '7') {
            *w++ = (char)((s[1] - '0') * 64 + (s[2] - '0') * 8 + s[3] - '0');
            s += 3;
        } else {
            *w++ = *s;
        }
    }
    *w = '\0';
}

/* Cuts the next blank-separated field in place. */
static char *
field(char **p)
{
    char *s = *p, *e;

    while (*s == ' ')
        s++;
    if (*s == '\0')
        return NULL;
    e = s;
    while (*e && *e != ' ')
        e++;
    if (*e)
        *e++ = '\0';
    *p = e;
    return s;
}

/* "36 35 98:0 /mnt1 /mnt/parent rw,noatime master:1 - ext3 /dev/root rw"
 * mount id, parent, dev, root, mount point, options, optional fields
 * ended by "-", then type, source, super options. */
int
sys_mountinfo_parse(char *line, struct sys_mount *m)
{
    char *p = line, *f;
    int i;

    for (i = 0; i < 4; i++)
        if (field(&p) == NULL)
            return -EINVAL;
    if ((m->mountpoint = field(&p)) == NULL || field(&p) == NULL)
        return -EINVAL;
    while ((f = field(&p)) != NULL && strcmp(f, "-") != 0)
        ;
    if (f == NULL || (m->fstype = field(&p)) == NULL ||
        (m->source = field(&p)) == NULL)
        return -EINVAL;
    unescape(m->mountpoint);
    unescape(m->source);
    return 0;
}

int
sys_mount_wanted(const struct sys_conf *conf, const struct sys_mount *m)
{
    return pf_filter_pass(&conf->fs_include_types, &conf->fs_exclude_types,
                          m->fstype) &&
           pf_filter_pass(&conf->fs_include_mounts, &conf->fs_exclude_mounts,
                          m->mountpoint);
}

struct fs_walk {
    struct sys_ctx  *c;
    struct sys_sink *s;
};

static void
fs_emit(struct sys_sink *s, const struct sys_mount *m,
        const struct statvfs *st)
{
    double bs = (double)st->f_frsize;
    double used = (double)(st->f_blocks - st->f_bfree) * bs;
    double avail = (double)st->f_bavail * bs;
    double reserved = (double)(st->f_bfree - st->f_bavail) * bs;
    const char *dev = m->source, *mp = m->mountpoint, *ty = m->fstype;

    sys_sink_put(s, "system.filesystem.usage", VG_METRIC_GAUGE, used,
                 "system.device", dev, "system.filesystem.mountpoint", mp,
                 "system.filesystem.type", ty, "system.filesystem.state",
                 "used", SYS_END);
    sys_sink_put(s, "system.filesystem.usage", VG_METRIC_GAUGE, avail,
                 "system.device", dev, "system.filesystem.mountpoint", mp,
                 "system.filesystem.type", ty, "system.filesystem.state",
                 "free", SYS_END);
    sys_sink_put(s, "system.filesystem.usage", VG_METRIC_GAUGE, reserved,
                 "system.device", dev, "system.filesystem.mountpoint", mp,
                 "system.filesystem.type", ty, "system.filesystem.state",
                 "reserved", SYS_END);
    /* As df(1) does: the share of what an unprivileged user could fill. */
    if (used + avail > 0)
        sys_sink_put(s, "system.filesystem.utilization", VG_METRIC_GAUGE,
                     used / (used + avail), "system.device", dev,
                     "system.filesystem.mountpoint", mp,
                     "system.filesystem.type", ty, SYS_END);
    if (st->f_files > 0) {
        sys_sink_put(s, "system.filesystem.inodes.usage", VG_METRIC_GAUGE,
                     (double)(st->f_files - st->f_ffree), "system.device",
                     dev, "system.filesystem.mountpoint", mp,
                     "system.filesystem.type", ty, "system.filesystem.state",
                     "used", SYS_END);
        sys_sink_put(s, "system.filesystem.inodes.usage", VG_METRIC_GAUGE,
                     (double)st->f_ffree, "system.device", dev,
                     "system.filesystem.mountpoint", mp,
                     "system.filesystem.type", ty, "system.filesystem.state",
                     "free", SYS_END);
    }
}

static void
fs_line(char *line, void *arg)
{
    struct fs_walk *w = arg;
    struct sys_mount m;
    struct statvfs st;
    char path[PATH_MAX];

    if (sys_mountinfo_parse(line, &m) < 0 ||
        !sys_mount_wanted(w->c->conf, &m))
        return;
    if ((size_t)snprintf(path, sizeof(path), "%s%s", w->c->root,
                         m.mountpoint) >= sizeof(path))
        return;
    /* A mount that vanished since mountinfo was read, or that this user
     * may not stat, is simply not reported this time. */
    if (statvfs(path, &st) < 0 || st.f_blocks == 0)
        return;
    fs_emit(w->s, &m, &st);
}

int
sys_filesystem_collect(struct sys_ctx *c, struct sys_sink *s)
{
    struct fs_walk w = { c, s };

    return pf_file_lines(&c->files[SYS_F_MOUNTINFO], fs_line, &w);
}
