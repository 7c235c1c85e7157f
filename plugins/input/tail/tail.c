/*
 * input tail: follows log files named by globs and emits each line (or
 * multiline record) as a log event.  Files are followed through rotation
 * (rename, copytruncate, symlink swap) and deletion; each is known by
 * device + inode + fingerprint.  Batches are emitted with a cookie and a
 * file's saved offset moves only over batches the pipeline made durable,
 * so a crash re-reads what was in flight and loses nothing.
 *
 * Invariants: a file's `line_end` never points into a line; batches of a
 * file are emitted in offset order; the commit ring is in emission order,
 * so advancing it in order moves each file over contiguous batches only.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/stat.h>
#include <unistd.h>

#include <vigil/plugin.h>

#include "files.h"
#include "multiline.h"
#include "offsets.h"
#include "reader.h"

enum { WATCH_INOTIFY, WATCH_POLL };

struct tail_conf {                      /* the core fills this in */
    struct vg_strv  paths;
    struct vg_strv  exclude;
    int64_t         refresh_interval;   /* ns */
    int64_t         poll_interval;      /* ns */
    int             watch;              /* WATCH_* */
    int             read_from_head;
    int             exit_on_eof;
    int64_t         max_line_size;      /* bytes */
    int64_t         flush_timeout;      /* ns */
    int64_t         rotate_wait;        /* ns */
    int64_t         buffer_size;        /* bytes per read */
    int64_t         batch_size;         /* events */
    int64_t         batch_bytes;        /* bytes of bodies */
    char           *offsets_file;
    char           *ml_start;
    int             ml_mode;            /* enum tail_ml_mode */
    int64_t         ml_timeout;         /* ns */
};

enum file_state {
    F_ACTIVE,                           /* at its path                 */
    F_ROTATED,                          /* renamed away: read, then close */
    F_DELETED,                          /* unlinked: read to end, close  */
    F_CLOSED,                           /* closed, commits still due     */
};

struct tail_file {
    struct tail_file   *next;
    struct tail_state  *st;
    uint64_t            id;
    char               *path;
    int                 fd;
    int                 wd;             /* inotify watch, -1 when none   */
    uint64_t            dev, ino;
    enum file_state     state;
    int                 dirty;          /* may have bytes to read        */
    int                 gone;           /* deleted: never to be resumed  */
    unsigned            seen;           /* scan generation               */
    uint64_t            pos;            /* offset of the next read       */
    char               *part;           /* a line still without newline  */
    size_t              part_len, part_cap;
    struct tail_split   split;
    struct tail_ml      ml;
    uint64_t            line_end;       /* resume point after last line  */
    uint64_t            emitted_end;    /* offset of the last batch      */
    uint64_t            committed;      /* durable: saved offset         */
    uint32_t            fp_len, fp;     /* fingerprint                   */
    int64_t             last_data;      /* ns: last read with bytes      */
    int64_t             rotated_at;     /* ns */
    struct vg_kv        labels[2];      /* host, path                    */
};

/* A batch in flight: its file and where the file resumes once durable. */
struct pending {
    uint64_t file_id;
    uint64_t end;
    int      done;
};

struct tail_state {
    struct tail_conf    *conf;
    struct vg_instance  *in;
    struct tail_file    *files;
    uint64_t             next_id;
    unsigned             scan_gen;
    int                  running, paused, done, rescan, initial_scan;
    char                *rbuf;          /* read buffer: carry + chunk    */
    size_t               rbuf_cap;
    size_t               chunk;
    struct tail_ml_rules rules;
    int                  ifd;           /* inotify fd, -1 when polling   */
    int                 *dir_wds;
    size_t               ndir_wds;
    struct vg_io        *iow;
    struct vg_timer     *drain, *scan, *tick, *poll, *save;
    char                 offsets_path[4096];
    struct tail_offsets  saved;         /* loaded, until the first scan  */
    char               **failed;        /* paths that could not be opened */
    size_t               nfailed;
    int                  offsets_dirty;
    int                  save_failed;
    struct pending      *ring;          /* batches [head, tail) in flight */
    uint64_t             head, tail, ring_cap;
    struct vg_batch     *b;             /* batch being filled            */
    struct tail_file    *b_file;
    size_t               b_lines, b_bytes;
    int64_t              now;           /* ns: time of the current read  */
    struct vg_event      ev;
    struct vg_kv         trunc_attr;
};

static const struct vg_option ml_options[] = {
    { .name = "start", .type = VG_OPT_STR,
      .offset = offsetof(struct tail_conf, ml_start),
      .help = "regex (PCRE2) of a line that starts a record" },
    { .name = "mode", .type = VG_OPT_ENUM, .def = "none",
      .choices = "none|java|python|go|regex",
      .offset = offsetof(struct tail_conf, ml_mode),
      .help = "built-in rules (regex: multiline.start)" },
    { .name = "timeout", .type = VG_OPT_DURATION, .def = "1s",
      .offset = offsetof(struct tail_conf, ml_timeout),
      .help = "emit a pending record after this quiet time" },
    { 0 }
};

static const struct vg_option tail_options[] = {
    { .name = "paths", .type = VG_OPT_STRLIST, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct tail_conf, paths),
      .help = "files to follow: glob patterns" },
    { .name = "exclude", .type = VG_OPT_STRLIST,
      .offset = offsetof(struct tail_conf, exclude),
      .help = "glob patterns of paths to leave out" },
    { .name = "refresh_interval", .type = VG_OPT_DURATION, .def = "5s",
      .offset = offsetof(struct tail_conf, refresh_interval),
      .help = "how often the globs are expanded again" },
    { .name = "watch", .type = VG_OPT_ENUM, .def = "inotify",
      .choices = "inotify|poll", .offset = offsetof(struct tail_conf, watch),
      .help = "how changes are noticed (poll: every poll_interval)" },
    { .name = "poll_interval", .type = VG_OPT_DURATION, .def = "250ms",
      .offset = offsetof(struct tail_conf, poll_interval),
      .help = "time between checks when polling" },
    { .name = "read_from_head", .type = VG_OPT_BOOL, .def = "false",
      .offset = offsetof(struct tail_conf, read_from_head),
      .help = "files found at start without saved offset: read from the "
              "start, not the end" },
    { .name = "exit_on_eof", .type = VG_OPT_BOOL, .def = "false",
      .offset = offsetof(struct tail_conf, exit_on_eof),
      .help = "end the pipeline once every file was read to its end" },
    { .name = "max_line_size", .type = VG_OPT_SIZE, .def = "1MiB",
      .offset = offsetof(struct tail_conf, max_line_size),
      .help = "longer lines are cut and flagged truncated" },
    { .name = "flush_timeout", .type = VG_OPT_DURATION, .def = "5s",
      .offset = offsetof(struct tail_conf, flush_timeout),
      .help = "emit a last line without newline after this quiet time" },
    { .name = "rotate_wait", .type = VG_OPT_DURATION, .def = "5s",
      .offset = offsetof(struct tail_conf, rotate_wait),
      .help = "keep reading a rotated file this long for late writes" },
    { .name = "buffer_size", .type = VG_OPT_SIZE, .def = "256KiB",
      .offset = offsetof(struct tail_conf, buffer_size),
      .help = "bytes per read" },
    { .name = "batch_size", .type = VG_OPT_INT, .def = "1000",
      .offset = offsetof(struct tail_conf, batch_size),
      .help = "most lines in one batch" },
    { .name = "batch_bytes", .type = VG_OPT_SIZE, .def = "1MiB",
      .offset = offsetof(struct tail_conf, batch_bytes),
      .help = "most bytes of lines in one batch" },
    { .name = "offsets_file", .type = VG_OPT_STR,
      .offset = offsetof(struct tail_conf, offsets_file),
      .help = "offsets file name in state_dir (default from the instance)" },
    { .name = "multiline", .type = VG_OPT_OBJECT, .sub = ml_options,
      .help = "join lines into records (stack traces)" },
    { 0 }
};

#define DRAIN_CHUNKS 16                 /* reads per file per loop turn */
#define TICK_INTERVAL (100 * VG_MILLISECOND)
#define SAVE_INTERVAL VG_SECOND

static void file_close(struct tail_state *st, struct tail_file *f);

/* ---- commits ------------------------------------------------------- */

static struct tail_file *
file_by_id(struct tail_state *st, uint64_t id)
{
    struct tail_file *f;

    for (f = st->files; f; f = f->next)
        if (f->id == id)
            return f;
    return NULL;
}

static void
file_free(struct tail_file *f)
{
    free(f->part);
    tail_ml_release(&f->ml);
    free(f->path);
    free(f);
}

/* Frees closed files whose every batch is durable. */
static void
reap_closed(struct tail_state *st)
{
    struct tail_file **pp = &st->files, *f;

    while ((f = *pp)) {
        if (f->state == F_CLOSED && f->committed >= f->emitted_end) {
            *pp = f->next;
            file_free(f);
            continue;
        }
        pp = &f->next;
    }
}

static void
ring_advance(struct tail_state *st)
{
    int moved = 0;

    while (st->head < st->tail &&
           st->ring[st->head & (st->ring_cap - 1)].done) {
        struct pending *p = &st->ring[st->head & (st->ring_cap - 1)];
        struct tail_file *f = file_by_id(st, p->file_id);

        if (f && f->committed != p->end) {
            f->committed = p->end;
            st->offsets_dirty = 1;
            moved |= f->state == F_CLOSED;
        }
        st->head++;
    }
    if (moved)
        reap_closed(st);
}

/* Queues (file, end); returns the cookie. */
static uint64_t
ring_push(struct tail_state *st, struct tail_file *f, uint64_t end, int done)
{
    struct pending *p;

    if (st->tail - st->head == st->ring_cap) {
        uint64_t cap = st->ring_cap ? st->ring_cap * 2 : 1024, c;
        struct pending *v = calloc(cap, sizeof(*v));

        if (!v)
            abort();
        for (c = st->head; c < st->tail; c++)
            v[c & (cap - 1)] = st->ring[c & (st->ring_cap - 1)];
        free(st->ring);
        st->ring = v;
        st->ring_cap = cap;
    }
    p = &st->ring[st->tail & (st->ring_cap - 1)];
    p->file_id = f->id;
    p->end = end;
    p->done = done;
    f->emitted_end = end;
    return st->tail++;
}

static void
tail_commit(struct vg_instance *in, uint64_t cookie)
{
    struct tail_state *st = vg_instance_data(in);

    if (cookie < st->head || cookie >= st->tail)
        return;
    st->ring[cookie & (st->ring_cap - 1)].done = 1;
    ring_advance(st);
}

/* ---- batches ------------------------------------------------------- */

/* Where f resumes once everything handed on so far is durable. */
static uint64_t
safe_offset(const struct tail_file *f)
{
    return tail_ml_pending(&f->ml) ? f->ml.start : f->line_end;
}

/* Emits the batch being filled, or records that f's offset moved. */
static void
batch_emit(struct tail_state *st, struct tail_file *f)
{
    uint64_t end = safe_offset(f);

    if (st->b && st->b_file == f) {
        vg_count(st->in, "lines", (int64_t)st->b_lines);
        vg_emit_tracked(st->in, st->b, ring_push(st, f, end, 0));
        st->b = NULL;
        st->b_file = NULL;
    } else if (end != f->emitted_end) {
        ring_push(st, f, end, 1);
        ring_advance(st);
    }
}

static int
on_record(void *arg, const char *p, size_t n, int truncated)
{
    struct tail_file *f = arg;
    struct tail_state *st = f->st;
    struct vg_event *ev = &st->ev;
    int rc;

    if (st->b && st->b_file != f)
        batch_emit(st, st->b_file);
    if (!st->b) {
        st->b = vg_batch_new(st->in, (size_t)st->conf->batch_bytes / 2 +
                             4096);
        st->b_file = f;
        st->b_lines = 0;
        st->b_bytes = 0;
    }
    ev->time = st->now;
    ev->labels = f->labels;
    ev->body = p;
    ev->body_len = (uint32_t)n;
    ev->attrs = truncated ? &st->trunc_attr : NULL;
    ev->nattrs = truncated ? 1 : 0;
    if ((rc = vg_batch_add(st->in, st->b, ev)) < 0) {
        vg_log(st->in, VG_LOG_WARN, "cannot add a line of '%s' to a batch: "
               "%s", f->path, strerror(-rc));
        vg_count(st->in, "lines_dropped", 1);
        return 0;
    }
    if (truncated)
        vg_count(st->in, "lines_truncated", 1);
    st->b_lines++;
    st->b_bytes += n;
    if (st->b_lines >= (size_t)st->conf->batch_size ||
        st->b_bytes >= (size_t)st->conf->batch_bytes)
        batch_emit(st, f);
    return 0;
}

static int
on_line(void *arg, const char *p, size_t n, int truncated, uint64_t start,
        uint64_t end)
{
    struct tail_file *f = arg;
    struct tail_state *st = f->st;
    int rc;

    if (st->rules.mode == TAIL_ML_NONE) {
        f->line_end = end;
        return on_record(f, p, n, truncated);
    }
    rc = tail_ml_feed(&f->ml, &st->rules, p, n, truncated, start, st->now,
                      on_record, f);
    f->line_end = end;
    return rc;
}

/* Hands on the line without newline and the pending record, if any. */
static void
file_flush_tail(struct tail_state *st, struct tail_file *f)
{
    uint64_t base = f->pos - f->part_len;

    st->now = vg_now(st->in);
    tail_split_flush(&f->split, f->part, f->part_len, base, on_line, f);
    f->part_len = 0;
    f->line_end = f->pos;
    tail_ml_flush(&f->ml, on_record, f);
    batch_emit(st, f);
}

/* ---- reading ------------------------------------------------------- */

static void
file_reset(struct tail_file *f, uint64_t off)
{
    f->pos = off;
    f->part_len = 0;
    f->split.skipping = 0;
    tail_ml_reset(&f->ml);
    f->line_end = off;
}

static void
update_fingerprint(struct tail_file *f)
{
    uint32_t want = f->pos < TAIL_FP_MAX ? (uint32_t)f->pos : TAIL_FP_MAX;

    if (want > f->fp_len && tail_files_fingerprint(f->fd, want, &f->fp) == 0)
        f->fp_len = want;
}

/*
 * Notices a file cut shorter under us (copytruncate), or cut and written
 * past our position already: then its first bytes no longer match the
 * fingerprint.
 */
static void
check_truncated(struct tail_state *st, struct tail_file *f)
{
    struct stat sb;
    uint32_t fp;
    int rewritten;

    if (fstat(f->fd, &sb) < 0)
        return;
    rewritten = (uint64_t)sb.st_size >= f->pos && f->fp_len > 0 &&
                tail_files_fingerprint(f->fd, f->fp_len, &fp) == 0 &&
                fp != f->fp;
    if ((uint64_t)sb.st_size < f->pos || rewritten) {
        vg_log(st->in, VG_LOG_INFO, "'%s' was truncated (%" PRIu64 " -> %"
               PRIu64 " bytes%s): reading it from the start", f->path,
               f->pos, (uint64_t)sb.st_size,
               rewritten ? ", new first bytes" : "");
        vg_count(st->in, "truncations", 1);
        if (lseek(f->fd, 0, SEEK_SET) == 0) {
            file_reset(f, 0);
            f->fp_len = 0;
            batch_emit(st, f);
        }
    }
    if (sb.st_nlink == 0 && f->state != F_DELETED)
        f->state = F_DELETED;
}

/* Reads one chunk of f and hands its lines on; returns bytes read, 0 at
 * the end of the file, or -errno. */
static ssize_t
file_read_chunk(struct tail_state *st, struct tail_file *f)
{
    size_t carry = f->part_len, len;
    ssize_t n;
    long used;

    if (carry)
        memcpy(st->rbuf, f->part, carry);
    do {
        n = read(f->fd, st->rbuf + carry, st->chunk);
    } while (n < 0 && errno == EINTR);
    if (n <= 0)
        return n < 0 ? -errno : 0;
    f->pos += (uint64_t)n;
    st->now = vg_now(st->in);
    f->last_data = st->now;
    len = carry + (size_t)n;
    used = tail_split_feed(&f->split, st->rbuf, len, f->pos - len, on_line,
                           f);
    if (used < 0)
        used = (long)len;
    f->part_len = len - (size_t)used;
    if (f->part_len) {
        if (f->part_len > f->part_cap) {
            f->part_cap = f->part_len;
            if (!(f->part = realloc(f->part, f->part_cap)))
                abort();
        }
        memmove(f->part, st->rbuf + used, f->part_len);
    }
    if (f->fp_len < TAIL_FP_MAX)
        update_fingerprint(f);
    batch_emit(st, f);
    return n;
}

/*
 * Reads up to DRAIN_CHUNKS chunks; clears `dirty` at the end of the file
 * and closes a deleted file there (f may then be freed).  Returns whether
 * f has more to read.
 */
static int
file_drain(struct tail_state *st, struct tail_file *f)
{
    int i;

    check_truncated(st, f);
    for (i = 0; i < DRAIN_CHUNKS && !st->paused && st->running; i++) {
        ssize_t n = file_read_chunk(st, f);

        if (n < 0) {
            vg_log(st->in, VG_LOG_WARN, "cannot read '%s': %s", f->path,
                   strerror((int)-n));
            f->dirty = 0;
            return 0;
        }
        if (n == 0) {
            f->dirty = 0;
            break;
        }
    }
    if (!f->dirty && f->state == F_DELETED) {
        vg_log(st->in, VG_LOG_INFO, "'%s' was deleted: read to its end",
               f->path);
        file_close(st, f);
        return 0;
    }
    return f->dirty;
}

/* ---- files --------------------------------------------------------- */

static void
file_close(struct tail_state *st, struct tail_file *f)
{
    file_flush_tail(st, f);
    /* the flush may reap closed files, and f is not F_CLOSED yet
     * NOLINTNEXTLINE(clang-analyzer-unix.Malloc) */
    if (f->wd >= 0 && st->ifd >= 0)
        inotify_rm_watch(st->ifd, f->wd);
    f->wd = -1;
    if (f->fd >= 0)
        close(f->fd);
    f->fd = -1;
    f->dirty = 0;
    f->gone |= f->state == F_DELETED;
    f->state = F_CLOSED;
    st->offsets_dirty = 1;
    reap_closed(st);
}

static void
watch_file(struct tail_state *st, struct tail_file *f)
{
    char proc[64];

    if (st->ifd < 0)
        return;
    /* Through /proc the watch is on the inode we opened, even if the
     * path was renamed or replaced in between. */
    snprintf(proc, sizeof(proc), "/proc/self/fd/%d", f->fd);
    f->wd = inotify_add_watch(st->ifd, proc, IN_MODIFY | IN_MOVE_SELF |
                              IN_DELETE_SELF | IN_ATTRIB);
    if (f->wd < 0)
        f->wd = inotify_add_watch(st->ifd, f->path, IN_MODIFY | IN_MOVE_SELF
                                  | IN_DELETE_SELF | IN_ATTRIB);
    if (f->wd < 0)
        vg_log(st->in, VG_LOG_WARN, "cannot watch '%s' (%s): it is polled "
               "every refresh_interval", f->path, strerror(errno));
}

static void
file_set_path(struct tail_state *st, struct tail_file *f, const char *path)
{
    char *p = strdup(path);

    if (!p)
        abort();
    free(f->path);
    f->path = p;
    f->labels[0] = vg_kv_str("host", vg_hostname(st->in));
    f->labels[1] = vg_kv_str("path", f->path);
}

/*
 * A path that cannot be opened is reported once, then counted at each
 * scan (debug), and its recovery is reported.
 */
static void
open_failed(struct tail_state *st, const char *path, int err)
{
    size_t i;

    for (i = 0; i < st->nfailed; i++) {
        if (strcmp(st->failed[i], path) == 0) {
            vg_log(st->in, VG_LOG_DEBUG, "cannot open '%s' (again): %s",
                   path, strerror(err));
            return;
        }
    }
    vg_log(st->in, VG_LOG_WARN, "cannot open '%s': %s (retried every "
           "refresh_interval)", path, strerror(err));
    if (!(st->failed = realloc(st->failed, (st->nfailed + 1) *
                               sizeof(*st->failed))) ||
        !(st->failed[st->nfailed] = strdup(path)))
        abort();
    st->nfailed++;
}

static void
open_recovered(struct tail_state *st, const char *path)
{
    size_t i;

    for (i = 0; i < st->nfailed; i++) {
        if (strcmp(st->failed[i], path) == 0) {
            vg_log(st->in, VG_LOG_INFO, "'%s' can be opened again", path);
            free(st->failed[i]);
            st->failed[i] = st->failed[--st->nfailed];
            return;
        }
    }
}

/*
 * Opens `path` and resumes at `off` (clamped to its size), or at its end
 * when `at_end`.  Returns the file, or NULL when it cannot be opened
 * (reported).
 */
static struct tail_file *
file_open(struct tail_state *st, const char *path, uint64_t off, int at_end,
          enum file_state state)
{
    struct tail_file *f = NULL;
    struct stat sb;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);

    if (fd < 0 || fstat(fd, &sb) < 0)
        goto fail;
    if (at_end || off > (uint64_t)sb.st_size)
        off = (uint64_t)sb.st_size;
    if (lseek(fd, (off_t)off, SEEK_SET) < 0)
        goto fail;
    open_recovered(st, path);
    if (!(f = calloc(1, sizeof(*f))))
        abort();
    f->st = st;
    f->id = ++st->next_id;
    f->fd = fd;
    f->wd = -1;
    f->dev = (uint64_t)sb.st_dev;
    f->ino = (uint64_t)sb.st_ino;
    f->state = state;
    f->dirty = 1;
    f->seen = st->scan_gen;
    f->split.max_line = (size_t)st->conf->max_line_size;
    file_set_path(st, f, path);
    file_reset(f, off);
    f->committed = f->emitted_end = off;
    f->rotated_at = vg_now(st->in);
    f->last_data = f->rotated_at;
    update_fingerprint(f);
    watch_file(st, f);
    f->next = st->files;
    st->files = f;
    st->offsets_dirty = 1;
    vg_log(st->in, VG_LOG_INFO, "following '%s' from offset %" PRIu64, path,
           off);
    return f;
fail:
    open_failed(st, path, errno);
    if (fd >= 0)
        close(fd);
    return NULL;
}

/* Whether the saved entry describes the file at fd (same first bytes). */
static int
same_content(const struct tail_pos *p, const char *path)
{
    uint32_t fp;
    int fd = open(path, O_RDONLY | O_CLOEXEC), rc;

    if (fd < 0)
        return 0;
    rc = p->fp_len == 0 ||
         (tail_files_fingerprint(fd, p->fp_len, &fp) == 0 && fp == p->fp);
    close(fd);
    return rc;
}

static struct tail_file *
file_by_inode(struct tail_state *st, uint64_t dev, uint64_t ino)
{
    struct tail_file *f;

    for (f = st->files; f; f = f->next)
        if (f->state != F_CLOSED && f->dev == dev && f->ino == ino)
            return f;
    return NULL;
}

static void
mark_rotated(struct tail_state *st, struct tail_file *f)
{
    if (f->state != F_ACTIVE)
        return;
    vg_log(st->in, VG_LOG_INFO, "'%s' was rotated: reading the old file to "
           "its end", f->path);
    f->state = F_ROTATED;
    f->rotated_at = vg_now(st->in);
    f->dirty = 1;
    vg_count(st->in, "rotations", 1);
}

static void
on_found(void *arg, const char *path, const struct stat *sb)
{
    struct tail_state *st = arg;
    struct tail_file *f = file_by_inode(st, (uint64_t)sb->st_dev,
                                        (uint64_t)sb->st_ino);
    struct tail_pos *p;
    uint64_t off = 0;
    int at_end = 0;
    size_t i;

    if (f) {
        f->seen = st->scan_gen;
        /* A rotated file that still matches the globs stays followed. */
        if (f->state == F_ROTATED) {
            f->state = F_ACTIVE;
            if (strcmp(f->path, path) != 0)
                file_set_path(st, f, path);
        }
        return;
    }
    for (f = st->files; f; f = f->next)
        if (f->state == F_ACTIVE && strcmp(f->path, path) == 0)
            mark_rotated(st, f);

    p = tail_offsets_find(&st->saved, (uint64_t)sb->st_dev,
                          (uint64_t)sb->st_ino);
    if (p && same_content(p, path)) {
        off = p->offset;
        if (off > (uint64_t)sb->st_size) {
            vg_log(st->in, VG_LOG_INFO, "'%s' is shorter than its saved "
                   "offset: reading it from the start", path);
            off = 0;
        }
    } else if (p) {
        vg_log(st->in, VG_LOG_INFO, "'%s' has the inode of a file read "
               "before but not its content: reading it from the start",
               path);
    } else if (st->initial_scan && !st->conf->read_from_head) {
        /* A file new since the last run (the old one at this path was
         * rotated meanwhile) is read whole; others from their end. */
        at_end = 1;
        for (i = 0; i < st->saved.n; i++)
            if (strcmp(st->saved.v[i].path, path) == 0)
                at_end = 0;
    }
    if (p)
        p->dev = p->ino = 0;        /* used */
    file_open(st, path, off, at_end, F_ACTIVE);
}

/* Saved files not found by the globs: rotated while vigil was down. */
static void
resume_rotated(struct tail_state *st)
{
    size_t i;

    for (i = 0; i < st->saved.n; i++) {
        struct tail_pos *p = &st->saved.v[i];
        char *path;

        if (!p->dev && !p->ino)
            continue;
        if (!(path = tail_files_find_inode(p->path, p->dev, p->ino)))
            continue;
        if (same_content(p, path)) {
            struct tail_file *f = file_open(st, path, p->offset, 0,
                                            F_ACTIVE);

            if (f)
                mark_rotated(st, f);
        }
        free(path);
    }
}

static void
scan(struct tail_state *st)
{
    const struct tail_conf *c = st->conf;
    struct tail_file *f;

    st->rescan = 0;
    st->scan_gen++;
    tail_files_scan(c->paths.v, c->paths.n, c->exclude.v, c->exclude.n,
                    on_found, st);
    if (st->initial_scan) {
        resume_rotated(st);
        tail_offsets_clear(&st->saved);
        st->initial_scan = 0;
    }
    /* Followed files the globs no longer find were renamed or deleted. */
    for (f = st->files; f; f = f->next) {
        struct stat sb;

        if (f->state != F_ACTIVE || f->seen == st->scan_gen)
            continue;
        if (fstat(f->fd, &sb) == 0 && sb.st_nlink == 0) {
            f->state = F_DELETED;
            f->dirty = 1;
        } else if (stat(f->path, &sb) < 0 ||
                   (uint64_t)sb.st_ino != f->ino ||
                   (uint64_t)sb.st_dev != f->dev) {
            mark_rotated(st, f);
        }
    }
}

/* ---- the loop ------------------------------------------------------ */

static void
kick(struct tail_state *st)
{
    if (st->running && !st->paused)
        vg_timer_start(st->in, st->drain, 0, 0);
}

/* Every file read to its end: the one-shot import is over. */
static void
check_eof(struct tail_state *st)
{
    struct tail_file *f;

    if (!st->conf->exit_on_eof || st->done || st->paused || st->rescan)
        return;
    for (f = st->files; f; f = f->next)
        if (f->state != F_CLOSED && f->dirty)
            return;
    for (f = st->files; f; f = f->next)
        if (f->state != F_CLOSED)
            file_flush_tail(st, f);
    st->done = 1;
    vg_log(st->in, VG_LOG_INFO, "every file was read to its end");
    vg_input_done(st->in);
}

static void
on_drain(struct vg_instance *in, void *arg)
{
    struct tail_state *st = arg;
    struct tail_file *f, *next;
    int more = 0;

    (void)in;
    if (!st->running || st->paused)
        return;
    if (st->rescan)
        scan(st);
    for (f = st->files; f; f = next) {
        next = f->next;
        if (f->state == F_CLOSED || !f->dirty)
            continue;
        more |= file_drain(st, f);
        if (st->paused)
            return;
    }
    if (more)
        kick(st);
    else
        check_eof(st);
}

static void
on_inotify(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct tail_state *st = arg;
    char buf[16384] __attribute__((aligned(__alignof__(struct inotify_event))));
    ssize_t n;

    (void)in;
    (void)revents;
    while ((n = read(fd, buf, sizeof(buf))) > 0) {
        char *p = buf;

        while (p < buf + n) {
            const struct inotify_event *e = (const void *)p;
            struct tail_file *f;
            struct stat sb;
            size_t i;

            p += sizeof(*e) + e->len;
            if (e->mask & IN_Q_OVERFLOW) {
                for (f = st->files; f; f = f->next)
                    f->dirty = f->state != F_CLOSED;
                st->rescan = 1;
                continue;
            }
            for (i = 0; i < st->ndir_wds; i++)
                if (st->dir_wds[i] == e->wd)
                    st->rescan = 1;
            for (f = st->files; f; f = f->next)
                if (f->wd == e->wd && f->state != F_CLOSED)
                    break;
            if (!f)
                continue;
            if (e->mask & IN_IGNORED) {
                f->wd = -1;
                continue;
            }
            f->dirty = 1;
            if (e->mask & IN_MOVE_SELF) {
                mark_rotated(st, f);
                st->rescan = 1;
            }
            if ((e->mask & (IN_ATTRIB | IN_DELETE_SELF)) &&
                fstat(f->fd, &sb) == 0 && sb.st_nlink == 0)
                f->state = F_DELETED;
        }
    }
    kick(st);
}

static void
on_scan(struct vg_instance *in, void *arg)
{
    struct tail_state *st = arg;
    struct tail_file *f;

    (void)in;
    st->rescan = 1;
    /* Unwatched files (no inotify) are checked at each refresh. */
    for (f = st->files; f; f = f->next)
        if (f->state != F_CLOSED && f->wd < 0)
            f->dirty = 1;
    kick(st);
}

static void
on_poll(struct vg_instance *in, void *arg)
{
    struct tail_state *st = arg;
    struct tail_file *f;

    (void)in;
    for (f = st->files; f; f = f->next) {
        struct stat sb;

        if (f->state == F_CLOSED || fstat(f->fd, &sb) < 0)
            continue;
        if ((uint64_t)sb.st_size != f->pos || sb.st_nlink == 0)
            f->dirty = 1;
        if (f->state == F_ACTIVE &&
            (stat(f->path, &sb) < 0 || (uint64_t)sb.st_ino != f->ino ||
             (uint64_t)sb.st_dev != f->dev))
            st->rescan = 1;
    }
    kick(st);
}

static void
save_offsets(struct tail_state *st)
{
    struct tail_offsets o = { 0 };
    struct tail_file *f;
    int rc;

    for (f = st->files; f; f = f->next) {
        struct tail_pos p = {
            .dev = f->dev, .ino = f->ino, .offset = f->committed,
            .fp_len = f->fp_len, .fp = f->fp, .path = f->path,
        };

        /* A deleted file cannot be read again: its offset is of no use. */
        if (f->state == F_DELETED || f->gone ||
            (f->state == F_CLOSED && f->committed >= f->emitted_end))
            continue;
        tail_offsets_add(&o, &p);
    }
    rc = tail_offsets_save(&o, st->offsets_path);
    if (rc < 0 && !st->save_failed)
        vg_log(st->in, VG_LOG_ERROR, "cannot save offsets to '%s': %s",
               st->offsets_path, strerror(-rc));
    else if (rc == 0 && st->save_failed)
        vg_log(st->in, VG_LOG_INFO, "offsets saved to '%s' again",
               st->offsets_path);
    st->save_failed = rc < 0;
    if (rc == 0)
        st->offsets_dirty = 0;
    tail_offsets_clear(&o);
    free(o.v);
}

static void
on_save(struct vg_instance *in, void *arg)
{
    struct tail_state *st = arg;

    (void)in;
    if (st->offsets_dirty)
        save_offsets(st);
}

/* Timeouts: lines without newline, multiline records, rotated files. */
static void
on_tick(struct vg_instance *in, void *arg)
{
    struct tail_state *st = arg;
    const struct tail_conf *c = st->conf;
    struct tail_file *f, *next;
    int64_t now = vg_now(in);

    if (st->paused)
        return;
    for (f = st->files; f; f = next) {
        next = f->next;
        if (f->state == F_CLOSED || f->dirty)
            continue;
        if (f->state == F_ROTATED && now - f->rotated_at >= c->rotate_wait) {
            file_close(st, f);
            continue;
        }
        if (f->part_len && now - f->last_data >= c->flush_timeout) {
            file_flush_tail(st, f);
        } else if (tail_ml_pending(&f->ml) &&
                   now - f->ml.since >= c->ml_timeout) {
            tail_ml_flush(&f->ml, on_record, f);
            batch_emit(st, f);
        }
    }
}

static void
tail_pause(struct vg_instance *in)
{
    struct tail_state *st = vg_instance_data(in);

    st->paused = 1;
    vg_timer_stop(in, st->drain);
}

static void
tail_resume(struct vg_instance *in)
{
    struct tail_state *st = vg_instance_data(in);
    struct tail_file *f;

    st->paused = 0;
    for (f = st->files; f; f = f->next)
        f->dirty = f->state != F_CLOSED;
    kick(st);
}

/* ---- lifecycle ----------------------------------------------------- */

static int
tail_check(struct vg_instance *in, const void *conf)
{
    const struct tail_conf *c = conf;
    struct tail_ml_rules rules;
    char err[256];

    if (c->paths.n == 0)
        vg_log(in, VG_LOG_ERROR, "option 'paths' must name at least one "
               "file or glob");
    else if (c->max_line_size < 1 || c->max_line_size > (1 << 30))
        vg_log(in, VG_LOG_ERROR, "option 'max_line_size' must be within "
               "1..1GiB");
    else if (c->buffer_size < 4096 || c->buffer_size > (1 << 30))
        vg_log(in, VG_LOG_ERROR, "option 'buffer_size' must be within "
               "4KiB..1GiB");
    else if (c->batch_size < 1 || c->batch_bytes < 1)
        vg_log(in, VG_LOG_ERROR, "options 'batch_size' and 'batch_bytes' "
               "must be positive");
    else if (c->refresh_interval <= 0 || c->poll_interval <= 0)
        vg_log(in, VG_LOG_ERROR, "options 'refresh_interval' and "
               "'poll_interval' must be positive");
    else if (c->ml_mode == TAIL_ML_REGEX && !c->ml_start)
        vg_log(in, VG_LOG_ERROR, "multiline mode 'regex' needs "
               "'multiline.start'");
    else if (c->ml_start && c->ml_mode != TAIL_ML_NONE &&
             c->ml_mode != TAIL_ML_REGEX)
        vg_log(in, VG_LOG_ERROR, "'multiline.start' and a built-in "
               "'multiline.mode' exclude each other");
    else if (tail_ml_rules_init(&rules, (enum tail_ml_mode)(c->ml_start &&
                                c->ml_mode == TAIL_ML_NONE ? TAIL_ML_REGEX
                                                           : c->ml_mode),
                                c->ml_start, (size_t)c->max_line_size, err,
                                sizeof(err)) < 0)
        vg_log(in, VG_LOG_ERROR, "%s", err);
    else {
        tail_ml_rules_release(&rules);
        return 0;
    }
    return -EINVAL;
}

/* The offsets file name: from the option, or pipeline + instance name. */
static void
offsets_name(struct tail_state *st)
{
    const char *dir = vg_state_dir(st->in);
    char name[512], *q;

    if (st->conf->offsets_file) {
        snprintf(st->offsets_path, sizeof(st->offsets_path), "%s/%s", dir,
                 st->conf->offsets_file);
        return;
    }
    snprintf(name, sizeof(name), "tail.%s.%s.offsets",
             vg_pipeline_name(st->in), vg_instance_name(st->in));
    for (q = name; *q; q++)
        if (!((*q >= 'a' && *q <= 'z') || (*q >= 'A' && *q <= 'Z') ||
              (*q >= '0' && *q <= '9') || *q == '.' || *q == '-'))
            *q = '_';
    snprintf(st->offsets_path, sizeof(st->offsets_path), "%s/%s", dir, name);
}

static void
tail_state_free(struct tail_state *st)
{
    struct tail_file *f;

    if (!st)
        return;
    while ((f = st->files)) {
        st->files = f->next;
        if (f->fd >= 0)
            close(f->fd);
        file_free(f);
    }
    if (st->ifd >= 0)
        close(st->ifd);
    tail_ml_rules_release(&st->rules);
    tail_offsets_clear(&st->saved);
    free(st->saved.v);
    while (st->nfailed)
        free(st->failed[--st->nfailed]);
    free(st->failed);
    free(st->dir_wds);
    free(st->ring);
    free(st->rbuf);
    free(st);
}

static int
tail_init(struct vg_instance *in, void *conf)
{
    struct tail_conf *c = conf;
    struct tail_state *st = NULL;
    char err[256];
    int rc;

    if (!(st = calloc(1, sizeof(*st))))
        abort();
    st->conf = c;
    st->in = in;
    st->ifd = -1;
    rc = tail_ml_rules_init(&st->rules, (enum tail_ml_mode)(c->ml_start &&
                            c->ml_mode == TAIL_ML_NONE ? TAIL_ML_REGEX
                                                       : c->ml_mode),
                            c->ml_start, (size_t)c->max_line_size, err,
                            sizeof(err));
    if (rc < 0) {
        vg_log(in, VG_LOG_ERROR, "%s", err);
        goto fail;
    }
    st->chunk = (size_t)c->buffer_size;
    st->rbuf_cap = st->chunk + (size_t)c->max_line_size + 1;
    if (!(st->rbuf = malloc(st->rbuf_cap)))
        abort();
    st->ev.kind = VG_EV_LOG;
    st->ev.nlabels = 2;
    st->trunc_attr.key = "truncated";
    st->trunc_attr.key_len = 9;
    st->trunc_attr.type = VG_VAL_BOOL;
    st->trunc_attr.v.b = 1;
    st->drain = vg_timer_new(in, on_drain, st);
    st->scan = vg_timer_new(in, on_scan, st);
    st->tick = vg_timer_new(in, on_tick, st);
    st->poll = vg_timer_new(in, on_poll, st);
    st->save = vg_timer_new(in, on_save, st);
    vg_instance_set_data(in, st);
    return 0;
fail:
    tail_state_free(st);
    return rc;
}

/* Watches the directories of the patterns (those without glob
 * characters) so that new and renamed files are seen at once. */
static void
watch_dirs(struct tail_state *st)
{
    size_t i;

    st->dir_wds = calloc(st->conf->paths.n, sizeof(*st->dir_wds));
    if (!st->dir_wds)
        abort();
    for (i = 0; i < st->conf->paths.n; i++) {
        char *dir = strdup(st->conf->paths.v[i]), *slash;
        int wd;

        if (!dir)
            abort();
        slash = strrchr(dir, '/');
        if (slash == dir)
            slash[1] = '\0';
        else if (slash)
            *slash = '\0';
        if (!strpbrk(dir, "*?[{")) {
            wd = inotify_add_watch(st->ifd, slash ? dir : ".",
                                   IN_CREATE | IN_MOVED_TO | IN_ONLYDIR);
            if (wd >= 0)
                st->dir_wds[st->ndir_wds++] = wd;
        }
        free(dir);
    }
}

static int
tail_start(struct vg_instance *in)
{
    struct tail_state *st = vg_instance_data(in);
    const struct tail_conf *c = st->conf;
    int rc;

    offsets_name(st);
    rc = tail_offsets_load(&st->saved, st->offsets_path);
    if (rc == -EBADMSG)
        vg_log(in, VG_LOG_WARN, "offsets file '%s' is torn or corrupt (bad "
               "checksum or format): ignored, files start as on a first run",
               st->offsets_path);
    else if (rc < 0 && rc != -ENOENT)
        vg_log(in, VG_LOG_WARN, "cannot read offsets file '%s': %s",
               st->offsets_path, strerror(-rc));
    if (c->watch == WATCH_INOTIFY) {
        st->ifd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
        if (st->ifd < 0)
            vg_log(in, VG_LOG_WARN, "inotify is not available (%s): "
                   "polling every poll_interval", strerror(errno));
    }
    if (st->ifd >= 0) {
        watch_dirs(st);
        st->iow = vg_io_new(in, st->ifd, VG_IO_READ, on_inotify, st);
        vg_io_start(in, st->iow);
    } else {
        vg_timer_start(in, st->poll, c->poll_interval, c->poll_interval);
    }
    st->running = 1;
    st->initial_scan = 1;
    scan(st);
    vg_timer_start(in, st->scan, c->refresh_interval, c->refresh_interval);
    vg_timer_start(in, st->tick, TICK_INTERVAL, TICK_INTERVAL);
    vg_timer_start(in, st->save, SAVE_INTERVAL, SAVE_INTERVAL);
    kick(st);
    return 0;
}

static void
tail_stop(struct vg_instance *in)
{
    struct tail_state *st = vg_instance_data(in);

    st->running = 0;
    save_offsets(st);
}

static void
tail_destroy(struct vg_instance *in)
{
    struct tail_state *st = vg_instance_data(in);

    if (!st)
        return;
    /* Commits that came while the outputs drained move the offsets. */
    if (st->offsets_path[0] && st->offsets_dirty)
        save_offsets(st);
    if (st->b)
        vg_batch_unref(in, st->b);
    if (st->iow)
        vg_io_free(in, st->iow);
    vg_timer_free(in, st->drain);
    vg_timer_free(in, st->scan);
    vg_timer_free(in, st->tick);
    vg_timer_free(in, st->poll);
    vg_timer_free(in, st->save);
    tail_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "tail",
    .summary = "follow log files through rotation, one event per line",
    .options = tail_options,
    .conf_size = sizeof(struct tail_conf),
    .check = tail_check,
    .init = tail_init,
    .start = tail_start,
    .stop = tail_stop,
    .destroy = tail_destroy,
    .pause = tail_pause,
    .resume = tail_resume,
    .commit = tail_commit,
};
