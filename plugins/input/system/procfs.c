/*
 * Reading /proc and /sys cheaply: one fd per file re-read with pread, one
 * buffer per file that only grows, and allocation-free parsing helpers.
 */
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "procfs.h"
#include "sys.h"

#define PF_CHUNK 65536

void
pf_file_init(struct pf_file *f, const char *root, const char *rel)
{
    size_t n = strlen(root) + strlen(rel) + 1;

    memset(f, 0, sizeof(*f));
    f->fd = -1;
    f->path = sys_xrealloc(NULL, n);
    snprintf(f->path, n, "%s%s", root, rel);
}

void
pf_file_release(struct pf_file *f)
{
    if (f->fd >= 0)
        close(f->fd);
    free(f->path);
    free(f->buf);
    memset(f, 0, sizeof(*f));
    f->fd = -1;
}

static int
file_open(struct pf_file *f)
{
    if (f->fd >= 0)
        return 0;
    f->fd = open(f->path, O_RDONLY | O_CLOEXEC);
    if (f->fd < 0) {
        f->missing = errno == ENOENT;
        return -errno;
    }
    f->missing = 0;
    return 0;
}

static void
file_reserve(struct pf_file *f, size_t want)
{
    size_t cap = f->cap ? f->cap : 4096;

    if (f->cap >= want)
        return;
    while (cap < want)
        cap *= 2;
    f->buf = sys_xrealloc(f->buf, cap);
    f->cap = cap;
}

static ssize_t
file_read_once(struct pf_file *f)
{
    size_t len = 0;
    ssize_t n;
    int rc;

    if ((rc = file_open(f)) < 0)
        return rc;
    for (;;) {
        file_reserve(f, len + 4096 + 1);
        n = pread(f->fd, f->buf + len, f->cap - len - 1, (off_t)len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        len += (size_t)n;
    }
    f->buf[len] = '\0';
    f->len = len;
    return (ssize_t)len;
}

ssize_t
pf_file_read(struct pf_file *f)
{
    ssize_t n = file_read_once(f);

    if (n < 0 && f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
        n = file_read_once(f);
    }
    return n;
}

static int
file_lines_once(struct pf_file *f, pf_line_fn cb, void *arg, int *seen)
{
    size_t keep = 0;         /* bytes of an unfinished line at buf */
    off_t off = 0;
    ssize_t n;
    int rc;

    if ((rc = file_open(f)) < 0)
        return rc;
    file_reserve(f, PF_CHUNK);
    for (;;) {
        char *p, *nl, *end;

        if (f->cap - keep - 1 < PF_CHUNK / 4)
            file_reserve(f, f->cap * 2);
        n = pread(f->fd, f->buf + keep, f->cap - keep - 1, off);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (n == 0)
            break;
        off += n;
        end = f->buf + keep + n;
        p = f->buf;
        while ((nl = memchr(p, '\n', (size_t)(end - p))) != NULL) {
            *nl = '\0';
            *seen = 1;
            cb(p, arg);
            p = nl + 1;
        }
        keep = (size_t)(end - p);
        memmove(f->buf, p, keep);
    }
    if (keep > 0) {
        f->buf[keep] = '\0';
        cb(f->buf, arg);
    }
    return 0;
}

int
pf_file_lines(struct pf_file *f, pf_line_fn cb, void *arg)
{
    int seen = 0;
    int rc = file_lines_once(f, cb, arg, &seen);

    /* A stale fd is retried with a fresh open, but only while no line has
     * reached the callback, so that nothing is counted twice. */
    if (rc < 0 && f->fd >= 0) {
        close(f->fd);
        f->fd = -1;
        if (!seen)
            rc = file_lines_once(f, cb, arg, &seen);
    }
    return rc;
}

const char *
pf_skip_ws(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

const char *
pf_next_line(const char *p)
{
    const char *nl = strchr(p, '\n');

    return nl ? nl + 1 : p + strlen(p);
}

const char *
pf_u64(const char *p, uint64_t *out)
{
    uint64_t v = 0;

    p = pf_skip_ws(p);
    if (*p < '0' || *p > '9')
        return NULL;
    while (*p >= '0' && *p <= '9')
        v = v * 10 + (uint64_t)(*p++ - '0');
    *out = v;
    return p;
}

const char *
pf_double(const char *p, double *out)
{
    uint64_t ip, fp = 0;
    double scale = 1.0;

    if ((p = pf_u64(p, &ip)) == NULL)
        return NULL;
    if (*p == '.') {
        p++;
        while (*p >= '0' && *p <= '9') {
            fp = fp * 10 + (uint64_t)(*p++ - '0');
            scale *= 10.0;
        }
    }
    *out = (double)ip + (double)fp / scale;
    return p;
}

const char *
pf_word(const char *p, const char **start, size_t *len)
{
    const char *s = pf_skip_ws(p);

    p = s;
    while (*p && *p != ' ' && *p != '\t' && *p != '\n')
        p++;
    if (p == s)
        return NULL;
    *start = s;
    *len = (size_t)(p - s);
    return p;
}

int
pf_match_any(const struct vg_strv *globs, const char *s)
{
    size_t i;

    for (i = 0; globs && i < globs->n; i++)
        if (fnmatch(globs->v[i], s, 0) == 0)
            return 1;
    return 0;
}

int
pf_filter_pass(const struct vg_strv *include, const struct vg_strv *exclude,
               const char *s)
{
    if (include && include->n > 0 && !pf_match_any(include, s))
        return 0;
    return !pf_match_any(exclude, s);
}
