/*
 * libFuzzer target: the batch decoder and the event readers behind it.
 * The input is decoded as it is (so the checksum check runs), then again
 * with the header's crc recomputed over the payload, which lets the
 * fuzzer reach the structural checks of every record.  Every event of a
 * decoded batch is read back and JSON-encoded; every other one is dropped,
 * and the resealed batch must decode again.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "batch.h"
#include "json.h"
#include "util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
read_all(struct vg_batch *b)
{
    struct vg_iter it = VG_ITER_INIT;
    struct vg_event ev;
    struct vg_batch *again = NULL;
    struct vg_buf out;
    size_t n = 0;

    vg_buf_init(&out);
    while (vg_batch_next_raw(b, &it, &ev)) {
        vg_json_event(&out, &ev);
        out.len = 0;
        if (n++ % 2)
            vg_batch_drop_raw(b, &it);
    }
    vg_iter_release_raw(&it);
    vg_buf_release(&out);
    vg_batch_seal(b);
    if (vg_batch_decode(b->buf, b->len, &again) < 0) {
        fprintf(stderr, "fuzz_batch: a resealed batch does not decode\n");
        abort();
    }
    if (vg_batch_count_raw(again) != vg_batch_count_raw(b)) {
        fprintf(stderr, "fuzz_batch: %zu live events, %zu after decode\n",
                vg_batch_count_raw(b), vg_batch_count_raw(again));
        abort();
    }
    vg_batch_unref_raw(again);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct vg_batch_hdr h;
    struct vg_batch *b = NULL;
    char *copy;

    if (vg_batch_decode(data, size, &b) == 0) {
        read_all(b);
        vg_batch_unref_raw(b);
        return 0;
    }
    if (size < sizeof(h))
        return 0;
    /* Forge the checksum so the structure, not the crc, decides. */
    copy = vg_xmalloc(size);
    memcpy(copy, data, size);
    memcpy(&h, copy, sizeof(h));
    h.crc = vg_crc32c(0, copy + sizeof(h), size - sizeof(h));
    memcpy(copy, &h, sizeof(h));
    if (vg_batch_decode(copy, size, &b) == 0) {
        read_all(b);
        vg_batch_unref_raw(b);
    }
    free(copy);
    return 0;
}
