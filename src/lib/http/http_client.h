/*
 * Shared HTTP client of the HTTP plugins: libcurl's multi-socket
 * interface driven by the core's loop through the plugin API only (one
 * vg_io per curl socket, one vg_timer for curl's timeout), so a plugin that
 * links it links no core symbol.  One client per plugin instance; its multi
 * handle keeps the connection cache, so requests reuse connections.  A
 * response is kept whole up to a limit, or streamed to the caller piece
 * by piece (vg_http_request_stream).  All functions run on the loop
 * thread.  Also: a growable byte buffer with JSON helpers, gzip, and the
 * mapping of an HTTP result to a flush outcome.
 */
#ifndef VG_HTTP_CLIENT_H
#define VG_HTTP_CLIENT_H

#include <stddef.h>
#include <stdint.h>

#include <vigil/plugin.h>

/* ---- byte buffer --------------------------------------------------- */

struct vg_hbuf {
    char   *p;                  /* NUL-terminated when len > 0 */
    size_t  len;
    size_t  cap;
};

void vg_hbuf_release(struct vg_hbuf *b);     /* frees p; b reusable */
void vg_hbuf_add(struct vg_hbuf *b, const void *s, size_t n);
void vg_hbuf_adds(struct vg_hbuf *b, const char *s);
void vg_hbuf_addf(struct vg_hbuf *b, const char *fmt, ...) VG_PRINTF(2, 3);
/* A JSON string literal with quotes; bytes that are not UTF-8 become
 * \u00XX (as the core's encoder does). */
void vg_hbuf_add_jstr(struct vg_hbuf *b, const char *s, size_t n);
/* Same, cut to at most max_chars code points (never inside one). */
void vg_hbuf_add_jstr_max(struct vg_hbuf *b, const char *s, size_t n,
                          size_t max_chars);
/* A finite double, shortest form that reads back exactly. */
void vg_hbuf_add_double(struct vg_hbuf *b, double v);
/* A JSON number; NaN and infinities as the strings vigil uses. */
void vg_hbuf_add_jnum(struct vg_hbuf *b, double v);

/* Bytes of the longest prefix of s[0..n) with at most max_chars code
 * points that does not end inside a UTF-8 sequence. */
size_t vg_utf8_prefix(const char *s, size_t n, size_t max_chars);

/* gzip (RFC 1952) of in[0..n) into out (replaced); 0 or -ENOMEM/-EIO. */
int vg_gzip(const void *in, size_t n, struct vg_hbuf *out);

/* ---- client -------------------------------------------------------- */

struct vg_http;
struct vg_http_request;

struct vg_http_opts {
    const char *proxy;          /* NULL: curl's *_proxy env variables */
    int         tls_verify;     /* 0 turns off peer and host checks */
    const char *ca_file;        /* NULL: the system bundle */
    const char *cert_file;      /* client certificate (PEM), optional */
    const char *key_file;       /* its key (PEM) */
    const char *server_name;    /* name checked in the server cert and
                                   sent as SNI, when it differs from the
                                   URL's host; optional */
    int64_t     timeout;        /* ns, whole request; 0 = none */
    int64_t     connect_timeout;/* ns; 0 = curl's default */
    size_t      max_response;   /* response bytes kept; 0 = 64 KiB */
    const char *user;           /* basic auth, with password; or */
    const char *password;
    const char *bearer_token;   /* Authorization: Bearer; NULL: none */
};

/*
 * The `tls:` object every HTTP plugin takes: embed the struct in the
 * plugin's config and list VG_HTTP_TLS_OPTIONS(conf type, member) in the
 * schema of its OBJECT option.
 */
struct vg_http_tls_conf {
    int   verify;
    char *ca_file;
    char *cert_file;
    char *key_file;
    char *server_name;
};

/* M is a member path inside offsetof: it cannot take parentheses. */
/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define VG_HTTP_TLS_OPTIONS(T, M) \
    { .name = "verify", .type = VG_OPT_BOOL, .def = "true", \
      .offset = offsetof(T, M.verify), \
      .help = "check the server's certificate and name" }, \
    { .name = "ca_file", .type = VG_OPT_STR, \
      .offset = offsetof(T, M.ca_file), \
      .help = "CA bundle (PEM) instead of the system's" }, \
    { .name = "cert_file", .type = VG_OPT_STR, \
      .offset = offsetof(T, M.cert_file), \
      .help = "client certificate (PEM) for mutual TLS" }, \
    { .name = "key_file", .type = VG_OPT_STR, \
      .offset = offsetof(T, M.key_file), \
      .help = "client key (PEM) for mutual TLS" }, \
    { .name = "server_name", .type = VG_OPT_STR, \
      .offset = offsetof(T, M.server_name), \
      .help = "name to verify and send (SNI, Host) instead of the URL's" }
/* NOLINTEND(bugprone-macro-parentheses) */

/* Copies the tls: settings into o. */
void vg_http_opts_tls(struct vg_http_opts *o,
                      const struct vg_http_tls_conf *t);

/*
 * How the HTTP outputs reach their endpoint: timeout, connect_timeout,
 * proxy and the tls: object.  Embed the struct in the plugin's config,
 * define the tls sub-schema with VG_HTTP_TLS_OPTIONS(conf type, M.tls) and
 * list VG_HTTP_CONN_OPTIONS(conf type, M, that sub-schema) in the
 * plugin's schema.
 */
struct vg_http_conn_conf {
    int64_t                 timeout;            /* ns */
    int64_t                 connect_timeout;    /* ns */
    char                   *proxy;
    struct vg_http_tls_conf tls;
};

/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define VG_HTTP_CONN_OPTIONS(T, M, TLS_SCHEMA) \
    { .name = "timeout", .type = VG_OPT_DURATION, .def = "30s", \
      .offset = offsetof(T, M.timeout), \
      .help = "whole request, connection included" }, \
    { .name = "connect_timeout", .type = VG_OPT_DURATION, .def = "10s", \
      .offset = offsetof(T, M.connect_timeout), \
      .help = "TCP and TLS connection" }, \
    { .name = "proxy", .type = VG_OPT_STR, \
      .offset = offsetof(T, M.proxy), \
      .help = "proxy URL; default from https_proxy/http_proxy/no_proxy" }, \
    { .name = "tls", .type = VG_OPT_OBJECT, .sub = TLS_SCHEMA, \
      .help = "verify, ca_file, cert_file, key_file, server_name" }
/* NOLINTEND(bugprone-macro-parentheses) */

/* Copies the connection settings, tls: included, into o. */
void vg_http_opts_conn(struct vg_http_opts *o,
                       const struct vg_http_conn_conf *c);

/*
 * The `auth:` object of the HTTP plugins: basic (user, password) or a
 * bearer token, sent by libcurl with every request (and not to another
 * host after a redirect).  Embed the struct in the plugin's config and
 * list VG_HTTP_AUTH_OPTIONS(conf type, member) in the schema of its
 * OBJECT option.
 */
struct vg_http_auth_conf {
    char *user;
    char *password;
    char *bearer_token;
};

/* NOLINTBEGIN(bugprone-macro-parentheses) */
#define VG_HTTP_AUTH_OPTIONS(T, M) \
    { .name = "user", .type = VG_OPT_STR, \
      .offset = offsetof(T, M.user), \
      .help = "basic auth user name" }, \
    { .name = "password", .type = VG_OPT_STR, .flags = VG_OPT_SECRET, \
      .offset = offsetof(T, M.password), \
      .help = "basic auth password" }, \
    { .name = "bearer_token", .type = VG_OPT_STR, .flags = VG_OPT_SECRET, \
      .offset = offsetof(T, M.bearer_token), \
      .help = "sent as 'Authorization: Bearer TOKEN'" }
/* NOLINTEND(bugprone-macro-parentheses) */

/* Checks the auth: settings (basic and bearer exclude each other, a
 * password needs a user) and copies them into o.  0, or -EINVAL after
 * logging why. */
int vg_http_opts_auth(struct vg_instance *in, struct vg_http_opts *o,
                      const struct vg_http_auth_conf *a);

/* What a request ended with, handed to its callback (borrowed). */
struct vg_http_result {
    long        status;         /* HTTP status; 0 when none came */
    int         curl_code;      /* CURLE_*, 0 on a completed exchange */
    const char *error;          /* curl's error text, "" when none */
    const char *body;           /* response, NUL-terminated, cut */
    size_t      body_len;
    int64_t     retry_after;    /* ns from a Retry-After header; -1 */
    int64_t     elapsed;        /* ns, the whole request */
    const char *where;          /* "METHOD scheme://host": log-safe */
    /* Phases of the last transfer (curl's timings), ns from its start:
     * name resolved, connected, TLS done (0 without TLS), first byte. */
    int64_t     t_dns;
    int64_t     t_connect;
    int64_t     t_tls;
    int64_t     t_first_byte;
    int64_t     body_bytes;     /* received in all, past max_response too */
    int64_t     cert_expiry;    /* probes: server certificate's notAfter,
                                   s since the epoch; 0 when unknown */
    int         os_errno;       /* errno of a failed connect, else 0 */
    int         stream_error;   /* the negative errno a stream callback
                                   stopped the transfer with, else 0 */
};

typedef void (*vg_http_done_fn)(struct vg_http *h,
                                const struct vg_http_result *r, void *arg);

/* Returns a new client for the instance, or NULL (logged); free with
 * vg_http_free().  Borrows opts' strings for the client's life. */
struct vg_http *vg_http_new(struct vg_instance *in,
                            const struct vg_http_opts *o);
/* Cancels requests in flight (their callbacks never fire), releases a
 * held flush without completing it (the core drops it at destroy). */
void vg_http_free(struct vg_http *h);

/* A request to send; free with vg_http_request_free() unless sent. */
struct vg_http_request *vg_http_request_new(const char *method,
                                            const char *url);
void vg_http_request_free(struct vg_http_request *r);
/* Adds "Name: value"; 0 or -ENOMEM. */
int vg_http_request_header(struct vg_http_request *r, const char *name,
                           const char *value);
/* Takes the body (the buffer is left empty); with gzip, compresses it
 * and adds Content-Encoding: gzip.  0 or a negative errno. */
int vg_http_request_body_take(struct vg_http_request *r,
                              struct vg_hbuf *body, int gzip);

/*
 * Makes r a health-check probe: a new connection of its own (so the
 * timings and the certificate are the server's, not a cached
 * connection's), a plain GET or HEAD when r has no body, redirects
 * followed (at most 10) when follow is set, and the server certificate's
 * expiry reported in cert_expiry.
 */
void vg_http_request_probe(struct vg_http_request *r, int follow);

/* The response's head, as a streamed request sees it (borrowed). */
struct vg_http_head {
    long        status;         /* HTTP status of the final response */
    const char *content_type;   /* Content-Type value; "" when none */
    int64_t     content_length; /* bytes announced (before decoding a
                                   Content-Encoding); -1 when unknown */
};

/* Return 0 to go on, or a negative errno to stop the transfer: it then
 * ends with that errno in the result's stream_error (and a curl error). */
typedef int (*vg_http_head_fn)(void *arg, const struct vg_http_head *hd);
typedef int (*vg_http_body_fn)(void *arg, const char *data, size_t len);

/*
 * Streams r's response body: body gets each piece as libcurl delivers
 * it (decoded when the server sent it compressed), in order, and the
 * client keeps none of it (the result's body is then "" and body_len 0;
 * body_bytes still counts it).  head, when not NULL, runs once before
 * the first piece; a response without a body calls neither.  Both run
 * inside a libcurl callback on the loop thread: they must not send or
 * free requests, nor free the client.  Optional: without it the client
 * keeps the first max_response bytes, as before.
 */
void vg_http_request_stream(struct vg_http_request *r, vg_http_head_fn head,
                            vg_http_body_fn body, void *arg);

/* Starts the request; takes r.  0, and cb fires exactly once later; or a
 * negative errno, r freed and cb never fires.  cb must not free h. */
int vg_http_send(struct vg_http *h, struct vg_http_request *r,
                 vg_http_done_fn cb, void *arg);

/* Requests in flight. */
unsigned vg_http_pending(const struct vg_http *h);

/*
 * Maps a result to VG_OK (2xx), VG_RETRY (no response, 408, 429, 5xx) or
 * VG_PERMANENT (other statuses), and writes a log-safe reason (with the
 * start of the response body for errors) into reason[size].
 */
int vg_http_outcome(const struct vg_http_result *r, char *reason,
                    size_t size);

/*
 * Completes the flush: a VG_RETRY with retry_after >= 0 waits that long
 * (at most an hour) before the next attempt, through the core when it
 * knows flush_retry_after, else by holding the flush on a timer of the
 * client and ending it as VG_RETRY when the timer fires.
 */
void vg_http_flush_done(struct vg_http *h, struct vg_flush *fl,
                        int outcome, int64_t retry_after,
                        const char *reason);

/* "scheme://host[:port]" of url into out[size]: what logs may show. */
void vg_http_url_redact(const char *url, char *out, size_t size);

/* 0 when url starts with http:// or https://; else -EINVAL after logging
 * "option 'OPTION' must start with http:// or https://". */
int vg_http_url_check(struct vg_instance *in, const char *option,
                      const char *url);

/* vg_http_new for a plugin that sends to url, which it then logs: a
 * warning when TLS to an https:// url is not verified, the destination
 * (without credentials) at debug level. */
struct vg_http *vg_http_new_to(struct vg_instance *in,
                               const struct vg_http_opts *o,
                               const char *url);

#endif /* VG_HTTP_CLIENT_H */
