/*
 * Listening sockets of the network inputs (syslog, statsd): binding
 * host:port or a unix socket file, the receive buffer and kernel drop
 * count of datagram sockets, and receiving datagrams in batches with
 * recvmmsg.  Compiled into each plugin that listens; errors are logged
 * on the plugin's instance, naming the listener's URL.  Includers define
 * _GNU_SOURCE (struct mmsghdr).
 */
#ifndef VG_LISTEN_SOCKET_H
#define VG_LISTEN_SOCKET_H

#include <stddef.h>
#include <stdint.h>
#include <sys/socket.h>
#include <sys/types.h>

#include <vigil/plugin.h>

#include "listen_url.h"

#define VG_DGRAM_BATCH_MAX 64           /* datagrams per recvmmsg, at most */

/* One listening socket of a network input, from its listen URL. */
struct vg_listener {
    int           kind;         /* enum vg_listen_kind */
    const char   *url;          /* borrowed from the config */
    char         *addr;         /* the host, or the unix socket's path */
    const char   *port;         /* into url; NULL for unix */
    dev_t         dev;          /* unix: the socket file bound, so that */
    ino_t         ino;          /* a newer one is never removed */
    int           fd;           /* -1 while closed */
    struct vg_io *io;           /* the plugin's read watcher on fd */
    uint32_t      drops;        /* the kernel's drop count seen so far */
};

#define VG_LISTEN_BIT(kind) (1u << (kind))

/*
 * Reads url into l, closed.  0; -EINVAL for a URL that does not parse or
 * whose kind is not in `kinds` (VG_LISTEN_BIT()s), after logging
 * "option 'listen': cannot read 'URL': want WANT"; or -ENOMEM.
 */
int vg_listener_init(struct vg_instance *in, struct vg_listener *l,
                     const char *url, unsigned kinds, const char *want);

/* vg_listener_init on every URL of urls, for a plugin's check: 0, or
 * -EINVAL after logging the first that does not parse (nothing is kept). */
int vg_listener_urls_check(struct vg_instance *in,
                           const struct vg_strv *urls, unsigned kinds,
                           const char *want);

/*
 * Binds l's socket, non-blocking: udp and unix datagram sockets get
 * rcvbuf bytes of receive buffer (when > 0; past net.core.rmem_max it
 * takes root, else a warning says what was granted) and the kernel's drop
 * count; tcp and tls sockets listen.  SO_REUSEPORT lets a reloaded
 * configuration bind before the old one closes.  A stale unix socket file
 * is replaced, any other file is not (the bind fails); the socket file is
 * mode 0666 (local senders of any user).  0, or a negative errno after
 * logging why with the URL.
 */
int vg_listener_open(struct vg_instance *in, struct vg_listener *l,
                     int64_t rcvbuf);

/*
 * Accepts one waiting connection on a stream listener: the new socket
 * (non-blocking, close-on-exec) with the peer's address in *peer (when
 * not NULL), or -1 when none is waiting.  A failure other than "none
 * waiting" or "aborted by the peer" is logged with the URL.
 */
int vg_listener_accept(struct vg_instance *in, struct vg_listener *l,
                       struct sockaddr_storage *peer);

/* Frees the watcher, closes the socket and removes the unix socket file
 * if it is still the one bound (a reload may have bound a new one). */
void vg_listener_close(struct vg_instance *in, struct vg_listener *l);

/* Closes l and frees what vg_listener_init allocated. */
void vg_listener_free(struct vg_instance *in, struct vg_listener *l);

/* Room for one recvmmsg: headers, peer addresses, drop-count cmsgs. */
struct vg_dgram_rx {
    struct mmsghdr          msgs[VG_DGRAM_BATCH_MAX];
    struct iovec            iov[VG_DGRAM_BATCH_MAX];
    struct sockaddr_storage addr[VG_DGRAM_BATCH_MAX];
    char                    ctl[VG_DGRAM_BATCH_MAX]
                               [CMSG_SPACE(sizeof(uint32_t))];
};

/*
 * Receives up to count (<= VG_DGRAM_BATCH_MAX) waiting datagrams into buf,
 * slot bytes for each.  Datagram k is at buf + k * slot, rx->msgs[k].msg_len
 * bytes long, MSG_TRUNC in rx->msgs[k].msg_hdr.msg_flags when it was longer
 * than slot, sent from rx->addr[k] (inet sockets).  How many came (0: none
 * waiting), or a negative errno.
 */
int vg_dgram_recv(struct vg_dgram_rx *rx, int fd, char *buf, size_t slot,
                  int count);

/*
 * The datagrams the kernel dropped on the socket since *total was last
 * updated, from the drop count on the last of n datagrams received
 * (SO_RXQ_OVFL); updates *total.  0 when none or not reported.
 */
uint32_t vg_dgram_new_drops(struct vg_dgram_rx *rx, int n, uint32_t *total);

#endif
