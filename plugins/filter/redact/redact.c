/*
 * filter redact: masks or pseudonymises personal data (e-mail and IP
 * addresses, card numbers, credentials, user patterns) in log bodies,
 * string attributes and label values before events leave the host.
 *
 * Rules are compiled once at init.  A batch in which nothing matches is
 * passed on as it is; the first event that changes starts a derived batch
 * into which the events before it are copied, so clean traffic costs only
 * the scans.  Replacement text is built in one arena per event, referred
 * to by offset until the event is complete, since the arena may move.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <openssl/core_names.h>
#include <openssl/evp.h>
#include <pcre2.h>

#include <vigil/plugin.h>

#include "scan.h"

enum rd_detector {
    DET_NONE,
    DET_EMAIL,
    DET_IPV4,
    DET_IPV6,
    DET_CARD,
    DET_TOKEN,
};

static const char *const det_names[] = {
    "regex", "email", "ipv4", "ipv6", "credit_card", "token",
};

enum rd_action {
    ACT_MASK,
    ACT_HASH,
    ACT_DROP,
    ACT_TRUNCATE,
};

#define FIELD_BODY  0x1u
#define FIELD_ATTRS 0x2u
#define FIELD_LABELS 0x4u

#define HMAC_LEN 32                     /* SHA-256 */

struct rule_conf {                      /* one element of `rules` */
    int      detector;                  /* enum rd_detector */
    char    *regex;
    char    *name;
    int      action;                    /* enum rd_action */
    char    *mask;
    char    *key;
    int64_t  prefix;                    /* bits; -1: 24 (IPv4), 48 (IPv6) */
};

struct redact_conf {                    /* the core fills this in */
    struct vg_list  rules;
    struct vg_strv  fields;
    char           *mask;
    char           *key;
    char           *hash_prefix;
    int64_t         hash_length;        /* hex digits */
};

typedef int (*scan_fn)(const char *s, size_t n, uint32_t rule,
                       struct rd_matches *out);

struct rule {
    scan_fn            scan;            /* built-in detector, or NULL */
    pcre2_code        *re;
    pcre2_match_data  *md;
    int                action;
    const char        *mask;
    size_t             mask_len;
    EVP_MAC_CTX       *mac;             /* keyed once at init */
    int                prefix4, prefix6;
    char              *counter;         /* "redacted.<name>" */
    int64_t            hits;            /* this batch */
};

/* One string of the current event that was rewritten. */
struct fix {
    int32_t  kv;                        /* index into kvs; -1: the body */
    uint32_t off, len;                  /* into the arena */
};

struct redact_state {
    const struct redact_conf *conf;
    struct rule        *rules;
    uint32_t            nrules;
    unsigned            fields;         /* FIELD_* */
    size_t              hash_prefix_len;
    EVP_MAC            *mac_alg;
    struct rd_matches   m;
    char               *arena;
    size_t              alen, acap;
    struct vg_kv       *kvs;            /* labels, then attributes */
    uint8_t            *gone;           /* kvs dropped by a rule */
    uint32_t            kv_cap;
    struct fix         *fixes;
    uint32_t            nfixes, fix_cap;
};

static const struct vg_option rule_options[] = {
    { .name = "detector", .type = VG_OPT_ENUM, .def = "none",
      .choices = "none|email|ipv4|ipv6|credit_card|token",
      .offset = offsetof(struct rule_conf, detector),
      .help = "built-in detector (or give regex)" },
    { .name = "regex", .type = VG_OPT_STR,
      .offset = offsetof(struct rule_conf, regex),
      .help = "PCRE2 pattern; with a group, only group 1 is redacted" },
    { .name = "name", .type = VG_OPT_STR,
      .offset = offsetof(struct rule_conf, name),
      .help = "rule name for the redacted.<name> counter" },
    { .name = "action", .type = VG_OPT_ENUM, .def = "mask",
      .choices = "mask|hash|drop|truncate",
      .offset = offsetof(struct rule_conf, action),
      .help = "what replaces a match" },
    { .name = "mask", .type = VG_OPT_STR,
      .offset = offsetof(struct rule_conf, mask),
      .help = "replacement text (default: the filter's mask)" },
    { .name = "key", .type = VG_OPT_STR, .flags = VG_OPT_SECRET,
      .offset = offsetof(struct rule_conf, key),
      .help = "HMAC key for action hash (default: the filter's key)" },
    { .name = "prefix", .type = VG_OPT_INT, .def = "-1",
      .offset = offsetof(struct rule_conf, prefix),
      .help = "bits kept by truncate (default 24 IPv4, 48 IPv6)" },
    { 0 }
};

static const struct vg_option redact_options[] = {
    { .name = "rules", .type = VG_OPT_LIST, .flags = VG_OPT_REQUIRED,
      .sub = rule_options, .elem_size = sizeof(struct rule_conf),
      .offset = offsetof(struct redact_conf, rules),
      .help = "what to find and what to do with it, in order" },
    { .name = "fields", .type = VG_OPT_STRLIST,
      .def = "body, attributes, labels",
      .offset = offsetof(struct redact_conf, fields),
      .help = "where to look: body, attributes, labels" },
    { .name = "mask", .type = VG_OPT_STR, .def = "***",
      .offset = offsetof(struct redact_conf, mask),
      .help = "replacement text of action mask" },
    { .name = "key", .type = VG_OPT_STR, .flags = VG_OPT_SECRET,
      .offset = offsetof(struct redact_conf, key),
      .help = "HMAC-SHA-256 key of action hash" },
    { .name = "hash_prefix", .type = VG_OPT_STR, .def = "h:",
      .offset = offsetof(struct redact_conf, hash_prefix),
      .help = "written before a pseudonym" },
    { .name = "hash_length", .type = VG_OPT_INT, .def = "16",
      .offset = offsetof(struct redact_conf, hash_length),
      .help = "hex digits of the HMAC kept in a pseudonym (4..64)" },
    { 0 }
};

static const scan_fn det_scans[] = {
    NULL, rd_scan_email, rd_scan_ipv4, rd_scan_ipv6, rd_scan_card,
    rd_scan_token,
};

/* ------------------------------------------------------------------ */
/* Matching and rewriting one string                                   */
/* ------------------------------------------------------------------ */

static int
regex_scan(struct rule *r, const char *s, size_t n, uint32_t idx,
           struct rd_matches *out)
{
    size_t off = 0;

    while (off <= n) {
        PCRE2_SIZE *ov;
        size_t a, b;
        int rc = pcre2_match(r->re, (PCRE2_SPTR)s, n, off, 0, r->md, NULL);

        if (rc < 0)
            break;                      /* no match, or a limit: keep text */
        ov = pcre2_get_ovector_pointer(r->md);
        a = ov[0];
        b = ov[1];
        if (rc > 1 && ov[2] != PCRE2_UNSET) {
            a = ov[2];
            b = ov[3];
        }
        if (b > a && rd_matches_add(out, a, b - a, idx) < 0)
            return -ENOMEM;
        off = ov[1] > ov[0] ? ov[1] : ov[0] + 1;
    }
    return 0;
}

static int
arena_reserve(struct redact_state *st, size_t more)
{
    if (st->alen + more > st->acap) {
        size_t cap = st->acap ? st->acap : 256;
        char *p;

        while (cap < st->alen + more)
            cap *= 2;
        if (!(p = realloc(st->arena, cap)))
            return -ENOMEM;
        st->arena = p;
        st->acap = cap;
    }
    return 0;
}

static int
arena_put(struct redact_state *st, const char *s, size_t n)
{
    int rc = n ? arena_reserve(st, n) : 0;

    if (rc == 0 && n) {
        memcpy(st->arena + st->alen, s, n);
        st->alen += n;
    }
    return rc;
}

static int
put_hash(struct redact_state *st, struct rule *r, const char *s, size_t n)
{
    static const char hexd[] = "0123456789abcdef";
    unsigned char mac[HMAC_LEN];
    char hex[2 * HMAC_LEN];
    size_t maclen = 0, i;
    int rc;

    if (EVP_MAC_init(r->mac, NULL, 0, NULL) != 1 ||
        EVP_MAC_update(r->mac, (const unsigned char *)s, n) != 1 ||
        EVP_MAC_final(r->mac, mac, &maclen, sizeof(mac)) != 1 ||
        maclen != HMAC_LEN)
        return -EIO;
    for (i = 0; i < HMAC_LEN; i++) {
        hex[2 * i] = hexd[mac[i] >> 4];
        hex[2 * i + 1] = hexd[mac[i] & 15];
    }
    if ((rc = arena_put(st, st->conf->hash_prefix, st->hash_prefix_len)) < 0)
        return rc;
    return arena_put(st, hex, (size_t)st->conf->hash_length);
}

static int
put_replacement(struct redact_state *st, struct rule *r, const char *s,
                size_t n)
{
    char ip[64];
    int len;

    switch (r->action) {
    case ACT_HASH:
        return put_hash(st, r, s, n);
    case ACT_TRUNCATE:
        len = rd_ip_truncate(s, n, memchr(s, ':', n) ? r->prefix6
                                                     : r->prefix4, ip);
        if (len >= 0)
            return arena_put(st, ip, (size_t)len);
        break;
    default:
        break;
    }
    return arena_put(st, r->mask, r->mask_len);
}

enum { TEXT_SAME, TEXT_NEW, TEXT_DROP };

/*
 * Runs every rule over s[0..n).  TEXT_NEW: the rewritten text is in the
 * arena at *off, *len.  TEXT_DROP: a drop rule matched (only when
 * may_drop; in a body a drop rule masks).  Negative errno on failure.
 */
static int
redact_text(struct redact_state *st, const char *s, size_t n, int may_drop,
            uint32_t *off, uint32_t *len)
{
    struct rd_matches *m = &st->m;
    size_t pos = 0, i, start;
    uint32_t k;
    int rc = 0;

    m->n = 0;
    for (k = 0; k < st->nrules && rc == 0; k++) {
        struct rule *r = &st->rules[k];

        rc = r->scan ? r->scan(s, n, k, m) : regex_scan(r, s, n, k, m);
    }
    if (rc < 0)
        return rc;
    if (m->n == 0)
        return TEXT_SAME;
    rd_matches_resolve(m);
    for (i = 0; i < m->n; i++)
        st->rules[m->v[i].rule].hits++;
    if (may_drop)
        for (i = 0; i < m->n; i++)
            if (st->rules[m->v[i].rule].action == ACT_DROP)
                return TEXT_DROP;
    start = st->alen;
    for (i = 0; i < m->n && rc == 0; i++) {
        const struct rd_match *x = &m->v[i];

        if ((rc = arena_put(st, s + pos, x->start - pos)) == 0)
            rc = put_replacement(st, &st->rules[x->rule], s + x->start,
                                 x->len);
        pos = (size_t)x->start + x->len;
    }
    if (rc == 0)
        rc = arena_put(st, s + pos, n - pos);
    if (rc == 0 && st->alen - start > UINT32_MAX)
        rc = -E2BIG;
    if (rc < 0)
        return rc;
    *off = (uint32_t)start;
    *len = (uint32_t)(st->alen - start);
    return TEXT_NEW;
}

static int
add_fix(struct redact_state *st, int32_t kv, uint32_t off, uint32_t len)
{
    if (st->nfixes == st->fix_cap) {
        uint32_t cap = st->fix_cap ? st->fix_cap * 2 : 16;
        struct fix *p = realloc(st->fixes, cap * sizeof(*p));

        if (!p)
            return -ENOMEM;
        st->fixes = p;
        st->fix_cap = cap;
    }
    st->fixes[st->nfixes].kv = kv;
    st->fixes[st->nfixes].off = off;
    st->fixes[st->nfixes++].len = len;
    return 0;
}

static int
kvs_reserve(struct redact_state *st, uint32_t n)
{
    if (n > st->kv_cap) {
        uint32_t cap = st->kv_cap ? st->kv_cap : 16;
        struct vg_kv *p;
        uint8_t *g;

        while (cap < n)
            cap *= 2;
        if (!(p = realloc(st->kvs, cap * sizeof(*p))))
            return -ENOMEM;
        st->kvs = p;
        if (!(g = realloc(st->gone, cap)))
            return -ENOMEM;
        st->gone = g;
        st->kv_cap = cap;
    }
    return 0;
}

/*
 * Redacts one event into ev (pointing at state scratch).  1 when it
 * changed, 0 when not, negative errno on failure.
 */
static int
redact_event(struct redact_state *st, struct vg_event *ev)
{
    uint32_t nl = ev->nlabels, na = ev->kind == VG_EV_LOG ? ev->nattrs : 0;
    uint32_t i, j, off, len, ndrop = 0, keptl = 0;
    int rc, labels_changed = 0;

    st->alen = 0;
    st->nfixes = 0;
    if ((rc = kvs_reserve(st, nl + na)) < 0)
        return rc;
    if (ev->kind == VG_EV_LOG && (st->fields & FIELD_BODY)) {
        rc = redact_text(st, ev->body, ev->body_len, 0, &off, &len);
        if (rc == TEXT_NEW)
            rc = add_fix(st, -1, off, len);
        if (rc < 0)
            return rc;
    }
    for (i = 0; i < nl + na; i++) {
        const struct vg_kv *kv = i < nl ? &ev->labels[i]
                                        : &ev->attrs[i - nl];

        st->kvs[i] = *kv;
        st->gone[i] = 0;
        if (kv->type != VG_VAL_STR ||
            !(st->fields & (i < nl ? FIELD_LABELS : FIELD_ATTRS)))
            continue;
        rc = redact_text(st, kv->v.s, kv->len, 1, &off, &len);
        if (rc > TEXT_SAME && i < nl)
            labels_changed = 1;
        if (rc == TEXT_NEW) {
            rc = add_fix(st, (int32_t)i, off, len);
        } else if (rc == TEXT_DROP) {
            st->gone[i] = 1;
            ndrop++;
        }
        if (rc < 0)
            return rc;
    }
    if (st->nfixes == 0 && ndrop == 0)
        return 0;
    /* the arena is final now: offsets become pointers */
    for (i = 0; i < st->nfixes; i++) {
        const struct fix *f = &st->fixes[i];

        if (f->kv < 0) {
            ev->body = st->arena + f->off;
            ev->body_len = f->len;
        } else {
            st->kvs[f->kv].v.s = st->arena + f->off;
            st->kvs[f->kv].len = f->len;
        }
    }
    /* labels come first in kvs, so the survivors keep that order */
    for (i = j = 0; i < nl + na; i++) {
        if (st->gone[i])
            continue;
        if (i < nl)
            keptl++;
        st->kvs[j++] = st->kvs[i];
    }
    ev->labels = st->kvs;
    ev->nlabels = keptl;
    if (ev->kind == VG_EV_LOG) {
        ev->attrs = st->kvs + keptl;
        ev->nattrs = j - keptl;
    }
    if (labels_changed && ev->kind != VG_EV_LOG)
        ev->hash = 0;
    return 1;
}

/* ------------------------------------------------------------------ */
/* Batches                                                             */
/* ------------------------------------------------------------------ */

/* Copies the first n events of b into nb unchanged. */
static int
copy_head(struct vg_instance *in, struct vg_batch *b, struct vg_batch *nb,
          uint32_t n)
{
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    uint32_t i;
    int rc = 0;

    for (i = 0; i < n && rc == 0 && vg_batch_next(in, b, &it, &ev) > 0; i++)
        rc = vg_batch_add(in, nb, &ev);
    vg_iter_release(in, &it);
    return rc;
}

static void
redact_process(struct vg_instance *in, struct vg_batch *b)
{
    struct redact_state *st = vg_instance_data(in);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_batch *nb = NULL;
    struct vg_event ev;
    uint32_t idx = 0, k;
    size_t failed = 0;
    int err = 0;

    while (vg_batch_next(in, b, &it, &ev) > 0) {
        int rc = redact_event(st, &ev);

        if (rc > 0 && !nb) {
            nb = vg_batch_derive(in, b, vg_batch_bytes(in, b) + 256);
            if (!nb || copy_head(in, b, nb, idx) < 0)
                rc = -ENOMEM;
        }
        if (rc >= 0 && nb)
            rc = vg_batch_add(in, nb, &ev);
        if (rc < 0) {
            /* an event that may hold what should be hidden never passes */
            failed++;
            err = rc;
            if (!nb)
                vg_batch_drop(in, b, &it);
        }
        /* copy_head counts live events: one dropped in place is skipped */
        if (rc >= 0 || nb)
            idx++;
    }
    vg_iter_release(in, &it);
    for (k = 0; k < st->nrules; k++) {
        if (st->rules[k].hits) {
            vg_count(in, st->rules[k].counter, st->rules[k].hits);
            st->rules[k].hits = 0;
        }
    }
    if (failed) {
        vg_log(in, VG_LOG_WARN, "dropped %zu events that could not be "
               "redacted: %s", failed, strerror(-err));
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
redact_state_free(struct redact_state *st)
{
    uint32_t i;

    if (!st)
        return;
    for (i = 0; st->rules && i < st->nrules; i++) {
        pcre2_match_data_free(st->rules[i].md);
        pcre2_code_free(st->rules[i].re);
        EVP_MAC_CTX_free(st->rules[i].mac);
        free(st->rules[i].counter);
    }
    free(st->rules);
    EVP_MAC_free(st->mac_alg);
    rd_matches_release(&st->m);
    free(st->arena);
    free(st->kvs);
    free(st->gone);
    free(st->fixes);
    free(st);
}

static int
rule_regex(struct vg_instance *in, struct rule *r, const char *pattern,
           size_t idx)
{
    PCRE2_UCHAR msg[160];
    PCRE2_SIZE eoff;
    int code;

    r->re = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
                          &code, &eoff, NULL);
    if (!r->re) {
        pcre2_get_error_message(code, msg, sizeof(msg));
        vg_log(in, VG_LOG_ERROR, "rules[%zu]: bad regex at offset %zu: %s",
               idx, (size_t)eoff, (const char *)msg);
        return -EINVAL;
    }
    /* without JIT (no support on this CPU) the interpreter still works */
    (void)pcre2_jit_compile(r->re, PCRE2_JIT_COMPLETE);
    if (!(r->md = pcre2_match_data_create_from_pattern(r->re, NULL)))
        return -ENOMEM;
    return 0;
}

static int
rule_key(struct vg_instance *in, struct redact_state *st, struct rule *r,
         const char *key, size_t idx)
{
    OSSL_PARAM params[2];

    if (!key || !key[0]) {
        vg_log(in, VG_LOG_ERROR, "rules[%zu]: action hash needs a key "
               "(option 'key' of the rule or of the filter)", idx);
        return -EINVAL;
    }
    if (!st->mac_alg && !(st->mac_alg = EVP_MAC_fetch(NULL, "HMAC", NULL)))
        goto crypto;
    params[0] = OSSL_PARAM_construct_utf8_string(OSSL_MAC_PARAM_DIGEST,
                                                 (char *)"SHA256", 0);
    params[1] = OSSL_PARAM_construct_end();
    if (!(r->mac = EVP_MAC_CTX_new(st->mac_alg)) ||
        EVP_MAC_init(r->mac, (const unsigned char *)key, strlen(key),
                     params) != 1)
        goto crypto;
    return 0;
crypto:
    vg_log(in, VG_LOG_ERROR, "rules[%zu]: cannot set up HMAC-SHA-256", idx);
    return -EIO;
}

static int
rule_init(struct vg_instance *in, struct redact_state *st, size_t idx)
{
    const struct redact_conf *c = st->conf;
    const struct rule_conf *rc = (const struct rule_conf *)c->rules.items +
                                 idx;
    struct rule *r = &st->rules[idx];
    const char *name;
    size_t len;
    int err;

    if ((rc->detector == DET_NONE) == (rc->regex == NULL)) {
        vg_log(in, VG_LOG_ERROR, "rules[%zu]: give either 'detector' or "
               "'regex'", idx);
        return -EINVAL;
    }
    if (rc->action == ACT_TRUNCATE && rc->detector != DET_IPV4 &&
        rc->detector != DET_IPV6) {
        vg_log(in, VG_LOG_ERROR, "rules[%zu]: action truncate needs "
               "detector ipv4 or ipv6", idx);
        return -EINVAL;
    }
    if (rc->prefix != -1 &&
        (rc->prefix < 0 || rc->prefix > (rc->detector == DET_IPV4 ? 32
                                                                  : 128))) {
        vg_log(in, VG_LOG_ERROR, "rules[%zu]: prefix %" PRId64 " out of "
               "range", idx, rc->prefix);
        return -EINVAL;
    }
    r->scan = det_scans[rc->detector];
    if (rc->regex && (err = rule_regex(in, r, rc->regex, idx)) < 0)
        return err;
    r->action = rc->action;
    r->mask = rc->mask ? rc->mask : c->mask;
    r->mask_len = strlen(r->mask);
    r->prefix4 = rc->prefix >= 0 ? (int)rc->prefix : 24;
    r->prefix6 = rc->prefix >= 0 ? (int)rc->prefix : 48;
    if (r->action == ACT_HASH &&
        (err = rule_key(in, st, r, rc->key ? rc->key : c->key, idx)) < 0)
        return err;
    name = rc->name && rc->name[0] ? rc->name : det_names[rc->detector];
    len = strlen("redacted.") + strlen(name) + 1;
    if (!(r->counter = malloc(len)))
        return -ENOMEM;
    snprintf(r->counter, len, "redacted.%s", name);
    return 0;
}

static int
parse_fields(struct vg_instance *in, const struct vg_strv *f, unsigned *out)
{
    size_t i;

    *out = 0;
    for (i = 0; i < f->n; i++) {
        if (strcmp(f->v[i], "body") == 0)
            *out |= FIELD_BODY;
        else if (strcmp(f->v[i], "attributes") == 0)
            *out |= FIELD_ATTRS;
        else if (strcmp(f->v[i], "labels") == 0)
            *out |= FIELD_LABELS;
        else {
            vg_log(in, VG_LOG_ERROR, "option 'fields': unknown field '%s' "
                   "(body, attributes or labels)", f->v[i]);
            return -EINVAL;
        }
    }
    return 0;
}

static int
redact_init(struct vg_instance *in, void *conf)
{
    const struct redact_conf *c = conf;
    struct redact_state *st = NULL;
    size_t i;
    int rc = -EINVAL;

    if (c->hash_length < 4 || c->hash_length > 2 * HMAC_LEN) {
        vg_log(in, VG_LOG_ERROR, "option 'hash_length' must be within "
               "4..64, not %" PRId64, c->hash_length);
        goto fail;
    }
    if (c->rules.n == 0 || c->rules.n > UINT32_MAX) {
        vg_log(in, VG_LOG_ERROR, "option 'rules' is empty");
        goto fail;
    }
    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->rules = calloc(c->rules.n, sizeof(*st->rules))))
        goto fail;
    st->conf = c;
    st->nrules = (uint32_t)c->rules.n;
    st->hash_prefix_len = strlen(c->hash_prefix);
    if ((rc = parse_fields(in, &c->fields, &st->fields)) < 0)
        goto fail;
    for (i = 0; i < c->rules.n; i++)
        if ((rc = rule_init(in, st, i)) < 0)
            goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    redact_state_free(st);
    return rc;
}

static void
redact_destroy(struct vg_instance *in)
{
    redact_state_free(vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "redact",
    .summary = "mask or pseudonymise personal data in logs and labels",
    .options = redact_options,
    .conf_size = sizeof(struct redact_conf),
    .init = redact_init,
    .process = redact_process,
    .destroy = redact_destroy,
};
