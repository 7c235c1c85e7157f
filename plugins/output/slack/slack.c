/*
 * output slack: alert events to a Slack incoming webhook.  Alerts in the
 * same state whose group_by labels agree and that arrive within group_wait
 * of the first go out as one message (Block Kit sections inside an
 * attachment that gives the colour bar, plus the `text` fallback).  Slack
 * is a notifier, so a flush ends as soon as its alerts are grouped; the
 * messages then wait in a bounded outbox, paced to one per min_interval
 * (Slack allows about one a second per webhook), retried on 429 (after
 * Retry-After), 5xx and network errors, and dropped with a log on other
 * refusals.  Messages still waiting when the agent exits are lost (the
 * core drains output queues, and these alerts have left the queue).  The
 * webhook URL is a secret: logs show its scheme and host only.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <vigil/plugin.h>

#include "http_client.h"

#define MAX_BLOCKS      50              /* Slack's limits */
#define MAX_SECTION     3000            /* characters */
#define MAX_HEADER      150
#define MAX_TEXT        3000            /* fallback text, kept readable */
#define MAX_GROUP       1000            /* alerts kept per group */
#define MAX_OUTBOX      256             /* messages waiting to be sent */
#define MAX_BACKOFF     (60 * VG_SECOND)

struct slack_conf {                     /* the core fills this in */
    char                   *webhook_url;
    int64_t                 group_wait;     /* ns */
    struct vg_strv          group_by;
    int                     min_severity;   /* 0 info .. 3 critical */
    char                   *link;
    int64_t                 min_interval;   /* ns between messages */
    struct vg_http_conn_conf conn;     /* timeout, proxy, tls */
};

struct slack_alert {
    uint64_t            fingerprint;
    char               *rule;
    char               *summary;
    char               *labels;         /* "k=v k=v", raw */
    int                 sev;            /* 0 info .. 3 critical */
    double              value;
    int64_t             starts_at;      /* ns; 0 unknown */
    int64_t             ends_at;        /* ns; 0 firing */
    struct slack_alert *next;
};

struct slack_group {
    char               *key;            /* state + group_by values */
    char               *title;          /* "k=v, k=v" of group_by */
    int                 resolved;
    int64_t             due;            /* ns, wall clock */
    struct slack_alert *alerts;
    struct slack_alert *tail;
    unsigned            n;
    unsigned            dropped;        /* past MAX_GROUP */
    struct slack_group *next;
};

struct slack_msg {
    struct vg_hbuf    body;
    struct slack_msg *next;
};

struct slack_state {
    const struct slack_conf *conf;
    struct vg_instance      *in;
    struct vg_http          *http;
    struct vg_timer         *timer;
    struct slack_group      *groups;
    struct slack_msg        *out_head;  /* outbox, oldest first */
    struct slack_msg        *out_tail;
    unsigned                 nout;
    int                      in_flight;
    int64_t                  next_send; /* ns, wall clock */
    unsigned                 attempts;  /* of the head message */
};

static const struct vg_option tls_options[] = {
    VG_HTTP_TLS_OPTIONS(struct slack_conf, conn.tls),
    { 0 }
};

static const struct vg_option slack_options[] = {
    { .name = "webhook_url", .type = VG_OPT_STR,
      .flags = VG_OPT_REQUIRED | VG_OPT_SECRET,
      .offset = offsetof(struct slack_conf, webhook_url),
      .help = "incoming webhook URL (a secret)" },
    { .name = "group_wait", .type = VG_OPT_DURATION, .def = "10s",
      .offset = offsetof(struct slack_conf, group_wait),
      .help = "alerts of one group arriving this soon share a message" },
    { .name = "group_by", .type = VG_OPT_STRLIST, .def = "alertname",
      .offset = offsetof(struct slack_conf, group_by),
      .help = "labels that make a group" },
    { .name = "min_severity", .type = VG_OPT_ENUM, .def = "info",
      .choices = "info|warning|error|critical",
      .offset = offsetof(struct slack_conf, min_severity),
      .help = "alerts below this severity are not sent" },
    { .name = "link", .type = VG_OPT_STR,
      .offset = offsetof(struct slack_conf, link),
      .help = "URL shown under every message (a dashboard)" },
    { .name = "min_interval", .type = VG_OPT_DURATION, .def = "1s",
      .offset = offsetof(struct slack_conf, min_interval),
      .help = "time between two messages (Slack: about 1/s)" },
    VG_HTTP_CONN_OPTIONS(struct slack_conf, conn, tls_options),
    { 0 }
};

static const char *const sev_name[] = {
    "info", "warning", "error", "critical",
};

static int
severity_rank(uint32_t s)
{
    return s >= VG_ALERT_INFO && s <= VG_ALERT_CRITICAL ? (int)s - 1 : 0;
}

static char *
xstrdup(const char *s)
{
    char *p = strdup(s ? s : "");

    if (!p)
        abort();                /* as vg_xmalloc: OOM is not handled */
    return p;
}

/* ---- groups -------------------------------------------------------- */

static void
alert_free(struct slack_alert *a)
{
    free(a->rule);
    free(a->summary);
    free(a->labels);
    free(a);
}

static void
group_free(struct slack_group *g)
{
    while (g->alerts) {
        struct slack_alert *a = g->alerts;

        g->alerts = a->next;
        alert_free(a);
    }
    free(g->key);
    free(g->title);
    free(g);
}

static const char *
label(const struct vg_event *ev, const char *key)
{
    for (uint32_t i = 0; i < ev->nlabels; i++)
        if (strcmp(ev->labels[i].key, key) == 0)
            return ev->labels[i].v.s;
    return NULL;
}

static struct slack_group *
group_get(struct slack_state *st, const struct vg_event *ev, int64_t now)
{
    const struct vg_strv *by = &st->conf->group_by;
    int resolved = ev->alert_state == VG_ALERT_RESOLVED;
    struct vg_hbuf key = { 0 }, title = { 0 };
    struct slack_group *g, **pp;

    vg_hbuf_adds(&key, resolved ? "R" : "F");
    for (size_t i = 0; i < by->n; i++) {
        const char *v = label(ev, by->v[i]);

        /* \x1f cannot come from a label: it keeps keys unambiguous */
        vg_hbuf_addf(&key, "\x1f%s", v ? v : "");
        if (v)
            vg_hbuf_addf(&title, "%s%s=%s", title.len ? ", " : "",
                         by->v[i], v);
    }
    for (pp = &st->groups; (g = *pp); pp = &g->next)
        if (strcmp(g->key, key.p) == 0)
            break;
    if (g) {
        vg_hbuf_release(&key);
        vg_hbuf_release(&title);
        return g;
    }
    if (!(g = calloc(1, sizeof(*g))))
        abort();
    g->key = key.p;
    g->title = title.p ? title.p : xstrdup(ev->rule);
    g->resolved = resolved;
    g->due = now + st->conf->group_wait;
    *pp = g;
    return g;
}

static void
group_add(struct slack_state *st, const struct vg_event *ev, int64_t now)
{
    struct slack_group *g = group_get(st, ev, now);
    struct slack_alert *a;
    struct vg_hbuf l = { 0 };

    /* a flapping alert seen twice in one group shows once, the latest */
    for (a = g->alerts; a; a = a->next)
        if (a->fingerprint == ev->hash)
            break;
    if (!a) {
        if (g->n >= MAX_GROUP) {
            g->dropped++;
            return;
        }
        if (!(a = calloc(1, sizeof(*a))))
            abort();
        if (g->tail)
            g->tail->next = a;
        else
            g->alerts = a;
        g->tail = a;
        g->n++;
    } else {
        free(a->rule);
        free(a->summary);
        free(a->labels);
    }
    for (uint32_t i = 0; i < ev->nlabels; i++)
        vg_hbuf_addf(&l, "%s%s=%s", i ? " " : "", ev->labels[i].key,
                     ev->labels[i].v.s);
    a->fingerprint = ev->hash;
    a->rule = xstrdup(ev->rule);
    a->summary = xstrdup(ev->summary);
    a->labels = l.p ? l.p : xstrdup("");
    a->sev = severity_rank(ev->alert_severity);
    a->value = ev->value;
    a->starts_at = ev->starts_at;
    a->ends_at = ev->ends_at ? ev->ends_at : (g->resolved ? now : 0);
}

/* ---- rendering ----------------------------------------------------- */

/* mrkdwn treats &, < and > as markup */
static void
add_escaped(struct vg_hbuf *o, const char *s)
{
    for (; *s; s++) {
        if (*s == '&')
            vg_hbuf_adds(o, "&amp;");
        else if (*s == '<')
            vg_hbuf_adds(o, "&lt;");
        else if (*s == '>')
            vg_hbuf_adds(o, "&gt;");
        else
            vg_hbuf_add(o, s, 1);
    }
}

/* A JSON string of at most max characters, "…" marking a cut. */
static void
add_text(struct vg_hbuf *o, const char *s, size_t len, size_t max)
{
    size_t keep = vg_utf8_prefix(s, len, max);
    struct vg_hbuf t = { 0 };

    if (keep == len) {
        vg_hbuf_add_jstr(o, s, len);
        return;
    }
    keep = vg_utf8_prefix(s, len, max - 1);
    vg_hbuf_add(&t, s, keep);
    vg_hbuf_adds(&t, "\xe2\x80\xa6");
    vg_hbuf_add_jstr(o, t.p, t.len);
    vg_hbuf_release(&t);
}

static void
fmt_time(char *out, size_t size, int64_t ns)
{
    time_t s = (time_t)(ns / VG_SECOND);
    struct tm tm;

    gmtime_r(&s, &tm);
    strftime(out, size, "%Y-%m-%d %H:%M:%S UTC", &tm);
}

static void
fmt_duration(char *out, size_t size, int64_t ns)
{
    int64_t s = ns / VG_SECOND;

    if (s < 0)
        s = 0;
    if (s >= 86400)
        snprintf(out, size, "%" PRId64 "d%" PRId64 "h", s / 86400,
                 s % 86400 / 3600);
    else if (s >= 3600)
        snprintf(out, size, "%" PRId64 "h%" PRId64 "m", s / 3600,
                 s % 3600 / 60);
    else if (s >= 60)
        snprintf(out, size, "%" PRId64 "m%" PRId64 "s", s / 60, s % 60);
    else
        snprintf(out, size, "%" PRId64 "s", s);
}

static void
section(struct vg_hbuf *o, const char *mrkdwn, size_t len)
{
    vg_hbuf_adds(o, ",{\"type\":\"section\",\"text\":{\"type\":\"mrkdwn\","
                 "\"text\":");
    add_text(o, mrkdwn, len, MAX_SECTION);
    vg_hbuf_adds(o, "}}");
}

static void
alert_section(struct vg_hbuf *o, const struct slack_alert *a, int resolved)
{
    struct vg_hbuf t = { 0 };
    char when[64], dur[32];

    vg_hbuf_addf(&t, "*%s* \xc2\xb7 *", sev_name[a->sev]);
    add_escaped(&t, a->rule);
    vg_hbuf_adds(&t, "*");
    if (a->summary[0]) {
        vg_hbuf_adds(&t, ": ");
        add_escaped(&t, a->summary);
    }
    vg_hbuf_adds(&t, "\n*Labels:* `");
    add_escaped(&t, a->labels);
    vg_hbuf_addf(&t, "`\n*Value:* %.6g", a->value);
    if (a->starts_at) {
        fmt_time(when, sizeof(when), a->starts_at);
        vg_hbuf_addf(&t, "\n*Started:* %s", when);
    }
    if (resolved && a->starts_at && a->ends_at) {
        fmt_duration(dur, sizeof(dur), a->ends_at - a->starts_at);
        vg_hbuf_addf(&t, "\n*Resolved after:* %s", dur);
    }
    section(o, t.p, t.len);
    vg_hbuf_release(&t);
}

/* The webhook body of a group: text fallback + one coloured attachment. */
static void
render(struct slack_state *st, const struct slack_group *g,
       struct vg_hbuf *o)
{
    const struct slack_alert *a;
    struct vg_hbuf head = { 0 }, text = { 0 };
    unsigned total = g->n + g->dropped, shown = 0;
    unsigned room = MAX_BLOCKS - 1 - (st->conf->link ? 1 : 0);
    int top = 0;
    const char *color;

    for (a = g->alerts; a; a = a->next)
        top = a->sev > top ? a->sev : top;
    color = g->resolved ? "good" : top >= 2 ? "danger"
                        : top == 1 ? "warning" : "#439FE0";
    vg_hbuf_addf(&head, "%s %s:%u %s",
                 g->resolved ? "\xe2\x9c\x85" : "\xf0\x9f\x94\xa5",
                 g->resolved ? "RESOLVED" : "FIRING", total, g->title);
    vg_hbuf_addf(&text, "[%s:%u] %s", g->resolved ? "RESOLVED" : "FIRING",
                 total, g->title);
    for (a = g->alerts; a; a = a->next) {
        if (a->summary[0]) {
            vg_hbuf_adds(&text, a == g->alerts ? ": " : "; ");
            add_escaped(&text, a->summary);
        }
        if (text.len > MAX_TEXT)
            break;
    }
    o->len = 0;
    vg_hbuf_adds(o, "{\"text\":");
    add_text(o, text.p, text.len, MAX_TEXT);
    vg_hbuf_addf(o, ",\"attachments\":[{\"color\":\"%s\",\"fallback\":",
                 color);
    add_text(o, text.p, text.len, MAX_TEXT);
    vg_hbuf_adds(o, ",\"blocks\":[{\"type\":\"header\",\"text\":"
                 "{\"type\":\"plain_text\",\"text\":");
    add_text(o, head.p, head.len, MAX_HEADER);
    vg_hbuf_adds(o, "}}");
    for (a = g->alerts; a; a = a->next) {
        /* the last room left says how many did not fit */
        if (shown + 1 == room && total > shown + 1)
            break;
        alert_section(o, a, g->resolved);
        shown++;
    }
    if (shown < total) {
        char more[64];
        int n = snprintf(more, sizeof(more), "_\xe2\x80\xa6" "and %u more_",
                         total - shown);

        section(o, more, (size_t)n);
    }
    if (st->conf->link) {
        struct vg_hbuf l = { 0 };

        vg_hbuf_adds(&l, "<");
        add_escaped(&l, st->conf->link);
        vg_hbuf_adds(&l, "|Open in dashboard>");
        vg_hbuf_adds(o, ",{\"type\":\"context\",\"elements\":[{\"type\":"
                     "\"mrkdwn\",\"text\":");
        add_text(o, l.p, l.len, MAX_SECTION);
        vg_hbuf_adds(o, "}]}");
        vg_hbuf_release(&l);
    }
    vg_hbuf_adds(o, "]}]}");
    vg_hbuf_release(&head);
    vg_hbuf_release(&text);
}

/* ---- outbox -------------------------------------------------------- */

static void schedule(struct slack_state *st);

static void
outbox_push(struct slack_state *st, struct slack_msg *m)
{
    if (st->nout >= MAX_OUTBOX && st->out_head != st->out_tail) {
        /* a long outage: the oldest news is the least useful; the head
         * may be in flight, so drop the one after it */
        struct slack_msg *old = st->out_head->next;

        st->out_head->next = old->next;
        if (st->out_tail == old)
            st->out_tail = st->out_head;
        vg_hbuf_release(&old->body);
        free(old);
        st->nout--;
        vg_count(st->in, "dropped_messages", 1);
        vg_log(st->in, VG_LOG_WARN, "outbox full (%d messages): dropped "
               "the oldest", MAX_OUTBOX);
    }
    if (st->out_tail)
        st->out_tail->next = m;
    else
        st->out_head = m;
    st->out_tail = m;
    st->nout++;
}

static void
outbox_pop(struct slack_state *st)
{
    struct slack_msg *m = st->out_head;

    st->out_head = m->next;
    if (!st->out_head)
        st->out_tail = NULL;
    st->nout--;
    st->attempts = 0;
    vg_hbuf_release(&m->body);
    free(m);
}

static void
on_response(struct vg_http *h, const struct vg_http_result *r, void *arg)
{
    struct slack_state *st = arg;
    int64_t now = vg_now(st->in);
    char reason[512];
    int outcome = vg_http_outcome(r, reason, sizeof(reason));

    (void)h;
    st->in_flight = 0;
    if (outcome == VG_OK &&
        (r->body_len != 2 || memcmp(r->body, "ok", 2) != 0)) {
        snprintf(reason, sizeof(reason), "%s: HTTP %ld but the body is not "
                 "'ok': %.100s", r->where, r->status, r->body);
        outcome = VG_PERMANENT;
    }
    switch (outcome) {
    case VG_OK:
        if (st->attempts)
            vg_log(st->in, VG_LOG_INFO, "message delivered after %u "
                   "failed attempts", st->attempts);
        vg_count(st->in, "messages_sent", 1);
        outbox_pop(st);
        st->next_send = now + st->conf->min_interval;
        break;
    case VG_RETRY: {
        int64_t wait = r->retry_after;

        if (wait < 0) {
            unsigned sh = st->attempts < 6 ? st->attempts : 6;

            wait = VG_SECOND << sh;
        }
        if (wait > MAX_BACKOFF && r->retry_after < 0)
            wait = MAX_BACKOFF;
        if (wait < st->conf->min_interval)
            wait = st->conf->min_interval;
        vg_log(st->in, st->attempts ? VG_LOG_DEBUG : VG_LOG_WARN,
               "message not delivered, retry in %.1fs: %s",
               (double)wait / 1e9, reason);
        st->attempts++;
        st->next_send = now + wait;
        break;
    }
    default:
        vg_log(st->in, VG_LOG_ERROR, "message refused, dropped: %s", reason);
        vg_count(st->in, "messages_refused", 1);
        outbox_pop(st);
        st->next_send = now + st->conf->min_interval;
        break;
    }
    schedule(st);
}

static void
send_head(struct slack_state *st)
{
    struct slack_msg *m = st->out_head;
    struct vg_http_request *r;
    struct vg_hbuf body = { 0 };
    int rc = -ENOMEM;

    /* the message stays in the outbox until Slack took it: send a copy */
    vg_hbuf_add(&body, m->body.p, m->body.len);
    if (!(r = vg_http_request_new("POST", st->conf->webhook_url)) ||
        vg_http_request_header(r, "Content-Type",
                               "application/json; charset=utf-8") < 0 ||
        (rc = vg_http_request_body_take(r, &body, 0)) < 0) {
        vg_http_request_free(r);
        goto fail;
    }
    st->in_flight = 1;
    if ((rc = vg_http_send(st->http, r, on_response, st)) < 0) {
        st->in_flight = 0;
        goto fail;
    }
    vg_hbuf_release(&body);
    return;
fail:
    vg_hbuf_release(&body);
    vg_log(st->in, VG_LOG_WARN, "cannot start a request: %s",
           strerror(-rc));
    st->next_send = vg_now(st->in) + VG_SECOND;
}

/*
 * Moves the groups that are due to the outbox, sends the next message if
 * pacing allows, and sets the timer for whatever comes next.
 */
static void
schedule(struct slack_state *st)
{
    int64_t now = vg_now(st->in), wake = INT64_MAX;
    struct slack_group **pp = &st->groups, *g;

    while ((g = *pp)) {
        if (g->due <= now) {
            struct slack_msg *m = calloc(1, sizeof(*m));

            if (!m)
                abort();
            render(st, g, &m->body);
            *pp = g->next;
            group_free(g);
            outbox_push(st, m);
            continue;
        }
        if (g->due < wake)
            wake = g->due;
        pp = &g->next;
    }
    if (st->out_head && !st->in_flight) {
        if (now >= st->next_send) {
            send_head(st);
            now = vg_now(st->in);
        }
        if (!st->in_flight && st->next_send < wake)
            wake = st->next_send;
    }
    if (wake == INT64_MAX)
        vg_timer_stop(st->in, st->timer);
    else
        vg_timer_start(st->in, st->timer, wake > now ? wake - now : 0, 0);
}

static void
on_timer(struct vg_instance *in, void *arg)
{
    (void)in;
    schedule(arg);
}

/* ---- plugin -------------------------------------------------------- */

static void
slack_flush(struct vg_instance *in, struct vg_batch *b, struct vg_flush *fl)
{
    struct slack_state *st = vg_instance_data(in);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    int64_t now = vg_now(in);

    while (vg_batch_next(in, b, &it, &ev) > 0)
        if (ev.kind == VG_EV_ALERT &&
            severity_rank(ev.alert_severity) >= st->conf->min_severity)
            group_add(st, &ev, now);
    vg_iter_release(in, &it);
    vg_flush_done(in, fl, VG_OK, NULL);
    schedule(st);
}

static void
slack_state_free(struct slack_state *st)
{
    if (!st)
        return;
    vg_http_free(st->http);
    if (st->timer)
        vg_timer_free(st->in, st->timer);
    if (st->groups || st->out_head) {
        unsigned n = st->nout;

        for (struct slack_group *g = st->groups; g; g = g->next)
            n++;
        vg_log(st->in, VG_LOG_WARN, "%u messages were not delivered", n);
    }
    while (st->groups) {
        struct slack_group *g = st->groups;

        st->groups = g->next;
        group_free(g);
    }
    while (st->out_head)
        outbox_pop(st);
    free(st);
}

static int
slack_check(struct vg_instance *in, const void *conf)
{
    const struct slack_conf *c = conf;

    if (vg_http_url_check(in, "webhook_url", c->webhook_url) < 0)
        return -EINVAL;
    if (c->group_wait < 0 || c->min_interval < 0) {
        vg_log(in, VG_LOG_ERROR, "options 'group_wait' and 'min_interval' "
               "must not be negative");
        return -EINVAL;
    }
    return 0;
}

static int
slack_init(struct vg_instance *in, void *conf)
{
    const struct slack_conf *c = conf;
    struct slack_state *st = NULL;
    struct vg_http_opts o = { 0 };
    int rc = -EINVAL;

    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))))
        goto fail;
    st->conf = c;
    st->in = in;
    vg_http_opts_conn(&o, &c->conn);
    if (!(st->http = vg_http_new_to(in, &o, c->webhook_url))) {
        rc = -EIO;
        goto fail;
    }
    st->timer = vg_timer_new(in, on_timer, st);
    vg_instance_set_data(in, st);
    return 0;
fail:
    slack_state_free(st);
    return rc;
}

static void
slack_destroy(struct vg_instance *in)
{
    slack_state_free(vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_OUTPUT,
    .name = "slack",
    .summary = "post grouped alert notifications to a Slack webhook",
    .options = slack_options,
    .conf_size = sizeof(struct slack_conf),
    .check = slack_check,
    .init = slack_init,
    .flush = slack_flush,
    .destroy = slack_destroy,
};
