/*
 * The YAML config as a tree of nodes that remember where they came from
 * (file, line, column), so every later error can name its position.
 * ${VAR}, ${VAR:-default} and ${file:PATH} are substituted in scalars while
 * loading; a scalar that received a substitution is marked secret and its
 * value is never printed.
 *
 * Substitution rules: ${VAR:-default} takes the default when VAR is unset
 * or empty; ${file:PATH} reads at most 1 MiB and drops one trailing
 * newline, a relative PATH being relative to the config file's directory
 * (to the working directory for vg_doc_load_string); "$${" is a literal
 * "${"; substituted text is never scanned again; keys are never
 * substituted.  Refused: anchors, aliases, tags other than the standard
 * !!str, !!int ... (!!str makes a scalar `quoted`), several documents,
 * duplicate keys, non-scalar keys, NUL bytes, nesting deeper than 64.
 */
#ifndef VG_CONFIG_H
#define VG_CONFIG_H

#include <stddef.h>

#include "util.h"

enum vg_node_type {
    VG_NODE_SCALAR = 1,
    VG_NODE_MAP,
    VG_NODE_SEQ,
};

struct vg_node {
    enum vg_node_type  type;
    const char        *file;    /* borrowed from the vg_doc             */
    int                line;    /* 1-based                               */
    int                col;     /* 1-based                               */
    /* VG_NODE_SCALAR */
    char              *value;   /* NUL-terminated, after substitution    */
    size_t             len;
    int                quoted;  /* written with quotes: always a string  */
    int                secret;  /* value came through ${...}             */
    /* VG_NODE_MAP: keys[i] -> vals[i] (keys are scalars);
     * VG_NODE_SEQ: vals[i] */
    size_t             n;
    struct vg_node   **keys;
    struct vg_node   **vals;
};

struct vg_doc {
    char           *file;       /* path, or "<embedded>"                 */
    struct vg_node *root;       /* NULL for an empty document            */
};

/* Collected errors; each message starts with "file:line:col: " when it has
 * a position.  After 100 messages one "too many errors" line ends it. */
struct vg_errors {
    size_t  n;
    char  **msgs;
};

void vg_errors_init(struct vg_errors *e);
void vg_errors_release(struct vg_errors *e);
void vg_errors_add(struct vg_errors *e, const struct vg_node *at,
                   const char *fmt, ...) VG_FMT(3, 4);
/* For errors without a node (file cannot be opened): "file: msg". */
void vg_errors_addf(struct vg_errors *e, const char *fmt, ...) VG_FMT(2, 3);

/*
 * Load and parse.  0 with *out set (free with vg_doc_free), or -EINVAL with
 * *out NULL and the reasons in err (YAML syntax with position, undefined
 * variable, unreadable ${file:...}, anchors/aliases and duplicate keys
 * refused).  An empty document (no content, only comments, "---" or "~")
 * loads with root NULL.  name borrows; the doc keeps its own copy.
 */
int  vg_doc_load_file(const char *path, struct vg_doc **out,
                      struct vg_errors *err);
int  vg_doc_load_string(const char *name, const char *text, size_t len,
                        struct vg_doc **out, struct vg_errors *err);
void vg_doc_free(struct vg_doc *doc);

/* Map lookup; NULL when map is NULL, not a map, or has no such key. */
const struct vg_node *vg_node_get(const struct vg_node *map,
                                  const char *key);
/* The node's key in its parent map is not stored; callers pass names. */
const char *vg_node_type_name(enum vg_node_type t);   /* "a mapping" ... */
/* A scalar's value for messages: the value in single quotes (cut with
 * "..." to fit len, control characters as '?'), or "<secret>"; a mapping or
 * sequence gives its type name.  Returns buf or a static string. */
const char *vg_node_show(const struct vg_node *n, char *buf, size_t len);

#endif
