/*
 * Listening sockets shared by the syslog and statsd inputs.
 */
#define _GNU_SOURCE                     /* recvmmsg, struct mmsghdr */
#include <errno.h>
#include <limits.h>
#include <netdb.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "listen_socket.h"

/*
 * The receive buffer and drop counting of a datagram socket.  An
 * unprivileged SO_RCVBUF is capped by net.core.rmem_max; root may pass
 * it with SO_RCVBUFFORCE.  Linux reports twice what was asked (its
 * bookkeeping overhead), and that is the figure logged.
 */
static void
dgram_setup(struct vg_instance *in, const char *url, int fd, int64_t rcvbuf)
{
    int one = 1, want, got = 0;
    socklen_t sl = sizeof(got);

    if (rcvbuf > 0) {
        want = rcvbuf > INT_MAX / 2 ? INT_MAX / 2 : (int)rcvbuf;
        if (setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &want,
                       sizeof(want)) < 0)
            setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &want, sizeof(want));
        getsockopt(fd, SOL_SOCKET, SO_RCVBUF, &got, &sl);
        if (got < want)
            vg_log(in, VG_LOG_WARN, "receive buffer of '%s' is %d bytes, "
                   "less than the %d asked: raise net.core.rmem_max", url,
                   got, want);
        else
            vg_log(in, VG_LOG_INFO, "receive buffer of '%s' is %d bytes",
                   url, got);
    }
    if (setsockopt(fd, SOL_SOCKET, SO_RXQ_OVFL, &one, sizeof(one)) < 0)
        vg_log(in, VG_LOG_DEBUG, "no drop count on '%s': %s", url,
               strerror(errno));
}

static int
listen_inet(struct vg_instance *in, const char *url, const char *host,
            const char *port, int type, int64_t rcvbuf)
{
    struct addrinfo hints = { 0 }, *res = NULL;
    int one = 1, fd = -1, rc;

    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = type;
    hints.ai_flags = AI_PASSIVE | AI_NUMERICSERV;
    rc = getaddrinfo(host[0] && strcmp(host, "*") != 0 ? host : NULL, port,
                     &hints, &res);
    if (rc != 0) {
        vg_log(in, VG_LOG_ERROR, "cannot resolve '%s': %s", url,
               gai_strerror(rc));
        return -EINVAL;
    }
    fd = socket(res->ai_family, res->ai_socktype | SOCK_NONBLOCK |
                SOCK_CLOEXEC, 0);
    if (fd < 0)
        goto fail;
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    setsockopt(fd, SOL_SOCKET, SO_REUSEPORT, &one, sizeof(one));
    if (type == SOCK_DGRAM)
        dgram_setup(in, url, fd, rcvbuf);
    if (bind(fd, res->ai_addr, res->ai_addrlen) < 0 ||
        (type == SOCK_STREAM && listen(fd, 128) < 0))
        goto fail;
    freeaddrinfo(res);
    return fd;
fail:
    rc = -errno;
    vg_log(in, VG_LOG_ERROR, "cannot listen on '%s': %s", url,
           strerror(errno));
    if (fd >= 0)
        close(fd);
    freeaddrinfo(res);
    return rc;
}

static int
listen_unix(struct vg_instance *in, const char *url, const char *path,
            int64_t rcvbuf, dev_t *dev, ino_t *ino)
{
    struct sockaddr_un sa = { .sun_family = AF_UNIX };
    struct stat sb;
    int fd, rc;

    if (strlen(path) >= sizeof(sa.sun_path)) {
        vg_log(in, VG_LOG_ERROR, "cannot listen on '%s': path too long",
               url);
        return -ENAMETOOLONG;
    }
    memcpy(sa.sun_path, path, strlen(path) + 1);
    /* a socket left by a previous run is stale; any other file is not ours */
    if (lstat(path, &sb) == 0 && S_ISSOCK(sb.st_mode))
        unlink(path);
    fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (fd >= 0)
        dgram_setup(in, url, fd, rcvbuf);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        chmod(path, 0666) < 0 || lstat(path, &sb) < 0) {
        rc = -errno;
        vg_log(in, VG_LOG_ERROR, "cannot listen on '%s': %s", url,
               strerror(errno));
        if (fd >= 0)
            close(fd);
        return rc;
    }
    *dev = sb.st_dev;
    *ino = sb.st_ino;
    return fd;
}

int
vg_listener_init(struct vg_instance *in, struct vg_listener *l,
                 const char *url, unsigned kinds, const char *want)
{
    char host[256];

    memset(l, 0, sizeof(*l));
    l->fd = -1;
    l->url = url;
    if (vg_listen_url_split(url, &l->kind, host, sizeof(host), &l->port) < 0 ||
        !(kinds & VG_LISTEN_BIT(l->kind))) {
        vg_log(in, VG_LOG_ERROR, "option 'listen': cannot read '%s': "
               "want %s", url, want);
        return -EINVAL;
    }
    return (l->addr = strdup(host)) ? 0 : -ENOMEM;
}

int
vg_listener_urls_check(struct vg_instance *in, const struct vg_strv *urls,
                       unsigned kinds, const char *want)
{
    struct vg_listener l;
    size_t i;
    int rc = 0;

    for (i = 0; i < urls->n && rc == 0; i++) {
        rc = vg_listener_init(in, &l, urls->v[i], kinds, want);
        free(l.addr);
    }
    return rc;
}

int
vg_listener_open(struct vg_instance *in, struct vg_listener *l,
                 int64_t rcvbuf)
{
    if (l->kind == VG_LISTEN_UNIX)
        l->fd = listen_unix(in, l->url, l->addr, rcvbuf, &l->dev, &l->ino);
    else
        l->fd = listen_inet(in, l->url, l->addr, l->port,
                            l->kind == VG_LISTEN_UDP ? SOCK_DGRAM
                                                     : SOCK_STREAM, rcvbuf);
    return l->fd < 0 ? l->fd : 0;
}

int
vg_listener_accept(struct vg_instance *in, struct vg_listener *l,
                   struct sockaddr_storage *peer)
{
    socklen_t sl = sizeof(*peer);
    int fd;

    if (peer)
        peer->ss_family = AF_UNSPEC;
    fd = accept4(l->fd, (struct sockaddr *)peer, peer ? &sl : NULL,
                 SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0 && errno != EAGAIN && errno != EWOULDBLOCK &&
        errno != EINTR && errno != ECONNABORTED)
        vg_log(in, VG_LOG_WARN, "accept on '%s' failed: %s", l->url,
               strerror(errno));
    return fd < 0 ? -1 : fd;
}

void
vg_listener_close(struct vg_instance *in, struct vg_listener *l)
{
    struct stat sb;

    if (l->io) {
        vg_io_free(in, l->io);
        l->io = NULL;
    }
    if (l->fd < 0)
        return;
    close(l->fd);
    l->fd = -1;
    if (l->kind == VG_LISTEN_UNIX && lstat(l->addr, &sb) == 0 &&
        sb.st_dev == l->dev && sb.st_ino == l->ino)
        unlink(l->addr);
}

void
vg_listener_free(struct vg_instance *in, struct vg_listener *l)
{
    vg_listener_close(in, l);
    free(l->addr);
    l->addr = NULL;
}

int
vg_dgram_recv(struct vg_dgram_rx *rx, int fd, char *buf, size_t slot,
              int count)
{
    int k, n;

    if (count > VG_DGRAM_BATCH_MAX)
        count = VG_DGRAM_BATCH_MAX;
    memset(rx->msgs, 0, sizeof(rx->msgs[0]) * (size_t)count);
    for (k = 0; k < count; k++) {
        struct msghdr *h = &rx->msgs[k].msg_hdr;

        rx->iov[k].iov_base = buf + (size_t)k * slot;
        rx->iov[k].iov_len = slot;
        h->msg_iov = &rx->iov[k];
        h->msg_iovlen = 1;
        h->msg_name = &rx->addr[k];
        h->msg_namelen = sizeof(rx->addr[k]);
        h->msg_control = rx->ctl[k];
        h->msg_controllen = sizeof(rx->ctl[k]);
    }
    n = recvmmsg(fd, rx->msgs, (unsigned)count, MSG_DONTWAIT, NULL);
    if (n >= 0)
        return n;
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
        return 0;
    return -errno;
}

uint32_t
vg_dgram_new_drops(struct vg_dgram_rx *rx, int n, uint32_t *total)
{
    struct msghdr *h;
    struct cmsghdr *c;
    uint32_t now, diff = 0;

    if (n <= 0)
        return 0;
    h = &rx->msgs[n - 1].msg_hdr;
    for (c = CMSG_FIRSTHDR(h); c; c = CMSG_NXTHDR(h, c)) {
        if (c->cmsg_level != SOL_SOCKET || c->cmsg_type != SO_RXQ_OVFL)
            continue;
        memcpy(&now, CMSG_DATA(c), sizeof(now));
        diff = now - *total;            /* wraps as the kernel's does */
        *total = now;
    }
    return diff;
}
