/* Unit tests of the plugin loader, through real modules (tests/plugins). */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "vigil_config.h"
#include "loader.h"
#include "util.h"

#define TP_DIR BUILDDIR "/tests/plugins/.libs"
#define PLUGIN_DIR BUILDDIR "/plugins/.libs"

static void
good_module_loads(void **state)
{
    struct vg_registry r;
    char why[512] = "";
    const struct vg_module *m;

    (void)state;
    assert_int_equal(vg_registry_init(&r, TP_DIR), 0);
    assert_int_equal(vg_registry_load_file(&r, TP_DIR "/tp_good.so", why,
                                           sizeof(why)), 0);
    m = vg_registry_find(&r, VG_KIND_OUTPUT, "tp_good");
    assert_non_null(m);
    assert_string_equal(m->desc.name, "tp_good");
    assert_string_equal(m->desc.options[0].name, "tag");
    assert_null(vg_registry_find(&r, VG_KIND_INPUT, "tp_good"));
    vg_registry_release(&r);
}

static void
wrong_abi_refused_with_both_versions(void **state)
{
    struct vg_registry r;
    char why[512] = "", want[128];

    (void)state;
    assert_int_equal(vg_registry_init(&r, TP_DIR), 0);
    assert_int_equal(vg_registry_load_file(&r, TP_DIR "/tp_old_abi.so", why,
                                           sizeof(why)), -EINVAL);
    snprintf(want, sizeof(want), "tp_old_abi.so: plugin ABI %d, this vigil "
             "speaks %d", VG_PLUGIN_ABI + 1, VG_PLUGIN_ABI);
    assert_string_equal(why, want);
    assert_int_equal(r.nrefused, 1);
    assert_null(vg_registry_find(&r, VG_KIND_OUTPUT, "tp_old_abi"));
    vg_registry_release(&r);
}

static void
missing_symbol_refused(void **state)
{
    struct vg_registry r;
    char why[512] = "";

    (void)state;
    assert_int_equal(vg_registry_init(&r, TP_DIR), 0);
    assert_int_equal(vg_registry_load_file(&r, TP_DIR "/tp_no_symbol.so",
                                           why, sizeof(why)), -EINVAL);
    assert_string_equal(why, "tp_no_symbol.so: not a vigil plugin (no "
                        "'vg_plugin' symbol)");
    vg_registry_release(&r);
}

static void
bad_schema_refused(void **state)
{
    struct vg_registry r;
    char why[512] = "";

    (void)state;
    assert_int_equal(vg_registry_init(&r, TP_DIR), 0);
    assert_int_equal(vg_registry_load_file(&r, TP_DIR "/tp_bad_schema.so",
                                           why, sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "tp_bad_schema.so: plugin 'tp_bad_schema' "
                           "has a bad option schema"));
    assert_non_null(strstr(why, "interval"));
    vg_registry_release(&r);
}

static void
missing_file_refused(void **state)
{
    struct vg_registry r;
    char why[512] = "";

    (void)state;
    assert_int_equal(vg_registry_init(&r, TP_DIR), 0);
    assert_int_equal(vg_registry_load_file(&r, TP_DIR "/nope.so", why,
                                           sizeof(why)), -EINVAL);
    assert_non_null(strstr(why, "nope.so: cannot load"));
    vg_registry_release(&r);
}

static void
duplicate_plugin_refused(void **state)
{
    char dir[] = "/tmp/vg-loader-XXXXXX", copy[128], cmd[512], why[512];
    struct vg_registry r;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(copy, sizeof(copy), "%s/other.so", dir);
    snprintf(cmd, sizeof(cmd), "cp %s/tp_good.so %s", TP_DIR, copy);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(vg_registry_init(&r, TP_DIR), 0);
    assert_int_equal(vg_registry_load_file(&r, TP_DIR "/tp_good.so", NULL,
                                           0), 0);
    assert_int_equal(vg_registry_load_file(&r, copy, why, sizeof(why)),
                     -EINVAL);
    assert_non_null(strstr(why, "other.so: output 'tp_good' is already "
                           "provided by"));
    vg_registry_release(&r);
    unlink(copy);
    rmdir(dir);
}

static void
find_by_name_and_scan(void **state)
{
    struct vg_registry r;
    size_t i;

    (void)state;
    assert_int_equal(vg_registry_init(&r, PLUGIN_DIR ":" TP_DIR), 0);
    /* Convention name: opens out_stdout.so alone. */
    assert_non_null(vg_registry_find(&r, VG_KIND_OUTPUT, "stdout"));
    assert_int_equal(r.nmods, 1);
    /* Not by convention: scanning finds it, refusing the broken ones. */
    assert_non_null(vg_registry_find(&r, VG_KIND_OUTPUT, "tp_good"));
    assert_null(vg_registry_find(&r, VG_KIND_INPUT, "no_such_plugin"));
    assert_true(r.nrefused >= 3);
    for (i = 0; i < r.nrefused; i++)
        assert_non_null(r.refused[i].why);
    vg_registry_release(&r);
}

/* A module anyone could have replaced is refused before it is opened. */
static void
world_writable_refused(void **state)
{
    char dir[] = "/tmp/vg-ww-XXXXXX", copy[128], cmd[512], why[512];
    struct vg_registry r;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(copy, sizeof(copy), "%s/out_tp.so", dir);
    snprintf(cmd, sizeof(cmd), "cp %s/tp_good.so %s", TP_DIR, copy);
    assert_int_equal(system(cmd), 0);
    assert_int_equal(vg_registry_init(&r, dir), 0);
    assert_int_equal(chmod(copy, 0666), 0);
    assert_int_equal(vg_registry_load_file(&r, copy, why, sizeof(why)),
                     -EINVAL);
    assert_string_equal(why, "out_tp.so: not loaded: the file is writable "
                        "by everyone");
    assert_int_equal(chmod(copy, 0644), 0);
    assert_int_equal(chmod(dir, 0777), 0);
    assert_int_equal(vg_registry_load_file(&r, copy, why, sizeof(why)),
                     -EINVAL);
    assert_non_null(strstr(why, "is writable by everyone"));
    assert_int_equal(chmod(dir, 0755), 0);
    assert_int_equal(vg_registry_load_file(&r, copy, why, sizeof(why)), 0);
    vg_registry_release(&r);
    unlink(copy);
    rmdir(dir);
}

/* Every plugin the build made loads through the real loader, and its
 * option schema passes the core's checks. */
static void
every_built_plugin_loads(void **state)
{
    struct vg_registry r;
    size_t i;

    (void)state;
    assert_int_equal(vg_registry_init(&r, PLUGIN_DIR), 0);
    vg_registry_load_all(&r);
    for (i = 0; i < r.nrefused; i++)
        print_error("refused: %s\n", r.refused[i].why);
    assert_int_equal(r.nrefused, 0);
    assert_true(r.nmods >= 5);
    for (i = 0; i < r.nmods; i++) {
        assert_non_null(r.mods[i]->desc.summary);
        assert_true(strlen(r.mods[i]->desc.summary) > 0);
    }
    vg_registry_release(&r);
}

/* configure's list of plugins left out of the build names why, per kind
 * ("postgres (input, output): libpq not found;"). */
static void
skipped_plugin_named_with_reason(void **state)
{
    static const char list[] = "postgres (input, output): libpq not found;"
                               "tail (input): --disable-tail;";
    char why[64] = "";

    (void)state;
    assert_int_equal(vg_plugin_skipped_why(list, VG_KIND_OUTPUT, "postgres",
                                           why, sizeof(why)), 1);
    assert_string_equal(why, "libpq not found");
    assert_int_equal(vg_plugin_skipped_why(list, VG_KIND_INPUT, "postgres",
                                           why, sizeof(why)), 1);
    assert_int_equal(vg_plugin_skipped_why(list, VG_KIND_INPUT, "tail",
                                           why, sizeof(why)), 1);
    assert_string_equal(why, "--disable-tail");
    /* wrong kind, a prefix of a name, absent, empty and malformed lists */
    assert_int_equal(vg_plugin_skipped_why(list, VG_KIND_FILTER, "tail",
                                           why, sizeof(why)), 0);
    assert_int_equal(vg_plugin_skipped_why(list, VG_KIND_INPUT, "tai",
                                           why, sizeof(why)), 0);
    assert_int_equal(vg_plugin_skipped_why(list, VG_KIND_INPUT, "syslog",
                                           why, sizeof(why)), 0);
    assert_int_equal(vg_plugin_skipped_why("", VG_KIND_INPUT, "tail",
                                           why, sizeof(why)), 0);
    assert_int_equal(vg_plugin_skipped_why("tail: x;", VG_KIND_INPUT,
                                           "tail", why, sizeof(why)), 0);
}

/* What this build's list names was indeed not built. */
static void
skipped_plugins_not_on_the_path(void **state)
{
    static const enum vg_kind kinds[] = {
        VG_KIND_INPUT, VG_KIND_FILTER, VG_KIND_OUTPUT
    };
    struct vg_registry r;
    const char *e = VG_SKIPPED_PLUGINS;
    size_t k;

    (void)state;
    assert_int_equal(vg_registry_init(&r, PLUGIN_DIR), 0);
    for (; *e; e = strchr(e, ';') + 1) {
        char name[32];
        size_t n = strcspn(e, " ");

        assert_true(n < sizeof(name));
        memcpy(name, e, n);
        name[n] = '\0';
        for (k = 0; k < sizeof(kinds) / sizeof(kinds[0]); k++)
            assert_null(vg_registry_find(&r, kinds[k], name));
    }
    vg_registry_release(&r);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(good_module_loads),
        cmocka_unit_test(wrong_abi_refused_with_both_versions),
        cmocka_unit_test(missing_symbol_refused),
        cmocka_unit_test(bad_schema_refused),
        cmocka_unit_test(missing_file_refused),
        cmocka_unit_test(duplicate_plugin_refused),
        cmocka_unit_test(find_by_name_and_scan),
        cmocka_unit_test(every_built_plugin_loads),
        cmocka_unit_test(world_writable_refused),
        cmocka_unit_test(skipped_plugin_named_with_reason),
        cmocka_unit_test(skipped_plugins_not_on_the_path),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
