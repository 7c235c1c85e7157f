/*
 * libFuzzer target: the status server's request parsing, as handle_one
 * runs it on what a client sent: find the end of the head, copy a head of
 * at most 8 KiB, NUL-terminate and parse it in place.  An input without a
 * complete head is parsed whole (up to 8 KiB), to reach the parser with
 * every shape of text.  The results are checked against what the server
 * relies on.  The first line also goes through the listen address check.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "http_server.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAX_HEAD 8192                   /* as in http_server.c */
#define MAX_BODY (64 * 1024)

static void
fail(const char *what)
{
    fprintf(stderr, "fuzz_http_request: %s\n", what);
    abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *in = (const char *)data, *why = NULL;
    size_t hlen = vg_http_head_length(in, size), body_len = 99;
    struct vg_http_request req;
    int close_after = -1, status;
    char *head, *nl;

    if (hlen > size)
        fail("head longer than the input");
    if (!hlen)
        hlen = size;
    if (hlen > MAX_HEAD)
        return 0;                       /* the server answers 431 */
    head = malloc(hlen + 1);
    if (!head)
        return 0;
    memcpy(head, in, hlen);
    head[hlen] = '\0';
    status = vg_http_parse_request(head, &req, &body_len, &close_after,
                                   &why);
    if (status == 0) {
        if (!req.method || !req.path || !req.query || req.path[0] != '/')
            fail("request without method, path or query");
        if (req.body || req.body_len)
            fail("the parser set a body");
        if (body_len > MAX_BODY)
            fail("body length past the limit accepted");
        if (close_after != 0 && close_after != 1)
            fail("close_after not set");
        /* Touch every string: they must lie inside the head. */
        if (strlen(req.method) + strlen(req.path) + strlen(req.query) +
            (req.authorization ? strlen(req.authorization) : 0) > 4 * hlen)
            fail("strings longer than the head");
    } else {
        if (!why)
            fail("an error without a message");
        if (status != 400 && status != 413 && status != 431 &&
            status != 501 && status != 505)
            fail("unexpected error status");
    }
    free(head);

    /* The first line as a listen address ("host:port", "[v6]:port"). */
    head = malloc(size + 1);
    if (!head)
        return 0;
    memcpy(head, in, size);
    head[size] = '\0';
    if ((nl = strchr(head, '\n')))
        *nl = '\0';
    vg_http_listen_is_loopback(head);
    free(head);
    return 0;
}
