/*
 * Server-side TLS for the status server: an OpenSSL context built from a
 * certificate and key (TLS 1.2 at least), and non-blocking reads and
 * writes that say which readiness they wait for.
 *
 * OpenSSL costs about 1.6 MiB of resident memory once mapped, paid on
 * every host even where the status server speaks plain HTTP on loopback.
 * So the code lives in a module of its own (vigil-tls.so), opened the
 * first time a config asks for TLS.
 */
#ifndef VG_TLS_SERVER_H
#define VG_TLS_SERVER_H

#include <stddef.h>
#include <sys/types.h>

struct vg_tls_ctx;
struct vg_tls_conn;

struct vg_tls_ops {
    /* Loads cert_file (PEM chain) and key_file.  0, or -EINVAL with a
     * reason. */
    int  (*ctx_new)(struct vg_tls_ctx **out, const char *cert_file,
                    const char *key_file, char *why, size_t whylen);
    /* Connections hold their own reference: freeing the context while
     * they live is safe. */
    void (*ctx_free)(struct vg_tls_ctx *ctx);
    struct vg_tls_conn *(*conn_new)(struct vg_tls_ctx *ctx, int fd);
    void (*conn_free)(struct vg_tls_conn *c);
    /* Like recv/send: bytes moved, 0 at the end of the stream (read), or
     * a negative errno; -EAGAIN sets *want_write when TLS waits for the
     * socket to be writable (else readable). */
    ssize_t (*read)(struct vg_tls_conn *c, void *buf, size_t len,
                    int *want_write);
    ssize_t (*write)(struct vg_tls_conn *c, const void *buf, size_t len,
                     int *want_write);
};

/* The module's table (vigil-tls.so exports it as vg_tls_ops). */
extern const struct vg_tls_ops vg_tls_ops;

/* Opens the module once; NULL with a reason when it cannot. */
const struct vg_tls_ops *vg_tls_load(char *why, size_t whylen);

#endif
