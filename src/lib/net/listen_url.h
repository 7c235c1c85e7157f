/*
 * Listener addresses as the network inputs take them: udp://HOST:PORT,
 * tcp://HOST:PORT, tls://HOST:PORT (IPv6 as [ADDR]:PORT) and
 * unix:///PATH.  Compiled into each plugin that listens.
 */
#ifndef VG_LISTEN_URL_H
#define VG_LISTEN_URL_H

#include <stddef.h>

enum vg_listen_kind {
    VG_LISTEN_UDP = 1,
    VG_LISTEN_TCP,
    VG_LISTEN_TLS,
    VG_LISTEN_UNIX,
};

/*
 * Splits url into its kind and host (or socket path) and port (NULL for
 * unix).  *port points into url; host gets a copy of at most hcap - 1
 * bytes.  0, or -EINVAL for an unknown scheme, a missing or non-numeric
 * port, or a path that does not fit a unix socket address.
 */
int vg_listen_url_split(const char *url, int *kind, char *host, size_t hcap,
                        const char **port);

#endif
