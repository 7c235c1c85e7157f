/*
 * libFuzzer target: the syslog input's message parser and TCP framing.
 * The first byte picks what the rest is: one message (even bit, as a UDP
 * datagram), or a TCP stream (odd bit) cut into frames by fr_next as a
 * connection does it, with a frame limit and read sizes taken from the
 * same byte.  Every message goes through sl_parse and sl_msg_attrs as
 * add_message does, in buffers of exactly its size, and what comes out
 * must lie in the message or in its scratch buffer.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "framing.h"
#include "syslog_msg.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* The receive time: 2026-11-24, so December stamps fall in 2025. */
#define NOW_NS (INT64_C(1795392000) * 1000000000)

static const size_t max_sizes[4] = { 16, 64, 256, 2048 };
static volatile unsigned sink;

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_syslog: %s\n", what);
    abort();
}

/* s must be absent or lie in [lo, lo + n). */
static void
check_in(struct sl_str s, const char *lo, size_t n, const char *what)
{
    if (s.p && (s.p < lo || s.p + s.len > lo + n))
        fail(what);
}

static void
check_value(struct sl_str s, const char *p, size_t len, const char *scratch)
{
    if (!s.p)
        return;
    if (!((s.p >= p && s.p + s.len <= p + len) ||
          (s.p >= scratch && s.p + s.len <= scratch + len)))
        fail("SD value outside the message and scratch");
}

/* What add_message does with one message p[0..len). */
static void
one_message(const char *p, size_t len)
{
    struct vg_kv kv[SL_MAX_ATTRS + 2];
    char *msg, *scratch, *keybuf;
    struct sl_msg m;
    uint32_t n = 0, i, k;
    size_t keycap = 2048;
    int rc;

    while (len && (p[len - 1] == '\n' || p[len - 1] == '\0'))
        len--;
    /* exact-size copies: a read or write past either is caught */
    msg = malloc(len ? len : 1);
    scratch = malloc(len ? len : 1);
    keybuf = malloc(keycap);
    if (!msg || !scratch || !keybuf)
        goto done;
    if (len)
        memcpy(msg, p, len);
    rc = sl_parse(msg, len, NOW_NS, scratch, &m);
    if ((rc < 0) != (m.error != 0))
        fail("return code and error flag disagree");
    if (m.format != SL_RFC3164 && m.format != SL_RFC5424)
        fail("no format");
    if (m.facility < 0 || m.facility > 23 || m.severity < 0 ||
        m.severity > 7)
        fail("priority out of range");
    if (m.error && (m.msg.p != msg || m.msg.len != len))
        fail("a malformed message lost its text");
    if (m.nsd > SL_MAX_SD)
        fail("too many SD params");
    check_in(m.host, msg, len, "host outside the message");
    check_in(m.app, msg, len, "app outside the message");
    check_in(m.procid, msg, len, "procid outside the message");
    check_in(m.msgid, msg, len, "msgid outside the message");
    check_in(m.msg, msg, len, "text outside the message");
    for (i = 0; i < m.nsd; i++) {
        if (!m.sd[i].id.len)
            fail("SD element without id");
        check_in(m.sd[i].id, msg, len, "SD id outside the message");
        check_in(m.sd[i].name, msg, len, "SD name outside the message");
        check_value(m.sd[i].value, msg, len, scratch);
    }
    sl_severity_otel(m.severity);
    sl_msg_attrs(&m, SL_HOST_ATTR, kv, &n, SL_MAX_ATTRS, keybuf, keycap);
    if (n > SL_MAX_ATTRS)
        fail("more attributes than the cap");
    for (i = 0; i < n; i++) {
        if (!kv[i].key || strlen(kv[i].key) != kv[i].key_len)
            fail("attribute key length wrong");
        /* read every byte of a value: ASan checks where it points */
        if (kv[i].type == VG_VAL_STR)
            for (k = 0; k < kv[i].len; k++)
                sink += (unsigned char)kv[i].v.s[k];
    }
    /* fewer slots and a small key buffer, as a caller with less room */
    n = 3;
    sl_msg_attrs(&m, 0, kv, &n, 6, keybuf, len % 64);
    if (n > 6)
        fail("attributes past a small cap");
done:
    free(msg);
    free(scratch);
    free(keybuf);
}

/*
 * A connection: reads of `chunk` bytes into a buffer of max +
 * FR_HEADER_MAX bytes, frames taken as conn_frames takes them, the rest
 * at eof as conn_close does.
 */
static void
stream(const char *data, size_t size, size_t max, size_t chunk)
{
    size_t cap = max + FR_HEADER_MAX, len = 0, in = 0;
    struct fr_state st = { 0 };
    char *buf = malloc(cap);
    int eof = 0;

    if (!buf)
        return;
    while (!eof) {
        struct fr_frame f;
        size_t off = 0, used, r = size - in;
        int got;

        if (r > chunk)
            r = chunk;
        if (r > cap - len)
            r = cap - len;
        memcpy(buf + len, data + in, r);
        len += r;
        in += r;
        eof = in == size;
        if (len == 0)
            continue;
        do {
            got = fr_next(&st, buf + off, len - off, max, eof, &f, &used);
            if (used > len - off)
                fail("fr_next used more than it was given");
            if (got) {
                if (f.len > max || f.msg < buf + off ||
                    f.msg + f.len > buf + len)
                    fail("frame outside the buffer or too long");
                one_message(f.msg, f.len);
            }
            off += used;
        } while ((got || used) && off < len);
        /* the connection stops reading when its full buffer stays full */
        if (off == 0 && len == cap)
            fail("no progress with a full buffer");
        /* a closed connection leaves nothing unread behind */
        if (eof && off != len)
            fail("bytes left over at eof");
        memmove(buf, buf + off, len - off);
        len -= off;
    }
    free(buf);
}

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    (void)argc;
    (void)argv;
    /* a zone with DST, given inline so no zone file is read */
    setenv("TZ", "CET-1CEST,M3.5.0,M10.5.0/3", 1);
    return 0;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *p = (const char *)data + 1;
    size_t used;
    int64_t ns;
    uint8_t sel;

    if (size == 0)
        return 0;
    sel = data[0];
    size--;
    if (sel & 1) {
        size_t chunk = (size_t)(sel >> 3) * 7 + 1;

        stream(p, size, max_sizes[(sel >> 1) & 3], chunk);
        return 0;
    }
    one_message(p, size);
    if (sl_time_rfc3339(p, size, sel & 2, &ns, &used) == 0 && used > size)
        fail("time stamp longer than its text");
    return 0;
}
