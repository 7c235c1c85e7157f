/*
 * Encoders of the postgres output: COPY text rows, JSON for jsonb columns,
 * timestamps.  Pure functions over a growable buffer, so they are unit
 * tested without a server.  Every string that reaches PostgreSQL is made
 * valid UTF-8 here: a byte that is not valid UTF-8 becomes the code point
 * of its value (as vigil's JSON lines do) and a NUL, which no text or
 * jsonb value may hold, becomes U+FFFD.
 */
#ifndef VG_PG_COPY_H
#define VG_PG_COPY_H

#include <stddef.h>
#include <stdint.h>

#include <vigil/plugin.h>

struct pg_buf {
    char   *data;
    size_t  len;
    size_t  cap;
};

void pg_buf_release(struct pg_buf *b);      /* frees; b is reusable */
int  pg_buf_reserve(struct pg_buf *b, size_t extra);
int  pg_buf_add(struct pg_buf *b, const void *p, size_t n);
int  pg_buf_addstr(struct pg_buf *b, const char *s);
int  pg_buf_addc(struct pg_buf *b, char c);
int  pg_buf_addz(struct pg_buf *b);          /* a NUL, counted in len */

/* Days since the epoch (UTC) of a time in ns, rounded down. */
int64_t pg_day_of(int64_t ns);
/* "YYYYMMDD" of a day number, into out[9]. */
void pg_day_name(int64_t day, char out[9]);
/* "YYYY-MM-DD" of a day number, into out[11]. */
void pg_day_date(int64_t day, char out[11]);

/* "YYYY-MM-DD HH:MM:SS.uuuuuu+00" (microseconds: PostgreSQL's unit). */
int pg_put_time(struct pg_buf *b, int64_t ns);
/* RFC 3339 with nanoseconds, as vigil's JSON lines write it. */
int pg_put_rfc3339(struct pg_buf *b, int64_t ns);
/* A float8 as PostgreSQL reads it back exactly: NaN, Infinity, %.17g. */
int pg_put_double(struct pg_buf *b, double d);
int pg_put_int(struct pg_buf *b, int64_t v);

/* Text made valid UTF-8, then escaped for a COPY text field. */
int pg_copy_text(struct pg_buf *b, const char *s, size_t len);
/* Text made valid UTF-8, not escaped: for query parameters. */
int pg_utf8_text(struct pg_buf *b, const char *s, size_t len);
/* Bytes escaped for a COPY text field (\\, \t, \n, \r), unchanged else. */
int pg_copy_escape(struct pg_buf *b, const char *s, size_t len);

/* A JSON string (quotes included) of valid UTF-8 that jsonb accepts. */
int pg_json_string(struct pg_buf *b, const char *s, size_t len);
/* {"k":"v",...} of string labels. */
int pg_json_labels(struct pg_buf *b, const struct vg_kv *kv, uint32_t n);
/* {"k":value,...} of typed attributes; NaN and infinities as strings. */
int pg_json_attrs(struct pg_buf *b, const struct vg_kv *kv, uint32_t n);

/* Lower-case severity name of an OpenTelemetry number; NULL for 0. */
const char *pg_severity_text(uint32_t severity);
const char *pg_alert_severity_text(uint32_t severity);

/* COPY text rows (newline included) of the vigil tables. */
int pg_copy_sample(struct pg_buf *b, const struct vg_event *ev,
                   int64_t series_id);
int pg_copy_histogram(struct pg_buf *b, const struct vg_event *ev,
                      int64_t series_id);
/* tmp is scratch for the jsonb columns. */
int pg_copy_log(struct pg_buf *b, struct pg_buf *tmp,
                const struct vg_event *ev, const char *source);

/*
 * COPY ... WITH (FORMAT binary): the header before the first row, the
 * trailer after the last, and rows of vigil_samples and vigil_logs (same
 * columns as the text rows).  The server parses no text: a timestamptz is
 * int64 microseconds since 2000-01-01, a float8 its IEEE bits, a jsonb a
 * version byte and the JSON text, all big-endian.
 */
int pg_bin_header(struct pg_buf *b);
int pg_bin_trailer(struct pg_buf *b);
int pg_bin_sample(struct pg_buf *b, const struct vg_event *ev,
                  int64_t series_id);
int pg_bin_log(struct pg_buf *b, const struct vg_event *ev,
               const char *source);

#endif /* VG_PG_COPY_H */
