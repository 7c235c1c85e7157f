/*
 * input prometheus: the exposition format parser, Prometheus text 0.0.4
 * and OpenMetrics 1.0, fed a page in pieces of any size as it arrives.
 * Whole lines of a piece are read in place; only a line cut by the end
 * of a piece is copied, and kept until its newline comes (at most
 * max_line bytes: a longer line is reported malformed and skipped).
 * Label values with escapes are decoded into a scratch buffer.  Samples
 * are reported through callbacks as soon as their line is complete; only
 * a histogram family is held, from its first line to its last, because
 * its buckets, _sum and _count make one event per label set.  The result
 * does not depend on where the pieces are cut.  Pure: no vg_* call, so
 * the unit tests compile it in.
 */
#ifndef VG_PROM_PARSE_H
#define VG_PROM_PARSE_H

#include <stddef.h>
#include <stdint.h>

#define PROM_MAX_LABELS   64            /* labels of one sample       */
#define PROM_MAX_BUCKETS  1024          /* buckets of one histogram   */
#define PROM_MAX_LINE     (1024 * 1024) /* default max_line, bytes    */

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
 * The longest line read, in bytes before its newline (a '\r' counts);
 * a longer one is reported malformed with its first max bytes and
 * skipped up to its newline.  Default PROM_MAX_LINE; at least 64.
 */
void prom_parser_set_max_line(struct prom_parser *p, size_t max);

/*
 * Streaming: begin, feed the page's bytes in pieces cut anywhere, end.
 * begin starts a page (dropping what an unfinished one held);
 * openmetrics selects the format: OpenMetrics time stamps are in
 * seconds, 0.0.4 ones in ms.  feed reads the lines the piece completes;
 * end reads a last line without a newline and reports the histograms
 * still held.  Both return the samples read by that call (each bucket,
 * _sum, _count counts one, as Prometheus's scrape_samples_scraped does),
 * or -ENOMEM (the page is then over: later feeds read nothing).  Lines
 * past an OpenMetrics "# EOF" line are not read.  reset drops an
 * unfinished page without reporting more (for a cut transfer).
 */
void prom_parser_begin(struct prom_parser *p, int openmetrics);
long prom_parser_feed(struct prom_parser *p, const char *data, size_t len);
long prom_parser_end(struct prom_parser *p);
void prom_parser_reset(struct prom_parser *p);

/* A whole page body[0..len): begin, one feed, end; the sum of their
 * sample counts, or -ENOMEM. */
long prom_parse(struct prom_parser *p, const char *body, size_t len,
                int openmetrics);

/* True when body's last line is OpenMetrics' "# EOF" (a whole page). */
int prom_is_openmetrics(const char *body, size_t len);

/* True when an HTTP Content-Type value names OpenMetrics text. */
int prom_content_type_is_openmetrics(const char *content_type);

#endif /* VG_PROM_PARSE_H */
