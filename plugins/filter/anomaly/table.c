/*
 * The anomaly filter's series table: series hash -> detector, at most
 * `max` of them.  Slots live in one array grown by doubling up to max, an
 * open-addressing index (linear probing, deletion by backward shift) finds
 * them, and a doubly linked list in use order picks the least recently
 * seen series to evict when a new one arrives at a full table.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "detect.h"

int
anom_table_init(struct anom_table *tb, size_t max_series)
{
    memset(tb, 0, sizeof(*tb));
    if (max_series < 1 || max_series > UINT32_MAX / 4)
        return -EINVAL;
    tb->cap = 16;
    while (tb->cap < max_series * 2)
        tb->cap *= 2;
    tb->max = max_series;
    if (!(tb->index = calloc(tb->cap, sizeof(*tb->index))))
        return -ENOMEM;
    return 0;
}

void
anom_table_release(struct anom_table *tb)
{
    free(tb->slots);
    free(tb->index);
    memset(tb, 0, sizeof(*tb));
}

static size_t
home(const struct anom_table *tb, uint64_t hash)
{
    /* the series hash is already mixed; fold the high bits in anyway */
    return (size_t)((hash ^ (hash >> 29)) & (tb->cap - 1));
}

/* Index position of hash, or of the free position where it would go. */
static size_t
find(const struct anom_table *tb, uint64_t hash)
{
    size_t j = home(tb, hash);

    while (tb->index[j] && tb->slots[tb->index[j] - 1].hash != hash)
        j = (j + 1) & (tb->cap - 1);
    return j;
}

static void
index_delete(struct anom_table *tb, size_t j)
{
    size_t mask = tb->cap - 1, k = j;

    tb->index[j] = 0;
    /* backward shift: move up entries whose probe run crossed the hole */
    for (;;) {
        size_t h;

        k = (k + 1) & mask;
        if (!tb->index[k])
            return;
        h = home(tb, tb->slots[tb->index[k] - 1].hash);
        if (((k - h) & mask) >= ((k - j) & mask)) {
            tb->index[j] = tb->index[k];
            tb->index[k] = 0;
            j = k;
        }
    }
}

static void
lru_unlink(struct anom_table *tb, uint32_t s)
{
    struct anom_slot *x = &tb->slots[s - 1];

    if (x->prev)
        tb->slots[x->prev - 1].next = x->next;
    else
        tb->head = x->next;
    if (x->next)
        tb->slots[x->next - 1].prev = x->prev;
    else
        tb->tail = x->prev;
    x->prev = x->next = 0;
}

static void
lru_front(struct anom_table *tb, uint32_t s)
{
    struct anom_slot *x = &tb->slots[s - 1];

    x->prev = 0;
    x->next = tb->head;
    if (tb->head)
        tb->slots[tb->head - 1].prev = s;
    tb->head = s;
    if (!tb->tail)
        tb->tail = s;
}

/* A free slot number (slot + 1), growing the array or evicting. */
static uint32_t
slot_take(struct anom_table *tb)
{
    uint32_t s;

    if (tb->used == tb->max) {
        s = tb->tail;
        index_delete(tb, find(tb, tb->slots[s - 1].hash));
        lru_unlink(tb, s);
        tb->evicted++;
        return s;
    }
    if (tb->used == tb->nslots) {
        size_t n = tb->nslots ? tb->nslots * 2 : 8;
        struct anom_slot *p;

        if (n > tb->max)
            n = tb->max;
        if (!(p = realloc(tb->slots, n * sizeof(*p))))
            return 0;
        tb->slots = p;
        tb->nslots = n;
    }
    return (uint32_t)++tb->used;
}

struct anom_det *
anom_table_get(struct anom_table *tb, uint64_t hash, int *created)
{
    size_t j;
    uint32_t s;

    *created = 0;
    if (!hash)
        hash = 1;                       /* 0 marks a free slot */
    j = find(tb, hash);
    if ((s = tb->index[j]) != 0) {
        if (tb->head != s) {
            lru_unlink(tb, s);
            lru_front(tb, s);
        }
        return &tb->slots[s - 1].det;
    }
    if (!(s = slot_take(tb)))
        return NULL;
    tb->slots[s - 1].hash = hash;
    anom_det_init(&tb->slots[s - 1].det);
    tb->index[find(tb, hash)] = s;      /* eviction may have moved it */
    lru_front(tb, s);
    *created = 1;
    return &tb->slots[s - 1].det;
}
