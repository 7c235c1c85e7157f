/* Test plugin: a well-formed output that counts what it is given. */
#include <vigil/plugin.h>

struct tp_conf {
    char    *tag;
    int64_t  limit;
};

static const struct vg_option tp_options[] = {
    { .name = "tag", .type = VG_OPT_STR, .def = "t",
      .offset = offsetof(struct tp_conf, tag), .help = "a tag" },
    { .name = "limit", .type = VG_OPT_INT, .def = "3",
      .offset = offsetof(struct tp_conf, limit), .help = "a limit" },
    { 0 }
};

static void
tp_flush(struct vg_instance *in, struct vg_batch *b, struct vg_flush *fl)
{
    (void)b;
    vg_flush_done(in, fl, VG_OK, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_OUTPUT,
    .name = "tp_good",
    .summary = "test output that accepts everything",
    .options = tp_options,
    .conf_size = sizeof(struct tp_conf),
    .flush = tp_flush,
};
