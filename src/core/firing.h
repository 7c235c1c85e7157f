/*
 * The alerts firing right now, as seen passing through the pipelines: a
 * firing event adds or refreshes one (by fingerprint), a resolved event
 * removes it.  For /api/v1/alerts and the status page; bounded.
 */
#ifndef VG_FIRING_H
#define VG_FIRING_H

#include <stddef.h>
#include <stdint.h>

struct vg_batch;

#define VG_FIRING_MAX 1024

struct vg_firing_alert {
    uint64_t fingerprint;
    char    *rule;
    char    *summary;
    char    *pipeline;
    char    *labels_json;               /* {"k":"v",...} */
    int      severity;                  /* enum vg_alert_severity */
    double   value;
    int64_t  starts_at;                 /* ns */
    int64_t  last_seen;                 /* ns, wall */
};

struct vg_firing {
    struct vg_firing_alert *v;
    size_t                  n;
    uint64_t                dropped;    /* past VG_FIRING_MAX */
};

void vg_firing_release(struct vg_firing *f);
/* Notes the alert events of b (a batch that reached the outputs). */
void vg_firing_note(struct vg_firing *f, const char *pipeline,
                    const struct vg_batch *b);

#endif
