/*
 * The engine: turns a config document into running pipelines, routes
 * batches from inputs through filters to output queues, reloads on SIGHUP
 * (new pipelines built and started beside the old, which then drain) and
 * shuts down on SIGTERM (inputs stop, filters flush, queues drain within
 * agent.shutdown_timeout).
 *
 * A "generation" is everything one config built.  There is one current
 * generation; older ones live on only while their outputs drain.
 */
#ifndef VG_ENGINE_H
#define VG_ENGINE_H

#include <ev.h>

#include "config.h"

struct vg_engine;

struct vg_engine_opts {
    const char *config_path;            /* NULL: the embedded default   */
    const char *plugin_path;            /* --plugin-path, or NULL       */
    int         log_level;              /* --log-level, or 0            */
};

struct vg_engine *vg_engine_new(struct ev_loop *loop,
                                const struct vg_engine_opts *opts);
void vg_engine_free(struct vg_engine *eng);

/* Parses and validates the config (schemas, plugins, pipelines) without
 * running any plugin code but the loader's checks.  0 or -EINVAL with
 * every problem in err. */
int  vg_engine_check(struct vg_engine *eng, struct vg_errors *err);

/* Validates, initialises and starts the pipelines.  0 or -EINVAL. */
int  vg_engine_start(struct vg_engine *eng, struct vg_errors *err);

/* SIGHUP, POST /api/v1/reload: reload the config file; a bad one is
 * refused and logged, and its errors added to report (may be NULL). */
int  vg_engine_reload(struct vg_engine *eng, struct vg_errors *report);

/* SIGTERM/SIGINT: drain and break the loop when done.  A second call
 * while draining gives up on the drain. */
void vg_engine_shutdown(struct vg_engine *eng);

/* 0 after a clean shutdown, 1 when events were lost or plugins failed. */
int  vg_engine_exit_code(const struct vg_engine *eng);

/* The config's file name as messages show it. */
const char *vg_engine_config_name(const struct vg_engine *eng);

/* What the status API shows of the agent. */
struct vg_firing;
struct vg_pipeline;
struct vg_engine_info {
    const char             *config;     /* path or "<embedded default>" */
    uint64_t                config_hash;
    const char             *hostname;
    int64_t                 started;    /* wall ns */
    int64_t                 uptime;     /* ns */
    unsigned                reloads;
    unsigned                reload_failures;
    int                     last_reload_ok;     /* 1, 0, -1: none yet */
    int64_t                 last_reload_at;     /* wall ns */
    int64_t                 max_failing;        /* ns, health threshold */
    const char             *token;      /* status API bearer token */
    const struct vg_firing *firing;
    int                     shutting_down;
};

void vg_engine_get_info(const struct vg_engine *eng,
                        struct vg_engine_info *info);
/* The pipelines of the running config. */
size_t vg_engine_npipelines(const struct vg_engine *eng);
struct vg_pipeline *vg_engine_pipeline(const struct vg_engine *eng,
                                       size_t i);

/* The plugin search path in force (after flags, config and defaults). */
const char *vg_default_plugin_path(void);

/* The schemas of the agent section and of the options the core handles
 * for every output (retry, buffer), for vigil --list-plugins --format=man. */
struct vg_option;
const struct vg_option *vg_engine_agent_schema(void);
const struct vg_option *vg_engine_output_schema(void);

#endif
