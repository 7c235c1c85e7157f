/*
 * DDSketch (Masson, Rim, Lee, VLDB 2019): values fall into logarithmic
 * bins of ratio gamma = (1 + a) / (1 - a), so a bin's representative is
 * within a relative error a of every value in it, whatever the range.
 * Sketches with the same a merge by adding bins.  A store keeps at most
 * DD_MAX_BINS bins; beyond, the lowest ones are folded together (only the
 * smallest quantiles then lose accuracy), so memory stays bounded.
 */
#include <errno.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"

static double
gamma_(void)
{
    return (1 + DD_ALPHA) / (1 - DD_ALPHA);
}

static int32_t
index_of(double v)
{
    return (int32_t)ceil(log(v) / log(gamma_()));
}

static double
value_of(int32_t i)
{
    double g = gamma_();

    return 2 * pow(g, i) / (g + 1);
}

void
dd_init(struct dd_sketch *s)
{
    memset(s, 0, sizeof(*s));
}

void
dd_release(struct dd_sketch *s)
{
    free(s->pos.bins);
    free(s->neg.bins);
    memset(s, 0, sizeof(*s));
}

/* Makes bins [lo, hi] addressable (hi - lo < DD_MAX_BINS). */
static int
store_span(struct dd_store *st, int32_t lo, int32_t hi)
{
    uint32_t need = (uint32_t)(hi - lo + 1);

    if (need > st->cap) {
        uint32_t cap = st->cap ? st->cap : 64;
        uint64_t *p;

        while (cap < need)
            cap *= 2;
        if (cap > DD_MAX_BINS)
            cap = DD_MAX_BINS;
        if (!(p = realloc(st->bins, cap * sizeof(*p))))
            return -ENOMEM;
        st->bins = p;
        st->cap = cap;
    }
    if (st->n == 0) {
        st->off = lo;
    } else if (lo < st->off) {
        uint32_t shift = (uint32_t)(st->off - lo);

        memmove(st->bins + shift, st->bins, st->n * sizeof(*st->bins));
        memset(st->bins, 0, shift * sizeof(*st->bins));
        st->n += shift;
        st->off = lo;
    }
    if ((uint32_t)(hi - st->off + 1) > st->n) {
        uint32_t n = (uint32_t)(hi - st->off + 1);

        memset(st->bins + st->n, 0, (n - st->n) * sizeof(*st->bins));
        st->n = n;
    }
    return 0;
}

/* Folds the bins below keep_lo into the bin keep_lo. */
static void
store_fold(struct dd_store *st, int32_t keep_lo)
{
    uint32_t drop = (uint32_t)(keep_lo - st->off), k;
    uint64_t sum = 0;

    if (drop >= st->n) {
        for (k = 0; k < st->n; k++)
            sum += st->bins[k];
        st->bins[0] = sum;
        st->n = 1;
        st->off = keep_lo;
        return;
    }
    for (k = 0; k < drop; k++)
        sum += st->bins[k];
    memmove(st->bins, st->bins + drop, (st->n - drop) * sizeof(*st->bins));
    st->n -= drop;
    st->off = keep_lo;
    st->bins[0] += sum;
}

static int
store_add(struct dd_store *st, int32_t i, uint64_t c)
{
    int32_t lo = i, hi = i;
    int rc;

    if (st->n) {
        int32_t top = st->off + (int32_t)st->n - 1;

        lo = st->off < i ? st->off : i;
        hi = top > i ? top : i;
        if (hi - lo + 1 > DD_MAX_BINS) {
            int32_t keep_lo = hi - DD_MAX_BINS + 1;

            if (st->off < keep_lo)
                store_fold(st, keep_lo);
            if (i < keep_lo)
                i = keep_lo;
            lo = st->off < i ? st->off : i;
        }
    }
    if ((rc = store_span(st, lo, hi)) < 0)
        return rc;
    st->bins[i - st->off] += c;
    st->count += c;
    return 0;
}

int
dd_add(struct dd_sketch *s, double v)
{
    int rc = 0;

    if (isnan(v))
        return 0;
    if (fabs(v) < DD_ZERO)
        s->zero++;
    else if (v > 0)
        rc = store_add(&s->pos, index_of(v), 1);
    else
        rc = store_add(&s->neg, index_of(-v), 1);
    if (rc == 0)
        s->count++;
    return rc;
}

static int
store_merge(struct dd_store *dst, const struct dd_store *src)
{
    uint32_t k;
    int rc;

    for (k = 0; k < src->n; k++)
        if (src->bins[k] &&
            (rc = store_add(dst, src->off + (int32_t)k, src->bins[k])) < 0)
            return rc;
    return 0;
}

int
dd_merge(struct dd_sketch *dst, const struct dd_sketch *src)
{
    int rc;

    if ((rc = store_merge(&dst->pos, &src->pos)) < 0 ||
        (rc = store_merge(&dst->neg, &src->neg)) < 0)
        return rc;
    dst->zero += src->zero;
    dst->count = dst->pos.count + dst->neg.count + dst->zero;
    return 0;
}

double
dd_quantile(const struct dd_sketch *s, double q)
{
    uint64_t rank, seen = 0;
    int64_t k;

    if (s->count == 0)
        return NAN;
    if (q < 0)
        q = 0;
    if (q > 1)
        q = 1;
    rank = (uint64_t)floor(q * (double)(s->count - 1));
    /* ascending: the most negative first, then zeros, then positives */
    for (k = (int64_t)s->neg.n - 1; k >= 0; k--) {
        seen += s->neg.bins[k];
        if (seen > rank)
            return -value_of(s->neg.off + (int32_t)k);
    }
    seen += s->zero;
    if (seen > rank)
        return 0;
    for (k = 0; k < (int64_t)s->pos.n; k++) {
        seen += s->pos.bins[k];
        if (seen > rank)
            return value_of(s->pos.off + (int32_t)k);
    }
    return value_of(s->pos.off + (int32_t)s->pos.n - 1);
}
