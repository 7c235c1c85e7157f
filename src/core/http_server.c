/*
 * Status HTTP server.  Each connection reads into a fixed buffer, parses a
 * request when its head is complete, answers, and either closes or goes on
 * with what the client pipelined.  The timer of a connection is reset only
 * when a request completes, so a client that trickles bytes is still cut
 * off after REQUEST_TIMEOUT.
 */
#define _GNU_SOURCE             /* accept4 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <unistd.h>

#include "http_server.h"
#include "tls_server.h"
#include "log.h"

#define MAX_HEAD         8192
#define MAX_BODY         (64 * 1024)
#define MAX_HEADERS      64
#define MAX_CONNS        64
#define REQUEST_TIMEOUT  10.0           /* s */

struct conn {
    struct vg_http_server *srv;
    int                    fd;
    ev_io                  io;
    ev_timer               timer;
    char                   in[MAX_HEAD + MAX_BODY];
    size_t                 in_len;
    struct vg_buf          out;
    size_t                 out_off;
    int                    close_after;
    struct vg_tls_conn    *tls;         /* NULL: plain HTTP */
    struct conn           *next;
};

struct vg_http_server {
    struct ev_loop  *loop;
    int              fd;
    ev_io            accept_io;
    vg_http_handler  handler;
    void            *arg;
    struct conn     *conns;
    unsigned         nconns;
    const struct vg_tls_ops *tls_ops;
    struct vg_tls_ctx *tls;             /* NULL: plain HTTP */
};

static const char *
reason_phrase(int status)
{
    switch (status) {
    case 200: return "OK";
    case 204: return "No Content";
    case 400: return "Bad Request";
    case 401: return "Unauthorized";
    case 404: return "Not Found";
    case 405: return "Method Not Allowed";
    case 408: return "Request Timeout";
    case 413: return "Content Too Large";
    case 431: return "Request Header Fields Too Large";
    case 500: return "Internal Server Error";
    case 501: return "Not Implemented";
    case 503: return "Service Unavailable";
    case 505: return "HTTP Version Not Supported";
    default:  return "Unknown";
    }
}

static void
conn_free(struct conn *c)
{
    struct vg_http_server *s = c->srv;
    struct conn **pp;

    ev_io_stop(s->loop, &c->io);
    ev_timer_stop(s->loop, &c->timer);
    if (c->tls)
        s->tls_ops->conn_free(c->tls);
    close(c->fd);
    for (pp = &s->conns; *pp; pp = &(*pp)->next) {
        if (*pp == c) {
            *pp = c->next;
            break;
        }
    }
    s->nconns--;
    vg_buf_release(&c->out);
    free(c);
}

static void
queue_response(struct conn *c, const struct vg_http_response *r, int head)
{
    vg_buf_addf(&c->out, "HTTP/1.1 %d %s\r\n"
                "Content-Type: %s\r\n"
                "Content-Length: %zu\r\n"
                "Cache-Control: no-store\r\n"
                "X-Content-Type-Options: nosniff\r\n"
                "Connection: %s\r\n", r->status, reason_phrase(r->status),
                r->content_type ? r->content_type : "text/plain; charset=utf-8",
                r->body.len, c->close_after ? "close" : "keep-alive");
    if (r->allow)
        vg_buf_addf(&c->out, "Allow: %s\r\n", r->allow);
    if (r->status == 401)
        vg_buf_addstr(&c->out, "WWW-Authenticate: Bearer\r\n");
    vg_buf_addstr(&c->out, "\r\n");
    if (!head && r->body.len)
        vg_buf_add(&c->out, r->body.data, r->body.len);
}

static void
queue_error(struct conn *c, int status, const char *msg)
{
    struct vg_http_response r = { .status = status };

    vg_buf_init(&r.body);
    vg_buf_addf(&r.body, "%s\n", msg);
    c->close_after = 1;
    queue_response(c, &r, 0);
    vg_buf_release(&r.body);
}

size_t
vg_http_head_length(const char *p, size_t len)
{
    size_t i;

    for (i = 0; i + 1 < len; i++) {
        if (p[i] == '\n' && p[i + 1] == '\n')
            return i + 2;
        if (i + 3 < len && p[i] == '\r' && p[i + 1] == '\n' &&
            p[i + 2] == '\r' && p[i + 3] == '\n')
            return i + 4;
    }
    return 0;
}

static char *
trim(char *s)
{
    char *e;

    while (*s == ' ' || *s == '\t')
        s++;
    e = s + strlen(s);
    while (e > s && (e[-1] == ' ' || e[-1] == '\t' || e[-1] == '\r'))
        *--e = '\0';
    return s;
}

int
vg_http_parse_request(char *head, struct vg_http_request *req,
                      size_t *body_len, int *close_after, const char **why)
{
    char *line, *save = NULL, *method, *target, *version, *q;
    int nheaders = 0;

    memset(req, 0, sizeof(*req));
    *body_len = 0;
    *close_after = 0;
    line = strtok_r(head, "\n", &save);
    method = line ? strtok_r(line, " ", &line) : NULL;
    target = method ? strtok_r(NULL, " ", &line) : NULL;
    version = target ? strtok_r(NULL, " \r", &line) : NULL;
    if (!version || target[0] != '/') {
        *why = "malformed request line";
        return 400;
    }
    if (strncmp(version, "HTTP/1.", 7) != 0) {
        *why = "only HTTP/1.x is spoken here";
        return 505;
    }
    if (strcmp(version, "HTTP/1.0") == 0)
        *close_after = 1;
    while ((line = strtok_r(NULL, "\n", &save))) {
        char *colon, *name, *value;

        if (line[0] == '\r' || line[0] == '\0')
            break;
        if (++nheaders > MAX_HEADERS) {
            *why = "too many header fields";
            return 431;
        }
        colon = strchr(line, ':');
        if (!colon) {
            *why = "malformed header field";
            return 400;
        }
        *colon = '\0';
        name = trim(line);
        value = trim(colon + 1);
        if (strcasecmp(name, "Content-Length") == 0) {
            char *end;
            unsigned long v = strtoul(value, &end, 10);

            if (*end || !*value) {
                *why = "bad Content-Length";
                return 400;
            }
            if (v > MAX_BODY) {
                *why = "request body too large";
                return 413;
            }
            *body_len = v;
        } else if (strcasecmp(name, "Transfer-Encoding") == 0) {
            *why = "chunked request bodies are not accepted";
            return 501;
        } else if (strcasecmp(name, "Connection") == 0) {
            if (strcasecmp(value, "close") == 0)
                *close_after = 1;
        } else if (strcasecmp(name, "Authorization") == 0) {
            req->authorization = value;
        }
    }
    req->method = method;
    q = strchr(target, '?');
    if (q)
        *q++ = '\0';
    req->path = target;
    req->query = q ? q : "";
    return 0;
}

/*
 * Parses and answers one request if a whole one is buffered.  Returns the
 * bytes it used, 0 when more are needed, or -1 after queueing an error
 * (the connection then closes).
 */
static long
handle_one(struct conn *c)
{
    char head[MAX_HEAD + 1];
    struct vg_http_request req;
    struct vg_http_response resp = { .status = 200 };
    size_t hlen = vg_http_head_length(c->in, c->in_len), body_len;
    const char *why = NULL;
    int status, close_after;

    if (!hlen) {
        if (c->in_len >= MAX_HEAD) {
            queue_error(c, 431, "request head too large");
            return -1;
        }
        return 0;
    }
    if (hlen > MAX_HEAD) {
        queue_error(c, 431, "request head too large");
        return -1;
    }
    memcpy(head, c->in, hlen);
    head[hlen] = '\0';
    status = vg_http_parse_request(head, &req, &body_len, &close_after,
                                   &why);
    if (status) {
        queue_error(c, status, why);
        return -1;
    }
    if (c->in_len < hlen + body_len)
        return 0;               /* the body is still coming */
    /* Only now: set while the body was still coming, it would stop
     * conn_process from ever reading the rest of this request. */
    if (close_after)
        c->close_after = 1;
    req.body = c->in + hlen;
    req.body_len = body_len;
    vg_buf_init(&resp.body);
    c->srv->handler(c->srv->arg, &req, &resp);
    queue_response(c, &resp, strcmp(req.method, "HEAD") == 0);
    vg_buf_release(&resp.body);
    return (long)(hlen + body_len);
}

/* Waits for the socket to become readable or writable. */
static void
conn_wait(struct conn *c, int events)
{
    struct ev_loop *loop = c->srv->loop;

    ev_io_stop(loop, &c->io);
    ev_io_set(&c->io, c->fd, events);
    ev_io_start(loop, &c->io);
}

/* send(2) or its TLS counterpart; -EAGAIN sets *want_write. */
static ssize_t
conn_send(struct conn *c, const void *p, size_t len, int *want_write)
{
    ssize_t n;

    if (c->tls)
        return c->srv->tls_ops->write(c->tls, p, len, want_write);
    n = send(c->fd, p, len, MSG_NOSIGNAL);
    *want_write = 1;
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n;
}

static ssize_t
conn_recv(struct conn *c, void *p, size_t len, int *want_write)
{
    ssize_t n;

    if (c->tls)
        return c->srv->tls_ops->read(c->tls, p, len, want_write);
    n = recv(c->fd, p, len, 0);
    *want_write = 0;
    if (n < 0)
        return errno == EWOULDBLOCK ? -EAGAIN : -errno;
    return n;
}

static void
conn_flush(struct conn *c)
{
    while (c->out_off < c->out.len) {
        int want_write;
        ssize_t n = conn_send(c, c->out.data + c->out_off,
                              c->out.len - c->out_off, &want_write);

        if (n == -EINTR)
            continue;
        if (n == -EAGAIN) {
            conn_wait(c, want_write ? EV_WRITE : EV_READ);
            return;
        }
        if (n <= 0) {
            conn_free(c);
            return;
        }
        c->out_off += (size_t)n;
    }
    c->out.len = 0;
    c->out_off = 0;
    if (c->close_after) {
        conn_free(c);
        return;
    }
    conn_wait(c, EV_READ);
}

static void
conn_process(struct conn *c)
{
    long used;

    while (!c->close_after && (used = handle_one(c)) > 0) {
        memmove(c->in, c->in + used, c->in_len - (size_t)used);
        c->in_len -= (size_t)used;
        ev_timer_again(c->srv->loop, &c->timer);
    }
    if (c->out.len)
        conn_flush(c);
}

/* With TLS a write may wait for readability and a read for writability,
 * so the event says only "try again": pending output first, then input. */
static void
on_conn_io(struct ev_loop *loop, ev_io *w, int revents)
{
    struct conn *c = w->data;
    int want_write;
    ssize_t n;

    (void)loop;
    (void)revents;
    if (c->out.len) {
        conn_flush(c);
        return;
    }
    n = conn_recv(c, c->in + c->in_len, sizeof(c->in) - c->in_len,
                  &want_write);
    if (n == -EAGAIN || n == -EINTR) {
        conn_wait(c, want_write ? EV_WRITE : EV_READ);
        return;
    }
    if (n <= 0) {
        conn_free(c);
        return;
    }
    c->in_len += (size_t)n;
    conn_process(c);
}

static void
on_conn_timeout(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct conn *c = w->data;

    (void)loop;
    (void)revents;
    if (c->in_len) {
        queue_error(c, 408, "request not completed in time");
        conn_flush(c);
        return;
    }
    conn_free(c);
}

static void
on_accept(struct ev_loop *loop, ev_io *w, int revents)
{
    struct vg_http_server *s = w->data;
    struct conn *c;
    int fd;

    (void)revents;
    while ((fd = accept4(s->fd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC))
           >= 0) {
        if (s->nconns >= MAX_CONNS) {
            vg_core_log(VG_LOG_WARN, "status server: %u connections "
                        "already open, refusing another", s->nconns);
            close(fd);
            continue;
        }
        c = vg_xcalloc(1, sizeof(*c));
        c->srv = s;
        c->fd = fd;
        if (s->tls && !(c->tls = s->tls_ops->conn_new(s->tls, fd))) {
            vg_core_log(VG_LOG_WARN, "status server: cannot start TLS on a "
                        "new connection");
            close(fd);
            free(c);
            continue;
        }
        vg_buf_init(&c->out);
        ev_io_init(&c->io, on_conn_io, fd, EV_READ);
        c->io.data = c;
        ev_init(&c->timer, on_conn_timeout);
        c->timer.repeat = REQUEST_TIMEOUT;
        c->timer.data = c;
        ev_io_start(loop, &c->io);
        ev_timer_again(loop, &c->timer);
        c->next = s->conns;
        s->conns = c;
        s->nconns++;
    }
}

static int
listen_fd(int fd)
{
    return listen(fd, 64);
}

/* "host:port" or "[v6]:port" into host and port strings. */
static int
split_listen(const char *listen, char *host, size_t hlen, char *port,
             size_t plen)
{
    const char *colon;

    if (listen[0] == '[') {
        const char *end = strchr(listen, ']');

        if (!end || end[1] != ':')
            return -EINVAL;
        snprintf(host, hlen, "%.*s", (int)(end - listen - 1), listen + 1);
        snprintf(port, plen, "%s", end + 2);
        return 0;
    }
    colon = strrchr(listen, ':');
    if (!colon)
        return -EINVAL;
    snprintf(host, hlen, "%.*s", (int)(colon - listen), listen);
    snprintf(port, plen, "%s", colon + 1);
    return *port ? 0 : -EINVAL;
}

int
vg_http_listen_is_loopback(const char *listen)
{
    char host[256], port[32];

    if (split_listen(listen, host, sizeof(host), port, sizeof(port)) < 0)
        return 0;
    return strncmp(host, "127.", 4) == 0 || strcmp(host, "::1") == 0 ||
           strcmp(host, "localhost") == 0;
}

int
vg_http_server_start(struct vg_http_server **out, struct ev_loop *loop,
                     const char *listen, vg_http_handler handler, void *arg,
                     char *why, size_t whylen)
{
    struct addrinfo hints = { .ai_socktype = SOCK_STREAM,
                              .ai_flags = AI_PASSIVE | AI_NUMERICSERV };
    struct addrinfo *ai = NULL;
    struct vg_http_server *s;
    char host[256], port[32];
    int fd = -1, one = 1, rc;

    if (split_listen(listen, host, sizeof(host), port, sizeof(port)) < 0) {
        snprintf(why, whylen, "listen '%s': expected host:port", listen);
        return -EINVAL;
    }
    rc = getaddrinfo(*host ? host : NULL, port, &hints, &ai);
    if (rc != 0) {
        snprintf(why, whylen, "listen '%s': %s", listen, gai_strerror(rc));
        return -EINVAL;
    }
    fd = socket(ai->ai_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd < 0 ||
        setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
        bind(fd, ai->ai_addr, ai->ai_addrlen) < 0 || listen_fd(fd) < 0) {
        rc = -errno;
        snprintf(why, whylen, "cannot listen on '%s': %s", listen,
                 vg_strerror(rc));
        if (fd >= 0)
            close(fd);
        freeaddrinfo(ai);
        return rc;
    }
    freeaddrinfo(ai);
    s = vg_xcalloc(1, sizeof(*s));
    s->loop = loop;
    s->fd = fd;
    s->handler = handler;
    s->arg = arg;
    ev_io_init(&s->accept_io, on_accept, fd, EV_READ);
    s->accept_io.data = s;
    ev_io_start(loop, &s->accept_io);
    *out = s;
    return 0;
}

void
vg_http_server_set_tls(struct vg_http_server *s,
                       const struct vg_tls_ops *ops, struct vg_tls_ctx *tls)
{
    if (s->tls)
        s->tls_ops->ctx_free(s->tls);
    s->tls_ops = ops;
    s->tls = tls;
}

void
vg_http_server_stop(struct vg_http_server *s)
{
    if (!s)
        return;
    while (s->conns)                    /* conn_free() unlinks the head */
        conn_free(s->conns);            /* NOLINT(clang-analyzer-unix.Malloc) */
    if (s->tls)
        s->tls_ops->ctx_free(s->tls);
    ev_io_stop(s->loop, &s->accept_io);
    close(s->fd);
    free(s);
}
