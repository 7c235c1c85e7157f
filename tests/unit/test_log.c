/* Unit tests of log.c: levels, format, rate limiting of repeats. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "log.h"

/* Runs fn with stderr sent to a temp file; returns what was written. */
static char *
capture(void (*fn)(void))
{
    char path[] = "/tmp/vg-log-XXXXXX";
    int fd = mkstemp(path), saved = dup(2);
    char *text = calloc(1, 65536);
    FILE *f;

    assert_true(fd >= 0);
    fflush(stderr);
    dup2(fd, 2);
    fn();
    fflush(stderr);
    dup2(saved, 2);
    close(saved);
    f = fopen(path, "r");
    assert_non_null(f);
    fread(text, 1, 65535, f);
    fclose(f);
    close(fd);
    unlink(path);
    return text;
}

static int
count(const char *hay, const char *needle)
{
    int n = 0;

    while ((hay = strstr(hay, needle))) {
        n++;
        hay += strlen(needle);
    }
    return n;
}

static void
log_levels_fn(void)
{
    vg_log_set_level(VG_LOG_WARN);
    vg_log_who(VG_LOG_ERROR, "output[x#1]", "a", "shown %d", 1);
    vg_log_who(VG_LOG_INFO, "output[x#1]", "b", "hidden %d", 2);
    vg_log_set_level(VG_LOG_INFO);
}

static void
levels_filter_and_format(void **state)
{
    char *out = capture(log_levels_fn);

    (void)state;
    assert_non_null(strstr(out, "error output[x#1]: shown 1\n"));
    assert_null(strstr(out, "hidden"));
    /* "2026-11-23T12:00:00.123Z " */
    assert_int_equal(out[4], '-');
    assert_int_equal(out[10], 'T');
    assert_int_equal(out[23], 'Z');
    free(out);
}

static void
storm_fn(void)
{
    int i;

    for (i = 0; i < 1000; i++)
        vg_log_who(VG_LOG_WARN, "input[udp#1]", "storm", "packet %d bad", i);
    vg_log_who(VG_LOG_WARN, "input[other#1]", "calm", "other place");
}

static void
repeats_are_rate_limited(void **state)
{
    char *out = capture(storm_fn);

    (void)state;
    assert_int_equal(count(out, "input[udp#1]: packet"), 5);
    assert_non_null(strstr(out, "input[other#1]: other place"));
    free(out);
}

static void
parse_levels(void **state)
{
    (void)state;
    assert_int_equal(vg_log_parse_level("debug"), VG_LOG_DEBUG);
    assert_int_equal(vg_log_parse_level("WARNING"), VG_LOG_WARN);
    assert_int_equal(vg_log_parse_level("loud"), -1);
    assert_string_equal(vg_log_level_name(VG_LOG_ERROR), "error");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(levels_filter_and_format),
        cmocka_unit_test(repeats_are_rate_limited),
        cmocka_unit_test(parse_levels),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
