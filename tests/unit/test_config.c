/*
 * The YAML loader: node positions, refused YAML features, substitution and
 * the exact error messages (with file:line:col) a user sees.
 */
#include <errno.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "options.h"    /* brings src/core/config.h */

#define FIXTURES SRCDIR "/tests/fixtures/config/"

/* Loads text; returns the rc, leaves doc and errors for checks. */
static int
load(const char *text, struct vg_doc **doc, struct vg_errors *err)
{
    vg_errors_init(err);
    return vg_doc_load_string("vigil.yaml", text, strlen(text), doc, err);
}

/* Loads text that must fail with exactly one error, and checks it. */
static void
expect_one_error(const char *text, const char *msg)
{
    struct vg_errors err;
    struct vg_doc *doc = (struct vg_doc *)1;

    assert_int_equal(load(text, &doc, &err), -EINVAL);
    assert_null(doc);
    assert_int_equal(err.n, 1);
    assert_string_equal(err.msgs[0], msg);
    vg_errors_release(&err);
}

/* Loads text that must succeed; returns the document. */
static struct vg_doc *
load_ok(const char *text)
{
    struct vg_errors err;
    struct vg_doc *doc = NULL;
    int rc = load(text, &doc, &err);

    if (err.n)
        print_error("unexpected error: %s\n", err.msgs[0]);
    assert_int_equal(rc, 0);
    assert_int_equal(err.n, 0);
    vg_errors_release(&err);
    return doc;
}

static const struct vg_node *
path2(const struct vg_doc *doc, const char *a, const char *b)
{
    const struct vg_node *n = vg_node_get(doc->root, a);

    assert_non_null(n);
    n = vg_node_get(n, b);
    assert_non_null(n);
    return n;
}

/* ---- files ------------------------------------------------------------ */

static void
load_file_missing_names_path_and_errno(void **state)
{
    struct vg_errors err;
    struct vg_doc *doc = NULL;

    (void)state;
    vg_errors_init(&err);
    assert_int_equal(vg_doc_load_file("/nonexistent/vigil.yaml", &doc, &err),
                     -EINVAL);
    assert_null(doc);
    assert_int_equal(err.n, 1);
    assert_string_equal(err.msgs[0], "cannot read '/nonexistent/vigil.yaml': "
                        "No such file or directory");
    vg_errors_release(&err);
}

static void
load_file_empty_and_comments_only_have_no_root(void **state)
{
    static const char *const files[] = { "empty.yaml", "comments_only.yaml" };
    struct vg_errors err;
    struct vg_doc *doc;
    size_t i;

    (void)state;
    for (i = 0; i < 2; i++) {
        char *path = vg_xasprintf("%s%s", FIXTURES, files[i]);

        vg_errors_init(&err);
        doc = NULL;
        assert_int_equal(vg_doc_load_file(path, &doc, &err), 0);
        assert_int_equal(err.n, 0);
        assert_non_null(doc);
        assert_null(doc->root);
        assert_string_equal(doc->file, path);
        vg_doc_free(doc);
        free(path);
    }
    vg_doc_free(load_ok("---\n"));
}

static void
load_file_syntax_error_has_position(void **state)
{
    struct vg_errors err;
    struct vg_doc *doc = NULL;

    (void)state;
    vg_errors_init(&err);
    assert_int_equal(vg_doc_load_file(FIXTURES "syntax.yaml", &doc, &err),
                     -EINVAL);
    assert_int_equal(err.n, 1);
    assert_string_equal(err.msgs[0], FIXTURES "syntax.yaml:3:11: invalid "
                        "YAML: mapping values are not allowed in this "
                        "context");
    vg_errors_release(&err);
}

static void
load_file_duplicate_key_names_first(void **state)
{
    struct vg_errors err;
    struct vg_doc *doc = NULL;

    (void)state;
    vg_errors_init(&err);
    assert_int_equal(vg_doc_load_file(FIXTURES "dup.yaml", &doc, &err),
                     -EINVAL);
    assert_null(doc);
    assert_int_equal(err.n, 1);
    assert_string_equal(err.msgs[0], FIXTURES "dup.yaml:6:9: duplicate key "
                        "'interval' (first at 5:9)");
    vg_errors_release(&err);
}

static void
load_file_anchor_and_alias_refused(void **state)
{
    struct vg_errors err;
    struct vg_doc *doc = NULL;

    (void)state;
    vg_errors_init(&err);
    assert_int_equal(vg_doc_load_file(FIXTURES "alias.yaml", &doc, &err),
                     -EINVAL);
    assert_int_equal(err.n, 2);
    assert_string_equal(err.msgs[0], FIXTURES "alias.yaml:1:11: YAML "
                        "anchors ('&common') are not supported");
    assert_string_equal(err.msgs[1], FIXTURES "alias.yaml:4:9: YAML "
                        "aliases ('*common') are not supported");
    vg_errors_release(&err);
}

static void
load_file_second_document_refused(void **state)
{
    struct vg_errors err;
    struct vg_doc *doc = NULL;

    (void)state;
    vg_errors_init(&err);
    assert_int_equal(vg_doc_load_file(FIXTURES "two_docs.yaml", &doc, &err),
                     -EINVAL);
    assert_int_equal(err.n, 1);
    assert_string_equal(err.msgs[0], FIXTURES "two_docs.yaml:3:1: more than "
                        "one YAML document ('---'): the config is one "
                        "document");
    vg_errors_release(&err);
}

static void
load_file_positions_and_substitution(void **state)
{
    struct vg_errors err;
    struct vg_doc *doc = NULL;
    const struct vg_node *in, *out, *n;

    (void)state;
    setenv("VIGIL_TEST_HOST", "db.example", 1);
    unsetenv("VIGIL_TEST_UNSET_LEVEL");
    vg_errors_init(&err);
    assert_int_equal(vg_doc_load_file(FIXTURES "good.yaml", &doc, &err), 0);
    assert_int_equal(err.n, 0);
    assert_int_equal(doc->root->type, VG_NODE_MAP);
    assert_int_equal(doc->root->line, 2);
    assert_int_equal(doc->root->col, 1);

    n = path2(doc, "agent", "log_level");
    assert_string_equal(n->value, "info");
    assert_int_equal(n->line, 3);
    assert_int_equal(n->col, 14);
    assert_false(n->quoted);
    assert_false(n->secret);
    n = path2(doc, "agent", "state_dir");
    assert_string_equal(n->value, "/var/lib/vigil");
    assert_true(n->quoted);
    assert_int_equal(n->col, 14);

    in = path2(doc, "pipelines", "host");
    in = vg_node_get(in, "inputs");
    assert_int_equal(in->type, VG_NODE_SEQ);
    assert_int_equal(in->n, 1);
    assert_int_equal(in->vals[0]->line, 8);
    assert_int_equal(in->vals[0]->col, 9);
    n = vg_node_get(in->vals[0], "devices");
    assert_int_equal(n->type, VG_NODE_SEQ);
    assert_int_equal(n->n, 2);
    assert_string_equal(n->vals[1]->value, "sdb");
    assert_int_equal(n->vals[1]->line, 10);
    assert_int_equal(n->vals[1]->col, 24);
    assert_true(n->vals[1]->quoted);
    assert_false(n->vals[0]->quoted);

    out = vg_node_get(path2(doc, "pipelines", "host"), "outputs")->vals[0];
    n = vg_node_get(out, "url");
    assert_string_equal(n->value, "http://db.example:8080/");
    assert_int_equal(n->len, strlen("http://db.example:8080/"));
    assert_true(n->secret);
    assert_int_equal(n->line, 13);
    assert_int_equal(n->col, 14);
    n = vg_node_get(out, "token");                  /* beside the file */
    assert_string_equal(n->value, "s3cr3t-token");
    assert_true(n->secret);
    n = vg_node_get(out, "level");
    assert_string_equal(n->value, "warn");
    assert_true(n->secret);
    n = vg_node_get(out, "literal");
    assert_string_equal(n->value, "${NOT_A_VAR}");
    assert_false(n->secret);
    vg_doc_free(doc);
    vg_errors_release(&err);
}

/* ---- refused YAML ----------------------------------------------------- */

static void
syntax_error_in_flow_names_context(void **state)
{
    (void)state;
    expect_one_error("a: [1, 2\nb: 3\n",
                     "vigil.yaml:2:2: invalid YAML: did not find expected "
                     "',' or ']' (while parsing a flow sequence at 1:4)");
}

static void
syntax_error_bad_utf8_has_position(void **state)
{
    (void)state;
    expect_one_error("a: 1\nb: \xff\n",
                     "vigil.yaml:2:4: invalid YAML: invalid leading UTF-8 "
                     "octet");
}

static void
duplicate_key_in_flow_mapping(void **state)
{
    (void)state;
    expect_one_error("labels: {env: prod, env: dev}\n",
                     "vigil.yaml:1:21: duplicate key 'env' (first at 1:10)");
}

static void
non_scalar_key_refused(void **state)
{
    (void)state;
    expect_one_error("? [a, b]\n: 1\n",
                     "vigil.yaml:1:3: mapping keys must be scalars, got a "
                     "sequence");
}

static void
custom_tag_refused_and_str_tag_quotes(void **state)
{
    struct vg_doc *doc;

    (void)state;
    expect_one_error("key: !secret abc\n",
                     "vigil.yaml:1:6: unsupported YAML tag '!secret'");
    doc = load_ok("a: !!str 10\nb: !!int 10\n");
    assert_true(vg_node_get(doc->root, "a")->quoted);
    assert_false(vg_node_get(doc->root, "b")->quoted);
    vg_doc_free(doc);
}

static void
deep_nesting_refused(void **state)
{
    char text[400];
    size_t i;

    (void)state;
    for (i = 0; i < 70; i++)
        text[i] = '[';
    text[i] = '\0';
    expect_one_error(text, "vigil.yaml:1:66: nesting deeper than 64 levels");
}

static void
errors_capped_at_100_then_one_line(void **state)
{
    struct vg_buf text;
    struct vg_errors err;
    struct vg_doc *doc;
    size_t i;

    (void)state;
    vg_buf_init(&text);
    vg_buf_addstr(&text, "k: 0\n");
    for (i = 0; i < 150; i++)
        vg_buf_addstr(&text, "k: 1\n");
    assert_int_equal(load(text.data, &doc, &err), -EINVAL);
    assert_int_equal(err.n, 101);
    assert_string_equal(err.msgs[0], "vigil.yaml:2:1: duplicate key 'k' "
                        "(first at 1:1)");
    assert_string_equal(err.msgs[99], "vigil.yaml:101:1: duplicate key 'k' "
                        "(first at 1:1)");
    assert_string_equal(err.msgs[100], "too many errors");
    vg_errors_release(&err);
    vg_buf_release(&text);
}

/* ---- substitution ----------------------------------------------------- */

static void
subst_unset_variable_is_error_at_scalar(void **state)
{
    (void)state;
    unsetenv("VIGIL_TEST_UNSET");
    expect_one_error("a: 1\nurl: http://${VIGIL_TEST_UNSET}/x\n",
                     "vigil.yaml:2:6: environment variable "
                     "'VIGIL_TEST_UNSET' is not set");
}

static void
subst_default_when_unset_or_empty(void **state)
{
    struct vg_doc *doc;

    (void)state;
    unsetenv("VIGIL_TEST_UNSET");
    setenv("VIGIL_TEST_EMPTY", "", 1);
    setenv("VIGIL_TEST_SET", "real", 1);
    doc = load_ok("a: ${VIGIL_TEST_UNSET:-fallback}\n"
                  "b: ${VIGIL_TEST_EMPTY:-fallback}\n"
                  "c: ${VIGIL_TEST_SET:-fallback}\n"
                  "d: x${VIGIL_TEST_UNSET:-}y\n"
                  "e: ${VIGIL_TEST_EMPTY}\n");
    assert_string_equal(vg_node_get(doc->root, "a")->value, "fallback");
    assert_string_equal(vg_node_get(doc->root, "b")->value, "fallback");
    assert_string_equal(vg_node_get(doc->root, "c")->value, "real");
    assert_string_equal(vg_node_get(doc->root, "d")->value, "xy");
    assert_string_equal(vg_node_get(doc->root, "e")->value, "");
    assert_true(vg_node_get(doc->root, "e")->secret);
    vg_doc_free(doc);
}

static void
subst_is_not_recursive(void **state)
{
    struct vg_doc *doc;

    (void)state;
    setenv("VIGIL_TEST_INDIRECT", "${HOME}", 1);
    doc = load_ok("a: ${VIGIL_TEST_INDIRECT}\n");
    assert_string_equal(vg_node_get(doc->root, "a")->value, "${HOME}");
    vg_doc_free(doc);
}

static void
subst_dollar_dollar_is_literal(void **state)
{
    struct vg_doc *doc;

    (void)state;
    doc = load_ok("a: 'cost $$5, $${HOME} and $$${X'\n");
    assert_string_equal(vg_node_get(doc->root, "a")->value,
                        "cost $$5, ${HOME} and $${X");
    assert_false(vg_node_get(doc->root, "a")->secret);
    vg_doc_free(doc);
}

static void
subst_keys_are_not_substituted(void **state)
{
    struct vg_doc *doc;

    (void)state;
    doc = load_ok("${VIGIL_TEST_UNSET}: 1\n");
    assert_string_equal(doc->root->keys[0]->value, "${VIGIL_TEST_UNSET}");
    vg_doc_free(doc);
}

static void
subst_bad_references_refused(void **state)
{
    (void)state;
    expect_one_error("a: ${NOPE\n",
                     "vigil.yaml:1:4: unterminated '${' (missing '}'; "
                     "write '$${' for a literal '${')");
    expect_one_error("a: ${1ABC}\n",
                     "vigil.yaml:1:4: invalid variable reference '${1ABC}' "
                     "(expected ${NAME}, ${NAME:-default} or "
                     "${file:PATH})");
    expect_one_error("a: ${X:default}\n",
                     "vigil.yaml:1:4: invalid variable reference "
                     "'${X:default}' (expected ${NAME}, ${NAME:-default} or "
                     "${file:PATH})");
    expect_one_error("a: ${file:}\n",
                     "vigil.yaml:1:4: empty path in '${file:}'");
}

static void
subst_file_strips_one_newline(void **state)
{
    struct vg_doc *doc;

    (void)state;
    doc = load_ok("a: ${file:" FIXTURES "two_newlines.txt}\n"
                  "b: key=${file:" FIXTURES "secret.txt};\n");
    assert_string_equal(vg_node_get(doc->root, "a")->value, "two\nlines\n");
    assert_string_equal(vg_node_get(doc->root, "b")->value,
                        "key=s3cr3t-token;");
    assert_true(vg_node_get(doc->root, "b")->secret);
    vg_doc_free(doc);
}

static void
subst_file_missing_names_path_and_errno(void **state)
{
    (void)state;
    expect_one_error("\nkey: ${file:/nonexistent/pd.key}\n",
                     "vigil.yaml:2:6: cannot read '/nonexistent/pd.key' for "
                     "${file:...}: No such file or directory");
}

static void
subst_file_over_1mib_refused(void **state)
{
    char path[] = "/tmp/vigil-test-big-XXXXXX";
    char *text, *msg, *block = calloc(1, 4096);
    int fd = mkstemp(path);
    size_t i;

    (void)state;
    assert_true(fd >= 0);
    memset(block, 'x', 4096);
    for (i = 0; i < 256; i++)
        assert_int_equal(write(fd, block, 4096), 4096);
    assert_int_equal(write(fd, "x", 1), 1);         /* 1 MiB + 1 */
    close(fd);
    text = vg_xasprintf("a: ${file:%s}\n", path);
    msg = vg_xasprintf("vigil.yaml:1:4: cannot read '%s' for ${file:...}: "
                       "larger than 1 MiB", path);
    expect_one_error(text, msg);
    unlink(path);
    free(text);
    free(msg);
    free(block);
}

static void
subst_secret_value_never_in_errors(void **state)
{
    struct vg_errors err;
    struct vg_doc *doc;
    char shown[64];
    size_t i;

    (void)state;
    setenv("VIGIL_TEST_SECRET", "hunter2", 1);
    /* The same key twice: the duplicate message shows keys, not values. */
    assert_int_equal(load("pw: ${VIGIL_TEST_SECRET}\n"
                          "pw: ${VIGIL_TEST_SECRET}x\n"
                          "u: ${VIGIL_TEST_UNSET}${VIGIL_TEST_SECRET}\n",
                          &doc, &err), -EINVAL);
    assert_int_equal(err.n, 2);
    for (i = 0; i < err.n; i++)
        assert_null(strstr(err.msgs[i], "hunter2"));
    vg_errors_release(&err);

    doc = load_ok("pw: ${VIGIL_TEST_SECRET}\n");
    assert_string_equal(vg_node_show(vg_node_get(doc->root, "pw"), shown,
                                     sizeof(shown)), "<secret>");
    vg_doc_free(doc);
}

/* ---- helpers ---------------------------------------------------------- */

static void
node_empty_quoted_scalar_is_empty_string(void **state)
{
    struct vg_doc *doc;
    const struct vg_node *n;

    (void)state;
    doc = load_ok("a: \"\"\nb:\n");
    n = vg_node_get(doc->root, "a");
    assert_string_equal(n->value, "");
    assert_int_equal(n->len, 0);
    assert_true(n->quoted);
    n = vg_node_get(doc->root, "b");
    assert_string_equal(n->value, "");
    assert_false(n->quoted);
    vg_doc_free(doc);
}

static void
node_get_and_type_names(void **state)
{
    struct vg_doc *doc;

    (void)state;
    doc = load_ok("a: 1\nb: [x]\nc: {d: e}\n");
    assert_null(vg_node_get(NULL, "a"));
    assert_null(vg_node_get(doc->root, "zz"));
    assert_null(vg_node_get(vg_node_get(doc->root, "b"), "x"));
    assert_string_equal(vg_node_get(vg_node_get(doc->root, "c"), "d")->value,
                        "e");
    assert_string_equal(vg_node_type_name(VG_NODE_SCALAR), "a scalar");
    assert_string_equal(vg_node_type_name(VG_NODE_MAP), "a mapping");
    assert_string_equal(vg_node_type_name(VG_NODE_SEQ), "a sequence");
    vg_doc_free(doc);
}

static void
node_show_quotes_truncates_and_hides(void **state)
{
    struct vg_doc *doc;
    char buf[16];

    (void)state;
    doc = load_ok("a: short\nb: a-rather-long-value\nc: [1]\nd: {x: 1}\n"
                  "e: \"tab\\there\"\nf: \"\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9"
                  "\xc3\xa9\xc3\xa9\xc3\xa9\"\n");
    assert_string_equal(vg_node_show(vg_node_get(doc->root, "a"), buf,
                                     sizeof(buf)), "'short'");
    assert_string_equal(vg_node_show(vg_node_get(doc->root, "b"), buf,
                                     sizeof(buf)), "'a-rather-l...'");
    assert_string_equal(vg_node_show(vg_node_get(doc->root, "c"), buf,
                                     sizeof(buf)), "a sequence");
    assert_string_equal(vg_node_show(vg_node_get(doc->root, "d"), buf,
                                     sizeof(buf)), "a mapping");
    assert_string_equal(vg_node_show(vg_node_get(doc->root, "e"), buf,
                                     sizeof(buf)), "'tab?here'");
    /* 10 bytes of room: never half of a two-byte character. */
    assert_string_equal(vg_node_show(vg_node_get(doc->root, "f"), buf,
                                     sizeof(buf)),
                        "'\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9\xc3\xa9...'");
    vg_doc_free(doc);
}

static void
errors_add_formats(void **state)
{
    struct vg_errors err;
    struct vg_doc *doc;

    (void)state;
    doc = load_ok("\n  a: 1\n");
    vg_errors_init(&err);
    vg_errors_add(&err, vg_node_get(doc->root, "a"), "bad %s", "thing");
    vg_errors_add(&err, NULL, "no position %d", 7);
    vg_errors_addf(&err, "%s: as given", "x.yaml");
    assert_int_equal(err.n, 3);
    assert_string_equal(err.msgs[0], "vigil.yaml:2:6: bad thing");
    assert_string_equal(err.msgs[1], "no position 7");
    assert_string_equal(err.msgs[2], "x.yaml: as given");
    vg_errors_release(&err);
    assert_int_equal(err.n, 0);
    vg_errors_release(&err);                        /* twice is fine */
    vg_doc_free(doc);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(load_file_missing_names_path_and_errno),
        cmocka_unit_test(load_file_empty_and_comments_only_have_no_root),
        cmocka_unit_test(load_file_syntax_error_has_position),
        cmocka_unit_test(load_file_duplicate_key_names_first),
        cmocka_unit_test(load_file_anchor_and_alias_refused),
        cmocka_unit_test(load_file_second_document_refused),
        cmocka_unit_test(load_file_positions_and_substitution),
        cmocka_unit_test(syntax_error_in_flow_names_context),
        cmocka_unit_test(syntax_error_bad_utf8_has_position),
        cmocka_unit_test(duplicate_key_in_flow_mapping),
        cmocka_unit_test(non_scalar_key_refused),
        cmocka_unit_test(custom_tag_refused_and_str_tag_quotes),
        cmocka_unit_test(deep_nesting_refused),
        cmocka_unit_test(errors_capped_at_100_then_one_line),
        cmocka_unit_test(subst_unset_variable_is_error_at_scalar),
        cmocka_unit_test(subst_default_when_unset_or_empty),
        cmocka_unit_test(subst_is_not_recursive),
        cmocka_unit_test(subst_dollar_dollar_is_literal),
        cmocka_unit_test(subst_keys_are_not_substituted),
        cmocka_unit_test(subst_bad_references_refused),
        cmocka_unit_test(subst_file_strips_one_newline),
        cmocka_unit_test(subst_file_missing_names_path_and_errno),
        cmocka_unit_test(subst_file_over_1mib_refused),
        cmocka_unit_test(subst_secret_value_never_in_errors),
        cmocka_unit_test(node_empty_quoted_scalar_is_empty_string),
        cmocka_unit_test(node_get_and_type_names),
        cmocka_unit_test(node_show_quotes_truncates_and_hides),
        cmocka_unit_test(errors_add_formats),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
