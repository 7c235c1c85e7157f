/*
 * input statsd: the line parser.  One StatsD or DogStatsD line,
 * "name:v[:v...]|type[|@rate][|#tag,k:v][|other...]", becomes a struct
 * sd_metric whose strings point into the caller's line (nothing is
 * copied, nothing allocated).  Pure: no vg_* call, so the unit tests
 * compile it in.
 */
#ifndef VG_SD_LINE_H
#define VG_SD_LINE_H

#include <stddef.h>
#include <stdint.h>

#define SD_MAX_VALUES 64                /* values of one multi-value line */
#define SD_MAX_TAGS   32                /* tags of one line               */

enum sd_type {
    SD_COUNTER = 1,                     /* c  */
    SD_GAUGE,                           /* g  */
    SD_TIMER,                           /* ms */
    SD_HISTOGRAM,                       /* h  */
    SD_DISTRIBUTION,                    /* d  */
    SD_SET,                             /* s  */
};

struct sd_str {
    const char *p;
    size_t      len;
};

struct sd_tag {
    struct sd_str key;
    struct sd_str value;                /* "true" for a tag without ':' */
};

struct sd_metric {
    struct sd_str name;
    int           type;                 /* enum sd_type                  */
    double        rate;                 /* sample rate, (0, 1]; 1 if none */
    uint32_t      nvalues;
    double        values[SD_MAX_VALUES];    /* all but sets              */
    struct sd_str raw[SD_MAX_VALUES];       /* the value texts           */
    uint64_t      delta;                /* gauges: bit i set when value i
                                           had a sign, so is a change    */
    uint32_t      ntags;
    struct sd_tag tags[SD_MAX_TAGS];
};

/*
 * Parses line[0..len) (no newline) into m.  Returns 0; 1 for a line that
 * is valid but carries no metric (empty, a DogStatsD event "_e{" or
 * service check "_sc|"); or -EINVAL with *why set to a static reason.
 */
int sd_parse_line(const char *line, size_t len, struct sd_metric *m,
                  const char **why);

/* The value text as a finite double: 0 or -EINVAL.  Exposed for tests. */
int sd_parse_double(const char *p, size_t len, double *out);

#endif /* VG_SD_LINE_H */
