/*
 * The alert filter's rule engine, fed with (time, value) samples: rule
 * checks, every condition, `for`, hysteresis, repeats, inhibition, the
 * forecasters (known slope, daily cycle with trend, flat noise), templates
 * and the state file.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "alert.h"

#define S   INT64_C(1000000000)
#define MIN (60 * S)
#define H   (3600 * S)
#define DAY (86400 * S)
#define T0  (INT64_C(1700000000) * S)

/* ---- helpers ---------------------------------------------------------- */

struct rec {
    char     rule[64];
    uint32_t state;
    int64_t  time;
    double   value;
    int64_t  starts_at;
    int64_t  eta;
    char     host[32];
};

struct fixture {
    struct alert_rule_conf conf[4];
    struct alert_rule      rules[4];
    size_t                 nrules;
    struct alert_engine    eng;
    struct vg_strv         inhibit_labels;
    char                  *inhibit_v[1];
    struct rec             got[64];
    size_t                 ngot;
};

static void
on_note(void *arg, const struct alert_note *n)
{
    struct fixture *f = arg;
    struct rec *r = &f->got[f->ngot++];
    uint32_t i;

    assert_true(f->ngot < 64);
    snprintf(r->rule, sizeof(r->rule), "%s", n->rule->conf->name);
    r->state = n->state;
    r->time = n->time;
    r->value = n->s->value;
    r->starts_at = n->s->starts_at;
    r->eta = n->s->eta;
    r->host[0] = '\0';
    for (i = 0; i < n->s->nlabels; i++)
        if (strcmp(n->s->labels[i].key, "host") == 0)
            snprintf(r->host, sizeof(r->host), "%s", n->s->labels[i].v.s);
}

/* A rule conf with the schema's defaults and no condition. */
static void
conf_default(struct alert_rule_conf *c, const char *name)
{
    memset(c, 0, sizeof(*c));
    c->name = (char *)name;
    c->above = c->below = ALERT_UNSET;
    c->resolve_above = c->resolve_below = ALERT_UNSET;
    c->rate_above = c->rate_below = ALERT_UNSET;
    c->p_above = c->p_below = ALERT_UNSET;
    c->p_window = 24 * H;
    c->repeat = 4 * H;
    c->severity = SEVC_WARNING;
    c->summary = (char *)"{{ rule }}";
    c->max_series = 10000;
}

static struct alert_rule_conf *
add_rule(struct fixture *f, const char *name)
{
    conf_default(&f->conf[f->nrules], name);
    return &f->conf[f->nrules++];
}

/* Checks the rules and starts the engine over them. */
static void
start(struct fixture *f)
{
    char err[256];
    size_t i;

    for (i = 0; i < f->nrules; i++) {
        int rc = alert_rule_init(&f->rules[i], &f->conf[i], err,
                                 sizeof(err));

        if (rc != 0)
            fail_msg("%s", err);
    }
    f->inhibit_v[0] = (char *)"host";
    f->inhibit_labels.n = 1;
    f->inhibit_labels.v = f->inhibit_v;
    alert_engine_init(&f->eng, f->rules, f->nrules, 1, &f->inhibit_labels,
                      on_note, f);
}

static int
setup(void **state)
{
    struct fixture *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    *state = f;
    return 0;
}

static int
teardown(void **state)
{
    struct fixture *f = *state;

    alert_engine_release(&f->eng);
    free(f);
    return 0;
}

/* One sample of metric "m" with label host=HOST (series hash from it). */
static void
feed(struct fixture *f, const char *host, int64_t t, double v)
{
    struct vg_kv kv = vg_kv_str("host", host);
    uint64_t hash = 1469598103934665603ULL;
    const char *p;

    for (p = host; *p; p++)
        hash = (hash ^ (unsigned char)*p) * 1099511628211ULL;
    alert_engine_sample(&f->eng, "m", &kv, 1, hash, t, v, t);
}

/* A rule check must fail with this text in its message. */
static void
expect_bad(struct alert_rule_conf *c, const char *text)
{
    struct alert_rule r;
    char err[256];

    assert_int_equal(alert_rule_init(&r, c, err, sizeof(err)), -EINVAL);
    if (!strstr(err, text))
        fail_msg("error '%s' lacks '%s'", err, text);
}

/* ---- rule checks ------------------------------------------------------- */

static void
rule_without_condition_is_refused(void **state)
{
    struct alert_rule_conf c;

    (void)state;
    conf_default(&c, "r");
    expect_bad(&c, "rule 'r': needs a condition");
}

static void
rule_with_two_conditions_is_refused(void **state)
{
    struct alert_rule_conf c;

    (void)state;
    conf_default(&c, "r");
    c.above = 1;
    c.absent = 5 * MIN;
    expect_bad(&c, "more than one condition");
}

static void
rule_with_wrong_hysteresis_is_refused(void **state)
{
    struct alert_rule_conf c;

    (void)state;
    conf_default(&c, "r");
    c.above = 90;
    c.resolve_above = 95;
    expect_bad(&c, "'resolve_above' goes with");
    conf_default(&c, "r");
    c.above = 90;
    c.resolve_below = 95;
    expect_bad(&c, "must not be above the threshold");
    conf_default(&c, "r");
    c.absent = MIN;
    c.resolve_below = 1;
    expect_bad(&c, "go with a threshold");
}

static void
rule_predict_needs_within_and_one_threshold(void **state)
{
    struct alert_rule_conf c;

    (void)state;
    conf_default(&c, "r");
    c.p_above = 95;
    expect_bad(&c, "positive 'within'");
    c.p_within = DAY;
    c.p_below = 5;
    expect_bad(&c, "exactly one of 'above' and 'below'");
}

static void
rule_with_unknown_template_field_is_refused(void **state)
{
    struct alert_rule_conf c;

    (void)state;
    conf_default(&c, "r");
    c.above = 1;
    c.summary = (char *)"{{ valeu }} high";
    expect_bad(&c, "unknown template field 'valeu'");
    c.summary = (char *)"{{ value";
    expect_bad(&c, "unclosed");
}

/* ---- conditions -------------------------------------------------------- */

static void
above_fires_once_and_resolves(void **state)
{
    struct fixture *f = *state;

    add_rule(f, "high")->above = 90;
    start(f);
    feed(f, "a", T0, 50);
    feed(f, "a", T0 + MIN, 91);
    feed(f, "a", T0 + 2 * MIN, 95);
    feed(f, "a", T0 + 3 * MIN, 90);
    assert_int_equal(f->ngot, 2);
    assert_string_equal(f->got[0].rule, "high");
    assert_int_equal(f->got[0].state, VG_ALERT_FIRING);
    assert_int_equal(f->got[0].time, T0 + MIN);
    assert_true(f->got[0].value == 91);
    assert_int_equal(f->got[1].state, VG_ALERT_RESOLVED);
    assert_int_equal(f->got[1].time, T0 + 3 * MIN);
    assert_int_equal(f->got[1].starts_at, T0 + MIN);
}

static void
below_fires_under_threshold(void **state)
{
    struct fixture *f = *state;

    add_rule(f, "low")->below = 10;
    start(f);
    feed(f, "a", T0, 10);
    assert_int_equal(f->ngot, 0);
    feed(f, "a", T0 + MIN, 9.5);
    assert_int_equal(f->ngot, 1);
    feed(f, "a", T0 + 2 * MIN, 11);
    assert_int_equal(f->ngot, 2);
    assert_int_equal(f->got[1].state, VG_ALERT_RESOLVED);
}

static void
for_delays_firing_and_a_dip_restarts_it(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *c = add_rule(f, "slow");

    c->above = 90;
    c->for_ns = 5 * MIN;
    start(f);
    feed(f, "a", T0, 95);
    feed(f, "a", T0 + 4 * MIN, 95);
    feed(f, "a", T0 + 4 * MIN + 30 * S, 80);   /* pending ends */
    feed(f, "a", T0 + 6 * MIN, 95);            /* pending again */
    feed(f, "a", T0 + 10 * MIN, 95);
    assert_int_equal(f->ngot, 0);
    feed(f, "a", T0 + 11 * MIN, 95);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].time, T0 + 11 * MIN);
    /* the alert started when the condition began to hold */
    assert_int_equal(f->got[0].starts_at, T0 + 6 * MIN);
}

static void
hysteresis_holds_until_resolve_below(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *c = add_rule(f, "cpu");

    c->above = 90;
    c->resolve_below = 80;
    start(f);
    feed(f, "a", T0, 95);
    feed(f, "a", T0 + MIN, 85);    /* below 90, above 80: still firing */
    feed(f, "a", T0 + 2 * MIN, 92);
    assert_int_equal(f->ngot, 1);
    feed(f, "a", T0 + 3 * MIN, 80);
    assert_int_equal(f->ngot, 2);
    assert_int_equal(f->got[1].state, VG_ALERT_RESOLVED);
    feed(f, "a", T0 + 4 * MIN, 85);    /* not above 90: no new firing */
    assert_int_equal(f->ngot, 2);
}

static void
hysteresis_below_holds_until_resolve_above(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *c = add_rule(f, "free");

    c->below = 10;
    c->resolve_above = 20;
    start(f);
    feed(f, "a", T0, 5);
    feed(f, "a", T0 + MIN, 15);
    assert_int_equal(f->ngot, 1);
    feed(f, "a", T0 + 2 * MIN, 20);
    assert_int_equal(f->ngot, 2);
    assert_int_equal(f->got[1].state, VG_ALERT_RESOLVED);
}

static void
rate_uses_consecutive_samples_and_survives_reset(void **state)
{
    struct fixture *f = *state;

    add_rule(f, "errors")->rate_above = 10;     /* per second */
    start(f);
    feed(f, "a", T0, 1000);                     /* no rate yet */
    feed(f, "a", T0 + 10 * S, 1050);            /* 5/s */
    assert_int_equal(f->ngot, 0);
    feed(f, "a", T0 + 20 * S, 1250);            /* 20/s */
    assert_int_equal(f->ngot, 1);
    assert_true(f->got[0].value == 20);
    /* reset: 1250 -> 30; counted as 30 since the reset, 3/s: resolves */
    feed(f, "a", T0 + 30 * S, 30);
    assert_int_equal(f->ngot, 2);
    assert_int_equal(f->got[1].state, VG_ALERT_RESOLVED);
    assert_true(f->got[1].value == 3);
    /* a reset with a big new value still reads as a rate, never negative */
    feed(f, "a", T0 + 40 * S, 500);             /* 47/s */
    assert_int_equal(f->ngot, 3);
    assert_true(f->got[2].value == 47);
}

static void
rate_below_and_same_timestamp_is_skipped(void **state)
{
    struct fixture *f = *state;

    add_rule(f, "stalled")->rate_below = 1;
    start(f);
    feed(f, "a", T0, 0);
    feed(f, "a", T0, 0);               /* same time: no rate, no alert */
    assert_int_equal(f->ngot, 0);
    feed(f, "a", T0 + 10 * S, 5);      /* 0.5/s */
    assert_int_equal(f->ngot, 1);
}

static void
absent_fires_on_silence_and_resolves_on_report(void **state)
{
    struct fixture *f = *state;

    add_rule(f, "gone")->absent = 5 * MIN;
    start(f);
    feed(f, "a", T0, 1);
    alert_engine_tick(&f->eng, T0 + 4 * MIN);
    assert_int_equal(f->ngot, 0);
    alert_engine_tick(&f->eng, T0 + 5 * MIN);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].state, VG_ALERT_FIRING);
    assert_int_equal(f->got[0].time, T0 + 5 * MIN);
    alert_engine_tick(&f->eng, T0 + 6 * MIN);  /* no second firing */
    assert_int_equal(f->ngot, 1);
    feed(f, "a", T0 + 7 * MIN, 1);
    assert_int_equal(f->ngot, 2);
    assert_int_equal(f->got[1].state, VG_ALERT_RESOLVED);
}

static void
repeat_resends_while_firing(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *c = add_rule(f, "high");

    c->above = 1;
    c->repeat = H;
    start(f);
    feed(f, "a", T0, 2);
    feed(f, "a", T0 + 59 * MIN, 2);
    assert_int_equal(f->ngot, 1);
    feed(f, "a", T0 + 60 * MIN, 2);            /* by event time */
    assert_int_equal(f->ngot, 2);
    assert_int_equal(f->got[1].state, VG_ALERT_FIRING);
    assert_int_equal(f->got[1].starts_at, T0);
    /* by the timer when no sample comes (wall clock = event time here) */
    alert_engine_tick(&f->eng, T0 + 119 * MIN);
    assert_int_equal(f->ngot, 2);
    alert_engine_tick(&f->eng, T0 + 120 * MIN);
    assert_int_equal(f->ngot, 3);
}

static void
critical_inhibits_warning_on_same_host(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *crit = add_rule(f, "disk_full");
    struct alert_rule_conf *warn = add_rule(f, "disk_high");

    crit->above = 95;
    crit->severity = SEVC_CRITICAL;
    warn->above = 80;
    start(f);
    feed(f, "a", T0, 97);          /* critical and warning on a */
    feed(f, "b", T0, 85);          /* warning only on b */
    assert_int_equal(f->ngot, 2);
    assert_string_equal(f->got[0].rule, "disk_full");
    assert_string_equal(f->got[0].host, "a");
    assert_string_equal(f->got[1].rule, "disk_high");
    assert_string_equal(f->got[1].host, "b");
    /* the critical resolves: the held-back warning goes out */
    feed(f, "a", T0 + MIN, 90);
    assert_int_equal(f->ngot, 4);
    assert_string_equal(f->got[2].rule, "disk_full");
    assert_int_equal(f->got[2].state, VG_ALERT_RESOLVED);
    assert_string_equal(f->got[3].rule, "disk_high");
    assert_int_equal(f->got[3].state, VG_ALERT_FIRING);
    assert_string_equal(f->got[3].host, "a");
}

static void
max_series_drops_new_series(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *c = add_rule(f, "high");

    c->above = 1;
    c->max_series = 2;
    start(f);
    feed(f, "a", T0, 2);
    feed(f, "b", T0, 2);
    feed(f, "c", T0, 2);
    feed(f, "a", T0 + S, 2);
    assert_int_equal(f->ngot, 2);
    assert_int_equal(f->eng.dropped, 1);
}

static void
metric_glob_and_label_matchers_select_series(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *c = add_rule(f, "var_full");
    struct vg_pair match[2] = { { (char *)"mount", (char *)"/va*" },
                                { (char *)"ro", (char *)"" } };
    struct vg_pair add[2] = { { (char *)"team", (char *)"ops" },
                              { (char *)"mount", (char *)"VAR" } };
    struct vg_kv kv[3];
    const struct alert_series *s;

    c->metric = (char *)"disk.*";
    c->labels.n = 2;
    c->labels.v = match;
    c->add_labels.n = 2;
    c->add_labels.v = add;
    c->above = 90;
    start(f);
    kv[0] = vg_kv_str("mount", "/var");
    alert_engine_sample(&f->eng, "cpu.used", kv, 1, 1, T0, 95, T0);
    assert_int_equal(f->ngot, 0);              /* name does not match */
    kv[0] = vg_kv_str("mount", "/home");
    alert_engine_sample(&f->eng, "disk.used", kv, 1, 2, T0, 95, T0);
    assert_int_equal(f->ngot, 0);              /* label does not match */
    kv[0] = vg_kv_str("mount", "/var");
    kv[1] = vg_kv_str("ro", "1");
    alert_engine_sample(&f->eng, "disk.used", kv, 2, 3, T0, 95, T0);
    assert_int_equal(f->ngot, 0);              /* ro must be missing/empty */
    kv[1] = vg_kv_str("host", "a");
    alert_engine_sample(&f->eng, "disk.used", kv, 2, 4, T0, 95, T0);
    assert_int_equal(f->ngot, 1);
    s = alert_series_get(&f->rules[0], 4, NULL, 0, &(int){ 0 });
    assert_non_null(s);
    /* sorted; add_labels win over the series' own; alertname added */
    assert_int_equal(s->nlabels, 4);
    assert_string_equal(s->labels[0].key, "alertname");
    assert_string_equal(s->labels[0].v.s, "var_full");
    assert_string_equal(s->labels[1].key, "host");
    assert_string_equal(s->labels[2].key, "mount");
    assert_string_equal(s->labels[2].v.s, "VAR");
    assert_string_equal(s->labels[3].key, "team");
}

/* ---- forecasts --------------------------------------------------------- */

/* Feeds value(t) hourly over [from, to], returning the last note count. */
static void
feed_fn(struct fixture *f, int64_t from, int64_t to, int64_t step,
        double (*fn)(int64_t t, int64_t now), int64_t now)
{
    int64_t t;

    for (t = from; t <= to; t += step)
        feed(f, "a", t, fn(t, now));
}

/* The ETA of the first series of the first rule, as last forecast. */
static int64_t
final_eta(const struct fixture *f)
{
    size_t i;

    for (i = 0; i < f->rules[0].cap; i++)
        if (f->rules[0].tab[i].hash)
            return f->rules[0].tab[i].eta;
    fail_msg("no series");
    return 0;
}

/* Disk use rising 1% a day, at 80% now. */
static double
disk_fill(int64_t t, int64_t now)
{
    return 80 + (double)(t - now) / (double)DAY;
}

static void
predict_linear_finds_eta_of_known_slope(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *c = add_rule(f, "disk_fill");
    int64_t now = T0 + 3 * DAY;

    c->p_above = 95;
    c->p_within = 30 * DAY;
    c->p_window = 2 * DAY;
    c->repeat = 30 * DAY;
    start(f);
    feed_fn(f, T0, now, 10 * MIN, disk_fill, now);
    assert_int_equal(f->ngot, 1);
    assert_int_equal(f->got[0].state, VG_ALERT_FIRING);
    /*
     * A bucket holds the mean of its samples' values and times, so a
     * straight line is fitted exactly: what is left is rounding, far
     * below a second.
     */
    if (llabs(final_eta(f) - (now + 15 * DAY)) > S)
        fail_msg("eta %.6f days ahead, want 15",
                 (double)(final_eta(f) - now) / (double)DAY);
}

static void
predict_linear_waits_for_the_horizon(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *c = add_rule(f, "disk_fill");
    int64_t now = T0 + 3 * DAY;

    c->p_above = 95;
    c->p_within = 10 * DAY;        /* crossing is 15 days away */
    c->p_window = 2 * DAY;
    start(f);
    feed_fn(f, T0, now, 10 * MIN, disk_fill, now);
    assert_int_equal(f->ngot, 0);
}

/* Trend 1%/day to 80% at now, a daily cycle of +-1.5%, some noise. */
static double
seasonal(int64_t t, int64_t now)
{
    static uint32_t seed = 12345;
    double noise;

    seed = seed * 1103515245u + 12345u;
    noise = ((double)(seed >> 16 & 0x7fff) / 32767.0 - 0.5) * 0.5;
    return disk_fill(t, now) +
           1.5 * sin(2 * M_PI * (double)(t % DAY) / (double)DAY) + noise;
}

static void
predict_holt_finds_eta_through_daily_cycle(void **state)
{
    struct fixture *f = *state;
    /*
     * The damped trend adds less and less: the crossing 15 days out at a
     * straight trend comes later, when trend * day * (1 - phi^d) / -ln(phi)
     * reaches the 15% gap.
     */
    double want = log(1 - 15 * -log(HOLT_PHI)) / log(HOLT_PHI);
    int64_t phase;

    for (phase = 0; phase < DAY; phase += 6 * H) {
        struct fixture g;
        struct alert_rule_conf *c;
        int64_t now = T0 + 14 * DAY + phase;
        double got;

        memset(&g, 0, sizeof(g));
        c = add_rule(&g, "disk_fill");
        c->p_above = 95;
        c->p_within = 30 * DAY;
        c->p_window = 7 * DAY;
        c->p_method = METHOD_HOLT;
        c->repeat = 30 * DAY;
        start(&g);
        feed_fn(&g, T0 + phase, now, 10 * MIN, seasonal, now);
        assert_true(g.ngot >= 1);
        assert_int_equal(g.got[0].state, VG_ALERT_FIRING);
        got = (double)(final_eta(&g) - now) / (double)DAY;
        /*
         * The cycle moves the value by +-1.5%, i.e. +-1.5 days of trend;
         * smoothing removes most of it from the level and the trend, but
         * not all, depending on the phase at "now": 3 days is twice the
         * cycle's amplitude in days of trend.
         */
        if (fabs(got - want) > 3.0)
            fail_msg("phase %dh: eta %.2f days, want %.2f +- 3",
                     (int)(phase / H), got, want);
        alert_engine_release(&g.eng);
    }
    (void)f;
}

static double
flat_noise(int64_t t, int64_t now)
{
    static uint32_t seed = 777;

    (void)t;
    (void)now;
    seed = seed * 1103515245u + 12345u;
    return 50 + ((double)(seed >> 16 & 0x7fff) / 32767.0 - 0.5) * 10;
}

static void
predict_does_not_fire_on_flat_noise(void **state)
{
    int method;

    (void)state;
    for (method = METHOD_LINEAR; method <= METHOD_HOLT; method++) {
        struct fixture g;
        struct alert_rule_conf *c;

        memset(&g, 0, sizeof(g));
        c = add_rule(&g, "disk_fill");
        c->p_above = 95;
        c->p_within = 30 * DAY;
        c->p_window = 7 * DAY;
        c->p_method = method;
        c->repeat = 30 * DAY;
        start(&g);
        feed_fn(&g, T0, T0 + 14 * DAY, 10 * MIN, flat_noise, 0);
        assert_int_equal(g.ngot, 0);
        alert_engine_release(&g.eng);
    }
}

static void
forecast_keeps_at_most_256_points(void **state)
{
    struct forecast fc;
    int64_t t;

    (void)state;
    forecast_init(&fc, DAY);
    for (t = T0; t < T0 + 10 * DAY; t += 10 * S)
        forecast_add(&fc, t, 1);
    assert_true(fc.n <= FC_POINTS + 1);
    assert_true(fc.n >= FC_POINTS - 1);
}

/* ---- templates --------------------------------------------------------- */

static void
template_renders_fields(void **state)
{
    struct fixture *f = *state;
    struct alert_rule_conf *c = add_rule(f, "disk_fill");
    struct alert_series *s;
    char out[256];
    int created;

    c->above = 90;
    start(f);
    feed(f, "web-1", T0, 93.5);
    s = &f->rules[0].tab[0];
    while (!s->hash)
        s++;
    s->eta = T0 + 6 * DAY + 4 * H + 5 * MIN;
    alert_render(out, sizeof(out), "{{ rule }} on {{labels.host}}: "
                 "{{ value }} > {{ threshold }}, full {{ eta }} (in "
                 "{{ eta_in }}){{ labels.nope }}", &f->rules[0], s, T0);
    assert_string_equal(out, "disk_fill on web-1: 93.5 > 90, full "
                        "2023-11-21T02:18:20Z (in 6d 4h)");
    alert_render(out, 12, "{{ rule }} is long", &f->rules[0], s, T0);
    assert_string_equal(out, "disk_fill i");
    assert_non_null(alert_series_get(&f->rules[0], s->hash, NULL, 0,
                                     &created));
    assert_int_equal(created, 0);
}

static void
durations_show_two_units(void **state)
{
    char out[32];

    (void)state;
    alert_fmt_duration(out, sizeof(out), 6 * DAY + 4 * H + 3 * MIN);
    assert_string_equal(out, "6d 4h");
    alert_fmt_duration(out, sizeof(out), 3 * H + 12 * MIN);
    assert_string_equal(out, "3h 12m");
    alert_fmt_duration(out, sizeof(out), 45 * S);
    assert_string_equal(out, "45s");
    alert_fmt_duration(out, sizeof(out), 2 * DAY);
    assert_string_equal(out, "2d");
    alert_fmt_duration(out, sizeof(out), 0);
    assert_string_equal(out, "0s");
}

/* ---- state file -------------------------------------------------------- */

static void
tmp_path(char *buf, size_t n)
{
    snprintf(buf, n, "/tmp/test_alert.%d.state", (int)getpid());
}

static void
state_survives_restart_without_repaging(void **state)
{
    struct fixture *f = *state;
    struct fixture *g = calloc(1, sizeof(*g));
    struct alert_rule_conf *c = add_rule(f, "high");
    char path[64], err[128];

    tmp_path(path, sizeof(path));
    c->above = 90;
    c->add_labels.n = 0;
    start(f);
    feed(f, "we b=%1", T0, 95);   /* a value that needs escaping */
    assert_int_equal(f->ngot, 1);
    assert_int_equal(alert_state_save(&f->eng, path), 0);

    assert_non_null(g);
    add_rule(g, "high")->above = 90;
    start(g);
    assert_int_equal(alert_state_load(&g->eng, path, T0, err,
                                      sizeof(err)), 0);
    feed(g, "we b=%1", T0 + MIN, 96);  /* still firing: not sent again */
    assert_int_equal(g->ngot, 0);
    feed(g, "we b=%1", T0 + 2 * MIN, 50);
    assert_int_equal(g->ngot, 1);
    assert_int_equal(g->got[0].state, VG_ALERT_RESOLVED);
    assert_int_equal(g->got[0].starts_at, T0);
    assert_string_equal(g->got[0].host, "we b=%1");
    alert_engine_release(&g->eng);
    free(g);
    unlink(path);
}

static void
corrupt_or_truncated_state_is_refused(void **state)
{
    struct fixture *f = *state;
    char path[64], err[128];
    FILE *fp;
    size_t i;
    static const char *const bad[] = {
        "garbage\n",
        "vigil-alert-state 1\na high 00000000000000ff 1 2 3 1 95 1 "
        "host=a\n",                                /* no end: truncated */
        "vigil-alert-state 1\na high zz 1 2 3 1 95 1 host=a\nend 1\n",
        "vigil-alert-state 1\na high 00000000000000ff 1 2 3 1 95 1 "
        "host=a\nend 2\n",
    };

    tmp_path(path, sizeof(path));
    add_rule(f, "high")->above = 90;
    start(f);
    for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        fp = fopen(path, "w");
        assert_non_null(fp);
        fputs(bad[i], fp);
        fclose(fp);
        assert_int_equal(alert_state_load(&f->eng, path, T0, err,
                                          sizeof(err)), -EINVAL);
        assert_int_equal(f->rules[0].used, 0);
    }
    unlink(path);
    assert_int_equal(alert_state_load(&f->eng, path, T0, err,
                                      sizeof(err)), -ENOENT);
}

#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)

int
main(void)
{
    const struct CMUnitTest tests[] = {
        T(rule_without_condition_is_refused),
        T(rule_with_two_conditions_is_refused),
        T(rule_with_wrong_hysteresis_is_refused),
        T(rule_predict_needs_within_and_one_threshold),
        T(rule_with_unknown_template_field_is_refused),
        T(above_fires_once_and_resolves),
        T(below_fires_under_threshold),
        T(for_delays_firing_and_a_dip_restarts_it),
        T(hysteresis_holds_until_resolve_below),
        T(hysteresis_below_holds_until_resolve_above),
        T(rate_uses_consecutive_samples_and_survives_reset),
        T(rate_below_and_same_timestamp_is_skipped),
        T(absent_fires_on_silence_and_resolves_on_report),
        T(repeat_resends_while_firing),
        T(critical_inhibits_warning_on_same_host),
        T(max_series_drops_new_series),
        T(metric_glob_and_label_matchers_select_series),
        T(predict_linear_finds_eta_of_known_slope),
        T(predict_linear_waits_for_the_horizon),
        T(predict_holt_finds_eta_through_daily_cycle),
        T(predict_does_not_fire_on_flat_noise),
        T(forecast_keeps_at_most_256_points),
        T(template_renders_fields),
        T(durations_show_two_units),
        T(state_survives_restart_without_repaging),
        T(corrupt_or_truncated_state_is_refused),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
