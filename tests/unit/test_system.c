/*
 * The system input's collectors: parsing helpers, every group against
 * captured /proc trees of several kernel generations (tests/fixtures/proc),
 * utilisation from deltas on trees the test writes, and the real /proc
 * of this machine checked against what it says itself.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <mntent.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include "sys.h"

#define FIXTURES SRCDIR "/tests/fixtures/proc/"

/* ---- helpers ---------------------------------------------------------- */

/* A conf with the plugin's defaults, parsed from the same YAML strings. */
struct tconf {
    struct sys_conf conf;
    char            store[4096];
    size_t          used;
    char           *ptrs[128];
    size_t          nptrs;
    char            root[PATH_MAX];
};

/* Parses "a, b*" (a STRLIST default) or "[a, b*]" into sv, the strings
 * kept in t. */
static void
strv_parse(struct tconf *t, struct vg_strv *sv, const char *yaml)
{
    size_t n = strlen(yaml);
    char *p = t->store + t->used, *tok, *save = NULL;

    assert_true(t->used + n < sizeof(t->store));
    if (yaml[0] == '[' && yaml[n - 1] == ']') {
        yaml++;
        n -= 2;
    }
    memcpy(p, yaml, n);
    p[n] = '\0';
    t->used += n + 1;
    sv->v = t->ptrs + t->nptrs;
    sv->n = 0;
    for (tok = strtok_r(p, ", ", &save); tok != NULL;
         tok = strtok_r(NULL, ", ", &save)) {
        assert_true(t->nptrs < sizeof(t->ptrs) / sizeof(t->ptrs[0]));
        t->ptrs[t->nptrs++] = tok;
        sv->n++;
    }
}

static void
tconf_init(struct tconf *t, const char *root)
{
    memset(t, 0, sizeof(*t));
    t->conf.interval = 10 * VG_SECOND;
    snprintf(t->root, sizeof(t->root), "%s", root);
    t->conf.root = t->root;
    strv_parse(t, &t->conf.disk_exclude, SYS_DEF_DISK_EXCLUDE);
    strv_parse(t, &t->conf.fs_exclude_mounts, SYS_DEF_FS_EXCLUDE_MOUNTS);
    strv_parse(t, &t->conf.fs_exclude_types, SYS_DEF_FS_EXCLUDE_TYPES);
    strv_parse(t, &t->conf.net_exclude, SYS_DEF_NET_EXCLUDE);
}

static void
tconf_collect(struct tconf *t, const char *yaml)
{
    strv_parse(t, &t->conf.collect, yaml);
}

/* Log messages, to check what was said and how often. */
struct tlog {
    int  n;
    int  level[16];
    char msg[16][256];
};

static void
on_log(void *arg, int level, const char *msg)
{
    struct tlog *l = arg;

    if (l->n < 16) {
        l->level[l->n] = level;
        snprintf(l->msg[l->n], sizeof(l->msg[0]), "%s", msg);
    }
    l->n++;
}

static double
value_of(const struct sys_sink *s, const struct sys_sample *m)
{
    (void)s;
    assert_non_null(m);
    return m->value;
}

static double
total_of(const struct sys_sink *s, const char *name, const char *key,
         const char *val)
{
    double sum = 0;
    size_t i;

    for (i = 0; i < s->n; i++) {
        const char *got;

        if (strcmp(s->v[i].name, name) != 0)
            continue;
        got = key ? sys_sample_label(s, &s->v[i], key) : NULL;
        if (key == NULL || (got && strcmp(got, val) == 0))
            sum += s->v[i].value;
    }
    return sum;
}

static void
write_file(const char *dir, const char *rel, const char *text)
{
    char path[PATH_MAX], *slash;
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", dir, rel);
    for (slash = strchr(path + strlen(dir) + 1, '/'); slash;
         slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        mkdir(path, 0755);
        *slash = '/';
    }
    f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static void
rm_tree(const char *dir)
{
    char cmd[PATH_MAX + 16];

    snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
    assert_int_equal(system(cmd), 0);
}

/* ---- parsing helpers -------------------------------------------------- */

static void
test_procfs_numbers_and_words(void **state)
{
    uint64_t u;
    double d;
    const char *w, *p;
    size_t len;

    (void)state;
    p = pf_u64("  18446744073709551615 x", &u);
    assert_non_null(p);
    assert_true(u == UINT64_MAX);
    assert_string_equal(p, " x");
    assert_null(pf_u64("  abc", &u));
    assert_non_null(pf_double("0.70 ", &d));
    assert_float_equal(d, 0.70, 1e-12);
    assert_non_null(pf_double("12", &d));
    assert_float_equal(d, 12.0, 1e-12);
    p = pf_word(" \tsome avg10=1", &w, &len);
    assert_int_equal(len, 4);
    assert_memory_equal(w, "some", 4);
    p = pf_word(p, &w, &len);
    assert_int_equal(len, 7);
    assert_null(pf_word(p, &w, &len));
    assert_string_equal(pf_next_line("a\nb"), "b");
    assert_string_equal(pf_next_line("ab"), "");
}

static void
test_filter_include_and_exclude(void **state)
{
    char *inc_v[] = { "sd*", "nvme*" }, *exc_v[] = { "*p1", "sda" };
    struct vg_strv inc = { 2, inc_v }, exc = { 2, exc_v }, none = { 0, 0 };

    (void)state;
    assert_true(pf_filter_pass(&none, &none, "anything"));
    assert_true(pf_filter_pass(&inc, &none, "sdb"));
    assert_false(pf_filter_pass(&inc, &none, "dm-0"));
    assert_false(pf_filter_pass(&inc, &exc, "sda"));
    assert_false(pf_filter_pass(&inc, &exc, "nvme0n1p1"));
    assert_true(pf_filter_pass(&inc, &exc, "nvme0n1p2"));
    assert_false(pf_filter_pass(&none, &exc, "sda"));
}

static void
test_file_reread_sees_new_contents(void **state)
{
    char dir[] = "/tmp/vg-sys-XXXXXX";
    struct pf_file f;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_file(dir, "a", "first\n");
    pf_file_init(&f, dir, "/a");
    assert_int_equal(pf_file_read(&f), 6);
    assert_string_equal(f.buf, "first\n");
    /* Same fd, re-read from offset 0 after the file was rewritten. */
    write_file(dir, "a", "second, longer\n");
    assert_int_equal(pf_file_read(&f), 15);
    assert_string_equal(f.buf, "second, longer\n");
    /* A file that is not there: -ENOENT, and marked missing so that
     * optional files (PSI, tcp6) are not looked for again. */
    pf_file_release(&f);
    pf_file_init(&f, dir, "/missing");
    assert_int_equal(pf_file_read(&f), -ENOENT);
    assert_true(f.missing);
    pf_file_release(&f);
    rm_tree(dir);
}

struct lines {
    int    n;
    size_t bytes;
    char   last[64];
};

static void
on_line(char *line, void *arg)
{
    struct lines *l = arg;

    l->n++;
    l->bytes += strlen(line);
    snprintf(l->last, sizeof(l->last), "%s", line);
}

static void
test_file_lines_across_chunks(void **state)
{
    char dir[] = "/tmp/vg-sys-XXXXXX", path[PATH_MAX];
    struct pf_file f;
    struct lines l = { 0, 0, "" };
    FILE *out;
    int i;

    (void)state;
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof(path), "%s/big", dir);
    out = fopen(path, "w");
    assert_non_null(out);
    /* 20000 lines of 150 bytes: many 64 KiB chunks, lines split across
     * them, and a last line without a newline. */
    for (i = 0; i < 20000; i++)
        fprintf(out, "%05d %0143d\n", i, 0);
    fprintf(out, "tail");
    fclose(out);
    pf_file_init(&f, dir, "/big");
    assert_int_equal(pf_file_lines(&f, on_line, &l), 0);
    assert_int_equal(l.n, 20001);
    assert_int_equal(l.bytes, 20000 * 149 + 4);
    assert_string_equal(l.last, "tail");
    pf_file_release(&f);
    rm_tree(dir);
}

static void
test_mountinfo_parse_fields_and_escapes(void **state)
{
    char l1[] = "36 35 98:0 /mnt1 /mnt/my\\040disk rw,noatime master:1 "
                "shared:2 - ext3 /dev/root rw,errors=continue";
    char l2[] = "27 1 259:2 / / rw,relatime - ext4 /dev/nvme0n1p2 rw";
    char bad[] = "27 1 259:2 / / rw,relatime ext4";
    struct sys_mount m;

    (void)state;
    assert_int_equal(sys_mountinfo_parse(l1, &m), 0);
    assert_string_equal(m.mountpoint, "/mnt/my disk");
    assert_string_equal(m.fstype, "ext3");
    assert_string_equal(m.source, "/dev/root");
    assert_int_equal(sys_mountinfo_parse(l2, &m), 0);
    assert_string_equal(m.mountpoint, "/");
    assert_string_equal(m.fstype, "ext4");
    assert_int_equal(sys_mountinfo_parse(bad, &m), -EINVAL);
}

static void
test_mount_filters_defaults(void **state)
{
    struct tconf t;
    struct sys_mount m;

    (void)state;
    tconf_init(&t, "/");
#define WANT(mp, ty) (m.mountpoint = (mp), m.fstype = (ty), m.source = "x", \
                      sys_mount_wanted(&t.conf, &m))
    assert_true(WANT("/", "ext4"));
    assert_true(WANT("/home", "xfs"));
    assert_true(WANT("/dev/shm", "tmpfs"));     /* tmpfs fills RAM: kept */
    assert_false(WANT("/proc", "proc"));
    assert_false(WANT("/sys/fs/cgroup", "cgroup2"));
    assert_false(WANT("/dev", "devtmpfs"));
    assert_false(WANT("/srv/nfs", "nfs4"));
    assert_false(WANT("/media/x", "fuse.sshfs"));
    assert_false(WANT("/var/lib/docker/overlay2/x/merged", "ext4"));
    strv_parse(&t, &t.conf.fs_include_mounts, "[/home*]");
    assert_false(WANT("/", "ext4"));
    assert_true(WANT("/home", "xfs"));
    strv_parse(&t, &t.conf.fs_exclude_types, "[xfs]");
    assert_false(WANT("/home", "xfs"));
#undef WANT
}

static void
test_unknown_group_is_refused(void **state)
{
    struct tconf t;
    struct sys_ctx c;
    struct tlog log = { 0 };

    (void)state;
    tconf_init(&t, "/");
    tconf_collect(&t, "[cpu, disks]");
    assert_int_equal(sys_ctx_init(&c, &t.conf, on_log, &log), -EINVAL);
    assert_int_equal(log.n, 1);
    assert_non_null(strstr(log.msg[0], "'disks'"));
    sys_ctx_release(&c);
}

/* ---- fixtures --------------------------------------------------------- */

struct fx {
    struct tconf    t;
    struct sys_ctx  c;
    struct sys_sink s;
    struct tlog     log;
};

static struct fx *
fx_new(const char *root, const char *collect)
{
    struct fx *f = calloc(1, sizeof(*f));

    assert_non_null(f);
    tconf_init(&f->t, root);
    if (collect)
        tconf_collect(&f->t, collect);
    assert_int_equal(sys_ctx_init(&f->c, &f->t.conf, on_log, &f->log), 0);
    return f;
}

static void
fx_free(struct fx *f)
{
    sys_ctx_release(&f->c);
    sys_sink_release(&f->s);
    free(f);
}

static const struct sys_sample *
find2(const struct sys_sink *s, const char *name, const char *k1,
      const char *v1, const char *k2, const char *v2)
{
    return sys_sink_find(s, name, k1, v1, k2, v2, SYS_END);
}

static void
test_fixture_cpu_times_and_counters(void **state)
{
    struct fx *f = fx_new(FIXTURES "linux-4.19", "[cpu]");
    double hz = (double)sysconf(_SC_CLK_TCK);

    (void)state;
    sys_collect(&f->c, &f->s, 1);
    /* cpu total line: sum over 4 cpus of 1000*(i+1) + i = 10006 ticks */
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.time", "cpu.mode", "user", SYS_END)),
                       10006.0 / hz, 1e-9);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.time", "cpu.mode", "idle", SYS_END)),
                       (50000.0 * 4 + 11 * 6) / hz, 1e-9);
    assert_int_equal(sys_sink_count(&f->s, "system.cpu.time"), 8);
    assert_null(sys_sink_find(&f->s, "system.cpu.time", "cpu.mode", "guest",
                              SYS_END));
    /* per cpu is off by default, and the first interval has no
     * utilisation */
    assert_null(sys_sink_find(&f->s, "system.cpu.time", "cpu", "0", SYS_END));
    assert_int_equal(sys_sink_count(&f->s, "system.cpu.utilization"), 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.context_switches", SYS_END)), 98765432, 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.processes.created", SYS_END)), 424242, 0);
    fx_free(f);
}

static void
test_fixture_cpu_per_cpu(void **state)
{
    struct fx *f = fx_new(FIXTURES "linux-6.1", "[cpu]");

    (void)state;
    f->t.conf.cpu_per_cpu = 1;
    sys_collect(&f->c, &f->s, 1);
    assert_int_equal(sys_sink_count(&f->s, "system.cpu.time"), 8 + 8 * 8);
    assert_non_null(find2(&f->s, "system.cpu.time", "cpu", "7", "cpu.mode",
                          "steal"));
    assert_null(sys_sink_find(&f->s, "system.cpu.time", "cpu", "8", SYS_END));
    fx_free(f);
}

static void
test_fixture_old_kernel_fewer_fields(void **state)
{
    struct fx *f = fx_new(FIXTURES "linux-2.6.32", NULL);
    const struct sys_sample *m;

    (void)state;
    sys_collect(&f->c, &f->s, 1);
    /* no MemAvailable before 3.14: free + buffers + cached */
    m = sys_sink_find(&f->s, "system.memory.linux.available", SYS_END);
    assert_float_equal(value_of(&f->s, m), (300000.0 + 100000 + 700000) * 1024,
                       0);
    /* no SReclaimable/SUnreclaim: no slab series */
    assert_int_equal(sys_sink_count(&f->s, "system.memory.linux.slab.usage"),
                     0);
    /* no PSI before 4.20, said once at debug level */
    assert_int_equal(sys_sink_count(&f->s, "system.pressure.avg10"), 0);
    assert_int_equal(f->log.n, 1);
    assert_int_equal(f->log.level[0], VG_LOG_DEBUG);
    assert_non_null(strstr(f->log.msg[0], "pressure"));
    sys_collect(&f->c, &f->s, 2);
    assert_int_equal(f->log.n, 1);
    /* "eth0:4294967000 ..." without a space after the colon */
    assert_float_equal(value_of(&f->s, find2(&f->s, "system.network.io",
                       "network.interface.name", "eth0",
                       "network.io.direction", "receive")), 4294967000.0, 0);
    /* a 2.4-style partition line with four fields is skipped */
    assert_null(sys_sink_find(&f->s, "system.disk.io", "system.device",
                              "sda3", SYS_END));
    assert_non_null(sys_sink_find(&f->s, "system.disk.io", "system.device",
                                  "sda", SYS_END));
    /* no tcp6 (IPv6 off): tcp alone counts */
    assert_float_equal(value_of(&f->s, find2(&f->s,
                       "system.network.connections", "network.transport",
                       "tcp", "network.connection.state", "listen")), 1, 0);
    /* old snmp without InCsumErrors etc. */
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.network.udp.errors", "error.type",
                       "send_buffer", SYS_END)), 6, 0);
    assert_int_equal(sys_sink_count(&f->s, "system.cpu.logical.count"), 1);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.logical.count", SYS_END)), 2, 0);
    fx_free(f);
}

static void
test_fixture_memory_states_add_up(void **state)
{
    struct fx *f = fx_new(FIXTURES "linux-5.10", "[memory]");
    double total, sum;

    (void)state;
    sys_collect(&f->c, &f->s, 1);
    total = value_of(&f->s, sys_sink_find(&f->s, "system.memory.limit",
                                          SYS_END));
    assert_float_equal(total, 8041216.0 * 1024, 0);
    sum = total_of(&f->s, "system.memory.usage", NULL, NULL);
    assert_float_equal(sum, total, 0);
    /* cached includes reclaimable slab, as free(1) shows it */
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.memory.usage", "system.memory.state", "cached",
                       SYS_END)), (3980000.0 + 300000) * 1024, 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.memory.usage", "system.memory.state", "used",
                       SYS_END)),
                       (8041216.0 - 812340 - 234560 - 3980000 - 300000) * 1024,
                       0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.memory.linux.slab.usage",
                       "linux.memory.slab.state", "unreclaimable", SYS_END)),
                       120000.0 * 1024, 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.paging.usage", "system.paging.state", "used",
                       SYS_END)), 100000.0 * 1024, 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.memory.utilization", SYS_END)),
                       (8041216.0 - 812340 - 234560 - 3980000 - 300000) /
                       8041216.0, 1e-12);
    fx_free(f);
}

static void
test_fixture_load_and_pressure(void **state)
{
    struct fx *f = fx_new(FIXTURES "linux-5.10", "[load]");

    (void)state;
    sys_collect(&f->c, &f->s, 1);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.load_average.15m", SYS_END)), 0.59, 1e-12);
    /* 5.10 has no "full" line for cpu (5.13 added it) */
    assert_non_null(find2(&f->s, "system.pressure.avg10",
                          "system.pressure.resource", "cpu",
                          "system.pressure.scope", "some"));
    assert_null(find2(&f->s, "system.pressure.avg10",
                      "system.pressure.resource", "cpu",
                      "system.pressure.scope", "full"));
    assert_float_equal(value_of(&f->s, find2(&f->s, "system.pressure.avg10",
                       "system.pressure.resource", "io",
                       "system.pressure.scope", "full")), 0.02, 1e-12);
    assert_float_equal(value_of(&f->s, find2(&f->s,
                       "system.pressure.stall_time",
                       "system.pressure.resource", "memory",
                       "system.pressure.scope", "some")), 2.0, 1e-12);
    assert_int_equal(sys_sink_count(&f->s, "system.pressure.stall_time"), 5);
    assert_int_equal(f->log.n, 0);
    fx_free(f);

    f = fx_new(FIXTURES "linux-6.1", "[load]");
    sys_collect(&f->c, &f->s, 1);
    assert_int_equal(sys_sink_count(&f->s, "system.pressure.stall_time"), 6);
    fx_free(f);
}

static void
test_fixture_disk_layouts_and_filter(void **state)
{
    static const char *const trees[] = { "linux-2.6.32", "linux-4.19",
                                         "linux-5.10", "linux-6.1" };
    size_t i;

    (void)state;
    for (i = 0; i < 4; i++) {
        char root[PATH_MAX];
        struct fx *f;

        snprintf(root, sizeof(root), FIXTURES "%s", trees[i]);
        f = fx_new(root, "[disk]");
        sys_collect(&f->c, &f->s, 1);
        /* loop* and ram* are excluded by default; partitions are kept */
        assert_null(sys_sink_find(&f->s, "system.disk.io", "system.device",
                                  "loop0", SYS_END));
        assert_null(sys_sink_find(&f->s, "system.disk.io", "system.device",
                                  "ram0", SYS_END));
        assert_non_null(sys_sink_find(&f->s, "system.disk.io",
                                      "system.device", "sda1", SYS_END));
        /* sda is row 3: 24000 read and 48000 written sectors of 512 */
        assert_float_equal(value_of(&f->s, find2(&f->s, "system.disk.io",
                           "system.device", "sda", "disk.io.direction",
                           "read")), 24000.0 * 512, 0);
        assert_float_equal(value_of(&f->s, find2(&f->s, "system.disk.io",
                           "system.device", "sda", "disk.io.direction",
                           "write")), 48000.0 * 512, 0);
        assert_float_equal(value_of(&f->s, find2(&f->s,
                           "system.disk.operations", "system.device", "sda",
                           "disk.io.direction", "write")), 6000, 0);
        assert_float_equal(value_of(&f->s, find2(&f->s,
                           "system.disk.operation_time", "system.device",
                           "sda", "disk.io.direction", "read")), 1.5, 1e-12);
        assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                           "system.disk.io_time", "system.device", "sda",
                           SYS_END)), 4.5, 1e-12);
        assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                           "system.disk.weighted_io_time", "system.device",
                           "sda", SYS_END)), 4.8, 1e-12);
        assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                           "system.disk.pending_operations", "system.device",
                           "sda", SYS_END)), 2, 0);
        assert_int_equal(sys_sink_count(&f->s, "system.disk.io_time"), 6);
        fx_free(f);
    }
}

static void
test_fixture_disk_include_glob(void **state)
{
    struct fx *f = fx_new(FIXTURES "linux-6.1", "[disk]");

    (void)state;
    strv_parse(&f->t, &f->t.conf.disk_include, "[nvme*, sd?]");
    strv_parse(&f->t, &f->t.conf.disk_exclude, "[*p1]");
    sys_collect(&f->c, &f->s, 1);
    assert_int_equal(sys_sink_count(&f->s, "system.disk.io_time"), 2);
    assert_non_null(sys_sink_find(&f->s, "system.disk.io_time",
                                  "system.device", "sda", SYS_END));
    assert_non_null(sys_sink_find(&f->s, "system.disk.io_time",
                                  "system.device", "nvme0n1", SYS_END));
    fx_free(f);
}

static void
test_fixture_network(void **state)
{
    struct fx *f = fx_new(FIXTURES "linux-5.10", "[network]");

    (void)state;
    sys_collect(&f->c, &f->s, 1);
    assert_null(sys_sink_find(&f->s, "system.network.io",
                              "network.interface.name", "lo", SYS_END));
    assert_float_equal(value_of(&f->s, find2(&f->s, "system.network.io",
                       "network.interface.name", "eth0",
                       "network.io.direction", "transmit")), 123456789, 0);
    assert_float_equal(value_of(&f->s, find2(&f->s, "system.network.dropped",
                       "network.interface.name", "eth0",
                       "network.io.direction", "transmit")), 4, 0);
    assert_float_equal(value_of(&f->s, find2(&f->s, "system.network.errors",
                       "network.interface.name", "eth0",
                       "network.io.direction", "receive")), 1, 0);
    /* "docker0:    5000" has no space before the colon */
    assert_float_equal(value_of(&f->s, find2(&f->s, "system.network.packets",
                       "network.interface.name", "docker0",
                       "network.io.direction", "receive")), 50, 0);
    /* tcp: 0A,01,01,02..09,0B,0C (0C = new_syn_recv) + tcp6: 0A */
    assert_float_equal(value_of(&f->s, find2(&f->s,
                       "system.network.connections", "network.transport",
                       "tcp", "network.connection.state", "listen")), 2, 0);
    assert_float_equal(value_of(&f->s, find2(&f->s,
                       "system.network.connections", "network.transport",
                       "tcp", "network.connection.state", "syn_received")),
                       2, 0);
    assert_float_equal(value_of(&f->s, find2(&f->s,
                       "system.network.connections", "network.transport",
                       "tcp", "network.connection.state", "established")),
                       2, 0);
    assert_int_equal(sys_sink_count(&f->s, "system.network.connections"), 11);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.network.udp.errors", "error.type", "receive",
                       SYS_END)), 34, 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.network.udp.errors", "error.type", "no_port",
                       SYS_END)), 12, 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.network.udp.errors", "error.type",
                       "receive_buffer", SYS_END)), 56, 0);
    fx_free(f);

    /* lo comes back once the default exclude is emptied */
    f = fx_new(FIXTURES "linux-5.10", "[network]");
    f->t.conf.net_exclude.n = 0;
    sys_collect(&f->c, &f->s, 1);
    assert_non_null(sys_sink_find(&f->s, "system.network.io",
                                  "network.interface.name", "lo", SYS_END));
    fx_free(f);
}

static void
test_fixture_processes_and_host(void **state)
{
    struct fx *f = fx_new(FIXTURES "linux-4.19", "[processes, host]");

    (void)state;
    sys_collect(&f->c, &f->s, 1);
#define STATE(st) value_of(&f->s, sys_sink_find(&f->s, \
        "system.processes.count", "system.process.status", st, SYS_END))
    assert_float_equal(STATE("running"), 1, 0);
    assert_float_equal(STATE("sleeping"), 2, 0);
    assert_float_equal(STATE("idle"), 1, 0);
    assert_float_equal(STATE("disk_sleep"), 1, 0);     /* "my prog (x)" */
    assert_float_equal(STATE("zombie"), 1, 0);
    assert_float_equal(STATE("stopped"), 1, 0);
    assert_float_equal(STATE("other"), 0, 0);
#undef STATE
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.thread.count", SYS_END)), 11, 0);
    assert_int_equal(sys_sink_count(&f->s, "process.memory.usage"), 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s, "system.uptime",
                       SYS_END)), 86400.12, 1e-9);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.boot_time", SYS_END)), 1700000000, 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.logical.count", SYS_END)), 4, 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.file_descriptor.count", SYS_END)), 2048, 0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.file_descriptor.limit", SYS_END)),
                       9223372036854775807.0, 0);
    /* reported once, by host */
    assert_int_equal(sys_sink_count(&f->s, "system.file_descriptor.count"),
                     1);
    fx_free(f);

    f = fx_new(FIXTURES "linux-4.19", "[processes]");
    sys_collect(&f->c, &f->s, 1);
    assert_int_equal(sys_sink_count(&f->s, "system.file_descriptor.count"),
                     1);
    assert_int_equal(sys_sink_count(&f->s, "system.uptime"), 0);
    fx_free(f);
}

static void
test_fixture_filesystem_mounts(void **state)
{
    struct fx *f = fx_new(FIXTURES "linux-6.1", "[filesystem]");
    const struct sys_sample *m;

    (void)state;
    sys_collect(&f->c, &f->s, 1);
    /* "/", "/home" and "/mnt/my disk" exist in the tree; /boot and /run do
     * not, and the pseudo, overlay and nfs mounts are filtered out. */
    assert_int_equal(sys_sink_count(&f->s, "system.filesystem.utilization"),
                     3);
    m = sys_sink_find(&f->s, "system.filesystem.utilization",
                      "system.filesystem.mountpoint", "/mnt/my disk", SYS_END);
    assert_non_null(m);
    assert_string_equal(sys_sample_label(&f->s, m, "system.device"),
                        "/dev/sdb1");
    assert_string_equal(sys_sample_label(&f->s, m, "system.filesystem.type"),
                        "ext4");
    assert_in_range((long)(m->value * 1000), 0, 1000);
    assert_non_null(find2(&f->s, "system.filesystem.usage",
                          "system.filesystem.mountpoint", "/home",
                          "system.filesystem.state", "reserved"));
    assert_null(sys_sink_find(&f->s, "system.filesystem.usage",
                              "system.filesystem.mountpoint", "/proc", SYS_END));
    fx_free(f);
}

/* ---- utilisation from deltas ----------------------------------------- */

/* A /proc/stat with cpu0 and, when cpu1_idle > 0, a cpu1 that only
 * idles. */
static void
write_stat(const char *dir, unsigned long user, unsigned long idle,
           unsigned long iowait, unsigned long cpu1_idle)
{
    char text[512], cpu1[64] = "";

    if (cpu1_idle > 0)
        snprintf(cpu1, sizeof(cpu1), "cpu1 0 0 0 %lu 0 0 0 0 0 0\n",
                 cpu1_idle);
    snprintf(text, sizeof(text),
             "cpu  %lu 0 0 %lu %lu 0 0 0 0 0\n"
             "cpu0 %lu 0 0 %lu %lu 0 0 0 0 0\n%s"
             "ctxt 1\nbtime 1\nprocesses 1\n",
             user, idle, iowait, user, idle, iowait, cpu1);
    write_file(dir, "proc/stat", text);
}

static void
test_cpu_utilization_from_deltas(void **state)
{
    char dir[] = "/tmp/vg-sys-XXXXXX";
    struct fx *f;
    const struct sys_sample *m;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_stat(dir, 100, 800, 100, 0);
    f = fx_new(dir, "[cpu]");
    f->t.conf.cpu_per_cpu = 1;
    sys_collect(&f->c, &f->s, 1);
    assert_int_equal(sys_sink_count(&f->s, "system.cpu.utilization"), 0);

    /* +60 user, +30 idle, +10 iowait: 60 % busy */
    write_stat(dir, 160, 830, 110, 100);
    sys_collect(&f->c, &f->s, 2);
    m = sys_sink_find(&f->s, "system.cpu.utilization", SYS_END);
    assert_non_null(m);
    assert_int_equal(m->nlabels, 0);
    assert_float_equal(m->value, 0.6, 1e-12);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.utilization", "cpu", "0", SYS_END)), 0.6,
                       1e-12);
    /* cpu1 came online this interval: nothing for it yet */
    assert_null(sys_sink_find(&f->s, "system.cpu.utilization", "cpu", "1",
                              SYS_END));

    /* counters went backwards: the interval is skipped, not negative */
    write_stat(dir, 10, 20, 0, 200);
    sys_collect(&f->c, &f->s, 3);
    assert_int_equal(sys_sink_count(&f->s, "system.cpu.utilization"), 1);
    assert_null(sys_sink_find(&f->s, "system.cpu.utilization", "cpu", "0",
                              SYS_END));
    /* cpu1 only idled: measured, and 0 */
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.utilization", "cpu", "1", SYS_END)), 0.0, 0);

    /* and the next one is measured from the reset values */
    write_stat(dir, 30, 100, 0, 300);
    sys_collect(&f->c, &f->s, 4);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.utilization", "cpu", "0", SYS_END)), 0.2,
                       1e-12);

    /* no tick at all: no figure rather than 0/0 */
    sys_collect(&f->c, &f->s, 5);
    assert_null(sys_sink_find(&f->s, "system.cpu.utilization", "cpu", "0",
                              SYS_END));
    fx_free(f);
    rm_tree(dir);
}

static void
write_proc(const char *dir, int pid, const char *comm, unsigned long ticks,
           unsigned long start, unsigned long rss)
{
    char rel[64], text[512];

    snprintf(rel, sizeof(rel), "proc/%d/stat", pid);
    snprintf(text, sizeof(text),
             "%d (%s) S 1 1 1 0 -1 0 0 0 0 0 %lu 0 0 0 20 0 1 0 %lu "
             "1000 %lu 0 0 0\n", pid, comm, ticks, start, rss);
    write_file(dir, rel, text);
}

static void
test_processes_top_by_cpu_and_rss(void **state)
{
    char dir[] = "/tmp/vg-sys-XXXXXX";
    long hz = sysconf(_SC_CLK_TCK);
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    struct fx *f;
    const struct sys_sample *m;

    (void)state;
    assert_non_null(mkdtemp(dir));
    write_proc(dir, 5, "small", 0, 10, 10);
    write_proc(dir, 17, "big", 0, 10, 5000);
    write_proc(dir, 230, "busy", 0, 10, 100);
    write_proc(dir, 231, "medium", 0, 10, 1000);
    f = fx_new(dir, "[processes]");
    f->t.conf.proc_top = 2;
    sys_collect(&f->c, &f->s, 1 * VG_SECOND);
    assert_int_equal(sys_sink_count(&f->s, "process.cpu.utilization"), 0);
    assert_int_equal(sys_sink_count(&f->s, "process.memory.usage"), 2);
    m = sys_sink_find(&f->s, "process.memory.usage", "process.pid", "17",
                      SYS_END);
    assert_non_null(m);
    assert_float_equal(m->value, 5000.0 * sysconf(_SC_PAGESIZE), 0);
    assert_string_equal(sys_sample_label(&f->s, m,
                        "process.executable.name"), "big");
    assert_non_null(sys_sample_label(&f->s, m, "process.owner"));
    assert_non_null(sys_sink_find(&f->s, "process.memory.usage",
                                  "process.pid", "231", SYS_END));

    /* 2 s later: busy used 1 s of cpu, small 0.5 s; pid 17 was replaced
     * by a new process (another start time) that must not count the old
     * one's ticks. */
    write_proc(dir, 5, "small", (unsigned long)hz / 2, 10, 10);
    write_proc(dir, 17, "big2", (unsigned long)hz * 100, 99, 5000);
    write_proc(dir, 230, "busy", (unsigned long)hz, 10, 100);
    sys_collect(&f->c, &f->s, 3 * VG_SECOND);
    assert_int_equal(sys_sink_count(&f->s, "process.cpu.utilization"), 2);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "process.cpu.utilization", "process.pid", "230",
                       SYS_END)), 0.5 / (double)ncpu, 1e-9);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "process.cpu.utilization", "process.pid", "5",
                       SYS_END)), 0.25 / (double)ncpu, 1e-9);
    assert_null(sys_sink_find(&f->s, "process.cpu.utilization",
                              "process.pid", "17", SYS_END));
    fx_free(f);
    rm_tree(dir);
}

/* ---- the real /proc ----------------------------------------------------- */

static uint64_t
meminfo_total_kb(void)
{
    char line[256];
    unsigned long long kb = 0;
    FILE *f = fopen("/proc/meminfo", "r");

    assert_non_null(f);
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "MemTotal: %llu kB", &kb) == 1)
            break;
    fclose(f);
    return kb;
}

static void
test_real_proc_agrees_with_kernel(void **state)
{
    struct fx *f = fx_new("/", NULL);
    const struct sys_sample *m;
    struct mntent *me;
    FILE *mtab;
    size_t i;

    (void)state;
    sys_collect(&f->c, &f->s, 1);
    m = sys_sink_find(&f->s, "system.memory.limit", SYS_END);
    assert_float_equal(value_of(&f->s, m), (double)meminfo_total_kb() * 1024,
                       0);
    assert_float_equal(value_of(&f->s, sys_sink_find(&f->s,
                       "system.cpu.logical.count", SYS_END)),
                       (double)sysconf(_SC_NPROCESSORS_ONLN), 0);
    assert_true(sys_sink_count(&f->s, "system.cpu.time") >= 4);
    assert_true(value_of(&f->s, sys_sink_find(&f->s, "system.uptime", SYS_END))
                > 0);
    assert_true(total_of(&f->s, "system.processes.count", NULL, NULL) >= 1);

    /* every mount reported is in the mount table, and every wanted
     * mount of the table with blocks is reported */
    for (i = 0; i < f->s.n; i++) {
        const char *mp;
        int found = 0;

        if (strcmp(f->s.v[i].name, "system.filesystem.utilization") != 0)
            continue;
        mp = sys_sample_label(&f->s, &f->s.v[i],
                              "system.filesystem.mountpoint");
        mtab = setmntent("/proc/self/mounts", "r");
        assert_non_null(mtab);
        while ((me = getmntent(mtab)) != NULL)
            found |= strcmp(me->mnt_dir, mp) == 0;
        endmntent(mtab);
        assert_true(found);
    }
    mtab = setmntent("/proc/self/mounts", "r");
    assert_non_null(mtab);
    while ((me = getmntent(mtab)) != NULL) {
        struct sys_mount sm = { me->mnt_dir, me->mnt_type, me->mnt_fsname };
        struct statvfs sv;

        if (!sys_mount_wanted(&f->t.conf, &sm) ||
            statvfs(me->mnt_dir, &sv) < 0 || sv.f_blocks == 0)
            continue;
        if (sys_sink_find(&f->s, "system.filesystem.utilization",
                          "system.filesystem.mountpoint", me->mnt_dir,
                          SYS_END) == NULL)
            fail_msg("mount '%s' (%s) not reported", me->mnt_dir,
                     me->mnt_type);
    }
    endmntent(mtab);
    fx_free(f);
}

/* A series key: name and labels, to match samples of two collections. */
static void
series_key(const struct sys_sink *s, const struct sys_sample *m, char *buf,
           size_t len)
{
    size_t off = (size_t)snprintf(buf, len, "%s", m->name);
    uint32_t j;

    for (j = 0; j < m->nlabels && off < len; j++)
        off += (size_t)snprintf(buf + off, len - off, ",%s=%s", m->keys[j],
                                s->arena + m->voff[j]);
}

static void
test_real_proc_counters_move_forward(void **state)
{
    struct fx *f = fx_new("/", NULL);
    struct sys_sink first = { 0 };
    char path[] = "./vg-sys-io-XXXXXX", buf[65536];
    struct sockaddr_in sa;
    double w0, w1, lo0, lo1;
    size_t i, j, ncounters = 0;
    int fd, sock;

    (void)state;
    f->t.conf.net_exclude.n = 0;                /* include lo */
    f->t.conf.disk_exclude.n = 0;
    f->t.conf.proc_top = 3;
    sys_collect(&f->c, &f->s, 1);
    /* keep the first collection: swap the sinks */
    first = f->s;
    memset(&f->s, 0, sizeof(f->s));
    w0 = total_of(&first, "system.disk.io", "disk.io.direction", "write");
    lo0 = total_of(&first, "system.network.packets",
                   "network.interface.name", "lo");

    /* write and fsync 1 MiB in the build dir, send UDP to ourselves */
    fd = mkstemp(path);
    assert_true(fd >= 0);
    memset(buf, 'v', sizeof(buf));
    for (i = 0; i < 16; i++)
        assert_int_equal(write(fd, buf, sizeof(buf)), sizeof(buf));
    assert_int_equal(fsync(fd), 0);
    close(fd);
    unlink(path);
    sock = socket(AF_INET, SOCK_DGRAM, 0);
    assert_true(sock >= 0);
    memset(&sa, 0, sizeof(sa));
    sa.sin_family = AF_INET;
    sa.sin_port = htons(9);                     /* discard: nobody there */
    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    for (i = 0; i < 20; i++)
        sendto(sock, "x", 1, 0, (struct sockaddr *)&sa, sizeof(sa));
    close(sock);

    /* ticks are 10 ms: let every cpu gain some, busy or idle */
    usleep(100000);
    sys_collect(&f->c, &f->s, 2 * VG_SECOND);
    w1 = total_of(&f->s, "system.disk.io", "disk.io.direction", "write");
    lo1 = total_of(&f->s, "system.network.packets", "network.interface.name",
                   "lo");
    assert_true(lo1 >= lo0 + 20);
    if (sys_sink_count(&first, "system.disk.io") > 0)
        assert_true(w1 > w0);
    else
        print_message("no block device in /proc/diskstats: disk unchecked\n");
    assert_true(sys_sink_count(&f->s, "system.cpu.utilization") == 1);
    assert_true(sys_sink_count(&f->s, "process.memory.usage") == 3);

    /* every counter present in both is monotonic */
    for (i = 0; i < f->s.n; i++) {
        char k1[1024], k2[1024];

        if (f->s.v[i].type != VG_METRIC_COUNTER)
            continue;
        series_key(&f->s, &f->s.v[i], k2, sizeof(k2));
        for (j = 0; j < first.n; j++) {
            series_key(&first, &first.v[j], k1, sizeof(k1));
            if (strcmp(k1, k2) != 0)
                continue;
            ncounters++;
            if (f->s.v[i].value < first.v[j].value)
                fail_msg("%s went from %f to %f", k2, first.v[j].value,
                         f->s.v[i].value);
        }
    }
    assert_true(ncounters > 20);
    sys_sink_release(&first);
    fx_free(f);
}

static int
proc_tcp_count(const char *path, const char *st)
{
    char line[512], a[64], b[64], c[64], d[16];
    int n = 0;
    FILE *f = fopen(path, "r");

    if (f == NULL)
        return 0;
    while (fgets(line, sizeof(line), f))
        if (sscanf(line, "%63s %63s %63s %15s", a, b, c, d) == 4 &&
            strcmp(d, st) == 0)
            n++;
    fclose(f);
    return n;
}

static void
test_real_tcp_states_match_proc_net_tcp(void **state)
{
    struct fx *f = fx_new("/", "[network]");
    struct sockaddr_in sa;
    int ls[3], i, want;

    (void)state;
    /* three listeners of our own, so that "listen" is not zero */
    for (i = 0; i < 3; i++) {
        ls[i] = socket(AF_INET, SOCK_STREAM, 0);
        assert_true(ls[i] >= 0);
        memset(&sa, 0, sizeof(sa));
        sa.sin_family = AF_INET;
        sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
        assert_int_equal(bind(ls[i], (struct sockaddr *)&sa, sizeof(sa)), 0);
        assert_int_equal(listen(ls[i], 1), 0);
    }
    sys_collect(&f->c, &f->s, 1);
    want = proc_tcp_count("/proc/net/tcp", "0A") +
           proc_tcp_count("/proc/net/tcp6", "0A");
    assert_true(want >= 3);
    assert_float_equal(value_of(&f->s, find2(&f->s,
                       "system.network.connections", "network.transport",
                       "tcp", "network.connection.state", "listen")),
                       (double)want, 0);
    /* the one-family-at-a-time dump agrees too */
    f->c.diag_v2_only = 1;
    sys_collect(&f->c, &f->s, 2);
    assert_float_equal(value_of(&f->s, find2(&f->s,
                       "system.network.connections", "network.transport",
                       "tcp", "network.connection.state", "listen")),
                       (double)want, 0);
    /* and so does /proc/net/tcp, used when netlink is unavailable */
    close(f->c.diag_fd);
    f->c.diag_fd = -2;
    sys_collect(&f->c, &f->s, 3);
    assert_float_equal(value_of(&f->s, find2(&f->s,
                       "system.network.connections", "network.transport",
                       "tcp", "network.connection.state", "listen")),
                       (double)want, 0);
    for (i = 0; i < 3; i++)
        close(ls[i]);
    fx_free(f);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_procfs_numbers_and_words),
        cmocka_unit_test(test_filter_include_and_exclude),
        cmocka_unit_test(test_file_reread_sees_new_contents),
        cmocka_unit_test(test_file_lines_across_chunks),
        cmocka_unit_test(test_mountinfo_parse_fields_and_escapes),
        cmocka_unit_test(test_mount_filters_defaults),
        cmocka_unit_test(test_unknown_group_is_refused),
        cmocka_unit_test(test_fixture_cpu_times_and_counters),
        cmocka_unit_test(test_fixture_cpu_per_cpu),
        cmocka_unit_test(test_fixture_old_kernel_fewer_fields),
        cmocka_unit_test(test_fixture_memory_states_add_up),
        cmocka_unit_test(test_fixture_load_and_pressure),
        cmocka_unit_test(test_fixture_disk_layouts_and_filter),
        cmocka_unit_test(test_fixture_disk_include_glob),
        cmocka_unit_test(test_fixture_network),
        cmocka_unit_test(test_fixture_processes_and_host),
        cmocka_unit_test(test_fixture_filesystem_mounts),
        cmocka_unit_test(test_cpu_utilization_from_deltas),
        cmocka_unit_test(test_processes_top_by_cpu_and_rss),
        cmocka_unit_test(test_real_proc_agrees_with_kernel),
        cmocka_unit_test(test_real_proc_counters_move_forward),
        cmocka_unit_test(test_real_tcp_states_match_proc_net_tcp),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
