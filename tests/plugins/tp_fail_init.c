/* Test plugin: an input whose init fails, for config and reload tests. */
#include <errno.h>

#include <vigil/plugin.h>

static int
tp_init(struct vg_instance *in, void *conf)
{
    (void)conf;
    vg_log(in, VG_LOG_ERROR, "refusing to start: this plugin always fails");
    return -ECONNREFUSED;
}

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
    .name = "tp_fail_init",
    .summary = "test input whose init always fails",
    .init = tp_init,
    .start = tp_start,
};
