/*
 * The alert events and state file of an alert engine, for the alert and
 * anomaly filters.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sink.h"

static char *
state_path(struct vg_instance *in, const char *kind)
{
    const char *dir = vg_state_dir(in);
    const char *pipe = vg_pipeline_name(in), *name = vg_instance_name(in);
    size_t n, i, start, nlen = strlen(name);
    char *p;

    if (!dir || !dir[0])
        return NULL;
    /* "filter[NAME]" -> NAME: the alias, or "KIND#N" */
    if (nlen > 8 && strncmp(name, "filter[", 7) == 0 &&
        name[nlen - 1] == ']') {
        name += 7;
        nlen -= 8;
    }
    n = strlen(dir) + strlen(kind) + strlen(pipe) + nlen + 32;
    if (!(p = malloc(n)))
        return NULL;
    start = (size_t)snprintf(p, n, "%s/%s-", dir, kind);
    snprintf(p + start, n - start, "%s-%.*s.state", pipe, (int)nlen, name);
    for (i = start; p[i] && strcmp(p + i, ".state") != 0; i++) {
        char c = p[i];

        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
              (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '.'))
            p[i] = '_';
    }
    return p;
}

/* Between batches: absence, resolution by time, repeats. */
static void
on_check(struct vg_instance *in, void *arg)
{
    struct alert_sink *k = arg;

    k->parent = NULL;
    alert_engine_tick(k->eng, vg_now(in));
    alert_sink_flush(k);
    alert_sink_sync(k);
}

int
alert_sink_open(struct alert_sink *k, struct vg_instance *in,
                struct alert_engine *eng, const char *kind, int persist,
                int64_t every)
{
    char err[256];
    int rc;

    k->in = in;
    k->eng = eng;
    k->every = every;
    if (!(k->check = vg_timer_new(in, on_check, k)))
        return -ENOMEM;
    if (!persist || !(k->path = state_path(in, kind)))
        return 0;
    rc = alert_state_load(eng, k->path, vg_now(in), err, sizeof(err));
    if (rc == -EINVAL)
        vg_log(in, VG_LOG_WARN, "state file '%s' ignored: %s", k->path,
               err);
    else if (rc < 0 && rc != -ENOENT)
        vg_log(in, VG_LOG_WARN, "cannot read state file '%s': %s", k->path,
               strerror(-rc));
    eng->dirty = 0;
    return 0;
}

void
alert_sink_start(struct alert_sink *k)
{
    vg_timer_start(k->in, k->check, k->every, k->every);
}

void
alert_sink_stop(struct alert_sink *k)
{
    vg_timer_stop(k->in, k->check);
    alert_sink_sync(k);
}

int
alert_sink_add(struct alert_sink *k, const struct vg_event *ev)
{
    if (!k->out) {
        k->out = k->parent ? vg_batch_derive(k->in, k->parent, 4096)
                           : vg_batch_new(k->in, 4096);
        if (!k->out)
            return -ENOMEM;
    }
    return vg_batch_add(k->in, k->out, ev);
}

void
alert_sink_note(struct alert_sink *k, const struct alert_note *n)
{
    const struct alert_rule_conf *c = n->rule->conf;
    struct vg_event ev;
    int rc;

    alert_render(k->summary, sizeof(k->summary), c->summary, n->rule, n->s,
                 n->time);
    if (c->description)
        alert_render(k->description, sizeof(k->description),
                     c->description, n->rule, n->s, n->time);
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_ALERT;
    ev.time = n->time;
    ev.labels = n->s->labels;
    ev.nlabels = n->s->nlabels;
    ev.value = n->s->value;
    ev.rule = c->name;
    ev.alert_state = n->state;
    ev.alert_severity = n->rule->severity;
    ev.summary = k->summary;
    ev.description = c->description ? k->description : NULL;
    ev.starts_at = n->s->starts_at;
    ev.ends_at = n->state == VG_ALERT_RESOLVED ? n->time : 0;
    if ((rc = alert_sink_add(k, &ev)) < 0) {
        vg_log(k->in, VG_LOG_ERROR, "cannot add alert '%s': %s", c->name,
               strerror(-rc));
        vg_count(k->in, "alerts_lost", 1);
        return;
    }
    vg_count(k->in, n->state == VG_ALERT_FIRING ? "alerts_firing"
                                                : "alerts_resolved", 1);
}

void
alert_sink_flush(struct alert_sink *k)
{
    struct vg_batch *out = k->out;

    k->out = NULL;
    k->parent = NULL;
    if (!out)
        return;
    vg_emit(k->in, out);
}

void
alert_sink_sync(struct alert_sink *k)
{
    int rc;

    if (!k->path || !k->eng->dirty)
        return;
    k->eng->dirty = 0;
    if ((rc = alert_state_save(k->eng, k->path)) < 0) {
        if (!k->save_failed)
            vg_log(k->in, VG_LOG_WARN, "cannot write state file '%s': %s",
                   k->path, strerror(-rc));
        k->save_failed = 1;
        k->eng->dirty = 1;              /* try again on the next change */
    } else if (k->save_failed) {
        vg_log(k->in, VG_LOG_INFO, "state file '%s' written again", k->path);
        k->save_failed = 0;
    }
}

void
alert_sink_release(struct alert_sink *k)
{
    if (k->check)
        vg_timer_free(k->in, k->check);
    k->check = NULL;
    free(k->path);
    k->path = NULL;
}
