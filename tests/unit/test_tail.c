/*
 * Unit tests of the tail input's pure parts: the line splitter, the
 * multiline assembler and the offsets file (format, checksum, atomic save).
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
#include <sys/stat.h>
#include <unistd.h>

#include "files.h"
#include "multiline.h"
#include "offsets.h"
#include "reader.h"

/* ---- a sink that records lines ------------------------------------- */

struct rec {
    char     text[64][256];
    int      trunc[64];
    uint64_t start[64], end[64];
    int      n;
};

static int
rec_line(void *arg, const char *p, size_t n, int truncated, uint64_t start,
         uint64_t end)
{
    struct rec *r = arg;

    assert_true(r->n < 64);
    assert_true(n < sizeof(r->text[0]));
    memcpy(r->text[r->n], p, n);
    r->text[r->n][n] = '\0';
    r->trunc[r->n] = truncated;
    r->start[r->n] = start;
    r->end[r->n] = end;
    r->n++;
    return 0;
}

static int
rec_record(void *arg, const char *p, size_t n, int truncated)
{
    return rec_line(arg, p, n, truncated, 0, 0);
}

static void
split_cuts_lines_and_keeps_partial(void **state)
{
    struct tail_split sp = { .max_line = 100 };
    struct rec r = { .n = 0 };
    const char buf[] = "one\ntwo\r\n\nthr";
    long used;

    (void)state;
    used = tail_split_feed(&sp, buf, sizeof(buf) - 1, 1000, rec_line, &r);
    assert_int_equal(used, 10);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.text[0], "one");
    assert_string_equal(r.text[1], "two");
    assert_string_equal(r.text[2], "");
    assert_int_equal(r.start[1], 1004);
    assert_int_equal(r.end[1], 1009);
    assert_int_equal(r.end[2], 1010);
    assert_int_equal(r.trunc[0], 0);
}

static void
split_long_line_is_cut_and_rest_skipped(void **state)
{
    struct tail_split sp = { .max_line = 4 };
    struct rec r = { .n = 0 };
    long used;

    (void)state;
    /* A partial longer than max_line is cut at once... */
    used = tail_split_feed(&sp, "abcdefgh", 8, 0, rec_line, &r);
    assert_int_equal(used, 8);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.text[0], "abcd");
    assert_int_equal(r.trunc[0], 1);
    /* ...whose resume point stays at the line's start. */
    assert_int_equal(r.end[0], 0);
    assert_int_equal(sp.skipping, 1);
    /* the rest up to the newline is dropped, the next line is whole */
    used = tail_split_feed(&sp, "ijk\nok\n", 7, 8, rec_line, &r);
    assert_int_equal(used, 7);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.text[1], "ok");
    assert_int_equal(r.trunc[1], 0);
    assert_int_equal(r.end[1], 15);
    assert_int_equal(sp.skipping, 0);
}

static void
split_line_of_exactly_max_is_not_truncated(void **state)
{
    struct tail_split sp = { .max_line = 4 };
    struct rec r = { .n = 0 };
    long used;

    (void)state;
    used = tail_split_feed(&sp, "abcd", 4, 0, rec_line, &r);
    assert_int_equal(used, 0);
    assert_int_equal(r.n, 0);
    used = tail_split_feed(&sp, "abcd\r\nabcdef\n", 13, 0, rec_line, &r);
    assert_int_equal(used, 13);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.text[0], "abcd");
    assert_int_equal(r.trunc[0], 0);
    assert_string_equal(r.text[1], "abcd");
    assert_int_equal(r.trunc[1], 1);
    assert_int_equal(r.end[1], 13);
}

static void
split_passes_binary_bytes_through(void **state)
{
    struct tail_split sp = { .max_line = 100 };
    struct rec r = { .n = 0 };
    const char buf[] = "\xff\xfe\x00z\n";

    (void)state;
    assert_int_equal(tail_split_feed(&sp, buf, 5, 0, rec_line, &r), 5);
    assert_int_equal(r.n, 1);
    assert_memory_equal(r.text[0], "\xff\xfe\x00z", 4);
}

static void
split_flush_delivers_last_line_without_newline(void **state)
{
    struct tail_split sp = { .max_line = 100 };
    struct rec r = { .n = 0 };

    (void)state;
    assert_int_equal(tail_split_flush(&sp, "tail\r", 5, 50, rec_line, &r), 0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.text[0], "tail");
    assert_int_equal(r.end[0], 55);
    /* nothing for an empty rest or a line being skipped */
    assert_int_equal(tail_split_flush(&sp, "", 0, 55, rec_line, &r), 0);
    sp.skipping = 1;
    assert_int_equal(tail_split_flush(&sp, "xx", 2, 55, rec_line, &r), 0);
    assert_int_equal(r.n, 1);
    assert_int_equal(sp.skipping, 0);
}

static void
crc32_matches_zlib(void **state)
{
    (void)state;
    /* zlib.crc32(b"123456789") == 0xcbf43926 */
    assert_int_equal(tail_crc32(0, "123456789", 9), 0xcbf43926u);
    assert_int_equal(tail_crc32(tail_crc32(0, "1234", 4), "56789", 5),
                     0xcbf43926u);
}

/* ---- multiline ----------------------------------------------------- */

static void
feed_all(struct tail_ml *m, const struct tail_ml_rules *rules,
         const char *const *lines, struct rec *r)
{
    uint64_t off = 0;

    for (; *lines; lines++) {
        assert_int_equal(tail_ml_feed(m, rules, *lines, strlen(*lines), 0,
                                      off, 0, rec_record, r), 0);
        off += strlen(*lines) + 1;
    }
}

static void
ml_java_joins_stack_frames(void **state)
{
    struct tail_ml_rules rules;
    struct tail_ml m = { 0 };
    struct rec r = { .n = 0 };
    char err[128];
    static const char *const lines[] = {
        "2026-01-01 ERROR failed",
        "java.lang.IllegalStateException: boom",
        "\tat com.x.A.f(A.java:10)",
        "\tat com.x.B.g(B.java:20)",
        "Caused by: java.io.IOException: disk",
        "\t... 3 more",
        "2026-01-01 INFO next",
        NULL,
    };

    (void)state;
    assert_int_equal(tail_ml_rules_init(&rules, TAIL_ML_JAVA, NULL, 4096,
                                        err, sizeof(err)), 0);
    feed_all(&m, &rules, lines, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.text[0], "2026-01-01 ERROR failed");
    assert_string_equal(r.text[1], "java.lang.IllegalStateException: boom\n"
                        "\tat com.x.A.f(A.java:10)\n"
                        "\tat com.x.B.g(B.java:20)\n"
                        "Caused by: java.io.IOException: disk\n"
                        "\t... 3 more");
    /* the last line is pending; its start is the safe offset */
    assert_true(tail_ml_pending(&m));
    assert_int_equal(m.start, 161);
    assert_int_equal(tail_ml_flush(&m, rec_record, &r), 0);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.text[2], "2026-01-01 INFO next");
    tail_ml_release(&m);
    tail_ml_rules_release(&rules);
}

/* An empty line may open a record (java mode): it comes out as "". */
static void
ml_empty_first_line_is_an_empty_record(void **state)
{
    struct tail_ml_rules rules;
    struct tail_ml m = { 0 };
    struct rec r = { .n = 0 };
    char err[128];

    (void)state;
    assert_int_equal(tail_ml_rules_init(&rules, TAIL_ML_JAVA, NULL, 4096,
                                        err, sizeof(err)), 0);
    assert_int_equal(tail_ml_feed(&m, &rules, "", 0, 0, 0, 0, rec_record,
                                  &r), 0);
    assert_true(tail_ml_pending(&m));
    assert_int_equal(tail_ml_flush(&m, rec_record, &r), 0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.text[0], "");
    tail_ml_release(&m);
    tail_ml_rules_release(&rules);
}

static void
ml_python_traceback_ends_at_exception_line(void **state)
{
    struct tail_ml_rules rules;
    struct tail_ml m = { 0 };
    struct rec r = { .n = 0 };
    char err[128];
    static const char *const lines[] = {
        "ERROR:root:oops",
        "Traceback (most recent call last):",
        "  File \"x.py\", line 1, in <module>",
        "    f()",
        "ValueError: bad",
        "INFO:root:after",
        NULL,
    };

    (void)state;
    assert_int_equal(tail_ml_rules_init(&rules, TAIL_ML_PYTHON, NULL, 4096,
                                        err, sizeof(err)), 0);
    feed_all(&m, &rules, lines, &r);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.text[0], "ERROR:root:oops");
    assert_string_equal(r.text[1], "Traceback (most recent call last):\n"
                        "  File \"x.py\", line 1, in <module>\n"
                        "    f()\nValueError: bad");
    assert_string_equal(r.text[2], "INFO:root:after");
    assert_false(tail_ml_pending(&m));
    tail_ml_release(&m);
    tail_ml_rules_release(&rules);
}

static void
ml_go_panic_is_one_record(void **state)
{
    struct tail_ml_rules rules;
    struct tail_ml m = { 0 };
    struct rec r = { .n = 0 };
    char err[128];
    static const char *const lines[] = {
        "panic: runtime error: index out of range",
        "",
        "goroutine 1 [running]:",
        "main.main()",
        "\t/src/main.go:5 +0x1d",
        "level=info msg=restarted",
        NULL,
    };

    (void)state;
    assert_int_equal(tail_ml_rules_init(&rules, TAIL_ML_GO, NULL, 4096, err,
                                        sizeof(err)), 0);
    feed_all(&m, &rules, lines, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.text[0], "panic: runtime error: index out of "
                        "range\n\ngoroutine 1 [running]:\nmain.main()\n"
                        "\t/src/main.go:5 +0x1d");
    assert_string_equal(r.text[1], "level=info msg=restarted");
    tail_ml_release(&m);
    tail_ml_rules_release(&rules);
}

static void
ml_regex_start_joins_until_next_start(void **state)
{
    struct tail_ml_rules rules;
    struct tail_ml m = { 0 };
    struct rec r = { .n = 0 };
    char err[128];
    static const char *const lines[] = {
        "orphan", "[1] a", "b", "c", "[2] d", NULL,
    };

    (void)state;
    assert_int_equal(tail_ml_rules_init(&rules, TAIL_ML_REGEX, "^\\[\\d+\\]",
                                        4096, err, sizeof(err)), 0);
    feed_all(&m, &rules, lines, &r);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.text[0], "orphan");
    assert_string_equal(r.text[1], "[1] a\nb\nc");
    assert_true(tail_ml_pending(&m));
    tail_ml_release(&m);
    tail_ml_rules_release(&rules);
}

static void
ml_record_is_cut_at_max_size(void **state)
{
    struct tail_ml_rules rules;
    struct tail_ml m = { 0 };
    struct rec r = { .n = 0 };
    char err[128];
    static const char *const lines[] = {
        "[1] abcdef", "ghijkl", "mnop", NULL,
    };

    (void)state;
    assert_int_equal(tail_ml_rules_init(&rules, TAIL_ML_REGEX, "^\\[", 12,
                                        err, sizeof(err)), 0);
    feed_all(&m, &rules, lines, &r);
    assert_int_equal(tail_ml_flush(&m, rec_record, &r), 0);
    assert_int_equal(r.n, 1);
    assert_string_equal(r.text[0], "[1] abcdef\ng");
    assert_int_equal(r.trunc[0], 1);
    tail_ml_release(&m);
    tail_ml_rules_release(&rules);
}

static void
ml_bad_regex_is_reported(void **state)
{
    struct tail_ml_rules rules;
    char err[128] = "";

    (void)state;
    assert_int_equal(tail_ml_rules_init(&rules, TAIL_ML_REGEX, "([a-", 100,
                                        err, sizeof(err)), -EINVAL);
    assert_non_null(strstr(err, "multiline.start"));
}

/* ---- offsets ------------------------------------------------------- */

static void
make_offsets(struct tail_offsets *o)
{
    struct tail_pos a = { 2049, 1234, 5678, 256, 0xdeadbeef,
                          (char *)"/var/log/a b.log" };
    struct tail_pos b = { 2049, 99, 0, 0, 0, (char *)"/x/new\nline" };

    memset(o, 0, sizeof(*o));
    tail_offsets_add(o, &a);
    tail_offsets_add(o, &b);
}

static void
free_offsets(struct tail_offsets *o)
{
    tail_offsets_clear(o);
    free(o->v);
}

static void
offsets_round_trip(void **state)
{
    struct tail_offsets o, back = { 0 };
    struct tail_pos *p;
    char *text;
    size_t len;

    (void)state;
    make_offsets(&o);
    assert_int_equal(tail_offsets_format(&o, &text, &len), 0);
    assert_int_equal(tail_offsets_parse(&back, text, len), 0);
    assert_int_equal(back.n, 2);
    p = tail_offsets_find(&back, 2049, 1234);
    assert_non_null(p);
    assert_int_equal(p->offset, 5678);
    assert_int_equal(p->fp_len, 256);
    assert_int_equal(p->fp, 0xdeadbeef);
    assert_string_equal(p->path, "/var/log/a b.log");
    p = tail_offsets_find(&back, 2049, 99);
    assert_non_null(p);
    assert_string_equal(p->path, "/x/new?line");
    assert_null(tail_offsets_find(&back, 1, 99));
    free(text);
    free_offsets(&o);
    free_offsets(&back);
}

static void
offsets_torn_or_corrupt_file_is_rejected(void **state)
{
    struct tail_offsets o, back = { 0 };
    char *text;
    size_t len, cut;

    (void)state;
    make_offsets(&o);
    assert_int_equal(tail_offsets_format(&o, &text, &len), 0);
    /* every torn prefix is rejected, never half applied */
    for (cut = 0; cut < len; cut++) {
        assert_int_equal(tail_offsets_parse(&back, text, cut), -EBADMSG);
        assert_int_equal(back.n, 0);
    }
    /* one flipped digit breaks the checksum */
    text[25] = text[25] == '1' ? '2' : '1';
    assert_int_equal(tail_offsets_parse(&back, text, len), -EBADMSG);
    assert_int_equal(back.n, 0);
    assert_int_equal(tail_offsets_parse(&back, "garbage\n", 8), -EBADMSG);
    free(text);
    free_offsets(&o);
    free_offsets(&back);
}

static void
offsets_save_then_load(void **state)
{
    struct tail_offsets o, back = { 0 };
    char dir[] = "/tmp/test_tail.XXXXXX", file[64], tmp[80];
    struct stat sb;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(file, sizeof(file), "%s/x.offsets", dir);
    snprintf(tmp, sizeof(tmp), "%s.tmp", file);
    assert_int_equal(tail_offsets_load(&back, file), -ENOENT);
    make_offsets(&o);
    assert_int_equal(tail_offsets_save(&o, file), 0);
    assert_int_equal(stat(tmp, &sb), -1);
    assert_int_equal(tail_offsets_load(&back, file), 0);
    assert_int_equal(back.n, 2);
    assert_int_equal(tail_offsets_find(&back, 2049, 1234)->offset, 5678);
    free_offsets(&back);
    /* a file cut short on disk is detected */
    assert_int_equal(truncate(file, 30), 0);
    memset(&back, 0, sizeof(back));
    assert_int_equal(tail_offsets_load(&back, file), -EBADMSG);
    unlink(file);
    rmdir(dir);
    free_offsets(&o);
    free_offsets(&back);
}

static void
offsets_save_reports_failure(void **state)
{
    struct tail_offsets o;

    (void)state;
    make_offsets(&o);
    assert_int_equal(tail_offsets_save(&o, "/nonexistent-dir/x.offsets"),
                     -ENOENT);
    free_offsets(&o);
}

static void
fingerprint_needs_enough_bytes(void **state)
{
    char path[] = "/tmp/test_tail_fp.XXXXXX";
    int fd = mkstemp(path);
    uint32_t fp = 0;

    (void)state;
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "123456789", 9), 9);
    assert_int_equal(tail_files_fingerprint(fd, 9, &fp), 0);
    assert_int_equal(fp, 0xcbf43926u);
    assert_int_equal(tail_files_fingerprint(fd, 10, &fp), -EAGAIN);
    close(fd);
    unlink(path);
}

static void
exclude_globs_match_whole_path(void **state)
{
    char *ex[] = { (char *)"/var/log/*.gz", (char *)"debug*.log" };

    (void)state;
    assert_true(tail_files_excluded("/var/log/a.gz", ex, 2));
    assert_true(tail_files_excluded("/var/log/sub/a.gz", ex, 2));
    assert_false(tail_files_excluded("/var/log/a.log", ex, 2));
    assert_false(tail_files_excluded("/srv/a.gz", ex, 2));
    assert_true(tail_files_excluded("/srv/debug-1.log", ex, 2));
    assert_false(tail_files_excluded("/srv/debug/x.log", ex, 2));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(split_cuts_lines_and_keeps_partial),
        cmocka_unit_test(split_long_line_is_cut_and_rest_skipped),
        cmocka_unit_test(split_line_of_exactly_max_is_not_truncated),
        cmocka_unit_test(split_passes_binary_bytes_through),
        cmocka_unit_test(split_flush_delivers_last_line_without_newline),
        cmocka_unit_test(crc32_matches_zlib),
        cmocka_unit_test(ml_java_joins_stack_frames),
        cmocka_unit_test(ml_empty_first_line_is_an_empty_record),
        cmocka_unit_test(ml_python_traceback_ends_at_exception_line),
        cmocka_unit_test(ml_go_panic_is_one_record),
        cmocka_unit_test(ml_regex_start_joins_until_next_start),
        cmocka_unit_test(ml_record_is_cut_at_max_size),
        cmocka_unit_test(ml_bad_regex_is_reported),
        cmocka_unit_test(offsets_round_trip),
        cmocka_unit_test(offsets_torn_or_corrupt_file_is_rejected),
        cmocka_unit_test(offsets_save_then_load),
        cmocka_unit_test(offsets_save_reports_failure),
        cmocka_unit_test(fingerprint_needs_enough_bytes),
        cmocka_unit_test(exclude_globs_match_whole_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
