/*
 * A small JSON reader made for one job: one object per log line, turned
 * into flat attributes without building a tree.  Strings without escapes
 * point into the input; keys of nested members and unescaped strings are
 * built in the sink's blocks.
 */
#include <errno.h>
#include <stdlib.h>

#include "parse.h"

#define JSON_MAX_DEPTH 32

struct jp {
    const char     *p;
    const char     *end;
    struct pa_sink *s;
};

static void
ws(struct jp *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' ||
                             *j->p == '\n' || *j->p == '\r'))
        j->p++;
}

static int
hex4(const char *p, unsigned *out)
{
    unsigned v = 0;
    int i;

    for (i = 0; i < 4; i++) {
        char c = p[i];

        v <<= 4;
        if (c >= '0' && c <= '9')
            v |= (unsigned)(c - '0');
        else if (c >= 'a' && c <= 'f')
            v |= (unsigned)(c - 'a' + 10);
        else if (c >= 'A' && c <= 'F')
            v |= (unsigned)(c - 'A' + 10);
        else
            return -EINVAL;
    }
    *out = v;
    return 0;
}

static size_t
utf8_put(char *o, unsigned cp)
{
    if (cp < 0x80) {
        o[0] = (char)cp;
        return 1;
    }
    if (cp < 0x800) {
        o[0] = (char)(0xc0 | (cp >> 6));
        o[1] = (char)(0x80 | (cp & 0x3f));
        return 2;
    }
    if (cp < 0x10000) {
        o[0] = (char)(0xe0 | (cp >> 12));
        o[1] = (char)(0x80 | ((cp >> 6) & 0x3f));
        o[2] = (char)(0x80 | (cp & 0x3f));
        return 3;
    }
    o[0] = (char)(0xf0 | (cp >> 18));
    o[1] = (char)(0x80 | ((cp >> 12) & 0x3f));
    o[2] = (char)(0x80 | ((cp >> 6) & 0x3f));
    o[3] = (char)(0x80 | (cp & 0x3f));
    return 4;
}

/* Unescapes the string body b[0..n) (known to be well formed) into o. */
static size_t
unescape(const char *b, size_t n, char *o)
{
    size_t i, k = 0;

    for (i = 0; i < n; i++) {
        unsigned cp, lo;

        if (b[i] != '\\') {
            o[k++] = b[i];
            continue;
        }
        switch (b[++i]) {
        case 'b': o[k++] = '\b'; break;
        case 'f': o[k++] = '\f'; break;
        case 'n': o[k++] = '\n'; break;
        case 'r': o[k++] = '\r'; break;
        case 't': o[k++] = '\t'; break;
        case 'u':
            hex4(b + i + 1, &cp);
            i += 4;
            if (cp >= 0xd800 && cp < 0xdc00 && i + 6 < n &&
                b[i + 1] == '\\' && b[i + 2] == 'u' &&
                hex4(b + i + 3, &lo) == 0 && lo >= 0xdc00 && lo < 0xe000) {
                cp = 0x10000 + ((cp - 0xd800) << 10) + (lo - 0xdc00);
                i += 6;
            } else if (cp >= 0xd800 && cp < 0xe000) {
                cp = 0xfffd;            /* a lone surrogate */
            }
            k += utf8_put(o + k, cp);
            break;
        default: o[k++] = b[i]; break; /* " \ / */
        }
    }
    return k;
}

/* A string at j->p (the opening quote); *out points to its value. */
static int
string(struct jp *j, const char **out, size_t *olen)
{
    const char *b = ++j->p;
    int esc = 0;

    while (j->p < j->end && *j->p != '"') {
        unsigned char c = (unsigned char)*j->p;

        if (c < 0x20)
            return -EINVAL;
        if (c == '\\') {
            unsigned cp;

            esc = 1;
            if (++j->p >= j->end)
                return -EINVAL;
            if (*j->p == 'u') {
                if (j->end - j->p < 5 || hex4(j->p + 1, &cp) < 0)
                    return -EINVAL;
                j->p += 4;
            } else if (!strchr("\"\\/bfnrt", *j->p)) {
                return -EINVAL;
            }
        }
        j->p++;
    }
    if (j->p >= j->end)
        return -EINVAL;
    *olen = (size_t)(j->p - b);
    j->p++;
    if (!esc) {
        *out = b;
        return 0;
    }
    {
        /* escapes never grow: \uXXXX is 6 bytes for at most 4 */
        char *o = pa_sink_alloc(j->s, *olen ? *olen : 1);

        if (!o)
            return -ENOMEM;
        *olen = unescape(b, *olen, o);
        *out = o;
    }
    return 0;
}

static int
lit(struct jp *j, const char *word, size_t n)
{
    if ((size_t)(j->end - j->p) < n || memcmp(j->p, word, n) != 0)
        return -EINVAL;
    j->p += n;
    return 0;
}

/* A number; *is_int tells whether it fits an int64 without loss. */
static int
number(struct jp *j, int64_t *iv, double *dv, int *is_int)
{
    const char *b = j->p;
    uint64_t acc = 0;
    int neg = 0, frac = 0, over = 0;
    char tmp[64];

    if (j->p < j->end && *j->p == '-') {
        neg = 1;
        j->p++;
    }
    if (j->p >= j->end || *j->p < '0' || *j->p > '9')
        return -EINVAL;
    if (*j->p == '0') {
        j->p++;
    } else {
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
            unsigned d = (unsigned)(*j->p++ - '0');

            if (acc > (UINT64_MAX - d) / 10)
                over = 1;
            else
                acc = acc * 10 + d;
        }
    }
    if (j->p < j->end && *j->p == '.') {
        frac = 1;
        if (++j->p >= j->end || *j->p < '0' || *j->p > '9')
            return -EINVAL;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (j->p < j->end && (*j->p == 'e' || *j->p == 'E')) {
        frac = 1;
        j->p++;
        if (j->p < j->end && (*j->p == '+' || *j->p == '-'))
            j->p++;
        if (j->p >= j->end || *j->p < '0' || *j->p > '9')
            return -EINVAL;
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9')
            j->p++;
    }
    if (!frac && !over && acc <= (uint64_t)INT64_MAX + (uint64_t)neg) {
        *is_int = 1;
        *iv = neg ? (int64_t)(0 - acc) : (int64_t)acc;
        return 0;
    }
    if ((size_t)(j->p - b) >= sizeof(tmp))
        return -EINVAL;
    memcpy(tmp, b, (size_t)(j->p - b));
    tmp[j->p - b] = '\0';
    *is_int = 0;
    *dv = strtod(tmp, NULL);
    return 0;
}

/* Skips any value (arrays' contents are checked, not kept). */
static int
skip(struct jp *j, int depth)
{
    const char *s;
    size_t n;
    int64_t iv;
    double dv;
    int is_int, rc;

    ws(j);
    if (j->p >= j->end || depth > JSON_MAX_DEPTH)
        return -EINVAL;
    switch (*j->p) {
    case '"':
        return string(j, &s, &n);
    case 't':
        return lit(j, "true", 4);
    case 'f':
        return lit(j, "false", 5);
    case 'n':
        return lit(j, "null", 4);
    case '[':
    case '{': {
        char close = *j->p == '[' ? ']' : '}';
        int obj = close == '}';

        j->p++;
        ws(j);
        if (j->p < j->end && *j->p == close) {
            j->p++;
            return 0;
        }
        for (;;) {
            if (obj) {
                ws(j);
                if (j->p >= j->end || *j->p != '"' ||
                    (rc = string(j, &s, &n)) < 0)
                    return -EINVAL;
                ws(j);
                if (j->p >= j->end || *j->p++ != ':')
                    return -EINVAL;
            }
            if ((rc = skip(j, depth + 1)) < 0)
                return rc;
            ws(j);
            if (j->p >= j->end)
                return -EINVAL;
            if (*j->p == close) {
                j->p++;
                return 0;
            }
            if (*j->p++ != ',')
                return -EINVAL;
        }
    }
    default:
        return number(j, &iv, &dv, &is_int);
    }
}

static int object(struct jp *j, const char *prefix, size_t plen, int depth);

/* The value of member key[0..klen) (already prefixed). */
static int
member(struct jp *j, const char *key, size_t klen, int depth)
{
    const char *s;
    size_t n;
    int64_t iv;
    double dv;
    int is_int, rc;

    ws(j);
    if (j->p >= j->end)
        return -EINVAL;
    switch (*j->p) {
    case '{':
        return object(j, key, klen, depth + 1);
    case '[':
        s = j->p;
        if ((rc = skip(j, depth + 1)) < 0)
            return rc;
        return pa_add_str(j->s, key, klen, s, (size_t)(j->p - s));
    case '"':
        if ((rc = string(j, &s, &n)) < 0)
            return rc;
        return pa_add_str(j->s, key, klen, s, n);
    case 't':
        if ((rc = lit(j, "true", 4)) < 0)
            return rc;
        return pa_add_bool(j->s, key, klen, 1);
    case 'f':
        if ((rc = lit(j, "false", 5)) < 0)
            return rc;
        return pa_add_bool(j->s, key, klen, 0);
    case 'n':
        return lit(j, "null", 4);
    default:
        if ((rc = number(j, &iv, &dv, &is_int)) < 0)
            return rc;
        return is_int ? pa_add_int(j->s, key, klen, iv)
                      : pa_add_double(j->s, key, klen, dv);
    }
}

static int
object(struct jp *j, const char *prefix, size_t plen, int depth)
{
    int rc;

    if (depth > JSON_MAX_DEPTH)
        return -EINVAL;
    j->p++;                             /* { */
    ws(j);
    if (j->p < j->end && *j->p == '}') {
        j->p++;
        return 0;
    }
    for (;;) {
        const char *k;
        size_t kn;

        ws(j);
        if (j->p >= j->end || *j->p != '"')
            return -EINVAL;
        if ((rc = string(j, &k, &kn)) < 0)
            return rc;
        if (plen) {
            char *full = pa_sink_alloc(j->s, plen + 1 + kn);

            if (!full)
                return -ENOMEM;
            memcpy(full, prefix, plen);
            full[plen] = '.';
            memcpy(full + plen + 1, k, kn);
            k = full;
            kn += plen + 1;
        }
        ws(j);
        if (j->p >= j->end || *j->p++ != ':')
            return -EINVAL;
        if ((rc = member(j, k, kn, depth)) < 0)
            return rc;
        ws(j);
        if (j->p >= j->end)
            return -EINVAL;
        if (*j->p == '}') {
            j->p++;
            return 0;
        }
        if (*j->p++ != ',')
            return -EINVAL;
    }
}

int
pa_json(const char *p, size_t len, struct pa_sink *s)
{
    struct jp j = { p, p + len, s };
    int rc;

    ws(&j);
    if (j.p >= j.end || *j.p != '{')
        return -EINVAL;
    if ((rc = object(&j, NULL, 0, 0)) < 0)
        return rc;
    ws(&j);
    return j.p == j.end ? 0 : -EINVAL;
}
