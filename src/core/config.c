/*
 * The YAML config file as a tree of positioned nodes.  libyaml's event
 * parser feeds a recursive builder; everything vigil does not support
 * (anchors, aliases, custom tags, several documents, duplicate keys) is
 * refused here so later stages see plain maps, sequences and scalars.
 * Substitution happens once, while loading, and is never recursive: a value
 * that came from the environment or a file is not scanned again.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <yaml.h>

#include "config.h"

#define MAX_ERRORS      100
#define MAX_DEPTH       64              /* the builder recurses per level */
#define MAX_CONFIG_SIZE (16 << 20)      /* bytes of YAML                  */
#define MAX_FILE_SUBST  (1 << 20)       /* bytes of one ${file:...}       */

#define YAML_STD_TAG "tag:yaml.org,2002:"

struct loader {
    yaml_parser_t     parser;
    const char       *text;             /* for reader error positions */
    const char       *dir;              /* of the file; NULL: the cwd  */
    size_t            len;
    struct vg_doc    *doc;
    struct vg_errors *err;
    int               fatal;            /* no more events can be read */
    int               bad;              /* an error was reported      */
};

/* ---- errors ------------------------------------------------------------ */

void
vg_errors_init(struct vg_errors *e)
{
    e->n = 0;
    e->msgs = NULL;
}

void
vg_errors_release(struct vg_errors *e)
{
    size_t i;

    for (i = 0; i < e->n; i++)
        free(e->msgs[i]);
    free(e->msgs);
    vg_errors_init(e);
}

/* Takes msg.  Past the cap, one last line says that more were dropped. */
static void
errors_take(struct vg_errors *e, char *msg)
{
    if (e->n > MAX_ERRORS) {
        free(msg);
        return;
    }
    if (e->n == MAX_ERRORS) {
        free(msg);
        msg = vg_xstrdup("too many errors");
    }
    e->msgs = vg_xrealloc(e->msgs, (e->n + 1) * sizeof(*e->msgs));
    e->msgs[e->n++] = msg;
}

static void
errors_addv_at(struct vg_errors *e, const char *file, int line, int col,
               const char *fmt, va_list ap)
{
    char *msg = vg_xvasprintf(fmt, ap);

    if (file) {
        char *full = vg_xasprintf("%s:%d:%d: %s", file, line, col, msg);

        free(msg);
        msg = full;
    }
    errors_take(e, msg);
}

void
vg_errors_add(struct vg_errors *e, const struct vg_node *at,
              const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    errors_addv_at(e, at ? at->file : NULL, at ? at->line : 0,
                   at ? at->col : 0, fmt, ap);
    va_end(ap);
}

void
vg_errors_addf(struct vg_errors *e, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    errors_addv_at(e, NULL, 0, 0, fmt, ap);
    va_end(ap);
}

static void VG_FMT(4, 5)
load_error(struct loader *ld, int line, int col, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    errors_addv_at(ld->err, ld->doc->file, line, col, fmt, ap);
    va_end(ap);
    ld->bad = 1;
}

static void VG_FMT(3, 4)
node_error(struct loader *ld, const struct vg_node *n, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    errors_addv_at(ld->err, n->file, n->line, n->col, fmt, ap);
    va_end(ap);
    ld->bad = 1;
}

/* ---- nodes ------------------------------------------------------------- */

static void
node_free(struct vg_node *n)
{
    size_t i;

    if (!n)
        return;
    for (i = 0; i < n->n; i++) {
        if (n->keys)
            node_free(n->keys[i]);
        node_free(n->vals[i]);
    }
    free(n->keys);
    free(n->vals);
    free(n->value);
    free(n);
}

static struct vg_node *
node_new(struct loader *ld, enum vg_node_type type, yaml_mark_t mark)
{
    struct vg_node *n = vg_xcalloc(1, sizeof(*n));

    n->type = type;
    n->file = ld->doc->file;
    n->line = (int)mark.line + 1;
    n->col = (int)mark.column + 1;
    return n;
}

const struct vg_node *
vg_node_get(const struct vg_node *map, const char *key)
{
    size_t i;

    if (!map || map->type != VG_NODE_MAP)
        return NULL;
    for (i = 0; i < map->n; i++)
        if (strcmp(map->keys[i]->value, key) == 0)
            return map->vals[i];
    return NULL;
}

const char *
vg_node_type_name(enum vg_node_type t)
{
    switch (t) {
    case VG_NODE_SCALAR:
        return "a scalar";
    case VG_NODE_MAP:
        return "a mapping";
    case VG_NODE_SEQ:
        return "a sequence";
    }
    return "an unknown node";
}

const char *
vg_node_show(const struct vg_node *n, char *buf, size_t len)
{
    static const char dots[] = "...";
    size_t room, take, i, o = 0;

    if (!n)
        return "nothing";
    if (n->type != VG_NODE_SCALAR)
        return vg_node_type_name(n->type);
    if (n->secret)
        return "<secret>";
    if (len < sizeof("'...'"))
        return "<value>";
    room = len - 3;                     /* two quotes and the NUL */
    take = n->len;
    if (take > room) {
        take = room - (sizeof(dots) - 1);
        /* Cut at a character boundary, not inside a UTF-8 sequence. */
        while (take > 0 && ((unsigned char)n->value[take] & 0xc0) == 0x80)
            take--;
    }
    buf[o++] = '\'';
    for (i = 0; i < take; i++) {
        unsigned char c = (unsigned char)n->value[i];

        /* One message, one line: control characters would split it. */
        buf[o++] = c < 0x20 || c == 0x7f ? '?' : (char)c;
    }
    if (take < n->len)
        for (i = 0; i < sizeof(dots) - 1; i++)
            buf[o++] = dots[i];
    buf[o++] = '\'';
    buf[o] = '\0';
    return buf;
}

void
vg_doc_free(struct vg_doc *doc)
{
    if (!doc)
        return;
    node_free(doc->root);
    free(doc->file);
    free(doc);
}

/* ---- reading files ----------------------------------------------------- */

/* Reads at most max bytes of path into a new NUL-terminated buffer.
 * 0, -EFBIG when longer, or a negative errno. */
static int
read_file(const char *path, size_t max, char **out, size_t *outlen)
{
    struct vg_buf b;
    int fd, rc = 0;

    vg_buf_init(&b);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
        return -errno;
    for (;;) {
        ssize_t n;

        vg_buf_reserve(&b, 65536);
        n = read(fd, b.data + b.len, b.cap - b.len - 1);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            rc = -errno;
            goto fail;
        }
        if (n == 0)
            break;
        b.len += (size_t)n;
        if (b.len > max) {
            rc = -EFBIG;
            goto fail;
        }
    }
    close(fd);
    b.data[b.len] = '\0';
    *out = b.data;
    *outlen = b.len;
    return 0;
fail:
    close(fd);
    vg_buf_release(&b);
    return rc;
}

/* ---- substitution ------------------------------------------------------ */

static int
valid_var_name(const char *s, size_t len)
{
    size_t i;

    if (!len || (s[0] >= '0' && s[0] <= '9'))
        return 0;
    for (i = 0; i < len; i++) {
        char c = s[i];

        if (!(c == '_' || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9')))
            return 0;
    }
    return 1;
}

/* Appends the file's content, less one trailing newline (files written by
 * editors and `echo` end with one; a secret never does). */
static int
expand_file(struct loader *ld, struct vg_node *n, const char *path,
            struct vg_buf *out)
{
    char *data = NULL, *full = NULL;
    size_t len;
    int rc;

    if (!*path) {
        node_error(ld, n, "empty path in '${file:}'");
        return -EINVAL;
    }
    /* Relative to the config file, so a key file can sit beside it
     * whatever the daemon's working directory is. */
    if (path[0] != '/' && ld->dir)
        path = full = vg_xasprintf("%s/%s", ld->dir, path);
    if ((rc = read_file(path, MAX_FILE_SUBST, &data, &len)) < 0) {
        if (rc == -EFBIG)
            node_error(ld, n, "cannot read '%s' for ${file:...}: larger "
                       "than 1 MiB", path);
        else
            node_error(ld, n, "cannot read '%s' for ${file:...}: %s", path,
                       strerror(-rc));
        rc = -EINVAL;
        goto out;
    }
    if (len && data[len - 1] == '\n')
        len--;
    if (memchr(data, '\0', len)) {
        node_error(ld, n, "'%s' for ${file:...} contains a NUL byte", path);
        rc = -EINVAL;
        goto out;
    }
    vg_buf_add(out, data, len);
out:
    free(data);
    free(full);
    return rc;
}

/* Expands the text between "${" and "}". */
static int
expand_one(struct loader *ld, struct vg_node *n, const char *expr,
           size_t len, struct vg_buf *out)
{
    const char *dflt = memchr(expr, ':', len);
    size_t namelen = dflt ? (size_t)(dflt - expr) : len;
    char *name;
    const char *val;
    int rc = 0;

    if (len >= 5 && memcmp(expr, "file:", 5) == 0) {
        char *path = vg_xstrndup(expr + 5, len - 5);

        rc = expand_file(ld, n, path, out);
        free(path);
        return rc;
    }
    if (dflt && (dflt + 1 == expr + len || dflt[1] != '-')) {
        dflt = NULL;                    /* reported as a bad name below */
        namelen = len;
    }
    if (!valid_var_name(expr, namelen)) {
        node_error(ld, n, "invalid variable reference '${%.*s}' (expected "
                   "${NAME}, ${NAME:-default} or ${file:PATH})", (int)len,
                   expr);
        return -EINVAL;
    }
    name = vg_xstrndup(expr, namelen);
    val = getenv(name);
    if (dflt && (!val || !*val)) {
        dflt += 2;
        vg_buf_add(out, dflt, len - (size_t)(dflt - expr));
    } else if (!val) {
        node_error(ld, n, "environment variable '%s' is not set", name);
        rc = -EINVAL;
    } else {
        vg_buf_addstr(out, val);
    }
    free(name);
    return rc;
}

/* Fills n->value from the scalar's text, expanding ${...}; "$${" is a
 * literal "${".  Errors leave the node with what was expanded so far. */
static void
substitute(struct loader *ld, struct vg_node *n, const char *s, size_t len)
{
    struct vg_buf out;
    size_t i = 0;

    vg_buf_init(&out);
    vg_buf_reserve(&out, len);
    while (i < len) {
        if (s[i] == '$' && i + 2 < len && s[i + 1] == '$' &&
            s[i + 2] == '{') {
            vg_buf_add(&out, "${", 2);
            i += 3;
        } else if (s[i] == '$' && i + 1 < len && s[i + 1] == '{') {
            const char *close = memchr(s + i + 2, '}', len - i - 2);

            if (!close) {
                node_error(ld, n, "unterminated '${' (missing '}'; write "
                           "'$${' for a literal '${')");
                break;
            }
            n->secret = 1;
            if (expand_one(ld, n, s + i + 2, (size_t)(close - s) - i - 2,
                           &out) < 0)
                break;
            i = (size_t)(close - s) + 1;
        } else {
            vg_buf_addch(&out, s[i++]);
        }
    }
    out.data[out.len] = '\0';          /* reserved above, even for "" */
    n->value = out.data;
    n->len = out.len;
}

/* ---- building the tree ------------------------------------------------- */

static int
next_event(struct loader *ld, yaml_event_t *ev)
{
    const yaml_parser_t *p = &ld->parser;
    int line = 1, col = 1;
    size_t i;

    if (yaml_parser_parse(&ld->parser, ev))
        return 0;
    ld->fatal = 1;
    if (p->error == YAML_READER_ERROR) {
        /* The reader reports a byte offset; turn it into line:col. */
        for (i = 0; i < p->problem_offset && i < ld->len; i++, col++) {
            if (ld->text[i] == '\n') {
                line++;
                col = 0;
            }
        }
        load_error(ld, line, col, "invalid YAML: %s",
                   p->problem ? p->problem : "unreadable input");
    } else if (p->context) {
        load_error(ld, (int)p->problem_mark.line + 1,
                   (int)p->problem_mark.column + 1,
                   "invalid YAML: %s (%s at %d:%d)",
                   p->problem ? p->problem : "syntax error", p->context,
                   (int)p->context_mark.line + 1,
                   (int)p->context_mark.column + 1);
    } else {
        load_error(ld, (int)p->problem_mark.line + 1,
                   (int)p->problem_mark.column + 1, "invalid YAML: %s",
                   p->problem ? p->problem : "syntax error");
    }
    return -EINVAL;
}

/* Anchors and custom tags: refused, since nothing downstream would honour
 * them and a silently ignored "!secret" or "&x" surprises.  Returns 1 when
 * an explicit !!str tag makes a scalar a string. */
static int
check_props(struct loader *ld, const yaml_event_t *ev,
            const yaml_char_t *anchor, const yaml_char_t *tag)
{
    int line = (int)ev->start_mark.line + 1;
    int col = (int)ev->start_mark.column + 1;
    const char *t = (const char *)tag;

    if (anchor)
        load_error(ld, line, col, "YAML anchors ('&%s') are not supported",
                   (const char *)anchor);
    if (!t)
        return 0;
    if (strncmp(t, YAML_STD_TAG, strlen(YAML_STD_TAG)) != 0) {
        load_error(ld, line, col, "unsupported YAML tag '%s'", t);
        return 0;
    }
    return strcmp(t + strlen(YAML_STD_TAG), "str") == 0;
}

static struct vg_node *load_node(struct loader *ld, yaml_event_t *ev,
                                 int depth, int is_key);

static void
node_append(struct vg_node *n, struct vg_node *key, struct vg_node *val)
{
    if (n->type == VG_NODE_MAP) {
        n->keys = vg_xrealloc(n->keys, (n->n + 1) * sizeof(*n->keys));
        n->keys[n->n] = key;
    }
    n->vals = vg_xrealloc(n->vals, (n->n + 1) * sizeof(*n->vals));
    n->vals[n->n++] = val;
}

static void
load_seq_items(struct loader *ld, struct vg_node *n, int depth)
{
    yaml_event_t ev;

    while (!ld->fatal && next_event(ld, &ev) == 0) {
        struct vg_node *item;

        if (ev.type == YAML_SEQUENCE_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        if ((item = load_node(ld, &ev, depth + 1, 0)))
            node_append(n, NULL, item);
    }
}

static void
load_map_items(struct loader *ld, struct vg_node *n, int depth)
{
    yaml_event_t ev;

    while (!ld->fatal && next_event(ld, &ev) == 0) {
        struct vg_node *key, *val;
        size_t i;

        if (ev.type == YAML_MAPPING_END_EVENT) {
            yaml_event_delete(&ev);
            break;
        }
        key = load_node(ld, &ev, depth + 1, 1);
        if (ld->fatal || next_event(ld, &ev) < 0) {
            node_free(key);
            break;
        }
        val = load_node(ld, &ev, depth + 1, 0);
        if (!key || !val) {             /* an alias: already reported */
            node_free(key);
            node_free(val);
            continue;
        }
        if (key->type != VG_NODE_SCALAR) {
            node_error(ld, key, "mapping keys must be scalars, got %s",
                       vg_node_type_name(key->type));
            node_free(key);
            node_free(val);
            continue;
        }
        for (i = 0; i < n->n; i++)
            if (strcmp(n->keys[i]->value, key->value) == 0)
                break;
        if (i < n->n) {
            char shown[64];

            node_error(ld, key, "duplicate key %s (first at %d:%d)",
                       vg_node_show(key, shown, sizeof(shown)),
                       n->keys[i]->line, n->keys[i]->col);
            node_free(key);
            node_free(val);
            continue;
        }
        node_append(n, key, val);
    }
}

/* Consumes ev.  NULL for an alias (reported) or after a fatal error. */
static struct vg_node *
load_node(struct loader *ld, yaml_event_t *ev, int depth, int is_key)
{
    struct vg_node *n = NULL;
    int line = (int)ev->start_mark.line + 1;
    int col = (int)ev->start_mark.column + 1;

    if (depth > MAX_DEPTH && (ev->type == YAML_SEQUENCE_START_EVENT ||
                              ev->type == YAML_MAPPING_START_EVENT)) {
        load_error(ld, line, col, "nesting deeper than %d levels",
                   MAX_DEPTH);
        ld->fatal = 1;
        goto out;
    }
    switch (ev->type) {
    case YAML_ALIAS_EVENT:
        load_error(ld, line, col, "YAML aliases ('*%s') are not supported",
                   (const char *)ev->data.alias.anchor);
        break;
    case YAML_SCALAR_EVENT: {
        const char *v = (const char *)ev->data.scalar.value;
        size_t len = ev->data.scalar.length;
        yaml_scalar_style_t st = ev->data.scalar.style;

        n = node_new(ld, VG_NODE_SCALAR, ev->start_mark);
        n->quoted = st == YAML_SINGLE_QUOTED_SCALAR_STYLE ||
                    st == YAML_DOUBLE_QUOTED_SCALAR_STYLE;
        if (check_props(ld, ev, ev->data.scalar.anchor, ev->data.scalar.tag))
            n->quoted = 1;
        if (memchr(v, '\0', len))
            node_error(ld, n, "NUL byte in value");
        /* Keys name options and labels: they are never substituted. */
        if (is_key) {
            n->value = vg_xstrndup(v, len);
            n->len = len;
        } else {
            substitute(ld, n, v, len);
        }
        break;
    }
    case YAML_SEQUENCE_START_EVENT:
        n = node_new(ld, VG_NODE_SEQ, ev->start_mark);
        check_props(ld, ev, ev->data.sequence_start.anchor,
                    ev->data.sequence_start.tag);
        load_seq_items(ld, n, depth);
        break;
    case YAML_MAPPING_START_EVENT:
        n = node_new(ld, VG_NODE_MAP, ev->start_mark);
        check_props(ld, ev, ev->data.mapping_start.anchor,
                    ev->data.mapping_start.tag);
        load_map_items(ld, n, depth);
        break;
    default:
        /* libyaml guarantees a node event here; a stream or document
         * event would be a bug of the parser, not of the input. */
        load_error(ld, line, col, "invalid YAML: unexpected event %d",
                   (int)ev->type);
        ld->fatal = 1;
        break;
    }
out:
    yaml_event_delete(ev);
    return n;
}

/* A document that is only "---" or "~" is as empty as an empty file. */
static int
is_empty_root(const struct vg_node *n)
{
    return n && n->type == VG_NODE_SCALAR && !n->quoted && !n->secret &&
           (n->len == 0 || strcmp(n->value, "~") == 0 ||
            strcmp(n->value, "null") == 0);
}

static void
load_stream(struct loader *ld)
{
    yaml_event_t ev;

    if (next_event(ld, &ev) < 0)                /* stream start */
        return;
    yaml_event_delete(&ev);
    if (next_event(ld, &ev) < 0)
        return;
    if (ev.type == YAML_STREAM_END_EVENT) {     /* empty or comments only */
        yaml_event_delete(&ev);
        return;
    }
    yaml_event_delete(&ev);                     /* document start */
    if (next_event(ld, &ev) < 0)
        return;
    ld->doc->root = load_node(ld, &ev, 0, 0);
    if (ld->fatal || next_event(ld, &ev) < 0)   /* document end */
        return;
    yaml_event_delete(&ev);
    if (next_event(ld, &ev) < 0)
        return;
    if (ev.type == YAML_DOCUMENT_START_EVENT)
        load_error(ld, (int)ev.start_mark.line + 1,
                   (int)ev.start_mark.column + 1,
                   "more than one YAML document ('---'): the config is one "
                   "document");
    yaml_event_delete(&ev);
}

static int
load_text(const char *name, const char *dir, const char *text, size_t len,
          struct vg_doc **out, struct vg_errors *err)
{
    struct loader ld;
    struct vg_doc *doc = vg_xcalloc(1, sizeof(*doc));

    doc->file = vg_xstrdup(name ? name : "<embedded>");
    memset(&ld, 0, sizeof(ld));
    ld.dir = dir;
    ld.text = text;
    ld.len = len;
    ld.doc = doc;
    ld.err = err;
    if (!yaml_parser_initialize(&ld.parser)) {
        vg_errors_addf(err, "%s: cannot initialize the YAML parser",
                       doc->file);
        goto fail;
    }
    yaml_parser_set_input_string(&ld.parser, (const unsigned char *)text,
                                 len);
    load_stream(&ld);
    yaml_parser_delete(&ld.parser);
    if (ld.bad || ld.fatal)
        goto fail;
    if (is_empty_root(doc->root)) {
        node_free(doc->root);
        doc->root = NULL;
    }
    *out = doc;
    return 0;
fail:
    vg_doc_free(doc);
    *out = NULL;
    return -EINVAL;
}

int
vg_doc_load_string(const char *name, const char *text, size_t len,
                   struct vg_doc **out, struct vg_errors *err)
{
    return load_text(name, NULL, text, len, out, err);
}

int
vg_doc_load_file(const char *path, struct vg_doc **out,
                 struct vg_errors *err)
{
    const char *slash = strrchr(path, '/');
    char *text = NULL, *dir;
    size_t len = 0;
    int rc;

    *out = NULL;
    if ((rc = read_file(path, MAX_CONFIG_SIZE, &text, &len)) < 0) {
        if (rc == -EFBIG)
            vg_errors_addf(err, "cannot read '%s': larger than %d MiB", path,
                           MAX_CONFIG_SIZE >> 20);
        else
            vg_errors_addf(err, "cannot read '%s': %s", path, strerror(-rc));
        return -EINVAL;
    }
    dir = !slash ? NULL
          : vg_xstrndup(path, slash == path ? 1 : (size_t)(slash - path));
    rc = load_text(path, dir, text, len, out, err);
    free(dir);
    free(text);
    return rc;
}
