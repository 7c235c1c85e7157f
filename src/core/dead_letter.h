/*
 * Dead letters: events an output rejected for good (a permanent error, or
 * retries exhausted) are appended to state_dir/dead-letter/NAME.jsonl, one
 * JSON object per event with the reason, so nothing is dropped silently.
 */
#ifndef VG_DEAD_LETTER_H
#define VG_DEAD_LETTER_H

#include <stddef.h>

struct vg_batch;

/*
 * Appends every live event of b to the dead-letter file of `owner` (an
 * instance name such as "output[http#1]"; the file is named after it and
 * the pipeline) and fsyncs it.  Returns 0, or a negative errno when the
 * events could not be written (the caller must count them as lost); *path
 * gets the file name (static storage, for messages).
 */
int vg_dead_letter_write(const char *state_dir, const char *pipeline,
                         const char *owner, const struct vg_batch *b,
                         const char *reason, unsigned attempts,
                         const char **path);

#endif
