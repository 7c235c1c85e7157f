/*
 * The table of core functions handed to plugins (struct vg_api).  Thin
 * adapters from the ABI's types to the core's modules; timers and fd
 * watchers are libev watchers owned by the instance, so the core can stop
 * and free whatever a plugin leaves behind.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ack.h"
#include "batch.h"
#include "config.h"
#include "dead_letter.h"
#include "instance.h"
#include "json.h"
#include "log.h"
#include "output_queue.h"
#include "util.h"

static int
api_log_enabled(const struct vg_instance *in, int level)
{
    (void)in;
    return vg_log_on(level);
}

/* Where a check error points: at the option a message that starts
 * "option 'NAME'" names ("tls.ca_file" walks into tls:), when the
 * instance's mapping has it, else at the instance. */
static const struct vg_node *
check_node(const struct vg_node *item, const char *msg)
{
    static const char lead[] = "option '";
    const struct vg_node *opt = item;
    const char *end;
    char name[128], *part, *save = NULL;

    if (strncmp(msg, lead, sizeof(lead) - 1) != 0)
        return item;
    msg += sizeof(lead) - 1;
    end = strchr(msg, '\'');
    if (!end || (size_t)(end - msg) >= sizeof(name))
        return item;
    memcpy(name, msg, (size_t)(end - msg));
    name[end - msg] = '\0';
    for (part = strtok_r(name, ".", &save); part && opt;
         part = strtok_r(NULL, ".", &save))
        opt = vg_node_get(opt, part);
    return opt ? opt : item;
}

/* Warnings and errors are also kept as the instance's last error, for
 * the status API.  While the plugin checks its configuration, its errors
 * are config errors, reported with the file, line and column. */
static void
api_logv(struct vg_instance *in, int level, const char *fmt, va_list ap)
{
    va_list copy;

    if (in->check_err && level <= VG_LOG_ERROR) {
        char msg[512];

        vsnprintf(msg, sizeof(msg), fmt, ap);
        vg_errors_add(in->check_err, check_node(in->check_at, msg), "%s: %s",
                      in->name, msg);
        return;
    }

    if (level <= VG_LOG_WARN) {
        va_copy(copy, ap);
        vsnprintf(in->last_error, sizeof(in->last_error), fmt, copy);
        va_end(copy);
        in->last_error_at = vg_wall_ns();
    }
    vg_log_whov(level, in->name, fmt, fmt, ap);
}

static int
api_self_metrics(struct vg_instance *in, struct vg_batch *b)
{
    vg_engine_self_metrics(in, b);
    return 0;
}

static void
api_set_data(struct vg_instance *in, void *data)
{
    in->data = data;
}

static void *
api_data(const struct vg_instance *in)
{
    return in->data;
}

static const char *
api_name(const struct vg_instance *in)
{
    return in->name;
}

static const char *
api_pipeline(const struct vg_instance *in)
{
    return in->pipe->name;
}

static int64_t
api_now(const struct vg_instance *in)
{
    (void)in;
    return vg_wall_ns();
}

static struct vg_batch *
api_batch_new(struct vg_instance *in, size_t hint)
{
    (void)in;
    return vg_batch_new_raw(hint);
}

/* A filter's replacement batch stands for its parent in delivery
 * tracking: it inherits the origin (and, later, the ack). */
static struct vg_batch *
api_batch_derive(struct vg_instance *in, struct vg_batch *parent,
                 size_t hint)
{
    struct vg_batch *b = vg_batch_new_raw(hint);

    (void)in;
    if (parent) {
        b->origin = parent->origin;
        b->created = parent->created;
        b->ack = parent->ack;
        vg_ack_ref(b->ack);
    }
    return b;
}

static void
api_emit(struct vg_instance *in, struct vg_batch *b)
{
    vg_pipeline_emit(in, b);
}

static void
api_emit_tracked(struct vg_instance *in, struct vg_batch *b, uint64_t cookie)
{
    vg_pipeline_emit_tracked(in, b, cookie);
}

static void
api_flush_retry_after(struct vg_flush *fl, int64_t after, const char *reason)
{
    vg_oq_flush_retry_after(fl, after, reason);
}

static void
api_input_done(struct vg_instance *in)
{
    vg_pipeline_input_done(in);
}

static void
api_flush_done(struct vg_flush *fl, int outcome, const char *reason)
{
    vg_oq_flush_done(fl, outcome, reason);
}

static void
on_timer(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct vg_timer *t = (struct vg_timer *)w;

    (void)loop;
    (void)revents;
    t->cb(t->in, t->arg);
}

static struct vg_timer *
api_timer_new(struct vg_instance *in, vg_timer_fn cb, void *arg)
{
    struct vg_timer *t = vg_xcalloc(1, sizeof(*t));

    ev_init(&t->w, on_timer);
    t->in = in;
    t->cb = cb;
    t->arg = arg;
    t->next = in->timers;
    in->timers = t;
    return t;
}

static void
api_timer_start(struct vg_timer *t, int64_t after, int64_t repeat)
{
    struct ev_loop *loop = vg_instance_loop(t->in);

    if (t->in->stopped && t->in->kind == VG_KIND_INPUT)
        return;                 /* a stopped input produces nothing */
    ev_timer_stop(loop, &t->w);
    ev_timer_set(&t->w, after > 0 ? (double)after / 1e9 : 0.,
                 repeat > 0 ? (double)repeat / 1e9 : 0.);
    ev_timer_start(loop, &t->w);
}

static void
api_timer_stop(struct vg_timer *t)
{
    ev_timer_stop(vg_instance_loop(t->in), &t->w);
}

static void
api_timer_free(struct vg_timer *t)
{
    struct vg_timer **pp;

    if (!t)
        return;
    ev_timer_stop(vg_instance_loop(t->in), &t->w);
    for (pp = &t->in->timers; *pp; pp = &(*pp)->next) {
        if (*pp == t) {
            *pp = t->next;
            break;
        }
    }
    free(t);
}

static void
on_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct vg_io *io = (struct vg_io *)w;
    int ev = (revents & EV_READ ? VG_IO_READ : 0) |
             (revents & EV_WRITE ? VG_IO_WRITE : 0);

    (void)loop;
    io->cb(io->in, io->fd, ev, io->arg);
}

static int
ev_events(int events)
{
    return (events & VG_IO_READ ? EV_READ : 0) |
           (events & VG_IO_WRITE ? EV_WRITE : 0);
}

static struct vg_io *
api_io_new(struct vg_instance *in, int fd, int events, vg_io_fn cb,
           void *arg)
{
    struct vg_io *io = vg_xcalloc(1, sizeof(*io));

    ev_io_init(&io->w, on_io, fd, ev_events(events));
    io->in = in;
    io->fd = fd;
    io->cb = cb;
    io->arg = arg;
    io->next = in->ios;
    in->ios = io;
    return io;
}

static void
api_io_start(struct vg_io *io)
{
    if (io->in->stopped && io->in->kind == VG_KIND_INPUT)
        return;
    ev_io_start(vg_instance_loop(io->in), &io->w);
}

static void
api_io_stop(struct vg_io *io)
{
    ev_io_stop(vg_instance_loop(io->in), &io->w);
}

/* libev cannot change an active watcher: stop, set, restart. */
static void
api_io_set(struct vg_io *io, int events)
{
    struct ev_loop *loop = vg_instance_loop(io->in);
    int active = ev_is_active(&io->w);

    if (active)
        ev_io_stop(loop, &io->w);
    ev_io_set(&io->w, io->fd, ev_events(events));
    if (active)
        ev_io_start(loop, &io->w);
}

static void
api_io_free(struct vg_io *io)
{
    struct vg_io **pp;

    if (!io)
        return;
    ev_io_stop(vg_instance_loop(io->in), &io->w);
    for (pp = &io->in->ios; *pp; pp = &(*pp)->next) {
        if (*pp == io) {
            *pp = io->next;
            break;
        }
    }
    free(io);
}

static int
api_event_to_json(const struct vg_event *ev, char **buf, size_t *len,
                  size_t *cap)
{
    struct vg_buf b = { *buf, *len, *cap };

    vg_json_event(&b, ev);
    *buf = b.data;
    *len = b.len;
    *cap = b.cap;
    return 0;
}

static void
api_count(struct vg_instance *in, const char *counter, int64_t n)
{
    vg_instance_count(in, counter, n);
}

/* The output's own rejects, to the file the core dead-letters its
 * batches to, counted and logged as the core's are. */
static int
api_dead_letter(struct vg_instance *in, const struct vg_batch *b,
                const uint32_t *index, const char *const *reason, size_t n,
                unsigned attempts)
{
    if (!reason || !reason[0])
        return -EINVAL;
    if (index ? !n : !vg_batch_count_raw(b))
        return 0;
    return vg_dead_letter_instance(in, b, index, reason, n, attempts,
                                   VG_LOG_WARN);
}

const struct vg_api vg_core_api = {
    .size = sizeof(struct vg_api),
    .log_enabled = api_log_enabled,
    .logv = api_logv,
    .set_data = api_set_data,
    .data = api_data,
    .name = api_name,
    .pipeline = api_pipeline,
    .hostname = vg_instance_hostname,
    .state_dir = vg_instance_state_dir,
    .now = api_now,
    .batch_new = api_batch_new,
    .batch_add = vg_batch_add_raw,
    .batch_count = vg_batch_count_raw,
    .batch_bytes = vg_batch_bytes_raw,
    .batch_next = vg_batch_next_raw,
    .iter_release = vg_iter_release_raw,
    .batch_ref = vg_batch_ref_raw,
    .batch_unref = vg_batch_unref_raw,
    .batch_drop = vg_batch_drop_raw,
    .batch_derive = api_batch_derive,
    .emit = api_emit,
    .input_done = api_input_done,
    .flush_done = api_flush_done,
    .timer_new = api_timer_new,
    .timer_start = api_timer_start,
    .timer_stop = api_timer_stop,
    .timer_free = api_timer_free,
    .io_new = api_io_new,
    .io_start = api_io_start,
    .io_stop = api_io_stop,
    .io_set = api_io_set,
    .io_free = api_io_free,
    .event_to_json = api_event_to_json,
    .count = api_count,
    .series_hash = vg_series_hash_raw,
    .emit_tracked = api_emit_tracked,
    .flush_retry_after = api_flush_retry_after,
    .self_metrics = api_self_metrics,
    .dead_letter = api_dead_letter,
};
