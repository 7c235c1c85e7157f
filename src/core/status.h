/*
 * The agent's view of itself: the status HTTP server's endpoints
 * (/metrics in Prometheus text, /health, /api/v1/status, /api/v1/alerts,
 * POST /api/v1/reload, and the status page at /) and the same self metrics
 * as metric events for the `self` input.  Keeps a 15-minute history of
 * each pipeline's throughput for the page's charts.
 */
#ifndef VG_STATUS_H
#define VG_STATUS_H

#include <ev.h>
#include <stddef.h>

struct vg_engine;
struct vg_batch;
struct vg_status;

/*
 * Starts, moves or stops the status server: listen NULL stops it.  With
 * cert_file and key_file it serves HTTPS, the files read again at every
 * apply (a reload).  The old server keeps running when the new one
 * cannot start.  0, or a
 * negative errno with a message in why.
 */
int  vg_status_apply(struct vg_status **st, struct vg_engine *eng,
                     struct ev_loop *loop, const char *listen,
                     const char *token, const char *cert_file,
                     const char *key_file, char *why, size_t whylen);
void vg_status_free(struct vg_status *st);          /* NULL is a no-op */

/* Appends the self metrics to b as metric events stamped `now` (ns). */
void vg_status_self_metrics(const struct vg_engine *eng, struct vg_batch *b,
                            int64_t now);

#endif
