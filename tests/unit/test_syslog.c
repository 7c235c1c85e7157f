/*
 * The syslog input's pure parts: RFC 5424 and RFC 3164 (with the variants
 * real senders write), malformed input kept raw, RFC 3339 stamps,
 * severity and facility mapping, attributes, and RFC 6587 TCP framing.
 * Runs with TZ=UTC so RFC 3164 stamps read the same everywhere.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "framing.h"
#include "syslog_msg.h"

#define NS INT64_C(1000000000)
/* 2026-11-23T12:00:00Z, the receive time of the 3164 tests */
#define NOW (INT64_C(1795435200) * NS)

static char scratch[4096];

static struct sl_msg
parse(const char *s, int *rc)
{
    struct sl_msg m;

    *rc = sl_parse(s, strlen(s), NOW, scratch, &m);
    return m;
}

static void
assert_str(struct sl_str got, const char *want)
{
    if (!want) {
        assert_null(got.p);
        return;
    }
    assert_non_null(got.p);
    assert_int_equal(got.len, strlen(want));
    assert_memory_equal(got.p, want, got.len);
}

static void
rfc5424_full_message_parses_every_field(void **state)
{
    int rc;
    struct sl_msg m = parse("<165>1 2003-10-11T22:14:15.003Z mymachine.example"
                            ".com evntslog 1234 ID47 [exampleSDID@32473 "
                            "iut=\"3\" eventSource=\"Application\"] An "
                            "application event", &rc);

    (void)state;
    assert_int_equal(rc, 0);
    assert_int_equal(m.format, SL_RFC5424);
    assert_int_equal(m.facility, 20);
    assert_int_equal(m.severity, 5);
    assert_int_equal(m.time, INT64_C(1065910455) * NS + 3000000);
    assert_str(m.host, "mymachine.example.com");
    assert_str(m.app, "evntslog");
    assert_str(m.procid, "1234");
    assert_str(m.msgid, "ID47");
    assert_int_equal(m.nsd, 2);
    assert_str(m.sd[0].id, "exampleSDID@32473");
    assert_str(m.sd[0].name, "iut");
    assert_str(m.sd[0].value, "3");
    assert_str(m.sd[1].name, "eventSource");
    assert_str(m.sd[1].value, "Application");
    assert_str(m.msg, "An application event");
    assert_int_equal(m.error, 0);
}

static void
rfc5424_nil_fields_and_offset_time(void **state)
{
    int rc;
    struct sl_msg m = parse("<34>1 2003-08-24T05:14:15.000003-07:00 - - - - -"
                            " hi", &rc);

    (void)state;
    assert_int_equal(rc, 0);
    assert_null(m.host.p);
    assert_null(m.app.p);
    assert_null(m.procid.p);
    assert_null(m.msgid.p);
    assert_int_equal(m.nsd, 0);
    assert_int_equal(m.time, (INT64_C(1061727255)) * NS + 3000);
    assert_str(m.msg, "hi");

    m = parse("<34>1 - host app - - -", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(m.time, 0);
    assert_int_equal(m.msg.len, 0);
}

static void
rfc5424_strips_bom_and_unescapes_sd_values(void **state)
{
    int rc;
    struct sl_msg m = parse("<13>1 - h a - - [x@1 q=\"a\\\"b\\]c\\\\d\\e\"]"
                            "[flag@1] \xef\xbb\xbf" "caf\xc3\xa9", &rc);

    (void)state;
    assert_int_equal(rc, 0);
    assert_int_equal(m.nsd, 2);
    assert_str(m.sd[0].value, "a\"b]c\\d\\e");
    assert_str(m.sd[1].id, "flag@1");
    assert_null(m.sd[1].name.p);
    assert_str(m.msg, "caf\xc3\xa9");
}

static void
rfc5424_broken_header_is_kept_raw(void **state)
{
    static const char *const bad[] = {
        "<13>1 2003-10-11 host app - - - msg",     /* no zone, no T */
        "<13>1 - host app - - [unterminated x=\"1\"",
        "<13>1 - host app - - nosd msg",
        "<13>1 - host",
        "<13>1 - host app - - [a b=1] msg",         /* unquoted value */
    };
    size_t i;

    (void)state;
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        int rc;
        struct sl_msg m = parse(bad[i], &rc);

        assert_int_equal(rc, -EINVAL);
        assert_int_equal(m.error, 1);
        assert_int_equal(m.severity, 5);       /* the PRI still counts */
        assert_str(m.msg, bad[i]);
    }
}

static void
bad_pri_is_an_error_with_default_priority(void **state)
{
    int rc;
    struct sl_msg m = parse("<999>Nov 23 12:00:00 host app: x", &rc);

    (void)state;
    assert_int_equal(rc, -EINVAL);
    assert_int_equal(m.error, 1);
    assert_int_equal(m.facility, 1);
    assert_int_equal(m.severity, 5);
    m = parse("<13", &rc);
    assert_int_equal(rc, -EINVAL);
    m = parse("<013>x", &rc);
    assert_int_equal(rc, -EINVAL);
}

static void
rfc3164_classic_line(void **state)
{
    int rc;
    struct sl_msg m = parse("<34>Oct 11 22:14:15 mymachine su[230]: 'su root'"
                            " failed", &rc);

    (void)state;
    assert_int_equal(rc, 0);
    assert_int_equal(m.format, SL_RFC3164);
    assert_int_equal(m.facility, 4);
    assert_int_equal(m.severity, 2);
    /* October is nearest to November 2026 in 2026 */
    assert_int_equal(m.time, INT64_C(1791756855) * NS);
    assert_str(m.host, "mymachine");
    assert_str(m.app, "su");
    assert_str(m.procid, "230");
    assert_str(m.msg, "'su root' failed");
}

static void
rfc3164_infers_year_across_new_year(void **state)
{
    struct sl_msg m;
    int64_t jan2 = INT64_C(1798848000) * NS;       /* 2027-01-02 */

    (void)state;
    assert_int_equal(sl_parse("<13>Dec 31 23:00:00 h t: x", 26, jan2,
                              scratch, &m), 0);
    /* 2026-12-31T23:00:00Z, not the end of 2027 */
    assert_int_equal(m.time, INT64_C(1798758000) * NS);
}

static void
rfc3164_variants_real_senders_write(void **state)
{
    int rc;
    struct sl_msg m;

    (void)state;
    /* no host: the token after the stamp is the tag */
    m = parse("<13>Nov  3 01:02:03 root: hello", &rc);
    assert_int_equal(rc, 0);
    assert_null(m.host.p);
    assert_str(m.app, "root");
    assert_str(m.msg, "hello");
    assert_int_equal(m.time, INT64_C(1793667723) * NS);

    /* ISO stamp (rsyslog's RFC3339 template) */
    m = parse("<30>2026-11-23T12:00:01.5+01:00 web-1 nginx[99]: up", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(m.time, (INT64_C(1795431601)) * NS + 500000000);
    assert_str(m.host, "web-1");
    assert_str(m.app, "nginx");
    assert_str(m.procid, "99");
    assert_str(m.msg, "up");

    /* no PRI at all: user.notice */
    m = parse("Nov 23 11:00:00 h cron: job", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(m.facility, 1);
    assert_int_equal(m.severity, 5);
    assert_str(m.app, "cron");

    /* no stamp, no tag: all text */
    m = parse("<11>just some words", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(m.time, 0);
    assert_null(m.app.p);
    assert_str(m.msg, "just some words");

    /* a tag without stamp */
    m = parse("<11>kernel: oops", &rc);
    assert_str(m.app, "kernel");
    assert_str(m.msg, "oops");

    /* empty */
    m = parse("", &rc);
    assert_int_equal(rc, 0);
    assert_int_equal(m.msg.len, 0);
}

static void
rfc3339_reads_fractions_and_zones(void **state)
{
    int64_t ns;
    size_t used;

    (void)state;
    assert_int_equal(sl_time_rfc3339("1970-01-01T00:00:00Z", 20, 0, &ns,
                                     &used), 0);
    assert_int_equal(ns, 0);
    assert_int_equal(used, 20);
    assert_int_equal(sl_time_rfc3339("1970-01-01T01:00:00.123456789123+01:00",
                                     38, 0, &ns, &used), 0);
    assert_int_equal(ns, 123456789);
    assert_int_equal(sl_time_rfc3339("2000-02-29 00:00:00z", 20, 0, &ns,
                                     &used), 0);
    assert_int_equal(ns, INT64_C(951782400) * NS);
    assert_int_equal(sl_time_rfc3339("2000-02-29T00:00:00", 19, 0, &ns,
                                     &used), -EINVAL);
    assert_int_equal(sl_time_rfc3339("2000-13-01T00:00:00Z", 20, 0, &ns,
                                     &used), -EINVAL);
    assert_int_equal(sl_time_rfc3339("2000-01-01T00:00:00.Z", 21, 0, &ns,
                                     &used), -EINVAL);
    assert_int_equal(sl_time_rfc3339("2000-01-01T00:00:00+1:00", 24, 0, &ns,
                                     &used), -EINVAL);
    /* past what int64 nanoseconds hold: refused, not overflowed */
    assert_int_equal(sl_time_rfc3339("9999-01-01T00:00:00Z", 20, 0, &ns,
                                     &used), -EINVAL);
    assert_int_equal(sl_time_rfc3339("9999-01-01T00:00:00", 19, 1, &ns,
                                     &used), -EINVAL);
    assert_int_equal(sl_time_rfc3339("2262-04-11T00:00:00Z", 20, 0, &ns,
                                     &used), 0);
}

static void
severity_and_facility_map(void **state)
{
    static const uint32_t want[8] = { 21, 19, 18, 17, 13, 10, 9, 5 };
    int s;

    (void)state;
    for (s = 0; s < 8; s++)
        assert_int_equal(sl_severity_otel(s), want[s]);
    assert_int_equal(sl_severity_otel(8), 0);
    assert_string_equal(sl_facility_name(0), "kern");
    assert_string_equal(sl_facility_name(4), "auth");
    assert_string_equal(sl_facility_name(23), "local7");
    assert_null(sl_facility_name(24));
}

static const struct vg_kv *
attr(const struct vg_kv *kv, uint32_t n, const char *key)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        if (kv[i].key_len == strlen(key) && !memcmp(kv[i].key, key,
                                                    kv[i].key_len))
            return &kv[i];
    return NULL;
}

static void
attributes_name_every_field(void **state)
{
    struct vg_kv kv[SL_MAX_ATTRS];
    char keys[256];
    uint32_t n = 0;
    int rc;
    struct sl_msg m = parse("<165>1 - host app 77 ID1 [a@1 k=\"v\"][b@2] m",
                            &rc);
    const struct vg_kv *a;

    (void)state;
    sl_msg_attrs(&m, SL_HOST_ATTR, kv, &n, SL_MAX_ATTRS, keys, sizeof(keys));
    assert_int_equal(n, 7);
    assert_non_null(a = attr(kv, n, "syslog.facility"));
    assert_memory_equal(a->v.s, "local4", 6);
    assert_non_null(a = attr(kv, n, "syslog.hostname"));
    assert_memory_equal(a->v.s, "host", 4);
    assert_non_null(attr(kv, n, "syslog.appname"));
    assert_non_null(a = attr(kv, n, "syslog.procid"));
    assert_memory_equal(a->v.s, "77", 2);
    assert_non_null(attr(kv, n, "syslog.msgid"));
    assert_non_null(a = attr(kv, n, "sd.a@1.k"));
    assert_int_equal(a->type, VG_VAL_STR);
    assert_non_null(a = attr(kv, n, "sd.b@2"));
    assert_int_equal(a->type, VG_VAL_BOOL);
    assert_null(attr(kv, n, "parse_error"));

    n = 0;
    m = parse("<13>1 broken", &rc);
    sl_msg_attrs(&m, 0, kv, &n, SL_MAX_ATTRS, keys, sizeof(keys));
    assert_non_null(a = attr(kv, n, "parse_error"));
    assert_int_equal(a->v.b, 1);
    assert_null(attr(kv, n, "syslog.hostname"));
}

/* ---- framing ---------------------------------------------------- */

/* Feeds s to the framer in one piece; frames joined by '|' in out. */
static int
frames(const char *s, size_t max, int eof, char *out)
{
    struct fr_state st = { 0, 0 };
    struct fr_frame f;
    size_t off = 0, len = strlen(s), used;
    int n = 0, got;

    out[0] = '\0';
    do {
        got = fr_next(&st, s + off, len - off, max, eof, &f, &used);
        if (got) {
            if (n++)
                strcat(out, "|");
            strncat(out, f.msg, f.len);
            if (f.truncated)
                strcat(out, "~");
        }
        off += used;
    } while ((got || used) && off < len);
    return n;
}

static void
framing_octet_counting_and_lines_mix(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(frames("5 <1>ab6 <2>cde", 100, 0, out), 2);
    assert_string_equal(out, "<1>ab|<2>cde");
    assert_int_equal(frames("<1>a\n<2>b\r\n3 <3>\x00<4>c\n", 100, 0, out), 3);
    assert_string_equal(out, "<1>a|<2>b|<3>");
    assert_int_equal(frames("<1>a\n\n\n<2>b\n", 100, 0, out), 2);
    assert_string_equal(out, "<1>a|<2>b");
    /* a date without PRI is a line, not a count */
    assert_int_equal(frames("2026-11-23 x\n", 100, 0, out), 1);
    assert_string_equal(out, "2026-11-23 x");
}

static void
framing_waits_for_incomplete_frames(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(frames("10 <1>abc", 100, 0, out), 0);
    assert_int_equal(frames("<1>no newline yet", 100, 0, out), 0);
    assert_int_equal(frames("12", 100, 0, out), 0);
    /* at eof the rest comes out as it is */
    assert_int_equal(frames("<1>no newline", 100, 1, out), 1);
    assert_string_equal(out, "<1>no newline");
    /* a sender that closes inside a counted frame: what came, flagged */
    assert_int_equal(frames("10 <1>abc", 100, 1, out), 1);
    assert_string_equal(out, "<1>abc~");
    /* a bare count at eof carries nothing */
    assert_int_equal(frames("12 ", 100, 1, out), 0);
}

static void
framing_cuts_oversized_frames_and_resyncs(void **state)
{
    char out[256];

    (void)state;
    assert_int_equal(frames("12 <1>abcdefghi<2>x\n", 5, 0, out), 2);
    assert_string_equal(out, "<1>ab~|<2>x");
    assert_int_equal(frames("<1>abcdefghi\n<2>x\n", 5, 0, out), 2);
    assert_string_equal(out, "<1>ab~|<2>x");
    /* exactly max bytes and no newline yet: cut, the rest skipped */
    assert_int_equal(frames("<1>ab", 5, 0, out), 1);
    assert_string_equal(out, "<1>ab~");
}

static void
framing_split_across_reads(void **state)
{
    struct fr_state st = { 0, 0 };
    struct fr_frame f;
    size_t used;

    (void)state;
    /* an oversized counted frame whose tail arrives in later reads */
    assert_int_equal(fr_next(&st, "9 <1>abcd", 9, 4, 0, &f, &used), 1);
    assert_int_equal(f.len, 4);
    assert_int_equal(f.truncated, 1);
    assert_int_equal(used, 6);
    assert_int_equal(st.skip, 5);
    assert_int_equal(fr_next(&st, "abc", 3, 4, 0, &f, &used), 0);
    assert_int_equal(used, 3);
    assert_int_equal(fr_next(&st, "de<2>\n", 6, 4, 0, &f, &used), 1);
    assert_int_equal(f.len, 3);
    assert_memory_equal(f.msg, "<2>", 3);
    assert_int_equal(used, 6);
}

/*
 * Mutated real messages and random bytes, each in a heap block of exactly
 * its length (so a sanitizer build catches any read past the end): the
 * parser and the framer must stay inside, and a parse must yield a MSG
 * inside the input or the scratch buffer.
 */
static void
mutated_input_stays_in_bounds(void **state)
{
    static const char *const seeds[] = {
        "<165>1 2003-10-11T22:14:15.003Z host app 1 ID [a@1 k=\"v\\\"\"]"
        "[b@2] msg",
        "<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed",
        "<30>2026-11-23T12:00:01.5+01:00 web-1 nginx[99]: up",
        "12 <13>1 - - - - -\n<13>x\n",
    };
    unsigned seed = 12345;
    int round;

    (void)state;
    for (round = 0; round < 20000; round++) {
        const char *s = seeds[round % 4];
        size_t len = strlen(s), i, n;
        char *p;
        struct sl_msg m;
        struct fr_state fs = { 0, 0 };
        struct fr_frame f;
        size_t used, off = 0;
        int got;

        seed = seed * 1103515245 + 12345;
        n = round % 5 == 4 ? (seed >> 8) % 64 : len - (seed >> 8) % (len + 1);
        p = malloc(n ? n : 1);
        for (i = 0; i < n; i++) {
            seed = seed * 1103515245 + 12345;
            p[i] = round % 5 == 4 || (seed >> 16) % 8 == 0
                   ? (char)(seed >> 24) : s[i];
        }
        sl_parse(p, n, NOW, scratch, &m);
        if (m.msg.len) {
            assert_true((m.msg.p >= p && m.msg.p + m.msg.len <= p + n) ||
                        (m.msg.p >= scratch &&
                         m.msg.p + m.msg.len <= scratch + sizeof(scratch)));
        }
        do {
            got = fr_next(&fs, p + off, n - off, 16, round & 1, &f, &used);
            if (got)
                assert_true(f.msg >= p && f.msg + f.len <= p + n);
            off += used;
        } while ((got || used) && off < n);
        assert_true(off <= n);
        free(p);
    }
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(rfc5424_full_message_parses_every_field),
        cmocka_unit_test(rfc5424_nil_fields_and_offset_time),
        cmocka_unit_test(rfc5424_strips_bom_and_unescapes_sd_values),
        cmocka_unit_test(rfc5424_broken_header_is_kept_raw),
        cmocka_unit_test(bad_pri_is_an_error_with_default_priority),
        cmocka_unit_test(rfc3164_classic_line),
        cmocka_unit_test(rfc3164_infers_year_across_new_year),
        cmocka_unit_test(rfc3164_variants_real_senders_write),
        cmocka_unit_test(rfc3339_reads_fractions_and_zones),
        cmocka_unit_test(severity_and_facility_map),
        cmocka_unit_test(attributes_name_every_field),
        cmocka_unit_test(framing_octet_counting_and_lines_mix),
        cmocka_unit_test(framing_waits_for_incomplete_frames),
        cmocka_unit_test(framing_cuts_oversized_frames_and_resyncs),
        cmocka_unit_test(framing_split_across_reads),
        cmocka_unit_test(mutated_input_stays_in_bounds),
    };

    setenv("TZ", "UTC", 1);
    tzset();
    return cmocka_run_group_tests(tests, NULL, NULL);
}
