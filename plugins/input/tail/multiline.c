/*
 * tail: the multiline assembler.  Each mode is two regexes, one for the
 * lines that open a record and one for those that continue it:
 *   regex   a line matching multiline.start opens a record, any other line
 *           joins the pending one (or stands alone when none is pending);
 *   java    "at ...", "Caused by:", "Suppressed:" and "... N more" lines
 *           join the line before them;
 *   python  "Traceback (most recent call last):" opens a record, indented
 *           lines join it, the first unindented line (the exception) ends
 *           it;
 *   go      "panic:", "fatal error:" or "goroutine N [...]:" opens a block
 *           that blank, indented, "goroutine", "created by" and call lines
 *           ("main.main()") continue.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "multiline.h"

static const char JAVA_CONT[] =
    "^(\\s+at\\s|\\s*Caused by:|\\s*Suppressed:|\\s+\\.\\.\\.\\s*\\d+\\s)";
static const char PY_START[] = "^Traceback \\(most recent call last\\):\\s*$";
static const char PY_CONT[] = "^\\s";
static const char GO_START[] =
    "^(panic: |fatal error: |goroutine \\d+ \\[[^\\]]*\\]:)";
static const char GO_CONT[] =
    "^(\\s|$|goroutine \\d+ \\[[^\\]]*\\]:|created by |\\[signal |"
    "[\\w./*()-]+\\(.*\\)\\s*$)";

static pcre2_code *
compile(const char *re, const char *what, char *err, size_t errlen)
{
    pcre2_code *c;
    int ec;
    PCRE2_SIZE at;

    c = pcre2_compile((PCRE2_SPTR)re, PCRE2_ZERO_TERMINATED, PCRE2_UTF |
                      PCRE2_MATCH_INVALID_UTF, &ec, &at, NULL);
    if (!c) {
        PCRE2_UCHAR msg[160];

        pcre2_get_error_message(ec, msg, sizeof(msg));
        snprintf(err, errlen, "%s: bad regex at offset %zu: %s", what,
                 (size_t)at, (const char *)msg);
        return NULL;
    }
    /* Without JIT (some platforms) the interpreter still works. */
    (void)pcre2_jit_compile(c, PCRE2_JIT_COMPLETE);
    return c;
}

int
tail_ml_rules_init(struct tail_ml_rules *r, enum tail_ml_mode mode,
                   const char *start_re, size_t max_record, char *err,
                   size_t errlen)
{
    const char *s = NULL, *c = NULL;
    int rc = -EINVAL;

    memset(r, 0, sizeof(*r));
    r->mode = mode;
    r->max_record = max_record;
    switch (mode) {
    case TAIL_ML_NONE:
        return 0;
    case TAIL_ML_JAVA:
        c = JAVA_CONT;
        break;
    case TAIL_ML_PYTHON:
        s = PY_START;
        c = PY_CONT;
        break;
    case TAIL_ML_GO:
        s = GO_START;
        c = GO_CONT;
        break;
    case TAIL_ML_REGEX:
        s = start_re;
        break;
    }
    if (s && !(r->start = compile(s, "multiline.start", err, errlen)))
        goto fail;
    if (c && !(r->cont = compile(c, "multiline", err, errlen)))
        goto fail;
    if (!(r->md = pcre2_match_data_create(4, NULL))) {
        rc = -ENOMEM;
        goto fail;
    }
    return 0;
fail:
    tail_ml_rules_release(r);
    return rc;
}

void
tail_ml_rules_release(struct tail_ml_rules *r)
{
    pcre2_code_free(r->start);
    pcre2_code_free(r->cont);
    pcre2_match_data_free(r->md);
    memset(r, 0, sizeof(*r));
}

static int
match(const struct tail_ml_rules *r, pcre2_code *c, const char *p, size_t n)
{
    return pcre2_match(c, (PCRE2_SPTR)p, n, 0, 0, r->md, NULL) >= 0;
}

/* Appends a line to the pending record, cutting it at max_record. */
static void
append(struct tail_ml *m, const struct tail_ml_rules *r, const char *p,
       size_t n, int truncated, int newline)
{
    size_t need = n + (newline ? 1 : 0);

    m->truncated |= truncated;
    if (m->len + need > r->max_record) {
        m->truncated = 1;
        need = m->len < r->max_record ? r->max_record - m->len : 0;
    }
    /* nothing to add: an empty first line must not touch buf (NULL) */
    if (need == 0)
        return;
    if (m->len + need > m->cap) {
        size_t cap = m->cap ? m->cap : 256;

        while (cap < m->len + need)
            cap *= 2;
        m->buf = realloc(m->buf, cap);
        if (!m->buf)
            abort();
        m->cap = cap;
    }
    if (newline) {
        m->buf[m->len++] = '\n';
        need--;
    }
    memcpy(m->buf + m->len, p, need);
    m->len += need;
}

static void
begin(struct tail_ml *m, const struct tail_ml_rules *r, const char *p,
      size_t n, int truncated, uint64_t start, int64_t now)
{
    m->pending = 1;
    m->len = 0;
    m->truncated = 0;
    m->start = start;
    m->since = now;
    append(m, r, p, n, truncated, 0);
}

int
tail_ml_flush(struct tail_ml *m, tail_record_fn fn, void *arg)
{
    if (!m->pending)
        return 0;
    m->pending = 0;
    /* a record of one empty line may have no buffer yet */
    return fn(arg, m->buf ? m->buf : "", m->len, m->truncated);
}

int
tail_ml_feed(struct tail_ml *m, const struct tail_ml_rules *r,
             const char *p, size_t n, int truncated, uint64_t start,
             int64_t now, tail_record_fn fn, void *arg)
{
    int opens, rc;

    if (r->mode == TAIL_ML_NONE)
        return fn(arg, p, n, truncated);
    opens = r->start ? match(r, r->start, p, n) : 1;
    if (m->pending) {
        int joins = r->mode == TAIL_ML_REGEX ? !opens
                                             : match(r, r->cont, p, n);

        if (joins) {
            append(m, r, p, n, truncated, 1);
            m->since = now;
            return 0;
        }
        if (r->mode == TAIL_ML_PYTHON && !opens) {
            /* The exception line ends the traceback. */
            append(m, r, p, n, truncated, 1);
            return tail_ml_flush(m, fn, arg);
        }
        if ((rc = tail_ml_flush(m, fn, arg)) < 0)
            return rc;
    }
    if (opens) {
        begin(m, r, p, n, truncated, start, now);
        return 0;
    }
    return fn(arg, p, n, truncated);
}

void
tail_ml_reset(struct tail_ml *m)
{
    m->pending = 0;
    m->len = 0;
}

void
tail_ml_release(struct tail_ml *m)
{
    free(m->buf);
    memset(m, 0, sizeof(*m));
}
