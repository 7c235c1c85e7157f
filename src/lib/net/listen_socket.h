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

#define VG_DGRAM_BATCH_MAX 64           /* datagrams per recvmmsg, at most */

/*
 * Binds host:port (host "" or "*": every address) as a non-blocking
 * socket of type SOCK_DGRAM or SOCK_STREAM (which also listens).
 * SO_REUSEPORT lets a reloaded configuration bind the port before the
 * old one closes it.  Datagram sockets get rcvbuf bytes of receive buffer
 * (when > 0) and the kernel's drop count.  The fd, or a negative errno
 * after logging why.
 */
int vg_listen_inet(struct vg_instance *in, const char *url, const char *host,
                   const char *port, int type, int64_t rcvbuf);

/*
 * Binds a unix datagram socket at path, mode 0666 (local senders of any
 * user), after removing a stale socket file there; another kind of file
 * is never removed (the bind fails).  *dev and *ino identify the socket
 * file for vg_listen_unix_remove.  The fd, or a negative errno after
 * logging why.
 */
int vg_listen_unix(struct vg_instance *in, const char *url, const char *path,
                   int64_t rcvbuf, dev_t *dev, ino_t *ino);

/* Removes the socket file at path if it is still the one bound (a
 * reloaded configuration may have bound a new one there). */
void vg_listen_unix_remove(const char *path, dev_t dev, ino_t ino);

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
