/*
 * input statsd: aggregation of parsed lines over one flush interval.
 * Series are keyed by type, name and sorted tags.  At each flush,
 * counters, samplers (timers, histograms, distributions) and sets are
 * reported and forgotten; gauges are reported and kept.  Percentiles are
 * exact (nearest rank) up to 256 samples per interval, then from a
 * DDSketch within 1%.  Pure: no vg_*
 * call, so the unit tests compile it in.
 */
#ifndef VG_SD_AGG_H
#define VG_SD_AGG_H

#include <stddef.h>
#include <stdint.h>

#include <vigil/plugin.h>

#include "sd_line.h"

#define SD_MAX_PCT 16                   /* percentiles reported */

struct sd_agg_conf {
    double   pct[SD_MAX_PCT];           /* percentiles, 0..100          */
    uint32_t npct;
    uint32_t max_set_size;              /* members counted exactly      */
    uint32_t max_series;                /* more new series are refused  */
};

struct sd_agg;

/*
 * Called once per reported value: name is "<metric>.<suffix>", labels
 * the tags sorted by key (borrowed for the call).
 */
typedef void (*sd_emit_fn)(void *arg, const char *name,
                           const struct vg_kv *labels, uint32_t nlabels,
                           double value);

/* Returns a new aggregator (copies c), or NULL on ENOMEM. */
struct sd_agg *sd_agg_new(const struct sd_agg_conf *c);
void sd_agg_free(struct sd_agg *a);            /* NULL is a no-op */

/*
 * Adds every value of m.  0; -ENOSPC when m would be a new series past
 * max_series (dropped); -ENOMEM.  Sets past max_set_size members keep
 * their count and *set_full is set, others leave it alone.
 */
int sd_agg_add(struct sd_agg *a, const struct sd_metric *m, int *set_full);

/*
 * Reports every series (see the file comment) and resets; interval is
 * the flush interval in seconds, for counter rates.  Returns the number
 * of values reported.
 */
size_t sd_agg_flush(struct sd_agg *a, double interval, sd_emit_fn fn,
                    void *arg);

/* Series held now. */
size_t sd_agg_series(const struct sd_agg *a);

/* "p99", "p99_9": the suffix of percentile pct into buf[size]. */
void sd_pct_suffix(double pct, char *buf, size_t size);

#endif /* VG_SD_AGG_H */
