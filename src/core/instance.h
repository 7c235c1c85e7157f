/*
 * Plugin instances and pipelines as the engine keeps them.  Private to the
 * core: plugins see struct vg_instance as an opaque pointer whose first
 * member is the API table (struct vg_instance_head in plugin.h).
 */
#ifndef VG_INSTANCE_H
#define VG_INSTANCE_H

#include <ev.h>
#include <stdint.h>

#include <vigil/plugin.h>

#include "loader.h"

struct vg_engine;
struct vg_gen;
struct vg_pipeline;
struct vg_oq;
struct vg_ack_source;
struct vg_errors;
struct vg_node;

struct vg_timer {
    ev_timer            w;
    struct vg_instance *in;
    vg_timer_fn         cb;
    void               *arg;
    struct vg_timer    *next;           /* instance's list */
};

struct vg_io {
    ev_io               w;
    struct vg_instance *in;
    vg_io_fn            cb;
    void               *arg;
    int                 fd;
    struct vg_io       *next;
};

/* A named self-metric counter of an instance. */
struct vg_counter {
    char              *name;
    int64_t            value;
    struct vg_counter *next;
};

struct vg_instance {
    const struct vg_api      *api;      /* first: see vg_instance_head */
    const struct vg_plugin   *plugin;
    const struct vg_module   *module;
    struct vg_pipeline       *pipe;
    enum vg_kind              kind;
    int                       stage;    /* index within its kind        */
    char                     *name;     /* "output[file#1]"              */
    char                     *alias;
    char                     *where;    /* "file:line:col" of the config  */
    void                     *conf;     /* filled by vg_options_apply    */
    void                     *data;     /* the plugin's                  */
    int                       inited;
    int                       started;
    int                       done;     /* input: vg_input_done called   */
    int                       stopped;
    int                       paused;   /* input: by backpressure        */
    struct vg_ack_source     *acks;     /* input with commit            */

    struct vg_timer          *timers;
    struct vg_io             *ios;
    struct vg_counter        *counters;

    struct vg_errors         *check_err;/* while plugin->check runs:    */
    const struct vg_node     *check_at; /* its errors go there          */
    char                      last_error[256];  /* last warn/error log */
    int64_t                   last_error_at;    /* wall ns, 0: none     */

    uint64_t                  events_in;
    uint64_t                  events_out;
    uint64_t                  batches_in;
    uint64_t                  batches_out;

    struct vg_oq             *oq;       /* outputs, once started         */
    void                     *core_conf;/* outputs: retry policy etc.    */
};

struct vg_pipeline {
    struct vg_gen       *gen;
    char                *name;
    struct vg_instance **inputs;
    size_t               ninputs;
    struct vg_instance **filters;
    size_t               nfilters;
    struct vg_instance **outputs;
    size_t               noutputs;
    size_t               inputs_active; /* not yet done                */
};

/* The engine's table of functions for plugins (api.c). */
extern const struct vg_api vg_core_api;

/* Routing, used by api.c: `b` enters the stage after `from`. */
void vg_pipeline_emit(struct vg_instance *from, struct vg_batch *b);
void vg_pipeline_emit_tracked(struct vg_instance *from, struct vg_batch *b,
                              uint64_t cookie);
void vg_pipeline_input_done(struct vg_instance *in);
struct ev_loop *vg_instance_loop(const struct vg_instance *in);
const char *vg_instance_hostname(const struct vg_instance *in);
const char *vg_instance_state_dir(const struct vg_instance *in);

void vg_instance_count(struct vg_instance *in, const char *name, int64_t n);
/* The agent's self metrics as metric events (the self input). */
void vg_engine_self_metrics(struct vg_instance *in, struct vg_batch *b);

#endif
