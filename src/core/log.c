/*
 * Log lines and their rate limit.  The limit is kept per (who, site): a
 * small table, so a storm from one place cannot hide messages from another.
 */
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include "log.h"

int vg_log_threshold = VG_LOG_INFO;
static int use_syslog;

#define BURST       5                   /* messages per window per site */
#define WINDOW      (10 * VG_SECOND)
#define SLOTS       64

struct site_state {
    const char *who;
    const void *site;
    int64_t     window_start;           /* mono ns */
    unsigned    sent;
    unsigned    suppressed;
};

static struct site_state sites[SLOTS];

static const char *const level_names[] = {
    [VG_LOG_ERROR] = "error", [VG_LOG_WARN] = "warn", [VG_LOG_INFO] = "info",
    [VG_LOG_DEBUG] = "debug", [VG_LOG_TRACE] = "trace",
};

int
vg_log_parse_level(const char *s)
{
    int i;

    for (i = VG_LOG_ERROR; i <= VG_LOG_TRACE; i++)
        if (strcasecmp(s, level_names[i]) == 0)
            return i;
    if (strcasecmp(s, "warning") == 0)
        return VG_LOG_WARN;
    return -1;
}

const char *
vg_log_level_name(int level)
{
    if (level < VG_LOG_ERROR || level > VG_LOG_TRACE)
        return "?";
    return level_names[level];
}

void
vg_log_set_level(int level)
{
    vg_log_threshold = level;
}

void
vg_log_use_syslog(int on)
{
    if (on && !use_syslog)
        openlog("vigil", LOG_PID | LOG_NDELAY, LOG_DAEMON);
    use_syslog = on;
}

/* Returns how many earlier messages were suppressed (to report), or -1 to
 * suppress this one. */
static long
rate_check(const char *who, const void *site)
{
    unsigned h = (unsigned)(((uintptr_t)who >> 4) ^ ((uintptr_t)site >> 3));
    struct site_state *s = &sites[h % SLOTS];
    int64_t now = vg_mono_ns();
    long report = 0;

    if (s->who != who || s->site != site) {
        s->who = who;           /* evict: a collision only resets a count */
        s->site = site;
        s->window_start = now;
        s->sent = 0;
        s->suppressed = 0;
    }
    if (now - s->window_start >= WINDOW) {
        report = s->suppressed;
        s->window_start = now;
        s->sent = 0;
        s->suppressed = 0;
    }
    if (s->sent >= BURST) {
        s->suppressed++;
        return -1;
    }
    s->sent++;
    return report;
}

static int
syslog_priority(int level)
{
    switch (level) {
    case VG_LOG_ERROR: return LOG_ERR;
    case VG_LOG_WARN:  return LOG_WARNING;
    case VG_LOG_INFO:  return LOG_INFO;
    default:           return LOG_DEBUG;
    }
}

void
vg_log_whov(int level, const char *who, const void *site, const char *fmt,
            va_list ap)
{
    char msg[2048], stamp[48];
    long suppressed;

    if (!vg_log_on(level))
        return;
    if (!who)
        who = "core";
    suppressed = rate_check(who, site);
    if (suppressed < 0)
        return;
    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (use_syslog) {
        if (suppressed)
            syslog(syslog_priority(level), "%s: %s (%ld similar messages "
                   "suppressed)", who, msg, suppressed);
        else
            syslog(syslog_priority(level), "%s: %s", who, msg);
        return;
    }
    vg_format_time(vg_wall_ns(), stamp, sizeof(stamp));
    stamp[23] = 'Z';            /* milliseconds are enough for a log */
    stamp[24] = '\0';
    if (suppressed)
        fprintf(stderr, "%s %-5s %s: %s (%ld similar messages suppressed)\n",
                stamp, level_names[level], who, msg, suppressed);
    else
        fprintf(stderr, "%s %-5s %s: %s\n", stamp, level_names[level], who,
                msg);
}

void
vg_log_who(int level, const char *who, const void *site, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vg_log_whov(level, who, site, fmt, ap);
    va_end(ap);
}
