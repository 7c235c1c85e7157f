/*
 * Tumbling windows in event time.  A group (a metric name and the kept
 * labels) holds its open windows oldest first; a window [start, start + w)
 * closes once the watermark (the latest event time seen, or what the
 * caller advances it to) reaches its end plus the allowed lateness, and
 * its results go out then.  A sample for a window that has closed is late
 * and dropped.  The closing scan runs only when the watermark passes the
 * earliest pending close, so its cost is per window, not per sample.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"

static const char *const fn_names[AGG_NFN] = {
    "count", "sum", "min", "max", "avg", "last", "rate",
    "p50", "p90", "p99", "p999",
};

static const double fn_q[AGG_NFN] = {
    [AGG_P50] = 0.5, [AGG_P90] = 0.9, [AGG_P99] = 0.99, [AGG_P999] = 0.999,
};

const char *
agg_fn_name(int fn)
{
    return fn >= 0 && fn < AGG_NFN ? fn_names[fn] : "?";
}

int
agg_fn_parse(const char *name)
{
    int i;

    for (i = 0; i < AGG_NFN; i++)
        if (strcmp(name, fn_names[i]) == 0)
            return i;
    return -1;
}

void
agg_init(struct agg_engine *e, int64_t window, int64_t lateness,
         uint32_t fns, size_t max_groups, agg_emit_fn emit, void *arg)
{
    memset(e, 0, sizeof(*e));
    e->window = window;
    e->lateness = lateness;
    e->fns = fns;
    e->max_groups = max_groups;
    e->emit = emit;
    e->arg = arg;
    e->watermark = INT64_MIN;
    e->next_close = INT64_MAX;
}

static void
win_free(struct agg_win *w)
{
    if (w->sk) {
        dd_release(w->sk);
        free(w->sk);
    }
    free(w);
}

void
agg_release(struct agg_engine *e)
{
    size_t i;

    for (i = 0; i < e->cap; i++) {
        struct agg_win *w = e->tab[i].wins, *next;

        for (; w; w = next) {
            next = w->next;
            win_free(w);
        }
        free(e->tab[i].labels);
    }
    free(e->tab);
    e->tab = NULL;
    e->cap = e->used = 0;
}

/* ---- groups ------------------------------------------------------------ */

static uint64_t
mix(uint64_t h, const void *p, size_t n)
{
    const unsigned char *s = p;
    size_t i;

    for (i = 0; i < n; i++) {
        h ^= s[i];
        h *= 0x100000001b3ULL;           /* FNV-1a */
    }
    return h;
}

static uint64_t
group_hash(const char *name, const struct vg_kv *kv, uint32_t n)
{
    uint64_t h = mix(0xcbf29ce484222325ULL, name, strlen(name) + 1);
    uint32_t i;

    for (i = 0; i < n; i++) {
        h = mix(h, kv[i].key, kv[i].key_len);
        h = mix(h, "=", 1);
        h = mix(h, kv[i].v.s, kv[i].len);
        h = mix(h, "", 1);
    }
    return h ? h : 1;
}

static int
group_is(const struct agg_group *g, const char *name,
         const struct vg_kv *kv, uint32_t n)
{
    uint32_t i;

    if (g->nlabels != n || strcmp(g->name, name) != 0)
        return 0;
    for (i = 0; i < n; i++)
        if (g->labels[i].key_len != kv[i].key_len ||
            g->labels[i].len != kv[i].len ||
            memcmp(g->labels[i].key, kv[i].key, kv[i].key_len) != 0 ||
            memcmp(g->labels[i].v.s, kv[i].v.s, kv[i].len) != 0)
            return 0;
    return 1;
}

/* One allocation: the label array, then every string, then the name. */
static int
group_set(struct agg_group *g, uint64_t hash, const char *name,
          const struct vg_kv *kv, uint32_t n)
{
    size_t bytes = strlen(name) + 1, i;
    struct vg_kv *copy;
    char *p;

    for (i = 0; i < n; i++)
        bytes += kv[i].key_len + kv[i].len + 2;
    if (!(copy = malloc(n * sizeof(*copy) + bytes)))
        return -ENOMEM;
    p = (char *)(copy + n);
    for (i = 0; i < n; i++) {
        copy[i] = kv[i];
        memcpy(p, kv[i].key, kv[i].key_len);
        p[kv[i].key_len] = '\0';
        copy[i].key = p;
        p += kv[i].key_len + 1;
        memcpy(p, kv[i].v.s, kv[i].len);
        p[kv[i].len] = '\0';
        copy[i].v.s = p;
        copy[i].type = VG_VAL_STR;
        p += kv[i].len + 1;
    }
    strcpy(p, name);
    g->hash = hash;
    g->name = p;
    g->labels = copy;
    g->nlabels = n;
    g->wins = NULL;
    return 0;
}

static int
table_grow(struct agg_engine *e)
{
    size_t cap = e->cap ? e->cap * 2 : 64, i;
    struct agg_group *tab = calloc(cap, sizeof(*tab));

    if (!tab)
        return -ENOMEM;
    for (i = 0; i < e->cap; i++) {
        size_t j;

        if (!e->tab[i].hash)
            continue;
        for (j = e->tab[i].hash & (cap - 1); tab[j].hash;
             j = (j + 1) & (cap - 1))
            ;
        tab[j] = e->tab[i];
    }
    free(e->tab);
    e->tab = tab;
    e->cap = cap;
    return 0;
}

/* The group, created when absent; NULL with *rc = 2 (full) or -ENOMEM. */
static struct agg_group *
group_get(struct agg_engine *e, const char *name, const struct vg_kv *kv,
          uint32_t n, int *rc)
{
    uint64_t h = group_hash(name, kv, n);
    size_t j;

    if (e->cap) {
        for (j = h & (e->cap - 1); e->tab[j].hash; j = (j + 1) &
             (e->cap - 1))
            if (e->tab[j].hash == h && group_is(&e->tab[j], name, kv, n))
                return &e->tab[j];
    }
    if (e->used >= e->max_groups) {
        *rc = 2;
        return NULL;
    }
    if ((e->used + 1) * 10 > e->cap * 7 && (*rc = table_grow(e)) < 0)
        return NULL;
    for (j = h & (e->cap - 1); e->tab[j].hash; j = (j + 1) & (e->cap - 1))
        ;
    if ((*rc = group_set(&e->tab[j], h, name, kv, n)) < 0)
        return NULL;
    e->used++;
    return &e->tab[j];
}

/* ---- windows ----------------------------------------------------------- */

static int64_t
floor_div(int64_t a, int64_t b)
{
    int64_t q = a / b;

    return (a % b != 0 && (a < 0) != (b < 0)) ? q - 1 : q;
}

static int64_t
close_at(const struct agg_engine *e, int64_t start)
{
    return start + e->window + e->lateness;
}

static void
win_emit(struct agg_engine *e, const struct agg_group *g,
         const struct agg_win *w)
{
    int fn;

    for (fn = 0; fn < AGG_NFN; fn++) {
        double v;

        if (!(e->fns & (1u << fn)))
            continue;
        switch (fn) {
        case AGG_COUNT: v = (double)w->count; break;
        case AGG_SUM:   v = w->sum; break;
        case AGG_MIN:   v = w->min; break;
        case AGG_MAX:   v = w->max; break;
        case AGG_AVG:   v = w->sum / (double)w->count; break;
        case AGG_LAST:  v = w->last; break;
        case AGG_RATE:  v = w->sum / ((double)e->window / 1e9); break;
        default:        v = dd_quantile(w->sk, fn_q[fn]); break;
        }
        e->emit(e->arg, g, fn, w->start, v);
    }
}

static struct agg_win *
win_get(struct agg_engine *e, struct agg_group *g, int64_t start)
{
    struct agg_win **pp = &g->wins, *w;

    while (*pp && (*pp)->start < start)
        pp = &(*pp)->next;
    w = *pp;
    if (w && w->start == start)
        return w;
    if (!(w = calloc(1, sizeof(*w))))
        return NULL;
    if (e->fns & AGG_QUANTILES) {
        if (!(w->sk = malloc(sizeof(*w->sk)))) {
            free(w);
            return NULL;
        }
        dd_init(w->sk);
    }
    w->start = start;
    w->min = INFINITY;
    w->max = -INFINITY;
    w->last_t = INT64_MIN;
    w->next = *pp;
    *pp = w;
    if (close_at(e, start) < e->next_close)
        e->next_close = close_at(e, start);
    return w;
}

int
agg_add(struct agg_engine *e, const char *name, const struct vg_kv *labels,
        uint32_t nlabels, int64_t t, double v)
{
    int64_t start = floor_div(t, e->window) * e->window;
    struct agg_group *g;
    struct agg_win *w;
    int rc = -ENOMEM;

    if (isnan(v))
        return 0;
    if (e->watermark != INT64_MIN && close_at(e, start) <= e->watermark) {
        e->late_dropped++;
        return 1;
    }
    if (!(g = group_get(e, name, labels, nlabels, &rc))) {
        if (rc == 2)
            e->groups_dropped++;
        return rc;
    }
    if (!(w = win_get(e, g, start)))
        return -ENOMEM;
    if (w->sk && dd_add(w->sk, v) < 0)
        return -ENOMEM;
    w->count++;
    w->sum += v;
    if (v < w->min)
        w->min = v;
    if (v > w->max)
        w->max = v;
    if (t >= w->last_t) {
        w->last = v;
        w->last_t = t;
    }
    agg_advance(e, t);
    return 0;
}

/*
 * Drops the groups left without an open window (their labels too), so
 * max_groups bounds the groups of the open windows, not every group ever
 * seen.  Runs after a closing scan: once per window, not per sample.
 */
static void
table_compact(struct agg_engine *e)
{
    struct agg_group *tab;
    size_t i;

    if (e->cap == 0)
        return;                         /* no table yet */
    if (!(tab = calloc(e->cap, sizeof(*tab))))
        return;                         /* keep them: still correct */
    e->used = 0;
    for (i = 0; i < e->cap; i++) {
        size_t j;

        if (!e->tab[i].hash)
            continue;
        if (!e->tab[i].wins) {
            free(e->tab[i].labels);
            continue;
        }
        for (j = e->tab[i].hash & (e->cap - 1); tab[j].hash;
             j = (j + 1) & (e->cap - 1))
            ;
        tab[j] = e->tab[i];
        e->used++;
    }
    free(e->tab);
    e->tab = tab;
}

void
agg_advance(struct agg_engine *e, int64_t watermark)
{
    size_t i;

    if (watermark > e->watermark)
        e->watermark = watermark;
    if (e->watermark < e->next_close)
        return;
    e->next_close = INT64_MAX;
    for (i = 0; i < e->cap; i++) {
        struct agg_group *g = &e->tab[i];

        if (!g->hash)
            continue;
        while (g->wins && close_at(e, g->wins->start) <= e->watermark) {
            struct agg_win *w = g->wins;

            g->wins = w->next;
            win_emit(e, g, w);
            win_free(w);
        }
        if (g->wins && close_at(e, g->wins->start) < e->next_close)
            e->next_close = close_at(e, g->wins->start);
    }
    table_compact(e);
}

void
agg_flush(struct agg_engine *e)
{
    size_t i;

    for (i = 0; i < e->cap; i++) {
        struct agg_group *g = &e->tab[i];

        while (g->hash && g->wins) {
            struct agg_win *w = g->wins;

            g->wins = w->next;
            win_emit(e, g, w);
            win_free(w);
        }
    }
    e->next_close = INT64_MAX;
    table_compact(e);
}
