/*
 * Shared HTTP client: libcurl multi-socket on the core's loop.  curl tells
 * us which sockets to watch (on_curl_socket) and when to call it back
 * (on_curl_timer); the watchers call curl_multi_socket_action, and
 * finished transfers are collected by drain() outside any curl callback,
 * where their handles are removed and the user callbacks run.
 */
#define _GNU_SOURCE             /* strptime, timegm */
#include <errno.h>
#include <math.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <curl/curl.h>
#include <zlib.h>

#include "http_client.h"

#define DEFAULT_MAX_RESPONSE (64 * 1024)
#define MAX_RETRY_AFTER (3600 * VG_SECOND)

/* ---- byte buffer --------------------------------------------------- */

static void
hbuf_grow(struct vg_hbuf *b, size_t more)
{
    size_t need = b->len + more + 1;
    size_t cap = b->cap ? b->cap : 256;
    char *p;

    if (need <= b->cap)
        return;
    while (cap < need)
        cap *= 2;
    if (!(p = realloc(b->p, cap)))
        abort();                /* as vg_xmalloc: OOM is not handled */
    b->p = p;
    b->cap = cap;
}

void
vg_hbuf_release(struct vg_hbuf *b)
{
    free(b->p);
    b->p = NULL;
    b->len = b->cap = 0;
}

void
vg_hbuf_add(struct vg_hbuf *b, const void *s, size_t n)
{
    hbuf_grow(b, n);
    if (n)
        memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

void
vg_hbuf_adds(struct vg_hbuf *b, const char *s)
{
    vg_hbuf_add(b, s, strlen(s));
}

void
vg_hbuf_addf(struct vg_hbuf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n <= 0)
        return;
    hbuf_grow(b, (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->p + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
}

/* Length of the valid UTF-8 sequence at s (at most n bytes), 0 if none. */
static size_t
utf8_seq(const unsigned char *s, size_t n)
{
    size_t len, i;
    uint32_t cp;

    if (s[0] < 0x80)
        return 1;
    if (s[0] >= 0xc2 && s[0] <= 0xdf) {
        len = 2;
        cp = s[0] & 0x1f;
    } else if (s[0] >= 0xe0 && s[0] <= 0xef) {
        len = 3;
        cp = s[0] & 0x0f;
    } else if (s[0] >= 0xf0 && s[0] <= 0xf4) {
        len = 4;
        cp = s[0] & 0x07;
    } else {
        return 0;
    }
    if (len > n)
        return 0;
    for (i = 1; i < len; i++) {
        if ((s[i] & 0xc0) != 0x80)
            return 0;
        cp = (cp << 6) | (s[i] & 0x3f);
    }
    /* overlong forms, surrogates, past U+10FFFF */
    if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
        (cp >= 0xd800 && cp <= 0xdfff) || cp > 0x10ffff)
        return 0;
    return len;
}

size_t
vg_utf8_prefix(const char *s, size_t n, size_t max_chars)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t off = 0, chars = 0;

    while (off < n && chars < max_chars) {
        size_t l = utf8_seq(u + off, n - off);

        off += l ? l : 1;       /* a stray byte counts as one character */
        chars++;
    }
    return off;
}

void
vg_hbuf_add_jstr_max(struct vg_hbuf *b, const char *s, size_t n,
                     size_t max_chars)
{
    static const char hex[] = "0123456789abcdef";
    const unsigned char *u = (const unsigned char *)s;
    size_t off = 0, chars = 0;

    hbuf_grow(b, n + 2);
    b->p[b->len++] = '"';
    while (off < n && chars < max_chars) {
        unsigned char c = u[off];
        size_t l = utf8_seq(u + off, n - off);
        char esc[7];

        chars++;
        if (l > 1) {
            vg_hbuf_add(b, u + off, l);
            off += l;
            continue;
        }
        off++;
        if (l == 1 && c >= 0x20 && c != '"' && c != '\\') {
            hbuf_grow(b, 1);
            b->p[b->len++] = (char)c;
            continue;
        }
        esc[0] = '\\';
        switch (c) {
        case '"': esc[1] = '"'; vg_hbuf_add(b, esc, 2); continue;
        case '\\': esc[1] = '\\'; vg_hbuf_add(b, esc, 2); continue;
        case '\n': esc[1] = 'n'; vg_hbuf_add(b, esc, 2); continue;
        case '\r': esc[1] = 'r'; vg_hbuf_add(b, esc, 2); continue;
        case '\t': esc[1] = 't'; vg_hbuf_add(b, esc, 2); continue;
        default:
            break;
        }
        /* the bytes of "\\u00XX", no terminator wanted */
        /* NOLINTNEXTLINE(bugprone-not-null-terminated-result) */
        memcpy(esc + 1, "u00", 3);
        esc[4] = hex[c >> 4];
        esc[5] = hex[c & 0xf];
        vg_hbuf_add(b, esc, 6);
    }
    vg_hbuf_add(b, "\"", 1);
}

void
vg_hbuf_add_jstr(struct vg_hbuf *b, const char *s, size_t n)
{
    vg_hbuf_add_jstr_max(b, s, n, SIZE_MAX);
}

void
vg_hbuf_add_double(struct vg_hbuf *b, double v)
{
    char s[32];

    /* the shortest of %.15g and %.17g that reads back as v: 0.1, not
     * 0.10000000000000001 */
    snprintf(s, sizeof(s), "%.15g", v);
    if (strtod(s, NULL) != v)
        snprintf(s, sizeof(s), "%.17g", v);
    vg_hbuf_adds(b, s);
}

void
vg_hbuf_add_jnum(struct vg_hbuf *b, double v)
{
    if (isnan(v))
        vg_hbuf_adds(b, "\"NaN\"");
    else if (isinf(v))
        vg_hbuf_adds(b, v > 0 ? "\"+Inf\"" : "\"-Inf\"");
    else if (v == (double)(int64_t)v && fabs(v) < 1e15)
        vg_hbuf_addf(b, "%lld", (long long)v);
    else
        vg_hbuf_add_double(b, v);
}

int
vg_gzip(const void *in, size_t n, struct vg_hbuf *out)
{
    z_stream z;
    int zrc, rc = 0;

    memset(&z, 0, sizeof(z));
    /* 15 + 16: a gzip header and trailer instead of zlib's */
    if (deflateInit2(&z, Z_DEFAULT_COMPRESSION, Z_DEFLATED, 15 + 16, 8,
                     Z_DEFAULT_STRATEGY) != Z_OK)
        return -ENOMEM;
    out->len = 0;
    hbuf_grow(out, deflateBound(&z, (uLong)n) + 32);
    z.next_in = (Bytef *)(uintptr_t)in;
    z.avail_in = (uInt)n;
    z.next_out = (Bytef *)out->p;
    z.avail_out = (uInt)(out->cap - 1);
    zrc = deflate(&z, Z_FINISH);
    if (zrc != Z_STREAM_END)
        rc = -EIO;
    else
        out->len = z.total_out;
    deflateEnd(&z);
    return rc;
}

/* ---- client -------------------------------------------------------- */

struct sock {
    struct vg_http *h;
    curl_socket_t   fd;
    struct vg_io   *io;
    struct sock    *next;
};

struct vg_http_request {
    CURL                   *easy;
    struct vg_http         *h;
    struct curl_slist      *headers;
    struct vg_hbuf          body;
    struct vg_hbuf          resp;
    char                   *method;
    char                   *url;
    char                   *connect_to_s;
    struct curl_slist      *connect_to;
    char                    where[160];
    char                    error[CURL_ERROR_SIZE];
    int                     probe;
    int                     follow;
    vg_http_done_fn         cb;
    void                   *arg;
    vg_http_head_fn         head_cb;    /* streamed: see _stream() */
    vg_http_body_fn         body_cb;
    void                   *stream_arg;
    int                     head_done;  /* head_cb has run */
    int                     stream_error;
    struct vg_http_request *next;   /* in flight */
};

struct vg_http {
    struct vg_instance       *in;
    struct vg_http_opts       o;
    CURLM                    *multi;
    struct vg_timer          *timer;    /* curl's timeout */
    struct sock              *socks;
    struct vg_http_request   *reqs;     /* in flight */
    unsigned                  npending;
    struct vg_timer          *hold_timer;
    struct vg_flush          *held;     /* waiting out a Retry-After */
    char                      held_reason[512];
};

void
vg_http_url_redact(const char *url, char *out, size_t size)
{
    const char *p = strstr(url, "://");
    const char *host, *end;

    if (!size)
        return;
    if (!p) {
        snprintf(out, size, "(url)");
        return;
    }
    host = p + 3;
    /* user:password@ never shows */
    end = host + strcspn(host, "/?#");
    for (const char *at = host; at < end; at++)
        if (*at == '@')
            host = at + 1;
    snprintf(out, size, "%.*s://%.*s", (int)(p - url), url,
             (int)(end - host), host);
}

static void drain(struct vg_http *h);

static void
sock_free(struct vg_http *h, struct sock *s)
{
    struct sock **pp;

    for (pp = &h->socks; *pp; pp = &(*pp)->next) {
        if (*pp == s) {
            *pp = s->next;
            break;
        }
    }
    vg_io_free(h->in, s->io);
    free(s);
}

static void
on_sock_io(struct vg_instance *in, int fd, int revents, void *arg)
{
    struct vg_http *h = arg;
    int running = 0;
    int mask = (revents & VG_IO_READ ? CURL_CSELECT_IN : 0) |
               (revents & VG_IO_WRITE ? CURL_CSELECT_OUT : 0);

    (void)in;
    curl_multi_socket_action(h->multi, fd, mask, &running);
    drain(h);
}

static void
on_timeout(struct vg_instance *in, void *arg)
{
    struct vg_http *h = arg;
    int running = 0;

    (void)in;
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    drain(h);
}

/* curl's socket callback: only watchers change here, no curl call. */
static int
on_curl_socket(CURL *easy, curl_socket_t fd, int what, void *userp,
               void *socketp)
{
    struct vg_http *h = userp;
    struct sock *s = socketp;
    int ev = (what == CURL_POLL_IN ? VG_IO_READ : 0) |
             (what == CURL_POLL_OUT ? VG_IO_WRITE : 0) |
             (what == CURL_POLL_INOUT ? VG_IO_READ | VG_IO_WRITE : 0);

    (void)easy;
    if (what == CURL_POLL_REMOVE) {
        if (s)
            sock_free(h, s);
        return 0;
    }
    if (!s) {
        if (!(s = calloc(1, sizeof(*s))))
            return -1;
        s->h = h;
        s->fd = fd;
        s->io = vg_io_new(h->in, fd, ev, on_sock_io, h);
        s->next = h->socks;
        h->socks = s;
        curl_multi_assign(h->multi, fd, s);
        vg_io_start(h->in, s->io);
        return 0;
    }
    vg_io_set(h->in, s->io, ev);
    vg_io_start(h->in, s->io);
    return 0;
}

static int
on_curl_timer(CURLM *multi, long timeout_ms, void *userp)
{
    struct vg_http *h = userp;

    (void)multi;
    if (timeout_ms < 0)
        vg_timer_stop(h->in, h->timer);
    else
        vg_timer_start(h->in, h->timer, (int64_t)timeout_ms * VG_MILLISECOND,
                       0);
    return 0;
}

/* The head of a streamed response, handed over before its first byte. */
static int
stream_head(struct vg_http_request *r)
{
    struct vg_http_head hd = { .status = 0, .content_type = "",
                               .content_length = -1 };
    curl_off_t cl = -1;
    char *ct = NULL;

    r->head_done = 1;
    if (!r->head_cb)
        return 0;
    curl_easy_getinfo(r->easy, CURLINFO_RESPONSE_CODE, &hd.status);
    if (curl_easy_getinfo(r->easy, CURLINFO_CONTENT_TYPE, &ct) == CURLE_OK &&
        ct)
        hd.content_type = ct;
    if (curl_easy_getinfo(r->easy, CURLINFO_CONTENT_LENGTH_DOWNLOAD_T,
                          &cl) == CURLE_OK && cl >= 0)
        hd.content_length = (int64_t)cl;
    return r->head_cb(r->stream_arg, &hd);
}

static size_t
on_curl_write(char *data, size_t size, size_t nmemb, void *userp)
{
    struct vg_http_request *r = userp;
    size_t n = size * nmemb;
    size_t max = r->h->o.max_response;
    int rc;

    if (r->body_cb) {
        /* a short count makes curl end the transfer (CURLE_WRITE_ERROR) */
        if ((!r->head_done && (rc = stream_head(r)) < 0) ||
            (n && (rc = r->body_cb(r->stream_arg, data, n)) < 0)) {
            r->stream_error = rc;
            return n ? 0 : 1;
        }
        return n;
    }
    /* keep the start, swallow the rest: the body only feeds messages */
    if (r->resp.len < max)
        vg_hbuf_add(&r->resp, data,
                    n < max - r->resp.len ? n : max - r->resp.len);
    return n;
}

void
vg_http_request_free(struct vg_http_request *r)
{
    if (!r)
        return;
    if (r->easy)
        curl_easy_cleanup(r->easy);
    curl_slist_free_all(r->headers);
    curl_slist_free_all(r->connect_to);
    vg_hbuf_release(&r->body);
    vg_hbuf_release(&r->resp);
    free(r->method);
    free(r->url);
    free(r->connect_to_s);
    free(r);
}

struct vg_http_request *
vg_http_request_new(const char *method, const char *url)
{
    struct vg_http_request *r = calloc(1, sizeof(*r));

    if (!r)
        return NULL;
    if (!(r->method = strdup(method)) || !(r->url = strdup(url))) {
        vg_http_request_free(r);
        return NULL;
    }
    return r;
}

int
vg_http_request_header(struct vg_http_request *r, const char *name,
                       const char *value)
{
    struct curl_slist *l;
    size_t n = strlen(name) + strlen(value) + 3;
    char *line = malloc(n);

    if (!line)
        return -ENOMEM;
    snprintf(line, n, "%s: %s", name, value);
    l = curl_slist_append(r->headers, line);
    free(line);
    if (!l)
        return -ENOMEM;
    r->headers = l;
    return 0;
}

int
vg_http_request_body_take(struct vg_http_request *r, struct vg_hbuf *body,
                          int gzip)
{
    int rc;

    vg_hbuf_release(&r->body);
    if (!gzip) {
        r->body = *body;
        memset(body, 0, sizeof(*body));
        return 0;
    }
    rc = vg_gzip(body->p, body->len, &r->body);
    body->len = 0;
    if (rc < 0)
        return rc;
    return vg_http_request_header(r, "Content-Encoding", "gzip");
}

/*
 * tls.server_name: the URL's host becomes server_name (so curl checks the
 * certificate against it and sends it as SNI and Host) while CONNECT_TO
 * keeps the connection going to the address the URL named.
 */
static int
apply_server_name(struct vg_http_request *r, const char *name)
{
    CURLU *u = curl_url();
    char *host = NULL, *port = NULL, *url = NULL;
    int rc = -EINVAL;
    size_t n;

    if (!u)
        return -ENOMEM;
    if (curl_url_set(u, CURLUPART_URL, r->url, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_HOST, &host, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_PORT, &port, CURLU_DEFAULT_PORT) !=
            CURLUE_OK ||
        curl_url_set(u, CURLUPART_HOST, name, 0) != CURLUE_OK ||
        curl_url_get(u, CURLUPART_URL, &url, 0) != CURLUE_OK)
        goto out;
    n = strlen(host) + strlen(port) + 4;
    rc = -ENOMEM;
    if (!(r->connect_to_s = malloc(n)))
        goto out;
    snprintf(r->connect_to_s, n, "::%s:%s", host, port);
    if (!(r->connect_to = curl_slist_append(NULL, r->connect_to_s)))
        goto out;
    free(r->url);
    if (!(r->url = strdup(url)))
        goto out;
    rc = 0;
out:
    curl_free(host);
    curl_free(port);
    curl_free(url);
    curl_url_cleanup(u);
    return rc;
}

void
vg_http_request_stream(struct vg_http_request *r, vg_http_head_fn head,
                       vg_http_body_fn body, void *arg)
{
    r->head_cb = head;
    r->body_cb = body;
    r->stream_arg = arg;
}

void
vg_http_request_probe(struct vg_http_request *r, int follow)
{
    r->probe = 1;
    r->follow = follow;
}

/* Probe settings over request_setup's: nonzero when curl refused one. */
static int
probe_setup(struct vg_http_request *r)
{
    CURL *e = r->easy;
    int bad = 0;

    bad |= curl_easy_setopt(e, CURLOPT_FRESH_CONNECT, 1L);
    bad |= curl_easy_setopt(e, CURLOPT_FORBID_REUSE, 1L);
    bad |= curl_easy_setopt(e, CURLOPT_CERTINFO, 1L);
    bad |= curl_easy_setopt(e, CURLOPT_FOLLOWLOCATION, r->follow ? 1L : 0L);
    bad |= curl_easy_setopt(e, CURLOPT_MAXREDIRS, 10L);
    /* a custom "GET" with POSTFIELDS would still send a Content-Length
     * and keep the method across a 303; a real GET or HEAD does neither */
    if (r->body.len == 0 && strcmp(r->method, "GET") == 0) {
        bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
        bad |= curl_easy_setopt(e, CURLOPT_HTTPGET, 1L);
    } else if (r->body.len == 0 && strcmp(r->method, "HEAD") == 0) {
        bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, (char *)NULL);
        bad |= curl_easy_setopt(e, CURLOPT_NOBODY, 1L);
    }
    return bad;
}

/* The leaf certificate's "Expire date" of a probe, s since the epoch. */
static int64_t
probe_cert_expiry(CURL *e)
{
    struct curl_certinfo *ci = NULL;
    struct curl_slist *l;
    struct tm tm;

    if (curl_easy_getinfo(e, CURLINFO_CERTINFO, &ci) != CURLE_OK || !ci ||
        ci->num_of_certs < 1)
        return 0;
    for (l = ci->certinfo[0]; l; l = l->next) {
        const char *v;

        if (strncmp(l->data, "Expire date:", 12) != 0)
            continue;
        /* OpenSSL's ASN1_TIME_print: "Jan  2 15:04:05 2027 GMT" */
        v = l->data + 12;
        memset(&tm, 0, sizeof(tm));
        if (!strptime(v, "%b %d %H:%M:%S %Y", &tm))
            return 0;
        return (int64_t)timegm(&tm);
    }
    return 0;
}

static int
request_setup(struct vg_http *h, struct vg_http_request *r)
{
    const struct vg_http_opts *o = &h->o;
    struct curl_slist *l;
    CURL *e;
    int bad = 0;

    if (o->server_name && o->server_name[0] &&
        apply_server_name(r, o->server_name) < 0)
        return -EINVAL;
    if (!(e = r->easy = curl_easy_init()))
        return -ENOMEM;
    r->h = h;
    r->error[0] = '\0';
    bad |= curl_easy_setopt(e, CURLOPT_URL, r->url);
    bad |= curl_easy_setopt(e, CURLOPT_PRIVATE, r);
    bad |= curl_easy_setopt(e, CURLOPT_ERRORBUFFER, r->error);
    bad |= curl_easy_setopt(e, CURLOPT_NOSIGNAL, 1L);
    bad |= curl_easy_setopt(e, CURLOPT_WRITEFUNCTION, on_curl_write);
    bad |= curl_easy_setopt(e, CURLOPT_WRITEDATA, r);
    bad |= curl_easy_setopt(e, CURLOPT_PROTOCOLS_STR, "http,https");
    bad |= curl_easy_setopt(e, CURLOPT_SSLVERSION,
                            (long)CURL_SSLVERSION_TLSv1_2);
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYPEER,
                            o->tls_verify ? 1L : 0L);
    bad |= curl_easy_setopt(e, CURLOPT_SSL_VERIFYHOST,
                            o->tls_verify ? 2L : 0L);
    if (o->ca_file && o->ca_file[0])
        bad |= curl_easy_setopt(e, CURLOPT_CAINFO, o->ca_file);
    if (o->cert_file && o->cert_file[0]) {
        bad |= curl_easy_setopt(e, CURLOPT_SSLCERT, o->cert_file);
        bad |= curl_easy_setopt(e, CURLOPT_SSLCERTTYPE, "PEM");
    }
    if (o->key_file && o->key_file[0])
        bad |= curl_easy_setopt(e, CURLOPT_SSLKEY, o->key_file);
    if (o->proxy)
        bad |= curl_easy_setopt(e, CURLOPT_PROXY, o->proxy);
    if (o->user) {
        bad |= curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BASIC);
        bad |= curl_easy_setopt(e, CURLOPT_USERNAME, o->user);
        bad |= curl_easy_setopt(e, CURLOPT_PASSWORD,
                                o->password ? o->password : "");
    } else if (o->bearer_token) {
        bad |= curl_easy_setopt(e, CURLOPT_HTTPAUTH, (long)CURLAUTH_BEARER);
        bad |= curl_easy_setopt(e, CURLOPT_XOAUTH2_BEARER, o->bearer_token);
    }
    if (r->connect_to)
        bad |= curl_easy_setopt(e, CURLOPT_CONNECT_TO, r->connect_to);
    if (o->timeout > 0)
        bad |= curl_easy_setopt(e, CURLOPT_TIMEOUT_MS,
                                (long)(o->timeout / VG_MILLISECOND));
    if (o->connect_timeout > 0)
        bad |= curl_easy_setopt(e, CURLOPT_CONNECTTIMEOUT_MS,
                                (long)(o->connect_timeout / VG_MILLISECOND));
    bad |= curl_easy_setopt(e, CURLOPT_ACCEPT_ENCODING, "");
    bad |= curl_easy_setopt(e, CURLOPT_CUSTOMREQUEST, r->method);
    /* POSTFIELDS with a size sends any bytes (gzip) and no Expect dance
     * for small bodies; the buffer lives in r until the end */
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDSIZE_LARGE,
                            (curl_off_t)r->body.len);
    bad |= curl_easy_setopt(e, CURLOPT_POSTFIELDS,
                            r->body.p ? r->body.p : "");
    /* no "Expect: 100-continue" round trip before the body */
    if (!(l = curl_slist_append(r->headers, "Expect:")))
        return -ENOMEM;
    r->headers = l;
    bad |= curl_easy_setopt(e, CURLOPT_HTTPHEADER, r->headers);
    if (r->probe)
        bad |= probe_setup(r);
    return bad ? -EINVAL : 0;
}

int
vg_http_send(struct vg_http *h, struct vg_http_request *r,
             vg_http_done_fn cb, void *arg)
{
    char host[128];
    int rc;

    vg_http_url_redact(r->url, host, sizeof(host));
    snprintf(r->where, sizeof(r->where), "%s %s", r->method, host);
    if ((rc = request_setup(h, r)) < 0) {
        vg_log(h->in, VG_LOG_ERROR, "cannot set up %s: %s", r->where,
               strerror(-rc));
        goto fail;
    }
    r->cb = cb;
    r->arg = arg;
    if (curl_multi_add_handle(h->multi, r->easy) != CURLM_OK) {
        rc = -ENOMEM;
        goto fail;
    }
    r->next = h->reqs;
    h->reqs = r;
    h->npending++;
    return 0;
fail:
    vg_http_request_free(r);
    return rc;
}

unsigned
vg_http_pending(const struct vg_http *h)
{
    return h->npending;
}

static void
request_unlink(struct vg_http *h, struct vg_http_request *r)
{
    struct vg_http_request **pp;

    for (pp = &h->reqs; *pp; pp = &(*pp)->next) {
        if (*pp == r) {
            *pp = r->next;
            h->npending--;
            return;
        }
    }
}

static int64_t
info_off(CURL *e, CURLINFO what)
{
    curl_off_t v = 0;

    if (curl_easy_getinfo(e, what, &v) != CURLE_OK)
        return 0;
    return (int64_t)v;
}

/* A curl time (us) in ns. */
static int64_t
info_ns(CURL *e, CURLINFO what)
{
    return info_off(e, what) * 1000;
}

/* Collects finished transfers; runs outside every curl callback. */
static void
drain(struct vg_http *h)
{
    CURLMsg *m;
    int left;

    while ((m = curl_multi_info_read(h->multi, &left))) {
        struct vg_http_request *r = NULL;
        struct vg_http_result res;
        curl_off_t ra = -1, us = 0;
        CURL *e = m->easy_handle;

        if (m->msg != CURLMSG_DONE)
            continue;
        curl_easy_getinfo(e, CURLINFO_PRIVATE, (char **)&r);
        memset(&res, 0, sizeof(res));
        res.curl_code = (int)m->data.result;
        curl_easy_getinfo(e, CURLINFO_RESPONSE_CODE, &res.status);
        if (curl_easy_getinfo(e, CURLINFO_RETRY_AFTER, &ra) != CURLE_OK)
            ra = -1;
        /* curl reports 0 for "no header" as well as "Retry-After: 0" */
        res.retry_after = ra > 0 ? (int64_t)ra * VG_SECOND : -1;
        curl_easy_getinfo(e, CURLINFO_TOTAL_TIME_T, &us);
        res.elapsed = (int64_t)us * 1000;
        res.t_dns = info_ns(e, CURLINFO_NAMELOOKUP_TIME_T);
        res.t_connect = info_ns(e, CURLINFO_CONNECT_TIME_T);
        res.t_tls = info_ns(e, CURLINFO_APPCONNECT_TIME_T);
        res.t_first_byte = info_ns(e, CURLINFO_STARTTRANSFER_TIME_T);
        res.body_bytes = info_off(e, CURLINFO_SIZE_DOWNLOAD_T);
        if (r->probe)
            res.cert_expiry = probe_cert_expiry(e);
        if (res.curl_code != CURLE_OK) {
            long oe = 0;

            if (curl_easy_getinfo(e, CURLINFO_OS_ERRNO, &oe) == CURLE_OK)
                res.os_errno = (int)oe;
        }
        curl_multi_remove_handle(h->multi, e);
        request_unlink(h, r);
        if (res.curl_code != CURLE_OK) {
            res.status = 0;
            res.error = r->error[0] ? r->error
                                    : curl_easy_strerror(m->data.result);
        } else {
            res.error = "";
        }
        vg_count(h->in, "http_requests", 1);
        if (res.status < 200 || res.status > 299)
            vg_count(h->in, "http_failures", 1);
        res.stream_error = r->stream_error;
        res.body = r->resp.p ? r->resp.p : "";
        res.body_len = r->resp.len;
        res.where = r->where;
        if (res.error[0])
            vg_log(h->in, VG_LOG_DEBUG, "%s failed: %s", r->where,
                   res.error);
        else
            vg_log(h->in, VG_LOG_TRACE, "%s: HTTP %ld in %.3fs", r->where,
                   res.status, (double)res.elapsed / 1e9);
        r->cb(h, &res, r->arg);
        vg_http_request_free(r);
    }
}

int
vg_http_outcome(const struct vg_http_result *r, char *reason, size_t size)
{
    size_t blen = r->body_len < 300 ? r->body_len : 300;
    int outcome;

    if (r->status == 0) {
        snprintf(reason, size, "%s: %s", r->where,
                 r->error && r->error[0] ? r->error : "no response");
        return VG_RETRY;
    }
    if (r->status >= 200 && r->status < 300) {
        snprintf(reason, size, "%s: HTTP %ld", r->where, r->status);
        return VG_OK;
    }
    if (r->status == 408 || r->status == 429 || r->status >= 500)
        outcome = VG_RETRY;
    else
        outcome = VG_PERMANENT;
    /* the body explains a refusal; cut at a line end for the log */
    for (size_t i = 0; i < blen; i++) {
        if (r->body[i] == '\n' || r->body[i] == '\r') {
            blen = i;
            break;
        }
    }
    snprintf(reason, size, "%s: HTTP %ld%s%.*s", r->where, r->status,
             blen ? ": " : "", (int)blen, r->body);
    return outcome;
}

static void
on_hold_timer(struct vg_instance *in, void *arg)
{
    struct vg_http *h = arg;
    struct vg_flush *fl = h->held;

    h->held = NULL;
    if (fl)
        vg_flush_done(in, fl, VG_RETRY, h->held_reason);
}

void
vg_http_flush_done(struct vg_http *h, struct vg_flush *fl, int outcome,
                   int64_t retry_after, const char *reason)
{
    if (outcome != VG_RETRY || retry_after < 0) {
        vg_flush_done(h->in, fl, outcome, reason);
        return;
    }
    if (retry_after > MAX_RETRY_AFTER)
        retry_after = MAX_RETRY_AFTER;
    vg_log(h->in, VG_LOG_INFO, "server asks to wait %.0fs before retrying",
           (double)retry_after / 1e9);
    if (VG_API_HAS(h->in, flush_retry_after)) {
        vg_flush_retry_after(h->in, fl, retry_after, reason);
        return;
    }
    if (h->held) {              /* one flush at a time: cannot happen */
        vg_flush_done(h->in, fl, VG_RETRY, reason);
        return;
    }
    h->held = fl;
    snprintf(h->held_reason, sizeof(h->held_reason), "%s", reason);
    vg_timer_start(h->in, h->hold_timer, retry_after, 0);
}

void
vg_http_opts_tls(struct vg_http_opts *o, const struct vg_http_tls_conf *t)
{
    o->tls_verify = t->verify;
    o->ca_file = t->ca_file;
    o->cert_file = t->cert_file;
    o->key_file = t->key_file;
    o->server_name = t->server_name;
}

void
vg_http_opts_conn(struct vg_http_opts *o, const struct vg_http_conn_conf *c)
{
    vg_http_opts_tls(o, &c->tls);
    o->proxy = c->proxy;
    o->timeout = c->timeout;
    o->connect_timeout = c->connect_timeout;
}

int
vg_http_url_check(struct vg_instance *in, const char *option,
                  const char *url)
{
    if (strncmp(url, "http://", 7) == 0 || strncmp(url, "https://", 8) == 0)
        return 0;
    vg_log(in, VG_LOG_ERROR, "option '%s' must start with http:// or "
           "https://", option);
    return -EINVAL;
}

struct vg_http *
vg_http_new_to(struct vg_instance *in, const struct vg_http_opts *o,
               const char *url)
{
    struct vg_http *h = vg_http_new(in, o);
    char where[128];

    if (!h)
        return NULL;
    vg_http_url_redact(url, where, sizeof(where));
    if (!o->tls_verify && strncmp(url, "https://", 8) == 0)
        vg_log(in, VG_LOG_WARN, "TLS verification is off for '%s'", where);
    vg_log(in, VG_LOG_DEBUG, "sending to '%s'", where);
    return h;
}

int
vg_http_opts_auth(struct vg_instance *in, struct vg_http_opts *o,
                  const struct vg_http_auth_conf *a)
{
    if ((a->user || a->password) && a->bearer_token) {
        vg_log(in, VG_LOG_ERROR, "options 'auth.user' and "
               "'auth.bearer_token' exclude each other");
        return -EINVAL;
    }
    if (a->password && !a->user) {
        vg_log(in, VG_LOG_ERROR, "option 'auth.password' needs "
               "'auth.user'");
        return -EINVAL;
    }
    o->user = a->user;
    o->password = a->password;
    o->bearer_token = a->bearer_token;
    return 0;
}

struct vg_http *
vg_http_new(struct vg_instance *in, const struct vg_http_opts *o)
{
    struct vg_http *h = calloc(1, sizeof(*h));
    int bad = 0;

    if (!h)
        goto fail;
    h->in = in;
    h->o = *o;
    if (!h->o.max_response)
        h->o.max_response = DEFAULT_MAX_RESPONSE;
    /* thread-safe and reference counted since curl 7.84 */
    if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK ||
        !(h->multi = curl_multi_init())) {
        vg_log(in, VG_LOG_ERROR, "cannot initialise libcurl");
        goto fail;
    }
    h->timer = vg_timer_new(in, on_timeout, h);
    h->hold_timer = vg_timer_new(in, on_hold_timer, h);
    bad |= curl_multi_setopt(h->multi, CURLMOPT_SOCKETFUNCTION,
                             on_curl_socket);
    bad |= curl_multi_setopt(h->multi, CURLMOPT_SOCKETDATA, h);
    bad |= curl_multi_setopt(h->multi, CURLMOPT_TIMERFUNCTION,
                             on_curl_timer);
    bad |= curl_multi_setopt(h->multi, CURLMOPT_TIMERDATA, h);
    if (bad) {
        vg_log(in, VG_LOG_ERROR, "cannot set up the libcurl multi handle");
        goto fail;
    }
    return h;
fail:
    vg_http_free(h);
    return NULL;
}

void
vg_http_free(struct vg_http *h)
{
    if (!h)
        return;
    while (h->reqs) {
        struct vg_http_request *r = h->reqs;

        h->reqs = r->next;
        curl_multi_remove_handle(h->multi, r->easy);
        vg_http_request_free(r);
    }
    if (h->multi)
        curl_multi_cleanup(h->multi);
    while (h->socks)
        sock_free(h, h->socks);
    if (h->timer)
        vg_timer_free(h->in, h->timer);
    if (h->hold_timer)
        vg_timer_free(h->in, h->hold_timer);
    if (h->multi)
        curl_global_cleanup();
    free(h);
}
