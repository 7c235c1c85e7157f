/*
 * logfmt: space-separated key=value pairs.  A value may be quoted, with
 * \" \\ \n \t \r escapes; a key without '=' is a flag, true, but a line
 * needs one key=value pair to count as logfmt.  Values stay strings (the
 * filter's `types` casts them); unquoted ones point into the input.
 */
#include <errno.h>

#include "parse.h"

static int
key_char(char c)
{
    return (unsigned char)c > ' ' && c != '=' && c != '"';
}

/* A quoted value at p[*i] (the quote); unescapes into the sink if needed. */
static int
quoted(const char *p, size_t len, size_t *i, struct pa_sink *s,
       const char **out, size_t *olen)
{
    size_t b = ++(*i), k = 0;
    int esc = 0;
    char *o;

    while (*i < len && p[*i] != '"') {
        if (p[*i] == '\\') {
            esc = 1;
            (*i)++;
        }
        (*i)++;
    }
    if (*i >= len)
        return -EINVAL;
    *olen = *i - b;
    (*i)++;
    if (!esc) {
        *out = p + b;
        return 0;
    }
    if (!(o = pa_sink_alloc(s, *olen)))
        return -ENOMEM;
    for (; b < *i - 1; b++) {
        char c = p[b];

        if (c == '\\') {
            c = p[++b];
            c = c == 'n' ? '\n' : c == 't' ? '\t' : c == 'r' ? '\r' : c;
        }
        o[k++] = c;
    }
    *out = o;
    *olen = k;
    return 0;
}

int
pa_logfmt(const char *p, size_t len, struct pa_sink *s)
{
    size_t i = 0;
    int rc, pairs = 0;

    for (;;) {
        size_t kb;

        while (i < len && (p[i] == ' ' || p[i] == '\t'))
            i++;
        if (i >= len)
            break;
        kb = i;
        while (i < len && key_char(p[i]))
            i++;
        if (i == kb)
            return -EINVAL;             /* '=' or '"' where a key starts */
        if (i < len && p[i] == '=') {
            size_t klen = i - kb;
            const char *v;
            size_t vlen;

            i++;
            if (i < len && p[i] == '"') {
                if ((rc = quoted(p, len, &i, s, &v, &vlen)) < 0)
                    return rc;
                if (i < len && p[i] != ' ' && p[i] != '\t')
                    return -EINVAL;
            } else {
                v = p + i;
                while (i < len && p[i] != ' ' && p[i] != '\t')
                    i++;
                vlen = (size_t)(p + i - v);
            }
            rc = pa_add_str(s, p + kb, klen, v, vlen);
            pairs++;
        } else if (i >= len || p[i] == ' ' || p[i] == '\t') {
            rc = pa_add_bool(s, p + kb, i - kb, 1);
        } else {
            return -EINVAL;
        }
        if (rc < 0)
            return rc;
    }
    return pairs ? 0 : -EINVAL;
}
