/*
 * Batch and JSON throughput: adding a typical metric (25-byte name, three
 * labels), iterating it back, encoding it as JSON, sealing (crc32c) and
 * decoding a batch.  Prints events/s and ns/event; no pass/fail.
 *
 * Build and run from the source tree:
 *   gcc -O2 -Iinclude -Isrc/core contrib/bench/bench_batch.c \
 *       src/core/batch.c src/core/json.c src/core/util.c -lm \
 *       -o /tmp/bench_batch && /tmp/bench_batch [events-per-batch] [rounds]
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "json.h"
#include "util.h"

static void
report(const char *what, int64_t ns, double events)
{
    printf("%-22s %8.1f ns/event  %12.0f events/s\n", what, ns / events,
           events * 1e9 / (double)ns);
}

int
main(int argc, char **argv)
{
    int per = argc > 1 ? atoi(argv[1]) : 1000;
    int rounds = argc > 2 ? atoi(argv[2]) : 2000;
    struct vg_kv labels[] = { vg_kv_str("host", "web-07.example"),
                              vg_kv_str("cpu", "3"),
                              vg_kv_str("mode", "user") };
    struct vg_event ev = { .kind = VG_EV_METRIC,
                           .name = "system.cpu.time.seconds",
                           .metric_type = VG_METRIC_COUNTER,
                           .labels = labels, .nlabels = 3 };
    int64_t t_add = 0, t_iter = 0, t_json = 0, t_seal = 0, t_dec = 0, t;
    struct vg_iter it = VG_ITER_INIT;
    struct vg_buf out;
    double total = (double)per * rounds, sink = 0;
    size_t bytes = 0;
    int r, i;

    if (per <= 0 || rounds <= 0) {
        fprintf(stderr, "usage: bench_batch [events-per-batch] [rounds]\n");
        return 2;
    }
    vg_buf_init(&out);
    for (r = 0; r < rounds; r++) {
        struct vg_batch *b = vg_batch_new_raw((size_t)per * 200), *d;
        struct vg_event e;

        t = vg_mono_ns();
        for (i = 0; i < per; i++) {
            ev.time = i;
            ev.value = i * 0.5;
            if (vg_batch_add_raw(b, &ev) < 0)
                abort();
        }
        t_add += vg_mono_ns() - t;

        t = vg_mono_ns();
        it.offset = 0;
        while (vg_batch_next_raw(b, &it, &e))
            sink += e.value + (double)e.labels[2].len;
        t_iter += vg_mono_ns() - t;

        t = vg_mono_ns();
        it.offset = 0;
        out.len = 0;
        while (vg_batch_next_raw(b, &it, &e)) {
            vg_json_event(&out, &e);
            vg_buf_addch(&out, '\n');
        }
        t_json += vg_mono_ns() - t;

        t = vg_mono_ns();
        vg_batch_seal(b);
        t_seal += vg_mono_ns() - t;

        t = vg_mono_ns();
        if (vg_batch_decode(b->buf, b->len, &d) < 0)
            abort();
        t_dec += vg_mono_ns() - t;

        bytes = b->len;
        vg_batch_unref_raw(d);
        vg_batch_unref_raw(b);
    }
    printf("%d batches of %d events, %zu bytes/batch (%.0f bytes/event)\n",
           rounds, per, bytes, (double)bytes / per);
    report("add", t_add, total);
    report("iterate", t_iter, total);
    report("iterate + json", t_json, total);
    report("seal (crc32c)", t_seal, total);
    report("decode (validate)", t_dec, total);
    printf("crc32c: %s, %.2f GB/s\n",
           vg_crc32c_hw_available() ? "sse4.2" : "table",
           (double)bytes * rounds / (double)t_seal);
    vg_iter_release_raw(&it);
    vg_buf_release(&out);
    return sink == 42 ? 1 : 0;  /* keep the loop's reads alive */
}
