/*
 * Opens vigil-tls.so (the status server's TLS) the first time it is
 * needed: installed in PKGLIBDIR, or beside a binary run from its build
 * tree (.libs, where libtool leaves it).
 */
#include <limits.h>
#include <ltdl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "tls_server.h"

const struct vg_tls_ops *
vg_tls_load(char *why, size_t whylen)
{
    static const struct vg_tls_ops *ops;
    char exe[PATH_MAX], path[PATH_MAX + 32];
    const char *candidates[2] = { PKGLIBDIR "/vigil-tls.so", path };
    ssize_t n;
    size_t i;

    if (ops)
        return ops;
    path[0] = '\0';
    n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        char *slash;

        exe[n] = '\0';
        if ((slash = strrchr(exe, '/'))) {
            *slash = '\0';
            snprintf(path, sizeof(path), "%s/.libs/vigil-tls.so", exe);
        }
    }
    if (lt_dlinit() != 0) {
        snprintf(why, whylen, "cannot initialise the module loader");
        return NULL;
    }
    for (i = 0; i < 2 && !ops; i++) {
        lt_dlhandle h;

        if (!candidates[i][0] || access(candidates[i], R_OK) != 0)
            continue;
        if ((h = lt_dlopen(candidates[i])))
            ops = lt_dlsym(h, "vg_tls_ops");
    }
    if (!ops)
        snprintf(why, whylen, "TLS support (vigil-tls.so) not found in "
                 "%s", PKGLIBDIR);
    return ops;
}
