/*
 * libFuzzer target: the prometheus input's exposition parser, streamed.
 * The input is a 4-byte header and a page.  The header picks the format
 * (bit 0), max_line (64 bytes to 8 KiB) and the pieces: a seed and a
 * largest piece size for the cuts.  The page is parsed whole, then fed in
 * those pieces; everything the two runs report (samples, histograms,
 * malformed lines, counts) must be the same, byte for byte.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "prom_parse.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct rec {
    char   *p;
    size_t  len, cap;
};

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_prometheus: %s\n", what);
    abort();
}

static void
rec_add(struct rec *r, const void *s, size_t n)
{
    if (r->len + n > r->cap) {
        size_t cap = r->cap ? r->cap : 1024;

        while (cap < r->len + n)
            cap *= 2;
        if (!(r->p = realloc(r->p, cap)))
            fail("out of memory");
        r->cap = cap;
    }
    memcpy(r->p + r->len, s, n);
    r->len += n;
}

static void
rec_addf(struct rec *r, const char *fmt, ...)
{
    char buf[128];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    rec_add(r, buf, n < 0 ? 0 : (size_t)n);
}

static void
rec_labels(struct rec *r, const struct prom_label *l, uint32_t n)
{
    uint32_t i;

    if (n > PROM_MAX_LABELS)
        fail("more labels than PROM_MAX_LABELS");
    for (i = 0; i < n; i++) {
        rec_addf(r, "|%u:", l[i].name_len);
        rec_add(r, l[i].name, l[i].name_len);
        rec_addf(r, "=%u:", l[i].value_len);
        rec_add(r, l[i].value, l[i].value_len);
    }
}

static void
on_metric(void *arg, const char *name, const struct prom_label *l,
          uint32_t n, int counter, double value, int64_t ts)
{
    struct rec *r = arg;

    rec_addf(r, "\n%c ", counter ? 'C' : 'G');
    rec_add(r, name, strlen(name));
    rec_labels(r, l, n);
    /* the bits: NaN payloads and -0 must match too */
    rec_add(r, &value, sizeof(value));
    rec_add(r, &ts, sizeof(ts));
}

static void
on_histogram(void *arg, const char *name, const struct prom_label *l,
             uint32_t n, const double *bounds, const uint64_t *counts,
             uint32_t nb, double sum, uint64_t count, int64_t ts)
{
    struct rec *r = arg;

    if (nb == 0 || nb > PROM_MAX_BUCKETS + 1)
        fail("histogram bucket count out of range");
    rec_add(r, "\nH ", 3);
    rec_add(r, name, strlen(name));
    rec_labels(r, l, n);
    rec_add(r, bounds, nb * sizeof(*bounds));
    rec_add(r, counts, nb * sizeof(*counts));
    rec_add(r, &sum, sizeof(sum));
    rec_add(r, &count, sizeof(count));
    rec_add(r, &ts, sizeof(ts));
}

static void
on_malformed(void *arg, const char *line, size_t len, const char *why)
{
    struct rec *r = arg;

    rec_addf(r, "\n! %zu ", len);
    rec_add(r, line, len);
    rec_add(r, why, strlen(why));
}

static struct prom_parser *
parser_new(struct rec *r, size_t max_line)
{
    struct prom_out out = {
        .arg = r, .metric = on_metric, .histogram = on_histogram,
        .malformed = on_malformed,
    };
    struct prom_parser *p = prom_parser_new(&out);

    if (!p)
        fail("out of memory");
    prom_parser_set_max_line(p, max_line);
    return p;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct rec whole = { 0 }, cut = { 0 };
    struct prom_parser *p;
    const char *page;
    size_t len, off = 0, max_line, max_piece;
    uint32_t seed;
    long n, total = 0, want;
    int om;

    if (size < 4)
        return 0;
    om = data[0] & 1;
    max_line = (size_t)64 << ((data[0] >> 1) & 7);
    max_piece = (size_t)data[1] + 1;
    seed = (uint32_t)data[2] << 8 | data[3] | 1;
    page = (const char *)data + 4;
    len = size - 4;

    p = parser_new(&whole, max_line);
    want = prom_parse(p, page, len, om);
    prom_parser_free(p);

    /* the page in copies of its pieces, so that a read past a piece's
     * end is caught even where the page goes on */
    p = parser_new(&cut, max_line);
    prom_parser_begin(p, om);
    while (off < len) {
        size_t k;
        char *piece;

        seed ^= seed << 13;
        seed ^= seed >> 17;
        seed ^= seed << 5;
        k = 1 + seed % max_piece;
        if (k > len - off)
            k = len - off;
        if (!(piece = malloc(k)))
            fail("out of memory");
        memcpy(piece, page + off, k);
        n = prom_parser_feed(p, piece, k);
        free(piece);
        if (n < 0)
            fail("feed failed");
        total += n;
        off += k;
    }
    if ((n = prom_parser_end(p)) < 0)
        fail("end failed");
    total += n;
    prom_parser_free(p);

    if (want != total)
        fail("the pieces read another number of samples than the page");
    if (whole.len != cut.len ||
        (whole.len && memcmp(whole.p, cut.p, whole.len) != 0))
        fail("the pieces reported otherwise than the whole page");
    free(whole.p);
    free(cut.p);
    return 0;
}
