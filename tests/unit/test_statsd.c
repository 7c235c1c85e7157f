/*
 * input statsd: the line parser (every line form, tags, sample rates,
 * malformed lines) and the aggregation (flush values, gauges kept across
 * flushes, sets, percentiles, limits), compiled in from the plugin.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sd_agg.h"
#include "sd_line.h"

static struct sd_metric m;

static int
parse(const char *line)
{
    const char *why;

    return sd_parse_line(line, strlen(line), &m, &why);
}

static void
assert_str(struct sd_str s, const char *want)
{
    char buf[256];

    assert_true(s.len < sizeof(buf));
    memcpy(buf, s.p, s.len);
    buf[s.len] = '\0';
    assert_string_equal(buf, want);
}

/* ---- parser ------------------------------------------------------------ */

static void
parse_counter(void **state)
{
    (void)state;
    assert_int_equal(parse("page.views:1|c"), 0);
    assert_str(m.name, "page.views");
    assert_int_equal(m.type, SD_COUNTER);
    assert_int_equal(m.nvalues, 1);
    assert_true(m.values[0] == 1);
    assert_true(m.rate == 1);
    assert_int_equal(m.ntags, 0);
}

static void
parse_every_type(void **state)
{
    static const struct { const char *line; int type; } cases[] = {
        { "a:1|c", SD_COUNTER }, { "a:1|g", SD_GAUGE },
        { "a:1|ms", SD_TIMER }, { "a:1|h", SD_HISTOGRAM },
        { "a:1|d", SD_DISTRIBUTION }, { "a:x|s", SD_SET },
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        assert_int_equal(parse(cases[i].line), 0);
        assert_int_equal(m.type, cases[i].type);
    }
}

static void
parse_gauge_deltas(void **state)
{
    (void)state;
    assert_int_equal(parse("g:+5|g"), 0);
    assert_true(m.values[0] == 5);
    assert_int_equal(m.delta, 1);
    assert_int_equal(parse("g:-2.5|g"), 0);
    assert_true(m.values[0] == -2.5);
    assert_int_equal(m.delta, 1);
    assert_int_equal(parse("g:7|g"), 0);
    assert_int_equal(m.delta, 0);
    /* a sign on a counter is just a negative value */
    assert_int_equal(parse("c:-3|c"), 0);
    assert_true(m.values[0] == -3);
    assert_int_equal(m.delta, 0);
}

static void
parse_sample_rate(void **state)
{
    (void)state;
    assert_int_equal(parse("a:1|c|@0.1"), 0);
    assert_true(m.rate == 0.1);
    assert_int_equal(parse("a:1|ms|@1"), 0);
    assert_true(m.rate == 1);
    assert_int_equal(parse("a:1|c|@0"), -EINVAL);
    assert_int_equal(parse("a:1|c|@1.5"), -EINVAL);
    assert_int_equal(parse("a:1|c|@x"), -EINVAL);
}

static void
parse_dogstatsd_tags(void **state)
{
    (void)state;
    assert_int_equal(parse("req:3|c|@0.5|#env:prod,canary,url:a:b"), 0);
    assert_int_equal(m.ntags, 3);
    assert_str(m.tags[0].key, "env");
    assert_str(m.tags[0].value, "prod");
    assert_str(m.tags[1].key, "canary");
    assert_str(m.tags[1].value, "true");
    /* the first ':' splits: the value may hold more */
    assert_str(m.tags[2].key, "url");
    assert_str(m.tags[2].value, "a:b");
    assert_true(m.rate == 0.5);
    /* tags before the rate, empty tags skipped */
    assert_int_equal(parse("req:3|c|#a:1,,b:2,|@0.25"), 0);
    assert_int_equal(m.ntags, 2);
    assert_true(m.rate == 0.25);
    assert_int_equal(parse("req:3|c|#:v"), -EINVAL);
}

static void
parse_multi_value(void **state)
{
    (void)state;
    assert_int_equal(parse("lat:1:2.5:3|h"), 0);
    assert_int_equal(m.nvalues, 3);
    assert_true(m.values[0] == 1);
    assert_true(m.values[1] == 2.5);
    assert_true(m.values[2] == 3);
    assert_int_equal(parse("users:alice:bob|s"), 0);
    assert_int_equal(m.nvalues, 2);
    assert_str(m.raw[1], "bob");
    assert_int_equal(parse("lat:1::3|h"), -EINVAL);
    assert_int_equal(parse("lat:1:|h"), -EINVAL);
}

static void
parse_skips_unknown_fields(void **state)
{
    (void)state;
    assert_int_equal(parse("a:1|c|c:abc123|T1700000000|#k:v|e:x"), 0);
    assert_int_equal(m.ntags, 1);
    assert_str(m.tags[0].key, "k");
    assert_true(m.values[0] == 1);
}

static void
parse_no_metric_lines(void **state)
{
    (void)state;
    assert_int_equal(parse(""), 1);
    assert_int_equal(parse("\r"), 1);
    assert_int_equal(parse("_e{5,4}:title|text"), 1);
    assert_int_equal(parse("_sc|check|0"), 1);
}

static void
parse_malformed(void **state)
{
    static const char *bad[] = {
        "novalue", "a|c", ":1|c", "a:1", "a:1|", "a:1|x", "a:1|cc",
        "a:abc|c", "a:1e|c", "a:inf|g", "a:nan|g", "a:0x10|c", "a: 1|c",
        "a:1|c|@", "a:1.2.3|ms",
    };
    const char *why;
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc = sd_parse_line(bad[i], strlen(bad[i]), &m, &why);

        if (rc != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
        assert_non_null(why);
    }
    /* a NUL would cut the reported name short, merging series */
    assert_int_equal(sd_parse_line("a\0b:1|g", 7, &m, &why), -EINVAL);
    assert_string_equal(why, "NUL byte in the metric name");
}

static void
parse_numbers(void **state)
{
    double v;

    (void)state;
    assert_int_equal(sd_parse_double("0.1", 3, &v), 0);
    assert_true(v == 0.1);
    assert_int_equal(sd_parse_double("123456.789", 10, &v), 0);
    assert_true(v == 123456.789);
    assert_int_equal(sd_parse_double("1e3", 3, &v), 0);
    assert_true(v == 1000);
    assert_int_equal(sd_parse_double("12345678901234567890", 20, &v), 0);
    assert_true(v == 12345678901234567890.0);
    assert_int_equal(sd_parse_double("-0.000001", 9, &v), 0);
    assert_true(v == -0.000001);
    assert_int_equal(sd_parse_double(".5", 2, &v), 0);
    assert_true(v == 0.5);
    assert_int_equal(sd_parse_double("-", 1, &v), -EINVAL);
    assert_int_equal(sd_parse_double("", 0, &v), -EINVAL);
}

/* ---- aggregation ------------------------------------------------------- */

struct got {
    char   name[128];
    char   labels[256];
    double value;
};

static struct got got[256];
static size_t ngot;

static void
on_value(void *arg, const char *name, const struct vg_kv *labels,
         uint32_t n, double value)
{
    struct got *g = &got[ngot++];
    uint32_t i;
    size_t off = 0;

    (void)arg;
    assert_true(ngot <= 256);
    snprintf(g->name, sizeof(g->name), "%s", name);
    g->labels[0] = '\0';
    for (i = 0; i < n; i++)
        off += (size_t)snprintf(g->labels + off, sizeof(g->labels) - off,
                                "%s%.*s=%.*s", i ? "," : "",
                                (int)labels[i].key_len, labels[i].key,
                                (int)labels[i].len, labels[i].v.s);
    g->value = value;
}

static const struct got *
find(const char *name, const char *labels)
{
    size_t i;

    for (i = 0; i < ngot; i++)
        if (!strcmp(got[i].name, name) && !strcmp(got[i].labels, labels))
            return &got[i];
    fail_msg("no %s{%s} among %zu values", name, labels, ngot);
    return NULL;
}

static struct sd_agg *
agg_new(uint32_t max_set, uint32_t max_series)
{
    struct sd_agg_conf c = { .pct = { 50, 90, 99.9 }, .npct = 3,
                             .max_set_size = max_set,
                             .max_series = max_series };
    struct sd_agg *a = sd_agg_new(&c);

    assert_non_null(a);
    ngot = 0;
    return a;
}

static int
feed(struct sd_agg *a, const char *line)
{
    int full = 0, rc;

    if (parse(line) != 0)
        fail_msg("cannot parse '%s'", line);
    rc = sd_agg_add(a, &m, &full);
    return rc < 0 ? rc : full;
}

static void
agg_counter_count_and_rate(void **state)
{
    struct sd_agg *a = agg_new(100, 100);

    (void)state;
    assert_int_equal(feed(a, "hits:1|c"), 0);
    assert_int_equal(feed(a, "hits:2|c"), 0);
    assert_int_equal(feed(a, "hits:1|c|@0.1"), 0);  /* counts as 10 */
    assert_int_equal(sd_agg_flush(a, 2.0, on_value, NULL), 2);
    assert_true(find("hits.count", "")->value == 13);
    assert_true(find("hits.rate", "")->value == 6.5);
    /* counters are per interval: nothing is left to report */
    ngot = 0;
    assert_int_equal(sd_agg_flush(a, 2.0, on_value, NULL), 0);
    assert_int_equal(sd_agg_series(a), 0);
    sd_agg_free(a);
}

static void
agg_gauges_kept_across_flushes(void **state)
{
    struct sd_agg *a = agg_new(100, 100);

    (void)state;
    feed(a, "temp:20|g");
    feed(a, "temp:+5|g");
    feed(a, "temp:-1.5|g");
    feed(a, "fresh:-3|g");              /* a change from 0 */
    assert_int_equal(sd_agg_flush(a, 1.0, on_value, NULL), 2);
    assert_true(find("temp", "")->value == 23.5);
    assert_true(find("fresh", "")->value == -3);
    ngot = 0;
    assert_int_equal(sd_agg_flush(a, 1.0, on_value, NULL), 2);
    assert_true(find("temp", "")->value == 23.5);
    feed(a, "temp:+1|g");
    ngot = 0;
    sd_agg_flush(a, 1.0, on_value, NULL);
    assert_true(find("temp", "")->value == 24.5);
    sd_agg_free(a);
}

static void
agg_timer_stats_and_percentiles(void **state)
{
    struct sd_agg *a = agg_new(100, 100);
    char line[64];
    int i;

    (void)state;
    for (i = 1; i <= 1000; i++) {
        snprintf(line, sizeof(line), "lat:%d|ms", i);
        feed(a, line);
    }
    feed(a, "lat:5|ms|@0.5");           /* one more, counts as 2 */
    assert_int_equal(sd_agg_flush(a, 10, on_value, NULL), 7);
    assert_true(find("lat.count", "")->value == 1002);
    assert_true(find("lat.sum", "")->value == 500505);
    assert_true(find("lat.min", "")->value == 1);
    assert_true(find("lat.max", "")->value == 1000);
    /* the sketch's relative error is 1% */
    assert_true(fabs(find("lat.p50", "")->value - 500) <= 5);
    assert_true(fabs(find("lat.p90", "")->value - 900) <= 9);
    assert_true(fabs(find("lat.p99_9", "")->value - 999) <= 10);
    sd_agg_free(a);
}

static void
agg_one_sample_percentiles_exact(void **state)
{
    struct sd_agg *a = agg_new(100, 100);

    (void)state;
    feed(a, "size:1234.5|d");
    sd_agg_flush(a, 10, on_value, NULL);
    assert_true(find("size.p50", "")->value == 1234.5);
    assert_true(find("size.p99_9", "")->value == 1234.5);
    sd_agg_free(a);
}

static void
agg_few_samples_percentiles_nearest_rank(void **state)
{
    struct sd_agg *a = agg_new(100, 100);

    (void)state;
    feed(a, "t:3:1:2|ms");
    feed(a, "t:4|ms");
    sd_agg_flush(a, 10, on_value, NULL);
    assert_true(find("t.p50", "")->value == 2);
    assert_true(find("t.p90", "")->value == 4);
    assert_true(find("t.p99_9", "")->value == 4);
    sd_agg_free(a);
}

static void
agg_multi_value_histogram(void **state)
{
    struct sd_agg *a = agg_new(100, 100);

    (void)state;
    feed(a, "h:1:2:3:4|h");
    sd_agg_flush(a, 10, on_value, NULL);
    assert_true(find("h.count", "")->value == 4);
    assert_true(find("h.sum", "")->value == 10);
    sd_agg_free(a);
}

static void
agg_sets_count_distinct(void **state)
{
    struct sd_agg *a = agg_new(1000, 100);
    char line[64];
    int i;

    (void)state;
    feed(a, "users:alice|s");
    feed(a, "users:bob|s");
    feed(a, "users:alice|s");
    feed(a, "users:carol:bob|s");
    for (i = 0; i < 500; i++) {
        snprintf(line, sizeof(line), "many:%d|s", i % 300);
        feed(a, line);
    }
    sd_agg_flush(a, 10, on_value, NULL);
    assert_true(find("users.count", "")->value == 3);
    assert_true(find("many.count", "")->value == 300);
    sd_agg_free(a);
}

static void
agg_set_bounded(void **state)
{
    struct sd_agg *a = agg_new(10, 100);
    char line[64];
    int i, full = 0;

    (void)state;
    for (i = 0; i < 50; i++) {
        snprintf(line, sizeof(line), "s:%d|s", i);
        full |= feed(a, line);
    }
    assert_int_equal(full, 1);
    /* a member already counted is still recognised */
    assert_int_equal(feed(a, "s:3|s"), 0);
    sd_agg_flush(a, 10, on_value, NULL);
    assert_true(find("s.count", "")->value == 10);
    sd_agg_free(a);
}

static void
agg_tags_make_series(void **state)
{
    struct sd_agg *a = agg_new(100, 100);

    (void)state;
    feed(a, "req:1|c|#b:2,a:1");
    feed(a, "req:1|c|#a:1,b:2");        /* same series, tags reordered */
    feed(a, "req:5|c|#a:9");
    feed(a, "req:7|c");
    feed(a, "req:1|c|#a:1,a:3");        /* a repeated key: the last wins */
    sd_agg_flush(a, 1, on_value, NULL);
    assert_true(find("req.count", "a=1,b=2")->value == 2);
    assert_true(find("req.count", "a=9")->value == 5);
    assert_true(find("req.count", "")->value == 7);
    assert_true(find("req.count", "a=3")->value == 1);
    assert_int_equal(ngot, 8);
    sd_agg_free(a);
}

static void
agg_same_name_other_type_separate(void **state)
{
    struct sd_agg *a = agg_new(100, 100);

    (void)state;
    feed(a, "x:1|c");
    feed(a, "x:4|g");
    sd_agg_flush(a, 1, on_value, NULL);
    assert_true(find("x.count", "")->value == 1);
    assert_true(find("x", "")->value == 4);
    sd_agg_free(a);
}

static void
agg_max_series_refuses_new(void **state)
{
    struct sd_agg *a = agg_new(100, 2);

    (void)state;
    assert_int_equal(feed(a, "a:1|c"), 0);
    assert_int_equal(feed(a, "b:1|c"), 0);
    assert_int_equal(feed(a, "c:1|c"), -ENOSPC);
    assert_int_equal(feed(a, "a:1|c"), 0);  /* known ones still count */
    sd_agg_flush(a, 1, on_value, NULL);
    assert_true(find("a.count", "")->value == 2);
    sd_agg_free(a);
}

static void
agg_table_grows(void **state)
{
    struct sd_agg *a = agg_new(100, 100000);
    char line[64];
    int i;

    (void)state;
    for (i = 0; i < 5000; i++) {
        snprintf(line, sizeof(line), "g%d:%d|g", i, i);
        assert_int_equal(feed(a, line), 0);
    }
    for (i = 0; i < 5000; i++) {
        snprintf(line, sizeof(line), "g%d:+1|g", i);
        assert_int_equal(feed(a, line), 0);
    }
    assert_int_equal(sd_agg_series(a), 5000);
    sd_agg_free(a);
}

static void
pct_suffixes(void **state)
{
    char b[32];

    (void)state;
    sd_pct_suffix(99, b, sizeof(b));
    assert_string_equal(b, "p99");
    sd_pct_suffix(99.9, b, sizeof(b));
    assert_string_equal(b, "p99_9");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(parse_counter),
        cmocka_unit_test(parse_every_type),
        cmocka_unit_test(parse_gauge_deltas),
        cmocka_unit_test(parse_sample_rate),
        cmocka_unit_test(parse_dogstatsd_tags),
        cmocka_unit_test(parse_multi_value),
        cmocka_unit_test(parse_skips_unknown_fields),
        cmocka_unit_test(parse_no_metric_lines),
        cmocka_unit_test(parse_malformed),
        cmocka_unit_test(parse_numbers),
        cmocka_unit_test(agg_counter_count_and_rate),
        cmocka_unit_test(agg_gauges_kept_across_flushes),
        cmocka_unit_test(agg_timer_stats_and_percentiles),
        cmocka_unit_test(agg_one_sample_percentiles_exact),
        cmocka_unit_test(agg_few_samples_percentiles_nearest_rank),
        cmocka_unit_test(agg_multi_value_histogram),
        cmocka_unit_test(agg_sets_count_distinct),
        cmocka_unit_test(agg_set_bounded),
        cmocka_unit_test(agg_tags_make_series),
        cmocka_unit_test(agg_same_name_other_type_separate),
        cmocka_unit_test(agg_max_series_refuses_new),
        cmocka_unit_test(agg_table_grows),
        cmocka_unit_test(pct_suffixes),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
