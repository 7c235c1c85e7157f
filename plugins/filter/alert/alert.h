/*
 * filter alert: the rule engine, shared by the plugin glue (alert.c), the
 * forecasters (forecast.c), the state file (state.c) and the unit tests.
 * rules.c, forecast.c and state.c are pure: they call no vg_* function,
 * take "now" as arguments and report alerts through a callback, so a test
 * drives them with (time, value) samples alone.
 */
#ifndef VG_ALERT_H
#define VG_ALERT_H

#include <float.h>
#include <stddef.h>
#include <stdint.h>

#include <vigil/plugin.h>

/* A DOUBLE option the user did not set holds this default. */
#define ALERT_UNSET     (-DBL_MAX)
#define ALERT_UNSET_STR "-1.7976931348623157e308"

enum alert_cond {
    COND_ABOVE = 1,
    COND_BELOW,
    COND_RATE_ABOVE,
    COND_RATE_BELOW,
    COND_ABSENT,
    COND_PREDICT,
};

enum alert_method {
    METHOD_LINEAR = 0,
    METHOD_HOLT,
};

/* ENUM option `severity`: critical|error|warning|info, in that order. */
enum alert_sev_choice {
    SEVC_CRITICAL = 0,
    SEVC_ERROR,
    SEVC_WARNING,
    SEVC_INFO,
};

/* One element of the `rules` list, as the core fills it. */
struct alert_rule_conf {
    char           *name;
    char           *metric;             /* name or fnmatch glob */
    struct vg_map   labels;             /* label matchers (globs) */
    double          above, below;
    double          resolve_above, resolve_below;
    double          rate_above, rate_below;     /* per second */
    int64_t         absent;             /* ns; 0 = not this condition */
    double          p_above, p_below;   /* predict: threshold */
    int64_t         p_within;           /* ns */
    int64_t         p_window;           /* ns */
    int             p_method;           /* enum alert_method */
    int64_t         for_ns;
    int64_t         repeat;             /* ns */
    int             severity;           /* enum alert_sev_choice */
    struct vg_map   add_labels;
    char           *summary;
    char           *description;
    int64_t         max_series;
};

/* Forecaster: at most FC_POINTS downsampled points of one series. */
#define FC_POINTS      256
#define FC_RING        (FC_POINTS + 2)
#define FC_MIN_POINTS  16
#define HOLT_ALPHA     0.03
#define HOLT_BETA      0.003
#define HOLT_PHI       0.98             /* trend damping per day */

struct fc_point {
    int64_t t;                          /* ns, mean time of its samples */
    double  v;                          /* mean of the bucket */
};

struct forecast {
    int64_t         window;             /* ns of history kept */
    int64_t         width;              /* ns per bucket: window / 256 */
    int64_t         cur;                /* bucket being filled, -1 none */
    double          cur_sum;
    int64_t         cur_t0;             /* first sample of the bucket */
    double          cur_dt;             /* sum of times after cur_t0 */
    uint32_t        cur_n;
    uint32_t        head, n;            /* ring of closed buckets */
    struct fc_point pts[FC_RING];
};

void forecast_init(struct forecast *fc, int64_t window);
/* Adds a sample; 1 when a bucket closed (a new estimate is due), else 0. */
int forecast_add(struct forecast *fc, int64_t t, double v);
/*
 * When the forecast reaches thr (from below when upward, else from above),
 * as ns since the epoch, now when it is already there; 0 when it never
 * does or there is not enough history (FC_MIN_POINTS buckets spanning a
 * quarter of the window).
 */
int64_t forecast_eta(const struct forecast *fc, int method, double thr,
                     int upward, int64_t now);

enum alert_phase {
    PHASE_INACTIVE = 0,
    PHASE_PENDING,
    PHASE_FIRING,
};

/* Per (rule, series) state; hash 0 marks a free slot of the table. */
struct alert_series {
    uint64_t         hash;              /* the metric's series hash */
    int              phase;             /* enum alert_phase */
    int              notified;          /* the firing was sent */
    int              have_prev;
    int64_t          pending_since;     /* event time, ns */
    int64_t          starts_at;
    int64_t          last_sent;         /* event time of the last send */
    int64_t          last_sent_wall;    /* wall clock of the last send */
    int64_t          prev_time;         /* last sample, event time */
    int64_t          last_wall;         /* last sample, wall clock */
    double           prev_value;
    double           value;             /* reported in the alert */
    int64_t          eta;               /* predict: ns, 0 = none */
    struct vg_kv    *labels;            /* alert labels, sorted, owned */
    uint32_t         nlabels;
    struct forecast *fc;                /* predict rules only */
};

struct alert_rule {
    const struct alert_rule_conf *conf;
    int               cond;             /* enum alert_cond */
    double            threshold;
    double            resolve;          /* hysteresis bound */
    int               upward;           /* fires on high values */
    uint32_t          severity;         /* enum vg_alert_severity */
    struct alert_series *tab;           /* open addressing */
    size_t            cap, used;        /* cap: power of 2 */
};

enum alert_action {
    ACT_NONE = 0,
    ACT_FIRE,
    ACT_REPEAT,
    ACT_RESOLVE,
};

struct alert_note {
    const struct alert_rule   *rule;
    const struct alert_series *s;
    uint32_t                   state;   /* enum vg_alert_state */
    int64_t                    time;    /* ns */
};

typedef void (*alert_note_fn)(void *arg, const struct alert_note *note);

struct alert_engine {
    struct alert_rule    *rules;
    size_t                nrules;
    int                   inhibit;
    const struct vg_strv *inhibit_labels;
    alert_note_fn         note;
    void                 *arg;
    uint64_t              dropped;      /* series over max_series */
    int                   dirty;        /* persistent state changed */
};

/*
 * Checks one rule's config and resolves it into r; on a semantic error
 * writes "rule 'x': why" into err and returns -EINVAL.
 */
int alert_rule_init(struct alert_rule *r, const struct alert_rule_conf *c,
                    char *err, size_t errlen);
void alert_rule_release(struct alert_rule *r);

/* Evaluates one sample for one series: the state machine, no sending. */
int alert_eval(const struct alert_rule *r, struct alert_series *s,
               int64_t t, double v);

/* The engine takes nothing; rules must stay valid while it is used. */
void alert_engine_init(struct alert_engine *e, struct alert_rule *rules,
                       size_t nrules, int inhibit,
                       const struct vg_strv *inhibit_labels,
                       alert_note_fn note, void *arg);
void alert_engine_release(struct alert_engine *e);

/* A metric sample: evaluated against every rule it matches. */
void alert_engine_sample(struct alert_engine *e, const char *name,
                         const struct vg_kv *labels, uint32_t nlabels,
                         uint64_t hash, int64_t t, double v, int64_t wall);

/* The periodic check: absent series, repeats, inhibited alerts. */
void alert_engine_tick(struct alert_engine *e, int64_t wall);

/* Finds or adds the series of r; NULL when max_series is reached. */
struct alert_series *alert_series_get(struct alert_rule *r, uint64_t hash,
                                      const struct vg_kv *labels,
                                      uint32_t nlabels, int *created);

/*
 * Renders a summary/description template into dst (always terminated,
 * truncated to cap).  alert_template_check: 0, or -EINVAL with the bad
 * placeholder in err.
 */
void alert_render(char *dst, size_t cap, const char *tmpl,
                  const struct alert_rule *r, const struct alert_series *s,
                  int64_t now);
int alert_template_check(const char *tmpl, char *err, size_t errlen);

/* "6d 4h", "3h 12m", "45s". */
void alert_fmt_duration(char *dst, size_t cap, int64_t ns);

/*
 * State file: the firing alerts.  save writes a temp file, fsyncs it and
 * renames it over path.  load: 0, -ENOENT, or -EINVAL for a corrupt or
 * truncated file (then nothing is loaded); errors from the system as
 * negative errno.
 */
int alert_state_save(const struct alert_engine *e, const char *path);
int alert_state_load(struct alert_engine *e, const char *path, int64_t wall,
                     char *err, size_t errlen);

#endif /* VG_ALERT_H */
