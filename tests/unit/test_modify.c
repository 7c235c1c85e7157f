/*
 * The modify filter's pure helpers: glob patterns of every compiled kind
 * against matching and non-matching names, unit conversion factors; and,
 * with the plugin's source compiled in, casts, histogram scaling, label
 * edits and matchers.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>


#include "modify.c"

static int
glob(const char *pattern, const char *s)
{
    struct mt_glob g;

    mt_glob_compile(&g, pattern);
    return mt_glob_match(&g, s, strlen(s));
}

static int
kind(const char *pattern)
{
    struct mt_glob g;

    mt_glob_compile(&g, pattern);
    return g.kind;
}

static void
glob_compiles_to_the_cheapest_kind(void **state)
{
    (void)state;
    assert_int_equal(kind("*"), MT_ANY);
    assert_int_equal(kind("**"), MT_ANY);
    assert_int_equal(kind("host"), MT_EXACT);
    assert_int_equal(kind("tmp_*"), MT_PREFIX);
    assert_int_equal(kind("*_bytes"), MT_SUFFIX);
    assert_int_equal(kind("*cpu*"), MT_CONTAINS);
    assert_int_equal(kind("a*b"), MT_GENERAL);
    assert_int_equal(kind("s?s"), MT_GENERAL);
    assert_int_equal(kind(""), MT_EXACT);
}

static void
glob_matches_metric_and_label_names(void **state)
{
    (void)state;
    assert_true(glob("system.cpu.*", "system.cpu.utilization"));
    assert_false(glob("system.cpu.*", "system.memory.usage"));
    assert_true(glob("system.cpu.*", "system.cpu."));
    assert_true(glob("tmp_*", "tmp_"));
    assert_false(glob("tmp_*", "tmp"));
    assert_true(glob("*_bytes", "rx_bytes"));
    assert_false(glob("*_bytes", "rx_bytes_total"));
    assert_true(glob("*cpu*", "system.cpu.time"));
    assert_false(glob("*cpu*", "system.memory"));
    assert_true(glob("host", "host"));
    assert_false(glob("host", "hostname"));
    assert_true(glob("", ""));
    assert_false(glob("", "x"));
}

static void
glob_general_stars_and_questions(void **state)
{
    (void)state;
    assert_true(glob("system.*.usage", "system.memory.usage"));
    assert_true(glob("system.*.usage", "system..usage"));
    assert_false(glob("system.*.usage", "system.memory.usages"));
    assert_true(glob("a*b*c", "aXXbYYc"));
    assert_true(glob("a*b*c", "abbbc"));
    assert_false(glob("a*b*c", "acb"));
    assert_true(glob("2??", "204"));
    assert_false(glob("2??", "2040"));
    assert_false(glob("2??", "304"));
    assert_true(glob("*a?", "bbab"));
    assert_true(glob("a**b", "ab"));
}

static void
units_convert_within_a_quantity(void **state)
{
    double f = 0;

    (void)state;
    assert_int_equal(mt_unit_factor("bytes", "MiB", &f), 0);
    assert_true(f == 1.0 / 1048576.0);
    assert_int_equal(mt_unit_factor("s", "ms", &f), 0);
    assert_true(f == 1000.0);
    assert_int_equal(mt_unit_factor("ns", "s", &f), 0);
    assert_true(f == 1e-9);
    assert_int_equal(mt_unit_factor("ratio", "percent", &f), 0);
    assert_true(f == 100.0);
    assert_int_equal(mt_unit_factor("GB", "kB", &f), 0);
    assert_true(f == 1e6);
    assert_int_equal(mt_unit_factor("bytes", "bits", &f), 0);
    assert_true(f == 8.0);
}

static void
units_refuse_unknown_and_mixed(void **state)
{
    double f = 42;

    (void)state;
    assert_int_equal(mt_unit_factor("bytes", "s", &f), -EINVAL);
    assert_int_equal(mt_unit_factor("furlong", "m", &f), -EINVAL);
    assert_int_equal(mt_unit_factor("MiB", "mib", &f), -EINVAL);
    assert_true(f == 42);
}

static struct vg_kv
str_kv(const char *k, const char *v)
{
    return vg_kv_str(k, v);
}

static void
cast_between_types(void **state)
{
    char buf[CAST_BUF];
    struct vg_kv kv;

    (void)state;
    kv = str_kv("status", "404");
    assert_int_equal(cast_kv(&kv, CAST_INT, buf), 0);
    assert_int_equal(kv.type, VG_VAL_INT);
    assert_int_equal(kv.v.i, 404);
    kv = str_kv("d", "0.25");
    assert_int_equal(cast_kv(&kv, CAST_DOUBLE, buf), 0);
    assert_true(kv.v.d == 0.25);
    kv = str_kv("b", "yes");
    assert_int_equal(cast_kv(&kv, CAST_BOOL, buf), 0);
    assert_int_equal(kv.type, VG_VAL_BOOL);
    assert_int_equal(kv.v.b, 1);
    assert_int_equal(cast_kv(&kv, CAST_INT, buf), 0);
    assert_int_equal(kv.v.i, 1);
    assert_int_equal(cast_kv(&kv, CAST_STRING, buf), 0);
    assert_int_equal(kv.type, VG_VAL_STR);
    assert_string_equal(kv.v.s, "1");
    kv.type = VG_VAL_DOUBLE;
    kv.v.d = 2.5;
    assert_int_equal(cast_kv(&kv, CAST_STRING, buf), 0);
    assert_string_equal(kv.v.s, "2.5");
    assert_int_equal(kv.len, 3);
}

static void
cast_refuses_what_does_not_convert(void **state)
{
    char buf[CAST_BUF];
    struct vg_kv kv;

    (void)state;
    kv = str_kv("n", "12x");
    assert_int_equal(cast_kv(&kv, CAST_INT, buf), -EINVAL);
    assert_int_equal(kv.type, VG_VAL_STR);
    assert_string_equal(kv.v.s, "12x");
    kv = str_kv("n", "");
    assert_int_equal(cast_kv(&kv, CAST_DOUBLE, buf), -EINVAL);
    kv = str_kv("n", "99999999999999999999");
    assert_int_equal(cast_kv(&kv, CAST_INT, buf), -EINVAL);
    kv = str_kv("b", "maybe");
    assert_int_equal(cast_kv(&kv, CAST_BOOL, buf), -EINVAL);
    kv.type = VG_VAL_DOUBLE;
    kv.v.d = 1e300;
    assert_int_equal(cast_kv(&kv, CAST_INT, buf), -EINVAL);
    kv.v.d = NAN;
    assert_int_equal(cast_kv(&kv, CAST_INT, buf), -EINVAL);
}

static void
scale_histogram_bounds_and_sum(void **state)
{
    static const double bounds[] = { 1024, 2048, INFINITY };
    static const uint64_t counts[] = { 3, 2, 1 };
    struct modify_state st = { 0 };
    struct vg_event ev;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.metric_type = VG_METRIC_HISTOGRAM;
    ev.hist.nbuckets = 3;
    ev.hist.bounds = bounds;
    ev.hist.counts = counts;
    ev.hist.sum = 4096;
    ev.hist.count = 6;
    assert_int_equal(scale_value(&st, &ev, 1.0 / 1024), 0);
    assert_true(ev.hist.bounds[0] == 1 && ev.hist.bounds[1] == 2);
    assert_true(isinf(ev.hist.bounds[2]));
    assert_true(ev.hist.sum == 4);
    assert_true(ev.hist.counts == counts && ev.hist.count == 6);
    assert_true(bounds[0] == 1024);     /* the batch's copy is untouched */
    free(st.bounds);
}

static void
rename_and_copy_replace_the_target(void **state)
{
    struct vg_kv v[8];
    uint32_t n = 3;
    struct op o = { 0 };

    (void)state;
    v[0] = str_kv("hostname", "web-1");
    v[1] = str_kv("host", "old");
    v[2] = str_kv("path", "/api");
    o.from = "hostname";
    o.from_len = 8;
    o.kv = vg_kv_str("host", "");
    assert_int_equal(kv_move(v, &n, &o, 0), 1);
    assert_int_equal(n, 2);
    assert_string_equal(v[0].key, "path");
    assert_string_equal(v[1].key, "host");
    assert_string_equal(v[1].v.s, "web-1");
    o.from = "path";
    o.from_len = 4;
    o.kv = vg_kv_str("route", "");
    assert_int_equal(kv_move(v, &n, &o, 1), 1);
    assert_int_equal(n, 3);
    assert_string_equal(v[0].key, "path");
    assert_string_equal(v[2].key, "route");
    assert_string_equal(v[2].v.s, "/api");
    o.from = "missing";
    o.from_len = 7;
    assert_int_equal(kv_move(v, &n, &o, 1), 0);
    assert_int_equal(n, 3);
}

static void
matcher_tests_typed_values_as_text(void **state)
{
    struct modify_state st = { 0 };
    struct match_conf mc = { 0 };
    struct matcher m = { 0 };
    struct vg_kv attr;
    struct vg_event ev;

    (void)state;
    st.md = pcre2_match_data_create(1, NULL);
    assert_non_null(st.md);
    attr.key = "status";
    attr.key_len = 6;
    attr.type = VG_VAL_INT;
    attr.len = 0;
    attr.v.i = 204;
    st.attrs = &attr;
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_LOG;
    ev.body = "GET / 204";
    ev.body_len = 9;
    mc.attribute = "status";
    mc.value = "2??";
    assert_int_equal(matcher_init(NULL, &m, &mc, 0), 0);
    assert_int_equal(matcher_test(&st, &m, &ev, 0, 1), 1);
    attr.v.i = 2040;
    assert_int_equal(matcher_test(&st, &m, &ev, 0, 1), 0);
    matcher_release(&m);
    memset(&m, 0, sizeof(m));
    mc.value = NULL;
    mc.regex = "^20[0-9]$";
    mc.body = "GET *";
    attr.v.i = 201;
    assert_int_equal(matcher_init(NULL, &m, &mc, 0), 0);
    assert_int_equal(matcher_test(&st, &m, &ev, 0, 1), 1);
    ev.body = "POST / 201";
    ev.body_len = 10;
    assert_int_equal(matcher_test(&st, &m, &ev, 0, 1), 0);
    /* a log has no name: a name condition never holds for it */
    matcher_release(&m);
    memset(&m, 0, sizeof(m));
    memset(&mc, 0, sizeof(mc));
    mc.name = "*";
    assert_int_equal(matcher_init(NULL, &m, &mc, 0), 0);
    assert_int_equal(matcher_test(&st, &m, &ev, 0, 1), 0);
    matcher_release(&m);
    pcre2_match_data_free(st.md);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(glob_compiles_to_the_cheapest_kind),
        cmocka_unit_test(glob_matches_metric_and_label_names),
        cmocka_unit_test(glob_general_stars_and_questions),
        cmocka_unit_test(units_convert_within_a_quantity),
        cmocka_unit_test(units_refuse_unknown_and_mixed),
        cmocka_unit_test(cast_between_types),
        cmocka_unit_test(cast_refuses_what_does_not_convert),
        cmocka_unit_test(scale_histogram_bounds_and_sum),
        cmocka_unit_test(rename_and_copy_replace_the_target),
        cmocka_unit_test(matcher_tests_typed_values_as_text),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
