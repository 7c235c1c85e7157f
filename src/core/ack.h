/*
 * Delivery tracking for at-least-once.  A tracker stands for one batch an
 * input emitted with a cookie; every batch made from it (filters derive
 * theirs) holds a reference.  When the last reference goes and no copy was
 * lost on the way, the input's commit(cookie) runs: the events are durable
 * (delivered, in a disk buffer, or dead-lettered).  A copy dropped without
 * that (queue full, shutdown deadline) marks the tracker lost, and the
 * input is never told: it reads the events again after a restart.
 */
#ifndef VG_ACK_H
#define VG_ACK_H

#include <stdint.h>

struct vg_instance;

/* The input side of trackers; outlives the input while trackers remain,
 * and forgets the input when it is destroyed. */
struct vg_ack_source {
    struct vg_instance *input;          /* NULL once the input is gone */
    unsigned            refs;
    uint64_t            pending;        /* trackers not settled yet */
};

struct vg_ack {
    struct vg_ack_source *src;
    uint64_t              cookie;
    unsigned              refs;
    int                   lost;
};

struct vg_ack_source *vg_ack_source_new(struct vg_instance *input);
/* The input is being destroyed: no commit reaches it from now on. */
void vg_ack_source_close(struct vg_ack_source *src);

struct vg_ack *vg_ack_new(struct vg_ack_source *src, uint64_t cookie);
void vg_ack_ref(struct vg_ack *a);
void vg_ack_unref(struct vg_ack *a);    /* NULL is a no-op */
void vg_ack_lost(struct vg_ack *a);     /* NULL is a no-op */

#endif
