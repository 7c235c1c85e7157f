/*
 * Hand-written detectors of personal data in text, for the redact filter:
 * e-mail addresses, IPv4 and IPv6 addresses, payment card numbers (Luhn
 * checked) and credentials (bearer tokens, key=value secrets, AWS access
 * key ids, GitHub tokens).  Each scanner finds a cheap anchor first
 * (memchr for '@', '.', ':', memmem for a literal) and only then looks
 * around it, so text without anchors costs one pass of memchr per
 * detector.  No scanner allocates except to grow the match list.
 */
#ifndef VG_REDACT_SCAN_H
#define VG_REDACT_SCAN_H

#include <stddef.h>
#include <stdint.h>

struct rd_match {
    uint32_t start;                     /* byte offset in the text */
    uint32_t len;                       /* bytes                   */
    uint32_t rule;                      /* index of the rule       */
};

struct rd_matches {
    struct rd_match *v;
    size_t           n;
    size_t           cap;
};

/* Appends a match, growing the list; -ENOMEM when that fails. */
int rd_matches_add(struct rd_matches *m, size_t start, size_t len,
                   uint32_t rule);
void rd_matches_release(struct rd_matches *m);

/*
 * Sorts by start (longer first, then lower rule) and keeps the matches
 * that do not overlap one kept before.
 */
void rd_matches_resolve(struct rd_matches *m);

/*
 * Scanners: append every match in s[0..n) with the given rule index.
 * Return 0 or -ENOMEM.
 */
int rd_scan_email(const char *s, size_t n, uint32_t rule,
                  struct rd_matches *out);
int rd_scan_ipv4(const char *s, size_t n, uint32_t rule,
                 struct rd_matches *out);
int rd_scan_ipv6(const char *s, size_t n, uint32_t rule,
                 struct rd_matches *out);
int rd_scan_card(const char *s, size_t n, uint32_t rule,
                 struct rd_matches *out);
int rd_scan_token(const char *s, size_t n, uint32_t rule,
                  struct rd_matches *out);

/* 1 when the digits of s[0..n) (spaces and dashes skipped) pass Luhn. */
int rd_luhn_ok(const char *s, size_t n);

/*
 * Writes the address s[0..n) (IPv4 or IPv6 text) with every bit past
 * `prefix` cleared, in canonical text form, NUL-terminated, into out
 * (at least 46 bytes).  Returns its length, or -EINVAL when s is not an
 * address or prefix is out of range (0..32, 0..128).
 */
int rd_ip_truncate(const char *s, size_t n, int prefix, char *out);

#endif
