/*
 * Output queue.  Completion may come inside the flush callback or later
 * from the loop; `kicking` makes both paths start the next flush from one
 * place, so a synchronous output cannot recurse once per batch.
 */
#include <stdlib.h>
#include <string.h>

#include <vigil/plugin.h>

#include "batch.h"
#include "instance.h"
#include "log.h"
#include "output_queue.h"
#include "util.h"

struct qnode {
    struct vg_batch *b;
    unsigned         attempts;          /* flushes that asked to retry */
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
    size_t              bytes;
    struct vg_flush    *inflight;
    int                 kicking;
    int                 closed;         /* output destroyed: no new flush */
    int                 waiting;        /* retry timer armed */
    ev_timer            retry;
    int64_t             deadline;
    vg_oq_idle_fn       idle_fn;
    void               *idle_arg;
    uint64_t            rng;
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

struct vg_oq *
vg_oq_new(struct vg_instance *out, struct ev_loop *loop,
          const struct vg_oq_conf *conf)
{
    struct vg_oq *q = vg_xcalloc(1, sizeof(*q));

    q->out = out;
    q->loop = loop;
    q->conf = *conf;
    q->rng = (uint64_t)vg_mono_ns() ^ (uint64_t)(uintptr_t)q;
    ev_init(&q->retry, on_retry);
    q->retry.data = q;
    return q;
}

static void
node_free(struct vg_oq *q, struct qnode *n)
{
    q->nbatches--;
    q->bytes -= vg_batch_bytes_raw(n->b);
    vg_batch_unref_raw(n->b);
    free(n);
}

void
vg_oq_free(struct vg_oq *q)
{
    size_t lost = 0;

    if (!q)
        return;
    ev_timer_stop(q->loop, &q->retry);
    while (q->head) {
        struct qnode *n = q->head;

        q->head = n->next;
        lost += vg_batch_count_raw(n->b);
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
    free(q);
}

void
vg_oq_push(struct vg_oq *q, struct vg_batch *b)
{
    struct qnode *n = vg_xcalloc(1, sizeof(*n));

    n->b = b;
    if (q->tail)
        q->tail->next = n;
    else
        q->head = n;
    q->tail = n;
    q->nbatches++;
    q->bytes += vg_batch_bytes_raw(b);
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
    q->deadline = deadline;
    if (q->waiting) {           /* do not sleep past the deadline */
        ev_timer_stop(q->loop, &q->retry);
        q->waiting = 0;
        kick(q);
    }
}

size_t
vg_oq_batches(const struct vg_oq *q)
{
    return q->nbatches;
}

size_t
vg_oq_bytes(const struct vg_oq *q)
{
    return q->bytes;
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

static void
kick(struct vg_oq *q)
{
    if (q->kicking || q->closed)
        return;
    q->kicking = 1;
    while (q->head && !q->inflight && !q->waiting) {
        struct vg_flush *fl = vg_xcalloc(1, sizeof(*fl));

        fl->q = q;
        fl->node = q->head;
        fl->started = vg_mono_ns();
        q->inflight = fl;
        q->out->batches_in++;
        q->out->events_in += vg_batch_count_raw(fl->node->b);
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
    node_free(q, n);
}

void
vg_oq_flush_done(struct vg_flush *fl, int outcome, const char *reason)
{
    struct vg_oq *q = fl->q;
    struct qnode *n = fl->node;
    size_t events;

    vg_assert(q->inflight == fl);
    q->inflight = NULL;
    free(fl);
    events = vg_batch_count_raw(n->b);
    switch (outcome) {
    case VG_OK:
        q->out->events_out += events;
        q->out->batches_out++;
        pop_head(q);
        break;
    case VG_RETRY:
        n->attempts++;
        vg_instance_count(q->out, "retries", 1);
        if (q->conf.max_attempts && n->attempts >= q->conf.max_attempts) {
            vg_log_who(VG_LOG_ERROR, q->out->name, "oq-giveup",
                       "giving up on a batch of %zu events after %u "
                       "attempts: %s", events, n->attempts,
                       reason ? reason : "no reason given");
            vg_instance_count(q->out, "dropped_retries", (int64_t)events);
            pop_head(q);
            break;
        }
        {
            int64_t delay = backoff(q, n->attempts);
            int64_t now = vg_mono_ns();

            if (q->deadline && now + delay > q->deadline)
                delay = q->deadline > now ? q->deadline - now : 0;
            vg_log_who(VG_LOG_WARN, q->out->name, "oq-retry",
                       "flush failed, retry %u in %.3fs: %s", n->attempts,
                       (double)delay / 1e9,
                       reason ? reason : "no reason given");
            q->waiting = 1;
            ev_timer_set(&q->retry, (double)delay / 1e9, 0.);
            ev_timer_start(q->loop, &q->retry);
        }
        break;
    default:
        vg_log_who(VG_LOG_ERROR, q->out->name, "oq-permanent",
                   "batch of %zu events rejected: %s", events,
                   reason ? reason : "no reason given");
        vg_instance_count(q->out, "dropped_permanent", (int64_t)events);
        pop_head(q);
        break;
    }
    kick(q);
}
