/*
 * hello: a complete out-of-tree vigil filter, built against the installed
 * <vigil/plugin.h> only.  It adds one label (by default greeting="hello")
 * to every metric and passes logs and alerts on untouched.  Batches cannot
 * grow in place, so each batch is copied into a derived one.
 */
#include <errno.h>
#include <stdlib.h>

#include <vigil/plugin.h>

struct hello_conf {                     /* vigil fills this in from YAML */
    char *label;
    char *greeting;
};

struct hello_state {                    /* per instance: never static */
    const struct hello_conf *conf;
    struct vg_kv *labels;               /* scratch: one metric's labels */
    uint32_t      cap;
};

static const struct vg_option hello_options[] = {
    { .name = "label", .type = VG_OPT_STR, .def = "greeting",
      .offset = offsetof(struct hello_conf, label),
      .help = "name of the label to add" },
    { .name = "greeting", .type = VG_OPT_STR, .def = "hello",
      .offset = offsetof(struct hello_conf, greeting),
      .help = "value of the label" },
    { 0 }
};

/* Adds the event to nb, with the greeting label on metrics. */
static int
hello_copy(struct vg_instance *in, struct hello_state *st,
           struct vg_batch *nb, struct vg_event *ev)
{
    uint32_t n = ev->nlabels;
    uint32_t i;

    if (ev->kind != VG_EV_METRIC)
        return vg_batch_add(in, nb, ev);
    if (n + 1 > st->cap) {
        struct vg_kv *p = realloc(st->labels, (n + 1) * sizeof(*p));

        if (!p)
            return -ENOMEM;
        st->labels = p;
        st->cap = n + 1;
    }
    memcpy(st->labels, ev->labels, n * sizeof(*st->labels));
    /* a label the metric already has is replaced, not duplicated */
    for (i = 0; i < n; i++)
        if (strcmp(st->labels[i].key, st->conf->label) == 0)
            break;
    st->labels[i] = vg_kv_str(st->conf->label, st->conf->greeting);
    ev->labels = st->labels;
    ev->nlabels = i == n ? n + 1 : n;
    ev->hash = 0;                       /* the labels changed: rehash */
    return vg_batch_add(in, nb, ev);
}

static void
hello_process(struct vg_instance *in, struct vg_batch *b)
{
    struct hello_state *st = vg_instance_data(in);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    struct vg_batch *nb;
    size_t extra = strlen(st->conf->label) + strlen(st->conf->greeting) + 32;

    nb = vg_batch_derive(in, b, vg_batch_bytes(in, b) +
                         vg_batch_count(in, b) * extra);
    if (!nb) {
        vg_emit(in, b);                 /* unchanged beats lost */
        return;
    }
    while (vg_batch_next(in, b, &it, &ev) > 0)
        if (hello_copy(in, st, nb, &ev) < 0)
            vg_count(in, "dropped", 1);
    vg_iter_release(in, &it);
    vg_batch_unref(in, b);              /* process takes the batch */
    vg_emit(in, nb);                    /* emit takes the new one  */
}

static int
hello_init(struct vg_instance *in, void *conf)
{
    struct hello_state *st;
    const struct hello_conf *c = conf;

    if (!c->label[0]) {
        vg_log(in, VG_LOG_ERROR, "option 'label' must not be empty");
        return -EINVAL;
    }
    if (!(st = calloc(1, sizeof(*st))))
        return -ENOMEM;
    st->conf = c;
    vg_instance_set_data(in, st);
    vg_log(in, VG_LOG_DEBUG, "adding %s=\"%s\" to metrics", c->label,
           c->greeting);
    return 0;
}

static void
hello_destroy(struct vg_instance *in)
{
    struct hello_state *st = vg_instance_data(in);

    if (st)
        free(st->labels);
    free(st);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "hello",
    .summary = "example: add a greeting label to every metric",
    .version = "1.0",
    .options = hello_options,
    .conf_size = sizeof(struct hello_conf),
    .init = hello_init,
    .process = hello_process,
    .destroy = hello_destroy,
};
