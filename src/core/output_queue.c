/*
 * Output queue.  Completion may come inside the flush callback or later
 * from the loop; `kicking` makes both paths start the next flush from one
 * place, so a synchronous output cannot recurse once per batch.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/plugin.h>

#include "ack.h"
#include "batch.h"
#include "dead_letter.h"
#include "disk_buffer.h"
#include "instance.h"
#include "log.h"
#include "output_queue.h"
#include "util.h"

struct qnode {
    struct vg_batch *b;                 /* NULL: only in the disk buffer  */
    struct vg_ack   *ack;               /* until durable for this output  */
    struct vg_dpos   pos;               /* on_disk: where                 */
    int              on_disk;
    unsigned         attempts;          /* flushes that asked to retry    */
    int64_t          queued;            /* mono ns                        */
    struct qnode    *next;
};

struct vg_flush {
    struct vg_oq *q;
    struct qnode *node;
    int64_t       started;              /* mono ns */
};

struct vg_oq {
    struct vg_instance *out;
    struct ev_loop     *loop;
    struct vg_oq_conf   conf;
    struct qnode       *head;
    struct qnode       *tail;
    size_t              nbatches;
    size_t              volatile_nodes; /* not in the disk buffer         */
    size_t              bytes;          /* batches held in memory         */
    struct vg_flush    *inflight;
    int                 kicking;
    int                 closed;         /* output destroyed: no new flush */
    int                 waiting;        /* retry timer armed              */
    ev_timer            retry;
    int64_t             deadline;
    vg_oq_idle_fn       idle_fn;
    void               *idle_arg;
    vg_oq_idle_fn       space_fn;
    void               *space_arg;
    int                 was_full;
    uint64_t            rng;
    struct vg_dbuf     *dbuf;
    int                 disk_ok;        /* the last append succeeded      */
    int64_t             failing_since;  /* mono ns; 0 while healthy       */
    int64_t             last_error_at;  /* wall ns                        */
    char                last_error[256];
    uint64_t            lat_counts[VG_OQ_LATENCY_BUCKETS];
    double              lat_sum;        /* s */
    uint64_t            lat_count;
    ev_timer            sync;           /* fsync interval, cursor save    */
};

const double vg_oq_latency_bounds[VG_OQ_LATENCY_BUCKETS - 1] = {
    0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5, 30,
};

static void kick(struct vg_oq *q);

static void
on_retry(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct vg_oq *q = w->data;

    (void)loop;
    (void)revents;
    q->waiting = 0;
    kick(q);
}

static void
on_sync(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct vg_oq *q = w->data;

    (void)loop;
    (void)revents;
    vg_dbuf_sync(q->dbuf);
}

static void
link_node(struct vg_oq *q, struct qnode *n)
{
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->nbatches++;
    if (!n->on_disk)
        q->volatile_nodes++;
    if (n->b)
        q->bytes += vg_batch_bytes_raw(n->b);
}

/* A record found in the disk buffer at start: queued as disk-only. */
static void
on_replay(void *arg, const struct vg_dpos *pos, size_t bytes)
{
    struct vg_oq *q = arg;
    struct qnode *n = vg_xcalloc(1, sizeof(*n));

    (void)bytes;
    n->pos = *pos;
    n->on_disk = 1;
    n->queued = vg_mono_ns();
    link_node(q, n);
}

int
vg_oq_new(struct vg_oq **out, struct vg_instance *inst, struct ev_loop *loop,
          const struct vg_oq_conf *conf)
{
    struct vg_oq *q = vg_xcalloc(1, sizeof(*q));
    int rc;

    q->out = inst;
    q->loop = loop;
    q->conf = *conf;
    q->rng = (uint64_t)vg_mono_ns() ^ (uint64_t)(uintptr_t)q;
    ev_init(&q->retry, on_retry);
    q->retry.data = q;
    ev_init(&q->sync, on_sync);
    q->sync.data = q;
    if (conf->disk_dir) {
        rc = vg_dbuf_open(&q->dbuf, conf->disk_dir, conf->disk_max_size,
                          conf->disk_fsync, inst->name, on_replay, q);
        if (rc < 0) {
            vg_log_who(VG_LOG_ERROR, inst->name, "oq-dbuf-open", "cannot "
                       "open the disk buffer '%s': %s%s", conf->disk_dir,
                       vg_strerror(rc), rc == -EBUSY ? " (another agent "
                       "uses it)" : "");
            vg_oq_free(q);
            return rc;
        }
        q->disk_ok = 1;
        if (q->nbatches)
            vg_log_who(VG_LOG_INFO, inst->name, "oq-dbuf-replay", "%zu "
                       "batches in the disk buffer from an earlier run will "
                       "be sent", q->nbatches);
        ev_timer_set(&q->sync, 1., 1.);
        ev_timer_start(loop, &q->sync);
    }
    *out = q;
    return 0;
}

static void
node_free(struct vg_oq *q, struct qnode *n)
{
    q->nbatches--;
    if (!n->on_disk)
        q->volatile_nodes--;
    if (n->b) {
        q->bytes -= vg_batch_bytes_raw(n->b);
        vg_batch_unref_raw(n->b);
    }
    vg_ack_unref(n->ack);
    free(n);
}

void
vg_oq_free(struct vg_oq *q)
{
    size_t lost = 0, kept = 0;

    if (!q)
        return;
    ev_timer_stop(q->loop, &q->retry);
    ev_timer_stop(q->loop, &q->sync);
    while (q->head) {
        struct qnode *n = q->head;

        q->head = n->next;
        if (n->on_disk) {
            kept++;             /* sent at the next start */
        } else {
            lost += vg_batch_count_raw(n->b);
            vg_ack_lost(n->ack);
        }
        if (q->inflight && q->inflight->node == n) {
            /* The output was destroyed before it answered. */
            free(q->inflight);
            q->inflight = NULL;
        }
        node_free(q, n);
    }
    if (lost) {
        vg_log_who(VG_LOG_WARN, q->out->name, "oq-lost",
                   "%zu events were still queued and are dropped", lost);
        vg_instance_count(q->out, "dropped_shutdown", (int64_t)lost);
    }
    if (kept)
        vg_log_who(VG_LOG_INFO, q->out->name, "oq-kept", "%zu batches stay "
                   "in the disk buffer for the next start", kept);
    vg_dbuf_close(q->dbuf);
    free(q);
}

/* Disk first when there is one: durable for this output as soon as it is
 * written, and memory keeps a copy only while there is room. */
void
vg_oq_push(struct vg_oq *q, struct vg_batch *b, struct vg_ack *ack)
{
    struct qnode *n = vg_xcalloc(1, sizeof(*n));
    size_t bytes = vg_batch_bytes_raw(b);
    int rc;

    n->b = b;
    n->ack = ack;
    vg_ack_ref(ack);
    q->out->batches_in++;
    q->out->events_in += vg_batch_count_raw(b);
    n->queued = vg_mono_ns();
    if (q->dbuf) {
        vg_batch_seal(b);
        rc = vg_dbuf_append(q->dbuf, b, &n->pos);
        if (rc == 0) {
            n->on_disk = 1;
            vg_ack_unref(n->ack);
            n->ack = NULL;
            if (q->conf.max_memory > 0 &&
                q->bytes + bytes > (size_t)q->conf.max_memory) {
                vg_batch_unref_raw(b);
                n->b = NULL;
            }
        } else if (q->disk_ok) {
            vg_log_who(rc == -ENOSPC ? VG_LOG_WARN : VG_LOG_ERROR,
                       q->out->name, "oq-dbuf-full", "disk buffer %s: "
                       "queueing in memory", rc == -ENOSPC
                       ? "full (max_size, or the disk)" : vg_strerror(rc));
        }
        q->disk_ok = rc == 0;
        vg_instance_count(q->out, rc == 0 ? "disk_buffered"
                                          : "disk_buffer_failed", 1);
    }
    link_node(q, n);
    if (vg_oq_full(q))
        q->was_full = 1;
    kick(q);
}

void
vg_oq_close(struct vg_oq *q)
{
    q->closed = 1;
    ev_timer_stop(q->loop, &q->retry);
}

int
vg_oq_idle(const struct vg_oq *q)
{
    return !q->head && !q->inflight;
}

void
vg_oq_on_idle(struct vg_oq *q, vg_oq_idle_fn fn, void *arg)
{
    q->idle_fn = fn;
    q->idle_arg = arg;
}

void
vg_oq_set_deadline(struct vg_oq *q, int64_t deadline)
{
    double left, until;

    q->deadline = deadline;
    if (!q->waiting)
        return;
    /* Keep a server's Retry-After, but do not sleep past the deadline. */
    left = ev_timer_remaining(q->loop, &q->retry);
    until = (double)(deadline - vg_mono_ns()) / 1e9;
    if (left > until) {
        ev_timer_stop(q->loop, &q->retry);
        ev_timer_set(&q->retry, until > 0 ? until : 0., 0.);
        ev_timer_start(q->loop, &q->retry);
    }
}

size_t
vg_oq_batches(const struct vg_oq *q)
{
    return q->nbatches;
}

size_t
vg_oq_volatile_batches(const struct vg_oq *q)
{
    return q->volatile_nodes;
}

size_t
vg_oq_bytes(const struct vg_oq *q)
{
    return q->bytes;
}

uint64_t
vg_oq_disk_bytes(const struct vg_oq *q)
{
    return q->dbuf ? vg_dbuf_bytes(q->dbuf) : 0;
}

int64_t
vg_oq_oldest_age(const struct vg_oq *q)
{
    return q->head ? vg_mono_ns() - q->head->queued : 0;
}

int
vg_oq_full(const struct vg_oq *q)
{
    if (q->dbuf && q->disk_ok)
        return 0;
    return q->conf.max_memory > 0 &&
           q->bytes >= (size_t)q->conf.max_memory;
}

void
vg_oq_on_space(struct vg_oq *q, vg_oq_idle_fn fn, void *arg)
{
    q->space_fn = fn;
    q->space_arg = arg;
}

static uint64_t
next_random(struct vg_oq *q)
{
    q->rng ^= q->rng << 13;             /* xorshift64: jitter only */
    q->rng ^= q->rng >> 7;
    q->rng ^= q->rng << 17;
    return q->rng;
}

/* Full jitter: uniform in [0, min(max, initial * 2^attempts)]. */
static int64_t
backoff(struct vg_oq *q, unsigned attempts)
{
    int64_t cap = q->conf.retry_initial;
    unsigned i;

    for (i = 1; i < attempts && cap < q->conf.retry_max; i++)
        cap *= 2;
    if (cap > q->conf.retry_max)
        cap = q->conf.retry_max;
    if (cap <= 0)
        return 0;
    return (int64_t)(next_random(q) % (uint64_t)cap);
}

static void pop_head(struct vg_oq *q);
static void schedule_retry(struct vg_oq *q, struct qnode *n, int64_t delay,
                           const char *reason);

/* Brings a disk-only batch back; a corrupt record is reported and skipped
 * (that batch is lost, the rest is not). */
static int
load_from_disk(struct vg_oq *q, struct qnode *n)
{
    int rc = vg_dbuf_read(q->dbuf, &n->pos, &n->b);

    if (rc == 0) {
        q->bytes += vg_batch_bytes_raw(n->b);
        return 0;
    }
    n->b = NULL;
    if (rc == -EBADMSG) {
        vg_log_who(VG_LOG_ERROR, q->out->name, "oq-dbuf-corrupt", "corrupt "
                   "batch in the disk buffer (segment %llu, offset %llu): "
                   "skipped", (unsigned long long)n->pos.seg,
                   (unsigned long long)n->pos.off);
        vg_instance_count(q->out, "dropped_corrupt", 1);
        pop_head(q);
        return rc;
    }
    n->attempts++;
    schedule_retry(q, n, backoff(q, n->attempts),
                   "cannot read the disk buffer");
    return rc;
}

static void
kick(struct vg_oq *q)
{
    if (q->kicking || q->closed)
        return;
    q->kicking = 1;
    while (q->head && !q->inflight && !q->waiting) {
        struct vg_flush *fl;

        if (!q->head->b && load_from_disk(q, q->head) < 0)
            continue;           /* skipped, or a retry was scheduled */
        fl = vg_xcalloc(1, sizeof(*fl));
        fl->q = q;
        fl->node = q->head;
        fl->started = vg_mono_ns();
        q->inflight = fl;
        q->out->plugin->flush(q->out, fl->node->b, fl);
    }
    q->kicking = 0;
    if (vg_oq_idle(q) && q->idle_fn)
        q->idle_fn(q, q->idle_arg);
}

static void
pop_head(struct vg_oq *q)
{
    struct qnode *n = q->head;

    q->head = n->next;
    if (!q->head)
        q->tail = NULL;
    if (n->on_disk) {
        vg_dbuf_delivered(q->dbuf, &n->pos);
        q->disk_ok = 1;         /* room again, perhaps: the next push tells */
    }
    node_free(q, n);
    if (vg_oq_full(q))
        q->was_full = 1;
    else if (q->was_full &&
             (q->dbuf || q->bytes <= (size_t)q->conf.max_memory / 2)) {
        q->was_full = 0;
        if (q->space_fn)
            q->space_fn(q, q->space_arg);
    }
}

/* A batch that will never be delivered goes to the dead-letter file; if
 * even that fails, its events are lost and the input is not told. */
static void
dead_letter(struct vg_oq *q, struct qnode *n, const char *reason)
{
    if (vg_dead_letter_instance(q->out, n->b, NULL, &reason, 1,
                                n->attempts + 1, VG_LOG_ERROR) < 0)
        vg_ack_lost(n->ack);
}

static void
schedule_retry(struct vg_oq *q, struct qnode *n, int64_t delay,
               const char *reason)
{
    int64_t now = vg_mono_ns();

    if (q->deadline && now + delay > q->deadline)
        delay = q->deadline > now ? q->deadline - now : 0;
    vg_log_who(VG_LOG_WARN, q->out->name, "oq-retry",
               "flush failed, retry %u in %.3fs: %s", n->attempts,
               (double)delay / 1e9, reason);
    q->waiting = 1;
    ev_timer_set(&q->retry, (double)delay / 1e9, 0.);
    ev_timer_start(q->loop, &q->retry);
}

/* Ends the flush in flight, noting its time and outcome; returns its
 * node. */
static struct qnode *
finish_flush(struct vg_flush *fl, int ok, const char *reason)
{
    struct vg_oq *q = fl->q;
    struct qnode *n = fl->node;

    vg_assert(q->inflight == fl);
    if (ok) {
        double s = (double)(vg_mono_ns() - fl->started) / 1e9;
        unsigned i = 0;

        while (i < VG_OQ_LATENCY_BUCKETS - 1 && s > vg_oq_latency_bounds[i])
            i++;
        q->lat_counts[i]++;
        q->lat_sum += s;
        q->lat_count++;
        q->failing_since = 0;
    } else {
        if (!q->failing_since)
            q->failing_since = vg_mono_ns();
        q->last_error_at = vg_wall_ns();
        snprintf(q->last_error, sizeof(q->last_error), "%s", reason);
    }
    q->inflight = NULL;
    free(fl);
    return n;
}

int64_t
vg_oq_max_memory(const struct vg_oq *q)
{
    return q->conf.max_memory;
}

void
vg_oq_stats(const struct vg_oq *q, struct vg_oq_stats *st)
{
    st->batches = q->nbatches;
    st->volatile_batches = q->volatile_nodes;
    st->bytes = q->bytes;
    st->disk_bytes = q->dbuf ? vg_dbuf_bytes(q->dbuf) : 0;
    st->oldest_age = vg_oq_oldest_age(q);
    st->failing_for = q->failing_since ? vg_mono_ns() - q->failing_since : 0;
    st->last_error_at = q->last_error_at;
    st->last_error = q->last_error;
    st->latency_counts = q->lat_counts;
    st->latency_sum = q->lat_sum;
    st->latency_count = q->lat_count;
}

/* Retry n, or give up on it past max_attempts; after >= 0 is a server's
 * delay, < 0 asks for the backoff. */
static void
retry_or_give_up(struct vg_oq *q, struct qnode *n, int64_t after,
                 const char *reason)
{
    n->attempts++;
    vg_instance_count(q->out, "retries", 1);
    if (q->conf.max_attempts &&
        n->attempts >= (unsigned)q->conf.max_attempts) {
        char why[512];

        snprintf(why, sizeof(why), "gave up after %u attempts: %s",
                 n->attempts, reason);
        n->attempts--;          /* dead_letter counts the last one */
        dead_letter(q, n, why);
        pop_head(q);
        return;
    }
    schedule_retry(q, n, after >= 0 ? after : backoff(q, n->attempts),
                   reason);
}

void
vg_oq_flush_done(struct vg_flush *fl, int outcome, const char *reason)
{
    struct vg_oq *q = fl->q;
    struct qnode *n;

    if (!reason)
        reason = "no reason given";
    n = finish_flush(fl, outcome == VG_OK, reason);
    switch (outcome) {
    case VG_OK:
        q->out->events_out += vg_batch_count_raw(n->b);
        q->out->batches_out++;
        pop_head(q);
        break;
    case VG_RETRY:
        retry_or_give_up(q, n, -1, reason);
        break;
    default:
        dead_letter(q, n, reason);
        pop_head(q);
        break;
    }
    kick(q);
}

void
vg_oq_flush_retry_after(struct vg_flush *fl, int64_t after,
                        const char *reason)
{
    struct vg_oq *q = fl->q;
    struct qnode *n;

    if (!reason)
        reason = "server asked to wait";
    n = finish_flush(fl, 0, reason);
    if (after < 0)
        after = 0;
    if (after > 3600 * VG_SECOND)       /* a server's word, within reason */
        after = 3600 * VG_SECOND;
    retry_or_give_up(q, n, after, reason);
    kick(q);
}
