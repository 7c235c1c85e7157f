/*
 * The parse filter's sink, the combined access log reader, time stamps,
 * severity words and type casts.  A hand-written access log reader is
 * several times faster than the equivalent regex and tells missing
 * fields ("-") from present ones.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <strings.h>
#include <time.h>

#include "parse.h"
#include "syslog_msg.h"

#define BLOCK_MIN 65536

struct pa_block {
    struct pa_block *next;
    size_t           used;
    size_t           cap;
    char             data[];
};

void
pa_sink_init(struct pa_sink *s)
{
    memset(s, 0, sizeof(*s));
}

void
pa_sink_reset(struct pa_sink *s)
{
    s->n = 0;
    s->has_time = 0;
    s->cur = s->head;
    if (s->cur)
        s->cur->used = 0;
}

void
pa_sink_release(struct pa_sink *s)
{
    struct pa_block *b = s->head, *next;

    for (; b; b = next) {
        next = b->next;
        free(b);
    }
    free(s->kv);
    memset(s, 0, sizeof(*s));
}

char *
pa_sink_alloc(struct pa_sink *s, size_t n)
{
    struct pa_block *b = s->cur;

    /* move on to the next kept block, or add one, until n fits */
    while (!b || b->cap - b->used < n) {
        if (b && b->next) {
            b = b->next;
            b->used = 0;
            continue;
        }
        {
            size_t cap = n > BLOCK_MIN ? n : BLOCK_MIN;
            struct pa_block *nb = malloc(sizeof(*nb) + cap);

            if (!nb)
                return NULL;
            nb->next = NULL;
            nb->used = 0;
            nb->cap = cap;
            if (b)
                b->next = nb;
            else
                s->head = nb;
            b = nb;
        }
    }
    s->cur = b;
    b->used += n;
    return b->data + b->used - n;
}

static struct vg_kv *
push(struct pa_sink *s, const char *key, size_t klen)
{
    struct vg_kv *kv;

    if (s->n == s->cap) {
        uint32_t cap = s->cap ? s->cap * 2 : 32;
        struct vg_kv *p = realloc(s->kv, cap * sizeof(*p));

        if (!p)
            return NULL;
        s->kv = p;
        s->cap = cap;
    }
    kv = &s->kv[s->n++];
    kv->key = key;
    kv->key_len = (uint32_t)klen;
    kv->len = 0;
    return kv;
}

int
pa_add_str(struct pa_sink *s, const char *key, size_t klen, const char *v,
           size_t vlen)
{
    struct vg_kv *kv = push(s, key, klen);

    if (!kv)
        return -ENOMEM;
    kv->type = VG_VAL_STR;
    kv->len = (uint32_t)vlen;
    kv->v.s = vlen ? v : "";
    return 0;
}

int
pa_add_int(struct pa_sink *s, const char *key, size_t klen, int64_t v)
{
    struct vg_kv *kv = push(s, key, klen);

    if (!kv)
        return -ENOMEM;
    kv->type = VG_VAL_INT;
    kv->v.i = v;
    return 0;
}

int
pa_add_double(struct pa_sink *s, const char *key, size_t klen, double v)
{
    struct vg_kv *kv = push(s, key, klen);

    if (!kv)
        return -ENOMEM;
    kv->type = VG_VAL_DOUBLE;
    kv->v.d = v;
    return 0;
}

int
pa_add_bool(struct pa_sink *s, const char *key, size_t klen, int v)
{
    struct vg_kv *kv = push(s, key, klen);

    if (!kv)
        return -ENOMEM;
    kv->type = VG_VAL_BOOL;
    kv->v.b = v;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Access logs                                                         */
/* ------------------------------------------------------------------ */

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

static int
num(const char *p, int n)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

int
pa_time_clf(const char *p, size_t len, int64_t *ns)
{
    int d, mon = 0, y, h, mi, s, oh, om, k;
    int64_t t;

    /* 10/Oct/2000:13:55:36 -0700 */
    if (len != 26 || p[2] != '/' || p[6] != '/' || p[11] != ':' ||
        p[14] != ':' || p[17] != ':' || p[20] != ' ' ||
        (p[21] != '+' && p[21] != '-'))
        return -EINVAL;
    for (k = 0; k < 12; k++)
        if (memcmp(p + 3, months + 3 * k, 3) == 0)
            mon = k + 1;
    if (!mon || (d = num(p, 2)) < 1 || d > 31 || (y = num(p + 7, 4)) < 0 ||
        (h = num(p + 12, 2)) < 0 || h > 23 ||
        (mi = num(p + 15, 2)) < 0 || mi > 59 ||
        (s = num(p + 18, 2)) < 0 || s > 60 ||
        (oh = num(p + 22, 2)) < 0 || (om = num(p + 24, 2)) < 0)
        return -EINVAL;
    t = sl_days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 +
        h * 3600 + mi * 60 + s -
        (p[21] == '-' ? -1 : 1) * (oh * 3600 + om * 60);
    if (!SL_SECS_OK(t))
        return -EINVAL;
    *ns = t * INT64_C(1000000000);
    return 0;
}

/* The next space-separated field at p[*i]; NULL at the end. */
static const char *
field(const char *p, size_t len, size_t *i, size_t *n)
{
    const char *b;

    if (*i >= len)
        return NULL;
    b = p + *i;
    while (*i < len && p[*i] != ' ')
        (*i)++;
    *n = (size_t)(p + *i - b);
    if (*i < len)
        (*i)++;
    return b;
}

/* A "quoted" field (backslash escapes skipped, kept as written). */
static const char *
qfield(const char *p, size_t len, size_t *i, size_t *n)
{
    const char *b, *q, *end = p + len;

    if (*i >= len || p[*i] != '"')
        return NULL;
    b = q = p + ++(*i);
    for (;;) {
        size_t k = 0;

        if (!(q = memchr(q, '"', (size_t)(end - q))))
            return NULL;
        /* escaped when an odd number of backslashes precede it */
        while (q - k > b && q[-1 - (ptrdiff_t)k] == '\\')
            k++;
        if (k % 2 == 0)
            break;
        q++;
    }
    *n = (size_t)(q - b);
    *i = (size_t)(q - p) + 1;
    if (*i < len && p[*i] == ' ')
        (*i)++;
    return b;
}

static int
dash(const char *v, size_t n)
{
    return n == 1 && v[0] == '-';
}

#define ADD(k, v, n) \
    (dash(v, n) ? 0 : pa_add_str(s, k, sizeof(k) - 1, v, n))

int
pa_access_log(const char *p, size_t len, struct pa_sink *s)
{
    const char *addr, *ident, *user, *tm, *req, *st, *by, *ref, *ua;
    size_t na, ni, nu, nt, nr, ns, nb, nref, nua, i = 0;
    int64_t status = 0, bytes = 0;
    int rc = 0;
    size_t k;

    if (!(addr = field(p, len, &i, &na)) || !na ||
        !(ident = field(p, len, &i, &ni)) ||
        !(user = field(p, len, &i, &nu)) || i >= len || p[i] != '[')
        return -EINVAL;
    tm = p + ++i;
    while (i < len && p[i] != ']')
        i++;
    if (i + 1 >= len || p[i + 1] != ' ')
        return -EINVAL;
    nt = (size_t)(p + i - tm);
    i += 2;
    if (!(req = qfield(p, len, &i, &nr)) ||
        !(st = field(p, len, &i, &ns)) || ns != 3 ||
        (status = num(st, 3)) < 0 ||
        !(by = field(p, len, &i, &nb)) || nb == 0)
        return -EINVAL;
    if (!dash(by, nb)) {
        for (k = 0; k < nb; k++) {
            if (by[k] < '0' || by[k] > '9' || bytes > INT64_MAX / 10)
                return -EINVAL;
            bytes = bytes * 10 + (by[k] - '0');
        }
    }
    /* the combined format adds referer and agent; common stops here */
    ref = qfield(p, len, &i, &nref);
    ua = ref ? qfield(p, len, &i, &nua) : NULL;

    if ((rc = ADD("remote_addr", addr, na)) < 0 ||
        (rc = ADD("ident", ident, ni)) < 0 ||
        (rc = ADD("user", user, nu)) < 0 ||
        (rc = pa_add_str(s, "time", 4, tm, nt)) < 0)
        return rc;
    {
        /* "GET /path HTTP/1.1"; anything else is kept whole */
        const char *sp1 = memchr(req, ' ', nr);
        const char *sp2 = sp1 ? memchr(sp1 + 1, ' ', nr - (size_t)(sp1 + 1 -
                                                                  req))
                              : NULL;

        if (sp1 && sp2 && !memchr(sp2 + 1, ' ', nr - (size_t)(sp2 + 1 -
                                                               req))) {
            rc = pa_add_str(s, "method", 6, req, (size_t)(sp1 - req));
            if (rc == 0)
                rc = pa_add_str(s, "path", 4, sp1 + 1,
                                (size_t)(sp2 - sp1 - 1));
            if (rc == 0)
                rc = pa_add_str(s, "protocol", 8, sp2 + 1,
                                nr - (size_t)(sp2 + 1 - req));
        } else {
            rc = ADD("request", req, nr);
        }
    }
    if (rc == 0)
        rc = pa_add_int(s, "status", 6, status);
    if (rc == 0 && !dash(by, nb))
        rc = pa_add_int(s, "bytes", 5, bytes);
    if (rc == 0 && ref)
        rc = ADD("referer", ref, nref);
    if (rc == 0 && ua)
        rc = ADD("user_agent", ua, nua);
    if (rc == 0 && pa_time_clf(tm, nt, &s->time) == 0)
        s->has_time = 1;
    return rc;
}

/* ------------------------------------------------------------------ */
/* Time                                                                */
/* ------------------------------------------------------------------ */

int
pa_zone_parse(const char *s, struct pa_zone *z)
{
    size_t n = strlen(s);
    int h, m;

    memset(z, 0, sizeof(*z));
    if (strcasecmp(s, "UTC") == 0 || strcmp(s, "Z") == 0)
        return 0;
    if (strcasecmp(s, "local") == 0) {
        z->local = 1;
        return 0;
    }
    if ((s[0] != '+' && s[0] != '-') || (n != 6 && n != 5))
        return -EINVAL;
    if (n == 6 && s[3] != ':')
        return -EINVAL;
    if ((h = num(s + 1, 2)) < 0 || h > 23 ||
        (m = num(s + (n == 6 ? 4 : 3), 2)) < 0 || m > 59)
        return -EINVAL;
    z->offset = (h * 3600L + m * 60L) * (s[0] == '-' ? -1 : 1);
    return 0;
}

/* A broken-down time in zone z (or at gmtoff when known) -> seconds. */
static int
tm_to_secs(struct tm *tm, const struct pa_zone *z, long gmtoff,
           int has_off, int64_t *secs)
{
    int64_t t;

    if (tm->tm_mon < 0 || tm->tm_mon > 11 || tm->tm_mday < 1)
        return -EINVAL;
    if (!has_off && z->local) {
        time_t lt;

        tm->tm_isdst = -1;
        if ((lt = mktime(tm)) == (time_t)-1)
            return -EINVAL;
        *secs = lt;
        return 0;
    }
    t = sl_days_from_civil(tm->tm_year + 1900, (unsigned)tm->tm_mon + 1,
                           (unsigned)tm->tm_mday) * 86400 +
        tm->tm_hour * 3600 + tm->tm_min * 60 + tm->tm_sec;
    *secs = t - (has_off ? gmtoff : z->offset);
    return 0;
}

/* Decimal seconds (scale 1e9) or ms (1e6); integer arithmetic, since a
 * double loses the nanoseconds of a current time stamp. */
static int
epoch(const char *s, size_t n, int64_t scale, int64_t *ns)
{
    int64_t whole = 0, frac = 0, f = scale;
    size_t i = 0;
    int neg = 0;

    if (n && s[0] == '-') {
        neg = 1;
        i++;
    }
    if (i == n || s[i] < '0' || s[i] > '9')
        return -EINVAL;
    for (; i < n && s[i] >= '0' && s[i] <= '9'; i++) {
        if (whole > (INT64_MAX / scale - 10) / 10)
            return -EINVAL;
        whole = whole * 10 + (s[i] - '0');
    }
    if (i < n && s[i] == '.') {
        for (i++; i < n && s[i] >= '0' && s[i] <= '9'; i++)
            if (f > 1) {
                f /= 10;
                frac += (s[i] - '0') * f;
            }
    }
    if (i != n)
        return -EINVAL;
    *ns = (whole * scale + frac) * (neg ? -1 : 1);
    return 0;
}

int
pa_time_parse(int kind, const char *fmt, const struct pa_zone *z,
              const char *s, size_t n, int64_t *ns)
{
    char tmp[128];
    struct tm tm;
    const char *end;
    size_t used;
    int64_t secs;

    switch (kind) {
    case PA_TIME_EPOCH:
        return epoch(s, n, INT64_C(1000000000), ns);
    case PA_TIME_EPOCH_MS:
        return epoch(s, n, INT64_C(1000000), ns);
    case PA_TIME_RFC3339:
        if (sl_time_rfc3339(s, n, 0, ns, &used) == 0 && used == n)
            return 0;
        /* no zone of its own: read it in the configured one */
        if (n + 1 >= sizeof(tmp))
            return -EINVAL;
        memcpy(tmp, s, n);
        tmp[n] = 'Z';
        if (z->local)
            return sl_time_rfc3339(s, n, 1, ns, &used) == 0 && used == n
                   ? 0 : -EINVAL;
        if (sl_time_rfc3339(tmp, n + 1, 0, ns, &used) < 0 || used != n + 1 ||
            *ns < INT64_MIN + INT64_C(86400000000000) ||
            *ns > INT64_MAX - INT64_C(86400000000000))
            return -EINVAL;
        *ns -= (int64_t)z->offset * INT64_C(1000000000);
        return 0;
    default:
        break;
    }
    if (n >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, s, n);
    tmp[n] = '\0';
    memset(&tm, 0, sizeof(tm));
    tm.tm_mday = 1;
    /* strptime sets tm_gmtoff only for %z: a sentinel tells */
    tm.tm_gmtoff = LONG_MIN;
    if (!(end = strptime(tmp, fmt, &tm)) || *end)
        return -EINVAL;
    if (tm_to_secs(&tm, z, tm.tm_gmtoff, tm.tm_gmtoff != LONG_MIN,
                   &secs) < 0 || !SL_SECS_OK(secs))
        return -EINVAL;
    *ns = secs * INT64_C(1000000000);
    return 0;
}

/* ------------------------------------------------------------------ */
/* Severity words and casts                                            */
/* ------------------------------------------------------------------ */

uint32_t
pa_severity_word(const char *s, size_t n)
{
    static const struct { const char *w; uint32_t sev; } words[] = {
        { "trace", VG_SEV_TRACE }, { "debug", VG_SEV_DEBUG },
        { "dbug", VG_SEV_DEBUG }, { "info", VG_SEV_INFO },
        { "information", VG_SEV_INFO }, { "informational", VG_SEV_INFO },
        { "notice", 10 }, { "warn", VG_SEV_WARN }, { "warning", VG_SEV_WARN },
        { "error", VG_SEV_ERROR }, { "err", VG_SEV_ERROR },
        { "eror", VG_SEV_ERROR }, { "crit", 18 }, { "critical", 18 },
        { "alert", 19 }, { "fatal", VG_SEV_FATAL },
        { "emerg", VG_SEV_FATAL }, { "emergency", VG_SEV_FATAL },
        { "panic", VG_SEV_FATAL },
    };
    size_t i;

    for (i = 0; i < sizeof(words) / sizeof(words[0]); i++)
        if (strlen(words[i].w) == n && strncasecmp(words[i].w, s, n) == 0)
            return words[i].sev;
    return VG_SEV_UNSET;
}

int
pa_cast(struct vg_kv *kv, int type)
{
    char tmp[64], *end;

    if (kv->type != VG_VAL_STR || type == PA_CAST_STR)
        return 0;
    if (kv->len == 0 || kv->len >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, kv->v.s, kv->len);
    tmp[kv->len] = '\0';
    errno = 0;
    if (type == PA_CAST_INT) {
        long long v = strtoll(tmp, &end, 10);

        if (*end || errno)
            return -EINVAL;
        kv->type = VG_VAL_INT;
        kv->v.i = v;
    } else if (type == PA_CAST_DOUBLE) {
        double v = strtod(tmp, &end);

        if (*end || errno)
            return -EINVAL;
        kv->type = VG_VAL_DOUBLE;
        kv->v.d = v;
    } else {
        int v;

        if (!strcasecmp(tmp, "true") || !strcmp(tmp, "1") ||
            !strcasecmp(tmp, "yes") || !strcasecmp(tmp, "on"))
            v = 1;
        else if (!strcasecmp(tmp, "false") || !strcmp(tmp, "0") ||
                 !strcasecmp(tmp, "no") || !strcasecmp(tmp, "off"))
            v = 0;
        else
            return -EINVAL;
        kv->type = VG_VAL_BOOL;
        kv->v.b = v;
    }
    kv->len = 0;
    return 0;
}
