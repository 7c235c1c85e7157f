/*
 * output pagerduty: alert events to the PagerDuty Events API v2.  A firing
 * alert is a `trigger`, a resolved one a `resolve`, both with the alert's
 * fingerprint (16 hex digits) as dedup_key, so a flapping alert or a
 * retried request never opens a second incident.  Events go one request
 * at a time, in batch order, which keeps trigger before resolve for every
 * key; a retried batch resumes after the events already accepted.  Other
 * event kinds are ignored.  The routing key never reaches the log.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vigil/plugin.h>

#include "http_client.h"

#define PD_SUMMARY_MAX 1024             /* characters, PagerDuty's limit */

struct pd_conf {                        /* the core fills this in */
    char                   *routing_key;
    char                   *endpoint;
    int                     min_severity;   /* 0 info .. 3 critical */
    char                   *source_label;
    char                   *component_label;
    char                   *group_label;
    char                   *class_label;
    char                   *client_url;
    struct vg_http_conn_conf conn;     /* timeout, proxy, tls */
};

struct pd_state {
    const struct pd_conf *conf;
    struct vg_instance   *in;
    struct vg_http       *http;
    struct vg_hbuf        buf;
    /* the flush in flight: events of cur are sent one by one */
    struct vg_flush      *fl;
    struct vg_batch      *cur;          /* a ref is held while sending */
    uint32_t              index;        /* next event of cur to look at */
    unsigned              sent;         /* accepted in this flush */
    unsigned              refused;      /* permanently refused */
    char                  refusal[512]; /* the first refusal */
    /* a batch retried after some of its events were accepted */
    struct vg_batch      *partial;      /* a ref is held */
    uint32_t              partial_index;
    uint64_t              failures;
};

static const struct vg_option tls_options[] = {
    VG_HTTP_TLS_OPTIONS(struct pd_conf, conn.tls),
    { 0 }
};

static const struct vg_option pd_options[] = {
    { .name = "routing_key", .type = VG_OPT_STR,
      .flags = VG_OPT_REQUIRED | VG_OPT_SECRET,
      .offset = offsetof(struct pd_conf, routing_key),
      .help = "integration key of the PagerDuty service" },
    { .name = "endpoint", .type = VG_OPT_STR,
      .def = "https://events.pagerduty.com/v2/enqueue",
      .offset = offsetof(struct pd_conf, endpoint),
      .help = "Events API v2 URL" },
    { .name = "min_severity", .type = VG_OPT_ENUM, .def = "info",
      .choices = "info|warning|error|critical",
      .offset = offsetof(struct pd_conf, min_severity),
      .help = "alerts below this severity are not sent" },
    { .name = "source_label", .type = VG_OPT_STR, .def = "host",
      .offset = offsetof(struct pd_conf, source_label),
      .help = "label giving payload.source (else the agent's host name)" },
    { .name = "component_label", .type = VG_OPT_STR,
      .offset = offsetof(struct pd_conf, component_label),
      .help = "label giving payload.component" },
    { .name = "group_label", .type = VG_OPT_STR,
      .offset = offsetof(struct pd_conf, group_label),
      .help = "label giving payload.group" },
    { .name = "class_label", .type = VG_OPT_STR, .def = "alertname",
      .offset = offsetof(struct pd_conf, class_label),
      .help = "label giving payload.class" },
    { .name = "client_url", .type = VG_OPT_STR,
      .offset = offsetof(struct pd_conf, client_url),
      .help = "link shown with the incident (client_url)" },
    VG_HTTP_CONN_OPTIONS(struct pd_conf, conn, tls_options),
    { 0 }
};

static const char *const pd_severity[] = {
    "info", "warning", "error", "critical",
};

/* enum vg_alert_severity -> 0 info .. 3 critical */
static int
severity_rank(uint32_t s)
{
    return s >= VG_ALERT_INFO && s <= VG_ALERT_CRITICAL ? (int)s - 1 : 0;
}

static const char *
label(const struct vg_event *ev, const char *key)
{
    if (!key || !key[0])
        return NULL;
    for (uint32_t i = 0; i < ev->nlabels; i++)
        if (strcmp(ev->labels[i].key, key) == 0)
            return ev->labels[i].v.s;
    return NULL;
}

static void
add_field(struct vg_hbuf *o, const char *name, const char *value)
{
    if (!value || !value[0])
        return;
    vg_hbuf_addf(o, ",\"%s\":", name);
    vg_hbuf_add_jstr(o, value, strlen(value));
}

static void
rfc3339(char *out, size_t size, int64_t ns)
{
    time_t s = (time_t)(ns / VG_SECOND);
    struct tm tm;

    gmtime_r(&s, &tm);
    snprintf(out, size, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ",
             tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
             tm.tm_min, tm.tm_sec, (int)(ns % VG_SECOND / VG_MILLISECOND));
}

/* The Events API v2 body of one alert event. */
static void
encode_event(struct vg_instance *in, const struct pd_conf *c,
             const struct vg_event *ev, struct vg_hbuf *o)
{
    int resolve = ev->alert_state == VG_ALERT_RESOLVED;
    const char *summary = ev->summary && ev->summary[0] ? ev->summary
                                                        : ev->rule;
    const char *source = label(ev, c->source_label);
    char ts[64];

    if (!summary || !summary[0])
        summary = "vigil alert";
    if (!source || !source[0])
        source = vg_hostname(in);
    o->len = 0;
    vg_hbuf_adds(o, "{\"routing_key\":");
    vg_hbuf_add_jstr(o, c->routing_key, strlen(c->routing_key));
    vg_hbuf_addf(o, ",\"event_action\":\"%s\",\"dedup_key\":\"%016" PRIx64
                 "\"", resolve ? "resolve" : "trigger", ev->hash);
    if (resolve) {
        vg_hbuf_add(o, "}", 1);
        return;
    }
    vg_hbuf_adds(o, ",\"payload\":{\"summary\":");
    vg_hbuf_add_jstr_max(o, summary, strlen(summary), PD_SUMMARY_MAX);
    vg_hbuf_adds(o, ",\"source\":");
    vg_hbuf_add_jstr(o, source, strlen(source));
    vg_hbuf_addf(o, ",\"severity\":\"%s\"",
                 pd_severity[severity_rank(ev->alert_severity)]);
    rfc3339(ts, sizeof(ts), ev->starts_at ? ev->starts_at : ev->time);
    add_field(o, "timestamp", ts);
    add_field(o, "component", label(ev, c->component_label));
    add_field(o, "group", label(ev, c->group_label));
    add_field(o, "class", label(ev, c->class_label));
    vg_hbuf_adds(o, ",\"custom_details\":{");
    for (uint32_t i = 0; i < ev->nlabels; i++) {
        if (i)
            vg_hbuf_add(o, ",", 1);
        vg_hbuf_add_jstr(o, ev->labels[i].key, ev->labels[i].key_len);
        vg_hbuf_add(o, ":", 1);
        vg_hbuf_add_jstr(o, ev->labels[i].v.s, ev->labels[i].len);
    }
    vg_hbuf_adds(o, ev->nlabels ? ",\"vigil.value\":" : "\"vigil.value\":");
    vg_hbuf_add_jnum(o, ev->value);
    if (ev->description && ev->description[0]) {
        vg_hbuf_adds(o, ",\"vigil.description\":");
        vg_hbuf_add_jstr(o, ev->description, strlen(ev->description));
    }
    vg_hbuf_adds(o, "}}");
    vg_hbuf_adds(o, ",\"client\":\"vigil\"");
    add_field(o, "client_url", c->client_url);
    vg_hbuf_add(o, "}", 1);
}

static void
flush_end(struct pd_state *st, int outcome, int64_t retry_after,
          const char *reason)
{
    struct vg_instance *in = st->in;
    struct vg_flush *fl = st->fl;

    st->fl = NULL;
    if (outcome == VG_RETRY && st->index > 0) {
        /* resume after the accepted events when the batch comes back */
        if (st->partial != st->cur) {
            if (st->partial)
                vg_batch_unref(in, st->partial);
            vg_batch_ref(in, st->cur);
            st->partial = st->cur;
        }
        st->partial_index = st->index;
    } else if (st->partial) {
        vg_batch_unref(in, st->partial);
        st->partial = NULL;
    }
    vg_batch_unref(in, st->cur);
    st->cur = NULL;
    if (outcome == VG_OK && st->failures) {
        vg_log(in, VG_LOG_INFO, "PagerDuty accepts events again after %"
               PRIu64 " failed attempts", st->failures);
        st->failures = 0;
    } else if (outcome != VG_OK) {
        st->failures++;
    }
    vg_http_flush_done(st->http, fl, outcome, retry_after, reason);
}

static void send_next(struct pd_state *st);

static void
on_response(struct vg_http *h, const struct vg_http_result *r, void *arg)
{
    struct pd_state *st = arg;
    char reason[512];
    int outcome = vg_http_outcome(r, reason, sizeof(reason));

    (void)h;
    if (outcome == VG_RETRY) {
        flush_end(st, VG_RETRY, r->retry_after, reason);
        return;
    }
    if (outcome == VG_PERMANENT) {
        /* PagerDuty will never take this event: say why, go on */
        vg_log(st->in, VG_LOG_ERROR, "event refused: %s", reason);
        if (!st->refused++)
            snprintf(st->refusal, sizeof(st->refusal), "%s", reason);
    } else {
        st->sent++;
    }
    st->index++;
    send_next(st);
}

/* Sends the next alert event of the batch, or ends the flush. */
static void
send_next(struct pd_state *st)
{
    struct vg_instance *in = st->in;
    const struct pd_conf *c = st->conf;
    struct vg_iter it = VG_ITER_INIT;
    struct vg_http_request *r = NULL;
    struct vg_event ev;
    uint32_t i = 0;
    int found = 0, rc;
    char reason[256];

    while (vg_batch_next(in, st->cur, &it, &ev) > 0) {
        if (i++ < st->index)
            continue;
        if (ev.kind == VG_EV_ALERT &&
            severity_rank(ev.alert_severity) >= c->min_severity) {
            encode_event(in, c, &ev, &st->buf);
            found = 1;
            break;
        }
        st->index++;
    }
    vg_iter_release(in, &it);
    if (!found) {
        if (st->refused) {
            snprintf(reason, sizeof(reason), "%u of %u events refused, "
                     "first: %.200s", st->refused, st->refused + st->sent,
                     st->refusal);
            flush_end(st, VG_PERMANENT, -1, reason);
        } else {
            flush_end(st, VG_OK, -1, NULL);
        }
        return;
    }
    rc = -ENOMEM;
    if (!(r = vg_http_request_new("POST", c->endpoint)) ||
        vg_http_request_header(r, "Content-Type", "application/json") < 0 ||
        vg_http_request_header(r, "User-Agent", "vigil") < 0 ||
        (rc = vg_http_request_body_take(r, &st->buf, 0)) < 0) {
        vg_http_request_free(r);
        goto fail;
    }
    if ((rc = vg_http_send(st->http, r, on_response, st)) < 0)
        goto fail;
    return;
fail:
    snprintf(reason, sizeof(reason), "cannot start the request: %s",
             strerror(-rc));
    flush_end(st, VG_RETRY, -1, reason);
}

static void
pd_flush(struct vg_instance *in, struct vg_batch *b, struct vg_flush *fl)
{
    struct pd_state *st = vg_instance_data(in);

    vg_batch_ref(in, b);
    st->fl = fl;
    st->cur = b;
    st->index = st->partial == b ? st->partial_index : 0;
    st->sent = st->refused = 0;
    st->refusal[0] = '\0';
    send_next(st);
}

static void
pd_state_free(struct pd_state *st)
{
    if (!st)
        return;
    vg_http_free(st->http);
    if (st->cur)
        vg_batch_unref(st->in, st->cur);
    if (st->partial)
        vg_batch_unref(st->in, st->partial);
    vg_hbuf_release(&st->buf);
    free(st);
}

static int
pd_check(struct vg_instance *in, const void *conf)
{
    const struct pd_conf *c = conf;

    if (!c->routing_key[0]) {
        vg_log(in, VG_LOG_ERROR, "option 'routing_key' must not be empty");
        return -EINVAL;
    }
    return vg_http_url_check(in, "endpoint", c->endpoint);
}

static int
pd_init(struct vg_instance *in, void *conf)
{
    const struct pd_conf *c = conf;
    struct pd_state *st = NULL;
    struct vg_http_opts o = { 0 };
    int rc = -EINVAL;

    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))))
        goto fail;
    st->conf = c;
    st->in = in;
    vg_http_opts_conn(&o, &c->conn);
    if (!(st->http = vg_http_new_to(in, &o, c->endpoint))) {
        rc = -EIO;
        goto fail;
    }
    vg_instance_set_data(in, st);
    return 0;
fail:
    pd_state_free(st);
    return rc;
}

static void
pd_destroy(struct vg_instance *in)
{
    pd_state_free(vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_OUTPUT,
    .name = "pagerduty",
    .summary = "trigger and resolve PagerDuty incidents from alerts",
    .options = pd_options,
    .conf_size = sizeof(struct pd_conf),
    .check = pd_check,
    .init = pd_init,
    .flush = pd_flush,
    .destroy = pd_destroy,
};
