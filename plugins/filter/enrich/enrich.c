/*
 * filter enrich: adds context to every event: static labels, the host name
 * and host metadata (FQDN, OS, kernel, architecture, machine-id, boot id),
 * labels from environment variables and from a local file that is re-read
 * when it changes (how an orchestrator hands metadata to a sidecar).  They
 * become labels on metrics and alerts and attributes on logs.  The set is
 * computed at init and when the file changes, never per event; each batch
 * is copied into a derived batch with the merged set, since batches cannot
 * grow in place.  Existing values win unless `overwrite` is set.
 */
#include <ctype.h>
#include <errno.h>
#include <netdb.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/utsname.h>

#include <vigil/plugin.h>

struct enrich_conf {                    /* the core fills this in */
    struct vg_map   labels;
    int             host;
    char           *host_label;
    int             overwrite;
    struct vg_strv  metadata;           /* fqdn, os, kernel, arch, ... */
    struct vg_map   env;                /* label -> environment variable */
    char           *file;               /* key/value file, or NULL */
    int64_t         file_check;         /* ns between change checks */
};

/* A key and value the filter owns. */
struct pair {
    char *key;
    char *value;
};

struct enrich_state {
    const struct enrich_conf *conf;
    struct vg_kv   *add;                /* labels to add, no duplicate key */
    uint32_t        nadd;
    size_t          add_bytes;          /* keys + values of add */
    struct pair    *meta;               /* host name and metadata, env */
    size_t          nmeta;
    struct pair    *filed;              /* from the file */
    size_t          nfiled;
    struct stat     file_st;            /* of the file when last read */
    int             file_seen;
    struct vg_timer *file_timer;
    struct vg_kv   *merged;             /* scratch: one event's labels */
    uint32_t        merged_cap;
};

static const struct vg_option enrich_options[] = {
    { .name = "labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct enrich_conf, labels),
      .help = "static labels added to every event" },
    { .name = "host", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct enrich_conf, host),
      .help = "add the host name as a label" },
    { .name = "host_label", .type = VG_OPT_STR, .def = "host",
      .offset = offsetof(struct enrich_conf, host_label),
      .help = "name of the host name label" },
    { .name = "overwrite", .type = VG_OPT_BOOL, .def = "false",
      .offset = offsetof(struct enrich_conf, overwrite),
      .help = "replace labels the event already has" },
    { .name = "metadata", .type = VG_OPT_STRLIST,
      .offset = offsetof(struct enrich_conf, metadata),
      .help = "host metadata to add: fqdn, os, kernel, arch, machine_id, "
              "boot_id (or all)" },
    { .name = "env", .type = VG_OPT_MAP,
      .offset = offsetof(struct enrich_conf, env),
      .help = "labels from environment variables: {label: VARIABLE}" },
    { .name = "file", .type = VG_OPT_STR,
      .offset = offsetof(struct enrich_conf, file),
      .help = "labels from a file of key=value, key: value or a flat JSON "
              "object, re-read when it changes" },
    { .name = "file_check", .type = VG_OPT_DURATION, .def = "5s",
      .offset = offsetof(struct enrich_conf, file_check),
      .help = "how often the file is checked for changes" },
    { 0 }
};

static int
kv_key_eq(const struct vg_kv *a, const struct vg_kv *b)
{
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

/*
 * Writes kvs (n of them) merged with st->add into st->merged; returns how
 * many or -ENOMEM, and sets *changed when the set differs from kvs.
 */
static int
enrich_merge(struct enrich_state *st, const struct vg_kv *kvs, uint32_t nkv,
             int *changed)
{
    uint32_t need = nkv + st->nadd;
    uint32_t n = nkv;
    uint32_t i, j;

    if (need > st->merged_cap) {
        struct vg_kv *p = realloc(st->merged, need * sizeof(*p));

        if (!p)
            return -ENOMEM;
        st->merged = p;
        st->merged_cap = need;
    }
    if (nkv)
        memcpy(st->merged, kvs, nkv * sizeof(*st->merged));
    *changed = 0;
    /* label sets are small: a linear scan beats building an index */
    for (i = 0; i < st->nadd; i++) {
        const struct vg_kv *a = &st->add[i];

        for (j = 0; j < nkv; j++)
            if (kv_key_eq(&st->merged[j], a))
                break;
        if (j == nkv) {
            st->merged[n++] = *a;
            *changed = 1;
        } else if (st->conf->overwrite &&
                   (st->merged[j].type != VG_VAL_STR ||
                    st->merged[j].len != a->len ||
                    memcmp(st->merged[j].v.s, a->v.s, a->len) != 0)) {
            st->merged[j] = *a;
            *changed = 1;
        }
    }
    return (int)n;
}

static void
enrich_process(struct vg_instance *in, struct vg_batch *b)
{
    struct enrich_state *st = vg_instance_data(in);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_batch *nb;
    struct vg_event ev;
    size_t failed = 0;
    int err = 0;

    if (st->nadd == 0) {
        vg_emit(in, b);
        return;
    }
    nb = vg_batch_derive(in, b, vg_batch_bytes(in, b) +
                         vg_batch_count(in, b) * (st->add_bytes +
                                                  st->nadd * 16));
    if (!nb) {
        /* pass the events on unenriched rather than lose them */
        vg_log(in, VG_LOG_WARN, "cannot allocate a batch; events pass "
               "unenriched");
        vg_emit(in, b);
        return;
    }
    while (vg_batch_next(in, b, &it, &ev) > 0) {
        int changed, is_log = ev.kind == VG_EV_LOG;
        int rc = is_log ? enrich_merge(st, ev.attrs, ev.nattrs, &changed)
                        : enrich_merge(st, ev.labels, ev.nlabels, &changed);

        if (rc >= 0) {
            if (is_log) {
                ev.attrs = st->merged;
                ev.nattrs = (uint32_t)rc;
            } else {
                ev.labels = st->merged;
                ev.nlabels = (uint32_t)rc;
                /* the series hash / fingerprint covers the labels */
                if (changed)
                    ev.hash = 0;
            }
            rc = vg_batch_add(in, nb, &ev);
        }
        if (rc < 0) {
            failed++;
            err = rc;
        }
    }
    vg_iter_release(in, &it);
    if (failed) {
        vg_log(in, VG_LOG_WARN, "dropped %zu events that could not be "
               "enriched: %s", failed, strerror(-err));
        vg_count(in, "dropped", (int64_t)failed);
    }
    vg_batch_unref(in, b);
    vg_emit(in, nb);
}

static void
pairs_free(struct pair *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++) {
        free(p[i].key);
        free(p[i].value);
    }
    free(p);
}

static void
enrich_state_free(struct enrich_state *st)
{
    if (!st)
        return;
    free(st->add);
    pairs_free(st->meta, st->nmeta);
    pairs_free(st->filed, st->nfiled);
    free(st->merged);
    free(st);
}

static int
pair_add(struct pair **v, size_t *n, const char *key, const char *value,
         size_t vlen)
{
    struct pair *p = realloc(*v, (*n + 1) * sizeof(**v));

    if (!p)
        return -ENOMEM;
    *v = p;
    p[*n].key = strdup(key);
    p[*n].value = strndup(value, vlen);
    if (!p[*n].key || !p[*n].value) {
        free(p[*n].key);
        free(p[*n].value);
        return -ENOMEM;
    }
    (*n)++;
    return 0;
}

/* Adds key=value to the set unless the key is already there. */
static void
add_label(struct enrich_state *st, const char *key, const char *value)
{
    struct vg_kv kv = vg_kv_str(key, value);
    uint32_t i;

    for (i = 0; i < st->nadd; i++)
        if (kv_key_eq(&st->add[i], &kv))
            return;
    st->add[st->nadd++] = kv;
    st->add_bytes += kv.key_len + kv.len;
}

/* The set to add, in precedence order: static labels, environment, host
 * name and metadata, then the file. */
static int
build_set(struct enrich_state *st)
{
    const struct enrich_conf *c = st->conf;
    size_t i, n = c->labels.n + st->nmeta + st->nfiled;
    struct vg_kv *add = calloc(n + 1, sizeof(*add));

    if (!add)
        return -ENOMEM;
    free(st->add);
    st->add = add;
    st->nadd = 0;
    st->add_bytes = 0;
    for (i = 0; i < c->labels.n; i++)
        add_label(st, c->labels.v[i].key, c->labels.v[i].value);
    for (i = 0; i < st->nmeta; i++)
        add_label(st, st->meta[i].key, st->meta[i].value);
    for (i = 0; i < st->nfiled; i++)
        add_label(st, st->filed[i].key, st->filed[i].value);
    return 0;
}

/* First line's value of KEY= in an os-release style file, unquoted. */
static int
os_release(char *out, size_t len, const char *key)
{
    FILE *f = fopen("/etc/os-release", "r");
    char line[512];
    size_t kl = strlen(key);
    int found = 0;

    if (!f)
        f = fopen("/usr/lib/os-release", "r");
    if (!f)
        return 0;
    while (!found && fgets(line, sizeof(line), f)) {
        char *v, *e;

        if (strncmp(line, key, kl) != 0 || line[kl] != '=')
            continue;
        v = line + kl + 1;
        v[strcspn(v, "\n")] = '\0';
        if (*v == '"' && (e = strrchr(v + 1, '"'))) {
            *e = '\0';
            v++;
        }
        snprintf(out, len, "%s", v);
        found = 1;
    }
    fclose(f);
    return found;
}

static int
first_line(const char *path, char *out, size_t len)
{
    FILE *f = fopen(path, "r");
    int ok = 0;

    if (f) {
        ok = fgets(out, (int)len, f) != NULL;
        out[strcspn(out, "\n")] = '\0';
        fclose(f);
    }
    return ok && *out;
}

/* Host name, metadata and environment labels: computed once, at init.
 * The FQDN lookup may block on DNS: init runs before the loop serves. */
static int
collect_meta(struct vg_instance *in, struct enrich_state *st)
{
    const struct enrich_conf *c = st->conf;
    struct utsname un;
    char buf[512];
    size_t i;
    int rc = 0, all = 0;

    for (i = 0; i < c->metadata.n; i++)
        all |= strcmp(c->metadata.v[i], "all") == 0;
    if (c->host)
        rc = pair_add(&st->meta, &st->nmeta, c->host_label, vg_hostname(in),
                      strlen(vg_hostname(in)));
    for (i = 0; rc == 0 && i < c->env.n; i++) {
        const char *v = getenv(c->env.v[i].value);

        if (!v) {
            vg_log(in, VG_LOG_WARN, "environment variable '%s' is not set: "
                   "label '%s' left out", c->env.v[i].value, c->env.v[i].key);
            continue;
        }
        rc = pair_add(&st->meta, &st->nmeta, c->env.v[i].key, v, strlen(v));
    }
    uname(&un);
    for (i = 0; rc == 0 && i < (all ? 6 : c->metadata.n); i++) {
        static const char *const names[] = { "fqdn", "os", "kernel", "arch",
                                             "machine_id", "boot_id" };
        const char *what = all ? names[i] : c->metadata.v[i];
        const char *key = NULL;

        buf[0] = '\0';
        if (strcmp(what, "all") == 0)
            continue;
        if (strcmp(what, "fqdn") == 0) {
            struct addrinfo hints = { .ai_flags = AI_CANONNAME }, *ai = NULL;

            key = "host.fqdn";
            if (getaddrinfo(vg_hostname(in), NULL, &hints, &ai) == 0 &&
                ai->ai_canonname)
                snprintf(buf, sizeof(buf), "%s", ai->ai_canonname);
            else
                snprintf(buf, sizeof(buf), "%s", vg_hostname(in));
            if (ai)
                freeaddrinfo(ai);
        } else if (strcmp(what, "os") == 0) {
            key = "os.description";
            if (!os_release(buf, sizeof(buf), "PRETTY_NAME"))
                snprintf(buf, sizeof(buf), "%s", un.sysname);
        } else if (strcmp(what, "kernel") == 0) {
            key = "os.kernel";
            snprintf(buf, sizeof(buf), "%s", un.release);
        } else if (strcmp(what, "arch") == 0) {
            key = "host.arch";
            snprintf(buf, sizeof(buf), "%s", un.machine);
        } else if (strcmp(what, "machine_id") == 0) {
            key = "host.id";
            first_line("/etc/machine-id", buf, sizeof(buf));
        } else if (strcmp(what, "boot_id") == 0) {
            key = "host.boot_id";
            first_line("/proc/sys/kernel/random/boot_id", buf, sizeof(buf));
        } else {
            vg_log(in, VG_LOG_ERROR, "metadata: unknown item '%s' (known: "
                   "fqdn, os, kernel, arch, machine_id, boot_id, all)", what);
            return -EINVAL;
        }
        if (buf[0])
            rc = pair_add(&st->meta, &st->nmeta, key, buf, strlen(buf));
        else
            vg_log(in, VG_LOG_WARN, "metadata: '%s' is not available here",
                   what);
    }
    return rc;
}

static char *
trim(char *s, char *end)
{
    while (s < end && isspace((unsigned char)*s))
        s++;
    while (end > s && isspace((unsigned char)end[-1]))
        *--end = '\0';
    *end = '\0';
    return s;
}

/* Removes surrounding quotes in place. */
static char *
unquote(char *s)
{
    size_t n = strlen(s);

    if (n >= 2 && (s[0] == '"' || s[0] == '\'') && s[n - 1] == s[0]) {
        s[n - 1] = '\0';
        return s + 1;
    }
    return s;
}

/*
 * Reads labels from the file: a flat JSON object ({"k": "v", "n": 3}) or
 * lines of key=value / key: value (the Kubernetes downward API writes
 * key="value").  Comments (#) and blank lines are skipped.  0, or a
 * negative errno (the old labels stay).
 */
static int
read_file(struct vg_instance *in, struct enrich_state *st)
{
    struct pair *v = NULL;
    size_t n = 0;
    char *text = NULL, *line, *save = NULL;
    long len;
    int rc = 0;
    FILE *f = fopen(st->conf->file, "r");

    if (!f) {
        rc = -errno;
        vg_log(in, VG_LOG_WARN, "cannot read labels file '%s': %s",
               st->conf->file, strerror(errno));
        return rc;
    }
    fseek(f, 0, SEEK_END);
    len = ftell(f);
    rewind(f);
    if (len < 0 || len > (1 << 20) || !(text = calloc(1, (size_t)len + 1)) ||
        fread(text, 1, (size_t)len, f) != (size_t)len) {
        fclose(f);
        free(text);
        vg_log(in, VG_LOG_WARN, "cannot read labels file '%s' (over 1 MiB?)",
               st->conf->file);
        return -EIO;
    }
    fclose(f);
    /* A flat JSON object reads as lines once braces and commas go. */
    if (text[strspn(text, " \t\r\n")] == '{') {
        char *p, quote = 0;

        for (p = text; *p; p++) {
            if (quote) {
                if (*p == '\\' && p[1])
                    p++;
                else if (*p == quote)
                    quote = 0;
            } else if (*p == '"') {
                quote = '"';
            } else if (*p == '{' || *p == '}' || *p == ',') {
                *p = '\n';
            }
        }
    }
    for (line = strtok_r(text, "\n", &save); line && rc == 0;
         line = strtok_r(NULL, "\n", &save)) {
        char *sep, *k, *val, *end = line + strlen(line);
        char *eq = strchr(line, '='), *colon = strchr(line, ':');

        k = trim(line, end);
        if (!*k || *k == '#')
            continue;
        /* the first separator outside quotes: keys are not quoted or
         * quoted without separators in them */
        sep = eq && (!colon || eq < colon) ? eq : colon;
        if (!sep) {
            vg_log(in, VG_LOG_WARN, "labels file '%s': line without '=' or "
                   "':' skipped", st->conf->file);
            continue;
        }
        *sep = '\0';
        k = unquote(trim(k, sep));
        val = unquote(trim(sep + 1, end));
        if (*k)
            rc = pair_add(&v, &n, k, val, strlen(val));
    }
    free(text);
    if (rc < 0) {
        pairs_free(v, n);
        return rc;
    }
    pairs_free(st->filed, st->nfiled);
    st->filed = v;
    st->nfiled = n;
    return build_set(st);
}

/* Re-reads the file when its inode, size or mtime changed. */
static void
on_file_check(struct vg_instance *in, void *arg)
{
    struct enrich_state *st = arg;
    struct stat sb;

    if (stat(st->conf->file, &sb) < 0)
        return;                 /* gone: keep what we have */
    if (st->file_seen && sb.st_ino == st->file_st.st_ino &&
        sb.st_size == st->file_st.st_size &&
        sb.st_mtim.tv_sec == st->file_st.st_mtim.tv_sec &&
        sb.st_mtim.tv_nsec == st->file_st.st_mtim.tv_nsec)
        return;
    st->file_st = sb;
    st->file_seen = 1;
    if (read_file(in, st) == 0)
        vg_log(in, VG_LOG_INFO, "labels file '%s' read: %zu labels",
               st->conf->file, st->nfiled);
}

static int
enrich_check(struct vg_instance *in, const void *conf)
{
    const struct enrich_conf *c = conf;

    if (c->host && !c->host_label[0]) {
        vg_log(in, VG_LOG_ERROR, "option 'host_label' must not be empty");
        return -EINVAL;
    }
    return 0;
}

static int
enrich_init(struct vg_instance *in, void *conf)
{
    const struct enrich_conf *c = conf;
    struct enrich_state *st = NULL;
    int rc = -EINVAL;

    /* the host name is the agent's, known once the config is applied */
    if (c->host && (!vg_hostname(in) || !vg_hostname(in)[0])) {
        vg_log(in, VG_LOG_ERROR, "host name unknown: set 'host: false' "
               "or give the label in 'labels'");
        goto fail;
    }
    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))))
        goto fail;
    st->conf = c;
    if ((rc = collect_meta(in, st)) < 0 || (rc = build_set(st)) < 0)
        goto fail;
    if (c->file) {
        on_file_check(in, st);
        st->file_timer = vg_timer_new(in, on_file_check, st);
    }
    vg_instance_set_data(in, st);
    return 0;
fail:
    enrich_state_free(st);
    return rc;
}

static int
enrich_start(struct vg_instance *in)
{
    struct enrich_state *st = vg_instance_data(in);

    if (st->file_timer)
        vg_timer_start(in, st->file_timer, st->conf->file_check,
                       st->conf->file_check);
    return 0;
}

static void
enrich_destroy(struct vg_instance *in)
{
    struct enrich_state *st = vg_instance_data(in);

    if (st)
        vg_timer_free(in, st->file_timer);
    enrich_state_free(st);
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "enrich",
    .summary = "add labels: static, host name and metadata, environment, "
               "a labels file",
    .options = enrich_options,
    .conf_size = sizeof(struct enrich_conf),
    .check = enrich_check,
    .init = enrich_init,
    .start = enrich_start,
    .process = enrich_process,
    .destroy = enrich_destroy,
};
