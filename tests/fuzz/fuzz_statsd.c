/*
 * libFuzzer target: the statsd input's line parser and its aggregator.
 * The first byte sets the aggregator's limits (set size, series); the
 * rest is cut at newlines as a datagram is, each line copied to a buffer
 * of its exact size and parsed with sd_parse_line; parsed lines are added
 * to the aggregator, which is flushed every 16 lines and at the end, so
 * gauges kept across flushes meet new lines.  What the parser and the
 * flush hand out must lie in the line and be well formed.
 */
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sd_agg.h"
#include "sd_line.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static volatile unsigned sink;

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_statsd: %s\n", what);
    abort();
}

static void
check_str(struct sd_str s, const char *line, size_t len, const char *what)
{
    size_t i;

    if (!s.p || s.p < line || s.p + s.len > line + len)
        fail(what);
    for (i = 0; i < s.len; i++)
        sink += (unsigned char)s.p[i];
}

static void
check_metric(const struct sd_metric *m, const char *line, size_t len)
{
    uint32_t i;

    check_str(m->name, line, len, "name outside the line");
    if (!m->name.len)
        fail("empty name");
    if (m->type < SD_COUNTER || m->type > SD_SET)
        fail("unknown type");
    if (!(m->rate > 0 && m->rate <= 1))
        fail("sample rate out of (0, 1]");
    if (m->nvalues < 1 || m->nvalues > SD_MAX_VALUES)
        fail("value count out of range");
    if (m->ntags > SD_MAX_TAGS)
        fail("too many tags");
    for (i = 0; i < m->nvalues; i++) {
        check_str(m->raw[i], line, len, "value outside the line");
        if (!m->raw[i].len)
            fail("empty value");
        if (m->type != SD_SET && !isfinite(m->values[i]))
            fail("value not finite");
    }
    if (m->type != SD_GAUGE && m->delta)
        fail("delta set on a non-gauge");
    for (i = 0; i < m->ntags; i++) {
        check_str(m->tags[i].key, line, len, "tag key outside the line");
        if (!m->tags[i].key.len)
            fail("empty tag key");
        /* a tag without ':' gets the static value "true" */
        if (m->tags[i].value.p >= line && m->tags[i].value.p <= line + len)
            check_str(m->tags[i].value, line, len,
                      "tag value outside the line");
        else if (m->tags[i].value.len != 4 ||
                 memcmp(m->tags[i].value.p, "true", 4) != 0)
            fail("tag value neither in the line nor \"true\"");
    }
}

static void
on_value(void *arg, const char *name, const struct vg_kv *labels,
         uint32_t nlabels, double value)
{
    size_t *count = arg;
    uint32_t i, k;

    (void)value;
    if (!name || !name[0])
        fail("reported without a name");
    if (nlabels > SD_MAX_TAGS)
        fail("reported with too many labels");
    sink += (unsigned)strlen(name);
    for (i = 0; i < nlabels; i++) {
        if (!labels[i].key_len || labels[i].type != VG_VAL_STR)
            fail("bad label");
        for (k = 0; k < labels[i].key_len; k++)
            sink += (unsigned char)labels[i].key[k];
        for (k = 0; k < labels[i].len; k++)
            sink += (unsigned char)labels[i].v.s[k];
    }
    (*count)++;
}

static void
flush(struct sd_agg *a, double interval)
{
    size_t seen = 0, n;

    n = sd_agg_flush(a, interval, on_value, &seen);
    if (n != seen)
        fail("flush count differs from the values reported");
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const uint32_t set_sizes[4] = { 1, 3, 64, 100000 };
    static const uint32_t series[4] = { 1, 4, 100, 100000 };
    struct sd_agg_conf conf = {
        .pct = { 50, 90, 99, 99.9, 0, 100 },
        .npct = 6,
    };
    const char *p = (const char *)data + 1, *end;
    struct sd_metric *m;
    struct sd_agg *a;
    unsigned lines = 0;

    if (size == 0)
        return 0;
    conf.max_set_size = set_sizes[data[0] & 3];
    conf.max_series = series[(data[0] >> 2) & 3];
    conf.npct = data[0] & 0x80 ? 0 : 6;
    end = (const char *)data + size;
    if (!(a = sd_agg_new(&conf)) || !(m = malloc(sizeof(*m)))) {
        sd_agg_free(a);
        return 0;
    }
    while (p <= end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        char *line = malloc(len ? len : 1);
        const char *why = NULL;
        int rc, full = 0;

        if (!line)
            break;
        memcpy(line, p, len);
        rc = sd_parse_line(line, len, m, &why);
        if (rc < 0 && (rc != -EINVAL || !why || !why[0]))
            fail("an error without a reason");
        if (rc == 0) {
            check_metric(m, line, len);
            rc = sd_agg_add(a, m, &full);
            if (rc < 0 && rc != -EINVAL && rc != -ENOSPC)
                fail("sd_agg_add failed");
            if (sd_agg_series(a) > conf.max_series)
                fail("more series than max_series");
        }
        free(line);
        if (++lines % 16 == 0)
            flush(a, (double)(lines % 3));
        if (!nl)
            break;
        p = nl + 1;
    }
    flush(a, 10);
    flush(a, 10);                       /* only the kept gauges remain */
    free(m);
    sd_agg_free(a);
    return 0;
}
