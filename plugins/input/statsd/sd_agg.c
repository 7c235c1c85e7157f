/*
 * input statsd: aggregation (see sd_agg.h).  A series is found by its
 * canonical key: the type byte, then the name and each tag key and value
 * (tags sorted by key, a repeated key keeps its last value), each as a
 * 16-bit length and its bytes, so no byte of a name can forge another
 * series.  The table is open-addressed with linear probing; sets keep
 * 64-bit hashes of their members in an open-addressed set of their own.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"                        /* the DDSketch of filter aggregate */
#include "sd_agg.h"

#define KEY_MAX   4096                  /* bytes of one canonical key */
#define NAME_MAX_ 1024                  /* bytes of a reported name   */
#define EXACT_MAX 256                   /* samples kept for exact pcts */

struct entry {
    uint64_t         hash;
    char            *key;
    uint32_t         klen;
    int              type;              /* enum sd_type */
    int              touched;           /* updated since the last flush */
    double           value;             /* counter sum, gauge value     */
    double           count;             /* samplers: sum of 1/rate      */
    double           sum, min, max;
    struct dd_sketch sk;
    double          *raw;               /* the first EXACT_MAX samples  */
    uint32_t         nraw, rawcap;
    uint64_t        *members;           /* sets: 0 marks a free slot    */
    uint32_t         nmembers, mcap;
    struct entry    *next;              /* gauges kept across a flush   */
};

struct sd_agg {
    struct sd_agg_conf conf;
    struct entry     **slots;
    size_t             cap;             /* a power of two */
    size_t             n;
    char               key[KEY_MAX];
};

static uint64_t
fnv1a(const void *p, size_t n)
{
    const unsigned char *s = p;
    uint64_t h = UINT64_C(14695981039346656037);

    while (n--) {
        h ^= *s++;
        h *= UINT64_C(1099511628211);
    }
    return h;
}

struct sd_agg *
sd_agg_new(const struct sd_agg_conf *c)
{
    struct sd_agg *a = calloc(1, sizeof(*a));

    if (!a)
        return NULL;
    a->conf = *c;
    a->cap = 1024;
    if (!(a->slots = calloc(a->cap, sizeof(*a->slots)))) {
        free(a);
        return NULL;
    }
    return a;
}

static void
entry_free(struct entry *e)
{
    if (!e)
        return;
    dd_release(&e->sk);
    free(e->raw);
    free(e->members);
    free(e->key);
    free(e);
}

void
sd_agg_free(struct sd_agg *a)
{
    size_t i;

    if (!a)
        return;
    for (i = 0; i < a->cap; i++)
        entry_free(a->slots[i]);
    free(a->slots);
    free(a);
}

size_t
sd_agg_series(const struct sd_agg *a)
{
    return a->n;
}

static int
key_put(char *k, size_t *len, const char *p, size_t n)
{
    if (n > 0xffff || *len + 2 + n > KEY_MAX)
        return -EINVAL;
    k[(*len)++] = (char)(n >> 8);
    k[(*len)++] = (char)(n & 0xff);
    memcpy(k + *len, p, n);
    *len += n;
    return 0;
}

static int
tag_cmp(const struct sd_tag *a, const struct sd_tag *b)
{
    size_t n = a->key.len < b->key.len ? a->key.len : b->key.len;
    int c = memcmp(a->key.p, b->key.p, n);

    if (c)
        return c;
    return a->key.len < b->key.len ? -1 : a->key.len > b->key.len;
}

/* The canonical key of m into a->key: its length, or -EINVAL. */
static int
key_build(struct sd_agg *a, const struct sd_metric *m)
{
    const struct sd_tag *t[SD_MAX_TAGS];
    size_t len = 0;
    uint32_t i, j, n = 0;

    /* insertion sort: stable, so of equal keys the last stays last */
    for (i = 0; i < m->ntags; i++) {
        const struct sd_tag *x = &m->tags[i];

        for (j = n; j > 0 && tag_cmp(t[j - 1], x) > 0; j--)
            t[j] = t[j - 1];
        t[j] = x;
        n++;
    }
    a->key[len++] = (char)m->type;
    if (key_put(a->key, &len, m->name.p, m->name.len) < 0)
        return -EINVAL;
    for (i = 0; i < n; i++) {
        if (i + 1 < n && tag_cmp(t[i], t[i + 1]) == 0)
            continue;
        if (key_put(a->key, &len, t[i]->key.p, t[i]->key.len) < 0 ||
            key_put(a->key, &len, t[i]->value.p, t[i]->value.len) < 0)
            return -EINVAL;
    }
    return (int)len;
}

static void
slot_insert(struct entry **slots, size_t cap, struct entry *e)
{
    size_t i = e->hash & (cap - 1);

    while (slots[i])
        i = (i + 1) & (cap - 1);
    slots[i] = e;
}

static int
table_grow(struct sd_agg *a)
{
    size_t cap = a->cap * 2, i;
    struct entry **s = calloc(cap, sizeof(*s));

    if (!s)
        return -ENOMEM;
    for (i = 0; i < a->cap; i++)
        if (a->slots[i])
            slot_insert(s, cap, a->slots[i]);
    free(a->slots);
    a->slots = s;
    a->cap = cap;
    return 0;
}

/* The series of the key in a->key[0..klen): found, made, or NULL. */
static struct entry *
entry_get(struct sd_agg *a, size_t klen, int type, int *rc)
{
    uint64_t h = fnv1a(a->key, klen);
    size_t i = h & (a->cap - 1);
    struct entry *e;

    for (; (e = a->slots[i]); i = (i + 1) & (a->cap - 1))
        if (e->hash == h && e->klen == klen &&
            memcmp(e->key, a->key, klen) == 0)
            return e;
    if (a->n >= a->conf.max_series) {
        *rc = -ENOSPC;
        return NULL;
    }
    if ((a->n + 1) * 2 > a->cap && (*rc = table_grow(a)) < 0)
        return NULL;
    if (!(e = calloc(1, sizeof(*e))) || !(e->key = malloc(klen))) {
        free(e);
        *rc = -ENOMEM;
        return NULL;
    }
    memcpy(e->key, a->key, klen);
    e->klen = (uint32_t)klen;
    e->hash = h;
    e->type = type;
    e->min = INFINITY;
    e->max = -INFINITY;
    dd_init(&e->sk);
    slot_insert(a->slots, a->cap, e);
    a->n++;
    return e;
}

static int
set_add(struct entry *e, uint64_t h, uint32_t max, int *full)
{
    uint32_t i;

    if (h == 0)
        h = 1;
    if (e->mcap && (e->nmembers + 1) * 2 > e->mcap &&
        e->nmembers < max) {
        uint32_t cap = e->mcap * 2, k;
        uint64_t *m = calloc(cap, sizeof(*m));

        if (!m)
            return -ENOMEM;
        for (k = 0; k < e->mcap; k++) {
            if (!e->members[k])
                continue;
            for (i = e->members[k] & (cap - 1); m[i]; i = (i + 1) & (cap - 1))
                ;
            m[i] = e->members[k];
        }
        free(e->members);
        e->members = m;
        e->mcap = cap;
    }
    if (!e->mcap) {
        if (!(e->members = calloc(16, sizeof(*e->members))))
            return -ENOMEM;
        e->mcap = 16;
    }
    for (i = h & (e->mcap - 1); e->members[i]; i = (i + 1) & (e->mcap - 1))
        if (e->members[i] == h)
            return 0;
    /* the table is at most half full while nmembers < max */
    if (e->nmembers >= max) {
        *full = 1;
        return 0;
    }
    e->members[i] = h;
    e->nmembers++;
    return 0;
}

/* Keeps v while the interval has few samples: their percentiles are
 * then exact, not within the sketch's 1%. */
static int
raw_add(struct entry *e, double v)
{
    if (e->sk.count > EXACT_MAX) {
        free(e->raw);
        e->raw = NULL;
        return 0;
    }
    if (e->nraw == e->rawcap) {
        uint32_t cap = e->rawcap ? e->rawcap * 2 : 8;
        double *p = realloc(e->raw, cap * sizeof(*p));

        if (!p)
            return -ENOMEM;
        e->raw = p;
        e->rawcap = cap;
    }
    e->raw[e->nraw++] = v;
    return 0;
}

static int
double_cmp(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return x < y ? -1 : x > y;
}

int
sd_agg_add(struct sd_agg *a, const struct sd_metric *m, int *set_full)
{
    struct entry *e;
    int klen, rc = 0;
    uint32_t i;

    if ((klen = key_build(a, m)) < 0)
        return -EINVAL;
    if (!(e = entry_get(a, (size_t)klen, m->type, &rc)))
        return rc;
    e->touched = 1;
    for (i = 0; i < m->nvalues && rc == 0; i++) {
        double v = m->values[i];

        switch (m->type) {
        case SD_COUNTER:
            e->value += v / m->rate;
            break;
        case SD_GAUGE:
            if (m->delta & (UINT64_C(1) << i))
                e->value += v;
            else
                e->value = v;
            break;
        case SD_SET:
            rc = set_add(e, fnv1a(m->raw[i].p, m->raw[i].len),
                         a->conf.max_set_size, set_full);
            break;
        default:
            e->count += 1 / m->rate;
            e->sum += v;
            if (v < e->min)
                e->min = v;
            if (v > e->max)
                e->max = v;
            rc = dd_add(&e->sk, v);
            if (rc == 0)
                rc = raw_add(e, v);
            break;
        }
    }
    return rc;
}

void
sd_pct_suffix(double pct, char *buf, size_t size)
{
    char *dot;

    snprintf(buf, size, "p%g", pct);
    if ((dot = strchr(buf, '.')))
        *dot = '_';
}

static uint32_t
get16(const char *p)
{
    return (uint32_t)(unsigned char)p[0] << 8 | (unsigned char)p[1];
}

struct report {
    sd_emit_fn    fn;
    void         *arg;
    char          name[NAME_MAX_ + 32];
    size_t        base;                 /* bytes of the metric name */
    struct vg_kv  labels[SD_MAX_TAGS];
    uint32_t      nlabels;
    size_t        count;
};

static void
put(struct report *r, const char *suffix, double v)
{
    snprintf(r->name + r->base, sizeof(r->name) - r->base, ".%s", suffix);
    r->fn(r->arg, r->name, r->labels, r->nlabels, v);
    r->count++;
}

/* Decodes e's key into r's name and labels. */
static void
report_key(struct report *r, const struct entry *e)
{
    const char *p = e->key + 1, *end = e->key + e->klen;
    uint32_t n = get16(p);

    r->base = n < NAME_MAX_ ? n : NAME_MAX_;
    memcpy(r->name, p + 2, r->base);
    r->name[r->base] = '\0';
    p += 2 + n;
    r->nlabels = 0;
    while (p < end && r->nlabels < SD_MAX_TAGS) {
        struct vg_kv *kv = &r->labels[r->nlabels++];

        kv->key_len = get16(p);
        kv->key = p + 2;
        p += 2 + kv->key_len;
        kv->type = VG_VAL_STR;
        kv->len = get16(p);
        kv->v.s = p + 2;
        p += 2 + kv->len;
    }
}

static void
report_entry(struct sd_agg *a, struct report *r, struct entry *e,
             double interval)
{
    char sfx[32];
    uint32_t i;

    report_key(r, e);
    switch (e->type) {
    case SD_COUNTER:
        put(r, "count", e->value);
        put(r, "rate", interval > 0 ? e->value / interval : 0);
        break;
    case SD_GAUGE:
        /* the name as sent: a gauge has one value, no suffix */
        r->fn(r->arg, r->name, r->labels, r->nlabels, e->value);
        r->count++;
        break;
    case SD_SET:
        put(r, "count", e->nmembers);
        break;
    default:
        if (e->raw)
            qsort(e->raw, e->nraw, sizeof(*e->raw), double_cmp);
        put(r, "count", e->count);
        put(r, "sum", e->sum);
        put(r, "min", e->min);
        put(r, "max", e->max);
        for (i = 0; i < a->conf.npct; i++) {
            double q;

            if (e->raw) {
                /* nearest rank: the smallest value with p% at or below */
                double k = ceil(a->conf.pct[i] / 100 * e->nraw);

                q = e->raw[k < 1 ? 0 : (size_t)k - 1];
            } else {
                q = dd_quantile(&e->sk, a->conf.pct[i] / 100);
            }
            /* the sketch's bin values may stray past what was seen */
            if (q < e->min)
                q = e->min;
            if (q > e->max)
                q = e->max;
            sd_pct_suffix(a->conf.pct[i], sfx, sizeof(sfx));
            put(r, sfx, q);
        }
        break;
    }
}

size_t
sd_agg_flush(struct sd_agg *a, double interval, sd_emit_fn fn, void *arg)
{
    struct report r;
    struct entry *keep = NULL;
    size_t i, kept = 0;

    r.fn = fn;
    r.arg = arg;
    r.count = 0;
    for (i = 0; i < a->cap; i++) {
        struct entry *e = a->slots[i];

        if (!e)
            continue;
        a->slots[i] = NULL;
        if (e->type == SD_GAUGE || e->touched)
            report_entry(a, &r, e, interval);
        if (e->type == SD_GAUGE) {
            e->touched = 0;
            e->next = keep;
            keep = e;
            kept++;
        } else {
            entry_free(e);
        }
    }
    while (keep) {
        struct entry *e = keep;

        keep = e->next;
        slot_insert(a->slots, a->cap, e);
    }
    a->n = kept;
    return r.count;
}
