/*
 * input syslog: a syslog server on UDP, TCP, TLS and unix datagram
 * sockets.  Each readiness callback turns what it read into one batch:
 * up to RECV_BATCH datagrams (recvmmsg), or every complete frame of one
 * connection.  Messages are parsed as RFC 5424 or RFC 3164; a malformed
 * one is kept raw with parse_error=true, never dropped.  TCP and TLS can
 * pause (their read watchers stop, the senders feel it); datagrams cannot.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <openssl/err.h>
#include <openssl/ssl.h>

#include <vigil/plugin.h>

#include "framing.h"
#include "listen_socket.h"
#include "listen_url.h"
#include "syslog_msg.h"

#define RECV_BATCH   32                 /* datagrams per recvmmsg       */
#define DGRAM_MAX    65536              /* no datagram is larger        */
#define READS_MAX    16                 /* reads per stream callback    */
#define PEER_MAX     64
#define MAX_ATTRS    (SL_MAX_ATTRS + 1)

enum lst_kind {
    LST_UDP = VG_LISTEN_UDP,
    LST_TCP = VG_LISTEN_TCP,
    LST_TLS = VG_LISTEN_TLS,
    LST_UNIX = VG_LISTEN_UNIX,
};
#define LISTEN_KINDS (VG_LISTEN_BIT(LST_UDP) | VG_LISTEN_BIT(LST_TCP) | \
                      VG_LISTEN_BIT(LST_TLS) | VG_LISTEN_BIT(LST_UNIX))
#define LISTEN_WANT  "udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT " \
                     "or unix:///PATH"

struct sys_conf {                       /* the core fills this in */
    struct vg_strv  listen;
    int64_t         max_message_size;   /* bytes */
    int64_t         rcvbuf;             /* bytes */
    int64_t         max_connections;
    int64_t         idle_timeout;       /* ns; 0 = never */
    int             host_label;
    char           *tls_cert_file;
    char           *tls_key_file;
    char           *tls_ca_file;
    int             tls_verify_client;
};

struct sys_state;

struct listener {
    struct vg_listener net;
    struct sys_state *st;
};

struct conn {
    struct conn      *prev, *next;
    struct sys_state *st;
    int               fd;
    struct vg_io     *io;
    SSL              *ssl;
    char             *buf;              /* max + FR_HEADER_MAX bytes */
    size_t            len;
    struct fr_state   fr;
    int64_t           last;             /* ns of the last byte read */
    char              peer[PEER_MAX];
};

struct sys_state {
    struct vg_instance    *in;
    const struct sys_conf *conf;
    struct listener       *lst;
    size_t                 nlst;
    struct conn           *conns;
    int64_t                nconns;
    SSL_CTX               *ctx;
    struct vg_timer       *idle;
    int                    running;
    int                    paused;
    size_t                 max;         /* max_message_size */
    size_t                 dgram;       /* bytes per datagram buffer */
    char                  *rbuf;        /* RECV_BATCH datagram buffers */
    char                  *scratch;     /* SD values of one message */
    char                   keybuf[2048];
    struct vg_kv           attrs[MAX_ATTRS];
    uint64_t               rejected;    /* connections over the limit */
};

static const struct vg_option tls_options[] = {
    { .name = "cert_file", .type = VG_OPT_STR,
      .offset = offsetof(struct sys_conf, tls_cert_file),
      .help = "server certificate chain (PEM), for tls:// listeners" },
    { .name = "key_file", .type = VG_OPT_STR,
      .offset = offsetof(struct sys_conf, tls_key_file),
      .help = "private key of the certificate (PEM)" },
    { .name = "ca_file", .type = VG_OPT_STR,
      .offset = offsetof(struct sys_conf, tls_ca_file),
      .help = "CAs that client certificates must chain to (PEM)" },
    { .name = "verify_client", .type = VG_OPT_BOOL, .def = "false",
      .offset = offsetof(struct sys_conf, tls_verify_client),
      .help = "require a client certificate signed by ca_file" },
    { 0 }
};

static const struct vg_option sys_options[] = {
    { .name = "listen", .type = VG_OPT_STRLIST,
      .def = "udp://127.0.0.1:5514",
      .offset = offsetof(struct sys_conf, listen),
      .help = "udp://HOST:PORT, tcp://HOST:PORT, tls://HOST:PORT, "
              "unix:///PATH (datagrams)" },
    { .name = "max_message_size", .type = VG_OPT_SIZE, .def = "64KiB",
      .offset = offsetof(struct sys_conf, max_message_size),
      .help = "longer messages are cut and flagged truncated=true" },
    { .name = "rcvbuf", .type = VG_OPT_SIZE, .def = "4MiB",
      .offset = offsetof(struct sys_conf, rcvbuf),
      .help = "receive buffer of UDP and unix sockets (absorbs bursts); "
              "past net.core.rmem_max it needs root" },
    { .name = "max_connections", .type = VG_OPT_INT, .def = "256",
      .offset = offsetof(struct sys_conf, max_connections),
      .help = "TCP/TLS connections at once; more are closed and counted" },
    { .name = "idle_timeout", .type = VG_OPT_DURATION, .def = "5m",
      .offset = offsetof(struct sys_conf, idle_timeout),
      .help = "close a connection silent this long; 0 = never" },
    { .name = "host_label", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct sys_conf, host_label),
      .help = "the message's hostname as label 'host' (else attribute "
              "syslog.hostname)" },
    { .name = "tls", .type = VG_OPT_OBJECT, .sub = tls_options,
      .help = "certificate and client verification of tls:// listeners" },
    { 0 }
};

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

/* Parses one message and adds it to b; counts what could not be added. */
static void
add_message(struct sys_state *st, struct vg_batch *b, const char *p,
            size_t len, const char *peer, int64_t now, int truncated)
{
    struct vg_instance *in = st->in;
    struct sl_msg m;
    struct vg_kv labels[2];
    struct vg_event ev;
    uint32_t n = 0, nl = 0;

    /* a datagram or line often ends with its own terminator */
    while (len && (p[len - 1] == '\n' || p[len - 1] == '\0'))
        len--;
    if (sl_parse(p, len, now, st->scratch, &m) < 0)
        vg_count(in, "parse_errors", 1);
    sl_msg_attrs(&m, st->conf->host_label ? 0 : SL_HOST_ATTR, st->attrs,
                 &n, MAX_ATTRS - 1, st->keybuf, sizeof(st->keybuf));
    if (truncated) {
        st->attrs[n].key = "truncated";
        st->attrs[n].key_len = 9;
        st->attrs[n].type = VG_VAL_BOOL;
        st->attrs[n].len = 0;
        st->attrs[n++].v.b = 1;
        vg_count(in, "truncated", 1);
    }
    if (st->conf->host_label && m.host.p) {
        labels[nl] = vg_kv_str("host", "");
        labels[nl].len = m.host.len;
        labels[nl++].v.s = m.host.p;
    }
    labels[nl++] = vg_kv_str("peer", peer);

    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_LOG;
    ev.time = m.time ? m.time : now;
    ev.severity = sl_severity_otel(m.severity);
    ev.body = m.msg.len ? m.msg.p : "";
    ev.body_len = m.msg.len;
    ev.attrs = st->attrs;
    ev.nattrs = n;
    ev.labels = labels;
    ev.nlabels = nl;
    if (vg_batch_add(in, b, &ev) < 0)
        vg_count(in, "dropped", 1);
}

static void
emit_batch(struct sys_state *st, struct vg_batch *b)
{
    size_t n = vg_batch_count(st->in, b);

    if (n == 0) {
        vg_batch_unref(st->in, b);
        return;
    }
    vg_count(st->in, "received", (int64_t)n);
    vg_emit(st->in, b);
}

static void
format_peer(const struct sockaddr_storage *ss, char *out)
{
    const void *a = NULL;

    if (ss->ss_family == AF_INET)
        a = &((const struct sockaddr_in *)(const void *)ss)->sin_addr;
    else if (ss->ss_family == AF_INET6)
        a = &((const struct sockaddr_in6 *)(const void *)ss)->sin6_addr;
    if (!a || !inet_ntop(ss->ss_family, a, out, PEER_MAX))
        snprintf(out, PEER_MAX, "unknown");
}

/* ------------------------------------------------------------------ */
/* Datagrams: UDP and unix                                             */
/* ------------------------------------------------------------------ */

static void
on_dgram(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct listener *l = arg;
    struct sys_state *st = l->st;
    struct vg_dgram_rx rx;
    struct vg_batch *b;
    char peer[PEER_MAX];
    int64_t now;
    uint32_t dropped;
    int n, k;

    (void)revents;
    n = vg_dgram_recv(&rx, fd, st->rbuf, st->dgram, RECV_BATCH);
    if (n < 0) {
        vg_log(in, VG_LOG_WARN, "receive on '%s' failed: %s", l->net.url,
               strerror(-n));
        return;
    }
    if ((dropped = vg_dgram_new_drops(&rx, n, &l->net.drops)) > 0) {
        vg_count(in, "kernel_drops", dropped);
        vg_log(in, VG_LOG_WARN, "kernel dropped %" PRIu32 " datagrams on "
               "'%s' (%" PRIu32 " in all): raise 'rcvbuf' or "
               "net.core.rmem_max", dropped, l->net.url, l->net.drops);
    }
    if (n == 0)
        return;
    now = vg_now(in);
    b = vg_batch_new(in, (size_t)n * 512);
    for (k = 0; k < n; k++) {
        size_t len = rx.msgs[k].msg_len;
        int cut = (rx.msgs[k].msg_hdr.msg_flags & MSG_TRUNC) != 0;

        if (len > st->max) {
            len = st->max;
            cut = 1;
        }
        if (l->net.kind == LST_UDP)
            format_peer(&rx.addr[k], peer);
        add_message(st, b, rx.iov[k].iov_base, len,
                    l->net.kind == LST_UDP ? peer : l->net.url, now, cut);
    }
    emit_batch(st, b);
}

/* ------------------------------------------------------------------ */
/* Streams: TCP and TLS                                                */
/* ------------------------------------------------------------------ */

static void
conn_free(struct sys_state *st, struct conn *c)
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
    if (c->ssl) {
        SSL_shutdown(c->ssl);           /* best effort, non-blocking */
        SSL_free(c->ssl);
    }
    if (c->fd >= 0)
        close(c->fd);
    free(c->buf);
    free(c);
}

/* Adds every complete frame in c's buffer to b; at eof, the rest too. */
static void
conn_frames(struct sys_state *st, struct conn *c, struct vg_batch *b,
            int eof, int64_t now)
{
    struct fr_frame f;
    size_t off = 0, used;
    int got;

    do {
        got = fr_next(&c->fr, c->buf + off, c->len - off, st->max, eof, &f,
                      &used);
        if (got)
            add_message(st, b, f.msg, f.len, c->peer, now, f.truncated);
        off += used;
    } while ((got || used) && off < c->len);
    if (off) {
        memmove(c->buf, c->buf + off, c->len - off);
        c->len -= off;
    }
}

/* Closes c, emitting what it still held. */
static void
conn_close(struct sys_state *st, struct conn *c, struct vg_batch *b)
{
    conn_frames(st, c, b, 1, vg_now(st->in));
    conn_free(st, c);
}

/*
 * One read, plain or TLS: bytes read, 0 at eof, -EAGAIN when the socket
 * has nothing, another negative errno on failure.  A TLS handshake or
 * renegotiation may need the socket writable: *want_write says so.
 */
static ssize_t
conn_read(struct conn *c, char *p, size_t n, int *want_write)
{
    ssize_t r;
    int err;

    *want_write = 0;
    if (!c->ssl) {
        r = read(c->fd, p, n);
        if (r < 0)
            return errno == EAGAIN || errno == EWOULDBLOCK ||
                   errno == EINTR ? -EAGAIN : -errno;
        return r;
    }
    ERR_clear_error();
    r = SSL_read(c->ssl, p, (int)n);
    if (r > 0)
        return r;
    err = SSL_get_error(c->ssl, (int)r);
    if (err == SSL_ERROR_WANT_READ)
        return -EAGAIN;
    if (err == SSL_ERROR_WANT_WRITE) {
        *want_write = 1;
        return -EAGAIN;
    }
    if (err == SSL_ERROR_ZERO_RETURN)
        return 0;
    return -EPROTO;
}

static void
on_conn(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct conn *c = arg;
    struct sys_state *st = c->st;
    size_t cap = st->max + FR_HEADER_MAX;
    struct vg_batch *b = vg_batch_new(in, 4096);
    int64_t now = vg_now(in);
    int reads = 0, want_write = 0, done = 0;

    (void)fd;
    (void)revents;
    /* TLS may hold bytes, read from the socket or decrypted, that the
     * socket no longer signals: drain those whatever the read count */
    while (!done && (reads < READS_MAX ||
                     (c->ssl && SSL_has_pending(c->ssl)))) {
        ssize_t r;

        if (c->len == cap)              /* fr_next guarantees progress */
            break;
        r = conn_read(c, c->buf + c->len, cap - c->len, &want_write);
        reads++;
        if (r == -EAGAIN)
            break;
        if (r <= 0) {
            if (r < 0) {
                unsigned long e = ERR_peek_error();
                char msg[160];

                ERR_error_string_n(e, msg, sizeof(msg));
                vg_log(in, VG_LOG_DEBUG, "connection from '%s' failed: %s",
                       c->peer, e ? msg : strerror((int)-r));
            }
            done = 1;
            break;
        }
        c->len += (size_t)r;
        c->last = now;
        conn_frames(st, c, b, 0, now);
    }
    if (done) {
        conn_close(st, c, b);
    } else if (c->ssl) {
        vg_io_set(in, c->io, want_write ? VG_IO_WRITE : VG_IO_READ);
    }
    emit_batch(st, b);
}

static void
on_accept(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct listener *l = arg;
    struct sys_state *st = l->st;
    int k;

    (void)fd;                           /* the listener's own */
    (void)revents;
    for (k = 0; k < 64; k++) {
        struct sockaddr_storage ss;
        struct conn *c;
        int cfd = vg_listener_accept(in, &l->net, &ss);

        if (cfd < 0)
            return;
        if (st->nconns >= st->conf->max_connections) {
            /* log the first, then every 1000th, with the count */
            if (st->rejected++ % 1000 == 0)
                vg_log(in, VG_LOG_WARN, "connection refused on '%s': "
                       "max_connections (%" PRId64 ") reached, %" PRIu64
                       " refused so far", l->net.url,
                       st->conf->max_connections, st->rejected);
            vg_count(in, "rejected_connections", 1);
            close(cfd);
            continue;
        }
        if (!(c = calloc(1, sizeof(*c))) ||
            !(c->buf = malloc(st->max + FR_HEADER_MAX))) {
            vg_log(in, VG_LOG_ERROR, "cannot allocate a connection");
            free(c);
            close(cfd);
            return;
        }
        c->st = st;
        c->fd = cfd;
        c->last = vg_now(in);
        format_peer(&ss, c->peer);
        c->next = st->conns;
        if (st->conns)
            st->conns->prev = c;
        st->conns = c;
        st->nconns++;
        if (l->net.kind == LST_TLS) {
            if (!(c->ssl = SSL_new(st->ctx)) || !SSL_set_fd(c->ssl, cfd)) {
                vg_log(in, VG_LOG_ERROR, "cannot set up TLS for '%s'",
                       c->peer);
                conn_free(st, c);
                continue;
            }
            SSL_set_accept_state(c->ssl);
        }
        if (!(c->io = vg_io_new(in, cfd, VG_IO_READ, on_conn, c))) {
            conn_free(st, c);
            continue;
        }
        if (!st->paused)
            vg_io_start(in, c->io);
    }
}

static void
on_idle(struct vg_instance *in, void *arg)
{
    struct sys_state *st = arg;
    int64_t now = vg_now(in);
    struct conn *c = st->conns, *next;
    struct vg_batch *b;

    if (!c)
        return;
    b = vg_batch_new(in, 0);
    for (; c; c = next) {
        next = c->next;
        if (now - c->last >= st->conf->idle_timeout) {
            vg_log(in, VG_LOG_DEBUG, "closing idle connection from '%s'",
                   c->peer);
            vg_count(in, "idle_closed", 1);
            conn_close(st, c, b);
        }
    }
    emit_batch(st, b);
}

/* ------------------------------------------------------------------ */
/* Listeners                                                           */
/* ------------------------------------------------------------------ */


static int
tls_setup(struct sys_state *st)
{
    const struct sys_conf *c = st->conf;
    struct vg_instance *in = st->in;
    char msg[256];

    if (!c->tls_cert_file || !c->tls_key_file) {
        vg_log(in, VG_LOG_ERROR, "tls:// listeners need tls.cert_file and "
               "tls.key_file");
        return -EINVAL;
    }
    if (c->tls_verify_client && !c->tls_ca_file) {
        vg_log(in, VG_LOG_ERROR, "tls.verify_client needs tls.ca_file");
        return -EINVAL;
    }
    ERR_clear_error();
    if (!(st->ctx = SSL_CTX_new(TLS_server_method())) ||
        !SSL_CTX_set_min_proto_version(st->ctx, TLS1_2_VERSION))
        goto fail;
    if (SSL_CTX_use_certificate_chain_file(st->ctx, c->tls_cert_file) != 1 ||
        SSL_CTX_use_PrivateKey_file(st->ctx, c->tls_key_file,
                                    SSL_FILETYPE_PEM) != 1 ||
        SSL_CTX_check_private_key(st->ctx) != 1)
        goto fail;
    /*
     * No TLS 1.3 session tickets: a sender that writes and closes without
     * reading them leaves them unread, its kernel then resets the
     * connection, and ours drops what we had not read yet.  Log senders
     * gain nothing from resumption anyway.
     */
    SSL_CTX_set_num_tickets(st->ctx, 0);
    SSL_CTX_set_options(st->ctx, SSL_OP_NO_TICKET);
    if (c->tls_ca_file &&
        SSL_CTX_load_verify_locations(st->ctx, c->tls_ca_file, NULL) != 1)
        goto fail;
    if (c->tls_verify_client)
        SSL_CTX_set_verify(st->ctx, SSL_VERIFY_PEER |
                           SSL_VERIFY_FAIL_IF_NO_PEER_CERT, NULL);
    return 0;
fail:
    ERR_error_string_n(ERR_get_error(), msg, sizeof(msg));
    vg_log(in, VG_LOG_ERROR, "cannot set up TLS with '%s': %s",
           c->tls_cert_file, msg);
    return -EINVAL;
}

static void
sys_state_free(struct sys_state *st)
{
    size_t i;

    if (!st)
        return;
    while (st->conns)                   /* conn_free() unlinks the head */
        conn_free(st, st->conns);       /* NOLINT(clang-analyzer-unix.Malloc) */
    for (i = 0; i < st->nlst; i++)
        vg_listener_free(st->in, &st->lst[i].net);
    if (st->idle)
        vg_timer_free(st->in, st->idle);
    if (st->ctx)
        SSL_CTX_free(st->ctx);
    free(st->lst);
    free(st->rbuf);
    free(st->scratch);
    free(st);
}

static int
sys_check(struct vg_instance *in, const void *conf)
{
    const struct sys_conf *c = conf;

    if (c->listen.n == 0) {
        vg_log(in, VG_LOG_ERROR, "option 'listen' must name a socket");
        return -EINVAL;
    }
    if (c->max_message_size < 480 || c->max_message_size > (64 << 20)) {
        vg_log(in, VG_LOG_ERROR, "option 'max_message_size' must be within "
               "480 bytes..64MiB");
        return -EINVAL;
    }
    if (c->max_connections < 1) {
        vg_log(in, VG_LOG_ERROR, "option 'max_connections' must be >= 1");
        return -EINVAL;
    }
    if (c->idle_timeout < 0) {
        vg_log(in, VG_LOG_ERROR, "option 'idle_timeout' must be >= 0");
        return -EINVAL;
    }
    return vg_listener_urls_check(in, &c->listen, LISTEN_KINDS, LISTEN_WANT);
}

static int
sys_init(struct vg_instance *in, void *conf)
{
    const struct sys_conf *c = conf;
    struct sys_state *st = NULL;
    int tls = 0, dgram = 0;
    size_t i;
    int rc = -ENOMEM;

    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->lst = calloc(c->listen.n, sizeof(*st->lst))))
        goto fail;
    st->in = in;
    st->conf = c;
    st->max = (size_t)c->max_message_size;
    for (i = 0; i < c->listen.n; i++) {
        struct listener *l = &st->lst[i];

        l->st = st;
        st->nlst++;
        rc = vg_listener_init(in, &l->net, c->listen.v[i], LISTEN_KINDS,
                              LISTEN_WANT);
        if (rc < 0)
            goto fail;
        tls |= l->net.kind == LST_TLS;
        dgram |= l->net.kind == LST_UDP || l->net.kind == LST_UNIX;
    }
    if (tls && (rc = tls_setup(st)) < 0)
        goto fail;
    rc = -ENOMEM;
    st->dgram = st->max < DGRAM_MAX ? st->max + 1 : DGRAM_MAX;
    if ((dgram && !(st->rbuf = malloc(RECV_BATCH * st->dgram))) ||
        !(st->scratch = malloc(st->max + FR_HEADER_MAX + DGRAM_MAX)))
        goto fail;
    if (!(st->idle = vg_timer_new(in, on_idle, st)))
        goto fail;
    vg_instance_set_data(in, st);
    return 0;
fail:
    sys_state_free(st);
    return rc;
}

static int
sys_start(struct vg_instance *in)
{
    struct sys_state *st = vg_instance_data(in);
    size_t i;
    int rc = 0;

    for (i = 0; i < st->nlst && rc == 0; i++) {
        struct listener *l = &st->lst[i];
        int stream = l->net.kind == LST_TCP || l->net.kind == LST_TLS;

        rc = vg_listener_open(in, &l->net, st->conf->rcvbuf);
        if (rc == 0 &&
            !(l->net.io = vg_io_new(in, l->net.fd, VG_IO_READ,
                                    stream ? on_accept : on_dgram, l)))
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
    if (st->conf->idle_timeout > 0) {
        int64_t every = st->conf->idle_timeout / 4;

        if (every < 100 * VG_MILLISECOND)
            every = 100 * VG_MILLISECOND;
        vg_timer_start(in, st->idle, every, every);
    }
    return 0;
}

static void
sys_stop(struct vg_instance *in)
{
    struct sys_state *st = vg_instance_data(in);
    struct vg_batch *b;
    size_t i;

    if (!st->running)
        return;
    st->running = 0;
    vg_timer_stop(in, st->idle);
    for (i = 0; i < st->nlst; i++)
        vg_listener_close(in, &st->lst[i].net);
    /* what connections still hold is emitted, not lost */
    b = vg_batch_new(in, 0);
    while (st->conns)
        conn_close(st, st->conns, b);
    emit_batch(st, b);
}

/* Backpressure: stream senders are held by TCP flow control; datagrams
 * cannot wait, so their listeners keep reading. */
static void
sys_pause(struct vg_instance *in)
{
    struct sys_state *st = vg_instance_data(in);
    struct conn *c;
    size_t i;

    st->paused = 1;
    for (i = 0; i < st->nlst; i++)
        if ((st->lst[i].net.kind == LST_TCP || st->lst[i].net.kind == LST_TLS) &&
            st->lst[i].net.io)
            vg_io_stop(in, st->lst[i].net.io);
    for (c = st->conns; c; c = c->next)
        vg_io_stop(in, c->io);
}

static void
sys_resume(struct vg_instance *in)
{
    struct sys_state *st = vg_instance_data(in);
    struct conn *c;
    size_t i;

    st->paused = 0;
    for (i = 0; i < st->nlst; i++)
        if (st->lst[i].net.io)
            vg_io_start(in, st->lst[i].net.io);
    for (c = st->conns; c; c = c->next)
        vg_io_start(in, c->io);
}

static void
sys_destroy(struct vg_instance *in)
{
    sys_state_free(vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "syslog",
    .summary = "syslog server: RFC 5424 and 3164 over UDP, TCP, TLS, unix",
    .options = sys_options,
    .conf_size = sizeof(struct sys_conf),
    .check = sys_check,
    .init = sys_init,
    .start = sys_start,
    .stop = sys_stop,
    .destroy = sys_destroy,
    .pause = sys_pause,
    .resume = sys_resume,
};
