/*
 * Module loading and the checks that protect the core from a module built
 * for another ABI or with a broken schema.  A refused module is reported
 * with its file name and the reason, and never called.
 */
#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <ltdl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "loader.h"
#include "log.h"
#include "options.h"
#include "util.h"

/* The smallest descriptor ABI 1 accepts: everything up to destroy. */
#define MIN_DESC_SIZE \
    (offsetof(struct vg_plugin, destroy) + sizeof(void (*)(void)))

static int ltdl_users;

static const char *const kind_prefix[] = {
    [VG_KIND_INPUT] = "in_", [VG_KIND_FILTER] = "flt_",
    [VG_KIND_OUTPUT] = "out_",
};

const char *
vg_kind_name(enum vg_kind kind)
{
    switch (kind) {
    case VG_KIND_INPUT:  return "input";
    case VG_KIND_FILTER: return "filter";
    case VG_KIND_OUTPUT: return "output";
    }
    return "unknown";
}

/* Is word one of the ", "-separated words of s[0..n)? */
static int
in_word_list(const char *s, size_t n, const char *word)
{
    size_t wl = strlen(word);
    const char *end = s + n;

    while (s < end) {
        const char *comma = memchr(s, ',', (size_t)(end - s));
        const char *stop = comma ? comma : end;

        if ((size_t)(stop - s) == wl && memcmp(s, word, wl) == 0)
            return 1;
        s = comma ? comma + 1 : end;
        while (s < end && *s == ' ')
            s++;
    }
    return 0;
}

int
vg_plugin_skipped_why(const char *list, enum vg_kind kind, const char *name,
                      char *why, size_t whylen)
{
    size_t nl = strlen(name);
    const char *e = list;

    while (e && *e) {
        const char *next = strchr(e, ';');
        const char *open = strstr(e, " (");
        const char *close = open ? strstr(open, "): ") : NULL;

        if (!next || !close || close > next)
            return 0;                   /* not configure's format */
        if ((size_t)(open - e) == nl && memcmp(e, name, nl) == 0 &&
            in_word_list(open + 2, (size_t)(close - open - 2),
                         vg_kind_name(kind))) {
            snprintf(why, whylen, "%.*s", (int)(next - close - 3),
                     close + 3);
            return 1;
        }
        e = next + 1;
    }
    return 0;
}

int
vg_registry_init(struct vg_registry *r, const char *path)
{
    char *copy, *dir, *save = NULL;

    memset(r, 0, sizeof(*r));
    if (ltdl_users++ == 0 && lt_dlinit() != 0) {
        ltdl_users--;
        return -EIO;
    }
    copy = vg_xstrdup(path ? path : "");
    for (dir = strtok_r(copy, ":", &save); dir;
         dir = strtok_r(NULL, ":", &save)) {
        r->dirs = vg_xrealloc(r->dirs, (r->ndirs + 1) * sizeof(*r->dirs));
        r->dirs[r->ndirs++] = vg_xstrdup(dir);
    }
    free(copy);
    return 0;
}

void
vg_registry_release(struct vg_registry *r)
{
    size_t i;

    for (i = 0; i < r->nmods; i++) {
#ifndef __SANITIZE_ADDRESS__
        /* Under AddressSanitizer modules stay mapped until exit, so a leak
         * in a plugin can still be traced to its code. */
        lt_dlclose(r->mods[i]->handle);
#endif
        free(r->mods[i]->path);
        free(r->mods[i]);
    }
    for (i = 0; i < r->nrefused; i++) {
        free(r->refused[i].path);
        free(r->refused[i].why);
    }
    for (i = 0; i < r->ndirs; i++)
        free(r->dirs[i]);
    for (i = 0; i < r->ntried; i++)
        free(r->tried[i]);
    free(r->mods);
    free(r->refused);
    free(r->dirs);
    free(r->tried);
#ifndef __SANITIZE_ADDRESS__
    if (ltdl_users > 0 && --ltdl_users == 0)
        lt_dlexit();
#endif
    memset(r, 0, sizeof(*r));
}

static int
was_tried(const struct vg_registry *r, const char *path)
{
    size_t i;

    for (i = 0; i < r->ntried; i++)
        if (strcmp(r->tried[i], path) == 0)
            return 1;
    return 0;
}

static const char *
base_name(const char *path)
{
    const char *s = strrchr(path, '/');

    return s ? s + 1 : path;
}

static int
valid_name(const char *name)
{
    const char *p;

    if (!name || !*name || strlen(name) > 64)
        return 0;
    for (p = name; *p; p++)
        if (!islower((unsigned char)*p) && !isdigit((unsigned char)*p) &&
            *p != '_')
            return 0;
    return 1;
}

/* The checks of a descriptor; returns NULL or a reason (static text or
 * written to buf). */
static const char *
check_desc(const struct vg_plugin *d, char *buf, size_t len)
{
    char why[256];

    if (!d->name || !valid_name(d->name))
        return "plugin name missing or not [a-z0-9_]+";
    if (d->kind != VG_KIND_INPUT && d->kind != VG_KIND_FILTER &&
        d->kind != VG_KIND_OUTPUT) {
        snprintf(buf, len, "plugin '%s' has unknown kind %d", d->name,
                 (int)d->kind);
        return buf;
    }
    if (!d->summary || !*d->summary) {
        snprintf(buf, len, "plugin '%s' has no summary", d->name);
        return buf;
    }
    if (d->kind == VG_KIND_FILTER && !d->process) {
        snprintf(buf, len, "filter '%s' has no process callback", d->name);
        return buf;
    }
    if (d->kind == VG_KIND_OUTPUT && !d->flush) {
        snprintf(buf, len, "output '%s' has no flush callback", d->name);
        return buf;
    }
    if (d->kind == VG_KIND_INPUT && !d->start) {
        snprintf(buf, len, "input '%s' has no start callback", d->name);
        return buf;
    }
    if (d->options && !d->conf_size) {
        snprintf(buf, len, "plugin '%s' declares options but conf_size 0",
                 d->name);
        return buf;
    }
    if (d->options && vg_options_check_conf(d->options, d->conf_size, why,
                                            sizeof(why)) < 0) {
        snprintf(buf, len, "plugin '%s' has a bad option schema: %s",
                 d->name, why);
        return buf;
    }
    return NULL;
}

/* Anyone who can write a module or its directory can run code as the
 * agent (often root): such modules are refused. */
static const char *
writable_by_all(const char *path, char *buf, size_t len)
{
    char dir[4096];
    const char *slash = strrchr(path, '/');
    struct stat st;

    if (stat(path, &st) == 0 && (st.st_mode & S_IWOTH))
        return "the file is writable by everyone";
    snprintf(dir, sizeof(dir), "%.*s", slash ? (int)(slash - path) : 1,
             slash ? path : ".");
    if (stat(dir, &st) == 0 && (st.st_mode & S_IWOTH)) {
        snprintf(buf, len, "its directory '%.300s' is writable by everyone",
                 dir);
        return buf;
    }
    return NULL;
}

static void
refuse(struct vg_registry *r, const char *path, const char *why)
{
    r->refused = vg_xrealloc(r->refused,
                             (r->nrefused + 1) * sizeof(*r->refused));
    r->refused[r->nrefused].path = vg_xstrdup(path);
    r->refused[r->nrefused].why = vg_xstrdup(why);
    r->nrefused++;
}

int
vg_registry_load_file(struct vg_registry *r, const char *path, char *why,
                      size_t whylen)
{
    const struct vg_plugin *d;
    struct vg_module *m;
    char reason[512], detail[400];
    const char *bad = NULL;
    lt_dlhandle h;
    size_t i, n;

    if (!was_tried(r, path)) {
        r->tried = vg_xrealloc(r->tried, (r->ntried + 1) * sizeof(*r->tried));
        r->tried[r->ntried++] = vg_xstrdup(path);
    }
    if ((bad = writable_by_all(path, detail, sizeof(detail)))) {
        snprintf(reason, sizeof(reason), "%s: not loaded: %s",
                 base_name(path), bad);
        goto refused;
    }
    h = lt_dlopen(path);
    if (!h) {
        snprintf(reason, sizeof(reason), "%s: cannot load: %s",
                 base_name(path), lt_dlerror());
        goto refused;
    }
    d = lt_dlsym(h, "vg_plugin");
    if (!d) {
        snprintf(reason, sizeof(reason),
                 "%s: not a vigil plugin (no 'vg_plugin' symbol)",
                 base_name(path));
        goto refused_close;
    }
    if (d->abi != VG_PLUGIN_ABI) {
        snprintf(reason, sizeof(reason), "%s: plugin ABI %u, this vigil "
                 "speaks %u", base_name(path), (unsigned)d->abi,
                 (unsigned)VG_PLUGIN_ABI);
        goto refused_close;
    }
    if (d->size < MIN_DESC_SIZE) {
        snprintf(reason, sizeof(reason), "%s: plugin descriptor of %u "
                 "bytes, ABI %u needs at least %zu", base_name(path),
                 (unsigned)d->size, (unsigned)VG_PLUGIN_ABI,
                 (size_t)MIN_DESC_SIZE);
        goto refused_close;
    }
    m = vg_xcalloc(1, sizeof(*m));
    /* A module built against an older minor knows fewer fields: those
     * past its size stay NULL here. */
    n = d->size < sizeof(m->desc) ? d->size : sizeof(m->desc);
    memcpy(&m->desc, d, n);
    if ((bad = check_desc(&m->desc, detail, sizeof(detail)))) {
        snprintf(reason, sizeof(reason), "%s: %s", base_name(path), bad);
        free(m);
        goto refused_close;
    }
    for (i = 0; i < r->nmods; i++) {
        const struct vg_plugin *o = &r->mods[i]->desc;

        if (o->kind == m->desc.kind && strcmp(o->name, m->desc.name) == 0) {
            snprintf(reason, sizeof(reason), "%s: %s '%s' is already "
                     "provided by %s", base_name(path),
                     vg_kind_name(o->kind), o->name, r->mods[i]->path);
            free(m);
            goto refused_close;
        }
    }
    m->path = vg_xstrdup(path);
    m->handle = h;
    r->mods = vg_xrealloc(r->mods, (r->nmods + 1) * sizeof(*r->mods));
    r->mods[r->nmods++] = m;
    vg_core_log(VG_LOG_DEBUG, "loaded %s '%s' from %s",
                vg_kind_name(m->desc.kind), m->desc.name, path);
    return 0;

refused_close:
    lt_dlclose(h);
refused:
    refuse(r, path, reason);
    if (why)
        snprintf(why, whylen, "%s", reason);
    return -EINVAL;
}

static int
has_suffix(const char *s, const char *suffix)
{
    size_t ls = strlen(s), lx = strlen(suffix);

    return ls >= lx && strcmp(s + ls - lx, suffix) == 0;
}

static int
is_regular(const char *path)
{
    struct stat st;

    return stat(path, &st) == 0 && S_ISREG(st.st_mode);
}

/* Opens the .so files of every directory that `want` accepts. */
static void
load_matching(struct vg_registry *r, int (*want)(const char *file))
{
    size_t d;

    for (d = 0; d < r->ndirs; d++) {
        struct dirent **names = NULL;
        int n, i;

        n = scandir(r->dirs[d], &names, NULL, alphasort);
        for (i = 0; i < n; i++) {
            const char *f = names[i]->d_name;
            char *path;

            if (has_suffix(f, ".so") && want(f)) {
                path = vg_xasprintf("%s/%s", r->dirs[d], f);
                if (!was_tried(r, path) && is_regular(path))
                    vg_registry_load_file(r, path, NULL, 0);
                free(path);
            }
            free(names[i]);
        }
        free(names);
    }
}

static int
want_any(const char *file)
{
    (void)file;
    return 1;
}

void
vg_registry_load_all(struct vg_registry *r)
{
    load_matching(r, want_any);
}

static const struct vg_module *
lookup(const struct vg_registry *r, enum vg_kind kind, const char *name)
{
    size_t i;

    for (i = 0; i < r->nmods; i++)
        if (r->mods[i]->desc.kind == kind &&
            strcmp(r->mods[i]->desc.name, name) == 0)
            return r->mods[i];
    return NULL;
}

const struct vg_module *
vg_registry_find(struct vg_registry *r, enum vg_kind kind, const char *name)
{
    const struct vg_module *m;
    size_t d;

    if ((m = lookup(r, kind, name)) || !valid_name(name))
        return m;
    for (d = 0; d < r->ndirs; d++) {
        char *path = vg_xasprintf("%s/%s%s.so", r->dirs[d], kind_prefix[kind],
                                  name);

        if (!was_tried(r, path) && is_regular(path))
            vg_registry_load_file(r, path, NULL, 0);
        free(path);
        if ((m = lookup(r, kind, name)))
            return m;
    }
    /* Out-of-tree modules need not follow the naming convention. */
    vg_registry_load_all(r);
    return lookup(r, kind, name);
}
