/*
 * Batches: building, iterating, dropping, sealing and decoding untrusted
 * bytes; the crc32c and the 64-bit hashes they rely on.
 */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <setjmp.h>
#include <cmocka.h>

#include "batch.h"
#include "util.h"

/* Deterministic bytes for the randomised tests (xorshift64*). */
static uint64_t rng_state = UINT64_C(0x2545f4914f6cdd1d);

static uint64_t
rng(void)
{
    rng_state ^= rng_state >> 12;
    rng_state ^= rng_state << 25;
    rng_state ^= rng_state >> 27;
    return rng_state * UINT64_C(0x2545f4914f6cdd1d);
}

static void
fill_random(unsigned char *p, size_t n)
{
    size_t i;

    for (i = 0; i < n; i++)
        p[i] = (unsigned char)rng();
}

static struct vg_kv
kv_int(const char *key, int64_t v)
{
    struct vg_kv kv = { .key = key, .key_len = (uint32_t)strlen(key),
                        .type = VG_VAL_INT };

    kv.v.i = v;
    return kv;
}

static struct vg_kv
kv_double(const char *key, double v)
{
    struct vg_kv kv = { .key = key, .key_len = (uint32_t)strlen(key),
                        .type = VG_VAL_DOUBLE };

    kv.v.d = v;
    return kv;
}

static struct vg_kv
kv_bool(const char *key, int v)
{
    struct vg_kv kv = { .key = key, .key_len = (uint32_t)strlen(key),
                        .type = VG_VAL_BOOL };

    kv.v.b = v;
    return kv;
}

static void
assert_kv_str(const struct vg_kv *kv, const char *key, const char *value)
{
    assert_int_equal(kv->type, VG_VAL_STR);
    assert_int_equal(kv->key_len, strlen(key));
    assert_string_equal(kv->key, key);
    assert_int_equal(kv->len, strlen(value));
    assert_string_equal(kv->v.s, value);
}

static struct vg_event
metric(const char *name, double value, const struct vg_kv *labels,
       uint32_t n)
{
    struct vg_event ev = { .kind = VG_EV_METRIC, .time = 1000,
                           .name = name, .metric_type = VG_METRIC_GAUGE,
                           .value = value, .labels = labels,
                           .nlabels = n };

    return ev;
}

/* A batch holding one event of each kind, sealed. */
static struct vg_batch *
mixed_batch(void)
{
    static const double bounds[] = { 0.5, 1, INFINITY };
    static const uint64_t counts[] = { 3, 4, 5 };
    struct vg_kv labels[] = { vg_kv_str("host", "a"), vg_kv_str("dc", "x") };
    struct vg_kv attrs[] = { vg_kv_str("path", "/x"), kv_int("n", -7),
                             kv_double("r", 0.25), kv_bool("ok", 1) };
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_event ev = metric("cpu.load", 1.5, labels, 2);

    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    ev.metric_type = VG_METRIC_HISTOGRAM;
    ev.hist = (struct vg_histogram){ 3, bounds, counts, 9.5, 12 };
    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    ev = (struct vg_event){ .kind = VG_EV_LOG, .time = 2000,
                            .severity = VG_SEV_WARN, .body = "hi\0there",
                            .body_len = 8, .attrs = attrs, .nattrs = 4,
                            .labels = labels, .nlabels = 1 };
    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    ev = (struct vg_event){ .kind = VG_EV_ALERT, .time = 3000,
                            .rule = "disk_full", .summary = "disk 97%",
                            .description = "on /var",
                            .alert_state = VG_ALERT_FIRING,
                            .alert_severity = VG_ALERT_CRITICAL,
                            .value = 0.97, .starts_at = 10, .ends_at = 20,
                            .labels = labels, .nlabels = 2 };
    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    vg_batch_seal(b);
    return b;
}

/* ------------------------------------------------------------------ */

static void
crc32c_matches_known_vector(void **state)
{
    assert_int_equal(vg_crc32c(0, "123456789", 9), 0xe3069283u);
    assert_int_equal(vg_crc32c_sw(0, "123456789", 9), 0xe3069283u);
    assert_int_equal(vg_crc32c(0, "", 0), 0);
}

static void
crc32c_extends_across_calls(void **state)
{
    uint32_t c = vg_crc32c(0, "1234", 4);

    assert_int_equal(vg_crc32c(c, "56789", 5), 0xe3069283u);
    c = vg_crc32c_sw(0, "12345", 5);
    assert_int_equal(vg_crc32c_sw(c, "6789", 4), 0xe3069283u);
}

/* The dispatching version (SSE4.2 where present) equals the table one. */
static void
crc32c_paths_agree_on_random_buffers(void **state)
{
    unsigned char buf[4200];
    int i;

    fill_random(buf, sizeof(buf));
    for (i = 0; i < 500; i++) {
        size_t start = rng() % 64, len = rng() % (sizeof(buf) - 64);
        uint32_t seed = (uint32_t)rng();

        assert_int_equal(vg_crc32c(seed, buf + start, len),
                         vg_crc32c_sw(seed, buf + start, len));
    }
    print_message("crc32c hardware path: %s\n",
                  vg_crc32c_hw_available() ? "yes" : "no");
}

/* Stored ids and cross-host sampling depend on these exact values. */
static void
hash64_is_stable(void **state)
{
    assert_true(vg_hash64("", 0, 0) == UINT64_C(0x05cd26062ca4d390));
    assert_true(vg_hash64("a", 1, 0) == UINT64_C(0x40717e81b1cbc103));
    assert_true(vg_hash64("hello world", 11, 42) ==
                UINT64_C(0x17743b52c3e3b2f3));
    assert_true(vg_hash64("the quick brown fox jumps over the lazy dog", 43,
                          7) == UINT64_C(0x0285ab395f91ce5e));
}

static void
series_hash_is_stable(void **state)
{
    struct vg_kv labels[] = { vg_kv_str("cpu", "0"), vg_kv_str("host", "h1") };

    assert_true(vg_series_hash_raw("system.cpu.utilization", labels, 2) ==
                UINT64_C(0xc3a96138054d9f0a));
    assert_true(vg_series_hash_raw("m", NULL, 0) ==
                UINT64_C(0x89a421d1028b9ee2));
}

static void
hash64_depends_on_seed_length_and_alignment(void **state)
{
    unsigned char buf[128], copy[136];
    size_t len;

    fill_random(buf, sizeof(buf));
    for (len = 0; len <= 100; len++) {
        memcpy(copy + 3, buf, len);
        assert_true(vg_hash64(buf, len, 1) == vg_hash64(copy + 3, len, 1));
        assert_true(vg_hash64(buf, len, 1) != vg_hash64(buf, len, 2));
        assert_true(vg_hash64(buf, len, 1) != vg_hash64(buf, len + 1, 1));
    }
    /* Zero bytes are not the same as no bytes. */
    assert_true(vg_hash64("\0\0\0", 3, 0) != vg_hash64("\0\0", 2, 0));
}

/* Flipping one input bit flips about half of the output bits. */
static void
hash64_avalanches(void **state)
{
    unsigned char buf[40];
    unsigned long total = 0, trials = 0;
    unsigned bit;
    int len;

    for (len = 1; len <= 40; len += 13) {
        fill_random(buf, (size_t)len);
        for (bit = 0; bit < (unsigned)len * 8; bit++) {
            uint64_t a = vg_hash64(buf, (size_t)len, 0), x;

            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            x = a ^ vg_hash64(buf, (size_t)len, 0);
            buf[bit / 8] ^= (unsigned char)(1u << (bit % 8));
            total += (unsigned long)__builtin_popcountll(x);
            trials++;
        }
    }
    assert_in_range(total * 100 / trials, 2900, 3500);  /* 32 +- 3 bits */
}

static void
series_hash_separates_boundaries(void **state)
{
    struct vg_kv a = vg_kv_str("a", "bc"), b = vg_kv_str("ab", "c");
    struct vg_kv two[] = { vg_kv_str("a", "b"), vg_kv_str("c", "d") };
    struct vg_kv one = vg_kv_str("a", "bcd");

    assert_true(vg_series_hash_raw("m", &a, 1) !=
                vg_series_hash_raw("m", &b, 1));
    assert_true(vg_series_hash_raw("ma", &a, 1) !=
                vg_series_hash_raw("m", &b, 1));
    assert_true(vg_series_hash_raw("m", two, 2) !=
                vg_series_hash_raw("m", &one, 1));
    assert_true(vg_series_hash_raw("m", NULL, 0) !=
                vg_series_hash_raw("n", NULL, 0));
    assert_true(vg_series_hash_raw("m", &a, 1) ==
                vg_series_hash_raw("m", &a, 1));
    /* Keys and values cannot trade places. */
    a = vg_kv_str("x", "y");
    b = vg_kv_str("y", "x");
    assert_true(vg_series_hash_raw("m", &a, 1) !=
                vg_series_hash_raw("m", &b, 1));
    /* Nor labels move into the name. */
    assert_true(vg_series_hash_raw("", &b, 1) !=
                vg_series_hash_raw("y", NULL, 0));
}

/* ------------------------------------------------------------------ */

static void
batch_starts_empty_with_one_ref(void **state)
{
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;

    assert_int_equal(b->refs, 1);
    assert_int_equal(vg_batch_count_raw(b), 0);
    assert_int_equal(vg_batch_bytes_raw(b), sizeof(struct vg_batch_hdr));
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 0);
    vg_batch_ref_raw(b);
    assert_int_equal(b->refs, 2);
    vg_batch_unref_raw(b);
    assert_int_equal(b->refs, 1);
    vg_batch_unref_raw(b);
    vg_batch_unref_raw(NULL);
}

static void
batch_metric_round_trips_with_sorted_labels(void **state)
{
    struct vg_kv labels[] = { vg_kv_str("zone", "b"), vg_kv_str("host", "h1"),
                              vg_kv_str("cpu", "0") };
    struct vg_kv sorted[] = { labels[2], labels[1], labels[0] };
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev = metric("system.cpu.utilization", 0.25, labels, 3);

    ev.metric_type = VG_METRIC_COUNTER;
    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    assert_int_equal(vg_batch_count_raw(b), 1);
    memset(&ev, 0, sizeof(ev));
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_int_equal(ev.kind, VG_EV_METRIC);
    assert_int_equal(ev.time, 1000);
    assert_string_equal(ev.name, "system.cpu.utilization");
    assert_int_equal(ev.metric_type, VG_METRIC_COUNTER);
    assert_true(ev.value == 0.25);
    assert_int_equal(ev.nlabels, 3);
    assert_kv_str(&ev.labels[0], "cpu", "0");
    assert_kv_str(&ev.labels[1], "host", "h1");
    assert_kv_str(&ev.labels[2], "zone", "b");
    assert_true(ev.hash == vg_series_hash_raw("system.cpu.utilization",
                                              sorted, 3));
    assert_int_equal(ev.hist.nbuckets, 0);
    assert_int_equal(it.index, 1);
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 0);
    vg_iter_release_raw(&it);
    assert_null(it.scratch);
    vg_batch_unref_raw(b);
}

/* Label order given does not change the series. */
static void
batch_hash_ignores_label_order_and_keeps_given_hash(void **state)
{
    struct vg_kv l1[] = { vg_kv_str("a", "1"), vg_kv_str("b", "2") };
    struct vg_kv l2[] = { vg_kv_str("b", "2"), vg_kv_str("a", "1") };
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev = metric("m", 1, l1, 2), e1, e2, e3;

    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    ev.labels = l2;
    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    ev.hash = 12345;
    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    assert_int_equal(vg_batch_next_raw(b, &it, &e1), 1);
    assert_int_equal(vg_batch_next_raw(b, &it, &e2), 1);
    assert_int_equal(vg_batch_next_raw(b, &it, &e3), 1);
    assert_true(e1.hash == e2.hash);
    assert_true(e1.hash != 0);
    assert_int_equal(e3.hash, 12345);
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
}

static void
batch_duplicate_label_keeps_last(void **state)
{
    struct vg_kv labels[] = { vg_kv_str("k", "first"), vg_kv_str("a", "x"),
                              vg_kv_str("k", "second"),
                              vg_kv_str("k", "third") };
    struct vg_kv want[] = { vg_kv_str("a", "x"), vg_kv_str("k", "third") };
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev = metric("m", 1, labels, 4);

    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_int_equal(ev.nlabels, 2);
    assert_kv_str(&ev.labels[0], "a", "x");
    assert_kv_str(&ev.labels[1], "k", "third");
    assert_true(ev.hash == vg_series_hash_raw("m", want, 2));
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
}

/* Many labels: past the on-stack sort buffer, keys that share prefixes. */
static void
batch_sorts_many_labels(void **state)
{
    static char keys[300][8];
    struct vg_kv labels[300];
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    uint32_t i;

    for (i = 0; i < 300; i++) {
        snprintf(keys[i], sizeof(keys[i]), "k%u",
                 (unsigned)(rng() % 1000));
        labels[i] = vg_kv_str(keys[i], keys[i]);
    }
    ev = metric("m", 1, labels, 300);
    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_true(ev.nlabels > 100 && ev.nlabels <= 300);
    for (i = 1; i < ev.nlabels; i++)
        assert_true(strcmp(ev.labels[i - 1].key, ev.labels[i].key) < 0);
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
}

static void
batch_log_keeps_binary_body_and_typed_attrs(void **state)
{
    struct vg_batch *b = mixed_batch();
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;

    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_int_equal(ev.kind, VG_EV_LOG);
    assert_int_equal(ev.time, 2000);
    assert_int_equal(ev.hash, 0);
    assert_int_equal(ev.severity, VG_SEV_WARN);
    assert_int_equal(ev.body_len, 8);
    assert_memory_equal(ev.body, "hi\0there", 9);
    assert_int_equal(ev.nlabels, 1);
    assert_kv_str(&ev.labels[0], "host", "a");
    assert_int_equal(ev.nattrs, 4);
    assert_kv_str(&ev.attrs[0], "path", "/x");
    assert_string_equal(ev.attrs[1].key, "n");
    assert_int_equal(ev.attrs[1].type, VG_VAL_INT);
    assert_int_equal(ev.attrs[1].v.i, -7);
    assert_string_equal(ev.attrs[2].key, "r");
    assert_int_equal(ev.attrs[2].type, VG_VAL_DOUBLE);
    assert_true(ev.attrs[2].v.d == 0.25);
    assert_string_equal(ev.attrs[3].key, "ok");
    assert_int_equal(ev.attrs[3].type, VG_VAL_BOOL);
    assert_int_equal(ev.attrs[3].v.b, 1);
    assert_null(ev.name);
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
}

static void
batch_histogram_round_trips(void **state)
{
    struct vg_batch *b = mixed_batch();
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;

    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_int_equal(ev.metric_type, VG_METRIC_HISTOGRAM);
    assert_int_equal(ev.hist.nbuckets, 3);
    assert_true(ev.hist.bounds[0] == 0.5);
    assert_true(ev.hist.bounds[1] == 1);
    assert_true(isinf(ev.hist.bounds[2]));
    assert_int_equal(ev.hist.counts[0], 3);
    assert_int_equal(ev.hist.counts[1], 4);
    assert_int_equal(ev.hist.counts[2], 5);
    assert_true(ev.hist.sum == 9.5);
    assert_int_equal(ev.hist.count, 12);
    assert_int_equal(((uintptr_t)ev.hist.bounds) % 8, 0);
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
}

static void
batch_alert_round_trips(void **state)
{
    struct vg_kv sorted[] = { vg_kv_str("dc", "x"), vg_kv_str("host", "a") };
    struct vg_batch *b = mixed_batch();
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    int i;

    for (i = 0; i < 4; i++)
        assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_int_equal(ev.kind, VG_EV_ALERT);
    assert_string_equal(ev.rule, "disk_full");
    assert_string_equal(ev.summary, "disk 97%");
    assert_string_equal(ev.description, "on /var");
    assert_int_equal(ev.alert_state, VG_ALERT_FIRING);
    assert_int_equal(ev.alert_severity, VG_ALERT_CRITICAL);
    assert_true(ev.value == 0.97);
    assert_int_equal(ev.starts_at, 10);
    assert_int_equal(ev.ends_at, 20);
    assert_true(ev.hash == vg_series_hash_raw("disk_full", sorted, 2));
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 0);
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
}

static void
batch_alert_without_description_gives_null(void **state)
{
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev = { .kind = VG_EV_ALERT, .rule = "r",
                           .alert_state = VG_ALERT_RESOLVED,
                           .alert_severity = VG_ALERT_INFO };

    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    assert_null(ev.description);
    assert_string_equal(ev.summary, "");
    assert_int_equal(ev.alert_state, VG_ALERT_RESOLVED);
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
}

static void
batch_add_refuses_bad_events(void **state)
{
    struct vg_kv labels[VG_BATCH_MAX_LABELS + 1];
    struct vg_kv attr = kv_int("n", 1);
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_event ev = metric("m", 1, NULL, 0);
    uint32_t i;

    for (i = 0; i < VG_ARRAY_LEN(labels); i++)
        labels[i] = vg_kv_str("k", "v");
    ev.kind = 0;
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev.kind = 4;
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev = metric(NULL, 1, NULL, 0);
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev = metric("m", 1, NULL, 0);
    ev.metric_type = 7;
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev = metric("m", 1, labels, VG_BATCH_MAX_LABELS + 1);
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev = metric("m", 1, &attr, 1);              /* labels are strings */
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev = metric("m", 1, NULL, 2);
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev = metric("m", 1, NULL, 0);
    ev.metric_type = VG_METRIC_HISTOGRAM;
    ev.hist.nbuckets = 2;                       /* no arrays */
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev = (struct vg_event){ .kind = VG_EV_LOG, .severity = 25 };
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev = (struct vg_event){ .kind = VG_EV_LOG, .body_len = 3 };
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    attr.type = 9;
    ev = (struct vg_event){ .kind = VG_EV_LOG, .attrs = &attr, .nattrs = 1 };
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev = (struct vg_event){ .kind = VG_EV_ALERT, .rule = "r",
                            .alert_state = 3, .alert_severity = 1 };
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev.alert_state = VG_ALERT_FIRING;
    ev.alert_severity = 5;
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);
    ev.alert_severity = VG_ALERT_ERROR;
    ev.rule = NULL;
    assert_int_equal(vg_batch_add_raw(b, &ev), -EINVAL);

    /* Nothing half-written stays behind. */
    assert_int_equal(vg_batch_count_raw(b), 0);
    assert_int_equal(vg_batch_bytes_raw(b), sizeof(struct vg_batch_hdr));
    vg_batch_unref_raw(b);
}

static void
batch_add_after_seal_is_refused(void **state)
{
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_event ev = metric("m", 1, NULL, 0);

    vg_batch_seal(b);
    assert_int_equal(vg_batch_add_raw(b, &ev), -EPERM);
    vg_batch_unref_raw(b);
}

static void
batch_grows_and_iterates_many_events(void **state)
{
    struct vg_kv labels[] = { vg_kv_str("host", "h"), vg_kv_str("i", "") };
    struct vg_batch *b = vg_batch_new_raw(0);
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    char val[16];
    int i, n = 0;

    for (i = 0; i < 20000; i++) {
        snprintf(val, sizeof(val), "%d", i);
        labels[1] = vg_kv_str("i", val);
        ev = metric("m", i, labels, 2);
        assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    }
    assert_int_equal(vg_batch_count_raw(b), 20000);
    while (vg_batch_next_raw(b, &it, &ev)) {
        snprintf(val, sizeof(val), "%d", n);
        assert_true(ev.value == n);
        assert_string_equal(ev.labels[1].v.s, val);
        n++;
    }
    assert_int_equal(n, 20000);
    assert_int_equal(vg_batch_bytes_raw(b) % 8, 0);
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
}

static void
batch_drop_hides_event_and_counts(void **state)
{
    struct vg_batch *b = mixed_batch();
    struct vg_iter it = VG_ITER_INIT, it2 = VG_ITER_INIT;
    struct vg_event ev;
    int n = 0;

    vg_batch_drop_raw(b, &it);                  /* nothing returned: no-op */
    assert_int_equal(vg_batch_count_raw(b), 4);
    while (vg_batch_next_raw(b, &it, &ev)) {
        if (ev.kind == VG_EV_METRIC) {
            vg_batch_drop_raw(b, &it);
            vg_batch_drop_raw(b, &it);          /* twice counts once */
        }
    }
    assert_int_equal(vg_batch_count_raw(b), 2);
    while (vg_batch_next_raw(b, &it2, &ev)) {
        assert_int_not_equal(ev.kind, VG_EV_METRIC);
        n++;
    }
    assert_int_equal(n, 2);
    vg_iter_release_raw(&it);
    vg_iter_release_raw(&it2);
    vg_batch_unref_raw(b);
}

static void
batch_seal_then_decode_round_trips(void **state)
{
    struct vg_batch *b = mixed_batch(), *d = NULL;
    struct vg_iter i1 = VG_ITER_INIT, i2 = VG_ITER_INIT;
    struct vg_event e1, e2;
    const struct vg_batch_hdr *h = (const void *)b->buf;
    char *odd = malloc(b->len + 1);

    assert_true(h->flags & VG_BATCH_SEALED);
    assert_int_equal(h->count, 4);
    assert_int_equal(h->payload_len, b->len - sizeof(*h));
    /* Decode from an odd address: the input may sit anywhere. */
    memcpy(odd + 1, b->buf, b->len);
    assert_int_equal(vg_batch_decode(odd + 1, b->len, &d), 0);
    assert_int_equal(d->refs, 1);
    assert_int_equal(vg_batch_count_raw(d), 4);
    assert_memory_equal(d->buf, b->buf, b->len);
    while (vg_batch_next_raw(b, &i1, &e1)) {
        assert_int_equal(vg_batch_next_raw(d, &i2, &e2), 1);
        assert_int_equal(e1.kind, e2.kind);
        assert_true(e1.hash == e2.hash);
        assert_int_equal(e1.nlabels, e2.nlabels);
    }
    assert_int_equal(vg_batch_next_raw(d, &i2, &e2), 0);
    assert_int_equal(vg_batch_add_raw(d, &e1), -EPERM);
    free(odd);
    vg_iter_release_raw(&i1);
    vg_iter_release_raw(&i2);
    vg_batch_unref_raw(b);
    vg_batch_unref_raw(d);
}

/* Freezing refuses adds but leaves the checksum for later: the bytes are
 * not decodable until sealed, and sealing a frozen batch makes them so. */
static void
batch_freeze_defers_the_checksum(void **state)
{
    struct vg_batch *b = vg_batch_new_raw(0), *d = NULL;
    struct vg_event ev = { .kind = VG_EV_LOG, .time = 1, .body = "x",
                           .body_len = 1 };
    struct vg_batch_hdr *h = (void *)b->buf;

    (void)state;
    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    vg_batch_freeze(b);
    assert_true(h->flags & VG_BATCH_SEALED);
    assert_int_equal(vg_batch_add_raw(b, &ev), -EPERM);
    h->crc = 0xdeadbeef;        /* whatever is there is not a checksum yet */
    assert_int_equal(vg_batch_decode(b->buf, b->len, &d), -EBADMSG);
    vg_batch_seal(b);
    assert_int_equal(vg_batch_decode(b->buf, b->len, &d), 0);
    assert_int_equal(vg_batch_count_raw(d), 1);
    vg_batch_unref_raw(b);
    vg_batch_unref_raw(d);
}

/* Dropping unseals; sealing again makes the bytes decodable with the drop. */
static void
batch_drop_after_seal_needs_reseal(void **state)
{
    struct vg_batch *b = mixed_batch(), *d = NULL;
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    const struct vg_batch_hdr *h = (const void *)b->buf;

    assert_int_equal(vg_batch_next_raw(b, &it, &ev), 1);
    vg_batch_drop_raw(b, &it);
    assert_false(h->flags & VG_BATCH_SEALED);
    assert_int_equal(vg_batch_decode(b->buf, b->len, &d), -EBADMSG);
    assert_null(d);
    vg_batch_seal(b);
    assert_int_equal(vg_batch_decode(b->buf, b->len, &d), 0);
    assert_int_equal(vg_batch_count_raw(d), 3);
    vg_iter_release_raw(&it);
    vg_batch_unref_raw(b);
    vg_batch_unref_raw(d);
}

static void
batch_decode_refuses_bad_headers(void **state)
{
    struct vg_batch *b = mixed_batch(), *d = NULL;
    char *copy = malloc(b->len + 8);
    struct vg_batch_hdr *h = (void *)copy;

    memcpy(copy, b->buf, b->len);
    h->magic ^= 1;
    assert_int_equal(vg_batch_decode(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    h->version = 2;
    assert_int_equal(vg_batch_decode(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    h->crc ^= 1;
    assert_int_equal(vg_batch_decode(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    copy[b->len - 1] ^= 1;                      /* payload bit flip */
    assert_int_equal(vg_batch_decode(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    memset(copy + b->len, 0, 8);                /* trailing bytes */
    assert_int_equal(vg_batch_decode(copy, b->len + 8, &d), -EBADMSG);
    assert_int_equal(vg_batch_decode(copy, 3, &d), -EBADMSG);
    assert_null(d);
    free(copy);
    vg_batch_unref_raw(b);
}

static void
batch_decode_refuses_every_truncation(void **state)
{
    struct vg_batch *b = mixed_batch(), *d = NULL;
    size_t len;

    for (len = 0; len < b->len; len++) {
        /* Exact-size heap copies so ASan sees any read past the end. */
        char *copy = malloc(len ? len : 1);

        memcpy(copy, b->buf, len);
        assert_int_equal(vg_batch_decode(copy, len, &d), -EBADMSG);
        free(copy);
    }
    vg_batch_unref_raw(b);
}

/* Re-seals a mutated copy so the structural checks, not the crc, decide. */
static int
decode_forged(const char *buf, size_t len, struct vg_batch **out)
{
    struct vg_batch_hdr *h = (struct vg_batch_hdr *)(void *)buf;

    h->crc = vg_crc32c(0, buf + sizeof(*h), len - sizeof(*h));
    return vg_batch_decode(buf, len, out);
}

static uint32_t
rd32(const char *p)
{
    uint32_t v;

    memcpy(&v, p, 4);
    return v;
}

static void
wr32(char *p, uint32_t v)
{
    memcpy(p, &v, 4);
}

static void
batch_decode_refuses_forged_records(void **state)
{
    struct vg_kv label = vg_kv_str("k", "v");
    struct vg_batch *b = vg_batch_new_raw(0), *d = NULL;
    struct vg_event ev = metric("name", 1, &label, 1);
    size_t hl = sizeof(struct vg_batch_hdr);
    char *copy, *rec;
    uint32_t size;

    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    vg_batch_seal(b);
    copy = malloc(b->len);
    rec = copy + hl;
    size = rd32(b->buf + hl);

    memcpy(copy, b->buf, b->len);
    assert_int_equal(decode_forged(copy, b->len, &d), 0);   /* control */
    vg_batch_unref_raw(d);

    memcpy(copy, b->buf, b->len);
    wr32(rec, size + 8);                        /* size past the end */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    wr32(rec, size - 4);                        /* unaligned size */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    wr32(rec, 0);                               /* size 0 would loop */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    rec[4] = 9;                                 /* kind */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    wr32(rec + 40, size);                       /* name offset past end */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    wr32(rec + 44, 0xfffffff0u);                /* name length huge */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    wr32(rec + 44, 2);                          /* no NUL after 2 bytes */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    wr32(rec + 8, 1000);                        /* nlabels: table too big */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    wr32(rec + 40 + 32 + 8, 3);                 /* label typed int */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    wr32(copy + 8, 2);                          /* header count */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    assert_null(d);
    free(copy);
    vg_batch_unref_raw(b);
}

static void
batch_decode_refuses_unsorted_labels(void **state)
{
    struct vg_kv labels[] = { vg_kv_str("a", "1"), vg_kv_str("b", "2") };
    struct vg_batch *b = vg_batch_new_raw(0), *d = NULL;
    struct vg_event ev = metric("m", 1, labels, 2);
    char *copy, *kv0;
    char tmp[24];

    assert_int_equal(vg_batch_add_raw(b, &ev), 0);
    vg_batch_seal(b);
    copy = malloc(b->len);
    memcpy(copy, b->buf, b->len);
    kv0 = copy + sizeof(struct vg_batch_hdr) + 40 + 32;
    memcpy(tmp, kv0, 24);                       /* swap the two entries */
    memcpy(kv0, kv0 + 24, 24);
    memcpy(kv0 + 24, tmp, 24);
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    memcpy(copy, b->buf, b->len);
    memcpy(kv0 + 24, kv0, 24);                  /* duplicate key */
    assert_int_equal(decode_forged(copy, b->len, &d), -EBADMSG);
    free(copy);
    vg_batch_unref_raw(b);
}

/*
 * Every byte of a sealed batch set to a few values, checksum fixed: decode
 * either refuses or yields a batch whose events can all be read (ASan and
 * UBSan watch the reads).
 */
static void
batch_decode_survives_byte_mutations(void **state)
{
    static const unsigned char vals[] = { 0x00, 0x01, 0x07, 0x80, 0xff };
    struct vg_batch *b = mixed_batch(), *d;
    char *copy = malloc(b->len);
    size_t pos, v, accepted = 0, refused = 0;

    for (pos = sizeof(struct vg_batch_hdr); pos < b->len; pos++) {
        for (v = 0; v < sizeof(vals); v++) {
            struct vg_iter it = VG_ITER_INIT;
            struct vg_event ev;
            uint32_t i;

            memcpy(copy, b->buf, b->len);
            copy[pos] = (char)vals[v];
            if (decode_forged(copy, b->len, &d) < 0) {
                refused++;
                continue;
            }
            accepted++;
            while (vg_batch_next_raw(d, &it, &ev)) {
                for (i = 0; i < ev.nlabels; i++)
                    assert_true(strlen(ev.labels[i].key) <=
                                ev.labels[i].key_len);
                if (ev.kind == VG_EV_LOG && ev.body_len)
                    assert_true(ev.body[ev.body_len] == '\0');
                if (ev.kind == VG_EV_METRIC)
                    assert_true(strlen(ev.name) < d->len);
            }
            vg_iter_release_raw(&it);
            vg_batch_unref_raw(d);
        }
    }
    assert_true(refused > 0);
    assert_true(accepted > 0);      /* values, times: any byte is fine */
    free(copy);
    vg_batch_unref_raw(b);
}

int
main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crc32c_matches_known_vector),
        cmocka_unit_test(crc32c_extends_across_calls),
        cmocka_unit_test(crc32c_paths_agree_on_random_buffers),
        cmocka_unit_test(hash64_is_stable),
        cmocka_unit_test(hash64_depends_on_seed_length_and_alignment),
        cmocka_unit_test(hash64_avalanches),
        cmocka_unit_test(series_hash_is_stable),
        cmocka_unit_test(series_hash_separates_boundaries),
        cmocka_unit_test(batch_starts_empty_with_one_ref),
        cmocka_unit_test(batch_metric_round_trips_with_sorted_labels),
        cmocka_unit_test(batch_hash_ignores_label_order_and_keeps_given_hash),
        cmocka_unit_test(batch_duplicate_label_keeps_last),
        cmocka_unit_test(batch_sorts_many_labels),
        cmocka_unit_test(batch_log_keeps_binary_body_and_typed_attrs),
        cmocka_unit_test(batch_histogram_round_trips),
        cmocka_unit_test(batch_alert_round_trips),
        cmocka_unit_test(batch_alert_without_description_gives_null),
        cmocka_unit_test(batch_add_refuses_bad_events),
        cmocka_unit_test(batch_add_after_seal_is_refused),
        cmocka_unit_test(batch_grows_and_iterates_many_events),
        cmocka_unit_test(batch_drop_hides_event_and_counts),
        cmocka_unit_test(batch_seal_then_decode_round_trips),
        cmocka_unit_test(batch_drop_after_seal_needs_reseal),
        cmocka_unit_test(batch_freeze_defers_the_checksum),
        cmocka_unit_test(batch_decode_refuses_bad_headers),
        cmocka_unit_test(batch_decode_refuses_every_truncation),
        cmocka_unit_test(batch_decode_refuses_forged_records),
        cmocka_unit_test(batch_decode_refuses_unsorted_labels),
        cmocka_unit_test(batch_decode_survives_byte_mutations),
    };

    return cmocka_run_group_tests(tests, NULL, NULL);
}
