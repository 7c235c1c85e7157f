/*
 * The alert rule engine: rule checks, the per-series state machine
 * (inactive -> pending -> firing -> inactive), series tables, inhibition
 * and templates.  Conditions are evaluated in event time (the samples'
 * timestamps), so replayed history behaves as it did live; only `absent`
 * and the periodic repeat use the wall clock given to alert_engine_tick.
 */
#include <errno.h>
#include <fnmatch.h>
#include <inttypes.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "alert.h"

/* ---- rules ------------------------------------------------------------- */

static int
is_set(double d)
{
    return d != ALERT_UNSET;
}

int
alert_rule_init(struct alert_rule *r, const struct alert_rule_conf *c,
                char *err, size_t errlen)
{
    static const uint32_t sev[] = { VG_ALERT_CRITICAL, VG_ALERT_ERROR,
                                    VG_ALERT_WARNING, VG_ALERT_INFO };
    int nconds = is_set(c->above) + is_set(c->below) + is_set(c->rate_above) +
                 is_set(c->rate_below) + (c->absent != 0);
    int predict = is_set(c->p_above) || is_set(c->p_below) ||
                  c->p_within != 0;
    const char *name = c->name ? c->name : "";
    const char *why = NULL;
    char terr[128];

    memset(r, 0, sizeof(*r));
    r->conf = c;
    nconds += predict;
    r->resolve = ALERT_UNSET;
    if (!name[0])
        why = "'name' must not be empty";
    else if (nconds == 0)
        why = "needs a condition: above, below, rate_above, rate_below, "
              "absent or predict";
    else if (nconds > 1)
        why = "has more than one condition";
    else if (c->absent < 0)
        why = "'absent' must be positive";
    else if (c->for_ns < 0)
        why = "'for' must not be negative";
    else if (c->repeat <= 0)
        why = "'repeat_interval' must be positive";
    else if (c->max_series < 1)
        why = "'max_series' must be at least 1";
    else if (c->severity < SEVC_CRITICAL || c->severity > SEVC_INFO)
        why = "bad severity";
    if (why)
        goto fail;
    r->severity = sev[c->severity];
    if (is_set(c->above) || is_set(c->rate_above)) {
        r->cond = is_set(c->above) ? COND_ABOVE : COND_RATE_ABOVE;
        r->threshold = is_set(c->above) ? c->above : c->rate_above;
        r->upward = 1;
        r->resolve = is_set(c->resolve_below) ? c->resolve_below
                                              : r->threshold;
        if (is_set(c->resolve_above))
            why = "'resolve_above' goes with 'below' or 'rate_below'";
        else if (r->resolve > r->threshold)
            why = "'resolve_below' must not be above the threshold";
    } else if (is_set(c->below) || is_set(c->rate_below)) {
        r->cond = is_set(c->below) ? COND_BELOW : COND_RATE_BELOW;
        r->threshold = is_set(c->below) ? c->below : c->rate_below;
        r->resolve = is_set(c->resolve_above) ? c->resolve_above
                                              : r->threshold;
        if (is_set(c->resolve_below))
            why = "'resolve_below' goes with 'above' or 'rate_above'";
        else if (r->resolve < r->threshold)
            why = "'resolve_above' must not be below the threshold";
    } else if (c->absent) {
        r->cond = COND_ABSENT;
        r->threshold = (double)c->absent / 1e9;
    } else {
        r->cond = COND_PREDICT;
        r->upward = is_set(c->p_above);
        r->threshold = r->upward ? c->p_above : c->p_below;
        if (is_set(c->p_above) == is_set(c->p_below))
            why = "'predict' needs exactly one of 'above' and 'below'";
        else if (c->p_within <= 0)
            why = "'predict' needs a positive 'within'";
        else if (c->p_window < VG_SECOND)
            why = "'predict.window' must be at least 1s";
    }
    if (!why && r->cond != COND_ABOVE && r->cond != COND_BELOW &&
        r->cond != COND_RATE_ABOVE && r->cond != COND_RATE_BELOW &&
        (is_set(c->resolve_above) || is_set(c->resolve_below)))
        why = "'resolve_above'/'resolve_below' go with a threshold";
    if (!why && c->summary && alert_template_check(c->summary, terr,
                                                   sizeof(terr)) < 0)
        why = terr;
    if (!why && c->description &&
        alert_template_check(c->description, terr, sizeof(terr)) < 0)
        why = terr;
    if (why)
        goto fail;
    return 0;
fail:
    snprintf(err, errlen, "rule '%s': %s", name, why);
    return -EINVAL;
}

static void
series_clear(struct alert_series *s)
{
    free(s->labels);
    free(s->fc);
    memset(s, 0, sizeof(*s));
}

void
alert_rule_release(struct alert_rule *r)
{
    size_t i;

    for (i = 0; i < r->cap; i++)
        if (r->tab[i].hash)
            series_clear(&r->tab[i]);
    free(r->tab);
    r->tab = NULL;
    r->cap = r->used = 0;
}

/* ---- series ------------------------------------------------------------ */

static int
kv_cmp(const void *a, const void *b)
{
    const struct vg_kv *x = a, *y = b;
    uint32_t n = x->key_len < y->key_len ? x->key_len : y->key_len;
    int c = memcmp(x->key, y->key, n);

    if (c)
        return c;
    return (x->key_len > y->key_len) - (x->key_len < y->key_len);
}

static int
kv_has(const struct vg_kv *kv, uint32_t n, const char *key, size_t klen)
{
    uint32_t i;

    for (i = 0; i < n; i++)
        if (kv[i].key_len == klen && memcmp(kv[i].key, key, klen) == 0)
            return (int)i;
    return -1;
}

/*
 * The alert's labels: the series' own, then add_labels (which win), then
 * alertname; one allocation holds the array and every string.
 */
static int
series_set_labels(struct alert_series *s, const struct alert_rule *r,
                  const struct vg_kv *labels, uint32_t nlabels)
{
    const struct vg_map *add = &r->conf->add_labels;
    const char *rname = r->conf->name;
    size_t bytes = 0, i;
    uint32_t n = 0, max = nlabels + (uint32_t)add->n + 1;
    struct vg_kv *kv, one;
    char *p;
    int j;

    for (i = 0; i < nlabels; i++)
        bytes += labels[i].key_len + labels[i].len + 2;
    for (i = 0; i < add->n; i++)
        bytes += strlen(add->v[i].key) + strlen(add->v[i].value) + 2;
    bytes += sizeof("alertname") + strlen(rname) + 1;
    if (!(kv = malloc(max * sizeof(*kv) + bytes)))
        return -ENOMEM;
    p = (char *)(kv + max);
    for (i = 0; i < nlabels + add->n + 1; i++) {
        const char *k, *v;
        size_t kl, vl;

        if (i < nlabels) {
            if (labels[i].type != VG_VAL_STR)
                continue;
            k = labels[i].key;
            kl = labels[i].key_len;
            v = labels[i].v.s;
            vl = labels[i].len;
        } else if (i < nlabels + add->n) {
            k = add->v[i - nlabels].key;
            v = add->v[i - nlabels].value;
            kl = strlen(k);
            vl = strlen(v);
        } else {
            k = "alertname";
            v = rname;
            kl = strlen(k);
            vl = strlen(v);
        }
        memcpy(p, k, kl);
        p[kl] = '\0';
        one.key = p;
        one.key_len = (uint32_t)kl;
        p += kl + 1;
        memcpy(p, v, vl);
        p[vl] = '\0';
        one.type = VG_VAL_STR;
        one.v.s = p;
        one.len = (uint32_t)vl;
        p += vl + 1;
        if ((j = kv_has(kv, n, k, kl)) >= 0)
            kv[j] = one;                /* a later source wins */
        else
            kv[n++] = one;
    }
    qsort(kv, n, sizeof(*kv), kv_cmp);
    free(s->labels);
    s->labels = kv;
    s->nlabels = n;
    return 0;
}

static int
table_grow(struct alert_rule *r)
{
    size_t cap = r->cap ? r->cap * 2 : 16, i;
    struct alert_series *tab = calloc(cap, sizeof(*tab));

    if (!tab)
        return -ENOMEM;
    for (i = 0; i < r->cap; i++) {
        size_t j;

        if (!r->tab[i].hash)
            continue;
        for (j = r->tab[i].hash & (cap - 1); tab[j].hash;
             j = (j + 1) & (cap - 1))
            ;
        tab[j] = r->tab[i];
    }
    free(r->tab);
    r->tab = tab;
    r->cap = cap;
    return 0;
}

struct alert_series *
alert_series_get(struct alert_rule *r, uint64_t hash,
                 const struct vg_kv *labels, uint32_t nlabels, int *created)
{
    struct alert_series *s;
    size_t j;

    *created = 0;
    if (!hash)
        hash = 1;                       /* 0 marks a free slot */
    if (r->cap) {
        for (j = hash & (r->cap - 1); r->tab[j].hash;
             j = (j + 1) & (r->cap - 1))
            if (r->tab[j].hash == hash)
                return &r->tab[j];
    }
    if (r->used >= (uint64_t)r->conf->max_series)
        return NULL;
    /* at most 70% full, so probes stay short */
    if ((r->used + 1) * 10 > r->cap * 7 && table_grow(r) < 0)
        return NULL;
    for (j = hash & (r->cap - 1); r->tab[j].hash; j = (j + 1) & (r->cap - 1))
        ;
    s = &r->tab[j];
    memset(s, 0, sizeof(*s));
    if (series_set_labels(s, r, labels, nlabels) < 0)
        return NULL;
    if (r->cond == COND_PREDICT) {
        if (!(s->fc = malloc(sizeof(*s->fc)))) {
            series_clear(s);
            return NULL;
        }
        forecast_init(s->fc, r->conf->p_window);
    }
    s->hash = hash;
    r->used++;
    *created = 1;
    return s;
}

/* ---- evaluation -------------------------------------------------------- */

/* 1 when the condition holds, 0 when not, -1 when it cannot be told yet. */
static int
cond_eval(const struct alert_rule *r, struct alert_series *s, int64_t t,
          double v)
{
    int firing = s->phase == PHASE_FIRING;
    double x = v;

    switch (r->cond) {
    case COND_RATE_ABOVE:
    case COND_RATE_BELOW: {
        int have = s->have_prev;
        int64_t dt = t - s->prev_time;
        double delta = v - s->prev_value;

        if (have && dt <= 0)
            return -1;                  /* same or older timestamp */
        s->have_prev = 1;
        s->prev_time = t;
        s->prev_value = v;
        if (!have)
            return -1;
        /* a counter reset: the new value is what was counted since */
        if (delta < 0)
            delta = v;
        x = delta / ((double)dt / 1e9);
        break;
    }
    case COND_ABSENT:
        s->value = v;
        return 0;
    case COND_PREDICT:
        s->value = v;
        if (!forecast_add(s->fc, t, v))
            return s->phase == PHASE_INACTIVE ? 0 : 1;
        s->eta = forecast_eta(s->fc, r->conf->p_method, r->threshold,
                              r->upward, t);
        return s->eta && s->eta - t <= r->conf->p_within;
    default:
        break;
    }
    s->value = x;
    if (isnan(x))
        return -1;
    if (r->upward)
        return firing ? x > r->resolve : x > r->threshold;
    return firing ? x < r->resolve : x < r->threshold;
}

int
alert_eval(const struct alert_rule *r, struct alert_series *s, int64_t t,
           double v)
{
    int on = cond_eval(r, s, t, v);

    if (on < 0)
        return ACT_NONE;
    if (!on) {
        int was = s->phase;

        s->phase = PHASE_INACTIVE;
        return was == PHASE_FIRING && s->notified ? ACT_RESOLVE : ACT_NONE;
    }
    switch (s->phase) {
    case PHASE_INACTIVE:
        s->pending_since = t;
        s->phase = PHASE_PENDING;
        /* fall through */
    case PHASE_PENDING:
        if (t - s->pending_since < r->conf->for_ns)
            return ACT_NONE;
        s->phase = PHASE_FIRING;
        s->starts_at = s->pending_since;
        s->notified = 0;
        return ACT_FIRE;
    default:
        if (!s->notified)
            return ACT_FIRE;
        if (t - s->last_sent >= r->conf->repeat)
            return ACT_REPEAT;
        return ACT_NONE;
    }
}

/* ---- the engine -------------------------------------------------------- */

void
alert_engine_init(struct alert_engine *e, struct alert_rule *rules,
                  size_t nrules, int inhibit,
                  const struct vg_strv *inhibit_labels, alert_note_fn note,
                  void *arg)
{
    memset(e, 0, sizeof(*e));
    e->rules = rules;
    e->nrules = nrules;
    e->inhibit = inhibit;
    e->inhibit_labels = inhibit_labels;
    e->note = note;
    e->arg = arg;
}

void
alert_engine_release(struct alert_engine *e)
{
    size_t i;

    for (i = 0; i < e->nrules; i++)
        alert_rule_release(&e->rules[i]);
}

static const char *
label_get(const struct vg_kv *kv, uint32_t n, const char *key)
{
    int i = kv_has(kv, n, key, strlen(key));

    return i < 0 || kv[i].type != VG_VAL_STR ? "" : kv[i].v.s;
}

static int
labels_match(const struct vg_map *m, const struct vg_kv *kv, uint32_t n)
{
    char val[256];
    size_t i;

    for (i = 0; i < m->n; i++) {
        int j = kv_has(kv, n, m->v[i].key, strlen(m->v[i].key));
        size_t len = 0;

        val[0] = '\0';
        if (j >= 0 && kv[j].type == VG_VAL_STR) {
            len = kv[j].len < sizeof(val) - 1 ? kv[j].len : sizeof(val) - 1;
            memcpy(val, kv[j].v.s, len);
            val[len] = '\0';
        }
        if (fnmatch(m->v[i].value, val, 0) != 0)
            return 0;
    }
    return 1;
}

/*
 * A warning or info alert is held back while a critical alert of this
 * filter fires with the same values of the inhibit labels.
 */
static int
inhibited(const struct alert_engine *e, const struct alert_rule *r,
          const struct alert_series *s)
{
    size_t i, j, k;

    if (!e->inhibit || (r->severity != VG_ALERT_WARNING &&
                        r->severity != VG_ALERT_INFO))
        return 0;
    for (i = 0; i < e->nrules; i++) {
        const struct alert_rule *cr = &e->rules[i];

        if (cr->severity != VG_ALERT_CRITICAL)
            continue;
        for (j = 0; j < cr->cap; j++) {
            const struct alert_series *c = &cr->tab[j];
            int same = 1;

            if (!c->hash || c->phase != PHASE_FIRING)
                continue;
            for (k = 0; k < e->inhibit_labels->n && same; k++) {
                const char *key = e->inhibit_labels->v[k];

                same = strcmp(label_get(c->labels, c->nlabels, key),
                              label_get(s->labels, s->nlabels, key)) == 0;
            }
            if (same)
                return 1;
        }
    }
    return 0;
}

static void
act(struct alert_engine *e, struct alert_rule *r, struct alert_series *s,
    int action, int64_t t, int64_t wall)
{
    struct alert_note n = { .rule = r, .s = s, .time = t };

    if (action == ACT_NONE)
        return;
    if (action == ACT_RESOLVE) {
        n.state = VG_ALERT_RESOLVED;
        s->notified = 0;
        e->dirty = 1;
        e->note(e->arg, &n);
        return;
    }
    if (inhibited(e, r, s))
        return;
    n.state = VG_ALERT_FIRING;
    s->notified = 1;
    s->last_sent = t;
    s->last_sent_wall = wall;
    e->dirty = 1;
    e->note(e->arg, &n);
}

void
alert_engine_sample(struct alert_engine *e, const char *name,
                    const struct vg_kv *labels, uint32_t nlabels,
                    uint64_t hash, int64_t t, double v, int64_t wall)
{
    size_t i;

    for (i = 0; i < e->nrules; i++) {
        struct alert_rule *r = &e->rules[i];
        const struct alert_rule_conf *c = r->conf;
        struct alert_series *s;
        int created, was;

        if (c->metric && fnmatch(c->metric, name, 0) != 0)
            continue;
        if (!labels_match(&c->labels, labels, nlabels))
            continue;
        if (!(s = alert_series_get(r, hash, labels, nlabels, &created))) {
            e->dropped++;
            continue;
        }
        s->last_wall = wall;
        was = s->phase;
        act(e, r, s, alert_eval(r, s, t, v), t, wall);
        if (was != s->phase && (was == PHASE_FIRING ||
                                s->phase == PHASE_FIRING))
            e->dirty = 1;
    }
}

void
alert_engine_tick(struct alert_engine *e, int64_t wall)
{
    size_t i, j;

    for (i = 0; i < e->nrules; i++) {
        struct alert_rule *r = &e->rules[i];

        for (j = 0; j < r->cap; j++) {
            struct alert_series *s = &r->tab[j];

            if (!s->hash)
                continue;
            if (r->cond == COND_ABSENT && s->phase != PHASE_FIRING &&
                wall - s->last_wall >= r->conf->absent) {
                s->phase = PHASE_FIRING;
                s->starts_at = wall;
                s->notified = 0;
                act(e, r, s, ACT_FIRE, wall, wall);
            } else if (s->phase == PHASE_FIRING && !s->notified) {
                act(e, r, s, ACT_FIRE, wall, wall);
            } else if (s->phase == PHASE_FIRING &&
                       wall - s->last_sent_wall >= r->conf->repeat) {
                act(e, r, s, ACT_REPEAT, wall, wall);
            }
        }
    }
}

/* ---- templates --------------------------------------------------------- */

void
alert_fmt_duration(char *dst, size_t cap, int64_t ns)
{
    static const struct { const char *unit; int64_t s; } u[] = {
        { "d", 86400 }, { "h", 3600 }, { "m", 60 }, { "s", 1 },
    };
    int64_t s = ns / 1000000000;
    size_t i, len = 0;
    int parts = 0;

    dst[0] = '\0';
    if (s < 0)
        s = 0;
    for (i = 0; i < 4 && parts < 2; i++) {
        int64_t q = s / u[i].s;

        if (q == 0 && !(parts == 0 && i == 3))
            continue;
        if (len < cap)
            len += (size_t)snprintf(dst + len, cap - len, "%s%" PRId64 "%s",
                                    parts ? " " : "", q, u[i].unit);
        s -= q * u[i].s;
        parts++;
        if (s == 0)
            break;
    }
}

static void
fmt_time(char *dst, size_t cap, int64_t ns)
{
    time_t secs = (time_t)(ns / 1000000000);
    struct tm tm;

    if (!gmtime_r(&secs, &tm) ||
        strftime(dst, cap, "%Y-%m-%dT%H:%M:%SZ", &tm) == 0)
        snprintf(dst, cap, "?");
}

/* The placeholder between "{{" and "}}", blanks trimmed. */
static const char *
placeholder(const char *open, size_t *len, const char **after)
{
    const char *p = open + 2, *end = strstr(p, "}}");

    if (!end)
        return NULL;
    *after = end + 2;
    while (p < end && (*p == ' ' || *p == '\t'))
        p++;
    while (end > p && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *len = (size_t)(end - p);
    return p;
}

static int
is_word(const char *p, size_t len, const char *w)
{
    return strlen(w) == len && memcmp(p, w, len) == 0;
}

int
alert_template_check(const char *tmpl, char *err, size_t errlen)
{
    const char *p = tmpl, *open, *name, *after;
    size_t len;

    while ((open = strstr(p, "{{"))) {
        if (!(name = placeholder(open, &len, &after))) {
            snprintf(err, errlen, "unclosed '{{' in template");
            return -EINVAL;
        }
        if (!is_word(name, len, "value") && !is_word(name, len, "threshold")
            && !is_word(name, len, "rule") && !is_word(name, len, "eta") &&
            !is_word(name, len, "eta_in") &&
            !(len > 7 && memcmp(name, "labels.", 7) == 0)) {
            snprintf(err, errlen, "unknown template field '%.*s' (value, "
                     "threshold, rule, eta, eta_in, labels.NAME)", (int)len,
                     name);
            return -EINVAL;
        }
        p = after;
    }
    return 0;
}

static void
put(char *dst, size_t cap, size_t *len, const char *s, size_t n)
{
    if (*len + 1 >= cap)
        return;
    if (n > cap - 1 - *len)
        n = cap - 1 - *len;
    memcpy(dst + *len, s, n);
    *len += n;
    dst[*len] = '\0';
}

void
alert_render(char *dst, size_t cap, const char *tmpl,
             const struct alert_rule *r, const struct alert_series *s,
             int64_t now)
{
    const char *p = tmpl, *open, *name, *after;
    size_t len = 0, n;
    char buf[64];

    if (cap == 0)
        return;
    dst[0] = '\0';
    while ((open = strstr(p, "{{")) &&
           (name = placeholder(open, &n, &after))) {
        const char *val = buf;

        put(dst, cap, &len, p, (size_t)(open - p));
        buf[0] = '\0';
        if (is_word(name, n, "value")) {
            snprintf(buf, sizeof(buf), "%g", s->value);
        } else if (is_word(name, n, "threshold")) {
            snprintf(buf, sizeof(buf), "%g", r->threshold);
        } else if (is_word(name, n, "rule")) {
            val = r->conf->name;
        } else if (is_word(name, n, "eta")) {
            if (s->eta)
                fmt_time(buf, sizeof(buf), s->eta);
        } else if (is_word(name, n, "eta_in")) {
            if (s->eta)
                alert_fmt_duration(buf, sizeof(buf), s->eta - now);
        } else if (n > 7 && memcmp(name, "labels.", 7) == 0) {
            uint32_t i;

            for (i = 0; i < s->nlabels; i++)
                if (s->labels[i].key_len == n - 7 &&
                    memcmp(s->labels[i].key, name + 7, n - 7) == 0)
                    val = s->labels[i].v.s;
        }
        put(dst, cap, &len, val, strlen(val));
        p = after;
    }
    put(dst, cap, &len, p, strlen(p));
}
