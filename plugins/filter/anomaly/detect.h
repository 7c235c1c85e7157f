/*
 * filter anomaly: the per-series detector and the series table.  Both are
 * pure (no vg_* call, time passed in), so the unit tests, the evaluation
 * harness and the benchmark drive them with (time, value) samples alone.
 * A series' state is one fixed-size struct: memory is bounded per series,
 * and the table holds at most max_series of them.
 */
#ifndef VG_ANOMALY_DETECT_H
#define VG_ANOMALY_DETECT_H

#include <stddef.h>
#include <stdint.h>

#define ANOM_WIN      64                /* sliding window, samples      */
#define ANOM_BUCKETS  288               /* seasonal buckets per season  */

/* How the models' z-scores make one: see detect.c. */
enum anom_combine {
    ANOM_COMBINE_MIN = 0,               /* anomalous for every model     */
    ANOM_COMBINE_MAX,                   /* anomalous for any model       */
    ANOM_COMBINE_BEST,                  /* MIN where change fits better  */
};

/* Tunables, fixed per filter instance; anom_params_default() sets them. */
struct anom_params {
    uint32_t warmup;                    /* samples scored 0 first        */
    int64_t  season;                    /* ns; 0 = try one day           */
    double   scale_z;                   /* z at which the score is 0.5   */
    double   diff_weight;               /* weight of the change model    */
    uint32_t hold;                      /* calm samples ending an incident */
    int      combine;                   /* enum anom_combine             */
    double   threshold;                 /* alarm: score above this       */
    double   calib_rate;                /* z quantile: step up, log      */
    double   walk_ratio;                /* BEST: change model alone below */
};

void anom_params_default(struct anom_params *p);

/* A window of ANOM_WIN values kept both in arrival order and sorted. */
struct anom_window {
    double   ring[ANOM_WIN];
    double   sorted[ANOM_WIN];
    uint32_t head, n;
};

struct anom_det {
    uint64_t           n;               /* samples seen                  */
    int64_t            first_t;         /* ns, first sample              */
    double             prev;            /* last value                    */
    /* EWMA of the level and of the absolute deviation */
    double             ew_mean, ew_dev;
    double             ew_ddev;         /* EWMA of |x[t] - x[t-1]|      */
    /* EWMAs of the non-zero |x - median| and |x[t] - x[t-1]|: the spread
       of a mostly flat series, whose MADs are 0 */
    double             nz_dev, nz_ddev;
    /* typical absolute residual of each model, to pick the best one */
    double             err_level, err_diff, err_season;
    struct anom_window level;           /* recent values                 */
    struct anom_window diff;            /* recent |x[t] - x[t-1]|        */
    /* seasonal offsets from the window median, one per bucket */
    float              offset[ANOM_BUCKETS];
    uint8_t            seen[ANOM_BUCKETS];
    double             peak;            /* highest score of the incident */
    uint32_t           calm;            /* samples since score > thr     */
    int                in_incident;
    double             last_score;
    double             log_q;           /* log of z's tracked quantile   */
    /* for the plugin: the alert engine may hold state for this series */
    int                engaged;
    /* counters are scored on their per-second rate */
    double             c_prev;
    int64_t            c_prev_t;        /* ns, 0 = no previous sample    */
};

void anom_det_init(struct anom_det *d);

/*
 * Adds a sample at time t (ns) and returns its anomaly score in [0, 1]
 * (0 during warm-up).  *alarm receives the value the alerting compares
 * with the threshold: the incident's peak score, held until `hold` calm
 * samples have passed, so one incident raises one alert.
 */
double anom_det_update(struct anom_det *d, const struct anom_params *p,
                       int64_t t, double x, double *alarm);

/*
 * A counter's per-second rate since its previous sample into *rate: 0, or
 * -1 for the first sample and for one not after the previous.  A drop is
 * a reset: the new value counts as the increase since.
 */
int anom_det_rate(struct anom_det *d, int64_t t, double v, double *rate);

/* ---- the series table: hash -> detector, least recently seen evicted */

struct anom_slot {
    uint64_t        hash;               /* 0: free                       */
    uint32_t        prev, next;         /* LRU list, slot + 1; 0 = none  */
    struct anom_det det;
};

struct anom_table {
    struct anom_slot *slots;            /* max_series of them            */
    uint32_t         *index;            /* open addressing, slot + 1     */
    size_t            cap;              /* index size, a power of 2      */
    size_t            nslots;           /* allocated                     */
    size_t            max, used;
    uint32_t          head, tail;       /* most, least recent; slot + 1  */
    uint64_t          evicted;          /* total                         */
};

int  anom_table_init(struct anom_table *tb, size_t max_series);
void anom_table_release(struct anom_table *tb);
/*
 * The detector of hash, created (and the least recently seen series
 * evicted when the table is full) when absent.  *created is set to 1 for
 * a new one.
 */
struct anom_det *anom_table_get(struct anom_table *tb, uint64_t hash,
                                int *created);

#endif /* VG_ANOMALY_DETECT_H */
