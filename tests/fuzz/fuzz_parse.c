/*
 * libFuzzer target: the parse filter, compiled in (its event path is
 * file-local) and run on the core's real API table and batches.  The
 * first byte picks the format (json, logfmt, regex with a fixed pattern
 * of named groups, nginx, apache, syslog), the second the per-event
 * options (keep_body, on_error, source body or attribute, time_key and
 * its format, severity_key); the rest is the text.  One log event with
 * that body and a few attributes goes into a batch, each event of it
 * through parse_event as parse_process does, and what is kept into a
 * derived batch, which must take it whole and read back the same.
 */
#include "parse.c"

#include "batch.h"
#include "instance.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NFORMATS 6

static struct vg_pair types[] = {
    { "status", "int" },
    { "bytes", "int" },
    { "duration", "double" },
    { "ok", "bool" },
    { "user", "string" },
};

/* time_format of each enum pa_time_kind */
static const char *const time_formats[4] = {
    "%d/%b/%Y:%H:%M:%S %z", "rfc3339", "epoch", "epoch_ms",
};

static struct parse_conf confs[NFORMATS];
static struct vg_instance insts[NFORMATS];
static int ready;

static void
fail(const char *what, int rc)
{
    fprintf(stderr, "fuzz_parse: %s (%d)\n", what, rc);
    abort();
}

/* One instance per format, made once: init compiles the regexes. */
static void
setup(void)
{
    static const int formats[NFORMATS] = {
        FMT_JSON, FMT_LOGFMT, FMT_REGEX, FMT_NGINX, FMT_APACHE, FMT_SYSLOG,
    };
    int i, rc;

    vg_log_set_level(0);                /* nothing logged, even errors */
    for (i = 0; i < NFORMATS; i++) {
        struct parse_conf *c = &confs[i];
        struct vg_instance *in = &insts[i];

        c->format = formats[i];
        c->source = "body";
        c->time_format = "rfc3339";
        c->time_zone = i % 2 ? "+02:00" : "UTC";
        c->keep_body = 1;
        c->types.n = sizeof(types) / sizeof(types[0]);
        c->types.v = types;
        if (formats[i] == FMT_REGEX) {
            c->pattern = "^(?<ts>\\S+) +(?<level>[A-Za-z]+)"
                         "(?: \\[(?<thread>[^\\]]*)\\])?"
                         "(?: (?<status>\\d+))?:? (?<msg>.*)$";
            c->exclude = "^#";
        } else if (formats[i] == FMT_JSON) {
            c->exclude = "^debug$";
            c->match_key = "level";
        } else if (formats[i] == FMT_LOGFMT) {
            c->include = "=";
        }
        in->api = &vg_core_api;
        in->name = "filter[parse#fuzz]";
        in->kind = VG_KIND_FILTER;
        if ((rc = parse_init(in, c)) < 0)
            fail("parse_init failed", rc);
    }
    ready = 1;
}

/* Every attribute of ev must be well formed: the batch would refuse it. */
static void
check_event(const struct vg_event *ev)
{
    uint32_t i;

    for (i = 0; i < ev->nattrs; i++) {
        const struct vg_kv *kv = &ev->attrs[i];

        if (!kv->key || (kv->type == VG_VAL_STR && kv->len && !kv->v.s) ||
            kv->type > VG_VAL_BOOL)
            fail("malformed attribute", (int)i);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_instance *in;
    struct parse_conf *c;
    struct parse_state *st;
    struct vg_batch *b, *nb;
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    struct vg_kv attrs[4];
    const char *text = (const char *)data + 2;
    size_t len, kept = 0, n;
    uint8_t opt;
    int rc;

    if (size < 2)
        return 0;
    if (!ready)
        setup();
    in = &insts[data[0] % NFORMATS];
    c = &confs[data[0] % NFORMATS];
    st = vg_instance_data(in);
    opt = data[1];
    len = size - 2;

    c->keep_body = opt & 1;
    c->on_error = (opt >> 1) & 3;
    if (c->on_error > ERR_TAG)
        c->on_error = ERR_KEEP;
    st->source = opt & 8 ? "msg" : NULL;
    st->source_len = st->source ? 3 : 0;
    st->time_kind = (opt >> 4) & 3;
    c->time_format = (char *)time_formats[st->time_kind];
    c->time_key = opt & 0x40 ? (data[0] & 0x80 ? "ts" : "time") : NULL;
    c->severity_key = opt & 0x80 ? "level" : NULL;

    attrs[0] = vg_kv_str("msg", "");
    attrs[0].len = (uint32_t)len;
    attrs[0].v.s = text;
    attrs[1] = vg_kv_str("level", "warn");
    attrs[2].key = "parse_error";
    attrs[2].key_len = 11;
    attrs[2].type = VG_VAL_BOOL;
    attrs[2].len = 0;
    attrs[2].v.b = 1;
    attrs[3].key = "ts";
    attrs[3].key_len = 2;
    attrs[3].type = VG_VAL_INT;
    attrs[3].len = 0;
    attrs[3].v.i = 1700000000;

    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_LOG;
    ev.time = INT64_C(1795392000) * 1000000000;
    ev.body = text;
    ev.body_len = (uint32_t)len;
    ev.attrs = attrs;
    ev.nattrs = data[0] & 0x40 ? 4 : 1;

    b = vg_batch_new(in, len + 256);
    if ((rc = vg_batch_add(in, b, &ev)) < 0)
        fail("the input event did not fit a batch", rc);
    nb = vg_batch_derive(in, b, vg_batch_bytes(in, b) * 2 + 256);
    while (vg_batch_next(in, b, &it, &ev) > 0) {
        if (!parse_event(in, st, &ev))
            continue;
        check_event(&ev);
        rc = vg_batch_add(in, nb, &ev);
        if (rc < 0 && ev.nattrs <= VG_BATCH_MAX_ATTRS)
            fail("a parsed event did not fit a batch", rc);
        if (rc == 0)
            kept++;
    }
    vg_iter_release(in, &it);
    vg_batch_unref(in, b);

    n = 0;
    it = (struct vg_iter)VG_ITER_INIT;
    while (vg_batch_next(in, nb, &it, &ev) > 0) {
        char *buf = NULL;
        size_t blen = 0, cap = 0;

        if (vg_event_to_json(in, &ev, &buf, &blen, &cap) < 0)
            fail("a parsed event did not encode as JSON", 0);
        free(buf);
        n++;
    }
    vg_iter_release(in, &it);
    vg_batch_unref(in, nb);
    if (n != kept)
        fail("the derived batch lost events", (int)n);
    return 0;
}
