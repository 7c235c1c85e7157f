/*
 * Pure helpers of the modify filter: glob patterns compiled once into the
 * cheapest test that decides them (equal, prefix, suffix, substring, or a
 * general '*'/'?' matcher), and unit conversion factors.
 */
#ifndef VG_MODIFY_MATCH_H
#define VG_MODIFY_MATCH_H

#include <stddef.h>

enum mt_glob_kind {
    MT_ANY,                             /* "*"            */
    MT_EXACT,                           /* "abc"          */
    MT_PREFIX,                          /* "abc*"         */
    MT_SUFFIX,                          /* "*abc"         */
    MT_CONTAINS,                        /* "*abc*"        */
    MT_GENERAL,                         /* anything else  */
};

struct mt_glob {
    int         kind;                   /* enum mt_glob_kind */
    const char *pat;                    /* borrowed: the whole pattern  */
    size_t      pat_len;
    const char *lit;                    /* the literal, for fast kinds  */
    size_t      lit_len;
};

/* Compiles pattern (borrowed: it must outlive g). */
void mt_glob_compile(struct mt_glob *g, const char *pattern);
/* 1 when s[0..n) matches: '*' any run of bytes, '?' one byte. */
int mt_glob_match(const struct mt_glob *g, const char *s, size_t n);

/*
 * The factor that converts a value in unit `from` to unit `to` (bytes,
 * kB..TB, KiB..TiB, bits; ns, us, ms, s, min, h, d; ratio, percent).
 * 0, or -EINVAL for an unknown unit or units of different quantities.
 */
int mt_unit_factor(const char *from, const char *to, double *factor);

#endif
