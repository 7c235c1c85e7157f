/*
 * Trackers and their sources.  A source is freed when the input is gone
 * and no tracker points at it, so a late settle never touches freed
 * memory.
 */
#include <stdlib.h>

#include <vigil/plugin.h>

#include "ack.h"
#include "instance.h"
#include "util.h"

static void
source_unref(struct vg_ack_source *src)
{
    if (--src->refs == 0)
        free(src);
}

struct vg_ack_source *
vg_ack_source_new(struct vg_instance *input)
{
    struct vg_ack_source *src = vg_xcalloc(1, sizeof(*src));

    src->input = input;
    src->refs = 1;              /* the input's */
    return src;
}

void
vg_ack_source_close(struct vg_ack_source *src)
{
    if (!src)
        return;
    src->input = NULL;
    source_unref(src);
}

struct vg_ack *
vg_ack_new(struct vg_ack_source *src, uint64_t cookie)
{
    struct vg_ack *a = vg_xcalloc(1, sizeof(*a));

    a->src = src;
    a->cookie = cookie;
    a->refs = 1;
    src->refs++;
    src->pending++;
    return a;
}

void
vg_ack_ref(struct vg_ack *a)
{
    if (a)
        a->refs++;
}

void
vg_ack_lost(struct vg_ack *a)
{
    if (a)
        a->lost = 1;
}

void
vg_ack_unref(struct vg_ack *a)
{
    struct vg_ack_source *src;
    struct vg_instance *in;

    if (!a || --a->refs > 0)
        return;
    src = a->src;
    src->pending--;
    in = src->input;
    if (!a->lost && in && in->plugin->commit)
        in->plugin->commit(in, a->cookie);
    source_unref(src);
    free(a);
}
