/*
 * libFuzzer target: the alert filter's summary and description templates.
 * The input's first 12 bytes give the sample value, the forecast time
 * (relative to a fixed clock, or none) and the output buffer size; the
 * rest is the template.  It is checked (alert_template_check) and rendered
 * (alert_render) into a buffer of exactly that size, whose result must be
 * terminated inside it; the duration formatter runs on the same offset.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "alert.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define NOW INT64_C(1700000000000000000)        /* 2023-11-14, ns */

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    struct alert_rule_conf rc;
    struct alert_rule rule;
    struct alert_series s;
    struct vg_kv labels[2];
    char err[128], dur[64], *tmpl, *dst;
    double value;
    int32_t rel;
    size_t cap;

    if (size < 12)
        return 0;
    memcpy(&value, data, 8);
    memcpy(&rel, data + 8, 4);
    cap = (size_t)(rel & 0xff);
    data += 12;
    size -= 12;

    memset(&rc, 0, sizeof(rc));
    memset(&rule, 0, sizeof(rule));
    memset(&s, 0, sizeof(s));
    rc.name = "disk_full";
    rule.conf = &rc;
    rule.threshold = 90.5;
    labels[0] = vg_kv_str("host", "web-1");
    labels[1] = vg_kv_str("mount", "/var");
    s.labels = labels;
    s.nlabels = 2;
    s.value = value;
    /* rel in ms: a forecast up to ~25 days either side, or none */
    s.eta = rel & 0x100 ? NOW + (int64_t)(rel >> 9) * 1000000 : 0;

    tmpl = malloc(size + 1);
    dst = malloc(cap ? cap : 1);
    if (!tmpl || !dst)
        goto done;
    memcpy(tmpl, data, size);
    tmpl[size] = '\0';
    alert_template_check(tmpl, err, sizeof(err));
    alert_render(dst, cap, tmpl, &rule, &s, NOW);
    if (cap && strnlen(dst, cap) == cap) {
        fprintf(stderr, "fuzz_alert_template: result not terminated\n");
        abort();
    }
    alert_fmt_duration(dur, sizeof(dur), s.eta - NOW);
done:
    free(tmpl);
    free(dst);
    return 0;
}
