/*
 * libFuzzer target: the tail input's multiline assembler.  The first byte
 * picks the mode (none, java, python, go, or a start regex of two) and
 * the record limit; the rest is cut at newlines into lines, which are cut
 * at the limit and flagged as the reader does, and fed with a clock that
 * advances per line.  As the tail input's timer does, a record pending
 * longer than the timeout is flushed before the next line; a line "\x01"
 * flushes (rotation), "\x02" drops the pending record (truncation).
 * Every record must fit the limit; it is copied, as a batch copies it.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multiline.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define TIMEOUT_NS  INT64_C(1000000000)
#define NMODES      6                   /* the last: regex mode, 2nd regex */

static const char *const start_res[2] = {
    "^\\d{4}-\\d{2}-\\d{2}[T ]",
    "^(\\[|\\S+ \\d+ )",
};

static struct tail_ml_rules rules[NMODES];
static int rules_ready;

struct out {
    size_t max;
    size_t records;
    size_t bytes;
};

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_multiline: %s\n", what);
    abort();
}

static void
rules_init(void)
{
    static const enum tail_ml_mode modes[NMODES] = {
        TAIL_ML_NONE, TAIL_ML_JAVA, TAIL_ML_PYTHON, TAIL_ML_GO,
        TAIL_ML_REGEX, TAIL_ML_REGEX,
    };
    char err[200];
    int i;

    for (i = 0; i < NMODES; i++)
        if (tail_ml_rules_init(&rules[i], modes[i],
                               start_res[i == NMODES - 1], 0, err,
                               sizeof(err)) < 0)
            fail(err);
    rules_ready = 1;
}

static int
on_record(void *arg, const char *p, size_t n, int truncated)
{
    struct out *o = arg;
    char *copy = malloc(n ? n : 1);

    (void)truncated;
    if (!copy)
        return 0;
    if (n > o->max)
        fail("record longer than max_record");
    memcpy(copy, p, n);
    free(copy);
    o->records++;
    o->bytes += n;
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    static const size_t max_records[4] = { 8, 100, 1024, 65536 };
    struct tail_ml_rules r;
    struct tail_ml ml;
    struct out o = { 0 };
    const char *p = (const char *)data + 1, *end;
    size_t fed = 0;
    uint64_t off = 0;
    int64_t now = 0;

    if (size == 0)
        return 0;
    if (!rules_ready)
        rules_init();
    /* a copy of shared rules, as every file of an instance uses them */
    r = rules[(data[0] & 0x0f) % NMODES];
    r.max_record = o.max = max_records[data[0] >> 6];
    memset(&ml, 0, sizeof(ml));
    end = (const char *)data + size;
    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);
        size_t n = len > o.max ? o.max : len;
        char *line;

        now += (int64_t)(len % 7) * 250000000;
        if (tail_ml_pending(&ml) && now - ml.since >= TIMEOUT_NS)
            tail_ml_flush(&ml, on_record, &o);
        if (len == 1 && p[0] == '\x01') {
            tail_ml_flush(&ml, on_record, &o);
        } else if (len == 1 && p[0] == '\x02') {
            tail_ml_reset(&ml);
        } else if ((line = malloc(n ? n : 1))) {
            /* an exact copy: a read past the line is caught */
            memcpy(line, p, n);
            tail_ml_feed(&ml, &r, line, n, len > n, off, now, on_record,
                         &o);
            free(line);
            if (tail_ml_pending(&ml) && ml.start > off)
                fail("pending record starts past the line fed");
            fed += n + 1;
        }
        off += len + 1;
        p += len + 1;
    }
    tail_ml_flush(&ml, on_record, &o);
    if (tail_ml_pending(&ml))
        fail("a record is still pending after flush");
    if (o.bytes > fed)
        fail("records hold more bytes than were fed");
    tail_ml_release(&ml);
    return 0;
}
