/*
 * Plugin modules: found on the plugin path, opened with libltdl, and
 * checked (ABI version, descriptor size, kind, name, callbacks, option
 * schema) before anything of theirs runs.  Modules stay loaded until the
 * registry is released, so descriptors handed out stay valid.
 *
 * Files named in_NAME.so, flt_NAME.so and out_NAME.so are found by name
 * without opening the others; any other *.so is opened only when a lookup
 * by name fails, or when every plugin is listed.
 */
#ifndef VG_LOADER_H
#define VG_LOADER_H

#include <stddef.h>

#include <vigil/plugin.h>

struct vg_module {
    char             *path;
    void             *handle;           /* lt_dlhandle */
    struct vg_plugin  desc;             /* copy, zero past the module's size */
};

struct vg_refusal {
    char *path;
    char *why;
};

struct vg_registry {
    char              **dirs;
    size_t              ndirs;
    struct vg_module  **mods;
    size_t              nmods;
    struct vg_refusal  *refused;        /* modules that failed checks */
    size_t              nrefused;
    char              **tried;          /* paths opened or refused     */
    size_t              ntried;
};

/* path: directories separated by ':'.  0 or a negative errno. */
int  vg_registry_init(struct vg_registry *r, const char *path);
void vg_registry_release(struct vg_registry *r);

/* Opens one module file and checks it.  0, or -EINVAL with a reason in why
 * ("tp_old_abi.so: plugin ABI 2, this vigil speaks 1"); the reason is also
 * kept in r->refused. */
int  vg_registry_load_file(struct vg_registry *r, const char *path,
                           char *why, size_t whylen);

/* Every module on the path (for --list-plugins); refusals are kept. */
void vg_registry_load_all(struct vg_registry *r);

/* The plugin of that kind and name, loading it if needed, or NULL. */
const struct vg_module *vg_registry_find(struct vg_registry *r,
                                         enum vg_kind kind,
                                         const char *name);

const char *vg_kind_name(enum vg_kind kind);     /* "input" ... */

/* Whether the plugin of that kind and name was left out of the build, by
 * a list of "NAME (KINDS): WHY;" entries (configure's VG_SKIPPED_PLUGINS):
 * 1 with WHY ("pcre2 not found") in why, or 0. */
int vg_plugin_skipped_why(const char *list, enum vg_kind kind,
                          const char *name, char *why, size_t whylen);

#endif
