/*
 * Status API and self metrics.  One table of metric families feeds both
 * the Prometheus text of /metrics and the metric events of the self input,
 * so the two cannot disagree.  Everything is computed on request from the
 * engine's counters; nothing here is on the event path.
 */
#include "vigil_config.h"

#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include "batch.h"
#include "engine.h"
#include "firing.h"
#include "http_server.h"
#include "instance.h"
#include "json.h"
#include "log.h"
#include "output_queue.h"
#include "status.h"
#include "status_page.h"
#include "tls_server.h"
#include "util.h"

#define HISTORY_POINTS   90             /* 15 minutes ...    */
#define HISTORY_STEP     10.0           /* ... of 10 s steps */
#define HISTORY_PIPES    64

struct history {
    char     *pipeline;
    uint64_t  last_total;               /* events into the pipeline */
    int       primed;
    float     rate[HISTORY_POINTS];     /* events/s, oldest first */
};

struct vg_status {
    struct vg_engine      *eng;
    struct ev_loop        *loop;
    struct vg_http_server *srv;
    char                  *listen;
    char                  *token;
    ev_timer               tick;
    struct history         hist[HISTORY_PIPES];
    size_t                 nhist;
};

/* ---- metric families ------------------------------------------------- */

struct label {
    const char *key;
    const char *value;
};

/* Where samples go: Prometheus text, or metric events. */
struct sink {
    void (*family)(struct sink *s, const char *name, const char *type,
                   const char *help);
    void (*sample)(struct sink *s, const char *name, const struct label *l,
                   int nl, double v);
    struct vg_buf   *out;               /* text */
    struct vg_batch *batch;             /* events */
    int64_t          now;
    const char      *type;
};

static void
prom_escape(struct vg_buf *b, const char *s)
{
    for (; *s; s++) {
        if (*s == '\\' || *s == '"')
            vg_buf_addch(b, '\\');
        if (*s == '\n') {
            vg_buf_addstr(b, "\\n");
            continue;
        }
        vg_buf_addch(b, *s);
    }
}

static void
prom_number(struct vg_buf *b, double v)
{
    if (isnan(v))
        vg_buf_addstr(b, "NaN");
    else if (isinf(v))
        vg_buf_addstr(b, v > 0 ? "+Inf" : "-Inf");
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        vg_buf_addf(b, "%lld", (long long)v);
    else
        vg_json_double(b, v);          /* shortest form that round-trips */
}

static void
prom_family(struct sink *s, const char *name, const char *type,
            const char *help)
{
    vg_buf_addf(s->out, "# HELP %s %s\n# TYPE %s %s\n", name, help, name,
                type);
}

static void
prom_sample(struct sink *s, const char *name, const struct label *l, int nl,
            double v)
{
    int i;

    vg_buf_addstr(s->out, name);
    if (nl) {
        vg_buf_addch(s->out, '{');
        for (i = 0; i < nl; i++) {
            vg_buf_addf(s->out, "%s%s=\"", i ? "," : "", l[i].key);
            prom_escape(s->out, l[i].value);
            vg_buf_addch(s->out, '"');
        }
        vg_buf_addch(s->out, '}');
    }
    vg_buf_addch(s->out, ' ');
    prom_number(s->out, v);
    vg_buf_addch(s->out, '\n');
}

static void
event_family(struct sink *s, const char *name, const char *type,
             const char *help)
{
    (void)name;
    (void)help;
    s->type = type;
}

/* vigil_events_in_total -> vigil.events_in; histogram parts are left to
 * the Prometheus side (the page and PostgreSQL want sums and counts). */
static void
event_sample(struct sink *s, const char *name, const struct label *l, int nl,
             double v)
{
    struct vg_kv kv[8];
    struct vg_event ev;
    char metric[128], *p;
    size_t n;
    int i;

    if (strstr(name, "_bucket"))
        return;
    snprintf(metric, sizeof(metric), "%s", name);
    n = strlen(metric);
    if (n > 6 && strcmp(metric + n - 6, "_total") == 0)
        metric[n - 6] = '\0';
    p = strchr(metric, '_');
    if (p)
        *p = '.';
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = s->now;
    ev.name = metric;
    ev.metric_type = strcmp(s->type, "counter") == 0 && !strstr(name, "_sum")
        ? VG_METRIC_COUNTER : VG_METRIC_GAUGE;
    ev.value = v;
    for (i = 0; i < nl && i < 8; i++)
        kv[i] = vg_kv_str(l[i].key, l[i].value);
    ev.labels = kv;
    ev.nlabels = (uint32_t)i;
    vg_batch_add_raw(s->batch, &ev);
}

typedef void (*instance_fn)(struct sink *s, const struct vg_instance *in,
                            const struct label *l, int nl);

static void
each_instance(const struct vg_engine *eng, struct sink *s, instance_fn fn)
{
    size_t p, i, n = vg_engine_npipelines(eng);

    for (p = 0; p < n; p++) {
        const struct vg_pipeline *pl = vg_engine_pipeline(eng, p);
        struct vg_instance **lists[3] = { pl->inputs, pl->filters,
                                          pl->outputs };
        size_t counts[3] = { pl->ninputs, pl->nfilters, pl->noutputs };
        int k;

        for (k = 0; k < 3; k++) {
            for (i = 0; i < counts[k]; i++) {
                const struct vg_instance *in = lists[k][i];
                struct label l[4] = {
                    { "pipeline", pl->name }, { "instance", in->name },
                    { "plugin", in->plugin->name },
                    { "kind", vg_kind_name(in->kind) },
                };

                fn(s, in, l, 4);
            }
        }
    }
}

static void
f_events_in(struct sink *s, const struct vg_instance *in,
            const struct label *l, int nl)
{
    if (in->kind != VG_KIND_INPUT)
        s->sample(s, "vigil_events_in_total", l, nl, (double)in->events_in);
}

static void
f_events_out(struct sink *s, const struct vg_instance *in,
             const struct label *l, int nl)
{
    s->sample(s, "vigil_events_out_total", l, nl, (double)in->events_out);
}

/* Counters named "dropped_REASON" become one family with a reason label;
 * "retries" and "dead_lettered" have their own; the rest are the plugin's
 * own counters. */
static void
each_counter(struct sink *s, const struct vg_instance *in,
             const struct label *l, int nl, const char *family,
             const char *prefix, const char *exact, int others)
{
    const struct vg_counter *c;
    struct label ll[6];
    int i;

    for (i = 0; i < nl; i++)
        ll[i] = l[i];
    for (c = in->counters; c; c = c->next) {
        int is_dropped = strncmp(c->name, "dropped_", 8) == 0;
        int is_known = is_dropped || strcmp(c->name, "retries") == 0 ||
                       strcmp(c->name, "dead_lettered") == 0;

        if (prefix && strncmp(c->name, prefix, strlen(prefix)) == 0) {
            ll[nl] = (struct label){ "reason", c->name + strlen(prefix) };
            s->sample(s, family, ll, nl + 1, (double)c->value);
        } else if (exact && strcmp(c->name, exact) == 0) {
            s->sample(s, family, l, nl, (double)c->value);
        } else if (others && !is_known) {
            ll[nl] = (struct label){ "counter", c->name };
            s->sample(s, family, ll, nl + 1, (double)c->value);
        }
    }
}

static void
f_dropped(struct sink *s, const struct vg_instance *in, const struct label *l,
          int nl)
{
    each_counter(s, in, l, nl, "vigil_dropped_events_total", "dropped_",
                 NULL, 0);
}

static void
f_retries(struct sink *s, const struct vg_instance *in, const struct label *l,
          int nl)
{
    if (in->kind == VG_KIND_OUTPUT)
        each_counter(s, in, l, nl, "vigil_retries_total", NULL, "retries", 0);
}

static void
f_dead(struct sink *s, const struct vg_instance *in, const struct label *l,
       int nl)
{
    if (in->kind == VG_KIND_OUTPUT)
        each_counter(s, in, l, nl, "vigil_dead_lettered_events_total", NULL,
                     "dead_lettered", 0);
}

static void
f_plugin(struct sink *s, const struct vg_instance *in, const struct label *l,
         int nl)
{
    each_counter(s, in, l, nl, "vigil_plugin_counter_total", NULL, NULL, 1);
}

enum queue_figure { Q_BATCHES, Q_BYTES, Q_DISK, Q_OLDEST, Q_FAILING };

static void
queue_sample(struct sink *s, const struct vg_instance *in,
             const struct label *l, int nl, const char *metric,
             enum queue_figure which)
{
    struct vg_oq_stats st;
    double v = 0;

    if (in->kind != VG_KIND_OUTPUT || !in->oq)
        return;
    vg_oq_stats(in->oq, &st);
    switch (which) {
    case Q_BATCHES: v = (double)st.batches; break;
    case Q_BYTES:   v = (double)st.bytes; break;
    case Q_DISK:    v = (double)st.disk_bytes; break;
    case Q_OLDEST:  v = (double)st.oldest_age / 1e9; break;
    case Q_FAILING: v = (double)st.failing_for / 1e9; break;
    }
    s->sample(s, metric, l, nl, v);
}

static void
f_queue(struct sink *s, const struct vg_instance *in, const struct label *l,
        int nl)
{
    queue_sample(s, in, l, nl, "vigil_queue_batches", Q_BATCHES);
}

static void
f_queue_bytes(struct sink *s, const struct vg_instance *in,
              const struct label *l, int nl)
{
    queue_sample(s, in, l, nl, "vigil_queue_bytes", Q_BYTES);
}

static void
f_disk_bytes(struct sink *s, const struct vg_instance *in,
             const struct label *l, int nl)
{
    queue_sample(s, in, l, nl, "vigil_disk_buffer_bytes", Q_DISK);
}

static void
f_oldest(struct sink *s, const struct vg_instance *in, const struct label *l,
         int nl)
{
    queue_sample(s, in, l, nl, "vigil_oldest_undelivered_seconds", Q_OLDEST);
}

static void
f_failing(struct sink *s, const struct vg_instance *in,
          const struct label *l, int nl)
{
    queue_sample(s, in, l, nl, "vigil_output_failing_seconds", Q_FAILING);
}

static void
f_last_error(struct sink *s, const struct vg_instance *in,
             const struct label *l, int nl)
{
    int64_t at = in->last_error_at;
    struct vg_oq_stats st;

    if (in->kind == VG_KIND_OUTPUT && in->oq) {
        vg_oq_stats(in->oq, &st);
        if (st.last_error_at > at)
            at = st.last_error_at;
    }
    if (at)
        s->sample(s, "vigil_last_error_timestamp_seconds", l, nl,
                  (double)at / 1e9);
}

static void
f_latency(struct sink *s, const struct vg_instance *in,
          const struct label *l, int nl)
{
    struct vg_oq_stats st;
    struct label ll[6];
    char le[32];
    uint64_t cum = 0;
    int i;

    if (in->kind != VG_KIND_OUTPUT || !in->oq)
        return;
    vg_oq_stats(in->oq, &st);
    for (i = 0; i < nl; i++)
        ll[i] = l[i];
    for (i = 0; i < VG_OQ_LATENCY_BUCKETS; i++) {
        cum += st.latency_counts[i];
        if (i < VG_OQ_LATENCY_BUCKETS - 1)
            snprintf(le, sizeof(le), "%g", vg_oq_latency_bounds[i]);
        else
            snprintf(le, sizeof(le), "+Inf");
        ll[nl] = (struct label){ "le", le };
        s->sample(s, "vigil_flush_duration_seconds_bucket", ll, nl + 1,
                  (double)cum);
    }
    s->sample(s, "vigil_flush_duration_seconds_sum", l, nl, st.latency_sum);
    s->sample(s, "vigil_flush_duration_seconds_count", l, nl,
              (double)st.latency_count);
}

static void
f_paused(struct sink *s, const struct vg_instance *in, const struct label *l,
         int nl)
{
    if (in->kind == VG_KIND_INPUT)
        s->sample(s, "vigil_input_paused", l, nl, in->paused);
}

static const struct {
    const char  *name;
    const char  *type;
    const char  *help;
    instance_fn  fn;
} families[] = {
    { "vigil_events_in_total", "counter",
      "events that entered a filter or output", f_events_in },
    { "vigil_events_out_total", "counter",
      "events an input or filter passed on, or an output delivered",
      f_events_out },
    { "vigil_dropped_events_total", "counter",
      "events dropped, by reason", f_dropped },
    { "vigil_retries_total", "counter", "flushes retried", f_retries },
    { "vigil_dead_lettered_events_total", "counter",
      "events written to the dead-letter file", f_dead },
    { "vigil_plugin_counter_total", "counter",
      "counters a plugin keeps of its own", f_plugin },
    { "vigil_queue_batches", "gauge", "batches waiting in an output queue",
      f_queue },
    { "vigil_queue_bytes", "gauge", "bytes of batches held in memory",
      f_queue_bytes },
    { "vigil_disk_buffer_bytes", "gauge", "bytes in the disk buffer",
      f_disk_bytes },
    { "vigil_oldest_undelivered_seconds", "gauge",
      "age of the oldest batch an output has not delivered", f_oldest },
    { "vigil_output_failing_seconds", "gauge",
      "how long an output has been failing (0: it is not)", f_failing },
    { "vigil_last_error_timestamp_seconds", "gauge",
      "when an instance last reported an error", f_last_error },
    { "vigil_flush_duration_seconds", "histogram",
      "time from a flush to its successful end", f_latency },
    { "vigil_input_paused", "gauge",
      "1 while backpressure holds an input", f_paused },
};

static void
process_metrics(const struct vg_engine *eng, struct sink *s)
{
    struct vg_engine_info info;
    struct rusage ru;
    struct label l[2];
    long pages = 0, resident = 0;
    FILE *f = fopen("/proc/self/statm", "r");
    DIR *d = opendir("/proc/self/fd");
    struct dirent *e;
    int fds = 0;

    vg_engine_get_info(eng, &info);
    getrusage(RUSAGE_SELF, &ru);
    s->family(s, "vigil_process_cpu_seconds_total", "counter",
              "user and system CPU time of the agent");
    s->sample(s, "vigil_process_cpu_seconds_total", NULL, 0,
              (double)ru.ru_utime.tv_sec + (double)ru.ru_utime.tv_usec / 1e6 +
              (double)ru.ru_stime.tv_sec + (double)ru.ru_stime.tv_usec / 1e6);
    if (f) {
        if (fscanf(f, "%ld %ld", &pages, &resident) != 2)
            resident = 0;
        fclose(f);
    }
    s->family(s, "vigil_process_resident_memory_bytes", "gauge",
              "resident set size of the agent");
    s->sample(s, "vigil_process_resident_memory_bytes", NULL, 0,
              (double)resident * (double)sysconf(_SC_PAGESIZE));
    if (d) {
        while ((e = readdir(d)))
            fds += e->d_name[0] != '.';
        closedir(d);
    }
    s->family(s, "vigil_process_open_fds", "gauge", "open file descriptors");
    s->sample(s, "vigil_process_open_fds", NULL, 0, fds);
    s->family(s, "vigil_uptime_seconds", "gauge", "time since the start");
    s->sample(s, "vigil_uptime_seconds", NULL, 0, (double)info.uptime / 1e9);
    s->family(s, "vigil_build_info", "gauge", "version of the agent");
    l[0] = (struct label){ "version", PACKAGE_VERSION };
    l[1] = (struct label){ "abi", VG_STR(VG_PLUGIN_ABI) };
    s->sample(s, "vigil_build_info", l, 2, 1);
    s->family(s, "vigil_config_reloads_total", "counter",
              "config reloads, by result");
    l[0] = (struct label){ "result", "ok" };
    s->sample(s, "vigil_config_reloads_total", l, 1, info.reloads);
    l[0] = (struct label){ "result", "failed" };
    s->sample(s, "vigil_config_reloads_total", l, 1, info.reload_failures);
    if (info.last_reload_ok >= 0) {
        s->family(s, "vigil_config_last_reload_success", "gauge",
                  "1 when the last reload succeeded");
        s->sample(s, "vigil_config_last_reload_success", NULL, 0,
                  info.last_reload_ok);
    }
    s->family(s, "vigil_alerts_firing", "gauge", "alerts firing now");
    s->sample(s, "vigil_alerts_firing", NULL, 0, (double)info.firing->n);
}

static void
all_metrics(const struct vg_engine *eng, struct sink *s)
{
    size_t i;

    for (i = 0; i < VG_ARRAY_LEN(families); i++) {
        s->family(s, families[i].name, families[i].type, families[i].help);
        each_instance(eng, s, families[i].fn);
    }
    process_metrics(eng, s);
}

void
vg_status_self_metrics(const struct vg_engine *eng, struct vg_batch *b,
                       int64_t now)
{
    struct sink s = { .family = event_family, .sample = event_sample,
                      .batch = b, .now = now, .type = "gauge" };

    all_metrics(eng, &s);
}

/* ---- JSON ------------------------------------------------------------ */

static void
json_str(struct vg_buf *b, const char *s)
{
    vg_json_string(b, s ? s : "", s ? strlen(s) : 0);
}

static void
json_time(struct vg_buf *b, int64_t ns)
{
    char t[48];

    if (!ns) {
        vg_buf_addstr(b, "null");
        return;
    }
    vg_format_time(ns, t, sizeof(t));
    vg_buf_addf(b, "\"%s\"", t);
}

static const char *
instance_state(const struct vg_instance *in, int64_t max_failing)
{
    struct vg_oq_stats st;

    if (in->kind == VG_KIND_INPUT && in->done)
        return "done";
    if (in->stopped)
        return "stopped";
    if (in->paused)
        return "paused";
    if (in->kind == VG_KIND_OUTPUT && in->oq) {
        vg_oq_stats(in->oq, &st);
        if (st.failing_for > max_failing)
            return "failing";
        if (st.failing_for > 0)
            return "retrying";
    }
    return "running";
}

static void
json_instance(struct vg_buf *b, const struct vg_instance *in,
              int64_t max_failing)
{
    const struct vg_counter *c;
    const char *err = in->last_error;
    int64_t err_at = in->last_error_at;
    struct vg_oq_stats st;
    int first = 1;

    vg_buf_addstr(b, "{\"name\":");
    json_str(b, in->name);
    vg_buf_addstr(b, ",\"plugin\":");
    json_str(b, in->plugin->name);
    vg_buf_addf(b, ",\"kind\":\"%s\",\"state\":\"%s\",\"events_in\":%llu,"
                "\"events_out\":%llu,\"counters\":{", vg_kind_name(in->kind),
                instance_state(in, max_failing),
                (unsigned long long)in->events_in,
                (unsigned long long)in->events_out);
    for (c = in->counters; c; c = c->next) {
        vg_buf_addstr(b, first ? "" : ",");
        json_str(b, c->name);
        vg_buf_addf(b, ":%lld", (long long)c->value);
        first = 0;
    }
    vg_buf_addch(b, '}');
    if (in->kind == VG_KIND_OUTPUT && in->oq) {
        vg_oq_stats(in->oq, &st);
        vg_buf_addf(b, ",\"queue\":{\"batches\":%zu,\"bytes\":%zu,"
                    "\"max_bytes\":%lld,\"disk_bytes\":%llu,"
                    "\"oldest_age_seconds\":%.3f,\"failing_seconds\":%.3f}",
                    st.batches, st.bytes, (long long)vg_oq_max_memory(in->oq),
                    (unsigned long long)st.disk_bytes,
                    (double)st.oldest_age / 1e9, (double)st.failing_for / 1e9);
        if (st.last_error_at > err_at) {
            err = st.last_error;
            err_at = st.last_error_at;
        }
    }
    vg_buf_addstr(b, ",\"last_error\":");
    if (err_at) {
        vg_buf_addstr(b, "{\"message\":");
        json_str(b, err);
        vg_buf_addstr(b, ",\"at\":");
        json_time(b, err_at);
        vg_buf_addch(b, '}');
    } else {
        vg_buf_addstr(b, "null");
    }
    vg_buf_addch(b, '}');
}

static void
json_stage(struct vg_buf *b, const char *key, struct vg_instance **list,
           size_t n, int64_t max_failing)
{
    size_t i;

    vg_buf_addf(b, "\"%s\":[", key);
    for (i = 0; i < n; i++) {
        if (i)
            vg_buf_addch(b, ',');
        json_instance(b, list[i], max_failing);
    }
    vg_buf_addch(b, ']');
}

static const struct history *
history_of(const struct vg_status *st, const char *pipeline)
{
    size_t i;

    for (i = 0; i < st->nhist; i++)
        if (strcmp(st->hist[i].pipeline, pipeline) == 0)
            return &st->hist[i];
    return NULL;
}

static void
api_status(struct vg_status *st, struct vg_buf *b)
{
    const struct vg_engine *eng = st->eng;
    struct vg_engine_info info;
    size_t p, i, n = vg_engine_npipelines(eng);

    vg_engine_get_info(eng, &info);
    vg_buf_addstr(b, "{\"version\":\"" PACKAGE_VERSION "\",\"hostname\":");
    json_str(b, info.hostname);
    vg_buf_addstr(b, ",\"config\":{\"path\":");
    json_str(b, info.config);
    vg_buf_addf(b, ",\"hash\":\"%016llx\"},\"started\":",
                (unsigned long long)info.config_hash);
    json_time(b, info.started);
    vg_buf_addf(b, ",\"uptime_seconds\":%.3f,\"reloads\":%u,"
                "\"reload_failures\":%u,\"last_reload\":",
                (double)info.uptime / 1e9, info.reloads,
                info.reload_failures);
    if (info.last_reload_ok < 0) {
        vg_buf_addstr(b, "null");
    } else {
        vg_buf_addf(b, "{\"ok\":%s,\"at\":",
                    info.last_reload_ok ? "true" : "false");
        json_time(b, info.last_reload_at);
        vg_buf_addch(b, '}');
    }
    vg_buf_addf(b, ",\"alerts_firing\":%zu,\"history_step_seconds\":%g,"
                "\"pipelines\":[", info.firing->n, HISTORY_STEP);
    for (p = 0; p < n; p++) {
        const struct vg_pipeline *pl = vg_engine_pipeline(eng, p);
        const struct history *h = history_of(st, pl->name);

        vg_buf_addstr(b, p ? ",{\"name\":" : "{\"name\":");
        json_str(b, pl->name);
        vg_buf_addch(b, ',');
        json_stage(b, "inputs", pl->inputs, pl->ninputs, info.max_failing);
        vg_buf_addch(b, ',');
        json_stage(b, "filters", pl->filters, pl->nfilters,
                   info.max_failing);
        vg_buf_addch(b, ',');
        json_stage(b, "outputs", pl->outputs, pl->noutputs,
                   info.max_failing);
        vg_buf_addstr(b, ",\"history\":[");
        for (i = 0; i < HISTORY_POINTS; i++)
            vg_buf_addf(b, "%s%.1f", i ? "," : "", h ? h->rate[i] : 0.f);
        vg_buf_addstr(b, "]}");
    }
    vg_buf_addstr(b, "]}\n");
}

static const char *const alert_sev[] = { "", "info", "warning", "error",
                                         "critical" };

static void
api_alerts(struct vg_status *st, struct vg_buf *b)
{
    struct vg_engine_info info;
    int64_t now = vg_wall_ns();
    size_t i;

    vg_engine_get_info(st->eng, &info);
    vg_buf_addstr(b, "{\"alerts\":[");
    for (i = 0; i < info.firing->n; i++) {
        const struct vg_firing_alert *a = &info.firing->v[i];

        vg_buf_addf(b, "%s{\"fingerprint\":\"%016llx\",\"rule\":",
                    i ? "," : "", (unsigned long long)a->fingerprint);
        json_str(b, a->rule);
        vg_buf_addf(b, ",\"severity\":\"%s\",\"summary\":",
                    a->severity >= 1 && a->severity <= 4
                    ? alert_sev[a->severity] : "unknown");
        json_str(b, a->summary);
        vg_buf_addstr(b, ",\"pipeline\":");
        json_str(b, a->pipeline);
        vg_buf_addf(b, ",\"labels\":%s,\"value\":", a->labels_json);
        vg_json_double(b, a->value);
        vg_buf_addstr(b, ",\"starts_at\":");
        json_time(b, a->starts_at);
        vg_buf_addf(b, ",\"age_seconds\":%.0f}",
                    (double)(now - a->starts_at) / 1e9);
    }
    vg_buf_addstr(b, "]}\n");
}

/* 200 while every pipeline runs and no output has failed for longer than
 * health.max_failing; 503 with the reasons otherwise. */
static int
api_health(struct vg_status *st, struct vg_buf *b)
{
    const struct vg_engine *eng = st->eng;
    struct vg_engine_info info;
    size_t p, i, n = vg_engine_npipelines(eng), bad = 0;

    vg_engine_get_info(eng, &info);
    vg_buf_addstr(b, "{\"problems\":[");
    if (info.shutting_down || !n) {
        vg_buf_addstr(b, "{\"reason\":\"the agent is stopping\"}");
        bad++;
    }
    for (p = 0; p < n; p++) {
        const struct vg_pipeline *pl = vg_engine_pipeline(eng, p);

        for (i = 0; i < pl->noutputs; i++) {
            const struct vg_instance *out = pl->outputs[i];
            struct vg_oq_stats qs;

            if (!out->oq)
                continue;
            vg_oq_stats(out->oq, &qs);
            if (qs.failing_for <= info.max_failing)
                continue;
            vg_buf_addstr(b, bad++ ? ",{\"pipeline\":" : "{\"pipeline\":");
            json_str(b, pl->name);
            vg_buf_addstr(b, ",\"output\":");
            json_str(b, out->name);
            vg_buf_addf(b, ",\"failing_seconds\":%.0f,\"reason\":",
                        (double)qs.failing_for / 1e9);
            json_str(b, qs.last_error);
            vg_buf_addch(b, '}');
        }
    }
    vg_buf_addf(b, "],\"status\":\"%s\"}\n", bad ? "failing" : "ok");
    return bad ? 503 : 200;
}

static void
api_reload(struct vg_status *st, struct vg_http_response *r)
{
    struct vg_errors err;
    size_t i;
    int rc;

    vg_errors_init(&err);
    rc = vg_engine_reload(st->eng, &err);
    r->status = rc == 0 ? 200 : rc == -ECANCELED ? 503 : 400;
    vg_buf_addf(&r->body, "{\"ok\":%s,\"errors\":[", rc == 0 ? "true"
                                                             : "false");
    for (i = 0; i < err.n; i++) {
        if (i)
            vg_buf_addch(&r->body, ',');
        json_str(&r->body, err.msgs[i]);
    }
    if (rc == -ECANCELED)
        json_str(&r->body, "the agent is stopping");
    vg_buf_addstr(&r->body, "]}\n");
    vg_errors_release(&err);
}

/* ---- the server ------------------------------------------------------ */

/* Compares without an early exit, so timing tells nothing of the token. */
static int
token_ok(const char *want, const char *auth)
{
    size_t lw = strlen(want), la, i;
    unsigned diff = 0;

    if (!auth || strncmp(auth, "Bearer ", 7) != 0)
        return 0;
    auth += 7;
    la = strlen(auth);
    diff = la != lw;
    for (i = 0; i < la && i < lw; i++)
        diff |= (unsigned)(auth[i] ^ want[i]);
    return diff == 0;
}

static int
is_get(const struct vg_http_request *req)
{
    return strcmp(req->method, "GET") == 0 ||
           strcmp(req->method, "HEAD") == 0;
}

static void
handle(void *arg, const struct vg_http_request *req,
       struct vg_http_response *r)
{
    struct vg_status *st = arg;
    const char *json = "application/json";

    r->status = 200;
    /* /health is for probes; / is the page, which holds no data and asks
     * for the token itself (a browser cannot send it on a page load). */
    if (strcmp(req->path, "/health") != 0 && strcmp(req->path, "/") != 0 &&
        st->token && *st->token &&
        !token_ok(st->token, req->authorization)) {
        r->status = 401;
        vg_buf_addstr(&r->body, "{\"error\":\"a bearer token is required\"}\n");
        r->content_type = json;
        return;
    }
    if (strcmp(req->path, "/api/v1/reload") == 0) {
        r->content_type = json;
        if (strcmp(req->method, "POST") != 0) {
            r->status = 405;
            r->allow = "POST";
            vg_buf_addstr(&r->body, "{\"error\":\"use POST\"}\n");
            return;
        }
        api_reload(st, r);
        return;
    }
    if (strcmp(req->path, "/") != 0 && strcmp(req->path, "/metrics") != 0 &&
        strcmp(req->path, "/health") != 0 &&
        strcmp(req->path, "/api/v1/status") != 0 &&
        strcmp(req->path, "/api/v1/alerts") != 0) {
        r->status = 404;
        vg_buf_addstr(&r->body, "not found\n");
        return;
    }
    if (!is_get(req)) {
        r->status = 405;
        r->allow = "GET, HEAD";
        vg_buf_addstr(&r->body, "method not allowed\n");
        return;
    }
    if (strcmp(req->path, "/metrics") == 0) {
        struct sink s = { .family = prom_family, .sample = prom_sample,
                          .out = &r->body };

        r->content_type = "text/plain; version=0.0.4; charset=utf-8";
        all_metrics(st->eng, &s);
    } else if (strcmp(req->path, "/health") == 0) {
        r->content_type = json;
        r->status = api_health(st, &r->body);
    } else if (strcmp(req->path, "/api/v1/status") == 0) {
        r->content_type = json;
        api_status(st, &r->body);
    } else if (strcmp(req->path, "/api/v1/alerts") == 0) {
        r->content_type = json;
        api_alerts(st, &r->body);
    } else {
        r->content_type = "text/html; charset=utf-8";
        vg_buf_add(&r->body, vg_status_page, vg_status_page_len);
    }
}

/* Every 10 s: events into each pipeline per second, for the charts.
 * The first call, at start, only notes the totals. */
static void
sample_history(struct vg_status *st, int push)
{
    size_t p, i, n = vg_engine_npipelines(st->eng);

    for (p = 0; p < n; p++) {
        const struct vg_pipeline *pl = vg_engine_pipeline(st->eng, p);
        struct history *h = (struct history *)history_of(st, pl->name);
        uint64_t total = 0;

        for (i = 0; i < pl->ninputs; i++)
            total += pl->inputs[i]->events_out;
        if (!h) {
            if (st->nhist == HISTORY_PIPES)
                continue;
            h = &st->hist[st->nhist++];
            memset(h, 0, sizeof(*h));
            h->pipeline = vg_xstrdup(pl->name);
        }
        if (push) {
            memmove(h->rate, h->rate + 1,
                    sizeof(h->rate) - sizeof(h->rate[0]));
            /* A reload starts the counters again: no negative rates. */
            h->rate[HISTORY_POINTS - 1] = h->primed && total >= h->last_total
                ? (float)((double)(total - h->last_total) / HISTORY_STEP)
                : 0.f;
        }
        h->last_total = total;
        h->primed = 1;
    }
}

static void
on_tick(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)revents;
    sample_history(w->data, 1);
}

int
vg_status_apply(struct vg_status **stp, struct vg_engine *eng,
                struct ev_loop *loop, const char *listen, const char *token,
                const char *cert_file, const char *key_file, char *why,
                size_t whylen)
{
    struct vg_status *st = *stp;
    struct vg_http_server *srv = NULL;
    const struct vg_tls_ops *ops = NULL;
    struct vg_tls_ctx *tls = NULL;
    int rc;

    if (listen && cert_file && key_file) {
        if (!(ops = vg_tls_load(why, whylen)))
            return -ENOENT;
        if ((rc = ops->ctx_new(&tls, cert_file, key_file, why, whylen)) < 0)
            return rc;
    }
    if (!listen) {
        vg_status_free(st);
        *stp = NULL;
        return 0;
    }
    if (!st) {
        st = vg_xcalloc(1, sizeof(*st));
        st->eng = eng;
        st->loop = loop;
        ev_timer_init(&st->tick, on_tick, HISTORY_STEP, HISTORY_STEP);
        st->tick.data = st;
        ev_timer_start(loop, &st->tick);
        sample_history(st, 0);
        *stp = st;
    }
    if (!st->listen || strcmp(st->listen, listen) != 0) {
        rc = vg_http_server_start(&srv, loop, listen, handle, st, why,
                                  whylen);
        if (rc < 0) {
            if (tls)
                ops->ctx_free(tls);
            if (!st->srv) {
                vg_status_free(st);
                *stp = NULL;
            }
            return rc;
        }
        vg_http_server_stop(st->srv);
        st->srv = srv;
        free(st->listen);
        st->listen = vg_xstrdup(listen);
        vg_core_log(VG_LOG_INFO, "status server on %s://%s/",
                    tls ? "https" : "http", listen);
    }
    vg_http_server_set_tls(st->srv, ops, tls);
    free(st->token);
    st->token = token ? vg_xstrdup(token) : NULL;
    return 0;
}

void
vg_status_free(struct vg_status *st)
{
    size_t i;

    if (!st)
        return;
    ev_timer_stop(st->loop, &st->tick);
    vg_http_server_stop(st->srv);
    for (i = 0; i < st->nhist; i++)
        free(st->hist[i].pipeline);
    free(st->listen);
    free(st->token);
    free(st);
}
