/*
 * The parse filter's readers: JSON flattening and typing, logfmt, the
 * combined access log, time stamps in every supported form, zones,
 * severity words and casts; each with good and broken input.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "parse.h"

#define NS INT64_C(1000000000)

static struct pa_sink sink;

static int
setup(void **state)
{
    (void)state;
    pa_sink_init(&sink);
    return 0;
}

static int
teardown(void **state)
{
    (void)state;
    pa_sink_release(&sink);
    return 0;
}

static const struct vg_kv *
get(const char *key)
{
    uint32_t i;

    for (i = 0; i < sink.n; i++)
        if (sink.kv[i].key_len == strlen(key) &&
            memcmp(sink.kv[i].key, key, sink.kv[i].key_len) == 0)
            return &sink.kv[i];
    fail_msg("no attribute '%s'", key);
    return NULL;
}

static void
assert_attr_str(const char *key, const char *want)
{
    const struct vg_kv *kv = get(key);
    char got[512];

    assert_int_equal(kv->type, VG_VAL_STR);
    snprintf(got, sizeof(got), "%.*s", (int)kv->len, kv->v.s);
    assert_string_equal(got, want);
}

static void
assert_attr_int(const char *key, int64_t want)
{
    const struct vg_kv *kv = get(key);

    assert_int_equal(kv->type, VG_VAL_INT);
    assert_int_equal(kv->v.i, want);
}

static int
json(const char *s)
{
    pa_sink_reset(&sink);
    return pa_json(s, strlen(s), &sink);
}

static int
logfmt(const char *s)
{
    pa_sink_reset(&sink);
    return pa_logfmt(s, strlen(s), &sink);
}

static int
access_log(const char *s)
{
    pa_sink_reset(&sink);
    return pa_access_log(s, strlen(s), &sink);
}

static void
json_flattens_and_types_values(void **state)
{
    const struct vg_kv *kv;

    (void)state;
    assert_int_equal(json(" {\"msg\":\"hi\",\"n\":-42,\"big\":"
                          "18446744073709551616,\"d\":1.5e3,\"ok\":true,"
                          "\"no\":false,\"nil\":null,\"a\":{\"b\":{\"c\":7},"
                          "\"e\":{}},\"arr\":[1, {\"x\":[]}, \"s\"]} \n"), 0);
    assert_int_equal(sink.n, 8);
    assert_attr_str("msg", "hi");
    assert_attr_int("n", -42);
    kv = get("big");
    assert_int_equal(kv->type, VG_VAL_DOUBLE);
    assert_true(kv->v.d > 1.8e19);
    kv = get("d");
    assert_int_equal(kv->type, VG_VAL_DOUBLE);
    assert_true(kv->v.d == 1500.0);
    kv = get("ok");
    assert_int_equal(kv->type, VG_VAL_BOOL);
    assert_int_equal(kv->v.b, 1);
    assert_int_equal(get("no")->v.b, 0);
    assert_attr_int("a.b.c", 7);
    assert_attr_str("arr", "[1, {\"x\":[]}, \"s\"]");
}

static void
json_unescapes_strings_and_keys(void **state)
{
    (void)state;
    assert_int_equal(json("{\"k\\u0041\":\"a\\\"b\\\\c\\/\\n\\u00e9"
                          "\\ud83d\\ude00\"}"), 0);
    assert_attr_str("kA", "a\"b\\c/\n\xc3\xa9\xf0\x9f\x98\x80");
    assert_int_equal(json("{\"m\":-9223372036854775808}"), 0);
    assert_attr_int("m", INT64_MIN);
}

static void
json_rejects_what_is_not_one_object(void **state)
{
    static const char *const bad[] = {
        "", "[]", "\"s\"", "{", "{\"a\"}", "{\"a\":}", "{\"a\":1,}",
        "{\"a\":1} x", "{\"a\":tru}", "{\"a\":01}", "{\"a\":1.}",
        "{\"a\":\"\\x\"}", "{\"a\":\"\\u12\"}", "{\"a\":\"x", "{a:1}",
        "{\"a\":[1,2}", "{\"a\":\"tab\there\"}", "not json at all",
    };
    char deep[400];
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        if (json(bad[i]) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
    }
    /* nesting past the limit is refused rather than recursed into */
    memset(deep, 0, sizeof(deep));
    for (i = 0; i < 40; i++)
        strcat(deep, "{\"a\":");
    strcat(deep, "1");
    for (i = 0; i < 40; i++)
        strcat(deep, "}");
    assert_int_equal(json(deep), -EINVAL);
}

static void
logfmt_reads_pairs_quotes_and_flags(void **state)
{
    const struct vg_kv *kv;

    (void)state;
    assert_int_equal(logfmt("level=info msg=\"hello \\\"you\\\"\\n\" "
                            "dur=1.5ms  debug empty= path=/a=b"), 0);
    assert_int_equal(sink.n, 6);
    assert_attr_str("level", "info");
    assert_attr_str("msg", "hello \"you\"\n");
    assert_attr_str("dur", "1.5ms");
    kv = get("debug");
    assert_int_equal(kv->type, VG_VAL_BOOL);
    assert_attr_str("empty", "");
    assert_attr_str("path", "/a=b");
}

static void
logfmt_rejects_broken_lines(void **state)
{
    (void)state;
    assert_int_equal(logfmt("a=\"unterminated"), -EINVAL);
    assert_int_equal(logfmt("=v"), -EINVAL);
    assert_int_equal(logfmt("a=\"x\"y"), -EINVAL);
    assert_int_equal(logfmt("just words, no pairs"), -EINVAL);
    assert_int_equal(logfmt(""), -EINVAL);
}

static void
access_log_combined_line(void **state)
{
    (void)state;
    assert_int_equal(access_log("203.0.113.9 - frank [10/Oct/2000:13:55:36 "
                                "-0700] \"GET /apache_pb.gif?a=1 HTTP/1.0\" "
                                "200 2326 \"http://www.example.com/start."
                                "html\" \"Mozilla/4.08 [en] (Win98; I ;"
                                "Nav)\""), 0);
    assert_attr_str("remote_addr", "203.0.113.9");
    assert_attr_str("user", "frank");
    assert_attr_str("time", "10/Oct/2000:13:55:36 -0700");
    assert_attr_str("method", "GET");
    assert_attr_str("path", "/apache_pb.gif?a=1");
    assert_attr_str("protocol", "HTTP/1.0");
    assert_attr_int("status", 200);
    assert_attr_int("bytes", 2326);
    assert_attr_str("referer", "http://www.example.com/start.html");
    assert_attr_str("user_agent", "Mozilla/4.08 [en] (Win98; I ;Nav)");
    assert_int_equal(sink.has_time, 1);
    assert_int_equal(sink.time, INT64_C(971211336) * NS);
    assert_int_equal(sink.n, 10);       /* ident "-" left out */
}

static void
access_log_common_format_and_odd_requests(void **state)
{
    (void)state;
    /* common log format: no referer and agent; bytes "-" */
    assert_int_equal(access_log("::1 ident - [01/Jan/2026:00:00:00 +0000] "
                                "\"-\" 400 -"), 0);
    assert_attr_str("ident", "ident");
    assert_attr_int("status", 400);
    assert_int_equal(sink.n, 4);        /* addr, ident, time, status */
    /* an escaped quote inside the request stays as written */
    assert_int_equal(access_log("1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] "
                                "\"GET /a\\\"b HTTP/1.1\" 404 0 \"-\" \"-\""),
                     0);
    assert_attr_str("path", "/a\\\"b");
}

static void
access_log_rejects_other_lines(void **state)
{
    static const char *const bad[] = {
        "",
        "hello world",
        "1.2.3.4 - - 01/Jan/2026:00:00:00 \"GET / HTTP/1.1\" 200 1",
        "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1 200 1",
        "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 2x0 1",
        "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200 1k",
        "1.2.3.4 - - [01/Jan/2026:00:00:00 +0000] \"GET / HTTP/1.1\" 200",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
        if (access_log(bad[i]) != -EINVAL)
            fail_msg("accepted '%s'", bad[i]);
}

static void
clf_time_reads_zone_and_rejects_junk(void **state)
{
    int64_t ns;

    (void)state;
    assert_int_equal(pa_time_clf("01/Jan/1970:00:00:00 +0100", 26, &ns), 0);
    assert_int_equal(ns, -3600 * NS);
    assert_int_equal(pa_time_clf("01/Foo/1970:00:00:00 +0100", 26, &ns),
                     -EINVAL);
    assert_int_equal(pa_time_clf("01/Jan/1970:24:00:00 +0100", 26, &ns),
                     -EINVAL);
    assert_int_equal(pa_time_clf("01/Jan/1970:00:00:00", 20, &ns), -EINVAL);
}

static int64_t
tp(int kind, const char *fmt, const char *zone, const char *s, int *rc)
{
    struct pa_zone z;
    int64_t ns = -1;

    assert_int_equal(pa_zone_parse(zone, &z), 0);
    *rc = pa_time_parse(kind, fmt, &z, s, strlen(s), &ns);
    return ns;
}

static void
time_parse_every_kind(void **state)
{
    int rc;

    (void)state;
    assert_int_equal(tp(PA_TIME_RFC3339, NULL, "UTC",
                        "2026-11-23T12:00:00.25Z", &rc),
                     INT64_C(1795435200) * NS + 250000000);
    assert_int_equal(rc, 0);
    /* a stamp without zone is read in the configured one */
    assert_int_equal(tp(PA_TIME_RFC3339, NULL, "+02:00",
                        "2026-11-23T12:00:00", &rc),
                     INT64_C(1795428000) * NS);
    assert_int_equal(rc, 0);
    assert_int_equal(tp(PA_TIME_EPOCH, NULL, "UTC", "1795435200.5", &rc),
                     INT64_C(1795435200) * NS + 500000000);
    assert_int_equal(tp(PA_TIME_EPOCH_MS, NULL, "UTC", "1795435200123",
                        &rc), INT64_C(1795435200123) * 1000000);
    assert_int_equal(rc, 0);
    assert_int_equal(tp(PA_TIME_STRPTIME, "%d/%b/%Y:%H:%M:%S %z", "UTC",
                        "10/Oct/2000:13:55:36 -0700", &rc),
                     INT64_C(971211336) * NS);
    assert_int_equal(rc, 0);
    assert_int_equal(tp(PA_TIME_STRPTIME, "%Y-%m-%d %H:%M:%S", "-0100",
                        "2026-11-23 12:00:00", &rc),
                     INT64_C(1795438800) * NS);
    assert_int_equal(rc, 0);
    /* TZ=UTC in this test: local is UTC */
    assert_int_equal(tp(PA_TIME_STRPTIME, "%Y-%m-%d %H:%M:%S", "local",
                        "2026-11-23 12:00:00", &rc),
                     INT64_C(1795435200) * NS);
    assert_int_equal(rc, 0);
}

static void
time_parse_rejects_broken_stamps(void **state)
{
    int rc;

    (void)state;
    tp(PA_TIME_RFC3339, NULL, "UTC", "yesterday", &rc);
    assert_int_equal(rc, -EINVAL);
    tp(PA_TIME_RFC3339, NULL, "UTC", "2026-11-23T12:00:00Zjunk", &rc);
    assert_int_equal(rc, -EINVAL);
    tp(PA_TIME_EPOCH, NULL, "UTC", "12abc", &rc);
    assert_int_equal(rc, -EINVAL);
    tp(PA_TIME_EPOCH, NULL, "UTC", "", &rc);
    assert_int_equal(rc, -EINVAL);
    tp(PA_TIME_EPOCH, NULL, "UTC", "99999999999999999999", &rc);
    assert_int_equal(rc, -EINVAL);
    tp(PA_TIME_STRPTIME, "%Y-%m-%d", "UTC", "9999-01-01", &rc);
    assert_int_equal(rc, -EINVAL);
    tp(PA_TIME_STRPTIME, "%Y-%m-%d", "UTC", "2026-11-23 trailing", &rc);
    assert_int_equal(rc, -EINVAL);
    tp(PA_TIME_STRPTIME, "%Y-%m-%d", "UTC", "23/11/2026", &rc);
    assert_int_equal(rc, -EINVAL);
}

static void
zone_parse_accepts_names_and_offsets(void **state)
{
    struct pa_zone z;

    (void)state;
    assert_int_equal(pa_zone_parse("UTC", &z), 0);
    assert_int_equal(z.offset, 0);
    assert_int_equal(pa_zone_parse("local", &z), 0);
    assert_int_equal(z.local, 1);
    assert_int_equal(pa_zone_parse("+05:30", &z), 0);
    assert_int_equal(z.offset, 19800);
    assert_int_equal(pa_zone_parse("-0800", &z), 0);
    assert_int_equal(z.offset, -28800);
    assert_int_equal(pa_zone_parse("Europe/Paris", &z), -EINVAL);
    assert_int_equal(pa_zone_parse("+25:00", &z), -EINVAL);
}

static void
severity_words_map_to_otel(void **state)
{
    (void)state;
    assert_int_equal(pa_severity_word("debug", 5), VG_SEV_DEBUG);
    assert_int_equal(pa_severity_word("INFO", 4), VG_SEV_INFO);
    assert_int_equal(pa_severity_word("Warning", 7), VG_SEV_WARN);
    assert_int_equal(pa_severity_word("warn", 4), VG_SEV_WARN);
    assert_int_equal(pa_severity_word("err", 3), VG_SEV_ERROR);
    assert_int_equal(pa_severity_word("error", 5), VG_SEV_ERROR);
    assert_int_equal(pa_severity_word("crit", 4), 18);
    assert_int_equal(pa_severity_word("fatal", 5), VG_SEV_FATAL);
    assert_int_equal(pa_severity_word("trace", 5), VG_SEV_TRACE);
    assert_int_equal(pa_severity_word("verbose", 7), 0);
    assert_int_equal(pa_severity_word("info", 3), 0);  /* "inf" */
}

static void
cast_converts_or_keeps_the_string(void **state)
{
    struct vg_kv kv = vg_kv_str("k", "404");

    (void)state;
    assert_int_equal(pa_cast(&kv, PA_CAST_INT), 0);
    assert_int_equal(kv.type, VG_VAL_INT);
    assert_int_equal(kv.v.i, 404);
    kv = vg_kv_str("k", "0.25");
    assert_int_equal(pa_cast(&kv, PA_CAST_DOUBLE), 0);
    assert_int_equal(kv.type, VG_VAL_DOUBLE);
    assert_true(kv.v.d == 0.25);
    kv = vg_kv_str("k", "yes");
    assert_int_equal(pa_cast(&kv, PA_CAST_BOOL), 0);
    assert_int_equal(kv.type, VG_VAL_BOOL);
    assert_int_equal(kv.v.b, 1);
    kv = vg_kv_str("k", "12x");
    assert_int_equal(pa_cast(&kv, PA_CAST_INT), -EINVAL);
    assert_int_equal(kv.type, VG_VAL_STR);
    kv = vg_kv_str("k", "");
    assert_int_equal(pa_cast(&kv, PA_CAST_DOUBLE), -EINVAL);
    kv = vg_kv_str("k", "maybe");
    assert_int_equal(pa_cast(&kv, PA_CAST_BOOL), -EINVAL);
}

static void
sink_memory_stays_put_across_blocks(void **state)
{
    char *first, *p;
    int i;

    (void)state;
    pa_sink_reset(&sink);
    first = pa_sink_alloc(&sink, 10);
    memcpy(first, "0123456789", 10);
    /* more than one block's worth: earlier pointers must not move */
    for (i = 0; i < 40; i++)
        assert_non_null(p = pa_sink_alloc(&sink, 4000));
    assert_non_null(p = pa_sink_alloc(&sink, 200000));
    memset(p, 'x', 200000);
    assert_memory_equal(first, "0123456789", 10);
    pa_sink_reset(&sink);
    assert_ptr_equal(pa_sink_alloc(&sink, 10), first);
}

/*
 * Mutated good lines and random bytes, each in a heap block of exactly its
 * length, through every reader: a sanitizer build catches a read past the
 * end; each string attribute must lie in the input or the sink.
 */
static void
mutated_input_stays_in_bounds(void **state)
{
    static const char *const seeds[] = {
        "{\"a\":{\"b\":[1,2,{\"c\":\"\\u00e9\\n\"}]},\"n\":-1.5e3,"
        "\"t\":true}",
        "level=info msg=\"a \\\"b\\\" c\" flag k=v",
        "1.2.3.4 - u [10/Oct/2000:13:55:36 -0700] \"GET /a\\\"b HTTP/1.1\""
        " 200 12 \"r\" \"ua\"",
    };
    unsigned seed = 777;
    int round;

    (void)state;
    for (round = 0; round < 30000; round++) {
        const char *s = seeds[round % 3];
        size_t len = strlen(s), i, n;
        uint32_t k;
        char *p;

        seed = seed * 1103515245 + 12345;
        n = len - (seed >> 8) % (len + 1);
        p = malloc(n ? n : 1);
        for (i = 0; i < n; i++) {
            seed = seed * 1103515245 + 12345;
            p[i] = (seed >> 16) % 10 == 0 ? (char)(seed >> 24) : s[i];
        }
        pa_sink_reset(&sink);
        switch (round % 3) {
        case 0: pa_json(p, n, &sink); break;
        case 1: pa_logfmt(p, n, &sink); break;
        default: pa_access_log(p, n, &sink); break;
        }
        for (k = 0; k < sink.n; k++) {
            const struct vg_kv *kv = &sink.kv[k];

            assert_true(kv->key_len <= 2 * n + 1);
            if (kv->type == VG_VAL_STR && kv->len &&
                kv->v.s >= p && kv->v.s < p + n)
                assert_true(kv->v.s + kv->len <= p + n);
        }
        free(p);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(json_flattens_and_types_values),
        cmocka_unit_test(json_unescapes_strings_and_keys),
        cmocka_unit_test(json_rejects_what_is_not_one_object),
        cmocka_unit_test(logfmt_reads_pairs_quotes_and_flags),
        cmocka_unit_test(logfmt_rejects_broken_lines),
        cmocka_unit_test(access_log_combined_line),
        cmocka_unit_test(access_log_common_format_and_odd_requests),
        cmocka_unit_test(access_log_rejects_other_lines),
        cmocka_unit_test(clf_time_reads_zone_and_rejects_junk),
        cmocka_unit_test(time_parse_every_kind),
        cmocka_unit_test(time_parse_rejects_broken_stamps),
        cmocka_unit_test(zone_parse_accepts_names_and_offsets),
        cmocka_unit_test(severity_words_map_to_otel),
        cmocka_unit_test(cast_converts_or_keeps_the_string),
        cmocka_unit_test(sink_memory_stays_put_across_blocks),
        cmocka_unit_test(mutated_input_stays_in_bounds),
    };

    setenv("TZ", "UTC", 1);
    tzset();
    return cmocka_run_group_tests(tests, setup, teardown);
}
