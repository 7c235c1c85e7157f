/*
 * RFC 6587 framing of a syslog TCP stream, decided per frame: a digit
 * starts an octet-counted frame ("LEN SP MSG"), anything else a frame
 * ended by LF (CR LF) or NUL.  Frames longer than the maximum are cut:
 * the first max bytes come out flagged, the rest is skipped.
 */
#ifndef VG_SYSLOG_FRAMING_H
#define VG_SYSLOG_FRAMING_H

#include <stddef.h>

struct fr_state {
    size_t  skip;                       /* bytes of a cut frame still due */
    int     skip_to_lf;                 /* a cut LF frame: skip to its end */
};

struct fr_frame {
    const char *msg;
    size_t      len;
    int         truncated;              /* longer than max: cut */
};

/*
 * Takes the next frame from buf[0..len).  Returns 1 with *f set, or 0 when
 * more bytes are needed; either way *used is how many bytes the caller may
 * discard from the front (skipped bytes count even when no frame comes
 * out).  At eof a last unterminated frame is returned as it is.  A caller
 * whose buffer holds max + FR_HEADER_MAX bytes always makes progress.
 */
int fr_next(struct fr_state *st, const char *buf, size_t len, size_t max,
            int eof, struct fr_frame *f, size_t *used);

#define FR_HEADER_MAX 11                /* 9 digits, a space, slack */

#endif
