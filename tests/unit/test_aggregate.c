/*
 * The aggregate filter's engine and sketch: exact count/sum/min/max/avg/
 * last/rate against a reference computed here, quantiles within the
 * sketch's relative error, merging, bounded bins, event-time closing,
 * allowed lateness and late drops, the group limit, flush at stop.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "agg.h"

#define S   INT64_C(1000000000)
#define MIN (60 * S)
#define T0  (INT64_C(1767225600) * S)     /* a multiple of every window */

/* ---- helpers ---------------------------------------------------------- */

struct rng {
    uint64_t s;
};

static double
uniform(struct rng *r)
{
    r->s ^= r->s << 13;
    r->s ^= r->s >> 7;
    r->s ^= r->s << 17;
    return ((double)(r->s >> 11) + 0.5) / 9007199254740992.0;
}

struct result {
    char    name[32];
    char    host[16];
    int     fn;
    int64_t time;
    double  value;
};

struct sink {
    struct result r[4096];
    size_t        n;
};

static void
on_emit(void *arg, const struct agg_group *g, int fn, int64_t time,
        double value)
{
    struct sink *k = arg;
    struct result *r = &k->r[k->n++];
    uint32_t i;

    assert_true(k->n < 4096);
    snprintf(r->name, sizeof(r->name), "%s", g->name);
    r->host[0] = '\0';
    for (i = 0; i < g->nlabels; i++)
        if (strcmp(g->labels[i].key, "host") == 0)
            snprintf(r->host, sizeof(r->host), "%s", g->labels[i].v.s);
    r->fn = fn;
    r->time = time;
    r->value = value;
}

static const struct result *
find(const struct sink *k, const char *host, int fn, int64_t time)
{
    size_t i;

    for (i = 0; i < k->n; i++)
        if (k->r[i].fn == fn && k->r[i].time == time &&
            strcmp(k->r[i].host, host) == 0)
            return &k->r[i];
    return NULL;
}

static int
add(struct agg_engine *e, const char *host, int64_t t, double v)
{
    struct vg_kv kv = vg_kv_str("host", host);

    return agg_add(e, "req", &kv, 1, t, v);
}

static int
cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;

    return (x > y) - (x < y);
}

#define ALL_EXACT ((1u << AGG_COUNT) | (1u << AGG_SUM) | (1u << AGG_MIN) | \
                   (1u << AGG_MAX) | (1u << AGG_AVG) | (1u << AGG_LAST) | \
                   (1u << AGG_RATE))

/* ---- the engine ------------------------------------------------------- */

static void
test_exact_functions_match_reference(void **unused)
{
    enum { WINS = 5, HOSTS = 3, PER = 200 };
    static struct sink k;
    struct agg_engine e;
    struct rng r = { 17 };
    double cnt[WINS][HOSTS] = { { 0 } }, sum[WINS][HOSTS] = { { 0 } };
    double mn[WINS][HOSTS], mx[WINS][HOSTS], last[WINS][HOSTS];
    const char *hosts[HOSTS] = { "a", "b", "c" };
    int w, h, i;

    (void)unused;
    k.n = 0;
    agg_init(&e, MIN, 0, ALL_EXACT, 100, on_emit, &k);
    for (w = 0; w < WINS; w++) {
        for (h = 0; h < HOSTS; h++) {
            mn[w][h] = INFINITY;
            mx[w][h] = -INFINITY;
        }
        /* in time order within the window, hosts interleaved */
        for (i = 0; i < PER; i++) {
            int64_t t = T0 + w * MIN + (int64_t)i * (MIN / PER);
            double v = floor(uniform(&r) * 2000) / 8 - 50;

            h = i % HOSTS;
            assert_int_equal(add(&e, hosts[h], t, v), 0);
            cnt[w][h]++;
            sum[w][h] += v;
            mn[w][h] = fmin(mn[w][h], v);
            mx[w][h] = fmax(mx[w][h], v);
            last[w][h] = v;
        }
    }
    agg_flush(&e);
    assert_int_equal(k.n, WINS * HOSTS * 7);
    for (w = 0; w < WINS; w++) {
        for (h = 0; h < HOSTS; h++) {
            int64_t t = T0 + w * MIN;

            assert_true(find(&k, hosts[h], AGG_COUNT, t)->value ==
                        cnt[w][h]);
            assert_true(find(&k, hosts[h], AGG_SUM, t)->value == sum[w][h]);
            assert_true(find(&k, hosts[h], AGG_MIN, t)->value == mn[w][h]);
            assert_true(find(&k, hosts[h], AGG_MAX, t)->value == mx[w][h]);
            assert_true(find(&k, hosts[h], AGG_AVG, t)->value ==
                        sum[w][h] / cnt[w][h]);
            assert_true(find(&k, hosts[h], AGG_LAST, t)->value ==
                        last[w][h]);
            assert_true(find(&k, hosts[h], AGG_RATE, t)->value ==
                        sum[w][h] / 60.0);
            assert_string_equal(find(&k, hosts[h], AGG_SUM, t)->name,
                                "req");
        }
    }
    agg_release(&e);
}

static void
test_window_closes_on_event_time(void **unused)
{
    static struct sink k;
    struct agg_engine e;

    (void)unused;
    k.n = 0;
    agg_init(&e, MIN, 0, 1u << AGG_COUNT, 100, on_emit, &k);
    add(&e, "a", T0 + 1 * S, 1);
    add(&e, "a", T0 + 59 * S, 1);
    assert_int_equal(k.n, 0);           /* the window is still open */
    add(&e, "a", T0 + MIN, 1);          /* the next one closes it */
    assert_int_equal(k.n, 1);
    assert_true(k.r[0].value == 2);
    assert_true(k.r[0].time == T0);
    /* the timer's clock closes the second one with no event */
    agg_advance(&e, T0 + 2 * MIN - 1);
    assert_int_equal(k.n, 1);
    agg_advance(&e, T0 + 2 * MIN);
    assert_int_equal(k.n, 2);
    assert_true(k.r[1].value == 1 && k.r[1].time == T0 + MIN);
    /* closed groups are forgotten: the limit counts open ones only */
    assert_int_equal(e.used, 0);
    agg_release(&e);
}

static void
test_late_samples_within_lateness_count(void **unused)
{
    static struct sink k;
    struct agg_engine e;

    (void)unused;
    k.n = 0;
    agg_init(&e, MIN, 15 * S, (1u << AGG_COUNT) | (1u << AGG_SUM), 100,
             on_emit, &k);
    add(&e, "a", T0 + 10 * S, 1);
    add(&e, "a", T0 + MIN + 5 * S, 100);        /* next window opens */
    assert_int_equal(add(&e, "a", T0 + 50 * S, 2), 0);  /* 15 s late: ok */
    assert_int_equal(k.n, 0);
    add(&e, "a", T0 + MIN + 15 * S, 100);       /* closes the first */
    assert_int_equal(k.n, 2);
    assert_true(find(&k, "a", AGG_COUNT, T0)->value == 2);
    assert_true(find(&k, "a", AGG_SUM, T0)->value == 3);
    /* now too late for the first window */
    assert_int_equal(add(&e, "a", T0 + 59 * S, 5), 1);
    assert_int_equal(e.late_dropped, 1);
    agg_flush(&e);
    assert_true(find(&k, "a", AGG_COUNT, T0 + MIN)->value == 2);
    assert_true(find(&k, "a", AGG_SUM, T0 + MIN)->value == 200);
    agg_release(&e);
}

static void
test_group_limit_drops_new_groups(void **unused)
{
    static struct sink k;
    struct agg_engine e;

    (void)unused;
    k.n = 0;
    agg_init(&e, MIN, 0, 1u << AGG_COUNT, 2, on_emit, &k);
    assert_int_equal(add(&e, "a", T0, 1), 0);
    assert_int_equal(add(&e, "b", T0, 1), 0);
    assert_int_equal(add(&e, "c", T0, 1), 2);
    assert_int_equal(e.groups_dropped, 1);
    assert_int_equal(add(&e, "a", T0 + 1, 1), 0);   /* known: still ok */
    agg_advance(&e, T0 + MIN);
    assert_int_equal(k.n, 2);
    assert_int_equal(add(&e, "c", T0 + MIN, 1), 0); /* room again */
    agg_release(&e);
}

static void
test_fn_names_round_trip(void **unused)
{
    int fn;

    (void)unused;
    for (fn = 0; fn < AGG_NFN; fn++)
        assert_int_equal(agg_fn_parse(agg_fn_name(fn)), fn);
    assert_int_equal(agg_fn_parse("p75"), -1);
    assert_string_equal(agg_fn_name(AGG_P999), "p999");
}

/* ---- the sketch ------------------------------------------------------- */

/* Checks every quantile function against the exact sorted values. */
static void
check_quantiles(const struct dd_sketch *s, double *v, size_t n)
{
    static const double qs[] = { 0, 0.1, 0.5, 0.9, 0.99, 0.999, 1 };
    size_t i;

    qsort(v, n, sizeof(*v), cmp_double);
    for (i = 0; i < sizeof(qs) / sizeof(qs[0]); i++) {
        double exact = v[(size_t)floor(qs[i] * (double)(n - 1))];
        double got = dd_quantile(s, qs[i]);

        if (fabs(got - exact) > DD_ALPHA * fabs(exact) + 1e-12)
            fail_msg("q%g: got %.17g, exact %.17g", qs[i], got, exact);
    }
}

static void
test_quantiles_within_relative_error(void **unused)
{
    enum { N = 100000 };
    double *v = malloc(N * sizeof(double));
    struct rng r = { 99 };
    struct dd_sketch s;
    int dist, i;

    (void)unused;
    assert_non_null(v);
    for (dist = 0; dist < 3; dist++) {
        dd_init(&s);
        for (i = 0; i < N; i++) {
            double u = uniform(&r);

            if (dist == 0)
                v[i] = exp(3 * (u - 0.5) * 4);          /* log-uniform */
            else if (dist == 1)
                v[i] = 1000 * u;                        /* uniform */
            else
                v[i] = (u - 0.3) * 500;                 /* signs mixed */
            assert_int_equal(dd_add(&s, v[i]), 0);
        }
        assert_int_equal(s.count, N);
        check_quantiles(&s, v, N);
        dd_release(&s);
    }
    free(v);
}

static void
test_quantiles_through_the_window(void **unused)
{
    static struct sink k;
    struct agg_engine e;
    double v[1000];
    int i;

    (void)unused;
    k.n = 0;
    agg_init(&e, MIN, 0, AGG_QUANTILES, 10, on_emit, &k);
    for (i = 0; i < 1000; i++) {
        v[i] = 1 + (i * 7919) % 1000;   /* 1..1000, shuffled */
        add(&e, "a", T0 + i * (MIN / 1000), v[i]);
    }
    agg_flush(&e);
    assert_int_equal(k.n, 4);
    assert_true(fabs(find(&k, "a", AGG_P50, T0)->value - 500) <= 5.0);
    assert_true(fabs(find(&k, "a", AGG_P90, T0)->value - 900) <= 9.0);
    assert_true(fabs(find(&k, "a", AGG_P99, T0)->value - 990) <= 9.9);
    assert_true(fabs(find(&k, "a", AGG_P999, T0)->value - 999) <= 9.99);
    agg_release(&e);
}

static void
test_sketch_merge_equals_union(void **unused)
{
    struct dd_sketch a, b, all;
    struct rng r = { 5 };
    int i;

    (void)unused;
    dd_init(&a);
    dd_init(&b);
    dd_init(&all);
    for (i = 0; i < 5000; i++) {
        double x = exp(10 * uniform(&r)) * (i % 5 ? 1 : -1);

        dd_add(i % 2 ? &a : &b, x);
        dd_add(&all, x);
    }
    dd_add(&a, 0);
    dd_add(&all, 0);
    assert_int_equal(dd_merge(&a, &b), 0);
    assert_int_equal(a.count, all.count);
    for (i = 0; i <= 100; i++)
        assert_true(dd_quantile(&a, i / 100.0) ==
                    dd_quantile(&all, i / 100.0));
    dd_release(&a);
    dd_release(&b);
    dd_release(&all);
}

static void
test_sketch_bins_are_bounded(void **unused)
{
    struct dd_sketch s;
    int i;

    (void)unused;
    dd_init(&s);
    /* 1e-200 .. 1e200: far more than DD_MAX_BINS bins of 2% */
    for (i = -200; i <= 200; i++)
        assert_int_equal(dd_add(&s, pow(10, i)), 0);
    for (i = 0; i < 100; i++)
        dd_add(&s, 5e199);
    assert_true(s.pos.n <= DD_MAX_BINS);
    assert_true(s.pos.cap <= DD_MAX_BINS);
    assert_int_equal(s.count, 501);
    /* the top stays accurate; only the lowest bins were folded */
    assert_true(fabs(dd_quantile(&s, 1) - 1e200) <= DD_ALPHA * 1e200);
    assert_true(fabs(dd_quantile(&s, 0.9) - 5e199) <= DD_ALPHA * 5e199);
    assert_true(isnan(dd_quantile(&(struct dd_sketch){ 0 }, 0.5)));
    dd_release(&s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_exact_functions_match_reference),
        cmocka_unit_test(test_window_closes_on_event_time),
        cmocka_unit_test(test_late_samples_within_lateness_count),
        cmocka_unit_test(test_group_limit_drops_new_groups),
        cmocka_unit_test(test_fn_names_round_trip),
        cmocka_unit_test(test_quantiles_within_relative_error),
        cmocka_unit_test(test_quantiles_through_the_window),
        cmocka_unit_test(test_sketch_merge_equals_union),
        cmocka_unit_test(test_sketch_bins_are_bounded),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
