/*
 * A small, strict HTTP/1.1 server on the core's libev loop, for the status
 * API: no thread, bounded everything.  A request head is at most 8 KiB
 * (431 past it), a body at most 64 KiB (413), a client that sends nothing
 * for 10 s is closed, connections are capped; keep-alive and HEAD work.
 * The handler answers synchronously with a complete response.
 */
#ifndef VG_HTTP_SERVER_H
#define VG_HTTP_SERVER_H

#include <ev.h>
#include <stddef.h>

#include "util.h"

struct vg_http_server;

struct vg_http_request {
    const char *method;                 /* "GET", "HEAD", "POST", ...     */
    const char *path;                   /* without the query string       */
    const char *query;                  /* after '?', or ""               */
    const char *authorization;          /* header value, or NULL          */
    const char *body;
    size_t      body_len;
};

struct vg_http_response {
    int          status;
    const char  *content_type;
    struct vg_buf body;                 /* the handler fills it           */
    const char  *allow;                 /* for 405                        */
};

typedef void (*vg_http_handler)(void *arg, const struct vg_http_request *req,
                                struct vg_http_response *resp);

/*
 * Listens on `listen` ("127.0.0.1:2020", "[::1]:2020", "0.0.0.0:2020").
 * Returns 0 or a negative errno (-EADDRINUSE, ...); *why gets a message.
 */
int  vg_http_server_start(struct vg_http_server **out, struct ev_loop *loop,
                          const char *listen, vg_http_handler handler,
                          void *arg, char *why, size_t whylen);
void vg_http_server_stop(struct vg_http_server *s);   /* NULL is a no-op */
/* Serve TLS with tls from now on (NULL: plain); takes tls.  Connections
 * already open keep what they started with. */
struct vg_tls_ctx;
struct vg_tls_ops;
void vg_http_server_set_tls(struct vg_http_server *s,
                            const struct vg_tls_ops *ops,
                            struct vg_tls_ctx *tls);

/* The length of the request head at p (up to and including the blank line
 * that ends it, "\n\n" or "\r\n\r\n"), or 0 when it is not complete. */
size_t vg_http_head_length(const char *p, size_t len);

/*
 * Parses a request head in place: head is the NUL-terminated text that
 * vg_http_head_length measured (a NUL byte inside it ends it early).  On
 * success returns 0 and fills req (method, path, query, authorization;
 * pointers into head, body left empty), *body_len (Content-Length, 0
 * without one) and *close_after (HTTP/1.0 or "Connection: close").
 * Otherwise returns the HTTP status to answer (400, 413, 431, 501, 505)
 * with *why set to a static message.
 */
int  vg_http_parse_request(char *head, struct vg_http_request *req,
                           size_t *body_len, int *close_after,
                           const char **why);

/* 1 when `listen` names a loopback address. */
int  vg_http_listen_is_loopback(const char *listen);

#endif
