/*
 * network: per interface counters of /proc/net/dev, TCP connections by
 * state, and the UDP error counters of /proc/net/snmp.  TCP states come
 * from a sock_diag netlink dump: /proc/net/tcp costs a walk of the whole
 * established hash table for each read() (1.4 ms a file with 256k buckets,
 * more than the rest of a collection), the dump walks it once.
 * /proc/net/tcp and tcp6 remain the fallback, read in 64 KiB chunks, and
 * the only source with a root, whose namespace the netlink socket cannot
 * reach.
 */
#include <errno.h>
#include <linux/inet_diag.h>
#include <linux/netlink.h>
#include <linux/sock_diag.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "sys.h"

/* The st column of /proc/net/tcp, 1..12 (include/net/tcp_states.h). */
static const char *const tcp_states[13] = {
    NULL, "established", "syn_sent", "syn_received", "fin_wait_1",
    "fin_wait_2", "time_wait", "closed", "close_wait", "last_ack", "listen",
    "closing", "syn_received",      /* NEW_SYN_RECV is a SYN_RECV too */
};

static void
netdev_emit(struct sys_sink *s, const char *ifname, const uint64_t *v)
{
    static const char *const dir[2] = { "receive", "transmit" };
    int i;

    /* receive: bytes packets errs drop fifo frame compressed multicast;
     * transmit: bytes packets errs drop fifo colls carrier compressed */
    for (i = 0; i < 2; i++) {
        const uint64_t *d = v + i * 8;

        sys_sink_put(s, "system.network.io", VG_METRIC_COUNTER, (double)d[0],
                     "network.interface.name", ifname, "network.io.direction",
                     dir[i], SYS_END);
        sys_sink_put(s, "system.network.packets", VG_METRIC_COUNTER,
                     (double)d[1], "network.interface.name", ifname,
                     "network.io.direction", dir[i], SYS_END);
        sys_sink_put(s, "system.network.errors", VG_METRIC_COUNTER,
                     (double)d[2], "network.interface.name", ifname,
                     "network.io.direction", dir[i], SYS_END);
        sys_sink_put(s, "system.network.dropped", VG_METRIC_COUNTER,
                     (double)d[3], "network.interface.name", ifname,
                     "network.io.direction", dir[i], SYS_END);
    }
}

static int
netdev_collect(struct sys_ctx *c, struct sys_sink *s)
{
    const struct sys_conf *conf = c->conf;
    const char *p;
    int rc = 0;

    if ((p = sys_read(c, SYS_F_NETDEV, &rc)) == NULL)
        return rc;
    for (; *p; p = pf_next_line(p)) {
        const char *name = pf_skip_ws(p), *colon, *q;
        char ifname[64];
        uint64_t v[16];
        size_t len;
        int i;

        /* "  eth0: 123 ..." and, on old kernels, "eth0:123 ..." */
        colon = strchr(name, ':');
        if (colon == NULL || colon > pf_next_line(p) ||
            (len = (size_t)(colon - name)) == 0 || len >= sizeof(ifname))
            continue;
        for (q = colon + 1, i = 0; i < 16 && (q = pf_u64(q, &v[i])); i++)
            ;
        if (i < 16)
            continue;
        memcpy(ifname, name, len);
        ifname[len] = '\0';
        if (!pf_filter_pass(&conf->net_include, &conf->net_exclude, ifname))
            continue;
        netdev_emit(s, ifname, v);
    }
    return 0;
}

static int
hexval(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    return -1;
}

/* "  12: 0100007F:0CEA 00000000:0000 0A 00000000:..." */
static void
tcp_line(char *line, void *arg)
{
    uint64_t *counts = arg;
    const char *p = line, *w;
    size_t len;
    int i, hi, lo;

    for (i = 0; i < 4; i++)
        if ((p = pf_word(p, &w, &len)) == NULL)
            return;
    if (len != 2 || (hi = hexval(w[0])) < 0 || (lo = hexval(w[1])) < 0)
        return;                         /* the header line */
    i = hi * 16 + lo;
    if (i >= 1 && i <= 12)
        counts[i]++;
}

/*
 * Counts sockets by state with one dump request: the old TCPDIAG_GETSOCK
 * form when legacy is set, which accepts AF_UNSPEC and so covers IPv4 and
 * IPv6 in one walk of the hash table, else the v2 form for one family.
 * 0 or a negative errno.
 */
static int
diag_dump(struct sys_ctx *c, int legacy, int family, uint64_t *counts)
{
    union {
        struct {
            struct nlmsghdr         nh;
            struct inet_diag_req_v2 req;
        } v2;
        struct {
            struct nlmsghdr      nh;
            struct inet_diag_req req;
        } v1;
    } msg;
    struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
    struct nlmsghdr *nh = legacy ? &msg.v1.nh : &msg.v2.nh;
    int done = 0;

    memset(&msg, 0, sizeof(msg));
    if (legacy) {
        nh->nlmsg_len = sizeof(msg.v1);
        nh->nlmsg_type = TCPDIAG_GETSOCK;
        msg.v1.req.idiag_family = (uint8_t)family;
        msg.v1.req.idiag_states = ~0u;
    } else {
        nh->nlmsg_len = sizeof(msg.v2);
        nh->nlmsg_type = SOCK_DIAG_BY_FAMILY;
        msg.v2.req.sdiag_family = (uint8_t)family;
        msg.v2.req.sdiag_protocol = IPPROTO_TCP;
        msg.v2.req.idiag_states = ~0u;
    }
    nh->nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
    nh->nlmsg_seq = ++c->diag_seq;
    if (sendto(c->diag_fd, nh, nh->nlmsg_len, 0, (struct sockaddr *)&sa,
               sizeof(sa)) < 0)
        return -errno;
    while (!done) {
        ssize_t n = recv(c->diag_fd, c->diag_buf, SYS_DIAG_BUF, 0);
        struct nlmsghdr *h;

        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        for (h = (struct nlmsghdr *)c->diag_buf; NLMSG_OK(h, (size_t)n);
             h = NLMSG_NEXT(h, n)) {
            const struct inet_diag_msg *d = NLMSG_DATA(h);

            if (h->nlmsg_seq != c->diag_seq)
                continue;                   /* the rest of an old dump */
            if (h->nlmsg_type == NLMSG_DONE) {
                done = 1;
                break;
            }
            if (h->nlmsg_type == NLMSG_ERROR) {
                const struct nlmsgerr *e = NLMSG_DATA(h);

                return e->error < 0 ? e->error : -EIO;
            }
            if (h->nlmsg_len >= NLMSG_LENGTH(sizeof(*d)) &&
                d->idiag_state >= 1 && d->idiag_state <= 12)
                counts[d->idiag_state]++;
        }
    }
    return 0;
}

/* 1 with total filled from netlink, 0 when it cannot be used. */
static int
tcp_from_diag(struct sys_ctx *c, uint64_t *total)
{
    int rc;

    if (c->root[0] != '\0' || c->diag_fd == -2)
        return 0;
    if (c->diag_fd < 0) {
        c->diag_fd = socket(AF_NETLINK, SOCK_DGRAM | SOCK_CLOEXEC,
                            NETLINK_SOCK_DIAG);
        if (c->diag_fd < 0) {
            sys_log(c, VG_LOG_DEBUG, "no sock_diag netlink (%s): TCP states "
                    "come from /proc/net/tcp", strerror(errno));
            c->diag_fd = -2;
            return 0;
        }
        c->diag_buf = sys_xrealloc(c->diag_buf, SYS_DIAG_BUF);
    }
    memset(total, 0, 13 * sizeof(*total));
    if (!c->diag_v2_only) {
        if ((rc = diag_dump(c, 1, AF_UNSPEC, total)) == 0)
            return 1;
        c->diag_v2_only = 1;                /* never again */
        memset(total, 0, 13 * sizeof(*total));
    }
    if ((rc = diag_dump(c, 0, AF_INET, total)) == 0)
        rc = diag_dump(c, 0, AF_INET6, total);
    if (rc == -EAFNOSUPPORT || rc == -ENOENT)   /* no IPv6 */
        rc = 0;
    if (rc < 0) {
        /* A socket in an unknown state is not worth keeping: the next
         * collection opens a new one. */
        close(c->diag_fd);
        c->diag_fd = -1;
        return 0;
    }
    return 1;
}

static int
tcp_collect(struct sys_ctx *c, struct sys_sink *s)
{
    uint64_t counts[13], total[13];
    int i, ok = 0, rc = 0;

    if (tcp_from_diag(c, total))
        goto report;
    memset(total, 0, sizeof(total));
    for (i = SYS_F_TCP; i <= SYS_F_TCP6; i++) {
        int err;

        memset(counts, 0, sizeof(counts));
        if (c->files[i].missing)        /* no IPv6: stays absent */
            continue;
        if ((err = pf_file_lines(&c->files[i], tcp_line, counts)) < 0) {
            rc = err;
            continue;
        }
        ok = 1;
        for (int j = 0; j < 13; j++)
            total[j] += counts[j];
    }
    if (!ok)
        return rc;
report:
    /* Fold NEW_SYN_RECV into SYN_RECV: one series per state name. */
    total[3] += total[12];
    for (i = 1; i < 12; i++)
        sys_sink_put(s, "system.network.connections", VG_METRIC_GAUGE,
                     (double)total[i], "network.transport", "tcp",
                     "network.connection.state", tcp_states[i], SYS_END);
    return 0;
}

/* "Udp: InDatagrams NoPorts InErrors ..." then "Udp: 26 0 0 ..." */
static int
udp_collect(struct sys_ctx *c, struct sys_sink *s)
{
    static const struct {
        const char *key;
        const char *label;
    } want[] = {
        { "InErrors", "receive" }, { "RcvbufErrors", "receive_buffer" },
        { "SndbufErrors", "send_buffer" }, { "NoPorts", "no_port" },
    };
    const char *p, *hdr = NULL;
    int rc = 0;

    if ((p = sys_read(c, SYS_F_SNMP, &rc)) == NULL)
        return rc;
    for (; *p; p = pf_next_line(p)) {
        const char *hk, *vk, *hq, *vq;
        size_t hl, vl;

        if (strncmp(p, "Udp: ", 5) != 0)
            continue;
        if (hdr == NULL) {
            hdr = p;
            continue;
        }
        /* Walk the header and the values in step. */
        hq = hdr + 5;
        vq = p + 5;
        while ((hq = pf_word(hq, &hk, &hl)) != NULL &&
               (vq = pf_word(vq, &vk, &vl)) != NULL) {
            uint64_t v;
            size_t i;

            for (i = 0; i < sizeof(want) / sizeof(want[0]); i++)
                if (strlen(want[i].key) == hl &&
                    strncmp(want[i].key, hk, hl) == 0 && pf_u64(vk, &v))
                    sys_sink_put(s, "system.network.udp.errors",
                                 VG_METRIC_COUNTER, (double)v, "error.type",
                                 want[i].label, SYS_END);
        }
        break;
    }
    return 0;
}

int
sys_network_collect(struct sys_ctx *c, struct sys_sink *s)
{
    int rc = netdev_collect(c, s);
    int rc2 = tcp_collect(c, s);
    int rc3 = udp_collect(c, s);

    if (rc < 0)
        return rc;
    return rc2 < 0 ? rc2 : rc3;
}
