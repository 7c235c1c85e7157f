/*
 * filter sample: keeps a fraction of the events, either at random or
 * consistently by the value of a key (the same trace id is kept or dropped
 * everywhere: the decision is a stable hash of the value, no random
 * state), throttles each key to at most N events per window, and lets
 * chosen events (severe logs, alerts, a label value) bypass both.
 *
 * Kept sampled events carry the sample rate (1 in N) so counts can be
 * scaled back.  Throttling state is one open-addressing table of at most
 * max_keys entries, cleared at each window; keys past the cap share one
 * overflow entry, so memory is bounded whatever the traffic.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include <vigil/plugin.h>

#define TEMPLATE_KEY  "body_template"
#define OVERFLOW_KEY  "(other keys)"
#define KEYBUF_LEN    32                /* an integer or double as text */

struct sample_conf {                    /* the core fills this in */
    double          rate;               /* fraction kept, 0..1 */
    char           *key;                /* consistent sampling by this */
    char           *rate_field;         /* "" = do not annotate */
    int64_t         throttle_max;       /* events per window per key */
    int64_t         throttle_window;    /* ns */
    char           *throttle_key;       /* NULL: one key for all events */
    int64_t         throttle_max_keys;
    int             min_severity;       /* index into sev_base; 0 = none */
    int             keep_alerts;
    char           *keep_key;
    char           *keep_value;         /* NULL: the key being present */
};

static const uint32_t sev_base[] = {
    0, 1, 5, 9, 13, 17, 21,             /* none, trace .. fatal */
};

struct tentry {
    uint64_t  hash;                     /* 0: free */
    int64_t   seen;                     /* events kept this window */
    int64_t   dropped;                  /* events throttled this window */
    char     *key;                      /* for the summary */
};

struct sample_state {
    const struct sample_conf *conf;
    uint64_t         threshold;         /* keep when hash < threshold */
    int              sampling;          /* rate < 1 */
    uint64_t         rng;               /* xorshift64* state */
    char             rate_text[32];     /* "10" */
    struct tentry   *table;
    uint32_t         tcap;              /* power of two */
    uint32_t         tused;
    struct tentry    overflow;
    struct vg_timer *window;
    char            *tmpl;              /* scratch: a body template */
    size_t           tmpl_cap;
    struct vg_kv    *kvs;               /* scratch: labels + attributes */
    uint32_t         kv_cap;
};

static const struct vg_option throttle_options[] = {
    { .name = "max", .type = VG_OPT_INT, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct sample_conf, throttle_max),
      .help = "most events per window per key" },
    { .name = "window", .type = VG_OPT_DURATION, .def = "10s",
      .offset = offsetof(struct sample_conf, throttle_window),
      .help = "length of a throttling window" },
    { .name = "key", .type = VG_OPT_STR,
      .offset = offsetof(struct sample_conf, throttle_key),
      .help = "label/attribute, or body_template; none: all events" },
    { .name = "max_keys", .type = VG_OPT_INT, .def = "10000",
      .offset = offsetof(struct sample_conf, throttle_max_keys),
      .help = "keys tracked per window; more share one entry" },
    { 0 }
};

static const struct vg_option keep_options[] = {
    { .name = "min_severity", .type = VG_OPT_ENUM, .def = "none",
      .choices = "none|trace|debug|info|warn|error|fatal",
      .offset = offsetof(struct sample_conf, min_severity),
      .help = "logs at least this severe are always kept" },
    { .name = "alerts", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct sample_conf, keep_alerts),
      .help = "alerts are always kept" },
    { .name = "key", .type = VG_OPT_STR,
      .offset = offsetof(struct sample_conf, keep_key),
      .help = "events with this label/attribute are always kept" },
    { .name = "value", .type = VG_OPT_STR,
      .offset = offsetof(struct sample_conf, keep_value),
      .help = "... when it has this value" },
    { 0 }
};

static const struct vg_option sample_options[] = {
    { .name = "rate", .type = VG_OPT_DOUBLE, .def = "1",
      .offset = offsetof(struct sample_conf, rate),
      .help = "fraction of events kept (0.1: one in ten)" },
    { .name = "key", .type = VG_OPT_STR,
      .offset = offsetof(struct sample_conf, key),
      .help = "sample consistently by this label/attribute's value" },
    { .name = "rate_field", .type = VG_OPT_STR, .def = "sample_rate",
      .offset = offsetof(struct sample_conf, rate_field),
      .help = "label/attribute carrying 1/rate on kept events; \"\": none" },
    { .name = "throttle", .type = VG_OPT_OBJECT, .sub = throttle_options,
      .help = "at most max events per window per key" },
    { .name = "always_keep", .type = VG_OPT_OBJECT, .sub = keep_options,
      .help = "events that bypass sampling and throttling" },
    { 0 }
};

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

/*
 * FNV-1a, then a splitmix64 finaliser so every bit of the result depends
 * on every input byte: a fixed function, the same on every host and run,
 * which is what consistent sampling needs.
 */
#define FNV_OFFSET UINT64_C(0xcbf29ce484222325)
#define FNV_PRIME  UINT64_C(0x100000001b3)

static inline uint64_t
fnv_add(uint64_t h, const void *data, size_t n)
{
    const unsigned char *p = data;
    size_t i;

    for (i = 0; i < n; i++)
        h = (h ^ p[i]) * FNV_PRIME;
    return h;
}

static inline uint64_t
mix64(uint64_t x)
{
    x ^= x >> 30;
    x *= UINT64_C(0xbf58476d1ce4e5b9);
    x ^= x >> 27;
    x *= UINT64_C(0x94d049bb133111eb);
    x ^= x >> 31;
    return x;
}

static uint64_t
rng_next(struct sample_state *st)
{
    uint64_t x = st->rng;

    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    st->rng = x;
    return x * UINT64_C(0x2545f4914f6cdd1d);
}

/* ------------------------------------------------------------------ */
/* Keys                                                                */
/* ------------------------------------------------------------------ */

/*
 * The value of label or attribute `key` as text: labels first, then
 * attributes; numbers are written out so "42" and 42 hash alike.  NULL
 * when the event has no such key.
 */
static const char *
key_value(const struct vg_event *ev, const char *key, size_t klen,
          char *buf, size_t *len)
{
    uint32_t i;

    for (i = 0; i < ev->nlabels; i++) {
        const struct vg_kv *kv = &ev->labels[i];

        if (kv->key_len == klen && memcmp(kv->key, key, klen) == 0) {
            *len = kv->len;
            return kv->v.s;
        }
    }
    for (i = 0; ev->kind == VG_EV_LOG && i < ev->nattrs; i++) {
        const struct vg_kv *kv = &ev->attrs[i];
        int n = 0;

        if (kv->key_len != klen || memcmp(kv->key, key, klen) != 0)
            continue;
        switch (kv->type) {
        case VG_VAL_STR:
            *len = kv->len;
            return kv->v.s;
        case VG_VAL_INT:
            n = snprintf(buf, KEYBUF_LEN, "%" PRId64, kv->v.i);
            break;
        case VG_VAL_DOUBLE:
            n = snprintf(buf, KEYBUF_LEN, "%.17g", kv->v.d);
            break;
        default:
            n = snprintf(buf, KEYBUF_LEN, "%s", kv->v.b ? "true" : "false");
            break;
        }
        *len = (size_t)n;
        return buf;
    }
    return NULL;
}

/*
 * The body with every run of digits replaced by '#': lines that differ
 * only in numbers (ids, durations, counts) share a template.
 */
static int
body_template(struct sample_state *st, const struct vg_event *ev,
              size_t *len)
{
    size_t i, n = 0;

    if (ev->body_len + 1 > st->tmpl_cap) {
        size_t cap = ev->body_len + 64;
        char *p = realloc(st->tmpl, cap);

        if (!p)
            return -ENOMEM;
        st->tmpl = p;
        st->tmpl_cap = cap;
    }
    for (i = 0; i < ev->body_len; i++) {
        unsigned char c = (unsigned char)ev->body[i];

        if ((unsigned)(c - '0') < 10u) {
            if (n == 0 || st->tmpl[n - 1] != '#')
                st->tmpl[n++] = '#';
        } else {
            st->tmpl[n++] = (char)c;
        }
    }
    st->tmpl[n] = '\0';
    *len = n;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Throttling                                                          */
/* ------------------------------------------------------------------ */

static void
table_clear(struct sample_state *st)
{
    uint32_t i;

    for (i = 0; i < st->tcap; i++) {
        free(st->table[i].key);
        memset(&st->table[i], 0, sizeof(st->table[i]));
    }
    st->tused = 0;
    st->overflow.seen = st->overflow.dropped = 0;
}

/* The entry of key k (hash h), added when new; the overflow when full. */
static struct tentry *
table_get(struct sample_state *st, uint64_t h, const char *k, size_t klen)
{
    uint32_t i = (uint32_t)h & (st->tcap - 1);

    h |= 1;                             /* 0 marks a free slot */
    for (;;) {
        struct tentry *e = &st->table[i];

        if (e->hash == h)
            return e;
        if (e->hash == 0)
            break;
        i = (i + 1) & (st->tcap - 1);
    }
    if (st->tused >= (uint64_t)st->conf->throttle_max_keys)
        return &st->overflow;
    if (!(st->table[i].key = malloc(klen + 1)))
        return &st->overflow;
    memcpy(st->table[i].key, k, klen);
    st->table[i].key[klen] = '\0';
    st->table[i].hash = h;
    st->tused++;
    return &st->table[i];
}

static int
add_summary(struct vg_instance *in, struct vg_batch *b,
            const struct tentry *e, const char *key, int64_t now)
{
    struct vg_event ev;
    struct vg_kv attrs[2];
    char body[512];
    int n;

    n = snprintf(body, sizeof(body), "throttled %" PRId64 " events for key "
                 "%s in the last window", e->dropped, key);
    if (n < 0 || (size_t)n >= sizeof(body))
        n = (int)sizeof(body) - 1;
    attrs[0] = vg_kv_str("throttle_key", key);
    attrs[1].key = "throttled";
    attrs[1].key_len = 9;
    attrs[1].type = VG_VAL_INT;
    attrs[1].len = 0;
    attrs[1].v.i = e->dropped;
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_LOG;
    ev.time = now;
    ev.severity = VG_SEV_WARN;
    ev.body = body;
    ev.body_len = (uint32_t)n;
    ev.attrs = attrs;
    ev.nattrs = 2;
    return vg_batch_add(in, b, &ev);
}

/* Ends a window: one summary per key that was throttled, then a reset. */
static void
window_end(struct vg_instance *in, struct sample_state *st)
{
    struct vg_batch *b = NULL;
    int64_t now = vg_now(in);
    uint32_t i;

    for (i = 0; i <= st->tcap; i++) {
        const struct tentry *e = i < st->tcap ? &st->table[i]
                                              : &st->overflow;

        if (e->dropped == 0)
            continue;
        if (!b && !(b = vg_batch_new(in, 4096)))
            break;
        if (add_summary(in, b, e, i < st->tcap ? e->key : OVERFLOW_KEY,
                        now) < 0)
            vg_log(in, VG_LOG_WARN, "cannot add a throttling summary");
    }
    if (b && vg_batch_count(in, b) > 0)
        vg_emit(in, b);
    else if (b)
        vg_batch_unref(in, b);
    table_clear(st);
}

static void
on_window(struct vg_instance *in, void *arg)
{
    window_end(in, arg);
}

/* 1 when the event passes the throttle (and counts it), 0 when not. */
static int
throttle_pass(struct sample_state *st, const struct vg_event *ev)
{
    const struct sample_conf *c = st->conf;
    char buf[KEYBUF_LEN];
    const char *k = "";
    size_t klen = 0;
    struct tentry *e;

    if (!c->throttle_key) {
        k = "*";
        klen = 1;
    } else if (strcmp(c->throttle_key, TEMPLATE_KEY) == 0) {
        if (ev->kind == VG_EV_LOG && body_template(st, ev, &klen) == 0)
            k = st->tmpl;
        else if (ev->kind == VG_EV_METRIC)
            klen = strlen(k = ev->name);
        else if (ev->kind == VG_EV_ALERT)
            klen = strlen(k = ev->rule);
    } else if (!(k = key_value(ev, c->throttle_key, strlen(c->throttle_key),
                               buf, &klen))) {
        k = "";
        klen = 0;
    }
    e = table_get(st, mix64(fnv_add(FNV_OFFSET, k, klen)), k, klen);
    if (e->seen < c->throttle_max) {
        e->seen++;
        return 1;
    }
    e->dropped++;
    return 0;
}

/* ------------------------------------------------------------------ */
/* Decisions                                                           */
/* ------------------------------------------------------------------ */

static int
always_keep(const struct sample_state *st, const struct vg_event *ev)
{
    const struct sample_conf *c = st->conf;
    char buf[KEYBUF_LEN];
    const char *v;
    size_t len;

    if (ev->kind == VG_EV_ALERT && c->keep_alerts)
        return 1;
    if (ev->kind == VG_EV_LOG && c->min_severity &&
        ev->severity >= sev_base[c->min_severity])
        return 1;
    if (!c->keep_key)
        return 0;
    v = key_value(ev, c->keep_key, strlen(c->keep_key), buf, &len);
    if (!v)
        return 0;
    return !c->keep_value || (strlen(c->keep_value) == len &&
                              memcmp(c->keep_value, v, len) == 0);
}

/* 1 when the sampler keeps the event. */
static int
sample_keep(struct sample_state *st, const struct vg_event *ev)
{
    const struct sample_conf *c = st->conf;
    char buf[KEYBUF_LEN];
    const char *v = NULL;
    size_t len;
    uint64_t h;

    if (c->key)
        v = key_value(ev, c->key, strlen(c->key), buf, &len);
    /* an event without the key is sampled at random, at the same rate */
    h = v ? mix64(fnv_add(FNV_OFFSET, v, len)) : rng_next(st);
    return h < st->threshold;
}

enum { DROP, KEEP, KEEP_SAMPLED };

static int
decide(struct sample_state *st, const struct vg_event *ev, int64_t *thr,
       int64_t *smp)
{
    if (always_keep(st, ev))
        return KEEP;
    if (st->conf->throttle_max > 0 && !throttle_pass(st, ev)) {
        (*thr)++;
        return DROP;
    }
    if (!st->sampling)
        return KEEP;
    if (!sample_keep(st, ev)) {
        (*smp)++;
        return DROP;
    }
    return KEEP_SAMPLED;
}

static int
kvs_reserve(struct sample_state *st, uint32_t n)
{
    if (n > st->kv_cap) {
        uint32_t cap = st->kv_cap ? st->kv_cap : 16;
        struct vg_kv *p;

        while (cap < n)
            cap *= 2;
        if (!(p = realloc(st->kvs, cap * sizeof(*p))))
            return -ENOMEM;
        st->kvs = p;
        st->kv_cap = cap;
    }
    return 0;
}

/* Adds ev with the sample rate as a label (attribute, for logs). */
static int
add_annotated(struct vg_instance *in, struct sample_state *st,
              struct vg_batch *nb, struct vg_event *ev)
{
    const char *field = st->conf->rate_field;
    struct vg_kv kv = vg_kv_str(field, st->rate_text);
    int rc;

    if (ev->kind == VG_EV_LOG) {
        if ((rc = kvs_reserve(st, ev->nattrs + 1)) < 0)
            return rc;
        if (ev->nattrs)
            memcpy(st->kvs, ev->attrs, ev->nattrs * sizeof(kv));
        st->kvs[ev->nattrs] = kv;
        ev->attrs = st->kvs;
        ev->nattrs++;
    } else {
        if ((rc = kvs_reserve(st, ev->nlabels + 1)) < 0)
            return rc;
        if (ev->nlabels)
            memcpy(st->kvs, ev->labels, ev->nlabels * sizeof(kv));
        /* the batch sorts labels; a duplicate key given last wins */
        st->kvs[ev->nlabels] = kv;
        ev->labels = st->kvs;
        ev->nlabels++;
        ev->hash = 0;
    }
    return vg_batch_add(in, nb, ev);
}

static void
sample_process(struct vg_instance *in, struct vg_batch *b)
{
    struct sample_state *st = vg_instance_data(in);
    int annotate = st->sampling && st->conf->rate_field[0];
    struct vg_iter it = VG_ITER_INIT;
    struct vg_batch *nb = NULL;
    int64_t thr = 0, smp = 0;
    struct vg_event ev;
    size_t failed = 0;
    int err = 0;

    /* annotating rewrites events; otherwise drops are marked in place */
    if (annotate &&
        !(nb = vg_batch_derive(in, b, vg_batch_bytes(in, b) +
                                      vg_batch_count(in, b) * 48))) {
        vg_log(in, VG_LOG_WARN, "cannot allocate a batch; events pass "
               "without the sample rate");
    }
    while (vg_batch_next(in, b, &it, &ev) > 0) {
        int d = decide(st, &ev, &thr, &smp), rc = 0;

        if (!nb) {
            if (d == DROP)
                vg_batch_drop(in, b, &it);
            continue;
        }
        if (d == KEEP)
            rc = vg_batch_add(in, nb, &ev);
        else if (d == KEEP_SAMPLED)
            rc = add_annotated(in, st, nb, &ev);
        if (rc < 0) {
            failed++;
            err = rc;
        }
    }
    vg_iter_release(in, &it);
    if (thr)
        vg_count(in, "throttled", thr);
    if (smp)
        vg_count(in, "sampled_out", smp);
    if (failed) {
        vg_log(in, VG_LOG_WARN, "dropped %zu events that could not be "
               "copied: %s", failed, strerror(-err));
        vg_count(in, "dropped", (int64_t)failed);
    }
    if (nb) {
        vg_batch_unref(in, b);
        b = nb;
    }
    vg_emit(in, b);
}

/* ------------------------------------------------------------------ */
/* Setup                                                               */
/* ------------------------------------------------------------------ */

static void
sample_state_free(struct vg_instance *in, struct sample_state *st)
{
    if (!st)
        return;
    if (st->window)
        vg_timer_free(in, st->window);
    if (st->table)
        table_clear(st);
    free(st->table);
    free(st->tmpl);
    free(st->kvs);
    free(st);
}

static int
sample_check(struct vg_instance *in, const void *conf)
{
    const struct sample_conf *c = conf;

    if (!(c->rate >= 0 && c->rate <= 1))
        vg_log(in, VG_LOG_ERROR, "option 'rate' must be within 0..1, not "
               "%g", c->rate);
    else if (c->throttle_max < 0)
        vg_log(in, VG_LOG_ERROR, "option 'throttle.max' must be >= 0");
    else if (c->throttle_max > 0 && c->throttle_window <= 0)
        vg_log(in, VG_LOG_ERROR, "option 'throttle.window' must be "
               "positive");
    else if (c->throttle_max_keys < 1 || c->throttle_max_keys > 10000000)
        vg_log(in, VG_LOG_ERROR, "option 'throttle.max_keys' must be "
               "within 1..10000000");
    else if (c->keep_value && !c->keep_key)
        vg_log(in, VG_LOG_ERROR, "option 'always_keep.value' needs "
               "'always_keep.key'");
    else
        return 0;
    return -EINVAL;
}

static int
sample_init(struct vg_instance *in, void *conf)
{
    const struct sample_conf *c = conf;
    struct sample_state *st = NULL;
    int rc;

    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))))
        goto fail;
    st->conf = c;
    st->sampling = c->rate < 1;
    /* 2^64 * rate, computed so rate 0 keeps nothing */
    if (st->sampling)
        st->threshold = (uint64_t)ldexp(c->rate, 64);
    snprintf(st->rate_text, sizeof(st->rate_text), "%.6g",
             c->rate > 0 ? 1 / c->rate : 0);
    st->rng = (uint64_t)vg_now(in) ^ (uint64_t)(uintptr_t)st ^
              UINT64_C(0x9e3779b97f4a7c15);
    if (!st->rng)
        st->rng = 1;
    if (c->throttle_max > 0) {
        uint64_t cap = 16;

        while (cap < (uint64_t)c->throttle_max_keys * 2)
            cap *= 2;
        st->tcap = (uint32_t)cap;
        if (!(st->table = calloc(st->tcap, sizeof(*st->table))) ||
            !(st->window = vg_timer_new(in, on_window, st)))
            goto fail;
    }
    vg_instance_set_data(in, st);
    return 0;
fail:
    sample_state_free(in, st);
    return rc;
}

static int
sample_start(struct vg_instance *in)
{
    struct sample_state *st = vg_instance_data(in);

    if (st->window)
        vg_timer_start(in, st->window, st->conf->throttle_window,
                       st->conf->throttle_window);
    return 0;
}

/* The window in progress is summarised before the pipeline drains. */
static void
sample_stop(struct vg_instance *in)
{
    struct sample_state *st = vg_instance_data(in);

    if (!st->window)
        return;
    vg_timer_stop(in, st->window);
    window_end(in, st);
}

static void
sample_destroy(struct vg_instance *in)
{
    sample_state_free(in, vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "sample",
    .summary = "sample events, consistently by key, and throttle per key",
    .options = sample_options,
    .conf_size = sizeof(struct sample_conf),
    .check = sample_check,
    .init = sample_init,
    .process = sample_process,
    .start = sample_start,
    .stop = sample_stop,
    .destroy = sample_destroy,
};
