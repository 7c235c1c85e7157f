/* Unit tests of util.c: durations, sizes, buffers, time formatting. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <cmocka.h>

#include "util.h"

static void
duration_units(void **state)
{
    int64_t ns;

    (void)state;
    assert_int_equal(vg_parse_duration("10s", &ns), 0);
    assert_int_equal(ns, 10 * INT64_C(1000000000));
    assert_int_equal(vg_parse_duration("250ms", &ns), 0);
    assert_int_equal(ns, 250 * INT64_C(1000000));
    assert_int_equal(vg_parse_duration("5m", &ns), 0);
    assert_int_equal(ns, 300 * INT64_C(1000000000));
    assert_int_equal(vg_parse_duration("1h30m", &ns), 0);
    assert_int_equal(ns, 5400 * INT64_C(1000000000));
    assert_int_equal(vg_parse_duration("7d", &ns), 0);
    assert_int_equal(ns, 7 * 86400 * INT64_C(1000000000));
    assert_int_equal(vg_parse_duration("1.5s", &ns), 0);
    assert_int_equal(ns, 1500 * INT64_C(1000000));
    assert_int_equal(vg_parse_duration("30", &ns), 0);
    assert_int_equal(ns, 30 * INT64_C(1000000000));
    assert_int_equal(vg_parse_duration("2us", &ns), 0);
    assert_int_equal(ns, 2000);
}

static void
duration_rejects_garbage(void **state)
{
    int64_t ns = 7;

    (void)state;
    assert_int_equal(vg_parse_duration("", &ns), -EINVAL);
    assert_int_equal(vg_parse_duration("abc", &ns), -EINVAL);
    assert_int_equal(vg_parse_duration("10q", &ns), -EINVAL);
    assert_int_equal(vg_parse_duration("10 s", &ns), -EINVAL);
    assert_int_equal(vg_parse_duration("-5s", &ns), -EINVAL);
    assert_int_equal(vg_parse_duration("1h30", &ns), -EINVAL);
    assert_int_equal(vg_parse_duration("99999999999999d", &ns), -ERANGE);
    assert_int_equal(ns, 7);
}

static void
size_units(void **state)
{
    int64_t b;

    (void)state;
    assert_int_equal(vg_parse_size("4096", &b), 0);
    assert_int_equal(b, 4096);
    assert_int_equal(vg_parse_size("64MiB", &b), 0);
    assert_int_equal(b, 64 * 1024 * 1024);
    assert_int_equal(vg_parse_size("64M", &b), 0);
    assert_int_equal(b, 64 * 1024 * 1024);
    assert_int_equal(vg_parse_size("10MB", &b), 0);
    assert_int_equal(b, 10000000);
    assert_int_equal(vg_parse_size("512k", &b), 0);
    assert_int_equal(b, 512 * 1024);
    assert_int_equal(vg_parse_size("1 GiB", &b), 0);
    assert_int_equal(b, INT64_C(1) << 30);
    assert_int_equal(vg_parse_size("1.5KiB", &b), 0);
    assert_int_equal(b, 1536);
    assert_int_equal(vg_parse_size("12x", &b), -EINVAL);
    assert_int_equal(vg_parse_size("MiB", &b), -EINVAL);
    assert_int_equal(vg_parse_size("-1", &b), -EINVAL);
}

static void
buf_grows_and_terminates(void **state)
{
    struct vg_buf b;
    int i;

    (void)state;
    vg_buf_init(&b);
    for (i = 0; i < 1000; i++)
        vg_buf_addf(&b, "%d,", i);
    assert_int_equal(b.len, strlen(b.data));
    assert_memory_equal(b.data, "0,1,2,", 6);
    assert_string_equal(b.data + b.len - 4, "999,");
    vg_buf_addch(&b, 'x');
    assert_int_equal(b.data[b.len - 1], 'x');
    assert_int_equal(b.data[b.len], '\0');
    vg_buf_release(&b);
    assert_null(b.data);
}

static void
time_is_rfc3339_nanoseconds(void **state)
{
    char s[64];

    (void)state;
    vg_format_time(INT64_C(1700000000123456789), s, sizeof(s));
    assert_string_equal(s, "2023-11-14T22:13:20.123456789Z");
    vg_format_time(0, s, sizeof(s));
    assert_string_equal(s, "1970-01-01T00:00:00.000000000Z");
    vg_format_time(-1, s, sizeof(s));
    assert_string_equal(s, "1969-12-31T23:59:59.999999999Z");
}

/* The arithmetic calendar agrees with the libc's gmtime over the years
 * that nanoseconds in an int64 reach (1684..2255),
 * leap days and centuries included, and truncates like snprintf. */
static void
time_matches_gmtime(void **state)
{
    int64_t sec;
    char got[64], want[64];
    struct tm tm;

    (void)state;
    for (sec = INT64_C(-9000000000); sec < INT64_C(9000000000);
         sec += INT64_C(86399) * 7 + 3601) {
        time_t t = (time_t)sec;

        assert_non_null(gmtime_r(&t, &tm));
        snprintf(want, sizeof(want), "%04d-%02d-%02dT%02d:%02d:%02d."
                 "000000042Z", tm.tm_year + 1900, tm.tm_mon + 1,
                 tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec);
        assert_int_equal(vg_format_time(sec * 1000000000 + 42, got,
                                        sizeof(got)), 30);
        assert_string_equal(got, want);
    }
    vg_format_time(INT64_C(951782400) * 1000000000, got, sizeof(got));
    assert_string_equal(got, "2000-02-29T00:00:00.000000000Z");
    assert_int_equal(vg_format_time(0, got, 11), 30);
    assert_string_equal(got, "1970-01-01");
}

static void
edit_distance(void **state)
{
    (void)state;
    assert_int_equal(vg_edit_distance("url", "urll"), 1);
    assert_int_equal(vg_edit_distance("path", "path"), 0);
    assert_int_equal(vg_edit_distance("", "abc"), 3);
    assert_int_equal(vg_edit_distance("kitten", "sitting"), 3);
}

static void
atomic_write_replaces(void **state)
{
    char dir[] = "/tmp/vg-util-XXXXXX", path[64], got[16] = { 0 };
    FILE *f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/state", dir);
    assert_int_equal(vg_write_file_atomic(path, "first", 5), 0);
    assert_int_equal(vg_write_file_atomic(path, "second", 6), 0);
    f = fopen(path, "r");
    assert_non_null(f);
    assert_int_equal(fread(got, 1, sizeof(got) - 1, f), 6);
    fclose(f);
    assert_string_equal(got, "second");
    unlink(path);
    rmdir(dir);
    assert_int_equal(vg_write_file_atomic("/nonexistent-dir/x", "a", 1),
                     -ENOENT);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(duration_units),
        cmocka_unit_test(duration_rejects_garbage),
        cmocka_unit_test(size_units),
        cmocka_unit_test(buf_grows_and_terminates),
        cmocka_unit_test(time_is_rfc3339_nanoseconds),
        cmocka_unit_test(time_matches_gmtime),
        cmocka_unit_test(edit_distance),
        cmocka_unit_test(atomic_write_replaces),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
