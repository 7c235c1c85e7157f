/*
 * filter modify: a list of operations applied in order to every event:
 * rename, copy, drop and set labels and attributes, keep or drop events by
 * name, body or a label/attribute value (glob or PCRE2 regex), cast
 * attribute types, and scale or convert the units of a value.
 *
 * Everything is compiled at init (globs to their cheapest test, regexes
 * with JIT, unit names to a factor); per event the filter only edits its
 * own scratch arrays, which grow to the largest event seen and are then
 * reused.  When every operation is keep/drop, events are dropped in place
 * and the batch goes on as it is; otherwise a derived batch is built.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

#include <vigil/plugin.h>

#include "match.h"

#define CAST_BUF 40                     /* a number or bool as text */

enum op_kind {
    OP_RENAME,
    OP_COPY,
    OP_DROP_LABELS,
    OP_DROP_ATTRS,
    OP_SET,
    OP_KEEP,
    OP_DROP,
    OP_CAST,
    OP_SCALE,
};

enum where { IN_AUTO, IN_LABELS, IN_ATTRS };

enum cast_type { CAST_STRING, CAST_INT, CAST_DOUBLE, CAST_BOOL };

struct match_conf {
    char *name;
    char *name_regex;
    char *body;
    char *body_regex;
    char *label;
    char *attribute;
    char *key;
    char *value;
    char *regex;
};

struct op_conf {                        /* one element of `operations` */
    char             *rename_from, *rename_to;
    int               rename_in;
    char             *copy_from, *copy_to;
    int               copy_in;
    struct vg_strv    drop_labels;
    struct vg_strv    drop_attributes;
    char             *set_key, *set_value;
    int               set_in;
    struct match_conf keep, drop;
    char             *cast_key;
    int               cast_type;
    char             *scale_name, *scale_field;
    double            scale_factor;
    char             *conv_name, *conv_field, *conv_from, *conv_to;
};

struct modify_conf {                    /* the core fills this in */
    struct vg_list operations;
};

/* A compiled keep/drop condition: every part given must hold. */
struct matcher {
    int            has_name, has_body, has_value;
    struct mt_glob name, body, value;
    pcre2_code    *name_re, *body_re, *value_re;
    const char    *key;                 /* label/attribute; NULL: none */
    uint32_t       key_len;
    int            where;               /* enum where */
};

struct op {
    int             kind;               /* enum op_kind */
    int             where;              /* enum where */
    struct vg_kv    kv;                 /* from/key and to/value */
    const char     *from;
    uint32_t        from_len;
    struct mt_glob *globs;              /* drop_labels, drop_attributes */
    size_t          nglobs;
    struct matcher  m;
    int             cast_type;
    int             has_name;
    struct mt_glob  name;               /* scale: which metrics */
    const char     *field;              /* scale: NULL = the value */
    uint32_t        field_len;
    double          factor;
    char           *buf;                /* cast: text of a converted value */
};

struct modify_state {
    struct op          *ops;
    size_t              nops;
    int                 rewrites;       /* an op other than keep/drop */
    pcre2_match_data   *md;
    struct vg_kv       *labels, *attrs;
    uint32_t            lcap, acap;
    double             *bounds;         /* scaled histogram bounds */
    uint32_t            bcap;
    char               *cast_bufs;
};

/* 'field' names a member in offsetof(), where parentheses cannot go.
 * NOLINTBEGIN(bugprone-macro-parentheses) */
#define MATCH_OPTIONS(field) {                                              \
    { .name = "name", .type = VG_OPT_STR,                                   \
      .offset = offsetof(struct op_conf, field.name),                       \
      .help = "glob on the metric name or alert rule" },                    \
    { .name = "name_regex", .type = VG_OPT_STR,                             \
      .offset = offsetof(struct op_conf, field.name_regex),                 \
      .help = "regex on the metric name or alert rule" },                   \
    { .name = "body", .type = VG_OPT_STR,                                   \
      .offset = offsetof(struct op_conf, field.body),                       \
      .help = "glob on the log body" },                                     \
    { .name = "body_regex", .type = VG_OPT_STR,                             \
      .offset = offsetof(struct op_conf, field.body_regex),                 \
      .help = "regex on the log body" },                                    \
    { .name = "label", .type = VG_OPT_STR,                                  \
      .offset = offsetof(struct op_conf, field.label),                      \
      .help = "label whose value is tested" },                              \
    { .name = "attribute", .type = VG_OPT_STR,                              \
      .offset = offsetof(struct op_conf, field.attribute),                  \
      .help = "attribute whose value is tested" },                          \
    { .name = "key", .type = VG_OPT_STR,                                    \
      .offset = offsetof(struct op_conf, field.key),                        \
      .help = "label or attribute whose value is tested" },                 \
    { .name = "value", .type = VG_OPT_STR,                                  \
      .offset = offsetof(struct op_conf, field.value),                      \
      .help = "glob on that value (none: the key is present)" },            \
    { .name = "regex", .type = VG_OPT_STR,                                  \
      .offset = offsetof(struct op_conf, field.regex),                      \
      .help = "regex on that value" },                                      \
    { 0 }                                                                   \
}
/* NOLINTEND(bugprone-macro-parentheses) */

static const struct vg_option keep_options[] = MATCH_OPTIONS(keep);
static const struct vg_option drop_options[] = MATCH_OPTIONS(drop);

#define WHERE_CHOICES "auto|labels|attributes"

static const struct vg_option rename_options[] = {
    { .name = "from", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, rename_from), .help = "old key" },
    { .name = "to", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, rename_to), .help = "new key" },
    { .name = "in", .type = VG_OPT_ENUM, .def = "auto",
      .choices = WHERE_CHOICES, .offset = offsetof(struct op_conf, rename_in),
      .help = "labels, attributes, or both (auto)" },
    { 0 }
};

static const struct vg_option copy_options[] = {
    { .name = "from", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, copy_from), .help = "source key" },
    { .name = "to", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, copy_to), .help = "new key" },
    { .name = "in", .type = VG_OPT_ENUM, .def = "auto",
      .choices = WHERE_CHOICES, .offset = offsetof(struct op_conf, copy_in),
      .help = "labels, attributes, or both (auto)" },
    { 0 }
};

static const struct vg_option set_options[] = {
    { .name = "key", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, set_key), .help = "key to set" },
    { .name = "value", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, set_value), .help = "its value" },
    { .name = "in", .type = VG_OPT_ENUM, .def = "auto",
      .choices = WHERE_CHOICES, .offset = offsetof(struct op_conf, set_in),
      .help = "auto: labels of metrics and alerts, attributes of logs" },
    { 0 }
};

static const struct vg_option cast_options[] = {
    { .name = "key", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, cast_key),
      .help = "attribute to convert" },
    { .name = "type", .type = VG_OPT_ENUM, .flags = VG_OPT_REQUIRED,
      .choices = "string|int|double|bool",
      .offset = offsetof(struct op_conf, cast_type), .help = "new type" },
    { 0 }
};

static const struct vg_option scale_options[] = {
    { .name = "name", .type = VG_OPT_STR,
      .offset = offsetof(struct op_conf, scale_name),
      .help = "glob: only metrics (alerts) of this name" },
    { .name = "field", .type = VG_OPT_STR,
      .offset = offsetof(struct op_conf, scale_field),
      .help = "numeric attribute; none: the metric or alert value" },
    { .name = "factor", .type = VG_OPT_DOUBLE, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, scale_factor),
      .help = "multiply by this" },
    { 0 }
};

static const struct vg_option convert_options[] = {
    { .name = "name", .type = VG_OPT_STR,
      .offset = offsetof(struct op_conf, conv_name),
      .help = "glob: only metrics (alerts) of this name" },
    { .name = "field", .type = VG_OPT_STR,
      .offset = offsetof(struct op_conf, conv_field),
      .help = "numeric attribute; none or 'value': the value" },
    { .name = "from", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, conv_from),
      .help = "unit of the value now (bytes, MiB, s, ms, ...)" },
    { .name = "to", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct op_conf, conv_to), .help = "unit wanted" },
    { 0 }
};

static const struct vg_option op_options[] = {
    { .name = "rename", .type = VG_OPT_OBJECT, .sub = rename_options,
      .help = "rename a label/attribute" },
    { .name = "copy", .type = VG_OPT_OBJECT, .sub = copy_options,
      .help = "copy a label/attribute to a new key" },
    { .name = "drop_labels", .type = VG_OPT_STRLIST,
      .offset = offsetof(struct op_conf, drop_labels),
      .help = "drop labels whose key matches a glob" },
    { .name = "drop_attributes", .type = VG_OPT_STRLIST,
      .offset = offsetof(struct op_conf, drop_attributes),
      .help = "drop log attributes whose key matches a glob" },
    { .name = "set", .type = VG_OPT_OBJECT, .sub = set_options,
      .help = "set a constant label/attribute" },
    { .name = "keep", .type = VG_OPT_OBJECT, .sub = keep_options,
      .help = "drop every event that does not match" },
    { .name = "drop", .type = VG_OPT_OBJECT, .sub = drop_options,
      .help = "drop every event that matches" },
    { .name = "cast", .type = VG_OPT_OBJECT, .sub = cast_options,
      .help = "convert an attribute's type" },
    { .name = "scale", .type = VG_OPT_OBJECT, .sub = scale_options,
      .help = "multiply a value by a factor" },
    { .name = "convert", .type = VG_OPT_OBJECT, .sub = convert_options,
      .help = "convert a value between units" },
    { 0 }
};

static const struct vg_option modify_options[] = {
    { .name = "operations", .type = VG_OPT_LIST, .flags = VG_OPT_REQUIRED,
      .sub = op_options, .elem_size = sizeof(struct op_conf),
      .offset = offsetof(struct modify_conf, operations),
      .help = "operations, each with one action key, applied in order" },
    { 0 }
};

/* ------------------------------------------------------------------ */
/* Matching                                                            */
/* ------------------------------------------------------------------ */

static int
re_match(struct modify_state *st, const pcre2_code *re, const char *s,
         size_t n)
{
    /* >= 0: a match (0 only says the one-pair ovector was too small) */
    return pcre2_match(re, (PCRE2_SPTR)s, n, 0, 0, st->md, NULL) >= 0;
}

static const struct vg_kv *
kv_find(const struct vg_kv *v, uint32_t n, const char *key, uint32_t len)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        if (v[i].key_len == len && memcmp(v[i].key, key, len) == 0)
            return &v[i];
    return NULL;
}

static int
matcher_test(struct modify_state *st, const struct matcher *m,
             const struct vg_event *ev, uint32_t nl, uint32_t na)
{
    const char *name = ev->kind == VG_EV_METRIC ? ev->name
                     : ev->kind == VG_EV_ALERT ? ev->rule : NULL;

    if (m->has_name || m->name_re) {
        size_t n = name ? strlen(name) : 0;

        if (!name || (m->has_name && !mt_glob_match(&m->name, name, n)) ||
            (m->name_re && !re_match(st, m->name_re, name, n)))
            return 0;
    }
    if (m->has_body || m->body_re) {
        if (ev->kind != VG_EV_LOG ||
            (m->has_body && !mt_glob_match(&m->body, ev->body,
                                           ev->body_len)) ||
            (m->body_re && !re_match(st, m->body_re, ev->body,
                                     ev->body_len)))
            return 0;
    }
    if (m->key) {
        const struct vg_kv *kv = NULL;

        if (m->where != IN_ATTRS)
            kv = kv_find(st->labels, nl, m->key, m->key_len);
        if (!kv && m->where != IN_LABELS)
            kv = kv_find(st->attrs, na, m->key, m->key_len);
        if (!kv)
            return 0;
        if (m->has_value || m->value_re) {
            char buf[CAST_BUF];
            const char *s = kv->v.s;
            size_t n = kv->len;

            /* a number is tested as the text it would be written as */
            if (kv->type == VG_VAL_INT)
                n = (size_t)snprintf(buf, sizeof(buf), "%" PRId64, kv->v.i);
            else if (kv->type == VG_VAL_DOUBLE)
                n = (size_t)snprintf(buf, sizeof(buf), "%.17g", kv->v.d);
            else if (kv->type == VG_VAL_BOOL)
                n = (size_t)snprintf(buf, sizeof(buf), "%s",
                                     kv->v.b ? "true" : "false");
            if (kv->type != VG_VAL_STR)
                s = buf;
            if ((m->has_value && !mt_glob_match(&m->value, s, n)) ||
                (m->value_re && !re_match(st, m->value_re, s, n)))
                return 0;
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Editing                                                             */
/* ------------------------------------------------------------------ */

static void
kv_remove(struct vg_kv *v, uint32_t *n, const char *key, uint32_t len)
{
    uint32_t i, j;

    for (i = j = 0; i < *n; i++)
        if (v[i].key_len != len || memcmp(v[i].key, key, len) != 0)
            v[j++] = v[i];
    *n = j;
}

/* Sets key to kv's value: replaces the existing entries or appends. */
static void
kv_put(struct vg_kv *v, uint32_t *n, const struct vg_kv *kv)
{
    kv_remove(v, n, kv->key, kv->key_len);
    v[(*n)++] = *kv;
}

/* rename (copy = 0) or copy: 1 when something changed. */
static int
kv_move(struct vg_kv *v, uint32_t *n, const struct op *o, int copy)
{
    const struct vg_kv *src = kv_find(v, *n, o->from, o->from_len);
    struct vg_kv kv;

    if (!src)
        return 0;
    kv = *src;
    kv.key = o->kv.key;
    kv.key_len = o->kv.key_len;
    if (!copy)
        kv_remove(v, n, o->from, o->from_len);
    kv_put(v, n, &kv);
    return 1;
}

static int
kv_drop_globs(struct vg_kv *v, uint32_t *n, const struct op *o)
{
    uint32_t i, j, before = *n;
    size_t g;

    for (i = j = 0; i < *n; i++) {
        for (g = 0; g < o->nglobs; g++)
            if (mt_glob_match(&o->globs[g], v[i].key, v[i].key_len))
                break;
        if (g == o->nglobs)
            v[j++] = v[i];
    }
    *n = j;
    return j != before;
}

static int
parse_bool(const char *s, size_t n, int *b)
{
    if ((n == 4 && memcmp(s, "true", 4) == 0) || (n == 1 && s[0] == '1') ||
        (n == 3 && memcmp(s, "yes", 3) == 0))
        *b = 1;
    else if ((n == 5 && memcmp(s, "false", 5) == 0) ||
             (n == 1 && s[0] == '0') || (n == 2 && memcmp(s, "no", 2) == 0))
        *b = 0;
    else
        return -EINVAL;
    return 0;
}

/*
 * Converts kv to type t in place (strings written to buf).  0, or -EINVAL
 * when the value does not convert (left as it was).
 */
static int
cast_kv(struct vg_kv *kv, int t, char *buf)
{
    struct vg_kv out = *kv;
    char *end;
    int n = 0;

    if (t == CAST_STRING) {
        if (kv->type == VG_VAL_STR)
            return 0;
        if (kv->type == VG_VAL_INT)
            n = snprintf(buf, CAST_BUF, "%" PRId64, kv->v.i);
        else if (kv->type == VG_VAL_DOUBLE)
            n = snprintf(buf, CAST_BUF, "%.17g", kv->v.d);
        else
            n = snprintf(buf, CAST_BUF, "%s", kv->v.b ? "true" : "false");
        out.type = VG_VAL_STR;
        out.v.s = buf;
        out.len = (uint32_t)n;
        *kv = out;
        return 0;
    }
    out.len = 0;
    if (kv->type == VG_VAL_STR) {
        /* iterator and config strings are NUL-terminated */
        if (kv->len == 0)
            return -EINVAL;
        errno = 0;
        if (t == CAST_INT) {
            out.v.i = strtoll(kv->v.s, &end, 10);
            out.type = VG_VAL_INT;
        } else if (t == CAST_DOUBLE) {
            out.v.d = strtod(kv->v.s, &end);
            out.type = VG_VAL_DOUBLE;
        } else {
            out.type = VG_VAL_BOOL;
            if (parse_bool(kv->v.s, kv->len, &out.v.b) < 0)
                return -EINVAL;
            end = (char *)kv->v.s + kv->len;
        }
        if (errno || end != kv->v.s + kv->len)
            return -EINVAL;
    } else {
        double d = kv->type == VG_VAL_INT ? (double)kv->v.i
                 : kv->type == VG_VAL_DOUBLE ? kv->v.d : kv->v.b;

        if (t == CAST_INT) {
            if (!(d >= -9.2e18 && d <= 9.2e18))
                return -EINVAL;
            out.type = VG_VAL_INT;
            out.v.i = kv->type == VG_VAL_INT ? kv->v.i : (int64_t)d;
        } else if (t == CAST_DOUBLE) {
            out.type = VG_VAL_DOUBLE;
            out.v.d = d;
        } else {
            out.type = VG_VAL_BOOL;
            out.v.b = d != 0;
        }
    }
    *kv = out;
    return 0;
}

static int
reserve(void **p, uint32_t *cap, uint32_t n, size_t size)
{
    if (n > *cap) {
        uint32_t c = *cap ? *cap : 16;
        void *q;

        while (c < n)
            c *= 2;
        if (!(q = realloc(*p, (size_t)c * size)))
            return -ENOMEM;
        *p = q;
        *cap = c;
    }
    return 0;
}

/* Multiplies the value (or a histogram's bounds and sum) by f. */
static int
scale_value(struct modify_state *st, struct vg_event *ev, double f)
{
    uint32_t i;
    int rc;

    if (ev->kind == VG_EV_METRIC &&
        ev->metric_type == VG_METRIC_HISTOGRAM) {
        if ((rc = reserve((void **)&st->bounds, &st->bcap,
                          ev->hist.nbuckets, sizeof(double))) < 0)
            return rc;
        for (i = 0; i < ev->hist.nbuckets; i++)
            st->bounds[i] = ev->hist.bounds[i] * f;
        ev->hist.bounds = st->bounds;
        ev->hist.sum *= f;
    } else {
        ev->value *= f;
    }
    return 0;
}

enum { EV_KEEP, EV_DROP };

/*
 * Applies the operations to ev, whose labels and attributes were copied
 * into st->labels/attrs (nl, na).  EV_DROP, EV_KEEP, or negative errno.
 */
static int
apply_ops(struct modify_state *st, struct vg_event *ev, uint32_t *nl,
          uint32_t *na, int *labels_changed, int64_t *cast_failed)
{
    int log = ev->kind == VG_EV_LOG;
    size_t i;

    for (i = 0; i < st->nops; i++) {
        struct op *o = &st->ops[i];
        struct vg_kv *kv;
        int lab = o->where != IN_ATTRS, att = log && o->where != IN_LABELS;

        switch (o->kind) {
        case OP_KEEP:
        case OP_DROP:
            if (matcher_test(st, &o->m, ev, *nl, *na) != (o->kind == OP_KEEP))
                return EV_DROP;
            break;
        case OP_RENAME:
        case OP_COPY:
            if (lab)
                *labels_changed |= kv_move(st->labels, nl, o,
                                           o->kind == OP_COPY);
            if (att)
                kv_move(st->attrs, na, o, o->kind == OP_COPY);
            break;
        case OP_DROP_LABELS:
            *labels_changed |= kv_drop_globs(st->labels, nl, o);
            break;
        case OP_DROP_ATTRS:
            if (log)
                kv_drop_globs(st->attrs, na, o);
            break;
        case OP_SET:
            if (o->where == IN_LABELS || (o->where == IN_AUTO && !log)) {
                kv_put(st->labels, nl, &o->kv);
                *labels_changed = 1;
            } else if (log) {
                kv_put(st->attrs, na, &o->kv);
            }
            break;
        case OP_CAST:
            kv = log ? (struct vg_kv *)kv_find(st->attrs, *na, o->kv.key,
                                               o->kv.key_len)
                     : NULL;
            if (kv && cast_kv(kv, o->cast_type, o->buf) < 0)
                (*cast_failed)++;
            break;
        case OP_SCALE:
            if (!o->field) {
                const char *name = ev->kind == VG_EV_METRIC ? ev->name
                                 : ev->kind == VG_EV_ALERT ? ev->rule : NULL;

                if (name && (!o->has_name ||
                             mt_glob_match(&o->name, name, strlen(name)))) {
                    int rc = scale_value(st, ev, o->factor);

                    if (rc < 0)
                        return rc;
                }
            } else if (log && (kv = (struct vg_kv *)kv_find(
                                   st->attrs, *na, o->field,
                                   o->field_len))) {
                if (kv->type == VG_VAL_INT) {
                    kv->type = VG_VAL_DOUBLE;
                    kv->v.d = (double)kv->v.i * o->factor;
                } else if (kv->type == VG_VAL_DOUBLE) {
                    kv->v.d *= o->factor;
                }
            }
            break;
        default:
            break;
        }
    }
    return EV_KEEP;
}

/* Applies the operations to ev and adds it to nb (when given). */
static int
modify_event(struct vg_instance *in, struct modify_state *st,
             struct vg_batch *nb, struct vg_event *ev, int64_t *cast_failed)
{
    uint32_t nl = ev->nlabels, na = ev->kind == VG_EV_LOG ? ev->nattrs : 0;
    uint32_t more = (uint32_t)st->nops;
    int labels_changed = 0, rc;

    /* every op adds at most one key to each array */
    if ((rc = reserve((void **)&st->labels, &st->lcap, nl + more,
                      sizeof(struct vg_kv))) < 0 ||
        (rc = reserve((void **)&st->attrs, &st->acap, na + more,
                      sizeof(struct vg_kv))) < 0)
        return rc;
    if (nl)
        memcpy(st->labels, ev->labels, nl * sizeof(struct vg_kv));
    if (na)
        memcpy(st->attrs, ev->attrs, na * sizeof(struct vg_kv));
    rc = apply_ops(st, ev, &nl, &na, &labels_changed, cast_failed);
    if (rc != EV_KEEP || !nb)
        return rc;
    ev->labels = st->labels;
    ev->nlabels = nl;
    if (ev->kind == VG_EV_LOG) {
        ev->attrs = st->attrs;
        ev->nattrs = na;
    }
    /* the series hash / fingerprint covers the labels */
    if (labels_changed && ev->kind != VG_EV_LOG)
        ev->hash = 0;
    rc = vg_batch_add(in, nb, ev);
    return rc < 0 ? rc : EV_KEEP;
}

static void
modify_process(struct vg_instance *in, struct vg_batch *b)
{
    struct modify_state *st = vg_instance_data(in);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_batch *nb = NULL;
    int64_t dropped = 0, cast_failed = 0;
    struct vg_event ev;
    size_t failed = 0;
    int err = 0;

    if (st->rewrites) {
        nb = vg_batch_derive(in, b, vg_batch_bytes(in, b) +
                             vg_batch_count(in, b) * 64);
        if (!nb) {
            vg_log(in, VG_LOG_WARN, "cannot allocate a batch; events pass "
                   "unmodified");
            vg_emit(in, b);
            return;
        }
    }
    while (vg_batch_next(in, b, &it, &ev) > 0) {
        int rc = modify_event(in, st, nb, &ev, &cast_failed);

        if (rc == EV_DROP) {
            dropped++;
            if (!nb)
                vg_batch_drop(in, b, &it);
        } else if (rc < 0) {
            failed++;
            err = rc;
        }
    }
    vg_iter_release(in, &it);
    if (dropped)
        vg_count(in, "dropped_by_rule", dropped);
    if (cast_failed)
        vg_count(in, "cast_failed", cast_failed);
    if (failed) {
        vg_log(in, VG_LOG_WARN, "dropped %zu events that could not be "
               "modified: %s", failed, strerror(-err));
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
matcher_release(struct matcher *m)
{
    pcre2_code_free(m->name_re);
    pcre2_code_free(m->body_re);
    pcre2_code_free(m->value_re);
}

static void
modify_state_free(struct modify_state *st)
{
    size_t i;

    if (!st)
        return;
    for (i = 0; st->ops && i < st->nops; i++) {
        matcher_release(&st->ops[i].m);
        free(st->ops[i].globs);
    }
    free(st->ops);
    pcre2_match_data_free(st->md);
    free(st->labels);
    free(st->attrs);
    free(st->bounds);
    free(st->cast_bufs);
    free(st);
}

static int
regex_compile(struct vg_instance *in, pcre2_code **out, const char *pattern,
              size_t idx, const char *what)
{
    PCRE2_UCHAR msg[160];
    PCRE2_SIZE eoff;
    int code;

    if (!pattern)
        return 0;
    *out = pcre2_compile((PCRE2_SPTR)pattern, PCRE2_ZERO_TERMINATED, 0,
                         &code, &eoff, NULL);
    if (!*out) {
        pcre2_get_error_message(code, msg, sizeof(msg));
        vg_log(in, VG_LOG_ERROR, "operations[%zu]: bad %s at offset %zu: %s",
               idx, what, (size_t)eoff, (const char *)msg);
        return -EINVAL;
    }
    /* without JIT support the interpreter still gives the same answers */
    (void)pcre2_jit_compile(*out, PCRE2_JIT_COMPLETE);
    return 0;
}

static int
matcher_present(const struct match_conf *c)
{
    return c->name || c->name_regex || c->body || c->body_regex ||
           c->label || c->attribute || c->key || c->value || c->regex;
}

static int
matcher_init(struct vg_instance *in, struct matcher *m,
             const struct match_conf *c, size_t idx)
{
    int keys = !!c->label + !!c->attribute + !!c->key, rc;

    if (keys > 1) {
        vg_log(in, VG_LOG_ERROR, "operations[%zu]: give one of 'label', "
               "'attribute' and 'key'", idx);
        return -EINVAL;
    }
    if (!keys && (c->value || c->regex)) {
        vg_log(in, VG_LOG_ERROR, "operations[%zu]: 'value' and 'regex' "
               "need 'label', 'attribute' or 'key'", idx);
        return -EINVAL;
    }
    if ((m->has_name = c->name != NULL))
        mt_glob_compile(&m->name, c->name);
    if ((m->has_body = c->body != NULL))
        mt_glob_compile(&m->body, c->body);
    if ((m->has_value = c->value != NULL))
        mt_glob_compile(&m->value, c->value);
    m->key = c->label ? c->label : c->attribute ? c->attribute : c->key;
    m->key_len = m->key ? (uint32_t)strlen(m->key) : 0;
    m->where = c->label ? IN_LABELS : c->attribute ? IN_ATTRS : IN_AUTO;
    if ((rc = regex_compile(in, &m->name_re, c->name_regex, idx,
                            "name_regex")) < 0 ||
        (rc = regex_compile(in, &m->body_re, c->body_regex, idx,
                            "body_regex")) < 0 ||
        (rc = regex_compile(in, &m->value_re, c->regex, idx, "regex")) < 0)
        return rc;
    return 0;
}

static void
set_key(struct op *o, const char *key, const char *value)
{
    o->kv = vg_kv_str(key, value ? value : "");
}

static int
globs_init(struct op *o, const struct vg_strv *v)
{
    size_t i;

    if (!(o->globs = calloc(v->n, sizeof(*o->globs))))
        return -ENOMEM;
    for (i = 0; i < v->n; i++)
        mt_glob_compile(&o->globs[i], v->v[i]);
    o->nglobs = v->n;
    return 0;
}

static int
scale_init(struct vg_instance *in, struct op *o, const char *name,
           const char *field, size_t idx)
{
    if (!(o->factor == o->factor) || isinf(o->factor)) {
        vg_log(in, VG_LOG_ERROR, "operations[%zu]: factor must be a finite "
               "number", idx);
        return -EINVAL;
    }
    o->kind = OP_SCALE;
    if ((o->has_name = name != NULL))
        mt_glob_compile(&o->name, name);
    if (field && strcmp(field, "value") != 0) {
        o->field = field;
        o->field_len = (uint32_t)strlen(field);
    }
    return 0;
}

/* Counts the action keys given in one element. */
static int
op_actions(const struct op_conf *c)
{
    return !!c->rename_from + !!c->copy_from + (c->drop_labels.n > 0) +
           (c->drop_attributes.n > 0) + !!c->set_key +
           matcher_present(&c->keep) + matcher_present(&c->drop) +
           !!c->cast_key +
           (c->scale_name || c->scale_field || c->scale_factor != 0) +
           !!c->conv_from;
}

static int
op_init(struct vg_instance *in, struct modify_state *st, struct op *o,
        const struct op_conf *c, size_t idx)
{
    int n = op_actions(c);

    if (n != 1) {
        vg_log(in, VG_LOG_ERROR, "operations[%zu]: each operation needs "
               "exactly one action (rename, copy, drop_labels, "
               "drop_attributes, set, keep, drop, cast, scale, convert); "
               "found %d", idx, n);
        return -EINVAL;
    }
    o->where = IN_AUTO;
    if (c->rename_from || c->copy_from) {
        int copy = c->copy_from != NULL;

        o->kind = copy ? OP_COPY : OP_RENAME;
        o->where = copy ? c->copy_in : c->rename_in;
        o->from = copy ? c->copy_from : c->rename_from;
        o->from_len = (uint32_t)strlen(o->from);
        set_key(o, copy ? c->copy_to : c->rename_to, NULL);
    } else if (c->drop_labels.n) {
        o->kind = OP_DROP_LABELS;
        return globs_init(o, &c->drop_labels);
    } else if (c->drop_attributes.n) {
        o->kind = OP_DROP_ATTRS;
        return globs_init(o, &c->drop_attributes);
    } else if (c->set_key) {
        o->kind = OP_SET;
        o->where = c->set_in;
        set_key(o, c->set_key, c->set_value);
    } else if (matcher_present(&c->keep) || matcher_present(&c->drop)) {
        int keep = matcher_present(&c->keep);

        o->kind = keep ? OP_KEEP : OP_DROP;
        return matcher_init(in, &o->m, keep ? &c->keep : &c->drop, idx);
    } else if (c->cast_key) {
        o->kind = OP_CAST;
        o->cast_type = c->cast_type;
        set_key(o, c->cast_key, NULL);
        o->buf = st->cast_bufs + idx * CAST_BUF;
    } else if (c->conv_from) {
        if (mt_unit_factor(c->conv_from, c->conv_to, &o->factor) < 0) {
            vg_log(in, VG_LOG_ERROR, "operations[%zu]: cannot convert '%s' "
                   "to '%s' (units: bytes, kB, MB, GB, TB, KiB, MiB, GiB, "
                   "TiB, bits, ns, us, ms, s, min, h, d, ratio, percent)",
                   idx, c->conv_from, c->conv_to);
            return -EINVAL;
        }
        return scale_init(in, o, c->conv_name, c->conv_field, idx);
    } else {
        o->factor = c->scale_factor;
        return scale_init(in, o, c->scale_name, c->scale_field, idx);
    }
    return 0;
}

static int
modify_init(struct vg_instance *in, void *conf)
{
    const struct modify_conf *c = conf;
    const struct op_conf *oc = c->operations.items;
    struct modify_state *st = NULL;
    size_t i;
    int rc = -EINVAL;

    if (c->operations.n == 0 || c->operations.n > 4096) {
        vg_log(in, VG_LOG_ERROR, "option 'operations' must hold 1..4096 "
               "operations");
        goto fail;
    }
    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->ops = calloc(c->operations.n, sizeof(*st->ops))) ||
        !(st->cast_bufs = calloc(c->operations.n, CAST_BUF)) ||
        !(st->md = pcre2_match_data_create(1, NULL)))
        goto fail;
    st->nops = c->operations.n;
    for (i = 0; i < st->nops; i++) {
        if ((rc = op_init(in, st, &st->ops[i], &oc[i], i)) < 0)
            goto fail;
        if (st->ops[i].kind != OP_KEEP && st->ops[i].kind != OP_DROP)
            st->rewrites = 1;
    }
    vg_instance_set_data(in, st);
    return 0;
fail:
    modify_state_free(st);
    return rc;
}

static void
modify_destroy(struct vg_instance *in)
{
    modify_state_free(vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "modify",
    .summary = "rename, copy, drop, set, cast and scale; keep or drop events",
    .options = modify_options,
    .conf_size = sizeof(struct modify_conf),
    .init = modify_init,
    .process = modify_process,
    .destroy = modify_destroy,
};
