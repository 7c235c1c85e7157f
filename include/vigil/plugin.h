/*
 * vigil plugin ABI: the only header a plugin includes.
 *
 * A plugin module exports one `const struct vg_plugin vg_plugin` (use
 * VG_PLUGIN_EXPORT).  The core checks its ABI version, size, kind and
 * option schema before any callback runs, fills the plugin's config struct
 * from the YAML file, and hands the plugin a table of core functions
 * (struct vg_api) through which it logs, builds and emits batches, starts
 * timers and fd watchers and completes flushes.  The inline vg_* wrappers at
 * the end of this file call through that table, so a plugin links no core
 * symbol.
 *
 * Compatibility rules: VG_PLUGIN_ABI changes only when something already
 * here changes meaning; new fields are appended to struct vg_plugin and
 * struct vg_api, never inserted or reordered, and the `size` fields say how
 * much of each the other side knows.  Every callback runs on the core's loop
 * thread unless its comment says otherwise.
 */
#ifndef VIGIL_PLUGIN_H
#define VIGIL_PLUGIN_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define VG_PLUGIN_ABI 1

#if defined(__GNUC__)
#define VG_PRINTF(f, a) __attribute__((format(printf, f, a)))
#define VG_PUBLIC __attribute__((visibility("default")))
#else
#define VG_PRINTF(f, a)
#define VG_PUBLIC
#endif

/* Opaque core objects. */
struct vg_instance;   /* one configured plugin instance               */
struct vg_batch;      /* a batch of events: see "Batches" below        */
struct vg_flush;      /* one output flush in progress                   */
struct vg_timer;      /* a timer owned by an instance                    */
struct vg_io;         /* an fd watcher owned by an instance              */

/* ------------------------------------------------------------------ */
/* Options                                                             */
/* ------------------------------------------------------------------ */

/*
 * Option types and the C type the core stores at `offset` in the
 * plugin's config struct:
 *   STR       char *          (NULL when absent without default)
 *   INT       int64_t
 *   DOUBLE    double
 *   BOOL      int             (0 or 1)
 *   DURATION  int64_t         nanoseconds; YAML "10s", "5m", "250ms", "1h", "7d"
 *   SIZE      int64_t         bytes; YAML "64MiB", "512k", "1GB", 4096
 *   ENUM      int             index into .choices ("json|text" -> 0|1)
 *   STRLIST   struct vg_strv  a YAML sequence of scalars (or one scalar)
 *   MAP       struct vg_map   a YAML mapping of scalar keys to scalars
 *   OBJECT    (none)          a nested mapping validated against .sub;
 *                             its fields are stored in the same struct
 *   LIST      struct vg_list  a sequence of mappings, each validated
 *                             against .sub into an element of .elem_size
 *                             bytes (.sub offsets are relative to it)
 * Strings, lists and maps belong to the core: they stay valid until the
 * instance is destroyed, and the plugin must not free them.
 */
enum vg_opt_type {
    VG_OPT_STR = 1,
    VG_OPT_INT,
    VG_OPT_DOUBLE,
    VG_OPT_BOOL,
    VG_OPT_DURATION,
    VG_OPT_SIZE,
    VG_OPT_ENUM,
    VG_OPT_STRLIST,
    VG_OPT_MAP,
    VG_OPT_OBJECT,
    VG_OPT_LIST,
};

#define VG_OPT_REQUIRED 0x1u  /* an error when missing                  */
#define VG_OPT_SECRET   0x2u  /* never printed: logs, errors, status API */

struct vg_option {
    const char             *name;
    enum vg_opt_type        type;
    unsigned                flags;      /* VG_OPT_REQUIRED | VG_OPT_SECRET */
    size_t                  offset;     /* into the config struct          */
    const char             *def;        /* default, written as in YAML     */
    const char             *help;       /* one line, for --list-plugins    */
    const char             *choices;    /* ENUM: "a|b|c"                   */
    const struct vg_option *sub;        /* OBJECT, LIST: nested schema     */
    size_t                  elem_size;  /* LIST: bytes per element         */
};

struct vg_strv {
    size_t  n;
    char  **v;
};

struct vg_pair {
    char *key;
    char *value;
};

struct vg_map {
    size_t          n;
    struct vg_pair *v;
};

struct vg_list {
    size_t  n;
    void   *items;                      /* n elements of elem_size bytes */
};

/* ------------------------------------------------------------------ */
/* Events                                                              */
/* ------------------------------------------------------------------ */

enum vg_event_kind {
    VG_EV_METRIC = 1,
    VG_EV_LOG,
    VG_EV_ALERT,
};

enum vg_metric_type {
    VG_METRIC_GAUGE = 1,
    VG_METRIC_COUNTER,                  /* cumulative, monotonic */
    VG_METRIC_HISTOGRAM,
};

/* Log severities are OpenTelemetry severity numbers; these are the bases. */
enum vg_severity {
    VG_SEV_UNSET = 0,
    VG_SEV_TRACE = 1,
    VG_SEV_DEBUG = 5,
    VG_SEV_INFO  = 9,
    VG_SEV_WARN  = 13,
    VG_SEV_ERROR = 17,
    VG_SEV_FATAL = 21,
};

enum vg_alert_state {
    VG_ALERT_FIRING = 1,
    VG_ALERT_RESOLVED,
};

enum vg_alert_severity {
    VG_ALERT_INFO = 1,
    VG_ALERT_WARNING,
    VG_ALERT_ERROR,
    VG_ALERT_CRITICAL,
};

enum vg_val_type {
    VG_VAL_STR = 1,
    VG_VAL_INT,
    VG_VAL_DOUBLE,
    VG_VAL_BOOL,
};

/*
 * A key and a typed value: metric and alert labels (always strings, kept
 * sorted by key by the batch) and log attributes (any type, in the order
 * given).  Strings need not be NUL-terminated when given to the builder; the
 * ones the iterator returns are.
 */
struct vg_kv {
    const char *key;
    uint32_t    key_len;
    uint32_t    type;                   /* enum vg_val_type */
    uint32_t    len;                    /* VG_VAL_STR: bytes in v.s */
    union {
        const char *s;
        int64_t     i;
        double      d;
        int         b;
    } v;
};

static inline struct vg_kv
vg_kv_str(const char *key, const char *value)
{
    struct vg_kv kv;

    kv.key = key;
    kv.key_len = (uint32_t)strlen(key);
    kv.type = VG_VAL_STR;
    kv.len = (uint32_t)strlen(value);
    kv.v.s = value;
    return kv;
}

/*
 * Histogram: nbuckets buckets, bucket i counts the values v with
 * bounds[i-1] < v <= bounds[i]; the last bound is +Inf.  Counts are per
 * bucket, not cumulative (OpenTelemetry explicit-bucket histogram).
 */
struct vg_histogram {
    uint32_t        nbuckets;
    const double   *bounds;             /* nbuckets upper bounds */
    const uint64_t *counts;             /* nbuckets counts       */
    double          sum;
    uint64_t        count;
};

/*
 * One event, as a plugin gives it to the batch builder and as the iterator
 * returns it.  Pointers returned by the iterator point into the batch and
 * stay valid while the caller holds its reference to the batch.
 */
struct vg_event {
    uint32_t            kind;           /* enum vg_event_kind            */
    int64_t             time;           /* ns since the Unix epoch, UTC  */
    uint64_t            hash;           /* series hash / fingerprint; the
                                           builder computes it when 0   */
    const struct vg_kv *labels;         /* strings; sorted on output     */
    uint32_t            nlabels;

    /* VG_EV_METRIC */
    const char          *name;          /* NUL-terminated                 */
    uint32_t             metric_type;   /* enum vg_metric_type            */
    double               value;         /* gauge, counter; alert value    */
    struct vg_histogram  hist;          /* VG_METRIC_HISTOGRAM            */

    /* VG_EV_LOG */
    uint32_t            severity;       /* enum vg_severity (1..24)      */
    const char         *body;           /* bytes, may hold any byte      */
    uint32_t            body_len;
    const struct vg_kv *attrs;          /* typed attributes              */
    uint32_t            nattrs;

    /* VG_EV_ALERT (also uses labels, value, hash as fingerprint) */
    const char *rule;
    uint32_t    alert_state;            /* enum vg_alert_state            */
    uint32_t    alert_severity;         /* enum vg_alert_severity         */
    const char *summary;
    const char *description;            /* may be NULL                    */
    int64_t     starts_at;              /* ns; 0 = unknown                */
    int64_t     ends_at;                /* ns; 0 = still firing           */
};

/* Iteration cursor: zero it (VG_ITER_INIT) before the first vg_batch_next. */
struct vg_iter {
    uint32_t             offset;        /* next record                    */
    uint32_t             index;         /* events returned so far         */
    struct vg_kv        *scratch;       /* decoded labels and attributes  */
    uint32_t             scratch_cap;
    uint32_t             reserved;
};
#define VG_ITER_INIT { 0, 0, NULL, 0, 0 }

/* ------------------------------------------------------------------ */
/* Callbacks and the plugin descriptor                                 */
/* ------------------------------------------------------------------ */

enum vg_kind {
    VG_KIND_INPUT = 1,
    VG_KIND_FILTER,
    VG_KIND_OUTPUT,
};

enum vg_log_level {
    VG_LOG_ERROR = 1,
    VG_LOG_WARN,
    VG_LOG_INFO,
    VG_LOG_DEBUG,
    VG_LOG_TRACE,
};

/* How a flush ended, for vg_flush_done(). */
enum vg_outcome {
    VG_OK = 0,          /* delivered                                   */
    VG_RETRY,           /* try again later with backoff                 */
    VG_PERMANENT,       /* will never succeed: dead-letter it           */
};

typedef void (*vg_timer_fn)(struct vg_instance *in, void *arg);
typedef void (*vg_io_fn)(struct vg_instance *in, int fd, int revents,
                         void *arg);

#define VG_IO_READ  0x1
#define VG_IO_WRITE 0x2

struct vg_api;

/*
 * The descriptor.  `init` receives the typed config (conf_size bytes,
 * filled by the core, owned by the core) and may keep a pointer to it.
 * Returning a negative errno from init or start refuses the instance: the
 * config (or reload) fails with the message the plugin logged.
 *
 * Inputs emit batches with vg_emit() from their timers and watchers.
 * Filters get each batch in `process`, which takes the batch: it passes it
 * on with vg_emit() (the same batch or a new one), or unrefs it.  A batch
 * emitted without events is simply released (and not counted), so there
 * is no need to check for an empty one first.
 * Outputs get each batch in `flush` with a borrowed reference (take one with
 * vg_batch_ref() to keep it past the call) and must call vg_flush_done()
 * exactly once, then or later.
 * `stop` asks an input to stop producing, a filter to emit what it holds
 * (a window, say), an output to finish; `destroy` frees everything.
 */
struct vg_plugin {
    uint32_t                abi;        /* VG_PLUGIN_ABI                   */
    uint32_t                size;       /* sizeof(struct vg_plugin)        */
    enum vg_kind            kind;
    const char             *name;       /* [a-z0-9_]+, unique per kind     */
    const char             *summary;    /* one line                        */
    const char             *version;    /* plugin's own version, optional  */
    const struct vg_option *options;    /* { 0 }-terminated, may be NULL   */
    size_t                  conf_size;

    int  (*init)(struct vg_instance *in, void *conf);
    int  (*start)(struct vg_instance *in);
    void (*process)(struct vg_instance *in, struct vg_batch *b);
    void (*flush)(struct vg_instance *in, struct vg_batch *b,
                  struct vg_flush *fl);
    void (*stop)(struct vg_instance *in);
    void (*destroy)(struct vg_instance *in);

    /*
     * Inputs, optional.  pause/resume: an output of the pipeline is full
     * (and has no room on disk): stop reading until resume.  An input
     * without them has its events dropped (and counted) for that output
     * while it is full.  commit: every event of the batch emitted with
     * vg_emit_tracked(cookie) is durable: delivered by every output of the
     * pipeline, written to its disk buffer or dead-lettered.  Commits may
     * come in any order; one that never comes means the batch must be read
     * again after a restart.
     */
    void (*pause)(struct vg_instance *in);
    void (*resume)(struct vg_instance *in);
    void (*commit)(struct vg_instance *in, uint64_t cookie);

    /*
     * Optional: checks the configuration beyond what the schema can say
     * (ranges, options that exclude each other, URL forms, expressions),
     * with no side effect: no file, socket, thread, timer or instance
     * data.  Each problem is logged with vg_log at VG_LOG_ERROR (the core
     * reports it at the instance's place in the config file) and the
     * result is -EINVAL.  Runs for `vigil --check` and before init on
     * every start and reload, so init need not repeat it.
     */
    int  (*check)(struct vg_instance *in, const void *conf);
};

#define VG_PLUGIN_EXPORT \
    VG_PUBLIC extern const struct vg_plugin vg_plugin; \
    VG_PUBLIC const struct vg_plugin vg_plugin

/* ------------------------------------------------------------------ */
/* The core's functions                                                */
/* ------------------------------------------------------------------ */

struct vg_api {
    uint32_t size;                      /* sizeof(struct vg_api) of core */

    /* Logging: the core adds time, level and instance name. */
    int  (*log_enabled)(const struct vg_instance *in, int level);
    void (*logv)(struct vg_instance *in, int level, const char *fmt,
                 va_list ap);

    /* Instance. */
    void        (*set_data)(struct vg_instance *in, void *data);
    void       *(*data)(const struct vg_instance *in);
    const char *(*name)(const struct vg_instance *in);  /* "input[tail#1]" */
    const char *(*pipeline)(const struct vg_instance *in);
    const char *(*hostname)(const struct vg_instance *in);
    const char *(*state_dir)(const struct vg_instance *in);
    int64_t     (*now)(const struct vg_instance *in);  /* wall clock, ns */

    /* Batches.  batch_new returns a new batch with one reference. */
    struct vg_batch *(*batch_new)(struct vg_instance *in, size_t bytes_hint);
    int    (*batch_add)(struct vg_batch *b, const struct vg_event *ev);
    size_t (*batch_count)(const struct vg_batch *b);
    size_t (*batch_bytes)(const struct vg_batch *b);
    int    (*batch_next)(const struct vg_batch *b, struct vg_iter *it,
                         struct vg_event *ev);
    void   (*iter_release)(struct vg_iter *it);
    void   (*batch_ref)(struct vg_batch *b);
    void   (*batch_unref)(struct vg_batch *b);
    void   (*batch_drop)(struct vg_batch *b, const struct vg_iter *it);
    struct vg_batch *(*batch_derive)(struct vg_instance *in,
                                     struct vg_batch *parent,
                                     size_t bytes_hint);

    /* Pass a batch on (inputs, filters); takes the reference. */
    void (*emit)(struct vg_instance *in, struct vg_batch *b);
    /* An input that has produced all it will (generate count reached). */
    void (*input_done)(struct vg_instance *in);

    /* Outputs. */
    void (*flush_done)(struct vg_flush *fl, int outcome, const char *reason);

    /* Timers (ns); a repeat of 0 makes a one-shot timer. */
    struct vg_timer *(*timer_new)(struct vg_instance *in, vg_timer_fn cb,
                                  void *arg);
    void (*timer_start)(struct vg_timer *t, int64_t after, int64_t repeat);
    void (*timer_stop)(struct vg_timer *t);
    void (*timer_free)(struct vg_timer *t);

    /* fd watchers; events is VG_IO_READ | VG_IO_WRITE. */
    struct vg_io *(*io_new)(struct vg_instance *in, int fd, int events,
                            vg_io_fn cb, void *arg);
    void (*io_start)(struct vg_io *w);
    void (*io_stop)(struct vg_io *w);
    void (*io_set)(struct vg_io *w, int events);
    void (*io_free)(struct vg_io *w);

    /* Encoding: append the event as one vigil JSON line (no newline). */
    int (*event_to_json)(const struct vg_event *ev, char **buf, size_t *len,
                         size_t *cap);

    /* Self metrics: add to a named counter of this instance. */
    void (*count)(struct vg_instance *in, const char *counter, int64_t n);

    /* Hash of a metric series (name + sorted labels), as the batch does. */
    uint64_t (*series_hash)(const char *name, const struct vg_kv *labels,
                            uint32_t nlabels);

    /* Like emit, and the input's commit(cookie) is called once every
     * event of b is durable.  Takes the reference. */
    void (*emit_tracked)(struct vg_instance *in, struct vg_batch *b,
                         uint64_t cookie);
    /* Ends a flush as VG_RETRY after at least `after` ns (a server's
     * Retry-After), instead of the output's backoff. */
    void (*flush_retry_after)(struct vg_flush *fl, int64_t after,
                              const char *reason);

    /* Appends the agent's self metrics (what /metrics shows: per instance
     * events, drops, queues, retries; process CPU, memory, fds) to b as
     * metric events.  0 or a negative errno. */
    int (*self_metrics)(struct vg_instance *in, struct vg_batch *b);

    /* For an output that delivered a batch but for some of its events,
     * refused for good (a row the database rejects): appends those events
     * to the instance's dead-letter file, the one the core writes when it
     * gives up on a whole batch, one JSON line each with its reason, and
     * fsyncs it; counts them (dead_lettered) and logs where they went.
     * The events at index[0..n) (ascending, counted as batch_next yields
     * them) with reason[0..n); index NULL: every event of b, reason[0].
     * 0, or a negative errno: they could not be written and are counted
     * as lost.  Check VG_API_HAS(in, dead_letter) first. */
    int (*dead_letter)(struct vg_instance *in, const struct vg_batch *b,
                       const uint32_t *index, const char *const *reason,
                       size_t n, unsigned attempts);
};

/* Whether the running vigil's table has the function `member` (one
 * appended after the plugin's oldest supported vigil). */
#define VG_API_HAS(in, member) \
    (VG_API(in)->size >= offsetof(struct vg_api, member) + \
                         sizeof(VG_API(in)->member) && \
     VG_API(in)->member != NULL)

/*
 * Every instance structure starts with the api pointer, so the wrappers
 * reach the table without a core symbol.  Plugins never touch the struct.
 */
struct vg_instance_head {
    const struct vg_api *api;
};

#define VG_API(in) (((const struct vg_instance_head *)(const void *)(in))->api)

/* ------------------------------------------------------------------ */
/* Inline wrappers: what plugins call                                  */
/* ------------------------------------------------------------------ */

VG_PRINTF(3, 4) static inline void
vg_log(struct vg_instance *in, int level, const char *fmt, ...)
{
    va_list ap;

    if (!VG_API(in)->log_enabled(in, level))
        return;
    va_start(ap, fmt);
    VG_API(in)->logv(in, level, fmt, ap);
    va_end(ap);
}

static inline void vg_instance_set_data(struct vg_instance *in, void *d)
{ VG_API(in)->set_data(in, d); }
static inline void *vg_instance_data(const struct vg_instance *in)
{ return VG_API(in)->data(in); }
static inline const char *vg_instance_name(const struct vg_instance *in)
{ return VG_API(in)->name(in); }
static inline const char *vg_pipeline_name(const struct vg_instance *in)
{ return VG_API(in)->pipeline(in); }
static inline const char *vg_hostname(const struct vg_instance *in)
{ return VG_API(in)->hostname(in); }
static inline const char *vg_state_dir(const struct vg_instance *in)
{ return VG_API(in)->state_dir(in); }
static inline int64_t vg_now(const struct vg_instance *in)
{ return VG_API(in)->now(in); }

static inline struct vg_batch *vg_batch_new(struct vg_instance *in,
                                            size_t bytes_hint)
{ return VG_API(in)->batch_new(in, bytes_hint); }
static inline struct vg_batch *vg_batch_derive(struct vg_instance *in,
                                               struct vg_batch *parent,
                                               size_t bytes_hint)
{ return VG_API(in)->batch_derive(in, parent, bytes_hint); }
static inline void vg_emit(struct vg_instance *in, struct vg_batch *b)
{ VG_API(in)->emit(in, b); }
static inline void vg_input_done(struct vg_instance *in)
{ VG_API(in)->input_done(in); }
static inline void vg_count(struct vg_instance *in, const char *c, int64_t n)
{ VG_API(in)->count(in, c, n); }

static inline struct vg_timer *vg_timer_new(struct vg_instance *in,
                                            vg_timer_fn cb, void *arg)
{ return VG_API(in)->timer_new(in, cb, arg); }
static inline struct vg_io *vg_io_new(struct vg_instance *in, int fd,
                                      int events, vg_io_fn cb, void *arg)
{ return VG_API(in)->io_new(in, fd, events, cb, arg); }

/*
 * Batch, flush, timer and io functions take no instance, so these wrappers
 * take one for the table: pass the instance that owns the object.
 */
static inline int vg_batch_add(struct vg_instance *in, struct vg_batch *b,
                               const struct vg_event *ev)
{ return VG_API(in)->batch_add(b, ev); }
static inline size_t vg_batch_count(struct vg_instance *in,
                                    const struct vg_batch *b)
{ return VG_API(in)->batch_count(b); }
static inline size_t vg_batch_bytes(struct vg_instance *in,
                                    const struct vg_batch *b)
{ return VG_API(in)->batch_bytes(b); }
static inline int vg_batch_next(struct vg_instance *in,
                                const struct vg_batch *b, struct vg_iter *it,
                                struct vg_event *ev)
{ return VG_API(in)->batch_next(b, it, ev); }
static inline void vg_iter_release(struct vg_instance *in, struct vg_iter *it)
{ VG_API(in)->iter_release(it); }
static inline void vg_batch_drop(struct vg_instance *in, struct vg_batch *b,
                                 const struct vg_iter *it)
{ VG_API(in)->batch_drop(b, it); }
static inline void vg_batch_ref(struct vg_instance *in, struct vg_batch *b)
{ VG_API(in)->batch_ref(b); }
static inline void vg_batch_unref(struct vg_instance *in, struct vg_batch *b)
{ VG_API(in)->batch_unref(b); }
static inline void vg_flush_done(struct vg_instance *in, struct vg_flush *fl,
                                 int outcome, const char *reason)
{ VG_API(in)->flush_done(fl, outcome, reason); }
static inline void vg_timer_start(struct vg_instance *in, struct vg_timer *t,
                                  int64_t after, int64_t repeat)
{ VG_API(in)->timer_start(t, after, repeat); }
static inline void vg_timer_stop(struct vg_instance *in, struct vg_timer *t)
{ VG_API(in)->timer_stop(t); }
static inline void vg_timer_free(struct vg_instance *in, struct vg_timer *t)
{ VG_API(in)->timer_free(t); }
static inline void vg_io_start(struct vg_instance *in, struct vg_io *w)
{ VG_API(in)->io_start(w); }
static inline void vg_io_stop(struct vg_instance *in, struct vg_io *w)
{ VG_API(in)->io_stop(w); }
static inline void vg_io_set(struct vg_instance *in, struct vg_io *w, int ev)
{ VG_API(in)->io_set(w, ev); }
static inline void vg_io_free(struct vg_instance *in, struct vg_io *w)
{ VG_API(in)->io_free(w); }
static inline int vg_event_to_json(struct vg_instance *in,
                                   const struct vg_event *ev, char **buf,
                                   size_t *len, size_t *cap)
{ return VG_API(in)->event_to_json(ev, buf, len, cap); }
static inline uint64_t vg_series_hash(struct vg_instance *in,
                                      const char *name,
                                      const struct vg_kv *labels,
                                      uint32_t nlabels)
{ return VG_API(in)->series_hash(name, labels, nlabels); }

static inline void vg_emit_tracked(struct vg_instance *in,
                                   struct vg_batch *b, uint64_t cookie)
{ VG_API(in)->emit_tracked(in, b, cookie); }
static inline void vg_flush_retry_after(struct vg_instance *in,
                                        struct vg_flush *fl, int64_t after,
                                        const char *reason)
{ VG_API(in)->flush_retry_after(fl, after, reason); }

static inline int vg_self_metrics(struct vg_instance *in, struct vg_batch *b)
{ return VG_API(in)->self_metrics(in, b); }
static inline int vg_dead_letter(struct vg_instance *in,
                                 const struct vg_batch *b,
                                 const uint32_t *index,
                                 const char *const *reason, size_t n,
                                 unsigned attempts)
{ return VG_API(in)->dead_letter(in, b, index, reason, n, attempts); }

#define VG_SECOND      INT64_C(1000000000)
#define VG_MILLISECOND INT64_C(1000000)

#ifdef __cplusplus
}
#endif

#endif /* VIGIL_PLUGIN_H */
