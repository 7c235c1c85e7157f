/*
 * filter parse: turns a log body (or a string attribute) into typed
 * attributes: JSON, logfmt, a regex with named groups, combined access
 * logs (nginx, Apache) or syslog.  Optionally takes the event time and
 * severity from attributes, casts values, and keeps or drops events by
 * regex.  Each batch is re-encoded once, into one derived batch; the
 * other events are not touched.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <vigil/plugin.h>

#include "parse.h"
#include "syslog_msg.h"

enum parse_format {
    FMT_JSON,
    FMT_LOGFMT,
    FMT_REGEX,
    FMT_NGINX,
    FMT_APACHE,
    FMT_SYSLOG,
};

enum on_error {
    ERR_KEEP,
    ERR_DROP,
    ERR_TAG,
};

struct parse_conf {                     /* the core fills this in */
    int             format;             /* enum parse_format */
    char           *source;
    char           *pattern;
    struct vg_map   types;
    char           *time_key;
    char           *time_format;
    char           *time_zone;
    char           *severity_key;
    int             keep_body;
    int             on_error;           /* enum on_error */
    char           *include;
    char           *exclude;
    char           *match_key;
};

struct group {                          /* a named group of the pattern */
    const char *name;                   /* in the pattern's name table */
    size_t      len;
    uint32_t    num;
};

struct cast {
    const char *key;
    size_t      len;
    int         type;                   /* enum pa_cast_type */
};

struct parse_state {
    const struct parse_conf *conf;
    const char          *source;        /* attribute name, NULL: body */
    size_t               source_len;
    pcre2_code          *re;
    pcre2_match_data    *md;
    struct group        *groups;
    uint32_t             ngroups;
    pcre2_code          *include;
    pcre2_code          *exclude;
    pcre2_match_data    *gmd;           /* include / exclude matches */
    struct cast         *casts;
    size_t               ncasts;
    int                  time_kind;     /* enum pa_time_kind */
    struct pa_zone       zone;
    struct pa_sink       sink;
    struct vg_kv        *out;           /* one event's attributes */
    uint32_t             out_cap;
    char                *scratch;       /* syslog SD values */
    size_t               scratch_cap;
};

static const struct vg_option parse_options[] = {
    { .name = "format", .type = VG_OPT_ENUM, .def = "json",
      .choices = "json|logfmt|regex|nginx|apache|syslog",
      .offset = offsetof(struct parse_conf, format),
      .help = "how the text is read" },
    { .name = "source", .type = VG_OPT_STR, .def = "body",
      .offset = offsetof(struct parse_conf, source),
      .help = "what to parse: body, or attributes.NAME" },
    { .name = "pattern", .type = VG_OPT_STR,
      .offset = offsetof(struct parse_conf, pattern),
      .help = "format regex: a PCRE2 pattern; named groups become "
              "attributes" },
    { .name = "types", .type = VG_OPT_MAP,
      .offset = offsetof(struct parse_conf, types),
      .help = "attribute: int|double|bool|string casts" },
    { .name = "time_key", .type = VG_OPT_STR,
      .offset = offsetof(struct parse_conf, time_key),
      .help = "attribute holding the event time" },
    { .name = "time_format", .type = VG_OPT_STR, .def = "rfc3339",
      .offset = offsetof(struct parse_conf, time_format),
      .help = "rfc3339, epoch, epoch_ms, or a strptime format" },
    { .name = "time_zone", .type = VG_OPT_STR, .def = "UTC",
      .offset = offsetof(struct parse_conf, time_zone),
      .help = "zone of stamps without one: UTC, local, +HH:MM" },
    { .name = "severity_key", .type = VG_OPT_STR,
      .offset = offsetof(struct parse_conf, severity_key),
      .help = "attribute holding a level word (info, warn, error...)" },
    { .name = "keep_body", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct parse_conf, keep_body),
      .help = "keep the parsed text (body or source attribute)" },
    { .name = "on_error", .type = VG_OPT_ENUM, .def = "keep",
      .choices = "keep|drop|tag", .offset = offsetof(struct parse_conf,
                                                     on_error),
      .help = "an event that does not parse: keep, drop, or tag it "
              "parse_error=true" },
    { .name = "include", .type = VG_OPT_STR,
      .offset = offsetof(struct parse_conf, include),
      .help = "keep only events whose text matches this regex" },
    { .name = "exclude", .type = VG_OPT_STR,
      .offset = offsetof(struct parse_conf, exclude),
      .help = "drop events whose text matches this regex" },
    { .name = "match_key", .type = VG_OPT_STR,
      .offset = offsetof(struct parse_conf, match_key),
      .help = "include/exclude test this attribute, not the body" },
    { 0 }
};

static int
key_eq(const struct vg_kv *kv, const char *k, size_t n)
{
    return kv->key_len == n && memcmp(kv->key, k, n) == 0;
}

/* ------------------------------------------------------------------ */
/* Parsing one event                                                   */
/* ------------------------------------------------------------------ */

static int
parse_regex(struct parse_state *st, const char *p, size_t len)
{
    PCRE2_SIZE *ov;
    uint32_t i;
    int rc;

    if (pcre2_match(st->re, (PCRE2_SPTR)p, len, 0, 0, st->md, NULL) < 0)
        return -EINVAL;
    ov = pcre2_get_ovector_pointer(st->md);
    for (i = 0; i < st->ngroups; i++) {
        const struct group *g = &st->groups[i];

        if (ov[2 * g->num] == PCRE2_UNSET)
            continue;
        if ((rc = pa_add_str(&st->sink, g->name, g->len,
                             p + ov[2 * g->num],
                             ov[2 * g->num + 1] - ov[2 * g->num])) < 0)
            return rc;
    }
    return 0;
}

/* Syslog: attributes, time and severity; *body becomes the MSG part. */
static int
parse_syslog(struct vg_instance *in, struct parse_state *st, const char *p,
             size_t len, struct vg_event *ev, struct sl_str *msg)
{
    struct vg_kv kv[SL_MAX_ATTRS];
    struct sl_msg m;
    char *keybuf;
    uint32_t n = 0, i;
    int rc = 0;

    if (len > st->scratch_cap) {
        char *s = realloc(st->scratch, len);

        if (!s)
            return -ENOMEM;
        st->scratch = s;
        st->scratch_cap = len;
    }
    if (sl_parse(p, len, vg_now(in), st->scratch, &m) < 0)
        return -EINVAL;
    if (!(keybuf = pa_sink_alloc(&st->sink, 2048)))
        return -ENOMEM;
    sl_msg_attrs(&m, SL_HOST_ATTR, kv, &n, SL_MAX_ATTRS, keybuf, 2048);
    for (i = 0; i < n && rc == 0; i++) {
        if (kv[i].type == VG_VAL_BOOL)
            rc = pa_add_bool(&st->sink, kv[i].key, kv[i].key_len, 1);
        else
            rc = pa_add_str(&st->sink, kv[i].key, kv[i].key_len, kv[i].v.s,
                            kv[i].len);
    }
    if (m.time) {
        st->sink.time = m.time;
        st->sink.has_time = 1;
    }
    ev->severity = sl_severity_otel(m.severity);
    *msg = m.msg;
    return rc;
}

/* A string view of an attribute (numbers printed into buf). */
static const char *
kv_text(const struct vg_kv *kv, char *buf, size_t cap, size_t *n)
{
    int w = 0;

    switch (kv->type) {
    case VG_VAL_STR:
        *n = kv->len;
        return kv->v.s;
    case VG_VAL_INT:
        w = snprintf(buf, cap, "%" PRId64, kv->v.i);
        break;
    case VG_VAL_DOUBLE:
        w = snprintf(buf, cap, "%.17g", kv->v.d);
        break;
    default:
        w = snprintf(buf, cap, "%s", kv->v.b ? "true" : "false");
        break;
    }
    *n = (size_t)w;
    return buf;
}

static const struct vg_kv *
find_attr(const struct vg_kv *kv, uint32_t n, const char *key)
{
    size_t klen = strlen(key);
    uint32_t i;

    /* the last one wins, as in the merged set */
    for (i = n; i-- > 0;)
        if (key_eq(&kv[i], key, klen))
            return &kv[i];
    return NULL;
}

/* Applies casts, event time and severity from the parsed attributes. */
static void
apply_fields(struct vg_instance *in, struct parse_state *st,
             struct vg_event *ev, const struct vg_kv *attrs,
             uint32_t nattrs)
{
    const struct parse_conf *c = st->conf;
    struct pa_sink *s = &st->sink;
    const struct vg_kv *kv;
    char buf[64];
    uint32_t i;
    size_t k, n;

    for (i = 0; i < s->n && st->ncasts; i++)
        for (k = 0; k < st->ncasts; k++)
            if (key_eq(&s->kv[i], st->casts[k].key, st->casts[k].len))
                pa_cast(&s->kv[i], st->casts[k].type);
    if (c->time_key && ((kv = find_attr(s->kv, s->n, c->time_key)) ||
                        (kv = find_attr(attrs, nattrs, c->time_key)))) {
        const char *t = kv_text(kv, buf, sizeof(buf), &n);
        int64_t ns;

        if (pa_time_parse(st->time_kind, c->time_format, &st->zone, t, n,
                          &ns) == 0) {
            s->time = ns;
            s->has_time = 1;
        } else {
            vg_count(in, "time_errors", 1);
        }
    }
    if (s->has_time)
        ev->time = s->time;
    if (c->severity_key &&
        ((kv = find_attr(s->kv, s->n, c->severity_key)) ||
         (kv = find_attr(attrs, nattrs, c->severity_key))) &&
        kv->type == VG_VAL_STR) {
        uint32_t sev = pa_severity_word(kv->v.s, kv->len);

        if (sev)
            ev->severity = sev;
    }
}

/* out = the event's attributes not set by the parser, then the parser's
 * (a key the parser gave twice keeps its last value). */
static int
merge_attrs(struct parse_state *st, const struct vg_event *ev,
            const char *drop, size_t drop_len, int tag)
{
    struct pa_sink *s = &st->sink;
    uint32_t need = ev->nattrs + s->n + 1, n = 0, i, j;

    if (need > st->out_cap) {
        struct vg_kv *p = realloc(st->out, need * sizeof(*p));

        if (!p)
            return -ENOMEM;
        st->out = p;
        st->out_cap = need;
    }
    for (i = 0; i < ev->nattrs; i++) {
        const struct vg_kv *a = &ev->attrs[i];

        if (drop && key_eq(a, drop, drop_len))
            continue;
        if (tag && key_eq(a, "parse_error", 11))
            continue;
        for (j = 0; j < s->n; j++)
            if (key_eq(&s->kv[j], a->key, a->key_len))
                break;
        if (j == s->n)
            st->out[n++] = *a;
    }
    for (i = 0; i < s->n; i++) {
        for (j = i + 1; j < s->n; j++)
            if (key_eq(&s->kv[j], s->kv[i].key, s->kv[i].key_len))
                break;
        if (j == s->n)
            st->out[n++] = s->kv[i];
    }
    if (tag) {
        st->out[n].key = "parse_error";
        st->out[n].key_len = 11;
        st->out[n].type = VG_VAL_BOOL;
        st->out[n].len = 0;
        st->out[n++].v.b = 1;
    }
    return (int)n;
}

/* 1 when include/exclude let the event through. */
static int
grep_pass(struct vg_instance *in, struct parse_state *st,
          const struct vg_event *ev)
{
    const char *text = ev->body;
    size_t n = ev->body_len;
    char buf[64];

    if (!st->include && !st->exclude)
        return 1;
    if (st->conf->match_key) {
        const struct vg_kv *kv = find_attr(ev->attrs, ev->nattrs,
                                           st->conf->match_key);

        if (!kv)
            return !st->include;
        text = kv_text(kv, buf, sizeof(buf), &n);
    }
    if ((st->include && pcre2_match(st->include, (PCRE2_SPTR)text, n, 0, 0,
                                    st->gmd, NULL) < 0) ||
        (st->exclude && pcre2_match(st->exclude, (PCRE2_SPTR)text, n, 0, 0,
                                    st->gmd, NULL) >= 0)) {
        vg_count(in, "excluded", 1);
        return 0;
    }
    return 1;
}

/*
 * Parses ev in place (its attrs, body, time, severity then point to the
 * state's buffers or the parent batch).  Returns 1 to keep it, 0 to drop.
 */
static int
parse_event(struct vg_instance *in, struct parse_state *st,
            struct vg_event *ev)
{
    const struct parse_conf *c = st->conf;
    const struct vg_kv *src = NULL;
    struct sl_str msg = { NULL, 0 };
    const char *p;
    size_t len;
    int rc = -EINVAL, n;

    pa_sink_reset(&st->sink);
    if (ev->kind != VG_EV_LOG)
        return 1;
    if (st->source) {
        src = find_attr(ev->attrs, ev->nattrs, st->source);
        p = src && src->type == VG_VAL_STR ? src->v.s : NULL;
        len = src ? src->len : 0;
    } else {
        p = ev->body;
        len = ev->body_len;
    }
    if (p) {
        switch (c->format) {
        case FMT_JSON:
            rc = pa_json(p, len, &st->sink);
            break;
        case FMT_LOGFMT:
            rc = pa_logfmt(p, len, &st->sink);
            break;
        case FMT_REGEX:
            rc = parse_regex(st, p, len);
            break;
        case FMT_NGINX:
        case FMT_APACHE:
            rc = pa_access_log(p, len, &st->sink);
            break;
        default:
            rc = parse_syslog(in, st, p, len, ev, &msg);
            break;
        }
    }
    if (rc == -ENOMEM)
        vg_log(in, VG_LOG_WARN, "out of memory parsing an event; it passes "
               "unparsed");
    if (rc < 0) {
        pa_sink_reset(&st->sink);
        vg_count(in, "parse_errors", 1);
        if (c->on_error == ERR_DROP && rc != -ENOMEM) {
            vg_count(in, "dropped", 1);
            return 0;
        }
        if (c->on_error == ERR_TAG && rc != -ENOMEM &&
            (n = merge_attrs(st, ev, NULL, 0, 1)) >= 0) {
            ev->attrs = st->out;
            ev->nattrs = (uint32_t)n;
        }
        return grep_pass(in, st, ev);
    }
    apply_fields(in, st, ev, ev->attrs, ev->nattrs);
    if ((n = merge_attrs(st, ev, c->keep_body ? NULL : st->source,
                         st->source_len, 0)) < 0) {
        vg_log(in, VG_LOG_WARN, "out of memory parsing an event; it passes "
               "unparsed");
        return 1;
    }
    ev->attrs = st->out;
    ev->nattrs = (uint32_t)n;
    if (!c->keep_body && !st->source) {
        ev->body = msg.p ? msg.p : "";
        ev->body_len = msg.len;
    }
    vg_count(in, "parsed", 1);
    return grep_pass(in, st, ev);
}

static void
parse_process(struct vg_instance *in, struct vg_batch *b)
{
    struct parse_state *st = vg_instance_data(in);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_batch *nb;
    struct vg_event ev;
    size_t failed = 0;

    /* parsed attributes roughly double what a log event takes */
    nb = vg_batch_derive(in, b, vg_batch_bytes(in, b) * 2 + 256);
    if (!nb) {
        vg_log(in, VG_LOG_WARN, "cannot allocate a batch; events pass "
               "unparsed");
        vg_emit(in, b);
        return;
    }
    while (vg_batch_next(in, b, &it, &ev) > 0) {
        if (parse_event(in, st, &ev) && vg_batch_add(in, nb, &ev) < 0)
            failed++;
    }
    vg_iter_release(in, &it);
    if (failed) {
        vg_log(in, VG_LOG_WARN, "dropped %zu events that could not be "
               "added to a batch", failed);
        vg_count(in, "dropped", (int64_t)failed);
    }
    vg_batch_unref(in, b);
    vg_emit(in, nb);
}

/* ------------------------------------------------------------------ */
/* Set-up                                                              */
/* ------------------------------------------------------------------ */

static int
regex_compile(struct vg_instance *in, const char *opt, const char *pat,
              pcre2_code **out)
{
    PCRE2_UCHAR msg[256];
    PCRE2_SIZE off;
    int err;

    if (!(*out = pcre2_compile((PCRE2_SPTR)pat, PCRE2_ZERO_TERMINATED, 0,
                               &err, &off, NULL))) {
        pcre2_get_error_message(err, msg, sizeof(msg));
        vg_log(in, VG_LOG_ERROR, "option '%s': bad regex at offset %zu: %s",
               opt, (size_t)off, (const char *)msg);
        return -EINVAL;
    }
    /* without JIT (not built in, or no exec memory) matching still works */
    pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
    return 0;
}

static int
groups_load(struct vg_instance *in, struct parse_state *st)
{
    PCRE2_SPTR table;
    uint32_t count, size, i;

    pcre2_pattern_info(st->re, PCRE2_INFO_NAMECOUNT, &count);
    pcre2_pattern_info(st->re, PCRE2_INFO_NAMEENTRYSIZE, &size);
    pcre2_pattern_info(st->re, PCRE2_INFO_NAMETABLE, &table);
    if (count == 0) {
        vg_log(in, VG_LOG_ERROR, "option 'pattern' has no named group "
               "(?<name>...): it would add no attribute");
        return -EINVAL;
    }
    if (!(st->groups = calloc(count, sizeof(*st->groups))))
        return -ENOMEM;
    for (i = 0; i < count; i++) {
        PCRE2_SPTR e = table + (size_t)i * size;

        st->groups[i].num = (uint32_t)(e[0] << 8 | e[1]);
        st->groups[i].name = (const char *)e + 2;
        st->groups[i].len = strlen((const char *)e + 2);
    }
    st->ngroups = count;
    if (!(st->md = pcre2_match_data_create_from_pattern(st->re, NULL)))
        return -ENOMEM;
    return 0;
}

static int
casts_load(struct vg_instance *in, struct parse_state *st)
{
    static const char *const names[] = { "string", "int", "double",
                                          "bool" };
    const struct vg_map *m = &st->conf->types;
    size_t i;
    int k;

    if (m->n && !(st->casts = calloc(m->n, sizeof(*st->casts))))
        return -ENOMEM;
    for (i = 0; i < m->n; i++) {
        for (k = 0; k < 4; k++)
            if (strcmp(m->v[i].value, names[k]) == 0)
                break;
        if (k == 4) {
            vg_log(in, VG_LOG_ERROR, "option 'types': '%s' has type '%s'; "
                   "want int, double, bool or string", m->v[i].key,
                   m->v[i].value);
            return -EINVAL;
        }
        st->casts[i].key = m->v[i].key;
        st->casts[i].len = strlen(m->v[i].key);
        st->casts[i].type = k;
    }
    st->ncasts = m->n;
    return 0;
}

static void
parse_state_free(struct parse_state *st)
{
    if (!st)
        return;
    pcre2_match_data_free(st->md);
    pcre2_match_data_free(st->gmd);
    pcre2_code_free(st->re);
    pcre2_code_free(st->include);
    pcre2_code_free(st->exclude);
    pa_sink_release(&st->sink);
    free(st->groups);
    free(st->casts);
    free(st->out);
    free(st->scratch);
    free(st);
}

static int
parse_init(struct vg_instance *in, void *conf)
{
    const struct parse_conf *c = conf;
    struct parse_state *st;
    int rc = -ENOMEM;

    if (!(st = calloc(1, sizeof(*st))))
        return -ENOMEM;
    st->conf = c;
    pa_sink_init(&st->sink);
    rc = -EINVAL;
    if (strncmp(c->source, "attributes.", 11) == 0 && c->source[11]) {
        st->source = c->source + 11;
        st->source_len = strlen(st->source);
    } else if (strcmp(c->source, "body") != 0) {
        vg_log(in, VG_LOG_ERROR, "option 'source': '%s' is neither 'body' "
               "nor 'attributes.NAME'", c->source);
        goto fail;
    }
    if (c->format == FMT_REGEX && !c->pattern) {
        vg_log(in, VG_LOG_ERROR, "format regex needs option 'pattern'");
        goto fail;
    }
    if (c->format != FMT_REGEX && c->pattern) {
        vg_log(in, VG_LOG_ERROR, "option 'pattern' is only for format "
               "regex");
        goto fail;
    }
    if (!strcmp(c->time_format, "rfc3339"))
        st->time_kind = PA_TIME_RFC3339;
    else if (!strcmp(c->time_format, "epoch"))
        st->time_kind = PA_TIME_EPOCH;
    else if (!strcmp(c->time_format, "epoch_ms"))
        st->time_kind = PA_TIME_EPOCH_MS;
    else if (!strchr(c->time_format, '%')) {
        vg_log(in, VG_LOG_ERROR, "option 'time_format': '%s' is none of "
               "rfc3339, epoch, epoch_ms, nor a strptime format",
               c->time_format);
        goto fail;
    } else
        st->time_kind = PA_TIME_STRPTIME;
    if (pa_zone_parse(c->time_zone, &st->zone) < 0) {
        vg_log(in, VG_LOG_ERROR, "option 'time_zone': '%s' is not UTC, "
               "local or an offset like +02:00", c->time_zone);
        goto fail;
    }
    if ((c->pattern && ((rc = regex_compile(in, "pattern", c->pattern,
                                            &st->re)) < 0 ||
                        (rc = groups_load(in, st)) < 0)) ||
        (c->include && (rc = regex_compile(in, "include", c->include,
                                           &st->include)) < 0) ||
        (c->exclude && (rc = regex_compile(in, "exclude", c->exclude,
                                           &st->exclude)) < 0) ||
        (rc = casts_load(in, st)) < 0)
        goto fail;
    rc = -ENOMEM;
    if ((st->include || st->exclude) &&
        !(st->gmd = pcre2_match_data_create(1, NULL)))
        goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    parse_state_free(st);
    return rc;
}

static void
parse_destroy(struct vg_instance *in)
{
    parse_state_free(vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "parse",
    .summary = "parse log text into attributes: json, logfmt, regex, "
               "access logs, syslog",
    .options = parse_options,
    .conf_size = sizeof(struct parse_conf),
    .init = parse_init,
    .process = parse_process,
    .destroy = parse_destroy,
};
