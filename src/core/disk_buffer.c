/*
 * Disk buffer segments.  I/O here is plain blocking file I/O on the loop
 * thread: appends are one write of a batch that is already encoded, and
 * reads happen once per batch when memory could not keep it; both go to
 * the page cache.  The directory is locked (flock) so two agents cannot
 * share a buffer.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/uio.h>
#include <unistd.h>

#include "batch.h"
#include "disk_buffer.h"
#include "log.h"
#include "util.h"

#define REC_MAGIC     0x31524756u       /* "VGR1" */
#define REC_HDR       8u                /* magic + length */
#define SEG_TARGET    (8u << 20)        /* start a new segment past this */
#define MAX_REC       (256u << 20)

struct vg_dbuf {
    char              *dir;
    char              *who;
    int                lock_fd;
    int64_t            max_size;
    enum vg_dbuf_fsync policy;
    uint64_t           wseg;            /* segment being appended to */
    int                wfd;
    uint64_t           wsize;
    int                dirty;           /* appended since the last fsync */
    uint64_t           cur_seg;         /* cursor: first undelivered */
    uint64_t           cur_off;
    int                cursor_dirty;
    uint64_t           oldest;          /* oldest segment on disk */
    uint64_t           bytes;           /* all segments */
    int                rfd;             /* cached read fd */
    uint64_t           rseg;
};

static char *
seg_path(const struct vg_dbuf *d, uint64_t seg)
{
    return vg_xasprintf("%s/seg-%016" PRIx64 ".vgb", d->dir, seg);
}

static void
save_cursor(struct vg_dbuf *d)
{
    char text[96], *path;
    int n, rc;

    if (!d->cursor_dirty)
        return;
    n = snprintf(text, sizeof(text), "VGC1 %" PRIu64 " %" PRIu64, d->cur_seg,
                 d->cur_off);
    n += snprintf(text + n, sizeof(text) - (size_t)n, " %08x\n",
                  vg_crc32c(0, text, (size_t)n));
    path = vg_xasprintf("%s/cursor", d->dir);
    rc = vg_write_file_atomic(path, text, (size_t)n);
    if (rc < 0)
        vg_log_who(VG_LOG_ERROR, d->who, "dbuf-cursor", "cannot save the "
                   "disk buffer cursor '%s': %s", path, vg_strerror(rc));
    else
        d->cursor_dirty = 0;
    free(path);
}

/* 0 and the cursor, or -EBADMSG for a torn or corrupt file. */
static int
load_cursor(struct vg_dbuf *d)
{
    char text[128], *path = vg_xasprintf("%s/cursor", d->dir);
    uint64_t seg, off;
    unsigned crc;
    int fd = open(path, O_RDONLY | O_CLOEXEC), n, len = 0, rc = -ENOENT;

    if (fd >= 0) {
        n = (int)read(fd, text, sizeof(text) - 1);
        close(fd);
        rc = -EBADMSG;
        if (n > 0) {
            text[n] = '\0';
            if (sscanf(text, "VGC1 %" SCNu64 " %" SCNu64 "%n", &seg, &off,
                       &len) == 2 && sscanf(text + len, " %8x", &crc) == 1 &&
                crc == vg_crc32c(0, text, (size_t)len)) {
                d->cur_seg = seg;
                d->cur_off = off;
                rc = 0;
            }
        }
        if (rc < 0)
            vg_log_who(VG_LOG_ERROR, d->who, "dbuf-cursor-bad", "disk "
                       "buffer cursor '%s' is corrupt: replaying from the "
                       "oldest segment", path);
    }
    free(path);
    return rc;
}

static int
cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;

    return x < y ? -1 : x > y;
}

/* Segment ids on disk, sorted. */
static uint64_t *
list_segments(const struct vg_dbuf *d, size_t *n)
{
    DIR *dir = opendir(d->dir);
    struct dirent *e;
    uint64_t *ids = NULL, id;
    size_t cap = 0;

    *n = 0;
    if (!dir)
        return NULL;
    while ((e = readdir(dir))) {
        char tail;

        if (sscanf(e->d_name, "seg-%16" SCNx64 ".vg%c", &id, &tail) != 2 ||
            tail != 'b')
            continue;
        if (*n == cap) {
            cap = cap ? cap * 2 : 16;
            ids = vg_xrealloc(ids, cap * sizeof(*ids));
        }
        ids[(*n)++] = id;
    }
    closedir(dir);
    if (*n)
        qsort(ids, *n, sizeof(*ids), cmp_u64);
    return ids;
}

static int
read_at(int fd, void *buf, size_t len, uint64_t off)
{
    size_t got = 0;

    while (got < len) {
        ssize_t n = pread(fd, (char *)buf + got, len - got,
                          (off_t)(off + got));

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            return -EBADMSG;            /* truncated */
        got += (size_t)n;
    }
    return 0;
}

/* Walks one segment from `from`, replaying each good record; a bad one is
 * reported and skipped by scanning for the next record magic. */
static void
replay_segment(struct vg_dbuf *d, uint64_t seg, uint64_t from,
               vg_dbuf_replay_fn replay, void *arg)
{
    char *path = seg_path(d, seg);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    uint64_t off = from, skipped_from = UINT64_MAX;

    if (fd < 0 || fstat(fd, &st) < 0) {
        vg_log_who(VG_LOG_ERROR, d->who, "dbuf-open-seg", "cannot read disk "
                   "buffer segment '%s': %s", path, vg_strerror(errno));
        goto out;
    }
    while (off + REC_HDR <= (uint64_t)st.st_size) {
        uint32_t hdr[2];
        struct vg_dpos pos;
        char *data = NULL;
        struct vg_batch *b = NULL;
        int ok = 0;

        if (read_at(fd, hdr, sizeof(hdr), off) == 0 && hdr[0] == REC_MAGIC &&
            hdr[1] <= MAX_REC && off + REC_HDR + hdr[1] <= (uint64_t)st.st_size) {
            data = vg_xmalloc(hdr[1] ? hdr[1] : 1);
            ok = read_at(fd, data, hdr[1], off + REC_HDR) == 0 &&
                 vg_batch_decode(data, hdr[1], &b) == 0;
            free(data);
        }
        if (!ok) {
            if (skipped_from == UINT64_MAX)
                skipped_from = off;
            off += 8;                   /* resync: records are aligned */
            continue;
        }
        if (skipped_from != UINT64_MAX) {
            vg_log_who(VG_LOG_ERROR, d->who, "dbuf-corrupt", "disk buffer "
                       "segment '%s': corrupt bytes %" PRIu64 "..%" PRIu64
                       " skipped", path, skipped_from, off);
            skipped_from = UINT64_MAX;
        }
        pos.seg = seg;
        pos.off = off;
        pos.end = off + REC_HDR + ((hdr[1] + 7u) & ~7u);
        replay(arg, &pos, vg_batch_bytes_raw(b));
        vg_batch_unref_raw(b);
        off = pos.end;
    }
    if (skipped_from != UINT64_MAX || off < (uint64_t)st.st_size)
        vg_log_who(VG_LOG_ERROR, d->who, "dbuf-torn", "disk buffer segment "
                   "'%s': torn tail at %" PRIu64 " skipped", path,
                   skipped_from != UINT64_MAX ? skipped_from : off);
out:
    if (fd >= 0)
        close(fd);
    free(path);
}

/* writev until every part is out, through short writes and EINTR. */
static int
write_record(int fd, struct iovec *iov, int n, size_t *written)
{
    *written = 0;
    while (n > 0) {
        ssize_t w = writev(fd, iov, n);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -errno;
        *written += (size_t)w;
        while (n > 0 && (size_t)w >= iov->iov_len) {
            w -= (ssize_t)iov->iov_len;
            iov++;
            n--;
        }
        if (n > 0) {
            iov->iov_base = (char *)iov->iov_base + w;
            iov->iov_len -= (size_t)w;
        }
    }
    return 0;
}

static int
open_write_segment(struct vg_dbuf *d, uint64_t seg)
{
    char *path = seg_path(d, seg);
    int rc = 0;

    if (d->wfd >= 0)
        close(d->wfd);
    d->wfd = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (d->wfd < 0)
        rc = -errno;
    d->wseg = seg;
    d->wsize = 0;
    free(path);
    return rc;
}

int
vg_dbuf_open(struct vg_dbuf **out, const char *dir, int64_t max_size,
             enum vg_dbuf_fsync policy, const char *who,
             vg_dbuf_replay_fn replay, void *arg)
{
    struct vg_dbuf *d = vg_xcalloc(1, sizeof(*d));
    uint64_t *segs = NULL;
    size_t nsegs = 0, i;
    char *lock;
    int rc;

    d->dir = vg_xstrdup(dir);
    d->who = vg_xstrdup(who);
    d->max_size = max_size;
    d->policy = policy;
    d->wfd = d->rfd = d->lock_fd = -1;
    if ((rc = vg_mkdir_p(dir, 0700)) < 0)
        goto fail;
    lock = vg_xasprintf("%s/lock", dir);
    d->lock_fd = open(lock, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    free(lock);
    if (d->lock_fd < 0) {
        rc = -errno;
        goto fail;
    }
    if (flock(d->lock_fd, LOCK_EX | LOCK_NB) < 0) {
        rc = errno == EWOULDBLOCK ? -EBUSY : -errno;
        goto fail;
    }
    segs = list_segments(d, &nsegs);
    if (load_cursor(d) < 0 || (nsegs && d->cur_seg < segs[0])) {
        d->cur_seg = nsegs ? segs[0] : 0;
        d->cur_off = 0;
    }
    for (i = 0; i < nsegs; i++) {
        char *path = seg_path(d, segs[i]);
        struct stat st;

        if (segs[i] < d->cur_seg) {     /* delivered before a crash */
            unlink(path);
        } else {
            if (stat(path, &st) == 0)
                d->bytes += (uint64_t)st.st_size;
            replay_segment(d, segs[i], segs[i] == d->cur_seg ? d->cur_off : 0,
                           replay, arg);
        }
        free(path);
    }
    d->oldest = d->cur_seg;
    /* Never append to a segment that may end in a torn record. */
    rc = open_write_segment(d, nsegs ? segs[nsegs - 1] + 1 : d->cur_seg);
    if (rc < 0)
        goto fail;
    if (!nsegs)
        d->oldest = d->wseg;
    free(segs);
    *out = d;
    return 0;
fail:
    free(segs);
    vg_dbuf_close(d);
    return rc;
}

void
vg_dbuf_close(struct vg_dbuf *d)
{
    if (!d)
        return;
    if (d->wfd >= 0) {
        if (d->dirty && d->policy != VG_DBUF_FSYNC_NEVER)
            fdatasync(d->wfd);
        close(d->wfd);
    }
    if (d->lock_fd >= 0) {
        save_cursor(d);
        close(d->lock_fd);
    }
    if (d->rfd >= 0)
        close(d->rfd);
    free(d->dir);
    free(d->who);
    free(d);
}

int
vg_dbuf_append(struct vg_dbuf *d, const struct vg_batch *b,
               struct vg_dpos *pos)
{
    static const char pad[8];
    uint32_t hdr[2] = { REC_MAGIC, (uint32_t)b->len };
    size_t padded = (b->len + 7u) & ~(size_t)7u;
    uint64_t rec = REC_HDR + padded;
    struct iovec iov[3] = {
        { hdr, sizeof(hdr) }, { b->buf, b->len },
        { (void *)pad, padded - b->len },
    };
    size_t written = 0;
    int rc = 0;

    if (b->len > MAX_REC)
        return -EFBIG;
    /* an unsealed record would be refused when read back: not written */
    if (!(((const struct vg_batch_hdr *)(const void *)b->buf)->flags &
          VG_BATCH_SEALED) || b->crc_stale)
        return -EINVAL;
    if (d->max_size > 0 && d->bytes + rec > (uint64_t)d->max_size)
        return -ENOSPC;
    if (d->wsize >= SEG_TARGET && (rc = open_write_segment(d, d->wseg + 1)) < 0)
        return rc;
    rc = write_record(d->wfd, iov, 3, &written);
    if (rc == 0 && d->policy == VG_DBUF_FSYNC_ALWAYS && fdatasync(d->wfd) < 0)
        rc = -errno;
    if (rc < 0) {
        /* Cut the half record off so the segment stays readable. */
        if (written && ftruncate(d->wfd, (off_t)d->wsize) < 0)
            vg_log_who(VG_LOG_ERROR, d->who, "dbuf-trunc", "cannot cut back "
                       "a partial disk buffer record: %s",
                       vg_strerror(errno));
        return rc;
    }
    pos->seg = d->wseg;
    pos->off = d->wsize;
    pos->end = d->wsize + rec;
    d->wsize += rec;
    d->bytes += rec;
    d->dirty = d->policy != VG_DBUF_FSYNC_ALWAYS;
    return 0;
}

int
vg_dbuf_read(struct vg_dbuf *d, const struct vg_dpos *pos,
             struct vg_batch **out)
{
    uint32_t hdr[2];
    char *data;
    int rc;

    if (d->rfd < 0 || d->rseg != pos->seg) {
        char *path = seg_path(d, pos->seg);

        if (d->rfd >= 0)
            close(d->rfd);
        d->rfd = open(path, O_RDONLY | O_CLOEXEC);
        d->rseg = pos->seg;
        free(path);
        if (d->rfd < 0)
            return -errno;
    }
    if ((rc = read_at(d->rfd, hdr, sizeof(hdr), pos->off)) < 0)
        return rc;
    if (hdr[0] != REC_MAGIC || hdr[1] > MAX_REC ||
        pos->off + REC_HDR + hdr[1] > pos->end)
        return -EBADMSG;
    data = vg_xmalloc(hdr[1] ? hdr[1] : 1);
    rc = read_at(d->rfd, data, hdr[1], pos->off + REC_HDR);
    if (rc == 0)
        rc = vg_batch_decode(data, hdr[1], out);
    free(data);
    return rc;
}

void
vg_dbuf_delivered(struct vg_dbuf *d, const struct vg_dpos *pos)
{
    d->cur_seg = pos->seg;
    d->cur_off = pos->end;
    d->cursor_dirty = 1;
    /* All delivered: start a fresh segment so the old one can go. */
    if (d->cur_seg == d->wseg && d->cur_off == d->wsize &&
        d->wsize >= SEG_TARGET / 8 && open_write_segment(d, d->wseg + 1) == 0) {
        d->cur_seg = d->wseg;
        d->cur_off = 0;
    }
    while (d->oldest < d->cur_seg) {
        char *path = seg_path(d, d->oldest);
        struct stat st;

        if (stat(path, &st) == 0) {
            d->bytes -= (uint64_t)st.st_size < d->bytes
                        ? (uint64_t)st.st_size : d->bytes;
            unlink(path);
        }
        if (d->rfd >= 0 && d->rseg == d->oldest) {
            close(d->rfd);
            d->rfd = -1;
        }
        free(path);
        d->oldest++;
    }
}

void
vg_dbuf_sync(struct vg_dbuf *d)
{
    if (d->dirty && d->policy == VG_DBUF_FSYNC_INTERVAL && d->wfd >= 0) {
        if (fdatasync(d->wfd) < 0)
            vg_log_who(VG_LOG_ERROR, d->who, "dbuf-fsync", "cannot fsync "
                       "the disk buffer: %s", vg_strerror(errno));
        d->dirty = 0;
    }
    save_cursor(d);
}

uint64_t
vg_dbuf_bytes(const struct vg_dbuf *d)
{
    return d->bytes;
}
