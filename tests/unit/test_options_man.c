/*
 * vg_options_describe_man: the roff that vigil.yaml(5) is generated from.
 * Each option is a .TP entry tagged with its full path, nested options sit
 * between .RS and .RE, secrets never show a default, and text that roff
 * would misread (backslashes, minus signs, a leading dot) is escaped.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "options.h"

struct item {
    char *name;
    int   level;
};

struct conf {
    char           *url;
    char           *token;
    int64_t         timeout;
    int             verify;
    struct vg_list  items;
};

static const struct vg_option tls_options[] = {
    { .name = "verify", .type = VG_OPT_BOOL, .def = "true",
      .offset = offsetof(struct conf, verify), .help = "check the peer" },
    { 0 }
};

static const struct vg_option item_options[] = {
    { .name = "name", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct item, name), .help = "item name" },
    { .name = "level", .type = VG_OPT_ENUM, .def = "low",
      .choices = "low|high", .offset = offsetof(struct item, level) },
    { 0 }
};

static const struct vg_option schema[] = {
    { .name = "url", .type = VG_OPT_STR, .flags = VG_OPT_REQUIRED,
      .offset = offsetof(struct conf, url),
      .help = ".well-known path, or C:\\dir" },
    { .name = "token", .type = VG_OPT_STR, .flags = VG_OPT_SECRET,
      .def = "s3cret", .offset = offsetof(struct conf, token),
      .help = "bearer token" },
    { .name = "timeout", .type = VG_OPT_DURATION, .def = "-1s",
      .offset = offsetof(struct conf, timeout), .help = "" },
    { .name = "tls", .type = VG_OPT_OBJECT, .sub = tls_options,
      .help = "TLS settings" },
    { .name = "items", .type = VG_OPT_LIST, .sub = item_options,
      .elem_size = sizeof(struct item),
      .offset = offsetof(struct conf, items), .help = "the items" },
    { 0 }
};

/* The roff for schema, as a NUL-terminated string the caller frees. */
static char *
describe(const struct vg_option *s, const char *prefix)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);

    assert_non_null(f);
    vg_options_describe_man(f, s, prefix);
    assert_int_equal(fclose(f), 0);
    return buf;
}

static void
man_entry_has_path_type_flags_and_help(void **state)
{
    char *out = describe(schema, "");

    (void)state;
    assert_non_null(strstr(out,
        ".TP\n\\fBurl\\fR\n\\fIstring\\fR, required.\n.br\n"));
    assert_non_null(strstr(out,
        ".TP\n\\fBtimeout\\fR\n\\fIduration\\fR, default: \\fB\\-1s\\fR.\n"
        ".TP\n"));                      /* empty help: no .br line */
    free(out);
}

static void
man_nested_options_indented_with_full_path(void **state)
{
    char *out = describe(schema, "");

    (void)state;
    assert_non_null(strstr(out,
        "TLS settings\n.RS\n.TP\n\\fBtls.verify\\fR\n"
        "\\fIboolean\\fR, default: \\fBtrue\\fR.\n.br\ncheck the peer\n"
        ".RE\n"));
    assert_non_null(strstr(out,
        ".RS\n.TP\n\\fBitems[].name\\fR\n\\fIstring\\fR, required.\n"));
    assert_non_null(strstr(out,
        ".TP\n\\fBitems[].level\\fR\n\\fIchoice\\fR, one of "
        "\\fBlow|high\\fR, default: \\fBlow\\fR.\n.RE\n"));
    free(out);
}

static void
man_secret_default_never_shown(void **state)
{
    char *out = describe(schema, "");

    (void)state;
    assert_null(strstr(out, "s3cret"));
    assert_non_null(strstr(out,
        "\\fBtoken\\fR\n\\fIstring\\fR, secret.\n"));
    free(out);
}

static void
man_text_escaped_for_roff(void **state)
{
    char *out = describe(schema, "");

    (void)state;
    /* a help line starting with '.' would be a request; '\' an escape */
    assert_non_null(strstr(out, "\n\\&.well\\-known path, or C:\\edir\n"));
    free(out);
}

/* A default built from the install prefix can be longer than a man line:
 * groff may break it after each slash, but not after a trailing one. */
static void
man_path_default_breakable_after_slashes(void **state)
{
    static const struct vg_option paths[] = {
        { .name = "dir", .type = VG_OPT_STR, .def = "/var/lib/x/" },
        { 0 }
    };
    char *out = describe(paths, "");

    (void)state;
    assert_non_null(strstr(out,
        "default: \\fB/\\:var/\\:lib/\\:x/\\fR.\n"));
    free(out);
}

static void
man_prefix_names_the_parent(void **state)
{
    char *out = describe(tls_options, "http.");

    (void)state;
    assert_string_equal(out, ".TP\n\\fBhttp.verify\\fR\n\\fIboolean\\fR, "
                        "default: \\fBtrue\\fR.\n.br\ncheck the peer\n");
    free(out);
}

static void
man_empty_schema_prints_nothing(void **state)
{
    static const struct vg_option none[] = { { 0 } };
    char *out = describe(none, NULL);

    (void)state;
    assert_string_equal(out, "");
    free(out);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(man_entry_has_path_type_flags_and_help),
        cmocka_unit_test(man_nested_options_indented_with_full_path),
        cmocka_unit_test(man_secret_default_never_shown),
        cmocka_unit_test(man_path_default_breakable_after_slashes),
        cmocka_unit_test(man_text_escaped_for_roff),
        cmocka_unit_test(man_prefix_names_the_parent),
        cmocka_unit_test(man_empty_schema_prints_nothing),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
