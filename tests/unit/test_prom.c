/*
 * input prometheus: the exposition parser on the fixture pages of
 * tests/fixtures/prometheus (node_exporter-like, histograms, summaries,
 * escaping, time stamps, OpenMetrics, malformed lines) and on edge cases.
 * Every reported sample is rendered as one line of text and compared.
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

#include "prom_parse.h"

#define MAX_REC 256

static char rec[MAX_REC][512];
static size_t nrec;
static char bad[32][256];
static size_t nbad;

static size_t
put_labels(char *b, size_t size, const struct prom_label *l, uint32_t n)
{
    size_t off = (size_t)snprintf(b, size, "{");
    uint32_t i;

    for (i = 0; i < n; i++)
        off += (size_t)snprintf(b + off, size - off, "%s%.*s=%.*s",
                                i ? "," : "", (int)l[i].name_len,
                                l[i].name, (int)l[i].value_len,
                                l[i].value);
    off += (size_t)snprintf(b + off, size - off, "}");
    return off;
}

static void
on_metric(void *arg, const char *name, const struct prom_label *l,
          uint32_t n, int counter, double value, int64_t ts)
{
    char *b = rec[nrec++];
    size_t off;

    (void)arg;
    assert_true(nrec <= MAX_REC);
    off = (size_t)snprintf(b, 512, "%c %s", counter ? 'C' : 'G', name);
    off += put_labels(b + off, 512 - off, l, n);
    snprintf(b + off, 512 - off, " %.12g %lld", value, (long long)ts);
}

static void
on_histogram(void *arg, const char *name, const struct prom_label *l,
             uint32_t n, const double *bounds, const uint64_t *counts,
             uint32_t nb, double sum, uint64_t count, int64_t ts)
{
    char *b = rec[nrec++];
    size_t off;
    uint32_t i;

    (void)arg;
    assert_true(nrec <= MAX_REC);
    off = (size_t)snprintf(b, 512, "H %s", name);
    off += put_labels(b + off, 512 - off, l, n);
    for (i = 0; i < nb; i++)
        off += (size_t)snprintf(b + off, 512 - off, " %g:%llu", bounds[i],
                                (unsigned long long)counts[i]);
    snprintf(b + off, 512 - off, " sum=%g count=%llu %lld", sum,
             (unsigned long long)count, (long long)ts);
}

static void
on_malformed(void *arg, const char *line, size_t len, const char *why)
{
    (void)arg;
    assert_true(nbad < 32);
    snprintf(bad[nbad++], 256, "%.*s: %s", (int)len, line, why);
}

static const struct prom_out out = {
    .arg = NULL, .metric = on_metric, .histogram = on_histogram,
    .malformed = on_malformed,
};

static long
parse_text(const char *text, int om)
{
    struct prom_parser *p = prom_parser_new(&out);
    long n;

    assert_non_null(p);
    nrec = nbad = 0;
    n = prom_parse(p, text, strlen(text), om);
    prom_parser_free(p);
    return n;
}

static long
parse_fixture(const char *file, int *om)
{
    char path[512], *buf;
    FILE *f;
    long size, n;

    snprintf(path, sizeof(path), "%s/tests/fixtures/prometheus/%s", SRCDIR,
             file);
    f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    size = ftell(f);
    fseek(f, 0, SEEK_SET);
    buf = malloc((size_t)size + 1);
    assert_non_null(buf);
    assert_int_equal(fread(buf, 1, (size_t)size, f), (size_t)size);
    buf[size] = '\0';
    fclose(f);
    *om = prom_is_openmetrics(buf, (size_t)size);
    n = parse_text(buf, *om);
    free(buf);
    return n;
}

static void
assert_rec(const char *want)
{
    size_t i;

    for (i = 0; i < nrec; i++)
        if (strcmp(rec[i], want) == 0)
            return;
    for (i = 0; i < nrec; i++)
        fprintf(stderr, "  got: %s\n", rec[i]);
    fail_msg("missing: %s", want);
}

static void
node_exporter_page(void **state)
{
    int om;

    (void)state;
    assert_int_equal(parse_fixture("node_exporter.prom", &om), 23);
    assert_int_equal(om, 0);
    assert_int_equal(nbad, 0);
    assert_int_equal(nrec, 23);
    assert_rec("G go_gc_duration_seconds{quantile=0.25} 3.3271e-05 0");
    assert_rec("C go_gc_duration_seconds_sum{} 0.012883461 0");
    assert_rec("C go_gc_duration_seconds_count{} 253 0");
    assert_rec("G go_goroutines{} 8 0");
    assert_rec("C node_cpu_seconds_total{cpu=0,mode=idle} 123456.78 0");
    assert_rec("G node_filesystem_avail_bytes{device=/dev/sda1,fstype=ext4,"
               "mountpoint=/} 32418717696 0");
    assert_rec("G node_untyped_thing{instance=scraped-host,job=scraped-job}"
               " 17 0");
}

static void
histograms_per_bucket(void **state)
{
    int om;

    (void)state;
    assert_int_equal(parse_fixture("histograms.prom", &om), 21);
    assert_int_equal(nbad, 0);
    assert_int_equal(nrec, 4);
    assert_rec("H http_request_duration_seconds{handler=/api} 0.05:24054 "
               "0.1:9390 0.2:66948 0.5:28997 1:4599 inf:10332 sum=53423 "
               "count=144320 0");
    assert_rec("H http_request_duration_seconds{handler=/} 0.05:10 0.1:0 "
               "0.2:2 0.5:1 1:0 inf:2 sum=3.5 count=15 0");
    /* no +Inf bucket: _count supplies it */
    assert_rec("H rpc_bytes{method=get} 100:3 1000:2 inf:1 sum=2400 "
               "count=6 0");
    assert_rec("G after_histogram{} 1 0");
}

static void
histogram_interleaved_label_sets(void **state)
{
    (void)state;
    parse_text("# TYPE h histogram\n"
               "h_bucket{a=\"1\",le=\"1\"} 1\n"
               "h_bucket{a=\"2\",le=\"1\"} 5\n"
               "h_bucket{a=\"1\",le=\"+Inf\"} 2\n"
               "h_bucket{a=\"2\",le=\"+Inf\"} 7\n"
               "h_sum{a=\"1\"} 3\nh_count{a=\"1\"} 2\n"
               "h_sum{a=\"2\"} 9\nh_count{a=\"2\"} 7\n", 0);
    assert_int_equal(nrec, 2);
    assert_rec("H h{a=1} 1:1 inf:1 sum=3 count=2 0");
    assert_rec("H h{a=2} 1:5 inf:2 sum=9 count=7 0");
}

static void
summaries_quantiles_as_gauges(void **state)
{
    int om;

    (void)state;
    assert_int_equal(parse_fixture("summaries.prom", &om), 5);
    assert_rec("G rpc_duration_seconds{service=exponential,quantile=0.99} "
               "0.0049 0");
    assert_rec("C rpc_duration_seconds_sum{service=exponential} 1.75 0");
    assert_rec("C rpc_duration_seconds_count{service=exponential} 2513 0");
}

static void
escaping_in_label_values(void **state)
{
    int om;

    (void)state;
    assert_int_equal(parse_fixture("escaping.prom", &om), 3);
    assert_int_equal(nbad, 0);
    assert_rec("C msg_total{path=C:\\Windows\\,quote=say \"hi\",nl=a\nb,"
               "utf8=h\xc3\xa9llo w\xc3\xb6rld} 3 0");
    assert_rec("C msg_total{spaced=yes,trailing=comma} 4 0");
    assert_rec("C msg_total{} 5 0");
}

static void
timestamps_in_ms(void **state)
{
    int om;

    (void)state;
    assert_int_equal(parse_fixture("timestamps.prom", &om), 3);
    assert_rec("G stamped{k=a} 1 1700000000123000000");
    assert_rec("G stamped{k=b} 2 0");
    assert_rec("G stamped{k=c} -350 1700000001000000000");
}

static void
openmetrics_page(void **state)
{
    int om;

    (void)state;
    assert_int_equal(parse_fixture("openmetrics.txt", &om), 15);
    assert_int_equal(om, 1);
    assert_int_equal(nbad, 0);
    assert_rec("C acme_http_router_request_seconds_sum{path=/api/v1,"
               "method=GET} 9036.32 0");
    assert_rec("G go_goroutines{} 69 0");
    /* seconds, with a fraction */
    assert_rec("C process_cpu_seconds_total{} 4200722.46 "
               "1700000000500000000");
    /* exemplars are skipped, _created is not a sample of its own */
    assert_rec("H foo{} 0:0 1e-05:0 0.1:8 1:2 inf:7 sum=324789 count=17 0");
    assert_rec("G build_info{version=1.2.3} 1 0");
    assert_int_equal(nrec, 6);
}

static void
openmetrics_stops_at_eof(void **state)
{
    (void)state;
    assert_int_equal(parse_text("a 1\n# EOF\nb 2\n", 1), 1);
    assert_int_equal(nrec, 1);
    assert_true(prom_is_openmetrics("a 1\n# EOF\n", 10));
    assert_true(prom_is_openmetrics("# EOF", 5));
    assert_false(prom_is_openmetrics("a 1\n", 4));
    assert_false(prom_is_openmetrics("x# EOF\n", 7));
}

static void
malformed_lines_skipped(void **state)
{
    int om;

    (void)state;
    assert_int_equal(parse_fixture("malformed.prom", &om), 3);
    assert_int_equal(nrec, 3);
    assert_int_equal(nbad, 4);
    assert_rec("G good_one{} 1 0");
    assert_rec("G good_two{a=b} 2 0");
    assert_rec("G good_three{} 3 1700000000000000000");
    assert_string_equal(bad[0], "this line is broken: value is not a number");
    assert_string_equal(bad[1], "bad_label{a=b} 3: label value not quoted");
    assert_string_equal(bad[2], "bad_value{a=\"b\"} twelve: value is not a "
                        "number");
    assert_string_equal(bad[3], "9starts_with_digit 4: bad metric name");
}

static void
malformed_edge_cases(void **state)
{
    static const char *lines[] = {
        "a{b=\"c} 1", "a{b=\"c\" 1", "a{b=\"\\x\"} 1", "a 1 2 3",
        "a", "a 1 1.5", "a{=\"c\"} 1", "a{b:c=\"d\"} 1",
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(lines) / sizeof(lines[0]); i++) {
        if (parse_text(lines[i], 0) != 0 || nbad != 1)
            fail_msg("accepted '%s'", lines[i]);
    }
    /* a bad # TYPE is reported, the samples still read */
    assert_int_equal(parse_text("# TYPE x nonsense\nx 1\n", 0), 1);
    assert_int_equal(nbad, 1);
}

static void
special_values(void **state)
{
    (void)state;
    parse_text("a NaN\nb +Inf\nc -Inf\nd 1e3\n", 0);
    assert_int_equal(nrec, 4);
    assert_rec("G a{} nan 0");
    assert_rec("G b{} inf 0");
    assert_rec("G c{} -inf 0");
    assert_rec("G d{} 1000 0");
}

static void
crlf_and_blank_lines(void **state)
{
    (void)state;
    assert_int_equal(parse_text("\r\n# TYPE a gauge\r\na 1\r\n\r\nb 2", 0),
                     2);
    assert_rec("G a{} 1 0");
    assert_rec("G b{} 2 0");
}

static void
family_ends_on_other_name(void **state)
{
    (void)state;
    /* a counter family, then an unrelated sample: untyped, a gauge */
    parse_text("# TYPE req_total counter\nreq_total 5\nother 1\n", 0);
    assert_rec("C req_total{} 5 0");
    assert_rec("G other{} 1 0");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(node_exporter_page),
        cmocka_unit_test(histograms_per_bucket),
        cmocka_unit_test(histogram_interleaved_label_sets),
        cmocka_unit_test(summaries_quantiles_as_gauges),
        cmocka_unit_test(escaping_in_label_values),
        cmocka_unit_test(timestamps_in_ms),
        cmocka_unit_test(openmetrics_page),
        cmocka_unit_test(openmetrics_stops_at_eof),
        cmocka_unit_test(malformed_lines_skipped),
        cmocka_unit_test(malformed_edge_cases),
        cmocka_unit_test(special_values),
        cmocka_unit_test(crlf_and_blank_lines),
        cmocka_unit_test(family_ends_on_other_name),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
