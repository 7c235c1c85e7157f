/*
 * input statsd: a StatsD and DogStatsD server on UDP, TCP (newline
 * framed) and unix datagram sockets.  Lines are parsed (sd_line.c) and
 * aggregated (sd_agg.c) as they arrive; nothing is emitted until the
 * flush timer, which turns each series into gauges.  Datagram senders
 * cannot be held back, so there is no pause: the socket buffer (rcvbuf)
 * is what absorbs a burst, and what the kernel still drops is counted
 * from SO_RXQ_OVFL.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <unistd.h>

#include <vigil/plugin.h>

#include "listen_socket.h"
#include "listen_url.h"
#include "sd_agg.h"
#include "sd_line.h"

#define RECV_BATCH   64                 /* datagrams per recvmmsg        */
#define RECV_ROUNDS  16                 /* recvmmsg calls per callback   */
#define DGRAM_MAX    65536              /* no datagram is larger         */
#define READS_MAX    16                 /* reads per stream callback     */
#define BATCH_EVENTS 10000              /* events per emitted batch      */
#define QUOTE_MAX    200                /* bytes of a bad line logged    */
#define COMPLAIN_NS  (10 * VG_SECOND)   /* between repeated warnings     */

enum lst_kind {
    LST_UDP = VG_LISTEN_UDP,
    LST_TCP = VG_LISTEN_TCP,
    LST_UNIX = VG_LISTEN_UNIX,
};
#define LISTEN_KINDS (VG_LISTEN_BIT(LST_UDP) | VG_LISTEN_BIT(LST_TCP) | \
                      VG_LISTEN_BIT(LST_UNIX))
#define LISTEN_WANT  "udp://HOST:PORT, tcp://HOST:PORT or unix:///PATH"

struct sd_conf {                        /* the core fills this in */
    struct vg_strv listen;
    int64_t        flush_interval;      /* ns */
    struct vg_strv percentiles;
    int64_t        rcvbuf;              /* bytes */
    int64_t        max_line_size;       /* bytes */
    int64_t        max_set_size;
    int64_t        max_series;
    int64_t        max_connections;
};

struct sd_state;

struct listener {
    struct vg_listener net;
    struct sd_state *st;
};

struct conn {
    struct conn     *prev, *next;
    struct sd_state *st;
    int              fd;
    struct vg_io    *io;
    char            *buf;               /* max_line_size + 1 bytes */
    size_t           len;
    int              skipping;          /* inside a line too long */
};

/* A repeated complaint: logged at once, then at most every COMPLAIN_NS
 * with the count of those not logged. */
struct complaint {
    int64_t  last;                      /* ns of the last one logged */
    uint64_t quiet;                     /* not logged since          */
};

struct sd_state {
    struct vg_instance   *in;
    const struct sd_conf *conf;
    struct listener      *lst;
    size_t                nlst;
    struct conn          *conns;
    int64_t               nconns;
    struct sd_agg        *agg;
    struct vg_timer      *flush;
    int                   running;
    size_t                max;          /* max_line_size */
    size_t                dgram;        /* bytes per datagram buffer */
    char                 *rbuf;         /* RECV_BATCH datagram buffers */
    uint64_t              metrics;      /* lines aggregated, not counted */
    struct vg_batch      *out;          /* the batch a flush fills */
    int64_t               out_time;
    int64_t               last_flush;   /* ns: start of this interval */
    struct complaint      bad_line, no_series, drops;
};

static const struct vg_option sd_options[] = {
    { .name = "listen", .type = VG_OPT_STRLIST,
      .def = "udp://127.0.0.1:8125",
      .offset = offsetof(struct sd_conf, listen),
      .help = "udp://HOST:PORT, tcp://HOST:PORT, unix:///PATH (datagrams)" },
    { .name = "flush_interval", .type = VG_OPT_DURATION, .def = "10s",
      .offset = offsetof(struct sd_conf, flush_interval),
      .help = "aggregate this long, then emit every series" },
    { .name = "percentiles", .type = VG_OPT_STRLIST, .def = "50,90,95,99",
      .offset = offsetof(struct sd_conf, percentiles),
      .help = "percentiles of timers, histograms and distributions" },
    { .name = "rcvbuf", .type = VG_OPT_SIZE, .def = "8MiB",
      .offset = offsetof(struct sd_conf, rcvbuf),
      .help = "socket receive buffer (SO_RCVBUF) of datagram listeners" },
    { .name = "max_line_size", .type = VG_OPT_SIZE, .def = "64KiB",
      .offset = offsetof(struct sd_conf, max_line_size),
      .help = "longest line (and datagram); longer ones are malformed" },
    { .name = "max_set_size", .type = VG_OPT_INT, .def = "100000",
      .offset = offsetof(struct sd_conf, max_set_size),
      .help = "members a set counts per interval; more are not counted" },
    { .name = "max_series", .type = VG_OPT_INT, .def = "100000",
      .offset = offsetof(struct sd_conf, max_series),
      .help = "series held at once; lines of new ones are dropped" },
    { .name = "max_connections", .type = VG_OPT_INT, .def = "256",
      .offset = offsetof(struct sd_conf, max_connections),
      .help = "TCP connections at once; more are closed and counted" },
    { 0 }
};

/* ------------------------------------------------------------------ */
/* Lines                                                               */
/* ------------------------------------------------------------------ */

/* True when c is due to be logged now (see struct complaint). */
static int
complain(struct sd_state *st, struct complaint *c, uint64_t *quiet)
{
    int64_t now = vg_now(st->in);

    if (c->last && now - c->last < COMPLAIN_NS) {
        c->quiet++;
        return 0;
    }
    *quiet = c->quiet;
    c->quiet = 0;
    c->last = now;
    return 1;
}

static void
malformed(struct sd_state *st, const char *p, size_t len, const char *why)
{
    char quote[QUOTE_MAX + 1];
    uint64_t quiet;
    size_t i, n = len < QUOTE_MAX ? len : QUOTE_MAX;

    vg_count(st->in, "malformed", 1);
    if (!complain(st, &st->bad_line, &quiet))
        return;
    for (i = 0; i < n; i++)
        quote[i] = p[i] >= 0x20 && p[i] < 0x7f ? p[i] : '?';
    quote[n] = '\0';
    vg_log(st->in, VG_LOG_WARN, "malformed line '%s%s': %s (%" PRIu64
           " more not logged)", quote, len > n ? "..." : "", why, quiet);
}

static void
add_line(struct sd_state *st, const char *p, size_t len)
{
    struct sd_metric m;
    const char *why;
    uint64_t quiet;
    int rc, full = 0;

    if (len > st->max) {
        malformed(st, p, len, "line longer than max_line_size");
        return;
    }
    if ((rc = sd_parse_line(p, len, &m, &why)) < 0) {
        malformed(st, p, len, why);
        return;
    }
    if (rc > 0)
        return;
    rc = sd_agg_add(st->agg, &m, &full);
    if (rc == -EINVAL) {
        malformed(st, p, len, "name and tags longer than 4 KiB");
    } else if (rc == -ENOSPC) {
        vg_count(st->in, "series_dropped", 1);
        if (complain(st, &st->no_series, &quiet))
            vg_log(st->in, VG_LOG_WARN, "metric '%.*s' dropped: "
                   "max_series (%" PRId64 ") reached (%" PRIu64
                   " more not logged)", (int)(m.name.len < QUOTE_MAX ?
                   m.name.len : QUOTE_MAX), m.name.p,
                   st->conf->max_series, quiet);
    } else if (rc < 0) {
        vg_count(st->in, "dropped", 1);
    } else {
        st->metrics++;
    }
    if (full)
        vg_count(st->in, "set_overflow", 1);
}

/* Every line of p[0..len), the last one without its newline too. */
static void
add_lines(struct sd_state *st, const char *p, size_t len)
{
    while (len) {
        const char *nl = memchr(p, '\n', len);
        size_t n = nl ? (size_t)(nl - p) : len;

        add_line(st, p, n);
        if (!nl)
            break;
        p += n + 1;
        len -= n + 1;
    }
}

static void
count_metrics(struct sd_state *st)
{
    if (st->metrics) {
        vg_count(st->in, "metrics", (int64_t)st->metrics);
        st->metrics = 0;
    }
}

/* ------------------------------------------------------------------ */
/* Flush                                                               */
/* ------------------------------------------------------------------ */

static void
on_value(void *arg, const char *name, const struct vg_kv *labels,
         uint32_t nlabels, double value)
{
    struct sd_state *st = arg;
    struct vg_instance *in = st->in;
    struct vg_event ev;

    if (!st->out)
        st->out = vg_batch_new(in, 64 * 1024);
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = st->out_time;
    ev.name = name;
    ev.metric_type = VG_METRIC_GAUGE;
    ev.value = value;
    ev.labels = labels;
    ev.nlabels = nlabels;
    if (vg_batch_add(in, st->out, &ev) < 0)
        vg_count(in, "dropped", 1);
    if (vg_batch_count(in, st->out) >= BATCH_EVENTS) {
        vg_emit(in, st->out);
        st->out = NULL;
    }
}

/* Rates divide by the time since the last flush: the interval, except
 * for the last one, cut short by a stop. */
static void
flush_now(struct sd_state *st)
{
    int64_t elapsed;
    size_t n;

    count_metrics(st);
    st->out_time = vg_now(st->in);
    elapsed = st->out_time - st->last_flush;
    if (elapsed <= 0 || elapsed > st->conf->flush_interval)
        elapsed = st->conf->flush_interval;
    st->last_flush = st->out_time;
    n = sd_agg_flush(st->agg, (double)elapsed / 1e9, on_value, st);
    if (st->out) {
        if (vg_batch_count(st->in, st->out))
            vg_emit(st->in, st->out);
        else
            vg_batch_unref(st->in, st->out);
        st->out = NULL;
    }
    vg_log(st->in, VG_LOG_DEBUG, "flushed %zu values of %zu series", n,
           sd_agg_series(st->agg));
}

static void
on_flush(struct vg_instance *in, void *arg)
{
    (void)in;
    flush_now(arg);
}

/* ------------------------------------------------------------------ */
/* Datagrams: UDP and unix                                             */
/* ------------------------------------------------------------------ */

/* What the kernel dropped on the socket since the last look. */
static void
note_drops(struct listener *l, struct vg_dgram_rx *rx, int n)
{
    struct sd_state *st = l->st;
    uint32_t diff = vg_dgram_new_drops(rx, n, &l->net.drops);
    uint64_t quiet;

    if (diff == 0)
        return;
    vg_count(st->in, "kernel_drops", diff);
    if (complain(st, &st->drops, &quiet))
        vg_log(st->in, VG_LOG_WARN, "kernel dropped %" PRIu32
               " datagrams on '%s' (%" PRIu32 " in all): raise "
               "'rcvbuf' or net.core.rmem_max", diff, l->net.url, l->net.drops);
}

static void
on_dgram(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct listener *l = arg;
    struct sd_state *st = l->st;
    struct vg_dgram_rx rx;
    int round, n, k;

    (void)revents;
    for (round = 0; round < RECV_ROUNDS; round++) {
        n = vg_dgram_recv(&rx, fd, st->rbuf, st->dgram, RECV_BATCH);
        if (n < 0) {
            vg_log(in, VG_LOG_WARN, "receive on '%s' failed: %s", l->net.url,
                   strerror(-n));
            break;
        }
        for (k = 0; k < n; k++) {
            const char *p = rx.iov[k].iov_base;
            size_t len = rx.msgs[k].msg_len;

            if (rx.msgs[k].msg_hdr.msg_flags & MSG_TRUNC) {
                /* the last line was cut: keep the complete ones */
                const char *nl = len ? memrchr(p, '\n', len) : NULL;
                size_t keep = nl ? (size_t)(nl - p) : 0;

                malformed(st, p + (nl ? keep + 1 : 0), len - keep -
                          (nl ? 1 : 0), "datagram longer than "
                          "max_line_size");
                len = keep;
            }
            add_lines(st, p, len);
        }
        note_drops(l, &rx, n);
        if (n < RECV_BATCH)
            break;
    }
    count_metrics(st);
}

/* ------------------------------------------------------------------ */
/* Streams: TCP                                                        */
/* ------------------------------------------------------------------ */

static void
conn_free(struct sd_state *st, struct conn *c)
{
    if (c->prev)
        c->prev->next = c->next;
    else
        st->conns = c->next;
    if (c->next)
        c->next->prev = c->prev;
    st->nconns--;
    if (c->io)
        vg_io_free(st->in, c->io);
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c);
}

/* Aggregates the complete lines of c's buffer; at eof the rest too. */
static void
conn_lines(struct sd_state *st, struct conn *c, int eof)
{
    size_t off = 0;

    for (;;) {
        const char *p = c->buf + off;
        const char *nl = memchr(p, '\n', c->len - off);
        size_t n;

        if (!nl) {
            if (eof && !c->skipping)
                add_line(st, p, c->len - off);
            else if (off == 0 && c->len == st->max + 1) {
                /* a line past max_line_size: report it, skip to its end */
                if (!c->skipping)
                    malformed(st, p, c->len,
                              "line longer than max_line_size");
                c->skipping = 1;
                off = c->len;
            }
            break;
        }
        n = (size_t)(nl - p);
        if (!c->skipping)
            add_line(st, p, n);
        c->skipping = 0;
        off += n + 1;
    }
    memmove(c->buf, c->buf + off, c->len - off);
    c->len -= off;
}

static void
on_conn(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct conn *c = arg;
    struct sd_state *st = c->st;
    int reads;

    (void)revents;
    for (reads = 0; reads < READS_MAX; reads++) {
        ssize_t r = read(fd, c->buf + c->len, st->max + 1 - c->len);

        if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK ||
                      errno == EINTR))
            break;
        if (r <= 0) {
            if (r < 0)
                vg_log(in, VG_LOG_DEBUG, "connection on fd %d failed: %s",
                       fd, strerror(errno));
            conn_lines(st, c, 1);
            conn_free(st, c);
            break;
        }
        c->len += (size_t)r;
        conn_lines(st, c, 0);
    }
    count_metrics(st);
}

static void
on_accept(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct listener *l = arg;
    struct sd_state *st = l->st;
    int k;

    (void)fd;                           /* the listener's own */
    (void)revents;
    for (k = 0; k < 64; k++) {
        struct conn *c;
        int cfd = vg_listener_accept(in, &l->net, NULL);

        if (cfd < 0)
            return;
        if (st->nconns >= st->conf->max_connections) {
            vg_count(in, "rejected_connections", 1);
            close(cfd);
            continue;
        }
        if (!(c = calloc(1, sizeof(*c))) ||
            !(c->buf = malloc(st->max + 1))) {
            vg_log(in, VG_LOG_ERROR, "cannot allocate a connection");
            free(c);
            close(cfd);
            return;
        }
        c->st = st;
        c->fd = cfd;
        c->next = st->conns;
        if (st->conns)
            st->conns->prev = c;
        st->conns = c;
        st->nconns++;
        if (!(c->io = vg_io_new(in, cfd, VG_IO_READ, on_conn, c))) {
            conn_free(st, c);
            continue;
        }
        vg_io_start(in, c->io);
    }
}

/* ------------------------------------------------------------------ */
/* Plugin                                                              */
/* ------------------------------------------------------------------ */

static void
sd_state_free(struct sd_state *st)
{
    size_t i;

    if (!st)
        return;
    while (st->conns)                   /* conn_free() unlinks the head */
        conn_free(st, st->conns);       /* NOLINT(clang-analyzer-unix.Malloc) */
    for (i = 0; i < st->nlst; i++)
        vg_listener_free(st->in, &st->lst[i].net);
    if (st->flush)
        vg_timer_free(st->in, st->flush);
    if (st->out)
        vg_batch_unref(st->in, st->out);
    sd_agg_free(st->agg);
    free(st->lst);
    free(st->rbuf);
    free(st);
}

/* Each entry may hold several numbers: "50,90,95,99" or a YAML list. */
static int
parse_percentiles(struct vg_instance *in, const struct vg_strv *v,
                  struct sd_agg_conf *ac)
{
    size_t i;

    for (i = 0; i < v->n; i++) {
        const char *s = v->v[i];

        while (*s) {
            char *end;
            double p = strtod(s, &end);

            if (end == s || (*end && *end != ',') || !(p > 0 && p <= 100)) {
                vg_log(in, VG_LOG_ERROR, "option 'percentiles': cannot "
                       "read '%s': want numbers within (0, 100]", v->v[i]);
                return -EINVAL;
            }
            if (ac->npct == SD_MAX_PCT) {
                vg_log(in, VG_LOG_ERROR, "option 'percentiles': at most %d",
                       SD_MAX_PCT);
                return -EINVAL;
            }
            ac->pct[ac->npct++] = p;
            s = *end ? end + 1 : end;
        }
    }
    return 0;
}

static int
sd_check(struct vg_instance *in, const void *conf)
{
    const struct sd_conf *c = conf;
    struct sd_agg_conf ac = { .npct = 0 };

    if (c->listen.n == 0) {
        vg_log(in, VG_LOG_ERROR, "option 'listen' must name a socket");
        return -EINVAL;
    }
    if (c->flush_interval < 10 * VG_MILLISECOND) {
        vg_log(in, VG_LOG_ERROR, "option 'flush_interval' must be >= 10ms");
        return -EINVAL;
    }
    if (c->max_line_size < 64 || c->max_line_size > DGRAM_MAX) {
        vg_log(in, VG_LOG_ERROR, "option 'max_line_size' must be within "
               "64 bytes..64KiB");
        return -EINVAL;
    }
    if (c->rcvbuf < 4096) {
        vg_log(in, VG_LOG_ERROR, "option 'rcvbuf' must be >= 4KiB");
        return -EINVAL;
    }
    if (c->max_set_size < 1 || c->max_set_size > (1 << 30) ||
        c->max_series < 1 || c->max_series > (1 << 30) ||
        c->max_connections < 1) {
        vg_log(in, VG_LOG_ERROR, "options 'max_set_size', 'max_series' and "
               "'max_connections' must be >= 1 (and the first two <= 2^30)");
        return -EINVAL;
    }
    return parse_percentiles(in, &c->percentiles, &ac) < 0 ||
           vg_listener_urls_check(in, &c->listen, LISTEN_KINDS,
                                  LISTEN_WANT) < 0 ? -EINVAL : 0;
}

static int
sd_init(struct vg_instance *in, void *conf)
{
    const struct sd_conf *c = conf;
    struct sd_agg_conf ac = { .npct = 0 };
    struct sd_state *st = NULL;
    int dgram = 0;
    size_t i;
    int rc = -EINVAL;

    if ((rc = parse_percentiles(in, &c->percentiles, &ac)) < 0)
        goto fail;
    ac.max_set_size = (uint32_t)c->max_set_size;
    ac.max_series = (uint32_t)c->max_series;
    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->lst = calloc(c->listen.n, sizeof(*st->lst))))
        goto fail;
    st->in = in;
    st->conf = c;
    st->max = (size_t)c->max_line_size;
    for (i = 0; i < c->listen.n; i++) {
        struct listener *l = &st->lst[i];

        l->st = st;
        st->nlst++;
        rc = vg_listener_init(in, &l->net, c->listen.v[i], LISTEN_KINDS,
                              LISTEN_WANT);
        if (rc < 0)
            goto fail;
        dgram |= l->net.kind != LST_TCP;
    }
    rc = -ENOMEM;
    /* one byte more than a line may hold tells a cut datagram apart */
    st->dgram = st->max + 1;
    if ((dgram && !(st->rbuf = malloc(RECV_BATCH * st->dgram))) ||
        !(st->agg = sd_agg_new(&ac)) ||
        !(st->flush = vg_timer_new(in, on_flush, st)))
        goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    sd_state_free(st);
    return rc;
}

static int
sd_start(struct vg_instance *in)
{
    struct sd_state *st = vg_instance_data(in);
    size_t i;
    int rc = 0;

    for (i = 0; i < st->nlst && rc == 0; i++) {
        struct listener *l = &st->lst[i];

        rc = vg_listener_open(in, &l->net, st->conf->rcvbuf);
        if (rc == 0 &&
            !(l->net.io = vg_io_new(in, l->net.fd, VG_IO_READ,
                                    l->net.kind == LST_TCP ? on_accept
                                                           : on_dgram, l)))
            rc = -ENOMEM;
        if (rc == 0) {
            vg_io_start(in, l->net.io);
            vg_log(in, VG_LOG_DEBUG, "listening on '%s'", l->net.url);
        }
    }
    if (rc < 0) {
        for (i = 0; i < st->nlst; i++)
            vg_listener_close(in, &st->lst[i].net);
        return rc;
    }
    st->running = 1;
    st->last_flush = vg_now(in);
    vg_timer_start(in, st->flush, st->conf->flush_interval,
                   st->conf->flush_interval);
    return 0;
}

static void
sd_stop(struct vg_instance *in)
{
    struct sd_state *st = vg_instance_data(in);
    size_t i;

    if (!st->running)
        return;
    st->running = 0;
    vg_timer_stop(in, st->flush);
    for (i = 0; i < st->nlst; i++)
        vg_listener_close(in, &st->lst[i].net);
    /* what connections still hold and the partial interval are emitted */
    while (st->conns) {                 /* conn_free() unlinks the head */
        conn_lines(st, st->conns, 1);   /* NOLINT(clang-analyzer-unix.Malloc) */
        conn_free(st, st->conns);       /* NOLINT(clang-analyzer-unix.Malloc) */
    }
    flush_now(st);
}

static void
sd_destroy(struct vg_instance *in)
{
    sd_state_free(vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "statsd",
    .summary = "StatsD and DogStatsD server over UDP, TCP and unix sockets, "
               "aggregated per flush interval",
    .options = sd_options,
    .conf_size = sizeof(struct sd_conf),
    .check = sd_check,
    .init = sd_init,
    .start = sd_start,
    .stop = sd_stop,
    .destroy = sd_destroy,
};
