/*
 * Engine: config -> generations of pipelines -> running instances.
 *
 * Invariants: an instance's init runs only after every option of every
 * instance of its generation validated; a plugin's callbacks never run
 * after its destroy; a generation is freed only when its output queues are
 * idle or its drain deadline passed.
 */
#include "vigil_config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "ack.h"
#include "batch.h"
#include "default_config.h"
#include "firing.h"
#include "http_server.h"
#include "status.h"
#include "engine.h"
#include "instance.h"
#include "loader.h"
#include "log.h"
#include "options.h"
#include "output_queue.h"
#include "privileges.h"
#include "util.h"

struct agent_conf {
    int      log_level;                 /* index into level choices   */
    char    *state_dir;
    int64_t  shutdown_timeout;          /* ns */
    char    *plugin_path;
    char    *hostname;
    int      log_target;                /* 0 stderr, 1 syslog          */
    char    *user;                      /* drop root to this user      */
    char    *group;
    char    *http_listen;               /* status server, NULL: off    */
    char    *http_token;
    char    *http_cert;                 /* TLS for the status server   */
    char    *http_key;
    int64_t  health_max_failing;        /* ns */
};

static const struct vg_option http_tls_options[] = {
    { .name = "cert_file", .type = VG_OPT_STR,
      .offset = offsetof(struct agent_conf, http_cert),
      .help = "server certificate chain (PEM); re-read on reload" },
    { .name = "key_file", .type = VG_OPT_STR,
      .offset = offsetof(struct agent_conf, http_key),
      .help = "server private key (PEM)" },
    { 0 }
};

static const struct vg_option http_options[] = {
    { .name = "listen", .type = VG_OPT_STR,
      .offset = offsetof(struct agent_conf, http_listen),
      .help = "status server address, e.g. 127.0.0.1:2020 (default: off)" },
    { .name = "token", .type = VG_OPT_STR, .flags = VG_OPT_SECRET,
      .offset = offsetof(struct agent_conf, http_token),
      .help = "bearer token the status API requires (needed off loopback)" },
    { .name = "tls", .type = VG_OPT_OBJECT, .sub = http_tls_options,
      .help = "serve HTTPS (TLS 1.2 or later)" },
    { 0 }
};

static const struct vg_option health_options[] = {
    { .name = "max_failing", .type = VG_OPT_DURATION, .def = "1m",
      .offset = offsetof(struct agent_conf, health_max_failing),
      .help = "/health fails when an output has failed this long" },
    { 0 }
};

static const struct vg_option agent_options[] = {
    { .name = "log_level", .type = VG_OPT_ENUM, .def = "info",
      .choices = "error|warn|info|debug|trace",
      .offset = offsetof(struct agent_conf, log_level),
      .help = "least severe level that is logged" },
    { .name = "log_target", .type = VG_OPT_ENUM, .def = "stderr",
      .choices = "stderr|syslog",
      .offset = offsetof(struct agent_conf, log_target),
      .help = "where the agent's own log goes" },
    { .name = "state_dir", .type = VG_OPT_STR, .def = LOCALSTATEDIR
      "/lib/vigil", .offset = offsetof(struct agent_conf, state_dir),
      .help = "offsets, disk buffers and alert state (created 0700)" },
    { .name = "shutdown_timeout", .type = VG_OPT_DURATION, .def = "10s",
      .offset = offsetof(struct agent_conf, shutdown_timeout),
      .help = "how long SIGTERM waits for queues to drain" },
    { .name = "plugin_path", .type = VG_OPT_STR,
      .offset = offsetof(struct agent_conf, plugin_path),
      .help = "plugin directories, separated by ':'" },
    { .name = "hostname", .type = VG_OPT_STR,
      .offset = offsetof(struct agent_conf, hostname),
      .help = "host name for the host label (default: gethostname)" },
    { .name = "user", .type = VG_OPT_STR,
      .offset = offsetof(struct agent_conf, user),
      .help = "run as this user once the pipelines have started (from root)" },
    { .name = "group", .type = VG_OPT_STR,
      .offset = offsetof(struct agent_conf, group),
      .help = "run as this group (default: the user's)" },
    { .name = "http", .type = VG_OPT_OBJECT, .sub = http_options,
      .help = "status server: /metrics, /health, /api/v1/status, /" },
    { .name = "health", .type = VG_OPT_OBJECT, .sub = health_options,
      .help = "what /health reports as failing" },
    { 0 }
};

/* Options every output instance has, handled by the core. */
struct output_core_conf {
    int64_t  retry_initial;
    int64_t  retry_max;
    int64_t  retry_max_attempts;
    int64_t  max_memory;
    char    *disk_path;
    int64_t  disk_max_size;
    int      disk_fsync;
};

static const struct vg_option retry_options[] = {
    { .name = "initial", .type = VG_OPT_DURATION, .def = "1s",
      .offset = offsetof(struct output_core_conf, retry_initial),
      .help = "first retry delay (full jitter below it)" },
    { .name = "max", .type = VG_OPT_DURATION, .def = "60s",
      .offset = offsetof(struct output_core_conf, retry_max),
      .help = "longest delay between retries" },
    { .name = "max_attempts", .type = VG_OPT_INT, .def = "0",
      .offset = offsetof(struct output_core_conf, retry_max_attempts),
      .help = "give up on a batch after this many tries (0: never)" },
    { 0 }
};

static const struct vg_option disk_options[] = {
    { .name = "max_size", .type = VG_OPT_SIZE, .def = "0",
      .offset = offsetof(struct output_core_conf, disk_max_size),
      .help = "disk buffer size; 0 = no disk buffer" },
    { .name = "path", .type = VG_OPT_STR,
      .offset = offsetof(struct output_core_conf, disk_path),
      .help = "directory in state_dir/buffer (default: pipeline.output)" },
    { .name = "fsync", .type = VG_OPT_ENUM, .def = "interval",
      .choices = "always|interval|never",
      .offset = offsetof(struct output_core_conf, disk_fsync),
      .help = "fsync after each batch, every second, or never" },
    { 0 }
};

static const struct vg_option buffer_options[] = {
    { .name = "max_memory", .type = VG_OPT_SIZE, .def = "32MiB",
      .offset = offsetof(struct output_core_conf, max_memory),
      .help = "bytes queued in memory before the inputs are paused" },
    { .name = "disk", .type = VG_OPT_OBJECT, .sub = disk_options,
      .help = "disk buffer: batches survive restarts and long outages" },
    { 0 }
};

static const struct vg_option output_core_options[] = {
    { .name = "retry", .type = VG_OPT_OBJECT, .sub = retry_options,
      .help = "retry policy of this output" },
    { .name = "buffer", .type = VG_OPT_OBJECT, .sub = buffer_options,
      .help = "queue limits of this output" },
    { 0 }
};

const struct vg_option *
vg_engine_agent_schema(void)
{
    return agent_options;
}

const struct vg_option *
vg_engine_output_schema(void)
{
    return output_core_options;
}

struct vg_gen {
    struct vg_engine    *eng;
    struct vg_doc       *doc;
    uint64_t             config_hash;   /* of the file's bytes */
    size_t               literal_secrets;   /* written in the file */
    struct agent_conf    agent;
    struct vg_pipeline **pipes;
    size_t               npipes;
    int                  started;
    int                  draining;
    int                  finished;
    ev_timer             deadline;
    struct vg_gen       *next;          /* engine's list of old gens */
};

struct vg_engine {
    struct ev_loop        *loop;
    char                  *config_path;
    char                  *cli_plugin_path;
    int                    cli_log_level;
    struct vg_registry     reg;
    int                    reg_ready;
    char                  *plugin_path;
    char                   hostname[256];
    char                  *state_dir;
    int                    state_dir_made;
    struct vg_gen         *cur;
    struct vg_gen         *old;         /* draining */
    int                    shutting_down;
    int                    exit_code;
    unsigned               reloads;
    unsigned               reload_failures;
    int                    last_reload_ok;      /* -1: none yet */
    int64_t                last_reload_at;      /* wall ns */
    int64_t                started;             /* wall ns */
    int64_t                started_mono;
    uint64_t               config_hash;
    int                    embedded;
    struct vg_firing       firing;
    struct vg_status      *status;
};

static void gen_free(struct vg_gen *g);

/* ---- plugin path ----------------------------------------------------- */

/* When the binary runs from its build tree, its plugins are beside it in
 * plugins/.libs; an installed binary uses PLUGINDIR. */
const char *
vg_default_plugin_path(void)
{
    static char path[PATH_MAX + 32];
    char exe[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    struct stat st;
    char *slash;

    if (n > 0) {
        exe[n] = '\0';
        slash = strrchr(exe, '/');
        if (slash && strcmp(exe, BINDIR "/vigil") != 0) {
            *slash = '\0';
            snprintf(path, sizeof(path), "%s/plugins/.libs", exe);
            if (stat(path, &st) == 0 && S_ISDIR(st.st_mode))
                return path;
        }
    }
    return PLUGINDIR;
}

static const char *
choose_plugin_path(const struct vg_engine *eng, const struct agent_conf *ac)
{
    const char *env = getenv("VIGIL_PLUGIN_PATH");

    if (eng->cli_plugin_path)
        return eng->cli_plugin_path;
    if (ac->plugin_path)
        return ac->plugin_path;
    if (env && *env)
        return env;
    return vg_default_plugin_path();
}

static int
ensure_registry(struct vg_engine *eng, const struct agent_conf *ac)
{
    const char *path = choose_plugin_path(eng, ac);
    int rc;

    if (eng->reg_ready) {
        if (strcmp(path, eng->plugin_path) != 0)
            vg_core_log(VG_LOG_WARN, "plugin path changed to '%s': it takes "
                        "effect at the next restart", path);
        return 0;
    }
    if ((rc = vg_registry_init(&eng->reg, path)) < 0)
        return rc;
    eng->plugin_path = vg_xstrdup(path);
    eng->reg_ready = 1;
    return 0;
}

/* ---- building a generation ------------------------------------------- */

static const char *const top_keys[] = { "agent", "pipelines", NULL };
static const char *const pipe_keys[] = { "inputs", "filters", "outputs",
                                         NULL };
static const char *const reserved_keys[] = { "name", "alias", NULL };
static const char *const output_reserved_keys[] = { "name", "alias",
                                                    "retry", "buffer",
                                                    NULL };

static const char *
closest(const char *const *names, const char *key)
{
    const char *best = NULL;
    size_t bestd = (size_t)-1, i, limit = strlen(key) / 3;

    if (limit < 2)
        limit = 2;
    for (i = 0; names[i]; i++) {
        size_t d = vg_edit_distance(key, names[i]);

        if (d < bestd) {
            bestd = d;
            best = names[i];
        }
    }
    return bestd <= limit ? best : NULL;
}

static void
unknown_key(struct vg_errors *err, const struct vg_node *key,
            const char *where, const char *const *known)
{
    const char *hint = closest(known, key->value);

    if (hint)
        vg_errors_add(err, key, "%s: unknown key '%s' (did you mean '%s'?)",
                      where, key->value, hint);
    else
        vg_errors_add(err, key, "%s: unknown key '%s'", where, key->value);
}

static int
in_list(const char *const *list, const char *s)
{
    size_t i;

    for (i = 0; list[i]; i++)
        if (strcmp(list[i], s) == 0)
            return 1;
    return 0;
}

static char *
node_where(const struct vg_node *n)
{
    return vg_xasprintf("%s:%d:%d", n->file, n->line, n->col);
}

/* A shallow map node holding only the keys that `keep` says. */
static void
split_map(const struct vg_node *map, struct vg_node *out,
          const char *const *keys, int keep_listed)
{
    size_t i;

    *out = *map;
    out->n = 0;
    out->keys = vg_xcalloc(map->n ? map->n : 1, sizeof(*out->keys));
    out->vals = vg_xcalloc(map->n ? map->n : 1, sizeof(*out->vals));
    for (i = 0; i < map->n; i++) {
        if (in_list(keys, map->keys[i]->value) == keep_listed) {
            out->keys[out->n] = map->keys[i];
            out->vals[out->n] = map->vals[i];
            out->n++;
        }
    }
}

static void
split_release(struct vg_node *n)
{
    free(n->keys);
    free(n->vals);
}

/* Known plugin names of a kind, for did-you-mean (NULL-terminated). */
static const char **
known_names(struct vg_engine *eng, enum vg_kind kind)
{
    const char **names;
    size_t i, n = 0;

    vg_registry_load_all(&eng->reg);
    names = vg_xcalloc(eng->reg.nmods + 1, sizeof(*names));
    for (i = 0; i < eng->reg.nmods; i++)
        if (eng->reg.mods[i]->desc.kind == kind)
            names[n++] = eng->reg.mods[i]->desc.name;
    return names;
}

static void
unknown_plugin(struct vg_engine *eng, struct vg_errors *err,
               const struct vg_node *at, enum vg_kind kind, const char *name)
{
    const char **names = known_names(eng, kind);
    const char *hint = closest(names, name);
    char why[256];
    size_t i;

    for (i = 0; i < eng->reg.nrefused; i++) {
        if (strstr(eng->reg.refused[i].path, name)) {
            vg_errors_add(err, at, "unknown %s plugin '%s' (refused %s)",
                          vg_kind_name(kind), name, eng->reg.refused[i].why);
            free(names);
            return;
        }
    }
    if (vg_plugin_skipped_why(VG_SKIPPED_PLUGINS, kind, name, why,
                              sizeof(why))) {
        vg_errors_add(err, at, "unknown %s plugin '%s': this vigil was built "
                      "without it (%s)", vg_kind_name(kind), name, why);
        free(names);
        return;
    }
    if (hint)
        vg_errors_add(err, at, "unknown %s plugin '%s' (did you mean '%s'?)",
                      vg_kind_name(kind), name, hint);
    else
        vg_errors_add(err, at, "unknown %s plugin '%s' (plugin path: %s)",
                      vg_kind_name(kind), name, eng->plugin_path);
    free(names);
}

static void
instance_free(struct vg_instance *in)
{
    struct vg_counter *c, *cn;

    if (!in)
        return;
    while (in->timers)
        vg_core_api.timer_free(in->timers);
    while (in->ios)
        vg_core_api.io_free(in->ios);
    if (in->conf && in->plugin && in->plugin->options)
        vg_options_release(in->plugin->options, in->conf);
    for (c = in->counters; c; c = cn) {
        cn = c->next;
        free(c->name);
        free(c);
    }
    free(in->conf);
    free(in->core_conf);
    free(in->name);
    free(in->alias);
    free(in->where);
    free(in);
}

/* Counts instances of one plugin so names read "output[file#2]". */
static int
plugin_ordinal(struct vg_gen *g, const struct vg_plugin *p)
{
    size_t i, j;
    int n = 1;

    for (i = 0; i < g->npipes; i++) {
        struct vg_pipeline *pl = g->pipes[i];
        struct vg_instance **lists[3] = { pl->inputs, pl->filters,
                                          pl->outputs };
        size_t counts[3] = { pl->ninputs, pl->nfilters, pl->noutputs };
        int k;

        for (k = 0; k < 3; k++)
            for (j = 0; j < counts[k]; j++)
                if (lists[k][j] && lists[k][j]->plugin == p)
                    n++;
    }
    return n;
}

static int
alias_taken(struct vg_gen *g, const char *alias)
{
    size_t i, j;

    for (i = 0; i < g->npipes; i++) {
        struct vg_pipeline *pl = g->pipes[i];
        struct vg_instance **lists[3] = { pl->inputs, pl->filters,
                                          pl->outputs };
        size_t counts[3] = { pl->ninputs, pl->nfilters, pl->noutputs };
        int k;

        for (k = 0; k < 3; k++)
            for (j = 0; j < counts[k]; j++)
                if (lists[k][j] && lists[k][j]->alias &&
                    strcmp(lists[k][j]->alias, alias) == 0)
                    return 1;
    }
    return 0;
}

/* Builds one instance from its mapping; NULL after adding errors. */

/* The plugin's own check of its configuration (struct vg_plugin.check):
 * what it logs as errors meanwhile becomes config errors at `at`. */
static int
plugin_check(struct vg_instance *in, const struct vg_node *at,
             struct vg_errors *err)
{
    size_t before = err->n;
    int rc;

    if (!in->plugin->check)
        return 0;
    in->check_err = err;
    in->check_at = at;
    rc = in->plugin->check(in, in->conf);
    in->check_err = NULL;
    in->check_at = NULL;
    if (rc < 0 && err->n == before)
        vg_errors_add(err, at, "%s: configuration refused (%s)", in->name,
                      vg_strerror(rc));
    return rc < 0 ? -EINVAL : 0;
}

static struct vg_instance *
build_instance(struct vg_gen *g, struct vg_pipeline *pl, enum vg_kind kind,
               const struct vg_node *item, struct vg_errors *err)
{
    const struct vg_node *name = vg_node_get(item, "name");
    const struct vg_node *alias = vg_node_get(item, "alias");
    const struct vg_module *mod;
    struct vg_instance *in;
    struct vg_node plugin_part, core_part;
    char *what;
    int rc = 0;

    if (item->type != VG_NODE_MAP) {
        vg_errors_add(err, item, "pipeline '%s': each %s must be a mapping "
                      "with a 'name' key, got %s", pl->name,
                      vg_kind_name(kind), vg_node_type_name(item->type));
        return NULL;
    }
    if (!name || name->type != VG_NODE_SCALAR || !name->len) {
        vg_errors_add(err, item, "pipeline '%s': %s without 'name' (the "
                      "plugin to use)", pl->name, vg_kind_name(kind));
        return NULL;
    }
    mod = vg_registry_find(&g->eng->reg, kind, name->value);
    if (!mod) {
        unknown_plugin(g->eng, err, name, kind, name->value);
        return NULL;
    }
    in = vg_xcalloc(1, sizeof(*in));
    in->api = &vg_core_api;
    in->module = mod;
    in->plugin = &mod->desc;
    in->pipe = pl;
    in->kind = kind;
    in->where = node_where(item);
    if (alias) {
        if (alias->type != VG_NODE_SCALAR || !alias->len) {
            vg_errors_add(err, alias, "alias must be a non-empty string");
            rc = -EINVAL;
        } else if (alias_taken(g, alias->value)) {
            vg_errors_add(err, alias, "duplicate alias '%s'", alias->value);
            rc = -EINVAL;
        } else {
            in->alias = vg_xstrdup(alias->value);
        }
    }
    if (in->alias)
        in->name = vg_xasprintf("%s[%s]", vg_kind_name(kind), in->alias);
    else
        in->name = vg_xasprintf("%s[%s#%d]", vg_kind_name(kind),
                                in->plugin->name,
                                plugin_ordinal(g, in->plugin));
    what = vg_xasprintf("%s '%s'", vg_kind_name(kind), in->plugin->name);
    in->conf = vg_xcalloc(1, in->plugin->conf_size ? in->plugin->conf_size
                                                   : 1);
    split_map(item, &plugin_part, kind == VG_KIND_OUTPUT
              ? output_reserved_keys : reserved_keys, 0);
    if (in->plugin->options) {
        if (vg_options_apply(in->plugin->options, &plugin_part, in->conf,
                             what, NULL, err) < 0)
            rc = -EINVAL;
        g->literal_secrets += vg_options_literal_secrets(in->plugin->options,
                                                         &plugin_part);
    } else if (plugin_part.n) {
        vg_errors_add(err, plugin_part.keys[0], "%s: unknown option '%s' "
                      "(this plugin takes no options)", what,
                      plugin_part.keys[0]->value);
        rc = -EINVAL;
    }
    split_release(&plugin_part);
    if (kind == VG_KIND_OUTPUT) {
        struct output_core_conf *occ = vg_xcalloc(1, sizeof(*occ));

        split_map(item, &core_part,
                  (const char *const[]){ "retry", "buffer", NULL }, 1);
        if (vg_options_apply(output_core_options, &core_part, occ, what,
                             NULL, err) < 0)
            rc = -EINVAL;
        split_release(&core_part);
        in->core_conf = occ;
    }
    free(what);
    if (rc == 0 && plugin_check(in, item, err) < 0)
        rc = -EINVAL;
    if (rc < 0) {
        instance_free(in);
        return NULL;
    }
    return in;
}

static void
add_instance(struct vg_instance ***list, size_t *n, struct vg_instance *in)
{
    *list = vg_xrealloc(*list, (*n + 1) * sizeof(**list));
    in->stage = (int)*n;
    (*list)[(*n)++] = in;
}

static void
build_stage(struct vg_gen *g, struct vg_pipeline *pl, enum vg_kind kind,
            const struct vg_node *seq, struct vg_errors *err)
{
    struct vg_instance ***list = kind == VG_KIND_INPUT ? &pl->inputs
        : kind == VG_KIND_FILTER ? &pl->filters : &pl->outputs;
    size_t *n = kind == VG_KIND_INPUT ? &pl->ninputs
        : kind == VG_KIND_FILTER ? &pl->nfilters : &pl->noutputs;
    size_t i;

    if (!seq)
        return;
    if (seq->type != VG_NODE_SEQ) {
        vg_errors_add(err, seq, "pipeline '%s': '%ss' must be a sequence "
                      "(a list of '- name: ...' items), got %s", pl->name,
                      vg_kind_name(kind), vg_node_type_name(seq->type));
        return;
    }
    for (i = 0; i < seq->n; i++) {
        struct vg_instance *in = build_instance(g, pl, kind, seq->vals[i],
                                                err);

        if (in)
            add_instance(list, n, in);
    }
}

static void
build_pipeline(struct vg_gen *g, const struct vg_node *key,
               const struct vg_node *val, struct vg_errors *err)
{
    struct vg_pipeline *pl;
    size_t i;

    if (val->type != VG_NODE_MAP) {
        vg_errors_add(err, val, "pipeline '%s' must be a mapping with "
                      "inputs, filters and outputs, got %s", key->value,
                      vg_node_type_name(val->type));
        return;
    }
    pl = vg_xcalloc(1, sizeof(*pl));
    pl->gen = g;
    pl->name = vg_xstrdup(key->value);
    g->pipes = vg_xrealloc(g->pipes, (g->npipes + 1) * sizeof(*g->pipes));
    g->pipes[g->npipes++] = pl;
    for (i = 0; i < val->n; i++)
        if (!in_list(pipe_keys, val->keys[i]->value))
            unknown_key(err, val->keys[i], "pipeline", pipe_keys);
    build_stage(g, pl, VG_KIND_INPUT, vg_node_get(val, "inputs"), err);
    build_stage(g, pl, VG_KIND_FILTER, vg_node_get(val, "filters"), err);
    build_stage(g, pl, VG_KIND_OUTPUT, vg_node_get(val, "outputs"), err);
    if (!vg_node_get(val, "inputs") || !vg_node_get(val, "outputs") ||
        !vg_node_get(val, "inputs")->n || !vg_node_get(val, "outputs")->n)
        vg_errors_add(err, key, "pipeline '%s' needs at least one input "
                      "and one output", pl->name);
}

/* Hash of the config file as it is on disk, for the status API. */
static uint64_t
file_hash(const char *path)
{
    struct vg_buf b;
    char chunk[65536];
    uint64_t h;
    size_t n;
    FILE *f = fopen(path, "rb");

    if (!f)
        return 0;
    vg_buf_init(&b);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0 && b.len < (16 << 20))
        vg_buf_add(&b, chunk, n);
    fclose(f);
    h = vg_hash64(b.data ? b.data : "", b.len, 0);
    vg_buf_release(&b);
    return h;
}

static int
load_doc(struct vg_engine *eng, struct vg_gen *g, struct vg_errors *err)
{
    if (eng->config_path) {
        g->config_hash = file_hash(eng->config_path);
        return vg_doc_load_file(eng->config_path, &g->doc, err);
    }
    g->config_hash = vg_hash64(vg_default_config, strlen(vg_default_config),
                               0);
    return vg_doc_load_string("<embedded default>", vg_default_config,
                              strlen(vg_default_config), &g->doc, err);
}

static struct vg_gen *
gen_build(struct vg_engine *eng, struct vg_errors *err)
{
    struct vg_gen *g = vg_xcalloc(1, sizeof(*g));
    const struct vg_node *root, *pipes;
    struct vg_node agent_empty = { .type = VG_NODE_MAP };
    size_t i;

    g->eng = eng;
    if (load_doc(eng, g, err) < 0)
        goto fail;
    root = g->doc->root;
    if (!root) {
        vg_errors_addf(err, "%s: the config is empty: it needs a "
                       "'pipelines' section", g->doc->file);
        goto fail;
    }
    if (root->type != VG_NODE_MAP) {
        vg_errors_add(err, root, "the config must be a mapping with "
                      "'agent' and 'pipelines', got %s",
                      vg_node_type_name(root->type));
        goto fail;
    }
    for (i = 0; i < root->n; i++)
        if (!in_list(top_keys, root->keys[i]->value))
            unknown_key(err, root->keys[i], "config", top_keys);
    agent_empty.file = g->doc->file;
    agent_empty.line = agent_empty.col = 1;
    /* An agent error does not stop here: every error is reported. */
    vg_options_apply(agent_options, vg_node_get(root, "agent")
                     ? vg_node_get(root, "agent") : &agent_empty,
                     &g->agent, "agent", NULL, err);
    if (!g->agent.http_cert != !g->agent.http_key)
        vg_errors_add(err, vg_node_get(vg_node_get(vg_node_get(root, "agent"),
                                                   "http"), "tls"),
                      "agent: http.tls needs both cert_file and key_file");
    g->literal_secrets += vg_options_literal_secrets(agent_options,
                                                     vg_node_get(root, "agent"));
    if (g->agent.http_listen && !vg_http_listen_is_loopback(g->agent.http_listen)
        && !(g->agent.http_token && *g->agent.http_token)) {
        const struct vg_node *http = vg_node_get(vg_node_get(root, "agent"),
                                                 "http");

        vg_errors_add(err, vg_node_get(http, "listen"), "agent: http.listen "
                      "'%s' is not a loopback address: set http.token so the "
                      "status API is not open to the network",
                      g->agent.http_listen);
    }
    if (ensure_registry(eng, &g->agent) < 0) {
        vg_errors_addf(err, "cannot initialise the plugin loader");
        goto fail;
    }
    pipes = vg_node_get(root, "pipelines");
    if (!pipes || pipes->type != VG_NODE_MAP || !pipes->n) {
        vg_errors_add(err, pipes ? pipes : root, "'pipelines' must be a "
                      "mapping of pipeline names to pipelines, with at "
                      "least one");
        goto fail;
    }
    for (i = 0; i < pipes->n; i++)
        build_pipeline(g, pipes->keys[i], pipes->vals[i], err);
    if (err->n)
        goto fail;
    return g;
fail:
    gen_free(g);
    return NULL;
}

/* ---- running --------------------------------------------------------- */

static void
foreach_instance(struct vg_gen *g, void (*fn)(struct vg_instance *))
{
    size_t i, j;

    for (i = 0; i < g->npipes; i++) {
        struct vg_pipeline *pl = g->pipes[i];

        for (j = 0; j < pl->noutputs; j++)
            fn(pl->outputs[j]);
        for (j = 0; j < pl->nfilters; j++)
            fn(pl->filters[j]);
        for (j = 0; j < pl->ninputs; j++)
            fn(pl->inputs[j]);
    }
}

static void
quiesce(struct vg_instance *in)
{
    struct vg_timer *t;
    struct vg_io *w;
    struct ev_loop *loop = vg_instance_loop(in);

    for (t = in->timers; t; t = t->next)
        ev_timer_stop(loop, &t->w);
    for (w = in->ios; w; w = w->next)
        ev_io_stop(loop, &w->w);
}

static void
instance_stop(struct vg_instance *in)
{
    if (!in->started || in->stopped)
        return;
    in->stopped = 1;
    if (in->plugin->stop)
        in->plugin->stop(in);
    quiesce(in);
}

/* One line per instance at the end, for whoever reads the log after an
 * incident: what came in, what went out, what was lost and why. */
static void
log_totals(const struct vg_instance *in)
{
    char extra[512] = "";
    const struct vg_counter *c;
    size_t n = 0;

    for (c = in->counters; c && n + 48 < sizeof(extra); c = c->next)
        n += (size_t)snprintf(extra + n, sizeof(extra) - n, ", %s %lld",
                              c->name, (long long)c->value);
    vg_log_who(VG_LOG_INFO, in->name, "totals", "%llu events in, %llu out%s",
               (unsigned long long)in->events_in,
               (unsigned long long)in->events_out, extra);
}

static void
instance_destroy(struct vg_instance *in)
{
    if (in->started)
        log_totals(in);
    instance_stop(in);
    if (in->kind == VG_KIND_OUTPUT && in->oq)
        vg_oq_close(in->oq);
    if (in->inited && in->plugin->destroy)
        in->plugin->destroy(in);
    in->inited = 0;
    vg_ack_source_close(in->acks);
    in->acks = NULL;
    if (in->kind == VG_KIND_OUTPUT && in->started) {
        vg_oq_free(in->oq);
        in->oq = NULL;
    }
}

static void
gen_free(struct vg_gen *g)
{
    size_t i, j;

    if (!g)
        return;
    if (g->eng && g->eng->loop)
        ev_timer_stop(g->eng->loop, &g->deadline);
    foreach_instance(g, instance_destroy);
    for (i = 0; i < g->npipes; i++) {
        struct vg_pipeline *pl = g->pipes[i];

        for (j = 0; j < pl->ninputs; j++)
            instance_free(pl->inputs[j]);
        for (j = 0; j < pl->nfilters; j++)
            instance_free(pl->filters[j]);
        for (j = 0; j < pl->noutputs; j++)
            instance_free(pl->outputs[j]);
        free(pl->inputs);
        free(pl->filters);
        free(pl->outputs);
        free(pl->name);
        free(pl);
    }
    free(g->pipes);
    vg_options_release(agent_options, &g->agent);
    vg_doc_free(g->doc);
    free(g);
}

static int
gen_init(struct vg_gen *g, struct vg_errors *err)
{
    size_t i, j, k;

    for (i = 0; i < g->npipes; i++) {
        struct vg_pipeline *pl = g->pipes[i];
        struct vg_instance **lists[3] = { pl->outputs, pl->filters,
                                          pl->inputs };
        size_t counts[3] = { pl->noutputs, pl->nfilters, pl->ninputs };

        for (k = 0; k < 3; k++) {
            for (j = 0; j < counts[k]; j++) {
                struct vg_instance *in = lists[k][j];
                int rc = in->plugin->init ? in->plugin->init(in, in->conf)
                                          : 0;

                if (rc < 0) {
                    vg_errors_addf(err, "%s: %s (%s): init failed: %s",
                                   in->where, in->name, in->plugin->name,
                                   vg_strerror(rc));
                    return -EINVAL;
                }
                in->inited = 1;
            }
        }
    }
    return 0;
}

static void gen_check_drained(struct vg_gen *g);

static void
on_queue_idle(struct vg_oq *q, void *arg)
{
    struct vg_gen *g = arg;

    (void)q;
    if (g->draining)
        gen_check_drained(g);
}

/* Backpressure: a full output pauses the inputs of its pipeline that can
 * pause; they resume when every output has room again. */
static void
pipeline_pause(struct vg_pipeline *pl)
{
    size_t i;

    for (i = 0; i < pl->ninputs; i++) {
        struct vg_instance *in = pl->inputs[i];

        if (in->paused || in->stopped || !in->plugin->pause)
            continue;
        in->paused = 1;
        vg_instance_count(in, "paused", 1);
        vg_log_who(VG_LOG_INFO, in->name, "pause", "paused: an output of "
                   "pipeline '%s' is full", pl->name);
        in->plugin->pause(in);
    }
}

static void
on_queue_space(struct vg_oq *q, void *arg)
{
    struct vg_pipeline *pl = arg;
    size_t i;

    (void)q;
    for (i = 0; i < pl->noutputs; i++)
        if (pl->outputs[i]->oq && vg_oq_full(pl->outputs[i]->oq))
            return;
    for (i = 0; i < pl->ninputs; i++) {
        struct vg_instance *in = pl->inputs[i];

        if (!in->paused)
            continue;
        in->paused = 0;
        if (in->stopped)
            continue;
        vg_log_who(VG_LOG_INFO, in->name, "resume", "resumed");
        in->plugin->resume(in);
    }
}

/* state_dir/buffer/NAME, NAME from the config or "pipeline.output-x-1". */
static char *
buffer_dir(struct vg_instance *in, const char *name)
{
    char auto_name[256];
    const char *p;
    size_t n = 0;

    if (!name) {
        for (p = in->pipe->name; *p && n + 2 < sizeof(auto_name); p++)
            auto_name[n++] = isalnum((unsigned char)*p) ? *p : '_';
        auto_name[n++] = '.';
        for (p = in->name; *p && n + 1 < sizeof(auto_name); p++)
            if (isalnum((unsigned char)*p) || *p == '_')
                auto_name[n++] = *p;
            else if (n && auto_name[n - 1] != '-')
                auto_name[n++] = '-';
        while (n && auto_name[n - 1] == '-')
            n--;
        auto_name[n] = '\0';
        name = auto_name;
    }
    return vg_xasprintf("%s/buffer/%s", vg_instance_state_dir(in), name);
}

static int
gen_start(struct vg_gen *g, struct vg_errors *err)
{
    struct vg_engine *eng = g->eng;
    size_t i, j;

    for (i = 0; i < g->npipes; i++) {
        struct vg_pipeline *pl = g->pipes[i];

        for (j = 0; j < pl->noutputs; j++) {
            struct vg_instance *in = pl->outputs[j];
            struct output_core_conf *occ = in->core_conf;
            struct vg_oq_conf qc = {
                .retry_initial = occ->retry_initial,
                .retry_max = occ->retry_max,
                .max_attempts = occ->retry_max_attempts,
                .max_memory = occ->max_memory,
            };

            char *dir = NULL;
            int rc;

            if (occ->disk_max_size > 0) {
                dir = buffer_dir(in, occ->disk_path);
                qc.disk_dir = dir;
                qc.disk_max_size = occ->disk_max_size;
                qc.disk_fsync = occ->disk_fsync;
            }
            rc = vg_oq_new(&in->oq, in, eng->loop, &qc);
            free(dir);
            if (rc < 0) {
                vg_errors_addf(err, "%s: %s: cannot open its disk buffer: %s",
                               in->where, in->name, vg_strerror(rc));
                return -EINVAL;
            }
            vg_oq_on_idle(in->oq, on_queue_idle, g);
            vg_oq_on_space(in->oq, on_queue_space, pl);
            in->started = 1;
        }
    }
    for (i = 0; i < g->npipes; i++) {
        struct vg_pipeline *pl = g->pipes[i];
        struct vg_instance **lists[3] = { pl->outputs, pl->filters,
                                          pl->inputs };
        size_t counts[3] = { pl->noutputs, pl->nfilters, pl->ninputs };
        int k;

        pl->inputs_active = pl->ninputs;
        for (k = 0; k < 3; k++) {
            for (j = 0; j < counts[k]; j++) {
                struct vg_instance *in = lists[k][j];
                int rc;

                if (in->kind == VG_KIND_INPUT && in->plugin->commit)
                    in->acks = vg_ack_source_new(in);
                rc = in->plugin->start ? in->plugin->start(in) : 0;

                if (rc < 0) {
                    vg_errors_addf(err, "%s: %s: start failed: %s",
                                   in->where, in->name, vg_strerror(rc));
                    return -EINVAL;
                }
                in->started = 1;
            }
        }
    }
    g->started = 1;
    return 0;
}

static void
gen_finish(struct vg_gen *g)
{
    struct vg_engine *eng = g->eng;
    struct vg_gen **pp;

    if (g->finished)
        return;
    g->finished = 1;
    ev_timer_stop(eng->loop, &g->deadline);
    for (pp = &eng->old; *pp; pp = &(*pp)->next) {
        if (*pp == g) {
            *pp = g->next;
            break;
        }
    }
    if (eng->cur == g)
        eng->cur = NULL;
    gen_free(g);
    if (eng->shutting_down && !eng->cur && !eng->old) {
        vg_core_log(VG_LOG_INFO, "stopped");
        ev_break(eng->loop, EVBREAK_ALL);
    }
}

static void
gen_check_drained(struct vg_gen *g)
{
    size_t i, j;

    for (i = 0; i < g->npipes; i++)
        for (j = 0; j < g->pipes[i]->noutputs; j++)
            if (g->pipes[i]->outputs[j]->oq &&
                !vg_oq_idle(g->pipes[i]->outputs[j]->oq))
                return;
    /* Called from inside a queue: finish from the loop, not the stack. */
    ev_timer_stop(g->eng->loop, &g->deadline);
    ev_timer_set(&g->deadline, 0., 0.);
    ev_timer_start(g->eng->loop, &g->deadline);
}

static void
on_drain_deadline(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct vg_gen *g = w->data;
    size_t i, j, left = 0;

    (void)loop;
    (void)revents;
    for (i = 0; i < g->npipes; i++)
        for (j = 0; j < g->pipes[i]->noutputs; j++)
            if (g->pipes[i]->outputs[j]->oq)
                left += vg_oq_volatile_batches(g->pipes[i]->outputs[j]->oq);
    if (left) {
        vg_core_log(VG_LOG_ERROR, "shutdown timeout: %zu batches were not "
                    "delivered", left);
        g->eng->exit_code = 1;
    }
    gen_finish(g);
}

/* Stops inputs, lets filters flush, then waits for the output queues. */
static void
gen_drain(struct vg_gen *g)
{
    int64_t deadline;
    size_t i, j;

    if (g->draining)
        return;
    g->draining = 1;
    /* Armed first: a filter's stop may emit, an output may finish at once
     * and the queue's idle callback then re-arms this very timer. */
    ev_timer_init(&g->deadline, on_drain_deadline,
                  (double)g->agent.shutdown_timeout / 1e9, 0.);
    g->deadline.data = g;
    ev_timer_start(g->eng->loop, &g->deadline);
    deadline = vg_mono_ns() + g->agent.shutdown_timeout;
    for (i = 0; i < g->npipes; i++)
        for (j = 0; j < g->pipes[i]->noutputs; j++)
            if (g->pipes[i]->outputs[j]->oq)
                vg_oq_set_deadline(g->pipes[i]->outputs[j]->oq, deadline);
    for (i = 0; i < g->npipes; i++)
        for (j = 0; j < g->pipes[i]->ninputs; j++)
            instance_stop(g->pipes[i]->inputs[j]);
    for (i = 0; i < g->npipes; i++)
        for (j = 0; j < g->pipes[i]->nfilters; j++)
            instance_stop(g->pipes[i]->filters[j]);
    gen_check_drained(g);
}

/* ---- routing (called through the API) -------------------------------- */

static void
dispatch(struct vg_pipeline *pl, size_t stage, struct vg_batch *b)
{
    size_t i, n = vg_batch_count_raw(b);
    struct vg_ack *ack;
    int full = 0;

    if (!n) {
        vg_batch_unref_raw(b);
        return;
    }
    if (stage < pl->nfilters) {
        struct vg_instance *f = pl->filters[stage];

        f->events_in += n;
        f->batches_in++;
        f->plugin->process(f, b);
        return;
    }
    vg_batch_freeze(b);
    vg_firing_note(&pl->gen->eng->firing, pl->name, b);
    /* Past the filters each output's queue entry holds the tracker, so an
     * output's disk buffer can settle its part before delivery. */
    ack = b->ack;
    b->ack = NULL;
    for (i = 0; i < pl->noutputs; i++) {
        struct vg_instance *out = pl->outputs[i];

        /* A full queue takes one more batch from an input that will now
         * pause (bounded overshoot); from one that cannot, it drops. */
        if (vg_oq_full(out->oq) &&
            (!b->origin || !b->origin->plugin->pause)) {
            vg_instance_count(out, "dropped_queue_full", (int64_t)n);
            vg_log_who(VG_LOG_WARN, out->name, "queue-full", "queue full "
                       "(%zu bytes): dropped %zu events", vg_oq_bytes(out->oq),
                       n);
            vg_ack_lost(ack);
            continue;
        }
        vg_batch_ref_raw(b);
        vg_oq_push(out->oq, b, ack);
        if (vg_oq_full(out->oq))
            full = 1;
    }
    vg_batch_unref_raw(b);
    vg_ack_unref(ack);
    if (full)
        pipeline_pause(pl);
}

void
vg_pipeline_emit(struct vg_instance *from, struct vg_batch *b)
{
    struct vg_pipeline *pl = from->pipe;
    size_t n = vg_batch_count_raw(b);
    size_t next;

    if (n == 0) {               /* nothing to pass on: released, uncounted */
        vg_batch_unref_raw(b);
        return;
    }
    from->events_out += n;
    from->batches_out++;
    switch (from->kind) {
    case VG_KIND_INPUT:
        if (!b->origin)
            b->origin = from;
        next = 0;
        break;
    case VG_KIND_FILTER:
        next = (size_t)from->stage + 1;
        break;
    default:
        vg_log_who(VG_LOG_ERROR, from->name, "emit-output",
                   "an output cannot emit events; batch dropped");
        vg_batch_unref_raw(b);
        return;
    }
    dispatch(pl, next, b);
}

void
vg_pipeline_emit_tracked(struct vg_instance *from, struct vg_batch *b,
                         uint64_t cookie)
{
    if (from->kind == VG_KIND_INPUT && from->acks && !b->ack)
        b->ack = vg_ack_new(from->acks, cookie);
    vg_pipeline_emit(from, b);
}

void
vg_pipeline_input_done(struct vg_instance *in)
{
    struct vg_gen *g = in->pipe->gen;
    struct vg_engine *eng = g->eng;
    size_t i;

    if (in->kind != VG_KIND_INPUT || in->done)
        return;
    in->done = 1;
    in->pipe->inputs_active--;
    if (g != eng->cur)
        return;
    for (i = 0; i < g->npipes; i++)
        if (g->pipes[i]->inputs_active)
            return;
    vg_core_log(VG_LOG_INFO, "every input is done: draining and exiting");
    vg_engine_shutdown(eng);
}

struct ev_loop *
vg_instance_loop(const struct vg_instance *in)
{
    return in->pipe->gen->eng->loop;
}

const char *
vg_instance_hostname(const struct vg_instance *in)
{
    return in->pipe->gen->eng->hostname;
}

const char *
vg_instance_state_dir(const struct vg_instance *in)
{
    struct vg_engine *eng = in->pipe->gen->eng;
    int rc;

    if (!eng->state_dir_made) {
        eng->state_dir_made = 1;
        if ((rc = vg_mkdir_p(eng->state_dir, 0700)) < 0)
            vg_core_log(VG_LOG_ERROR, "cannot create state_dir '%s': %s",
                        eng->state_dir, vg_strerror(rc));
    }
    return eng->state_dir;
}

void
vg_instance_count(struct vg_instance *in, const char *name, int64_t n)
{
    struct vg_counter *c;

    for (c = in->counters; c; c = c->next) {
        if (strcmp(c->name, name) == 0) {
            c->value += n;
            return;
        }
    }
    c = vg_xcalloc(1, sizeof(*c));
    c->name = vg_xstrdup(name);
    c->value = n;
    c->next = in->counters;
    in->counters = c;
}

/* ---- the engine ------------------------------------------------------ */

struct vg_engine *
vg_engine_new(struct ev_loop *loop, const struct vg_engine_opts *opts)
{
    struct vg_engine *eng = vg_xcalloc(1, sizeof(*eng));

    eng->loop = loop;
    if (opts->config_path)
        eng->config_path = vg_xstrdup(opts->config_path);
    if (opts->plugin_path)
        eng->cli_plugin_path = vg_xstrdup(opts->plugin_path);
    eng->cli_log_level = opts->log_level;
    eng->embedded = !opts->config_path;
    eng->last_reload_ok = -1;
    eng->started = vg_wall_ns();
    eng->started_mono = vg_mono_ns();
    return eng;
}

void
vg_engine_free(struct vg_engine *eng)
{
    if (!eng)
        return;
    while (eng->old) {
        struct vg_gen *g = eng->old;

        eng->old = g->next;
        gen_free(g);
    }
    gen_free(eng->cur);
    vg_status_free(eng->status);
    vg_firing_release(&eng->firing);
    if (eng->reg_ready)
        vg_registry_release(&eng->reg);
    free(eng->plugin_path);
    free(eng->config_path);
    free(eng->cli_plugin_path);
    free(eng->state_dir);
    free(eng);
}

const char *
vg_engine_config_name(const struct vg_engine *eng)
{
    return eng->config_path ? eng->config_path : "<embedded default>";
}

int
vg_engine_check(struct vg_engine *eng, struct vg_errors *err)
{
    struct vg_gen *g = gen_build(eng, err);

    if (!g)
        return -EINVAL;
    gen_free(g);
    return 0;
}

static void
apply_agent(struct vg_engine *eng, const struct vg_gen *g)
{
    const struct agent_conf *ac = &g->agent;

    if (!eng->cli_log_level)
        vg_log_set_level(ac->log_level + VG_LOG_ERROR);
    vg_log_use_syslog(ac->log_target == 1);
    if (ac->hostname && *ac->hostname) {
        snprintf(eng->hostname, sizeof(eng->hostname), "%s", ac->hostname);
    } else if (gethostname(eng->hostname, sizeof(eng->hostname) - 1) < 0) {
        snprintf(eng->hostname, sizeof(eng->hostname), "localhost");
    }
    if (!eng->state_dir || strcmp(eng->state_dir, ac->state_dir) != 0) {
        free(eng->state_dir);
        eng->state_dir = vg_xstrdup(ac->state_dir);
        eng->state_dir_made = 0;
    }
    eng->config_hash = g->config_hash;
}

/* Starts, moves or stops the status server as the agent section says.
 * The embedded default's server is a convenience: a busy port only
 * warns there. */
static int
apply_status(struct vg_engine *eng, const struct vg_gen *g,
             struct vg_errors *err)
{
    char why[256];
    int rc = vg_status_apply(&eng->status, eng, eng->loop,
                             g->agent.http_listen, g->agent.http_token,
                             g->agent.http_cert, g->agent.http_key, why,
                             sizeof(why));

    if (rc == 0)
        return 0;
    if (eng->embedded) {
        vg_core_log(VG_LOG_WARN, "status server not started: %s", why);
        return 0;
    }
    vg_errors_addf(err, "agent: status server: %s", why);
    return rc;
}

/* A file that holds secrets in clear should not be readable by all. */
static void
warn_readable_secrets(const struct vg_engine *eng, const struct vg_gen *g)
{
    struct stat st;

    if (!eng->config_path || !g->literal_secrets ||
        stat(eng->config_path, &st) < 0 || !(st.st_mode & S_IROTH))
        return;
    vg_core_log(VG_LOG_WARN, "config '%s' holds %zu secret%s in clear and is "
                "readable by everyone (mode %04o): chmod o-r it, or pass "
                "them as ${VAR} or ${file:PATH}", eng->config_path,
                g->literal_secrets, g->literal_secrets == 1 ? "" : "s",
                (unsigned)(st.st_mode & 07777));
}

int
vg_engine_start(struct vg_engine *eng, struct vg_errors *err)
{
    struct vg_gen *g = gen_build(eng, err);

    if (!g)
        return -EINVAL;
    apply_agent(eng, g);
    if (apply_status(eng, g, err) < 0 || gen_init(g, err) < 0 ||
        gen_start(g, err) < 0) {
        gen_free(g);
        return -EINVAL;
    }
    eng->cur = g;
    warn_readable_secrets(eng, g);
    /* Inputs have opened their sockets and files: root is not needed any
     * more.  State created later belongs to the agent user. */
    if (g->agent.user || g->agent.group) {
        char why[256];

        vg_mkdir_p(eng->state_dir, 0700);
        if (vg_drop_privileges(g->agent.user, g->agent.group, eng->state_dir,
                               why, sizeof(why)) < 0) {
            vg_errors_addf(err, "%s", why);
            eng->cur = NULL;
            gen_free(g);
            return -EPERM;
        }
    }
    vg_core_log(VG_LOG_INFO, "running %zu pipeline%s from %s", g->npipes,
                g->npipes == 1 ? "" : "s", vg_engine_config_name(eng));
    return 0;
}

static void
reload_failed(struct vg_engine *eng, struct vg_errors *err,
              struct vg_errors *report)
{
    size_t i;

    for (i = 0; i < err->n; i++) {
        vg_core_log(VG_LOG_ERROR, "%s", err->msgs[i]);
        if (report)
            vg_errors_addf(report, "%s", err->msgs[i]);
    }
    vg_core_log(VG_LOG_ERROR, "reload refused: the running pipelines are "
                "kept");
    eng->reload_failures++;
    eng->last_reload_ok = 0;
    eng->last_reload_at = vg_wall_ns();
}

int
vg_engine_reload(struct vg_engine *eng, struct vg_errors *report)
{
    struct vg_errors err;
    struct vg_gen *g, *old;
    size_t i;

    if (eng->shutting_down)
        return -ECANCELED;
    vg_errors_init(&err);
    vg_core_log(VG_LOG_INFO, "reloading %s", vg_engine_config_name(eng));
    g = gen_build(eng, &err);
    if (g && (apply_status(eng, g, &err) < 0 || gen_init(g, &err) < 0)) {
        gen_free(g);
        g = NULL;
    }
    if (!g) {
        reload_failed(eng, &err, report);
        vg_errors_release(&err);
        return -EINVAL;
    }
    /* The old inputs stop first so the new ones can take their sockets
     * and files; the old outputs drain beside the new pipelines. */
    old = eng->cur;
    eng->cur = g;
    if (old) {
        old->next = eng->old;
        eng->old = old;
        gen_drain(old);
    }
    apply_agent(eng, g);
    if (gen_start(g, &err) < 0) {
        for (i = 0; i < err.n; i++) {
            vg_core_log(VG_LOG_ERROR, "%s", err.msgs[i]);
            if (report)
                vg_errors_addf(report, "%s", err.msgs[i]);
        }
        vg_core_log(VG_LOG_ERROR, "reload failed while starting: stopping");
        eng->exit_code = 1;
        vg_errors_release(&err);
        vg_engine_shutdown(eng);
        return -EINVAL;
    }
    eng->reloads++;
    eng->last_reload_ok = 1;
    eng->last_reload_at = vg_wall_ns();
    vg_core_log(VG_LOG_INFO, "reloaded: %zu pipeline%s running", g->npipes,
                g->npipes == 1 ? "" : "s");
    vg_errors_release(&err);
    return 0;
}

void
vg_engine_shutdown(struct vg_engine *eng)
{
    if (eng->shutting_down) {
        vg_core_log(VG_LOG_WARN, "second stop request: exiting without "
                    "waiting for the queues");
        eng->exit_code = 1;
        ev_break(eng->loop, EVBREAK_ALL);
        return;
    }
    eng->shutting_down = 1;
    vg_core_log(VG_LOG_INFO, "stopping: draining queues (up to %.1fs)",
                eng->cur ? (double)eng->cur->agent.shutdown_timeout / 1e9
                         : 0.);
    if (eng->cur) {
        eng->cur->next = eng->old;
        eng->old = eng->cur;
        eng->cur = NULL;
        gen_drain(eng->old);
    } else if (!eng->old) {
        ev_break(eng->loop, EVBREAK_ALL);
    }
}

int
vg_engine_exit_code(const struct vg_engine *eng)
{
    return eng->exit_code;
}

void
vg_engine_get_info(const struct vg_engine *eng, struct vg_engine_info *info)
{
    info->config = vg_engine_config_name(eng);
    info->config_hash = eng->config_hash;
    info->hostname = eng->hostname;
    info->started = eng->started;
    info->uptime = vg_mono_ns() - eng->started_mono;
    info->reloads = eng->reloads;
    info->reload_failures = eng->reload_failures;
    info->last_reload_ok = eng->last_reload_ok;
    info->last_reload_at = eng->last_reload_at;
    info->max_failing = eng->cur ? eng->cur->agent.health_max_failing
                                 : 60 * VG_SECOND;
    info->token = eng->cur ? eng->cur->agent.http_token : NULL;
    info->firing = &eng->firing;
    info->shutting_down = eng->shutting_down;
}

size_t
vg_engine_npipelines(const struct vg_engine *eng)
{
    return eng->cur ? eng->cur->npipes : 0;
}

struct vg_pipeline *
vg_engine_pipeline(const struct vg_engine *eng, size_t i)
{
    return eng->cur && i < eng->cur->npipes ? eng->cur->pipes[i] : NULL;
}

void
vg_engine_self_metrics(struct vg_instance *in, struct vg_batch *b)
{
    vg_status_self_metrics(in->pipe->gen->eng, b, vg_wall_ns());
}
