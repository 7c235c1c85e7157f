/*
 * input prometheus: scrapes Prometheus text (0.0.4) and OpenMetrics pages
 * every `interval`, all targets at once through the shared HTTP client.
 * A page is parsed as its bytes arrive (prom_parse.c), never held whole,
 * into batches emitted every BATCH_EVENTS events; every scrape, good or
 * not, also yields up, scrape_duration_seconds and scrape_samples_scraped
 * for its target.  Targets' transfers interleave, so each target has its
 * own parser and batch.  A target still answering when its next scrape
 * is due is not asked again.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <vigil/plugin.h>

#include "http_client.h"
#include "prom_parse.h"

#define BATCH_EVENTS 10000              /* events per emitted batch      */
#define QUOTE_MAX    200                /* bytes of a bad line logged    */
#define COMPLAIN_NS  (10 * VG_SECOND)   /* between repeated warnings     */
#define TARGET_MAX   (PROM_MAX_LABELS + 2)

struct prom_conf {                      /* the core fills this in */
    struct vg_strv          targets;
    int64_t                 interval;   /* ns */
    int64_t                 timeout;    /* ns */
    char                   *job;
    int                     honor_labels;
    struct vg_map           labels;
    int64_t                 max_body_size;  /* bytes */
    int64_t                 max_line_size;  /* bytes */
    struct vg_map           headers;
    struct vg_http_auth_conf auth;
    char                   *proxy;
    struct vg_http_tls_conf tls;
};

struct prom_state;

struct target {
    struct prom_state *st;
    const char        *url;             /* borrowed from the config */
    char               where[128];      /* log-safe: scheme://host[:port] */
    char               instance[128];   /* host[:port] */
    struct vg_kv       labels[TARGET_MAX];  /* instance, job, `labels` */
    uint32_t           nlabels;
    int                busy;            /* a scrape in flight */
    int                up;              /* last outcome; -1 none yet */
    int64_t            started;         /* ns, wall clock */
    /* the scrape in flight */
    struct prom_parser *parser;
    struct vg_batch    *b;
    long                status;         /* HTTP status; 0 before one */
    int                 parsing;        /* a 200 page: begun */
    long                samples;        /* read so far */
    int64_t             received;       /* body bytes so far */
};

struct complaint {
    int64_t  last;                      /* ns of the last one logged */
    uint64_t quiet;                     /* not logged since          */
};

struct prom_state {
    struct vg_instance     *in;
    const struct prom_conf *conf;
    struct vg_http         *http;
    struct target          *targets;
    size_t                  ntargets;
    struct vg_timer        *timer;
    int                     running;
    /* the event being built, for whichever target's piece is read */
    struct vg_kv            kv[PROM_MAX_LABELS + TARGET_MAX];
    char                   *names;      /* exported_ label names */
    size_t                  ncap;
    struct complaint        bad_line;
};

static const struct vg_option auth_options[] = {
    VG_HTTP_AUTH_OPTIONS(struct prom_conf, auth),
    { 0 }
};

static const struct vg_option tls_options[] = {
    VG_HTTP_TLS_OPTIONS(struct prom_conf, tls),
    { 0 }
};

static const struct vg_option prom_options[] = {
    { .name = "targets", .type = VG_OPT_STRLIST, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct prom_conf, targets),
      .help = "URLs to scrape: http(s)://HOST:PORT/metrics" },
    { .name = "interval", .type = VG_OPT_DURATION, .def = "15s",
      .offset = offsetof(struct prom_conf, interval),
      .help = "time between scrapes of a target" },
    { .name = "timeout", .type = VG_OPT_DURATION, .def = "10s",
      .offset = offsetof(struct prom_conf, timeout),
      .help = "a scrape slower than this fails (up 0)" },
    { .name = "job", .type = VG_OPT_STR, .def = "prometheus",
      .offset = offsetof(struct prom_conf, job),
      .help = "value of the label 'job' of every sample" },
    { .name = "honor_labels", .type = VG_OPT_BOOL, .def = "false",
      .offset = offsetof(struct prom_conf, honor_labels),
      .help = "a scraped label wins over a target label of its name "
              "(else it is renamed exported_NAME)" },
    { .name = "labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct prom_conf, labels),
      .help = "labels added to every sample" },
    { .name = "max_body_size", .type = VG_OPT_SIZE, .def = "64MiB",
      .offset = offsetof(struct prom_conf, max_body_size),
      .help = "a larger page fails the scrape (the lines read before "
              "are kept)" },
    { .name = "max_line_size", .type = VG_OPT_SIZE, .def = "1MiB",
      .offset = offsetof(struct prom_conf, max_line_size),
      .help = "a longer line is malformed and skipped" },
    { .name = "headers", .type = VG_OPT_MAP, .flags = VG_OPT_SECRET,
      .offset = offsetof(struct prom_conf, headers),
      .help = "extra request headers" },
    { .name = "auth", .type = VG_OPT_OBJECT, .sub = auth_options,
      .help = "basic (user, password) or bearer_token" },
    { .name = "proxy", .type = VG_OPT_STR,
      .offset = offsetof(struct prom_conf, proxy),
      .help = "proxy URL (default: the *_proxy environment variables)" },
    { .name = "tls", .type = VG_OPT_OBJECT, .sub = tls_options,
      .help = "server verification and client certificate" },
    { 0 }
};

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

static void
add_event(struct target *t, struct vg_event *ev)
{
    struct vg_instance *in = t->st->in;

    if (!t->b)
        t->b = vg_batch_new(in, 64 * 1024);
    if (vg_batch_add(in, t->b, ev) < 0)
        vg_count(in, "dropped", 1);
    if (vg_batch_count(in, t->b) >= BATCH_EVENTS) {
        vg_emit(in, t->b);
        t->b = NULL;
    }
}

static void
emit_pending(struct target *t)
{
    struct vg_instance *in = t->st->in;

    if (!t->b)
        return;
    if (vg_batch_count(in, t->b))
        vg_emit(in, t->b);
    else
        vg_batch_unref(in, t->b);
    t->b = NULL;
}

static int
target_has(const struct target *t, const char *name, uint32_t len)
{
    uint32_t i;

    for (i = 0; i < t->nlabels; i++)
        if (t->labels[i].key_len == len &&
            memcmp(t->labels[i].key, name, len) == 0)
            return 1;
    return 0;
}

/*
 * The scraped labels and the target's into st->kv: a clash renames the
 * scraped label exported_NAME, or with honor_labels drops the target's.
 */
static uint32_t
merge_labels(const struct target *t, const struct prom_label *l, uint32_t n)
{
    struct prom_state *st = t->st;
    size_t need = 0, off = 0;
    uint32_t i, j, k = 0;
    int clash[PROM_MAX_LABELS];

    for (i = 0; i < n; i++) {
        clash[i] = target_has(t, l[i].name, l[i].name_len);
        if (clash[i] && !st->conf->honor_labels)
            need += 9 + l[i].name_len;
    }
    if (need > st->ncap) {
        char *p = realloc(st->names, need);

        if (!p)
            need = 0;                   /* renames are then dropped */
        else {
            st->names = p;
            st->ncap = need;
        }
    }
    for (i = 0; i < n; i++) {
        struct vg_kv *kv = &st->kv[k];

        kv->key = l[i].name;
        kv->key_len = l[i].name_len;
        if (clash[i] && !st->conf->honor_labels) {
            if (need == 0)
                continue;
            memcpy(st->names + off, "exported_", 9);
            memcpy(st->names + off + 9, l[i].name, l[i].name_len);
            kv->key = st->names + off;
            kv->key_len = 9 + l[i].name_len;
            off += kv->key_len;
        }
        kv->type = VG_VAL_STR;
        kv->v.s = l[i].value;
        kv->len = l[i].value_len;
        k++;
    }
    for (j = 0; j < t->nlabels; j++) {
        int won = 0;

        if (st->conf->honor_labels)
            for (i = 0; i < n && !won; i++)
                won = l[i].name_len == t->labels[j].key_len &&
                      memcmp(l[i].name, t->labels[j].key,
                             l[i].name_len) == 0;
        if (!won)
            st->kv[k++] = t->labels[j];
    }
    return k;
}

static void
on_metric(void *arg, const char *name, const struct prom_label *labels,
          uint32_t nlabels, int counter, double value, int64_t ts)
{
    struct target *t = arg;
    struct vg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = ts ? ts : t->started;
    ev.name = name;
    ev.metric_type = counter ? VG_METRIC_COUNTER : VG_METRIC_GAUGE;
    ev.value = value;
    ev.labels = t->st->kv;
    ev.nlabels = merge_labels(t, labels, nlabels);
    add_event(t, &ev);
}

static void
on_histogram(void *arg, const char *name, const struct prom_label *labels,
             uint32_t nlabels, const double *bounds, const uint64_t *counts,
             uint32_t nbuckets, double sum, uint64_t count, int64_t ts)
{
    struct target *t = arg;
    struct vg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = ts ? ts : t->started;
    ev.name = name;
    ev.metric_type = VG_METRIC_HISTOGRAM;
    ev.hist.nbuckets = nbuckets;
    ev.hist.bounds = bounds;
    ev.hist.counts = counts;
    ev.hist.sum = sum;
    ev.hist.count = count;
    ev.labels = t->st->kv;
    ev.nlabels = merge_labels(t, labels, nlabels);
    add_event(t, &ev);
}

static void
on_malformed(void *arg, const char *line, size_t len, const char *why)
{
    struct target *t = arg;
    struct prom_state *st = t->st;
    char quote[QUOTE_MAX + 1];
    int64_t now = vg_now(st->in);
    size_t i, n = len < QUOTE_MAX ? len : QUOTE_MAX;
    uint64_t quiet;

    vg_count(st->in, "malformed", 1);
    if (st->bad_line.last && now - st->bad_line.last < COMPLAIN_NS) {
        st->bad_line.quiet++;
        return;
    }
    quiet = st->bad_line.quiet;
    st->bad_line.quiet = 0;
    st->bad_line.last = now;
    for (i = 0; i < n; i++)
        quote[i] = line[i] >= 0x20 && line[i] < 0x7f ? line[i] : '?';
    quote[n] = '\0';
    vg_log(st->in, VG_LOG_WARN, "malformed line from '%s': '%s%s': %s "
           "(%" PRIu64 " more not logged)", t->where, quote,
           len > n ? "..." : "", why, quiet);
}

static void
add_self(struct target *t, const char *name, double value)
{
    struct vg_event ev;

    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = t->started;
    ev.name = name;
    ev.metric_type = VG_METRIC_GAUGE;
    ev.value = value;
    ev.labels = t->labels;
    ev.nlabels = t->nlabels;
    add_event(t, &ev);
}

/* ------------------------------------------------------------------ */
/* Scrapes                                                             */
/* ------------------------------------------------------------------ */

/*
 * The head of a page: only a 200 is read (an error page is not even
 * received), in the format its Content-Type names.  A page that
 * announces more than max_body_size is refused before any of it is read.
 */
static int
on_head(void *arg, const struct vg_http_head *hd)
{
    struct target *t = arg;
    const struct prom_conf *c = t->st->conf;

    t->status = hd->status;
    if (!t->st->running || hd->status != 200)
        return -ECANCELED;
    if (hd->content_length > c->max_body_size)
        return -EFBIG;
    prom_parser_begin(t->parser,
                      prom_content_type_is_openmetrics(hd->content_type));
    t->parsing = 1;
    return 0;
}

/* A piece of the page: its complete lines become events at once. */
static int
on_body(void *arg, const char *data, size_t len)
{
    struct target *t = arg;
    long n;

    if (!t->st->running)
        return -ECANCELED;
    t->received += (int64_t)len;
    if (t->received > t->st->conf->max_body_size)
        return -EFBIG;
    if ((n = prom_parser_feed(t->parser, data, len)) < 0)
        return (int)n;
    t->samples += n;
    return 0;
}

/* The outcome of a scrape: 1 (up) or 0 with reason[size] set. */
static int
scrape_outcome(struct target *t, const struct vg_http_result *r,
               char *reason, size_t size)
{
    long n;

    if (t->status && t->status != 200) {
        snprintf(reason, size, "HTTP %ld", t->status);
    } else if (r->stream_error == -EFBIG) {
        snprintf(reason, size, "page larger than max_body_size (%" PRId64
                 " bytes)", t->st->conf->max_body_size);
    } else if (r->stream_error < 0) {
        snprintf(reason, size, "%s", strerror(-r->stream_error));
    } else if (r->curl_code != 0) {
        snprintf(reason, size, "%s", r->error);
    } else if (r->status != 200) {
        snprintf(reason, size, "HTTP %ld", r->status);
    } else {
        if (!t->parsing) {              /* an empty page: no body came */
            prom_parser_begin(t->parser, 0);
            t->parsing = 1;
        }
        if ((n = prom_parser_end(t->parser)) >= 0) {
            t->samples += n;
            return 1;
        }
        snprintf(reason, size, "%s", strerror((int)-n));
    }
    /* a cut page: its last line and held histograms are not complete */
    if (t->parsing)
        prom_parser_reset(t->parser);
    return 0;
}

static void
on_response(struct vg_http *h, const struct vg_http_result *r, void *arg)
{
    struct target *t = arg;
    struct prom_state *st = t->st;
    char reason[160] = "";
    int up;

    (void)h;
    t->busy = 0;
    if (!st->running) {
        prom_parser_reset(t->parser);
        if (t->b)
            vg_batch_unref(st->in, t->b);
        t->b = NULL;
        return;
    }
    up = scrape_outcome(t, r, reason, sizeof(reason));
    if (!up && t->up != 0)
        vg_log(st->in, VG_LOG_WARN, "scrape of '%s' failed: %s", t->where,
               reason);
    else if (up && t->up == 0)
        vg_log(st->in, VG_LOG_INFO, "scrape of '%s' works again", t->where);
    t->up = up;
    vg_count(st->in, up ? "scrapes" : "scrape_failures", 1);
    add_self(t, "up", up);
    add_self(t, "scrape_duration_seconds", (double)r->elapsed / 1e9);
    /* a cut page: the samples read before the cut, which were kept */
    add_self(t, "scrape_samples_scraped", (double)t->samples);
    emit_pending(t);
}

static void
on_tick(struct vg_instance *in, void *arg)
{
    struct prom_state *st = arg;
    const struct prom_conf *c = st->conf;
    size_t i, k;

    for (i = 0; i < st->ntargets; i++) {
        struct target *t = &st->targets[i];
        struct vg_http_request *r;
        char tmo[32];
        int bad = 0;

        if (t->busy) {
            vg_count(in, "scrapes_skipped", 1);
            continue;
        }
        if (!(r = vg_http_request_new("GET", t->url)))
            continue;
        snprintf(tmo, sizeof(tmo), "%.3f", (double)c->timeout / 1e9);
        bad |= vg_http_request_header(r, "Accept",
                                      "application/openmetrics-text;"
                                      "version=1.0.0;q=0.75,text/plain;"
                                      "version=0.0.4;q=0.5,*/*;q=0.1") < 0;
        bad |= vg_http_request_header(r, "X-Prometheus-Scrape-Timeout-"
                                      "Seconds", tmo) < 0;
        for (k = 0; k < c->headers.n; k++)
            bad |= vg_http_request_header(r, c->headers.v[k].key,
                                          c->headers.v[k].value) < 0;
        if (bad) {
            vg_http_request_free(r);
            continue;
        }
        vg_http_request_stream(r, on_head, on_body, t);
        t->started = vg_now(in);
        t->status = 0;
        t->parsing = 0;
        t->samples = 0;
        t->received = 0;
        if (vg_http_send(st->http, r, on_response, t) == 0)
            t->busy = 1;
    }
}

/* ------------------------------------------------------------------ */
/* Plugin                                                              */
/* ------------------------------------------------------------------ */

/* instance: the URL's host[:port], without user info. */
static int
target_setup(struct prom_state *st, struct target *t, const char *url)
{
    const struct prom_conf *c = st->conf;
    const char *h, *end, *at;
    size_t i;

    t->st = st;
    t->url = url;
    t->up = -1;
    if (strncmp(url, "http://", 7) != 0 && strncmp(url, "https://", 8) != 0)
        return -EINVAL;
    h = strstr(url, "://") + 3;
    end = h + strcspn(h, "/?#");
    at = memchr(h, '@', (size_t)(end - h));
    if (at)
        h = at + 1;
    if (end == h || (size_t)(end - h) >= sizeof(t->instance))
        return -EINVAL;
    memcpy(t->instance, h, (size_t)(end - h));
    t->instance[end - h] = '\0';
    vg_http_url_redact(url, t->where, sizeof(t->where));
    if (c->labels.n + 2 > TARGET_MAX)
        return -E2BIG;
    t->labels[t->nlabels++] = vg_kv_str("instance", t->instance);
    t->labels[t->nlabels++] = vg_kv_str("job", c->job);
    for (i = 0; i < c->labels.n; i++) {
        const char *k = c->labels.v[i].key;

        /* a configured instance or job replaces the default one */
        if (strcmp(k, "instance") == 0 || strcmp(k, "job") == 0)
            t->labels[strcmp(k, "job") == 0] =
                vg_kv_str(k, c->labels.v[i].value);
        else
            t->labels[t->nlabels++] = vg_kv_str(k, c->labels.v[i].value);
    }
    return 0;
}

static void
prom_state_free(struct prom_state *st)
{
    size_t i;

    if (!st)
        return;
    vg_http_free(st->http);
    if (st->timer)
        vg_timer_free(st->in, st->timer);
    for (i = 0; st->targets && i < st->ntargets; i++) {
        if (st->targets[i].b)
            vg_batch_unref(st->in, st->targets[i].b);
        prom_parser_free(st->targets[i].parser);
    }
    free(st->names);
    free(st->targets);
    free(st);
}

static int
prom_check(struct vg_instance *in, const void *conf)
{
    const struct prom_conf *c = conf;
    struct vg_http_opts o = { 0 };
    size_t i;

    if (c->targets.n == 0) {
        vg_log(in, VG_LOG_ERROR, "option 'targets' must name a URL");
        return -EINVAL;
    }
    if (c->interval < 100 * VG_MILLISECOND || c->timeout <= 0) {
        vg_log(in, VG_LOG_ERROR, "option 'interval' must be >= 100ms and "
               "'timeout' > 0");
        return -EINVAL;
    }
    if (c->max_body_size < 1024 || c->max_body_size > (INT64_C(1) << 32)) {
        vg_log(in, VG_LOG_ERROR, "option 'max_body_size' must be within "
               "1KiB..4GiB");
        return -EINVAL;
    }
    if (c->max_line_size < 1024) {
        vg_log(in, VG_LOG_ERROR, "option 'max_line_size' must be at least "
               "1KiB");
        return -EINVAL;
    }
    if (c->labels.n + 2 > TARGET_MAX) {
        vg_log(in, VG_LOG_ERROR, "option 'labels': too many labels");
        return -EINVAL;
    }
    for (i = 0; i < c->targets.n; i++) {
        const char *url = c->targets.v[i], *host = strstr(url, "://");
        char where[256];

        if ((strncmp(url, "http://", 7) == 0 ||
             strncmp(url, "https://", 8) == 0) && host[3] &&
            !strchr("/?#", host[3]))
            continue;
        vg_http_url_redact(url, where, sizeof(where));
        vg_log(in, VG_LOG_ERROR, "option 'targets': cannot read '%s': want "
               "http(s)://HOST[:PORT]/PATH", where);
        return -EINVAL;
    }
    return vg_http_opts_auth(in, &o, &c->auth) < 0 ? -EINVAL : 0;
}

static int
prom_init(struct vg_instance *in, void *conf)
{
    const struct prom_conf *c = conf;
    struct prom_state *st = NULL;
    struct vg_http_opts o = { 0 };
    struct prom_out out;
    size_t i;
    int rc = -EINVAL;

    if (vg_http_opts_auth(in, &o, &c->auth) < 0)
        goto fail;
    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->targets = calloc(c->targets.n, sizeof(*st->targets))))
        goto fail;
    st->in = in;
    st->conf = c;
    out.arg = NULL;
    out.metric = on_metric;
    out.histogram = on_histogram;
    out.malformed = on_malformed;
    for (i = 0; i < c->targets.n; i++) {
        struct target *t = &st->targets[i];

        st->ntargets++;
        out.arg = t;
        if (!(t->parser = prom_parser_new(&out))) {
            rc = -ENOMEM;
            goto fail;
        }
        /* no line is longer than the page */
        prom_parser_set_max_line(t->parser, (size_t)(c->max_line_size <
            c->max_body_size ? c->max_line_size : c->max_body_size));
        if ((rc = target_setup(st, t, c->targets.v[i])) < 0) {
            /* prom_check saw the scheme; what is left is the host */
            vg_log(in, VG_LOG_ERROR, "option 'targets': target %zu: no "
                   "host, or a host too long", i + 1);
            goto fail;
        }
    }
    rc = -ENOMEM;
    if (!(st->timer = vg_timer_new(in, on_tick, st)))
        goto fail;
    vg_http_opts_tls(&o, &c->tls);
    o.proxy = c->proxy;
    o.timeout = c->timeout;
    /* pages are streamed (on_body): only error texts are kept */
    if (!(st->http = vg_http_new(in, &o))) {
        rc = -EIO;
        goto fail;
    }
    vg_instance_set_data(in, st);
    return 0;
fail:
    prom_state_free(st);
    return rc;
}

static int
prom_start(struct vg_instance *in)
{
    struct prom_state *st = vg_instance_data(in);

    st->running = 1;
    vg_timer_start(in, st->timer, VG_MILLISECOND, st->conf->interval);
    return 0;
}

static void
prom_stop(struct vg_instance *in)
{
    struct prom_state *st = vg_instance_data(in);

    st->running = 0;
    vg_timer_stop(in, st->timer);
}

static void
prom_destroy(struct vg_instance *in)
{
    prom_state_free(vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_INPUT,
    .name = "prometheus",
    .summary = "scrape Prometheus text and OpenMetrics pages",
    .options = prom_options,
    .conf_size = sizeof(struct prom_conf),
    .check = prom_check,
    .init = prom_init,
    .start = prom_start,
    .stop = prom_stop,
    .destroy = prom_destroy,
};
