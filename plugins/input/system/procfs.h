/*
 * Reading /proc and /sys cheaply: each file is opened once and re-read from
 * offset 0 with pread into a buffer that only ever grows, so a steady-state
 * collection allocates nothing.  The parsing helpers walk NUL-terminated
 * text and never allocate either.
 */
#ifndef VG_SYSTEM_PROCFS_H
#define VG_SYSTEM_PROCFS_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <vigil/plugin.h>

struct pf_file {
    int       fd;           /* -1 until the first read                */
    char     *path;         /* root-prefixed; owned                   */
    char     *buf;          /* the last contents, NUL-terminated      */
    size_t    cap;          /* bytes allocated at buf                 */
    size_t    len;          /* bytes of the last read                 */
    uint64_t  tick;         /* collection the buffer belongs to       */
    int       missing;      /* last open failed with ENOENT           */
};

/* Sets the path (root "" or "/host" + rel); the file opens lazily. */
void pf_file_init(struct pf_file *f, const char *root, const char *rel);
void pf_file_release(struct pf_file *f);

/*
 * Reads the whole file into f->buf.  A failed read closes the fd and
 * retries once with a fresh open, because a file that went away (ENODEV,
 * ESTALE on a remounted /proc) comes back only through a new open.
 * Returns the length, or a negative errno.
 */
ssize_t pf_file_read(struct pf_file *f);

/*
 * Calls cb on each line (NUL-terminated, newline stripped) reading 64 KiB
 * at a time, for tables too big to hold whole (/proc/net/tcp on a busy
 * server).  Returns 0 or a negative errno.
 */
typedef void (*pf_line_fn)(char *line, void *arg);
int pf_file_lines(struct pf_file *f, pf_line_fn cb, void *arg);

/* Parsing.  Each returns the position after what it parsed. */
const char *pf_skip_ws(const char *p);              /* spaces and tabs  */
const char *pf_next_line(const char *p);            /* after '\n' or end */
/* Unsigned decimal after optional blanks; NULL when there is none. */
const char *pf_u64(const char *p, uint64_t *out);
/* Decimal with optional fraction ("0.70"); NULL when there is none. */
const char *pf_double(const char *p, double *out);
/* The next blank-separated word: *start and *len; NULL at end of line. */
const char *pf_word(const char *p, const char **start, size_t *len);

/* 1 when s matches one of the fnmatch(3) patterns. */
int pf_match_any(const struct vg_strv *globs, const char *s);
/* 1 when s passes: matches include (or include is empty), not exclude. */
int pf_filter_pass(const struct vg_strv *include,
                   const struct vg_strv *exclude, const char *s);

#endif
