/*
 * Option schemas: plugins declare typed options, the core checks the
 * declaration once, then fills each instance's config struct from YAML.
 * Defaults are stored first and values from the file overwrite them; every
 * setter frees what it replaces, so a conf holds only what the core
 * allocated and vg_options_release() copes with any partial fill.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "options.h"

#define MAX_SCHEMA_DEPTH 8      /* bounds recursion on a cyclic schema */
#define PATH_MAX_LEN     256    /* "rules[2].tls.verify"; messages only */

union scalar {
    int64_t i;
    double  d;
    int     b;
};

struct apply {
    const char       *what;     /* "output 'http'", or NULL */
    struct vg_errors *err;
    int               bad;
};

static void *
field(void *base, const struct vg_option *o)
{
    return (char *)base + o->offset;
}

/* Paths only appear in messages: a truncated one still helps. */
static void VG_FMT(3, 4)
path_fmt(char *buf, size_t len, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, len, fmt, ap);
    va_end(ap);
}

/* ---- names ------------------------------------------------------------- */

const char *
vg_option_type_name(enum vg_opt_type t)
{
    switch (t) {
    case VG_OPT_STR:
        return "string";
    case VG_OPT_INT:
        return "integer";
    case VG_OPT_DOUBLE:
        return "number";
    case VG_OPT_BOOL:
        return "boolean";
    case VG_OPT_DURATION:
        return "duration";
    case VG_OPT_SIZE:
        return "size";
    case VG_OPT_ENUM:
        return "choice";
    case VG_OPT_STRLIST:
        return "list of strings";
    case VG_OPT_MAP:
        return "map of strings";
    case VG_OPT_OBJECT:
        return "object";
    case VG_OPT_LIST:
        return "list of objects";
    }
    return "unknown";
}

/* What a message says an option expects (ENUM lists its choices itself). */
static const char *
expect_text(enum vg_opt_type t)
{
    switch (t) {
    case VG_OPT_STR:
        return "a string";
    case VG_OPT_INT:
        return "an integer";
    case VG_OPT_DOUBLE:
        return "a number";
    case VG_OPT_BOOL:
        return "a boolean (true/false, yes/no, on/off)";
    case VG_OPT_DURATION:
        return "a duration (e.g. 10s, 500ms, 5m)";
    case VG_OPT_SIZE:
        return "a size (e.g. 4096, 64KiB, 10MB)";
    case VG_OPT_ENUM:
        return "a choice";
    case VG_OPT_STRLIST:
        return "a list of strings";
    case VG_OPT_MAP:
    case VG_OPT_OBJECT:
        return "a mapping";
    case VG_OPT_LIST:
        return "a sequence of mappings";
    }
    return "a value";
}

static size_t
suggest_threshold(const char *key)
{
    size_t t = strlen(key) / 3;

    return t > 2 ? t : 2;
}

const char *
vg_options_suggest(const struct vg_option *schema, const char *key)
{
    const struct vg_option *o;
    const char *best = NULL;
    size_t bestd = SIZE_MAX;

    for (o = schema; o && o->name; o++) {
        size_t d = strcasecmp(o->name, key) == 0
                       ? 0 : vg_edit_distance(key, o->name);

        if (d < bestd) {
            bestd = d;
            best = o->name;
        }
    }
    return bestd <= suggest_threshold(key) ? best : NULL;
}

/* ENUM choices: "a|b|c".  Index of s, or -1. */
static int
choice_index(const char *choices, const char *s)
{
    size_t slen = strlen(s);
    const char *p = choices;
    int i = 0;

    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);

        if (len == slen && memcmp(p, s, len) == 0)
            return i;
        i++;
        p = bar ? bar + 1 : NULL;
    }
    return -1;
}

/* The closest choice to s, copied into buf, or NULL. */
static const char *
choice_suggest(const char *choices, const char *s, char *buf, size_t len)
{
    const char *p = choices;
    size_t bestd = SIZE_MAX;

    while (p && *p) {
        const char *bar = strchr(p, '|');
        size_t clen = bar ? (size_t)(bar - p) : strlen(p);
        char *c = vg_xstrndup(p, clen);
        size_t d = strcasecmp(c, s) == 0 ? 0 : vg_edit_distance(s, c);

        if (d < bestd && clen < len) {
            bestd = d;
            memcpy(buf, c, clen + 1);
        }
        free(c);
        p = bar ? bar + 1 : NULL;
    }
    return bestd <= suggest_threshold(s) ? buf : NULL;
}

/* ---- scalar parsing ---------------------------------------------------- */

static int
parse_int(const char *s, int64_t *out)
{
    char *end;
    long long v;

    /* strtoll skips leading blanks and accepts "": we do neither. */
    if (!(*s == '-' || *s == '+' || (*s >= '0' && *s <= '9')))
        return -EINVAL;
    errno = 0;
    v = strtoll(s, &end, 10);
    if (*end || end == s)
        return -EINVAL;
    if (errno == ERANGE)
        return -ERANGE;
    *out = v;
    return 0;
}

/* nan and inf are refused: no option has a use for them, and a threshold
 * of nan would silently never fire. */
static int
parse_double(const char *s, double *out)
{
    char *end;
    double v;

    if (!(*s == '-' || *s == '+' || *s == '.' || (*s >= '0' && *s <= '9')))
        return -EINVAL;
    errno = 0;
    v = strtod(s, &end);
    if (*end || end == s)
        return -EINVAL;
    if (!isfinite(v))
        return errno == ERANGE ? -ERANGE : -EINVAL;
    *out = v;
    return 0;
}

static int
parse_bool(const char *s, int *out)
{
    static const char *const yes[] = { "true", "yes", "on" };
    static const char *const no[] = { "false", "no", "off" };
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(yes); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = 1;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = 0;
            return 0;
        }
    }
    return -EINVAL;
}

/* For the types stored without allocation.  0, -EINVAL or -ERANGE. */
static int
parse_scalar(const struct vg_option *o, const char *s, union scalar *u)
{
    switch (o->type) {
    case VG_OPT_INT:
        return parse_int(s, &u->i);
    case VG_OPT_DOUBLE:
        return parse_double(s, &u->d);
    case VG_OPT_BOOL:
        return parse_bool(s, &u->b);
    case VG_OPT_DURATION:
        return vg_parse_duration(s, &u->i);
    case VG_OPT_SIZE:
        return vg_parse_size(s, &u->i);
    case VG_OPT_ENUM:
        u->b = choice_index(o->choices, s);
        return u->b < 0 ? -EINVAL : 0;
    default:
        return -EINVAL;
    }
}

static void
store_scalar(const struct vg_option *o, void *p, const union scalar *u)
{
    switch (o->type) {
    case VG_OPT_INT:
    case VG_OPT_DURATION:
    case VG_OPT_SIZE:
        *(int64_t *)p = u->i;
        break;
    case VG_OPT_DOUBLE:
        *(double *)p = u->d;
        break;
    case VG_OPT_BOOL:
    case VG_OPT_ENUM:
        *(int *)p = u->b;
        break;
    default:
        vg_assert(!"not a scalar option type");
    }
}

static int
is_scalar_type(enum vg_opt_type t)
{
    return t >= VG_OPT_INT && t <= VG_OPT_ENUM;
}

/* ---- storage ----------------------------------------------------------- */

static void
strv_clear(struct vg_strv *sv)
{
    size_t i;

    for (i = 0; i < sv->n; i++)
        free(sv->v[i]);
    free(sv->v);
    sv->n = 0;
    sv->v = NULL;
}

static void
map_clear(struct vg_map *m)
{
    size_t i;

    for (i = 0; i < m->n; i++) {
        free(m->v[i].key);
        free(m->v[i].value);
    }
    free(m->v);
    m->n = 0;
    m->v = NULL;
}

static void release_level(const struct vg_option *schema, void *base,
                          int depth);

static void
list_clear(const struct vg_option *o, struct vg_list *l, int depth)
{
    size_t i;

    for (i = 0; i < l->n; i++)
        release_level(o->sub, (char *)l->items + i * o->elem_size,
                      depth + 1);
    free(l->items);
    l->n = 0;
    l->items = NULL;
}

static void
release_level(const struct vg_option *schema, void *base, int depth)
{
    const struct vg_option *o;

    if (depth >= MAX_SCHEMA_DEPTH)
        return;
    for (o = schema; o && o->name; o++) {
        void *p = field(base, o);

        switch (o->type) {
        case VG_OPT_STR:
            free(*(char **)p);
            *(char **)p = NULL;
            break;
        case VG_OPT_STRLIST:
            strv_clear(p);
            break;
        case VG_OPT_MAP:
            map_clear(p);
            break;
        case VG_OPT_OBJECT:
            release_level(o->sub, base, depth + 1);
            break;
        case VG_OPT_LIST:
            list_clear(o, p, depth);
            break;
        default:
            break;
        }
    }
}

void
vg_options_release(const struct vg_option *schema, void *conf)
{
    release_level(schema, conf, 0);
}

/* A STRLIST default: "loop*, ram*" (blanks around items are dropped). */
static void
strv_from_csv(struct vg_strv *sv, const char *s)
{
    const char *p = s;

    strv_clear(sv);
    while (*p == ' ')
        p++;
    if (!*p)
        return;
    for (;;) {
        const char *comma = strchr(p, ',');
        const char *end = comma ? comma : p + strlen(p);

        while (*p == ' ')
            p++;
        while (end > p && end[-1] == ' ')
            end--;
        sv->v = vg_xrealloc(sv->v, (sv->n + 2) * sizeof(*sv->v));
        sv->v[sv->n++] = vg_xstrndup(p, (size_t)(end - p));
        sv->v[sv->n] = NULL;
        if (!comma)
            break;
        p = comma + 1;
    }
}

/* ---- schema checks ----------------------------------------------------- */

static int VG_FMT(3, 4)
why_set(char *why, size_t whylen, const char *fmt, ...)
{
    va_list ap;

    if (why && whylen) {
        va_start(ap, fmt);
        vsnprintf(why, whylen, fmt, ap);
        va_end(ap);
    }
    return -EINVAL;
}

/* Checks that a default parses for its type; full names the option. */
static int
check_default(const struct vg_option *o, const char *full, char *why,
              size_t whylen)
{
    union scalar u;

    if (!o->def || o->type == VG_OPT_STR || o->type == VG_OPT_STRLIST)
        return 0;
    if (!is_scalar_type(o->type))
        return why_set(why, whylen, "option '%s': a %s cannot have a "
                       "default", full, vg_option_type_name(o->type));
    if (parse_scalar(o, o->def, &u) == 0)
        return 0;
    if (o->type == VG_OPT_ENUM)
        return why_set(why, whylen, "option '%s': default '%s' is not one "
                       "of %s", full, o->def, o->choices);
    return why_set(why, whylen, "option '%s': default '%s' is not a valid "
                   "%s", full, o->def, vg_option_type_name(o->type));
}

static int
valid_option_name(const char *s)
{
    if (!*s)
        return 0;
    for (; *s; s++)
        if (!(*s == '_' || *s == '-' || (*s >= 'a' && *s <= 'z') ||
              (*s >= 'A' && *s <= 'Z') || (*s >= '0' && *s <= '9')))
            return 0;
    return 1;
}

/* Bytes and alignment of what the core stores for t (0 for OBJECT). */
static size_t
field_size(enum vg_opt_type t, size_t *align)
{
    switch (t) {
    case VG_OPT_STR:
        *align = _Alignof(char *);
        return sizeof(char *);
    case VG_OPT_INT:
    case VG_OPT_DURATION:
    case VG_OPT_SIZE:
        *align = _Alignof(int64_t);
        return sizeof(int64_t);
    case VG_OPT_DOUBLE:
        *align = _Alignof(double);
        return sizeof(double);
    case VG_OPT_BOOL:
    case VG_OPT_ENUM:
        *align = _Alignof(int);
        return sizeof(int);
    case VG_OPT_STRLIST:
        *align = _Alignof(struct vg_strv);
        return sizeof(struct vg_strv);
    case VG_OPT_MAP:
        *align = _Alignof(struct vg_map);
        return sizeof(struct vg_map);
    case VG_OPT_LIST:
        *align = _Alignof(struct vg_list);
        return sizeof(struct vg_list);
    default:
        *align = 1;
        return 0;
    }
}

static int
check_choices(const struct vg_option *o, const char *full, char *why,
              size_t whylen)
{
    const char *c = o->choices;

    if (!c || !*c)
        return why_set(why, whylen, "option '%s': ENUM without choices",
                       full);
    if (*c == '|' || c[strlen(c) - 1] == '|' || strstr(c, "||"))
        return why_set(why, whylen, "option '%s': empty choice in '%s'",
                       full, c);
    return 0;
}

/* limit: bytes of the struct the offsets point into, SIZE_MAX if unknown. */
static int
check_level(const struct vg_option *schema, const char *path, size_t limit,
            int depth, char *why, size_t whylen)
{
    const struct vg_option *o, *q;
    char full[PATH_MAX_LEN], sub[PATH_MAX_LEN];
    size_t size, align, i = 0;
    int rc;

    for (o = schema; o && o->name; o++, i++) {
        if (!valid_option_name(o->name))
            return why_set(why, whylen, "option #%zu%s%s: invalid name '%s' "
                           "(letters, digits, '_' and '-' only)", i,
                           *path ? " of " : "", path, o->name);
        path_fmt(full, sizeof(full), "%s%s", path, o->name);
        for (q = schema; q < o; q++)
            if (strcmp(q->name, o->name) == 0)
                return why_set(why, whylen, "option '%s': declared twice",
                               full);
        if (o->type < VG_OPT_STR || o->type > VG_OPT_LIST)
            return why_set(why, whylen, "option '%s': unknown type %d", full,
                           (int)o->type);
        size = field_size(o->type, &align);
        if (size && limit != SIZE_MAX &&
            (o->offset > limit || size > limit - o->offset))
            return why_set(why, whylen, "option '%s': field at offset %zu "
                           "(%zu bytes) is past the end of its %zu-byte "
                           "struct", full, o->offset, size, limit);
        if (size && o->offset % align)
            return why_set(why, whylen, "option '%s': offset %zu is not "
                           "%zu-byte aligned", full, o->offset, align);
        if ((o->flags & VG_OPT_REQUIRED) && o->def)
            return why_set(why, whylen, "option '%s': a required option "
                           "cannot have a default", full);
        if (o->type == VG_OPT_ENUM &&
            (rc = check_choices(o, full, why, whylen)) < 0)
            return rc;
        if ((rc = check_default(o, full, why, whylen)) < 0)
            return rc;
        if (o->type != VG_OPT_OBJECT && o->type != VG_OPT_LIST)
            continue;
        if (!o->sub || !o->sub->name)
            return why_set(why, whylen, "option '%s': %s without "
                           "sub-options", full,
                           o->type == VG_OPT_LIST ? "LIST" : "OBJECT");
        if (o->type == VG_OPT_LIST && !o->elem_size)
            return why_set(why, whylen, "option '%s': LIST without "
                           "elem_size", full);
        if (depth + 1 >= MAX_SCHEMA_DEPTH)
            return why_set(why, whylen, "option '%s': options nested "
                           "deeper than %d levels", full, MAX_SCHEMA_DEPTH);
        path_fmt(sub, sizeof(sub), "%s.", full);
        rc = check_level(o->sub, sub,
                         o->type == VG_OPT_LIST ? o->elem_size : limit,
                         depth + 1, why, whylen);
        if (rc < 0)
            return rc;
    }
    return 0;
}

int
vg_options_check_schema(const struct vg_option *schema, char *why,
                        size_t whylen)
{
    return check_level(schema, "", SIZE_MAX, 0, why, whylen);
}

int
vg_options_check_conf(const struct vg_option *schema, size_t conf_size,
                      char *why, size_t whylen)
{
    return check_level(schema, "", conf_size, 0, why, whylen);
}

/* ---- applying ---------------------------------------------------------- */

static void VG_FMT(3, 4)
apply_error(struct apply *ap, const struct vg_node *at, const char *fmt, ...)
{
    va_list va;
    char *msg;

    va_start(va, fmt);
    msg = vg_xvasprintf(fmt, va);
    va_end(va);
    if (ap->what && *ap->what)
        vg_errors_add(ap->err, at, "%s: %s", ap->what, msg);
    else
        vg_errors_add(ap->err, at, "%s", msg);
    free(msg);
    ap->bad = 1;
}

/* YAML's null: `key:` with nothing, `~` or `null`, never quoted.  An option
 * set to null keeps its default, as if the key were absent. */
static int
is_null(const struct vg_node *n)
{
    return n->type == VG_NODE_SCALAR && !n->quoted && !n->secret &&
           (n->len == 0 || strcmp(n->value, "~") == 0 ||
            strcmp(n->value, "null") == 0 || strcmp(n->value, "Null") == 0 ||
            strcmp(n->value, "NULL") == 0);
}

/* A value for messages; a secret option's value is never shown. */
static const char *
show(const struct vg_option *o, const struct vg_node *n, char *buf,
     size_t len)
{
    if ((o->flags & VG_OPT_SECRET) && n->type == VG_NODE_SCALAR)
        return "<secret>";
    return vg_node_show(n, buf, len);
}

static void
set_defaults(struct apply *ap, const struct vg_option *schema, void *base,
             const char *path, int depth)
{
    const struct vg_option *o;
    char full[PATH_MAX_LEN], why[PATH_MAX_LEN + 128];
    union scalar u;

    if (depth >= MAX_SCHEMA_DEPTH)
        return;
    for (o = schema; o && o->name; o++) {
        void *p = field(base, o);

        path_fmt(full, sizeof(full), "%s%s", path, o->name);
        if (o->type == VG_OPT_OBJECT) {
            char sub[PATH_MAX_LEN];

            path_fmt(sub, sizeof(sub), "%s.", full);
            set_defaults(ap, o->sub, base, sub, depth + 1);
            continue;
        }
        if (!o->def)
            continue;
        /* The loader checks schemas first; this guards direct callers. */
        if (check_default(o, full, why, sizeof(why)) < 0) {
            apply_error(ap, NULL, "%s", why);
            continue;
        }
        if (o->type == VG_OPT_STR) {
            free(*(char **)p);
            *(char **)p = vg_xstrdup(o->def);
        } else if (o->type == VG_OPT_STRLIST) {
            strv_from_csv(p, o->def);
        } else if (parse_scalar(o, o->def, &u) == 0) {
            store_scalar(o, p, &u);
        }
    }
}

static void apply_values(struct apply *ap, const struct vg_option *schema,
                         const struct vg_node *map, void *base,
                         const char *path, const char *const *skip,
                         int depth);

static void
set_strlist(struct apply *ap, struct vg_strv *slot, const struct vg_node *v,
            const char *full)
{
    struct vg_strv sv = { 0, NULL };
    char shown[80];
    size_t i;

    if (v->type == VG_NODE_MAP) {
        apply_error(ap, v, "option '%s' expects a list of strings, got %s",
                    full, vg_node_show(v, shown, sizeof(shown)));
        return;
    }
    if (v->type == VG_NODE_SCALAR) {
        sv.v = vg_xcalloc(2, sizeof(*sv.v));
        sv.v[sv.n++] = vg_xstrdup(v->value);
    } else {
        sv.v = vg_xcalloc(v->n + 1, sizeof(*sv.v));
        for (i = 0; i < v->n; i++) {
            const struct vg_node *item = v->vals[i];

            if (item->type != VG_NODE_SCALAR)
                apply_error(ap, item, "option '%s[%zu]' expects a string, "
                            "got %s", full, i,
                            vg_node_show(item, shown, sizeof(shown)));
            else
                sv.v[sv.n++] = vg_xstrdup(item->value);
        }
    }
    strv_clear(slot);
    *slot = sv;
}

static void
set_map(struct apply *ap, struct vg_map *slot, const struct vg_node *v,
        const char *full)
{
    struct vg_map m = { 0, NULL };
    char shown[80];
    size_t i;

    if (v->type != VG_NODE_MAP) {
        apply_error(ap, v, "option '%s' expects a mapping, got %s", full,
                    vg_node_show(v, shown, sizeof(shown)));
        return;
    }
    m.v = vg_xcalloc(v->n ? v->n : 1, sizeof(*m.v));
    for (i = 0; i < v->n; i++) {
        const struct vg_node *val = v->vals[i];

        if (val->type != VG_NODE_SCALAR) {
            apply_error(ap, val, "option '%s.%s' expects a string, got %s",
                        full, v->keys[i]->value,
                        vg_node_show(val, shown, sizeof(shown)));
            continue;
        }
        m.v[m.n].key = vg_xstrdup(v->keys[i]->value);
        m.v[m.n++].value = vg_xstrdup(val->value);
    }
    map_clear(slot);
    *slot = m;
}

static void
set_list(struct apply *ap, const struct vg_option *o, struct vg_list *slot,
         const struct vg_node *v, const char *full, int depth)
{
    char shown[80], path[PATH_MAX_LEN];
    size_t i;

    if (v->type != VG_NODE_SEQ) {
        apply_error(ap, v, "option '%s' expects a sequence of mappings, got "
                    "%s", full, vg_node_show(v, shown, sizeof(shown)));
        return;
    }
    list_clear(o, slot, depth);
    if (!v->n)
        return;
    /* Stored before it is filled, so a release after an error finds every
     * element (zeroed or partly filled). */
    slot->items = vg_xcalloc(v->n, o->elem_size);
    slot->n = v->n;
    for (i = 0; i < v->n; i++) {
        void *item = (char *)slot->items + i * o->elem_size;
        const struct vg_node *elem = v->vals[i];

        path_fmt(path, sizeof(path), "%s[%zu].", full, i);
        set_defaults(ap, o->sub, item, path, depth + 1);
        if (elem->type != VG_NODE_MAP)
            apply_error(ap, elem, "option '%s[%zu]' expects a mapping, got "
                        "%s", full, i,
                        vg_node_show(elem, shown, sizeof(shown)));
        else
            apply_values(ap, o->sub, elem, item, path, NULL, depth + 1);
    }
}

static void
set_value(struct apply *ap, const struct vg_option *o,
          const struct vg_node *v, void *base, const char *full, int depth)
{
    void *p = field(base, o);
    char shown[80], hint[64], sub[PATH_MAX_LEN];
    const char *sug;
    union scalar u;
    int rc;

    if (is_null(v)) {
        if (o->flags & VG_OPT_REQUIRED)
            apply_error(ap, v, "option '%s' has no value", full);
        return;
    }
    switch (o->type) {
    case VG_OPT_STR:
        if (v->type != VG_NODE_SCALAR)
            goto wrong_kind;
        free(*(char **)p);
        *(char **)p = vg_xstrdup(v->value);
        break;
    case VG_OPT_STRLIST:
        set_strlist(ap, p, v, full);
        break;
    case VG_OPT_MAP:
        set_map(ap, p, v, full);
        break;
    case VG_OPT_OBJECT:
        if (v->type != VG_NODE_MAP)
            goto wrong_kind;
        path_fmt(sub, sizeof(sub), "%s.", full);
        apply_values(ap, o->sub, v, base, sub, NULL, depth + 1);
        break;
    case VG_OPT_LIST:
        set_list(ap, o, p, v, full, depth);
        break;
    default:
        if (v->type != VG_NODE_SCALAR)
            goto wrong_kind;
        if ((rc = parse_scalar(o, v->value, &u)) == 0) {
            store_scalar(o, p, &u);
            break;
        }
        if (o->type == VG_OPT_ENUM) {
            sug = v->secret || (o->flags & VG_OPT_SECRET)
                      ? NULL
                      : choice_suggest(o->choices, v->value, hint,
                                       sizeof(hint));
            if (sug)
                apply_error(ap, v, "option '%s' expects one of %s, got %s "
                            "(did you mean '%s'?)", full, o->choices,
                            show(o, v, shown, sizeof(shown)), sug);
            else
                apply_error(ap, v, "option '%s' expects one of %s, got %s",
                            full, o->choices,
                            show(o, v, shown, sizeof(shown)));
        } else {
            apply_error(ap, v, "option '%s' expects %s, got %s%s", full,
                        expect_text(o->type),
                        show(o, v, shown, sizeof(shown)),
                        rc == -ERANGE ? " (out of range)" : "");
        }
        break;
    }
    return;
wrong_kind:
    if (o->type == VG_OPT_ENUM)
        apply_error(ap, v, "option '%s' expects one of %s, got %s", full,
                    o->choices, show(o, v, shown, sizeof(shown)));
    else
        apply_error(ap, v, "option '%s' expects %s, got %s", full,
                    expect_text(o->type), show(o, v, shown, sizeof(shown)));
}

static int
skipped(const char *const *skip, const char *key)
{
    for (; skip && *skip; skip++)
        if (strcmp(*skip, key) == 0)
            return 1;
    return 0;
}

static const struct vg_option *
find_option(const struct vg_option *schema, const char *name)
{
    const struct vg_option *o;

    for (o = schema; o && o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

static void
apply_values(struct apply *ap, const struct vg_option *schema,
             const struct vg_node *map, void *base, const char *path,
             const char *const *skip, int depth)
{
    const struct vg_option *o;
    char full[PATH_MAX_LEN];
    size_t i;

    if (depth >= MAX_SCHEMA_DEPTH)
        return;
    for (i = 0; i < map->n; i++) {
        const struct vg_node *key = map->keys[i];
        const char *sug;

        if (skipped(skip, key->value))
            continue;
        if (!(o = find_option(schema, key->value))) {
            if ((sug = vg_options_suggest(schema, key->value)))
                apply_error(ap, key, "unknown option '%s%s' (did you mean "
                            "'%s%s'?)", path, key->value, path, sug);
            else
                apply_error(ap, key, "unknown option '%s%s'", path,
                            key->value);
            continue;
        }
        path_fmt(full, sizeof(full), "%s%s", path, o->name);
        set_value(ap, o, map->vals[i], base, full, depth);
    }
    for (o = schema; o && o->name; o++)
        if ((o->flags & VG_OPT_REQUIRED) && !vg_node_get(map, o->name))
            apply_error(ap, map, "missing required option '%s%s'", path,
                        o->name);
}

int
vg_options_apply(const struct vg_option *schema, const struct vg_node *map,
                 void *conf, const char *what, const char *const *skip,
                 struct vg_errors *err)
{
    struct apply ap = { what, err, 0 };
    const struct vg_option *o;

    set_defaults(&ap, schema, conf, "", 0);
    if (map && map->type != VG_NODE_MAP) {
        apply_error(&ap, map, "expected a mapping of options, got %s",
                    vg_node_type_name(map->type));
    } else if (map) {
        apply_values(&ap, schema, map, conf, "", skip, 0);
    } else {
        for (o = schema; o && o->name; o++)
            if (o->flags & VG_OPT_REQUIRED)
                apply_error(&ap, NULL, "missing required option '%s'",
                            o->name);
    }
    return ap.bad ? -EINVAL : 0;
}

/* ---- describing -------------------------------------------------------- */

static void
describe_level(FILE *out, const struct vg_option *schema, int indent,
               int depth)
{
    const struct vg_option *o;

    if (depth >= MAX_SCHEMA_DEPTH)
        return;
    for (o = schema; o && o->name; o++) {
        fprintf(out, "%*s%s (%s", indent, "", o->name,
                vg_option_type_name(o->type));
        if (o->type == VG_OPT_ENUM && o->choices)
            fprintf(out, ", one of %s", o->choices);
        if (o->flags & VG_OPT_REQUIRED)
            fprintf(out, ", required");
        if (o->flags & VG_OPT_SECRET)
            fprintf(out, ", secret");
        else if (o->def && *o->def)
            fprintf(out, ", default: %s", o->def);
        else if (o->def)
            fprintf(out, ", default: \"\"");
        fprintf(out, ")%s%s\n", o->help ? " " : "", o->help ? o->help : "");
        if ((o->type == VG_OPT_OBJECT || o->type == VG_OPT_LIST) && o->sub)
            describe_level(out, o->sub, indent + 2, depth + 1);
    }
}

void
vg_options_describe(FILE *out, const struct vg_option *schema, int indent)
{
    describe_level(out, schema, indent, 0);
}

/*
 * The same walk as roff for vigil.yaml(5): one .TP entry per option, tagged
 * with its full path ("tls.verify", "rules[].name") so that a reader who
 * jumps into the middle of a long list still knows where a key lives, and
 * nested options indented under their parent with .RS/.RE.
 */

enum man_text_flags {
    MAN_LINE_START = 1,     /* s starts an input line */
    MAN_BREAKABLE = 2,      /* s may be a path: let groff break after '/' */
};

/* Writes s as roff text: backslashes and minus signs escaped, and a
 * leading '.' or '\'' (which would start a request) defused.  Defaults
 * built from the install prefix can be longer than a line; a break point
 * after each slash keeps them from overrunning it. */
static void
man_text(FILE *out, const char *s, int flags)
{
    if ((flags & MAN_LINE_START) && (*s == '.' || *s == '\''))
        fputs("\\&", out);
    for (; *s; s++) {
        if (*s == '\\')
            fputs("\\e", out);
        else if (*s == '-')
            fputs("\\-", out);
        else if (*s == '\n')
            fputc(' ', out);            /* help is one line by contract */
        else if (*s == '/' && (flags & MAN_BREAKABLE) && s[1])
            fputs("/\\:", out);
        else
            fputc(*s, out);
    }
}

static void
describe_man_level(FILE *out, const struct vg_option *schema,
                   const char *prefix, int depth)
{
    const struct vg_option *o;
    char path[PATH_MAX_LEN];

    if (depth >= MAX_SCHEMA_DEPTH)
        return;
    for (o = schema; o && o->name; o++) {
        fputs(".TP\n\\fB", out);
        man_text(out, prefix, 0);
        man_text(out, o->name, 0);
        fputs("\\fR\n\\fI", out);
        man_text(out, vg_option_type_name(o->type), MAN_LINE_START);
        fputs("\\fR", out);
        if (o->type == VG_OPT_ENUM && o->choices) {
            fputs(", one of \\fB", out);
            man_text(out, o->choices, 0);
            fputs("\\fR", out);
        }
        if (o->flags & VG_OPT_REQUIRED)
            fputs(", required", out);
        if (o->flags & VG_OPT_SECRET) {
            fputs(", secret", out);
        } else if (o->def) {
            fputs(", default: ", out);
            if (*o->def) {
                fputs("\\fB", out);
                man_text(out, o->def, MAN_BREAKABLE);
                fputs("\\fR", out);
            } else {
                fputs("\"\" (empty)", out);
            }
        }
        fputs(".\n", out);
        if (o->help && *o->help) {
            fputs(".br\n", out);
            man_text(out, o->help, MAN_LINE_START);
            fputc('\n', out);
        }
        if ((o->type == VG_OPT_OBJECT || o->type == VG_OPT_LIST) && o->sub) {
            snprintf(path, sizeof(path), "%s%s%s.", prefix, o->name,
                     o->type == VG_OPT_LIST ? "[]" : "");
            fputs(".RS\n", out);
            describe_man_level(out, o->sub, path, depth + 1);
            fputs(".RE\n", out);
        }
    }
}

void
vg_options_describe_man(FILE *out, const struct vg_option *schema,
                        const char *prefix)
{
    describe_man_level(out, schema, prefix ? prefix : "", 0);
}

size_t
vg_options_literal_secrets(const struct vg_option *schema,
                           const struct vg_node *map)
{
    const struct vg_option *o;
    size_t n = 0, i;

    if (!schema || !map || map->type != VG_NODE_MAP)
        return 0;
    for (o = schema; o->name; o++) {
        const struct vg_node *v = vg_node_get(map, o->name);

        if (!v)
            continue;
        if ((o->flags & VG_OPT_SECRET) && v->type == VG_NODE_SCALAR &&
            !v->secret && v->len)
            n++;
        if (o->type == VG_OPT_OBJECT)
            n += vg_options_literal_secrets(o->sub, v);
        if (o->type == VG_OPT_LIST && v->type == VG_NODE_SEQ)
            for (i = 0; i < v->n; i++)
                n += vg_options_literal_secrets(o->sub, v->vals[i]);
    }
    return n;
}
