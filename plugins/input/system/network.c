/*
 * network: per interface counters of /proc/net/dev, TCP connections by
 * state counted from /proc/net/tcp and tcp6 (read in 64 KiB chunks: they
 * hold one line per socket), and the UDP error counters of
 * /proc/net/snmp.
 */
#include <errno.h>
#include <string.h>

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
                     dir[i], NULL);
        sys_sink_put(s, "system.network.packets", VG_METRIC_COUNTER,
                     (double)d[1], "network.interface.name", ifname,
                     "network.io.direction", dir[i], NULL);
        sys_sink_put(s, "system.network.errors", VG_METRIC_COUNTER,
                     (double)d[2], "network.interface.name", ifname,
                     "network.io.direction", dir[i], NULL);
        sys_sink_put(s, "system.network.dropped", VG_METRIC_COUNTER,
                     (double)d[3], "network.interface.name", ifname,
                     "network.io.direction", dir[i], NULL);
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

static int
tcp_collect(struct sys_ctx *c, struct sys_sink *s)
{
    uint64_t counts[13], total[13];
    int i, ok = 0, rc = 0;

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
    /* Fold NEW_SYN_RECV into SYN_RECV: one series per state name. */
    total[3] += total[12];
    for (i = 1; i < 12; i++)
        sys_sink_put(s, "system.network.connections", VG_METRIC_GAUGE,
                     (double)total[i], "network.transport", "tcp",
                     "network.connection.state", tcp_states[i], NULL);
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
                                 want[i].label, NULL);
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
