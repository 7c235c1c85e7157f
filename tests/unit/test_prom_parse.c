/*
 * input prometheus: the streaming side of the exposition parser.  Every
 * fixture page of tests/fixtures/prometheus (and a generated one with
 * long lines, escapes, UTF-8 and CRLF) is fed cut at every byte, in
 * 1-, 2- and 3-byte pieces and in random pieces, and what the parser
 * reports must be, byte for byte, what it reports for the whole page;
 * then the limits: lines past max_line, # EOF, a cut page dropped.
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

#include "prom_parse.h"

/* Everything reported, rendered as text, one line per callback. */
struct rec {
    char   *p;
    size_t  len, cap;
};

static void
rec_add(struct rec *r, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    assert_true(n >= 0);
    if (r->len + (size_t)n + 1 > r->cap) {
        size_t cap = r->cap ? r->cap : 4096;

        while (cap < r->len + (size_t)n + 1)
            cap *= 2;
        r->p = realloc(r->p, cap);
        assert_non_null(r->p);
        r->cap = cap;
    }
    va_start(ap, fmt);
    vsnprintf(r->p + r->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    r->len += (size_t)n;
}

static void
rec_labels(struct rec *r, const struct prom_label *l, uint32_t n)
{
    uint32_t i;

    rec_add(r, "{");
    for (i = 0; i < n; i++)
        rec_add(r, "%s%.*s=\"%.*s\"", i ? "," : "", (int)l[i].name_len,
                l[i].name, (int)l[i].value_len, l[i].value);
    rec_add(r, "}");
}

static void
on_metric(void *arg, const char *name, const struct prom_label *l,
          uint32_t n, int counter, double value, int64_t ts)
{
    struct rec *r = arg;

    rec_add(r, "%c %s", counter ? 'C' : 'G', name);
    rec_labels(r, l, n);
    rec_add(r, " %.17g %lld\n", value, (long long)ts);
}

static void
on_histogram(void *arg, const char *name, const struct prom_label *l,
             uint32_t n, const double *bounds, const uint64_t *counts,
             uint32_t nb, double sum, uint64_t count, int64_t ts)
{
    struct rec *r = arg;
    uint32_t i;

    rec_add(r, "H %s", name);
    rec_labels(r, l, n);
    for (i = 0; i < nb; i++)
        rec_add(r, " %.17g:%llu", bounds[i], (unsigned long long)counts[i]);
    rec_add(r, " sum=%.17g count=%llu %lld\n", sum,
            (unsigned long long)count, (long long)ts);
}

static void
on_malformed(void *arg, const char *line, size_t len, const char *why)
{
    struct rec *r = arg;

    rec_add(r, "! %zu '%.*s': %s\n", len, (int)len, line, why);
}

struct run {
    struct rec          rec;
    struct prom_parser *p;
    long                samples;
};

static void
run_init(struct run *run, size_t max_line)
{
    struct prom_out out = {
        .arg = &run->rec, .metric = on_metric, .histogram = on_histogram,
        .malformed = on_malformed,
    };

    memset(run, 0, sizeof(*run));
    run->p = prom_parser_new(&out);
    assert_non_null(run->p);
    if (max_line)
        prom_parser_set_max_line(run->p, max_line);
    rec_add(&run->rec, "");
}

static void
run_release(struct run *run)
{
    prom_parser_free(run->p);
    free(run->rec.p);
}

/* The page whole, through prom_parse(). */
static void
parse_whole(struct run *run, const char *s, size_t len, int om)
{
    run->samples = prom_parse(run->p, s, len, om);
    rec_add(&run->rec, "= %ld\n", run->samples);
}

/* The page in pieces: cuts[] are the offsets where a piece ends. */
static void
parse_cut(struct run *run, const char *s, size_t len, int om,
          const size_t *cuts, size_t ncuts)
{
    size_t i, off = 0;
    long n;

    prom_parser_begin(run->p, om);
    for (i = 0; i <= ncuts; i++) {
        size_t end = i < ncuts ? cuts[i] : len;

        assert_true(end >= off && end <= len);
        n = prom_parser_feed(run->p, s + off, end - off);
        assert_true(n >= 0);
        run->samples += n;
        off = end;
    }
    n = prom_parser_end(run->p);
    assert_true(n >= 0);
    run->samples += n;
    rec_add(&run->rec, "= %ld\n", run->samples);
}

/* The page in pieces of `step` bytes. */
static void
parse_steps(struct run *run, const char *s, size_t len, int om, size_t step)
{
    size_t n = len / step, i;
    size_t *cuts = calloc(n + 1, sizeof(*cuts));

    assert_non_null(cuts);
    for (i = 0; i < n; i++)
        cuts[i] = (i + 1) * step;
    parse_cut(run, s, len, om, cuts, n);
    free(cuts);
}

static char *
read_fixture(const char *file, size_t *len)
{
    char path[512], *buf;
    FILE *f;
    long size;

    snprintf(path, sizeof(path), "%s/tests/fixtures/prometheus/%s", SRCDIR,
             file);
    f = fopen(path, "rb");
    assert_non_null(f);
    assert_int_equal(fseek(f, 0, SEEK_END), 0);
    size = ftell(f);
    assert_true(size > 0);
    assert_int_equal(fseek(f, 0, SEEK_SET), 0);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    *len = (size_t)size;
    return buf;
}

/*
 * A page with what a cut may land in the middle of: escapes, UTF-8,
 * CRLF, a histogram family, a line past max_line (200 in these tests), a
 * line of exactly max_line bytes, a last line without a newline.
 */
static char *
generated_page(size_t *len)
{
    struct rec r = { 0 };
    int i;

    rec_add(&r, "# HELP gen_total Things \\\\ done.\r\n");
    rec_add(&r, "# TYPE gen_total counter\r\n");
    for (i = 0; i < 20; i++)
        rec_add(&r, "gen_total{p=\"a\\\\b\\\"c\\nd\",u=\"h\xc3\xa9llo "
                "\xe2\x82\xac \xf0\x9f\x98\x80\",i=\"%d\"} %d %d\r\n", i,
                i * 3, 1700000000 + i);
    rec_add(&r, "# TYPE lat histogram\n");
    for (i = 0; i < 4; i++)
        rec_add(&r, "lat_bucket{g=\"%d\",le=\"0.5\"} %d\n"
                "lat_bucket{g=\"%d\",le=\"+Inf\"} %d\n"
                "lat_sum{g=\"%d\"} %d.25\nlat_count{g=\"%d\"} %d\n",
                i, i, i, 2 * i, i, i, i, 2 * i);
    rec_add(&r, "long{x=\"%0250d\"} 1\n", 0);
    /* 200 bytes before the newline: the longest line read */
    rec_add(&r, "edge{x=\"%0188d\"} 1\n", 0);
    rec_add(&r, "   \t\n\nbad line here\nlast 42");
    *len = r.len;
    return r.p;
}

static const char *const fixtures[] = {
    "node_exporter.prom", "histograms.prom", "summaries.prom",
    "escaping.prom", "timestamps.prom", "openmetrics.txt",
    "malformed.prom", NULL,
};

/* Every way of cutting s must report what the whole page reports. */
static void
check_every_cut(const char *s, size_t len, int om, size_t max_line)
{
    struct run whole, cut;
    size_t i, step, cuts[2];
    unsigned seed = 12345;

    run_init(&whole, max_line);
    parse_whole(&whole, s, len, om);
    assert_true(whole.samples > 0);
    for (i = 0; i <= len; i++) {            /* two pieces, cut at i */
        run_init(&cut, max_line);
        cuts[0] = i;
        parse_cut(&cut, s, len, om, cuts, 1);
        assert_string_equal(cut.rec.p, whole.rec.p);
        run_release(&cut);
    }
    for (i = 0; i + 1 < len; i++) {         /* three, the middle 1 byte */
        run_init(&cut, max_line);
        cuts[0] = i;
        cuts[1] = i + 1;
        parse_cut(&cut, s, len, om, cuts, 2);
        assert_string_equal(cut.rec.p, whole.rec.p);
        run_release(&cut);
    }
    for (step = 1; step <= 3; step++) {
        run_init(&cut, max_line);
        parse_steps(&cut, s, len, om, step);
        assert_string_equal(cut.rec.p, whole.rec.p);
        run_release(&cut);
    }
    for (i = 0; i < 50; i++) {              /* random pieces */
        size_t *rc = malloc((len + 1) * sizeof(*rc)), n = 0, off = 0;

        assert_non_null(rc);
        while (off < len) {
            seed = seed * 1103515245u + 12345u;
            off += 1 + (seed >> 16) % (i < 25 ? 8 : 300);
            if (off < len)
                rc[n++] = off;
        }
        run_init(&cut, max_line);
        parse_cut(&cut, s, len, om, rc, n);
        assert_string_equal(cut.rec.p, whole.rec.p);
        run_release(&cut);
        free(rc);
    }
    run_release(&whole);
}

static void
fixtures_cut_anywhere_parse_as_whole(void **state)
{
    size_t k, len;

    (void)state;
    for (k = 0; fixtures[k]; k++) {
        char *s = read_fixture(fixtures[k], &len);

        check_every_cut(s, len, prom_is_openmetrics(s, len), 0);
        free(s);
    }
}

static void
generated_page_cut_anywhere_parses_as_whole(void **state)
{
    size_t len;
    char *s = generated_page(&len);

    (void)state;
    check_every_cut(s, len, 0, 200);
    check_every_cut(s, len, 1, 200);
    free(s);
}

/* What the generated page reports, so that "equal" is not "both empty". */
static void
generated_page_reports_each_line(void **state)
{
    struct run run;
    size_t len;
    char *s = generated_page(&len);

    (void)state;
    run_init(&run, 200);
    parse_whole(&run, s, len, 0);
    /* 20 counters, 16 histogram lines, edge, last */
    assert_int_equal(run.samples, 38);
    assert_non_null(strstr(run.rec.p, "C gen_total{p=\"a\\b\"c\nd\",u=\"h"
                           "\xc3\xa9llo \xe2\x82\xac \xf0\x9f\x98\x80\","
                           "i=\"19\"} 57 1700000019000000\n"));
    assert_non_null(strstr(run.rec.p, "H lat{g=\"3\"} 0.5:3 inf:3 "
                           "sum=3.25 count=6 0\n"));
    assert_non_null(strstr(run.rec.p, "! 200 'long{x=\"000"));
    assert_non_null(strstr(run.rec.p, "': line longer than max_line_size"));
    assert_non_null(strstr(run.rec.p, "G edge{x=\"000"));
    assert_non_null(strstr(run.rec.p, "! 13 'bad line here'"));
    assert_non_null(strstr(run.rec.p, "G last{} 42 0\n= 38\n"));
    run_release(&run);
    free(s);
}

static long
feed(struct run *run, const char *s)
{
    return prom_parser_feed(run->p, s, strlen(s));
}

static void
line_past_max_is_skipped_up_to_its_newline(void **state)
{
    struct run run;
    char big[300], want[256];

    (void)state;
    memset(big, 'x', sizeof(big));
    run_init(&run, 100);
    prom_parser_begin(run.p, 0);
    assert_int_equal(feed(&run, "a 1\nbig"), 1);
    /* 3 + 300 + 300 bytes and no newline yet: only 100 are held */
    assert_int_equal(prom_parser_feed(run.p, big, sizeof(big)), 0);
    assert_int_equal(prom_parser_feed(run.p, big, sizeof(big)), 0);
    assert_int_equal(feed(&run, "xx 5\nb 2\n"), 1);
    assert_int_equal(prom_parser_end(run.p), 0);
    snprintf(want, sizeof(want), "G a{} 1 0\n! 100 'big%.97s': line "
             "longer than max_line_size\nG b{} 2 0\n", big);
    assert_string_equal(run.rec.p, want);
    run_release(&run);
}

/* "m{x=\"000...\"} 1" of len bytes and a newline, into line. */
static void
padded_line(char *line, size_t len)
{
    memcpy(line, "m{x=\"", 5);
    memset(line + 5, '0', len - 9);
    memcpy(line + len - 4, "\"} 1\n", 5);
}

static void
line_of_max_bytes_is_read(void **state)
{
    struct run run;
    char line[102], want[200], *bad;

    (void)state;
    padded_line(line, 100);
    run_init(&run, 100);
    prom_parser_begin(run.p, 0);
    assert_int_equal(prom_parser_feed(run.p, line, 50), 0);
    assert_int_equal(prom_parser_feed(run.p, line + 50, 51), 1);
    assert_int_equal(prom_parser_feed(run.p, line, 101), 1);
    /* one byte more is too many, whether read in place or held */
    padded_line(line, 101);
    assert_int_equal(prom_parser_feed(run.p, line, 102), 0);
    assert_int_equal(prom_parser_feed(run.p, line, 60), 0);
    assert_int_equal(prom_parser_feed(run.p, line + 60, 42), 0);
    assert_int_equal(prom_parser_end(run.p), 0);
    snprintf(want, sizeof(want), "! 100 '%.100s': line longer than "
             "max_line_size\n", line);
    bad = strstr(run.rec.p, "! ");
    assert_non_null(bad);
    /* two lines of 100 bytes read, then two too long */
    assert_int_equal(bad - run.rec.p, 2 * strlen("G m{x=\"\"} 1 0\n") +
                     2 * 91);
    assert_string_equal(bad + strlen(want), want);
    bad[strlen(want)] = '\0';
    assert_string_equal(bad, want);
    run_release(&run);
}

static void
nothing_is_read_past_eof(void **state)
{
    struct run run;

    (void)state;
    run_init(&run, 0);
    prom_parser_begin(run.p, 1);
    assert_int_equal(feed(&run, "a 1 1.5\n# E"), 1);
    assert_int_equal(feed(&run, "OF\r\nb 2\n"), 0);
    assert_int_equal(feed(&run, "c 3\n"), 0);
    assert_int_equal(prom_parser_end(run.p), 0);
    assert_string_equal(run.rec.p, "G a{} 1 1500000000\n");
    run_release(&run);
}

static void
reset_drops_a_cut_page(void **state)
{
    struct run run;

    (void)state;
    run_init(&run, 0);
    prom_parser_begin(run.p, 0);
    assert_int_equal(feed(&run, "# TYPE h histogram\nh_bucket{le=\"+Inf\"} "
                          "3\nh_count 3\ng 1\n"), 3);
    /* "g 1" ended the histogram family, so it was reported */
    assert_string_equal(run.rec.p, "H h{} inf:3 sum=0 count=3 0\n"
                        "G g{} 1 0\n");
    assert_int_equal(feed(&run, "# TYPE k histogram\nk_bucket{le=\"+Inf\"}"
                          " 1\nk_cou"), 1);
    prom_parser_reset(run.p);
    /* neither the held histogram nor the partial line is reported */
    assert_int_equal(prom_parser_end(run.p), 0);
    prom_parser_begin(run.p, 0);
    assert_int_equal(feed(&run, "z 9\n"), 1);
    assert_int_equal(prom_parser_end(run.p), 0);
    assert_string_equal(run.rec.p, "H h{} inf:3 sum=0 count=3 0\n"
                        "G g{} 1 0\nG z{} 9 0\n");
    run_release(&run);
}

static void
begin_forgets_an_unfinished_page(void **state)
{
    struct run run;

    (void)state;
    run_init(&run, 0);
    prom_parser_begin(run.p, 0);
    assert_int_equal(feed(&run, "# TYPE half histogram\nhalf_a_li"), 0);
    prom_parser_begin(run.p, 0);
    assert_int_equal(feed(&run, "ne 1\nok 2\n"), 2);
    assert_int_equal(prom_parser_end(run.p), 0);
    assert_string_equal(run.rec.p, "G ne{} 1 0\nG ok{} 2 0\n");
    run_release(&run);
}

static void
empty_page_reads_nothing(void **state)
{
    struct run run;

    (void)state;
    run_init(&run, 0);
    prom_parser_begin(run.p, 0);
    assert_int_equal(prom_parser_feed(run.p, "", 0), 0);
    assert_int_equal(prom_parser_end(run.p), 0);
    assert_string_equal(run.rec.p, "");
    run_release(&run);
}

static void
content_type_names_openmetrics(void **state)
{
    (void)state;
    assert_true(prom_content_type_is_openmetrics(
        "application/openmetrics-text; version=1.0.0; charset=utf-8"));
    assert_true(prom_content_type_is_openmetrics(
        "Application/OpenMetrics-Text"));
    assert_false(prom_content_type_is_openmetrics(
        "text/plain; version=0.0.4"));
    assert_false(prom_content_type_is_openmetrics(""));
    assert_false(prom_content_type_is_openmetrics(
        "application/openmetrics-textx"));
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(fixtures_cut_anywhere_parse_as_whole),
        cmocka_unit_test(generated_page_cut_anywhere_parses_as_whole),
        cmocka_unit_test(generated_page_reports_each_line),
        cmocka_unit_test(line_past_max_is_skipped_up_to_its_newline),
        cmocka_unit_test(line_of_max_bytes_is_read),
        cmocka_unit_test(nothing_is_read_past_eof),
        cmocka_unit_test(reset_drops_a_cut_page),
        cmocka_unit_test(begin_forgets_an_unfinished_page),
        cmocka_unit_test(empty_page_reads_nothing),
        cmocka_unit_test(content_type_names_openmetrics),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
