/*
 * input replay: metrics with their own timestamps from CSV files or vigil
 * JSON lines (as the file output writes them), as fast as the pipeline
 * takes them or at a multiple of real time.  Files are read in 1 MiB
 * chunks and parsed in place; one batch is emitted per loop iteration from
 * a 0-delay timer, so signals and outputs keep running.  When every file
 * is read the input reports itself done.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <vigil/plugin.h>

#define CHUNK       (1024 * 1024)
#define LINE_MAX_B  (4 * 1024 * 1024)
#define MAX_FIELDS  64
#define WARN_LINES  10                  /* bad lines logged per file */

enum replay_format {
    FMT_AUTO = 0,
    FMT_CSV,
    FMT_JSONL,
};

struct replay_conf {                    /* the core fills this in */
    char           *path;
    struct vg_strv  paths;
    int             format;             /* enum replay_format */
    char           *metric;
    struct vg_map   labels;
    int             type;               /* 0 gauge, 1 counter */
    int64_t         batch_size;
    double          speed;              /* 0 = as fast as possible */
};

/* One parsed metric; strings point into the read buffer or the conf. */
struct rec {
    int64_t       time;                 /* ns */
    const char   *name;
    uint32_t      type;
    double        value;
    struct vg_kv  labels[MAX_FIELDS + 1];
    uint32_t      nlabels;
};

struct replay_state {
    const struct replay_conf *conf;
    const char  **files;
    size_t        nfiles, cur;          /* file being read */
    int           fd;
    int           fmt;                  /* of the current file */
    int           eof;
    char         *buf;                  /* [start, len) unparsed bytes */
    size_t        start, len, cap;
    uint64_t      lineno;
    uint64_t      bad;                  /* bad lines in this file */
    int           skipping;             /* in a too long line */
    /* CSV columns, from a header or the two-column default */
    int           csv_header_done;
    int           col_time, col_value, col_name;
    int           ncols;
    char         *colnames;             /* header copy, NUL-separated */
    const char   *col[MAX_FIELDS];
    struct rec    rec;
    int           pending;              /* rec parsed, not yet emitted */
    struct vg_timer *drain;
    int           running;
    int64_t       t0, w0;               /* speed: first event, its wall */
    uint64_t      emitted;
};

static const struct vg_option replay_options[] = {
    { .name = "path", .type = VG_OPT_STR,
      .offset = offsetof(struct replay_conf, path),
      .help = "file to replay" },
    { .name = "paths", .type = VG_OPT_STRLIST,
      .offset = offsetof(struct replay_conf, paths),
      .help = "files to replay, one after the other (after path)" },
    { .name = "format", .type = VG_OPT_ENUM, .def = "auto",
      .choices = "auto|csv|jsonl",
      .offset = offsetof(struct replay_conf, format),
      .help = "file format; auto: from the extension (.csv, .jsonl, .json)" },
    { .name = "metric", .type = VG_OPT_STR, .def = "replay",
      .offset = offsetof(struct replay_conf, metric),
      .help = "metric name of a CSV without a name column" },
    { .name = "labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct replay_conf, labels),
      .help = "labels added to every metric (its own win)" },
    { .name = "type", .type = VG_OPT_ENUM, .def = "gauge",
      .choices = "gauge|counter",
      .offset = offsetof(struct replay_conf, type),
      .help = "metric type of CSV rows" },
    { .name = "batch_size", .type = VG_OPT_INT, .def = "1000",
      .offset = offsetof(struct replay_conf, batch_size),
      .help = "most events in one batch" },
    { .name = "speed", .type = VG_OPT_DOUBLE, .def = "0",
      .offset = offsetof(struct replay_conf, speed),
      .help = "0: as fast as possible; 1: real time; 60: 60 times faster" },
    { 0 }
};

/* ---- timestamps -------------------------------------------------------- */

static int
digits(const char **p, int n, int *out)
{
    int v = 0, i;

    for (i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return -1;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return 0;
}

/*
 * Epoch seconds ("1700000000", "1700000000.25") or RFC 3339 / ISO 8601
 * ("2024-01-01T00:00:00Z", "2024-01-01 00:00:00.5+02:00"; no zone = UTC).
 */
static int
parse_time(const char *s, int64_t *ns)
{
    struct tm tm;
    int y, mo, d, h, mi, sec, zh = 0, zm = 0;
    int64_t frac = 0, scale = 100000000, secs;
    const char *p = s;

    while (*p == ' ')
        p++;
    if (strlen(p) >= 10 && p[4] == '-') {
        memset(&tm, 0, sizeof(tm));
        if (digits(&p, 4, &y) < 0 || *p++ != '-' || digits(&p, 2, &mo) < 0 ||
            *p++ != '-' || digits(&p, 2, &d) < 0 ||
            (*p != 'T' && *p != 't' && *p != ' ') || (p++, 0) ||
            digits(&p, 2, &h) < 0 || *p++ != ':' ||
            digits(&p, 2, &mi) < 0 || *p++ != ':' ||
            digits(&p, 2, &sec) < 0)
            return -EINVAL;
        if (*p == '.') {
            for (p++; *p >= '0' && *p <= '9'; p++) {
                frac += (*p - '0') * scale;
                scale /= 10;
            }
        }
        if (*p == 'Z' || *p == 'z') {
            p++;
        } else if (*p == '+' || *p == '-') {
            int sign = *p++ == '-' ? -1 : 1;

            if (digits(&p, 2, &zh) < 0 || (*p == ':' && (p++, 0)) ||
                digits(&p, 2, &zm) < 0)
                return -EINVAL;
            zh *= sign;
            zm *= sign;
        }
        while (*p == ' ')
            p++;
        if (*p || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 ||
            mi > 59 || sec > 60)
            return -EINVAL;
        tm.tm_year = y - 1900;
        tm.tm_mon = mo - 1;
        tm.tm_mday = d;
        tm.tm_hour = h;
        tm.tm_min = mi;
        tm.tm_sec = sec;
        secs = (int64_t)timegm(&tm) - zh * 3600 - zm * 60;
        /* ns since the epoch end in 2262: later years would overflow */
        if (secs < INT64_MIN / VG_SECOND + 1 ||
            secs > INT64_MAX / VG_SECOND - 1)
            return -EINVAL;
        *ns = secs * VG_SECOND + frac;
        return 0;
    } else {
        char *end;
        double v;
        long long whole;

        errno = 0;
        whole = strtoll(p, &end, 10);
        if (end == p || errno)
            return -EINVAL;
        if (*end == '.') {
            v = strtod(end, &end);
            /* strtod takes an exponent: ".5e400" is infinite, ".9e10"
             * overflows the sum below; a fraction is below one second. */
            if (!(v >= 0 && v < 1))
                return -EINVAL;
            frac = (int64_t)(v * 1e9 + 0.5);
        }
        while (*end == ' ')
            end++;
        if (*end || whole < 0 || whole > INT64_MAX / VG_SECOND - 1)
            return -EINVAL;
        *ns = (int64_t)whole * VG_SECOND + frac;
        return 0;
    }
}

/* ---- JSON lines -------------------------------------------------------- */

struct jp {
    char *p;                            /* next byte, NUL-terminated line */
};

static void
ws(struct jp *j)
{
    while (*j->p == ' ' || *j->p == '\t' || *j->p == '\r')
        j->p++;
}

static int
hex4(const char *s, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = s[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -1;
    }
    *out = v;
    return 0;
}

/* Decodes a string in place (escapes are never shorter than UTF-8). */
static int
jstring(struct jp *j, char **out, uint32_t *len)
{
    char *w, *r;

    if (*j->p != '"')
        return -1;
    w = r = ++j->p;
    *out = w;
    while (*r != '"') {
        unsigned cp, lo;

        if (!*r)
            return -1;
        if (*r != '\\') {
            *w++ = *r++;
            continue;
        }
        r++;
        switch (*r) {
        case '"': case '\\': case '/': *w++ = *r; break;
        case 'b': *w++ = '\b'; break;
        case 'f': *w++ = '\f'; break;
        case 'n': *w++ = '\n'; break;
        case 'r': *w++ = '\r'; break;
        case 't': *w++ = '\t'; break;
        case 'u':
            if (hex4(r + 1, &cp) < 0)
                return -1;
            r += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && r[1] == '\\' &&
                r[2] == 'u' && hex4(r + 3, &lo) == 0 && lo >= 0xdc00 &&
                lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                r += 6;
            }
            if (cp < 0x80) {
                *w++ = (char)cp;
            } else if (cp < 0x800) {
                *w++ = (char)(0xc0 | cp >> 6);
                *w++ = (char)(0x80 | (cp & 0x3f));
            } else if (cp < 0x10000) {
                *w++ = (char)(0xe0 | cp >> 12);
                *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                *w++ = (char)(0x80 | (cp & 0x3f));
            } else {
                *w++ = (char)(0xf0 | cp >> 18);
                *w++ = (char)(0x80 | ((cp >> 12) & 0x3f));
                *w++ = (char)(0x80 | ((cp >> 6) & 0x3f));
                *w++ = (char)(0x80 | (cp & 0x3f));
            }
            break;
        default:
            return -1;
        }
        r++;
    }
    j->p = r + 1;
    *w = '\0';                          /* w <= r: the quote is past it */
    *len = (uint32_t)(w - *out);
    return 0;
}

static int
jnumber(struct jp *j, double *out)
{
    char *end;

    errno = 0;
    *out = strtod(j->p, &end);
    if (end == j->p)
        return -1;
    j->p = end;
    return 0;
}

static int jskip(struct jp *j, int depth);

static int
jskip_container(struct jp *j, char close, int depth)
{
    char *s;
    uint32_t n;

    j->p++;
    ws(j);
    if (*j->p == close) {
        j->p++;
        return 0;
    }
    for (;;) {
        if (close == '}') {
            if (jstring(j, &s, &n) < 0)
                return -1;
            ws(j);
            if (*j->p++ != ':')
                return -1;
        }
        if (jskip(j, depth + 1) < 0)
            return -1;
        ws(j);
        if (*j->p == ',') {
            j->p++;
            ws(j);
            continue;
        }
        if (*j->p++ != close)
            return -1;
        return 0;
    }
}

/* Skips any value (an unknown key's). */
static int
jskip(struct jp *j, int depth)
{
    char *s;
    uint32_t n;
    double d;

    ws(j);
    if (depth > 32)
        return -1;
    switch (*j->p) {
    case '"':
        return jstring(j, &s, &n);
    case '{':
        return jskip_container(j, '}', depth);
    case '[':
        return jskip_container(j, ']', depth);
    case 't':
        return strncmp(j->p, "true", 4) == 0 ? (j->p += 4, 0) : -1;
    case 'f':
        return strncmp(j->p, "false", 5) == 0 ? (j->p += 5, 0) : -1;
    case 'n':
        return strncmp(j->p, "null", 4) == 0 ? (j->p += 4, 0) : -1;
    default:
        return jnumber(j, &d);
    }
}

/* A number, or the strings vigil writes for NaN and infinities. */
static int
jvalue(struct jp *j, double *out)
{
    char *s;
    uint32_t n;

    ws(j);
    if (*j->p != '"')
        return jnumber(j, out);
    if (jstring(j, &s, &n) < 0)
        return -1;
    if (strcmp(s, "NaN") == 0)
        *out = NAN;
    else if (strcmp(s, "+Inf") == 0 || strcmp(s, "Inf") == 0)
        *out = INFINITY;
    else if (strcmp(s, "-Inf") == 0)
        *out = -INFINITY;
    else
        return -1;
    return 0;
}

static int
jlabels(struct jp *j, struct rec *r)
{
    char *k, *v;
    uint32_t kl, vl;

    ws(j);
    if (*j->p != '{')
        return -1;
    j->p++;
    ws(j);
    if (*j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        if (jstring(j, &k, &kl) < 0)
            return -1;
        ws(j);
        if (*j->p++ != ':')
            return -1;
        ws(j);
        if (jstring(j, &v, &vl) < 0 || r->nlabels >= MAX_FIELDS)
            return -1;
        r->labels[r->nlabels].key = k;
        r->labels[r->nlabels].key_len = kl;
        r->labels[r->nlabels].type = VG_VAL_STR;
        r->labels[r->nlabels].v.s = v;
        r->labels[r->nlabels].len = vl;
        r->nlabels++;
        ws(j);
        if (*j->p == ',') {
            j->p++;
            ws(j);
            continue;
        }
        return *j->p++ == '}' ? 0 : -1;
    }
}

/* 1: a metric in r; 0: a valid line that is not a metric; -1: bad. */
static int
parse_jsonl(char *line, struct rec *r)
{
    struct jp j = { line };
    int have_time = 0, have_value = 0, is_metric = 0, hist = 0;
    char *key, *s;
    uint32_t kl, n;

    ws(&j);
    if (*j.p != '{')
        return -1;
    j.p++;
    ws(&j);
    r->type = VG_METRIC_GAUGE;
    while (*j.p != '}') {
        if (jstring(&j, &key, &kl) < 0)
            return -1;
        ws(&j);
        if (*j.p++ != ':')
            return -1;
        ws(&j);
        if (strcmp(key, "time") == 0) {
            if (*j.p == '"') {
                if (jstring(&j, &s, &n) < 0 || parse_time(s, &r->time) < 0)
                    return -1;
            } else {
                double d;

                if (jnumber(&j, &d) < 0 || !(d >= 0) || d > 9e9)
                    return -1;
                r->time = (int64_t)(d * 1e9 + 0.5);
            }
            have_time = 1;
        } else if (strcmp(key, "kind") == 0) {
            if (jstring(&j, &s, &n) < 0)
                return -1;
            is_metric = strcmp(s, "metric") == 0;
        } else if (strcmp(key, "name") == 0) {
            if (jstring(&j, &s, &n) < 0)
                return -1;
            r->name = s;
        } else if (strcmp(key, "type") == 0) {
            if (jstring(&j, &s, &n) < 0)
                return -1;
            if (strcmp(s, "counter") == 0)
                r->type = VG_METRIC_COUNTER;
            else if (strcmp(s, "histogram") == 0)
                hist = 1;
        } else if (strcmp(key, "value") == 0) {
            if (jvalue(&j, &r->value) < 0)
                return -1;
            have_value = 1;
        } else if (strcmp(key, "labels") == 0) {
            if (jlabels(&j, r) < 0)
                return -1;
        } else if (jskip(&j, 0) < 0) {
            return -1;
        }
        ws(&j);
        if (*j.p == ',') {
            j.p++;
            ws(&j);
        } else if (*j.p != '}') {
            return -1;
        }
    }
    j.p++;
    ws(&j);
    if (*j.p)
        return -1;
    if (!is_metric || hist)
        return 0;                       /* logs, alerts, histograms */
    if (!have_time || !have_value || !r->name || !r->name[0])
        return -1;
    return 1;
}

/* ---- CSV --------------------------------------------------------------- */

/* Splits a line in place; quoted fields may hold commas and "" quotes. */
static int
csv_split(char *line, char **f, int max)
{
    int n = 0;
    char *p = line;

    for (;;) {
        char *w;

        if (n == max)
            return -1;
        while (*p == ' ')
            p++;
        f[n++] = w = p;
        if (*p == '"') {
            f[n - 1] = w = ++p;
            for (;;) {
                if (!*p)
                    return -1;
                if (*p == '"' && p[1] == '"') {
                    *w++ = '"';
                    p += 2;
                } else if (*p == '"') {
                    p++;
                    break;
                } else {
                    *w++ = *p++;
                }
            }
            while (*p == ' ')
                p++;
            if (*p && *p != ',')
                return -1;
        } else {
            while (*p && *p != ',')
                p++;
            w = p;
            while (w > f[n - 1] && w[-1] == ' ')
                w--;
        }
        if (!*p) {
            *w = '\0';
            return n;
        }
        p++;
        *w = '\0';
    }
}

/* Reads the header: which columns hold time, value, name and labels. */
static int
csv_header(struct replay_state *st, char **f, int n)
{
    size_t bytes = 0;
    char *p;
    int i;

    st->col_time = st->col_value = st->col_name = -1;
    for (i = 0; i < n; i++)
        bytes += strlen(f[i]) + 1;
    free(st->colnames);
    if (!(st->colnames = malloc(bytes + 1)))
        return -ENOMEM;
    p = st->colnames;
    for (i = 0; i < n; i++) {
        strcpy(p, f[i]);
        st->col[i] = p;
        p += strlen(f[i]) + 1;
        if (strcmp(f[i], "timestamp") == 0 || strcmp(f[i], "time") == 0)
            st->col_time = i;
        else if (strcmp(f[i], "value") == 0)
            st->col_value = i;
        else if (strcmp(f[i], "name") == 0 || strcmp(f[i], "metric") == 0)
            st->col_name = i;
    }
    st->ncols = n;
    if (st->col_time < 0 || st->col_value < 0)
        return -EINVAL;
    return 0;
}

static int
parse_csv(struct replay_state *st, char *line, struct rec *r)
{
    char *f[MAX_FIELDS];
    char *end;
    int n = csv_split(line, f, MAX_FIELDS), i;
    int64_t t;

    if (n < 0)
        return -1;
    if (!st->csv_header_done) {
        st->csv_header_done = 1;
        if (parse_time(f[0], &t) < 0) {
            int rc = csv_header(st, f, n);

            if (rc == -ENOMEM)
                return -1;
            if (rc < 0) {
                st->ncols = -1;         /* every row will be bad */
                return -1;
            }
            return 0;
        }
        /* no header: timestamp,value */
        st->col_time = 0;
        st->col_value = 1;
        st->col_name = -1;
        st->ncols = 2;
        st->col[0] = "timestamp";
        st->col[1] = "value";
    }
    if (n != st->ncols || parse_time(f[st->col_time], &r->time) < 0)
        return -1;
    errno = 0;
    r->value = strtod(f[st->col_value], &end);
    if (end == f[st->col_value] || *end)
        return -1;
    r->name = st->col_name >= 0 ? f[st->col_name] : st->conf->metric;
    if (!r->name[0])
        return -1;
    r->type = st->conf->type ? VG_METRIC_COUNTER : VG_METRIC_GAUGE;
    for (i = 0; i < n; i++) {
        if (i == st->col_time || i == st->col_value || i == st->col_name)
            continue;
        r->labels[r->nlabels++] = vg_kv_str(st->col[i], f[i]);
    }
    return 1;
}

/* ---- files ------------------------------------------------------------- */

static int
ends_with(const char *s, const char *suffix)
{
    size_t n = strlen(s), m = strlen(suffix);

    return n >= m && strcmp(s + n - m, suffix) == 0;
}

static void
file_close(struct vg_instance *in, struct replay_state *st)
{
    if (st->fd < 0)
        return;
    close(st->fd);
    st->fd = -1;
    if (st->bad)
        vg_log(in, VG_LOG_WARN, "'%s': %" PRIu64 " bad lines skipped",
               st->files[st->cur], st->bad);
    st->cur++;
}

static int
file_open(struct vg_instance *in, struct replay_state *st)
{
    const char *path = st->files[st->cur];

    st->fmt = st->conf->format;
    if (st->fmt == FMT_AUTO) {
        if (ends_with(path, ".csv"))
            st->fmt = FMT_CSV;
        else if (ends_with(path, ".jsonl") || ends_with(path, ".json"))
            st->fmt = FMT_JSONL;
        else {
            vg_log(in, VG_LOG_ERROR, "'%s': cannot tell the format from "
                   "the name; set 'format'", path);
            return -EINVAL;
        }
    }
    if ((st->fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        int rc = -errno;

        vg_log(in, VG_LOG_ERROR, "cannot open '%s': %s", path,
               strerror(-rc));
        return rc;
    }
    st->start = st->len = 0;
    st->eof = 0;
    st->lineno = 0;
    st->bad = 0;
    st->csv_header_done = 0;
    st->skipping = 0;
    return 0;
}

/* The next complete line of the current file, NUL-terminated; NULL at
 * its end.  A last line without a newline counts. */
static char *
next_line(struct vg_instance *in, struct replay_state *st)
{
    for (;;) {
        char *nl = memchr(st->buf + st->start, '\n', st->len - st->start);
        ssize_t n;

        if (nl) {
            char *line = st->buf + st->start;

            *nl = '\0';
            st->start = (size_t)(nl - st->buf) + 1;
            if (st->skipping) {
                st->skipping = 0;       /* the rest of the long line */
                continue;
            }
            st->lineno++;
            return line;
        }
        if (st->eof) {
            if (st->start < st->len && !st->skipping) {
                char *line = st->buf + st->start;

                st->buf[st->len] = '\0';
                st->start = st->len;
                st->lineno++;
                return line;
            }
            return NULL;
        }
        /* keep the partial line, make room for a chunk */
        memmove(st->buf, st->buf + st->start, st->len - st->start);
        st->len -= st->start;
        st->start = 0;
        if (st->cap - st->len < CHUNK + 1) {
            size_t cap = st->cap * 2;
            char *p;

            if (cap > LINE_MAX_B + CHUNK + 1) {
                vg_log(in, VG_LOG_WARN, "'%s' line %" PRIu64 ": longer "
                       "than %d bytes, skipped", st->files[st->cur],
                       st->lineno + 1, LINE_MAX_B);
                st->len = 0;            /* drop it up to its newline */
                st->skipping = 1;
                st->lineno++;
                st->bad++;
                cap = st->cap;
            }
            if (cap != st->cap) {
                if (!(p = realloc(st->buf, cap))) {
                    vg_log(in, VG_LOG_ERROR, "'%s': out of memory for a "
                           "long line; rest of the file skipped",
                           st->files[st->cur]);
                    return NULL;
                }
                st->buf = p;
                st->cap = cap;
            }
        }
        do {
            n = read(st->fd, st->buf + st->len, st->cap - st->len - 1);
        } while (n < 0 && errno == EINTR);
        if (n < 0) {
            vg_log(in, VG_LOG_ERROR, "cannot read '%s': %s",
                   st->files[st->cur], strerror(errno));
            st->eof = 1;
        } else if (n == 0) {
            st->eof = 1;
        } else {
            st->len += (size_t)n;
        }
    }
}

/* Adds the static labels the record does not have. */
static void
add_static(const struct replay_conf *c, struct rec *r)
{
    size_t i;
    uint32_t j;

    for (i = 0; i < c->labels.n && r->nlabels < MAX_FIELDS + 1; i++) {
        size_t kl = strlen(c->labels.v[i].key);

        for (j = 0; j < r->nlabels; j++)
            if (r->labels[j].key_len == kl &&
                memcmp(r->labels[j].key, c->labels.v[i].key, kl) == 0)
                break;
        if (j == r->nlabels)
            r->labels[r->nlabels++] = vg_kv_str(c->labels.v[i].key,
                                                c->labels.v[i].value);
    }
}

/* 1: st->rec holds the next metric; 0: every file is done. */
static int
next_rec(struct vg_instance *in, struct replay_state *st)
{
    for (;;) {
        struct rec *r = &st->rec;
        char *line;
        int rc;

        if (st->fd < 0) {
            if (st->cur >= st->nfiles)
                return 0;
            if (file_open(in, st) < 0) {
                st->cur++;
                continue;
            }
        }
        if (!(line = next_line(in, st))) {
            file_close(in, st);
            continue;
        }
        if (line[0] == '\0' || (line[0] == '\r' && line[1] == '\0'))
            continue;
        if (line[strlen(line) - 1] == '\r')
            line[strlen(line) - 1] = '\0';
        memset(r, 0, offsetof(struct rec, labels));
        r->nlabels = 0;
        rc = st->fmt == FMT_CSV ? parse_csv(st, line, r)
                                : parse_jsonl(line, r);
        if (rc > 0) {
            add_static(st->conf, r);
            return 1;
        }
        if (rc < 0) {
            st->bad++;
            vg_count(in, "bad_lines", 1);
            if (st->bad <= WARN_LINES)
                vg_log(in, VG_LOG_WARN, "'%s' line %" PRIu64 ": cannot "
                       "parse, skipped", st->files[st->cur], st->lineno);
        }
    }
}

static void
replay_finish(struct vg_instance *in, struct replay_state *st)
{
    st->running = 0;
    vg_log(in, VG_LOG_INFO, "replayed %" PRIu64 " metrics", st->emitted);
    vg_input_done(in);
}

static void
on_drain(struct vg_instance *in, void *arg)
{
    struct replay_state *st = arg;
    const struct replay_conf *c = st->conf;
    struct vg_batch *b = NULL;
    int64_t delay = 0;
    size_t n = 0;
    int more = 1;

    if (!st->running)
        return;
    while (n < (size_t)c->batch_size) {
        struct vg_event ev;
        int rc;

        if (!st->pending && !(more = next_rec(in, st)))
            break;
        st->pending = 1;
        if (c->speed > 0) {
            int64_t due;

            if (!st->w0) {
                st->w0 = vg_now(in);
                st->t0 = st->rec.time;
            }
            due = st->w0 + (int64_t)((double)(st->rec.time - st->t0) /
                                     c->speed);
            if (due > vg_now(in)) {
                delay = due - vg_now(in);
                break;
            }
        }
        if (!b && !(b = vg_batch_new(in, (size_t)c->batch_size * 128)))
            break;
        memset(&ev, 0, sizeof(ev));
        ev.kind = VG_EV_METRIC;
        ev.time = st->rec.time;
        ev.name = st->rec.name;
        ev.metric_type = st->rec.type;
        ev.value = st->rec.value;
        ev.labels = st->rec.labels;
        ev.nlabels = st->rec.nlabels;
        if ((rc = vg_batch_add(in, b, &ev)) < 0) {
            vg_log(in, VG_LOG_WARN, "'%s' line %" PRIu64 ": cannot add "
                   "the metric: %s", st->files[st->cur], st->lineno,
                   strerror(-rc));
            vg_count(in, "bad_lines", 1);
        } else {
            n++;
        }
        st->pending = 0;
    }
    if (b && vg_batch_count(in, b) > 0) {
        st->emitted += vg_batch_count(in, b);
        vg_emit(in, b);
    } else if (b) {
        vg_batch_unref(in, b);
    }
    if (!more && !st->pending)
        replay_finish(in, st);
    else
        vg_timer_start(in, st->drain, delay, 0);
}

static void
replay_state_free(struct replay_state *st)
{
    if (!st)
        return;
    if (st->fd >= 0)
        close(st->fd);
    free(st->files);
    free(st->buf);
    free(st->colnames);
    free(st);
}

static int
replay_check(struct vg_instance *in, const void *conf)
{
    const struct replay_conf *c = conf;

    if (!c->path && c->paths.n == 0) {
        vg_log(in, VG_LOG_ERROR, "set 'path' or 'paths'");
        return -EINVAL;
    }
    if (c->batch_size < 1 || c->batch_size > 1000000) {
        vg_log(in, VG_LOG_ERROR, "option 'batch_size' must be within "
               "1..1000000, not %" PRId64, c->batch_size);
        return -EINVAL;
    }
    if (!(c->speed >= 0) || isinf(c->speed)) {
        vg_log(in, VG_LOG_ERROR, "option 'speed' must be a finite number "
               ">= 0, not %g", c->speed);
        return -EINVAL;
    }
    return 0;
}

static int
replay_init(struct vg_instance *in, void *conf)
{
    const struct replay_conf *c = conf;
    struct replay_state *st = NULL;
    size_t i;
    int rc = -ENOMEM;

    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->files = calloc(c->paths.n + 1, sizeof(*st->files))) ||
        !(st->buf = malloc(2 * CHUNK + 2)))
        goto fail;
    st->cap = 2 * CHUNK + 2;
    st->fd = -1;
    st->conf = c;
    if (c->path)
        st->files[st->nfiles++] = c->path;
    for (i = 0; i < c->paths.n; i++)
        st->files[st->nfiles++] = c->paths.v[i];
    if (!(st->drain = vg_timer_new(in, on_drain, st)))
        goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    replay_state_free(st);
    return rc;
}

static int
replay_start(struct vg_instance *in)
{
    struct replay_state *st = vg_instance_data(in);

    st->running = 1;
    vg_timer_start(in, st->drain, 0, 0);
    return 0;
}

static void
replay_stop(struct vg_instance *in)
{
    struct replay_state *st = vg_instance_data(in);

    st->running = 0;
    vg_timer_stop(in, st->drain);
}

static void
replay_destroy(struct vg_instance *in)
{
    struct replay_state *st = vg_instance_data(in);

    if (!st)
        return;
    vg_timer_free(in, st->drain);
    replay_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "replay",
    .summary = "metrics with their own timestamps from CSV or JSON lines",
    .options = replay_options,
    .conf_size = sizeof(struct replay_conf),
    .check = replay_check,
    .init = replay_init,
    .start = replay_start,
    .stop = replay_stop,
    .destroy = replay_destroy,
};
