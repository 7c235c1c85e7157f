/*
 * Series-id cache of the postgres output: the 64-bit series hash of a
 * metric (name + labels, computed by the batch) -> its vigil_series.id.
 * Open addressing with linear probing; a hit costs one multiply and a
 * compare, so a steady stream of known series writes samples only.
 */
#ifndef VG_PG_SERIES_H
#define VG_PG_SERIES_H

#include <stddef.h>
#include <stdint.h>

struct pg_series_slot {
    uint64_t hash;
    int64_t  id;                        /* 0: empty slot */
};

struct pg_series {
    struct pg_series_slot *slots;
    size_t                 cap;         /* a power of two, or 0 */
    size_t                 n;
};

void pg_series_init(struct pg_series *s);
void pg_series_release(struct pg_series *s);
void pg_series_clear(struct pg_series *s);
/* The id of hash, or 0 when unknown (ids start at 1). */
int64_t pg_series_get(const struct pg_series *s, uint64_t hash);
/* Sets hash -> id (id > 0); 0 or -ENOMEM. */
int pg_series_put(struct pg_series *s, uint64_t hash, int64_t id);

#endif /* VG_PG_SERIES_H */
