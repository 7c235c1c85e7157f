/*
 * input statsd: the line parser (see sd_line.h).  Values take a fast
 * path for plain decimals, the form every client sends, because the
 * input must keep up with a million values a second; anything else goes
 * through strtod on a bounded copy.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "sd_line.h"

static const double pow10_[] = {
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22,
};

int
sd_parse_double(const char *p, size_t len, double *out)
{
    const char *end = p + len, *q = p;
    uint64_t mant = 0;
    int neg = 0, digits = 0, frac = 0, dot = 0;
    char tmp[64], *e;
    double v;

    if (q < end && (*q == '+' || *q == '-'))
        neg = *q++ == '-';
    for (; q < end; q++) {
        if (*q >= '0' && *q <= '9') {
            mant = mant * 10 + (uint64_t)(*q - '0');
            digits++;
            frac += dot;
        } else if (*q == '.' && !dot) {
            dot = 1;
        } else {
            break;
        }
    }
    /*
     * An integer mantissa below 2^53 divided by an exact power of ten is
     * correctly rounded (one IEEE operation on exact operands).
     */
    if (q == end && digits > 0 && digits <= 15 && frac <= 22) {
        v = (double)mant / pow10_[frac];
        *out = neg ? -v : v;
        return 0;
    }
    if (len == 0 || len >= sizeof(tmp))
        return -EINVAL;
    /* strtod also reads hex, "inf", "nan" and leading blanks: refuse them */
    for (q = p; q < end; q++)
        if (!strchr("0123456789.eE+-", *q))
            return -EINVAL;
    memcpy(tmp, p, len);
    tmp[len] = '\0';
    errno = 0;
    v = strtod(tmp, &e);
    if (e != tmp + len || !isfinite(v))
        return -EINVAL;
    *out = v;
    return 0;
}

/* Index of the first c in p[0..len), or len. */
static size_t
span_to(const char *p, size_t len, char c)
{
    const char *q = memchr(p, c, len);

    return q ? (size_t)(q - p) : len;
}

static int
parse_type(const char *p, size_t len)
{
    if (len == 1) {
        switch (p[0]) {
        case 'c': return SD_COUNTER;
        case 'g': return SD_GAUGE;
        case 'h': return SD_HISTOGRAM;
        case 'd': return SD_DISTRIBUTION;
        case 's': return SD_SET;
        }
    } else if (len == 2 && p[0] == 'm' && p[1] == 's') {
        return SD_TIMER;
    }
    return -EINVAL;
}

static int
parse_tags(const char *p, size_t len, struct sd_metric *m, const char **why)
{
    size_t off = 0;

    while (off < len) {
        size_t n = span_to(p + off, len - off, ',');
        size_t k = span_to(p + off, n, ':');
        struct sd_tag *t;

        if (n == 0) {                   /* "a,,b" or a trailing comma */
            off++;
            continue;
        }
        if (k == 0) {
            *why = "tag without a name";
            return -EINVAL;
        }
        if (m->ntags == SD_MAX_TAGS) {
            *why = "too many tags";
            return -EINVAL;
        }
        t = &m->tags[m->ntags++];
        t->key.p = p + off;
        t->key.len = k;
        if (k < n) {
            t->value.p = p + off + k + 1;
            t->value.len = n - k - 1;
        } else {
            t->value.p = "true";
            t->value.len = 4;
        }
        off += n + 1;
    }
    return 0;
}

static int
parse_values(const char *p, size_t len, struct sd_metric *m,
             const char **why)
{
    size_t off = 0;

    for (;;) {
        size_t n = span_to(p + off, len - off, ':');
        uint32_t i = m->nvalues;

        if (n == 0) {
            *why = "empty value";
            return -EINVAL;
        }
        if (i == SD_MAX_VALUES) {
            *why = "too many values";
            return -EINVAL;
        }
        m->raw[i].p = p + off;
        m->raw[i].len = n;
        m->nvalues++;
        off += n;
        if (off >= len)
            return 0;
        off++;                          /* the ':' */
        if (off == len) {
            *why = "empty value";
            return -EINVAL;
        }
    }
}

int
sd_parse_line(const char *line, size_t len, struct sd_metric *m,
              const char **why)
{
    size_t colon, bar, off, n;
    uint32_t i;
    int t;

    *why = NULL;
    while (len && (line[len - 1] == '\r' || line[len - 1] == ' '))
        len--;
    if (len == 0)
        return 1;
    if ((len >= 3 && memcmp(line, "_e{", 3) == 0) ||
        (len >= 4 && memcmp(line, "_sc|", 4) == 0))
        return 1;
    m->nvalues = 0;
    m->ntags = 0;
    m->delta = 0;
    m->rate = 1;
    bar = span_to(line, len, '|');
    colon = span_to(line, bar, ':');
    if (colon == 0) {
        *why = "no metric name";
        return -EINVAL;
    }
    if (colon >= bar) {
        *why = colon == len ? "no value" : "no ':' before the value";
        return -EINVAL;
    }
    if (bar == len) {
        *why = "no type";
        return -EINVAL;
    }
    /* the name is reported as a C string: a NUL would cut it short */
    if (memchr(line, '\0', colon)) {
        *why = "NUL byte in the metric name";
        return -EINVAL;
    }
    m->name.p = line;
    m->name.len = colon;
    if (parse_values(line + colon + 1, bar - colon - 1, m, why) < 0)
        return -EINVAL;

    off = bar + 1;
    n = span_to(line + off, len - off, '|');
    if ((t = parse_type(line + off, n)) < 0) {
        *why = "unknown type";
        return -EINVAL;
    }
    m->type = t;
    off += n;
    /* the optional fields, in any order; unknown ones (|c:, |T) skipped */
    while (off < len) {
        const char *f = line + ++off;

        n = span_to(f, len - off, '|');
        if (n > 0 && f[0] == '@') {
            if (sd_parse_double(f + 1, n - 1, &m->rate) < 0 ||
                !(m->rate > 0 && m->rate <= 1)) {
                *why = "sample rate not within (0, 1]";
                return -EINVAL;
            }
        } else if (n > 0 && f[0] == '#') {
            if (parse_tags(f + 1, n - 1, m, why) < 0)
                return -EINVAL;
        }
        off += n;
    }
    if (t == SD_SET)
        return 0;
    for (i = 0; i < m->nvalues; i++) {
        const struct sd_str *r = &m->raw[i];

        if (sd_parse_double(r->p, r->len, &m->values[i]) < 0) {
            *why = "value is not a number";
            return -EINVAL;
        }
        if (t == SD_GAUGE && (r->p[0] == '+' || r->p[0] == '-'))
            m->delta |= UINT64_C(1) << i;
    }
    return 0;
}
