/* Test plugin: an option schema whose default does not parse. */
#include <vigil/plugin.h>

struct tp_conf {
    int64_t interval;
};

static const struct vg_option tp_options[] = {
    { .name = "interval", .type = VG_OPT_DURATION, .def = "10q",
      .offset = offsetof(struct tp_conf, interval), .help = "broken" },
    { 0 }
};

static int
tp_start(struct vg_instance *in)
{
    (void)in;
    return 0;
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "tp_bad_schema",
    .summary = "test input with a broken default",
    .options = tp_options,
    .conf_size = sizeof(struct tp_conf),
    .start = tp_start,
};
