/*
 * output stdout: events to standard output, one line each, as vigil JSON
 * lines or as readable text.  A batch is formatted whole into a buffer the
 * instance reuses and written with as few write() calls as the pipe takes.
 * When stdout is non-blocking and full, the rest waits for a write watcher:
 * flushes that arrive meanwhile are appended and completed in order, so
 * lines are never split or repeated.
 */
#include <errno.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <vigil/plugin.h>

enum stdout_format {
    FMT_TEXT,
    FMT_JSON,
};

struct stdout_conf {                    /* the core fills this in */
    int format;                         /* enum stdout_format */
};

struct stdout_state {
    const struct stdout_conf *conf;
    int              fd;
    char            *buf;               /* formatted, not yet written */
    size_t           len;
    size_t           cap;
    size_t           off;               /* bytes of buf already written */
    struct vg_io    *io;                /* waits for fd to take more */
    struct vg_flush **waiting;          /* flushes whose bytes are in buf */
    size_t           nwaiting;
    size_t           waiting_cap;
    uint64_t         failures;          /* consecutive failed writes */
};

static const struct vg_option stdout_options[] = {
    { .name = "format", .type = VG_OPT_ENUM, .def = "text",
      .choices = "text|json", .offset = offsetof(struct stdout_conf, format),
      .help = "text: one readable line per event; json: vigil JSON lines" },
    { 0 }
};

/* ---- the buffer -------------------------------------------------------- */

static int
buf_reserve(struct stdout_state *st, size_t extra)
{
    size_t cap = st->cap ? st->cap : 4096;
    char *p;

    if (st->len + extra + 1 <= st->cap)
        return 0;
    while (cap < st->len + extra + 1)
        cap *= 2;
    if (!(p = realloc(st->buf, cap)))
        return -ENOMEM;
    st->buf = p;
    st->cap = cap;
    return 0;
}

static int
buf_add(struct stdout_state *st, const char *s, size_t n)
{
    if (buf_reserve(st, n) < 0)
        return -ENOMEM;
    memcpy(st->buf + st->len, s, n);
    st->len += n;
    return 0;
}

static int
buf_addstr(struct stdout_state *st, const char *s)
{
    return buf_add(st, s, strlen(s));
}

VG_PRINTF(2, 3) static int
buf_addf(struct stdout_state *st, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(st->buf ? st->buf + st->len : NULL,
                  st->buf ? st->cap - st->len : 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return -EINVAL;
    if (!st->buf || (size_t)n >= st->cap - st->len) {
        if (buf_reserve(st, (size_t)n) < 0)
            return -ENOMEM;
        va_start(ap, fmt);
        vsnprintf(st->buf + st->len, st->cap - st->len, fmt, ap);
        va_end(ap);
    }
    st->len += (size_t)n;
    return 0;
}

/* ---- text format ------------------------------------------------------- */

/*
 * Quoted, with \" \\ \n \r \t and \xNN for the other control bytes, so one
 * event stays one line whatever its body holds.
 */
static int
text_string(struct stdout_state *st, const char *s, size_t n)
{
    size_t i;
    int rc = buf_reserve(st, n + 2);

    if (rc == 0)
        rc = buf_add(st, "\"", 1);
    for (i = 0; i < n && rc == 0; i++) {
        unsigned char c = (unsigned char)s[i];

        if (c == '"' || c == '\\')
            rc = buf_addf(st, "\\%c", c);
        else if (c == '\n')
            rc = buf_addstr(st, "\\n");
        else if (c == '\r')
            rc = buf_addstr(st, "\\r");
        else if (c == '\t')
            rc = buf_addstr(st, "\\t");
        else if (c < 0x20 || c == 0x7f)
            rc = buf_addf(st, "\\x%02x", c);
        else
            rc = buf_add(st, s + i, 1);
    }
    return rc ? rc : buf_add(st, "\"", 1);
}

/* The shortest form that reads back as the same double. */
static int
text_double(struct stdout_state *st, double d)
{
    char tmp[32];

    if (isnan(d))
        return buf_addstr(st, "NaN");
    if (isinf(d))
        return buf_addstr(st, d > 0 ? "+Inf" : "-Inf");
    snprintf(tmp, sizeof(tmp), "%.15g", d);
    if (strtod(tmp, NULL) != d)
        snprintf(tmp, sizeof(tmp), "%.17g", d);
    return buf_addstr(st, tmp);
}

static int
text_time(struct stdout_state *st, int64_t ns)
{
    int64_t sec = ns / VG_SECOND;
    int64_t frac = ns % VG_SECOND;
    time_t t;
    struct tm tm;
    char tmp[40];

    if (frac < 0) {                     /* before 1970: floor, not trunc */
        frac += VG_SECOND;
        sec--;
    }
    t = (time_t)sec;
    if (!gmtime_r(&t, &tm))
        return buf_addf(st, "%" PRId64, ns);
    strftime(tmp, sizeof(tmp), "%Y-%m-%dT%H:%M:%S", &tm);
    return buf_addf(st, "%s.%09" PRId64 "Z", tmp, frac);
}

static int
text_kvs(struct stdout_state *st, const struct vg_kv *kv, uint32_t n)
{
    uint32_t i;
    int rc = buf_add(st, "{", 1);

    for (i = 0; i < n && rc == 0; i++) {
        if (i > 0)
            rc = buf_add(st, ",", 1);
        if (rc == 0)
            rc = buf_add(st, kv[i].key, kv[i].key_len);
        if (rc == 0)
            rc = buf_add(st, "=", 1);
        if (rc < 0)
            break;
        switch (kv[i].type) {
        case VG_VAL_STR:
            rc = text_string(st, kv[i].v.s, kv[i].len);
            break;
        case VG_VAL_INT:
            rc = buf_addf(st, "%" PRId64, kv[i].v.i);
            break;
        case VG_VAL_DOUBLE:
            rc = text_double(st, kv[i].v.d);
            break;
        case VG_VAL_BOOL:
            rc = buf_addstr(st, kv[i].v.b ? "true" : "false");
            break;
        default:
            rc = buf_add(st, "?", 1);
            break;
        }
    }
    return rc ? rc : buf_add(st, "}", 1);
}

static const char *
severity_name(uint32_t sev)
{
    static const char *const names[] = {
        "trace", "debug", "info", "warn", "error", "fatal",
    };

    if (sev == 0 || sev > 24)
        return "unset";
    return names[(sev - 1) / 4];
}

static const char *
alert_severity_name(uint32_t sev)
{
    switch (sev) {
    case VG_ALERT_INFO:     return "info";
    case VG_ALERT_WARNING:  return "warning";
    case VG_ALERT_ERROR:    return "error";
    case VG_ALERT_CRITICAL: return "critical";
    default:                return "unknown";
    }
}

static int
text_metric(struct stdout_state *st, const struct vg_event *ev)
{
    int rc = buf_addf(st, " metric %s", ev->name);

    if (rc == 0)
        rc = text_kvs(st, ev->labels, ev->nlabels);
    if (rc < 0)
        return rc;
    if (ev->metric_type == VG_METRIC_HISTOGRAM) {
        rc = buf_addf(st, " count=%" PRIu64 " sum=", ev->hist.count);
        if (rc == 0)
            rc = text_double(st, ev->hist.sum);
    } else {
        rc = buf_add(st, " ", 1);
        if (rc == 0)
            rc = text_double(st, ev->value);
        if (rc == 0 && ev->metric_type == VG_METRIC_COUNTER)
            rc = buf_addstr(st, " counter");
    }
    return rc;
}

static int
text_log(struct stdout_state *st, const struct vg_event *ev)
{
    int rc = buf_addf(st, " log %s", severity_name(ev->severity));

    if (rc == 0 && ev->nlabels)
        rc = text_kvs(st, ev->labels, ev->nlabels);
    if (rc == 0)
        rc = buf_add(st, " ", 1);
    if (rc == 0)
        rc = text_string(st, ev->body ? ev->body : "", ev->body_len);
    if (rc == 0 && ev->nattrs) {
        rc = buf_add(st, " ", 1);
        if (rc == 0)
            rc = text_kvs(st, ev->attrs, ev->nattrs);
    }
    return rc;
}

static int
text_alert(struct stdout_state *st, const struct vg_event *ev)
{
    const char *summary = ev->summary ? ev->summary : "";
    int rc = buf_addf(st, " alert %s %s %s ",
                      ev->alert_state == VG_ALERT_RESOLVED ? "RESOLVED"
                                                           : "FIRING",
                      alert_severity_name(ev->alert_severity),
                      ev->rule ? ev->rule : "");

    if (rc == 0)
        rc = text_string(st, summary, strlen(summary));
    if (rc == 0)
        rc = buf_add(st, " ", 1);
    if (rc == 0)
        rc = text_kvs(st, ev->labels, ev->nlabels);
    if (rc == 0)
        rc = buf_addstr(st, " value=");
    if (rc == 0)
        rc = text_double(st, ev->value);
    return rc;
}

static int
text_event(struct stdout_state *st, const struct vg_event *ev)
{
    int rc = text_time(st, ev->time);

    if (rc < 0)
        return rc;
    switch (ev->kind) {
    case VG_EV_METRIC:
        return text_metric(st, ev);
    case VG_EV_LOG:
        return text_log(st, ev);
    case VG_EV_ALERT:
        return text_alert(st, ev);
    default:
        return buf_addf(st, " unknown kind %" PRIu32, ev->kind);
    }
}

/* ---- writing ----------------------------------------------------------- */

static void
complete_waiting(struct vg_instance *in, struct stdout_state *st,
                 int outcome, const char *reason)
{
    size_t i, n = st->nwaiting;

    st->nwaiting = 0;
    for (i = 0; i < n; i++)
        vg_flush_done(in, st->waiting[i], outcome, reason);
}

/*
 * Writes what is left of the buffer: 0 when all of it went out, -EAGAIN
 * when the fd is full, another negative errno on failure.
 */
static int
write_out(struct stdout_state *st)
{
    while (st->off < st->len) {
        ssize_t n = write(st->fd, st->buf + st->off, st->len - st->off);

        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return errno == EWOULDBLOCK ? -EAGAIN : -errno;
        st->off += (size_t)n;
    }
    st->len = 0;
    st->off = 0;
    return 0;
}

static void
write_result(struct vg_instance *in, struct stdout_state *st, int rc)
{
    char reason[128];

    if (rc == -EAGAIN) {
        vg_io_start(in, st->io);
        return;
    }
    vg_io_stop(in, st->io);
    if (rc == 0) {
        if (st->failures)
            vg_log(in, VG_LOG_INFO, "writing to stdout works again after %"
                   PRIu64 " failed attempts", st->failures);
        st->failures = 0;
        complete_waiting(in, st, VG_OK, NULL);
        return;
    }
    /* what was formatted is lost to this attempt; the core retries it */
    st->len = 0;
    st->off = 0;
    snprintf(reason, sizeof(reason), "write to stdout failed: %s",
             strerror(-rc));
    /* the first failure is a warning; its repeats would flood the log */
    vg_log(in, st->failures++ ? VG_LOG_DEBUG : VG_LOG_WARN, "%s", reason);
    complete_waiting(in, st, rc == -EPIPE ? VG_PERMANENT : VG_RETRY, reason);
}

static void
on_writable(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct stdout_state *st = arg;

    write_result(in, st, write_out(st));
}

static void
stdout_flush(struct vg_instance *in, struct vg_batch *b, struct vg_flush *fl)
{
    struct stdout_state *st = vg_instance_data(in);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    size_t mark = st->len;
    int busy = st->nwaiting > 0;
    int rc = 0;

    if (st->nwaiting == st->waiting_cap) {
        size_t cap = st->waiting_cap ? st->waiting_cap * 2 : 8;
        struct vg_flush **p = realloc(st->waiting, cap * sizeof(*p));

        if (!p) {
            vg_flush_done(in, fl, VG_RETRY, "out of memory");
            return;
        }
        st->waiting = p;
        st->waiting_cap = cap;
    }
    while (rc == 0 && vg_batch_next(in, b, &it, &ev) > 0) {
        if (st->conf->format == FMT_JSON)
            rc = vg_event_to_json(in, &ev, &st->buf, &st->len, &st->cap);
        else
            rc = text_event(st, &ev);
        if (rc == 0)
            rc = buf_add(st, "\n", 1);
    }
    vg_iter_release(in, &it);
    if (rc < 0) {
        st->len = mark;                 /* no half-formatted batch */
        vg_flush_done(in, fl, VG_RETRY, "cannot format the batch");
        return;
    }
    st->waiting[st->nwaiting++] = fl;
    /* while an earlier write waits for the fd, this one queues behind it */
    if (!busy)
        write_result(in, st, write_out(st));
}

/* ---- life cycle -------------------------------------------------------- */

static void
stdout_state_free(struct stdout_state *st)
{
    if (!st)
        return;
    free(st->buf);
    free(st->waiting);
    free(st);
}

static int
stdout_init(struct vg_instance *in, void *conf)
{
    struct stdout_state *st = calloc(1, sizeof(*st));

    if (!st)
        return -ENOMEM;
    st->conf = conf;
    st->fd = STDOUT_FILENO;
    if (!(st->io = vg_io_new(in, st->fd, VG_IO_WRITE, on_writable, st))) {
        stdout_state_free(st);
        return -ENOMEM;
    }
    vg_instance_set_data(in, st);
    return 0;
}

static void
stdout_destroy(struct vg_instance *in)
{
    struct stdout_state *st = vg_instance_data(in);

    if (!st)
        return;
    /* every flush is completed once, even those stdout never took */
    complete_waiting(in, st, VG_RETRY, "output stopped before stdout "
                     "took the batch");
    vg_io_free(in, st->io);
    stdout_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_OUTPUT,
    .name = "stdout",
    .summary = "write events to standard output as text or JSON lines",
    .options = stdout_options,
    .conf_size = sizeof(struct stdout_conf),
    .init = stdout_init,
    .flush = stdout_flush,
    .destroy = stdout_destroy,
};
