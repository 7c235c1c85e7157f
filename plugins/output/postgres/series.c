/*
 * Series-id cache: see series.h.  Slots are empty while id == 0, since a
 * bigserial starts at 1; the table stays at most half full.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "series.h"

void
pg_series_init(struct pg_series *s)
{
    memset(s, 0, sizeof(*s));
}

void
pg_series_release(struct pg_series *s)
{
    free(s->slots);
    pg_series_init(s);
}

void
pg_series_clear(struct pg_series *s)
{
    if (s->slots)
        memset(s->slots, 0, s->cap * sizeof(*s->slots));
    s->n = 0;
}

static size_t
slot_of(uint64_t hash, size_t cap)
{
    /* the batch's hash is good already; mixing guards a weak one */
    return (size_t)((hash * UINT64_C(0x9e3779b97f4a7c15)) >> 17) & (cap - 1);
}

int64_t
pg_series_get(const struct pg_series *s, uint64_t hash)
{
    size_t i;

    if (!s->cap)
        return 0;
    for (i = slot_of(hash, s->cap);; i = (i + 1) & (s->cap - 1)) {
        if (s->slots[i].id == 0)
            return 0;
        if (s->slots[i].hash == hash)
            return s->slots[i].id;
    }
}

static void
insert(struct pg_series_slot *slots, size_t cap, uint64_t hash, int64_t id)
{
    size_t i;

    for (i = slot_of(hash, cap);; i = (i + 1) & (cap - 1)) {
        if (slots[i].id == 0 || slots[i].hash == hash) {
            slots[i].hash = hash;
            slots[i].id = id;
            return;
        }
    }
}

int
pg_series_put(struct pg_series *s, uint64_t hash, int64_t id)
{
    if ((s->n + 1) * 2 > s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 1024;
        struct pg_series_slot *slots = calloc(cap, sizeof(*slots));
        size_t i;

        if (!slots)
            return -ENOMEM;
        for (i = 0; i < s->cap; i++)
            if (s->slots[i].id)
                insert(slots, cap, s->slots[i].hash, s->slots[i].id);
        free(s->slots);
        s->slots = slots;
        s->cap = cap;
    }
    if (pg_series_get(s, hash) == 0)
        s->n++;
    insert(s->slots, s->cap, hash, id);
    return 0;
}
