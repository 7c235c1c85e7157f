/*
 * Firing alerts table.  A linear array: alerts that fire at once are few,
 * and the scan only runs for batches that hold alert events.
 */
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "firing.h"
#include "json.h"
#include "util.h"

static void
alert_release(struct vg_firing_alert *a)
{
    free(a->rule);
    free(a->summary);
    free(a->pipeline);
    free(a->labels_json);
}

void
vg_firing_release(struct vg_firing *f)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        alert_release(&f->v[i]);
    free(f->v);
    memset(f, 0, sizeof(*f));
}

static struct vg_firing_alert *
find(struct vg_firing *f, uint64_t fp)
{
    size_t i;

    for (i = 0; i < f->n; i++)
        if (f->v[i].fingerprint == fp)
            return &f->v[i];
    return NULL;
}

static char *
labels_json(const struct vg_event *ev)
{
    struct vg_buf b;
    uint32_t i;

    vg_buf_init(&b);
    vg_buf_addch(&b, '{');
    for (i = 0; i < ev->nlabels; i++) {
        if (i)
            vg_buf_addch(&b, ',');
        vg_json_string(&b, ev->labels[i].key, ev->labels[i].key_len);
        vg_buf_addch(&b, ':');
        vg_json_string(&b, ev->labels[i].v.s, ev->labels[i].len);
    }
    vg_buf_addch(&b, '}');
    return b.data;
}

void
vg_firing_note(struct vg_firing *f, const char *pipeline,
               const struct vg_batch *b)
{
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;

    if (!b->alerts)
        return;
    while (vg_batch_next_raw(b, &it, &ev)) {
        struct vg_firing_alert *a;

        if (ev.kind != VG_EV_ALERT)
            continue;
        a = find(f, ev.hash);
        if (ev.alert_state == VG_ALERT_RESOLVED) {
            if (a) {
                alert_release(a);
                *a = f->v[--f->n];
            }
            continue;
        }
        if (!a) {
            if (f->n == VG_FIRING_MAX) {
                f->dropped++;
                continue;
            }
            f->v = vg_xrealloc(f->v, (f->n + 1) * sizeof(*f->v));
            a = &f->v[f->n++];
            memset(a, 0, sizeof(*a));
            a->fingerprint = ev.hash;
        }
        alert_release(a);
        a->rule = vg_xstrdup(ev.rule ? ev.rule : "");
        a->summary = vg_xstrdup(ev.summary ? ev.summary : "");
        a->pipeline = vg_xstrdup(pipeline);
        a->labels_json = labels_json(&ev);
        a->severity = (int)ev.alert_severity;
        a->value = ev.value;
        a->starts_at = ev.starts_at ? ev.starts_at : ev.time;
        a->last_seen = vg_wall_ns();
    }
    vg_iter_release_raw(&it);
}
