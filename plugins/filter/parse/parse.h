/*
 * Pure readers of the parse filter: JSON (flattened to dotted keys),
 * logfmt, combined access logs, time stamps and severity words.  They
 * write typed attributes into a sink whose strings point into the input
 * or into the sink's own blocks; block memory never moves, so every
 * pointer stays valid until the sink is reset.
 */
#ifndef VG_PARSE_H
#define VG_PARSE_H

#include <stddef.h>
#include <stdint.h>

#include <vigil/plugin.h>

struct pa_block;

struct pa_sink {
    struct vg_kv    *kv;
    uint32_t         n;
    uint32_t         cap;
    struct pa_block *head;              /* every block, reused on reset */
    struct pa_block *cur;               /* the one being filled */
    int64_t          time;              /* ns; set when has_time */
    int              has_time;
};

void pa_sink_init(struct pa_sink *s);
/* Forgets the attributes and bytes of the last event; keeps the memory. */
void pa_sink_reset(struct pa_sink *s);
void pa_sink_release(struct pa_sink *s);
/* n bytes that stay put until the next reset; NULL when out of memory. */
char *pa_sink_alloc(struct pa_sink *s, size_t n);

/* Add an attribute; key and string value are borrowed.  0 or -ENOMEM. */
int pa_add_str(struct pa_sink *s, const char *key, size_t klen,
               const char *v, size_t vlen);
int pa_add_int(struct pa_sink *s, const char *key, size_t klen, int64_t v);
int pa_add_double(struct pa_sink *s, const char *key, size_t klen,
                  double v);
int pa_add_bool(struct pa_sink *s, const char *key, size_t klen, int v);

/*
 * JSON object -> attributes: nested objects flattened as "a.b.c", arrays
 * kept as their JSON text, integers as INT (DOUBLE when they overflow or
 * have a fraction or exponent), true/false as BOOL; null is left out.
 * Returns 0, -EINVAL on anything that is not one JSON object (the sink may
 * then hold part of it: reset it), -ENOMEM.
 */
int pa_json(const char *p, size_t len, struct pa_sink *s);

/* logfmt: key=value, key="quoted \"value\"", a bare key is true. */
int pa_logfmt(const char *p, size_t len, struct pa_sink *s);

/*
 * A combined access log line, as nginx and Apache write it:
 * remote_addr, user, time, method, path, protocol, status, bytes,
 * referer, user_agent; sets the sink's time from [time].
 */
int pa_access_log(const char *p, size_t len, struct pa_sink *s);

/* "10/Oct/2000:13:55:36 -0700" -> ns; 0 or -EINVAL. */
int pa_time_clf(const char *p, size_t len, int64_t *ns);

enum pa_time_kind {
    PA_TIME_STRPTIME,
    PA_TIME_RFC3339,
    PA_TIME_EPOCH,                      /* seconds, may have a fraction */
    PA_TIME_EPOCH_MS,
};

struct pa_zone {
    int     local;                      /* the host's zone */
    long    offset;                     /* else seconds east of UTC */
};

/* "UTC", "local", "+02:00", "-0530"; 0 or -EINVAL. */
int pa_zone_parse(const char *s, struct pa_zone *z);

/*
 * Reads the time stamp s[0..n) of the given kind (fmt: a strptime format
 * for PA_TIME_STRPTIME; %z in it overrides the zone); a stamp without its
 * own zone is in zone z.  0 or -EINVAL.
 */
int pa_time_parse(int kind, const char *fmt, const struct pa_zone *z,
                  const char *s, size_t n, int64_t *ns);

/* OTel severity number of a word (info, WARNING, err, crit...), or 0. */
uint32_t pa_severity_word(const char *s, size_t n);

enum pa_cast_type {
    PA_CAST_STR,
    PA_CAST_INT,
    PA_CAST_DOUBLE,
    PA_CAST_BOOL,
};

/* Casts a string attribute in place; one that does not read stays a
 * string.  0, or -EINVAL when it did not read. */
int pa_cast(struct vg_kv *kv, int type);

#endif
