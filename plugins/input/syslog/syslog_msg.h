/*
 * Pure syslog message parsers shared by the syslog input and the parse
 * filter: RFC 5424, RFC 3164 with its real-world variants, RFC 3339 time
 * stamps, and the mapping of a parsed message to log attributes.  Nothing
 * here allocates: fields point into the message or into the caller's
 * scratch buffer (unescaped structured data values).
 */
#ifndef VG_SYSLOG_MSG_H
#define VG_SYSLOG_MSG_H

#include <stddef.h>
#include <stdint.h>

#include <vigil/plugin.h>

#define SL_MAX_SD       32              /* structured data params kept */
#define SL_DEFAULT_PRI  13              /* user.notice, RFC 3164 4.3.3 */

enum sl_format {
    SL_RFC3164 = 1,
    SL_RFC5424,
};

struct sl_str {
    const char *p;                      /* NULL when absent ("-") */
    uint32_t    len;
};

struct sl_param {
    struct sl_str id;                   /* SD-ID                */
    struct sl_str name;                 /* PARAM-NAME           */
    struct sl_str value;                /* unescaped PARAM-VALUE */
};

struct sl_msg {
    int             format;             /* enum sl_format                  */
    int             facility;           /* 0..23                           */
    int             severity;           /* syslog severity 0..7            */
    int64_t         time;               /* ns since the epoch; 0 = none    */
    struct sl_str   host;
    struct sl_str   app;
    struct sl_str   procid;
    struct sl_str   msgid;
    struct sl_str   msg;                /* the text; whole input on error  */
    struct sl_param sd[SL_MAX_SD];
    uint32_t        nsd;
    int             error;              /* the input broke its format      */
};

/*
 * Parses one message p[0..len) (no framing, no trailing newline).  now (ns)
 * is the receive time: RFC 3164 stamps have no year, which is inferred
 * from it, and no zone, so they are read in the local zone.  scratch must
 * hold len bytes: unescaped SD values are written there.  Returns 0, or
 * -EINVAL with m->error set, m->msg the whole input and the priority kept
 * when it could be read: a malformed message is never lost.
 */
int sl_parse(const char *p, size_t len, int64_t now, char *scratch,
             struct sl_msg *m);

/*
 * Reads an RFC 3339 time stamp at p[0..len): YYYY-MM-DD(T| )HH:MM:SS
 * [.frac](Z|+hh:mm|-hh:mm).  Without zone it fails unless local_ok, and is
 * then read in the local zone.  Sets *ns and *used; 0 or -EINVAL.
 */
int sl_time_rfc3339(const char *p, size_t len, int local_ok, int64_t *ns,
                    size_t *used);

/* The OpenTelemetry severity number of syslog severity 0..7. */
uint32_t sl_severity_otel(int severity);

/* The facility's name ("kern", "local7"), or NULL out of range. */
const char *sl_facility_name(int facility);

/* Seconds that fit in int64 nanoseconds (years 1678..2262). */
#define SL_SECS_OK(t) ((t) > -INT64_C(9223372035) && (t) < INT64_C(9223372035))

/* Days since 1970-01-01 of a proleptic Gregorian date (month 1..12). */
int64_t sl_days_from_civil(int64_t y, unsigned m, unsigned d);

#define SL_HOST_ATTR 0x1u               /* hostname as syslog.hostname */

/*
 * Appends m's fields as attributes to kv[*n..cap): syslog.facility,
 * syslog.appname, syslog.procid, syslog.msgid, sd.ID.PARAM, with
 * SL_HOST_ATTR also syslog.hostname, and parse_error when m->error.
 * Keys of SD params are built in keybuf (keycap bytes; params that do not
 * fit are left out).  Values borrow m and its scratch buffer.
 */
void sl_msg_attrs(const struct sl_msg *m, unsigned flags, struct vg_kv *kv,
                  uint32_t *n, uint32_t cap, char *keybuf, size_t keycap);

/* Upper bound of attributes sl_msg_attrs adds. */
#define SL_MAX_ATTRS (SL_MAX_SD + 6)

#endif
