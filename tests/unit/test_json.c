/*
 * The JSON lines encoding: exact lines per event kind, string escaping
 * (always valid JSON in valid UTF-8), numbers, and events read back from a
 * batch.
 */
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "batch.h"
#include "json.h"
#include "util.h"

#define T0 INT64_C(1795435200000000001)     /* 2026-11-23T12:00:00 +1ns */
#define T0_TEXT "2026-11-23T12:00:00.000000001Z"

/* Encodes s into a fresh buffer and compares with want. */
static void
check_string(const char *s, size_t len, const char *want)
{
    struct vg_buf out;

    vg_buf_init(&out);
    vg_json_string(&out, s, len);
    assert_string_equal(out.data, want);
    assert_int_equal(out.len, strlen(want));
    vg_buf_release(&out);
}

static void
check_double(double d, const char *want)
{
    struct vg_buf out;

    vg_buf_init(&out);
    vg_json_double(&out, d);
    assert_string_equal(out.data, want);
    vg_buf_release(&out);
}

static void
check_event(const struct vg_event *ev, const char *want)
{
    struct vg_buf out;

    vg_buf_init(&out);
    vg_json_event(&out, ev);
    assert_string_equal(out.data, want);
    vg_buf_release(&out);
}

/* ------------------------------------------------------------------ */

static void
json_gauge_line(void **state)
{
    struct vg_kv labels[] = { vg_kv_str("cpu", "0"), vg_kv_str("host", "a") };
    struct vg_event ev = { .kind = VG_EV_METRIC, .time = T0,
                           .name = "system.cpu.utilization",
                           .metric_type = VG_METRIC_GAUGE, .value = 0.25,
                           .labels = labels, .nlabels = 2 };

    check_event(&ev, "{\"time\":\"" T0_TEXT "\",\"kind\":\"metric\","
                "\"name\":\"system.cpu.utilization\",\"type\":\"gauge\","
                "\"value\":0.25,\"labels\":{\"cpu\":\"0\",\"host\":\"a\"}}");
}

static void
json_counter_without_labels_has_empty_object(void **state)
{
    struct vg_event ev = { .kind = VG_EV_METRIC, .time = T0,
                           .name = "requests",
                           .metric_type = VG_METRIC_COUNTER, .value = 42 };

    check_event(&ev, "{\"time\":\"" T0_TEXT "\",\"kind\":\"metric\","
                "\"name\":\"requests\",\"type\":\"counter\","
                "\"value\":42,\"labels\":{}}");
}

static void
json_histogram_line(void **state)
{
    static const double bounds[] = { 0.5, 1, 1e300 };
    static const uint64_t counts[] = { 3, 4, 5 };
    struct vg_event ev = { .kind = VG_EV_METRIC, .time = T0,
                           .name = "latency",
                           .metric_type = VG_METRIC_HISTOGRAM,
                           .hist = { 3, bounds, counts, 9.5, 12 } };

    check_event(&ev, "{\"time\":\"" T0_TEXT "\",\"kind\":\"metric\","
                "\"name\":\"latency\",\"type\":\"histogram\","
                "\"buckets\":[{\"le\":0.5,\"count\":3},"
                "{\"le\":1,\"count\":4},{\"le\":\"+Inf\",\"count\":5}],"
                "\"sum\":9.5,\"count\":12,\"labels\":{}}");
    ev.hist.nbuckets = 0;
    check_event(&ev, "{\"time\":\"" T0_TEXT "\",\"kind\":\"metric\","
                "\"name\":\"latency\",\"type\":\"histogram\","
                "\"buckets\":[],\"sum\":9.5,\"count\":12,\"labels\":{}}");
}

static void
json_log_line_with_typed_attributes(void **state)
{
    struct vg_kv attrs[5] = { vg_kv_str("path", "/var/log/x") };
    struct vg_kv labels[] = { vg_kv_str("job", "tail") };
    struct vg_event ev = { .kind = VG_EV_LOG, .time = T0,
                           .severity = VG_SEV_ERROR + 2,
                           .body = "disk \"sda\" failed\n",
                           .body_len = 18, .attrs = attrs, .nattrs = 5,
                           .labels = labels, .nlabels = 1 };

    attrs[1] = (struct vg_kv){ .key = "line", .key_len = 4,
                               .type = VG_VAL_INT, .v.i = -12 };
    attrs[2] = (struct vg_kv){ .key = "ratio", .key_len = 5,
                               .type = VG_VAL_DOUBLE, .v.d = 0.5 };
    attrs[3] = (struct vg_kv){ .key = "ok", .key_len = 2,
                               .type = VG_VAL_BOOL, .v.b = 0 };
    attrs[4] = (struct vg_kv){ .key = "big", .key_len = 3,
                               .type = VG_VAL_INT, .v.i = INT64_MIN };
    check_event(&ev, "{\"time\":\"" T0_TEXT "\",\"kind\":\"log\","
                "\"severity\":\"error\","
                "\"body\":\"disk \\\"sda\\\" failed\\n\","
                "\"attributes\":{\"path\":\"/var/log/x\",\"line\":-12,"
                "\"ratio\":0.5,\"ok\":false,"
                "\"big\":-9223372036854775808},"
                "\"labels\":{\"job\":\"tail\"}}");
}

static void
json_log_without_attributes(void **state)
{
    struct vg_event ev = { .kind = VG_EV_LOG, .time = T0 };

    check_event(&ev, "{\"time\":\"" T0_TEXT "\",\"kind\":\"log\","
                "\"severity\":\"unset\",\"body\":\"\","
                "\"attributes\":{},\"labels\":{}}");
}

static void
json_alert_line(void **state)
{
    struct vg_kv labels[] = { vg_kv_str("mount", "/var") };
    struct vg_event ev = { .kind = VG_EV_ALERT, .time = T0,
                           .hash = UINT64_C(0x00ab12cd34ef5678),
                           .rule = "disk_full_soon",
                           .alert_state = VG_ALERT_FIRING,
                           .alert_severity = VG_ALERT_WARNING,
                           .summary = "disk /var full in 3d",
                           .description = "at 2%/day",
                           .value = 0.93, .starts_at = T0,
                           .labels = labels, .nlabels = 1 };

    check_event(&ev, "{\"time\":\"" T0_TEXT "\",\"kind\":\"alert\","
                "\"rule\":\"disk_full_soon\",\"state\":\"firing\","
                "\"severity\":\"warning\","
                "\"summary\":\"disk /var full in 3d\","
                "\"description\":\"at 2%/day\","
                "\"fingerprint\":\"00ab12cd34ef5678\",\"value\":0.93,"
                "\"starts_at\":\"" T0_TEXT "\",\"ends_at\":null,"
                "\"labels\":{\"mount\":\"/var\"}}");
}

static void
json_resolved_alert_without_description(void **state)
{
    struct vg_event ev = { .kind = VG_EV_ALERT, .time = 0,
                           .hash = UINT64_C(0xffffffffffffffff),
                           .rule = "r", .alert_state = VG_ALERT_RESOLVED,
                           .alert_severity = VG_ALERT_CRITICAL,
                           .summary = "s", .value = 1,
                           .starts_at = 1000000000,
                           .ends_at = 2000000000 };

    check_event(&ev, "{\"time\":\"1970-01-01T00:00:00.000000000Z\","
                "\"kind\":\"alert\",\"rule\":\"r\","
                "\"state\":\"resolved\",\"severity\":\"critical\","
                "\"summary\":\"s\",\"fingerprint\":\"ffffffffffffffff\","
                "\"value\":1,"
                "\"starts_at\":\"1970-01-01T00:00:01.000000000Z\","
                "\"ends_at\":\"1970-01-01T00:00:02.000000000Z\","
                "\"labels\":{}}");
}

/* ------------------------------------------------------------------ */

static void
json_escapes_quotes_backslashes_and_controls(void **state)
{
    check_string("", 0, "\"\"");
    check_string(NULL, 0, "\"\"");
    check_string("plain text", 10, "\"plain text\"");
    check_string("a\"b\\c/d", 7, "\"a\\\"b\\\\c/d\"");
    check_string("\n\t\r\b\f", 5, "\"\\n\\t\\r\\b\\f\"");
    check_string("\x01\x1f\x7f", 3, "\"\\u0001\\u001f\x7f\"");
    check_string("a\0b", 3, "\"a\\u0000b\"");
}

static void
json_passes_valid_utf8_through(void **state)
{
    /* é (2 bytes), € (3), U+1F600 (4), U+10FFFF (last code point) */
    check_string("caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 \xf4\x8f\xbf\xbf",
                 19, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80 "
                 "\xf4\x8f\xbf\xbf\"");
    check_string("\xed\x9f\xbf", 3, "\"\xed\x9f\xbf\"");      /* U+D7FF */
}

static void
json_escapes_each_byte_of_invalid_utf8(void **state)
{
    check_string("\x80", 1, "\"\\u0080\"");                 /* lone cont. */
    check_string("\xc0\x80", 2, "\"\\u00c0\\u0080\"");      /* overlong */
    check_string("\xe0\x80\xaf", 3, "\"\\u00e0\\u0080\\u00af\"");
    check_string("\xed\xa0\x80", 3, "\"\\u00ed\\u00a0\\u0080\""); /* surr. */
    check_string("\xf4\x90\x80\x80", 4,
                 "\"\\u00f4\\u0090\\u0080\\u0080\"");        /* > 10FFFF */
    check_string("\xf5\xff", 2, "\"\\u00f5\\u00ff\"");
    check_string("ab\xe2\x82", 4, "\"ab\\u00e2\\u0082\"");   /* truncated */
    check_string("\xc3" "A\xc3\xa9", 4, "\"\\u00c3A\xc3\xa9\""); /* resync */
}

/* Structural check: the output is one JSON string in valid UTF-8. */
static void
json_random_bytes_give_valid_strings(void **state)
{
    uint64_t x = UINT64_C(88172645463325252);
    unsigned char in[64];
    struct vg_buf out;
    int round;
    size_t i;

    vg_buf_init(&out);
    for (round = 0; round < 2000; round++) {
        const unsigned char *p;

        for (i = 0; i < sizeof(in); i++) {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            in[i] = (unsigned char)x;
        }
        out.len = 0;
        vg_json_string(&out, (const char *)in, sizeof(in));
        p = (const unsigned char *)out.data;
        assert_int_equal(p[0], '"');
        assert_int_equal(p[out.len - 1], '"');
        for (i = 1; i < out.len - 1; i++) {
            assert_true(p[i] >= 0x20);
            if (p[i] == '\\') {
                i++;
                assert_non_null(strchr("\"\\ntrbfu", p[i]));
            } else {
                assert_int_not_equal(p[i], '"');
            }
        }
        /* Lead bytes C2..F4, each followed by its continuations. */
        for (i = 1; i < out.len - 1;) {
            unsigned c = p[i], n = c < 0x80 ? 1 : c < 0xe0 ? 2
                                   : c < 0xf0 ? 3 : 4;
            unsigned k;

            assert_true(c < 0x80 || (c >= 0xc2 && c <= 0xf4));
            for (k = 1; k < n; k++)
                assert_int_equal(p[i + k] & 0xc0, 0x80);
            i += n;
        }
    }
    vg_buf_release(&out);
}

/* ------------------------------------------------------------------ */

/* Whatever path prints it (integer, six decimals, %.17g), every double
 * reads back as itself: decimals of every scale and random bit patterns. */
static void
json_random_doubles_read_back_exactly(void **state)
{
    struct vg_buf out;
    uint64_t x = 0x9e3779b97f4a7c15u;
    int i;

    (void)state;
    vg_buf_init(&out);
    for (i = 0; i < 200000; i++) {
        double d;

        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        if (i % 2) {
            memcpy(&d, &x, sizeof(d));
            if (!isfinite(d))
                continue;
        } else {
            /* k decimals, magnitude up to 1e9: the fixed-point path */
            d = (double)(int64_t)(x % 2000000000000000u - 1000000000000000u)
                / pow(10, (double)((x >> 60) % 10));
        }
        out.len = 0;
        vg_json_double(&out, d);
        vg_buf_addch(&out, '\0');
        if (strtod(out.data, NULL) != d)
            fail_msg("%.17g printed as %s", d, out.data);
    }
    vg_buf_release(&out);
}

static void
json_numbers_are_short_and_round_trip(void **state)
{
    check_double(42, "42");
    check_double(-3, "-3");
    check_double(0, "0");
    check_double(-0.0, "0");
    check_double(0.1, "0.1");
    check_double(0.1 + 0.2, "0.30000000000000004");
    check_double(1.0 / 3, "0.3333333333333333");
    check_double(123456789012345.0, "123456789012345");
    check_double(-999999999999999.0, "-999999999999999");
    check_double(1e15, "1e+15");
    check_double(1e300, "1e+300");
    check_double(5e-324, "4.94065645841247e-324");
    check_double(2.5e-7, "2.5e-07");
    check_double(12.75, "12.75");
    check_double(19.884, "19.884");     /* 19.884 * 1e6 is not integral */
    check_double(-35.898, "-35.898");
    check_double(0.001, "0.001");
    check_double(4.2, "4.2");
    check_double(-12.125, "-12.125");
    check_double(0.000001, "0.000001");
    check_double(999999999.999999, "999999999.999999");
    check_double(1234.5678901, "1234.5678901");
    /* d * 1e6 is integral, yet 42540.9028 reads back as another double. */
    check_double(42540.902799999996, "42540.902799999996");
}

/* Times as vg_format_time() writes them, across seconds, before 1970 and
 * at the ends of int64 ns, in any order (the per-second cache must not
 * leak). */
static void
json_times_match_vg_format_time(void **state)
{
    static const int64_t times[] = {
        T0, T0 + 999999999, T0 + 1000000000, T0, 0, -1, -1000000000,
        -1000000001, INT64_MAX, INT64_MIN, INT64_MIN + 1, INT64_MAX - 1,
        T0,
    };
    struct vg_event ev = { .kind = VG_EV_LOG };
    struct vg_buf out;
    char want[256], fmt[64];
    size_t i;

    vg_buf_init(&out);
    for (i = 0; i < VG_ARRAY_LEN(times); i++) {
        ev.time = times[i];
        vg_format_time(times[i], fmt, sizeof(fmt));
        snprintf(want, sizeof(want), "{\"time\":\"%s\",\"kind\":\"log\","
                 "\"severity\":\"unset\",\"body\":\"\","
                 "\"attributes\":{},\"labels\":{}}", fmt);
        out.len = 0;
        vg_json_event(&out, &ev);
        assert_string_equal(out.data, want);
    }
    vg_buf_release(&out);
}

static void
json_non_finite_numbers_become_strings(void **state)
{
    check_double(NAN, "\"NaN\"");
    check_double(INFINITY, "\"+Inf\"");
    check_double(-INFINITY, "\"-Inf\"");
}

static void
json_severity_names_follow_otel_ranges(void **state)
{
    static const struct {
        unsigned sev;
        const char *name;
    } cases[] = {
        { 0, "unset" }, { 1, "trace" }, { 4, "trace" }, { 5, "debug" },
        { 8, "debug" }, { 9, "info" }, { 12, "info" }, { 13, "warn" },
        { 16, "warn" }, { 17, "error" }, { 20, "error" }, { 21, "fatal" },
        { 24, "fatal" }, { 25, "unknown" },
    };
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(cases); i++)
        assert_string_equal(vg_severity_name(cases[i].sev), cases[i].name);
    assert_string_equal(vg_alert_severity_name(VG_ALERT_CRITICAL),
                        "critical");
    assert_string_equal(vg_alert_severity_name(VG_ALERT_ERROR), "error");
    assert_string_equal(vg_alert_severity_name(VG_ALERT_WARNING), "warning");
    assert_string_equal(vg_alert_severity_name(VG_ALERT_INFO), "info");
    assert_string_equal(vg_alert_severity_name(0), "unknown");
}

/* What an output sees: events added, read back from the batch, encoded. */
static void
json_round_trip_through_batch(void **state)
{
    struct vg_kv labels[] = { vg_kv_str("z", "last"), vg_kv_str("a", "1") };
    struct vg_kv attr = vg_kv_str("k", "\xff");
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev = { .kind = VG_EV_METRIC, .time = T0, .name = "m",
                           .metric_type = VG_METRIC_GAUGE, .value = 1.5,
                           .labels = labels, .nlabels = 2 };
    struct vg_buf out;

    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    ev = (struct vg_event){ .kind = VG_EV_LOG, .time = T0,
                            .severity = VG_SEV_INFO, .body = "x\0y",
                            .body_len = 3, .attrs = &attr, .nattrs = 1 };
    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    vg_buf_init(&out);
    while (vg_batch_next_raw(b, &it, &ev)) {
        vg_json_event(&out, &ev);
        vg_buf_addch(&out, '\n');
    }
    assert_string_equal(out.data,
        "{\"time\":\"" T0_TEXT "\",\"kind\":\"metric\",\"name\":\"m\","
        "\"type\":\"gauge\",\"value\":1.5,"
        "\"labels\":{\"a\":\"1\",\"z\":\"last\"}}\n"
        "{\"time\":\"" T0_TEXT "\",\"kind\":\"log\",\"severity\":\"info\","
        "\"body\":\"x\\u0000y\",\"attributes\":{\"k\":\"\\u00ff\"},"
        "\"labels\":{}}\n");
    vg_buf_release(&out);
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_gauge_line),
        cmocka_unit_test(json_counter_without_labels_has_empty_object),
        cmocka_unit_test(json_histogram_line),
        cmocka_unit_test(json_log_line_with_typed_attributes),
        cmocka_unit_test(json_log_without_attributes),
        cmocka_unit_test(json_alert_line),
        cmocka_unit_test(json_resolved_alert_without_description),
        cmocka_unit_test(json_escapes_quotes_backslashes_and_controls),
        cmocka_unit_test(json_passes_valid_utf8_through),
        cmocka_unit_test(json_escapes_each_byte_of_invalid_utf8),
        cmocka_unit_test(json_random_bytes_give_valid_strings),
        cmocka_unit_test(json_numbers_are_short_and_round_trip),
        cmocka_unit_test(json_random_doubles_read_back_exactly),
        cmocka_unit_test(json_non_finite_numbers_become_strings),
        cmocka_unit_test(json_times_match_vg_format_time),
        cmocka_unit_test(json_severity_names_follow_otel_ranges),
        cmocka_unit_test(json_round_trip_through_batch),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
