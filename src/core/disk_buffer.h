/*
 * Disk buffer of one output: append-only segment files of whole sealed
 * batches in a directory of state_dir, so what an output has not yet
 * delivered survives a crash or an outage longer than memory allows.
 *
 * Files: seg-NNNNNNNNNNNNNNNN.vgb (records: magic, length, the batch bytes
 * with their own crc32c, padding to 8) and `cursor` (the first undelivered
 * record, written atomically with a checksum).  Delivery is in order, so
 * the cursor is all the state there is; segments wholly before it are
 * deleted.  A torn or corrupt record is reported and skipped, losing that
 * batch only; a corrupt cursor replays from the oldest segment.
 */
#ifndef VG_DISK_BUFFER_H
#define VG_DISK_BUFFER_H

#include <stddef.h>
#include <stdint.h>

struct vg_batch;
struct vg_dbuf;

enum vg_dbuf_fsync {
    VG_DBUF_FSYNC_ALWAYS = 0,           /* after every append */
    VG_DBUF_FSYNC_INTERVAL,             /* when vg_dbuf_sync is called */
    VG_DBUF_FSYNC_NEVER,
};

/* Where a record is. */
struct vg_dpos {
    uint64_t seg;
    uint64_t off;                       /* of the record */
    uint64_t end;                       /* offset after it */
};

typedef void (*vg_dbuf_replay_fn)(void *arg, const struct vg_dpos *pos,
                                  size_t bytes);

/*
 * Opens (creating it 0700) the buffer in dir and calls replay for every
 * record after the cursor, oldest first, so the owner can queue them.
 * `who` names the owner in log lines.  0 or a negative errno.
 */
int  vg_dbuf_open(struct vg_dbuf **out, const char *dir, int64_t max_size,
                  enum vg_dbuf_fsync policy, const char *who,
                  vg_dbuf_replay_fn replay, void *arg);
/* Persists the cursor and closes; NULL is a no-op. */
void vg_dbuf_close(struct vg_dbuf *d);

/* Appends a sealed batch.  0 with *pos set, -ENOSPC when max_size would
 * be passed (or the disk is full), another negative errno on failure
 * (nothing is left half-written: the segment is cut back). */
int  vg_dbuf_append(struct vg_dbuf *d, const struct vg_batch *b,
                    struct vg_dpos *pos);

/* Reads a record back: 0 with a new batch in *out, or -EBADMSG when it is
 * corrupt (reported), another negative errno when it cannot be read. */
int  vg_dbuf_read(struct vg_dbuf *d, const struct vg_dpos *pos,
                  struct vg_batch **out);

/* The record at pos is delivered (or given up): the cursor moves past it
 * and segments before it are deleted. */
void vg_dbuf_delivered(struct vg_dbuf *d, const struct vg_dpos *pos);

/* fsync what was appended (policy interval) and save the cursor. */
void vg_dbuf_sync(struct vg_dbuf *d);

uint64_t vg_dbuf_bytes(const struct vg_dbuf *d);    /* on disk */

#endif
