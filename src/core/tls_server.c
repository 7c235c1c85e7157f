/*
 * OpenSSL glue of the status server, built as the module vigil-tls.so.
 * Partial writes are allowed and the write buffer may move between
 * retries, since the server's output buffer can grow while a write is
 * pending.  It uses nothing of the core but the allocator's contract.
 */
#include <errno.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdio.h>
#include <stdlib.h>

#include "tls_server.h"

struct vg_tls_ctx {
    SSL_CTX *ctx;
};

struct vg_tls_conn {
    SSL *ssl;
};

static void tls_ctx_free(struct vg_tls_ctx *t);
static void tls_conn_free(struct vg_tls_conn *c);

static void
ssl_reason(char *why, size_t whylen, const char *what)
{
    unsigned long e = ERR_get_error();
    char msg[256];

    ERR_error_string_n(e, msg, sizeof(msg));
    snprintf(why, whylen, "%s: %s", what, e ? msg : "unknown error");
    ERR_clear_error();
}

static int
tls_ctx_new(struct vg_tls_ctx **out, const char *cert_file,
               const char *key_file, char *why, size_t whylen)
{
    struct vg_tls_ctx *t = calloc(1, sizeof(*t));
    char what[600];

    if (!t) {
        snprintf(why, whylen, "out of memory");
        return -ENOMEM;
    }
    t->ctx = SSL_CTX_new(TLS_server_method());
    if (!t->ctx) {
        ssl_reason(why, whylen, "cannot create a TLS context");
        goto fail;
    }
    SSL_CTX_set_min_proto_version(t->ctx, TLS1_2_VERSION);
    SSL_CTX_set_mode(t->ctx, SSL_MODE_ENABLE_PARTIAL_WRITE |
                     SSL_MODE_ACCEPT_MOVING_WRITE_BUFFER);
    SSL_CTX_set_options(t->ctx, SSL_OP_NO_RENEGOTIATION |
                        SSL_OP_CIPHER_SERVER_PREFERENCE);
    if (SSL_CTX_use_certificate_chain_file(t->ctx, cert_file) != 1) {
        snprintf(what, sizeof(what), "cannot load certificate '%.500s'",
                 cert_file);
        ssl_reason(why, whylen, what);
        goto fail;
    }
    if (SSL_CTX_use_PrivateKey_file(t->ctx, key_file, SSL_FILETYPE_PEM) != 1
        || SSL_CTX_check_private_key(t->ctx) != 1) {
        snprintf(what, sizeof(what), "cannot load key '%.500s' (or it does "
                 "not match the certificate)", key_file);
        ssl_reason(why, whylen, what);
        goto fail;
    }
    *out = t;
    return 0;
fail:
    tls_ctx_free(t);
    return -EINVAL;
}

static void
tls_ctx_free(struct vg_tls_ctx *t)
{
    if (!t)
        return;
    SSL_CTX_free(t->ctx);
    free(t);
}

static struct vg_tls_conn *
tls_conn_new(struct vg_tls_ctx *t, int fd)
{
    struct vg_tls_conn *c = calloc(1, sizeof(*c));

    if (!c)
        return NULL;
    c->ssl = SSL_new(t->ctx);
    if (!c->ssl || SSL_set_fd(c->ssl, fd) != 1) {
        tls_conn_free(c);
        return NULL;
    }
    SSL_set_accept_state(c->ssl);
    return c;
}

static void
tls_conn_free(struct vg_tls_conn *c)
{
    if (!c)
        return;
    if (c->ssl)
        SSL_free(c->ssl);
    free(c);
}

static ssize_t
result(struct vg_tls_conn *c, int n, int *want_write)
{
    switch (SSL_get_error(c->ssl, n)) {
    case SSL_ERROR_WANT_READ:
        *want_write = 0;
        return -EAGAIN;
    case SSL_ERROR_WANT_WRITE:
        *want_write = 1;
        return -EAGAIN;
    case SSL_ERROR_ZERO_RETURN:
        return 0;
    case SSL_ERROR_SYSCALL:
        ERR_clear_error();
        return errno ? -errno : -ECONNRESET;
    default:                    /* a handshake or protocol failure */
        ERR_clear_error();
        return -EPROTO;
    }
}

static ssize_t
tls_read(struct vg_tls_conn *c, void *buf, size_t len, int *want_write)
{
    int n;

    ERR_clear_error();
    n = SSL_read(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return n > 0 ? n : result(c, n, want_write);
}

static ssize_t
tls_write(struct vg_tls_conn *c, const void *buf, size_t len,
             int *want_write)
{
    int n;

    ERR_clear_error();
    n = SSL_write(c->ssl, buf, len > INT32_MAX ? INT32_MAX : (int)len);
    return n > 0 ? n : result(c, n, want_write);
}

__attribute__((visibility("default")))
const struct vg_tls_ops vg_tls_ops = {
    .ctx_new = tls_ctx_new,
    .ctx_free = tls_ctx_free,
    .conn_new = tls_conn_new,
    .conn_free = tls_conn_free,
    .read = tls_read,
    .write = tls_write,
};
