/*
 * Test plugin: a replayable input.  It emits the numbers 1, 2, 3, ... as
 * gauge values with vg_emit_tracked, and on commit saves the highest number
 * below which everything is durable to STATE_DIR/NAME.pos (atomically); at
 * start it resumes after that number.  With kill -9 and restarts, every
 * number must reach the outputs at least once.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vigil/plugin.h>

struct counter_conf {
    char    *file;                      /* position file name */
    int64_t  per_tick;
    int64_t  interval;
};

#define RING 65536                      /* batches in flight, at most */

struct counter {
    struct counter_conf *conf;
    struct vg_timer     *tick;
    char                 path[4096];
    uint64_t             next;          /* next number to emit */
    uint64_t             durable;       /* all <= durable committed */
    uint64_t             ring[RING];    /* last number of each batch */
    unsigned char        done[RING];
    uint64_t             head, tail;    /* batches: [head, tail) pending */
    int                  paused;
};

static const struct vg_option counter_options[] = {
    { .name = "file", .type = VG_OPT_STR, .def = "counter.pos",
      .offset = offsetof(struct counter_conf, file),
      .help = "position file in state_dir" },
    { .name = "per_tick", .type = VG_OPT_INT, .def = "100",
      .offset = offsetof(struct counter_conf, per_tick),
      .help = "numbers per tick" },
    { .name = "interval", .type = VG_OPT_DURATION, .def = "10ms",
      .offset = offsetof(struct counter_conf, interval),
      .help = "time between ticks" },
    { 0 }
};

static void
save(struct counter *c)
{
    char tmp[4200], text[32];
    int fd, n = snprintf(text, sizeof(text), "%llu\n",
                         (unsigned long long)c->durable);

    snprintf(tmp, sizeof(tmp), "%s.tmp", c->path);
    fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC, 0600);
    if (fd < 0)
        return;
    if (write(fd, text, (size_t)n) == n && fsync(fd) == 0) {
        close(fd);
        rename(tmp, c->path);
        return;
    }
    close(fd);
}

static void
on_tick(struct vg_instance *in, void *arg)
{
    struct counter *c = arg;
    struct vg_batch *b;
    struct vg_event ev;
    struct vg_kv kv = vg_kv_str("src", "counter");
    int64_t i, now = vg_now(in);

    if (c->paused || c->tail - c->head >= RING)
        return;
    b = vg_batch_new(in, (size_t)c->conf->per_tick * 96);
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.name = "counter";
    ev.metric_type = VG_METRIC_GAUGE;
    ev.labels = &kv;
    ev.nlabels = 1;
    for (i = 0; i < c->conf->per_tick; i++) {
        ev.time = now + i;
        ev.value = (double)c->next++;
        ev.hash = 0;
        vg_batch_add(in, b, &ev);
    }
    c->ring[c->tail % RING] = c->next - 1;
    c->done[c->tail % RING] = 0;
    vg_emit_tracked(in, b, c->tail++);
}

static void
counter_commit(struct vg_instance *in, uint64_t cookie)
{
    struct counter *c = vg_instance_data(in);
    uint64_t before = c->durable;

    (void)in;
    if (cookie < c->head || cookie >= c->tail)
        return;
    c->done[cookie % RING] = 1;
    while (c->head < c->tail && c->done[c->head % RING])
        c->durable = c->ring[c->head++ % RING];
    if (c->durable != before)
        save(c);
}

static int
counter_init(struct vg_instance *in, void *conf)
{
    struct counter *c = calloc(1, sizeof(*c));
    FILE *f;

    if (!c)
        return -ENOMEM;
    c->conf = conf;
    snprintf(c->path, sizeof(c->path), "%s/%s", vg_state_dir(in),
             c->conf->file);
    f = fopen(c->path, "r");
    if (f) {
        unsigned long long v;

        if (fscanf(f, "%llu", &v) == 1)
            c->durable = v;
        fclose(f);
    }
    c->next = c->durable + 1;
    vg_log(in, VG_LOG_INFO, "resuming after %llu",
           (unsigned long long)c->durable);
    c->tick = vg_timer_new(in, on_tick, c);
    vg_instance_set_data(in, c);
    return 0;
}

static int
counter_start(struct vg_instance *in)
{
    struct counter *c = vg_instance_data(in);

    vg_timer_start(in, c->tick, 0, c->conf->interval);
    return 0;
}

static void
counter_pause(struct vg_instance *in)
{
    ((struct counter *)vg_instance_data(in))->paused = 1;
}

static void
counter_resume(struct vg_instance *in)
{
    ((struct counter *)vg_instance_data(in))->paused = 0;
}

static void
counter_destroy(struct vg_instance *in)
{
    struct counter *c = vg_instance_data(in);

    vg_timer_free(in, c->tick);
    free(c);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "tp_counter",
    .summary = "test input that replays from its committed position",
    .options = counter_options,
    .conf_size = sizeof(struct counter_conf),
    .init = counter_init,
    .start = counter_start,
    .destroy = counter_destroy,
    .pause = counter_pause,
    .resume = counter_resume,
    .commit = counter_commit,
};
