/* transport_fcgi.c -- the FastCGI accept loop (responder and authorizer).
 *
 * One request at a time per process, as fcgiwrap and php-cgi do: the web
 * server or the master spreads load over processes. Accept is made
 * interruptible (FCGI_FAIL_ACCEPT_ON_INTR) and signal handlers are
 * installed without SA_RESTART, so SIGTERM and SIGHUP end a blocked
 * accept at once while a request being served always completes.
 *
 * The request body is read into one buffer kept for the life of the
 * worker; bodies over max_body_bytes are never read (libfcgi drains the
 * connection when the request is finished).
 */
#include <errno.h>
#include <string.h>

#include <fcgiapp.h>

#include "app.h"
#include "buf.h"
#include "log.h"
#include "transport.h"

void sg_fcgi_init(void)
{
    FCGX_Init();
}

bool sg_fcgi_fd0_is_listener(void)
{
    return !FCGX_IsCGI();
}

void sg_fcgi_interrupt(void)
{
    FCGX_ShutdownPending();
}

static long fcgi_read(void *arg, char *p, size_t n)
{
    return FCGX_GetStr(p, (int)n, ((FCGX_Request *)arg)->in);
}

static void serve_one(struct sg_ctx *ctx, FCGX_Request *fr, struct sg_buf *body,
                      struct sg_buf *head, struct sg_response *res)
{
    struct sg_request req;

    sg_request_init(&req, fr->envp, ctx->cfg->max_body_bytes, sg_now_ms());
    sg_response_reset(res);
    sg_buf_reset(head);
    if (req.content_length &&
        sg_request_read_body(&req, body, fcgi_read, fr) != SG_OK)
        sg_response_error(res, SG_API_BAD_REQUEST,
                          "The body is shorter than Content-Length.", NULL);
    else
        sg_app_handle(ctx, &req, res);
    if (sg_response_head(res, req.request_id, head) == SG_OK) {
        FCGX_PutStr(head->data, (int)head->len, fr->out);
        if (!req.head && res->body.len)
            FCGX_PutStr(res->body.data, (int)res->body.len, fr->out);
    }
    sg_request_release(&req);
    /* kept for the next request: the body may hold a password, the
     * answer tokens (Set-Cookie and body) */
    sg_buf_wipe(body);
    sg_buf_wipe(head);
    sg_response_wipe(res);
}

enum sg_serve_end sg_fcgi_serve(struct sg_ctx *ctx, int listen_fd,
                                const volatile sig_atomic_t *stop,
                                const volatile sig_atomic_t *reload)
{
    FCGX_Request fr;
    struct sg_buf body = {0}, head = {0};
    struct sg_response res;
    enum sg_serve_end end = SG_SERVE_STOP;

    if (FCGX_InitRequest(&fr, listen_fd, FCGI_FAIL_ACCEPT_ON_INTR) != 0)
        return SG_SERVE_ERROR;
    sg_response_init(&res);
    while (!*stop && !*reload) {
        if (FCGX_Accept_r(&fr) < 0) {
            if (*stop || *reload || errno == EINTR)
                continue;
            sg_log_error("fastcgi: accept failed: %s", strerror(errno));
            end = SG_SERVE_ERROR;
            break;
        }
        serve_one(ctx, &fr, &body, &head, &res);
        FCGX_Finish_r(&fr);
    }
    if (end != SG_SERVE_ERROR && *reload && !*stop)
        end = SG_SERVE_RELOAD;
    FCGX_Free(&fr, 0);
    sg_response_free(&res);
    sg_buf_free(&body);
    sg_buf_free(&head);
    return end;
}
