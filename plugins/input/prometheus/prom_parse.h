/*
 * input prometheus: the exposition format parser, Prometheus text 0.0.4
 * and OpenMetrics 1.0.  Lines are read in place (label values with
 * escapes are decoded into a scratch buffer), samples are reported
 * through callbacks as soon as they are complete; only a histogram
 * family is held, from its first line to its last, because its buckets,
 * _sum and _count make one event per label set.  Pure: no vg_* call, so
 * the unit tests compile it in.
 */
#ifndef VG_PROM_PARSE_H
#define VG_PROM_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PROM_MAX_LABELS   64            /* labels of one sample       */
#define PROM_MAX_BUCKETS  1024          /* buckets of one histogram   */

struct prom_label {
    const char *name;
    uint32_t    name_len;
    const char *value;                  /* unescaped; not NUL-ended   */
    uint32_t    value_len;
};

/*
 * What the parser reports; borrowed strings are valid for the call.
 * name is NUL-terminated.  ts is ns since the epoch, or 0 when the
 * sample had no time stamp.
 */
struct prom_out {
    void *arg;
    /* counter: 1 for counters and the _sum and _count of summaries */
    void (*metric)(void *arg, const char *name,
                   const struct prom_label *labels, uint32_t nlabels,
                   int counter, double value, int64_t ts);
    /* bounds ascending, the last +Inf; counts per bucket (not
     * cumulative); sum 0 when the family had no _sum */
    void (*histogram)(void *arg, const char *name,
                      const struct prom_label *labels, uint32_t nlabels,
                      const double *bounds, const uint64_t *counts,
                      uint32_t nbuckets, double sum, uint64_t count,
                      int64_t ts);
    /* a line that cannot be read: skipped, the rest goes on */
    void (*malformed)(void *arg, const char *line, size_t len,
                      const char *why);
};

struct prom_parser;

/* Returns a new parser, or NULL on ENOMEM. */
struct prom_parser *prom_parser_new(const struct prom_out *out);
void prom_parser_free(struct prom_parser *p);      /* NULL is a no-op */

/*
 * Parses a whole page body[0..len).  openmetrics selects the format:
 * OpenMetrics time stamps are in seconds, 0.0.4 ones in ms.  Returns the
 * samples read (each bucket, _sum, _count counts one, as Prometheus's
 * scrape_samples_scraped does), or -ENOMEM.
 */
long prom_parse(struct prom_parser *p, const char *body, size_t len,
                int openmetrics);

/* True when body's last line is OpenMetrics' "# EOF". */
int prom_is_openmetrics(const char *body, size_t len);

#endif /* VG_PROM_PARSE_H */
