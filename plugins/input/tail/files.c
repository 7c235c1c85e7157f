/*
 * tail: file discovery (glob(3), fnmatch(3) excludes) and identity
 * (fingerprints, finding a rotated file by inode).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <glob.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "files.h"
#include "reader.h"

int
tail_files_excluded(const char *path, char *const *exclude, size_t nexclude)
{
    const char *base = strrchr(path, '/');
    size_t i;

    base = base ? base + 1 : path;
    for (i = 0; i < nexclude; i++) {
        const char *subject = strchr(exclude[i], '/') ? path : base;

        if (fnmatch(exclude[i], subject, 0) == 0)
            return 1;
    }
    return 0;
}

size_t
tail_files_scan(char *const *paths, size_t npaths, char *const *exclude,
                size_t nexclude, tail_found_fn fn, void *arg)
{
    size_t i, j, found = 0;

    for (i = 0; i < npaths; i++) {
        glob_t g;

        memset(&g, 0, sizeof(g));
        if (glob(paths[i], GLOB_NOSORT | GLOB_BRACE, NULL, &g) != 0) {
            globfree(&g);
            continue;
        }
        for (j = 0; j < g.gl_pathc; j++) {
            struct stat st;
            const char *p = g.gl_pathv[j];

            if (stat(p, &st) < 0 || !S_ISREG(st.st_mode) ||
                tail_files_excluded(p, exclude, nexclude))
                continue;
            fn(arg, p, &st);
            found++;
        }
        globfree(&g);
    }
    return found;
}

int
tail_files_fingerprint(int fd, uint32_t len, uint32_t *fp)
{
    char buf[TAIL_FP_MAX];
    ssize_t r;

    if (len > TAIL_FP_MAX)
        return -EINVAL;
    do {
        r = pread(fd, buf, len, 0);
    } while (r < 0 && errno == EINTR);
    if (r < 0)
        return -errno;
    if ((uint32_t)r < len)
        return -EAGAIN;
    *fp = tail_crc32(0, buf, len);
    return 0;
}

char *
tail_files_find_inode(const char *path, uint64_t dev, uint64_t ino)
{
    char *dir = strdup(path), *slash, *found = NULL;
    const char *dname;
    struct dirent *de;
    DIR *d;

    if (!dir)
        return NULL;
    slash = strrchr(dir, '/');
    if (slash == dir)
        slash[1] = '\0';
    else if (slash)
        *slash = '\0';
    dname = slash ? dir : ".";
    if (!(d = opendir(dname)))
        goto out;
    while ((de = readdir(d))) {
        struct stat st;

        if (de->d_ino != ino)
            continue;
        if (fstatat(dirfd(d), de->d_name, &st, 0) < 0 ||
            (uint64_t)st.st_dev != dev || !S_ISREG(st.st_mode))
            continue;
        found = malloc(strlen(dname) + strlen(de->d_name) + 2);
        if (found)
            sprintf(found, "%s%s%s", dname,
                    dname[strlen(dname) - 1] == '/' ? "" : "/", de->d_name);
        break;
    }
    closedir(d);
out:
    free(dir);
    return found;
}
