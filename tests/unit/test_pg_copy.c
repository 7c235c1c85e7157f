/*
 * The postgres output's encoders (COPY text, JSON for jsonb, timestamps),
 * its series-id cache and its schema SQL builders, compiled in.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <string.h>

#include "copy.h"
#include "schema.h"
#include "series.h"

/* The buffer as a C string (the encoders do not NUL-terminate). */
static const char *
str(struct pg_buf *b)
{
    assert_int_equal(pg_buf_addz(b), 0);
    b->len--;
    return b->data;
}

static void
time_is_utc_microseconds(void **state)
{
    struct pg_buf b = { 0 };

    (void)state;
    assert_int_equal(pg_put_time(&b, 0), 0);
    assert_string_equal(str(&b), "1970-01-01 00:00:00.000000+00");
    b.len = 0;
    pg_put_time(&b, INT64_C(1700000000123456789));
    assert_string_equal(str(&b), "2023-11-14 22:13:20.123456+00");
    b.len = 0;
    pg_put_time(&b, -1);
    assert_string_equal(str(&b), "1969-12-31 23:59:59.999999+00");
    b.len = 0;
    pg_put_rfc3339(&b, INT64_C(1700000000000000001));
    assert_string_equal(str(&b), "2023-11-14T22:13:20.000000001Z");
    pg_buf_release(&b);
}

static void
day_names_follow_the_calendar(void **state)
{
    char name[9], date[11];

    (void)state;
    assert_int_equal(pg_day_of(0), 0);
    assert_int_equal(pg_day_of(-1), -1);
    assert_int_equal(pg_day_of(INT64_C(86400) * VG_SECOND), 1);
    pg_day_name(19782, name);
    assert_string_equal(name, "20240229");
    pg_day_date(19782 + 1, date);
    assert_string_equal(date, "2024-03-01");
    pg_day_date(-1, date);
    assert_string_equal(date, "1969-12-31");
}

static void
doubles_read_back_exactly(void **state)
{
    struct pg_buf b = { 0 };

    (void)state;
    pg_put_double(&b, NAN);
    assert_string_equal(str(&b), "NaN");
    b.len = 0;
    pg_put_double(&b, INFINITY);
    pg_buf_addc(&b, ' ');
    pg_put_double(&b, -INFINITY);
    assert_string_equal(str(&b), "Infinity -Infinity");
    b.len = 0;
    pg_put_double(&b, 42);
    pg_buf_addc(&b, ' ');
    pg_put_double(&b, -3);
    pg_buf_addc(&b, ' ');
    pg_put_double(&b, 0.1);
    pg_buf_addc(&b, ' ');
    pg_put_double(&b, 1e300);
    assert_string_equal(str(&b),
                        "42 -3 0.10000000000000001 1.0000000000000001e+300");
    b.len = 0;
    pg_put_int(&b, INT64_MIN);
    assert_string_equal(str(&b), "-9223372036854775808");
    pg_buf_release(&b);
}

static void
copy_text_escapes_delimiters(void **state)
{
    struct pg_buf b = { 0 };
    const char in[] = "a\tb\nc\\d\re\"f";

    (void)state;
    pg_copy_text(&b, in, sizeof(in) - 1);
    assert_string_equal(str(&b), "a\\tb\\nc\\\\d\\re\"f");
    pg_buf_release(&b);
}

static void
copy_text_makes_any_bytes_valid_utf8(void **state)
{
    struct pg_buf b = { 0 };
    /* é (valid), 0xff, NUL, overlong '/', a surrogate, a cut sequence */
    const char in[] = "\xc3\xa9|\xff|\0|\xc0\xaf|\xed\xa0\x80|\xe2\x82";

    (void)state;
    pg_copy_text(&b, in, sizeof(in) - 1);
    assert_string_equal(str(&b), "\xc3\xa9|\xc3\xbf|\xef\xbf\xbd|"
                        "\xc3\x80\xc2\xaf|\xc3\xad\xc2\xa0\xc2\x80|"
                        "\xc3\xa2\xc2\x82");
    b.len = 0;
    pg_utf8_text(&b, "a\tb\\", 4);
    assert_string_equal(str(&b), "a\tb\\");
    pg_buf_release(&b);
}

static void
json_strings_are_jsonb_safe(void **state)
{
    struct pg_buf b = { 0 };
    const char in[] = "q\"b\\\x01\0\xfe";

    (void)state;
    pg_json_string(&b, in, sizeof(in) - 1);
    assert_string_equal(str(&b), "\"q\\\"b\\\\\\u0001\xef\xbf\xbd\xc3\xbe\"");
    pg_buf_release(&b);
}

static void
json_attributes_keep_their_types(void **state)
{
    struct pg_buf b = { 0 };
    struct vg_kv kv[5];

    (void)state;
    kv[0] = vg_kv_str("s", "x");
    kv[1].key = "i"; kv[1].key_len = 1; kv[1].type = VG_VAL_INT;
    kv[1].v.i = -7;
    kv[2].key = "d"; kv[2].key_len = 1; kv[2].type = VG_VAL_DOUBLE;
    kv[2].v.d = 2.5;
    kv[3].key = "n"; kv[3].key_len = 1; kv[3].type = VG_VAL_DOUBLE;
    kv[3].v.d = NAN;
    kv[4].key = "b"; kv[4].key_len = 1; kv[4].type = VG_VAL_BOOL;
    kv[4].v.b = 1;
    pg_json_attrs(&b, kv, 5);
    assert_string_equal(str(&b),
                        "{\"s\":\"x\",\"i\":-7,\"d\":2.5,\"n\":\"NaN\","
                        "\"b\":true}");
    b.len = 0;
    pg_json_labels(&b, kv, 1);
    assert_string_equal(str(&b), "{\"s\":\"x\"}");
    b.len = 0;
    pg_json_labels(&b, NULL, 0);
    assert_string_equal(str(&b), "{}");
    pg_buf_release(&b);
}

static void
rows_have_the_table_columns(void **state)
{
    struct pg_buf b = { 0 }, tmp = { 0 };
    struct vg_event ev;
    struct vg_kv lab = vg_kv_str("host", "a\tb");
    double bounds[2] = { 0.5, INFINITY };
    uint64_t counts[2] = { 3, 1 };

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = 0;
    ev.value = 1.5;
    pg_copy_sample(&b, &ev, 42);
    assert_string_equal(str(&b), "1970-01-01 00:00:00.000000+00\t42\t1.5\n");

    b.len = 0;
    ev.metric_type = VG_METRIC_HISTOGRAM;
    ev.hist.nbuckets = 2;
    ev.hist.bounds = bounds;
    ev.hist.counts = counts;
    ev.hist.sum = 2;
    ev.hist.count = 4;
    pg_copy_histogram(&b, &ev, 7);
    assert_string_equal(str(&b), "1970-01-01 00:00:00.000000+00\t7\t"
                        "{0.5,Infinity}\t{3,1}\t2\t4\n");

    b.len = 0;
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_LOG;
    ev.severity = VG_SEV_ERROR + 1;
    ev.body = "x\ny";
    ev.body_len = 3;
    ev.labels = &lab;
    ev.nlabels = 1;
    pg_copy_log(&b, &tmp, &ev, "pipe");
    assert_string_equal(str(&b), "1970-01-01 00:00:00.000000+00\t18\terror\t"
                        "x\\ny\t{}\t{\"host\":\"a\\\\tb\"}\tpipe\n");

    b.len = 0;
    ev.severity = 0;
    pg_copy_log(&b, &tmp, &ev, NULL);
    assert_string_equal(str(&b), "1970-01-01 00:00:00.000000+00\t\\N\t\\N\t"
                        "x\\ny\t{}\t{\"host\":\"a\\\\tb\"}\t\\N\n");
    pg_buf_release(&b);
    pg_buf_release(&tmp);
}

/* Big-endian integer of n bytes at p. */
static int64_t
be(const char *p, int n)
{
    uint64_t v = 0;
    int i;

    for (i = 0; i < n; i++)
        v = (v << 8) | (unsigned char)p[i];
    if (n < 8 && (v >> (n * 8 - 1)) & 1)
        v |= ~UINT64_C(0) << (n * 8);       /* sign-extend */
    return (int64_t)v;
}

static void
binary_copy_rows_are_what_postgres_reads(void **state)
{
    struct pg_buf b = { 0 };
    struct vg_event ev;
    double v;
    int64_t bits;

    (void)state;
    assert_int_equal(pg_bin_header(&b), 0);
    assert_int_equal(b.len, 19);
    assert_memory_equal(b.data, "PGCOPY\n\377\r\n\0", 11);
    assert_int_equal(be(b.data + 11, 4), 0);        /* flags */
    assert_int_equal(be(b.data + 15, 4), 0);        /* extension */

    b.len = 0;
    memset(&ev, 0, sizeof(ev));
    ev.time = INT64_C(946684800000000000) + 1999;   /* 2000-01-01 + 1.999us */
    ev.value = -2.5;
    assert_int_equal(pg_bin_sample(&b, &ev, 42), 0);
    assert_int_equal(b.len, 2 + 3 * 12);
    assert_int_equal(be(b.data, 2), 3);
    assert_int_equal(be(b.data + 2, 4), 8);
    assert_int_equal(be(b.data + 6, 8), 1);         /* microseconds */
    assert_int_equal(be(b.data + 14, 4), 8);
    assert_int_equal(be(b.data + 18, 8), 42);
    bits = be(b.data + 30, 8);
    memcpy(&v, &bits, sizeof(v));
    assert_true(v == -2.5);

    b.len = 0;
    ev.time = -1;                                   /* before 1970 */
    pg_bin_sample(&b, &ev, 1);
    assert_int_equal(be(b.data + 6, 8), -INT64_C(946684800000000) - 1);

    b.len = 0;
    ev.kind = VG_EV_LOG;
    ev.time = INT64_C(946684800000000000);
    ev.severity = VG_SEV_WARN;
    ev.body = "a\tb\xff";
    ev.body_len = 4;
    assert_int_equal(pg_bin_log(&b, &ev, "src"), 0);
    assert_int_equal(be(b.data, 2), 7);
    assert_int_equal(be(b.data + 2, 4), 8);
    assert_int_equal(be(b.data + 6, 8), 0);
    assert_int_equal(be(b.data + 14, 4), 4);        /* severity int4 */
    assert_int_equal(be(b.data + 18, 4), 13);
    assert_int_equal(be(b.data + 22, 4), 4);        /* "warn" */
    assert_memory_equal(b.data + 26, "warn", 4);
    assert_int_equal(be(b.data + 30, 4), 5);        /* body, 0xff fixed */
    assert_memory_equal(b.data + 34, "a\tb\xc3\xbf", 5);
    assert_int_equal(be(b.data + 39, 4), 3);        /* jsonb: 1 + "{}" */
    assert_memory_equal(b.data + 43, "\1{}", 3);
    assert_int_equal(be(b.data + 46, 4), 3);
    assert_memory_equal(b.data + 50, "\1{}", 3);
    assert_int_equal(be(b.data + 53, 4), 3);
    assert_memory_equal(b.data + 57, "src", 3);
    assert_int_equal(b.len, 60);

    b.len = 0;
    ev.severity = 0;
    pg_bin_log(&b, &ev, NULL);
    assert_int_equal(be(b.data + 14, 4), -1);       /* NULL severity */
    assert_int_equal(be(b.data + 18, 4), -1);       /* NULL text */
    assert_int_equal(be(b.data + b.len - 4, 4), -1); /* NULL source */

    b.len = 0;
    pg_bin_trailer(&b);
    assert_int_equal(b.len, 2);
    assert_int_equal(be(b.data, 2), -1);
    pg_buf_release(&b);
}

static void
severity_names(void **state)
{
    (void)state;
    assert_null(pg_severity_text(0));
    assert_string_equal(pg_severity_text(1), "trace");
    assert_string_equal(pg_severity_text(9), "info");
    assert_string_equal(pg_severity_text(16), "warn");
    assert_string_equal(pg_severity_text(24), "fatal");
    assert_null(pg_severity_text(25));
    assert_string_equal(pg_alert_severity_text(VG_ALERT_CRITICAL),
                        "critical");
}

static void
series_cache_finds_what_it_keeps(void **state)
{
    struct pg_series s;
    uint64_t i;

    (void)state;
    pg_series_init(&s);
    assert_int_equal(pg_series_get(&s, 5), 0);
    for (i = 0; i < 5000; i++)
        assert_int_equal(pg_series_put(&s, i * 0x10001, (int64_t)i + 1), 0);
    assert_int_equal(s.n, 5000);
    for (i = 0; i < 5000; i++)
        assert_int_equal(pg_series_get(&s, i * 0x10001), (int64_t)i + 1);
    assert_int_equal(pg_series_get(&s, 3), 0);
    assert_int_equal(pg_series_put(&s, 0, 99), 0);       /* hash 0 */
    assert_int_equal(pg_series_get(&s, 0), 99);
    assert_int_equal(s.n, 5000);                         /* 0 was there */
    pg_series_clear(&s);
    assert_int_equal(pg_series_get(&s, 0x10001), 0);
    assert_int_equal(s.n, 0);
    pg_series_release(&s);
}

static void
schema_sql(void **state)
{
    struct pg_buf b = { 0 };

    (void)state;
    assert_int_equal(pg_schema_partition(&b, "vigil_logs", 19782), 0);
    assert_string_equal(str(&b), "CREATE TABLE IF NOT EXISTS "
                        "vigil_logs_p20240229 PARTITION OF vigil_logs FOR "
                        "VALUES FROM ('2024-02-29 00:00:00+00') TO "
                        "('2024-03-01 00:00:00+00'); ");
    assert_int_equal(pg_schema_migration(&b, 1, 1), 0);
    assert_non_null(strstr(b.data, "PARTITION BY RANGE (time)"));
    assert_non_null(strstr(b.data, "INSERT INTO vigil_schema (version) "
                           "VALUES (1)"));
    assert_int_equal(pg_schema_migration(&b, 2, 0), 0);
    assert_null(strstr(b.data, "PARTITION BY"));
    assert_int_equal(pg_schema_migration(&b, PG_SCHEMA_VERSION + 1, 1),
                     -EINVAL);
    b.len = 0;
    assert_int_equal(pg_schema_retention(&b, 0, 0), 0);
    assert_null(strstr(str(&b), "DROP TABLE"));
    b.len = 0;
    assert_int_equal(pg_schema_retention(&b, 86400, 0), 0);
    assert_non_null(strstr(str(&b), "interval '86400 seconds'"));
    assert_non_null(strstr(b.data, "DROP TABLE IF EXISTS %I.%I"));
    pg_buf_release(&b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(time_is_utc_microseconds),
        cmocka_unit_test(day_names_follow_the_calendar),
        cmocka_unit_test(doubles_read_back_exactly),
        cmocka_unit_test(copy_text_escapes_delimiters),
        cmocka_unit_test(copy_text_makes_any_bytes_valid_utf8),
        cmocka_unit_test(json_strings_are_jsonb_safe),
        cmocka_unit_test(json_attributes_keep_their_types),
        cmocka_unit_test(rows_have_the_table_columns),
        cmocka_unit_test(binary_copy_rows_are_what_postgres_reads),
        cmocka_unit_test(severity_names),
        cmocka_unit_test(series_cache_finds_what_it_keeps),
        cmocka_unit_test(schema_sql),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
