/*
 * libFuzzer target: the redact filter's scanners on arbitrary bodies.
 * Every scanner runs over the input (not NUL-terminated, so a read past
 * its end is caught), the matches are resolved as the filter resolves
 * them, and each kept match must lie inside the text and not overlap
 * another.  Matches of the address scanners are truncated to a prefix
 * taken from the input, and the Luhn check runs on card matches.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

enum { R_EMAIL, R_IPV4, R_IPV6, R_CARD, R_TOKEN };

static void
fail(const char *what, const struct rd_match *m)
{
    fprintf(stderr, "fuzz_redact: %s (start %u len %u rule %u)\n", what,
            m->start, m->len, m->rule);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *s = (const char *)data;
    struct rd_matches m = { 0 };
    char out[46];
    int prefix = size ? data[0] % 130 : 0;
    size_t i, last_end = 0;

    if (rd_scan_email(s, size, R_EMAIL, &m) < 0 ||
        rd_scan_ipv4(s, size, R_IPV4, &m) < 0 ||
        rd_scan_ipv6(s, size, R_IPV6, &m) < 0 ||
        rd_scan_card(s, size, R_CARD, &m) < 0 ||
        rd_scan_token(s, size, R_TOKEN, &m) < 0)
        goto done;
    for (i = 0; i < m.n; i++)
        if (!m.v[i].len || (size_t)m.v[i].start + m.v[i].len > size ||
            m.v[i].rule > R_TOKEN)
            fail("match outside the text", &m.v[i]);
    rd_matches_resolve(&m);
    for (i = 0; i < m.n; i++) {
        const struct rd_match *x = &m.v[i];

        if (x->start < last_end)
            fail("resolved matches overlap", x);
        last_end = (size_t)x->start + x->len;
        if (x->rule == R_IPV4 || x->rule == R_IPV6) {
            int n = rd_ip_truncate(s + x->start, x->len, prefix, out);

            if (n >= 0 && (n >= (int)sizeof(out) || strlen(out) != (size_t)n))
                fail("truncated address has the wrong length", x);
        } else if (x->rule == R_CARD) {
            rd_luhn_ok(s + x->start, x->len);
        }
    }
    /* The whole input as an address, as the filter's ip rules see it. */
    if (size && size < 64)
        rd_ip_truncate(s + 1, size - 1, prefix, out);
    rd_luhn_ok(s, size);
done:
    rd_matches_release(&m);
    return 0;
}
