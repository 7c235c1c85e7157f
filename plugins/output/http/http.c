/*
 * output http: each batch is one request to `url`, as vigil JSON lines, a
 * JSON array, or OTLP/HTTP JSON (metrics to /v1/metrics, logs and alerts
 * to /v1/logs: up to two requests, and a part that was delivered is not
 * sent again when the batch is retried).  Outcomes follow the shared
 * client: 2xx delivered, 408/429/5xx and network errors retried (honouring
 * Retry-After), other statuses permanent.  Secrets (auth, header values,
 * the URL's path and query) never reach the log.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/plugin.h>

#include "http_client.h"

enum http_format {
    FMT_JSON_LINES,
    FMT_JSON,
    FMT_OTLP,
};

enum http_part {                        /* bits: what a batch needs */
    PART_MAIN = 1,                      /* json_lines, json */
    PART_METRICS = 2,                   /* otlp */
    PART_LOGS = 4,                      /* otlp */
};

struct http_conf {                      /* the core fills this in */
    char                   *url;
    int                     format;     /* enum http_format */
    struct vg_map           headers;
    struct vg_http_auth_conf auth;
    int                     compress;   /* 0 none, 1 gzip */
    int                     method;     /* 0 POST, 1 PUT */
    char                   *otlp_metrics_path;
    char                   *otlp_logs_path;
    struct vg_http_conn_conf conn;     /* timeout, proxy, tls */
};

/* What a request's callback needs: one per part, in the state, so a
 * request cancelled at destroy leaves nothing to free. */
struct part_req {
    struct http_state *st;
    unsigned           part;
};

struct http_state {
    const struct http_conf *conf;
    struct vg_instance     *in;
    struct vg_http         *http;
    char                   *url;        /* templated */
    char                   *metrics_url;
    char                   *logs_url;
    struct vg_hbuf          buf;
    /* the flush in flight */
    struct vg_flush        *fl;
    unsigned                waiting;    /* requests not answered */
    int                     outcome;    /* worst so far */
    int64_t                 retry_after;
    char                    reason[512];
    /* a batch of which some parts were delivered (a ref is held) */
    struct vg_batch        *partial;
    unsigned                partial_done;   /* enum http_part bits */
    struct vg_batch        *cur;        /* the batch of fl */
    unsigned                cur_done;
    uint64_t                failures;   /* consecutive failed flushes */
    struct part_req         req[3];     /* main, metrics, logs */
};

static const struct vg_option auth_options[] = {
    VG_HTTP_AUTH_OPTIONS(struct http_conf, auth),
    { 0 }
};

static const struct vg_option tls_options[] = {
    VG_HTTP_TLS_OPTIONS(struct http_conf, conn.tls),
    { 0 }
};

static const struct vg_option http_options[] = {
    { .name = "url", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct http_conf, url),
      .help = "endpoint; {pipeline} and {alias} are replaced (otlp: base)" },
    { .name = "format", .type = VG_OPT_ENUM, .def = "json_lines",
      .choices = "json_lines|json|otlp",
      .offset = offsetof(struct http_conf, format),
      .help = "body: JSON lines, a JSON array, or OTLP/HTTP JSON" },
    { .name = "headers", .type = VG_OPT_MAP, .flags = VG_OPT_SECRET,
      .offset = offsetof(struct http_conf, headers),
      .help = "extra request headers" },
    { .name = "auth", .type = VG_OPT_OBJECT, .sub = auth_options,
      .help = "basic (user, password) or bearer_token" },
    { .name = "compress", .type = VG_OPT_ENUM, .def = "none",
      .choices = "none|gzip",
      .offset = offsetof(struct http_conf, compress),
      .help = "compress request bodies" },
    { .name = "method", .type = VG_OPT_ENUM, .def = "POST",
      .choices = "POST|PUT",
      .offset = offsetof(struct http_conf, method),
      .help = "request method" },
    { .name = "otlp_metrics_path", .type = VG_OPT_STR,
      .offset = offsetof(struct http_conf, otlp_metrics_path),
      .help = "otlp: full metrics URL (default url + /v1/metrics)" },
    { .name = "otlp_logs_path", .type = VG_OPT_STR,
      .offset = offsetof(struct http_conf, otlp_logs_path),
      .help = "otlp: full logs URL (default url + /v1/logs)" },
    VG_HTTP_CONN_OPTIONS(struct http_conf, conn, tls_options),
    { 0 }
};

/* ---- encoders ------------------------------------------------------ */

/* 0 or the encoder's negative errno. */
static int
encode_lines(struct vg_instance *in, struct vg_batch *b, struct vg_hbuf *o,
             int array)
{
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    int first = 1, rc = 0;

    if (array)
        vg_hbuf_add(o, "[", 1);
    while (rc == 0 && vg_batch_next(in, b, &it, &ev) > 0) {
        if (array && !first)
            vg_hbuf_add(o, ",", 1);
        first = 0;
        /* the core grows the buffer with realloc: hbuf's own way */
        rc = vg_event_to_json(in, &ev, &o->p, &o->len, &o->cap);
        if (rc == 0 && !array)
            vg_hbuf_add(o, "\n", 1);
    }
    if (array)
        vg_hbuf_add(o, "]", 1);
    vg_iter_release(in, &it);
    return rc;
}

/* proto3 JSON spells the special doubles this way */
static void
otlp_double(struct vg_hbuf *o, double v)
{
    if (isnan(v))
        vg_hbuf_adds(o, "\"NaN\"");
    else if (isinf(v))
        vg_hbuf_adds(o, v > 0 ? "\"Infinity\"" : "\"-Infinity\"");
    else
        vg_hbuf_add_double(o, v);
}

static void
otlp_kv_str(struct vg_hbuf *o, const char *k, size_t kn, const char *v,
            size_t vn)
{
    vg_hbuf_adds(o, "{\"key\":");
    vg_hbuf_add_jstr(o, k, kn);
    vg_hbuf_adds(o, ",\"value\":{\"stringValue\":");
    vg_hbuf_add_jstr(o, v, vn);
    vg_hbuf_adds(o, "}}");
}

static void
otlp_kv(struct vg_hbuf *o, const struct vg_kv *kv)
{
    if (kv->type == VG_VAL_STR) {
        otlp_kv_str(o, kv->key, kv->key_len, kv->v.s, kv->len);
        return;
    }
    vg_hbuf_adds(o, "{\"key\":");
    vg_hbuf_add_jstr(o, kv->key, kv->key_len);
    switch (kv->type) {
    case VG_VAL_INT:
        vg_hbuf_addf(o, ",\"value\":{\"intValue\":\"%" PRId64 "\"}}",
                     kv->v.i);
        break;
    case VG_VAL_DOUBLE:
        vg_hbuf_adds(o, ",\"value\":{\"doubleValue\":");
        otlp_double(o, kv->v.d);
        vg_hbuf_adds(o, "}}");
        break;
    default:
        vg_hbuf_addf(o, ",\"value\":{\"boolValue\":%s}}",
                     kv->v.b ? "true" : "false");
        break;
    }
}

static int
is_host(const struct vg_kv *kv)
{
    return kv->key_len == 4 && memcmp(kv->key, "host", 4) == 0;
}

/* The event's host label ("" when none): the resource it belongs to. */
static const char *
event_host(const struct vg_event *ev, uint32_t *len)
{
    for (uint32_t i = 0; i < ev->nlabels; i++) {
        if (is_host(&ev->labels[i])) {
            *len = ev->labels[i].len;
            return ev->labels[i].v.s;
        }
    }
    *len = 0;
    return "";
}

/* Labels but host (a resource attribute), then extra typed attributes. */
static void
otlp_attrs(struct vg_hbuf *o, const struct vg_event *ev,
           const struct vg_kv *extra, uint32_t nextra)
{
    int first = 1;

    vg_hbuf_adds(o, "\"attributes\":[");
    for (uint32_t i = 0; i < ev->nlabels; i++) {
        if (is_host(&ev->labels[i]))
            continue;
        if (!first)
            vg_hbuf_add(o, ",", 1);
        first = 0;
        otlp_kv(o, &ev->labels[i]);
    }
    for (uint32_t i = 0; i < nextra; i++) {
        if (!first)
            vg_hbuf_add(o, ",", 1);
        first = 0;
        otlp_kv(o, &extra[i]);
    }
    vg_hbuf_add(o, "]", 1);
}

static void
otlp_metric(struct vg_hbuf *o, const struct vg_event *ev)
{
    const struct vg_histogram *h = &ev->hist;

    vg_hbuf_adds(o, "{\"name\":");
    vg_hbuf_add_jstr(o, ev->name, strlen(ev->name));
    switch (ev->metric_type) {
    case VG_METRIC_COUNTER:
        vg_hbuf_adds(o, ",\"sum\":{\"aggregationTemporality\":2,"
                     "\"isMonotonic\":true,\"dataPoints\":[{");
        break;
    case VG_METRIC_HISTOGRAM:
        vg_hbuf_adds(o, ",\"histogram\":{\"aggregationTemporality\":2,"
                     "\"dataPoints\":[{");
        break;
    default:
        vg_hbuf_adds(o, ",\"gauge\":{\"dataPoints\":[{");
        break;
    }
    otlp_attrs(o, ev, NULL, 0);
    vg_hbuf_addf(o, ",\"timeUnixNano\":\"%" PRId64 "\"", ev->time);
    if (ev->metric_type != VG_METRIC_HISTOGRAM) {
        vg_hbuf_adds(o, ",\"asDouble\":");
        otlp_double(o, ev->value);
        vg_hbuf_adds(o, "}]}}");
        return;
    }
    vg_hbuf_addf(o, ",\"count\":\"%" PRIu64 "\",\"sum\":", h->count);
    otlp_double(o, h->sum);
    /* OTLP's bounds leave out the last bucket's +Inf */
    vg_hbuf_adds(o, ",\"bucketCounts\":[");
    for (uint32_t i = 0; i < h->nbuckets; i++)
        vg_hbuf_addf(o, "%s\"%" PRIu64 "\"", i ? "," : "", h->counts[i]);
    if (h->nbuckets && !isinf(h->bounds[h->nbuckets - 1]))
        vg_hbuf_adds(o, ",\"0\"");
    vg_hbuf_adds(o, "],\"explicitBounds\":[");
    for (uint32_t i = 0; i < h->nbuckets; i++) {
        if (isinf(h->bounds[i]))
            break;
        if (i)
            vg_hbuf_add(o, ",", 1);
        otlp_double(o, h->bounds[i]);
    }
    vg_hbuf_adds(o, "]}]}}");
}

static const char *
severity_text(uint32_t n)
{
    static const char *const names[] = {
        "TRACE", "DEBUG", "INFO", "WARN", "ERROR", "FATAL",
    };

    if (n < 1 || n > 24)
        return "";
    return names[(n - 1) / 4];
}

static void
otlp_log(struct vg_hbuf *o, const struct vg_event *ev, int64_t now)
{
    vg_hbuf_addf(o, "{\"timeUnixNano\":\"%" PRId64 "\","
                 "\"observedTimeUnixNano\":\"%" PRId64 "\","
                 "\"severityNumber\":%u,\"severityText\":\"%s\","
                 "\"body\":{\"stringValue\":", ev->time, now,
                 (unsigned)ev->severity, severity_text(ev->severity));
    vg_hbuf_add_jstr(o, ev->body, ev->body_len);
    vg_hbuf_adds(o, "},");
    otlp_attrs(o, ev, ev->attrs, ev->nattrs);
    vg_hbuf_add(o, "}", 1);
}

/* An alert travels as a log record, its fields as vigil.alert.* */
static void
otlp_alert(struct vg_hbuf *o, const struct vg_event *ev, int64_t now)
{
    static const uint32_t sev[] = {
        VG_SEV_INFO, VG_SEV_INFO, VG_SEV_WARN, VG_SEV_ERROR, VG_SEV_FATAL,
    };
    uint32_t n = sev[ev->alert_severity <= 4 ? ev->alert_severity : 0];
    char fp[17];
    struct vg_kv extra[4];

    snprintf(fp, sizeof(fp), "%016" PRIx64, ev->hash);
    extra[0] = vg_kv_str("vigil.alert.rule", ev->rule ? ev->rule : "");
    extra[1] = vg_kv_str("vigil.alert.state",
                         ev->alert_state == VG_ALERT_RESOLVED ? "resolved"
                                                              : "firing");
    extra[2] = vg_kv_str("vigil.alert.fingerprint", fp);
    extra[3].key = "vigil.alert.value";
    extra[3].key_len = (uint32_t)strlen(extra[3].key);
    extra[3].type = VG_VAL_DOUBLE;
    extra[3].len = 0;
    extra[3].v.d = ev->value;
    vg_hbuf_addf(o, "{\"timeUnixNano\":\"%" PRId64 "\","
                 "\"observedTimeUnixNano\":\"%" PRId64 "\","
                 "\"severityNumber\":%u,\"severityText\":\"%s\","
                 "\"body\":{\"stringValue\":", ev->time, now, (unsigned)n,
                 severity_text(n));
    vg_hbuf_adds(o, ev->summary ? "" : "\"\"");
    if (ev->summary)
        vg_hbuf_add_jstr(o, ev->summary, strlen(ev->summary));
    vg_hbuf_adds(o, "},");
    otlp_attrs(o, ev, extra, 4);
    vg_hbuf_add(o, "}", 1);
}

#define MAX_RESOURCES 64

/*
 * One resource per distinct host label (batches nearly always hold one),
 * each with one scope holding the events of the wanted kinds.  Returns the
 * number of events written.
 */
static size_t
encode_otlp(struct vg_instance *in, struct vg_batch *b, struct vg_hbuf *o,
            int logs)
{
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    char *hosts[MAX_RESOURCES];
    size_t nhosts = 0, written = 0;
    int64_t now = vg_now(in);

    while (vg_batch_next(in, b, &it, &ev) > 0) {
        uint32_t hl;
        const char *h;
        size_t i;

        if ((ev.kind == VG_EV_METRIC) == logs)
            continue;
        h = event_host(&ev, &hl);
        for (i = 0; i < nhosts; i++)
            if (strlen(hosts[i]) == hl && memcmp(hosts[i], h, hl) == 0)
                break;
        if (i < nhosts)
            continue;
        if (nhosts == MAX_RESOURCES)
            continue;
        if (!(hosts[nhosts] = strndup(h, hl)))
            abort();
        nhosts++;
    }
    vg_iter_release(in, &it);
    vg_hbuf_adds(o, logs ? "{\"resourceLogs\":[" : "{\"resourceMetrics\":[");
    for (size_t r = 0; r < nhosts; r++) {
        int first = 1;

        vg_hbuf_adds(o, r ? ",{\"resource\":{\"attributes\":["
                          : "{\"resource\":{\"attributes\":[");
        if (hosts[r][0])
            otlp_kv_str(o, "host.name", 9, hosts[r], strlen(hosts[r]));
        vg_hbuf_adds(o, logs ? "]},\"scopeLogs\":[{\"scope\":{\"name\":"
                               "\"vigil\"},\"logRecords\":["
                             : "]},\"scopeMetrics\":[{\"scope\":{\"name\":"
                               "\"vigil\"},\"metrics\":[");
        memset(&it, 0, sizeof(it));
        while (vg_batch_next(in, b, &it, &ev) > 0) {
            uint32_t hl;
            const char *h;
            size_t i;

            if ((ev.kind == VG_EV_METRIC) == logs)
                continue;
            h = event_host(&ev, &hl);
            for (i = 0; i < nhosts; i++)
                if (strlen(hosts[i]) == hl && memcmp(hosts[i], h, hl) == 0)
                    break;
            /* hosts past the table ride with the last resource */
            if (i != r && !(i == nhosts && r == nhosts - 1))
                continue;
            if (!first)
                vg_hbuf_add(o, ",", 1);
            first = 0;
            if (ev.kind == VG_EV_METRIC)
                otlp_metric(o, &ev);
            else if (ev.kind == VG_EV_LOG)
                otlp_log(o, &ev, now);
            else
                otlp_alert(o, &ev, now);
            written++;
        }
        vg_iter_release(in, &it);
        vg_hbuf_adds(o, "]}]}");
    }
    vg_hbuf_adds(o, "]}");
    for (size_t r = 0; r < nhosts; r++)
        free(hosts[r]);
    return written;
}

/* ---- requests ------------------------------------------------------ */

static void
flush_finish(struct vg_instance *in, struct http_state *st)
{
    struct vg_flush *fl = st->fl;

    st->fl = NULL;
    if (st->outcome == VG_OK) {
        if (st->failures)
            vg_log(in, VG_LOG_INFO, "delivery works again after %" PRIu64
                   " failed attempts", st->failures);
        st->failures = 0;
        if (st->partial) {
            vg_batch_unref(in, st->partial);
            st->partial = NULL;
        }
    } else {
        /* the core logs the retry or the rejection with this reason */
        st->failures++;
        vg_log(in, VG_LOG_DEBUG, "delivery failed: %s", st->reason);
        /* remember what went through, so a retry sends only the rest */
        if (st->outcome == VG_RETRY && st->cur_done) {
            if (st->partial != st->cur) {
                if (st->partial)
                    vg_batch_unref(in, st->partial);
                vg_batch_ref(in, st->cur);
                st->partial = st->cur;
            }
            st->partial_done = st->cur_done;
        }
    }
    st->cur = NULL;
    vg_http_flush_done(st->http, fl, st->outcome,
                       st->outcome == VG_RETRY ? st->retry_after : -1,
                       st->outcome == VG_OK ? NULL : st->reason);
}

static void
on_response(struct vg_http *h, const struct vg_http_result *r, void *arg)
{
    struct part_req *pr = arg;
    struct http_state *st = pr->st;
    char reason[512];
    int outcome = vg_http_outcome(r, reason, sizeof(reason));

    (void)h;
    if (outcome == VG_OK) {
        st->cur_done |= pr->part;
    } else if (st->outcome == VG_OK || outcome == VG_PERMANENT) {
        /* a permanent refusal wins: retrying cannot fix it */
        st->outcome = outcome;
        st->retry_after = r->retry_after;
        snprintf(st->reason, sizeof(st->reason), "%s", reason);
    }
    if (--st->waiting == 0)
        flush_finish(st->in, st);
}

static int
send_body(struct vg_instance *in, struct http_state *st, const char *url,
          unsigned part, const char *ctype)
{
    const struct http_conf *c = st->conf;
    struct vg_http_request *r;
    struct part_req *pr;
    int rc = -ENOMEM;

    if (!(r = vg_http_request_new(c->method ? "PUT" : "POST", url)))
        return -ENOMEM;
    if (vg_http_request_header(r, "Content-Type", ctype) < 0 ||
        vg_http_request_header(r, "User-Agent", "vigil") < 0)
        goto fail;
    for (size_t i = 0; i < c->headers.n; i++)
        if (vg_http_request_header(r, c->headers.v[i].key,
                                   c->headers.v[i].value) < 0)
            goto fail;
    if ((rc = vg_http_request_body_take(r, &st->buf, c->compress)) < 0)
        goto fail;
    pr = &st->req[part == PART_MAIN ? 0 : part == PART_METRICS ? 1 : 2];
    pr->st = st;
    pr->part = part;
    st->waiting++;
    if ((rc = vg_http_send(st->http, r, on_response, pr)) < 0) {
        st->waiting--;
        return rc;
    }
    return 0;
fail:
    vg_http_request_free(r);
    return rc;
}

static void
http_flush(struct vg_instance *in, struct vg_batch *b, struct vg_flush *fl)
{
    struct http_state *st = vg_instance_data(in);
    const struct http_conf *c = st->conf;
    unsigned done = 0;
    int rc = 0;

    if (st->partial == b)
        done = st->partial_done;
    st->fl = fl;
    st->cur = b;
    st->cur_done = done;
    st->outcome = VG_OK;
    st->retry_after = -1;
    st->reason[0] = '\0';
    /* waiting starts at 1 so a request failing at once cannot end the
     * flush before the others are sent */
    st->waiting = 1;
    if (c->format != FMT_OTLP) {
        st->buf.len = 0;
        if ((rc = encode_lines(in, b, &st->buf, c->format == FMT_JSON)) < 0) {
            st->outcome = VG_PERMANENT;
            snprintf(st->reason, sizeof(st->reason),
                     "cannot encode the batch: %s", strerror(-rc));
        } else {
            rc = send_body(in, st, st->url, PART_MAIN,
                           c->format == FMT_JSON ? "application/json"
                                                 : "application/x-ndjson");
        }
    } else {
        st->buf.len = 0;
        if (!(done & PART_METRICS) && encode_otlp(in, b, &st->buf, 0))
            rc = send_body(in, st, st->metrics_url, PART_METRICS,
                           "application/json");
        st->buf.len = 0;
        if (rc == 0 && !(done & PART_LOGS) &&
            encode_otlp(in, b, &st->buf, 1))
            rc = send_body(in, st, st->logs_url, PART_LOGS,
                           "application/json");
    }
    if (rc < 0 && st->outcome == VG_OK) {
        st->outcome = VG_RETRY;
        snprintf(st->reason, sizeof(st->reason),
                 "cannot start the request: %s", strerror(-rc));
    }
    if (--st->waiting == 0)
        flush_finish(in, st);
}

/* ---- setup --------------------------------------------------------- */

/* url with {pipeline}, {alias} and {instance} replaced. */
static char *
url_expand(struct vg_instance *in, const char *url)
{
    const char *name = vg_instance_name(in);    /* "output[alias]" */
    const char *lb = strchr(name, '['), *rb = strrchr(name, ']');
    struct vg_hbuf o = { 0 };
    char *alias;

    if (lb && rb && rb > lb)
        alias = strndup(lb + 1, (size_t)(rb - lb - 1));
    else
        alias = strdup(name);
    if (!alias)
        return NULL;
    while (*url) {
        if (strncmp(url, "{pipeline}", 10) == 0) {
            vg_hbuf_adds(&o, vg_pipeline_name(in));
            url += 10;
        } else if (strncmp(url, "{alias}", 7) == 0) {
            vg_hbuf_adds(&o, alias);
            url += 7;
        } else if (strncmp(url, "{instance}", 10) == 0) {
            vg_hbuf_adds(&o, alias);
            url += 10;
        } else {
            vg_hbuf_add(&o, url++, 1);
        }
    }
    free(alias);
    return o.p;
}

/* base + suffix, without doubling the slash between them. */
static char *
url_join(const char *base, const char *suffix)
{
    size_t n = strlen(base);
    struct vg_hbuf o = { 0 };

    while (n && base[n - 1] == '/')
        n--;
    vg_hbuf_add(&o, base, n);
    vg_hbuf_adds(&o, suffix);
    return o.p;
}

static void
http_state_free(struct vg_instance *in, struct http_state *st)
{
    if (!st)
        return;
    vg_http_free(st->http);
    if (st->partial)
        vg_batch_unref(in, st->partial);
    vg_hbuf_release(&st->buf);
    free(st->url);
    free(st->metrics_url);
    free(st->logs_url);
    free(st);
}

static int
http_check(struct vg_instance *in, const void *conf)
{
    const struct http_conf *c = conf;
    struct vg_http_opts o = { 0 };

    if (vg_http_url_check(in, "url", c->url) < 0 ||
        vg_http_opts_auth(in, &o, &c->auth) < 0)
        return -EINVAL;
    return 0;
}

static int
http_init(struct vg_instance *in, void *conf)
{
    const struct http_conf *c = conf;
    struct http_state *st = NULL;
    struct vg_http_opts o = { 0 };
    int rc = -EINVAL;

    if (vg_http_opts_auth(in, &o, &c->auth) < 0)
        goto fail;
    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))))
        goto fail;
    st->conf = c;
    st->in = in;
    if (!(st->url = url_expand(in, c->url)))
        goto fail;
    if (c->format == FMT_OTLP) {
        st->metrics_url = c->otlp_metrics_path
            ? url_expand(in, c->otlp_metrics_path)
            : url_join(st->url, "/v1/metrics");
        st->logs_url = c->otlp_logs_path
            ? url_expand(in, c->otlp_logs_path)
            : url_join(st->url, "/v1/logs");
        if (!st->metrics_url || !st->logs_url)
            goto fail;
    }
    vg_http_opts_conn(&o, &c->conn);
    if (!(st->http = vg_http_new_to(in, &o, st->url))) {
        rc = -EIO;
        goto fail;
    }
    vg_instance_set_data(in, st);
    return 0;
fail:
    http_state_free(in, st);
    return rc;
}

static void
http_destroy(struct vg_instance *in)
{
    http_state_free(in, vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_OUTPUT,
    .name = "http",
    .summary = "send batches over HTTP(S): JSON lines, JSON or OTLP/JSON",
    .options = http_options,
    .conf_size = sizeof(struct http_conf),
    .check = http_check,
    .init = http_init,
    .flush = http_flush,
    .destroy = http_destroy,
};
