/*
 * The redact filter's detectors.  Every scanner works on a length-delimited
 * byte string (bodies may hold NULs), never reads outside it, and moves
 * forward only, so a scan is linear in the text.  Word boundaries are
 * ASCII: a byte >= 0x80 counts as a boundary.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "scan.h"

#define ONES  UINT64_C(0x0101010101010101)
#define HIGHS UINT64_C(0x8080808080808080)

#define EMAIL_LOCAL_MAX  64
#define EMAIL_DOMAIN_MAX 253
#define CARD_MIN_DIGITS  13
#define CARD_MAX_DIGITS  19
#define TOKEN_MIN_LEN    8              /* bearer tokens */
#define KEY_MAX_LEN      40             /* key of a key=value secret */

static inline int
is_digit(unsigned char c)
{
    return (unsigned)(c - '0') < 10u;
}

static inline int
is_alpha(unsigned char c)
{
    return (unsigned)((c | 0x20) - 'a') < 26u;
}

static inline int
is_alnum(unsigned char c)
{
    return is_digit(c) || is_alpha(c);
}

static inline int
is_hex(unsigned char c)
{
    return is_digit(c) || (unsigned)((c | 0x20) - 'a') < 6u;
}

/* A byte that continues a word: an address glued to one is not taken. */
static inline int
is_word(unsigned char c)
{
    return is_alnum(c) || c == '_';
}

int
rd_matches_add(struct rd_matches *m, size_t start, size_t len, uint32_t rule)
{
    if (m->n == m->cap) {
        size_t cap = m->cap ? m->cap * 2 : 16;
        struct rd_match *p = realloc(m->v, cap * sizeof(*p));

        if (!p)
            return -ENOMEM;
        m->v = p;
        m->cap = cap;
    }
    m->v[m->n].start = (uint32_t)start;
    m->v[m->n].len = (uint32_t)len;
    m->v[m->n].rule = rule;
    m->n++;
    return 0;
}

void
rd_matches_release(struct rd_matches *m)
{
    free(m->v);
    m->v = NULL;
    m->n = m->cap = 0;
}

static int
match_before(const struct rd_match *a, const struct rd_match *b)
{
    if (a->start != b->start)
        return a->start < b->start;
    if (a->len != b->len)
        return a->len > b->len;
    return a->rule < b->rule;
}

void
rd_matches_resolve(struct rd_matches *m)
{
    size_t i, j, kept = 0;
    uint64_t end = 0;

    /* a handful of matches per string: insertion sort is the right tool */
    for (i = 1; i < m->n; i++) {
        struct rd_match x = m->v[i];

        for (j = i; j > 0 && match_before(&x, &m->v[j - 1]); j--)
            m->v[j] = m->v[j - 1];
        m->v[j] = x;
    }
    for (i = 0; i < m->n; i++) {
        if (kept && m->v[i].start < end)
            continue;
        m->v[kept++] = m->v[i];
        end = (uint64_t)m->v[i].start + m->v[i].len;
    }
    m->n = kept;
}

/* ------------------------------------------------------------------ */
/* E-mail                                                              */
/* ------------------------------------------------------------------ */

static inline int
is_local(unsigned char c)
{
    return is_alnum(c) || c == '.' || c == '_' || c == '%' || c == '+' ||
           c == '-';
}

/*
 * The domain after an '@' at s[at]: labels of [A-Za-z0-9-] joined by dots,
 * at least two, the last alphabetic and 2+ long.  Returns its end, or 0.
 */
static size_t
email_domain_end(const char *s, size_t n, size_t at)
{
    size_t i = at + 1, end = 0;
    int labels = 0, alpha_tld;

    for (;;) {
        size_t j;

        alpha_tld = 1;
        for (j = i; j < n && (is_alnum((unsigned char)s[j]) || s[j] == '-');
             j++)
            if (!is_alpha((unsigned char)s[j]))
                alpha_tld = 0;
        if (j == i || s[i] == '-' || s[j - 1] == '-')
            break;
        labels++;
        if (labels >= 2 && alpha_tld && j - i >= 2)
            end = j;
        if (j + 1 < n && s[j] == '.' && is_alnum((unsigned char)s[j + 1]))
            i = j + 1;
        else
            break;
    }
    if (!end || end - at - 1 > EMAIL_DOMAIN_MAX)
        return 0;
    return end;
}

int
rd_scan_email(const char *s, size_t n, uint32_t rule, struct rd_matches *out)
{
    size_t pos = 0, low = 0;
    const char *p;

    while (pos < n && (p = memchr(s + pos, '@', n - pos))) {
        size_t at = (size_t)(p - s), start = at, end;

        while (start > low && is_local((unsigned char)s[start - 1]) &&
               at - start < EMAIL_LOCAL_MAX + 1)
            start--;
        while (start < at && s[start] == '.')
            start++;
        pos = at + 1;
        if (start == at || at - start > EMAIL_LOCAL_MAX || s[at - 1] == '.')
            continue;
        if (!(end = email_domain_end(s, n, at)))
            continue;
        if (rd_matches_add(out, start, end - start, rule) < 0)
            return -ENOMEM;
        pos = low = end;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* IPv4                                                                */
/* ------------------------------------------------------------------ */

/* Dotted quad at s[i]: returns its end, or 0.  No leading zeros. */
static size_t
ipv4_end(const char *s, size_t n, size_t i)
{
    int part;

    for (part = 0; part < 4; part++) {
        size_t d = i;
        unsigned v = 0;

        if (part > 0) {
            if (i >= n || s[i] != '.')
                return 0;
            d = ++i;
        }
        while (i < n && is_digit((unsigned char)s[i]) && i - d < 3)
            v = v * 10 + (unsigned)(s[i++] - '0');
        if (i == d || v > 255 || (i - d > 1 && s[d] == '0'))
            return 0;
        if (i < n && is_digit((unsigned char)s[i]))
            return 0;
    }
    /* "1.2.3.4.5" or "1.2.3.4x" is something else */
    if (i < n && is_word((unsigned char)s[i]))
        return 0;
    if (i + 1 < n && s[i] == '.' && is_digit((unsigned char)s[i + 1]))
        return 0;
    return i;
}

int
rd_scan_ipv4(const char *s, size_t n, uint32_t rule, struct rd_matches *out)
{
    size_t pos = 0, low = 0;
    const char *p;

    while (pos < n && (p = memchr(s + pos, '.', n - pos))) {
        size_t dot = (size_t)(p - s), start = dot, end;

        pos = dot + 1;
        while (start > low && dot - start < 3 &&
               is_digit((unsigned char)s[start - 1]))
            start--;
        if (start == dot)
            continue;
        if (start > 0 && (is_word((unsigned char)s[start - 1]) ||
                          s[start - 1] == '.'))
            continue;
        if (!(end = ipv4_end(s, n, start)))
            continue;
        if (rd_matches_add(out, start, end - start, rule) < 0)
            return -ENOMEM;
        pos = low = end;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* IPv6                                                                */
/* ------------------------------------------------------------------ */

#define IPV6_TEXT_MAX 45                /* INET6_ADDRSTRLEN - 1 */

static int
ipv6_valid(const char *s, size_t n)
{
    char buf[IPV6_TEXT_MAX + 1];
    unsigned char addr[16];
    size_t i, colons = 0, hex = 0;

    if (n < 2 || n > IPV6_TEXT_MAX)
        return 0;
    for (i = 0; i < n; i++) {
        colons += s[i] == ':';
        hex += is_hex((unsigned char)s[i]);
    }
    if (colons < 2 || hex == 0)
        return 0;
    memcpy(buf, s, n);
    buf[n] = '\0';
    return inet_pton(AF_INET6, buf, addr) == 1;
}

int
rd_scan_ipv6(const char *s, size_t n, uint32_t rule, struct rd_matches *out)
{
    size_t pos = 0, low = 0;
    const char *p;

    while (pos < n && (p = memchr(s + pos, ':', n - pos))) {
        size_t c = (size_t)(p - s), start = c, end = c;
        int ok;

        while (start > low && (is_hex((unsigned char)s[start - 1]) ||
                               s[start - 1] == ':'))
            start--;
        while (end < n && (is_hex((unsigned char)s[end]) || s[end] == ':' ||
                           s[end] == '.'))
            end++;
        /* the span is examined once: the next anchor lies past it */
        pos = end > c ? end : c + 1;
        while (end > c && s[end - 1] == '.')
            end--;
        if ((start > 0 && (is_word((unsigned char)s[start - 1]) ||
                           s[start - 1] == '.')) ||
            (end < n && is_word((unsigned char)s[end])))
            continue;
        ok = ipv6_valid(s + start, end - start);
        /* "fe80::1: refused": a colon that ends the sentence */
        if (!ok && end - start > 2 && s[end - 1] == ':' && s[end - 2] != ':')
            ok = ipv6_valid(s + start, --end - start);
        if (!ok)
            continue;
        if (rd_matches_add(out, start, end - start, rule) < 0)
            return -ENOMEM;
        low = end;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Payment cards                                                       */
/* ------------------------------------------------------------------ */

int
rd_luhn_ok(const char *s, size_t n)
{
    unsigned sum = 0, nd = 0;
    size_t i;

    for (i = n; i-- > 0;) {
        unsigned d;

        if (!is_digit((unsigned char)s[i]))
            continue;
        d = (unsigned)(s[i] - '0');
        if (nd++ & 1) {
            d *= 2;
            if (d > 9)
                d -= 9;
        }
        sum += d;
    }
    return nd > 0 && sum % 10 == 0;
}

/*
 * The first digit at or after i, or n.  Eight bytes at a time: x ^ '0'
 * maps the digits, and only them, to bytes below 10, which the classic
 * "has a byte less than" test finds without a branch per byte.
 */
static size_t
skip_to_digit(const char *s, size_t n, size_t i)
{
    while (i + 8 <= n) {
        uint64_t x, t;

        memcpy(&x, s + i, 8);
        t = x ^ (ONES * '0');
        if ((t - ONES * 10) & ~t & HIGHS)
            break;
        i += 8;
    }
    while (i < n && !is_digit((unsigned char)s[i]))
        i++;
    return i;
}

/*
 * Digits in groups separated by single spaces or dashes, 13 to 19 of
 * them, starting with a card network's leading digit (2-6: Mastercard,
 * Visa, Amex, Discover, JCB, UnionPay), so epoch timestamps and most ids
 * are not cards even when their Luhn sum happens to work out.
 */
int
rd_scan_card(const char *s, size_t n, uint32_t rule, struct rd_matches *out)
{
    size_t i = 0;

    while (i < n) {
        size_t start, last, nd = 0;

        if ((i = skip_to_digit(s, n, i)) >= n)
            break;
        start = last = i;
        for (;;) {
            while (i < n && is_digit((unsigned char)s[i])) {
                nd++;
                last = i++;
            }
            if (i + 1 < n && (s[i] == ' ' || s[i] == '-') &&
                is_digit((unsigned char)s[i + 1]) && nd <= CARD_MAX_DIGITS)
                i++;
            else
                break;
        }
        /* the run is consumed whole: a part of it is never a card */
        if (nd < CARD_MIN_DIGITS || nd > CARD_MAX_DIGITS ||
            s[start] < '2' || s[start] > '6')
            continue;
        if ((start > 0 && (is_word((unsigned char)s[start - 1]) ||
                           s[start - 1] == '.')) ||
            (last + 1 < n && is_word((unsigned char)s[last + 1])))
            continue;
        if (!rd_luhn_ok(s + start, last + 1 - start))
            continue;
        if (rd_matches_add(out, start, last + 1 - start, rule) < 0)
            return -ENOMEM;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Credentials                                                         */
/* ------------------------------------------------------------------ */

static inline int
is_token_char(unsigned char c)
{
    return is_alnum(c) || c == '-' || c == '.' || c == '_' || c == '~' ||
           c == '+' || c == '/' || c == '=';
}

/* The end of a bearer token starting at s[i], or i when too short. */
static size_t
token_end(const char *s, size_t n, size_t i)
{
    size_t t;

    for (t = i; t < n && is_token_char((unsigned char)s[t]); t++)
        ;
    return t - i >= TOKEN_MIN_LEN ? t : i;
}

/*
 * "Bearer <token>" anywhere: the token is the match.  The header forms
 * with any case ("authorization: bearer ...") are found by the key=value
 * scanner.
 */
static int
scan_bearer(const char *s, size_t n, uint32_t rule, struct rd_matches *out)
{
    size_t pos = 0;
    const char *p;

    while (pos < n && (p = memchr(s + pos, 'B', n - pos))) {
        size_t b = (size_t)(p - s), i = b + 7, t;

        pos = b + 1;
        if (n - b < 8 || memcmp(s + b, "Bearer ", 7) != 0 ||
            (b > 0 && is_word((unsigned char)s[b - 1])))
            continue;
        while (i < n && s[i] == ' ')
            i++;
        if ((t = token_end(s, n, i)) == i)
            continue;
        if (rd_matches_add(out, i, t - i, rule) < 0)
            return -ENOMEM;
        pos = t;
    }
    return 0;
}

/*
 * Key names whose value is a secret, matched at the end of the key
 * (case-insensitive): "X-Api-Key", "access_token", "db_password".
 */
static const struct {
    const char *s;
    size_t      len;
} secret_keys[] = {
    { "token", 5 }, { "secret", 6 }, { "password", 8 }, { "passwd", 6 },
    { "api_key", 7 }, { "apikey", 6 }, { "api-key", 7 },
    { "authorization", 13 }, { NULL, 0 },
};

static int
ends_with_ci(const char *s, size_t n, const char *suffix, size_t k)
{
    size_t i;

    if (n < k)
        return 0;
    for (i = 0; i < k; i++) {
        unsigned char c = (unsigned char)s[n - k + i];

        if ((is_alpha(c) ? (c | 0x20) : c) != (unsigned char)suffix[i])
            return 0;
    }
    return 1;
}

/* 0: not a secret key; 1: a secret; 2: an authorization header. */
static int
secret_key_kind(const char *k, size_t n)
{
    unsigned char last = (unsigned char)(k[n - 1] | 0x20);
    size_t i;

    /* every name ends in one of these: most keys are out after one test */
    if (last != 'n' && last != 't' && last != 'd' && last != 'y')
        return 0;
    for (i = 0; secret_keys[i].s; i++)
        if (ends_with_ci(k, n, secret_keys[i].s, secret_keys[i].len))
            return secret_keys[i].len == 13 ? 2 : 1;
    return 0;
}

static inline int
is_value_end(unsigned char c)
{
    return c <= ' ' || c == '&' || c == '"' || c == '\'' || c == ',' ||
           c == ';' || c == '}' || c == ')' || c == ']';
}

/*
 * key=value and key: value (query strings, headers, JSON) where the key
 * ends in one of secret_keys: the value is the match.  An authorization
 * header keeps its scheme ("Basic", "bearer") and loses the credentials.
 */
static int
scan_keyvalue(const char *s, size_t n, char sep, uint32_t rule,
              struct rd_matches *out)
{
    size_t pos = 0, low = 0;
    const char *p;

    while (pos < n && (p = memchr(s + pos, sep, n - pos))) {
        size_t at = (size_t)(p - s), kend = at, k, v, e;
        int kind;

        pos = at + 1;
        if (kend > low && s[kend - 1] == '"')
            kend--;
        for (k = kend; k > low && kend - k <= KEY_MAX_LEN &&
                       (is_word((unsigned char)s[k - 1]) || s[k - 1] == '-');
             k--)
            ;
        if (k == kend || kend - k > KEY_MAX_LEN ||
            !(kind = secret_key_kind(s + k, kend - k)))
            continue;
        v = at + 1;
        while (v < n && s[v] == ' ')
            v++;
        if (v < n && (s[v] == '"' || s[v] == '\''))
            v++;
        if (kind == 2) {
            for (e = v; e < n && is_alpha((unsigned char)s[e]); e++)
                ;
            if (e == v || e >= n || s[e] != ' ')
                continue;
            while (e < n && s[e] == ' ')
                e++;
            v = e;
        }
        for (e = v; e < n && !is_value_end((unsigned char)s[e]); e++)
            ;
        if (e == v)
            continue;
        if (rd_matches_add(out, v, e - v, rule) < 0)
            return -ENOMEM;
        pos = low = e;
    }
    return 0;
}

/* AWS access key ids: AKIA or ASIA and 16 of [0-9A-Z]. */
static int
scan_aws(const char *s, size_t n, uint32_t rule, struct rd_matches *out)
{
    size_t pos = 0;
    const char *p;

    while (pos < n && (p = memchr(s + pos, 'A', n - pos))) {
        size_t a = (size_t)(p - s), e = a + 4;

        pos = a + 1;
        if (n - a < 20 || (s[a + 1] != 'K' && s[a + 1] != 'S') ||
            s[a + 2] != 'I' || s[a + 3] != 'A' ||
            (a > 0 && is_word((unsigned char)s[a - 1])))
            continue;
        while (e < n && e - a < 21 && (is_digit((unsigned char)s[e]) ||
                                       (unsigned)(s[e] - 'A') < 26u))
            e++;
        if (e - a != 20 || (e < n && is_word((unsigned char)s[e])))
            continue;
        if (rd_matches_add(out, a, 20, rule) < 0)
            return -ENOMEM;
        pos = e;
    }
    return 0;
}

/*
 * GitHub tokens: gh[pousr]_ and 36 alphanumerics, or github_pat_ and 22+
 * word bytes; both anchored on their first underscore.
 */
static int
scan_github(const char *s, size_t n, uint32_t rule, struct rd_matches *out)
{
    size_t pos = 3;
    const char *p;

    while (pos < n && (p = memchr(s + pos, '_', n - pos))) {
        size_t u = (size_t)(p - s), start, e = u + 1, min, max;

        pos = u + 1;
        if (u >= 6 && memcmp(s + u - 6, "github", 6) == 0 &&
            n - u > 4 && memcmp(s + u + 1, "pat_", 4) == 0) {
            start = u - 6;
            e = u + 5;
            min = 22;
            max = 255;
            while (e < n && is_word((unsigned char)s[e]) && e - u - 5 <= max)
                e++;
            if (e - u - 5 < min || e - u - 5 > max)
                continue;
        } else if (s[u - 3] == 'g' && s[u - 2] == 'h' &&
                   /* 5: a NUL byte must not match */
                   /* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
                   memchr("pousr", s[u - 1], 5)) {
            start = u - 3;
            while (e < n && is_alnum((unsigned char)s[e]) && e - u - 1 <= 36)
                e++;
            if (e - u - 1 != 36)
                continue;
        } else {
            continue;
        }
        if ((start > 0 && is_word((unsigned char)s[start - 1])) ||
            (e < n && is_word((unsigned char)s[e])))
            continue;
        if (rd_matches_add(out, start, e - start, rule) < 0)
            return -ENOMEM;
        pos = e;
    }
    return 0;
}

int
rd_scan_token(const char *s, size_t n, uint32_t rule, struct rd_matches *out)
{
    int rc;

    if ((rc = scan_bearer(s, n, rule, out)) < 0 ||
        (rc = scan_keyvalue(s, n, '=', rule, out)) < 0 ||
        (rc = scan_keyvalue(s, n, ':', rule, out)) < 0 ||
        (rc = scan_aws(s, n, rule, out)) < 0 ||
        (rc = scan_github(s, n, rule, out)) < 0)
        return rc;
    return 0;
}

/* ------------------------------------------------------------------ */
/* IP truncation                                                       */
/* ------------------------------------------------------------------ */

int
rd_ip_truncate(const char *s, size_t n, int prefix, char *out)
{
    unsigned char addr[16];
    char buf[IPV6_TEXT_MAX + 1];
    int af, bits, i;

    if (n > IPV6_TEXT_MAX)
        return -EINVAL;
    memcpy(buf, s, n);
    buf[n] = '\0';
    if (inet_pton(AF_INET, buf, addr) == 1) {
        af = AF_INET;
        bits = 32;
    } else if (inet_pton(AF_INET6, buf, addr) == 1) {
        af = AF_INET6;
        bits = 128;
    } else {
        return -EINVAL;
    }
    if (prefix < 0 || prefix > bits)
        return -EINVAL;
    for (i = 0; i < bits / 8; i++) {
        int keep = prefix - i * 8;

        if (keep <= 0)
            addr[i] = 0;
        else if (keep < 8)
            addr[i] &= (unsigned char)(0xff00u >> keep);
    }
    if (!inet_ntop(af, addr, out, IPV6_TEXT_MAX + 1))
        return -EINVAL;
    return (int)strlen(out);
}
