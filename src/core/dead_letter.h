/*
 * Dead letters: events an output rejected for good (a permanent error, or
 * retries exhausted) are appended to state_dir/dead-letter/NAME.jsonl, one
 * JSON object per event with the reason, so nothing is dropped silently.
 */
#ifndef VG_DEAD_LETTER_H
#define VG_DEAD_LETTER_H

#include <stddef.h>
#include <stdint.h>

struct vg_batch;
struct vg_instance;

/*
 * Appends events of b to the dead-letter file of `owner` (an instance name
 * such as "output[http#1]"; the file is named after it and the pipeline)
 * and fsyncs it: the events at index[0..n) (ascending, counted as
 * vg_batch_next yields them) with reason[0..n), or, when index is NULL,
 * every event with reason[0].  Returns 0, or a negative errno when the
 * events could not be written (the caller must count them as lost); *path
 * gets the file name (static storage, for messages).
 */
int vg_dead_letter_write(const char *state_dir, const char *pipeline,
                         const char *owner, const struct vg_batch *b,
                         const uint32_t *index, const char *const *reason,
                         size_t n, unsigned attempts, const char **path);

/*
 * vg_dead_letter_write for the instance `in` (its state dir, pipeline and
 * name), then what an operator needs: a log line (at `level` when
 * written; an error naming the lost events otherwise) and the instance's
 * counter, dead_lettered or dropped_dead_letter_failed.  0, or the
 * negative errno of the write: the events are lost.
 */
int vg_dead_letter_instance(struct vg_instance *in, const struct vg_batch *b,
                            const uint32_t *index, const char *const *reason,
                            size_t n, unsigned attempts, int level);

#endif
