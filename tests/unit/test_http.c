/*
 * Unit tests of the shared HTTP client's helpers (JSON strings, UTF-8 cuts,
 * gzip, outcome mapping, URL redaction) and of the http output's encoders
 * (OTLP JSON, URL templates), whose source is compiled in and driven
 * through a fake core API over an in-memory batch.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <zlib.h>

#include "../../plugins/output/http/http.c"

/* ---- a fake core: an instance and a batch of given events ----------- */

struct vg_batch {
    const struct vg_event *ev;
    size_t                 n;
};

static int
fake_log_enabled(const struct vg_instance *in, int level)
{
    (void)in;
    (void)level;
    return 0;
}

static const char *
fake_name(const struct vg_instance *in)
{
    (void)in;
    return "output[collector]";
}

static const char *
fake_pipeline(const struct vg_instance *in)
{
    (void)in;
    return "host";
}

static int64_t
fake_now(const struct vg_instance *in)
{
    (void)in;
    return INT64_C(1700000000000000000);
}

static int
fake_batch_next(const struct vg_batch *b, struct vg_iter *it,
                struct vg_event *ev)
{
    if (it->index >= b->n)
        return 0;
    *ev = b->ev[it->index++];
    return 1;
}

static void
fake_iter_release(struct vg_iter *it)
{
    (void)it;
}

/* Timers and flush completions are recorded, not run. */
struct fake_timer {
    vg_timer_fn cb;
    void       *arg;
    int64_t     after;              /* -1 while stopped */
};

static struct {
    int         done_outcome;       /* -1 until a flush ends */
    int64_t     done_after;         /* -1 unless flush_retry_after */
    char        done_reason[256];
    struct fake_timer *started;     /* the last timer started */
} rec;

static struct vg_timer *
fake_timer_new(struct vg_instance *in, vg_timer_fn cb, void *arg)
{
    struct fake_timer *t = calloc(1, sizeof(*t));

    (void)in;
    t->cb = cb;
    t->arg = arg;
    t->after = -1;
    return (struct vg_timer *)t;
}

static void
fake_timer_start(struct vg_timer *t, int64_t after, int64_t repeat)
{
    (void)repeat;
    ((struct fake_timer *)t)->after = after;
    rec.started = (struct fake_timer *)t;
}

static void
fake_timer_stop(struct vg_timer *t)
{
    ((struct fake_timer *)t)->after = -1;
}

static void
fake_timer_free(struct vg_timer *t)
{
    free(t);
}

static void
fake_flush_done(struct vg_flush *fl, int outcome, const char *reason)
{
    (void)fl;
    rec.done_outcome = outcome;
    snprintf(rec.done_reason, sizeof(rec.done_reason), "%s",
             reason ? reason : "");
}

static void
fake_flush_retry_after(struct vg_flush *fl, int64_t after,
                       const char *reason)
{
    fake_flush_done(fl, VG_RETRY, reason);
    rec.done_after = after;
}

#define FAKE_API_FIELDS \
    .log_enabled = fake_log_enabled, \
    .name = fake_name, \
    .pipeline = fake_pipeline, \
    .now = fake_now, \
    .batch_next = fake_batch_next, \
    .iter_release = fake_iter_release, \
    .flush_done = fake_flush_done, \
    .timer_new = fake_timer_new, \
    .timer_start = fake_timer_start, \
    .timer_stop = fake_timer_stop, \
    .timer_free = fake_timer_free

static const struct vg_api fake_api = {
    .size = sizeof(struct vg_api),
    FAKE_API_FIELDS,
    .flush_retry_after = fake_flush_retry_after,
};

/* A core from before flush_retry_after: its table ends earlier. */
static const struct vg_api old_api = {
    .size = offsetof(struct vg_api, emit_tracked),
    FAKE_API_FIELDS,
};

static struct vg_instance_head fake_instance = { &fake_api };
static struct vg_instance_head old_instance = { &old_api };
#define IN ((struct vg_instance *)&fake_instance)
#define OLD_IN ((struct vg_instance *)&old_instance)
#define FL ((struct vg_flush *)&rec)    /* any non-NULL handle */

static char *
otlp(const struct vg_event *ev, size_t n, int logs)
{
    struct vg_batch b = { ev, n };
    struct vg_hbuf o = { 0 };

    encode_otlp(IN, &b, &o, logs);
    return o.p;
}

#define assert_contains(hay, needle) do { \
        if (!strstr((hay), (needle))) \
            fail_msg("'%s' not found in '%s'", (needle), (hay)); \
    } while (0)

/* ---- client helpers ------------------------------------------------- */

static char *
jstr(const char *s, size_t n, size_t max)
{
    struct vg_hbuf b = { 0 };

    vg_hbuf_add_jstr_max(&b, s, n, max);
    return b.p;
}

static void
jstr_escapes_quotes_controls_and_bad_utf8(void **state)
{
    char *s = jstr("a\"b\\c\n\t\x01\xff\xc3\xa9", 11, SIZE_MAX);

    (void)state;
    assert_string_equal(s, "\"a\\\"b\\\\c\\n\\t\\u0001\\u00ff\xc3\xa9\"");
    free(s);
}

static void
jstr_max_cuts_between_characters(void **state)
{
    /* é é é: cut to 2 characters keeps 4 bytes, never half of one */
    char *s = jstr("\xc3\xa9\xc3\xa9\xc3\xa9", 6, 2);

    (void)state;
    assert_string_equal(s, "\"\xc3\xa9\xc3\xa9\"");
    free(s);
}

static void
utf8_prefix_counts_code_points(void **state)
{
    (void)state;
    assert_int_equal(vg_utf8_prefix("ab\xe2\x82\xac" "cd", 7, 3), 5);
    assert_int_equal(vg_utf8_prefix("abc", 3, 10), 3);
    /* a truncated sequence counts its lead byte as one character */
    assert_int_equal(vg_utf8_prefix("a\xe2\x82", 3, 2), 2);
}

static void
jnum_writes_integers_without_exponent_and_specials_as_strings(void **state)
{
    struct vg_hbuf b = { 0 };

    (void)state;
    vg_hbuf_add_jnum(&b, 42);
    vg_hbuf_adds(&b, " ");
    vg_hbuf_add_jnum(&b, 0.25);
    vg_hbuf_adds(&b, " ");
    vg_hbuf_add_jnum(&b, NAN);
    vg_hbuf_adds(&b, " ");
    vg_hbuf_add_jnum(&b, -INFINITY);
    assert_string_equal(b.p, "42 0.25 \"NaN\" \"-Inf\"");
    vg_hbuf_release(&b);
}

static void
gzip_output_inflates_back(void **state)
{
    const char *text = "{\"a\":1}\n{\"a\":2}\n{\"a\":3}\n";
    struct vg_hbuf gz = { 0 };
    char out[256];
    z_stream z;

    (void)state;
    assert_int_equal(vg_gzip(text, strlen(text), &gz), 0);
    assert_true(gz.len > 18);
    assert_int_equal((unsigned char)gz.p[0], 0x1f);   /* gzip magic */
    assert_int_equal((unsigned char)gz.p[1], 0x8b);
    memset(&z, 0, sizeof(z));
    assert_int_equal(inflateInit2(&z, 15 + 16), Z_OK);
    z.next_in = (Bytef *)gz.p;
    z.avail_in = (uInt)gz.len;
    z.next_out = (Bytef *)out;
    z.avail_out = sizeof(out);
    assert_int_equal(inflate(&z, Z_FINISH), Z_STREAM_END);
    assert_int_equal(z.total_out, strlen(text));
    out[z.total_out] = '\0';
    assert_string_equal(out, text);
    inflateEnd(&z);
    vg_hbuf_release(&gz);
}

static int
outcome(long status, const char *error, const char *body, char *why)
{
    struct vg_http_result r = {
        .status = status, .error = error, .body = body,
        .body_len = strlen(body), .retry_after = -1,
        .where = "POST https://h",
    };

    return vg_http_outcome(&r, why, 256);
}

static void
outcome_maps_statuses(void **state)
{
    char why[256];

    (void)state;
    assert_int_equal(outcome(200, "", "", why), VG_OK);
    assert_int_equal(outcome(202, "", "", why), VG_OK);
    assert_int_equal(outcome(0, "Couldn't connect to server", "", why),
                     VG_RETRY);
    assert_string_equal(why, "POST https://h: Couldn't connect to server");
    assert_int_equal(outcome(408, "", "", why), VG_RETRY);
    assert_int_equal(outcome(429, "", "slow down", why), VG_RETRY);
    assert_int_equal(outcome(500, "", "", why), VG_RETRY);
    assert_int_equal(outcome(503, "", "", why), VG_RETRY);
    assert_int_equal(outcome(401, "", "", why), VG_PERMANENT);
    assert_int_equal(outcome(404, "", "", why), VG_PERMANENT);
    assert_int_equal(outcome(400, "", "invalid_payload\nmore", why),
                     VG_PERMANENT);
    /* the body's first line explains a refusal */
    assert_string_equal(why, "POST https://h: HTTP 400: invalid_payload");
}

static void
url_redact_keeps_scheme_and_host_only(void **state)
{
    char out[128];

    (void)state;
    vg_http_url_redact("https://hooks.slack.com/services/T0/B0/secret",
                       out, sizeof(out));
    assert_string_equal(out, "https://hooks.slack.com");
    vg_http_url_redact("http://user:pw@10.0.0.1:8080?token=x", out,
                       sizeof(out));
    assert_string_equal(out, "http://10.0.0.1:8080");
    vg_http_url_redact("not a url", out, sizeof(out));
    assert_string_equal(out, "(url)");
}

static struct vg_http *
client(struct vg_instance *in)
{
    struct vg_http_opts o = { .tls_verify = 1 };
    struct vg_http *h = vg_http_new(in, &o);

    assert_non_null(h);
    rec.done_outcome = -1;
    rec.done_after = -1;
    rec.done_reason[0] = '\0';
    rec.started = NULL;
    return h;
}

static void
flush_done_passes_retry_after_to_the_core(void **state)
{
    struct vg_http *h = client(IN);

    (void)state;
    vg_http_flush_done(h, FL, VG_RETRY, 3 * VG_SECOND, "HTTP 429");
    assert_int_equal(rec.done_outcome, VG_RETRY);
    assert_int_equal(rec.done_after, 3 * VG_SECOND);
    assert_string_equal(rec.done_reason, "HTTP 429");
    vg_http_free(h);
}

static void
flush_done_caps_retry_after_at_an_hour(void **state)
{
    struct vg_http *h = client(IN);

    (void)state;
    vg_http_flush_done(h, FL, VG_RETRY, 86400 * VG_SECOND, "HTTP 503");
    assert_int_equal(rec.done_after, 3600 * VG_SECOND);
    vg_http_free(h);
}

static void
flush_done_holds_the_flush_on_a_core_without_retry_after(void **state)
{
    struct vg_http *h = client(OLD_IN);
    struct fake_timer *t;

    (void)state;
    vg_http_flush_done(h, FL, VG_RETRY, 2 * VG_SECOND, "HTTP 429");
    /* nothing ends until the timer fires */
    assert_int_equal(rec.done_outcome, -1);
    assert_non_null(t = rec.started);
    assert_int_equal(t->after, 2 * VG_SECOND);
    t->cb(OLD_IN, t->arg);
    assert_int_equal(rec.done_outcome, VG_RETRY);
    assert_int_equal(rec.done_after, -1);
    assert_string_equal(rec.done_reason, "HTTP 429");
    vg_http_free(h);
}

static void
flush_done_without_retry_after_ends_at_once(void **state)
{
    struct vg_http *h = client(OLD_IN);

    (void)state;
    vg_http_flush_done(h, FL, VG_RETRY, -1, "HTTP 500");
    assert_int_equal(rec.done_outcome, VG_RETRY);
    vg_http_flush_done(h, FL, VG_PERMANENT, 5 * VG_SECOND, "HTTP 400");
    assert_int_equal(rec.done_outcome, VG_PERMANENT);
    assert_int_equal(rec.done_after, -1);
    vg_http_free(h);
}

/* ---- http output encoders ------------------------------------------ */

static void
url_template_replaces_pipeline_and_alias(void **state)
{
    char *u = url_expand(IN, "https://h/{pipeline}/{alias}/{instance}");

    (void)state;
    assert_string_equal(u, "https://h/host/collector/collector");
    free(u);
    u = url_join("https://h:4318/", "/v1/metrics");
    assert_string_equal(u, "https://h:4318/v1/metrics");
    free(u);
}

static void
otlp_gauge_and_counter_carry_host_as_resource(void **state)
{
    struct vg_kv labels[] = {
        vg_kv_str("cpu", "0"), vg_kv_str("host", "web-1"),
    };
    struct vg_event ev[2];
    char *s;

    (void)state;
    memset(ev, 0, sizeof(ev));
    ev[0].kind = VG_EV_METRIC;
    ev[0].time = 1000;
    ev[0].name = "system.cpu.time";
    ev[0].metric_type = VG_METRIC_COUNTER;
    ev[0].value = 12.5;
    ev[0].labels = labels;
    ev[0].nlabels = 2;
    ev[1] = ev[0];
    ev[1].name = "system.load";
    ev[1].metric_type = VG_METRIC_GAUGE;
    ev[1].value = NAN;
    s = otlp(ev, 2, 0);
    assert_string_equal(s,
        "{\"resourceMetrics\":[{\"resource\":{\"attributes\":["
        "{\"key\":\"host.name\",\"value\":{\"stringValue\":\"web-1\"}}]},"
        "\"scopeMetrics\":[{\"scope\":{\"name\":\"vigil\"},\"metrics\":["
        "{\"name\":\"system.cpu.time\",\"sum\":{\"aggregationTemporality\":2,"
        "\"isMonotonic\":true,\"dataPoints\":[{\"attributes\":["
        "{\"key\":\"cpu\",\"value\":{\"stringValue\":\"0\"}}],"
        "\"timeUnixNano\":\"1000\",\"asDouble\":12.5}]}},"
        "{\"name\":\"system.load\",\"gauge\":{\"dataPoints\":[{"
        "\"attributes\":[{\"key\":\"cpu\",\"value\":{\"stringValue\":\"0\"}}],"
        "\"timeUnixNano\":\"1000\",\"asDouble\":\"NaN\"}]}}]}]}]}");
    free(s);
}

static void
otlp_histogram_drops_the_inf_bound(void **state)
{
    static const double bounds[] = { 0.1, 1, INFINITY };
    static const uint64_t counts[] = { 3, 5, 2 };
    struct vg_event ev;
    char *s;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_METRIC;
    ev.time = 7;
    ev.name = "latency";
    ev.metric_type = VG_METRIC_HISTOGRAM;
    ev.hist.nbuckets = 3;
    ev.hist.bounds = bounds;
    ev.hist.counts = counts;
    ev.hist.sum = 4.5;
    ev.hist.count = 10;
    s = otlp(&ev, 1, 0);
    assert_contains(s, "\"histogram\":{\"aggregationTemporality\":2,"
                    "\"dataPoints\":[{\"attributes\":[],"
                    "\"timeUnixNano\":\"7\",\"count\":\"10\",\"sum\":4.5,"
                    "\"bucketCounts\":[\"3\",\"5\",\"2\"],"
                    "\"explicitBounds\":[0.1,1]}]}");
    /* no host label: a resource without attributes */
    assert_contains(s, "{\"resource\":{\"attributes\":[]}");
    free(s);
}

static void
otlp_logs_have_severity_body_and_typed_attributes(void **state)
{
    struct vg_kv attrs[3];
    struct vg_event ev[2];
    char *s;

    (void)state;
    attrs[0] = vg_kv_str("path", "/");
    attrs[1].key = "status";
    attrs[1].key_len = 6;
    attrs[1].type = VG_VAL_INT;
    attrs[1].v.i = 200;
    attrs[2].key = "cached";
    attrs[2].key_len = 6;
    attrs[2].type = VG_VAL_BOOL;
    attrs[2].v.b = 1;
    memset(ev, 0, sizeof(ev));
    ev[0].kind = VG_EV_LOG;
    ev[0].time = 5;
    ev[0].severity = VG_SEV_WARN + 1;
    ev[0].body = "GET / 200";
    ev[0].body_len = 9;
    ev[0].attrs = attrs;
    ev[0].nattrs = 3;
    ev[1].kind = VG_EV_METRIC;          /* not in the logs body */
    ev[1].name = "m";
    s = otlp(ev, 2, 1);
    assert_string_equal(s,
        "{\"resourceLogs\":[{\"resource\":{\"attributes\":[]},"
        "\"scopeLogs\":[{\"scope\":{\"name\":\"vigil\"},\"logRecords\":["
        "{\"timeUnixNano\":\"5\",\"observedTimeUnixNano\":"
        "\"1700000000000000000\",\"severityNumber\":14,"
        "\"severityText\":\"WARN\",\"body\":{\"stringValue\":\"GET / 200\"},"
        "\"attributes\":[{\"key\":\"path\",\"value\":{\"stringValue\":\"/\"}},"
        "{\"key\":\"status\",\"value\":{\"intValue\":\"200\"}},"
        "{\"key\":\"cached\",\"value\":{\"boolValue\":true}}]}]}]}]}");
    free(s);
}

static void
otlp_alert_is_a_log_record_with_its_fingerprint(void **state)
{
    struct vg_event ev;
    char *s;

    (void)state;
    memset(&ev, 0, sizeof(ev));
    ev.kind = VG_EV_ALERT;
    ev.time = 9;
    ev.hash = 0xabcdef;
    ev.rule = "HighCPU";
    ev.alert_state = VG_ALERT_FIRING;
    ev.alert_severity = VG_ALERT_CRITICAL;
    ev.summary = "cpu hot";
    ev.value = 97;
    s = otlp(&ev, 1, 1);
    assert_contains(s, "\"severityNumber\":21,\"severityText\":\"FATAL\","
                    "\"body\":{\"stringValue\":\"cpu hot\"}");
    assert_contains(s, "{\"key\":\"vigil.alert.fingerprint\",\"value\":"
                    "{\"stringValue\":\"0000000000abcdef\"}}");
    assert_contains(s, "{\"key\":\"vigil.alert.state\",\"value\":"
                    "{\"stringValue\":\"firing\"}}");
    assert_contains(s, "{\"key\":\"vigil.alert.value\",\"value\":"
                    "{\"doubleValue\":97}}");
    free(s);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(jstr_escapes_quotes_controls_and_bad_utf8),
        cmocka_unit_test(jstr_max_cuts_between_characters),
        cmocka_unit_test(utf8_prefix_counts_code_points),
        cmocka_unit_test(
            jnum_writes_integers_without_exponent_and_specials_as_strings),
        cmocka_unit_test(gzip_output_inflates_back),
        cmocka_unit_test(outcome_maps_statuses),
        cmocka_unit_test(url_redact_keeps_scheme_and_host_only),
        cmocka_unit_test(flush_done_passes_retry_after_to_the_core),
        cmocka_unit_test(flush_done_caps_retry_after_at_an_hour),
        cmocka_unit_test(
            flush_done_holds_the_flush_on_a_core_without_retry_after),
        cmocka_unit_test(flush_done_without_retry_after_ends_at_once),
        cmocka_unit_test(url_template_replaces_pipeline_and_alias),
        cmocka_unit_test(otlp_gauge_and_counter_carry_host_as_resource),
        cmocka_unit_test(otlp_histogram_drops_the_inf_bound),
        cmocka_unit_test(otlp_logs_have_severity_body_and_typed_attributes),
        cmocka_unit_test(otlp_alert_is_a_log_record_with_its_fingerprint),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
