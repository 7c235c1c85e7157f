/*
 * tail: the line splitter.  It cuts a buffer of file bytes into lines with
 * memchr, hands each line to a callback as a pointer into the buffer (no
 * copy), strips a trailing \r, cuts lines longer than max_line at that
 * size and skips the rest of such a line up to its newline.  Offsets given
 * to the callback never point into a line, so a saved offset always
 * resumes at a line start.
 */
#ifndef VG_TAIL_READER_H
#define VG_TAIL_READER_H

#include <stddef.h>
#include <stdint.h>

/*
 * One line: n bytes at p (no newline, no trailing \r), cut at max_line
 * when `truncated`.  `end` is the file offset a reader may resume from
 * once this line is delivered: past its newline, or the line's own start
 * when the line was cut (its tail is still being skipped).
 * Returns 0, or a negative errno that stops the split.
 */
typedef int (*tail_line_fn)(void *arg, const char *p, size_t n,
                            int truncated, uint64_t start, uint64_t end);

struct tail_split {
    size_t max_line;                    /* bytes, >= 1                  */
    int    skipping;                    /* dropping a cut line's tail    */
};

/*
 * Splits buf[0..len), whose first byte is at file offset `base`, calling
 * fn for every complete line.  Returns the bytes consumed (lines and
 * skipped bytes); buf[ret..len) is the start of a line still without its
 * newline (shorter than max_line), to be given again with more bytes.
 * A negative errno from fn is returned as is.
 */
long tail_split_feed(struct tail_split *sp, const char *buf, size_t len,
                     uint64_t base, tail_line_fn fn, void *arg);

/*
 * Delivers buf[0..len), a last line without newline (flush timeout,
 * rotation, deleted file), as a line; nothing when len is 0 or the line
 * was cut and is being skipped (its start was delivered already).
 * Returns 0 or fn's negative errno.
 */
int tail_split_flush(struct tail_split *sp, const char *buf, size_t len,
                     uint64_t base, tail_line_fn fn, void *arg);

/* CRC-32 (IEEE 802.3, as zlib's crc32()) of n bytes, continuing crc. */
uint32_t tail_crc32(uint32_t crc, const void *p, size_t n);

#endif
