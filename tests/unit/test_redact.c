/*
 * The redact filter's detectors: what each one finds in realistic log
 * text, what it must leave alone (versions, timestamps, ids, words that
 * look like hex), Luhn, overlap resolution and IP truncation.
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

#include "scan.h"

typedef int (*scan_fn)(const char *s, size_t n, uint32_t rule,
                       struct rd_matches *out);

/* Runs a scanner; returns the matches joined by '|' in a static buffer. */
static const char *
found(scan_fn fn, const char *text)
{
    static char buf[1024];
    struct rd_matches m = { 0 };
    size_t i, len = 0;

    assert_int_equal(fn(text, strlen(text), 0, &m), 0);
    rd_matches_resolve(&m);
    buf[0] = '\0';
    for (i = 0; i < m.n; i++) {
        len += (size_t)snprintf(buf + len, sizeof(buf) - len, "%s%.*s",
                                i ? "|" : "", (int)m.v[i].len,
                                text + m.v[i].start);
    }
    rd_matches_release(&m);
    return buf;
}

static void
email_in_query_string_and_text(void **state)
{
    (void)state;
    assert_string_equal(found(rd_scan_email,
        "GET /reset?email=john.doe+x@mail.example.com&lang=en HTTP/1.1"),
        "john.doe+x@mail.example.com");
    assert_string_equal(found(rd_scan_email,
        "from <a@b.io> to bob_smith@corp.co.uk."),
        "a@b.io|bob_smith@corp.co.uk");
    assert_string_equal(found(rd_scan_email,
        "{\"user\":\"ann@x.org\",\"cc\":\"z@y.net\"}"), "ann@x.org|z@y.net");
}

static void
email_rejects_non_addresses(void **state)
{
    (void)state;
    assert_string_equal(found(rd_scan_email, "git@github"), "");
    assert_string_equal(found(rd_scan_email, "@user said hi"), "");
    assert_string_equal(found(rd_scan_email, "a@b.c"), "");
    assert_string_equal(found(rd_scan_email, "x@123.456"), "");
    assert_string_equal(found(rd_scan_email, "price @ 5.00 each"), "");
    assert_string_equal(found(rd_scan_email, "foo@-bad.com"), "");
    assert_string_equal(found(rd_scan_email, "name@"), "");
}

static void
ipv4_in_access_log(void **state)
{
    (void)state;
    assert_string_equal(found(rd_scan_ipv4,
        "192.168.1.17 - - [23/Nov/2026:12:00:00 +0000] \"GET / HTTP/1.1\" "
        "200 512 \"-\" \"curl\" fwd=10.0.0.1:8080"),
        "192.168.1.17|10.0.0.1");
    assert_string_equal(found(rd_scan_ipv4, "peer 255.255.255.255."),
                        "255.255.255.255");
    assert_string_equal(found(rd_scan_ipv4, "(0.0.0.0)"), "0.0.0.0");
}

static void
ipv4_rejects_versions_and_bad_octets(void **state)
{
    (void)state;
    assert_string_equal(found(rd_scan_ipv4, "version 1.2.3.4.5"), "");
    assert_string_equal(found(rd_scan_ipv4, "v1.2.3.4 released"), "");
    assert_string_equal(found(rd_scan_ipv4, "256.1.1.1"), "");
    assert_string_equal(found(rd_scan_ipv4, "1.2.3"), "");
    assert_string_equal(found(rd_scan_ipv4, "01.2.3.4"), "");
    assert_string_equal(found(rd_scan_ipv4, "1.2.3.4abc"), "");
    assert_string_equal(found(rd_scan_ipv4, "took 3.14 s"), "");
    assert_string_equal(found(rd_scan_ipv4, "1234.1.1.1"), "");
}

static void
ipv6_forms(void **state)
{
    (void)state;
    assert_string_equal(found(rd_scan_ipv6, "client 2001:db8::8a2e:370:7334 "
                              "connected"), "2001:db8::8a2e:370:7334");
    assert_string_equal(found(rd_scan_ipv6, "http://[fe80::1]:8080/"),
                        "fe80::1");
    assert_string_equal(found(rd_scan_ipv6, "lo ::1, mapped ::ffff:10.1.2.3."),
                        "::1|::ffff:10.1.2.3");
    assert_string_equal(found(rd_scan_ipv6, "addr=fe80::a:b: refused"),
                        "fe80::a:b");
    assert_string_equal(found(rd_scan_ipv6,
        "2001:0db8:0000:0000:0000:ff00:0042:8329"),
        "2001:0db8:0000:0000:0000:ff00:0042:8329");
}

static void
ipv6_rejects_times_macs_and_code(void **state)
{
    (void)state;
    assert_string_equal(found(rd_scan_ipv6, "at 12:30:45 today"), "");
    assert_string_equal(found(rd_scan_ipv6, "2026-11-23T12:00:00Z"), "");
    assert_string_equal(found(rd_scan_ipv6, "mac 00:1a:2b:3c:4d:5e"), "");
    assert_string_equal(found(rd_scan_ipv6, "std::vector<int>"), "");
    assert_string_equal(found(rd_scan_ipv6, "Foo::Bar::baz"), "");
    assert_string_equal(found(rd_scan_ipv6, "{\"a\":\"b\"}"), "");
    assert_string_equal(found(rd_scan_ipv6, "a :: b"), "");
}

static void
luhn_valid_and_invalid(void **state)
{
    (void)state;
    assert_int_equal(rd_luhn_ok("4111111111111111", 16), 1);
    assert_int_equal(rd_luhn_ok("4111 1111 1111 1111", 19), 1);
    assert_int_equal(rd_luhn_ok("5500-0000-0000-0004", 19), 1);
    assert_int_equal(rd_luhn_ok("378282246310005", 15), 1);
    assert_int_equal(rd_luhn_ok("4111111111111112", 16), 0);
    assert_int_equal(rd_luhn_ok("79927398713", 11), 1);
    assert_int_equal(rd_luhn_ok("79927398710", 11), 0);
    assert_int_equal(rd_luhn_ok("", 0), 0);
}

static void
card_numbers_with_separators(void **state)
{
    (void)state;
    assert_string_equal(found(rd_scan_card,
        "paid with 4111 1111 1111 1111, ok"), "4111 1111 1111 1111");
    assert_string_equal(found(rd_scan_card, "cc=5500-0000-0000-0004&x=1"),
                        "5500-0000-0000-0004");
    assert_string_equal(found(rd_scan_card, "amex 378282246310005"),
                        "378282246310005");
    assert_string_equal(found(rd_scan_card,
        "{\"card\":\"6011111111111117\"}"), "6011111111111117");
}

/* Digits found past the eight-byte skip, at every alignment. */
static void
card_found_at_every_offset(void **state)
{
    char buf[64];
    size_t pad;

    (void)state;
    for (pad = 0; pad < 17; pad++) {
        memset(buf, 'x', pad);
        buf[pad] = ' ';
        strcpy(buf + pad + 1, "4111111111111111 end");
        assert_string_equal(found(rd_scan_card, buf), "4111111111111111");
    }
}

static void
card_rejects_ids_and_timestamps(void **state)
{
    (void)state;
    /* Luhn fails */
    assert_string_equal(found(rd_scan_card, "4111111111111112"), "");
    /* Luhn holds but an epoch in ms starts with 1 */
    assert_string_equal(found(rd_scan_card, "ts=1700000000007"), "");
    /* too short, too long, glued to a word, two spaces */
    assert_string_equal(found(rd_scan_card, "411111111111"), "");
    assert_string_equal(found(rd_scan_card, "41111111111111111111"), "");
    assert_string_equal(found(rd_scan_card, "id4111111111111111"), "");
    assert_string_equal(found(rd_scan_card, "4111  1111  1111  1111"), "");
}

static void
tokens_in_headers_queries_and_json(void **state)
{
    (void)state;
    assert_string_equal(found(rd_scan_token,
        "Authorization: Bearer eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_x"),
        "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxIn0.sig-_x");
    assert_string_equal(found(rd_scan_token,
        "GET /v1/items?api_key=abc123XYZ&page=2"), "abc123XYZ");
    assert_string_equal(found(rd_scan_token,
        "{\"user\":\"ann\",\"access_token\": \"s3cr3t-v4lue\",\"n\":1}"),
        "s3cr3t-v4lue");
    assert_string_equal(found(rd_scan_token, "X-Api-Key: k-778899 sent"),
                        "k-778899");
    assert_string_equal(found(rd_scan_token,
        "aws key AKIAIOSFODNN7EXAMPLE used"), "AKIAIOSFODNN7EXAMPLE");
    assert_string_equal(found(rd_scan_token,
        "push with ghp_0123456789abcdefghijABCDEFGHIJ012345 failed"),
        "ghp_0123456789abcdefghijABCDEFGHIJ012345");
    assert_string_equal(found(rd_scan_token, "password=hunter2;"),
                        "hunter2");
    assert_string_equal(found(rd_scan_token,
        "authorization: bearer abcdefgh12345678"), "abcdefgh12345678");
    assert_string_equal(found(rd_scan_token,
        "{\"Authorization\":\"Basic dXNlcjpwYXNz\"}"), "dXNlcjpwYXNz");
    assert_string_equal(found(rd_scan_token,
        "temp ASIAY34FZKBOKMUTVV7A,"), "ASIAY34FZKBOKMUTVV7A");
    assert_string_equal(found(rd_scan_token,
        "pat github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz "
        "used"), "github_pat_11ABCDEFG0123456789_abcdefghijklmnopqrstuvwxyz");
}

static void
tokens_leave_ordinary_text_alone(void **state)
{
    (void)state;
    assert_string_equal(found(rd_scan_token, "the bearer of bad news"), "");
    assert_string_equal(found(rd_scan_token, "Bearer short"), "");
    assert_string_equal(found(rd_scan_token, "tokens: 5 used"), "");
    assert_string_equal(found(rd_scan_token, "status=200 path=/login"), "");
    assert_string_equal(found(rd_scan_token, "AKIA1234"), "");
    assert_string_equal(found(rd_scan_token, "XAKIAIOSFODNN7EXAMPLE"), "");
    assert_string_equal(found(rd_scan_token, "ghp_short"), "");
    assert_string_equal(found(rd_scan_token, "AKIAIOSFODNN7EXAMPLEX"), "");
    assert_string_equal(found(rd_scan_token, "github_pat_short"), "");
    assert_string_equal(found(rd_scan_token, "BearerX abcdefgh12345678"),
                        "");
    assert_string_equal(found(rd_scan_token, "my_snake_case_name=ok"), "");
}

static void
overlaps_keep_the_earliest_longest(void **state)
{
    struct rd_matches m = { 0 };

    (void)state;
    assert_int_equal(rd_matches_add(&m, 10, 5, 1), 0);
    assert_int_equal(rd_matches_add(&m, 2, 4, 0), 0);
    assert_int_equal(rd_matches_add(&m, 2, 9, 2), 0);
    assert_int_equal(rd_matches_add(&m, 20, 3, 0), 0);
    rd_matches_resolve(&m);
    assert_int_equal(m.n, 2);
    assert_int_equal(m.v[0].start, 2);
    assert_int_equal(m.v[0].len, 9);
    assert_int_equal(m.v[0].rule, 2);
    assert_int_equal(m.v[1].start, 20);
    rd_matches_release(&m);
}

static void
ip_truncate_prefixes(void **state)
{
    char out[64];

    (void)state;
    assert_int_equal(rd_ip_truncate("192.168.1.77", 12, 24, out), 11);
    assert_string_equal(out, "192.168.1.0");
    assert_true(rd_ip_truncate("192.168.1.77", 12, 20, out) > 0);
    assert_string_equal(out, "192.168.0.0");
    assert_true(rd_ip_truncate("10.1.2.3", 8, 0, out) > 0);
    assert_string_equal(out, "0.0.0.0");
    assert_true(rd_ip_truncate("2001:db8:abcd:12::1", 19, 48, out) > 0);
    assert_string_equal(out, "2001:db8:abcd::");
    assert_int_equal(rd_ip_truncate("10.1.2.3", 8, 33, out), -EINVAL);
    assert_int_equal(rd_ip_truncate("not-an-ip", 9, 8, out), -EINVAL);
}

/* A long line without anchors, and one full of them, scan in bounds. */
static void
scanners_handle_edges_of_the_buffer(void **state)
{
    static const char *const edge[] = { "@", ".", ":", "::", "a@", "@b.cd",
                                        "1.", "4", "Bearer ", "token=",
                                        "AKIA", "ghp_", "" };
    scan_fn fns[] = { rd_scan_email, rd_scan_ipv4, rd_scan_ipv6,
                      rd_scan_card, rd_scan_token };
    size_t i, j;

    (void)state;
    for (i = 0; i < sizeof(edge) / sizeof(edge[0]); i++)
        for (j = 0; j < sizeof(fns) / sizeof(fns[0]); j++)
            found(fns[j], edge[i]);
    assert_string_equal(found(rd_scan_email, "x@y.zz"), "x@y.zz");
    assert_string_equal(found(rd_scan_ipv4, "1.2.3.4"), "1.2.3.4");
    assert_string_equal(found(rd_scan_token, "token=t"), "t");
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(email_in_query_string_and_text),
        cmocka_unit_test(email_rejects_non_addresses),
        cmocka_unit_test(ipv4_in_access_log),
        cmocka_unit_test(ipv4_rejects_versions_and_bad_octets),
        cmocka_unit_test(ipv6_forms),
        cmocka_unit_test(ipv6_rejects_times_macs_and_code),
        cmocka_unit_test(luhn_valid_and_invalid),
        cmocka_unit_test(card_numbers_with_separators),
        cmocka_unit_test(card_found_at_every_offset),
        cmocka_unit_test(card_rejects_ids_and_timestamps),
        cmocka_unit_test(tokens_in_headers_queries_and_json),
        cmocka_unit_test(tokens_leave_ordinary_text_alone),
        cmocka_unit_test(overlaps_keep_the_earliest_longest),
        cmocka_unit_test(ip_truncate_prefixes),
        cmocka_unit_test(scanners_handle_edges_of_the_buffer),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
