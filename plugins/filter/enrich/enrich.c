/*
 * filter enrich: adds static labels (and the host name) to every metric,
 * alert and log event.  The label set is computed once at init; each batch
 * is copied into a derived batch with the merged labels, since batches
 * cannot grow in place.  Existing values win unless `overwrite` is set.
 */
#include <errno.h>
#include <stdlib.h>

#include <vigil/plugin.h>

struct enrich_conf {                    /* the core fills this in */
    struct vg_map   labels;
    int             host;
    char           *host_label;
    int             overwrite;
};

struct enrich_state {
    const struct enrich_conf *conf;
    struct vg_kv   *add;                /* labels to add, no duplicate key */
    uint32_t        nadd;
    size_t          add_bytes;          /* keys + values of add */
    char           *host;               /* copy of the host name */
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
    { 0 }
};

static int
kv_key_eq(const struct vg_kv *a, const struct vg_kv *b)
{
    return a->key_len == b->key_len && memcmp(a->key, b->key, a->key_len) == 0;
}

/*
 * Writes ev's labels merged with st->add into st->merged; returns how many
 * or -ENOMEM, and sets *changed when the set differs from the event's.
 */
static int
enrich_merge(struct enrich_state *st, const struct vg_event *ev,
             int *changed)
{
    uint32_t need = ev->nlabels + st->nadd;
    uint32_t n = ev->nlabels;
    uint32_t i, j;

    if (need > st->merged_cap) {
        struct vg_kv *p = realloc(st->merged, need * sizeof(*p));

        if (!p)
            return -ENOMEM;
        st->merged = p;
        st->merged_cap = need;
    }
    if (ev->nlabels)
        memcpy(st->merged, ev->labels, ev->nlabels * sizeof(*st->merged));
    *changed = 0;
    /* label sets are small: a linear scan beats building an index */
    for (i = 0; i < st->nadd; i++) {
        const struct vg_kv *a = &st->add[i];

        for (j = 0; j < ev->nlabels; j++)
            if (kv_key_eq(&st->merged[j], a))
                break;
        if (j == ev->nlabels) {
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
        int changed;
        int rc = enrich_merge(st, &ev, &changed);

        if (rc >= 0) {
            ev.labels = st->merged;
            ev.nlabels = (uint32_t)rc;
            /* the series hash / fingerprint covers the labels */
            if (changed && ev.kind != VG_EV_LOG)
                ev.hash = 0;
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
enrich_state_free(struct enrich_state *st)
{
    if (!st)
        return;
    free(st->add);
    free(st->host);
    free(st->merged);
    free(st);
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

static int
enrich_init(struct vg_instance *in, void *conf)
{
    const struct enrich_conf *c = conf;
    struct enrich_state *st = NULL;
    const char *host = NULL;
    size_t i;
    int rc = -EINVAL;

    if (c->host && !c->host_label[0]) {
        vg_log(in, VG_LOG_ERROR, "option 'host_label' must not be empty");
        goto fail;
    }
    if (c->host && (!(host = vg_hostname(in)) || !host[0])) {
        vg_log(in, VG_LOG_ERROR, "host name unknown: set 'host: false' "
               "or give the label in 'labels'");
        goto fail;
    }
    rc = -ENOMEM;
    if (!(st = calloc(1, sizeof(*st))) ||
        !(st->add = calloc(c->labels.n + 1, sizeof(*st->add))))
        goto fail;
    st->conf = c;
    /* an explicit label beats the host name under the same key */
    for (i = 0; i < c->labels.n; i++)
        add_label(st, c->labels.v[i].key, c->labels.v[i].value);
    if (c->host) {
        if (!(st->host = strdup(host)))
            goto fail;
        add_label(st, c->host_label, st->host);
    }
    vg_instance_set_data(in, st);
    return 0;
fail:
    enrich_state_free(st);
    return rc;
}

static void
enrich_destroy(struct vg_instance *in)
{
    enrich_state_free(vg_instance_data(in));
    vg_instance_set_data(in, NULL);
}

VG_PLUGIN_EXPORT = {
    .abi = VG_PLUGIN_ABI,
    .size = sizeof(struct vg_plugin),
    .kind = VG_KIND_FILTER,
    .name = "enrich",
    .summary = "add static labels and the host name to events",
    .options = enrich_options,
    .conf_size = sizeof(struct enrich_conf),
    .init = enrich_init,
    .process = enrich_process,
    .destroy = enrich_destroy,
};
