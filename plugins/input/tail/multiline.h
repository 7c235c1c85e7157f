/*
 * tail: the multiline assembler.  Lines go in one by one; records (one or
 * more lines joined with "\n") come out through a callback.  A record is
 * held while more lines may join it, so the reader's safe offset is the
 * start of the pending record (tail_ml_safe()).
 */
#ifndef VG_TAIL_MULTILINE_H
#define VG_TAIL_MULTILINE_H

#include <stddef.h>
#include <stdint.h>

#define PCRE2_CODE_UNIT_WIDTH 8
#include <pcre2.h>

enum tail_ml_mode {
    TAIL_ML_NONE = 0,
    TAIL_ML_JAVA,
    TAIL_ML_PYTHON,
    TAIL_ML_GO,
    TAIL_ML_REGEX,                      /* multiline.start */
};

/* A finished record: n bytes at p, valid during the call only. */
typedef int (*tail_record_fn)(void *arg, const char *p, size_t n,
                              int truncated);

/* The compiled rules, shared by every file of an instance. */
struct tail_ml_rules {
    enum tail_ml_mode  mode;
    pcre2_code        *start;           /* a line that opens a record   */
    pcre2_code        *cont;            /* a line that joins one        */
    pcre2_match_data  *md;
    size_t             max_record;      /* bytes; longer ones are cut   */
};

/* One file's pending record. */
struct tail_ml {
    char     *buf;
    size_t    len, cap;
    int       pending;                  /* a record is being built      */
    int       truncated;
    uint64_t  start;                    /* file offset of its first line */
    int64_t   since;                    /* ns: when its last line came  */
};

/*
 * Compiles the rules of `mode` (`start_re` for TAIL_ML_REGEX).  On error
 * returns -EINVAL with a message in err.
 */
int tail_ml_rules_init(struct tail_ml_rules *r, enum tail_ml_mode mode,
                       const char *start_re, size_t max_record, char *err,
                       size_t errlen);
void tail_ml_rules_release(struct tail_ml_rules *r);

/*
 * Feeds one line that starts at file offset `start`, read at time `now`
 * (ns).  Emits through fn the records it completes (maybe none, maybe
 * two: the pending one and this line alone).  Returns 0 or fn's error.
 */
int tail_ml_feed(struct tail_ml *m, const struct tail_ml_rules *r,
                 const char *p, size_t n, int truncated, uint64_t start,
                 int64_t now, tail_record_fn fn, void *arg);

/* Emits the pending record, if any (timeout, rotation, end of input). */
int tail_ml_flush(struct tail_ml *m, tail_record_fn fn, void *arg);

/* Drops the pending record (the file was truncated under it). */
void tail_ml_reset(struct tail_ml *m);

/* Whether a record is pending, and from where a reader must resume. */
static inline int tail_ml_pending(const struct tail_ml *m)
{ return m->pending; }

void tail_ml_release(struct tail_ml *m);

#endif
