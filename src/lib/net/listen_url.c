/*
 * Listener address parsing shared by the syslog and statsd inputs.
 */
#include <errno.h>
#include <string.h>
#include <sys/un.h>

#include "listen_url.h"

int
vg_listen_url_split(const char *url, int *kind, char *host, size_t hcap,
                    const char **port)
{
    static const struct { const char *scheme; int kind; } schemes[] = {
        { "udp://", VG_LISTEN_UDP }, { "tcp://", VG_LISTEN_TCP },
        { "tls://", VG_LISTEN_TLS }, { "unix://", VG_LISTEN_UNIX },
    };
    const char *rest = NULL, *colon;
    size_t i, n;

    for (i = 0; i < sizeof(schemes) / sizeof(schemes[0]); i++) {
        n = strlen(schemes[i].scheme);
        if (strncmp(url, schemes[i].scheme, n) == 0) {
            *kind = schemes[i].kind;
            rest = url + n;
        }
    }
    if (!rest || !*rest)
        return -EINVAL;
    if (*kind == VG_LISTEN_UNIX) {
        if (rest[0] != '/' || strlen(rest) >= hcap ||
            strlen(rest) >= sizeof(((struct sockaddr_un *)0)->sun_path))
            return -EINVAL;
        strcpy(host, rest);
        *port = NULL;
        return 0;
    }
    if (rest[0] == '[') {               /* [v6]:port */
        const char *end = strchr(rest, ']');

        if (!end || end[1] != ':')
            return -EINVAL;
        colon = end + 1;
        rest++;
        n = (size_t)(end - rest);
    } else {
        if (!(colon = strrchr(rest, ':')))
            return -EINVAL;
        n = (size_t)(colon - rest);
    }
    if (n >= hcap || !colon[1] || strspn(colon + 1, "0123456789") !=
        strlen(colon + 1))
        return -EINVAL;
    memcpy(host, rest, n);
    host[n] = '\0';
    *port = colon + 1;
    return 0;
}
