/*
 * Small helpers every core module uses: allocation that aborts on OOM (so
 * error paths handle real failures only), errno names, clocks, a growable
 * byte buffer, and the duration and size syntax of the config file.
 */
#ifndef VG_UTIL_H
#define VG_UTIL_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#if defined(__GNUC__)
#define VG_FMT(f, a) __attribute__((format(printf, f, a)))
#define VG_NORETURN __attribute__((noreturn))
#define VG_UNUSED __attribute__((unused))
#else
#define VG_FMT(f, a)
#define VG_NORETURN
#define VG_UNUSED
#endif

#define VG_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

void *vg_xmalloc(size_t n);
void *vg_xcalloc(size_t n, size_t size);
void *vg_xrealloc(void *p, size_t n);
char *vg_xstrdup(const char *s);
char *vg_xstrndup(const char *s, size_t n);
/* Returns new string; free with free(). */
char *vg_xasprintf(const char *fmt, ...) VG_FMT(1, 2);
char *vg_xvasprintf(const char *fmt, va_list ap) VG_FMT(1, 0);

/* Name of a negative errno (or a positive one). */
const char *vg_strerror(int err);

/* Our own bugs, never bad input: prints where and aborts. */
void vg_assert_fail(const char *expr, const char *file, int line)
    VG_NORETURN;
#define vg_assert(e) \
    ((e) ? (void)0 : vg_assert_fail(#e, __FILE__, __LINE__))

int64_t vg_wall_ns(void);       /* CLOCK_REALTIME, ns since the epoch   */
int64_t vg_mono_ns(void);       /* CLOCK_MONOTONIC, ns                  */

/* Format ns since the epoch as RFC 3339 UTC with 9 decimals; returns len. */
size_t vg_format_time(int64_t ns, char *out, size_t outlen);

/* Growable byte buffer (caller's storage: _init/_release). */
struct vg_buf {
    char   *data;
    size_t  len;
    size_t  cap;
};
void vg_buf_init(struct vg_buf *b);
void vg_buf_release(struct vg_buf *b);
void vg_buf_reserve(struct vg_buf *b, size_t extra);
void vg_buf_grow(struct vg_buf *b, size_t extra);
static inline void vg_buf_add(struct vg_buf *b, const void *p, size_t n)
{
    if (b->len + n + 1 > b->cap)
        vg_buf_grow(b, n);
    memcpy(b->data + b->len, p, n);
    b->len += n;
    b->data[b->len] = '\0';
}
void vg_buf_addstr(struct vg_buf *b, const char *s);
void vg_buf_addf(struct vg_buf *b, const char *fmt, ...) VG_FMT(2, 3);
static inline void vg_buf_addch(struct vg_buf *b, char c)
{
    if (b->len + 2 > b->cap)
        vg_buf_reserve(b, 1);
    b->data[b->len++] = c;
    b->data[b->len] = '\0';
}

/*
 * "250ms", "10s", "5m", "1h", "7d", "1h30m", or a bare number of seconds.
 * 0 on success, -EINVAL on bad syntax, -ERANGE on overflow.
 */
int vg_parse_duration(const char *s, int64_t *ns);
/* "4096", "64k", "64KiB", "10MB", "1GiB" (k/M/G/T: powers of 1024;
 * kB/MB/GB/TB: powers of 1000).  Same return values. */
int vg_parse_size(const char *s, int64_t *bytes);

/* Levenshtein distance, for did-you-mean hints. */
size_t vg_edit_distance(const char *a, const char *b);

/* mkdir -p with mode for the directories it creates.  0 or -errno. */
int vg_mkdir_p(const char *path, unsigned mode);
/* write(2) until done, through EINTR.  0 or -errno (*written, when not
 * NULL, says how much went out either way). */
int vg_write_all(int fd, const void *data, size_t len, size_t *written);

/* Write a whole file atomically: temp, fsync, rename, fsync dir. */
int vg_write_file_atomic(const char *path, const void *data, size_t len);

#endif
