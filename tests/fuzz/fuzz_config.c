/*
 * libFuzzer target: the YAML config loader and the option schema filler.
 * The input is loaded as a config document (vg_doc_load_string), every
 * node is shown as error messages show it, and the schema below, which
 * has an option of every type, is applied to the root mapping and to each
 * mapping one and two levels below it (where real configs keep their
 * plugin instances), then released.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"
#include "options.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

struct fz_item {
    char    *name;
    int64_t  weight;
    int      kind;
};

struct fz_conf {
    char            *str;
    char            *token;
    int64_t          count;
    double           ratio;
    int              enabled;
    int64_t          interval;
    int64_t          max_size;
    int              format;
    struct vg_strv   tags;
    struct vg_map    labels;
    int              tls_verify;    /* OBJECT tls */
    char            *tls_ca;
    int64_t          retry_initial; /* OBJECT retry, inside OBJECT tls */
    struct vg_list   items;
};

static const struct vg_option retry_options[] = {
    { .name = "initial", .type = VG_OPT_DURATION, .def = "1s",
      .offset = offsetof(struct fz_conf, retry_initial) },
    { 0 }
};

static const struct vg_option tls_options[] = {
    { .name = "verify", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct fz_conf, tls_verify) },
    { .name = "ca", .type = VG_OPT_STR,
      .offset = offsetof(struct fz_conf, tls_ca) },
    { .name = "retry", .type = VG_OPT_OBJECT, .sub = retry_options },
    { 0 }
};

static const struct vg_option item_options[] = {
    { .name = "name", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct fz_item, name) },
    { .name = "weight", .type = VG_OPT_INT, .def = "1",
      .offset = offsetof(struct fz_item, weight) },
    { .name = "kind", .type = VG_OPT_ENUM, .def = "a", .choices = "a|b|c",
      .offset = offsetof(struct fz_item, kind) },
    { 0 }
};

static const struct vg_option fz_options[] = {
    { .name = "str", .type = VG_OPT_STR, .def = "x",
      .offset = offsetof(struct fz_conf, str) },
    { .name = "token", .type = VG_OPT_STR, .flags = VG_OPT_SECRET,
      .offset = offsetof(struct fz_conf, token) },
    { .name = "count", .type = VG_OPT_INT, .def = "10",
      .offset = offsetof(struct fz_conf, count) },
    { .name = "ratio", .type = VG_OPT_DOUBLE, .def = "0.5",
      .offset = offsetof(struct fz_conf, ratio) },
    { .name = "enabled", .type = VG_OPT_BOOL, .def = "false",
      .offset = offsetof(struct fz_conf, enabled) },
    { .name = "interval", .type = VG_OPT_DURATION, .def = "10s",
      .offset = offsetof(struct fz_conf, interval) },
    { .name = "max_size", .type = VG_OPT_SIZE, .def = "64MiB",
      .offset = offsetof(struct fz_conf, max_size) },
    { .name = "format", .type = VG_OPT_ENUM, .def = "json",
      .choices = "json|text|logfmt",
      .offset = offsetof(struct fz_conf, format) },
    { .name = "tags", .type = VG_OPT_STRLIST,
      .offset = offsetof(struct fz_conf, tags) },
    { .name = "labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct fz_conf, labels) },
    { .name = "tls", .type = VG_OPT_OBJECT, .sub = tls_options },
    { .name = "items", .type = VG_OPT_LIST, .sub = item_options,
      .elem_size = sizeof(struct fz_item),
      .offset = offsetof(struct fz_conf, items) },
    { 0 }
};

static const char *const skip[] = { "name", "alias", NULL };

int
LLVMFuzzerInitialize(int *argc, char ***argv)
{
    char why[256];

    (void)argc;
    (void)argv;
    /* A schema the core refuses would make every run meaningless. */
    if (vg_options_check_conf(fz_options, sizeof(struct fz_conf), why,
                              sizeof(why)) < 0) {
        fprintf(stderr, "fuzz_config: bad schema: %s\n", why);
        abort();
    }
    /* Variables the seeds substitute; ${file:...} stays as it is. */
    setenv("VIGIL_FUZZ", "value", 1);
    setenv("VIGIL_FUZZ_EMPTY", "", 1);
    return 0;
}

static void
apply(const struct vg_node *map)
{
    struct vg_errors err;
    struct fz_conf conf;

    memset(&conf, 0, sizeof(conf));
    vg_errors_init(&err);
    vg_options_apply(fz_options, map, &conf, "input 'fuzz'", skip, &err);
    vg_options_release(fz_options, &conf);
    vg_errors_release(&err);
}

/* Shows every node, and applies the schema to mappings down to depth 2. */
static void
walk(const struct vg_node *n, int depth)
{
    char buf[64];
    size_t i;

    vg_node_show(n, buf, sizeof(buf));
    if (n->type == VG_NODE_SCALAR)
        return;
    if (n->type == VG_NODE_MAP) {
        if (depth <= 2)
            apply(n);
        vg_node_get(n, "name");
    }
    for (i = 0; i < n->n; i++) {
        if (n->type == VG_NODE_MAP)
            vg_node_show(n->keys[i], buf, sizeof(buf));
        walk(n->vals[i], depth + 1);
    }
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_errors err;
    struct vg_doc *doc = NULL;

    vg_errors_init(&err);
    if (vg_doc_load_string("fuzz.yaml", (const char *)data, size, &doc,
                           &err) == 0 && doc->root)
        walk(doc->root, 0);
    vg_doc_free(doc);
    vg_errors_release(&err);
    return 0;
}
