/*
 * httpcheck input: health checks of HTTP(S) endpoints and TCP ports, each
 * target on its own interval.  HTTP probes go through the shared client
 * (one client per target: its own timeout and TLS settings, a new
 * connection per probe so the timings are the server's); TCP probes are a
 * non-blocking connect on a vg_io bounded by a timer.  A target has at
 * most one probe in flight; a tick that finds one running is skipped.
 */
#include <errno.h>
#include <fcntl.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <curl/curl.h>
#include <pcre2.h>

#include <vigil/plugin.h>

#include "http_client.h"

#define MAX_RESPONSE (1024 * 1024)      /* body bytes a regex sees */
#define MAX_RANGES 32

struct hc_target_conf {
    char                    *name;
    char                    *url;
    char                    *method;
    struct vg_map            headers;
    struct vg_strv           expect_status;
    char                    *body_regex;
    int                      follow_redirects;
    int64_t                  timeout;       /* ns; 0: the instance's */
    int64_t                  interval;      /* ns; 0: the instance's */
    struct vg_http_tls_conf  tls;
};

struct hc_conf {
    struct vg_list targets;
    int64_t        interval;                /* ns */
    int64_t        timeout;                 /* ns */
};

static const struct vg_option tls_options[] = {
    VG_HTTP_TLS_OPTIONS(struct hc_target_conf, tls),
    { 0 }
};

static const struct vg_option target_options[] = {
    { .name = "name", .type = VG_OPT_STR,
      .offset = offsetof(struct hc_target_conf, name),
      .help = "the target label (default: the url)" },
    { .name = "url", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct hc_target_conf, url),
      .help = "http://..., https://... or tcp://host:port" },
    { .name = "method", .type = VG_OPT_STR, .def = "GET",
      .offset = offsetof(struct hc_target_conf, method),
      .help = "HTTP method" },
    { .name = "headers", .type = VG_OPT_MAP,
      .offset = offsetof(struct hc_target_conf, headers),
      .help = "request headers" },
    { .name = "expect_status", .type = VG_OPT_STRLIST, .def = "200-399",
      .offset = offsetof(struct hc_target_conf, expect_status),
      .help = "accepted statuses: 200, 2xx, 200-299" },
    { .name = "body_regex", .type = VG_OPT_STR,
      .offset = offsetof(struct hc_target_conf, body_regex),
      .help = "PCRE2 pattern the response body must match" },
    { .name = "follow_redirects", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct hc_target_conf, follow_redirects),
      .help = "follow 3xx redirects (at most 10)" },
    { .name = "timeout", .type = VG_OPT_DURATION,
      .offset = offsetof(struct hc_target_conf, timeout),
      .help = "probe timeout (default: the instance's)" },
    { .name = "interval", .type = VG_OPT_DURATION,
      .offset = offsetof(struct hc_target_conf, interval),
      .help = "probe interval (default: the instance's)" },
    { .name = "tls", .type = VG_OPT_OBJECT, .sub = tls_options,
      .help = "TLS settings of an https target" },
    { 0 }
};

static const struct vg_option hc_options[] = {
    { .name = "targets", .type = VG_OPT_LIST, .flags = VG_OPT_REQUIRED,
      .sub = target_options, .elem_size = sizeof(struct hc_target_conf),
      .offset = offsetof(struct hc_conf, targets),
      .help = "endpoints to probe" },
    { .name = "interval", .type = VG_OPT_DURATION, .def = "30s",
      .offset = offsetof(struct hc_conf, interval),
      .help = "default probe interval" },
    { .name = "timeout", .type = VG_OPT_DURATION, .def = "5s",
      .offset = offsetof(struct hc_conf, timeout),
      .help = "default probe timeout" },
    { 0 }
};

/* Why a probe failed: the `reason` label, a small fixed set. */
enum hc_reason {
    HC_OK,
    HC_STATUS,
    HC_BODY,
    HC_TIMEOUT,
    HC_REFUSED,
    HC_CONNECT,
    HC_DNS,
    HC_TLS,
    HC_REDIRECTS,
    HC_ERROR,
};

static const char *const reason_names[] = {
    "ok", "status", "body_mismatch", "timeout", "refused", "connect", "dns",
    "tls", "redirects", "error",
};

struct hc_range {
    long lo;
    long hi;
};

struct hc_state;

struct hc_target {
    struct hc_state             *st;
    const struct hc_target_conf *c;
    char                        *label;     /* target label */
    char                        *url;       /* url label, no credentials */
    int                          tcp;
    int64_t                      interval;
    int64_t                      timeout;
    struct hc_range              ranges[MAX_RANGES];
    size_t                       nranges;
    pcre2_code                  *re;
    pcre2_match_data            *md;
    struct vg_http              *http;
    struct vg_timer             *tick;
    int                          busy;
    int                          was_down;  /* last probe failed */
    /* tcp */
    struct addrinfo             *ai;
    int                          fd;
    struct vg_io                *io;
    struct vg_timer             *deadline;
    int64_t                      t0;        /* monotonic ns */
};

struct hc_state {
    struct vg_instance *in;
    struct hc_conf     *conf;
    struct hc_target   *t;
    size_t              n;
    int                 stopped;
};

/* Metric values of one probe; negative means "not measured". */
struct hc_result {
    enum hc_reason reason;
    double         duration;
    double         dns;
    double         connect;
    double         tls;
    double         ttfb;
    double         status;
    double         body_bytes;
    double         cert_days;
    int            has_cert;
};

static int64_t
mono_ns(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * VG_SECOND + ts.tv_nsec;
}

/* ---- expect_status ------------------------------------------------- */

static int
parse_code(const char *s, const char *end, long *out)
{
    long v = 0;

    if (end - s != 3)
        return -EINVAL;
    for (; s < end; s++) {
        if (*s < '0' || *s > '9')
            return -EINVAL;
        v = v * 10 + (*s - '0');
    }
    if (v < 100 || v > 599)
        return -EINVAL;
    *out = v;
    return 0;
}

/* "200", "2xx" or "200-299" into a range. */
static int
parse_range(const char *s, struct hc_range *r)
{
    const char *dash = strchr(s, '-');
    size_t n = strlen(s);

    if (n == 3 && s[0] >= '1' && s[0] <= '5' &&
        (s[1] == 'x' || s[1] == 'X') && (s[2] == 'x' || s[2] == 'X')) {
        r->lo = (s[0] - '0') * 100;
        r->hi = r->lo + 99;
        return 0;
    }
    if (!dash) {
        if (parse_code(s, s + n, &r->lo) < 0)
            return -EINVAL;
        r->hi = r->lo;
        return 0;
    }
    if (parse_code(s, dash, &r->lo) < 0 ||
        parse_code(dash + 1, s + n, &r->hi) < 0 || r->hi < r->lo)
        return -EINVAL;
    return 0;
}

static int
status_expected(const struct hc_target *t, long status)
{
    for (size_t i = 0; i < t->nranges; i++)
        if (status >= t->ranges[i].lo && status <= t->ranges[i].hi)
            return 1;
    return 0;
}

/* ---- emitting ------------------------------------------------------ */

static void
add_metric(struct hc_target *t, struct vg_batch *b, int64_t now,
           const char *name, double v, int with_reason,
           enum hc_reason reason)
{
    struct vg_instance *in = t->st->in;
    struct vg_kv kv[3];
    struct vg_event ev;
    uint32_t n = 0;

    kv[n++] = vg_kv_str("target", t->label);
    kv[n++] = vg_kv_str("url", t->url);
    if (with_reason)
        kv[n++] = vg_kv_str("reason", reason_names[reason]);
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = now;
    ev.name = name;
    ev.metric_type = VG_METRIC_GAUGE;
    ev.value = v;
    ev.labels = kv;
    ev.nlabels = n;
    if (vg_batch_add(in, b, &ev) < 0)
        vg_count(in, "httpcheck_dropped", 1);
}

static void
report(struct hc_target *t, const struct hc_result *r, const char *detail)
{
    struct vg_instance *in = t->st->in;
    int64_t now = vg_now(in);
    struct vg_batch *b;
    int up = r->reason == HC_OK;

    if (!up && !t->was_down)
        vg_log(in, VG_LOG_WARN, "target '%s' is down: %s", t->label, detail);
    else if (up && t->was_down)
        vg_log(in, VG_LOG_INFO, "target '%s' is up again", t->label);
    else if (!up)
        vg_log(in, VG_LOG_DEBUG, "target '%s' still down: %s", t->label,
               detail);
    t->was_down = !up;
    if (t->st->stopped)
        return;
    b = vg_batch_new(in, 1024);
    add_metric(t, b, now, "httpcheck.up", up, 1, r->reason);
    add_metric(t, b, now, "httpcheck.duration", r->duration, 0, HC_OK);
    if (r->dns >= 0)
        add_metric(t, b, now, "httpcheck.dns_seconds", r->dns, 0, HC_OK);
    if (r->connect >= 0)
        add_metric(t, b, now, "httpcheck.connect_seconds", r->connect, 0,
                   HC_OK);
    if (r->tls >= 0)
        add_metric(t, b, now, "httpcheck.tls_seconds", r->tls, 0, HC_OK);
    if (r->ttfb >= 0)
        add_metric(t, b, now, "httpcheck.ttfb_seconds", r->ttfb, 0, HC_OK);
    if (r->status >= 0)
        add_metric(t, b, now, "httpcheck.status_code", r->status, 0, HC_OK);
    if (r->body_bytes >= 0)
        add_metric(t, b, now, "httpcheck.body_bytes", r->body_bytes, 0,
                   HC_OK);
    if (r->has_cert)
        add_metric(t, b, now, "httpcheck.cert_expiry_days", r->cert_days, 0,
                   HC_OK);
    vg_emit(in, b);
}

static void
result_init(struct hc_result *r)
{
    memset(r, 0, sizeof(*r));
    r->dns = r->connect = r->tls = r->ttfb = -1;
    r->status = r->body_bytes = -1;
}

/* ---- HTTP probes --------------------------------------------------- */

static enum hc_reason
curl_reason(int code, int os_errno)
{
    switch (code) {
    case CURLE_OPERATION_TIMEDOUT:
        return HC_TIMEOUT;
    case CURLE_COULDNT_CONNECT:
        return os_errno == ECONNREFUSED ? HC_REFUSED : HC_CONNECT;
    case CURLE_COULDNT_RESOLVE_HOST:
        return HC_DNS;
    case CURLE_TOO_MANY_REDIRECTS:
        return HC_REDIRECTS;
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_PEER_FAILED_VERIFICATION:
    case CURLE_SSL_CERTPROBLEM:
    case CURLE_SSL_CIPHER:
    case CURLE_SSL_CACERT_BADFILE:
    case CURLE_SSL_ISSUER_ERROR:
        return HC_TLS;
    default:
        return HC_ERROR;
    }
}

static double
secs(int64_t ns)
{
    return (double)ns / 1e9;
}

static void
on_http_done(struct vg_http *h, const struct vg_http_result *res, void *arg)
{
    struct hc_target *t = arg;
    struct hc_result r;
    char detail[256];
    int64_t ready;

    (void)h;
    t->busy = 0;
    result_init(&r);
    r.duration = secs(res->elapsed);
    if (res->curl_code != 0 || res->status == 0) {
        r.reason = res->curl_code ?
                   curl_reason(res->curl_code, res->os_errno) : HC_ERROR;
        snprintf(detail, sizeof(detail), "%s: %s", res->where,
                 res->error[0] ? res->error : "no response");
        report(t, &r, detail);
        return;
    }
    r.status = (double)res->status;
    r.body_bytes = (double)res->body_bytes;
    r.dns = secs(res->t_dns);
    r.connect = secs(res->t_connect - res->t_dns);
    ready = res->t_connect;
    if (res->t_tls > 0) {
        r.tls = secs(res->t_tls - res->t_connect);
        ready = res->t_tls;
    }
    if (res->t_first_byte >= ready)
        r.ttfb = secs(res->t_first_byte - ready);
    if (res->cert_expiry > 0) {
        /* whole seconds are precise enough for days */
        int64_t left = res->cert_expiry - vg_now(t->st->in) / VG_SECOND;

        r.has_cert = 1;
        r.cert_days = (double)left / 86400.0;
    }
    detail[0] = '\0';
    if (!status_expected(t, res->status)) {
        r.reason = HC_STATUS;
        snprintf(detail, sizeof(detail), "%s: unexpected HTTP %ld",
                 res->where, res->status);
    } else if (t->re &&
               pcre2_match(t->re, (PCRE2_SPTR)res->body, res->body_len, 0,
                           0, t->md, NULL) < 0) {
        r.reason = HC_BODY;
        snprintf(detail, sizeof(detail),
                 "%s: HTTP %ld, body does not match body_regex", res->where,
                 res->status);
    }
    report(t, &r, detail);
}

static void
http_probe(struct hc_target *t)
{
    struct vg_instance *in = t->st->in;
    struct vg_http_request *req;
    int rc = -ENOMEM;

    if (!(req = vg_http_request_new(t->c->method, t->c->url)))
        goto fail;
    for (size_t i = 0; i < t->c->headers.n; i++) {
        const struct vg_pair *p = &t->c->headers.v[i];

        if ((rc = vg_http_request_header(req, p->key, p->value)) < 0) {
            vg_http_request_free(req);
            goto fail;
        }
    }
    vg_http_request_probe(req, t->c->follow_redirects);
    t->busy = 1;
    if ((rc = vg_http_send(t->http, req, on_http_done, t)) < 0) {
        t->busy = 0;
        goto fail;
    }
    return;
fail:
    vg_log(in, VG_LOG_WARN, "cannot start a probe of '%s': %s", t->label,
           strerror(-rc));
}

/* ---- TCP probes ---------------------------------------------------- */

static void
tcp_end(struct hc_target *t, enum hc_reason reason, const char *why)
{
    struct hc_result r;
    char detail[256];

    vg_timer_stop(t->st->in, t->deadline);
    if (t->io) {
        vg_io_free(t->st->in, t->io);
        t->io = NULL;
    }
    if (t->fd >= 0) {
        close(t->fd);
        t->fd = -1;
    }
    t->busy = 0;
    result_init(&r);
    r.reason = reason;
    r.duration = secs(mono_ns() - t->t0);
    if (reason == HC_OK)
        r.connect = r.duration;
    snprintf(detail, sizeof(detail), "connect to %s: %s", t->url, why);
    report(t, &r, detail);
}

static void
on_tcp_io(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct hc_target *t = arg;
    socklen_t len = sizeof(int);
    int err = 0;

    (void)in;
    (void)revents;
    if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0)
        err = errno;
    if (err == 0)
        tcp_end(t, HC_OK, "connected");
    else
        tcp_end(t, err == ECONNREFUSED ? HC_REFUSED : HC_CONNECT,
                strerror(err));
}

static void
on_tcp_deadline(struct vg_instance *in, void *arg)
{
    struct hc_target *t = arg;

    (void)in;
    if (t->busy)
        tcp_end(t, HC_TIMEOUT, "timed out");
}

static void
tcp_probe(struct hc_target *t)
{
    struct vg_instance *in = t->st->in;
    const struct addrinfo *ai = t->ai;
    int err;

    t->t0 = mono_ns();
    t->busy = 1;
    t->fd = socket(ai->ai_family, ai->ai_socktype | SOCK_NONBLOCK |
                   SOCK_CLOEXEC, ai->ai_protocol);
    if (t->fd < 0) {
        tcp_end(t, HC_ERROR, strerror(errno));
        return;
    }
    if (connect(t->fd, ai->ai_addr, ai->ai_addrlen) == 0) {
        tcp_end(t, HC_OK, "connected");
        return;
    }
    err = errno;
    if (err != EINPROGRESS) {
        tcp_end(t, err == ECONNREFUSED ? HC_REFUSED : HC_CONNECT,
                strerror(err));
        return;
    }
    if (!(t->io = vg_io_new(in, t->fd, VG_IO_WRITE, on_tcp_io, t))) {
        tcp_end(t, HC_ERROR, "cannot watch the socket");
        return;
    }
    vg_io_start(in, t->io);
    vg_timer_start(in, t->deadline, t->timeout, 0);
}

/*
 * tcp://host:port resolved once, when the instance starts: getaddrinfo
 * blocks, and the loop must not.
 */
static int
tcp_resolve(struct hc_target *t)
{
    struct vg_instance *in = t->st->in;
    const char *hp = t->c->url + strlen("tcp://");
    struct addrinfo hints;
    char host[256], *port;
    size_t n = strcspn(hp, "/");
    int rc;

    if (n >= sizeof(host))
        goto bad;
    memcpy(host, hp, n);
    host[n] = '\0';
    if (!(port = strrchr(host, ':')) || !port[1])
        goto bad;
    *port++ = '\0';
    if (host[0] == '[' && port[-2] == ']') {    /* [::1]:80 */
        port[-2] = '\0';
        memmove(host, host + 1, strlen(host));
    }
    memset(&hints, 0, sizeof(hints));
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_family = AF_UNSPEC;
    if ((rc = getaddrinfo(host, port, &hints, &t->ai)) != 0) {
        vg_log(in, VG_LOG_ERROR, "target '%s': cannot resolve '%s': %s",
               t->label, host, gai_strerror(rc));
        return -EINVAL;
    }
    return 0;
bad:
    vg_log(in, VG_LOG_ERROR, "target '%s': a tcp url is tcp://host:port",
           t->label);
    return -EINVAL;
}

/* ---- lifecycle ----------------------------------------------------- */

static void
on_tick(struct vg_instance *in, void *arg)
{
    struct hc_target *t = arg;

    if (t->busy) {
        vg_log(in, VG_LOG_DEBUG, "target '%s': previous probe still running",
               t->label);
        return;
    }
    if (t->tcp)
        tcp_probe(t);
    else
        http_probe(t);
}

/* The url without user:password@, for labels and logs. */
static char *
url_label(const char *url)
{
    const char *p = strstr(url, "://");
    const char *host, *end, *at = NULL;
    char *out;
    size_t n;

    if (!p)
        return strdup(url);
    host = p + 3;
    end = host + strcspn(host, "/?#");
    for (const char *c = host; c < end; c++)
        if (*c == '@')
            at = c;
    if (!at)
        return strdup(url);
    n = strlen(url) - (size_t)(at + 1 - host);
    if (!(out = malloc(n + 1)))
        return NULL;
    snprintf(out, n + 1, "%.*s%s", (int)(host - url), url, at + 1);
    return out;
}

static int
target_init(struct hc_state *st, struct hc_target *t,
            const struct hc_target_conf *c)
{
    struct vg_instance *in = st->in;
    struct vg_http_opts o;
    int err;
    PCRE2_SIZE off;

    t->st = st;
    t->c = c;
    t->fd = -1;
    if (!(t->url = url_label(c->url)) ||
        !(t->label = strdup(c->name && c->name[0] ? c->name : t->url)))
        return -ENOMEM;
    t->interval = c->interval > 0 ? c->interval : st->conf->interval;
    t->timeout = c->timeout > 0 ? c->timeout : st->conf->timeout;
    if (t->interval <= 0 || t->timeout <= 0) {
        vg_log(in, VG_LOG_ERROR, "target '%s': interval and timeout must be "
               "positive", t->label);
        return -EINVAL;
    }
    if (!(t->tick = vg_timer_new(in, on_tick, t)))
        return -ENOMEM;
    if (strncmp(c->url, "tcp://", 6) == 0) {
        t->tcp = 1;
        if (!(t->deadline = vg_timer_new(in, on_tcp_deadline, t)))
            return -ENOMEM;
        return tcp_resolve(t);
    }
    if (strncmp(c->url, "http://", 7) != 0 &&
        strncmp(c->url, "https://", 8) != 0) {
        vg_log(in, VG_LOG_ERROR, "target '%s': url must start with http://, "
               "https:// or tcp://", t->label);
        return -EINVAL;
    }
    for (size_t i = 0; i < c->expect_status.n; i++) {
        if (t->nranges == MAX_RANGES ||
            parse_range(c->expect_status.v[i], &t->ranges[t->nranges]) < 0) {
            vg_log(in, VG_LOG_ERROR, "target '%s': bad expect_status '%s' "
                   "(200, 2xx or 200-299; at most %d)", t->label,
                   c->expect_status.v[i], MAX_RANGES);
            return -EINVAL;
        }
        t->nranges++;
    }
    if (c->body_regex) {
        t->re = pcre2_compile((PCRE2_SPTR)c->body_regex,
                              PCRE2_ZERO_TERMINATED, 0, &err, &off, NULL);
        if (!t->re) {
            PCRE2_UCHAR msg[128];

            pcre2_get_error_message(err, msg, sizeof(msg));
            vg_log(in, VG_LOG_ERROR, "target '%s': bad body_regex at "
                   "offset %zu: %s", t->label, (size_t)off, (char *)msg);
            return -EINVAL;
        }
        if (!(t->md = pcre2_match_data_create_from_pattern(t->re, NULL)))
            return -ENOMEM;
    }
    memset(&o, 0, sizeof(o));
    vg_http_opts_tls(&o, &c->tls);
    o.timeout = t->timeout;
    o.connect_timeout = t->timeout;
    o.max_response = MAX_RESPONSE;
    if (!(t->http = vg_http_new(in, &o)))
        return -ENOMEM;
    return 0;
}

static void
target_release(struct hc_target *t)
{
    struct vg_instance *in = t->st ? t->st->in : NULL;

    if (!in)
        return;
    vg_http_free(t->http);
    if (t->io)
        vg_io_free(in, t->io);
    if (t->fd >= 0)
        close(t->fd);
    if (t->tick)
        vg_timer_free(in, t->tick);
    if (t->deadline)
        vg_timer_free(in, t->deadline);
    if (t->ai)
        freeaddrinfo(t->ai);
    pcre2_match_data_free(t->md);
    pcre2_code_free(t->re);
    free(t->label);
    free(t->url);
}

static void
hc_destroy(struct vg_instance *in)
{
    struct hc_state *st = vg_instance_data(in);

    if (!st)
        return;
    for (size_t i = 0; i < st->n; i++)
        target_release(&st->t[i]);
    free(st->t);
    free(st);
    vg_instance_set_data(in, NULL);
}

static int
hc_init(struct vg_instance *in, void *conf)
{
    struct hc_state *st = calloc(1, sizeof(*st));
    const struct hc_target_conf *tc;
    int rc = -ENOMEM;

    if (!st)
        return -ENOMEM;
    st->in = in;
    st->conf = conf;
    vg_instance_set_data(in, st);
    tc = st->conf->targets.items;
    if (st->conf->targets.n == 0) {
        vg_log(in, VG_LOG_ERROR, "targets is empty");
        rc = -EINVAL;
        goto fail;
    }
    if (!(st->t = calloc(st->conf->targets.n, sizeof(*st->t))))
        goto fail;
    for (size_t i = 0; i < st->conf->targets.n; i++) {
        st->n = i + 1;
        if ((rc = target_init(st, &st->t[i], &tc[i])) < 0)
            goto fail;
    }
    return 0;
fail:
    hc_destroy(in);
    return rc;
}

static int
hc_start(struct vg_instance *in)
{
    struct hc_state *st = vg_instance_data(in);

    st->stopped = 0;
    /* the first probe at once, so a fresh agent reports without delay */
    for (size_t i = 0; i < st->n; i++)
        vg_timer_start(in, st->t[i].tick, 1, st->t[i].interval);
    return 0;
}

static void
hc_stop(struct vg_instance *in)
{
    struct hc_state *st = vg_instance_data(in);

    if (!st)
        return;
    st->stopped = 1;
    for (size_t i = 0; i < st->n; i++)
        vg_timer_stop(in, st->t[i].tick);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "httpcheck",
    .summary = "health checks of HTTP(S) endpoints and TCP ports",
    .options = hc_options,
    .conf_size = sizeof(struct hc_conf),
    .init = hc_init,
    .start = hc_start,
    .stop = hc_stop,
    .destroy = hc_destroy,
};
