/*
 * Per-output queue: batches wait here until the output's flush callback
 * takes them, one flush in flight at a time so an output sees its batches
 * in order.  A flush ends as ok (next batch), retry (the same batch again
 * after an exponential backoff with full jitter, or a server's Retry-After)
 * or permanent (written to the dead-letter file, counted and logged).  One slow output never holds back another: each
 * has its own queue.
 */
#ifndef VG_OUTPUT_QUEUE_H
#define VG_OUTPUT_QUEUE_H

#include <ev.h>
#include <stddef.h>
#include <stdint.h>

struct vg_instance;
struct vg_batch;
struct vg_flush;
struct vg_oq;

struct vg_oq_conf {
    int64_t     retry_initial;          /* ns */
    int64_t     retry_max;              /* ns */
    int64_t     max_attempts;           /* 0 = retry forever */
    int64_t     max_memory;             /* bytes queued before "full" */
    const char *disk_dir;               /* disk buffer, or NULL */
    int64_t     disk_max_size;          /* bytes */
    int         disk_fsync;             /* enum vg_dbuf_fsync */
};

typedef void (*vg_oq_idle_fn)(struct vg_oq *q, void *arg);

/* 0, or a negative errno when the disk buffer cannot be opened (logged). */
int  vg_oq_new(struct vg_oq **out, struct vg_instance *inst,
               struct ev_loop *loop, const struct vg_oq_conf *conf);
/* Drops what is still queued (counted and logged); call it after the
 * output's destroy, which abandons a flush still in flight. */
void vg_oq_free(struct vg_oq *q);
/* The output is being destroyed: a flush it completes from now on starts
 * no other. */
void vg_oq_close(struct vg_oq *q);
/* Queues b; takes the caller's reference to b and takes its own
 * reference to the delivery tracker (NULL: untracked). */
struct vg_ack;
void vg_oq_push(struct vg_oq *q, struct vg_batch *b, struct vg_ack *ack);
/* 1 when nothing is queued or in flight. */
int  vg_oq_idle(const struct vg_oq *q);
/* Called each time the queue becomes idle. */
void vg_oq_on_idle(struct vg_oq *q, vg_oq_idle_fn fn, void *arg);
/* While draining, a retry is not delayed past this (mono ns; 0 = none). */
void vg_oq_set_deadline(struct vg_oq *q, int64_t deadline);

size_t vg_oq_batches(const struct vg_oq *q);
size_t vg_oq_volatile_batches(const struct vg_oq *q);  /* not on disk */
size_t vg_oq_bytes(const struct vg_oq *q);              /* in memory  */
uint64_t vg_oq_disk_bytes(const struct vg_oq *q);
/* Age of the oldest undelivered batch (ns), 0 when empty. */
int64_t vg_oq_oldest_age(const struct vg_oq *q);

/* Flush latency histogram bounds (s); a last bucket counts the rest. */
#define VG_OQ_LATENCY_BUCKETS 10
extern const double vg_oq_latency_bounds[VG_OQ_LATENCY_BUCKETS - 1];

struct vg_oq_stats {
    size_t          batches;            /* queued, in memory or on disk   */
    size_t          volatile_batches;   /* not in the disk buffer         */
    size_t          bytes;              /* in memory                      */
    uint64_t        disk_bytes;
    int64_t         oldest_age;         /* ns                              */
    int64_t         failing_for;        /* ns since the first failure
                                           after the last success; 0: ok */
    int64_t         last_error_at;      /* wall ns, 0: never              */
    const char     *last_error;         /* "" when none                   */
    const uint64_t *latency_counts;     /* VG_OQ_LATENCY_BUCKETS          */
    double          latency_sum;        /* s                              */
    uint64_t        latency_count;
};

void vg_oq_stats(const struct vg_oq *q, struct vg_oq_stats *st);
int64_t vg_oq_max_memory(const struct vg_oq *q);

/* Full: as many bytes queued as max_memory allows. */
int  vg_oq_full(const struct vg_oq *q);
/* Called when a full queue drains to half of max_memory. */
void vg_oq_on_space(struct vg_oq *q, vg_oq_idle_fn fn, void *arg);

/* The flush API: fl came from this queue's flush call.  A permanent
 * failure, or a retry past max_attempts, dead-letters the batch. */
void vg_oq_flush_done(struct vg_flush *fl, int outcome, const char *reason);
/* VG_RETRY after at least `after` ns (a server's Retry-After). */
void vg_oq_flush_retry_after(struct vg_flush *fl, int64_t after,
                             const char *reason);

#endif
