/*
 * tail: file discovery and identity.  Discovery expands the `paths` globs
 * minus the `exclude` globs into regular files; identity is device + inode
 * plus a fingerprint (crc32 of the first FP_MAX bytes, or of all of them
 * while the file is shorter) so that a reused inode is told apart.
 */
#ifndef VG_TAIL_FILES_H
#define VG_TAIL_FILES_H

#include <stddef.h>
#include <stdint.h>
#include <sys/stat.h>

#define TAIL_FP_MAX 256                 /* bytes a fingerprint covers */

/* Called for each regular file found, with its stat (links followed). */
typedef void (*tail_found_fn)(void *arg, const char *path,
                              const struct stat *st);

/*
 * Expands every pattern of `paths` and calls fn for each regular file
 * that no `exclude` pattern matches (tail_files_excluded()).  A path
 * matched by two patterns is reported twice: the caller dedupes by inode.
 * Returns the number of files found.
 */
size_t tail_files_scan(char *const *paths, size_t npaths,
                       char *const *exclude, size_t nexclude,
                       tail_found_fn fn, void *arg);

/*
 * Whether `path` matches one of the exclude patterns: a pattern with a
 * '/' is matched against the whole path ('*' crossing directories), one
 * without against the file name.
 */
int tail_files_excluded(const char *path, char *const *exclude,
                        size_t nexclude);

/*
 * Fingerprint of fd's first `len` bytes (len <= TAIL_FP_MAX) into *fp.
 * Returns 0, -EAGAIN when the file holds fewer bytes, or -errno.
 */
int tail_files_fingerprint(int fd, uint32_t len, uint32_t *fp);

/*
 * Looks in the directory of `path` for a file with this device and
 * inode (a file rotated by rename while vigil was down).  Returns its
 * path (new; free with free()) or NULL.
 */
char *tail_files_find_inode(const char *path, uint64_t dev, uint64_t ino);

#endif
