/*
 * output file: vigil JSON lines appended to a file, rotated by size
 * (path -> path.1 -> ... -> path.N) and fsynced by policy.  A batch is one
 * write(); when a write fails part way the file is cut back to its size
 * before the batch, so a retried batch never leaves a torn or doubled line.
 * A file moved away by an external logrotate is noticed (inode check at
 * most once a second) and reopened.  A line torn by a crash in the middle
 * of a write is cut off when the file is opened again: its batch was never
 * acknowledged, so it is written again whole.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vigil/plugin.h>

enum file_fsync {
    FSYNC_ALWAYS,
    FSYNC_INTERVAL,
    FSYNC_NEVER,
};

struct file_conf {                      /* the core fills this in */
    char    *path;
    int64_t  max_size;                  /* bytes; 0 = never rotate */
    int64_t  max_files;                 /* rotated files kept */
    int      fsync;                     /* enum file_fsync */
    int64_t  fsync_interval;            /* ns */
};

struct file_state {
    const struct file_conf *conf;
    int              fd;                /* -1 while closed */
    dev_t            dev;               /* of the open file */
    ino_t            ino;
    int              dirty;             /* written since the last fsync */
    int64_t          checked;           /* ns: last inode check */
    struct vg_timer *sync_timer;
    char            *buf;               /* one batch, encoded */
    size_t           len;
    size_t           cap;
    char            *name;              /* scratch for path.N names */
    size_t           name_cap;
    uint64_t         failures;          /* consecutive failed flushes */
};

static const struct vg_option file_options[] = {
    { .name = "path", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct file_conf, path),
      .help = "file to append JSON lines to" },
    { .name = "max_size", .type = VG_OPT_SIZE, .def = "64MiB",
      .offset = offsetof(struct file_conf, max_size),
      .help = "rotate before the file grows past this; 0 = never" },
    { .name = "max_files", .type = VG_OPT_INT, .def = "5",
      .offset = offsetof(struct file_conf, max_files),
      .help = "rotated files kept (path.1 .. path.N)" },
    { .name = "fsync", .type = VG_OPT_ENUM, .def = "interval",
      .choices = "always|interval|never",
      .offset = offsetof(struct file_conf, fsync),
      .help = "fsync after every batch, every fsync_interval, or never" },
    { .name = "fsync_interval", .type = VG_OPT_DURATION, .def = "1s",
      .offset = offsetof(struct file_conf, fsync_interval),
      .help = "time between fsyncs with fsync: interval" },
    { 0 }
};

/* How far back from the end a torn line's start is looked for. */
#define TORN_LINE_MAX (1 << 20)

/*
 * kill -9 (or a power cut) during write() can leave the file ending in
 * part of a line: the kernel stops copying at a fatal signal.  The batch
 * was not acknowledged and comes again, so the fragment goes: the file is
 * cut back to its last newline.  A tail that does not look like one of
 * our lines (no '{' after the last newline within TORN_LINE_MAX) is
 * someone else's text: it is kept and ended with a newline, so that our
 * lines at least start on their own.
 */
static void
cut_torn_line(struct vg_instance *in, int fd, const char *path, off_t size)
{
    char buf[4096];
    off_t end = size, start = -1;

    if (size == 0 || pread(fd, buf, 1, size - 1) != 1 || buf[0] == '\n')
        return;
    while (end > 0 && size - end < TORN_LINE_MAX && start < 0) {
        size_t n = end > (off_t)sizeof(buf) ? sizeof(buf) : (size_t)end;

        if (pread(fd, buf, n, end - (off_t)n) != (ssize_t)n)
            return;
        end -= (off_t)n;
        while (n > 0 && buf[n - 1] != '\n')
            n--;
        if (n > 0)
            start = end + (off_t)n;
    }
    if (start < 0 && end == 0)
        start = 0;
    if (start < 0 || pread(fd, buf, 1, start) != 1 || buf[0] != '{') {
        vg_log(in, VG_LOG_WARN, "'%s' does not end in a newline; adding one",
               path);
        if (write(fd, "\n", 1) != 1)
            vg_log(in, VG_LOG_WARN, "cannot write to '%s': %s", path,
                   strerror(errno));
        return;
    }
    vg_log(in, VG_LOG_WARN, "'%s' ends in a line torn by a crash; cutting "
           "its %lld bytes (that batch is written again)", path,
           (long long)(size - start));
    if (ftruncate(fd, start) < 0)
        vg_log(in, VG_LOG_WARN, "cannot truncate '%s': %s", path,
               strerror(errno));
}

static int
file_open(struct vg_instance *in, struct file_state *st)
{
    struct stat sb;
    int fd = open(st->conf->path, O_RDWR | O_APPEND | O_CREAT | O_CLOEXEC,
                  0640);
    int rc;

    if (fd < 0) {
        rc = -errno;
        vg_log(in, VG_LOG_ERROR, "cannot open '%s': %s", st->conf->path,
               strerror(-rc));
        return rc;
    }
    if (fstat(fd, &sb) < 0) {
        rc = -errno;
        vg_log(in, VG_LOG_ERROR, "cannot stat '%s': %s", st->conf->path,
               strerror(-rc));
        close(fd);
        return rc;
    }
    cut_torn_line(in, fd, st->conf->path, sb.st_size);
    st->fd = fd;
    st->dev = sb.st_dev;
    st->ino = sb.st_ino;
    st->dirty = 0;
    return 0;
}

/* fsync when there is something to sync; 0 or a negative errno. */
static int
file_sync(struct vg_instance *in, struct file_state *st)
{
    if (st->fd < 0 || !st->dirty)
        return 0;
    if (fsync(st->fd) < 0) {
        int rc = -errno;

        vg_log(in, VG_LOG_WARN, "cannot fsync '%s': %s", st->conf->path,
               strerror(-rc));
        return rc;
    }
    st->dirty = 0;
    return 0;
}

static void
file_close(struct vg_instance *in, struct file_state *st)
{
    if (st->fd < 0)
        return;
    if (st->conf->fsync != FSYNC_NEVER)
        file_sync(in, st);
    close(st->fd);
    st->fd = -1;
}

/* st->name = "path.N" (or path itself for 0); -ENOMEM on failure. */
static int
rotated_name(struct file_state *st, int64_t n)
{
    size_t need = strlen(st->conf->path) + 24;

    if (need > st->name_cap) {
        char *p = realloc(st->name, need);

        if (!p)
            return -ENOMEM;
        st->name = p;
        st->name_cap = need;
    }
    if (n == 0)
        snprintf(st->name, st->name_cap, "%s", st->conf->path);
    else
        snprintf(st->name, st->name_cap, "%s.%" PRId64, st->conf->path, n);
    return 0;
}

/*
 * path.(N-1) -> path.N, ..., path -> path.1, then a fresh path.  A missing
 * older file is normal (few rotations yet); other rename failures are
 * logged and the chain goes on, since losing an old file beats stopping.
 */
static int
file_rotate(struct vg_instance *in, struct file_state *st)
{
    int64_t keep = st->conf->max_files;
    int64_t n;
    char *to = NULL;
    int rc = 0;

    file_close(in, st);
    if (keep == 0) {
        if (unlink(st->conf->path) < 0 && errno != ENOENT)
            vg_log(in, VG_LOG_WARN, "cannot remove '%s': %s",
                   st->conf->path, strerror(errno));
        return file_open(in, st);
    }
    for (n = keep - 1; n >= 0; n--) {
        if ((rc = rotated_name(st, n + 1)) < 0)
            goto out;
        free(to);
        if (!(to = strdup(st->name))) {
            rc = -ENOMEM;
            goto out;
        }
        if ((rc = rotated_name(st, n)) < 0)
            goto out;
        if (rename(st->name, to) < 0 && errno != ENOENT)
            vg_log(in, VG_LOG_WARN, "cannot rename '%s' to '%s': %s",
                   st->name, to, strerror(errno));
    }
    vg_log(in, VG_LOG_DEBUG, "rotated '%s'", st->conf->path);
    rc = file_open(in, st);
out:
    free(to);
    return rc;
}

/*
 * Reopens the path when it no longer names our file (moved or removed by
 * an external logrotate); stat()s at most once a second.
 */
static void
file_check_moved(struct vg_instance *in, struct file_state *st)
{
    int64_t now = vg_now(in);
    struct stat sb;

    if (st->fd < 0 || now - st->checked < VG_SECOND)
        return;
    st->checked = now;
    if (stat(st->conf->path, &sb) == 0 && sb.st_dev == st->dev &&
        sb.st_ino == st->ino)
        return;
    vg_log(in, VG_LOG_INFO, "'%s' was moved or removed; reopening",
           st->conf->path);
    file_close(in, st);
}

/* Writes buf whole, or cuts the file back to `before` and fails. */
static int
file_write(struct file_state *st, off_t before)
{
    size_t off = 0;
    int rc = 0;

    while (off < st->len) {
        ssize_t n = write(st->fd, st->buf + off, st->len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            rc = n < 0 ? -errno : -EIO;
            break;
        }
        off += (size_t)n;
    }
    if (rc < 0 && off > 0 && ftruncate(st->fd, before) < 0)
        rc = -errno;
    return rc;
}

static int
encode_batch(struct vg_instance *in, struct file_state *st,
             struct vg_batch *b)
{
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    int rc = 0;

    st->len = 0;
    while (rc == 0 && vg_batch_next(in, b, &it, &ev) > 0) {
        rc = vg_event_to_json(in, &ev, &st->buf, &st->len, &st->cap);
        if (rc == 0 && st->len + 1 >= st->cap) {
            size_t cap = st->cap ? st->cap * 2 : 4096;
            char *p = realloc(st->buf, cap);

            if (!p)
                rc = -ENOMEM;
            else {
                st->buf = p;
                st->cap = cap;
            }
        }
        if (rc == 0)
            st->buf[st->len++] = '\n';
    }
    vg_iter_release(in, &it);
    return rc;
}

static void
file_flush(struct vg_instance *in, struct vg_batch *b, struct vg_flush *fl)
{
    struct file_state *st = vg_instance_data(in);
    const struct file_conf *c = st->conf;
    char reason[256];
    struct stat sb;
    int rc;

    if ((rc = encode_batch(in, st, b)) < 0) {
        snprintf(reason, sizeof(reason), "cannot encode the batch: %s",
                 strerror(-rc));
        goto fail;
    }
    if (st->len == 0) {
        vg_flush_done(in, fl, VG_OK, NULL);
        return;
    }
    file_check_moved(in, st);
    if (st->fd < 0 && (rc = file_open(in, st)) < 0)
        goto fail_io;
    /* the real size: another writer or a truncation may have changed it */
    if (fstat(st->fd, &sb) < 0) {
        rc = -errno;
        goto fail_io;
    }
    if (c->max_size > 0 && sb.st_size > 0 &&
        (int64_t)sb.st_size + (int64_t)st->len > c->max_size) {
        if ((rc = file_rotate(in, st)) < 0)
            goto fail_io;
        sb.st_size = 0;
    }
    if ((rc = file_write(st, sb.st_size)) < 0)
        goto fail_io;
    st->dirty = 1;
    if (c->fsync == FSYNC_ALWAYS && (rc = file_sync(in, st)) < 0) {
        /* not durable: take it back so the retry writes it once */
        if (ftruncate(st->fd, sb.st_size) < 0)
            vg_log(in, VG_LOG_WARN, "cannot truncate '%s': %s", c->path,
                   strerror(errno));
        goto fail_io;
    }
    if (st->failures) {
        vg_log(in, VG_LOG_INFO, "writing to '%s' works again after %"
               PRIu64 " failed attempts", c->path, st->failures);
        st->failures = 0;
    }
    vg_flush_done(in, fl, VG_OK, NULL);
    return;
fail_io:
    snprintf(reason, sizeof(reason), "cannot write to '%s': %s", c->path,
             strerror(-rc));
fail:
    /* the first failure is a warning; its repeats would flood the log */
    vg_log(in, st->failures++ ? VG_LOG_DEBUG : VG_LOG_WARN, "%s", reason);
    vg_flush_done(in, fl, VG_RETRY, reason);
}

static void
on_sync_timer(struct vg_instance *in, void *arg)
{
    file_sync(in, arg);
}

static void
file_state_free(struct file_state *st)
{
    if (!st)
        return;
    free(st->buf);
    free(st->name);
    free(st);
}

static int
file_check(struct vg_instance *in, const void *conf)
{
    const struct file_conf *c = conf;

    if (!c->path[0]) {
        vg_log(in, VG_LOG_ERROR, "option 'path' must not be empty");
        return -EINVAL;
    }
    if (c->max_size < 0) {
        vg_log(in, VG_LOG_ERROR, "option 'max_size' must be >= 0");
        return -EINVAL;
    }
    if (c->max_files < 0 || c->max_files > 1000) {
        vg_log(in, VG_LOG_ERROR, "option 'max_files' must be within "
               "0..1000, not %" PRId64, c->max_files);
        return -EINVAL;
    }
    if (c->fsync == FSYNC_INTERVAL && c->fsync_interval <= 0) {
        vg_log(in, VG_LOG_ERROR, "option 'fsync_interval' must be "
               "positive");
        return -EINVAL;
    }
    return 0;
}

static int
file_init(struct vg_instance *in, void *conf)
{
    const struct file_conf *c = conf;
    struct file_state *st = NULL;
    int rc = -ENOMEM;

    if (!(st = calloc(1, sizeof(*st))))
        goto fail;
    st->conf = c;
    st->fd = -1;
    if ((rc = file_open(in, st)) < 0)
        goto fail;
    st->checked = vg_now(in);
    if (c->fsync == FSYNC_INTERVAL &&
        !(st->sync_timer = vg_timer_new(in, on_sync_timer, st))) {
        rc = -ENOMEM;
        goto fail;
    }
    vg_instance_set_data(in, st);
    return 0;
fail:
    if (st && st->fd >= 0)
        close(st->fd);
    file_state_free(st);
    return rc;
}

static int
file_start(struct vg_instance *in)
{
    struct file_state *st = vg_instance_data(in);

    if (st->sync_timer)
        vg_timer_start(in, st->sync_timer, st->conf->fsync_interval,
                       st->conf->fsync_interval);
    return 0;
}

/* Flushes after stop (a drain) reopen the file: see file_flush. */
static void
file_stop(struct vg_instance *in)
{
    struct file_state *st = vg_instance_data(in);

    if (st->sync_timer)
        vg_timer_stop(in, st->sync_timer);
    file_close(in, st);
}

static void
file_destroy(struct vg_instance *in)
{
    struct file_state *st = vg_instance_data(in);

    if (!st)
        return;
    if (st->sync_timer)
        vg_timer_free(in, st->sync_timer);
    file_close(in, st);
    file_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_OUTPUT,
    .name = "file",
    .summary = "append JSON lines to a file, rotated by size",
    .options = file_options,
    .conf_size = sizeof(struct file_conf),
    .check = file_check,
    .init = file_init,
    .start = file_start,
    .flush = file_flush,
    .stop = file_stop,
    .destroy = file_destroy,
};
