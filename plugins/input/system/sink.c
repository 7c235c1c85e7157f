/*
 * The sample sink: one collection's samples in an array plus an arena for
 * label values, both reused from one collection to the next.  Values are
 * kept as arena offsets so that growing the arena moves nothing.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sys.h"

void *
sys_xrealloc(void *p, size_t n)
{
    void *q = realloc(p, n ? n : 1);

    if (q == NULL) {
        fputs("vigil: system input: out of memory\n", stderr);
        abort();
    }
    return q;
}

void
sys_sink_reset(struct sys_sink *s)
{
    s->n = 0;
    s->alen = 0;
}

void
sys_sink_release(struct sys_sink *s)
{
    free(s->v);
    free(s->arena);
    memset(s, 0, sizeof(*s));
}

static size_t
arena_add(struct sys_sink *s, const char *v)
{
    size_t len = strlen(v) + 1;
    size_t off = s->alen;

    if (s->alen + len > s->acap) {
        size_t cap = s->acap ? s->acap * 2 : 4096;

        while (cap < s->alen + len)
            cap *= 2;
        s->arena = sys_xrealloc(s->arena, cap);
        s->acap = cap;
    }
    memcpy(s->arena + off, v, len);
    s->alen += len;
    return off;
}

void
sys_sink_put(struct sys_sink *s, const char *name, uint32_t type,
             double value, ...)
{
    struct sys_sample *m;
    const char *k;
    va_list ap;

    if (s->n == s->cap) {
        s->cap = s->cap ? s->cap * 2 : 256;
        s->v = sys_xrealloc(s->v, s->cap * sizeof(*s->v));
    }
    m = &s->v[s->n++];
    m->name = name;
    m->type = type;
    m->value = value;
    m->nlabels = 0;
    va_start(ap, value);
    while ((k = va_arg(ap, const char *)) != NULL) {
        const char *v = va_arg(ap, const char *);

        if (m->nlabels == SYS_MAX_LABELS)
            continue;
        m->keys[m->nlabels] = k;
        m->voff[m->nlabels] = arena_add(s, v);
        m->nlabels++;
    }
    va_end(ap);
}

const char *
sys_sample_label(const struct sys_sink *s, const struct sys_sample *m,
                 const char *key)
{
    uint32_t i;

    for (i = 0; i < m->nlabels; i++)
        if (strcmp(m->keys[i], key) == 0)
            return s->arena + m->voff[i];
    return NULL;
}

const struct sys_sample *
sys_sink_find(const struct sys_sink *s, const char *name, ...)
{
    size_t i;

    for (i = 0; i < s->n; i++) {
        const struct sys_sample *m = &s->v[i];
        const char *k;
        int match = strcmp(m->name, name) == 0;
        va_list ap;

        va_start(ap, name);
        while (match && (k = va_arg(ap, const char *)) != NULL) {
            const char *want = va_arg(ap, const char *);
            const char *got = sys_sample_label(s, m, k);

            match = got && strcmp(got, want) == 0;
        }
        va_end(ap);
        if (match)
            return m;
    }
    return NULL;
}

size_t
sys_sink_count(const struct sys_sink *s, const char *name)
{
    size_t i, n = 0;

    for (i = 0; i < s->n; i++)
        n += strcmp(s->v[i].name, name) == 0;
    return n;
}
