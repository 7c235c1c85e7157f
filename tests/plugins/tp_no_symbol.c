/* Test plugin: a shared object without the vg_plugin descriptor. */
#include <vigil/plugin.h>

VG_PUBLIC int tp_not_a_plugin(void);

int
tp_not_a_plugin(void)
{
    return 42;
}
