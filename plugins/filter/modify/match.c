/*
 * The modify filter's glob matcher and unit table.  Patterns are analysed
 * once: most real patterns ("tmp_*", "system.cpu.*", "*_bytes") reduce to
 * one memcmp; only the rest pay for the general matcher, which is linear
 * in practice (one backtrack point: the last '*').
 */
#define _GNU_SOURCE                     /* memmem */
#include <errno.h>
#include <string.h>

#include "match.h"

void
mt_glob_compile(struct mt_glob *g, const char *pattern)
{
    size_t n = strlen(pattern), stars = 0, i;
    int lead, trail;

    g->pat = pattern;
    g->pat_len = n;
    for (i = 0; i < n; i++) {
        if (pattern[i] == '?')
            break;
        stars += pattern[i] == '*';
    }
    lead = n > 0 && pattern[0] == '*';
    trail = n > 1 && pattern[n - 1] == '*';
    g->lit = pattern + lead;
    g->lit_len = n - (size_t)lead - (size_t)(trail && n > 1);
    /* has a '?'; the general matcher also ends the chain below */
    if (i < n)
        g->kind = MT_GENERAL;   /* NOLINT(bugprone-branch-clone) */
    else if (n == 1 && lead)
        g->kind = MT_ANY;
    else if (stars == 0)
        g->kind = MT_EXACT;
    else if (stars == 1 && trail)
        g->kind = MT_PREFIX;
    else if (stars == 1 && lead)
        g->kind = MT_SUFFIX;
    else if (stars == 2 && lead && trail)
        g->kind = MT_CONTAINS;
    else
        g->kind = MT_GENERAL;
    if (g->kind == MT_CONTAINS && g->lit_len == 0)
        g->kind = MT_ANY;               /* "**" */
}

static int
general_match(const char *p, size_t pn, const char *s, size_t n)
{
    size_t pi = 0, si = 0, star_p = (size_t)-1, star_s = 0;

    while (si < n) {
        if (pi < pn && (p[pi] == '?' || p[pi] == s[si])) {
            pi++;
            si++;
        } else if (pi < pn && p[pi] == '*') {
            star_p = pi++;
            star_s = si;
        } else if (star_p != (size_t)-1) {
            pi = star_p + 1;
            si = ++star_s;
        } else {
            return 0;
        }
    }
    while (pi < pn && p[pi] == '*')
        pi++;
    return pi == pn;
}

int
mt_glob_match(const struct mt_glob *g, const char *s, size_t n)
{
    switch (g->kind) {
    case MT_ANY:
        return 1;
    case MT_EXACT:
        return n == g->lit_len && memcmp(s, g->lit, n) == 0;
    case MT_PREFIX:
        return n >= g->lit_len && memcmp(s, g->lit, g->lit_len) == 0;
    case MT_SUFFIX:
        return n >= g->lit_len &&
               memcmp(s + n - g->lit_len, g->lit, g->lit_len) == 0;
    case MT_CONTAINS:
        return memmem(s, n, g->lit, g->lit_len) != NULL;
    default:
        return general_match(g->pat, g->pat_len, s, n);
    }
}

enum quantity { Q_BYTES, Q_TIME, Q_RATIO };

static const struct unit {
    const char *name;
    int         q;                      /* enum quantity */
    double      base;                   /* in bytes, seconds, ratio */
} units[] = {
    { "bits", Q_BYTES, 0.125 }, { "bit", Q_BYTES, 0.125 },
    { "bytes", Q_BYTES, 1 }, { "byte", Q_BYTES, 1 }, { "B", Q_BYTES, 1 },
    { "kB", Q_BYTES, 1e3 }, { "KB", Q_BYTES, 1e3 }, { "MB", Q_BYTES, 1e6 },
    { "GB", Q_BYTES, 1e9 }, { "TB", Q_BYTES, 1e12 },
    { "KiB", Q_BYTES, 1024. }, { "MiB", Q_BYTES, 1048576. },
    { "GiB", Q_BYTES, 1073741824. }, { "TiB", Q_BYTES, 1099511627776. },
    { "ns", Q_TIME, 1e-9 }, { "us", Q_TIME, 1e-6 }, { "ms", Q_TIME, 1e-3 },
    { "s", Q_TIME, 1 }, { "min", Q_TIME, 60 }, { "h", Q_TIME, 3600 },
    { "d", Q_TIME, 86400 },
    { "ratio", Q_RATIO, 1 }, { "percent", Q_RATIO, 0.01 },
    { "%", Q_RATIO, 0.01 },
    { NULL, 0, 0 },
};

static const struct unit *
unit_find(const char *name)
{
    const struct unit *u;

    for (u = units; u->name; u++)
        if (strcmp(u->name, name) == 0)
            return u;
    return NULL;
}

int
mt_unit_factor(const char *from, const char *to, double *factor)
{
    const struct unit *a = unit_find(from), *b = unit_find(to);

    if (!a || !b || a->q != b->q)
        return -EINVAL;
    *factor = a->base / b->base;
    return 0;
}
