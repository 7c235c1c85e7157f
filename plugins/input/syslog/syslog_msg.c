/*
 * Syslog message parsers: RFC 5424 strictly (a broken header is an error,
 * the raw line is kept), RFC 3164 leniently, as real senders deviate from
 * it (no host, ISO stamps, no PRI).  After `<PRI>`, a version number and a
 * space mean RFC 5424, anything else RFC 3164.
 */
#include <errno.h>
#include <stdio.h>
#include <time.h>

#include "syslog_msg.h"

#define NS INT64_C(1000000000)

static const char *const facility_names[24] = {
    "kern", "user", "mail", "daemon", "auth", "syslog", "lpr", "news",
    "uucp", "cron", "authpriv", "ftp", "ntp", "security", "console",
    "solaris-cron", "local0", "local1", "local2", "local3", "local4",
    "local5", "local6", "local7",
};

const char *
sl_facility_name(int facility)
{
    if (facility < 0 || facility > 23)
        return NULL;
    return facility_names[facility];
}

uint32_t
sl_severity_otel(int severity)
{
    static const uint32_t map[8] = { 21, 19, 18, 17, 13, 10, 9, 5 };

    if (severity < 0 || severity > 7)
        return VG_SEV_UNSET;
    return map[severity];
}

/* Howard Hinnant's days_from_civil: exact for any Gregorian date. */
int64_t
sl_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    int64_t era;
    unsigned yoe, doy, doe;

    y -= m <= 2;
    era = (y >= 0 ? y : y - 399) / 400;
    yoe = (unsigned)(y - era * 400);
    doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static int
is_digit(char c)
{
    return c >= '0' && c <= '9';
}

/* Reads n digits at p; -1 when one is not a digit. */
static int
digits(const char *p, int n)
{
    int v = 0;
    int i;

    for (i = 0; i < n; i++) {
        if (!is_digit(p[i]))
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    return v;
}

/* ns of a broken-down local time; mktime decides the zone and DST. */
static int
local_to_ns(int y, int mon, int d, int h, int mi, int s, int64_t *ns)
{
    struct tm tm = { 0 };
    time_t t;

    tm.tm_year = y - 1900;
    tm.tm_mon = mon - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = s;
    tm.tm_isdst = -1;
    if (((t = mktime(&tm)) == (time_t)-1 && !(y == 1969 && mon == 12)) ||
        !SL_SECS_OK((int64_t)t))
        return -EINVAL;
    *ns = (int64_t)t * NS;
    return 0;
}

int
sl_time_rfc3339(const char *p, size_t len, int local_ok, int64_t *ns,
                size_t *used)
{
    int y, mon, d, h, mi, s, off = 0;
    int64_t frac = 0, t;
    size_t i = 19;
    int have_zone = 0;

    if (len < 19 || p[4] != '-' || p[7] != '-' || p[13] != ':' ||
        p[16] != ':' || (p[10] != 'T' && p[10] != 't' && p[10] != ' '))
        return -EINVAL;
    if ((y = digits(p, 4)) < 0 || (mon = digits(p + 5, 2)) < 1 ||
        mon > 12 || (d = digits(p + 8, 2)) < 1 || d > 31 ||
        (h = digits(p + 11, 2)) < 0 || h > 23 ||
        (mi = digits(p + 14, 2)) < 0 || mi > 59 ||
        (s = digits(p + 17, 2)) < 0 || s > 60)
        return -EINVAL;
    if (i < len && p[i] == '.') {
        int64_t scale = NS;

        if (++i >= len || !is_digit(p[i]))
            return -EINVAL;
        for (; i < len && is_digit(p[i]); i++) {
            /* digits past nanoseconds are read and dropped */
            if (scale > 1) {
                scale /= 10;
                frac += (p[i] - '0') * scale;
            }
        }
    }
    if (i < len && (p[i] == 'Z' || p[i] == 'z')) {
        have_zone = 1;
        i++;
    } else if (i < len && (p[i] == '+' || p[i] == '-')) {
        int oh, om;

        if (i + 6 > len || p[i + 3] != ':' ||
            (oh = digits(p + i + 1, 2)) < 0 || oh > 23 ||
            (om = digits(p + i + 4, 2)) < 0 || om > 59)
            return -EINVAL;
        off = (oh * 60 + om) * 60 * (p[i] == '-' ? -1 : 1);
        have_zone = 1;
        i += 6;
    }
    if (s == 60)                        /* a leap second: hold at :59 */
        s = 59;
    if (have_zone) {
        t = sl_days_from_civil(y, (unsigned)mon, (unsigned)d) * 86400 +
            h * 3600 + mi * 60 + s - off;
        if (!SL_SECS_OK(t))
            return -EINVAL;
        t *= NS;
    } else if (!local_ok || local_to_ns(y, mon, d, h, mi, s, &t) < 0) {
        return -EINVAL;
    }
    *ns = t + frac;
    *used = i;
    return 0;
}

/* Reads `<PRI>`; returns bytes used, 0 when absent, -EINVAL if broken. */
static int
parse_pri(const char *p, size_t len, int *pri)
{
    size_t i;
    int v = 0;

    if (len == 0 || p[0] != '<')
        return 0;
    for (i = 1; i < len && i <= 4 && is_digit(p[i]); i++)
        v = v * 10 + (p[i] - '0');
    if (i == 1 || i > 4 || i >= len || p[i] != '>' || v > 191 ||
        (i > 2 && p[1] == '0'))
        return -EINVAL;
    *pri = v;
    return (int)i + 1;
}

/* The token at p[*i..len) up to a space; advances *i past it. */
static struct sl_str
token(const char *p, size_t len, size_t *i)
{
    struct sl_str t = { p + *i, 0 };

    while (*i < len && p[*i] != ' ') {
        (*i)++;
        t.len++;
    }
    return t;
}

/* A 5424 header field: "-" is absent; printable ASCII, at most max. */
static int
header_field(const char *p, size_t len, size_t *i, uint32_t max,
             struct sl_str *out)
{
    struct sl_str t = token(p, len, i);
    uint32_t k;

    if (t.len == 0 || t.len > max || *i >= len)
        return -EINVAL;
    for (k = 0; k < t.len; k++)
        if (t.p[k] < 33 || t.p[k] > 126)
            return -EINVAL;
    (*i)++;                             /* the space */
    if (t.len == 1 && t.p[0] == '-')
        t.p = NULL, t.len = 0;
    *out = t;
    return 0;
}

static int
sd_name_char(char c)
{
    return c > 32 && c < 127 && c != '=' && c != ']' && c != '"';
}

/* Structured data at p[*i]: "-" or one or more [id k="v" ...]. */
static int
parse_sd(const char *p, size_t len, size_t *i, char *scratch,
         struct sl_msg *m)
{
    char *out = scratch;

    if (*i < len && p[*i] == '-') {
        (*i)++;
        return 0;
    }
    if (*i >= len || p[*i] != '[')
        return -EINVAL;
    while (*i < len && p[*i] == '[') {
        struct sl_str id = { p + ++(*i), 0 };
        int params = 0;

        while (*i < len && sd_name_char(p[*i]) && id.len < 32) {
            (*i)++;
            id.len++;
        }
        if (id.len == 0)
            return -EINVAL;
        while (*i < len && p[*i] == ' ') {
            struct sl_str name = { p + ++(*i), 0 };
            struct sl_str val = { out, 0 };

            while (*i < len && sd_name_char(p[*i]) && name.len < 32) {
                (*i)++;
                name.len++;
            }
            if (name.len == 0 || *i + 1 >= len || p[*i] != '=' ||
                p[*i + 1] != '"')
                return -EINVAL;
            for (*i += 2; *i < len && p[*i] != '"'; (*i)++) {
                /* only \" \\ \] are escapes; other backslashes stay */
                if (p[*i] == '\\' && *i + 1 < len &&
                    (p[*i + 1] == '"' || p[*i + 1] == '\\' ||
                     p[*i + 1] == ']'))
                    (*i)++;
                *out++ = p[*i];
                val.len++;
            }
            if (*i >= len)
                return -EINVAL;
            (*i)++;                     /* the closing quote */
            if (m->nsd < SL_MAX_SD) {
                m->sd[m->nsd].id = id;
                m->sd[m->nsd].name = name;
                m->sd[m->nsd++].value = val;
            }
            params++;
        }
        if (*i >= len || p[*i] != ']')
            return -EINVAL;
        (*i)++;
        if (params == 0 && m->nsd < SL_MAX_SD) {
            /* an element without params still says something */
            m->sd[m->nsd].id = id;
            m->sd[m->nsd].name.p = NULL;
            m->sd[m->nsd].name.len = 0;
            m->sd[m->nsd++].value.p = NULL;
        }
    }
    return 0;
}

static int
parse_5424(const char *p, size_t len, size_t i, char *scratch,
           struct sl_msg *m)
{
    struct sl_str ts;
    size_t used;

    m->format = SL_RFC5424;
    while (i < len && is_digit(p[i]))   /* VERSION */
        i++;
    i++;                                /* its space, checked by caller */
    ts = token(p, len, &i);
    if (i >= len)
        return -EINVAL;
    i++;
    if (!(ts.len == 1 && ts.p[0] == '-') &&
        (sl_time_rfc3339(ts.p, ts.len, 0, &m->time, &used) < 0 ||
         used != ts.len))
        return -EINVAL;
    if (header_field(p, len, &i, 255, &m->host) < 0 ||
        header_field(p, len, &i, 48, &m->app) < 0 ||
        header_field(p, len, &i, 128, &m->procid) < 0 ||
        header_field(p, len, &i, 32, &m->msgid) < 0 ||
        parse_sd(p, len, &i, scratch, m) < 0)
        return -EINVAL;
    if (i < len && p[i] != ' ')
        return -EINVAL;
    if (i < len)
        i++;
    if (len - i >= 3 && (unsigned char)p[i] == 0xef &&
        (unsigned char)p[i + 1] == 0xbb && (unsigned char)p[i + 2] == 0xbf)
        i += 3;
    m->msg.p = p + i;
    m->msg.len = (uint32_t)(len - i);
    return 0;
}

static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";

/* "Mmm dd hh:mm:ss" (day space-padded or one digit); bytes used or 0. */
static size_t
bsd_stamp(const char *p, size_t len, int64_t now, int64_t *ns)
{
    int mon = 0, d, h, mi, s, k;
    size_t i = 4;
    struct tm tm;
    time_t tnow = (time_t)(now / NS);
    int64_t best = 0, diff = INT64_MAX;
    int y;

    if (len < 14 || p[3] != ' ')
        return 0;
    for (k = 0; k < 12; k++)
        if (memcmp(p, months + 3 * k, 3) == 0)
            mon = k + 1;
    if (!mon)
        return 0;
    if (p[i] == ' ')
        i++;
    if (i + 10 > len)
        return 0;
    if (is_digit(p[i]) && is_digit(p[i + 1])) {
        d = digits(p + i, 2);
        i += 2;
    } else if (is_digit(p[i])) {
        d = p[i++] - '0';
    } else {
        return 0;
    }
    if (i + 9 > len || p[i] != ' ' || p[i + 3] != ':' || p[i + 6] != ':' ||
        (h = digits(p + i + 1, 2)) < 0 || h > 23 ||
        (mi = digits(p + i + 4, 2)) < 0 || mi > 59 ||
        (s = digits(p + i + 7, 2)) < 0 || s > 60 || d < 1 || d > 31)
        return 0;
    i += 9;
    if (s == 60)
        s = 59;
    /* no year: take the one that puts the stamp nearest to now, so a
     * December line read in January lands in the year before */
    localtime_r(&tnow, &tm);
    for (y = tm.tm_year + 1900 - 1; y <= tm.tm_year + 1900 + 1; y++) {
        int64_t t, dt;

        if (local_to_ns(y, mon, d, h, mi, s, &t) < 0)
            continue;
        dt = t > now ? t - now : now - t;
        if (dt < diff) {
            diff = dt;
            best = t;
        }
    }
    if (diff == INT64_MAX)
        return 0;
    *ns = best;
    return i;
}

/* TAG[pid]: at p[*i]; 1 and advances past it (and one space) when found. */
static int
bsd_tag(const char *p, size_t len, size_t *i, struct sl_msg *m)
{
    size_t j = *i;
    struct sl_str tag = { p + j, 0 }, pid = { NULL, 0 };

    while (j < len && p[j] != ' ' && p[j] != '[' && p[j] != ':' &&
           (unsigned char)p[j] > 32 && (unsigned char)p[j] < 127)
        j++;
    tag.len = (uint32_t)(j - *i);
    if (tag.len == 0 || tag.len > 48 || j >= len)
        return 0;
    if (p[j] == '[') {
        pid.p = p + ++j;
        while (j < len && p[j] != ']' && p[j] != ' ')
            j++;
        if (j >= len || p[j] != ']')
            return 0;
        pid.len = (uint32_t)(p + j - pid.p);
        j++;
        if (j < len && p[j] == ':')
            j++;
        else if (j < len && p[j] != ' ')
            return 0;
    } else if (p[j] == ':') {
        j++;
    } else {
        return 0;
    }
    if (j < len && p[j] == ' ')
        j++;
    m->app = tag;
    m->procid = pid;
    *i = j;
    return 1;
}

static int
tag_like(struct sl_str t)
{
    return t.len > 0 && (t.p[t.len - 1] == ':' ||
                         memchr(t.p, '[', t.len) != NULL);
}

static void
parse_3164(const char *p, size_t len, size_t i, int64_t now,
           struct sl_msg *m)
{
    size_t used = 0;

    m->format = SL_RFC3164;
    if ((used = bsd_stamp(p + i, len - i, now, &m->time)) == 0 &&
        sl_time_rfc3339(p + i, len - i, 1, &m->time, &used) < 0)
        used = 0;
    if (used && i + used < len && p[i + used] == ' ') {
        size_t j;
        struct sl_str t;

        i += used + 1;
        j = i;
        t = token(p, len, &j);
        if (!tag_like(t) && j < len) {
            m->host = t;
            i = j + 1;
        }
    } else if (used && i + used == len) {
        i = len;
    } else {
        m->time = 0;
    }
    bsd_tag(p, len, &i, m);
    m->msg.p = p + i;
    m->msg.len = (uint32_t)(len - i);
}

int
sl_parse(const char *p, size_t len, int64_t now, char *scratch,
         struct sl_msg *m)
{
    int pri = SL_DEFAULT_PRI;
    int n, rc = 0;
    size_t i;

    memset(m, 0, sizeof(*m));
    if ((n = parse_pri(p, len, &pri)) < 0) {
        rc = -EINVAL;
        pri = SL_DEFAULT_PRI;
    }
    m->facility = pri / 8;
    m->severity = pri % 8;
    if (rc == 0) {
        i = (size_t)n;
        if (n > 0 && i + 1 < len && p[i] >= '1' && p[i] <= '9' &&
            (p[i + 1] == ' ' ||
             (i + 2 < len && is_digit(p[i + 1]) && p[i + 2] == ' ')))
            rc = parse_5424(p, len, i, scratch, m);
        else
            parse_3164(p, len, i, now, m);
    }
    if (rc < 0) {
        int fac = m->facility, sev = m->severity, fmt = m->format;

        memset(m, 0, sizeof(*m));
        m->format = fmt ? fmt : SL_RFC3164;
        m->facility = fac;
        m->severity = sev;
        m->msg.p = p;
        m->msg.len = (uint32_t)len;
        m->error = 1;
    }
    return rc;
}

static void
add_str(struct vg_kv *kv, uint32_t *n, uint32_t cap, const char *key,
        struct sl_str v)
{
    if (!v.p || *n >= cap)
        return;
    kv[*n].key = key;
    kv[*n].key_len = (uint32_t)strlen(key);
    kv[*n].type = VG_VAL_STR;
    kv[*n].len = v.len;
    kv[*n].v.s = v.p;
    (*n)++;
}

void
sl_msg_attrs(const struct sl_msg *m, unsigned flags, struct vg_kv *kv,
             uint32_t *n, uint32_t cap, char *keybuf, size_t keycap)
{
    const char *fac = sl_facility_name(m->facility);
    size_t used = 0;
    uint32_t k;

    if (fac) {
        struct sl_str f = { fac, (uint32_t)strlen(fac) };

        add_str(kv, n, cap, "syslog.facility", f);
    }
    if (flags & SL_HOST_ATTR)
        add_str(kv, n, cap, "syslog.hostname", m->host);
    add_str(kv, n, cap, "syslog.appname", m->app);
    add_str(kv, n, cap, "syslog.procid", m->procid);
    add_str(kv, n, cap, "syslog.msgid", m->msgid);
    for (k = 0; k < m->nsd && *n < cap; k++) {
        const struct sl_param *sp = &m->sd[k];
        size_t need = 3 + sp->id.len + 1 + sp->name.len + 1;
        int w;

        if (used + need > keycap)
            break;
        if (sp->name.p)
            w = snprintf(keybuf + used, need, "sd.%.*s.%.*s",
                         (int)sp->id.len, sp->id.p, (int)sp->name.len,
                         sp->name.p);
        else
            w = snprintf(keybuf + used, need, "sd.%.*s", (int)sp->id.len,
                         sp->id.p);
        kv[*n].key = keybuf + used;
        kv[*n].key_len = (uint32_t)w;
        if (sp->name.p) {
            kv[*n].type = VG_VAL_STR;
            kv[*n].len = sp->value.len;
            kv[*n].v.s = sp->value.len ? sp->value.p : "";
        } else {
            kv[*n].type = VG_VAL_BOOL;
            kv[*n].len = 0;
            kv[*n].v.b = 1;
        }
        (*n)++;
        used += (size_t)w + 1;
    }
    if (m->error && *n < cap) {
        kv[*n].key = "parse_error";
        kv[*n].key_len = 11;
        kv[*n].type = VG_VAL_BOOL;
        kv[*n].len = 0;
        kv[*n].v.b = 1;
        (*n)++;
    }
}
