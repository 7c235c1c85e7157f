/* Test plugin: claims an ABI this vigil does not speak. */
#include <vigil/plugin.h>

static void
tp_flush(struct vg_instance *in, struct vg_batch *b, struct vg_flush *fl)
{
    (void)b;
    vg_flush_done(in, fl, VG_OK, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI + 1,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_OUTPUT,
    .name = "tp_old_abi",
    .summary = "test output built for another ABI",
    .flush = tp_flush,
};
