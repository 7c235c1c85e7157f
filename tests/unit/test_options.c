/*
 * Option schemas: every type, every error message with its line:column,
 * defaults, nested objects and lists, releasing partial fills (run under
 * ASan to prove nothing leaks), the schema checker and --list-plugins text.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"

struct rule {
    char    *name;
    int      severity;
    int64_t  after;
};

struct conf {
    char           *url;
    char           *method;
    int64_t         retries;
    double          ratio;
    int             compress;
    int64_t         timeout;
    int64_t         max_size;
    int             format;
    struct vg_strv  devices;
    struct vg_map   labels;
    int             tls_verify;
    char           *tls_ca;
    char           *tls_cert;
    int64_t         tls_timeout;
    struct vg_list  rules;
    char           *token;
    int64_t         pin;
};

static const struct vg_option tls_options[] = {
    { .name = "verify", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct conf, tls_verify), .help = "check the peer" },
    { .name = "ca", .type = VG_OPT_STR, .def = "/etc/ssl/ca.pem",
      .offset = offsetof(struct conf, tls_ca) },
    { .name = "cert", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct conf, tls_cert) },
    { .name = "timeout", .type = VG_OPT_DURATION, .def = "5s",
      .offset = offsetof(struct conf, tls_timeout) },
    { 0 }
};

static const struct vg_option rule_options[] = {
    { .name = "name", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct rule, name) },
    { .name = "severity", .type = VG_OPT_ENUM,
      .choices = "info|warning|critical", .def = "warning",
      .offset = offsetof(struct rule, severity) },
    { .name = "after", .type = VG_OPT_DURATION, .def = "1m",
      .offset = offsetof(struct rule, after) },
    { 0 }
};

static const struct vg_option schema[] = {
    { .name = "url", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct conf, url), .help = "where to send" },
    { .name = "method", .type = VG_OPT_STR, .def = "POST",
      .offset = offsetof(struct conf, method) },
    { .name = "retries", .type = VG_OPT_INT, .def = "3",
      .offset = offsetof(struct conf, retries) },
    { .name = "ratio", .type = VG_OPT_DOUBLE, .def = "0.5",
      .offset = offsetof(struct conf, ratio) },
    { .name = "compress", .type = VG_OPT_BOOL, .def = "off",
      .offset = offsetof(struct conf, compress) },
    { .name = "timeout", .type = VG_OPT_DURATION, .def = "10s",
      .offset = offsetof(struct conf, timeout) },
    { .name = "max_size", .type = VG_OPT_SIZE, .def = "64MiB",
      .offset = offsetof(struct conf, max_size) },
    { .name = "format", .type = VG_OPT_ENUM, .choices = "json|text",
      .def = "text", .offset = offsetof(struct conf, format) },
    { .name = "devices", .type = VG_OPT_STRLIST, .def = "loop*, ram*",
      .offset = offsetof(struct conf, devices) },
    { .name = "labels", .type = VG_OPT_MAP,
      .offset = offsetof(struct conf, labels) },
    { .name = "tls", .type = VG_OPT_OBJECT, .sub = tls_options },
    { .name = "rules", .type = VG_OPT_LIST, .sub = rule_options,
      .elem_size = sizeof(struct rule),
      .offset = offsetof(struct conf, rules) },
    { .name = "token", .type = VG_OPT_STR, .flags = VG_OPT_SECRET,
      .def = "none", .offset = offsetof(struct conf, token) },
    { .name = "pin", .type = VG_OPT_INT, .flags = VG_OPT_SECRET,
      .offset = offsetof(struct conf, pin) },
    { 0 }
};

static const char *const skip[] = { "name", NULL };

struct run {
    struct vg_doc    *doc;
    struct vg_errors  err;
    struct conf       conf;
    int               rc;
};

/* Loads text (the instance mapping at the root) and applies the schema. */
static void
run(struct run *r, const char *text)
{
    struct vg_errors lerr;

    memset(r, 0, sizeof(*r));
    vg_errors_init(&lerr);
    assert_int_equal(vg_doc_load_string("vigil.yaml", text, strlen(text),
                                        &r->doc, &lerr), 0);
    vg_errors_release(&lerr);
    vg_errors_init(&r->err);
    r->rc = vg_options_apply(schema, r->doc->root, &r->conf,
                             "output 'http'", skip, &r->err);
}

static void
run_done(struct run *r)
{
    vg_options_release(schema, &r->conf);
    vg_errors_release(&r->err);
    vg_doc_free(r->doc);
}

static void
run_ok(struct run *r, const char *text)
{
    run(r, text);
    if (r->err.n)
        print_error("unexpected error: %s\n", r->err.msgs[0]);
    assert_int_equal(r->err.n, 0);
    assert_int_equal(r->rc, 0);
}

/* Applies text, which must fail with exactly the one message msg. */
static void
expect_error(const char *text, const char *msg)
{
    struct run r;

    run(&r, text);
    assert_int_equal(r.rc, -EINVAL);
    if (r.err.n != 1 && r.err.n)
        print_error("first error: %s\n", r.err.msgs[0]);
    assert_int_equal(r.err.n, 1);
    assert_string_equal(r.err.msgs[0], msg);
    run_done(&r);
}

/* ---- values ----------------------------------------------------------- */

static void
apply_defaults_when_only_required_given(void **state)
{
    struct run r;

    (void)state;
    run_ok(&r, "name: http\nurl: http://x/\n");
    assert_string_equal(r.conf.url, "http://x/");
    assert_string_equal(r.conf.method, "POST");
    assert_int_equal(r.conf.retries, 3);
    assert_true(r.conf.ratio == 0.5);
    assert_int_equal(r.conf.compress, 0);
    assert_int_equal(r.conf.timeout, 10 * VG_SECOND);
    assert_int_equal(r.conf.max_size, 64 << 20);
    assert_int_equal(r.conf.format, 1);
    assert_int_equal(r.conf.devices.n, 2);
    assert_string_equal(r.conf.devices.v[0], "loop*");
    assert_string_equal(r.conf.devices.v[1], "ram*");
    assert_null(r.conf.devices.v[2]);
    assert_int_equal(r.conf.labels.n, 0);
    /* An absent object still gets its sub-options' defaults. */
    assert_int_equal(r.conf.tls_verify, 1);
    assert_string_equal(r.conf.tls_ca, "/etc/ssl/ca.pem");
    assert_null(r.conf.tls_cert);
    assert_int_equal(r.conf.tls_timeout, 5 * VG_SECOND);
    assert_int_equal(r.conf.rules.n, 0);
    assert_null(r.conf.rules.items);
    assert_string_equal(r.conf.token, "none");
    run_done(&r);
}

static void
apply_every_type(void **state)
{
    struct run r;
    struct rule *rules;

    (void)state;
    run_ok(&r,
           "name: http\n"
           "url: http://x/\n"
           "method: 80\n"
           "retries: -7\n"
           "ratio: 1e-3\n"
           "compress: YES\n"
           "timeout: 1m30s\n"
           "max_size: 512k\n"
           "format: json\n"
           "devices: [sda, sdb, sdc]\n"
           "labels: {env: prod, dc: \"2\"}\n"
           "tls: {verify: off, cert: /c.pem}\n"
           "rules:\n"
           "  - name: disk\n"
           "    severity: critical\n"
           "  - name: cpu\n"
           "    after: 250ms\n"
           "token: abc\n"
           "pin: 1234\n");
    assert_string_equal(r.conf.method, "80");       /* any scalar: string */
    assert_int_equal(r.conf.retries, -7);
    assert_true(r.conf.ratio == 1e-3);
    assert_int_equal(r.conf.compress, 1);
    assert_int_equal(r.conf.timeout, 90 * VG_SECOND);
    assert_int_equal(r.conf.max_size, 512 * 1024);
    assert_int_equal(r.conf.format, 0);
    assert_int_equal(r.conf.devices.n, 3);
    assert_string_equal(r.conf.devices.v[2], "sdc");
    assert_int_equal(r.conf.labels.n, 2);
    assert_string_equal(r.conf.labels.v[0].key, "env");
    assert_string_equal(r.conf.labels.v[0].value, "prod");
    assert_string_equal(r.conf.labels.v[1].key, "dc");
    assert_string_equal(r.conf.labels.v[1].value, "2");
    assert_int_equal(r.conf.tls_verify, 0);
    assert_string_equal(r.conf.tls_cert, "/c.pem");
    assert_string_equal(r.conf.tls_ca, "/etc/ssl/ca.pem");
    assert_int_equal(r.conf.rules.n, 2);
    rules = r.conf.rules.items;
    assert_string_equal(rules[0].name, "disk");
    assert_int_equal(rules[0].severity, 2);
    assert_int_equal(rules[0].after, 60 * VG_SECOND);
    assert_string_equal(rules[1].name, "cpu");
    assert_int_equal(rules[1].severity, 1);         /* default: warning */
    assert_int_equal(rules[1].after, 250 * VG_MILLISECOND);
    assert_string_equal(r.conf.token, "abc");
    assert_int_equal(r.conf.pin, 1234);
    run_done(&r);
}

static void
apply_strlist_from_one_scalar(void **state)
{
    struct run r;

    (void)state;
    run_ok(&r, "url: u\ndevices: nvme0n1\n");
    assert_int_equal(r.conf.devices.n, 1);
    assert_string_equal(r.conf.devices.v[0], "nvme0n1");
    assert_null(r.conf.devices.v[1]);
    run_done(&r);
}

static void
apply_null_keeps_default_and_quoted_empty_is_value(void **state)
{
    struct run r;

    (void)state;
    run_ok(&r, "url: u\nmethod:\ntimeout: ~\ntoken: \"\"\n");
    assert_string_equal(r.conf.method, "POST");
    assert_int_equal(r.conf.timeout, 10 * VG_SECOND);
    assert_string_equal(r.conf.token, "");
    run_done(&r);
}

static void
apply_substituted_value_is_typed(void **state)
{
    struct run r;

    (void)state;
    setenv("VIGIL_TEST_RETRIES", "12", 1);
    run_ok(&r, "url: u\nretries: ${VIGIL_TEST_RETRIES}\n");
    assert_int_equal(r.conf.retries, 12);
    run_done(&r);
}

/* ---- errors ----------------------------------------------------------- */

static void
error_unknown_key_with_and_without_hint(void **state)
{
    struct run r;

    (void)state;
    run(&r, "name: http\nurll: http://x/\n");
    assert_int_equal(r.err.n, 2);
    assert_string_equal(r.err.msgs[0], "vigil.yaml:2:1: output 'http': "
                        "unknown option 'urll' (did you mean 'url'?)");
    assert_string_equal(r.err.msgs[1], "vigil.yaml:1:1: output 'http': "
                        "missing required option 'url'");
    run_done(&r);
    expect_error("url: u\n  \nbanana: 1\n",
                 "vigil.yaml:3:1: output 'http': unknown option 'banana'");
    expect_error("url: u\nTimeOut: 1s\n",
                 "vigil.yaml:2:1: output 'http': unknown option 'TimeOut' "
                 "(did you mean 'timeout'?)");
}

static void
error_missing_required_at_instance(void **state)
{
    struct vg_errors err;
    struct conf conf;

    (void)state;
    expect_error("\n  name: http\n  method: GET\n",
                 "vigil.yaml:2:3: output 'http': missing required option "
                 "'url'");
    expect_error("url:\n",
                 "vigil.yaml:1:5: output 'http': option 'url' has no value");
    /* No mapping at all: no position to give. */
    memset(&conf, 0, sizeof(conf));
    vg_errors_init(&err);
    assert_int_equal(vg_options_apply(schema, NULL, &conf, "output 'http'",
                                      NULL, &err), -EINVAL);
    assert_int_equal(err.n, 1);
    assert_string_equal(err.msgs[0], "output 'http': missing required "
                        "option 'url'");
    vg_options_release(schema, &conf);
    vg_errors_release(&err);
}

static void
error_each_scalar_type(void **state)
{
    (void)state;
    expect_error("url: u\nretries: 12abc\n",
                 "vigil.yaml:2:10: output 'http': option 'retries' expects "
                 "an integer, got '12abc'");
    expect_error("url: u\nretries: 1.5\n",
                 "vigil.yaml:2:10: output 'http': option 'retries' expects "
                 "an integer, got '1.5'");
    expect_error("url: u\nretries: ' 5'\n",
                 "vigil.yaml:2:10: output 'http': option 'retries' expects "
                 "an integer, got ' 5'");
    expect_error("url: u\nretries: 99999999999999999999\n",
                 "vigil.yaml:2:10: output 'http': option 'retries' expects "
                 "an integer, got '99999999999999999999' (out of range)");
    expect_error("url: u\nratio: half\n",
                 "vigil.yaml:2:8: output 'http': option 'ratio' expects a "
                 "number, got 'half'");
    expect_error("url: u\nratio: nan\n",
                 "vigil.yaml:2:8: output 'http': option 'ratio' expects a "
                 "number, got 'nan'");
    expect_error("url: u\nratio: 1e999\n",
                 "vigil.yaml:2:8: output 'http': option 'ratio' expects a "
                 "number, got '1e999' (out of range)");
    expect_error("url: u\ncompress: maybe\n",
                 "vigil.yaml:2:11: output 'http': option 'compress' expects "
                 "a boolean (true/false, yes/no, on/off), got 'maybe'");
    expect_error("url: u\ntimeout: abc\n",
                 "vigil.yaml:2:10: output 'http': option 'timeout' expects "
                 "a duration (e.g. 10s, 500ms, 5m), got 'abc'");
    expect_error("url: u\ntimeout: 10q\n",
                 "vigil.yaml:2:10: output 'http': option 'timeout' expects "
                 "a duration (e.g. 10s, 500ms, 5m), got '10q'");
    expect_error("url: u\nmax_size: 12XB\n",
                 "vigil.yaml:2:11: output 'http': option 'max_size' expects "
                 "a size (e.g. 4096, 64KiB, 10MB), got '12XB'");
    expect_error("url: [a, b]\n",
                 "vigil.yaml:1:6: output 'http': option 'url' expects a "
                 "string, got a sequence");
    expect_error("url: u\ntimeout: {a: 1}\n",
                 "vigil.yaml:2:10: output 'http': option 'timeout' expects "
                 "a duration (e.g. 10s, 500ms, 5m), got a mapping");
}

static void
error_enum_lists_choices_and_suggests(void **state)
{
    (void)state;
    expect_error("url: u\nformat: jsn\n",
                 "vigil.yaml:2:9: output 'http': option 'format' expects "
                 "one of json|text, got 'jsn' (did you mean 'json'?)");
    expect_error("url: u\nformat: JSON\n",
                 "vigil.yaml:2:9: output 'http': option 'format' expects "
                 "one of json|text, got 'JSON' (did you mean 'json'?)");
    expect_error("url: u\nformat: yaml\n",
                 "vigil.yaml:2:9: output 'http': option 'format' expects "
                 "one of json|text, got 'yaml'");
    expect_error("url: u\nformat: [json]\n",
                 "vigil.yaml:2:9: output 'http': option 'format' expects "
                 "one of json|text, got a sequence");
}

static void
error_wrong_kind_for_collections(void **state)
{
    (void)state;
    expect_error("url: u\nlabels: [a, b]\n",
                 "vigil.yaml:2:9: output 'http': option 'labels' expects a "
                 "mapping, got a sequence");
    expect_error("url: u\nlabels: {env: [a]}\n",
                 "vigil.yaml:2:15: output 'http': option 'labels.env' "
                 "expects a string, got a sequence");
    expect_error("url: u\ndevices: {a: b}\n",
                 "vigil.yaml:2:10: output 'http': option 'devices' expects "
                 "a list of strings, got a mapping");
    expect_error("url: u\ndevices: [sda, [x]]\n",
                 "vigil.yaml:2:16: output 'http': option 'devices[1]' "
                 "expects a string, got a sequence");
    expect_error("url: u\ntls: yes\n",
                 "vigil.yaml:2:6: output 'http': option 'tls' expects a "
                 "mapping, got 'yes'");
    expect_error("url: u\nrules: {name: x}\n",
                 "vigil.yaml:2:8: output 'http': option 'rules' expects a "
                 "sequence of mappings, got a mapping");
    expect_error("url: u\nrules: [disk]\n",
                 "vigil.yaml:2:9: output 'http': option 'rules[0]' expects "
                 "a mapping, got 'disk'");
}

static void
error_nested_object_paths(void **state)
{
    (void)state;
    expect_error("url: u\ntls:\n  cert: c\n  verify: maybe\n",
                 "vigil.yaml:4:11: output 'http': option 'tls.verify' "
                 "expects a boolean (true/false, yes/no, on/off), got "
                 "'maybe'");
    expect_error("url: u\ntls:\n  cert: c\n  verfy: no\n",
                 "vigil.yaml:4:3: output 'http': unknown option 'tls.verfy' "
                 "(did you mean 'tls.verify'?)");
    expect_error("url: u\ntls:\n  verify: no\n",
                 "vigil.yaml:3:3: output 'http': missing required option "
                 "'tls.cert'");
}

static void
error_nested_list_paths(void **state)
{
    (void)state;
    expect_error("url: u\nrules:\n  - name: a\n  - name: b\n"
                 "  - name: c\n    severity: critcal\n",
                 "vigil.yaml:6:15: output 'http': option 'rules[2].severity' "
                 "expects one of info|warning|critical, got 'critcal' (did "
                 "you mean 'critical'?)");
    expect_error("url: u\nrules:\n  - name: a\n  - severity: info\n",
                 "vigil.yaml:4:5: output 'http': missing required option "
                 "'rules[1].name'");
    expect_error("url: u\nrules:\n  - name: a\n    aftr: 1s\n",
                 "vigil.yaml:4:5: output 'http': unknown option "
                 "'rules[0].aftr' (did you mean 'rules[0].after'?)");
}

static void
error_not_a_mapping(void **state)
{
    (void)state;
    expect_error("- url\n",
                 "vigil.yaml:1:1: output 'http': expected a mapping of "
                 "options, got a sequence");
}

static void
error_collects_every_problem(void **state)
{
    struct run r;

    (void)state;
    run(&r, "retries: x\nratio: y\nformat: z\n");
    assert_int_equal(r.rc, -EINVAL);
    assert_int_equal(r.err.n, 4);
    assert_string_equal(r.err.msgs[3], "vigil.yaml:1:1: output 'http': "
                        "missing required option 'url'");
    run_done(&r);
}

static void
error_without_owner_name(void **state)
{
    struct vg_errors err, lerr;
    struct vg_doc *doc;
    struct conf conf;

    (void)state;
    vg_errors_init(&lerr);
    vg_errors_init(&err);
    memset(&conf, 0, sizeof(conf));
    assert_int_equal(vg_doc_load_string("a.yaml", "url: u\nbad: 1\n", 14,
                                        &doc, &lerr), 0);
    assert_int_equal(vg_options_apply(schema, doc->root, &conf, NULL, NULL,
                                      &err), -EINVAL);
    assert_string_equal(err.msgs[0], "a.yaml:2:1: unknown option 'bad'");
    vg_options_release(schema, &conf);
    vg_errors_release(&err);
    vg_errors_release(&lerr);
    vg_doc_free(doc);
}

static void
error_secret_values_never_shown(void **state)
{
    struct run r;
    size_t i;

    (void)state;
    setenv("VIGIL_TEST_SECRET", "hunter2", 1);
    run(&r, "url: u\n"
            "retries: ${VIGIL_TEST_SECRET}\n"
            "format: ${VIGIL_TEST_SECRET}\n"
            "labels: ${VIGIL_TEST_SECRET}\n"
            "rules: [\"${VIGIL_TEST_SECRET}\"]\n"
            "pin: hunter2\n");
    assert_int_equal(r.rc, -EINVAL);
    assert_int_equal(r.err.n, 5);
    for (i = 0; i < r.err.n; i++)
        assert_null(strstr(r.err.msgs[i], "hunter2"));
    assert_string_equal(r.err.msgs[0], "vigil.yaml:2:10: output 'http': "
                        "option 'retries' expects an integer, got "
                        "<secret>");
    assert_string_equal(r.err.msgs[1], "vigil.yaml:3:9: output 'http': "
                        "option 'format' expects one of json|text, got "
                        "<secret>");
    assert_string_equal(r.err.msgs[4], "vigil.yaml:6:6: output 'http': "
                        "option 'pin' expects an integer, got <secret>");
    run_done(&r);
}

/* Each failure leaves a partly filled conf; ASan's leak check proves the
 * release frees everything, zeroed list elements included. */
static void
release_after_partial_failure(void **state)
{
    struct run r;

    (void)state;
    run(&r, "name: http\n"
            "url: http://x/\n"
            "method: PUT\n"
            "devices: [a, {b: c}, d]\n"
            "labels: {a: b, c: [d]}\n"
            "tls: {cert: x, ca: y, verify: maybe}\n"
            "rules:\n"
            "  - name: one\n"
            "    severity: bad\n"
            "  - plain\n"
            "  - {severity: info}\n"
            "token: t\n");
    assert_int_equal(r.rc, -EINVAL);
    assert_int_equal(r.err.n, 6);
    assert_string_equal(r.conf.method, "PUT");
    assert_int_equal(r.conf.devices.n, 2);
    assert_int_equal(r.conf.labels.n, 1);
    assert_int_equal(r.conf.rules.n, 3);
    run_done(&r);
    assert_null(r.conf.url);
    assert_int_equal(r.conf.rules.n, 0);
    assert_null(r.conf.rules.items);
    vg_options_release(schema, &r.conf);            /* twice is fine */
}

static void
release_zeroed_conf(void **state)
{
    struct conf conf;

    (void)state;
    memset(&conf, 0, sizeof(conf));
    vg_options_release(schema, &conf);
    vg_options_release(NULL, &conf);
    assert_null(conf.url);
}

/* ---- schema ----------------------------------------------------------- */

static void
check_schema_accepts_good(void **state)
{
    char why[256] = "";

    (void)state;
    assert_int_equal(vg_options_check_schema(schema, why, sizeof(why)), 0);
    assert_int_equal(vg_options_check_schema(NULL, why, sizeof(why)), 0);
    assert_int_equal(vg_options_check_conf(schema, sizeof(struct conf), why,
                                           sizeof(why)), 0);
    assert_string_equal(why, "");
}

static void
expect_schema_error(const struct vg_option *s, const char *msg)
{
    char why[256] = "";

    assert_int_equal(vg_options_check_schema(s, why, sizeof(why)), -EINVAL);
    assert_string_equal(why, msg);
}

static void
check_schema_rejects_each_problem(void **state)
{
    static const struct vg_option empty_sub[] = { { 0 } };
    static const struct vg_option bad_sub[] = {
        { .name = "x", .type = VG_OPT_SIZE, .def = "lots" },
        { 0 }
    };
    const struct vg_option bad_type[] = {
        { .name = "x", .type = (enum vg_opt_type)99 }, { 0 } };
    const struct vg_option no_choices[] = {
        { .name = "fmt", .type = VG_OPT_ENUM }, { 0 } };
    const struct vg_option empty_choice[] = {
        { .name = "fmt", .type = VG_OPT_ENUM, .choices = "a||b" }, { 0 } };
    const struct vg_option bad_duration[] = {
        { .name = "interval", .type = VG_OPT_DURATION, .def = "10q" },
        { 0 } };
    const struct vg_option bad_int[] = {
        { .name = "n", .type = VG_OPT_INT, .def = "ten" }, { 0 } };
    const struct vg_option bad_bool[] = {
        { .name = "b", .type = VG_OPT_BOOL, .def = "1" }, { 0 } };
    const struct vg_option bad_enum_def[] = {
        { .name = "fmt", .type = VG_OPT_ENUM, .choices = "json|text",
          .def = "xml" }, { 0 } };
    const struct vg_option required_def[] = {
        { .name = "url", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
          .def = "x" }, { 0 } };
    const struct vg_option dup[] = {
        { .name = "a", .type = VG_OPT_STR },
        { .name = "a", .type = VG_OPT_INT, .offset = 8 }, { 0 } };
    const struct vg_option bad_name[] = {
        { .name = "a", .type = VG_OPT_STR },
        { .name = "tls.ca", .type = VG_OPT_STR }, { 0 } };
    const struct vg_option obj_no_sub[] = {
        { .name = "tls", .type = VG_OPT_OBJECT }, { 0 } };
    const struct vg_option obj_empty_sub[] = {
        { .name = "tls", .type = VG_OPT_OBJECT, .sub = empty_sub }, { 0 } };
    const struct vg_option list_no_sub[] = {
        { .name = "rules", .type = VG_OPT_LIST, .elem_size = 8 }, { 0 } };
    const struct vg_option list_no_size[] = {
        { .name = "rules", .type = VG_OPT_LIST, .sub = rule_options },
        { 0 } };
    const struct vg_option map_def[] = {
        { .name = "labels", .type = VG_OPT_MAP, .def = "a=b" }, { 0 } };
    const struct vg_option nested[] = {
        { .name = "tls", .type = VG_OPT_OBJECT, .sub = bad_sub }, { 0 } };
    const struct vg_option misaligned[] = {
        { .name = "n", .type = VG_OPT_INT, .offset = 3 }, { 0 } };
    const struct vg_option elem_overflow[] = {
        { .name = "rules", .type = VG_OPT_LIST, .sub = rule_options,
          .elem_size = 8 }, { 0 } };

    (void)state;
    expect_schema_error(bad_type, "option 'x': unknown type 99");
    expect_schema_error(no_choices, "option 'fmt': ENUM without choices");
    expect_schema_error(empty_choice, "option 'fmt': empty choice in 'a||b'");
    expect_schema_error(bad_duration, "option 'interval': default '10q' is "
                        "not a valid duration");
    expect_schema_error(bad_int, "option 'n': default 'ten' is not a valid "
                        "integer");
    expect_schema_error(bad_bool, "option 'b': default '1' is not a valid "
                        "boolean");
    expect_schema_error(bad_enum_def, "option 'fmt': default 'xml' is not "
                        "one of json|text");
    expect_schema_error(required_def, "option 'url': a required option "
                        "cannot have a default");
    expect_schema_error(dup, "option 'a': declared twice");
    expect_schema_error(bad_name, "option #1: invalid name 'tls.ca' "
                        "(letters, digits, '_' and '-' only)");
    expect_schema_error(obj_no_sub, "option 'tls': OBJECT without "
                        "sub-options");
    expect_schema_error(obj_empty_sub, "option 'tls': OBJECT without "
                        "sub-options");
    expect_schema_error(list_no_sub, "option 'rules': LIST without "
                        "sub-options");
    expect_schema_error(list_no_size, "option 'rules': LIST without "
                        "elem_size");
    expect_schema_error(map_def, "option 'labels': a map of strings cannot "
                        "have a default");
    expect_schema_error(nested, "option 'tls.x': default 'lots' is not a "
                        "valid size");
    expect_schema_error(misaligned, "option 'n': offset 3 is not 8-byte "
                        "aligned");
    expect_schema_error(elem_overflow, "option 'rules.severity': field at "
                        "offset 8 (4 bytes) is past the end of its 8-byte "
                        "struct");
}

static void
check_conf_rejects_field_past_end(void **state)
{
    size_t end = offsetof(struct conf, pin);
    char why[256], *msg;

    (void)state;
    assert_int_equal(vg_options_check_conf(schema, end, why, sizeof(why)),
                     -EINVAL);
    msg = vg_xasprintf("option 'pin': field at offset %zu (8 bytes) is past "
                       "the end of its %zu-byte struct", end, end);
    assert_string_equal(why, msg);
    free(msg);
}

/* A schema whose object contains itself must not recurse forever. */
static const struct vg_option cyclic[] = {
    { .name = "again", .type = VG_OPT_OBJECT, .sub = cyclic },
    { 0 }
};

static void
check_schema_rejects_cycle(void **state)
{
    (void)state;
    expect_schema_error(cyclic, "option 'again.again.again.again.again."
                        "again.again.again': options nested deeper than 8 "
                        "levels");
}

/* ---- names and description ------------------------------------------ */

static void
type_names(void **state)
{
    static const char *const names[] = {
        "string", "integer", "number", "boolean", "duration", "size",
        "choice", "list of strings", "map of strings", "object",
        "list of objects",
    };
    size_t i;

    (void)state;
    for (i = 0; i < VG_ARRAY_LEN(names); i++)
        assert_string_equal(vg_option_type_name((enum vg_opt_type)(i + 1)),
                            names[i]);
    assert_string_equal(vg_option_type_name((enum vg_opt_type)0), "unknown");
}

static void
suggest_within_threshold(void **state)
{
    (void)state;
    assert_string_equal(vg_options_suggest(schema, "urll"), "url");
    assert_string_equal(vg_options_suggest(schema, "retires"), "retries");
    assert_string_equal(vg_options_suggest(schema, "MAX_SIZE"), "max_size");
    assert_string_equal(vg_options_suggest(schema, "maxsize"), "max_size");
    assert_null(vg_options_suggest(schema, "banana"));
    assert_null(vg_options_suggest(NULL, "url"));
}

static void
describe_lists_options_indented(void **state)
{
    char *text = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&text, &len);

    (void)state;
    assert_non_null(f);
    vg_options_describe(f, schema, 2);
    fclose(f);
    assert_string_equal(text,
        "  url (string, required) where to send\n"
        "  method (string, default: POST)\n"
        "  retries (integer, default: 3)\n"
        "  ratio (number, default: 0.5)\n"
        "  compress (boolean, default: off)\n"
        "  timeout (duration, default: 10s)\n"
        "  max_size (size, default: 64MiB)\n"
        "  format (choice, one of json|text, default: text)\n"
        "  devices (list of strings, default: loop*, ram*)\n"
        "  labels (map of strings)\n"
        "  tls (object)\n"
        "    verify (boolean, default: true) check the peer\n"
        "    ca (string, default: /etc/ssl/ca.pem)\n"
        "    cert (string, required)\n"
        "    timeout (duration, default: 5s)\n"
        "  rules (list of objects)\n"
        "    name (string, required)\n"
        "    severity (choice, one of info|warning|critical, default: "
        "warning)\n"
        "    after (duration, default: 1m)\n"
        "  token (string, secret)\n"
        "  pin (integer, secret)\n");
    free(text);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(apply_defaults_when_only_required_given),
        cmocka_unit_test(apply_every_type),
        cmocka_unit_test(apply_strlist_from_one_scalar),
        cmocka_unit_test(apply_null_keeps_default_and_quoted_empty_is_value),
        cmocka_unit_test(apply_substituted_value_is_typed),
        cmocka_unit_test(error_unknown_key_with_and_without_hint),
        cmocka_unit_test(error_missing_required_at_instance),
        cmocka_unit_test(error_each_scalar_type),
        cmocka_unit_test(error_enum_lists_choices_and_suggests),
        cmocka_unit_test(error_wrong_kind_for_collections),
        cmocka_unit_test(error_nested_object_paths),
        cmocka_unit_test(error_nested_list_paths),
        cmocka_unit_test(error_not_a_mapping),
        cmocka_unit_test(error_collects_every_problem),
        cmocka_unit_test(error_without_owner_name),
        cmocka_unit_test(error_secret_values_never_shown),
        cmocka_unit_test(release_after_partial_failure),
        cmocka_unit_test(release_zeroed_conf),
        cmocka_unit_test(check_schema_accepts_good),
        cmocka_unit_test(check_schema_rejects_each_problem),
        cmocka_unit_test(check_conf_rejects_field_past_end),
        cmocka_unit_test(check_schema_rejects_cycle),
        cmocka_unit_test(type_names),
        cmocka_unit_test(suggest_within_threshold),
        cmocka_unit_test(describe_lists_options_indented),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
