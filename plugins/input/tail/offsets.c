/*
 * tail: the offsets file.  Parsing never trusts the content: a missing
 * checksum line, a checksum mismatch or any malformed line rejects the
 * whole file, so a torn write can never move a file's offset.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "offsets.h"
#include "reader.h"

#define HEADER "vigil-tail-offsets 1\n"

void
tail_offsets_add(struct tail_offsets *o, const struct tail_pos *p)
{
    if (o->n == o->cap) {
        o->cap = o->cap ? o->cap * 2 : 16;
        o->v = realloc(o->v, o->cap * sizeof(*o->v));
        if (!o->v)
            abort();
    }
    o->v[o->n] = *p;
    o->v[o->n].path = strdup(p->path ? p->path : "");
    if (!o->v[o->n].path)
        abort();
    o->n++;
}

struct tail_pos *
tail_offsets_find(struct tail_offsets *o, uint64_t dev, uint64_t ino)
{
    size_t i;

    for (i = 0; i < o->n; i++)
        if (o->v[i].dev == dev && o->v[i].ino == ino)
            return &o->v[i];
    return NULL;
}

void
tail_offsets_clear(struct tail_offsets *o)
{
    size_t i;

    for (i = 0; i < o->n; i++)
        free(o->v[i].path);
    o->n = 0;
}

static int
parse_line(struct tail_offsets *o, const char *s, const char *end)
{
    struct tail_pos p;
    char line[64 + 4096], *rest = NULL;
    unsigned long long dev, ino, off;
    unsigned fp_len, fp;
    int used = 0;

    if ((size_t)(end - s) >= sizeof(line))
        return -EBADMSG;
    memcpy(line, s, (size_t)(end - s));
    line[end - s] = '\0';
    if (sscanf(line, "%llu %llu %llu %u %x %n", &dev, &ino, &off, &fp_len,
               &fp, &used) != 5 || used == 0 || fp_len > 4096)
        return -EBADMSG;
    rest = line + used;
    memset(&p, 0, sizeof(p));
    p.dev = dev;
    p.ino = ino;
    p.offset = off;
    p.fp_len = fp_len;
    p.fp = fp;
    p.path = rest;
    tail_offsets_add(o, &p);
    return 0;
}

int
tail_offsets_parse(struct tail_offsets *o, const char *text, size_t len)
{
    const char *s, *e, *crc_line = NULL;
    unsigned want;
    char tail[32];
    int rc = -EBADMSG;

    if (len < sizeof(HEADER) - 1 ||
        memcmp(text, HEADER, sizeof(HEADER) - 1) != 0)
        goto fail;
    /* The checksum line is the last one: find where it starts. */
    if (len < 2 || text[len - 1] != '\n')
        goto fail;
    for (s = text + len - 1; s > text && s[-1] != '\n'; s--)
        ;
    crc_line = s;
    if ((size_t)(text + len - crc_line) >= sizeof(tail))
        goto fail;
    memcpy(tail, crc_line, (size_t)(text + len - crc_line));
    tail[text + len - crc_line] = '\0';
    if (sscanf(tail, "crc32 %8x\n", &want) != 1 ||
        tail_crc32(0, text, (size_t)(crc_line - text)) != want)
        goto fail;
    for (s = text + sizeof(HEADER) - 1; s < crc_line; s = e + 1) {
        e = memchr(s, '\n', (size_t)(crc_line - s));
        if (!e || parse_line(o, s, e) < 0)
            goto fail;
    }
    return 0;
fail:
    tail_offsets_clear(o);
    return rc;
}

int
tail_offsets_load(struct tail_offsets *o, const char *file)
{
    char *text = NULL;
    size_t len = 0, cap = 0;
    ssize_t r;
    int fd, rc = 0;

    if ((fd = open(file, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    for (;;) {
        if (len == cap) {
            char *grown;

            cap = cap ? cap * 2 : 4096;
            grown = realloc(text, cap);
            if (!grown)
                abort();
            text = grown;
        }
        r = read(fd, text + len, cap - len);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -errno;
            goto out;
        }
        if (r == 0)
            break;
        len += (size_t)r;
    }
    rc = tail_offsets_parse(o, text, len);
out:
    close(fd);
    free(text);
    return rc;
}

int
tail_offsets_format(const struct tail_offsets *o, char **out, size_t *len)
{
    size_t cap = 64, n, i;
    char *buf = malloc(cap), *q;
    int w;

    if (!buf)
        return -ENOMEM;
    memcpy(buf, HEADER, sizeof(HEADER) - 1);
    n = sizeof(HEADER) - 1;
    for (i = 0; i <= o->n; i++) {
        const struct tail_pos *p = i < o->n ? &o->v[i] : NULL;
        size_t need = p ? strlen(p->path) + 96 : 32;

        if (n + need > cap) {
            while (n + need > cap)
                cap *= 2;
            if (!(q = realloc(buf, cap))) {
                free(buf);
                return -ENOMEM;
            }
            buf = q;
        }
        if (!p) {
            w = snprintf(buf + n, cap - n, "crc32 %08x\n",
                         tail_crc32(0, buf, n));
            n += (size_t)w;
            break;
        }
        w = snprintf(buf + n, cap - n, "%" PRIu64 " %" PRIu64 " %" PRIu64
                     " %u %08x ", p->dev, p->ino, p->offset, p->fp_len,
                     p->fp);
        q = buf + n + w;
        n += (size_t)w + strlen(p->path);
        memcpy(q, p->path, strlen(p->path));
        for (; q < buf + n; q++)
            if (*q == '\n')
                *q = '?';
        buf[n++] = '\n';
    }
    *out = buf;
    *len = n;
    return 0;
}

int
tail_offsets_save(const struct tail_offsets *o, const char *file)
{
    char tmp[4200], *text = NULL, *slash;
    size_t len = 0, done = 0;
    int fd = -1, rc;

    if ((rc = tail_offsets_format(o, &text, &len)) < 0)
        return rc;
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    if ((fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600)) < 0)
        goto fail_errno;
    while (done < len) {
        ssize_t w = write(fd, text + done, len - done);

        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            goto fail_errno;
        done += (size_t)w;
    }
    if (fsync(fd) < 0 || close(fd) < 0) {
        fd = -1;
        goto fail_errno;
    }
    fd = -1;
    if (rename(tmp, file) < 0)
        goto fail_errno;
    /* The rename is durable once the directory is. */
    if ((slash = strrchr(tmp, '/'))) {
        *slash = '\0';
        if ((fd = open(tmp, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) >= 0) {
            fsync(fd);
            close(fd);
        }
    }
    free(text);
    return 0;
fail_errno:
    rc = -errno;
    if (fd >= 0)
        close(fd);
    unlink(tmp);
    free(text);
    return rc;
}
