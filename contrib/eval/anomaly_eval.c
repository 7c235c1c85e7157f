/*
 * Evaluation harness of the anomaly filter's detector: reads labelled
 * series as "ID,SECONDS,VALUE" lines on stdin (one series after the other)
 * and prints one "ID,INDEX" line per alert that would fire, with the
 * filter's fire/resolve rule (fire when the alarm value rises above the
 * threshold, resolve at or below it).  Parameters as NAME=VALUE arguments
 * override the filter's defaults: warmup, season (seconds), scale_z,
 * diff_weight, hold, threshold, combine (0 min, 1 max).
 * ANOM_TRACE=1 in the environment prints every score to stderr.
 * With "bench" as the first argument it times the detector instead.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "detect.h"

static void
set_param(struct anom_params *p, const char *arg)
{
    const char *eq = strchr(arg, '=');
    double v;

    if (!eq) {
        fprintf(stderr, "bad argument '%s'\n", arg);
        exit(2);
    }
    v = atof(eq + 1);
    if (!strncmp(arg, "warmup=", 7))
        p->warmup = (uint32_t)v;
    else if (!strncmp(arg, "season=", 7))
        p->season = (int64_t)(v * 1e9);
    else if (!strncmp(arg, "scale_z=", 8))
        p->scale_z = v;
    else if (!strncmp(arg, "diff_weight=", 12))
        p->diff_weight = v;
    else if (!strncmp(arg, "hold=", 5))
        p->hold = (uint32_t)v;
    else if (!strncmp(arg, "threshold=", 10))
        p->threshold = v;
    else if (!strncmp(arg, "calib_rate=", 11))
        p->calib_rate = v;
    else if (!strncmp(arg, "walk_ratio=", 11))
        p->walk_ratio = v;
    else if (!strncmp(arg, "combine=", 8))
        p->combine = (int)v;
    else {
        fprintf(stderr, "unknown parameter '%s'\n", arg);
        exit(2);
    }
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + ts.tv_nsec / 1e9;
}

/* Samples/s through the detector: nseries series, round-robin. */
static int
bench(const struct anom_params *p, long nseries, long total)
{
    struct anom_table tb;
    uint64_t rng = 88172645463325252ULL;
    double t0, dt, sink = 0;
    long i;

    if (anom_table_init(&tb, (size_t)nseries) < 0)
        return 1;
    t0 = now_s();
    for (i = 0; i < total; i++) {
        long sid = i % nseries;
        int created;
        struct anom_det *d = anom_table_get(&tb, (uint64_t)sid * 2654435761u
                                            + 1, &created);
        double x, alarm;

        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        x = 100 + (double)(rng % 1000) / 100.0;
        sink += anom_det_update(d, p, (int64_t)(i / nseries) * 60000000000LL,
                                x, &alarm);
    }
    dt = now_s() - t0;
    printf("series=%ld samples=%ld seconds=%.3f samples_per_s=%.0f "
           "ns_per_sample=%.1f bytes_per_series=%zu (checksum %.3f)\n",
           nseries, total, dt, total / dt, dt * 1e9 / total,
           sizeof(struct anom_slot), sink);
    anom_table_release(&tb);
    return 0;
}

int
main(int argc, char **argv)
{
    struct anom_params p;
    struct anom_det *d = malloc(sizeof(*d));
    char line[256], cur[256] = "";
    long idx = 0;
    int firing = 0, i, trace = getenv("ANOM_TRACE") != NULL;

    anom_params_default(&p);
    if (argc >= 2 && !strcmp(argv[1], "bench")) {
        long ns = argc > 2 ? atol(argv[2]) : 1000;
        long total = argc > 3 ? atol(argv[3]) : 20000000;

        return bench(&p, ns, total);
    }
    for (i = 1; i < argc; i++)
        set_param(&p, argv[i]);
    while (fgets(line, sizeof(line), stdin)) {
        char *c1 = strchr(line, ','), *c2;
        double secs, v, alarm, score;

        if (!c1 || !(c2 = strchr(c1 + 1, ',')))
            continue;
        *c1 = '\0';
        if (strcmp(line, cur) != 0) {
            snprintf(cur, sizeof(cur), "%s", line);
            anom_det_init(d);
            idx = 0;
            firing = 0;
        }
        secs = atof(c1 + 1);
        v = atof(c2 + 1);
        score = anom_det_update(d, &p, (int64_t)(secs * 1e9), v, &alarm);
        if (trace)
            fprintf(stderr, "%s,%ld,%g,%.3f,%.3f\n", cur, idx, v, score,
                    alarm);
        if (!firing && alarm > p.threshold) {
            firing = 1;
            printf("%s,%ld\n", cur, idx);
        } else if (firing && alarm <= p.threshold) {
            firing = 0;
        }
        idx++;
    }
    free(d);
    return 0;
}
