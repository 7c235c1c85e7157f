/*
 * COPY text and JSON encoders of the postgres output.  The hot path
 * (one sample row) formats dates with arithmetic instead of gmtime_r and
 * reserves its room once, because a COPY of millions of rows spends most
 * of its client time here.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "copy.h"

#define NS_PER_DAY (INT64_C(86400) * VG_SECOND)

void
pg_buf_release(struct pg_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

int
pg_buf_reserve(struct pg_buf *b, size_t extra)
{
    size_t cap;
    char *p;

    if (b->len + extra <= b->cap)
        return 0;
    cap = b->cap ? b->cap : 256;
    while (cap < b->len + extra)
        cap *= 2;
    if (!(p = realloc(b->data, cap)))
        return -ENOMEM;
    b->data = p;
    b->cap = cap;
    return 0;
}

int
pg_buf_add(struct pg_buf *b, const void *p, size_t n)
{
    if (pg_buf_reserve(b, n) < 0)
        return -ENOMEM;
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

int
pg_buf_addstr(struct pg_buf *b, const char *s)
{
    return pg_buf_add(b, s, strlen(s));
}

int
pg_buf_addc(struct pg_buf *b, char c)
{
    if (pg_buf_reserve(b, 1) < 0)
        return -ENOMEM;
    b->data[b->len++] = c;
    return 0;
}

int
pg_buf_addz(struct pg_buf *b)
{
    return pg_buf_addc(b, '\0');
}

int64_t
pg_day_of(int64_t ns)
{
    int64_t d = ns / NS_PER_DAY;

    if (ns % NS_PER_DAY < 0)
        d--;
    return d;
}

/* Proleptic Gregorian date of a day number (H. Hinnant's algorithm). */
static void
civil(int64_t day, int64_t *y, unsigned *m, unsigned *d)
{
    int64_t z = day + 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;

    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static char *put2(char *p, unsigned v);

/* Years outside 0..9999 cannot come from int64 ns; keep the shape. */
static char *
put_date(char *p, int64_t day, int dashes)
{
    int64_t y;
    unsigned m, d;

    civil(day, &y, &m, &d);
    if (y < 0 || y > 9999)
        y = y < 0 ? 0 : 9999;
    p = put2(p, (unsigned)(y / 100));
    p = put2(p, (unsigned)(y % 100));
    if (dashes)
        *p++ = '-';
    p = put2(p, m);
    if (dashes)
        *p++ = '-';
    return put2(p, d);
}

void
pg_day_name(int64_t day, char out[9])
{
    *put_date(out, day, 0) = '\0';
}

void
pg_day_date(int64_t day, char out[11])
{
    *put_date(out, day, 1) = '\0';
}

static char *
put2(char *p, unsigned v)
{
    p[0] = (char)('0' + v / 10);
    p[1] = (char)('0' + v % 10);
    return p + 2;
}

/* "YYYY-MM-DD HH:MM:SS" or with 'T'; returns the end.  p has 20 bytes. */
static char *
put_datetime(char *p, int64_t day, int64_t sec_of_day, char sep)
{
    p = put_date(p, day, 1);
    *p++ = sep;
    p = put2(p, (unsigned)(sec_of_day / 3600));
    *p++ = ':';
    p = put2(p, (unsigned)(sec_of_day / 60 % 60));
    *p++ = ':';
    return put2(p, (unsigned)(sec_of_day % 60));
}

int
pg_put_time(struct pg_buf *b, int64_t ns)
{
    int64_t day = pg_day_of(ns);
    int64_t rest = ns - day * NS_PER_DAY;          /* 0 .. one day */
    int64_t us = rest / 1000;
    unsigned frac = (unsigned)(us % 1000000);
    char *p;
    int i;

    if (pg_buf_reserve(b, 32) < 0)
        return -ENOMEM;
    p = put_datetime(b->data + b->len, day, us / 1000000, ' ');
    *p++ = '.';
    for (i = 5; i >= 0; i--) {
        p[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    p += 6;
    memcpy(p, "+00", 3);    /* NOLINT(bugprone-not-null-terminated-result) */
    p += 3;
    b->len = (size_t)(p - b->data);
    return 0;
}

int
pg_put_rfc3339(struct pg_buf *b, int64_t ns)
{
    int64_t day = pg_day_of(ns);
    int64_t rest = ns - day * NS_PER_DAY;
    unsigned frac = (unsigned)(rest % VG_SECOND);
    char *p;
    int i;

    if (pg_buf_reserve(b, 40) < 0)
        return -ENOMEM;
    p = put_datetime(b->data + b->len, day, rest / VG_SECOND, 'T');
    *p++ = '.';
    for (i = 8; i >= 0; i--) {
        p[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    p += 9;
    *p++ = 'Z';
    b->len = (size_t)(p - b->data);
    return 0;
}

int
pg_put_double(struct pg_buf *b, double d)
{
    int n;

    if (isnan(d))
        return pg_buf_addstr(b, "NaN");
    if (isinf(d))
        return pg_buf_addstr(b, d > 0 ? "Infinity" : "-Infinity");
    if (pg_buf_reserve(b, 32) < 0)
        return -ENOMEM;
    /* integers, the common case of counters, skip the slow %g path */
    if (fabs(d) < 1e15 && d == (double)(int64_t)d)
        return pg_put_int(b, (int64_t)d);
    n = snprintf(b->data + b->len, 32, "%.17g", d);
    b->len += (size_t)n;
    return 0;
}

int
pg_put_int(struct pg_buf *b, int64_t v)
{
    char tmp[24];
    uint64_t u = v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
    size_t n = 0;

    if (pg_buf_reserve(b, 21) < 0)
        return -ENOMEM;
    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        b->data[b->len++] = '-';
    while (n)
        b->data[b->len++] = tmp[--n];
    return 0;
}

/*
 * Length of the valid UTF-8 sequence at s (1..4), or 0 when s[0] does not
 * start one.  Overlong forms, surrogates and code points past U+10FFFF
 * are invalid, as PostgreSQL's own check says.
 */
static size_t
utf8_len(const unsigned char *s, size_t left)
{
    unsigned c = s[0];
    size_t n, i;
    unsigned cp;

    if (c < 0x80)
        return 1;
    if (c >= 0xc2 && c <= 0xdf) {
        n = 2;
        cp = c & 0x1f;
    } else if (c >= 0xe0 && c <= 0xef) {
        n = 3;
        cp = c & 0x0f;
    } else if (c >= 0xf0 && c <= 0xf4) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (left < n)
        return 0;
    for (i = 1; i < n; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return n;
}

/*
 * Walks s as UTF-8 and calls out for each run of valid bytes and each
 * replacement; esc says how a run is escaped (COPY or JSON).
 */
enum esc_mode {
    ESC_COPY,
    ESC_JSON,
    ESC_NONE,                           /* query parameters */
};

static int
put_escaped_byte(struct pg_buf *b, unsigned char c, enum esc_mode mode)
{
    char tmp[8];

    if (mode == ESC_NONE)
        return pg_buf_addc(b, (char)c);
    if (mode == ESC_COPY) {
        switch (c) {
        case '\\': return pg_buf_add(b, "\\\\", 2);
        case '\t': return pg_buf_add(b, "\\t", 2);
        case '\n': return pg_buf_add(b, "\\n", 2);
        case '\r': return pg_buf_add(b, "\\r", 2);
        default:   return pg_buf_addc(b, (char)c);
        }
    }
    switch (c) {
    case '"':  return pg_buf_add(b, "\\\"", 2);
    case '\\': return pg_buf_add(b, "\\\\", 2);
    case '\n': return pg_buf_add(b, "\\n", 2);
    case '\t': return pg_buf_add(b, "\\t", 2);
    case '\r': return pg_buf_add(b, "\\r", 2);
    default:
        if (c < 0x20) {
            snprintf(tmp, sizeof(tmp), "\\u%04x", c);
            return pg_buf_add(b, tmp, 6);
        }
        return pg_buf_addc(b, (char)c);
    }
}

static int
put_utf8(struct pg_buf *b, const char *s, size_t len, enum esc_mode mode)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t i = 0;
    int rc = 0;

    if (pg_buf_reserve(b, len + 2) < 0)
        return -ENOMEM;
    while (i < len && rc == 0) {
        unsigned char c = p[i];
        size_t n;

        if (c >= 0x20 && c < 0x80 && c != '\\' && c != '"') {
            rc = pg_buf_addc(b, (char)c);
            i++;
            continue;
        }
        if (c == 0) {
            rc = pg_buf_add(b, "\xef\xbf\xbd", 3);      /* U+FFFD */
            i++;
            continue;
        }
        if (c < 0x80) {
            rc = put_escaped_byte(b, c, mode);
            i++;
            continue;
        }
        n = utf8_len(p + i, len - i);
        if (n == 0) {
            /* the byte's value as a code point: U+0080..U+00FF */
            char two[2] = { (char)(0xc0 | (c >> 6)),
                            (char)(0x80 | (c & 0x3f)) };

            rc = pg_buf_add(b, two, 2);
            i++;
            continue;
        }
        rc = pg_buf_add(b, p + i, n);
        i += n;
    }
    return rc;
}

int
pg_copy_text(struct pg_buf *b, const char *s, size_t len)
{
    return put_utf8(b, s, len, ESC_COPY);
}

int
pg_utf8_text(struct pg_buf *b, const char *s, size_t len)
{
    return put_utf8(b, s, len, ESC_NONE);
}

int
pg_copy_escape(struct pg_buf *b, const char *s, size_t len)
{
    size_t i;
    int rc = 0;

    if (pg_buf_reserve(b, len) < 0)
        return -ENOMEM;
    for (i = 0; i < len && rc == 0; i++)
        rc = put_escaped_byte(b, (unsigned char)s[i], ESC_COPY);
    return rc;
}

int
pg_json_string(struct pg_buf *b, const char *s, size_t len)
{
    if (pg_buf_addc(b, '"') < 0 || put_utf8(b, s, len, ESC_JSON) < 0 ||
        pg_buf_addc(b, '"') < 0)
        return -ENOMEM;
    return 0;
}

int
pg_json_labels(struct pg_buf *b, const struct vg_kv *kv, uint32_t n)
{
    uint32_t i;
    int rc = pg_buf_addc(b, '{');

    for (i = 0; i < n && rc == 0; i++) {
        if ((i && (rc = pg_buf_addc(b, ',')) < 0) ||
            (rc = pg_json_string(b, kv[i].key, kv[i].key_len)) < 0 ||
            (rc = pg_buf_addc(b, ':')) < 0)
            break;
        if (kv[i].type == VG_VAL_STR)
            rc = pg_json_string(b, kv[i].v.s, kv[i].len);
        else
            rc = pg_json_string(b, "", 0);
    }
    return rc < 0 ? rc : pg_buf_addc(b, '}');
}

int
pg_json_attrs(struct pg_buf *b, const struct vg_kv *kv, uint32_t n)
{
    uint32_t i;
    int rc = pg_buf_addc(b, '{');

    for (i = 0; i < n && rc == 0; i++) {
        if ((i && (rc = pg_buf_addc(b, ',')) < 0) ||
            (rc = pg_json_string(b, kv[i].key, kv[i].key_len)) < 0 ||
            (rc = pg_buf_addc(b, ':')) < 0)
            break;
        switch (kv[i].type) {
        case VG_VAL_INT:
            rc = pg_put_int(b, kv[i].v.i);
            break;
        case VG_VAL_DOUBLE:
            if (isnan(kv[i].v.d))
                rc = pg_buf_addstr(b, "\"NaN\"");
            else if (isinf(kv[i].v.d))
                rc = pg_buf_addstr(b, kv[i].v.d > 0 ? "\"+Inf\"" : "\"-Inf\"");
            else
                rc = pg_put_double(b, kv[i].v.d);
            break;
        case VG_VAL_BOOL:
            rc = pg_buf_addstr(b, kv[i].v.b ? "true" : "false");
            break;
        default:
            rc = pg_json_string(b, kv[i].v.s, kv[i].len);
            break;
        }
    }
    return rc < 0 ? rc : pg_buf_addc(b, '}');
}

const char *
pg_severity_text(uint32_t severity)
{
    static const char *const names[] = {
        "trace", "debug", "info", "warn", "error", "fatal",
    };

    if (severity == 0 || severity > 24)
        return NULL;
    return names[(severity - 1) / 4];
}

const char *
pg_alert_severity_text(uint32_t severity)
{
    switch (severity) {
    case VG_ALERT_INFO:     return "info";
    case VG_ALERT_WARNING:  return "warning";
    case VG_ALERT_ERROR:    return "error";
    case VG_ALERT_CRITICAL: return "critical";
    default:                return "unknown";
    }
}

int
pg_copy_sample(struct pg_buf *b, const struct vg_event *ev,
               int64_t series_id)
{
    if (pg_put_time(b, ev->time) < 0 || pg_buf_addc(b, '\t') < 0 ||
        pg_put_int(b, series_id) < 0 || pg_buf_addc(b, '\t') < 0 ||
        pg_put_double(b, ev->value) < 0 || pg_buf_addc(b, '\n') < 0)
        return -ENOMEM;
    return 0;
}

int
pg_copy_histogram(struct pg_buf *b, const struct vg_event *ev,
                  int64_t series_id)
{
    const struct vg_histogram *h = &ev->hist;
    uint32_t i;
    int rc;

    if (pg_put_time(b, ev->time) < 0 || pg_buf_addc(b, '\t') < 0 ||
        pg_put_int(b, series_id) < 0 || pg_buf_add(b, "\t{", 2) < 0)
        return -ENOMEM;
    for (i = 0, rc = 0; i < h->nbuckets && rc == 0; i++) {
        if (i)
            rc = pg_buf_addc(b, ',');
        if (rc == 0)
            rc = pg_put_double(b, h->bounds[i]);
    }
    if (rc < 0 || pg_buf_add(b, "}\t{", 3) < 0)
        return -ENOMEM;
    for (i = 0; i < h->nbuckets && rc == 0; i++) {
        if (i)
            rc = pg_buf_addc(b, ',');
        if (rc == 0)
            rc = pg_put_int(b, (int64_t)h->counts[i]);
    }
    if (rc < 0 || pg_buf_add(b, "}\t", 2) < 0 ||
        pg_put_double(b, h->sum) < 0 || pg_buf_addc(b, '\t') < 0 ||
        pg_put_int(b, (int64_t)h->count) < 0 || pg_buf_addc(b, '\n') < 0)
        return -ENOMEM;
    return 0;
}

/* Columns: time, severity, severity_text, body, attributes, labels, source */
int
pg_copy_log(struct pg_buf *b, struct pg_buf *tmp, const struct vg_event *ev,
            const char *source)
{
    const char *sev = pg_severity_text(ev->severity);

    if (pg_put_time(b, ev->time) < 0 || pg_buf_addc(b, '\t') < 0)
        return -ENOMEM;
    if (!sev) {
        if (pg_buf_addstr(b, "\\N\t\\N\t") < 0)
            return -ENOMEM;
    } else if (pg_put_int(b, ev->severity) < 0 || pg_buf_addc(b, '\t') < 0 ||
               pg_buf_addstr(b, sev) < 0 || pg_buf_addc(b, '\t') < 0) {
        return -ENOMEM;
    }
    if (pg_copy_text(b, ev->body ? ev->body : "", ev->body_len) < 0 ||
        pg_buf_addc(b, '\t') < 0)
        return -ENOMEM;
    tmp->len = 0;
    if (pg_json_attrs(tmp, ev->attrs, ev->nattrs) < 0 ||
        pg_copy_escape(b, tmp->data, tmp->len) < 0 || pg_buf_addc(b, '\t') < 0)
        return -ENOMEM;
    tmp->len = 0;
    if (pg_json_labels(tmp, ev->labels, ev->nlabels) < 0 ||
        pg_copy_escape(b, tmp->data, tmp->len) < 0 || pg_buf_addc(b, '\t') < 0)
        return -ENOMEM;
    if (source) {
        if (pg_copy_text(b, source, strlen(source)) < 0)
            return -ENOMEM;
    } else if (pg_buf_addstr(b, "\\N") < 0) {
        return -ENOMEM;
    }
    return pg_buf_addc(b, '\n');
}

/* ---- binary COPY ---------------------------------------------------- */

#define PG_EPOCH_US INT64_C(946684800000000)  /* 2000-01-01 in Unix us */

static void
put_be(char *p, uint64_t v, int n)
{
    int i;

    for (i = n - 1; i >= 0; i--) {
        p[i] = (char)(v & 0xff);
        v >>= 8;
    }
}

static int
bin_u16(struct pg_buf *b, uint16_t v)
{
    if (pg_buf_reserve(b, 2) < 0)
        return -ENOMEM;
    put_be(b->data + b->len, v, 2);
    b->len += 2;
    return 0;
}

static int
bin_u32(struct pg_buf *b, uint32_t v)
{
    if (pg_buf_reserve(b, 4) < 0)
        return -ENOMEM;
    put_be(b->data + b->len, v, 4);
    b->len += 4;
    return 0;
}

/* A field of 8 bytes: its length, then the value. */
static int
bin_field8(struct pg_buf *b, uint64_t v)
{
    if (pg_buf_reserve(b, 12) < 0)
        return -ENOMEM;
    put_be(b->data + b->len, 8, 4);
    put_be(b->data + b->len + 4, v, 8);
    b->len += 12;
    return 0;
}

static uint64_t
time_field(int64_t ns)
{
    int64_t us = ns / 1000;

    if (ns % 1000 < 0)
        us--;
    return (uint64_t)(us - PG_EPOCH_US);
}

static uint64_t
double_bits(double d)
{
    uint64_t u;

    memcpy(&u, &d, sizeof(u));
    return u;
}

int
pg_bin_header(struct pg_buf *b)
{
    static const char sig[11] = "PGCOPY\n\377\r\n";

    if (pg_buf_add(b, sig, sizeof(sig)) < 0 || bin_u32(b, 0) < 0 ||
        bin_u32(b, 0) < 0)
        return -ENOMEM;
    return 0;
}

int
pg_bin_trailer(struct pg_buf *b)
{
    return bin_u16(b, 0xffff);
}

int
pg_bin_sample(struct pg_buf *b, const struct vg_event *ev, int64_t series_id)
{
    if (bin_u16(b, 3) < 0 || bin_field8(b, time_field(ev->time)) < 0 ||
        bin_field8(b, (uint64_t)series_id) < 0 ||
        bin_field8(b, double_bits(ev->value)) < 0)
        return -ENOMEM;
    return 0;
}

/* A variable field: room for its length, the bytes, then the length. */
static size_t
bin_var_begin(struct pg_buf *b)
{
    size_t at = b->len;

    if (bin_u32(b, 0) < 0)
        return (size_t)-1;
    return at;
}

static void
bin_var_end(struct pg_buf *b, size_t at)
{
    put_be(b->data + at, (uint32_t)(b->len - at - 4), 4);
}

static int
bin_text(struct pg_buf *b, const char *s, size_t len)
{
    size_t at = bin_var_begin(b);

    if (at == (size_t)-1 || put_utf8(b, s, len, ESC_NONE) < 0)
        return -ENOMEM;
    bin_var_end(b, at);
    return 0;
}

int
pg_bin_log(struct pg_buf *b, const struct vg_event *ev, const char *source)
{
    const char *sev = pg_severity_text(ev->severity);
    size_t at;

    if (bin_u16(b, 7) < 0 || bin_field8(b, time_field(ev->time)) < 0)
        return -ENOMEM;
    if (!sev) {
        /* two NULL fields, each appended by its own call
         * NOLINTNEXTLINE(misc-redundant-expression) */
        if (bin_u32(b, 0xffffffffu) < 0 || bin_u32(b, 0xffffffffu) < 0)
            return -ENOMEM;
    } else if (bin_u32(b, 4) < 0 || bin_u32(b, ev->severity) < 0 ||
               bin_text(b, sev, strlen(sev)) < 0) {
        return -ENOMEM;
    }
    if (bin_text(b, ev->body ? ev->body : "", ev->body_len) < 0)
        return -ENOMEM;
    if ((at = bin_var_begin(b)) == (size_t)-1 || pg_buf_addc(b, 1) < 0 ||
        pg_json_attrs(b, ev->attrs, ev->nattrs) < 0)
        return -ENOMEM;
    bin_var_end(b, at);
    if ((at = bin_var_begin(b)) == (size_t)-1 || pg_buf_addc(b, 1) < 0 ||
        pg_json_labels(b, ev->labels, ev->nlabels) < 0)
        return -ENOMEM;
    bin_var_end(b, at);
    if (!source)
        return bin_u32(b, 0xffffffffu);
    return bin_text(b, source, strlen(source));
}
