/*
 * filter aggregate: the quantile sketch (sketch.c) and the tumbling-window
 * engine (window.c), shared by the plugin glue (aggregate.c) and the unit
 * tests.  Both are pure: no vg_* call, time passed in, results reported
 * through a callback.
 */
#ifndef VG_AGGREGATE_H
#define VG_AGGREGATE_H

#include <stddef.h>
#include <stdint.h>

#include <vigil/plugin.h>

/* ---- DDSketch: quantiles with a relative error bound ------------------ */

#define DD_ALPHA     0.01               /* relative accuracy: 1%        */
#define DD_MAX_BINS  2048               /* per sign; then lowest merge  */
#define DD_ZERO      1e-9               /* |v| below this counts as 0   */

struct dd_store {
    uint64_t *bins;                     /* bins[i] counts index off + i */
    int32_t   off;
    uint32_t  n;                        /* bins in use                  */
    uint32_t  cap;
    uint64_t  count;
};

struct dd_sketch {
    struct dd_store pos, neg;           /* neg holds |v| of v < 0       */
    uint64_t        zero;
    uint64_t        count;
};

void dd_init(struct dd_sketch *s);
void dd_release(struct dd_sketch *s);
/* 0, or -ENOMEM (the value is then not counted). */
int  dd_add(struct dd_sketch *s, double v);
/* Adds every value of src to dst: 0 or -ENOMEM. */
int  dd_merge(struct dd_sketch *dst, const struct dd_sketch *src);
/*
 * The q-quantile (0 <= q <= 1) within DD_ALPHA relative error of a value
 * of rank floor(q * (count - 1)); NAN when empty.
 */
double dd_quantile(const struct dd_sketch *s, double q);

/* ---- functions --------------------------------------------------------- */

enum agg_fn {
    AGG_COUNT = 0,
    AGG_SUM,
    AGG_MIN,
    AGG_MAX,
    AGG_AVG,
    AGG_LAST,
    AGG_RATE,
    AGG_P50,
    AGG_P90,
    AGG_P99,
    AGG_P999,
    AGG_NFN,
};

#define AGG_QUANTILES ((1u << AGG_P50) | (1u << AGG_P90) | \
                       (1u << AGG_P99) | (1u << AGG_P999))

/* Name of a function ("p999"), and the function of a name (-1: none). */
const char *agg_fn_name(int fn);
int agg_fn_parse(const char *name);

/* ---- the window engine ------------------------------------------------- */

struct agg_win {
    int64_t           start;            /* ns, a multiple of the window */
    uint64_t          count;
    double            sum, min, max, last;
    int64_t           last_t;           /* ns, time of `last`           */
    struct dd_sketch *sk;               /* quantile functions only      */
    struct agg_win   *next;             /* open windows, oldest first   */
};

struct agg_group {
    uint64_t        hash;               /* 0: free slot                 */
    char           *name;               /* metric the results are named by */
    struct vg_kv   *labels;             /* sorted; one allocation with name */
    uint32_t        nlabels;
    struct agg_win *wins;
};

/* One result: NAME.FN{labels} = value at time (the window's start). */
typedef void (*agg_emit_fn)(void *arg, const struct agg_group *g, int fn,
                            int64_t time, double value);

struct agg_engine {
    int64_t           window;           /* ns                           */
    int64_t           lateness;         /* ns                           */
    uint32_t          fns;              /* 1 << enum agg_fn             */
    size_t            max_groups;
    agg_emit_fn       emit;
    void             *arg;
    struct agg_group *tab;              /* open addressing              */
    size_t            cap, used;
    int64_t           watermark;        /* ns: latest event time seen   */
    int64_t           next_close;       /* ns: watermark closing a window */
    uint64_t          late_dropped;
    uint64_t          groups_dropped;   /* samples of groups over max   */
};

void agg_init(struct agg_engine *e, int64_t window, int64_t lateness,
              uint32_t fns, size_t max_groups, agg_emit_fn emit, void *arg);
void agg_release(struct agg_engine *e);
/*
 * Adds a sample of the group (name, labels: sorted by key, strings) at
 * time t, then closes the windows the advanced watermark ends.  Returns
 * 0, 1 when the sample came too late (counted in late_dropped), 2 when
 * max_groups is reached (groups_dropped), or -ENOMEM.
 */
int  agg_add(struct agg_engine *e, const char *name,
             const struct vg_kv *labels, uint32_t nlabels, int64_t t,
             double v);
/* Closes the windows that end (plus lateness) at or before watermark. */
void agg_advance(struct agg_engine *e, int64_t watermark);
/* Closes every open window (at stop). */
void agg_flush(struct agg_engine *e);

#endif /* VG_AGGREGATE_H */
