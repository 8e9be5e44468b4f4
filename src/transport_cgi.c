/* transport_cgi.c -- plain CGI: the environment and stdin, one request.
 *
 * For shared hosting, where a process per request is all there is. The
 * whole run (config, context, one request) is kept small so that start-up
 * costs little; see docs/PERFORMANCE.md.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "app.h"
#include "buf.h"
#include "transport.h"

extern char **environ;

#define DRAIN_MAX (16ULL << 20) /* bytes of a refused body read and dropped */

static long stdin_read(void *arg, char *p, size_t n)
{
    ssize_t got;

    do
        got = read(STDIN_FILENO, p, n);
    while (got < 0 && errno == EINTR);
    return (long)got;
}

/* The web server is still writing a body we refused (413): read and drop
 * it, up to a bound, or the server sees a reset and may lose our answer. */
static void drain_stdin(const char *content_length)
{
    unsigned long long left = strtoull(content_length, NULL, 10);
    char chunk[16384];

    if (left > DRAIN_MAX)
        left = DRAIN_MAX;
    while (left) {
        long n = stdin_read(NULL, chunk,
                            left < sizeof(chunk) ? left : sizeof(chunk));
        if (n <= 0)
            return;
        left -= (unsigned long long)n;
    }
}

static void write_all(const char *p, size_t len)
{
    while (len) {
        ssize_t n = write(STDOUT_FILENO, p, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        p += n;
        len -= (size_t)n;
    }
}

static void write_response(const struct sg_request *req,
                           const struct sg_response *res)
{
    struct sg_buf head = {0};

    if (sg_response_head(res, req->request_id, &head) == SG_OK) {
        write_all(head.data, head.len);
        if (!req->head)
            write_all(res->body.data ? res->body.data : "", res->body.len);
    }
    sg_buf_free(&head);
}

int sg_cgi_serve(struct sg_ctx *ctx)
{
    struct sg_request req;
    struct sg_response res;
    struct sg_buf body = {0};

    sg_request_init(&req, environ, ctx->cfg->max_body_bytes, sg_now_ms());
    sg_response_init(&res);
    if (req.content_length &&
        sg_request_read_body(&req, &body, stdin_read, NULL) != SG_OK)
        sg_response_error(&res, SG_API_BAD_REQUEST,
                          "The body is shorter than Content-Length.", NULL);
    else
        sg_app_handle(ctx, &req, &res);
    write_response(&req, &res);
    if (req.body_too_large)
        drain_stdin(getenv("CONTENT_LENGTH"));
    sg_request_release(&req);
    sg_response_free(&res);
    sg_buf_free(&body);
    return SG_OK;
}

void sg_cgi_fail(void)
{
    struct sg_request req;
    struct sg_response res;

    sg_request_init(&req, environ, 0, 0);
    sg_response_init(&res);
    sg_response_error(&res, SG_API_INTERNAL,
                      "The service is misconfigured; see the server log.",
                      NULL);
    write_response(&req, &res);
    sg_response_free(&res);
}
