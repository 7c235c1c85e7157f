/*
 * Allocation, errno names, clocks, the byte buffer and the duration and
 * size syntax shared by the config and the plugins' options.
 */
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "util.h"

static void VG_NORETURN
oom(size_t n)
{
    fprintf(stderr, "vigil: out of memory allocating %zu bytes\n", n);
    abort();
}

void *
vg_xmalloc(size_t n)
{
    void *p = malloc(n ? n : 1);

    if (!p)
        oom(n);
    return p;
}

void *
vg_xcalloc(size_t n, size_t size)
{
    void *p = calloc(n ? n : 1, size ? size : 1);

    if (!p)
        oom(n * size);
    return p;
}

void *
vg_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (!q)
        oom(n);
    return q;
}

char *
vg_xstrdup(const char *s)
{
    return vg_xstrndup(s, strlen(s));
}

char *
vg_xstrndup(const char *s, size_t n)
{
    char *p = vg_xmalloc(n + 1);

    memcpy(p, s, n);
    p[n] = '\0';
    return p;
}

char *
vg_xvasprintf(const char *fmt, va_list ap)
{
    va_list ap2;
    char *p;
    int n;

    va_copy(ap2, ap);
    n = vsnprintf(NULL, 0, fmt, ap2);
    va_end(ap2);
    vg_assert(n >= 0);
    p = vg_xmalloc((size_t)n + 1);
    vsnprintf(p, (size_t)n + 1, fmt, ap);
    return p;
}

char *
vg_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *p;

    va_start(ap, fmt);
    p = vg_xvasprintf(fmt, ap);
    va_end(ap);
    return p;
}

const char *
vg_strerror(int err)
{
    return strerror(err < 0 ? -err : err);
}

void
vg_assert_fail(const char *expr, const char *file, int line)
{
    fprintf(stderr, "vigil: BUG: assertion '%s' failed at %s:%d\n", expr,
            file, line);
    abort();
}

int64_t
vg_wall_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_REALTIME, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

int64_t
vg_mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

/*
 * The civil date of day z counted from 1970-01-01 (proleptic Gregorian).
 * Counting from 0000-03-01 puts the leap day last in its year, and eras
 * of 400 years (146097 days) repeat exactly, so plain arithmetic does it:
 * no table, no loop, no libc (gmtime and printf were most of the cost of
 * an event's timestamp in the JSON encoder).
 */
static void
civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t era;
    unsigned doe, yoe, doy, mp;

    z += 719468;
    era = (z >= 0 ? z : z - 146096) / 146097;
    doe = (unsigned)(z - era * 146097);
    yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* Writes v as exactly n decimal digits ending before `end`. */
static void
put_digits(char *end, uint64_t v, int n)
{
    while (n-- > 0) {
        *--end = (char)('0' + v % 10);
        v /= 10;
    }
}

size_t
vg_format_time(int64_t ns, char *out, size_t outlen)
{
    int64_t sec = ns / 1000000000;
    int64_t frac = ns % 1000000000;
    int64_t days, rem, year;
    unsigned month, day;

    if (frac < 0) {             /* before 1970: floor, not truncate */
        frac += 1000000000;
        sec -= 1;
    }
    days = sec / 86400;
    rem = sec % 86400;
    if (rem < 0) {
        rem += 86400;
        days -= 1;
    }
    civil_from_days(days, &year, &month, &day);
    if (year < 0 || year > 9999 || outlen < 31) {
        /* five-digit or negative years, or a short buffer: printf's way */
        int n = snprintf(out, outlen, "%04lld-%02u-%02uT%02d:%02d:%02d."
                         "%09lldZ", (long long)year, month, day,
                         (int)(rem / 3600), (int)(rem / 60 % 60),
                         (int)(rem % 60), (long long)frac);

        return n < 0 ? 0 : (size_t)n;
    }
    /* "YYYY-MM-DDTHH:MM:SS.nnnnnnnnnZ" */
    put_digits(out + 4, (uint64_t)year, 4);
    out[4] = '-';
    put_digits(out + 7, month, 2);
    out[7] = '-';
    put_digits(out + 10, day, 2);
    out[10] = 'T';
    put_digits(out + 13, (uint64_t)(rem / 3600), 2);
    out[13] = ':';
    put_digits(out + 16, (uint64_t)(rem / 60 % 60), 2);
    out[16] = ':';
    put_digits(out + 19, (uint64_t)(rem % 60), 2);
    out[19] = '.';
    put_digits(out + 29, (uint64_t)frac, 9);
    out[29] = 'Z';
    out[30] = '\0';
    return 30;
}

void
vg_buf_init(struct vg_buf *b)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

void
vg_buf_release(struct vg_buf *b)
{
    free(b->data);
    vg_buf_init(b);
}

void
vg_buf_reserve(struct vg_buf *b, size_t extra)
{
    size_t need = b->len + extra + 1;   /* keep room for a NUL */
    size_t cap = b->cap ? b->cap : 256;

    if (need <= b->cap)
        return;
    while (cap < need)
        cap *= 2;
    b->data = vg_xrealloc(b->data, cap);
    b->cap = cap;
}

/* The slow path of vg_buf_add, out of line so the fast one inlines. */
void
vg_buf_grow(struct vg_buf *b, size_t extra)
{
    vg_buf_reserve(b, extra);
}

void
vg_buf_addstr(struct vg_buf *b, const char *s)
{
    vg_buf_add(b, s, strlen(s));
}

void
vg_buf_addf(struct vg_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    vg_buf_reserve(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Parses a non-negative decimal with an optional fraction; *end after it. */
static int
parse_number(const char *s, double *out, const char **end)
{
    const char *p = s;
    double v = 0, scale = 0.1;
    int digits = 0;

    while (isdigit((unsigned char)*p)) {
        v = v * 10 + (*p++ - '0');
        digits++;
    }
    if (*p == '.') {
        p++;
        while (isdigit((unsigned char)*p)) {
            v += (*p++ - '0') * scale;
            scale /= 10;
            digits++;
        }
    }
    if (!digits)
        return -EINVAL;
    *out = v;
    *end = p;
    return 0;
}

int
vg_parse_duration(const char *s, int64_t *ns)
{
    static const struct { const char *unit; double ns; } units[] = {
        { "ns", 1 }, { "us", 1e3 }, { "ms", 1e6 }, { "s", 1e9 },
        { "m", 60e9 }, { "h", 3600e9 }, { "d", 86400e9 }, { "w", 604800e9 },
    };
    const char *p = s;
    double total = 0;
    int parts = 0;

    while (isspace((unsigned char)*p))
        p++;
    while (*p && !isspace((unsigned char)*p)) {
        const char *end;
        double v;
        size_t i, best = VG_ARRAY_LEN(units), best_len = 0;

        if (parse_number(p, &v, &end) < 0)
            return -EINVAL;
        p = end;
        if (!*p || isspace((unsigned char)*p)) {
            if (parts)          /* "1h30" is ambiguous */
                return -EINVAL;
            total = v * 1e9;    /* a bare number is seconds */
            parts++;
            break;
        }
        for (i = 0; i < VG_ARRAY_LEN(units); i++) {
            size_t ul = strlen(units[i].unit);

            if (strncmp(p, units[i].unit, ul) == 0 && ul > best_len &&
                !isalpha((unsigned char)p[ul])) {
                best = i;
                best_len = ul;
            }
        }
        if (best == VG_ARRAY_LEN(units))
            return -EINVAL;
        total += v * units[best].ns;
        p += best_len;
        parts++;
    }
    while (isspace((unsigned char)*p))
        p++;
    if (!parts || *p)
        return -EINVAL;
    if (total > (double)INT64_MAX)
        return -ERANGE;
    *ns = (int64_t)(total + 0.5);
    return 0;
}

int
vg_parse_size(const char *s, int64_t *bytes)
{
    static const struct { const char *unit; double mul; } units[] = {
        { "", 1 }, { "b", 1 },
        { "k", 1024.0 }, { "kib", 1024.0 }, { "kb", 1e3 },
        { "m", 1048576.0 }, { "mib", 1048576.0 }, { "mb", 1e6 },
        { "g", 1073741824.0 }, { "gib", 1073741824.0 }, { "gb", 1e9 },
        { "t", 1099511627776.0 }, { "tib", 1099511627776.0 }, { "tb", 1e12 },
    };
    const char *p = s, *end;
    char unit[8];
    size_t n = 0, i;
    double v;

    while (isspace((unsigned char)*p))
        p++;
    if (parse_number(p, &v, &end) < 0)
        return -EINVAL;
    p = end;
    while (isspace((unsigned char)*p))
        p++;
    while (*p && !isspace((unsigned char)*p)) {
        if (n + 1 >= sizeof(unit))
            return -EINVAL;
        unit[n++] = (char)tolower((unsigned char)*p++);
    }
    unit[n] = '\0';
    while (isspace((unsigned char)*p))
        p++;
    if (*p)
        return -EINVAL;
    for (i = 0; i < VG_ARRAY_LEN(units); i++) {
        if (strcmp(unit, units[i].unit) == 0) {
            double total = v * units[i].mul;

            if (total > (double)INT64_MAX)
                return -ERANGE;
            *bytes = (int64_t)(total + 0.5);
            return 0;
        }
    }
    return -EINVAL;
}

size_t
vg_edit_distance(const char *a, const char *b)
{
    size_t la = strlen(a), lb = strlen(b), i, j;
    size_t *row, result;

    if (la > 256 || lb > 256)   /* names only; bound the work */
        return la > lb ? la : lb;
    row = vg_xmalloc((lb + 1) * sizeof(*row));
    for (j = 0; j <= lb; j++)
        row[j] = j;
    for (i = 1; i <= la; i++) {
        size_t diag = row[0];

        row[0] = i;
        for (j = 1; j <= lb; j++) {
            size_t up = row[j];
            size_t cost = a[i - 1] == b[j - 1] ? 0 : 1;
            size_t best = diag + cost;

            if (up + 1 < best)
                best = up + 1;
            if (row[j - 1] + 1 < best)
                best = row[j - 1] + 1;
            row[j] = best;
            diag = up;
        }
    }
    result = row[lb];
    free(row);
    return result;
}

int
vg_write_all(int fd, const void *data, size_t len, size_t *written)
{
    const char *p = data;
    size_t done = 0;
    int rc = 0;

    while (done < len) {
        ssize_t n = write(fd, p + done, len - done);

        if (n < 0) {
            if (errno == EINTR)
                continue;
            rc = -errno;
            break;
        }
        done += (size_t)n;
    }
    if (written)
        *written = done;
    return rc;
}

int
vg_mkdir_p(const char *path, unsigned mode)
{
    char *copy = vg_xstrdup(path), *p;
    int rc = 0;

    for (p = copy + 1; ; p++) {
        if (*p == '/' || *p == '\0') {
            char c = *p;

            *p = '\0';
            if (mkdir(copy, (mode_t)mode) < 0 && errno != EEXIST) {
                rc = -errno;
                break;
            }
            *p = c;
            if (!c)
                break;
        }
    }
    free(copy);
    return rc;
}

int
vg_write_file_atomic(const char *path, const void *data, size_t len)
{
    char *tmp = vg_xasprintf("%s.tmp", path);
    char *dir = vg_xstrdup(path);
    char *slash = strrchr(dir, '/');
    int fd, dfd, rc = 0;

    if (slash)
        *(slash == dir ? slash + 1 : slash) = '\0';
    else
        strcpy(dir, ".");
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) {
        rc = -errno;
        goto out;
    }
    if ((rc = vg_write_all(fd, data, len, NULL)) == 0 && fsync(fd) < 0)
        rc = -errno;
    if (close(fd) < 0 && rc == 0)
        rc = -errno;
    if (rc == 0 && rename(tmp, path) < 0)
        rc = -errno;
    if (rc < 0) {
        unlink(tmp);
        goto out;
    }
    dfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
out:
    free(tmp);
    free(dir);
    return rc;
}
