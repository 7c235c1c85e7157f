/*
 * The anomaly detector: three cheap online models of a series predict each
 * sample before it is learnt, and the sample's score says how far off the
 * prediction was in units of the model's own robust spread:
 *   level   the median of the last ANOM_WIN samples (spread: their MAD),
 *   change  the previous sample (spread: median |x[t] - x[t-1]|),
 *   season  the window median plus this time-of-season's learnt offset,
 *           used instead of `level` once it has seen two seasons and
 *           explains the series clearly better than the median alone.
 * The model that has fitted the series best decides (see the combination
 * below), z is calibrated against the series' own tail, and an incident's
 * peak is held so one incident raises one alert.  Medians and MADs adapt
 * to level shifts and variance changes within half a window and ignore
 * isolated spikes.  Every update is O(ANOM_WIN) at worst (two memmoves
 * and a merge), with no allocation.
 */
#include <math.h>
#include <string.h>

#include "detect.h"

#define DAY_NS        (INT64_C(86400) * 1000000000)
#define EW_ALPHA      0.02              /* level / spread EWMAs          */
#define ERR_ALPHA     0.01              /* model error EWMAs             */
#define SEASON_ALPHA  0.25              /* a bucket's offset             */
#define SEASON_GAIN   0.7               /* season must beat level by it  */
#define MAD_K         1.4826            /* MAD -> standard deviation     */
#define ABS_K         1.2533            /* mean |dev| -> std deviation   */
#define MIN_DIFFS     8
#define CALIB_FROM    16                /* samples before calibrating    */
#define NZ_ALPHA      0.05              /* non-zero deviation EWMAs      */
#define Z_Q99         3.29              /* 99.9% of |z|, normal data     */

void
anom_params_default(struct anom_params *p)
{
    memset(p, 0, sizeof(*p));
    p->warmup = 60;
    p->season = 0;
    p->scale_z = 4.0;
    p->diff_weight = 2.0;
    p->hold = 32;
    p->threshold = 0.55;
    p->combine = ANOM_COMBINE_BEST;
    p->calib_rate = 0.1;
    p->walk_ratio = 0.5;
}

void
anom_det_init(struct anom_det *d)
{
    memset(d, 0, sizeof(*d));
}

/* ---- the sliding window ------------------------------------------------ */

/* First index of sorted[0..n) holding a value >= x. */
static uint32_t
lower_bound(const double *a, uint32_t n, double x)
{
    uint32_t lo = 0, hi = n;

    while (lo < hi) {
        uint32_t mid = (lo + hi) / 2;

        if (a[mid] < x)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo;
}

static void
win_push(struct anom_window *w, double x)
{
    uint32_t i;

    if (w->n == ANOM_WIN) {
        double old = w->ring[w->head];

        i = lower_bound(w->sorted, w->n, old);
        memmove(&w->sorted[i], &w->sorted[i + 1],
                (w->n - i - 1) * sizeof(double));
        w->n--;
    }
    i = lower_bound(w->sorted, w->n, x);
    memmove(&w->sorted[i + 1], &w->sorted[i], (w->n - i) * sizeof(double));
    w->sorted[i] = x;
    w->n++;
    w->ring[w->head] = x;
    w->head = (w->head + 1) % ANOM_WIN;
}

static double
win_median(const struct anom_window *w)
{
    if (w->n == 0)
        return 0;
    if (w->n % 2)
        return w->sorted[w->n / 2];
    return 0.5 * (w->sorted[w->n / 2 - 1] + w->sorted[w->n / 2]);
}

/*
 * Median absolute deviation from med: the deviations on either side of
 * med grow outwards in the sorted array, so merging the two sides finds
 * the middle one without sorting anything.
 */
static double
win_mad(const struct anom_window *w, double med)
{
    uint32_t k = (w->n + 1) / 2, r = lower_bound(w->sorted, w->n, med);
    int64_t l = (int64_t)r - 1;
    double dev = 0;

    while (k--) {
        double dl = l >= 0 ? med - w->sorted[l] : INFINITY;
        double dr = r < w->n ? w->sorted[r] - med : INFINITY;

        if (dl <= dr) {
            dev = dl;
            l--;
        } else {
            dev = dr;
            r++;
        }
    }
    return dev;
}

/* ---- the detector ------------------------------------------------------ */

static double
maxd(double a, double b)
{
    return a > b ? a : b;
}

/* A spread of 0 (a flat series) would make any change infinitely odd. */
static double
spread_floor(double level)
{
    return 1e-9 + 1e-4 * fabs(level);
}

static void
nz_learn(double *ew, double dev, double spread)
{
    if (dev == 0)
        return;
    if (*ew == 0)
        *ew = dev;
    else
        *ew += NZ_ALPHA * (fmin(dev, 8 * spread) - *ew);
}

static uint32_t
bucket_of(int64_t t, int64_t season)
{
    int64_t r = t % season, width = season / ANOM_BUCKETS;

    if (r < 0)
        r += season;
    return (uint32_t)((r / (width > 0 ? width : 1)) % ANOM_BUCKETS);
}

/* A bucket's offset from the window median; a jump is learnt slowly. */
static void
season_learn(struct anom_det *d, uint32_t b, double off, double spread)
{
    double cur = d->offset[b], lim = 4 * spread;

    if (!d->seen[b]) {
        d->offset[b] = (float)off;
        d->seen[b] = 1;
        if (!d->err_season)
            d->err_season = d->err_level;
        return;
    }
    if (off > cur + lim)
        off = cur + lim;
    else if (off < cur - lim)
        off = cur - lim;
    d->offset[b] = (float)(cur + SEASON_ALPHA * (off - cur));
}

static double
z_to_score(double z, double scale)
{
    double z2 = z * z;

    return z2 / (z2 + scale * scale);
}

double
anom_det_update(struct anom_det *d, const struct anom_params *p, int64_t t,
                double x, double *alarm)
{
    int64_t season = p->season > 0 ? p->season : DAY_NS;
    double med, s_lvl, z_lvl, dv, s_d, z_d, z, score = 0;
    double floor_, r_s = 0, zq, ratio;
    uint32_t b = bucket_of(t, season);
    int seasonal = 0, have_s = 0;

    if (!isfinite(x)) {
        *alarm = d->in_incident ? d->peak : d->last_score;
        return d->last_score;
    }
    if (d->n == 0) {
        d->first_t = t;
        d->prev = x;
        d->ew_mean = x;
        d->log_q = log(Z_Q99);
        win_push(&d->level, x);
        d->n = 1;
        *alarm = 0;
        return 0;
    }

    med = win_median(&d->level);
    floor_ = spread_floor(med);
    s_lvl = MAD_K * win_mad(&d->level, med);
    if (s_lvl == 0)
        s_lvl = ABS_K * d->nz_dev;
    s_lvl = maxd(s_lvl, maxd(0.5 * ABS_K * d->ew_dev, floor_));
    z_lvl = fabs(x - med) / s_lvl;

    dv = fabs(x - d->prev);
    s_d = MAD_K * win_median(&d->diff);
    if (s_d == 0)
        s_d = ABS_K * d->nz_ddev;
    s_d = maxd(s_d, maxd(0.5 * ABS_K * d->ew_ddev, floor_));
    z_d = d->diff.n >= MIN_DIFFS ? dv / s_d : z_lvl;

    if (d->seen[b]) {
        double s_s;

        have_s = 1;
        r_s = x - (med + d->offset[b]);
        seasonal = t - d->first_t >= 2 * season &&
                   d->err_season < SEASON_GAIN * d->err_level;
        if (seasonal) {
            s_s = maxd(ABS_K * d->err_season, floor_);
            z_lvl = fabs(r_s) / s_s;
        }
    }

    ratio = d->err_diff / maxd(seasonal ? d->err_season : d->err_level,
                               1e-300);
    /*
     * BEST: the model with the smaller typical error decides; where the
     * change model fits clearly better (a random walk, a smooth curve) it
     * alone does, and in between a sample must be odd for both (MIN).
     * The change model's z is weighted only when it vetoes the level
     * model: a jump that is odd for the level model is rarely as odd
     * relative to noisy differences.  The choice was measured with
     * contrib/eval (docs/plugins/anomaly.md).
     */
    if (p->combine == ANOM_COMBINE_MAX)
        z = maxd(z_lvl, z_d);
    else if (p->combine == ANOM_COMBINE_BEST && ratio >= 1)
        z = z_lvl;
    else if (p->combine == ANOM_COMBINE_BEST && ratio < p->walk_ratio)
        z = z_d;
    else
        z = fmin(z_lvl, p->diff_weight * z_d);
    /*
     * Calibration: a series whose z often goes past Z_Q99 (heavy-tailed
     * noise, a bursty counter) has its z scaled down by how far its own
     * 99.9th percentile lies beyond.  The percentile is tracked in log space
     * (Robbins-Monro: up calib_rate on an exceedance, down calib_rate / 999
     * otherwise, so 0.1% of the samples end above it).  Inside an incident
     * it may not rise, so one long anomaly does not deafen the series.
     */
    zq = exp(d->log_q);
    /* (the first windows are too short for their spread to mean much) */
    if (d->n >= CALIB_FROM && z > zq && !d->in_incident) {
        d->log_q += p->calib_rate;
    } else if (d->n >= CALIB_FROM && z <= zq) {
        d->log_q -= p->calib_rate / 999;
        if (d->log_q < log(Z_Q99))
            d->log_q = log(Z_Q99);
    }
    if (zq > Z_Q99)
        z *= Z_Q99 / zq;
    if (d->n >= p->warmup)
        score = z_to_score(z, p->scale_z);

    /* learn, with outliers clipped so one spike does not teach much */
    d->err_level += ERR_ALPHA * (fmin(fabs(x - med), 8 * s_lvl) -
                                 d->err_level);
    if (have_s) {
        double lim = 8 * maxd(ABS_K * d->err_season, s_lvl);

        d->err_season += ERR_ALPHA * (fmin(fabs(r_s), lim) - d->err_season);
    }
    season_learn(d, b, x - med, s_lvl);
    d->ew_dev += EW_ALPHA * (fmin(fabs(x - d->ew_mean), 8 * s_lvl) -
                             d->ew_dev);
    d->ew_mean += EW_ALPHA * (x - d->ew_mean);
    d->ew_ddev += EW_ALPHA * (fmin(dv, 8 * s_d) - d->ew_ddev);
    d->err_diff += ERR_ALPHA * (fmin(dv, 8 * s_d) - d->err_diff);
    nz_learn(&d->nz_dev, fabs(x - med), s_lvl);
    nz_learn(&d->nz_ddev, dv, s_d);
    win_push(&d->level, x);
    win_push(&d->diff, dv);
    d->prev = x;
    d->n++;
    d->last_score = score;

    /* one incident, one alarm: hold the peak until `hold` calm samples */
    if (score > p->threshold) {
        if (!d->in_incident || score > d->peak)
            d->peak = score;
        d->in_incident = 1;
        d->calm = 0;
    } else if (d->in_incident && ++d->calm >= p->hold) {
        d->in_incident = 0;
        d->peak = 0;
    }
    *alarm = d->in_incident ? d->peak : score;
    return score;
}

int
anom_det_rate(struct anom_det *d, int64_t t, double v, double *rate)
{
    int64_t prev_t = d->c_prev_t;
    double delta = v - d->c_prev;

    if (prev_t && t <= prev_t)
        return -1;
    d->c_prev = v;
    d->c_prev_t = t;
    if (!prev_t)
        return -1;
    if (delta < 0)
        delta = v;
    *rate = delta / ((double)(t - prev_t) / 1e9);
    return 0;
}
