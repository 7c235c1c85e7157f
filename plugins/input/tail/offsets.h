/*
 * tail: the offsets file, one per instance in the state dir.  Text, one
 * file per line, ended by a checksum line so that a torn or edited file is
 * detected (and ignored, reading then starts over as on a first run):
 *
 *   vigil-tail-offsets 1
 *   DEV INO OFFSET FP_LEN FP PATH
 *   ...
 *   crc32 XXXXXXXX                 (of every byte before this line)
 *
 * It is written atomically: a temp file, fsync, rename, fsync of the dir.
 */
#ifndef VG_TAIL_OFFSETS_H
#define VG_TAIL_OFFSETS_H

#include <stddef.h>
#include <stdint.h>

struct tail_pos {
    uint64_t  dev, ino;
    uint64_t  offset;                   /* bytes: resume here            */
    uint32_t  fp_len;                   /* bytes the fingerprint covers  */
    uint32_t  fp;                       /* crc32 of the first fp_len     */
    char     *path;                     /* where it was last seen        */
};

struct tail_offsets {
    struct tail_pos *v;
    size_t           n, cap;
};

/*
 * Parses the text of an offsets file into o (which must be empty).
 * Returns 0, or -EBADMSG when the checksum, the header or a line is wrong
 * (o is then left empty).
 */
int tail_offsets_parse(struct tail_offsets *o, const char *text, size_t len);

/* Reads and parses `file`: 0, -ENOENT, -EBADMSG or another -errno. */
int tail_offsets_load(struct tail_offsets *o, const char *file);

/*
 * Formats o as the file's text into *out (new; free with free()).
 * Paths with a newline are written with '?' in its place: the path is
 * informative only, files are matched by device, inode and fingerprint.
 */
int tail_offsets_format(const struct tail_offsets *o, char **out,
                        size_t *len);

/* Writes o to `file` atomically; 0 or -errno. */
int tail_offsets_save(const struct tail_offsets *o, const char *file);

/* Appends a copy of p (its path is duplicated). */
void tail_offsets_add(struct tail_offsets *o, const struct tail_pos *p);

/* The entry for dev+ino, or NULL. */
struct tail_pos *tail_offsets_find(struct tail_offsets *o, uint64_t dev,
                                   uint64_t ino);

/* Empties o, keeping it usable. */
void tail_offsets_clear(struct tail_offsets *o);

#endif
