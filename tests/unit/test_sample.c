/*
 * The sample filter's decisions, without the engine: the consistent hash
 * is pinned to fixed values (a change would re-sample every deployed
 * fleet differently), keeps about the rate, always_keep rules, body
 * templates, and the throttling table's bound.  The plugin's source is
 * compiled in so its static functions can be called.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "sample.c"

static struct vg_event
log_event(uint32_t severity, const char *body, const struct vg_kv *attrs,
          uint32_t nattrs)
{
    struct vg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_LOG;
    ev.severity = severity;
    ev.body = body;
    ev.body_len = (uint32_t)strlen(body);
    ev.attrs = attrs;
    ev.nattrs = nattrs;
    return ev;
}

static uint64_t
key_hash(const char *s)
{
    return mix64(fnv_add(FNV_OFFSET, s, strlen(s)));
}

static void
hash_is_pinned(void **state)
{
    (void)state;
    /* FNV-1a of "" is the offset basis; the finaliser is splitmix64's */
    assert_true(fnv_add(FNV_OFFSET, "", 0) == FNV_OFFSET);
    assert_true(fnv_add(FNV_OFFSET, "a", 1) ==
                UINT64_C(0xaf63dc4c8601ec8c));
    /* computed independently (Python) from the published constants */
    assert_true(key_hash("trace-1") == UINT64_C(0x6cfd8f769041b72b));
    assert_true(mix64(0) == 0);
    assert_true(mix64(1) == UINT64_C(0x5692161d100b05e5));
}

static void
consistent_rate_is_close(void **state)
{
    struct sample_conf c = { .rate = 0.1 };
    struct sample_state st = { .conf = &c };
    char buf[32];
    int i, kept = 0;

    (void)state;
    st.threshold = (uint64_t)ldexp(c.rate, 64);
    for (i = 0; i < 100000; i++) {
        snprintf(buf, sizeof(buf), "trace-%d", i);
        kept += key_hash(buf) < st.threshold;
    }
    assert_in_range(kept, 9500, 10500);
}

static void
key_value_reads_labels_then_typed_attributes(void **state)
{
    struct vg_kv attrs[3];
    struct vg_kv label = vg_kv_str("trace_id", "from-label");
    struct vg_event ev;
    char buf[KEYBUF_LEN];
    const char *v;
    size_t len = 0;

    (void)state;
    attrs[0] = vg_kv_str("user", "ann");
    attrs[1].key = "n";
    attrs[1].key_len = 1;
    attrs[1].type = VG_VAL_INT;
    attrs[1].v.i = -42;
    attrs[2].key = "ok";
    attrs[2].key_len = 2;
    attrs[2].type = VG_VAL_BOOL;
    attrs[2].v.b = 1;
    ev = log_event(VG_SEV_INFO, "x", attrs, 3);
    v = key_value(&ev, "n", 1, buf, &len);
    assert_non_null(v);
    assert_int_equal(len, 3);
    assert_memory_equal(v, "-42", 3);
    v = key_value(&ev, "ok", 2, buf, &len);
    assert_memory_equal(v, "true", 4);
    assert_null(key_value(&ev, "missing", 7, buf, &len));
    ev.labels = &label;
    ev.nlabels = 1;
    v = key_value(&ev, "trace_id", 8, buf, &len);
    assert_int_equal(len, 10);
    assert_memory_equal(v, "from-label", 10);
}

static void
always_keep_alerts_severity_and_key(void **state)
{
    struct sample_conf c = { .keep_alerts = 1, .min_severity = 5 };
    struct sample_state st = { .conf = &c };
    struct vg_kv tier = vg_kv_str("tier", "gold");
    struct vg_event ev;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_ALERT;
    assert_int_equal(always_keep(&st, &ev), 1);
    c.keep_alerts = 0;
    assert_int_equal(always_keep(&st, &ev), 0);
    ev = log_event(VG_SEV_ERROR, "boom", NULL, 0);
    assert_int_equal(always_keep(&st, &ev), 1);
    ev = log_event(VG_SEV_FATAL + 2, "boom", NULL, 0);
    assert_int_equal(always_keep(&st, &ev), 1);
    ev = log_event(VG_SEV_WARN, "hm", NULL, 0);
    assert_int_equal(always_keep(&st, &ev), 0);
    ev = log_event(VG_SEV_WARN, "hm", &tier, 1);
    c.keep_key = "tier";
    assert_int_equal(always_keep(&st, &ev), 1);
    c.keep_value = "gold";
    assert_int_equal(always_keep(&st, &ev), 1);
    c.keep_value = "gol";
    assert_int_equal(always_keep(&st, &ev), 0);
}

static void
body_template_collapses_numbers(void **state)
{
    struct sample_conf c = { 0 };
    struct sample_state st = { .conf = &c };
    struct vg_event ev = log_event(VG_SEV_INFO, "req 17 took 5.25 ms, id 9",
                                   NULL, 0);
    size_t len = 0;

    (void)state;
    assert_int_equal(body_template(&st, &ev, &len), 0);
    assert_string_equal(st.tmpl, "req # took #.# ms, id #");
    assert_int_equal(len, strlen(st.tmpl));
    ev = log_event(VG_SEV_INFO, "", NULL, 0);
    assert_int_equal(body_template(&st, &ev, &len), 0);
    assert_int_equal(len, 0);
    free(st.tmpl);
}

static void
throttle_table_is_bounded(void **state)
{
    struct sample_conf c = { .throttle_max = 1, .throttle_max_keys = 2 };
    struct sample_state st = { .conf = &c };
    struct tentry *a, *b, *x, *y;

    (void)state;
    st.tcap = 16;
    st.table = calloc(st.tcap, sizeof(*st.table));
    assert_non_null(st.table);
    a = table_get(&st, key_hash("a"), "a", 1);
    b = table_get(&st, key_hash("b"), "b", 1);
    x = table_get(&st, key_hash("x"), "x", 1);
    y = table_get(&st, key_hash("y"), "y", 1);
    assert_ptr_not_equal(a, b);
    assert_ptr_equal(x, &st.overflow);
    assert_ptr_equal(y, &st.overflow);
    assert_ptr_equal(table_get(&st, key_hash("a"), "a", 1), a);
    assert_string_equal(a->key, "a");
    assert_int_equal(st.tused, 2);
    table_clear(&st);
    assert_int_equal(st.tused, 0);
    assert_ptr_not_equal(table_get(&st, key_hash("x"), "x", 1),
                         &st.overflow);
    table_clear(&st);
    free(st.table);
}

static void
decide_orders_keep_throttle_sample(void **state)
{
    struct sample_conf c = { .rate = 0, .keep_alerts = 1,
                             .throttle_max = 2, .throttle_max_keys = 10 };
    struct sample_state st = { .conf = &c, .sampling = 1, .rng = 1 };
    struct vg_event ev = log_event(VG_SEV_INFO, "x", NULL, 0);
    struct vg_event alert;
    int64_t thr = 0, smp = 0;
    int i;

    (void)state;
    st.tcap = 16;
    st.table = calloc(st.tcap, sizeof(*st.table));
    memset(&alert, 0, sizeof(alert));
    alert.kind = VG_EV_ALERT;
    /* rate 0: the sampler drops what the throttle lets through */
    for (i = 0; i < 5; i++)
        assert_int_equal(decide(&st, &ev, &thr, &smp), DROP);
    assert_int_equal(smp, 2);
    assert_int_equal(thr, 3);
    assert_int_equal(decide(&st, &alert, &thr, &smp), KEEP);
    c.rate = 1;
    st.sampling = 0;
    table_clear(&st);
    assert_int_equal(decide(&st, &ev, &thr, &smp), KEEP);
    table_clear(&st);
    free(st.table);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(hash_is_pinned),
        cmocka_unit_test(consistent_rate_is_close),
        cmocka_unit_test(key_value_reads_labels_then_typed_attributes),
        cmocka_unit_test(always_keep_alerts_severity_and_key),
        cmocka_unit_test(body_template_collapses_numbers),
        cmocka_unit_test(throttle_table_is_bounded),
        cmocka_unit_test(decide_orders_keep_throttle_sample),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
