/*
 * Batches: the events of one input tick in one flat buffer that can go to
 * disk, come back and be shared between outputs as it is.  Everything a
 * record refers to lies inside the record, addressed by offsets from the
 * record's start; vg_batch_decode() proves that of an untrusted buffer
 * before anything else reads it.
 *
 * Record layout (little-endian, each record starts 8-byte aligned):
 *
 *   struct rec            40 bytes: size (whole record, padding included,
 *                         a multiple of 8), kind, flags (REC_DROPPED),
 *                         nlabels, nattrs, time, hash, value
 *   kind part             struct rec_metric (32) | rec_log (16) |
 *                         rec_alert (48)
 *   kv table              nlabels + nattrs struct rec_kv (24 bytes each):
 *                         labels first, sorted by key, unique; then the
 *                         log attributes in the order given
 *   histogram             metrics only: double bounds[nbuckets], then
 *                         uint64_t counts[nbuckets]
 *   string heap           every string as its bytes plus a NUL; lengths
 *                         are explicit, so bodies and values may hold NULs
 *   padding               zeros up to the next multiple of 8
 *
 * Checksum and drops: the crc covers every payload byte, the dropped flags
 * included.  A batch is frozen (VG_BATCH_SEALED set, no more adds) when it
 * leaves the filters; its crc is computed only when its bytes are written
 * out (the disk buffer seals it), since most batches never are.  Dropping
 * a record of a sealed batch clears VG_BATCH_SEALED, and whoever needs the
 * checksum seals again; the flag stays a plain byte.
 */
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

#if defined(__x86_64__) || defined(__i386__)
#include <nmmintrin.h>
#define HAVE_X86_CRC 1
#endif

#include "ack.h"
#include "batch.h"
#include "util.h"

#if defined(__BYTE_ORDER__) && __BYTE_ORDER__ != __ORDER_LITTLE_ENDIAN__
#error "batch records are little-endian; a big-endian port needs byte swaps"
#endif

#define REC_DROPPED 0x1u
#define HDR_SIZE    sizeof(struct vg_batch_hdr)

struct rec {
    uint32_t size;              /* bytes, padding included, multiple of 8 */
    uint8_t  kind;              /* enum vg_event_kind                     */
    uint8_t  flags;             /* REC_DROPPED                            */
    uint16_t reserved;          /* 0                                      */
    uint32_t nlabels;
    uint32_t nattrs;            /* logs; 0 for the other kinds            */
    int64_t  time;              /* ns since the epoch                     */
    uint64_t hash;
    double   value;             /* gauge, counter, alert value            */
};

struct rec_metric {
    uint32_t name_off;
    uint32_t name_len;
    uint32_t type;              /* enum vg_metric_type                    */
    uint32_t nbuckets;          /* histograms; 0 otherwise                */
    double   sum;
    uint64_t count;
};

struct rec_log {
    uint32_t severity;          /* 0..24                                  */
    uint32_t body_off;
    uint32_t body_len;
    uint32_t reserved;          /* 0                                      */
};

struct rec_alert {
    uint32_t rule_off;
    uint32_t rule_len;
    uint32_t summary_off;
    uint32_t summary_len;
    uint32_t desc_off;          /* 0: no description                      */
    uint32_t desc_len;
    uint32_t state;             /* enum vg_alert_state                    */
    uint32_t severity;          /* enum vg_alert_severity                 */
    int64_t  starts_at;         /* ns                                     */
    int64_t  ends_at;           /* ns                                     */
};

struct rec_kv {
    uint32_t key_off;
    uint32_t key_len;
    uint32_t type;              /* enum vg_val_type                       */
    uint32_t len;               /* VG_VAL_STR: bytes                      */
    union {
        uint64_t off;           /* VG_VAL_STR: offset of the bytes        */
        int64_t  i;
        double   d;
        uint64_t b;             /* 0 or 1                                 */
    } v;
};

_Static_assert(sizeof(struct vg_batch_hdr) == 32, "header layout");
_Static_assert(sizeof(struct rec) == 40, "record layout");
_Static_assert(sizeof(struct rec_metric) == 32, "metric layout");
_Static_assert(sizeof(struct rec_log) == 16, "log layout");
_Static_assert(sizeof(struct rec_alert) == 48, "alert layout");
_Static_assert(sizeof(struct rec_kv) == 24, "kv layout");

/* Labels sorted on the stack up to this many; past it, on the heap. */
#define SORT_STACK 64

/* ------------------------------------------------------------------ */
/* Hashing                                                             */
/* ------------------------------------------------------------------ */

#define P1 UINT64_C(0x9e3779b97f4a7c15)
#define P2 UINT64_C(0xc2b2ae3d27d4eb4f)
#define P3 UINT64_C(0x165667b19e3779f9)
#define P4 UINT64_C(0x85ebca77c2b2ae63)

static inline uint64_t
rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

static inline uint64_t
load64(const unsigned char *p)
{
    uint64_t v;

    memcpy(&v, p, 8);
    return v;                   /* little-endian host, checked above */
}

static inline uint64_t
round64(uint64_t acc, uint64_t lane)
{
    return rotl64(acc + lane * P2, 31) * P1;
}

/* splitmix64's finalizer: every input bit reaches every output bit. */
static inline uint64_t
avalanche(uint64_t h)
{
    h ^= h >> 30;
    h *= UINT64_C(0xbf58476d1ce4e5b9);
    h ^= h >> 27;
    h *= UINT64_C(0x94d049bb133111eb);
    h ^= h >> 31;
    return h;
}

static inline uint64_t
load32(const unsigned char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static inline uint64_t
step(uint64_t h, uint64_t w)
{
    h ^= round64(0, w);
    return rotl64(h, 27) * P1 + P4;
}

/*
 * Mixes len bytes into h, the length first, so a string boundary moved or a
 * zero-padded tail always changes what goes in.  Four independent lanes
 * for long inputs (the multiplies overlap), one for short ones; short tails
 * are read with overlapping loads instead of a byte loop.  Changing any of
 * this changes stored series ids and cross-host sampling: don't.
 */
/* Inputs of 32 bytes or more: four independent lanes, so the multiplies
 * overlap.  Out of line, to keep the short path small enough to inline. */
static uint64_t
absorb_long(uint64_t h, const unsigned char **pp, size_t *np)
{
    const unsigned char *p = *pp;
    size_t n = *np;
    uint64_t v1 = h + P1 + P2, v2 = h + P2, v3 = h, v4 = h - P1;

    do {
        v1 = round64(v1, load64(p));
        v2 = round64(v2, load64(p + 8));
        v3 = round64(v3, load64(p + 16));
        v4 = round64(v4, load64(p + 24));
        p += 32;
        n -= 32;
    } while (n >= 32);
    *pp = p;
    *np = n;
    h ^= rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
    return h * P1 + P4;
}

/*
 * Mixes n bytes into h, the length first, so a string boundary moved or a
 * zero-padded tail always changes what goes in.  Short tails are read with
 * overlapping loads instead of a byte loop.  Changing any of this changes
 * stored series ids and cross-host sampling: don't.
 */
static inline uint64_t
absorb(uint64_t h, const unsigned char *p, size_t n)
{
    h = rotl64(h ^ ((uint64_t)n * P1), 29) * P2;
    if (__builtin_expect(n >= 32, 0))
        h = absorb_long(h, &p, &n);
    while (n >= 8) {
        h = step(h, load64(p));
        p += 8;
        n -= 8;
    }
    if (n >= 4)
        h = step(h, load32(p) | load32(p + n - 4) << 32);
    else if (n > 0)
        h = step(h, (uint64_t)p[0] | (uint64_t)p[n / 2] << 8 |
                    (uint64_t)p[n - 1] << 16);
    return h;
}

uint64_t
vg_hash64(const void *data, size_t len, uint64_t seed)
{
    return avalanche(absorb(seed + P3, data, len));
}

/*
 * Three running states: the name, the keys, the values; each string goes in
 * with its length, so ("a","bc") and ("ab","c") feed different words, and
 * the states join asymmetrically at the end, so keys and values cannot
 * trade places.  Separate chains let the multiplies overlap: a 3-label
 * series costs about 20 ns.
 */
#define SERIES_SEED UINT64_C(0x7669676c)        /* "vigl" */

struct series {
    uint64_t name, keys, values;
};

static inline void
series_begin(struct series *s, const char *name)
{
    s->name = absorb(SERIES_SEED, (const unsigned char *)(name ? name : ""),
                     name ? strlen(name) : 0);
    s->keys = SERIES_SEED + P1;
    s->values = SERIES_SEED + P2;
}

static inline void
series_add(struct series *s, const struct vg_kv *kv)
{
    int str = kv->type == VG_VAL_STR && kv->v.s;

    s->keys = absorb(s->keys, (const unsigned char *)(kv->key ? kv->key : ""),
                     kv->key ? kv->key_len : 0);
    s->values = absorb(s->values, (const unsigned char *)(str ? kv->v.s : ""),
                       str ? kv->len : 0);
}

static inline uint64_t
series_end(const struct series *s, uint32_t nlabels)
{
    return avalanche(step(step(s->name ^ nlabels, s->keys), s->values));
}

uint64_t
vg_series_hash_raw(const char *name, const struct vg_kv *labels,
                   uint32_t nlabels)
{
    struct series s;
    uint32_t i;

    series_begin(&s, name);
    for (i = 0; i < nlabels; i++)
        series_add(&s, &labels[i]);
    return series_end(&s, nlabels);
}

static uint64_t
series_hash_sorted(const char *name, const struct vg_kv *const *labels,
                   uint32_t nlabels)
{
    struct series s;
    uint32_t i;

    series_begin(&s, name);
    for (i = 0; i < nlabels; i++)
        series_add(&s, labels[i]);
    return series_end(&s, nlabels);
}

/* ------------------------------------------------------------------ */
/* CRC-32C                                                             */
/* ------------------------------------------------------------------ */

static uint32_t crc_table[8][256];
static int crc_hw;
static pthread_once_t crc_once = PTHREAD_ONCE_INIT;

static void
crc_init(void)
{
    uint32_t i, j, c;

    for (i = 0; i < 256; i++) {
        c = i;
        for (j = 0; j < 8; j++)
            c = (c >> 1) ^ (0x82f63b78u & (0u - (c & 1)));
        crc_table[0][i] = c;
    }
    for (i = 0; i < 256; i++) {
        c = crc_table[0][i];
        for (j = 1; j < 8; j++) {
            c = crc_table[0][c & 0xff] ^ (c >> 8);
            crc_table[j][i] = c;
        }
    }
#ifdef HAVE_X86_CRC
    __builtin_cpu_init();
    crc_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t
crc_sw(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len > 0 && ((uintptr_t)p & 7)) {
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    while (len >= 8) {
        uint64_t w = load64(p) ^ crc;

        crc = crc_table[7][w & 0xff] ^
              crc_table[6][(w >> 8) & 0xff] ^
              crc_table[5][(w >> 16) & 0xff] ^
              crc_table[4][(w >> 24) & 0xff] ^
              crc_table[3][(w >> 32) & 0xff] ^
              crc_table[2][(w >> 40) & 0xff] ^
              crc_table[1][(w >> 48) & 0xff] ^
              crc_table[0][w >> 56];
        p += 8;
        len -= 8;
    }
    while (len > 0) {
        crc = crc_table[0][(crc ^ *p++) & 0xff] ^ (crc >> 8);
        len--;
    }
    return crc;
}

#ifdef HAVE_X86_CRC
__attribute__((target("sse4.2"))) static uint32_t
crc_hw_run(uint32_t crc, const unsigned char *p, size_t len)
{
    while (len > 0 && ((uintptr_t)p & 7)) {
        crc = _mm_crc32_u8(crc, *p++);
        len--;
    }
#if defined(__x86_64__)
    {
        uint64_t c64 = crc;

        while (len >= 8) {
            c64 = _mm_crc32_u64(c64, load64(p));
            p += 8;
            len -= 8;
        }
        crc = (uint32_t)c64;
    }
#endif
    while (len >= 4) {
        uint32_t w;

        memcpy(&w, p, 4);
        crc = _mm_crc32_u32(crc, w);
        p += 4;
        len -= 4;
    }
    while (len > 0) {
        crc = _mm_crc32_u8(crc, *p++);
        len--;
    }
    return crc;
}
#endif

uint32_t
vg_crc32c_sw(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
    return ~crc_sw(~crc, data, len);
}

uint32_t
vg_crc32c(uint32_t crc, const void *data, size_t len)
{
    pthread_once(&crc_once, crc_init);
#ifdef HAVE_X86_CRC
    if (crc_hw)
        return ~crc_hw_run(~crc, data, len);
#endif
    return ~crc_sw(~crc, data, len);
}

int
vg_crc32c_hw_available(void)
{
    pthread_once(&crc_once, crc_init);
    return crc_hw;
}

/* ------------------------------------------------------------------ */
/* Building                                                            */
/* ------------------------------------------------------------------ */

static inline struct vg_batch_hdr *
hdr_of(const struct vg_batch *b)
{
    return (struct vg_batch_hdr *)(void *)b->buf;
}

struct vg_batch *
vg_batch_new_raw(size_t bytes_hint)
{
    struct vg_batch *b = vg_xcalloc(1, sizeof(*b));
    struct vg_batch_hdr *h;

    b->cap = bytes_hint < 512 ? 512 : bytes_hint;
    b->buf = vg_xmalloc(b->cap);
    b->len = HDR_SIZE;
    b->refs = 1;
    b->created = vg_mono_ns();
    h = hdr_of(b);
    memset(h, 0, HDR_SIZE);
    h->magic = VG_BATCH_MAGIC;
    h->version = VG_BATCH_VERSION;
    return b;
}

void
vg_batch_ref_raw(struct vg_batch *b)
{
    b->refs++;
}

/* The last reference settles the batch's delivery tracker. */
void
vg_batch_unref_raw(struct vg_batch *b)
{
    if (!b || --b->refs > 0)
        return;
    vg_ack_unref(b->ack);
    free(b->buf);
    free(b);
}

size_t
vg_batch_count_raw(const struct vg_batch *b)
{
    return b->live;
}

size_t
vg_batch_bytes_raw(const struct vg_batch *b)
{
    return b->len;
}

/* Byte order of keys; a proper prefix sorts first. */
static inline int
key_cmp(const struct vg_kv *a, const struct vg_kv *b)
{
    uint32_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = n ? memcmp(a->key, b->key, n) : 0;

    if (c != 0)
        return c;
    return (a->key_len > b->key_len) - (a->key_len < b->key_len);
}

/*
 * Stable insertion sort (label sets are small), then keep the last of each
 * run of equal keys: the caller's later value wins.  Returns the count left.
 */
static uint32_t
sort_labels(const struct vg_kv **v, uint32_t n)
{
    uint32_t i, j, out;

    for (i = 1; i < n; i++) {
        const struct vg_kv *x = v[i];

        for (j = i; j > 0 && key_cmp(v[j - 1], x) > 0; j--)
            v[j] = v[j - 1];
        v[j] = x;
    }
    for (i = 0, out = 0; i < n; i++) {
        if (i + 1 < n && key_cmp(v[i], v[i + 1]) == 0)
            continue;
        v[out++] = v[i];
    }
    return out;
}

static inline size_t
str_len(const char *s)
{
    return s ? strlen(s) : 0;
}

struct writer {
    char     *rec;              /* record start */
    uint32_t  heap;             /* next free heap offset */
};

/* Label keys and values are mostly under 16 bytes: fixed-size moves that
 * the compiler inlines beat a call to memcpy. */
static inline void
copy_short(char *d, const char *s, size_t len)
{
    if (len > 16) {
        memcpy(d, s, len);
    } else if (len >= 8) {
        memcpy(d, s, 8);
        memcpy(d + len - 8, s + len - 8, 8);
    } else if (len >= 4) {
        memcpy(d, s, 4);
        memcpy(d + len - 4, s + len - 4, 4);
    } else if (len > 0) {
        d[0] = s[0];
        d[len / 2] = s[len / 2];
        d[len - 1] = s[len - 1];
    }
}

static inline uint32_t
put_str(struct writer *w, const char *s, size_t len)
{
    uint32_t off = w->heap;

    copy_short(w->rec + off, s, len);
    w->rec[off + len] = '\0';
    w->heap += (uint32_t)len + 1;
    return off;
}

static void
put_kv(struct writer *w, struct rec_kv *out, const struct vg_kv *kv)
{
    out->key_len = kv->key_len;
    out->type = kv->type;
    out->len = 0;
    switch (kv->type) {
    case VG_VAL_STR:
        out->len = kv->len;
        out->v.off = put_str(w, kv->v.s, kv->len);
        break;
    case VG_VAL_INT:
        out->v.i = kv->v.i;
        break;
    case VG_VAL_DOUBLE:
        out->v.d = kv->v.d;
        break;
    default:
        out->v.b = kv->v.b != 0;
        break;
    }
    out->key_off = put_str(w, kv->key, kv->key_len);
}

/* Heap bytes kv needs, or -1 when it is malformed. */
static inline int64_t
kv_bytes(const struct vg_kv *kv, int labels_only)
{
    int64_t n;

    if (!kv->key && kv->key_len)
        return -1;
    n = (int64_t)kv->key_len + 1;
    switch (kv->type) {
    case VG_VAL_STR:
        if (!kv->v.s && kv->len)
            return -1;
        return n + kv->len + 1;
    case VG_VAL_INT:
    case VG_VAL_DOUBLE:
    case VG_VAL_BOOL:
        return labels_only ? -1 : n;
    default:
        return -1;
    }
}

static int
grow(struct vg_batch *b, size_t need)
{
    size_t cap = b->cap;

    if (need > UINT32_MAX)
        return -E2BIG;
    if (need <= cap)
        return 0;
    while (cap < need)
        cap = cap * 2;
    b->buf = vg_xrealloc(b->buf, cap);
    b->cap = cap;
    return 0;
}

int
vg_batch_add_raw(struct vg_batch *b, const struct vg_event *ev)
{
    const struct vg_kv *stack[SORT_STACK], **sorted = stack;
    uint32_t nlabels = 0, nattrs = 0, nbuckets = 0, i;
    size_t part, name_len = 0, rule_len = 0, sum_len = 0, desc_len = 0;
    uint64_t size, heap = 0;
    struct vg_batch_hdr *h = hdr_of(b);
    struct writer w;
    struct rec *r;
    struct rec_kv *kvs;
    int64_t n;
    int rc = -EINVAL;

    if (h->flags & VG_BATCH_SEALED)
        return -EPERM;
    if (ev->nlabels > VG_BATCH_MAX_LABELS || (ev->nlabels && !ev->labels))
        return -EINVAL;

    switch (ev->kind) {
    case VG_EV_METRIC:
        part = sizeof(struct rec_metric);
        if (!ev->name || ev->metric_type < VG_METRIC_GAUGE ||
            ev->metric_type > VG_METRIC_HISTOGRAM)
            return -EINVAL;
        name_len = strlen(ev->name);
        heap += name_len + 1;
        if (ev->metric_type == VG_METRIC_HISTOGRAM) {
            nbuckets = ev->hist.nbuckets;
            if (nbuckets > VG_BATCH_MAX_BUCKETS ||
                (nbuckets && (!ev->hist.bounds || !ev->hist.counts)))
                return -EINVAL;
        }
        break;
    case VG_EV_LOG:
        part = sizeof(struct rec_log);
        nattrs = ev->nattrs;
        if (ev->severity > 24 || (ev->body_len && !ev->body) ||
            nattrs > VG_BATCH_MAX_ATTRS || (nattrs && !ev->attrs))
            return -EINVAL;
        heap += (uint64_t)ev->body_len + 1;
        for (i = 0; i < nattrs; i++) {
            if ((n = kv_bytes(&ev->attrs[i], 0)) < 0)
                return -EINVAL;
            heap += (uint64_t)n;
        }
        break;
    case VG_EV_ALERT:
        part = sizeof(struct rec_alert);
        if (!ev->rule || ev->alert_state < VG_ALERT_FIRING ||
            ev->alert_state > VG_ALERT_RESOLVED ||
            ev->alert_severity < VG_ALERT_INFO ||
            ev->alert_severity > VG_ALERT_CRITICAL)
            return -EINVAL;
        rule_len = strlen(ev->rule);
        sum_len = str_len(ev->summary);
        heap += rule_len + 1 + sum_len + 1;
        if (ev->description) {
            desc_len = strlen(ev->description);
            heap += desc_len + 1;
        }
        break;
    default:
        return -EINVAL;
    }

    if (ev->nlabels > SORT_STACK)
        sorted = vg_xmalloc(ev->nlabels * sizeof(*sorted));
    for (i = 0; i < ev->nlabels; i++) {
        if (kv_bytes(&ev->labels[i], 1) < 0)
            goto done;
        sorted[i] = &ev->labels[i];
    }
    nlabels = sort_labels(sorted, ev->nlabels);
    for (i = 0; i < nlabels; i++)
        heap += (uint64_t)kv_bytes(sorted[i], 1);

    size = sizeof(struct rec) + part +
           (uint64_t)(nlabels + nattrs) * sizeof(struct rec_kv) +
           (uint64_t)nbuckets * 16 + heap;
    size = (size + 7) & ~(uint64_t)7;
    if (size > UINT32_MAX)
        goto done;
    if ((rc = grow(b, b->len + size)) < 0)
        goto done;
    h = hdr_of(b);

    r = (struct rec *)(void *)(b->buf + b->len);
    memset(r, 0, sizeof(*r) + part);
    r->size = (uint32_t)size;
    r->kind = (uint8_t)ev->kind;
    r->nlabels = nlabels;
    r->nattrs = nattrs;
    r->time = ev->time;
    r->hash = ev->hash;
    r->value = ev->value;
    kvs = (struct rec_kv *)(void *)((char *)r + sizeof(*r) + part);
    w.rec = (char *)r;
    w.heap = (uint32_t)(sizeof(*r) + part +
                        (nlabels + nattrs) * sizeof(struct rec_kv) +
                        nbuckets * 16);
    for (i = 0; i < nlabels; i++)
        put_kv(&w, &kvs[i], sorted[i]);

    if (ev->kind == VG_EV_METRIC) {
        struct rec_metric *m = (struct rec_metric *)(void *)(r + 1);
        char *arrays = (char *)(kvs + nlabels);

        m->name_len = (uint32_t)name_len;
        m->name_off = put_str(&w, ev->name, name_len);
        m->type = ev->metric_type;
        m->nbuckets = nbuckets;
        if (nbuckets) {
            memcpy(arrays, ev->hist.bounds, nbuckets * sizeof(double));
            memcpy(arrays + nbuckets * 8, ev->hist.counts,
                   nbuckets * sizeof(uint64_t));
        }
        if (ev->metric_type == VG_METRIC_HISTOGRAM) {
            m->sum = ev->hist.sum;
            m->count = ev->hist.count;
        }
        if (!r->hash)
            r->hash = series_hash_sorted(ev->name, sorted, nlabels);
    } else if (ev->kind == VG_EV_LOG) {
        struct rec_log *lg = (struct rec_log *)(void *)(r + 1);

        lg->severity = ev->severity;
        lg->body_len = ev->body_len;
        lg->body_off = put_str(&w, ev->body, ev->body_len);
        for (i = 0; i < nattrs; i++)
            put_kv(&w, &kvs[nlabels + i], &ev->attrs[i]);
    } else {
        struct rec_alert *a = (struct rec_alert *)(void *)(r + 1);

        a->rule_len = (uint32_t)rule_len;
        a->rule_off = put_str(&w, ev->rule, rule_len);
        a->summary_len = (uint32_t)sum_len;
        a->summary_off = put_str(&w, ev->summary, sum_len);
        if (ev->description) {
            a->desc_len = (uint32_t)desc_len;
            a->desc_off = put_str(&w, ev->description, desc_len);
        }
        a->state = ev->alert_state;
        a->severity = ev->alert_severity;
        a->starts_at = ev->starts_at;
        a->ends_at = ev->ends_at;
        if (!r->hash)
            r->hash = series_hash_sorted(ev->rule, sorted, nlabels);
    }
    /* Zero the padding: the bytes are checksummed and written to disk. */
    memset(w.rec + w.heap, 0, size - w.heap);

    b->len += size;
    b->live++;
    b->alerts += ev->kind == VG_EV_ALERT;
    h->count++;
    h->payload_len = b->len - HDR_SIZE;
    rc = 0;
done:
    if (sorted != stack)
        free(sorted);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */
/* ------------------------------------------------------------------ */

static inline size_t
part_size(unsigned kind)
{
    switch (kind) {
    case VG_EV_METRIC:
        return sizeof(struct rec_metric);
    case VG_EV_LOG:
        return sizeof(struct rec_log);
    default:
        return sizeof(struct rec_alert);
    }
}

static inline void
get_kv(const char *rec, const struct rec_kv *in, struct vg_kv *out)
{
    out->key = rec + in->key_off;
    out->key_len = in->key_len;
    out->type = in->type;
    out->len = in->len;
    switch (in->type) {
    case VG_VAL_STR:
        out->v.s = rec + in->v.off;
        break;
    case VG_VAL_INT:
        out->v.i = in->v.i;
        break;
    case VG_VAL_DOUBLE:
        out->v.d = in->v.d;
        break;
    default:
        out->v.b = (int)in->v.b;
        break;
    }
}

static void
scratch_reserve(struct vg_iter *it, uint32_t n)
{
    uint32_t cap = it->scratch_cap ? it->scratch_cap : 16;

    if (n <= it->scratch_cap)
        return;
    while (cap < n)
        cap *= 2;
    it->scratch = vg_xrealloc(it->scratch, cap * sizeof(*it->scratch));
    it->scratch_cap = cap;
}

/*
 * Trusts the records: vg_batch_add_raw() wrote them or vg_batch_decode()
 * checked them.  it->reserved keeps the offset of the record last returned,
 * for vg_batch_drop_raw().
 */
int
vg_batch_next_raw(const struct vg_batch *b, struct vg_iter *it,
                  struct vg_event *ev)
{
    size_t off = it->offset ? it->offset : HDR_SIZE;
    const struct rec *r = NULL;
    const struct rec_kv *kvs;
    const char *base;
    uint32_t i, n;

    while (off < b->len) {
        r = (const struct rec *)(const void *)(b->buf + off);
        if (!(r->flags & REC_DROPPED))
            break;
        off += r->size;
        r = NULL;
    }
    if (!r) {
        it->offset = (uint32_t)off;
        return 0;
    }
    it->reserved = (uint32_t)off;
    it->offset = (uint32_t)(off + r->size);
    it->index++;

    base = (const char *)r;
    memset(ev, 0, sizeof(*ev));
    ev->kind = r->kind;
    ev->time = r->time;
    ev->hash = r->hash;
    ev->value = r->value;
    ev->nlabels = r->nlabels;
    n = r->nlabels + r->nattrs;
    kvs = (const struct rec_kv *)(const void *)(base + sizeof(*r) +
                                                part_size(r->kind));
    if (n) {
        scratch_reserve(it, n);
        for (i = 0; i < n; i++)
            get_kv(base, &kvs[i], &it->scratch[i]);
        if (r->nlabels)
            ev->labels = it->scratch;
    }

    if (r->kind == VG_EV_METRIC) {
        const struct rec_metric *m = (const void *)(r + 1);
        const char *arrays = (const char *)(kvs + n);

        ev->name = base + m->name_off;
        ev->metric_type = m->type;
        ev->hist.nbuckets = m->nbuckets;
        if (m->nbuckets) {
            ev->hist.bounds = (const double *)(const void *)arrays;
            ev->hist.counts = (const uint64_t *)(const void *)
                              (arrays + (size_t)m->nbuckets * 8);
        }
        ev->hist.sum = m->sum;
        ev->hist.count = m->count;
    } else if (r->kind == VG_EV_LOG) {
        const struct rec_log *lg = (const void *)(r + 1);

        ev->severity = lg->severity;
        ev->body = base + lg->body_off;
        ev->body_len = lg->body_len;
        ev->nattrs = r->nattrs;
        if (r->nattrs)
            ev->attrs = it->scratch + r->nlabels;
    } else {
        const struct rec_alert *a = (const void *)(r + 1);

        ev->rule = base + a->rule_off;
        ev->summary = base + a->summary_off;
        ev->description = a->desc_off ? base + a->desc_off : NULL;
        ev->alert_state = a->state;
        ev->alert_severity = a->severity;
        ev->starts_at = a->starts_at;
        ev->ends_at = a->ends_at;
    }
    return 1;
}

void
vg_iter_release_raw(struct vg_iter *it)
{
    free(it->scratch);
    it->scratch = NULL;
    it->scratch_cap = 0;
}

void
vg_batch_drop_raw(struct vg_batch *b, const struct vg_iter *it)
{
    struct rec *r;

    if (it->reserved < HDR_SIZE || it->reserved >= b->len)
        return;                 /* nothing returned yet */
    r = (struct rec *)(void *)(b->buf + it->reserved);
    if (r->flags & REC_DROPPED)
        return;
    r->flags |= REC_DROPPED;
    b->live--;
    hdr_of(b)->flags &= ~VG_BATCH_SEALED;   /* the crc no longer holds */
}

void
vg_batch_freeze(struct vg_batch *b)
{
    struct vg_batch_hdr *h = hdr_of(b);

    if (h->flags & VG_BATCH_SEALED)
        return;
    h->payload_len = b->len - HDR_SIZE;
    h->flags |= VG_BATCH_SEALED;
    b->crc_stale = 1;
}

void
vg_batch_seal(struct vg_batch *b)
{
    struct vg_batch_hdr *h = hdr_of(b);

    if ((h->flags & VG_BATCH_SEALED) && !b->crc_stale)
        return;
    vg_batch_freeze(b);
    h->crc = vg_crc32c(0, b->buf + HDR_SIZE, b->len - HDR_SIZE);
    b->crc_stale = 0;
}

/* ------------------------------------------------------------------ */
/* Decoding untrusted bytes                                            */
/* ------------------------------------------------------------------ */

/*
 * A string of len bytes at off, inside [lo, size) with its NUL.  cstr: no
 * NUL inside either (names, rules: the iterator hands them out as C
 * strings).
 */
static int
check_str(const char *rec, uint64_t lo, uint64_t size, uint64_t off,
          uint64_t len, int cstr)
{
    if (off < lo || off >= size || len >= size - off)
        return 0;
    if (rec[off + len] != '\0')
        return 0;
    return !cstr || !memchr(rec + off, '\0', len);
}

static int
check_kv(const char *rec, uint64_t lo, uint64_t size, const struct rec_kv *kv,
         int label)
{
    if (!check_str(rec, lo, size, kv->key_off, kv->key_len, 0))
        return 0;
    switch (kv->type) {
    case VG_VAL_STR:
        return check_str(rec, lo, size, kv->v.off, kv->len, 0);
    case VG_VAL_INT:
    case VG_VAL_DOUBLE:
        return !label && kv->len == 0;
    case VG_VAL_BOOL:
        return !label && kv->len == 0 && kv->v.b <= 1;
    default:
        return 0;
    }
}

static int
label_before(const char *rec, const struct rec_kv *a, const struct rec_kv *b)
{
    uint32_t n = a->key_len < b->key_len ? a->key_len : b->key_len;
    int c = n ? memcmp(rec + a->key_off, rec + b->key_off, n) : 0;

    return c < 0 || (c == 0 && a->key_len < b->key_len);
}

/* One record at rec, avail bytes left in the payload: 1 if sound. */
static int
check_record(const char *rec, uint64_t avail)
{
    const struct rec *r = (const struct rec *)(const void *)rec;
    const struct rec_kv *kvs;
    uint64_t size, lo, nkv, nb = 0;
    uint32_t i;

    if (avail < sizeof(*r))
        return 0;
    size = r->size;
    if (size > avail || size % 8 || r->reserved ||
        (r->flags & ~REC_DROPPED) || r->kind < VG_EV_METRIC ||
        r->kind > VG_EV_ALERT || r->nlabels > VG_BATCH_MAX_LABELS ||
        r->nattrs > VG_BATCH_MAX_ATTRS ||
        (r->kind != VG_EV_LOG && r->nattrs))
        return 0;
    if (size < sizeof(*r) + part_size(r->kind))
        return 0;
    if (r->kind == VG_EV_METRIC) {
        const struct rec_metric *m = (const void *)(r + 1);

        if (m->type < VG_METRIC_GAUGE || m->type > VG_METRIC_HISTOGRAM ||
            m->nbuckets > VG_BATCH_MAX_BUCKETS ||
            (m->type != VG_METRIC_HISTOGRAM &&
             (m->nbuckets || m->sum != 0 || m->count)))
            return 0;
        nb = m->nbuckets;
    }
    nkv = (uint64_t)r->nlabels + r->nattrs;
    lo = sizeof(*r) + part_size(r->kind) + nkv * sizeof(struct rec_kv) +
         nb * 16;
    if (lo > size)
        return 0;

    kvs = (const struct rec_kv *)(const void *)(rec + sizeof(*r) +
                                                part_size(r->kind));
    for (i = 0; i < nkv; i++) {
        if (!check_kv(rec, lo, size, &kvs[i], i < r->nlabels))
            return 0;
        if (i > 0 && i < r->nlabels &&
            !label_before(rec, &kvs[i - 1], &kvs[i]))
            return 0;
    }

    if (r->kind == VG_EV_METRIC) {
        const struct rec_metric *m = (const void *)(r + 1);

        return check_str(rec, lo, size, m->name_off, m->name_len, 1);
    }
    if (r->kind == VG_EV_LOG) {
        const struct rec_log *lg = (const void *)(r + 1);

        return lg->severity <= 24 && lg->reserved == 0 &&
               check_str(rec, lo, size, lg->body_off, lg->body_len, 0);
    }
    {
        const struct rec_alert *a = (const void *)(r + 1);

        if (a->state < VG_ALERT_FIRING || a->state > VG_ALERT_RESOLVED ||
            a->severity < VG_ALERT_INFO ||
            a->severity > VG_ALERT_CRITICAL)
            return 0;
        if (!check_str(rec, lo, size, a->rule_off, a->rule_len, 1) ||
            !check_str(rec, lo, size, a->summary_off, a->summary_len, 1))
            return 0;
        if (a->desc_off == 0)
            return a->desc_len == 0;
        return check_str(rec, lo, size, a->desc_off, a->desc_len, 1);
    }
}

/*
 * Works on an aligned copy: the caller's bytes may sit anywhere, and the
 * records are read as structs.  Requires a sealed buffer of exactly
 * payload_len bytes after the header.
 */
int
vg_batch_decode(const void *data, size_t len, struct vg_batch **out)
{
    struct vg_batch *b = NULL;
    struct vg_batch_hdr h;
    uint64_t off;
    uint32_t n = 0, live = 0;
    int rc = -EBADMSG;

    *out = NULL;
    if (len < HDR_SIZE || len > UINT32_MAX)
        goto fail;
    memcpy(&h, data, HDR_SIZE);
    if (h.magic != VG_BATCH_MAGIC || h.version != VG_BATCH_VERSION ||
        h.flags != VG_BATCH_SEALED || h.reserved != 0 ||
        h.payload_len != len - HDR_SIZE)
        goto fail;
    if (vg_crc32c(0, (const char *)data + HDR_SIZE, len - HDR_SIZE) != h.crc)
        goto fail;

    b = vg_batch_new_raw(len);
    memcpy(b->buf, data, len);
    b->len = len;
    for (off = HDR_SIZE; off < len; off += ((struct rec *)(void *)
                                            (b->buf + off))->size) {
        const struct rec *r = (const struct rec *)(void *)(b->buf + off);

        if (n == h.count || !check_record(b->buf + off, len - off))
            goto fail;
        n++;
        live += !(r->flags & REC_DROPPED);
        b->alerts += r->kind == VG_EV_ALERT;
    }
    if (n != h.count)
        goto fail;
    b->live = live;
    *out = b;
    return 0;
fail:
    vg_batch_unref_raw(b);
    return rc;
}
