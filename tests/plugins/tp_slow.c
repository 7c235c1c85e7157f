/*
 * Test plugin: an output that takes `delay` per batch before it writes the
 * batch as JSON lines to `path`, so tests can build a backlog and watch it
 * drain.  `fail_first` makes the first N flushes ask for a retry;
 * `reject_every` N dead-letters every Nth event of a batch through
 * vg_dead_letter, each with its own reason, and writes the others.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vigil/plugin.h>

struct slow_conf {
    char    *path;
    int64_t  delay;
    int64_t  fail_first;
    int      fail_outcome;              /* 0 retry, 1 permanent */
    int64_t  retry_after;               /* > 0: ask for this delay */
    char    *down_file;                 /* while it exists: retry */
    int64_t  reject_every;              /* > 0: refuse every Nth event */
};

struct slow {
    struct slow_conf *conf;
    struct vg_timer  *timer;
    struct vg_batch  *batch;            /* held while waiting */
    struct vg_flush  *fl;
    int               fd;
    int64_t           failures;
    char             *buf;
    size_t            len;
    size_t            cap;
};

static const struct vg_option slow_options[] = {
    { .name = "path", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct slow_conf, path), .help = "output file" },
    { .name = "delay", .type = VG_OPT_DURATION, .def = "50ms",
      .offset = offsetof(struct slow_conf, delay), .help = "per batch" },
    { .name = "fail_first", .type = VG_OPT_INT, .def = "0",
      .offset = offsetof(struct slow_conf, fail_first),
      .help = "flushes that fail before the first success" },
    { .name = "fail_outcome", .type = VG_OPT_ENUM, .def = "retry",
      .choices = "retry|permanent",
      .offset = offsetof(struct slow_conf, fail_outcome),
      .help = "how the failing flushes end" },
    { .name = "retry_after", .type = VG_OPT_DURATION, .def = "0",
      .offset = offsetof(struct slow_conf, retry_after),
      .help = "a failing flush asks to be retried after this long" },
    { .name = "down_file", .type = VG_OPT_STR,
      .offset = offsetof(struct slow_conf, down_file),
      .help = "while this file exists, every flush fails (retry)" },
    { .name = "reject_every", .type = VG_OPT_INT, .def = "0",
      .offset = offsetof(struct slow_conf, reject_every),
      .help = "dead-letter every Nth event of a batch, write the others" },
    { 0 }
};

#define MAX_REJECTS 64                   /* per batch */

/* Events N, 2N, ... (1-based) of the batch go to the dead-letter file,
 * with the reason "tp_slow: refused event K of its batch". */
static int
reject_some(struct vg_instance *in, struct slow *s)
{
    size_t count = vg_batch_count(in, s->batch), n = 0, k;
    uint64_t every = (uint64_t)s->conf->reject_every;
    uint32_t index[MAX_REJECTS];
    char text[MAX_REJECTS][48];
    const char *reason[MAX_REJECTS];

    for (k = every; k <= count && n < MAX_REJECTS; k += every, n++) {
        index[n] = (uint32_t)(k - 1);
        snprintf(text[n], sizeof(text[n]), "tp_slow: refused event %zu of "
                 "its batch", k);
        reason[n] = text[n];
    }
    return n ? vg_dead_letter(in, s->batch, index, reason, n, 1) : 0;
}

static void
on_delay(struct vg_instance *in, void *arg)
{
    struct slow *s = arg;
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    struct vg_flush *fl = s->fl;
    size_t off = 0;
    uint64_t i = 0;

    s->fl = NULL;
    if (s->conf->down_file && access(s->conf->down_file, F_OK) == 0) {
        vg_batch_unref(in, s->batch);
        vg_flush_done(in, fl, VG_RETRY, "tp_slow: down");
        return;
    }
    if (s->failures < s->conf->fail_first) {
        s->failures++;
        vg_batch_unref(in, s->batch);
        if (s->conf->fail_outcome == 1)
            vg_flush_done(in, fl, VG_PERMANENT, "tp_slow: rejected on purpose");
        else if (s->conf->retry_after > 0)
            vg_flush_retry_after(in, fl, s->conf->retry_after,
                                 "tp_slow: asked to wait");
        else
            vg_flush_done(in, fl, VG_RETRY, "tp_slow: failing on purpose");
        return;
    }
    s->len = 0;
    /* as the postgres output: the others are delivered even when the
     * rejects could not be written (the core logs and counts that loss) */
    if (s->conf->reject_every > 0)
        (void)reject_some(in, s);
    while (vg_batch_next(in, s->batch, &it, &ev)) {
        if (s->conf->reject_every > 0 &&
            ++i % (uint64_t)s->conf->reject_every == 0 &&
            i / (uint64_t)s->conf->reject_every <= MAX_REJECTS)
            continue;                   /* dead-lettered by reject_some */
        vg_event_to_json(in, &ev, &s->buf, &s->len, &s->cap);
        if (s->len + 2 > s->cap) {
            s->cap = s->cap * 2 + 64;
            s->buf = realloc(s->buf, s->cap);
            if (!s->buf)
                abort();
        }
        s->buf[s->len++] = '\n';
    }
    vg_iter_release(in, &it);
    while (off < s->len) {
        ssize_t n = write(s->fd, s->buf + off, s->len - off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            break;
        off += (size_t)n;
    }
    vg_batch_unref(in, s->batch);
    vg_flush_done(in, fl, off == s->len ? VG_OK : VG_RETRY, "write failed");
}

/* A kill -9 during write() can leave a torn last line: cut it off (its
 * batch was not acknowledged and comes again). */
static void
cut_torn_line(int fd)
{
    off_t end = lseek(fd, 0, SEEK_END);
    char c;

    while (end > 0 && pread(fd, &c, 1, end - 1) == 1 && c != '\n')
        end--;
    if (ftruncate(fd, end) < 0)
        return;
}

static int
slow_init(struct vg_instance *in, void *conf)
{
    struct slow *s = calloc(1, sizeof(*s));

    if (!s)
        return -ENOMEM;
    s->conf = conf;
    s->fd = open(s->conf->path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC,
                 0644);
    if (s->fd < 0) {
        free(s);
        return -errno;
    }
    cut_torn_line(s->fd);
    s->timer = vg_timer_new(in, on_delay, s);
    vg_instance_set_data(in, s);
    return 0;
}

static void
slow_flush(struct vg_instance *in, struct vg_batch *b, struct vg_flush *fl)
{
    struct slow *s = vg_instance_data(in);

    vg_batch_ref(in, b);
    s->batch = b;
    s->fl = fl;
    vg_timer_start(in, s->timer, s->conf->delay, 0);
}

static void
slow_destroy(struct vg_instance *in)
{
    struct slow *s = vg_instance_data(in);

    if (s->fl)
        vg_batch_unref(in, s->batch);
    vg_timer_free(in, s->timer);
    close(s->fd);
    free(s->buf);
    free(s);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_OUTPUT,
    .name = "tp_slow",
    .summary = "test output that takes its time",
    .options = slow_options,
    .conf_size = sizeof(struct slow_conf),
    .init = slow_init,
    .flush = slow_flush,
    .destroy = slow_destroy,
};
