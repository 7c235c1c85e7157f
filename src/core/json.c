/*
 * vigil's JSON lines encoding of events.  Whatever the bytes of an event,
 * the output is valid JSON in valid UTF-8: invalid UTF-8 becomes \u00XX
 * escapes of its bytes, NaN and infinities become strings.  Keys come in a
 * fixed order (README.md documents it) so lines diff and grep well.
 */
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "json.h"

/*
 * Per byte: 0 = copy as it is, 1 = needs an escape (", \, controls),
 * 2..4 = lead byte of a 2..4-byte UTF-8 sequence, 5 = never valid in UTF-8
 * (continuation bytes on their own, C0, C1, F5..FF).
 */
static const unsigned char byte_class[256] = {
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x00 */
    1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1,     /* 0x10 */
    0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x20 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x30 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x40 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0, 0,     /* 0x50 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x60 */
    0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,     /* 0x70 */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* 0x80 */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* 0x90 */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* 0xa0 */
    5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* 0xb0 */
    5, 5, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,     /* 0xc0 */
    2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2,     /* 0xd0 */
    3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3, 3,     /* 0xe0 */
    4, 4, 4, 4, 4, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5,     /* 0xf0 */
};

static const char hex_digits[] = "0123456789abcdef";

/*
 * Length of the valid UTF-8 sequence of class cls at p (n bytes left), or
 * 0.  Refuses overlong forms, surrogates and code points past U+10FFFF, so
 * what passes is UTF-8 every strict parser accepts.
 */
static inline size_t
utf8_len(const unsigned char *p, size_t n, unsigned cls)
{
    unsigned lo = 0x80, hi = 0xbf;
    size_t i;

    if (cls > 4 || n < cls)
        return 0;
    if (p[0] == 0xe0)
        lo = 0xa0;              /* overlong 3-byte */
    else if (p[0] == 0xed)
        hi = 0x9f;              /* UTF-16 surrogates */
    else if (p[0] == 0xf0)
        lo = 0x90;              /* overlong 4-byte */
    else if (p[0] == 0xf4)
        hi = 0x8f;              /* past U+10FFFF */
    if (p[1] < lo || p[1] > hi)
        return 0;
    for (i = 2; i < cls; i++)
        if ((p[i] & 0xc0) != 0x80)
            return 0;
    return cls;
}

/* JSON's two-character escapes, by byte; 0 where \u00XX is needed. */
static char
short_escape(unsigned char c)
{
    switch (c) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\n':
        return 'n';
    case '\t':
        return 't';
    case '\r':
        return 'r';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    default:
        return 0;
    }
}

static void
add_escape(struct vg_buf *out, unsigned char c)
{
    char e[6] = { '\\', 'u', '0', '0', hex_digits[c >> 4],
                  hex_digits[c & 0xf] };
    char sh = short_escape(c);

    if (sh) {
        e[1] = sh;
        vg_buf_add(out, e, 2);
    } else {
        vg_buf_add(out, e, 6);
    }
}

/* Copies runs of bytes that need nothing at once; most strings are one. */
void
vg_json_string(struct vg_buf *out, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)(s ? s : "");
    const unsigned char *end = p + (s ? len : 0), *run = p;

    vg_buf_reserve(out, len + 2);
    out->data[out->len++] = '"';
    while (p < end) {
        unsigned cls;
        size_t n;

#if defined(__SSE2__)
        /* Skip 16 plain ASCII bytes at a time: a signed compare below
         * 0x20 catches both control bytes and bytes >= 0x80. */
        while (end - p >= 16) {
            __m128i v = _mm_loadu_si128((const __m128i *)(const void *)p);
            __m128i bad = _mm_or_si128(
                _mm_cmplt_epi8(v, _mm_set1_epi8(0x20)),
                _mm_or_si128(_mm_cmpeq_epi8(v, _mm_set1_epi8('"')),
                             _mm_cmpeq_epi8(v, _mm_set1_epi8('\\'))));

            if (_mm_movemask_epi8(bad))
                break;
            p += 16;
        }
        if (p >= end)
            break;
#endif
        cls = byte_class[*p];

        if (cls == 0) {
            p++;
            continue;
        }
        if (cls >= 2 && (n = utf8_len(p, (size_t)(end - p), cls)) > 0) {
            p += n;
            continue;
        }
        if (p > run)
            vg_buf_add(out, run, (size_t)(p - run));
        add_escape(out, *p);
        run = ++p;
    }
    if (p > run)
        vg_buf_add(out, run, (size_t)(p - run));
    vg_buf_addch(out, '"');
}

static inline void
add_lit(struct vg_buf *out, const char *lit)
{
    vg_buf_add(out, lit, strlen(lit));
}

static void
add_int(struct vg_buf *out, int64_t v)
{
    char tmp[24], *p = tmp + sizeof(tmp);
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        *--p = '-';
    vg_buf_add(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

static void
add_uint(struct vg_buf *out, uint64_t u)
{
    char tmp[24], *p = tmp + sizeof(tmp);

    do {
        *--p = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    vg_buf_add(out, p, (size_t)(tmp + sizeof(tmp) - p));
}

/*
 * Values with at most 6 decimals and |d| < 1e9 (0.25, 12.5, 99.125),
 * without printf.  v / 1e6 is the correctly rounded double of the decimal
 * we print, exactly what strtod would return, so the test is the round
 * trip itself; and since doubles below 1e9 lie closer than 1e-6, no other
 * 6-decimal number reads back as d, so trimming zeros gives the shortest.
 */
static int
add_fixed6(struct vg_buf *out, double d)
{
    double scaled = d * 1e6;
    /* d * 1e6 itself is rounded (19.884 * 1e6 is 19884000.000000004):
     * round to the nearest integer, the round trip below decides */
    int64_t v = (int64_t)(scaled < 0 ? scaled - 0.5 : scaled + 0.5);
    uint64_t u, ip, fp;
    char tmp[24];
    int n = 6;

    if ((double)v / 1e6 != d)
        return 0;
    u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;
    ip = u / 1000000;
    fp = u % 1000000;
    if (v < 0)
        vg_buf_addch(out, '-');
    add_uint(out, ip);
    while (fp % 10 == 0) {      /* fp != 0: integral d never gets here */
        fp /= 10;
        n--;
    }
    tmp[0] = '.';
    tmp[n + 1] = '\0';
    for (; n > 0; n--) {
        tmp[n] = (char)('0' + fp % 10);
        fp /= 10;
    }
    vg_buf_addstr(out, tmp);
    return 1;
}

/*
 * Integral values below 1e15 take the integer path (counters, most gauges:
 * no printf, no exponent).  Others get the fewest of 15, 16, 17 significant
 * digits that read back as the same double.
 */
void
vg_json_double(struct vg_buf *out, double d)
{
    char tmp[32];
    int prec, n = 0;

    if (isnan(d)) {
        add_lit(out, "\"NaN\"");
        return;
    }
    if (isinf(d)) {
        add_lit(out, d > 0 ? "\"+Inf\"" : "\"-Inf\"");
        return;
    }
    if (fabs(d) < 1e15 && d == (double)(int64_t)d) {
        add_int(out, (int64_t)d);
        return;
    }
    if (fabs(d) < 1e9 && add_fixed6(out, d))
        return;
    for (prec = 15; prec <= 17; prec++) {
        n = snprintf(tmp, sizeof(tmp), "%.*g", prec, d);
        if (strtod(tmp, NULL) == d)
            break;
    }
    vg_buf_add(out, tmp, (size_t)n);
}

/*
 * Events of one batch mostly share their second: the calendar part comes
 * from vg_format_time() once per second and thread (outputs may run on
 * worker threads), the nanoseconds are appended here.
 */
static _Thread_local struct {
    int64_t sec;
    int     valid;
    char    prefix[20];         /* "YYYY-MM-DDTHH:MM:SS." */
} time_cache;

static void
add_time(struct vg_buf *out, int64_t ns)
{
    int64_t sec = ns / 1000000000, frac = ns % 1000000000;
    char tmp[64];
    size_t n;
    int i;

    if (frac < 0) {
        frac += 1000000000;
        sec--;
    }
    if (!time_cache.valid || time_cache.sec != sec) {
        /* Years outside 1000..9999 or sec * 1e9 past int64: slow path. */
        n = sec > -9000000000 && sec < 9000000000
                ? vg_format_time(sec * 1000000000, tmp, sizeof(tmp))
                : 0;
        if (n != 30 || tmp[19] != '.') {
            n = vg_format_time(ns, tmp, sizeof(tmp));
            vg_buf_addch(out, '"');
            vg_buf_add(out, tmp, n < sizeof(tmp) ? n : sizeof(tmp) - 1);
            vg_buf_addch(out, '"');
            return;
        }
        memcpy(time_cache.prefix, tmp, 20);
        time_cache.sec = sec;
        time_cache.valid = 1;
    }
    tmp[0] = '"';
    memcpy(tmp + 1, time_cache.prefix, 20);
    for (i = 29; i >= 21; i--) {
        tmp[i] = (char)('0' + frac % 10);
        frac /= 10;
    }
    tmp[30] = 'Z';
    tmp[31] = '"';
    vg_buf_add(out, tmp, 32);
}

static void
add_cstr(struct vg_buf *out, const char *s)
{
    vg_json_string(out, s ? s : "", s ? strlen(s) : 0);
}

static void
add_kvs(struct vg_buf *out, const struct vg_kv *kv, uint32_t n)
{
    uint32_t i;

    vg_buf_addch(out, '{');
    for (i = 0; i < n; i++, kv++) {
        if (i)
            vg_buf_addch(out, ',');
        vg_json_string(out, kv->key, kv->key ? kv->key_len : 0);
        vg_buf_addch(out, ':');
        switch (kv->type) {
        case VG_VAL_STR:
            vg_json_string(out, kv->v.s, kv->v.s ? kv->len : 0);
            break;
        case VG_VAL_INT:
            add_int(out, kv->v.i);
            break;
        case VG_VAL_DOUBLE:
            vg_json_double(out, kv->v.d);
            break;
        case VG_VAL_BOOL:
            add_lit(out, kv->v.b ? "true" : "false");
            break;
        default:
            add_lit(out, "null");
            break;
        }
    }
    vg_buf_addch(out, '}');
}

const char *
vg_severity_name(unsigned severity)
{
    static const char *const names[] = {
        "trace", "debug", "info", "warn", "error", "fatal",
    };

    if (severity == 0)
        return "unset";
    if (severity > 24)
        return "unknown";
    return names[(severity - 1) / 4];
}

const char *
vg_alert_severity_name(unsigned sev)
{
    switch (sev) {
    case VG_ALERT_CRITICAL:
        return "critical";
    case VG_ALERT_ERROR:
        return "error";
    case VG_ALERT_WARNING:
        return "warning";
    case VG_ALERT_INFO:
        return "info";
    default:
        return "unknown";
    }
}

static const char *
metric_type_name(unsigned type)
{
    switch (type) {
    case VG_METRIC_GAUGE:
        return "gauge";
    case VG_METRIC_COUNTER:
        return "counter";
    case VG_METRIC_HISTOGRAM:
        return "histogram";
    default:
        return "unknown";
    }
}

static void
add_histogram(struct vg_buf *out, const struct vg_histogram *h)
{
    uint32_t i;

    add_lit(out, ",\"buckets\":[");
    for (i = 0; i < h->nbuckets; i++) {
        add_lit(out, i ? ",{\"le\":" : "{\"le\":");
        if (i + 1 == h->nbuckets)
            add_lit(out, "\"+Inf\"");
        else
            vg_json_double(out, h->bounds[i]);
        add_lit(out, ",\"count\":");
        add_uint(out, h->counts[i]);
        vg_buf_addch(out, '}');
    }
    add_lit(out, "],\"sum\":");
    vg_json_double(out, h->sum);
    add_lit(out, ",\"count\":");
    add_uint(out, h->count);
}

static void
add_metric(struct vg_buf *out, const struct vg_event *ev)
{
    add_lit(out, ",\"name\":");
    add_cstr(out, ev->name);
    add_lit(out, ",\"type\":\"");
    add_lit(out, metric_type_name(ev->metric_type));
    vg_buf_addch(out, '"');
    if (ev->metric_type == VG_METRIC_HISTOGRAM) {
        add_histogram(out, &ev->hist);
    } else {
        add_lit(out, ",\"value\":");
        vg_json_double(out, ev->value);
    }
}

static void
add_log(struct vg_buf *out, const struct vg_event *ev)
{
    add_lit(out, ",\"severity\":\"");
    add_lit(out, vg_severity_name(ev->severity));
    add_lit(out, "\",\"body\":");
    vg_json_string(out, ev->body, ev->body ? ev->body_len : 0);
    add_lit(out, ",\"attributes\":");
    add_kvs(out, ev->attrs, ev->attrs ? ev->nattrs : 0);
}

/* starts_at 0 means unknown, ends_at 0 still firing: both become null. */
static void
add_alert(struct vg_buf *out, const struct vg_event *ev)
{
    char fp[16];
    int i;

    add_lit(out, ",\"rule\":");
    add_cstr(out, ev->rule);
    add_lit(out, ev->alert_state == VG_ALERT_RESOLVED
                     ? ",\"state\":\"resolved\",\"severity\":\""
                     : ",\"state\":\"firing\",\"severity\":\"");
    add_lit(out, vg_alert_severity_name(ev->alert_severity));
    add_lit(out, "\",\"summary\":");
    add_cstr(out, ev->summary);
    if (ev->description) {
        add_lit(out, ",\"description\":");
        add_cstr(out, ev->description);
    }
    for (i = 0; i < 16; i++)
        fp[i] = hex_digits[(ev->hash >> (60 - 4 * i)) & 0xf];
    add_lit(out, ",\"fingerprint\":\"");
    vg_buf_add(out, fp, sizeof(fp));
    add_lit(out, "\",\"value\":");
    vg_json_double(out, ev->value);
    add_lit(out, ",\"starts_at\":");
    if (ev->starts_at)
        add_time(out, ev->starts_at);
    else
        add_lit(out, "null");
    add_lit(out, ",\"ends_at\":");
    if (ev->ends_at)
        add_time(out, ev->ends_at);
    else
        add_lit(out, "null");
}

void
vg_json_event(struct vg_buf *out, const struct vg_event *ev)
{
    add_lit(out, "{\"time\":");
    add_time(out, ev->time);
    switch (ev->kind) {
    case VG_EV_METRIC:
        add_lit(out, ",\"kind\":\"metric\"");
        add_metric(out, ev);
        break;
    case VG_EV_LOG:
        add_lit(out, ",\"kind\":\"log\"");
        add_log(out, ev);
        break;
    case VG_EV_ALERT:
        add_lit(out, ",\"kind\":\"alert\"");
        add_alert(out, ev);
        break;
    default:
        add_lit(out, ",\"kind\":\"unknown\"");
        break;
    }
    add_lit(out, ",\"labels\":");
    add_kvs(out, ev->labels, ev->labels ? ev->nlabels : 0);
    vg_buf_addch(out, '}');
}
