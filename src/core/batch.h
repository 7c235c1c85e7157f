/*
 * Batches: events in one contiguous, position-independent buffer.
 *
 * Layout (all integers little-endian, records 8-byte aligned):
 *   header  struct vg_batch_hdr (magic, version, count, payload bytes,
 *           crc32c of the payload)
 *   payload records, one per event; every reference inside a record is
 *           an offset from the record's start, never a pointer, so the
 *           bytes can be written to disk, read back and shared as they are.
 * A batch is mutable while its creator fills it; vg_batch_seal() computes
 * the checksum, after which it is immutable except for the per-record
 * "dropped" flag that filters may set.  Batches are reference counted.
 */
#ifndef VG_BATCH_H
#define VG_BATCH_H

#include <stddef.h>
#include <stdint.h>

#include <vigil/plugin.h>

#define VG_BATCH_MAGIC   0x31424756u    /* "VGB1" */
#define VG_BATCH_VERSION 1u

struct vg_batch_hdr {
    uint32_t magic;
    uint32_t version;
    uint32_t count;             /* records, including dropped ones   */
    uint32_t flags;             /* VG_BATCH_SEALED                   */
    uint64_t payload_len;       /* bytes after this header           */
    uint32_t crc;               /* crc32c of the payload (sealed)    */
    uint32_t reserved;
};

#define VG_BATCH_SEALED 0x1u

struct vg_ack;                  /* delivery tracking, owned by engine */

struct vg_batch {
    int              refs;
    uint32_t         live;      /* records not dropped                */
    uint32_t         alerts;    /* alert records (dropped ones too)   */
    char            *buf;       /* header + payload                   */
    size_t           len;       /* bytes used in buf                  */
    size_t           cap;
    struct vg_ack   *ack;       /* tracker this batch counts toward   */
    struct vg_instance *origin; /* the input that produced it         */
    int64_t          created;   /* mono ns, for latency accounting    */
    int              crc_stale; /* frozen, header crc not yet computed */
};

/* Returns a new batch with one reference. */
struct vg_batch *vg_batch_new_raw(size_t bytes_hint);
void   vg_batch_ref_raw(struct vg_batch *b);
void   vg_batch_unref_raw(struct vg_batch *b);

/* Copies ev into b: computes the series hash when ev->hash is 0 (metrics:
 * name + sorted labels; alerts: rule + sorted labels; logs keep 0), sorts
 * labels by key (bytewise, a prefix first; of duplicate keys the last one
 * given wins), keeps log attributes in their order.  0, or -EINVAL for an
 * event the batch cannot hold (bad kind, type, state or severity, NULL
 * name or rule, non-string label, counts past the limits below, record
 * past 4 GiB), -E2BIG when the whole batch would pass 4 GiB, -EPERM when
 * the batch is sealed.  Borrows ev. */
int    vg_batch_add_raw(struct vg_batch *b, const struct vg_event *ev);
#define VG_BATCH_MAX_LABELS  1024
#define VG_BATCH_MAX_ATTRS   4096
#define VG_BATCH_MAX_BUCKETS 4096

size_t vg_batch_count_raw(const struct vg_batch *b);   /* live events    */
size_t vg_batch_bytes_raw(const struct vg_batch *b);   /* buffer bytes   */

/* Next live event: 1 and fills ev, or 0 at the end.  Labels and attrs
 * are decoded into it->scratch (freed by vg_iter_release_raw). */
int    vg_batch_next_raw(const struct vg_batch *b, struct vg_iter *it,
                         struct vg_event *ev);
void   vg_iter_release_raw(struct vg_iter *it);
/* Marks the event last returned by the iterator as dropped (a no-op
 * before the first next or when already dropped).  On a sealed batch it
 * clears VG_BATCH_SEALED: seal again before writing the bytes out. */
void   vg_batch_drop_raw(struct vg_batch *b, const struct vg_iter *it);

/* Freezes the batch: sets VG_BATCH_SEALED, so adds fail with -EPERM,
 * without computing the checksum yet (most batches never reach a disk).
 * Idempotent. */
void   vg_batch_freeze(struct vg_batch *b);

/* Freezes the batch and computes its checksum: needed before its bytes
 * are written out (idempotent, cheap once done). */
void   vg_batch_seal(struct vg_batch *b);

/* Serialised form = b->buf, b->len (header included) of a sealed batch.
 * vg_batch_decode checks magic, version, lengths (len must be exactly
 * header + payload_len), checksum and every record's offsets, so a torn,
 * corrupt or unsealed buffer is refused (-EBADMSG) and never read past its
 * end.  data may have any alignment; it is copied.  On success *out is a
 * new sealed batch with one reference. */
int    vg_batch_decode(const void *data, size_t len, struct vg_batch **out);

/* 64-bit series hash over name and labels (labels must be sorted). */
uint64_t vg_series_hash_raw(const char *name, const struct vg_kv *labels,
                            uint32_t nlabels);
/* Stable across runs, processes and hosts (stored ids, sampling). */
uint64_t vg_hash64(const void *data, size_t len, uint64_t seed);
/* CRC-32C (Castagnoli); pass 0 first, then the previous result to extend:
 * vg_crc32c(0, "123456789", 9) == 0xE3069283.  Uses the SSE4.2 crc32
 * instruction when the CPU has it; _sw is the portable table version. */
uint32_t vg_crc32c(uint32_t crc, const void *data, size_t len);
uint32_t vg_crc32c_sw(uint32_t crc, const void *data, size_t len);
int      vg_crc32c_hw_available(void);

#endif
