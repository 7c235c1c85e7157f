/*
 * The agent's log: one line per message on stderr (or syslog), with time,
 * level and who speaks ("core", "output[file#1]").  The level is checked
 * before anything is formatted.  A message that repeats from the same place
 * is rate-limited: a burst goes through, the rest are counted and the count
 * is reported with the next one that passes.
 */
#ifndef VG_LOG_H
#define VG_LOG_H

#include <stdarg.h>

#include <vigil/plugin.h>

#include "util.h"

extern int vg_log_threshold;            /* enum vg_log_level */

static inline int vg_log_on(int level)
{
    return level <= vg_log_threshold;
}

/* "error", "warn", "info", "debug", "trace" -> level, or -1. */
int  vg_log_parse_level(const char *s);
const char *vg_log_level_name(int level);
void vg_log_set_level(int level);
void vg_log_use_syslog(int on);

/*
 * Logs fmt for `who` (NULL = "core").  `site` identifies the call place
 * for rate limiting (the format string pointer is a good one).
 */
void vg_log_who(int level, const char *who, const void *site,
                const char *fmt, ...) VG_FMT(4, 5);
void vg_log_whov(int level, const char *who, const void *site,
                 const char *fmt, va_list ap) VG_FMT(4, 0);

#define vg_core_log(level, ...) \
    do { \
        if (vg_log_on(level)) \
            vg_log_who(level, NULL, __FILE__ ":" VG_STR(__LINE__), \
                       __VA_ARGS__); \
    } while (0)
#define VG_STR_(x) #x
#define VG_STR(x) VG_STR_(x)

#endif
