/*
 * Forecasters of the `predict` condition.  A series keeps at most 256
 * points over its window: samples are averaged into buckets of window/256,
 * so memory is bounded however fast the series reports.  `linear` is a
 * least-squares line over the window (Prometheus predict_linear); `holt`
 * is Holt's linear smoothing started from that line, with its trend damped
 * by HOLT_PHI per day when forecasting, which keeps noisy series from
 * predicting far-away crossings from a short burst.
 */
#include <math.h>

#include "alert.h"

#define DAY_S 86400.0

void
forecast_init(struct forecast *fc, int64_t window)
{
    memset(fc, 0, sizeof(*fc));
    fc->window = window;
    fc->width = window / FC_POINTS;
    if (fc->width < 1)
        fc->width = 1;
    fc->cur = -1;
}

static const struct fc_point *
point_at(const struct forecast *fc, uint32_t i)
{
    return &fc->pts[(fc->head + i) % FC_RING];
}

int
forecast_add(struct forecast *fc, int64_t t, double v)
{
    int64_t k = t / fc->width;
    int closed = 0;

    if (!isfinite(v))
        return 0;
    if (fc->cur >= 0 && k != fc->cur) {
        struct fc_point *p;

        if (k < fc->cur) {
            /* out of order: fold into the bucket being filled */
            fc->cur_sum += v;
            fc->cur_dt += (double)(t - fc->cur_t0);
            fc->cur_n++;
            return 0;
        }
        if (fc->n == FC_RING) {
            fc->head = (fc->head + 1) % FC_RING;
            fc->n--;
        }
        p = &fc->pts[(fc->head + fc->n) % FC_RING];
        /* the samples' mean time, so a straight line stays straight */
        p->t = fc->cur_t0 + (int64_t)(fc->cur_dt / fc->cur_n);
        p->v = fc->cur_sum / fc->cur_n;
        fc->n++;
        fc->cur_sum = 0;
        fc->cur_dt = 0;
        fc->cur_n = 0;
        closed = 1;
        /* the window slides with the newest sample */
        while (fc->n && point_at(fc, 0)->t < t - fc->window) {
            fc->head = (fc->head + 1) % FC_RING;
            fc->n--;
        }
    }
    if (fc->cur_n == 0)
        fc->cur_t0 = t;
    fc->cur = k;
    fc->cur_sum += v;
    fc->cur_dt += (double)(t - fc->cur_t0);
    fc->cur_n++;
    return closed;
}

/* Least squares over the points, x in seconds relative to now. */
static int
fit_line(const struct forecast *fc, int64_t now, double *a, double *b)
{
    double mx = 0, my = 0, sxx = 0, sxy = 0;
    uint32_t i;

    for (i = 0; i < fc->n; i++) {
        mx += (double)(point_at(fc, i)->t - now) / 1e9;
        my += point_at(fc, i)->v;
    }
    mx /= fc->n;
    my /= fc->n;
    for (i = 0; i < fc->n; i++) {
        double dx = (double)(point_at(fc, i)->t - now) / 1e9 - mx;

        sxx += dx * dx;
        sxy += dx * (point_at(fc, i)->v - my);
    }
    if (sxx <= 0)
        return -1;
    *b = sxy / sxx;
    *a = my - *b * mx;                  /* value at x = 0, now */
    return 0;
}

/*
 * Holt from the fitted line at the oldest point, so the trend needs no
 * warm-up; the small alpha and beta average over about a day of buckets
 * on a week-long window, which smooths daily cycles out of the trend.
 */
static void
fit_holt(const struct forecast *fc, int64_t now, double *level,
         double *trend)
{
    double a, b, l, x0, x;
    uint32_t i;

    if (fit_line(fc, now, &a, &b) < 0) {
        *level = point_at(fc, fc->n - 1)->v;
        *trend = 0;
        return;
    }
    x0 = (double)(point_at(fc, 0)->t - now) / 1e9;
    l = a + b * x0;
    for (i = 1; i < fc->n; i++) {
        double dt, nl;

        x = (double)(point_at(fc, i)->t - now) / 1e9;
        dt = x - x0;
        if (dt <= 0)
            continue;
        nl = HOLT_ALPHA * point_at(fc, i)->v +
             (1 - HOLT_ALPHA) * (l + b * dt);
        b = HOLT_BETA * (nl - l) / dt + (1 - HOLT_BETA) * b;
        l = nl;
        x0 = x;
    }
    *level = l + b * (0 - x0);
    *trend = b;
}

int64_t
forecast_eta(const struct forecast *fc, int method, double thr, int upward,
             int64_t now)
{
    double level, trend, gap, secs;

    /* a short history of a noisy series gives wild slopes */
    if (fc->n < FC_MIN_POINTS ||
        point_at(fc, fc->n - 1)->t - point_at(fc, 0)->t < fc->window / 4)
        return 0;
    if (method == METHOD_HOLT) {
        fit_holt(fc, now, &level, &trend);
    } else if (fit_line(fc, now, &level, &trend) < 0) {
        return 0;
    }
    if (upward ? level >= thr : level <= thr)
        return now;
    if (trend == 0 || (upward ? trend < 0 : trend > 0))
        return 0;
    gap = (thr - level) / trend;        /* seconds at the current trend */
    if (method == METHOD_HOLT) {
        /*
         * The damped trend adds trend * phi^(s/day) per second: the
         * integral up to s is trend * day * (1 - phi^(s/day)) / -ln(phi),
         * which never exceeds trend * day / -ln(phi).
         */
        double r = 1 - gap * -log(HOLT_PHI) / DAY_S;

        if (r <= 0)
            return 0;
        secs = DAY_S * log(r) / log(HOLT_PHI);
    } else {
        secs = gap;
    }
    if (!(secs >= 0) || secs > 1e9)    /* ~31 years: never, in effect */
        return 0;
    return now + (int64_t)(secs * 1e9);
}
