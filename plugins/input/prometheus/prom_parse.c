/*
 * input prometheus: the exposition format parser (see prom_parse.h).
 * A "family" is what one # TYPE line announces; samples that do not
 * belong to the current one end it (and are untyped).  Histogram groups
 * are keyed by their label set without `le`, serialized as length-
 * prefixed bytes, so the buckets of a label set meet whatever their
 * order on the page.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "prom_parse.h"

#define NAME_MAX_ 1024                  /* bytes of a metric name */
#define KEEP_MAX  (64 * 1024)           /* buffers kept between pages */

enum ftype {
    F_NONE,                             /* no family, or untyped     */
    F_COUNTER,
    F_GAUGE,
    F_HISTOGRAM,
    F_SUMMARY,
    F_OTHER,                            /* samples kept as gauges    */
};

struct bucket {
    double le;
    double cum;                         /* cumulative count */
};

struct group {
    char          *key;                 /* serialized labels, no le */
    size_t         klen;
    struct bucket *b;
    uint32_t       nb, cap;
    double         sum, count;
    int            has_sum, has_count;
    int64_t        ts;
};

struct prom_parser {
    struct prom_out   out;
    int               om;               /* OpenMetrics time stamps */
    char              family[NAME_MAX_ + 1];
    size_t            flen;
    int               ftype;            /* enum ftype */
    struct group     *groups;
    size_t            ngroups, gcap;
    char             *scratch;          /* unescaped values of a line */
    size_t            scap;
    char              name[NAME_MAX_ + 16];
    struct prom_label labels[PROM_MAX_LABELS];
    uint32_t          nlabels;
    char             *key;              /* a serialized label set */
    size_t            kcap;
    /* streaming */
    char             *line;             /* a line cut by a piece's end */
    size_t            llen, lcap;
    size_t            max_line;         /* bytes before the newline */
    int               skipping;         /* the rest of a line too long */
    int               done;             /* past "# EOF", or failed */
};

/* One sample line, read. */
struct sample {
    const char *name;
    size_t      nlen;
    double      value;
    int64_t     ts;                     /* ns; 0 when none */
};

struct prom_parser *
prom_parser_new(const struct prom_out *out)
{
    struct prom_parser *p = calloc(1, sizeof(*p));

    if (p) {
        p->out = *out;
        p->max_line = PROM_MAX_LINE;
    }
    return p;
}

void
prom_parser_set_max_line(struct prom_parser *p, size_t max)
{
    p->max_line = max < 64 ? 64 : max;
}

static void
groups_clear(struct prom_parser *p)
{
    size_t i;

    for (i = 0; i < p->ngroups; i++) {
        free(p->groups[i].key);
        free(p->groups[i].b);
    }
    p->ngroups = 0;
}

void
prom_parser_free(struct prom_parser *p)
{
    if (!p)
        return;
    groups_clear(p);
    free(p->groups);
    free(p->scratch);
    free(p->key);
    free(p->line);
    free(p);
}

int
prom_content_type_is_openmetrics(const char *content_type)
{
    static const char om[] = "application/openmetrics-text";
    const char *t = content_type;

    while (*t == ' ' || *t == '\t')
        t++;
    if (strncasecmp(t, om, sizeof(om) - 1) != 0)
        return 0;
    t += sizeof(om) - 1;
    return *t == '\0' || *t == ';' || *t == ' ';
}

int
prom_is_openmetrics(const char *body, size_t len)
{
    while (len && (body[len - 1] == '\n' || body[len - 1] == '\r' ||
                   body[len - 1] == ' '))
        len--;
    return len >= 5 && memcmp(body + len - 5, "# EOF", 5) == 0 &&
           (len == 5 || body[len - 6] == '\n');
}

/* ------------------------------------------------------------------ */
/* Lines                                                               */
/* ------------------------------------------------------------------ */

static int
is_name_start(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' ||
           c == ':';
}

static int
is_name_char(char c)
{
    return is_name_start(c) || (c >= '0' && c <= '9');
}

static size_t
skip_blank(const char *s, size_t i, size_t len)
{
    while (i < len && (s[i] == ' ' || s[i] == '\t'))
        i++;
    return i;
}

/* A float token: Go's ParseFloat forms, including NaN and +Inf. */
static int
parse_float(const char *s, size_t len, double *out)
{
    char tmp[64], *end;

    if (len == 0 || len >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, s, len);
    tmp[len] = '\0';
    *out = strtod(tmp, &end);
    return end == tmp + len ? 0 : -EINVAL;
}

/* Reads labels from s[*i] just past '{' up to past '}'. */
static int
parse_labels(struct prom_parser *p, const char *s, size_t len, size_t *i,
             const char **why)
{
    size_t k = *i, out = 0;

    p->nlabels = 0;
    for (;;) {
        struct prom_label *l;
        size_t start;

        k = skip_blank(s, k, len);
        if (k < len && s[k] == '}')
            break;
        if (k >= len || !is_name_start(s[k]) || s[k] == ':') {
            *why = "bad label name";
            return -EINVAL;
        }
        if (p->nlabels == PROM_MAX_LABELS) {
            *why = "too many labels";
            return -EINVAL;
        }
        l = &p->labels[p->nlabels++];
        for (start = k; k < len && is_name_char(s[k]) && s[k] != ':'; k++)
            ;
        l->name = s + start;
        l->name_len = (uint32_t)(k - start);
        k = skip_blank(s, k, len);
        if (k >= len || s[k] != '=') {
            *why = "no '=' after a label name";
            return -EINVAL;
        }
        k = skip_blank(s, k + 1, len);
        if (k >= len || s[k] != '"') {
            *why = "label value not quoted";
            return -EINVAL;
        }
        l->value = p->scratch + out;
        for (k++; k < len && s[k] != '"'; k++) {
            char c = s[k];

            if (c == '\\') {
                if (++k >= len)
                    break;
                c = s[k] == 'n' ? '\n' : s[k];
                if (s[k] != 'n' && s[k] != '\\' && s[k] != '"') {
                    *why = "unknown escape in a label value";
                    return -EINVAL;
                }
            }
            p->scratch[out++] = c;
        }
        if (k >= len) {
            *why = "label value not closed";
            return -EINVAL;
        }
        l->value_len = (uint32_t)(p->scratch + out - l->value);
        k = skip_blank(s, k + 1, len);
        if (k < len && s[k] == ',') {
            k++;
            continue;
        }
        if (k < len && s[k] == '}')
            break;
        *why = "no ',' or '}' after a label";
        return -EINVAL;
    }
    *i = k + 1;
    return 0;
}

static int
parse_sample(struct prom_parser *p, const char *s, size_t len,
             struct sample *sm, const char **why)
{
    size_t i = 0, start;
    double ts;

    sm->name = s;
    if (!is_name_start(s[0])) {
        *why = "bad metric name";
        return -EINVAL;
    }
    while (i < len && is_name_char(s[i]))
        i++;
    sm->nlen = i;
    if (sm->nlen > NAME_MAX_) {
        *why = "metric name too long";
        return -EINVAL;
    }
    i = skip_blank(s, i, len);
    p->nlabels = 0;
    if (i < len && s[i] == '{') {
        i++;
        if (parse_labels(p, s, len, &i, why) < 0)
            return -EINVAL;
    }
    i = skip_blank(s, i, len);
    for (start = i; i < len && s[i] != ' ' && s[i] != '\t'; i++)
        ;
    if (parse_float(s + start, i - start, &sm->value) < 0) {
        *why = start == i ? "no value" : "value is not a number";
        return -EINVAL;
    }
    i = skip_blank(s, i, len);
    sm->ts = 0;
    if (i < len && s[i] != '#') {
        for (start = i; i < len && s[i] != ' ' && s[i] != '\t'; i++)
            ;
        if (parse_float(s + start, i - start, &ts) < 0 || !isfinite(ts)) {
            *why = "time stamp is not a number";
            return -EINVAL;
        }
        /* 0.0.4: integer ms; OpenMetrics: seconds */
        if (!p->om && ts != floor(ts)) {
            *why = "time stamp is not an integer (ms)";
            return -EINVAL;
        }
        /* in ns it must fit an int64_t: the years 1678 to 2262 */
        if (fabs(p->om ? ts * 1e9 : ts * 1e6) >= 9.2e18) {
            *why = "time stamp out of range";
            return -EINVAL;
        }
        sm->ts = p->om ? (int64_t)llround(ts * 1e9) :
                 (int64_t)ts * INT64_C(1000000);
        i = skip_blank(s, i, len);
    }
    /* an OpenMetrics exemplar " # {...} v [ts]" is not kept */
    if (i < len && s[i] != '#') {
        *why = "text after the time stamp";
        return -EINVAL;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Histogram groups                                                    */
/* ------------------------------------------------------------------ */

static int
key_reserve(struct prom_parser *p, size_t need)
{
    if (need > p->kcap) {
        size_t cap = p->kcap ? p->kcap : 256;
        char *k;

        while (cap < need)
            cap *= 2;
        if (!(k = realloc(p->key, cap)))
            return -ENOMEM;
        p->key = k;
        p->kcap = cap;
    }
    return 0;
}

static void
put32(char *k, size_t *off, const char *s, uint32_t n)
{
    memcpy(k + *off, &n, sizeof(n));
    memcpy(k + *off + sizeof(n), s, n);
    *off += sizeof(n) + n;
}

/* The line's labels without `le`, serialized into p->key; its length. */
static long
key_build(struct prom_parser *p, const struct prom_label **le)
{
    size_t need = 0, off = 0;
    uint32_t i;

    *le = NULL;
    for (i = 0; i < p->nlabels; i++)
        need += 8 + p->labels[i].name_len + p->labels[i].value_len;
    if (key_reserve(p, need + 1) < 0)
        return -ENOMEM;
    for (i = 0; i < p->nlabels; i++) {
        const struct prom_label *l = &p->labels[i];

        if (l->name_len == 2 && memcmp(l->name, "le", 2) == 0) {
            *le = l;
            continue;
        }
        put32(p->key, &off, l->name, l->name_len);
        put32(p->key, &off, l->value, l->value_len);
    }
    return (long)off;
}

static struct group *
group_get(struct prom_parser *p, size_t klen)
{
    struct group *g;
    size_t i;

    for (i = p->ngroups; i-- > 0;)
        if (p->groups[i].klen == klen &&
            memcmp(p->groups[i].key, p->key, klen) == 0)
            return &p->groups[i];
    if (p->ngroups == p->gcap) {
        size_t cap = p->gcap ? p->gcap * 2 : 8;
        struct group *n = realloc(p->groups, cap * sizeof(*n));

        if (!n)
            return NULL;
        p->groups = n;
        p->gcap = cap;
    }
    g = &p->groups[p->ngroups];
    memset(g, 0, sizeof(*g));
    if (!(g->key = malloc(klen ? klen : 1)))
        return NULL;
    memcpy(g->key, p->key, klen);
    g->klen = klen;
    p->ngroups++;
    return g;
}

static int
bucket_cmp(const void *a, const void *b)
{
    double x = ((const struct bucket *)a)->le;
    double y = ((const struct bucket *)b)->le;

    return x < y ? -1 : x > y;
}

static void
group_emit(struct prom_parser *p, struct group *g)
{
    double bounds[PROM_MAX_BUCKETS + 1];
    uint64_t counts[PROM_MAX_BUCKETS + 1];
    struct prom_label labels[PROM_MAX_LABELS];
    uint32_t n = 0, i, nb = 0;
    size_t off = 0;
    double prev = 0, total, last = -INFINITY;    /* last bound seen */

    while (off < g->klen && n < PROM_MAX_LABELS) {
        struct prom_label *l = &labels[n++];

        memcpy(&l->name_len, g->key + off, 4);
        l->name = g->key + off + 4;
        off += 4 + l->name_len;
        memcpy(&l->value_len, g->key + off, 4);
        l->value = g->key + off + 4;
        off += 4 + l->value_len;
    }
    if (g->nb)                          /* a group of only _count */
        qsort(g->b, g->nb, sizeof(*g->b), bucket_cmp);
    for (i = 0; i < g->nb; i++) {
        double c = g->b[i].cum - prev;

        last = g->b[i].le;
        bounds[nb] = g->b[i].le;
        counts[nb++] = c > 0 ? (uint64_t)llround(c) : 0;
        if (g->b[i].cum > prev)
            prev = g->b[i].cum;
    }
    total = g->has_count ? g->count : prev;
    if (!isinf(last) || last < 0) {
        /* no +Inf bucket: what _count has beyond the last bound */
        bounds[nb] = INFINITY;
        counts[nb++] = total > prev ? (uint64_t)llround(total - prev) : 0;
    }
    p->out.histogram(p->out.arg, p->family, labels, n, bounds, counts, nb,
                     g->has_sum ? g->sum : 0,
                     total > 0 ? (uint64_t)llround(total) : 0, g->ts);
}

/* Ends the current family: its histograms are reported. */
static void
family_end(struct prom_parser *p)
{
    size_t i;

    if (p->ftype == F_HISTOGRAM)
        for (i = 0; i < p->ngroups; i++)
            if (p->groups[i].nb || p->groups[i].has_count)
                group_emit(p, &p->groups[i]);
    groups_clear(p);
    p->ftype = F_NONE;
    p->flen = 0;
    p->family[0] = '\0';
}

/* The histogram part of a sample: 0, or -EINVAL with why, -ENOMEM. */
static int
histogram_add(struct prom_parser *p, const struct sample *sm,
              const char *suffix, const char **why)
{
    const struct prom_label *le;
    struct group *g;
    long klen;

    if (strcmp(suffix, "_created") == 0)
        return 0;
    if ((klen = key_build(p, &le)) < 0 || !(g = group_get(p, (size_t)klen)))
        return -ENOMEM;
    if (sm->ts)
        g->ts = sm->ts;
    if (strcmp(suffix, "_sum") == 0) {
        g->sum = sm->value;
        g->has_sum = 1;
    } else if (strcmp(suffix, "_count") == 0) {
        g->count = sm->value;
        g->has_count = 1;
    } else {
        double bound;

        if (!le || parse_float(le->value, le->value_len, &bound) < 0) {
            *why = "histogram bucket without a numeric 'le'";
            return -EINVAL;
        }
        if (g->nb == PROM_MAX_BUCKETS) {
            *why = "too many histogram buckets";
            return -EINVAL;
        }
        if (g->nb == g->cap) {
            uint32_t cap = g->cap ? g->cap * 2 : 16;
            struct bucket *b = realloc(g->b, cap * sizeof(*b));

            if (!b)
                return -ENOMEM;
            g->b = b;
            g->cap = cap;
        }
        g->b[g->nb].le = bound;
        g->b[g->nb++].cum = sm->value;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Families                                                            */
/* ------------------------------------------------------------------ */

static int
type_of(const char *s, size_t n)
{
    static const struct { const char *name; int type; } types[] = {
        { "counter", F_COUNTER }, { "gauge", F_GAUGE },
        { "histogram", F_HISTOGRAM }, { "summary", F_SUMMARY },
        { "untyped", F_NONE }, { "unknown", F_NONE },
        { "gaugehistogram", F_OTHER }, { "info", F_OTHER },
        { "stateset", F_OTHER },
    };
    size_t i;

    for (i = 0; i < sizeof(types) / sizeof(types[0]); i++)
        if (strlen(types[i].name) == n && memcmp(types[i].name, s, n) == 0)
            return types[i].type;
    return -1;
}

/* "# TYPE name type": a new family.  Other comments are skipped. */
static void
comment_line(struct prom_parser *p, const char *s, size_t len)
{
    size_t i = skip_blank(s, 1, len), start, nlen;
    int t;

    if (len - i < 4 || memcmp(s + i, "TYPE", 4) != 0 ||
        (i + 4 < len && s[i + 4] != ' ' && s[i + 4] != '\t'))
        return;
    i = skip_blank(s, i + 4, len);
    for (start = i; i < len && is_name_char(s[i]); i++)
        ;
    nlen = i - start;
    i = skip_blank(s, i, len);
    while (len > i && (s[len - 1] == ' ' || s[len - 1] == '\t'))
        len--;
    if (nlen == 0 || nlen > NAME_MAX_ || (t = type_of(s + i, len - i)) < 0) {
        p->out.malformed(p->out.arg, s, len, "bad # TYPE line");
        return;
    }
    family_end(p);
    memcpy(p->family, s + start, nlen);
    p->family[nlen] = '\0';
    p->flen = nlen;
    p->ftype = t;
}

/* The suffix of name past the family name, or NULL when not of it. */
static const char *
suffix_of(const struct prom_parser *p, const struct sample *sm)
{
    if (p->flen == 0 || sm->nlen < p->flen ||
        memcmp(sm->name, p->family, p->flen) != 0)
        return NULL;
    return p->name + p->flen;
}

static int
one_of(const char *s, const char *const *list)
{
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return 1;
    return 0;
}

/* 1 for a sample, 0 for a malformed line, or -ENOMEM. */
static int
sample_line(struct prom_parser *p, const char *s, size_t len)
{
    static const char *const hist[] = { "_bucket", "_sum", "_count",
                                        "_created", NULL };
    static const char *const summ[] = { "", "_sum", "_count", "_created",
                                        NULL };
    static const char *const ctr[] = { "", "_total", "_created", NULL };
    const char *why = NULL, *sfx;
    struct sample sm;
    int rc, counter = 0;

    if (parse_sample(p, s, len, &sm, &why) < 0) {
        p->out.malformed(p->out.arg, s, len, why);
        return 0;
    }
    memcpy(p->name, sm.name, sm.nlen);
    p->name[sm.nlen] = '\0';
    sfx = suffix_of(p, &sm);
    switch (p->ftype) {
    case F_HISTOGRAM:
        if (sfx && one_of(sfx, hist)) {
            if ((rc = histogram_add(p, &sm, sfx, &why)) == -EINVAL)
                p->out.malformed(p->out.arg, s, len, why);
            return rc < 0 ? (rc == -ENOMEM ? rc : 0) : 1;
        }
        break;
    case F_SUMMARY:
        if (sfx && one_of(sfx, summ)) {
            if (strcmp(sfx, "_created") == 0)
                return 1;
            counter = *sfx != '\0';
            goto emit;
        }
        break;
    case F_COUNTER:
        if (sfx && one_of(sfx, ctr)) {
            if (strcmp(sfx, "_created") == 0)
                return 1;
            counter = 1;
            goto emit;
        }
        break;
    case F_GAUGE:
        if (sfx && *sfx == '\0')
            goto emit;
        break;
    case F_OTHER:
        if (sfx)
            goto emit;
        break;
    default:
        goto emit;
    }
    /* not of the announced family: that one is over, this is untyped */
    family_end(p);
emit:
    p->out.metric(p->out.arg, p->name, p->labels, p->nlabels, counter,
                  sm.value, sm.ts);
    return 1;
}

/* ------------------------------------------------------------------ */
/* Pages                                                               */
/* ------------------------------------------------------------------ */

/* One line s[0..n) without its newline: samples read (0 or 1), or
 * -ENOMEM. */
static int
line_read(struct prom_parser *p, const char *s, size_t n)
{
    size_t i;

    if (n && s[n - 1] == '\r')
        n--;
    i = skip_blank(s, 0, n);
    s += i;
    n -= i;
    if (n == 0)
        return 0;
    if (s[0] == '#') {
        if (n == 5 && memcmp(s, "# EOF", 5) == 0) {
            family_end(p);
            p->done = 1;
            return 0;
        }
        comment_line(p, s, n);
        return 0;
    }
    /* the unescaped values of a line are never longer than it */
    if (n + 1 > p->scap) {
        char *sc = realloc(p->scratch, n + 1);

        if (!sc)
            return -ENOMEM;
        p->scratch = sc;
        p->scap = n + 1;
    }
    return sample_line(p, s, n);
}

/* Appends s[0..n) to the held line; 0 or -ENOMEM. */
static int
line_hold(struct prom_parser *p, const char *s, size_t n)
{
    if (p->llen + n > p->lcap) {
        size_t cap = p->lcap ? p->lcap : 256;
        char *l;

        while (cap < p->llen + n)
            cap *= 2;
        if (cap > p->max_line)
            cap = p->max_line;
        if (!(l = realloc(p->line, cap)))
            return -ENOMEM;
        p->line = l;
        p->lcap = cap;
    }
    memcpy(p->line + p->llen, s, n);
    p->llen += n;
    return 0;
}

/*
 * A line past max_line: its first max_line bytes are reported, wherever
 * the pieces were cut, and the rest skipped.  s[0..n) is what this piece
 * has of it past the held part.
 */
static int
line_too_long(struct prom_parser *p, const char *s, size_t n)
{
    static const char why[] = "line longer than max_line_size";
    int rc;

    if (p->llen == 0) {
        p->out.malformed(p->out.arg, s, p->max_line, why);
        return 0;
    }
    if ((rc = line_hold(p, s, p->max_line - p->llen)) < 0)
        return rc;
    p->out.malformed(p->out.arg, p->line, p->llen, why);
    p->llen = 0;
    return 0;
}

/* Frees buffers a page with a long line grew, so that they do not stay
 * that large for every later page. */
static void
buffers_trim(struct prom_parser *p)
{
    if (p->lcap > KEEP_MAX) {
        free(p->line);
        p->line = NULL;
        p->lcap = 0;
    }
    if (p->scap > KEEP_MAX) {
        free(p->scratch);
        p->scratch = NULL;
        p->scap = 0;
    }
}

void
prom_parser_reset(struct prom_parser *p)
{
    groups_clear(p);
    p->ftype = F_NONE;
    p->flen = 0;
    p->family[0] = '\0';
    p->llen = 0;
    p->skipping = 0;
    p->done = 0;
    buffers_trim(p);
}

void
prom_parser_begin(struct prom_parser *p, int openmetrics)
{
    prom_parser_reset(p);
    p->om = openmetrics;
}

long
prom_parser_feed(struct prom_parser *p, const char *data, size_t len)
{
    long samples = 0;
    int rc = 0;

    while (len && !p->done) {
        const char *nl = memchr(data, '\n', len);
        size_t n = nl ? (size_t)(nl - data) : len;
        size_t step = nl ? n + 1 : n;

        if (p->skipping) {
            p->skipping = !nl;
        } else if (p->llen + n > p->max_line) {
            rc = line_too_long(p, data, n);
            p->skipping = !nl;
        } else if (p->llen == 0 && nl) {
            rc = line_read(p, data, n);         /* whole: read in place */
        } else if ((rc = line_hold(p, data, n)) == 0 && nl) {
            rc = line_read(p, p->line, p->llen);
            p->llen = 0;
        }
        if (rc < 0)
            goto fail;
        samples += rc;
        data += step;
        len -= step;
    }
    return samples;
fail:
    family_end(p);
    p->done = 1;
    p->llen = 0;
    return rc;
}

long
prom_parser_end(struct prom_parser *p)
{
    int rc = 0;

    if (!p->done && !p->skipping && p->llen)
        rc = line_read(p, p->line, p->llen);
    family_end(p);
    p->done = 1;
    p->llen = 0;
    p->skipping = 0;
    buffers_trim(p);
    return rc;
}

long
prom_parse(struct prom_parser *p, const char *body, size_t len,
           int openmetrics)
{
    long samples, last;

    prom_parser_begin(p, openmetrics);
    if ((samples = prom_parser_feed(p, body, len)) < 0)
        return samples;
    if ((last = prom_parser_end(p)) < 0)
        return last;
    return samples + last;
}
