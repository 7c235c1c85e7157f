/*
 * tail: the line splitter and the CRC-32 used for fingerprints and the
 * offsets file.  The hot path is one memchr per line and one callback;
 * nothing is allocated or copied here.
 */
#include <string.h>

#include "reader.h"

static int
deliver(const char *p, size_t n, int truncated, uint64_t start,
        uint64_t end, tail_line_fn fn, void *arg)
{
    if (n > 0 && p[n - 1] == '\r')
        n--;
    return fn(arg, p, n, truncated, start, end);
}

long
tail_split_feed(struct tail_split *sp, const char *buf, size_t len,
                uint64_t base, tail_line_fn fn, void *arg)
{
    size_t i = 0;
    int rc;

    while (i < len) {
        const char *p = buf + i;
        size_t rest = len - i, n;
        const char *nl = memchr(p, '\n', rest);

        if (sp->skipping) {
            if (!nl)
                return (long)len;
            sp->skipping = 0;
            i = (size_t)(nl - buf) + 1;
            continue;
        }
        if (!nl) {
            /* A partial line waits for its newline unless it is already
             * longer than a line may be. */
            if (rest <= sp->max_line)
                break;
            rc = fn(arg, p, sp->max_line, 1, base + i, base + i);
            if (rc < 0)
                return rc;
            sp->skipping = 1;
            return (long)len;
        }
        n = (size_t)(nl - p);
        if (n > 0 && p[n - 1] == '\r')
            n--;
        if (n > sp->max_line)
            rc = fn(arg, p, sp->max_line, 1, base + i,
                    base + (uint64_t)(nl - buf) + 1);
        else
            rc = fn(arg, p, n, 0, base + i, base + (uint64_t)(nl - buf) + 1);
        if (rc < 0)
            return rc;
        i = (size_t)(nl - buf) + 1;
    }
    return (long)i;
}

int
tail_split_flush(struct tail_split *sp, const char *buf, size_t len,
                 uint64_t base, tail_line_fn fn, void *arg)
{
    if (sp->skipping) {
        sp->skipping = 0;
        return 0;
    }
    if (len == 0)
        return 0;
    if (len > sp->max_line)
        return fn(arg, buf, sp->max_line, 1, base, base + len);
    return deliver(buf, len, 0, base, base + len, fn, arg);
}

uint32_t
tail_crc32(uint32_t crc, const void *p, size_t n)
{
    const unsigned char *s = p;
    int k;

    /* Bitwise: it only ever covers a fingerprint (256 bytes) or the
     * offsets file, and needs no table. */
    crc = ~crc;
    while (n--) {
        crc ^= *s++;
        for (k = 0; k < 8; k++)
            crc = (crc >> 1) ^ (0xedb88320u & (0u - (crc & 1)));
    }
    return ~crc;
}
